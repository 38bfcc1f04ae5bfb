"""``integer``: a whole number (64-bit), optionally bounded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from tessera.metadata.fields.base import FieldType, FieldValueError
from tessera.metadata.model import FieldDef
from tessera.platform.errors import Problem

INT64 = (-(2**63), 2**63 - 1)


class IntegerType(FieldType):
    name = "integer"
    filter_kind = "number"
    label = "Integer"
    description = "A whole number."
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "min_value": {"type": ["integer", "null"], "description": "Smallest value accepted."},
            "max_value": {"type": ["integer", "null"], "description": "Largest value accepted."},
        },
    }

    def normalize_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"min_value": None, "max_value": None, **options}

    def option_problems(self, fld: FieldDef, obj: Any, state: Any) -> list[Problem]:
        low, high = fld.options["min_value"], fld.options["max_value"]
        if low is not None and high is not None and low > high:
            return [Problem("INVALID_OPTIONS", "min_value is larger than max_value.", ("min_value",))]
        return []

    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.BigInteger()

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool):
            raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes a whole number.")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            value = int(value.strip())
        if not isinstance(value, int):
            raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes a whole number.")
        low = fld.options.get("min_value")
        high = fld.options.get("max_value")
        if low is None:
            low = INT64[0]
        if high is None:
            high = INT64[1]
        if not low <= value <= high:
            raise FieldValueError(
                "NUMBER_OUT_OF_RANGE", f"'{fld.api_name}' takes values from {low} to {high}."
            )
        return value
