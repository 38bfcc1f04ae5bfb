"""Rules for the api names of workspaces, objects, fields and select options."""

from __future__ import annotations

import re

from sqlalchemy.dialects.postgresql.base import RESERVED_WORDS as POSTGRESQL_RESERVED

from tessera.metadata.model import SYSTEM_FIELDS
from tessera.platform.errors import Path, Problem

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")

# SQL keywords (PostgreSQL's reserved words, taken from SQLAlchemy's dialect, cover the SQL
# standard's core) are refused, except the few that are everyday business nouns: Tessera
# quotes every identifier it writes, so a table "order" or a column "case" is safe.
BUSINESS_NOUNS = frozenset({"case", "order", "user", "group", "grant", "check", "limit", "end", "primary"})
SQL_RESERVED = frozenset(POSTGRESQL_RESERVED) - BUSINESS_NOUNS
# GraphQL names: literals, and the root operation types an object's type would collide with.
GRAPHQL_RESERVED = frozenset({"true", "false", "null", "query", "mutation"})
# Names of what the record API generates around objects.
TESSERA_RESERVED = frozenset(
    {
        "node",
        "nodes",
        "edges",
        "edge",
        "cursor",
        "page_info",
        "total_count",
        "metadata",
        "aggregate",
        "filter",
        "order_by",
        "workspace",
        "record",
        "records",
    }
)
RESERVED_WORDS = SQL_RESERVED | GRAPHQL_RESERVED | TESSERA_RESERVED
#: an object named ``deal_connection`` would collide with the type generated for ``deal``
GENERATED_SUFFIXES = ("_connection", "_edge", "_filter", "_order_by", "_aggregate", "_input", "_payload")

#: the record API's own GraphQL types (tests/schema/test_type_names.py keeps the list
#: complete): an object or select field whose generated types would take one is refused
API_TYPE_NAMES = frozenset(
    {
        "AutoNumberFilter", "Boolean", "BooleanFilter", "CurrencyCodeFilter", "Date", "DateBucket",
        "DateFilter", "DatePeriod", "DateTime", "DateTimeFilter", "DatetimeFilter", "Decimal",
        "DecimalFilter", "DeletedRecords", "EmailFilter", "Float", "ID", "IDFilter", "Int",
        "IntegerFilter", "JSON", "JsonFilter", "LongTextFilter", "Money", "MoneyAmountFilter",
        "MoneyFilter", "MoneyInput", "Mutation", "PageInfo", "PercentFilter", "PhoneFilter", "Query",
        "SortDirection", "String", "TextFilter", "UrlFilter",
    }
)  # fmt: skip
#: the types the record API makes for each object (``Deal``, ``DealFilter``…)
OBJECT_TYPE_SUFFIXES = (
    "", "Aggregate", "Bounds", "Connection", "Edge", "Filter", "Group", "GroupBy", "GroupKey", "Input",
    "LookupFilter", "OrderBy", "RelationFilter", "Sums",
)  # fmt: skip
#: the types it makes for each select and multi-select field (``DealStage``…)
CHOICE_TYPE_SUFFIXES = ("", "Filter", "Option")

OBJECT_NAME_LENGTH = (2, 40)
FIELD_NAME_LENGTH = (1, 48)
WORKSPACE_SLUG_LENGTH = (2, 20)


def name_problems(
    name: object,
    path: Path,
    *,
    kind: str,
    length: tuple[int, int],
    system: bool = True,
    reserved: bool = True,
) -> list[Problem]:
    """What is wrong with ``name`` as the api name of a ``kind`` (empty when it is fine)."""
    if not isinstance(name, str) or not name:
        return [Problem("NAME_REQUIRED", f"Give the {kind} an api name.", path)]
    low, high = length
    if not low <= len(name) <= high:
        return [
            Problem(
                "NAME_LENGTH",
                f"The {kind} api name '{name}' must be {low} to {high} characters long.",
                path,
            )
        ]
    if not SNAKE_CASE.match(name):
        suggestion = re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", name.lower())).strip("_")
        hint = f" such as '{suggestion}'" if suggestion and SNAKE_CASE.match(suggestion) else ""
        return [
            Problem(
                "NAME_NOT_SNAKE_CASE",
                f"The {kind} api name '{name}' must be snake_case: lower-case letters, digits "
                f"and single underscores, starting with a letter{hint}.",
                path,
            )
        ]
    if reserved and name in RESERVED_WORDS:
        return [
            Problem(
                "NAME_RESERVED",
                f"'{name}' is a reserved word and cannot be a {kind} api name; "
                f"choose another, e.g. '{name}_name'.",
                path,
            )
        ]
    if system and name in SYSTEM_FIELDS:
        return [
            Problem(
                "NAME_RESERVED",
                f"'{name}' is a system field every object already has; choose another name.",
                path,
            )
        ]
    return []


def object_name_problems(name: object, path: Path) -> list[Problem]:
    problems = name_problems(name, path, kind="object", length=OBJECT_NAME_LENGTH)
    if not problems and isinstance(name, str) and name.endswith(GENERATED_SUFFIXES):
        suffix = next(s for s in GENERATED_SUFFIXES if name.endswith(s))
        problems.append(
            Problem(
                "NAME_RESERVED",
                f"Object names cannot end in '{suffix}': the API generates such names for every object.",
                path,
            )
        )
    return problems


def field_name_problems(name: object, path: Path) -> list[Problem]:
    return name_problems(name, path, kind="field", length=FIELD_NAME_LENGTH)


def workspace_slug_problems(slug: object, path: Path = ("slug",)) -> list[Problem]:
    # A slug only appears prefixed (schema ws_<slug>, tables ws_<slug>__…): any word will do.
    return name_problems(
        slug, path, kind="workspace", length=WORKSPACE_SLUG_LENGTH, system=False, reserved=False
    )


def pascal_case(api_name: str) -> str:
    """The GraphQL type name of an api name: ``deal_stage`` → ``DealStage``."""
    return "".join(part.capitalize() for part in api_name.split("_"))


def object_type_names(api_name: str) -> list[str]:
    return [pascal_case(api_name) + suffix for suffix in OBJECT_TYPE_SUFFIXES]


def choice_type_names(object_api_name: str, field_api_name: str) -> list[str]:
    base = pascal_case(object_api_name) + pascal_case(field_api_name)
    return [base + suffix for suffix in CHOICE_TYPE_SUFFIXES]


def snake_case_from_label(label: str) -> str:
    """``"Deal Stages"`` → ``"deal_stages"`` (best effort; validated afterwards)."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", label.lower())).strip("_")
