"""``url``: a web address (http or https); ``example.com`` is stored as
``https://example.com``."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

import sqlalchemy as sa

from tessera.metadata.fields.base import FieldType, FieldValueError
from tessera.metadata.model import FieldDef

MAX_URL_LENGTH = 2048


class UrlType(FieldType):
    name = "url"
    label = "URL"
    description = "A web address (http or https)."
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
            raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes a web address.")
        text = value.strip()
        if text == "":
            return None
        if "://" not in text:
            text = f"https://{text}"
        parts = urlsplit(text)
        host = parts.hostname or ""
        if (
            parts.scheme not in ("http", "https")
            or not host
            or " " in text
            or ("." not in host and host != "localhost")
        ):
            raise FieldValueError(
                "INVALID_URL",
                f"'{value}' is not a web address; write it like https://example.com/page.",
            )
        if len(text) > MAX_URL_LENGTH:
            raise FieldValueError(
                "VALUE_TOO_LONG", f"A web address is at most {MAX_URL_LENGTH} characters long."
            )
        return text
