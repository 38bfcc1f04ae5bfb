"""``auto_number``: a generated reference such as ``CASE-00042`` (prefix + zero-padded
sequence). Numbers come from a per-field counter row updated atomically, so concurrent
inserts never share a number. Records that exist when the field is added are numbered
in creation order. Changing prefix or padding affects new numbers only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from tessera.metadata.fields.base import FieldType, FieldValueError
from tessera.metadata.model import FieldDef


class AutoNumberType(FieldType):
    name = "auto_number"
    label = "Auto number"
    description = "A generated, ever-increasing reference like CASE-00042."
    supports_default = False
    generated = True
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "prefix": {
                "type": "string",
                "maxLength": 16,
                "pattern": "^[A-Za-z0-9_\\-/#.]*$",
                "description": "Text before the number, e.g. 'CASE-'.",
            },
            "padding": {
                "type": "integer",
                "minimum": 1,
                "maximum": 12,
                "description": "Digits the number is zero-padded to (default 5).",
            },
            "start": {
                "type": "integer",
                "minimum": 0,
                "description": "First number given (default 1).",
            },
        },
    }

    def normalize_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"prefix": "", "padding": 5, "start": 1, **options}

    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.Text()

    def format(self, fld: FieldDef, number: int) -> str:
        return f"{fld.options['prefix']}{number:0{int(fld.options['padding'])}d}"

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        raise FieldValueError(
            "FIELD_READ_ONLY", f"'{fld.api_name}' is numbered automatically and cannot be set."
        )
