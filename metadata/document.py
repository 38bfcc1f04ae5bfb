"""The metadata document: a workspace's data model as YAML or JSON.

``tessera metadata export`` writes it; ``tessera metadata apply`` makes a workspace match
it (objects and fields matched by ``id`` when given, else by ``api_name``; what the file
leaves out is deleted). Applying the document a workspace exported changes nothing.
Its JSON Schema (:func:`document_schema`) is published in ``metadata/schemas/``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tessera.metadata.definitions import FIELD_KEYS, OBJECT_KEYS, build_object, parse_id
from tessera.metadata.fields import FIELD_TYPES, field_type
from tessera.metadata.model import MetadataState, ObjectDef
from tessera.platform.errors import Problem, TesseraError

FORMAT = "tessera.metadata/v1"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "metadata-document.schema.json"
SCHEMA_ID = "https://tessera.dev/schemas/metadata-document.schema.json"


def export_document(state: MetadataState, workspace: str | None = None) -> dict[str, Any]:
    """The document describing ``state``, stable ids included."""
    return {
        "format": FORMAT,
        **({"workspace": workspace} if workspace else {}),
        "version": state.version,
        "objects": [
            {
                "id": str(obj.id),
                "api_name": obj.api_name,
                "plural_api_name": obj.plural_api_name,
                "label_singular": obj.label_singular,
                "label_plural": obj.label_plural,
                "description": obj.description,
                "fields": [
                    {
                        "id": str(fld.id),
                        "api_name": fld.api_name,
                        "label": fld.label,
                        "type": fld.type,
                        "required": fld.required,
                        "unique": fld.unique,
                        "default": fld.default,
                        "help_text": fld.help_text,
                        "track_history": fld.track_history,
                        "options": field_type(fld.type).portable_options(fld.options, state),
                    }
                    for fld in obj.fields
                ],
                **(
                    {"validation_rules": [rule.as_dict() for rule in obj.validation_rules]}
                    if obj.validation_rules
                    else {}
                ),
            }
            for obj in state.objects
        ],
    }


def dump_document(document: Mapping[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True)


def load_document(text: str) -> Any:
    """Parse YAML (JSON is YAML too); raises :class:`TesseraError` on a syntax error."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise TesseraError.single(
            "INVALID_DOCUMENT", f"The file is not valid YAML or JSON{where}: {exc}"
        ) from None


@cache
def shape_validator() -> jsonschema.Draft202012Validator:
    """The document's shape without the options of each type: those are checked by the
    type's own validator while fields are built (as ``INVALID_OPTIONS``), which is far
    cheaper than one ``if``/``then`` per type on every field."""
    return jsonschema.Draft202012Validator(document_schema(with_options=False))


def document_problems(document: Any) -> list[Problem]:
    errors = shape_validator().iter_errors(document)
    return [
        Problem("INVALID_DOCUMENT", error.message, tuple(error.absolute_path))
        for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path)))
    ]


def document_state(document: Any, current: MetadataState) -> MetadataState:
    """The state a document describes, matched against ``current`` by id, else api name.

    Raises :class:`TesseraError` with paths into the document (``objects.2.fields.0…``).
    """
    problems = document_problems(document)
    if problems:
        raise TesseraError(problems)
    entries: list[Mapping[str, Any]] = document.get("objects", [])
    # Pass 1: every object, without fields, so that lookups can name any of them.
    matched: list[ObjectDef | None] = []
    shells: list[ObjectDef] = []
    for i, data in enumerate(entries):
        existing = match_object(data, current, ("objects", i))
        matched.append(existing)
        shell = build_object(
            {k: v for k, v in data.items() if k != "fields"}, current, ("objects", i), existing
        )
        shells.append(shell.evolve(fields=existing.fields if existing else ()))
    scratch = MetadataState(tuple(shells), current.version)
    # Pass 2: the fields.
    objects: list[ObjectDef] = []
    for i, (data, existing) in enumerate(zip(entries, matched, strict=True)):
        try:
            built = build_object(
                {**data, "fields": data.get("fields", [])}, scratch, ("objects", i), existing or shells[i]
            )
        except TesseraError as exc:
            problems.extend(exc.problems)
            continue
        objects.append(built)
    if problems:
        raise TesseraError(problems)
    return MetadataState(tuple(objects), current.version)


def match_object(data: Mapping[str, Any], current: MetadataState, path: tuple[Any, ...]) -> ObjectDef | None:
    if data.get("id"):
        found = current.object_by_id(parse_id(data["id"], (*path, "id")))
        if found is not None:
            return found
    return current.object_named(str(data.get("api_name")))


def document_schema(*, with_options: bool = True) -> dict[str, Any]:
    """The JSON Schema of metadata documents, options of every field type included (the
    published form, for editors) unless ``with_options`` is false."""
    field_properties: dict[str, Any] = {
        "id": {"type": "string", "format": "uuid", "description": "Stable id; omit for a new field."},
        "api_name": {"type": "string", "description": "snake_case name used in the API and the table."},
        "label": {"type": "string"},
        "type": {"enum": list(FIELD_TYPES), "description": "The field type."},
        "required": {"type": "boolean"},
        "unique": {"type": "boolean"},
        "default": {"description": "Default value, written as in the API (or 'today' / 'now')."},
        "help_text": {"type": "string"},
        "track_history": {"type": "boolean", "description": "keep every change of the value (audit)"},
        "options": {"type": "object", "description": "Settings of the field type."},
    }
    assert set(field_properties) == FIELD_KEYS
    object_properties: dict[str, Any] = {
        "id": {"type": "string", "format": "uuid", "description": "Stable id; omit for a new object."},
        "api_name": {"type": "string", "description": "snake_case singular name, e.g. 'deal'."},
        "plural_api_name": {"type": "string", "description": "snake_case plural name, e.g. 'deals'."},
        "label_singular": {"type": "string"},
        "label_plural": {"type": "string"},
        "description": {"type": "string"},
        "fields": {"type": "array", "items": {"$ref": "#/$defs/field"}},
        "validation_rules": {"type": "array", "items": {"$ref": "#/$defs/validation_rule"}},
    }
    assert set(object_properties) == OBJECT_KEYS
    options_by_type = [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {"properties": {"options": ftype.options_schema}},
        }
        for name, ftype in FIELD_TYPES.items()
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Tessera metadata document",
        "description": "A workspace's data model: objects and their fields.",
        "type": "object",
        "additionalProperties": False,
        "required": ["objects"],
        "properties": {
            "format": {"const": FORMAT},
            "workspace": {"type": "string", "description": "Informational: where it was exported from."},
            "version": {"type": "integer", "description": "Informational: metadata version exported."},
            "objects": {"type": "array", "items": {"$ref": "#/$defs/object"}},
        },
        "$defs": {
            "object": {
                "type": "object",
                "additionalProperties": False,
                "required": ["api_name"],
                "properties": object_properties,
            },
            "validation_rule": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "error_when", "message"],
                "description": "Records matching error_when are refused with message.",
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string", "description": "snake_case, unique in the object."},
                    "error_when": {
                        "type": "object",
                        "description": "A filter (see filter.schema.json): the records that break the rule.",
                    },
                    "message": {"type": "string", "minLength": 1},
                    "field": {"type": ["string", "null"], "description": "The field the error points at."},
                    "active": {"type": "boolean"},
                },
            },
            "field": {
                "type": "object",
                "additionalProperties": False,
                "required": ["api_name", "type"],
                "properties": field_properties,
                **({"allOf": options_by_type} if with_options else {}),
            },
        },
    }
