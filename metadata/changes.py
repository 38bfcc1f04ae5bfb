"""The edits an admin makes to a data model, each a function of the current state.

Every edit is a :class:`Edit`: called with the current state it returns the desired one,
and records in ``focus`` which entity the input describes, so that problems found in the
whole state are reported at the input's path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tessera.metadata.definitions import build_field, build_object
from tessera.metadata.model import MetadataState, ObjectDef
from tessera.metadata.validation import EntityKey
from tessera.platform.errors import NotFound, Path, TesseraError


@dataclass
class Edit:
    """A change to a data model, applied by :meth:`MetadataStore.apply`."""

    build: Callable[[Edit, MetadataState], MetadataState]
    path: Path = ("input",)
    focus: dict[EntityKey, Path] = field(default_factory=dict)

    def __call__(self, state: MetadataState) -> MetadataState:
        return self.build(self, state)


def find_object(state: MetadataState, api_name: str, path: Path) -> ObjectDef:
    obj = state.object_named(api_name)
    if obj is None:
        known = ", ".join(o.api_name for o in state.objects) or "none yet"
        raise NotFound.single("UNKNOWN_OBJECT", f"There is no object '{api_name}' (objects: {known}).", path)
    return obj


def create_object(data: Mapping[str, Any], path: Path = ("input",)) -> Edit:
    def build(edit: Edit, state: MetadataState) -> MetadataState:
        if "api_name" in data and state.object_named(str(data["api_name"])) is not None:
            raise TesseraError.single(
                "DUPLICATE_NAME", f"An object named '{data['api_name']}' already exists.", (*path, "api_name")
            )
        obj = build_object(data, state, path)
        edit.focus[(obj.id, None)] = path
        for i, fld in enumerate(obj.fields):
            edit.focus[(obj.id, fld.id)] = (*path, "fields", i)
        return state.with_object(obj)

    return Edit(build, path)


def update_object(api_name: str, data: Mapping[str, Any], path: Path = ("input",)) -> Edit:
    def build(edit: Edit, state: MetadataState) -> MetadataState:
        existing = find_object(state, api_name, (*path, "object"))
        if "fields" in data:
            raise TesseraError.single(
                "INVALID_INPUT",
                "Change fields with the field mutations, not updateObject.",
                (*path, "fields"),
            )
        obj = build_object(data, state, path, existing=existing)
        edit.focus[(obj.id, None)] = path
        return state.with_object(obj)

    return Edit(build, path)


def delete_object(api_name: str, path: Path = ("input",)) -> Edit:
    def build(edit: Edit, state: MetadataState) -> MetadataState:
        obj = find_object(state, api_name, (*path, "object"))
        links = [r for r in state.relations_to(obj.id) if r.source_object.id != obj.id]
        if links:
            names = ", ".join(f"{r.source_object.api_name}.{r.source_field.api_name}" for r in links)
            raise TesseraError.single(
                "OBJECT_REFERENCED",
                f"'{api_name}' is linked to by {names}; delete or change those lookups first.",
                (*path, "object"),
            )
        return state.without_object(obj.id)

    return Edit(build, path)


def create_field(object_api_name: str, data: Mapping[str, Any], path: Path = ("input",)) -> Edit:
    def build(edit: Edit, state: MetadataState) -> MetadataState:
        obj = find_object(state, object_api_name, (*path, "object"))
        if "api_name" in data and obj.field_named(str(data["api_name"])) is not None:
            raise TesseraError.single(
                "DUPLICATE_NAME",
                f"'{object_api_name}' already has a field named '{data['api_name']}'.",
                (*path, "api_name"),
            )
        fld = build_field(data, obj, state, path)
        edit.focus[(obj.id, fld.id)] = path
        return state.with_object(obj.evolve(fields=(*obj.fields, fld)))

    return Edit(build, path)


def update_field(
    object_api_name: str, field_api_name: str, data: Mapping[str, Any], path: Path = ("input",)
) -> Edit:
    def build(edit: Edit, state: MetadataState) -> MetadataState:
        obj = find_object(state, object_api_name, (*path, "object"))
        existing = obj.field_named(field_api_name)
        if existing is None:
            raise NotFound.single(
                "UNKNOWN_FIELD", f"'{object_api_name}' has no field '{field_api_name}'.", (*path, "field")
            )
        fld = build_field(data, obj, state, path, existing=existing)
        edit.focus[(obj.id, fld.id)] = path
        return state.with_object(obj.evolve(fields=tuple(fld if f.id == fld.id else f for f in obj.fields)))

    return Edit(build, path)


def delete_field(object_api_name: str, field_api_name: str, path: Path = ("input",)) -> Edit:
    def build(edit: Edit, state: MetadataState) -> MetadataState:
        obj = find_object(state, object_api_name, (*path, "object"))
        if obj.field_named(field_api_name) is None:
            raise NotFound.single(
                "UNKNOWN_FIELD", f"'{object_api_name}' has no field '{field_api_name}'.", (*path, "field")
            )
        return state.with_object(
            obj.evolve(fields=tuple(f for f in obj.fields if f.api_name != field_api_name))
        )

    return Edit(build, path)


def reorder_fields(object_api_name: str, order: list[str], path: Path = ("input",)) -> Edit:
    def build(edit: Edit, state: MetadataState) -> MetadataState:
        obj = find_object(state, object_api_name, (*path, "object"))
        names = [f.api_name for f in obj.fields]
        if sorted(order) != sorted(names):
            raise TesseraError.single(
                "INVALID_INPUT",
                f"List every field of '{object_api_name}' exactly once: {', '.join(names)}.",
                (*path, "fields"),
            )
        by_name = {f.api_name: f for f in obj.fields}
        return state.with_object(obj.evolve(fields=tuple(by_name[n] for n in order)))

    return Edit(build, path)
