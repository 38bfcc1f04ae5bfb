"""``json``: any JSON value, optionally constrained by a JSON Schema (``schema``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import jsonschema
import sqlalchemy as sa

from tessera.metadata.fields.base import FieldType, FieldValueError
from tessera.metadata.model import FieldDef
from tessera.platform.column_types import JSONValue
from tessera.platform.errors import Problem


class JsonType(FieldType):
    name = "json"
    filter_kind = "json"
    label = "JSON"
    description = "Structured data, optionally checked against a JSON Schema."
    supports_unique = False
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "schema": {
                "type": ["object", "null"],
                "description": "A JSON Schema (draft 2020-12) every value must satisfy.",
            }
        },
    }

    def normalize_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"schema": None, **options}

    def option_problems(self, fld: FieldDef, obj: Any, state: Any) -> list[Problem]:
        schema = fld.options["schema"]
        if schema is None:
            return []
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            return [
                Problem(
                    "INVALID_JSON_SCHEMA",
                    f"The schema is not a valid JSON Schema: {exc.message}",
                    ("schema", *exc.path),
                )
            ]
        return []

    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        return JSONValue

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes a JSON value.") from None
        schema = fld.options.get("schema")
        if schema is not None:
            error = jsonschema.exceptions.best_match(
                jsonschema.Draft202012Validator(schema).iter_errors(value)
            )
            if error is not None:
                raise FieldValueError(
                    "JSON_SCHEMA_VIOLATION",
                    f"The value does not match the field's schema: {error.message}",
                    tuple(error.absolute_path),
                )
        return value
