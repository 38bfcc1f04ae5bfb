"""``email``: an email address, checked for syntax and stored normalised."""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from tessera.metadata.fields.base import FieldType, FieldValueError
from tessera.metadata.model import FieldDef


class EmailType(FieldType):
    name = "email"
    label = "Email"
    description = "An email address (syntax checked, domain lower-cased)."
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {},
    }

    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.Text()

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes an email address.")
        if value.strip() == "":
            return None
        try:
            checked = validate_email(value.strip(), check_deliverability=False)
        except EmailNotValidError as exc:
            raise FieldValueError(
                "INVALID_EMAIL", f"'{value}' is not a valid email address: {exc}"
            ) from None
        return checked.normalized
