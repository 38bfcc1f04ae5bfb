"""The filter language in SQL: every operator of every type, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.metadata.storage import Tables
from tessera.metadata.store import MetadataStore
from tessera.platform.errors import TesseraError
from tessera.platform.filtering import compile_filter, like_to_glob, period_bounds
from tessera.platform.records import RecordService
from tessera.platform.workspaces import WorkspaceService

NOW = dt.datetime(2026, 5, 20, 10, 0, tzinfo=dt.UTC)  # a Wednesday


@pytest.fixture
def model(object_factory: Callable[..., Any]) -> None:
    object_factory(
        "account",
        [
            {"api_name": "name", "type": "text"},
            {"api_name": "country", "type": "text"},
            {
                "api_name": "parent",
                "type": "lookup",
                "options": {"target_object": "account", "reverse_name": "children"},
            },
        ],
    )
    object_factory(
        "thing",
        [
            {"api_name": "name", "type": "text"},
            {"api_name": "email", "type": "email"},
            {"api_name": "count", "type": "integer"},
            {"api_name": "amount", "type": "decimal", "options": {"precision": 10, "scale": 2}},
            {"api_name": "price", "type": "currency", "options": {"default_currency": "EUR"}},
            {"api_name": "active", "type": "boolean"},
            {"api_name": "day", "type": "date"},
            {"api_name": "at", "type": "datetime"},
            {
                "api_name": "stage",
                "type": "select",
                "options": {"choices": [{"value": "new"}, {"value": "won"}, {"value": "lost"}]},
            },
            {
                "api_name": "tags",
                "type": "multi_select",
                "options": {"choices": [{"value": "a"}, {"value": "b"}, {"value": "c"}]},
            },
            {"api_name": "data", "type": "json"},
            {"api_name": "account", "type": "lookup", "options": {"target_object": "account"}},
        ],
    )


@pytest.fixture
def things(model: None, records: RecordService, workspace: str) -> dict[str, Any]:
    top = records.create(workspace, "account", {"name": "Top", "country": "FR"})
    sub = records.create(workspace, "account", {"name": "Sub", "country": "DE", "parent": str(top["id"])})
    lone = records.create(workspace, "account", {"name": "Lone", "country": "FR"})
    rows = {
        "one": {
            "name": "Alpha One",
            "email": "one@example.com",
            "count": 1,
            "amount": "1.50",
            "price": {"amount": "10", "currency_code": "EUR"},
            "active": True,
            "day": "2026-05-20",
            "at": "2026-05-20T08:00:00+00:00",
            "stage": "new",
            "tags": ["a", "b"],
            "data": {"k": 1},
            "account": str(top["id"]),
        },
        "two": {
            "name": "beta_two",
            "count": 2,
            "amount": "-3.00",
            "price": {"amount": "20", "currency_code": "USD"},
            "active": False,
            "day": "2026-05-01",
            "at": "2026-04-30T23:30:00+00:00",
            "stage": "won",
            "tags": ["c"],
            "account": str(sub["id"]),
        },
        "three": {
            "name": "Gamma 100%",
            "count": 3,
            "day": "2025-12-31",
            "stage": "lost",
            "account": str(lone["id"]),
        },
        "empty": {},
    }
    created = {key: records.create(workspace, "thing", values) for key, values in rows.items()}
    return {"top": top, "sub": sub, "lone": lone, **created}


@pytest.fixture
def matching(
    engine: Engine, store: MetadataStore, workspace: str, things: dict[str, Any]
) -> Callable[..., list[str]]:
    """The keys (in ``things``) of the things a filter matches."""
    state = store.state(workspace)
    ws = WorkspaceService(engine).get(workspace)
    tables = Tables(ws.namespace(engine.dialect.name), state)
    names = {v["id"]: k for k, v in things.items() if isinstance(v, dict) and "id" in v}

    def run(filter_doc: Any, object_name: str = "thing", time_zone: str = "UTC") -> list[str]:
        obj = state.object_named(object_name)
        assert obj is not None
        table = tables.of(obj)
        condition = compile_filter(filter_doc, obj, table, tables, now=NOW, time_zone=time_zone)
        with engine.connect() as conn:
            ids = conn.execute(sa.select(table.c.id).where(condition)).scalars().all()
        return sorted(names[i] for i in ids)

    return run


def problems(run: Callable[..., Any], filter_doc: Any) -> set[tuple[str, tuple[Any, ...]]]:
    with pytest.raises(TesseraError) as caught:
        run(filter_doc)
    return {(p.code, p.path) for p in caught.value.problems}


@pytest.mark.parametrize(
    ("filter_doc", "expected"),
    [
        (None, ["empty", "one", "three", "two"]),
        ({}, ["empty", "one", "three", "two"]),
        ({"name": {"eq": "Alpha One"}}, ["one"]),
        ({"name": {"neq": "Alpha One"}}, ["empty", "three", "two"]),  # empty values match neq
        ({"name": {"eq": None}}, ["empty"]),
        ({"name": {"in": ["Alpha One", "beta_two"]}}, ["one", "two"]),
        ({"name": {"notIn": ["Alpha One"]}}, ["empty", "three", "two"]),
        ({"name": {"in": []}}, []),
        ({"name": {"like": "Alpha%"}}, ["one"]),
        ({"name": {"like": "alpha%"}}, []),  # like is case-sensitive
        ({"name": {"ilike": "ALPHA%"}}, ["one"]),
        ({"name": {"like": "beta_two"}}, ["two"]),
        ({"name": {"startsWith": "gam"}}, ["three"]),
        ({"name": {"contains": "100%"}}, ["three"]),  # literal %
        ({"name": {"contains": "a_t"}}, ["two"]),  # literal _
        ({"name": {"contains": "ONE"}}, ["one"]),
        ({"name": {"isNull": True}}, ["empty"]),
        ({"name": {"isNull": False}}, ["one", "three", "two"]),
        ({"email": {"eq": "one@EXAMPLE.com"}}, ["one"]),  # coerced like stored values
        ({"count": {"gt": 1}}, ["three", "two"]),
        ({"count": {"gte": 1, "lt": 3}}, ["one", "two"]),
        ({"count": {"between": [2, 3]}}, ["three", "two"]),
        ({"amount": {"lt": "0"}}, ["two"]),
        ({"amount": {"eq": 1.5}}, ["one"]),
        ({"amount": {"between": ["-5", "2"]}}, ["one", "two"]),
        ({"price": {"amount": {"gte": 15}}}, ["two"]),
        ({"price": {"currencyCode": {"eq": "EUR"}}}, ["one"]),
        ({"price": {"isNull": True}}, ["empty", "three"]),
        ({"active": {"eq": True}}, ["one"]),
        ({"active": {"neq": True}}, ["empty", "three", "two"]),
        ({"day": {"eq": "2026-05-20"}}, ["one"]),
        ({"day": {"eq": "today"}}, ["one"]),
        ({"day": {"lt": "yesterday"}}, ["three", "two"]),
        ({"day": {"lastNDays": 30}}, ["one", "two"]),
        ({"day": {"nextNDays": 3}}, ["one"]),
        ({"day": {"within": "THIS_MONTH"}}, ["one", "two"]),
        ({"day": {"within": "THIS_QUARTER"}}, ["one", "two"]),
        ({"day": {"within": "LAST_YEAR"}}, ["three"]),
        ({"day": {"within": "THIS_WEEK"}}, ["one"]),
        ({"at": {"within": "TODAY"}}, ["one"]),
        ({"at": {"within": "LAST_MONTH"}}, ["two"]),
        ({"at": {"lt": "now"}}, ["one", "two"]),
        ({"at": {"gte": "2026-05-01T00:00:00+02:00"}}, ["one", "two"]),
        ({"stage": {"eq": "won"}}, ["two"]),
        ({"stage": {"in": ["won", "lost"]}}, ["three", "two"]),
        ({"stage": {"notIn": ["won"]}}, ["empty", "one", "three"]),
        ({"tags": {"containsAny": ["b", "c"]}}, ["one", "two"]),
        ({"tags": {"containsAll": ["a", "b"]}}, ["one"]),
        ({"tags": {"containsAll": ["a", "c"]}}, []),
        ({"tags": {"isNull": True}}, ["empty", "three"]),
        ({"data": {"isNull": False}}, ["one"]),
        ({"created_at": {"lte": "now"}}, []),  # created after NOW (the real clock)
        ({"and": [{"count": {"gte": 1}}, {"count": {"lte": 2}}]}, ["one", "two"]),
        ({"or": [{"count": {"eq": 1}}, {"stage": {"eq": "lost"}}]}, ["one", "three"]),
        ({"or": []}, []),
        ({"not": {"count": {"eq": 1}}}, ["empty", "three", "two"]),  # not(null) counts as not matching
        ({"account": {"country": {"eq": "FR"}}}, ["one", "three"]),
        ({"account": {"parent": {"name": {"eq": "Top"}}}}, ["two"]),  # two levels
        ({"account": {"isNull": True}}, ["empty"]),
    ],
)
def test_operators(matching: Callable[..., list[str]], filter_doc: Any, expected: list[str]):
    assert matching(filter_doc) == expected


def test_filter_by_id(matching: Callable[..., list[str]], things: dict[str, Any]):
    assert matching({"id": {"eq": str(things["one"]["id"])}}) == ["one"]
    assert matching({"account": {"id": {"in": [str(things["sub"]["id"])]}}}) == ["two"]


def test_reverse_relations_some_none_every(
    matching: Callable[..., list[str]], records: RecordService, workspace: str, things: dict[str, Any]
):
    # accounts: top has thing one; sub has two; lone has three
    assert matching({"things": {"some": {"count": {"gte": 2}}}}, "account") == ["lone", "sub"]
    assert matching({"things": {"none": {"count": {"gte": 2}}}}, "account") == ["top"]
    records.create(workspace, "thing", {"name": "late", "count": 9, "account": str(things["top"]["id"])})
    assert matching({"things": {"every": {"count": {"gte": 2}}}}, "account") == ["lone", "sub"]
    assert matching({"children": {"some": {"country": {"eq": "DE"}}}}, "account") == ["top"]


def test_soft_deleted_related_records_never_match(
    matching: Callable[..., list[str]], records: RecordService, workspace: str, things: dict[str, Any]
):
    records.delete(workspace, "account", things["sub"]["id"])
    assert matching({"account": {"country": {"eq": "DE"}}}) == []
    records.delete(workspace, "thing", things["three"]["id"])
    assert matching({"things": {"some": {"stage": {"eq": "lost"}}}}, "account") == []


def test_relative_dates_follow_the_time_zone(matching: Callable[..., list[str]]):
    # 2026-04-30T23:30Z is already May 1st in Paris
    assert matching({"at": {"within": "THIS_MONTH"}}, time_zone="Europe/Paris") == ["one", "two"]
    assert matching({"at": {"within": "THIS_MONTH"}}) == ["one"]


@pytest.mark.parametrize(
    ("filter_doc", "expected"),
    [
        ({"nope": {"eq": 1}}, {("FILTER_UNKNOWN_FIELD", ("filter", "nope"))}),
        ({"count": {"like": "1"}}, {("FILTER_UNKNOWN_OPERATOR", ("filter", "count", "like"))}),
        ({"count": {"eq": "x"}}, {("FILTER_INVALID_VALUE", ("filter", "count", "eq"))}),
        ({"count": 3}, {("FILTER_INVALID", ("filter", "count"))}),
        ({"and": {"count": {"eq": 1}}}, {("FILTER_INVALID", ("filter", "and"))}),
        ({"or": [{"day": {"eq": "someday"}}]}, {("FILTER_INVALID_VALUE", ("filter", "or", 0, "day", "eq"))}),
        ({"stage": {"eq": "maybe"}}, {("FILTER_INVALID_VALUE", ("filter", "stage", "eq"))}),
        ({"count": {"between": [1]}}, {("FILTER_INVALID_VALUE", ("filter", "count", "between"))}),
        ({"day": {"within": "SOON"}}, {("FILTER_INVALID_VALUE", ("filter", "day", "within"))}),
        ({"day": {"lastNDays": -1}}, {("FILTER_INVALID_VALUE", ("filter", "day", "lastNDays"))}),
        ({"name": {"isNull": "yes"}}, {("FILTER_INVALID_VALUE", ("filter", "name", "isNull"))}),
        ({"account": {"nope": {"eq": 1}}}, {("FILTER_UNKNOWN_FIELD", ("filter", "account", "nope"))}),
        ({"id": {"eq": "x"}}, {("FILTER_INVALID_VALUE", ("filter", "id", "eq"))}),
        ({"price": {"total": {"eq": 1}}}, {("FILTER_UNKNOWN_OPERATOR", ("filter", "price", "total"))}),
        (
            {"count": {"eq": "x"}, "name": {"gt": 1}, "nope": {}},
            {
                ("FILTER_INVALID_VALUE", ("filter", "count", "eq")),
                ("FILTER_INVALID_VALUE", ("filter", "name", "gt")),
                ("FILTER_UNKNOWN_FIELD", ("filter", "nope")),
            },
        ),
        ("everything", {("FILTER_INVALID", ("filter",))}),
    ],
)
def test_every_problem_is_reported_with_its_path(
    matching: Callable[..., list[str]], filter_doc: Any, expected: set[Any]
):
    assert problems(matching, filter_doc) == expected


def test_reverse_relation_quantifiers_are_checked(matching: Callable[..., list[str]]):
    with pytest.raises(TesseraError) as caught:
        matching({"things": {"most": {}}}, "account")
    assert caught.value.code == "FILTER_UNKNOWN_OPERATOR"


def test_like_to_glob_escapes_glob_characters():
    assert like_to_glob("a%b_c*d?[e]") == "a*b?c[*]d[?][[]e]"


@pytest.mark.parametrize(
    ("period", "today", "bounds"),
    [
        ("THIS_WEEK", dt.date(2026, 5, 20), (dt.date(2026, 5, 18), dt.date(2026, 5, 25))),
        ("LAST_WEEK", dt.date(2026, 5, 18), (dt.date(2026, 5, 11), dt.date(2026, 5, 18))),
        ("NEXT_MONTH", dt.date(2026, 12, 31), (dt.date(2027, 1, 1), dt.date(2027, 2, 1))),
        ("LAST_MONTH", dt.date(2026, 1, 15), (dt.date(2025, 12, 1), dt.date(2026, 1, 1))),
        ("THIS_QUARTER", dt.date(2026, 5, 20), (dt.date(2026, 4, 1), dt.date(2026, 7, 1))),
        ("LAST_QUARTER", dt.date(2026, 2, 1), (dt.date(2025, 10, 1), dt.date(2026, 1, 1))),
        ("NEXT_QUARTER", dt.date(2026, 11, 1), (dt.date(2027, 1, 1), dt.date(2027, 4, 1))),
        ("THIS_YEAR", dt.date(2026, 5, 20), (dt.date(2026, 1, 1), dt.date(2027, 1, 1))),
        ("TOMORROW", dt.date(2026, 12, 31), (dt.date(2027, 1, 1), dt.date(2027, 1, 2))),
    ],
)
def test_period_bounds(period: str, today: dt.date, bounds: tuple[dt.date, dt.date]):
    assert period_bounds(period, today) == bounds
