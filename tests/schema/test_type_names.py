"""Objects and select fields never make a GraphQL type the record API has already, or one
another makes: the data model refuses such names, so the schema always builds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tessera.metadata import changes
from tessera.metadata.names import API_TYPE_NAMES, choice_type_names, object_type_names
from tessera.metadata.store import MetadataStore
from tessera.platform.errors import TesseraError
from tessera.schema.record_api import SchemaCache
from tests.metadata.fields.conftest import SAMPLES


def test_the_list_of_the_apis_own_types_is_complete(store: MetadataStore, workspace: str, engine: Any):
    fields = [
        {
            "api_name": f"f_{name}",
            "type": name,
            "options": {"target_object": "zork"} if name == "lookup" else sample.options,
        }
        for name, sample in SAMPLES.items()
    ]
    store.apply(workspace, changes.create_object({"api_name": "zork", "fields": fields}))
    made = {n for n in SchemaCache(engine).get(workspace).schema.type_map if not n.startswith("__")}
    generated = set(object_type_names("zork"))
    for choice in ("f_select", "f_multi_select"):
        generated |= set(choice_type_names("zork", choice))
    assert made - generated <= API_TYPE_NAMES, sorted(made - generated - API_TYPE_NAMES)
    assert {n for n in made if n.startswith("Zork")} <= generated


@pytest.mark.parametrize(("name", "taken"), [("email", "EmailFilter"), ("date", "Date"), ("money", "Money")])
def test_an_object_whose_types_the_api_has_is_refused(
    object_factory: Callable[..., Any], name: str, taken: str
):
    with pytest.raises(TesseraError) as refused:
        object_factory(name)
    assert refused.value.code == "NAME_RESERVED" and f"'{taken}'" in str(refused.value)


def test_an_object_and_a_select_field_making_one_type_are_refused(
    object_factory: Callable[..., Any], field_factory: Callable[..., Any]
):
    object_factory(
        "deal", [{"api_name": "stage", "type": "select", "options": {"choices": [{"value": "won"}]}}]
    )
    with pytest.raises(TesseraError) as refused:
        object_factory("deal_stage")
    assert refused.value.code == "DUPLICATE_NAME"
    assert str(refused.value) == (
        "The object 'deal_stage' would make the GraphQL type 'DealStage', as the field 'deal.stage' does; "
        "choose another name."
    )
