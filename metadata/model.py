"""Typed metadata: objects and their fields, keyed by stable ids.

A :class:`MetadataState` is an immutable snapshot of one workspace's data model; a change
is the difference between two states (see :mod:`tessera.metadata.diff`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

SYSTEM_FIELDS: tuple[str, ...] = (
    "id",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "owner",
    "deleted_at",
)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


@dataclass(frozen=True)
class FieldDef:
    """One field of an object; ``options`` hold the type's settings (already normalised)."""

    id: uuid.UUID
    api_name: str
    label: str
    type: str
    required: bool = False
    unique: bool = False
    default: Any = None
    help_text: str = ""
    #: every change of the field's value is kept in the record history (audit)
    track_history: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    #: metadata versions that created and last changed it (bookkeeping, not compared)
    created_version: int = field(default=0, compare=False)
    updated_version: int = field(default=0, compare=False)

    def evolve(self, **changes: Any) -> FieldDef:
        return replace(self, **changes)


@dataclass(frozen=True)
class ValidationRule:
    """A rule every record of an object must pass: the record is refused when it matches
    ``error_when`` (a filter), with ``message`` pointing at ``field`` (or the record)."""

    id: uuid.UUID
    name: str
    error_when: Mapping[str, Any]
    message: str
    field: str | None = None
    active: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "error_when": dict(self.error_when),
            "message": self.message,
            "field": self.field,
            "active": self.active,
        }


@dataclass(frozen=True)
class ObjectDef:
    """An object (a table of records) and its fields, in display order."""

    id: uuid.UUID
    api_name: str
    plural_api_name: str
    label_singular: str
    label_plural: str
    description: str = ""
    fields: tuple[FieldDef, ...] = ()
    validation_rules: tuple[ValidationRule, ...] = ()
    created_version: int = field(default=0, compare=False)
    updated_version: int = field(default=0, compare=False)

    # Look-ups are indexed once per (immutable) instance: a data model of hundreds of
    # objects is validated and diffed field by field.
    @cached_property
    def _fields_by_id(self) -> dict[uuid.UUID, FieldDef]:
        return {f.id: f for f in self.fields}

    @cached_property
    def _fields_by_name(self) -> dict[str, FieldDef]:
        return {f.api_name: f for f in reversed(self.fields)}

    def field_by_id(self, field_id: uuid.UUID) -> FieldDef | None:
        return self._fields_by_id.get(field_id)

    def field_named(self, api_name: str) -> FieldDef | None:
        return self._fields_by_name.get(api_name)

    def evolve(self, **changes: Any) -> ObjectDef:
        return replace(self, **changes)


@dataclass(frozen=True)
class Relation:
    """A lookup seen from its target: ``source_object.source_field`` points at
    ``target_object``, which gets the reverse one-to-many ``reverse_name``."""

    source_object: ObjectDef
    source_field: FieldDef
    target_object: ObjectDef
    reverse_name: str


@dataclass(frozen=True)
class MetadataState:
    """A workspace's whole data model at one version."""

    objects: tuple[ObjectDef, ...] = ()
    version: int = 0

    @cached_property
    def _objects_by_id(self) -> dict[uuid.UUID, ObjectDef]:
        return {o.id: o for o in self.objects}

    @cached_property
    def _objects_by_name(self) -> dict[str, ObjectDef]:
        return {o.api_name: o for o in reversed(self.objects)}

    def object_by_id(self, object_id: uuid.UUID) -> ObjectDef | None:
        return self._objects_by_id.get(object_id)

    def object_named(self, api_name: str) -> ObjectDef | None:
        return self._objects_by_name.get(api_name)

    def all_fields(self) -> Iterator[tuple[ObjectDef, FieldDef]]:
        for obj in self.objects:
            for fld in obj.fields:
                yield obj, fld

    @cached_property
    def _relations(self) -> tuple[Relation, ...]:
        found = []
        for obj, fld in self.all_fields():
            if fld.type != "lookup":
                continue
            try:
                target_id = uuid.UUID(str(fld.options.get("target_object_id")))
            except ValueError:
                continue
            target = self.object_by_id(target_id)
            if target is not None:
                found.append(Relation(obj, fld, target, str(fld.options["reverse_name"])))
        return tuple(found)

    @cached_property
    def _relations_by_target(self) -> dict[uuid.UUID, list[Relation]]:
        grouped: dict[uuid.UUID, list[Relation]] = {}
        for relation in self._relations:
            grouped.setdefault(relation.target_object.id, []).append(relation)
        return grouped

    def relations(self) -> Iterator[Relation]:
        """Every lookup whose target exists, with its reverse name."""
        return iter(self._relations)

    def relations_to(self, target_id: uuid.UUID) -> list[Relation]:
        return list(self._relations_by_target.get(target_id, []))

    def with_object(self, obj: ObjectDef) -> MetadataState:
        """This state with ``obj`` added, or replacing the object with the same id."""
        if self.object_by_id(obj.id) is None:
            return replace(self, objects=(*self.objects, obj))
        return replace(self, objects=tuple(obj if o.id == obj.id else o for o in self.objects))

    def without_object(self, object_id: uuid.UUID) -> MetadataState:
        return replace(self, objects=tuple(o for o in self.objects if o.id != object_id))
