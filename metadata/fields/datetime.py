"""``datetime``: an instant, time-zone aware (ISO 8601 with an offset; stored in UTC).
The default may be ``"now"``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tessera.metadata.fields.base import Conversion, FieldType, FieldValueError
from tessera.metadata.model import FieldDef
from tessera.platform.column_types import UTCDateTime


class DateTimeType(FieldType):
    name = "datetime"
    filter_kind = "datetime"
    label = "Date and time"
    description = "An instant in time, with its time zone (stored in UTC)."
    dynamic_defaults = frozenset({"now"})

    def column_type(self, fld: FieldDef) -> Any:
        return UTCDateTime()

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                raise FieldValueError(
                    "INVALID_DATETIME",
                    f"'{value}' is not a date and time; write it in ISO 8601, "
                    "e.g. 2026-11-22T14:30:00+01:00.",
                ) from None
        if not isinstance(value, dt.datetime):
            raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes a date and time.")
        if value.tzinfo is None:
            raise FieldValueError(
                "DATETIME_WITHOUT_TIMEZONE",
                f"'{fld.api_name}' needs a time zone: add an offset such as +00:00 or Z.",
            )
        return value.astimezone(dt.UTC)

    def to_json(self, fld: FieldDef, value: Any) -> Any:
        return None if value is None else value.isoformat()

    def default_value(self, fld: FieldDef) -> Any:
        if fld.default == "now":
            return dt.datetime.now(dt.UTC)
        return super().default_value(fld)

    def conversion_from(self, old: FieldDef, new: FieldDef) -> Conversion | None:
        if old.type == "date":
            # Midnight UTC; SQLite keeps datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text.
            return Conversion(
                postgresql="CAST({col} AS TIMESTAMP) AT TIME ZONE 'UTC'",
                sqlite="{col} || ' 00:00:00.000000'",
            )
        return None
