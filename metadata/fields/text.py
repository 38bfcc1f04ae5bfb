"""``text``: a single line of text, up to ``max_length`` characters (default 255)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from tessera.metadata.fields.base import Conversion, FieldValueError, TextualFieldType
from tessera.metadata.model import FieldDef

#: types whose stored text can become plain text as it is
TEXT_SOURCES = frozenset({"text", "long_text", "email", "phone", "url", "select"})


def max_length_options_schema(default: int, maximum: int) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "max_length": {
                "type": "integer",
                "minimum": 1,
                "maximum": maximum,
                "description": f"Longest value accepted, in characters (default {default}).",
            }
        },
    }


class TextType(TextualFieldType):
    name = "text"
    label = "Text"
    description = "A single line of text."
    default_max_length: ClassVar[int] = 255
    options_schema: ClassVar[dict[str, Any]] = max_length_options_schema(255, 10_000)

    def normalize_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"max_length": self.default_max_length, **options}

    def coerce_text(self, fld: FieldDef, text: str) -> str:
        limit = int(fld.options["max_length"])
        if len(text) > limit:
            raise FieldValueError(
                "VALUE_TOO_LONG",
                f"'{fld.api_name}' takes at most {limit} characters ({len(text)} given).",
            )
        return text

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
    options_schema: ClassVar[dict[str, Any]] = max_length_options_schema(100_000, 1_000_000)
    supports_unique = False
