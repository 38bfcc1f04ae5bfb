"""The filter language in SQL: every operator of every type, on SQLite and PostgreSQL.

Records are created with a fixed clock and relative dates are computed from a fixed
``NOW``, so nothing here depends on the wall clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.metadata.fields import FIELD_TYPES, field_type
from tessera.metadata.filters import (
    CURRENCY_AMOUNT_OPERATORS,
    CURRENCY_CODE_OPERATORS,
    OPERATORS,
    SYSTEM_FIELD_KINDS,
    filter_json_schema,
)
from tessera.metadata.model import MetadataState
from tessera.metadata.storage import Tables
from tessera.metadata.store import MetadataStore
from tessera.platform.errors import TesseraError
from tessera.platform.filtering import compile_filter, like_to_glob, period_bounds
from tessera.platform.permissions import SYSTEM_ACCESS
from tessera.platform.records import RecordService
from tessera.platform.workspaces import WorkspaceService

NOW = dt.datetime(2026, 5, 20, 10, 0, tzinfo=dt.UTC)  # a Wednesday
USER = uuid.UUID("00000000-0000-0000-0000-0000000000aa")
ALL = ["empty", "one", "three", "two"]

THING_FIELDS: list[dict[str, Any]] = [
    {"api_name": "name", "type": "text"},
    {"api_name": "note", "type": "long_text"},
    {"api_name": "email", "type": "email"},
    {"api_name": "phone", "type": "phone"},
    {"api_name": "site", "type": "url"},
    {"api_name": "number", "type": "auto_number", "options": {"prefix": "T-", "padding": 3}},
    {"api_name": "count", "type": "integer", "options": {"min_value": 0, "max_value": 100}},
    {"api_name": "amount", "type": "decimal", "options": {"precision": 10, "scale": 2}},
    {"api_name": "rate", "type": "percent"},
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
]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(engine: Engine, clock: Clock) -> RecordService:
    return RecordService(engine, clock=clock)


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
    object_factory("thing", THING_FIELDS)


@pytest.fixture
def things(model: None, service: RecordService, workspace: str, clock: Clock) -> dict[str, Any]:
    top = service.create(workspace, "account", {"name": "Top", "country": "FR"})
    sub = service.create(workspace, "account", {"name": "Sub", "country": "DE", "parent": str(top["id"])})
    lone = service.create(workspace, "account", {"name": "Lone", "country": "FR"})
    rows: dict[str, tuple[dt.datetime, dict[str, Any]]] = {
        "one": (
            NOW - dt.timedelta(days=400),
            {
                "name": "Alpha One",
                "note": "Hello World",
                "email": "one@example.com",
                "phone": "+33 1 23 45 67 89",
                "site": "example.com",
                "count": 1,
                "amount": "1.50",
                "rate": "12.5",
                "price": {"amount": "10", "currency_code": "EUR"},
                "active": True,
                "day": "2026-05-20",
                "at": "2026-05-20T08:00:00+00:00",
                "stage": "new",
                "tags": ["a", "b"],
                "data": {"k": 1},
                "account": str(top["id"]),
            },
        ),
        "two": (
            NOW - dt.timedelta(days=10),
            {
                "name": "beta_two",
                "note": "Back\\slash",
                "email": "two@example.org",
                "phone": "+1 650-253-0000",
                "site": "https://tessera.dev/x",
                "count": 2,
                "amount": "-3.00",
                "rate": "0",
                "price": {"amount": "20", "currency_code": "USD"},
                "active": False,
                "day": "2026-05-01",
                "at": "2026-04-30T23:30:00+00:00",
                "stage": "won",
                "tags": ["c"],
                "data": [],
                "account": str(sub["id"]),
            },
        ),
        "three": (
            NOW - dt.timedelta(hours=1),
            {
                "name": "Gamma 100%",
                "count": 3,
                "day": "2025-12-31",
                "at": "2026-05-22T09:00:00+00:00",
                "stage": "lost",
                "tags": [],
                "account": str(lone["id"]),
            },
        ),
        "empty": (NOW, {}),
    }
    created = {}
    for key, (created_at, values) in rows.items():
        clock.now = created_at
        actor = USER if key == "one" else None
        # Tessera's own permissions, stamped with a user that needs no account here
        created[key] = service.acting_as(SYSTEM_ACCESS).create(workspace, "thing", values, actor=actor)
    clock.now = NOW
    return {"top": top, "sub": sub, "lone": lone, **created}


@pytest.fixture
def model_state(store: MetadataStore, workspace: str, model: None) -> MetadataState:
    return store.state(workspace)


@pytest.fixture
def matching(
    engine: Engine, model_state: MetadataState, workspace: str, things: dict[str, Any]
) -> Callable[..., list[str]]:
    """The keys (in ``things``) of the records a filter matches."""
    ws = WorkspaceService(engine).get(workspace)
    tables = Tables(ws.namespace(engine.dialect.name), model_state)
    names = {v["id"]: k for k, v in things.items() if isinstance(v, dict) and "id" in v}

    def run(
        filter_doc: Any,
        object_name: str = "thing",
        time_zone: str = "UTC",
        now: dt.datetime | None = NOW,
    ) -> list[str]:
        obj = model_state.object_named(object_name)
        assert obj is not None
        table = tables.of(obj)
        condition = compile_filter(filter_doc, obj, table, tables, now=now, time_zone=time_zone)
        with engine.connect() as conn:
            ids = conn.execute(sa.select(table.c.id).where(condition)).scalars().all()
        return sorted(names.get(i, "?") for i in ids)

    return run


@pytest.fixture
def problems(
    engine: Engine, model_state: MetadataState, workspace: str
) -> Callable[..., set[tuple[str, tuple[Any, ...]]]]:
    """The (code, path) of the problems of a filter (compiled, not run: no records needed)."""
    ws = WorkspaceService(engine).get(workspace)
    tables = Tables(ws.namespace(engine.dialect.name), model_state)

    def run(filter_doc: Any, object_name: str = "thing") -> set[tuple[str, tuple[Any, ...]]]:
        obj = model_state.object_named(object_name)
        assert obj is not None
        with pytest.raises(TesseraError) as caught:
            compile_filter(filter_doc, obj, tables.of(obj), tables, now=NOW)
        return {(p.code, p.path) for p in caught.value.problems}

    return run


# -- every operator of every type ---------------------------------------------------------
#
# Rows: "one", "two", "three" and "empty" (no values) — see the ``things`` fixture.
CASES: dict[str, list[tuple[dict[str, Any], list[str]]]] = {
    "text": [
        ({"name": {"eq": "Alpha One"}}, ["one"]),
        ({"name": {"eq": None}}, ["empty"]),  # eq: null is isNull: true
        ({"name": {"neq": "Alpha One"}}, ["empty", "three", "two"]),  # empty values match neq
        ({"name": {"neq": None}}, ["one", "three", "two"]),
        ({"name": {"in": ["Alpha One", "beta_two"]}}, ["one", "two"]),
        ({"name": {"in": []}}, []),
        ({"name": {"notIn": ["Alpha One"]}}, ["empty", "three", "two"]),
        ({"name": {"notIn": []}}, ALL),
        ({"name": {"lt": "B"}}, ["one"]),
        ({"name": {"lte": "Alpha One"}}, ["one"]),
        ({"name": {"gt": "Alpha One"}}, ["three", "two"]),
        ({"name": {"gte": "Alpha One"}}, ["one", "three", "two"]),
        ({"name": {"like": "Alpha%"}}, ["one"]),
        ({"name": {"like": "alpha%"}}, []),  # like is case-sensitive
        ({"name": {"like": "beta_two"}}, ["two"]),
        ({"name": {"like": "beta\\_two"}}, ["two"]),  # \ escapes _
        ({"name": {"like": "Alpha\\_%"}}, []),
        ({"name": {"like": "Gamma 100\\%"}}, ["three"]),  # \ escapes %
        ({"name": {"like": "%*%"}}, []),  # GLOB characters are literal
        ({"name": {"like": "%[%"}}, []),
        ({"name": {"ilike": "ALPHA%"}}, ["one"]),
        ({"name": {"ilike": "gamma 100\\%"}}, ["three"]),
        ({"name": {"startsWith": "gam"}}, ["three"]),
        ({"name": {"startsWith": "%"}}, []),  # taken literally
        ({"name": {"contains": "100%"}}, ["three"]),  # literal %
        ({"name": {"contains": "a_t"}}, ["two"]),  # literal _
        ({"name": {"contains": "ONE"}}, ["one"]),  # case-insensitive
        ({"name": {"isNull": True}}, ["empty"]),
        ({"name": {"isNull": False}}, ["one", "three", "two"]),
        ({"name": {"eq": "x" * 300}}, []),  # longer than the field holds: matches nothing
        ({"name": {"neq": "x" * 300}}, ALL),
    ],
    "long_text": [
        ({"note": {"eq": "Hello World"}}, ["one"]),
        ({"note": {"neq": "Hello World"}}, ["empty", "three", "two"]),
        ({"note": {"in": ["Hello World", "nope"]}}, ["one"]),
        ({"note": {"notIn": ["Hello World"]}}, ["empty", "three", "two"]),
        ({"note": {"lt": "I"}}, ["one", "two"]),
        ({"note": {"lte": "Hello World"}}, ["one", "two"]),
        ({"note": {"gt": "C"}}, ["one"]),
        ({"note": {"gte": "Hello World"}}, ["one"]),
        ({"note": {"like": "Hello%"}}, ["one"]),
        ({"note": {"like": "Back\\\\slash"}}, ["two"]),  # \\ is one backslash
        ({"note": {"ilike": "hello world"}}, ["one"]),
        ({"note": {"startsWith": "HEL"}}, ["one"]),
        ({"note": {"contains": "k\\s"}}, ["two"]),  # a backslash, literally
        ({"note": {"contains": "WORLD"}}, ["one"]),
        ({"note": {"isNull": True}}, ["empty", "three"]),
    ],
    "email": [
        ({"email": {"eq": "one@EXAMPLE.com"}}, ["one"]),  # coerced like stored values
        ({"email": {"neq": "one@example.com"}}, ["empty", "three", "two"]),
        ({"email": {"in": ["one@EXAMPLE.com", "two@example.org"]}}, ["one", "two"]),
        ({"email": {"notIn": ["two@example.org"]}}, ["empty", "one", "three"]),
        ({"email": {"lt": "p@example.com"}}, ["one"]),
        ({"email": {"lte": "one@example.com"}}, ["one"]),
        ({"email": {"gt": "one@example.com"}}, ["two"]),
        ({"email": {"gte": "one@example.com"}}, ["one", "two"]),
        ({"email": {"like": "%.org"}}, ["two"]),
        ({"email": {"ilike": "%.ORG"}}, ["two"]),
        ({"email": {"startsWith": "TWO"}}, ["two"]),
        ({"email": {"contains": "example"}}, ["one", "two"]),
        ({"email": {"isNull": True}}, ["empty", "three"]),
    ],
    "phone": [
        ({"phone": {"eq": "+33 1 23 45 67 89"}}, ["one"]),  # compared in E.164
        ({"phone": {"neq": "+33123456789"}}, ["empty", "three", "two"]),
        ({"phone": {"in": ["+16502530000"]}}, ["two"]),
        ({"phone": {"notIn": ["+16502530000"]}}, ["empty", "one", "three"]),
        ({"phone": {"lt": "+33123456789"}}, ["two"]),
        ({"phone": {"lte": "+33123456789"}}, ["one", "two"]),
        ({"phone": {"gt": "+16502530000"}}, ["one"]),
        ({"phone": {"gte": "+33123456789"}}, ["one"]),
        ({"phone": {"like": "+33%"}}, ["one"]),
        ({"phone": {"ilike": "+1%"}}, ["two"]),
        ({"phone": {"startsWith": "+1"}}, ["two"]),
        ({"phone": {"contains": "253"}}, ["two"]),
        ({"phone": {"isNull": False}}, ["one", "two"]),
    ],
    "url": [
        ({"site": {"eq": "example.com"}}, ["one"]),  # normalised to https://example.com
        ({"site": {"neq": "https://example.com"}}, ["empty", "three", "two"]),
        ({"site": {"in": ["https://tessera.dev/x"]}}, ["two"]),
        ({"site": {"notIn": ["https://tessera.dev/x"]}}, ["empty", "one", "three"]),
        ({"site": {"lt": "https://tessera.dev/x"}}, ["one"]),
        ({"site": {"lte": "https://tessera.dev/x"}}, ["one", "two"]),
        ({"site": {"gt": "https://example.com"}}, ["two"]),
        ({"site": {"gte": "https://example.com"}}, ["one", "two"]),
        ({"site": {"like": "%.dev/%"}}, ["two"]),
        ({"site": {"ilike": "HTTPS://EXAMPLE%"}}, ["one"]),
        ({"site": {"startsWith": "https://tessera"}}, ["two"]),
        ({"site": {"contains": "EXAMPLE"}}, ["one"]),
        ({"site": {"isNull": True}}, ["empty", "three"]),
    ],
    "auto_number": [
        ({"number": {"eq": "T-001"}}, ["one"]),
        ({"number": {"neq": "T-001"}}, ["empty", "three", "two"]),
        ({"number": {"in": ["T-002", "T-003"]}}, ["three", "two"]),
        ({"number": {"notIn": ["T-002", "T-003"]}}, ["empty", "one"]),
        ({"number": {"lt": "T-002"}}, ["one"]),
        ({"number": {"lte": "T-002"}}, ["one", "two"]),
        ({"number": {"gt": "T-003"}}, ["empty"]),
        ({"number": {"gte": "T-003"}}, ["empty", "three"]),
        ({"number": {"like": "T-00_"}}, ALL),
        ({"number": {"ilike": "t-001"}}, ["one"]),
        ({"number": {"startsWith": "t-00"}}, ALL),
        ({"number": {"contains": "3"}}, ["three"]),
        ({"number": {"isNull": True}}, []),
    ],
    "integer": [
        ({"count": {"eq": 1}}, ["one"]),
        ({"count": {"eq": "2"}}, ["two"]),  # a whole number written as text
        ({"count": {"neq": 1}}, ["empty", "three", "two"]),
        ({"count": {"in": [1, 3]}}, ["one", "three"]),
        ({"count": {"notIn": [1]}}, ["empty", "three", "two"]),
        ({"count": {"lt": 2}}, ["one"]),
        ({"count": {"lte": 2}}, ["one", "two"]),
        ({"count": {"gt": 1}}, ["three", "two"]),
        ({"count": {"gte": 2}}, ["three", "two"]),
        ({"count": {"gte": 1, "lt": 3}}, ["one", "two"]),  # several operators: all hold
        ({"count": {"between": [2, 3]}}, ["three", "two"]),
        ({"count": {"between": [3, 2]}}, []),
        ({"count": {"lt": 1000}}, ["one", "three", "two"]),  # beyond the field's maximum
        ({"count": {"gt": -5}}, ["one", "three", "two"]),  # below its minimum
        ({"count": {"isNull": True}}, ["empty"]),
    ],
    "decimal": [
        ({"amount": {"eq": 1.5}}, ["one"]),
        ({"amount": {"eq": "1.50"}}, ["one"]),
        ({"amount": {"neq": "1.5"}}, ["empty", "three", "two"]),
        ({"amount": {"in": ["1.5", -3]}}, ["one", "two"]),
        ({"amount": {"notIn": ["1.5"]}}, ["empty", "three", "two"]),
        ({"amount": {"lt": "0"}}, ["two"]),
        ({"amount": {"lte": "-3"}}, ["two"]),
        ({"amount": {"gt": "-3"}}, ["one"]),
        ({"amount": {"gte": "-3.00"}}, ["one", "two"]),
        ({"amount": {"between": ["-5", "2"]}}, ["one", "two"]),
        ({"amount": {"gt": "1.49"}}, ["one"]),  # exact, also on SQLite's scaled integers
        ({"amount": {"lt": "1.51"}}, ["one", "two"]),
        ({"amount": {"isNull": True}}, ["empty", "three"]),
    ],
    "percent": [
        ({"rate": {"eq": "12.5"}}, ["one"]),
        ({"rate": {"neq": 0}}, ["empty", "one", "three"]),
        ({"rate": {"in": ["0"]}}, ["two"]),
        ({"rate": {"notIn": ["0", "12.50"]}}, ["empty", "three"]),
        ({"rate": {"lt": 1}}, ["two"]),
        ({"rate": {"lte": "12.5"}}, ["one", "two"]),
        ({"rate": {"gt": 0}}, ["one"]),
        ({"rate": {"gte": 0}}, ["one", "two"]),
        ({"rate": {"between": [0, 0]}}, ["two"]),
        ({"rate": {"isNull": True}}, ["empty", "three"]),
    ],
    "currency": [
        ({"price": {"amount": {"eq": 10}}}, ["one"]),
        ({"price": {"amount": {"neq": 10}}}, ["empty", "three", "two"]),
        ({"price": {"amount": {"in": ["10", "20.00"]}}}, ["one", "two"]),
        ({"price": {"amount": {"notIn": ["10"]}}}, ["empty", "three", "two"]),
        ({"price": {"amount": {"lt": 15}}}, ["one"]),
        ({"price": {"amount": {"lte": 20}}}, ["one", "two"]),
        ({"price": {"amount": {"gt": "10"}}}, ["two"]),
        ({"price": {"amount": {"gte": 15}}}, ["two"]),
        ({"price": {"amount": {"between": [5, 15]}}}, ["one"]),
        ({"price": {"currencyCode": {"eq": "EUR"}}}, ["one"]),
        ({"price": {"currencyCode": {"neq": "EUR"}}}, ["empty", "three", "two"]),
        ({"price": {"currencyCode": {"in": ["EUR", "USD"]}}}, ["one", "two"]),
        ({"price": {"currencyCode": {"notIn": ["EUR"]}}}, ["empty", "three", "two"]),
        ({"price": {"amount": {"gte": 5}, "currencyCode": {"eq": "USD"}}}, ["two"]),
        ({"price": {"isNull": True}}, ["empty", "three"]),
        ({"price": {"isNull": False}}, ["one", "two"]),
    ],
    "boolean": [
        ({"active": {"eq": True}}, ["one"]),
        ({"active": {"eq": False}}, ["two"]),
        ({"active": {"neq": True}}, ["empty", "three", "two"]),
        ({"active": {"neq": False}}, ["empty", "one", "three"]),
        ({"active": {"isNull": True}}, ["empty", "three"]),
    ],
    "date": [
        ({"day": {"eq": "2026-05-20"}}, ["one"]),
        ({"day": {"eq": "today"}}, ["one"]),
        ({"day": {"eq": "tomorrow"}}, []),
        ({"day": {"neq": "2026-05-20"}}, ["empty", "three", "two"]),
        ({"day": {"in": ["2026-05-01", "2025-12-31"]}}, ["three", "two"]),
        ({"day": {"notIn": ["2026-05-01"]}}, ["empty", "one", "three"]),
        ({"day": {"lt": "2026-05-01"}}, ["three"]),
        ({"day": {"lt": "yesterday"}}, ["three", "two"]),
        ({"day": {"lte": "2026-05-01"}}, ["three", "two"]),
        ({"day": {"gt": "2026-05-01"}}, ["one"]),
        ({"day": {"gte": "today"}}, ["one"]),
        ({"day": {"between": ["2026-01-01", "2026-05-19"]}}, ["two"]),
        ({"day": {"between": ["yesterday", "tomorrow"]}}, ["one"]),
        ({"day": {"isNull": True}}, ["empty"]),
        ({"day": {"lastNDays": 0}}, ["one"]),  # today
        ({"day": {"lastNDays": 18}}, ["one"]),
        ({"day": {"lastNDays": 19}}, ["one", "two"]),  # May 1st is 19 days before
        ({"day": {"nextNDays": 3}}, ["one"]),
        ({"day": {"within": "TODAY"}}, ["one"]),
        ({"day": {"within": "YESTERDAY"}}, []),
        ({"day": {"within": "TOMORROW"}}, []),
        ({"day": {"within": "THIS_WEEK"}}, ["one"]),
        ({"day": {"within": "LAST_WEEK"}}, []),
        ({"day": {"within": "NEXT_WEEK"}}, []),
        ({"day": {"within": "THIS_MONTH"}}, ["one", "two"]),
        ({"day": {"within": "LAST_MONTH"}}, []),
        ({"day": {"within": "NEXT_MONTH"}}, []),
        ({"day": {"within": "THIS_QUARTER"}}, ["one", "two"]),
        ({"day": {"within": "LAST_QUARTER"}}, []),
        ({"day": {"within": "NEXT_QUARTER"}}, []),
        ({"day": {"within": "THIS_YEAR"}}, ["one", "two"]),
        ({"day": {"within": "LAST_YEAR"}}, ["three"]),
        ({"day": {"within": "NEXT_YEAR"}}, []),
    ],
    "datetime": [
        ({"at": {"eq": "2026-05-20T10:00:00+02:00"}}, ["one"]),  # the same instant as 08:00Z
        ({"at": {"eq": "now"}}, []),
        ({"at": {"neq": "2026-05-20T08:00:00Z"}}, ["empty", "three", "two"]),
        ({"at": {"lt": "now"}}, ["one", "two"]),
        ({"at": {"lte": "2026-05-20T08:00:00Z"}}, ["one", "two"]),
        ({"at": {"gt": "now"}}, ["three"]),
        ({"at": {"gt": "tomorrow"}}, ["three"]),  # the instant tomorrow starts
        ({"at": {"gte": "today"}}, ["one", "three"]),
        ({"at": {"gte": "2026-05-01T00:00:00+02:00"}}, ["one", "three", "two"]),
        ({"at": {"between": ["2026-05-20", "2026-05-21T00:00:00Z"]}}, ["one"]),  # a date: its start
        ({"at": {"isNull": True}}, ["empty"]),
        ({"at": {"lastNDays": 0}}, ["one"]),
        ({"at": {"lastNDays": 20}}, ["one", "two"]),
        ({"at": {"nextNDays": 1}}, ["one"]),
        ({"at": {"nextNDays": 2}}, ["one", "three"]),
        ({"at": {"within": "TODAY"}}, ["one"]),
        ({"at": {"within": "TOMORROW"}}, []),
        ({"at": {"within": "THIS_WEEK"}}, ["one", "three"]),
        ({"at": {"within": "THIS_MONTH"}}, ["one", "three"]),
        ({"at": {"within": "LAST_MONTH"}}, ["two"]),
    ],
    "select": [
        ({"stage": {"eq": "won"}}, ["two"]),
        ({"stage": {"eq": None}}, ["empty"]),
        ({"stage": {"neq": "won"}}, ["empty", "one", "three"]),  # no stage is "not won"
        ({"stage": {"in": ["won", "lost"]}}, ["three", "two"]),
        ({"stage": {"notIn": ["won"]}}, ["empty", "one", "three"]),
        ({"stage": {"isNull": False}}, ["one", "three", "two"]),
    ],
    "multi_select": [
        ({"tags": {"containsAny": ["b", "c"]}}, ["one", "two"]),
        ({"tags": {"containsAny": []}}, []),
        ({"tags": {"containsAll": ["a", "b"]}}, ["one"]),
        ({"tags": {"containsAll": ["a", "c"]}}, []),
        ({"tags": {"containsAll": ["b", "b"]}}, ["one"]),
        ({"tags": {"isNull": True}}, ["empty", "three"]),  # no value or an empty list
        ({"tags": {"isNull": False}}, ["one", "two"]),
    ],
    "json": [
        ({"data": {"isNull": False}}, ["one", "two"]),  # an empty list is a value
        ({"data": {"isNull": True}}, ["empty", "three"]),
    ],
    "lookup": [
        ({"account": {"country": {"eq": "FR"}}}, ["one", "three"]),
        ({"account": {"parent": {"name": {"eq": "Top"}}}}, ["two"]),  # two levels
        ({"account": {"parent": {"children": {"some": {"name": {"eq": "Sub"}}}}}}, ["two"]),
        ({"account": {"id": {"isNull": False}}}, ["one", "three", "two"]),
        ({"account": {"isNull": True}}, ["empty"]),
        ({"account": {"isNull": False}}, ["one", "three", "two"]),
        ({"account": {"isNull": False, "country": {"eq": "DE"}}}, ["two"]),
        ({"account": {}}, ALL),
    ],
    "system": [
        ({"owner": {"eq": str(USER)}}, ["one"]),
        ({"owner": {"neq": str(USER)}}, ["empty", "three", "two"]),
        ({"owner": {"in": [str(USER)]}}, ["one"]),
        ({"owner": {"notIn": [str(USER)]}}, ["empty", "three", "two"]),
        ({"owner": {"isNull": True}}, ["empty", "three", "two"]),
        ({"created_by": {"eq": str(USER)}}, ["one"]),
        ({"updated_by": {"isNull": False}}, ["one"]),
        ({"created_at": {"eq": "2026-05-20T10:00:00Z"}}, ["empty"]),
        ({"created_at": {"neq": "now"}}, ["one", "three", "two"]),
        ({"created_at": {"lt": "2026-01-01T00:00:00Z"}}, ["one"]),
        ({"created_at": {"lte": "now"}}, ALL),
        ({"created_at": {"gt": "now"}}, []),
        ({"created_at": {"gte": "today"}}, ["empty", "three"]),
        ({"created_at": {"between": ["2026-05-01", "2026-05-15"]}}, ["two"]),
        ({"created_at": {"isNull": True}}, []),
        ({"created_at": {"lastNDays": 10}}, ["empty", "three", "two"]),
        ({"created_at": {"nextNDays": 0}}, ["empty", "three"]),
        ({"created_at": {"within": "LAST_YEAR"}}, ["one"]),
        ({"updated_at": {"within": "THIS_MONTH"}}, ["empty", "three", "two"]),
        ({"deleted_at": {"isNull": True}}, ALL),  # the caller filters the recycle bin
    ],
    "logic": [
        (None, ALL),
        ({}, ALL),
        ({"and": [{"count": {"gte": 1}}, {"count": {"lte": 2}}]}, ["one", "two"]),
        ({"and": []}, ALL),
        ({"or": [{"count": {"eq": 1}}, {"stage": {"eq": "lost"}}]}, ["one", "three"]),
        ({"or": []}, []),
        ({"or": [{"count": {"gt": 2}}, {"count": {"isNull": True}}]}, ["empty", "three"]),
        ({"not": {"count": {"eq": 1}}}, ["empty", "three", "two"]),  # not(unknown) matches
        ({"not": {"count": {"gt": 1}}}, ["empty", "one"]),
        ({"not": {"name": {"neq": "Alpha One"}}}, ["one"]),
        ({"not": {"not": {"count": {"gt": 1}}}}, ["three", "two"]),
        ({"not": {}}, []),
        ({"count": {"gt": 1}, "stage": {"eq": "won"}}, ["two"]),  # keys are ANDed
        (
            {"or": [{"and": [{"day": {"within": "THIS_YEAR"}}, {"not": {"stage": {"eq": "won"}}}]}]},
            ["one"],
        ),
    ],
}


def used_operators(filter_doc: Any) -> set[tuple[str, str]]:
    """(field, operator) pairs a filter of things uses (currency parts as ``price.amount``)."""
    found: set[tuple[str, str]] = set()
    if not isinstance(filter_doc, Mapping):
        return found
    for key, value in filter_doc.items():
        if key in ("and", "or"):
            for item in value:
                found |= used_operators(item)
        elif key == "not":
            found |= used_operators(value)
        elif key == "price":
            for part, inner in value.items():
                names = inner if isinstance(inner, Mapping) else {}
                found |= {(f"price.{part}", op) for op in names} | ({("price", part)} if not names else set())
        elif isinstance(value, Mapping):
            found |= {(key, op) for op in value}
    return found


def test_the_cases_cover_every_operator_of_every_type():
    assert set(FIELD_TYPES) <= {f["type"] for f in THING_FIELDS}
    used = set().union(*(used_operators(doc) for cases in CASES.values() for doc, _ in cases))
    expected = {("price.amount", op.name) for op in CURRENCY_AMOUNT_OPERATORS}
    expected |= {("price.currencyCode", op.name) for op in CURRENCY_CODE_OPERATORS}
    expected |= {("price", "isNull"), ("account", "isNull")}
    for fld in THING_FIELDS:
        kind = field_type(fld["type"]).filter_kind
        if kind not in ("currency", "lookup"):
            expected |= {(fld["api_name"], op.name) for op in OPERATORS[kind]}
    expected |= {("owner", op.name) for op in OPERATORS[SYSTEM_FIELD_KINDS["owner"]]}
    expected |= {("created_at", op.name) for op in OPERATORS[SYSTEM_FIELD_KINDS["created_at"]]}
    assert expected - used == set()


@pytest.mark.parametrize("group", list(CASES))
def test_every_operator_of_every_type(
    matching: Callable[..., list[str]], model_state: MetadataState, group: str
):
    thing = model_state.object_named("thing")
    assert thing is not None
    schema = jsonschema.Draft202012Validator(filter_json_schema(thing, model_state))
    wrong = []
    for filter_doc, expected in CASES[group]:
        if filter_doc is not None:  # the JSON Schema accepts what the compiler accepts
            assert schema.is_valid(filter_doc), filter_doc
        got = matching(filter_doc)
        if got != expected:
            wrong.append((filter_doc, expected, got))
    assert wrong == [], wrong


def test_auto_numbers_follow_creation(things: dict[str, Any]):
    assert [things[k]["number"] for k in ("one", "two", "three", "empty")] == [
        "T-001",
        "T-002",
        "T-003",
        "T-004",
    ]


def test_filter_by_id(matching: Callable[..., list[str]], things: dict[str, Any]):
    one, two = str(things["one"]["id"]), str(things["two"]["id"])
    assert matching({"id": {"eq": one}}) == ["one"]
    assert matching({"id": {"neq": one}}) == ["empty", "three", "two"]
    assert matching({"id": {"in": [one, two]}}) == ["one", "two"]
    assert matching({"id": {"notIn": [one, two]}}) == ["empty", "three"]
    assert matching({"id": {"isNull": False}}) == ALL
    assert matching({"id": {"eq": one.replace("-", "").upper()}}) == ["one"]
    assert matching({"account": {"id": {"in": [str(things["sub"]["id"])]}}}) == ["two"]


# -- relations --------------------------------------------------------------------------
def test_reverse_relations_some_none_every(
    matching: Callable[..., list[str]], service: RecordService, workspace: str, things: dict[str, Any]
):
    # accounts: top has thing one; sub has two; lone has three; top is sub's parent
    assert matching({"things": {"some": {"count": {"gte": 2}}}}, "account") == ["lone", "sub"]
    assert matching({"things": {"none": {"count": {"gte": 2}}}}, "account") == ["top"]
    assert matching({"things": {"every": {"count": {"gte": 1}}}}, "account") == ["lone", "sub", "top"]
    service.create(workspace, "thing", {"name": "late", "count": 9, "account": str(things["top"]["id"])})
    assert matching({"things": {"every": {"count": {"gte": 2}}}}, "account") == ["lone", "sub"]
    # every also holds when there are none; an unknown value does not pass every
    assert matching({"children": {"every": {"country": {"eq": "XX"}}}}, "account") == ["lone", "sub"]
    assert matching({"things": {"every": {"amount": {"lt": 100}}}}, "account") == ["sub"]
    assert matching({"children": {"some": {"country": {"eq": "DE"}}}}, "account") == ["top"]
    assert matching({"children": {"some": {}}, "things": {"none": {"name": {"eq": "late"}}}}, "account") == []
    assert matching({"children": {"none": {}}}, "account") == ["lone", "sub"]


def test_relations_nest_and_repeat_objects(matching: Callable[..., list[str]]):
    # thing -> account -> parent -> things (the same two objects twice, on fresh aliases)
    nested = {"account": {"parent": {"things": {"some": {"name": {"eq": "Alpha One"}}}}}}
    assert matching(nested) == ["two"]
    deep = {"things": {"some": {"account": {"parent": {"name": {"eq": "Top"}}}}}}
    assert matching(deep, "account") == ["sub"]
    both = {"or": [{"account": {"country": {"eq": "DE"}}}, {"account": {"parent": {"isNull": True}}}]}
    assert matching(both) == ["one", "three", "two"]
    assert matching({"not": {"account": {"country": {"eq": "FR"}}}}) == ["empty", "two"]


def test_soft_deleted_related_records_never_match(
    matching: Callable[..., list[str]], service: RecordService, workspace: str, things: dict[str, Any]
):
    service.delete(workspace, "account", things["sub"]["id"])
    assert matching({"account": {"country": {"eq": "DE"}}}) == []
    # as in reads, a link to a record in the recycle bin counts as empty
    assert matching({"account": {"isNull": True}}) == ["empty", "two"]
    assert matching({"account": {"isNull": False}}) == ["one", "three"]
    assert matching({"children": {"some": {}}}, "account") == []
    service.delete(workspace, "thing", things["three"]["id"])
    assert matching({"things": {"some": {"stage": {"eq": "lost"}}}}, "account") == []
    assert matching({"things": {"every": {"stage": {"eq": "new"}}}}, "account") == ["lone", "top"]
    # the root table's own recycle bin is the caller's business
    assert matching({"stage": {"eq": "lost"}}) == ["three"]
    assert matching({"deleted_at": {"isNull": False}}) == ["three"]


# -- relative dates ----------------------------------------------------------------------
def test_relative_dates_follow_the_time_zone(matching: Callable[..., list[str]]):
    # 2026-04-30T23:30Z is already May 1st in Paris
    assert matching({"at": {"within": "THIS_MONTH"}}, time_zone="Europe/Paris") == ["one", "three", "two"]
    assert matching({"at": {"within": "THIS_MONTH"}}) == ["one", "three"]
    # a date alone is the instant it starts in the time zone (May 1st 00:00 Paris = 22:00Z)
    assert matching({"at": {"gte": "2026-05-01"}}, time_zone="Europe/Paris") == ["one", "three", "two"]
    assert matching({"at": {"gte": "2026-05-01"}}) == ["one", "three"]
    # at 23:30 UTC on May 20 it is already May 21 in Tokyo
    late = dt.datetime(2026, 5, 20, 23, 30, tzinfo=dt.UTC)
    assert matching({"day": {"eq": "today"}}, time_zone="Asia/Tokyo", now=late) == []
    assert matching({"day": {"eq": "yesterday"}}, time_zone="Asia/Tokyo", now=late) == ["one"]
    assert matching({"at": {"within": "TOMORROW"}}, time_zone="Asia/Tokyo", now=late) == ["three"]


def test_weeks_start_on_monday(matching: Callable[..., list[str]]):
    sunday = dt.datetime(2026, 5, 24, 12, tzinfo=dt.UTC)
    monday = dt.datetime(2026, 5, 25, 12, tzinfo=dt.UTC)
    assert matching({"day": {"within": "THIS_WEEK"}}, now=sunday) == ["one"]
    assert matching({"day": {"within": "LAST_WEEK"}}, now=monday) == ["one"]
    assert matching({"at": {"within": "NEXT_WEEK"}}, now=dt.datetime(2026, 5, 17, tzinfo=dt.UTC)) == [
        "one",
        "three",
    ]


def test_a_naive_now_is_utc(matching: Callable[..., list[str]]):
    assert matching({"day": {"eq": "today"}}, now=NOW.replace(tzinfo=None)) == ["one"]


# -- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("filter_doc", "expected"),
    [
        ({"nope": {"eq": 1}}, {("FILTER_UNKNOWN_FIELD", ("filter", "nope"))}),
        ({"count": {"like": "1"}}, {("FILTER_UNKNOWN_OPERATOR", ("filter", "count", "like"))}),
        ({"name": {"within": "TODAY"}}, {("FILTER_UNKNOWN_OPERATOR", ("filter", "name", "within"))}),
        ({"tags": {"eq": "a"}}, {("FILTER_UNKNOWN_OPERATOR", ("filter", "tags", "eq"))}),
        ({"count": {"eq": "x"}}, {("FILTER_INVALID_VALUE", ("filter", "count", "eq"))}),
        ({"count": {"eq": 2**64}}, {("FILTER_INVALID_VALUE", ("filter", "count", "eq"))}),
        ({"count": {"lt": None}}, {("FILTER_INVALID_VALUE", ("filter", "count", "lt"))}),
        ({"count": 3}, {("FILTER_INVALID", ("filter", "count"))}),
        ({"and": {"count": {"eq": 1}}}, {("FILTER_INVALID", ("filter", "and"))}),
        ({"and": [3]}, {("FILTER_INVALID", ("filter", "and", 0))}),
        ({"not": [{"count": {"eq": 1}}]}, {("FILTER_INVALID", ("filter", "not"))}),
        ({"or": [{"day": {"eq": "someday"}}]}, {("FILTER_INVALID_VALUE", ("filter", "or", 0, "day", "eq"))}),
        (
            {"and": [{"amount": {"gte": "ten"}}]},
            {("FILTER_INVALID_VALUE", ("filter", "and", 0, "amount", "gte"))},
        ),
        ({"amount": {"eq": "1.555"}}, {("FILTER_INVALID_VALUE", ("filter", "amount", "eq"))}),
        ({"amount": {"eq": True}}, {("FILTER_INVALID_VALUE", ("filter", "amount", "eq"))}),
        (
            {"price": {"amount": {"eq": "NaN"}}},
            {("FILTER_INVALID_VALUE", ("filter", "price", "amount", "eq"))},
        ),
        (
            {"price": {"currencyCode": {"eq": 3}}},
            {("FILTER_INVALID_VALUE", ("filter", "price", "currencyCode", "eq"))},
        ),
        (
            {"price": {"currencyCode": {"lt": "EUR"}}},
            {("FILTER_UNKNOWN_OPERATOR", ("filter", "price", "currencyCode", "lt"))},
        ),
        ({"price": {"total": {"eq": 1}}}, {("FILTER_UNKNOWN_OPERATOR", ("filter", "price", "total"))}),
        ({"price": 5}, {("FILTER_INVALID", ("filter", "price"))}),
        ({"stage": {"eq": "maybe"}}, {("FILTER_INVALID_VALUE", ("filter", "stage", "eq"))}),
        (
            {"tags": {"containsAny": ["a", "z"]}},
            {("FILTER_INVALID_VALUE", ("filter", "tags", "containsAny", 1))},
        ),
        ({"count": {"between": [1]}}, {("FILTER_INVALID_VALUE", ("filter", "count", "between"))}),
        ({"count": {"between": 1}}, {("FILTER_INVALID_VALUE", ("filter", "count", "between"))}),
        ({"count": {"in": 1}}, {("FILTER_INVALID_VALUE", ("filter", "count", "in"))}),
        ({"count": {"in": [1, "x"]}}, {("FILTER_INVALID_VALUE", ("filter", "count", "in", 1))}),
        ({"day": {"within": "SOON"}}, {("FILTER_INVALID_VALUE", ("filter", "day", "within"))}),
        ({"day": {"lastNDays": -1}}, {("FILTER_INVALID_VALUE", ("filter", "day", "lastNDays"))}),
        ({"day": {"lastNDays": True}}, {("FILTER_INVALID_VALUE", ("filter", "day", "lastNDays"))}),
        ({"day": {"nextNDays": "3"}}, {("FILTER_INVALID_VALUE", ("filter", "day", "nextNDays"))}),
        ({"day": {"eq": "now"}}, {("FILTER_INVALID_VALUE", ("filter", "day", "eq"))}),
        ({"at": {"eq": "2026-05-20T10:00:00"}}, {("FILTER_INVALID_VALUE", ("filter", "at", "eq"))}),
        ({"created_at": {"eq": "nope"}}, {("FILTER_INVALID_VALUE", ("filter", "created_at", "eq"))}),
        ({"name": {"isNull": "yes"}}, {("FILTER_INVALID_VALUE", ("filter", "name", "isNull"))}),
        ({"name": {"eq": 5}}, {("FILTER_INVALID_VALUE", ("filter", "name", "eq"))}),
        ({"name": {"like": 5}}, {("FILTER_INVALID_VALUE", ("filter", "name", "like"))}),
        ({"name": {"like": "Gamma 100\\"}}, {("FILTER_INVALID_VALUE", ("filter", "name", "like"))}),
        ({"name": {"ilike": "a\\\\\\"}}, {("FILTER_INVALID_VALUE", ("filter", "name", "ilike"))}),
        ({"email": {"eq": "not an email"}}, {("FILTER_INVALID_VALUE", ("filter", "email", "eq"))}),
        ({"active": {"eq": "yes please"}}, {("FILTER_INVALID_VALUE", ("filter", "active", "eq"))}),
        ({"account": {"nope": {"eq": 1}}}, {("FILTER_UNKNOWN_FIELD", ("filter", "account", "nope"))}),
        ({"account": "x"}, {("FILTER_INVALID", ("filter", "account"))}),
        (
            {"account": {"isNull": 1, "parent": {"name": {"eq": 2}}}},
            {
                ("FILTER_INVALID_VALUE", ("filter", "account", "isNull")),
                ("FILTER_INVALID_VALUE", ("filter", "account", "parent", "name", "eq")),
            },
        ),
        ({"id": {"eq": "x"}}, {("FILTER_INVALID_VALUE", ("filter", "id", "eq"))}),
        ({"owner": {"lt": str(USER)}}, {("FILTER_UNKNOWN_OPERATOR", ("filter", "owner", "lt"))}),
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
    problems: Callable[..., set[Any]], filter_doc: Any, expected: set[Any]
):
    assert problems(filter_doc) == expected


@pytest.mark.parametrize(
    ("filter_doc", "expected"),
    [
        ({"things": {"most": {}}}, {("FILTER_UNKNOWN_OPERATOR", ("filter", "things", "most"))}),
        ({"things": []}, {("FILTER_INVALID", ("filter", "things"))}),
        ({"things": {}}, {("FILTER_INVALID", ("filter", "things"))}),
        (
            {"things": {"some": {"count": {"eq": "x"}}}},
            {("FILTER_INVALID_VALUE", ("filter", "things", "some", "count", "eq"))},
        ),
        (
            {"children": {"every": {"things": {"none": {"nope": {}}}}}},
            {("FILTER_UNKNOWN_FIELD", ("filter", "children", "every", "things", "none", "nope"))},
        ),
    ],
)
def test_relation_problems_have_paths(problems: Callable[..., set[Any]], filter_doc: Any, expected: set[Any]):
    assert problems(filter_doc, "account") == expected


def test_paths_start_where_the_caller_says(engine: Engine, model_state: MetadataState, workspace: str):
    ws = WorkspaceService(engine).get(workspace)
    tables = Tables(ws.namespace(engine.dialect.name), model_state)
    thing = model_state.object_named("thing")
    assert thing is not None
    with pytest.raises(TesseraError) as caught:
        compile_filter({"count": {"eq": "x"}}, thing, tables.of(thing), tables, path=("where",))
    assert caught.value.path == ("where", "count", "eq")


def test_an_alias_of_the_table_works(
    engine: Engine, model_state: MetadataState, workspace: str, things: dict[str, Any]
):
    ws = WorkspaceService(engine).get(workspace)
    tables = Tables(ws.namespace(engine.dialect.name), model_state)
    thing = model_state.object_named("thing")
    assert thing is not None
    alias = tables.of(thing).alias("t")
    condition = compile_filter({"account": {"country": {"eq": "DE"}}}, thing, alias, tables)
    with engine.connect() as conn:
        assert conn.execute(sa.select(alias.c.id).where(condition)).scalars().all() == [things["two"]["id"]]


# -- helpers -----------------------------------------------------------------------------
def test_like_to_glob_escapes_glob_characters():
    assert like_to_glob("a%b_c*d?[e]") == "a*b?c[*]d[?][[]e]"
    assert like_to_glob("100\\%") == "100%"
    assert like_to_glob("a\\_b\\\\c\\*") == "a_b\\c[*]"


@pytest.mark.parametrize(
    ("period", "today", "bounds"),
    [
        ("TODAY", dt.date(2026, 5, 20), (dt.date(2026, 5, 20), dt.date(2026, 5, 21))),
        ("YESTERDAY", dt.date(2026, 1, 1), (dt.date(2025, 12, 31), dt.date(2026, 1, 1))),
        ("TOMORROW", dt.date(2026, 12, 31), (dt.date(2027, 1, 1), dt.date(2027, 1, 2))),
        ("THIS_WEEK", dt.date(2026, 5, 20), (dt.date(2026, 5, 18), dt.date(2026, 5, 25))),
        ("THIS_WEEK", dt.date(2026, 5, 24), (dt.date(2026, 5, 18), dt.date(2026, 5, 25))),  # Sunday
        ("LAST_WEEK", dt.date(2026, 5, 18), (dt.date(2026, 5, 11), dt.date(2026, 5, 18))),
        ("NEXT_WEEK", dt.date(2026, 12, 30), (dt.date(2027, 1, 4), dt.date(2027, 1, 11))),
        ("THIS_MONTH", dt.date(2026, 2, 14), (dt.date(2026, 2, 1), dt.date(2026, 3, 1))),
        ("NEXT_MONTH", dt.date(2026, 12, 31), (dt.date(2027, 1, 1), dt.date(2027, 2, 1))),
        ("LAST_MONTH", dt.date(2026, 1, 15), (dt.date(2025, 12, 1), dt.date(2026, 1, 1))),
        ("THIS_QUARTER", dt.date(2026, 5, 20), (dt.date(2026, 4, 1), dt.date(2026, 7, 1))),
        ("LAST_QUARTER", dt.date(2026, 2, 1), (dt.date(2025, 10, 1), dt.date(2026, 1, 1))),
        ("NEXT_QUARTER", dt.date(2026, 11, 1), (dt.date(2027, 1, 1), dt.date(2027, 4, 1))),
        ("THIS_YEAR", dt.date(2026, 5, 20), (dt.date(2026, 1, 1), dt.date(2027, 1, 1))),
        ("LAST_YEAR", dt.date(2026, 5, 20), (dt.date(2025, 1, 1), dt.date(2026, 1, 1))),
        ("NEXT_YEAR", dt.date(2026, 5, 20), (dt.date(2027, 1, 1), dt.date(2028, 1, 1))),
    ],
)
def test_period_bounds(period: str, today: dt.date, bounds: tuple[dt.date, dt.date]):
    assert period_bounds(period, today) == bounds
