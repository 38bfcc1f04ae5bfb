"""Tessera's one filter language: what a filter may say, per field type, and its JSON Schema.

A filter is a JSON object, the same in GraphQL variables, validation rules, workflow
conditions and saved views (see docs/filters.md)::

    {"and": [{"stage": {"in": ["won"]}}, {"company": {"country": {"eq": "FR"}}}]}

Keys are field names (each with ``{operator: operand}``), ``and``, ``or`` and ``not``; a
lookup takes its target's filter (plus ``isNull``); a reverse relation takes ``some``,
``none`` or ``every``. Which operators a field has comes from its type's ``filter_kind``
in the field-type registry. :mod:`tessera.platform.filtering` compiles filters to SQL;
:func:`check_filter` validates one with the very same code.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tessera.metadata.fields import field_type
from tessera.metadata.model import FieldDef, MetadataState, ObjectDef
from tessera.platform.errors import Path

Operand = Literal["value", "values", "range", "flag", "pattern", "count", "period"]


@dataclass(frozen=True)
class Operator:
    """One filter operator: its key in a filter and the shape of its operand."""

    name: str
    operand: Operand
    description: str


def _ops(*operators: Operator) -> tuple[Operator, ...]:
    return operators


EQ = Operator("eq", "value", "equal to (null: empty)")
NEQ = Operator("neq", "value", "not equal to; empty values match")
IN = Operator("in", "values", "one of")
NOT_IN = Operator("notIn", "values", "none of; empty values match")
LT, LTE = Operator("lt", "value", "less than"), Operator("lte", "value", "less than or equal to")
GT, GTE = Operator("gt", "value", "greater than"), Operator("gte", "value", "greater than or equal to")
BETWEEN = Operator("between", "range", "between two values, both included")
IS_NULL = Operator("isNull", "flag", "true: empty; false: not empty")
LIKE = Operator("like", "pattern", "SQL LIKE pattern (% any text, _ one character), case-sensitive")
ILIKE = Operator("ilike", "pattern", "SQL LIKE pattern, case-insensitive")
STARTS_WITH = Operator("startsWith", "pattern", "begins with this text, case-insensitive")
CONTAINS = Operator("contains", "pattern", "contains this text, case-insensitive")
LAST_N_DAYS = Operator("lastNDays", "count", "within the N days before today, or today")
NEXT_N_DAYS = Operator("nextNDays", "count", "today, or within the N days after it")
WITHIN = Operator("within", "period", "within a calendar period: THIS_QUARTER, LAST_MONTH…")

#: operators by the ``filter_kind`` of a field type
OPERATORS: dict[str, tuple[Operator, ...]] = {
    "text": _ops(EQ, NEQ, IN, NOT_IN, LT, LTE, GT, GTE, LIKE, ILIKE, STARTS_WITH, CONTAINS, IS_NULL),
    "number": _ops(EQ, NEQ, IN, NOT_IN, LT, LTE, GT, GTE, BETWEEN, IS_NULL),
    "boolean": _ops(EQ, NEQ, IS_NULL),
    "date": _ops(EQ, NEQ, IN, NOT_IN, LT, LTE, GT, GTE, BETWEEN, IS_NULL, LAST_N_DAYS, NEXT_N_DAYS, WITHIN),
    "datetime": _ops(EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IS_NULL, LAST_N_DAYS, NEXT_N_DAYS, WITHIN),
    "select": _ops(EQ, NEQ, IN, NOT_IN, IS_NULL),
    "multi_select": _ops(
        Operator("containsAny", "values", "has at least one of"),
        Operator("containsAll", "values", "has all of"),
        IS_NULL,
    ),
    "json": _ops(IS_NULL),
    "id": _ops(EQ, NEQ, IN, NOT_IN, IS_NULL),
    # a currency filters its amount and its code: {"amount": {...}, "currencyCode": {...}}
    "currency": _ops(IS_NULL),
    # a lookup takes its target's filter, plus isNull
    "lookup": _ops(IS_NULL),
}
CURRENCY_AMOUNT_OPERATORS = tuple(op for op in OPERATORS["number"] if op.name != "isNull")
CURRENCY_CODE_OPERATORS = _ops(EQ, NEQ, IN, NOT_IN)
RELATION_QUANTIFIERS = ("some", "none", "every")
LOGICAL_KEYS = ("and", "or", "not")
#: relative words accepted where a date (or datetime) value is expected
RELATIVE_DAYS = {"yesterday": -1, "today": 0, "tomorrow": 1}
DATE_PERIODS = (
    "TODAY", "YESTERDAY", "TOMORROW",
    "THIS_WEEK", "LAST_WEEK", "NEXT_WEEK",
    "THIS_MONTH", "LAST_MONTH", "NEXT_MONTH",
    "THIS_QUARTER", "LAST_QUARTER", "NEXT_QUARTER",
    "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR",
)  # fmt: skip
#: system fields every object has, and the kind of their values
SYSTEM_FIELD_KINDS = {
    "id": "id",
    "created_at": "datetime",
    "updated_at": "datetime",
    "created_by": "id",
    "updated_by": "id",
    "owner": "id",
    "deleted_at": "datetime",
}


def filter_kind(fld: FieldDef) -> str:
    return field_type(fld.type).filter_kind


def filter_operators(fld: FieldDef) -> tuple[Operator, ...]:
    """The operators of a field (its type's, from the registry)."""
    return OPERATORS[filter_kind(fld)]


def check_filter(filter_doc: Any, obj: ObjectDef, state: MetadataState, path: Path = ("filter",)) -> None:
    """Raise :class:`~tessera.platform.errors.TesseraError` listing what is wrong with
    ``filter_doc`` as a filter of ``obj`` (unknown fields and operators, values of the
    wrong type), with paths. The SQL compiler does the checking, so there is one set of rules."""
    from tessera.metadata.storage import Namespace, Tables
    from tessera.platform.filtering import compile_filter

    tables = Tables(Namespace("check", "sqlite"), state)
    compile_filter(filter_doc, obj, tables.of(obj), tables, path=path)


# -- JSON Schema -----------------------------------------------------------------------------
def _value_schema(kind: str, fld: FieldDef | None = None) -> dict[str, Any]:
    if kind in ("select", "multi_select") and fld is not None:
        return {"enum": [c["value"] for c in fld.options.get("choices", [])]}
    if kind == "number":
        if fld is not None and fld.type == "integer":
            return {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[+-]?[0-9]+$"}]}
        return {"type": ["number", "string"], "description": "a number or an exact decimal string"}
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "date":
        return {"type": "string", "description": "YYYY-MM-DD, or today / yesterday / tomorrow"}
    if kind == "datetime":
        return {
            "type": "string",
            "description": "ISO 8601 with a time zone, a date alone (the instant it starts in the "
            "configured time zone), or now / today / yesterday / tomorrow",
        }
    if kind == "id":
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def _operators_schema(operators: tuple[Operator, ...], value: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for op in operators:
        if op.operand == "value" and op.name in ("eq", "neq"):  # eq: null is isNull: true
            schema: dict[str, Any] = {"anyOf": [value, {"type": "null"}]}
        elif op.operand == "value":
            schema = dict(value)
        elif op.operand == "values":
            schema = {"type": "array", "items": value}
        elif op.operand == "range":
            schema = {"type": "array", "items": value, "minItems": 2, "maxItems": 2}
        elif op.operand == "flag":
            schema = {"type": "boolean"}
        elif op.operand == "count":
            schema = {"type": "integer", "minimum": 0}
        elif op.operand == "period":
            schema = {"enum": list(DATE_PERIODS)}
        else:
            schema = {"type": "string"}
        properties[op.name] = {**schema, "description": op.description}
    return {"type": "object", "additionalProperties": False, "properties": properties}


def _field_schema(fld: FieldDef, state: MetadataState) -> dict[str, Any]:
    kind = filter_kind(fld)
    if kind == "lookup":
        target = state.object_by_id(uuid.UUID(str(fld.options["target_object_id"])))
        assert target is not None
        return {"$ref": f"#/$defs/{target.api_name}_lookup"}
    if kind == "currency":
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "amount": _operators_schema(CURRENCY_AMOUNT_OPERATORS, _value_schema("number")),
                "currencyCode": _operators_schema(
                    CURRENCY_CODE_OPERATORS, {"type": "string", "pattern": "^[A-Z]{3}$"}
                ),
                "isNull": {"type": "boolean"},
            },
        }
    return _operators_schema(OPERATORS[kind], _value_schema(kind, fld))


def _object_properties(obj: ObjectDef, state: MetadataState) -> dict[str, Any]:
    own = {"$ref": f"#/$defs/{obj.api_name}"}
    properties: dict[str, Any] = {
        "and": {"type": "array", "items": own},
        "or": {"type": "array", "items": own},
        "not": own,
    }
    for name, kind in SYSTEM_FIELD_KINDS.items():
        properties[name] = _operators_schema(OPERATORS[kind], _value_schema(kind))
    for fld in obj.fields:
        properties[fld.api_name] = _field_schema(fld, state)
    for relation in state.relations_to(obj.id):
        source = {"$ref": f"#/$defs/{relation.source_object.api_name}"}
        properties[relation.reverse_name] = {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {quantifier: source for quantifier in RELATION_QUANTIFIERS},
        }
    return properties


def reachable_objects(obj: ObjectDef, state: MetadataState) -> list[ObjectDef]:
    """``obj`` and the objects its filters can reach through lookups and reverse relations."""
    found: dict[uuid.UUID, ObjectDef] = {obj.id: obj}
    queue = [obj]
    while queue:
        current = queue.pop()
        neighbours = [relation.source_object for relation in state.relations_to(current.id)]
        for fld in current.fields:
            if filter_kind(fld) == "lookup":
                target = state.object_by_id(uuid.UUID(str(fld.options["target_object_id"])))
                if target is not None:
                    neighbours.append(target)
        for other in neighbours:
            if other.id not in found:
                found[other.id] = other
                queue.append(other)
    return list(found.values())


def filter_json_schema(obj: ObjectDef, state: MetadataState) -> dict[str, Any]:
    """The exact JSON Schema (draft 2020-12) of ``obj``'s filters in ``state``: its fields
    with their operators and value types, and, as ``$defs``, every object reachable through
    lookups and reverse relations."""
    defs: dict[str, Any] = {}
    for other in reachable_objects(obj, state):
        properties = _object_properties(other, state)
        defs[other.api_name] = {"type": "object", "additionalProperties": False, "properties": properties}
        defs[f"{other.api_name}_lookup"] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {**properties, "isNull": {"type": "boolean"}},
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Filter of {obj.api_name}",
        "$ref": f"#/$defs/{obj.api_name}",
        "$defs": defs,
    }


