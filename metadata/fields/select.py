"""``select``: one value from an ordered list of options (value, label, colour).

Options carry a stable ``id``, so renaming an option's value rewrites the stored data.
An option in use is *retired* (kept for existing records, refused for new values) rather
than removed; removing one that records still hold is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from tessera.metadata.fields.base import Conversion, FieldType, FieldValueError
from tessera.metadata.model import FieldDef
from tessera.platform.errors import Problem

COLOURS = ("gray", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink")

OPTION_VALUE_PATTERN = "^[a-z0-9][a-z0-9_]*$"

CHOICES_SCHEMA: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "description": "The options, in display order.",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["value"],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "Stable id (generated)."},
            "value": {
                "type": "string",
                "pattern": OPTION_VALUE_PATTERN,
                "maxLength": 64,
                "description": "Stored value: lower-case letters, digits, underscores.",
            },
            "label": {"type": "string", "maxLength": 200, "description": "Shown to users."},
            "color": {
                "anyOf": [
                    {"type": "null"},
                    {"enum": list(COLOURS)},
                    {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
                ],
                "description": "A palette name or #RRGGBB.",
            },
            "retired": {
                "type": "boolean",
                "description": "Kept for existing records, refused for new values.",
            },
        },
    },
}


def sql_literal(text: str) -> str:
    """A SQL string literal (option values match OPTION_VALUE_PATTERN; quotes doubled anyway)."""
    return "'" + text.replace("'", "''") + "'"


class SelectType(FieldType):
    name = "select"
    filter_kind = "select"
    label = "Select"
    description = "One value from a list of options."
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["choices"],
        "properties": {"choices": CHOICES_SCHEMA},
    }

    # -- options ---------------------------------------------------------------------
    def normalize_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        choices = []
        for choice in options.get("choices", []):
            choices.append(
                {
                    "id": str(choice.get("id") or uuid.uuid4()),
                    "value": choice["value"],
                    "label": choice.get("label") or choice["value"].replace("_", " ").capitalize(),
                    "color": choice.get("color"),
                    "retired": bool(choice.get("retired", False)),
                }
            )
        return {**options, "choices": choices}

    def carry_over_options(self, existing: FieldDef, options: dict[str, Any]) -> dict[str, Any]:
        if existing.type not in ("select", "multi_select"):
            return options
        # Matched by id when it is one of this field's (a rename keeps it), else by value
        # (choices written without ids, or exported from another workspace).
        known_ids = {str(c["id"]) for c in existing.options.get("choices", [])}
        id_of_value = {c["value"]: c["id"] for c in existing.options.get("choices", [])}
        choices = [
            c
            if str(c.get("id")) in known_ids or c.get("value") not in id_of_value
            else {**c, "id": id_of_value[c["value"]]}
            for c in options.get("choices", [])
        ]
        return {**options, "choices": choices}

    def option_problems(self, fld: FieldDef, obj: Any, state: Any) -> list[Problem]:
        problems = []
        seen_values: set[str] = set()
        seen_ids: set[str] = set()
        for i, choice in enumerate(fld.options["choices"]):
            if choice["value"] in seen_values:
                problems.append(
                    Problem(
                        "DUPLICATE_OPTION",
                        f"The option value '{choice['value']}' appears twice.",
                        ("choices", i, "value"),
                    )
                )
            if choice["id"] in seen_ids:
                problems.append(
                    Problem(
                        "DUPLICATE_OPTION",
                        f"The option id '{choice['id']}' appears twice.",
                        ("choices", i, "id"),
                    )
                )
            seen_values.add(choice["value"])
            seen_ids.add(choice["id"])
        return problems

    @staticmethod
    def active_values(fld: FieldDef) -> list[str]:
        return [c["value"] for c in fld.options["choices"] if not c["retired"]]

    def check_choice(self, fld: FieldDef, value: Any) -> str:
        if not isinstance(value, str):
            raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes an option value.")
        allowed = self.active_values(fld)
        if value not in allowed:
            raise FieldValueError(
                "INVALID_OPTION",
                f"'{value}' is not an option of '{fld.api_name}'; choose one of: {', '.join(allowed)}.",
            )
        return value

    # -- storage ---------------------------------------------------------------------
    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.Text()

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        return self.check_choice(fld, value)

    @staticmethod
    def renamed_values(old: FieldDef, new: FieldDef) -> dict[str, str]:
        """Option values renamed between ``old`` and ``new`` (matched by option id)."""
        before = {c["id"]: c["value"] for c in old.options.get("choices", [])}
        return {
            before[c["id"]]: c["value"]
            for c in new.options["choices"]
            if c["id"] in before and before[c["id"]] != c["value"]
        }

    @staticmethod
    def removed_values(old: FieldDef, new: FieldDef) -> list[str]:
        kept = {c["id"] for c in new.options["choices"]}
        return [c["value"] for c in old.options.get("choices", []) if c["id"] not in kept]

    def needs_conversion(self, old: FieldDef, new: FieldDef) -> bool:
        return bool(self.renamed_values(old, new) or self.removed_values(old, new))

    def conversion_from(self, old: FieldDef, new: FieldDef) -> Conversion | None:
        if old.type != self.name:
            return None
        renames = self.renamed_values(old, new)
        removed = self.removed_values(old, new)
        rewrite = None
        if renames:
            cases = " ".join(f"WHEN {sql_literal(a)} THEN {sql_literal(b)}" for a, b in renames.items())
            rewrite = f"CASE {{col}} {cases} ELSE {{col}} END"
        blocking = None
        if removed:
            blocking = f"{{col}} IN ({', '.join(sql_literal(v) for v in removed)})"
        return Conversion(postgresql=rewrite, sqlite=rewrite, blocking_rows_where=blocking)
