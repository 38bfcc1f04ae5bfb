"""``email``: an email address, checked for syntax and stored normalised."""

from __future__ import annotations

from typing import Any, ClassVar

from email_validator import EmailNotValidError, validate_email

from tessera.metadata.fields.base import FieldValueError, TextualFieldType
from tessera.metadata.model import FieldDef


class EmailType(TextualFieldType):
    takes = "an email address"
    name = "email"
    label = "Email"
    description = "An email address (syntax checked, domain lower-cased)."
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {},
    }

    def coerce_text(self, fld: FieldDef, text: str) -> str:
        try:
            checked = validate_email(text.strip(), check_deliverability=False)
        except EmailNotValidError as exc:
            raise FieldValueError("INVALID_EMAIL", f"'{text}' is not a valid email address: {exc}") from None
        return str(checked.normalized)