def _generic_schema() -> dict[str, Any]:
    operator_properties: dict[str, Any] = {}
    for operators in OPERATORS.values():
        for name, schema in _operators_schema(operators, {})["properties"].items():
            operator_properties[name] = schema
    field_filter: dict[str, Any] = {
        "type": "object",
        "description": "Operators of a field, a currency's amount/currencyCode, a lookup's target filter, "
        "or a reverse relation's some/none/every.",
        "minProperties": 1,
        "properties": {
            **operator_properties,
            "amount": {"$ref": "#/$defs/field_filter"},
            "currencyCode": {"$ref": "#/$defs/field_filter"},
            **{quantifier: {"$ref": "#/$defs/filter"} for quantifier in RELATION_QUANTIFIERS},
        },
        "additionalProperties": {"$ref": "#/$defs/field_filter"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://tessera.dev/schemas/filter.schema.json",
        "title": "Tessera filter",
        "description": "A filter of records, the same in the GraphQL API, validation rules, workflows and "
        "saved views. The exact schema of one object's filters is generated from its workspace's "
        "data model; this one checks the shape every filter has.",
        "$ref": "#/$defs/filter",
        "$defs": {
            "filter": {
                "type": "object",
                "properties": {
                    "and": {"type": "array", "items": {"$ref": "#/$defs/filter"}},
                    "or": {"type": "array", "items": {"$ref": "#/$defs/filter"}},
                    "not": {"$ref": "#/$defs/filter"},
                },
                "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
                "additionalProperties": {"$ref": "#/$defs/field_filter"},
            },
            "field_filter": field_filter,
        },
    }


GENERIC_FILTER_SCHEMA: Mapping[str, Any] = _generic_schema()
