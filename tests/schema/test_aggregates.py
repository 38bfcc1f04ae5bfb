"""``<plural>Aggregate``: figures and groups, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tessera.platform.records import RecordService

pytestmark = pytest.mark.usefixtures("crm")
Run = Callable[..., dict[str, Any]]


@pytest.fixture
def deals(records: RecordService, workspace: str) -> dict[str, Any]:
    acme = records.create(workspace, "company", {"name": "Acme"})
    globex = records.create(workspace, "company", {"name": "Globex"})
    rows = [
        ("a", "10.00", 1, True, "2026-01-05", "won", acme, "EUR"),
        ("b", "20.50", 2, True, "2026-02-10", "won", acme, "EUR"),
        ("c", "5.25", 3, False, "2026-04-01", "prospect", globex, "USD"),
        ("d", None, None, None, None, None, None, None),
    ]
    for title, amount, quantity, won, close_date, stage, company, currency in rows:
        values: dict[str, Any] = {
            "title": title,
            "amount": amount,
            "quantity": quantity,
            "won": won,
            "close_date": close_date,
            "stage": stage,
        }
        if company is not None:
            values["company"] = str(company["id"])
            values["price"] = {"amount": amount, "currency_code": currency}
        records.create(workspace, "deal", values)
    return {"acme": acme, "globex": globex}


def test_figures_over_all_records(records_ok: Run, deals: dict[str, Any]):
    data = records_ok(
        """{ dealsAggregate { count sum { amount quantity price } avg { amount quantity }
             min { amount quantity close_date } max { amount close_date created_at } } }"""
    )["dealsAggregate"]
    assert data["count"] == 4
    assert data["sum"] == {"amount": "35.75", "quantity": "6", "price": "35.75"}
    assert data["avg"] == {"amount": "11.9167", "quantity": "2.00"}
    assert data["min"] == {"amount": "5.25", "quantity": 1, "close_date": "2026-01-05"}
    assert data["max"]["amount"] == "20.50" and data["max"]["close_date"] == "2026-04-01"
    assert data["max"]["created_at"].endswith("Z")


def test_filtered_figures(records_ok: Run, deals: dict[str, Any]):
    data = records_ok("{ dealsAggregate(filter: {won: {eq: true}}) { count sum { amount } } }")[
        "dealsAggregate"
    ]
    assert data == {"count": 2, "sum": {"amount": "30.50"}}


def test_group_by_select_lookup_and_boolean(records_ok: Run, deals: dict[str, Any]):
    data = records_ok(
        """{ dealsAggregate(groupBy: [{stage: true}]) { groups { key { stage { value label } } count sum { amount } } } }"""
    )["dealsAggregate"]["groups"]
    assert data == [
        {"key": {"stage": {"value": "prospect", "label": "Prospect"}}, "count": 1, "sum": {"amount": "5.25"}},
        {"key": {"stage": {"value": "won", "label": "Won"}}, "count": 2, "sum": {"amount": "30.50"}},
        {"key": {"stage": None}, "count": 1, "sum": {"amount": None}},
    ]
    by_company = records_ok(
        "{ dealsAggregate(groupBy: [{company: true}, {won: true}]) { groups { key { company { name } won } count } } }"
    )["dealsAggregate"]["groups"]
    assert sorted(
        ((g["key"]["company"] or {}).get("name", ""), g["key"]["won"], g["count"]) for g in by_company
    ) == [("", None, 1), ("Acme", True, 2), ("Globex", False, 1)]


def test_group_by_currency_code(records_ok: Run, deals: dict[str, Any]):
    groups = records_ok(
        "{ dealsAggregate(groupBy: [{price: true}]) { groups { key { price } sum { price } } } }"
    )
    assert groups["dealsAggregate"]["groups"] == [
        {"key": {"price": "EUR"}, "sum": {"price": "30.50"}},
        {"key": {"price": "USD"}, "sum": {"price": "5.25"}},
        {"key": {"price": None}, "sum": {"price": None}},
    ]


@pytest.mark.parametrize(
    ("bucket", "keys"),
    [
        ("DAY", ["2026-01-05", "2026-02-10", "2026-04-01", None]),
        ("WEEK", ["2026-01-05", "2026-02-09", "2026-03-30", None]),
        ("MONTH", ["2026-01-01", "2026-02-01", "2026-04-01", None]),
        ("QUARTER", ["2026-01-01", "2026-04-01", None]),
        ("YEAR", ["2026-01-01", None]),
    ],
)
def test_group_by_date_buckets(records_ok: Run, deals: dict[str, Any], bucket: str, keys: list[Any]):
    groups = records_ok(
        f"{{ dealsAggregate(groupBy: [{{close_date: {bucket}}}]) {{ groups {{ key {{ close_date }} count }} }} }}"
    )["dealsAggregate"]["groups"]
    assert [g["key"]["close_date"] for g in groups] == keys
    assert sum(g["count"] for g in groups) == 4


def test_group_by_needs_one_field_per_element(record_api: Run, deals: dict[str, Any]):
    answer = record_api("{ dealsAggregate(groupBy: [{stage: true, won: true}]) { count } }")
    assert answer["errors"][0]["extensions"]["code"] == "GROUP_BY_INVALID"
