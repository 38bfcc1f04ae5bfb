"""The roles of a workspace: the built-in ones and those its admins define as data.

A custom role is stored as its document (see :mod:`tessera.platform.permissions`),
validated by the published ``platform/schemas/role.schema.json`` and against the data
model (the objects and fields it names must exist). Users and API keys name their role.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection, Engine

from tessera.metadata.model import MetadataState
from tessera.metadata.store import committed_state
from tessera.platform.audit import record_admin_event
from tessera.platform.database import write_transaction
from tessera.platform.errors import NotFound, Problem, TesseraError
from tessera.platform.permissions import (
    BUILTIN_ROLES,
    CAPABILITIES,
    FIELD_ACCESS,
    NOBODY,
    OPERATIONS,
    RECORD_ACCESS,
    ROLE_NAME_PATTERN,
    Access,
    Role,
    role_from_document,
)
from tessera.platform.tables import api_keys, roles, users
from tessera.platform.workspaces import Workspace, get_workspace

SCHEMA_PATH = Path(__file__).parent / "schemas" / "role.schema.json"
SCHEMA_ID = "https://tessera.dev/schemas/role.schema.json"


def role_schema() -> dict[str, Any]:
    grant = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "operations": {
                "type": "array",
                "items": {"enum": list(OPERATIONS)},
                "uniqueItems": True,
                "description": "What the role may do with the object's records.",
            },
            "access": {
                "enum": list(RECORD_ACCESS),
                "default": "all",
                "description": "Whose records: the actor's own, its team's, or all.",
            },
            "fields": {
                "type": "object",
                "additionalProperties": {"enum": list(FIELD_ACCESS)},
                "description": "Field api name → none, read or edit (fields not listed: edit).",
            },
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Tessera role",
        "description": "What the users and API keys holding this role may do.",
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "pattern": ROLE_NAME_PATTERN},
            "description": {"type": "string", "maxLength": 500},
            "capabilities": {
                "type": "array",
                "items": {"enum": list(CAPABILITIES)},
                "uniqueItems": True,
                "description": "Admin capabilities beyond records.",
            },
            "objects": {
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/grant"},
                "description": "Grants by object api name.",
            },
            "other_objects": {
                "$ref": "#/$defs/grant",
                "description": "The grant of every object not listed (none when absent).",
            },
            "query_limits": {
                "type": "object",
                "additionalProperties": False,
                "description": "The record API's limits for this role instead of the server's.",
                "properties": {
                    name: {"type": "integer", "minimum": 1}
                    for name in ("max_depth", "max_aliases", "max_cost")
                },
            },
        },
        "$defs": {"grant": grant},
    }


def load_role_document(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TesseraError.single("INVALID_DOCUMENT", f"Not valid YAML or JSON: {exc}") from None


@cache
def role_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(role_schema())


def role_problems(document: Any, state: MetadataState) -> list[Problem]:
    """Everything wrong with a role document: its shape, then the objects and fields it names."""
    validator = role_validator()
    problems = [
        Problem("INVALID_ROLE", error.message, tuple(error.absolute_path))
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if problems or not isinstance(document, Mapping):
        return problems or [Problem("INVALID_ROLE", "A role is an object.", ())]
    if document["name"] in BUILTIN_ROLES:
        problems.append(
            Problem(
                "ROLE_BUILT_IN", f"'{document['name']}' is a built-in role; choose another name.", ("name",)
            )
        )
    for object_name, grant in (document.get("objects") or {}).items():
        obj = state.object_named(object_name)
        if obj is None:
            problems.append(
                Problem("UNKNOWN_OBJECT", f"There is no object '{object_name}'.", ("objects", object_name))
            )
            continue
        for field_name in grant.get("fields") or {}:
            if obj.field_named(field_name) is None and field_name != "owner":
                problems.append(
                    Problem(
                        "UNKNOWN_FIELD",
                        f"Object '{object_name}' has no field '{field_name}'.",
                        ("objects", object_name, "fields", field_name),
                    )
                )
    return problems


def role_named(conn: Connection, workspace_id: uuid.UUID, name: str) -> Role | None:
    builtin = BUILTIN_ROLES.get(name)
    if builtin is not None:
        return builtin
    document = conn.execute(
        sa.select(roles.c.document).where(roles.c.workspace_id == workspace_id, roles.c.name == name)
    ).scalar_one_or_none()
    return None if document is None else role_from_document(document)


def require_role(conn: Connection, workspace_id: uuid.UUID, name: str) -> Role:
    role = role_named(conn, workspace_id, name)
    if role is None:
        names = [
            *BUILTIN_ROLES,
            *conn.execute(
                sa.select(roles.c.name).where(roles.c.workspace_id == workspace_id).order_by(roles.c.name)
            ).scalars(),
        ]
        raise TesseraError.single(
            "UNKNOWN_ROLE", f"There is no role '{name}'; the roles are {', '.join(names)}.", ("role",)
        )
    return role


def team_of(conn: Connection, workspace_id: uuid.UUID, team: str | None) -> frozenset[uuid.UUID]:
    """The active users of a team."""
    if not team:
        return frozenset()
    return frozenset(
        conn.execute(
            sa.select(users.c.id).where(
                users.c.workspace_id == workspace_id, users.c.team == team, users.c.active.is_(True)
            )
        ).scalars()
    )


def access_of(conn: Connection, workspace_id: uuid.UUID, actor: uuid.UUID | None) -> Access:
    """The access of an actor (a user or an API key) of the workspace. An actor that is
    unknown, disabled, revoked or whose role is gone may do nothing."""
    if actor is None:
        return Access(BUILTIN_ROLES["admin"])
    user = conn.execute(
        sa.select(users.c.role, users.c.team, users.c.active).where(
            users.c.workspace_id == workspace_id, users.c.id == actor
        )
    ).first()
    if user is not None:
        role = role_named(conn, workspace_id, user.role) if user.active else None
        return access_for(conn, workspace_id, role, actor, user.team)
    key = conn.execute(
        sa.select(api_keys.c.role, api_keys.c.revoked_at).where(
            api_keys.c.workspace_id == workspace_id, api_keys.c.id == actor
        )
    ).first()
    role = role_named(conn, workspace_id, key.role) if key is not None and key.revoked_at is None else None
    return access_for(conn, workspace_id, role, actor, None)


def access_for(
    conn: Connection, workspace_id: uuid.UUID, role: Role | None, actor: uuid.UUID, team: str | None
) -> Access:
    role = role or NOBODY
    needs_team = any(g.access == "team" for g in (*role.objects.values(), role.other_objects))
    return Access(role, actor, team_of(conn, workspace_id, team) if needs_team else frozenset())


class RoleStore:
    """Custom roles: saved as documents, listed, deleted when nobody holds them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def roles(self, workspace: str) -> list[Role]:
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            documents = conn.execute(
                sa.select(roles.c.document).where(roles.c.workspace_id == ws.id).order_by(roles.c.name)
            ).scalars()
            return [*BUILTIN_ROLES.values(), *(role_from_document(d) for d in documents)]

    def role(self, workspace: str, name: str) -> Role:
        with self.engine.connect() as conn:
            return require_role(conn, get_workspace(conn, workspace).id, name)

    def save(self, workspace: str, document: Any, *, actor: str = "system") -> Role:
        """Create the role, or replace the role of that name."""
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            return save_role(conn, ws, committed_state(conn, ws), document, actor=actor)

    def delete(self, workspace: str, name: str, *, actor: str = "system") -> None:
        with write_transaction(self.engine) as conn:
            delete_role(conn, get_workspace(conn, workspace), name, actor=actor)


