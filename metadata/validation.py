"""Rules over a whole data model: names, uniqueness, links between objects."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from tessera.metadata.fields import field_type
from tessera.metadata.model import MetadataState, ObjectDef
from tessera.metadata.names import (
    API_TYPE_NAMES,
    choice_type_names,
    field_name_problems,
    object_name_problems,
    object_type_names,
)
from tessera.platform.errors import Path, Problem, TesseraError, dedupe

EntityKey = tuple[object, object | None]


def state_problems(
    state: MetadataState,
    focus: Mapping[EntityKey, Path] | None = None,
    previous: MetadataState | None = None,
) -> list[Problem]:
    """Everything wrong with ``state``. Paths are ``objects.<i>.fields.<j>…`` unless
    ``focus`` maps an (object id, field id or None) to another prefix (e.g. ``input``).

    Given the ``previous`` (valid) state, the fields of objects that did not change are not
    checked again, except lookups: deleting or renaming their target concerns them too.
    """
    focus = focus or {}
    problems: list[Problem] = []

    def at(obj: ObjectDef, i: int, field_index: int | None = None) -> Path:
        if field_index is None:
            return focus.get((obj.id, None), ("objects", i))
        fld = obj.fields[field_index]
        return focus.get((obj.id, fld.id), (*at(obj, i), "fields", field_index))

    names: dict[str, str] = {}
    for i, obj in enumerate(state.objects):
        problems += object_name_problems(obj.api_name, (*at(obj, i), "api_name"))
        problems += object_name_problems(obj.plural_api_name, (*at(obj, i), "plural_api_name"))
        for key in ("api_name", "plural_api_name"):
            name = getattr(obj, key)
            if name in names:
                problems.append(
                    Problem(
                        "DUPLICATE_NAME",
                        f"'{name}' is already used by the object '{names[name]}'; "
                        "object names and plural names must all differ.",
                        (*at(obj, i), key),
                    )
                )
            else:
                names[name] = obj.api_name
        if obj.plural_api_name == obj.api_name:
            problems.append(
                Problem(
                    "DUPLICATE_NAME",
                    "The plural api name must differ from the api name.",
                    (*at(obj, i), "plural_api_name"),
                )
            )
        unchanged = previous is not None and previous.object_by_id(obj.id) == obj
        seen: set[str] = set()
        for j, fld in enumerate(obj.fields):
            if unchanged and fld.type != "lookup":
                continue
            path = at(obj, i, j)
            problems += field_name_problems(fld.api_name, (*path, "api_name"))
            if fld.api_name in seen:
                problems.append(
                    Problem(
                        "DUPLICATE_NAME",
                        f"'{obj.api_name}' already has a field named '{fld.api_name}'.",
                        (*path, "api_name"),
                    )
                )
            seen.add(fld.api_name)
            ftype = field_type(fld.type)
            for error in ftype.options_validator.iter_errors(dict(fld.options)):
                problems.append(
                    Problem("INVALID_OPTIONS", error.message, (*path, "options", *error.absolute_path))
                )
            problems += [p.under((*path, "options")) for p in ftype.option_problems(fld, obj, state)]
        for relation in state.relations_to(obj.id):
            # The lookup reports the clash on its reverse_name; the field is told too, so
            # renaming a field onto a relation's name is refused where it was typed.
            clashing = obj.field_named(relation.reverse_name)
            if clashing is not None:
                problems.append(
                    Problem(
                        "DUPLICATE_NAME",
                        f"'{obj.api_name}.{relation.reverse_name}' is the name of the relation from "
                        f"'{relation.source_object.api_name}.{relation.source_field.api_name}'; "
                        "choose another field name.",
                        (*at(obj, i, obj.fields.index(clashing)), "api_name"),
                    )
                )
    problems += type_name_problems(state, at)
    if not problems:
        # Rules are filters over the whole (otherwise valid) model: a rule naming a field
        # that a change deletes or renames stops that change.
        for i, obj in enumerate(state.objects):
            problems += rule_problems(obj, state, (*at(obj, i), "validation_rules"))
    return focused_first(dedupe(problems), focus.values())


def type_name_problems(state: MetadataState, at: Callable[..., Path]) -> list[Problem]:
    """GraphQL type names that objects and select fields would make twice (``deal`` with
    a select ``stage`` and an object ``deal_stage`` both make ``DealStage``), or that the
    API has already (an object ``email`` would make ``EmailFilter``)."""
    problems: list[Problem] = []
    made_by: dict[str, tuple[str, Path]] = {}

    def clash(what: str, name: str, other: str, path: Path) -> Problem:
        return Problem(
            "DUPLICATE_NAME",
            f"{what[0].upper()}{what[1:]} would make the GraphQL type '{name}', as {other} does; "
            "choose another name.",
            path,
        )

    def claim(names: list[str], what: str, path: Path) -> None:
        # Both sides of a clash are told: the one being changed is reported first.
        for name in names:
            if name in API_TYPE_NAMES:
                problems.append(
                    Problem(
                        "NAME_RESERVED",
                        f"{what[0].upper()}{what[1:]} would make the GraphQL type '{name}', which the API "
                        "has already; choose another name.",
                        path,
                    )
                )
                return
            if name in made_by:
                other, other_path = made_by[name]
                problems.append(clash(what, name, other, path))
                problems.append(clash(other, name, what, other_path))
                return
        for name in names:
            made_by[name] = (what, path)

    for i, obj in enumerate(state.objects):
        claim(object_type_names(obj.api_name), f"the object '{obj.api_name}'", (*at(obj, i), "api_name"))
    for i, obj in enumerate(state.objects):
        for j, fld in enumerate(obj.fields):
            if fld.type in ("select", "multi_select"):
                claim(
                    choice_type_names(obj.api_name, fld.api_name),
                    f"the field '{obj.api_name}.{fld.api_name}'",
                    (*at(obj, i, j), "api_name"),
                )
    return problems


def rule_problems(obj: ObjectDef, state: MetadataState, path: Path) -> list[Problem]:
    from tessera.metadata.filters import SYSTEM_FIELD_KINDS, check_filter

    problems: list[Problem] = []
    for k, rule in enumerate(obj.validation_rules):
        if (
            rule.field is not None
            and obj.field_named(rule.field) is None
            and rule.field not in SYSTEM_FIELD_KINDS
        ):
            problems.append(
                Problem(
                    "UNKNOWN_FIELD", f"'{obj.api_name}' has no field '{rule.field}'.", (*path, k, "field")
                )
            )
        try:
            check_filter(rule.error_when, obj, state, (*path, k, "error_when"))
        except TesseraError as exc:
            problems += exc.problems
    return problems


def focused_first(problems: list[Problem], focus_paths: Iterable[Path]) -> list[Problem]:
    """Problems about the input being applied before those found elsewhere in the model."""
    prefixes = list(focus_paths)

    def elsewhere(problem: Problem) -> bool:
        return not any(problem.path[: len(p)] == p for p in prefixes)

    return sorted(problems, key=elsewhere)


def check_state(
    state: MetadataState,
    focus: Mapping[EntityKey, Path] | None = None,
    previous: MetadataState | None = None,
) -> None:
    """Raise :class:`TesseraError` listing every problem of ``state``."""
    problems = state_problems(state, focus, previous)
    if problems:
        raise TesseraError(problems)
