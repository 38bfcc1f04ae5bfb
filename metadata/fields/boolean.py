"""``boolean``: yes or no."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tessera.metadata.fields.base import FieldType, FieldValueError
from tessera.metadata.model import FieldDef


class BooleanType(FieldType):
    name = "boolean"
    filter_kind = "boolean"
    label = "Checkbox"
    description = "Yes or no."
    supports_unique = False

    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.Boolean(create_constraint=False)

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes true or false.")
