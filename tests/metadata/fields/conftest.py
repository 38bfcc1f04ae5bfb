"""Samples for every field type: options, a valid input and its typed value, an invalid
input and its code. The contract suite runs each type through them on both databases."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from tessera.metadata.fields import Money


@dataclass(frozen=True)
class Sample:
    options: dict[str, Any]
    valid: Any
    expected: Any
    invalid: Any
    invalid_code: str
    bad_options: dict[str, Any] = field(default_factory=dict)


SAMPLES: dict[str, Sample] = {
    "text": Sample({"max_length": 5}, "Acme", "Acme", "Acme Corp", "VALUE_TOO_LONG", {"max_length": 0}),
    "long_text": Sample({}, "line 1\nline 2", "line 1\nline 2", 42, "TYPE_MISMATCH", {"max_length": "long"}),
    "integer": Sample({"min_value": 0}, 42, 42, -1, "NUMBER_OUT_OF_RANGE", {"min_value": 1.5}),
    "decimal": Sample(
        {"precision": 18, "scale": 2},
        "12345678901234.56",
        Decimal("12345678901234.56"),
        "1.234",
        "TOO_MANY_DECIMALS",
        {"precision": 19},
    ),
    "currency": Sample(
        {"default_currency": "EUR"},
        {"amount": "1200.50", "currency_code": "USD"},
        Money(Decimal("1200.50"), "USD"),
        {"amount": "1", "currency_code": "XYZ"},
        "INVALID_CURRENCY",
        {"default_currency": "euro"},
    ),
    "percent": Sample({}, 12.5, Decimal("12.50"), "lots", "TYPE_MISMATCH", {"scale": -1}),
    "boolean": Sample({}, True, True, "yes", "TYPE_MISMATCH", {"strict": True}),
    "date": Sample({}, "2026-11-22", dt.date(2026, 11, 22), "22/11/2026", "INVALID_DATE", {"format": "iso"}),
    "datetime": Sample(
        {},
        "2026-11-22T14:30:00+01:00",
        dt.datetime(2026, 11, 22, 13, 30, tzinfo=dt.UTC),
        "2026-11-22T14:30:00",
        "DATETIME_WITHOUT_TIMEZONE",
        {"timezone": "UTC"},
    ),
    "email": Sample({}, "Ada@Example.COM", "Ada@example.com", "ada@", "INVALID_EMAIL", {"domains": []}),
    "phone": Sample(
        {"default_region": "FR"},
        "01 23 45 67 89",
        "+33123456789",
        "12",
        "INVALID_PHONE",
        {"default_region": "France"},
    ),
    "url": Sample(
        {},
        "example.com/pricing",
        "https://example.com/pricing",
        "ftp://example.com",
        "INVALID_URL",
        {"schemes": ["http"]},
    ),
    "select": Sample(
        {"choices": [{"value": "new"}, {"value": "won"}]},
        "won",
        "won",
        "lost",
        "INVALID_OPTION",
        {"choices": []},
    ),
    "multi_select": Sample(
        {"choices": [{"value": "vip"}, {"value": "partner"}]},
        ["partner", "vip", "vip"],
        ["vip", "partner"],
        ["gold"],
        "INVALID_OPTION",
        {"choices": [{"label": "No value"}]},
    ),
    "lookup": Sample(
        {"target_object": "target"},
        "(the target record)",
        None,
        "not-an-id",
        "TYPE_MISMATCH",
        {"target_object": "target", "on_delete": "explode"},
    ),
    "json": Sample(
        {"schema": {"type": "object", "required": ["plan"]}},
        {"plan": "pro", "seats": [1, 2]},
        {"plan": "pro", "seats": [1, 2]},
        {"seats": 3},
        "JSON_SCHEMA_VIOLATION",
        {"schema": "object"},
    ),
    "auto_number": Sample(
        {"prefix": "D-", "padding": 4}, None, "D-0001", "D-9", "FIELD_READ_ONLY", {"padding": 40}
    ),
}


@dataclass(frozen=True)
class TypedObject:
    """``thing`` with one field ``value`` of the type under test, and ``target``, an
    object with one record that lookups can point at."""

    target_id: uuid.UUID

    def sample_value(self, type_name: str) -> tuple[Any, Any]:
        """(input, expected typed value) of the valid sample."""
        if type_name == "lookup":
            return str(self.target_id), self.target_id
        return SAMPLES[type_name].valid, SAMPLES[type_name].expected


@pytest.fixture
def typed_object(object_factory, records, workspace) -> Callable[..., TypedObject]:
    def make(type_name: str, **field_attrs: Any) -> TypedObject:
        object_factory("target", fields=[{"api_name": "name", "type": "text"}])
        target = records.create(workspace, "target", {"name": "Target"})
        options = field_attrs.pop("options", SAMPLES[type_name].options)
        object_factory(
            "thing", fields=[{"api_name": "value", "type": type_name, "options": options, **field_attrs}]
        )
        return TypedObject(target["id"])

    return make
