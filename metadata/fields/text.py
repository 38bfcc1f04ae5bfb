"""``text``: a single line of text, up to ``max_length`` characters (default 255)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from tessera.metadata.fields.base import Conversion, FieldType, FieldValueError
from tessera.metadata.model import FieldDef

#: types whose stored text can become plain text as it is
TEXT_SOURCES = frozenset({"text", "long_text", "email", "phone", "url", "select"})


class TextType(FieldType):
    name = "text"
    label = "Text"
    description = "A single line of text."
    default_max_length: ClassVar[int] = 255
    max_max_length: ClassVar[int] = 10_000
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "max_length": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10_000,
                "description": "Longest value accepted, in characters (default 255).",
            }
        },
    }

    def normalize_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"max_length": self.default_max_length, **options}

    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        # Text on both databases: the length is a rule of the field, enforced on write,
        # so changing it never rewrites the table.
        return sa.Text()

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes text.")
        if value.strip() == "":
            return None
        limit = int(fld.options["max_length"])
        if len(value) > limit:
            raise FieldValueError(
                "VALUE_TOO_LONG",
                f"'{fld.api_name}' takes at most {limit} characters ({len(value)} given).",
            )
        return value

    def needs_conversion(self, old: FieldDef, new: FieldDef) -> bool:
        return int(new.options["max_length"]) < int(old.options["max_length"])

    def conversion_from(self, old: FieldDef, new: FieldDef) -> Conversion | None:
        limit = int(new.options["max_length"])
        if old.type in TEXT_SOURCES:
            return Conversion(blocking_rows_where=f"length({{col}}) > {limit}")
        if old.type == "integer":
            return Conversion(
                postgresql="CAST({col} AS TEXT)",
                sqlite="CAST({col} AS TEXT)",
                blocking_rows_where=f"length(CAST({{col}} AS TEXT)) > {limit}",
            )
        return None


class LongTextType(TextType):
    name = "long_text"
    label = "Long text"
    description = "Several lines of text (notes, descriptions)."
    default_max_length = 100_000
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "max_length": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1_000_000,
                "description": "Longest value accepted, in characters (default 100000).",
            }
        },
    }
    supports_unique = False
