"""The difference between two metadata states, as a list of changes keyed by stable ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tessera.metadata.fields import field_type
from tessera.metadata.model import FieldDef, MetadataState, ObjectDef, ValidationRule

OBJECT_ATTRIBUTES = ("api_name", "plural_api_name", "label_singular", "label_plural", "description")
FIELD_ATTRIBUTES = (
    "api_name",
    "label",
    "type",
    "required",
    "unique",
    "default",
    "help_text",
    "track_history",
    "options",
)
RULE_ATTRIBUTES = ("name", "error_when", "message", "field", "active")


def object_summary(obj: ObjectDef) -> dict[str, Any]:
    summary: dict[str, Any] = {"id": str(obj.id), **{a: getattr(obj, a) for a in OBJECT_ATTRIBUTES}}
    summary["validation_rules"] = [rule.as_dict() for rule in obj.validation_rules]
    return summary


def field_summary(fld: FieldDef) -> dict[str, Any]:
    return {"id": str(fld.id), **{a: getattr(fld, a) for a in FIELD_ATTRIBUTES}}


@dataclass(frozen=True)
class ObjectCreated:
    after: ObjectDef

    def describe(self) -> str:
        rules = len(self.after.validation_rules)
        with_rules = f" and {rules} validation rule(s)" if rules else ""
        return f"Create object '{self.after.api_name}' with {len(self.after.fields)} field(s){with_rules}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": "object_created",
            "after": object_summary(self.after),
            "fields": [field_summary(f) for f in self.after.fields],
        }


@dataclass(frozen=True)
class ObjectDeleted:
    before: ObjectDef

    def describe(self) -> str:
        return f"Delete object '{self.before.api_name}'"

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": "object_deleted",
            "before": object_summary(self.before),
            "fields": [field_summary(f) for f in self.before.fields],
        }


@dataclass(frozen=True)
class ObjectUpdated:
    before: ObjectDef
    after: ObjectDef

    @property
    def changed(self) -> list[str]:
        names = [a for a in OBJECT_ATTRIBUTES if getattr(self.before, a) != getattr(self.after, a)]
        if reordered(self.before, self.after):
            names.append("field_order")
        if rules_reordered(self.before, self.after):
            names.append("validation_rule_order")
        return names

    def describe(self) -> str:
        if self.before.api_name != self.after.api_name:
            return f"Rename object '{self.before.api_name}' to '{self.after.api_name}'"
        return f"Change {', '.join(self.changed)} of object '{self.after.api_name}'"

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": "object_updated",
            "before": object_summary(self.before),
            "after": object_summary(self.after),
            "changed": self.changed,
        }


@dataclass(frozen=True)
class FieldCreated:
    obj: ObjectDef
    after: FieldDef

    def describe(self) -> str:
        return f"Add {self.after.type} field '{self.obj.api_name}.{self.after.api_name}'"

    def as_dict(self) -> dict[str, Any]:
        return {"change": "field_created", "object": self.obj.api_name, "after": field_summary(self.after)}


@dataclass(frozen=True)
class FieldDeleted:
    obj: ObjectDef
    before: FieldDef

    def describe(self) -> str:
        return f"Delete field '{self.obj.api_name}.{self.before.api_name}'"

    def as_dict(self) -> dict[str, Any]:
        return {"change": "field_deleted", "object": self.obj.api_name, "before": field_summary(self.before)}


@dataclass(frozen=True)
class FieldUpdated:
    obj_before: ObjectDef
    obj: ObjectDef
    before: FieldDef
    after: FieldDef

    @property
    def changed(self) -> list[str]:
        return [a for a in FIELD_ATTRIBUTES if getattr(self.before, a) != getattr(self.after, a)]

    @property
    def type_changed(self) -> bool:
        return self.before.type != self.after.type

    @property
    def storage_changed(self) -> bool:
        """Whether stored data must move (a type change, or options that rewrite data)."""
        return self.type_changed or field_type(self.after.type).needs_conversion(self.before, self.after)

    def describe(self) -> str:
        where = f"'{self.obj.api_name}.{self.before.api_name}'"
        parts = []
        if self.before.api_name != self.after.api_name:
            parts.append(f"rename to '{self.after.api_name}'")
        if self.type_changed:
            parts.append(f"change type {self.before.type} → {self.after.type}")
        rest = [c for c in self.changed if c not in ("api_name", "type")]
        if rest:
            parts.append(f"change {', '.join(rest)}")
        return f"Field {where}: {'; '.join(parts)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": "field_updated",
            "object": self.obj.api_name,
            "before": field_summary(self.before),
            "after": field_summary(self.after),
            "changed": self.changed,
        }


@dataclass(frozen=True)
class RuleCreated:
    obj: ObjectDef
    after: ValidationRule

    def describe(self) -> str:
        return f"Add validation rule '{self.obj.api_name}.{self.after.name}'"

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": "validation_rule_created",
            "object": self.obj.api_name,
            "after": self.after.as_dict(),
        }


@dataclass(frozen=True)
class RuleDeleted:
    obj: ObjectDef
    before: ValidationRule

    def describe(self) -> str:
        return f"Delete validation rule '{self.obj.api_name}.{self.before.name}'"

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": "validation_rule_deleted",
            "object": self.obj.api_name,
            "before": self.before.as_dict(),
        }


@dataclass(frozen=True)
class RuleUpdated:
    obj: ObjectDef
    before: ValidationRule
    after: ValidationRule

    @property
    def changed(self) -> list[str]:
        return [a for a in RULE_ATTRIBUTES if getattr(self.before, a) != getattr(self.after, a)]

    def describe(self) -> str:
        where = f"'{self.obj.api_name}.{self.before.name}'"
        parts = []
        if self.before.name != self.after.name:
            parts.append(f"rename to '{self.after.name}'")
        rest = [c for c in self.changed if c != "name"]
        if rest:
            parts.append(f"change {', '.join(rest)}")
        return f"Validation rule {where}: {'; '.join(parts)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": "validation_rule_updated",
            "object": self.obj.api_name,
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
            "changed": self.changed,
        }


Change = (
    ObjectCreated
    | ObjectDeleted
    | ObjectUpdated
    | FieldCreated
    | FieldDeleted
    | FieldUpdated
    | RuleCreated
    | RuleDeleted
    | RuleUpdated
)


def reordered(before: ObjectDef, after: ObjectDef) -> bool:
    """Whether the fields both versions have are in another order."""
    common = {f.id for f in before.fields} & {f.id for f in after.fields}
    return [f.id for f in before.fields if f.id in common] != [f.id for f in after.fields if f.id in common]


def rules_reordered(before: ObjectDef, after: ObjectDef) -> bool:
    """Whether the validation rules both versions have are in another order."""
    common = {r.id for r in before.validation_rules} & {r.id for r in after.validation_rules}
    return [r.id for r in before.validation_rules if r.id in common] != [
        r.id for r in after.validation_rules if r.id in common
    ]


def rule_changes(old: ObjectDef, new: ObjectDef) -> tuple[list[Change], list[Change], list[Change]]:
    """The validation rules deleted, changed and added between two versions of an object
    (matched by id)."""
    before = {r.id: r for r in old.validation_rules}
    after = {r.id: r for r in new.validation_rules}
    deleted: list[Change] = [RuleDeleted(new, r) for r in old.validation_rules if r.id not in after]
    updated: list[Change] = [
        RuleUpdated(new, before[r.id], r)
        for r in new.validation_rules
        if r.id in before and before[r.id] != r
    ]
    created: list[Change] = [RuleCreated(new, r) for r in new.validation_rules if r.id not in before]
    return deleted, updated, created


def diff_states(before: MetadataState, after: MetadataState) -> list[Change]:
    """What turns ``before`` into ``after``, matched by stable ids.

    Order: deletions of fields, then objects, then creations and updates, so that
    names freed by a deletion can be reused in the same change.
    """
    deletions: list[Change] = []
    creations: list[Change] = []
    updates: list[Change] = []
    #: last: a new rule may name a field created in the same change
    rule_creations: list[Change] = []
    for old in before.objects:
        new = after.object_by_id(old.id)
        if new is None:
            deletions.append(ObjectDeleted(old))
            continue
        for old_field in old.fields:
            new_field = new.field_by_id(old_field.id)
            if new_field is None:
                deletions.insert(0, FieldDeleted(old, old_field))
            elif new_field != old_field:
                updates.append(FieldUpdated(old, new, old_field, new_field))
        for new_field in new.fields:
            if old.field_by_id(new_field.id) is None:
                creations.append(FieldCreated(new, new_field))
        if old.validation_rules != new.validation_rules:
            deleted_rules, updated_rules, created_rules = rule_changes(old, new)
            deletions += deleted_rules
            updates += updated_rules
            rule_creations += created_rules
        if (
            any(getattr(old, a) != getattr(new, a) for a in OBJECT_ATTRIBUTES)
            or reordered(old, new)
            or rules_reordered(old, new)
        ):
            updates.insert(0, ObjectUpdated(old, new))
    created_objects: list[Change] = [
        ObjectCreated(o) for o in after.objects if before.object_by_id(o.id) is None
    ]
    return [*deletions, *updates, *created_objects, *creations, *rule_creations]
