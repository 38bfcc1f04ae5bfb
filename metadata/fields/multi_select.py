"""``multi_select``: several values from an ordered list of options, stored as a JSON
array in option order."""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa

from tessera.metadata.fields.base import Conversion, FieldValueError
from tessera.metadata.fields.select import CHOICES_SCHEMA, SelectType, sql_literal
from tessera.metadata.model import FieldDef
from tessera.platform.column_types import JSONValue


class MultiSelectType(SelectType):
    name = "multi_select"
    filter_kind = "multi_select"
    label = "Multi-select"
    description = "Any number of values from a list of options."
    supports_unique = False
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["choices"],
        "properties": {"choices": CHOICES_SCHEMA},
    }

    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        return JSONValue

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes a list of option values.")
        chosen = set()
        for i, item in enumerate(value):
            try:
                chosen.add(self.check_choice(fld, item))
            except FieldValueError as exc:
                raise FieldValueError(exc.code, exc.message, (i,)) from None
        order = [c["value"] for c in fld.options["choices"]]
        return [v for v in order if v in chosen]

    def conversion_from(self, old: FieldDef, new: FieldDef) -> Conversion | None:
        if old.type == "select":
            return Conversion(
                postgresql="CASE WHEN {col} IS NULL THEN NULL ELSE jsonb_build_array({col}) END",
                sqlite="CASE WHEN {col} IS NULL THEN NULL ELSE json_array({col}) END",
            )
        if old.type != self.name:
            return None
        renames = self.renamed_values(old, new)
        removed = self.removed_values(old, new)
        pg_rewrite = sqlite_rewrite = None
        if renames:
            cases = " ".join(f"WHEN {sql_literal(a)} THEN {sql_literal(b)}" for a, b in renames.items())
            pg_rewrite = (
                "CASE WHEN {col} IS NULL THEN NULL ELSE COALESCE((SELECT jsonb_agg(CASE e "
                f"{cases} ELSE e END) FROM jsonb_array_elements_text({{col}}) AS e), "
                "'[]'::jsonb) END"
            )
            sqlite_rewrite = (
                "CASE WHEN {col} IS NULL THEN NULL ELSE (SELECT json_group_array(CASE value "
                f"{cases} ELSE value END) FROM json_each({{col}})) END"
            )
        blocking = sqlite_blocking = None
        if removed:
            values = ", ".join(sql_literal(v) for v in removed)
            blocking = f"{{col}} ?| ARRAY[{values}]"
            sqlite_blocking = f"EXISTS (SELECT 1 FROM json_each({{col}}) WHERE value IN ({values}))"
        return Conversion(
            postgresql=pg_rewrite,
            sqlite=sqlite_rewrite,
            blocking_rows_where=blocking,
            sqlite_blocking_rows_where=sqlite_blocking,
        )