def save_role(conn: Connection, ws: Workspace, state: MetadataState, document: Any, *, actor: str) -> Role:
    """:meth:`RoleStore.save` in the caller's transaction, on the data model ``state``."""
    problems = role_problems(document, state)
    if problems:
        raise TesseraError(problems)
    role = role_from_document(document)
    before = role_named(conn, ws.id, role.name)
    values = {
        "document": role.as_document(),
        "updated_at": dt.datetime.now(dt.UTC),
        "updated_by": actor,
    }
    changed = conn.execute(
        sa.update(roles).where(roles.c.workspace_id == ws.id, roles.c.name == role.name).values(**values)
    )
    if not changed.rowcount:
        conn.execute(sa.insert(roles).values(id=uuid.uuid4(), workspace_id=ws.id, name=role.name, **values))
    record_admin_event(
        conn,
        ws.id,
        "role_saved",
        role.name,
        actor,
        before=before and before.as_document(),
        after=role.as_document(),
    )
    return role


def delete_role(conn: Connection, ws: Workspace, name: str, *, actor: str) -> None:
    """:meth:`RoleStore.delete` in the caller's transaction."""
    if name in BUILTIN_ROLES:
        raise TesseraError.single("ROLE_BUILT_IN", f"'{name}' is a built-in role; it stays.", ("name",))
    holders = [
        *conn.execute(
            sa.select(users.c.email).where(users.c.workspace_id == ws.id, users.c.role == name)
        ).scalars(),
        *(
            f"key:{n}"
            for n in conn.execute(
                sa.select(api_keys.c.name).where(
                    api_keys.c.workspace_id == ws.id,
                    api_keys.c.role == name,
                    api_keys.c.revoked_at.is_(None),
                )
            ).scalars()
        ),
    ]
    if holders:
        raise TesseraError.single(
            "ROLE_IN_USE",
            f"Role '{name}' is held by {', '.join(sorted(holders))}; give them another role first.",
            ("name",),
        )
    before = role_named(conn, ws.id, name)
    if before is None:
        raise NotFound.single("UNKNOWN_ROLE", f"There is no custom role '{name}'.", ("name",))
    conn.execute(sa.delete(roles).where(roles.c.workspace_id == ws.id, roles.c.name == name))
    record_admin_event(conn, ws.id, "role_deleted", name, actor, before=before.as_document())
