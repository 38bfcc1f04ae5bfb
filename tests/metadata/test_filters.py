"""The filter language's definition: operators from the registry, JSON Schemas, checking."""

from __future__ import annotations

import json
import uuid
from typing import Any

import jsonschema
import pytest

from tessera.metadata.document import document_state
from tessera.metadata.fields import FIELD_TYPES
from tessera.metadata.filters import (
    GENERIC_FILTER_SCHEMA,
    OPERATORS,
    check_filter,
    filter_json_schema,
    filter_operators,
)
from tessera.metadata.model import FieldDef, MetadataState
from tessera.platform.artifacts import FILTER_SCHEMA_PATH
from tessera.platform.errors import TesseraError

MODEL = {
    "objects": [
        {
            "api_name": "company",
            "label_plural": "Companies",
            "fields": [{"api_name": "name", "type": "text"}],
        },
        {"api_name": "memo", "fields": [{"api_name": "body", "type": "long_text"}]},
        {
            "api_name": "deal",
            "fields": [
                {"api_name": "title", "type": "text"},
                {"api_name": "amount", "type": "decimal"},
                {
                    "api_name": "stage",
                    "type": "select",
                    "options": {"choices": [{"value": "new"}, {"value": "won"}]},
                },
                {"api_name": "company", "type": "lookup", "options": {"target_object": "company"}},
                {"api_name": "price", "type": "currency", "options": {"default_currency": "EUR"}},
            ],
        },
    ]
}


@pytest.fixture(scope="module")
def state() -> MetadataState:
    return document_state(MODEL, MetadataState((), 0))


def test_every_field_type_has_operators():
    for name, ftype in FIELD_TYPES.items():
        assert ftype.filter_kind in OPERATORS, name
        operators = filter_operators(FieldDef(id=uuid.uuid4(), api_name="x", label="x", type=name))
        assert "isNull" in [op.name for op in operators], name


@pytest.mark.parametrize(
    ("type_name", "present", "absent"),
    [
        ("text", {"eq", "like", "ilike", "startsWith", "contains", "in"}, {"between", "within"}),
        ("integer", {"lt", "between", "notIn"}, {"like"}),
        ("date", {"lastNDays", "nextNDays", "within", "between"}, {"like"}),
        ("multi_select", {"containsAny", "containsAll"}, {"eq", "lt"}),
        ("boolean", {"eq", "neq"}, {"in", "lt"}),
        ("json", {"isNull"}, {"eq"}),
    ],
)
def test_operators_per_type(type_name: str, present: set[str], absent: set[str]):
    names = {op.name for op in OPERATORS[FIELD_TYPES[type_name].filter_kind]}
    assert present <= names and not absent & names


GOOD = [
    {"title": {"eq": "x"}},
    {"title": {"eq": None}, "amount": {"neq": None}},
    {"amount": {"in": ["1.5", 2], "notIn": [], "between": [1, "2.25"]}},
    {"and": [{"amount": {"gte": "10.5"}}, {"stage": {"in": ["won"]}}]},
    {"not": {"company": {"name": {"startsWith": "Ac"}}}},
    {"company": {"isNull": True}},
    {"price": {"amount": {"lt": 3}, "currencyCode": {"eq": "EUR"}}},
    {"created_at": {"within": "THIS_QUARTER"}, "updated_at": {"lastNDays": 7}},
    {"company": {"deals": {"every": {"stage": {"eq": "won"}}}}},
    {"or": [{"owner": {"eq": "7d9f3f1e-8a4b-4c7e-9a43-5e0f6d1a2b3c"}}, {"id": {"isNull": False}}]},
]
BAD = [
    {"title": {"between": ["a", "b"]}},  # no between on text
    {"stage": {"eq": "maybe"}},  # not an option
    {"nope": {"eq": 1}},
    {"and": {"title": {"eq": "x"}}},
    {"company": {"name": {"eq": 1}}},
    {"amount": {"lt": None}},  # only eq / neq take null
    {"amount": {"between": [1, 2, 3]}},
    {"created_at": {"within": "SOON"}},
    {"created_at": {"lastNDays": -1}},
    {"price": {"amount": {"like": "1%"}}},
    {"company": {"deals": {"most": {}}}},
    {"stage": {"isNull": "yes"}},
]


