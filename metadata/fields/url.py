"""``url``: a web address (http or https); ``example.com`` is stored as
``https://example.com``."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from tessera.metadata.fields.base import FieldValueError, TextualFieldType
from tessera.metadata.model import FieldDef

MAX_URL_LENGTH = 2048


class UrlType(TextualFieldType):
    takes = "a web address"
    name = "url"
    label = "URL"
    description = "A web address (http or https)."
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {},
    }

    def coerce_text(self, fld: FieldDef, text: str) -> str:
        url = text.strip()
        if "://" not in url:
            url = f"https://{url}"
        parts = urlsplit(url)
        host = parts.hostname or ""
        if (
            parts.scheme not in ("http", "https")
            or not host
            or " " in url
            or ("." not in host and host != "localhost")
        ):
            raise FieldValueError(
                "INVALID_URL", f"'{text}' is not a web address; write it like https://example.com/page."
            )
        if len(url) > MAX_URL_LENGTH:
            raise FieldValueError(
                "VALUE_TOO_LONG", f"A web address is at most {MAX_URL_LENGTH} characters long."
            )
        return url
