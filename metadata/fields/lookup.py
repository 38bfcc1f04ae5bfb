"""``lookup``: a many-to-one link to a record of any object (itself included).

The column holds the target's id, with a foreign key and an index. ``on_delete`` says
what happens to this record when the target is hard-deleted: ``set_null`` (default),
``restrict`` (refuse) or ``cascade`` (delete this record too). The target gets the
reverse one-to-many named ``reverse_name`` (default: this object's plural api name).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from tessera.metadata.fields.base import FieldType, FieldValueError
from tessera.metadata.model import FieldDef, MetadataState, ObjectDef
from tessera.metadata.names import field_name_problems
from tessera.metadata.storage import ColumnContext
from tessera.platform.errors import Problem

ON_DELETE_SQL = {"set_null": "SET NULL", "restrict": "RESTRICT", "cascade": "CASCADE"}


class LookupType(FieldType):
    name = "lookup"
    filter_kind = "lookup"
    label = "Lookup"
    description = "A link to one record of another object (many-to-one)."
    indexed = True
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "target_object": {
                "type": "string",
                "description": "Api name of the object linked to.",
            },
            "target_object_id": {
                "type": "string",
                "format": "uuid",
                "description": "Stable id of the object linked to (filled in from target_object).",
            },
            "on_delete": {
                "enum": list(ON_DELETE_SQL),
                "description": "When the linked record is deleted: set_null (default), restrict or cascade.",
            },
            "reverse_name": {
                "type": ["string", "null"],
                "description": "Name of the one-to-many on the target object "
                "(default: this object's plural api name).",
            },
        },
    }

    def normalize_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"on_delete": "set_null", **options}

    def resolve_options(
        self, options: Mapping[str, Any], obj: ObjectDef, state: MetadataState
    ) -> dict[str, Any]:
        resolved = dict(options)
        name = resolved.get("target_object")
        if name is not None:
            target = obj if name == obj.api_name else state.object_named(name)
            if target is not None:
                # Stored by id, so renaming the target keeps the link; an unknown name is
                # kept as written for option_problems to report.
                del resolved["target_object"]
                resolved["target_object_id"] = str(target.id)
        if not resolved.get("reverse_name"):
            taken = {r.reverse_name for r in state.relations()}
            reverse = obj.plural_api_name
            resolved["reverse_name"] = reverse if reverse not in taken else None
        return resolved

    def portable_options(self, options: Mapping[str, Any], state: MetadataState) -> dict[str, Any]:
        portable = dict(options)
        target_id = portable.pop("target_object_id", None)
        target = state.object_by_id(uuid.UUID(str(target_id))) if target_id else None
        portable = {
            "target_object": target.api_name if target else portable.pop("target_object", None),
            **portable,
        }
        return portable

    def option_problems(self, fld: FieldDef, obj: ObjectDef, state: MetadataState) -> list[Problem]:
        target_ref = fld.options.get("target_object_id")
        if not target_ref:
            name = fld.options.get("target_object")
            if name:
                return [
                    Problem(
                        "UNKNOWN_OBJECT", f"There is no object named '{name}' to link to.", ("target_object",)
                    )
                ]
            return [
                Problem("OPTION_REQUIRED", "Name the object to link to in target_object.", ("target_object",))
            ]
        target = state.object_by_id(uuid.UUID(str(target_ref)))
        if target is None:
            return [
                Problem(
                    "UNKNOWN_OBJECT",
                    f"There is no object with id {target_ref} to link to.",
                    ("target_object_id",),
                )
            ]
        reverse = fld.options.get("reverse_name")
        if not reverse:
            return [
                Problem(
                    "REVERSE_NAME_CONFLICT",
                    f"'{target.api_name}' already has a relation named '{obj.plural_api_name}'; "
                    "give this lookup a reverse_name.",
                    ("reverse_name",),
                )
            ]
        problems = [p for p in field_name_problems(reverse, ("reverse_name",))]
        if target.field_named(reverse) is not None:
            problems.append(
                Problem(
                    "REVERSE_NAME_CONFLICT",
                    f"'{target.api_name}' has a field named '{reverse}'; choose another reverse_name.",
                    ("reverse_name",),
                )
            )
        for other in state.relations_to(target.id):
            if other.source_field.id != fld.id and other.reverse_name == reverse:
                problems.append(
                    Problem(
                        "REVERSE_NAME_CONFLICT",
                        f"'{target.api_name}.{reverse}' is already the reverse of "
                        f"'{other.source_object.api_name}.{other.source_field.api_name}'; "
                        "choose another reverse_name.",
                        ("reverse_name",),
                    )
                )
        return problems

    def columns(self, fld: FieldDef, ctx: ColumnContext) -> list[sa.Column[Any]]:
        target = ctx.primary_key_of(uuid.UUID(str(fld.options["target_object_id"])))
        return [
            sa.Column(
                fld.api_name,
                sa.Uuid,
                sa.ForeignKey(
                    target,
                    name=ctx.namespace.constraint_name("fk", fld.id),
                    ondelete=ON_DELETE_SQL[fld.options["on_delete"]],
                ),
                nullable=True,
            )
        ]

    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.Uuid()

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None or isinstance(value, uuid.UUID):
            return value
        if isinstance(value, str):
            try:
                return uuid.UUID(value)
            except ValueError:
                pass
        raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes the id of a record (a UUID).")

    def to_json(self, fld: FieldDef, value: Any) -> Any:
        return None if value is None else str(value)
