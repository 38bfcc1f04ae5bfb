"""``phone``: a telephone number, stored in E.164 form (``+33123456789``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import phonenumbers

from tessera.metadata.fields.base import FieldValueError, TextualFieldType
from tessera.metadata.model import FieldDef


class PhoneType(TextualFieldType):
    takes = "a phone number"
    name = "phone"
    label = "Phone"
    description = "A telephone number, validated and stored in international E.164 form."
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "default_region": {
                "type": ["string", "null"],
                "pattern": "^[A-Z]{2}$",
                "description": "ISO 3166 country assumed for numbers written without "
                "a +country code, e.g. 'FR'.",
            }
        },
    }

    def normalize_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"default_region": None, **options}

    def coerce_text(self, fld: FieldDef, text: str) -> str:
        region = fld.options.get("default_region")
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            hint = "" if region else " Write it with its country code, e.g. +33 1 23 45 67 89."
            raise FieldValueError("INVALID_PHONE", f"'{text}' is not a phone number.{hint}") from None
        if not phonenumbers.is_valid_number(number):
            raise FieldValueError("INVALID_PHONE", f"'{text}' is not a valid phone number.")
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
