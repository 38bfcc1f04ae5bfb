"""Roles and what they allow: objects, fields, records and admin capabilities.

A role is data (a JSON/YAML document validated by ``role.schema.json``)::

    name: sales_rep
    description: Sales reps work their own deals
    capabilities: []              # manage_data_model, manage_workflows, manage_packages,
                                  # manage_users, manage_api_keys,
                                  # manage_connectors
    objects:
      deal:
        operations: [read, create, update, delete, restore]
        access: own               # own | team | all (the default)
        fields: {margin: none, amount: read}    # none | read | edit (the default)
    other_objects:                # objects not listed above (none when absent)
      operations: [read]
    query_limits: {max_cost: 20000}   # tighter (or looser) GraphQL limits for this role

Three roles are built in (``admin``, ``member``, ``viewer``); a workspace adds its own.
The record service (writes) and the read planner (reads) enforce them through an
:class:`Access`: the role of one actor plus the owners whose records it may see.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from tessera.metadata.model import FieldDef, MetadataState, ObjectDef
from tessera.platform.errors import Path, Problem, TesseraError

OPERATIONS = ("read", "create", "update", "delete", "restore", "destroy")
WRITE_OPERATIONS = OPERATIONS[1:]
RECORD_ACCESS = ("own", "team", "all")
FIELD_ACCESS = ("none", "read", "edit")
CAPABILITIES = (
    "manage_data_model",
    "manage_workflows",
    "manage_packages",
    "manage_users",
    "manage_api_keys",
    "manage_connectors",
)
ROLE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


@dataclass(frozen=True)
class ObjectGrant:
    """What a role may do with the records of one object."""

    operations: frozenset[str] = frozenset()
    #: whose records it reaches: the actor's own, its team's, or all
    access: str = "all"
    #: field api name → ``none``, ``read`` or ``edit``; fields not listed: ``edit``
    fields: Mapping[str, str] = field(default_factory=dict)

    def field_access(self, name: str) -> str:
        if "read" not in self.operations:
            return "none"
        return self.fields.get(name, "edit")

    def as_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "operations": [op for op in OPERATIONS if op in self.operations],
            "access": self.access,
        }
        if self.fields:
            document["fields"] = dict(sorted(self.fields.items()))
        return document


EVERYTHING = ObjectGrant(frozenset(OPERATIONS))
NOTHING = ObjectGrant()


@dataclass(frozen=True)
class Role:
    name: str
    description: str = ""
    capabilities: frozenset[str] = frozenset()
    #: grants by object api name
    objects: Mapping[str, ObjectGrant] = field(default_factory=dict)
    #: the grant of every object not in ``objects`` (none by default)
    other_objects: ObjectGrant = NOTHING
    #: the record API's limits (max_depth, max_aliases, max_cost) this role has instead of the defaults
    query_limits: Mapping[str, int] = field(default_factory=dict)
    builtin: bool = False

    def grant(self, object_name: str) -> ObjectGrant:
        return self.objects.get(object_name, self.other_objects)

    def may(self, object_name: str, operation: str) -> bool:
        return operation in self.grant(object_name).operations

    def field_access(self, object_name: str, field_name: str) -> str:
        return self.grant(object_name).field_access(field_name)

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    @property
    def administer(self) -> bool:
        """Changes the data model (and sees the schema whole, introspection included)."""
        return self.can("manage_data_model")

    @property
    def write_records(self) -> bool:
        grants = [*self.objects.values(), self.other_objects]
        return any(g.operations & set(WRITE_OPERATIONS) for g in grants)

    @property
    def unrestricted(self) -> bool:
        """Every operation on every record and field: nothing to check or hide."""
        return not self.objects and self.other_objects == EVERYTHING

    def covers(self, other: Role) -> bool:
        """Whether ``other`` allows nothing this role does not: who may give roles to users
        and keys gives only those (no one hands out more than they have)."""
        if not other.capabilities <= self.capabilities:
            return False
        names = {*self.objects, *other.objects}
        pairs = [(self.grant(n), other.grant(n)) for n in names] + [(self.other_objects, other.other_objects)]
        for mine, theirs in pairs:
            if not theirs.operations <= mine.operations:
                return False
            if theirs.operations and RECORD_ACCESS.index(theirs.access) > RECORD_ACCESS.index(mine.access):
                return False
            for field_name in {*mine.fields, *theirs.fields}:
                if FIELD_ACCESS.index(theirs.field_access(field_name)) > FIELD_ACCESS.index(
                    mine.field_access(field_name)
                ):
                    return False
        return True

    @cached_property
    def fingerprint(self) -> str:
        """The same for two roles that allow the same (roles are not hashable)."""
        return json.dumps(self.as_document(), sort_keys=True)

    def as_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {"name": self.name, "description": self.description}
        document["capabilities"] = [c for c in CAPABILITIES if c in self.capabilities]
        document["objects"] = {name: grant.as_document() for name, grant in sorted(self.objects.items())}
        if self.other_objects != NOTHING:
            document["other_objects"] = self.other_objects.as_document()
        if self.query_limits:
            document["query_limits"] = dict(sorted(self.query_limits.items()))
        return document


def role_from_document(document: Mapping[str, Any], *, builtin: bool = False) -> Role:
    """A role from its (schema-valid) document."""

    def grant(doc: Mapping[str, Any]) -> ObjectGrant:
        return ObjectGrant(
            frozenset(doc.get("operations", ())), doc.get("access", "all"), dict(doc.get("fields", {}))
        )

    return Role(
        name=document["name"],
        description=document.get("description", ""),
        capabilities=frozenset(document.get("capabilities", ())),
        objects={name: grant(doc) for name, doc in (document.get("objects") or {}).items()},
        other_objects=grant(document["other_objects"]) if document.get("other_objects") else NOTHING,
        query_limits=dict(document.get("query_limits") or {}),
        builtin=builtin,
    )


BUILTIN_ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role(
            "admin",
            "everything, including the data model, workflows, packages, users and API keys",
            frozenset(CAPABILITIES),
            other_objects=EVERYTHING,
            builtin=True,
        ),
        Role(
            "member",
            "reads and writes every record; reads the data model and workflow runs",
            other_objects=EVERYTHING,
            builtin=True,
        ),
        Role(
            "viewer",
            "reads every record and the data model; changes nothing",
            other_objects=ObjectGrant(frozenset({"read"})),
            builtin=True,
        ),
    )
}

#: the role of an actor that no longer exists or was disabled: nothing
NOBODY = Role("nobody", "an unknown or disabled actor: nothing")


@dataclass(frozen=True)
class Access:
    """What one actor may do: its role, and whose records it reaches."""

    role: Role
    actor: uuid.UUID | None = None
    #: the actor's team: the users whose records ``team`` access reaches (the actor included)
    team: frozenset[uuid.UUID] = frozenset()

    @property
    def unrestricted(self) -> bool:
        return self.role.unrestricted

    @property
    def key(self) -> tuple[Any, ...]:
        """Tells apart the accesses whose plans differ (role and reachable owners)."""
        return (self.role.fingerprint, self.actor, tuple(sorted(self.team)))

    def owners(self, object_name: str) -> frozenset[uuid.UUID | None] | None:
        """The owners whose records this actor reaches, or ``None`` for all of them."""
        reach = self.role.grant(object_name).access
        if reach == "all":
            return None
        if reach == "team":
            return frozenset({self.actor, *self.team})
        return frozenset({self.actor})

    def row_condition(self, object_name: str, table: sa.FromClause) -> sa.ColumnElement[bool] | None:
        """The SQL condition of the records this actor reaches, or ``None`` for all."""
        owners = self.owners(object_name)
        if owners is None:
            return None
        known = sorted(o for o in owners if o is not None)
        return table.c.owner.in_(known) if known else sa.false()

    def reach(self, obj: ObjectDef, table: sa.FromClause) -> list[sa.ColumnElement[bool]]:
        """:meth:`row_condition` as a list of conditions (empty: every record)."""
        condition = self.row_condition(obj.api_name, table)
        return [] if condition is None else [condition]

    def reaches(self, object_name: str, owner: uuid.UUID | None) -> bool:
        owners = self.owners(object_name)
        return owners is None or owner in owners

    def require(self, object_name: str, operation: str, path: Path = ()) -> None:
        if not self.role.may(object_name, operation):
            raise forbidden(f"Your role ({self.role.name}) may not {operation} {object_name} records.", path)

    def require_capability(self, capability: str, what: str) -> None:
        if not self.role.can(capability):
            raise forbidden(f"Your role ({self.role.name}) may not {what} (it lacks {capability}).", ())


def forbidden(message: str, path: Path = ()) -> TesseraError:
    return TesseraError.single("FORBIDDEN", message, path)


#: Tessera's own work (tests, tools, workflows without ``run_as``): everything
SYSTEM_ACCESS = Access(BUILTIN_ROLES["admin"])


def filter_problems(
    access: Access, state: MetadataState, obj: ObjectDef, filter_doc: Any, path: Path = ("filter",)
) -> list[Problem]:
    """Where a filter names a field or a relation the actor may not read: a filter on a
    hidden field would tell its values apart."""
    if access.unrestricted or not isinstance(filter_doc, Mapping):
        return []
    problems: list[Problem] = []
    for key, value in filter_doc.items():
        at = (*path, key)
        if key in ("and", "or"):
            for i, item in enumerate(value if isinstance(value, list) else []):
                problems += filter_problems(access, state, obj, item, (*at, i))
        elif key == "not":
            problems += filter_problems(access, state, obj, value, at)
        elif obj.field_named(key) is not None:
            if access.role.field_access(obj.api_name, key) == "none":
                problems.append(hidden_field(access, obj.api_name, key, at))
            fld = obj.field_named(key)
            if fld is not None and fld.type == "lookup" and isinstance(value, Mapping):
                target = state.object_by_id(uuid.UUID(str(fld.options["target_object_id"])))
                nested = {k: v for k, v in value.items() if k != "isNull"}
                if target is not None:
                    problems += filter_problems(access, state, target, nested, at)
        else:
            for relation in state.relations_to(obj.id):
                if relation.reverse_name != key:
                    continue
                source = relation.source_object
                if access.role.field_access(source.api_name, relation.source_field.api_name) == "none":
                    problems.append(hidden_field(access, source.api_name, relation.source_field.api_name, at))
                for quantifier, nested in value.items() if isinstance(value, Mapping) else ():
                    problems += filter_problems(access, state, source, nested, (*at, quantifier))
    return problems


def hidden_field(access: Access, object_name: str, field_name: str, path: Path) -> Problem:
    return Problem(
        "FORBIDDEN",
        f"Your role ({access.role.name}) may not read '{field_name}' of {object_name} records.",
        path,
    )


def visible_state(state: MetadataState, role: Role) -> MetadataState:
    """The data model as ``role`` sees it: the objects it may read, without the fields it
    may not read nor the lookups to objects it may not read (so their reverse relations go
    too). The record API of a role is built from this state."""
    readable = {o.id for o in state.objects if role.may(o.api_name, "read")}

    def shown(obj: ObjectDef, fld: FieldDef) -> bool:
        if role.field_access(obj.api_name, fld.api_name) == "none":
            return False
        if fld.type == "lookup":
            try:
                return uuid.UUID(str(fld.options.get("target_object_id"))) in readable
            except ValueError:
                return False
        return True

    objects = tuple(
        obj.evolve(fields=tuple(f for f in obj.fields if shown(obj, f)))
        for obj in state.objects
        if obj.id in readable
    )
    return replace(state, objects=objects)
