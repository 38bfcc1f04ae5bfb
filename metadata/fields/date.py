"""``date``: a calendar date (``2026-11-22``). The default may be ``"today"`` (UTC)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from tessera.metadata.fields.base import FieldType, FieldValueError
from tessera.metadata.model import FieldDef


class DateType(FieldType):
    name = "date"
    filter_kind = "date"
    label = "Date"
    description = "A calendar date, written YYYY-MM-DD."
    dynamic_defaults = frozenset({"today"})

    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.Date()

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes a date without a time.")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise FieldValueError(
            "INVALID_DATE", f"'{value}' is not a date; write it as YYYY-MM-DD, e.g. 2026-11-22."
        )

    def to_json(self, fld: FieldDef, value: Any) -> Any:
        return None if value is None else value.isoformat()

    def default_value(self, fld: FieldDef) -> Any:
        if fld.default == "today":
            return dt.datetime.now(dt.UTC).date()
        return super().default_value(fld)