@pytest.mark.parametrize("filter_doc", GOOD)
def test_the_object_schema_and_the_compiler_accept_good_filters(
    state: MetadataState, filter_doc: dict[str, Any]
):
    deal = state.object_named("deal")
    assert deal is not None
    jsonschema.Draft202012Validator(filter_json_schema(deal, state)).validate(filter_doc)
    jsonschema.Draft202012Validator(dict(GENERIC_FILTER_SCHEMA)).validate(filter_doc)
    check_filter(filter_doc, deal, state)


@pytest.mark.parametrize("filter_doc", BAD)
def test_the_object_schema_and_the_compiler_refuse_bad_filters(
    state: MetadataState, filter_doc: dict[str, Any]
):
    deal = state.object_named("deal")
    assert deal is not None
    assert not jsonschema.Draft202012Validator(filter_json_schema(deal, state)).is_valid(filter_doc)
    with pytest.raises(TesseraError) as caught:
        check_filter(filter_doc, deal, state)
    assert caught.value.code.startswith("FILTER_")
    assert caught.value.path[0] == "filter"


def test_the_generic_schema_checks_the_shape():
    validator = jsonschema.Draft202012Validator(dict(GENERIC_FILTER_SCHEMA))
    assert not validator.is_valid({"Title": {"eq": 1}})  # field names are snake_case
    assert not validator.is_valid({"title": {"in": "x"}})  # in takes a list
    assert not validator.is_valid({"and": {}})


def test_the_published_schema_is_the_generic_one():
    assert json.loads(FILTER_SCHEMA_PATH.read_text()) == GENERIC_FILTER_SCHEMA


def test_check_filter_paths_start_where_the_caller_says(state: MetadataState):
    deal = state.object_named("deal")
    assert deal is not None
    with pytest.raises(TesseraError) as caught:
        check_filter({"nope": {}}, deal, state, ("rules", 0, "error_when"))
    assert caught.value.path == ("rules", 0, "error_when", "nope")


def test_operators_describe_their_operands():
    for kind, operators in OPERATORS.items():
        assert len({op.name for op in operators}) == len(operators), kind
        for op in operators:
            assert op.operand in ("value", "values", "range", "flag", "pattern", "count", "period")
            assert op.description


def test_the_object_schema_holds_only_the_reachable_objects(state: MetadataState):
    deal = state.object_named("deal")
    assert deal is not None
    schema = filter_json_schema(deal, state)
    assert {"deal", "company"} <= set(schema["$defs"]) and "memo" not in schema["$defs"]
    properties = schema["$defs"]["company"]["properties"]
    assert set(properties["deals"]["properties"]) == {"some", "none", "every"}
    assert set(schema["$defs"]["deal"]["properties"]["title"]["properties"]) == {
        op.name for op in OPERATORS["text"]
    }


@pytest.mark.parametrize(
    ("filter_doc", "code", "path"),
    [
        (
            {"and": [{"amount": {"gte": "ten"}}]},
            "FILTER_INVALID_VALUE",
            ("filter", "and", 0, "amount", "gte"),
        ),
        ({"title": {"like": "100\\"}}, "FILTER_INVALID_VALUE", ("filter", "title", "like")),
        ({"price": {"amount": {"eq": "1.234"}}}, "FILTER_INVALID_VALUE", ("filter", "price", "amount", "eq")),
        (
            {"created_at": {"eq": "2026-01-01T10:00:00"}},
            "FILTER_INVALID_VALUE",
            ("filter", "created_at", "eq"),
        ),
        (
            {"company": {"deals": {"some": {"nope": {}}}}},
            "FILTER_UNKNOWN_FIELD",
            ("filter", "company", "deals", "some", "nope"),
        ),
    ],
)
def test_check_filter_reports_precise_paths(
    state: MetadataState, filter_doc: dict[str, Any], code: str, path: tuple[Any, ...]
):
    deal = state.object_named("deal")
    assert deal is not None
    with pytest.raises(TesseraError) as caught:
        check_filter(filter_doc, deal, state)
    assert [(p.code, p.path) for p in caught.value.problems] == [(code, path)]
