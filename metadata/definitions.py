"""Turn input (GraphQL arguments, a YAML file) into :class:`ObjectDef` / :class:`FieldDef`.

Shape and per-type option rules are checked here with paths relative to the input; rules
that involve the whole data model are in :mod:`tessera.metadata.validation`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import jsonschema

from tessera.metadata.fields import FIELD_TYPES, field_type
from tessera.metadata.fields.base import FieldValueError
from tessera.metadata.model import FieldDef, MetadataState, ObjectDef, ValidationRule, new_id
from tessera.metadata.names import (
    FIELD_NAME_LENGTH,
    field_name_problems,
    name_problems,
    snake_case_from_label,
)
from tessera.platform.errors import Path, Problem, TesseraError, dedupe

FIELD_KEYS = {
    "id", "api_name", "label", "type", "required", "unique", "default", "help_text", "track_history",
    "options",
}  # fmt: skip
OBJECT_KEYS = {
    "id",
    "api_name",
    "plural_api_name",
    "label_singular",
    "label_plural",
    "description",
    "fields",
    "validation_rules",
}
RULE_KEYS = {"id", "name", "error_when", "message", "field", "active"}


def label_from_name(api_name: str) -> str:
    return api_name.replace("_", " ").capitalize()


def schema_problems(validator: jsonschema.Draft202012Validator, value: Any, path: Path) -> list[Problem]:
    return [
        Problem(
            "INVALID_OPTIONS",
            f"Option {'.'.join(map(str, e.absolute_path)) or 'options'}: {readable(e)}",
            (*path, *e.absolute_path),
        )
        for e in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    ]


def readable(error: jsonschema.ValidationError) -> str:
    """A JSON Schema error in words: a pattern failure quotes what the option expects."""
    description = error.schema.get("description") if isinstance(error.schema, Mapping) else None
    if error.validator == "pattern" and description:
        return f"{error.instance!r} is not valid. Expected: {description}"
    return f"{error.message}."


def parse_id(value: Any, path: Path) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise TesseraError.single("INVALID_ID", f"'{value}' is not a valid id (a UUID).", path) from None


def unknown_key_problems(data: Mapping[str, Any], allowed: set[str], what: str, path: Path) -> list[Problem]:
    return [
        Problem(
            "UNKNOWN_KEY", f"A {what} has no '{key}'; known keys: {', '.join(sorted(allowed))}.", (*path, key)
        )
        for key in data
        if key not in allowed
    ]


def build_field(
    data: Mapping[str, Any],
    obj: ObjectDef,
    state: MetadataState,
    path: Path = (),
    existing: FieldDef | None = None,
) -> FieldDef:
    """A field from input; ``existing`` supplies what the input leaves out (an update)."""
    try:
        return _build_field(data, obj, state, path, existing)
    except TesseraError as exc:
        # The field could not be built, so whole-state validation will not see it: report
        # its name's problems now, with the rest.
        name = data.get("api_name", existing.api_name if existing else None)
        raise TesseraError(dedupe([*exc.problems, *field_name_problems(name, (*path, "api_name"))])) from None


def _build_field(
    data: Mapping[str, Any],
    obj: ObjectDef,
    state: MetadataState,
    path: Path,
    existing: FieldDef | None,
) -> FieldDef:
    problems = unknown_key_problems(data, FIELD_KEYS, "field", path)
    base: dict[str, Any] = {}
    if existing is not None:
        base = {
            "api_name": existing.api_name,
            "label": existing.label,
            "type": existing.type,
            "required": existing.required,
            "unique": existing.unique,
            "default": existing.default,
            "help_text": existing.help_text,
            "track_history": existing.track_history,
            "options": field_type(existing.type).portable_options(existing.options, state),
        }
        if "type" in data and data["type"] != existing.type and "options" not in data:
            base["options"] = options_kept_across_types(existing, data["type"], state)
    merged = {**base, **{k: v for k, v in data.items() if k in FIELD_KEYS}}
    type_name = merged.get("type")
    if type_name not in FIELD_TYPES:
        problems.append(
            Problem(
                "UNKNOWN_FIELD_TYPE",
                f"'{type_name}' is not a field type; choose one of: {', '.join(FIELD_TYPES)}.",
                (*path, "type"),
            )
        )
        raise TesseraError(problems)
    ftype = field_type(type_name)
    options = merged.get("options") or {}
    if not isinstance(options, Mapping):
        problems.append(Problem("INVALID_OPTIONS", "options must be an object.", (*path, "options")))
        raise TesseraError(problems)
    problems.extend(schema_problems(ftype.options_validator, dict(options), (*path, "options")))
    if problems:
        raise TesseraError(problems)
    if existing is not None and existing.type == type_name and "options" in data:
        # Options given on an update replace the stored ones key by key.
        options = {**field_type(existing.type).portable_options(existing.options, state), **options}
    if existing is not None:
        options = ftype.carry_over_options(existing, dict(options))
    normalized = ftype.resolve_options(ftype.normalize_options(options), obj, state)
    api_name = merged.get("api_name")
    field_id = (
        existing.id if existing else parse_id(merged["id"], (*path, "id")) if merged.get("id") else new_id()
    )
    fld = FieldDef(
        id=field_id,
        api_name=api_name if isinstance(api_name, str) else "",
        label=str(merged.get("label") or label_from_name(str(api_name or ""))),
        type=type_name,
        required=bool(merged.get("required", False)),
        unique=bool(merged.get("unique", False)),
        default=merged.get("default"),
        help_text=str(merged.get("help_text") or ""),
        track_history=bool(merged.get("track_history", False)),
        options=normalized,
    )
    problems.extend(default_problems(fld, path))
    if problems:
        raise TesseraError(problems)
    return fld


def options_kept_across_types(existing: FieldDef, new_type: Any, state: MetadataState) -> dict[str, Any]:
    """The options a type change without new options keeps: those the admin set (not the
    old type's defaults) that the new type also has, e.g. select choices for multi_select
    or a custom max_length from text to long_text."""
    if new_type not in FIELD_TYPES:
        return {}
    old = field_type(existing.type)
    defaults = old.normalize_options({})
    accepted = field_type(new_type).options_schema.get("properties", {})
    return {
        key: value
        for key, value in old.portable_options(existing.options, state).items()
        if key in accepted and (key not in defaults or defaults[key] != value)
    }


def default_problems(fld: FieldDef, path: Path) -> list[Problem]:
    ftype = field_type(fld.type)
    problems = []
    if fld.unique and not ftype.supports_unique:
        problems.append(
            Problem("UNIQUE_NOT_SUPPORTED", f"A {fld.type} field cannot be unique.", (*path, "unique"))
        )
    if fld.default is None:
        return problems
    if not ftype.supports_default:
        problems.append(
            Problem("DEFAULT_NOT_SUPPORTED", f"A {fld.type} field cannot have a default.", (*path, "default"))
        )
    elif not ftype.is_dynamic_default(fld.default):
        try:
            ftype.coerce(fld, fld.default)
        except FieldValueError as exc:
            problems.append(
                Problem(
                    "INVALID_DEFAULT",
                    f"The default is not valid: {exc.message}",
                    (*path, "default", *exc.path),
                )
            )
    return problems


def build_object(
    data: Mapping[str, Any],
    state: MetadataState,
    path: Path = (),
    existing: ObjectDef | None = None,
) -> ObjectDef:
    """An object from input, fields included when given (``existing`` fills the rest)."""
    problems = unknown_key_problems(data, OBJECT_KEYS, "object", path)
    if problems:
        raise TesseraError(problems)
    api_name = data.get("api_name", existing.api_name if existing else None)
    name = api_name if isinstance(api_name, str) else ""
    label_singular = str(
        data.get("label_singular") or (existing.label_singular if existing else label_from_name(name))
    )
    label_plural = str(
        data.get("label_plural") or (existing.label_plural if existing else pluralize(label_singular))
    )
    plural = data.get("plural_api_name")
    if not plural:
        if existing is not None and "label_plural" not in data:
            plural = existing.plural_api_name
        else:
            plural = snake_case_from_label(label_plural) or pluralize(name)
            if plural == name:
                plural = f"{name}_list"
    object_id = (
        existing.id if existing else parse_id(data["id"], (*path, "id")) if data.get("id") else new_id()
    )
    obj = ObjectDef(
        id=object_id,
        api_name=name,
        plural_api_name=str(plural),
        label_singular=label_singular,
        label_plural=label_plural,
        description=str(data.get("description", existing.description if existing else "") or ""),
        fields=existing.fields if existing else (),
    )
    if "fields" in data:
        raw_fields = data["fields"]
        if not isinstance(raw_fields, list):
            raise TesseraError.single("INVALID_INPUT", "fields must be a list.", (*path, "fields"))
        # Fields may link to the object itself, so it is in the state they are built with.
        scratch = state.with_object(obj)
        built: list[FieldDef] = []
        for i, raw in enumerate(raw_fields):
            if not isinstance(raw, Mapping):
                problems.append(Problem("INVALID_INPUT", "A field must be an object.", (*path, "fields", i)))
                continue
            match = match_field(raw, existing)
            try:
                built.append(build_field(raw, obj, scratch, (*path, "fields", i), existing=match))
            except TesseraError as exc:
                problems.extend(exc.problems)
        if problems:
            for i, raw in enumerate(raw_fields):
                if isinstance(raw, Mapping):
                    problems += field_name_problems(raw.get("api_name"), (*path, "fields", i, "api_name"))
            raise TesseraError(dedupe(problems))
        obj = obj.evolve(fields=tuple(built))
    if "validation_rules" in data:
        obj = obj.evolve(
            validation_rules=build_rules(data["validation_rules"], existing, (*path, "validation_rules"))
        )
    elif existing is not None:
        obj = obj.evolve(validation_rules=existing.validation_rules)
    return obj


def build_rules(raw: Any, existing: ObjectDef | None, path: Path) -> tuple[ValidationRule, ...]:
    """Validation rules from input; a rule keeps its id when its name matches an existing
    one. Their filters are checked with the whole data model (see validation.py)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TesseraError.single("INVALID_INPUT", "validation_rules must be a list.", path)
    problems: list[Problem] = []
    rules: list[ValidationRule] = []
    known = {r.name: r for r in existing.validation_rules} if existing else {}
    seen: set[str] = set()
    for i, data in enumerate(raw):
        at = (*path, i)
        if not isinstance(data, Mapping):
            problems.append(Problem("INVALID_INPUT", "A validation rule is an object.", at))
            continue
        problems += unknown_key_problems(data, RULE_KEYS, "validation rule", at)
        name = data.get("name")
        problems += name_problems(
            name,
            (*at, "name"),
            kind="validation rule",
            length=FIELD_NAME_LENGTH,
            system=False,
            reserved=False,
        )
        if name in seen:
            problems.append(
                Problem("DUPLICATE_NAME", f"Two validation rules are named '{name}'.", (*at, "name"))
            )
        seen.add(str(name))
        message = data.get("message")
        if not isinstance(message, str) or not message.strip():
            problems.append(
                Problem(
                    "RULE_MESSAGE_REQUIRED",
                    "Give the message shown when a record breaks the rule.",
                    (*at, "message"),
                )
            )
        error_when = data.get("error_when")
        if not isinstance(error_when, Mapping) or not error_when:
            problems.append(
                Problem(
                    "INVALID_INPUT",
                    "error_when is a filter: the records that break the rule, e.g. "
                    '{"stage": {"eq": "won"}, "close_date": {"isNull": true}}.',
                    (*at, "error_when"),
                )
            )
        target_field = data.get("field")
        if target_field is not None and not isinstance(target_field, str):
            problems.append(Problem("INVALID_INPUT", "field is the api name of a field.", (*at, "field")))
        active = data.get("active", True)
        if not isinstance(active, bool):
            problems.append(Problem("INVALID_INPUT", "active is true or false.", (*at, "active")))
        if problems:
            continue
        rule_id = (
            parse_id(data["id"], (*at, "id"))
            if data.get("id")
            else known[name].id
            if name in known
            else new_id()
        )
        rules.append(
            ValidationRule(
                id=rule_id,
                name=str(name),
                error_when=dict(error_when),  # type: ignore[arg-type]
                message=str(message).strip(),
                field=target_field,
                active=bool(active),
            )
        )
    if problems:
        raise TesseraError(dedupe(problems))
    return tuple(rules)


def match_field(raw: Mapping[str, Any], existing: ObjectDef | None) -> FieldDef | None:
    """The existing field an input describes: by id, else by api name (ids from another
    workspace or database do not match here, names do)."""
    if existing is None:
        return None
    if raw.get("id"):
        try:
            found = existing.field_by_id(uuid.UUID(str(raw["id"])))
        except ValueError:
            found = None
        if found is not None:
            return found
    return existing.field_named(str(raw.get("api_name")))


def pluralize(word: str) -> str:
    """An English plural good enough for a default: company → companies, box → boxes,
    deal → deals. Admins set ``label_plural`` for the irregular ones (person → people)."""
    lower = word.lower()
    if lower.endswith("y") and len(word) > 1 and lower[-2] not in "aeiou":
        return word[:-1] + ("IES" if word.isupper() else "ies")
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + ("ES" if word.isupper() else "es")
    return word + ("S" if word.isupper() and len(word) > 1 else "s")
