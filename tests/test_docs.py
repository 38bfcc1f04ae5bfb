"""Documentation that must follow the code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = re.compile(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"')
NOT_ERROR_CODES = {"FIELD_TYPES"}


def enum_values() -> set[str]:
    """Upper-case names that are GraphQL enum values, not error codes."""
    from tessera.metadata.filters import DATE_PERIODS
    from tessera.schema.record_types import DeletedRecords, SortDirection

    return {*DATE_PERIODS, *SortDirection.values, *DeletedRecords.values}


def raised_codes() -> set[str]:
    codes: set[str] = set()
    for folder in ("platform", "metadata", "schema", "workflows", "connectors"):
        for path in (ROOT / folder).rglob("*.py"):
            codes |= set(CODE.findall(path.read_text()))
    return {code for code in codes - NOT_ERROR_CODES - enum_values() if not code.startswith("TESSERA_")}


def test_every_error_code_is_documented():
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (ROOT / "docs" / "errors.md").read_text()))
    missing = raised_codes() - documented
    assert not missing, f"add these codes to docs/errors.md: {sorted(missing)}"


def test_every_field_type_is_documented():
    from tessera.metadata.fields import FIELD_TYPES

    text = (ROOT / "docs" / "field-types.md").read_text()
    missing = [name for name in FIELD_TYPES if f"## `{name}`" not in text]
    assert not missing, f"add these field types to docs/field-types.md: {missing}"
