"""Roles as data: documents checked against their schema and the data model, stored per
workspace, and resolved into what each actor may do."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tessera.metadata.model import MetadataState
from tessera.platform.errors import TesseraError
from tessera.platform.identity import IdentityService
from tessera.platform.permissions import BUILTIN_ROLES, NOBODY, Access, filter_problems, visible_state
from tessera.platform.records import RecordService
from tessera.platform.roles import RoleStore, access_of, load_role_document
from tessera.platform.workspaces import get_workspace

SALES = """
name: sales
description: Sales reps work their team's deals
capabilities: [manage_workflows]
objects:
  deal:
    operations: [read, create, update]
    access: team
    fields: {margin: none, amount: read}
other_objects:
  operations: [read]
"""


@pytest.fixture
def model(object_factory: Callable[..., Any]) -> None:
    object_factory("company", [{"api_name": "name", "type": "text"}], label_plural="Companies")
    object_factory(
        "deal",
        [
            {"api_name": "name", "type": "text"},
            {"api_name": "amount", "type": "integer"},
            {"api_name": "margin", "type": "integer"},
            {"api_name": "company", "type": "lookup", "options": {"target_object": "company"}},
        ],
    )
    object_factory("secret", [{"api_name": "code", "type": "text"}])


@pytest.fixture
def roles(engine: Engine) -> RoleStore:
    return RoleStore(engine)


def access(engine: Engine, workspace: str, actor: Any) -> Access:
    with engine.connect() as conn:
        return access_of(conn, get_workspace(conn, workspace).id, actor)


def test_a_saved_role_reads_back_as_it_was_written(model: None, roles: RoleStore, workspace: str):
    saved = roles.save(workspace, load_role_document(SALES))
    assert roles.role(workspace, "sales") == saved
    assert saved.may("deal", "update") and not saved.may("deal", "destroy")
    assert saved.may("secret", "read") and not saved.may("secret", "create")
    assert [saved.field_access("deal", f) for f in ("name", "amount", "margin")] == ["edit", "read", "none"]
    assert saved.can("manage_workflows") and not saved.administer and saved.write_records
    assert [r.name for r in roles.roles(workspace)] == ["admin", "member", "viewer", "sales"]
    changed = roles.save(workspace, {"name": "sales", "objects": {"deal": {"operations": ["read"]}}})
    assert roles.role(workspace, "sales") == changed and not changed.write_records


@pytest.mark.parametrize(
    ("document", "code", "path"),
    [
        ({"name": "Sales!"}, "INVALID_ROLE", ("name",)),
        (
            {"name": "x", "objects": {"deal": {"operations": ["fly"]}}},
            "INVALID_ROLE",
            ("objects", "deal", "operations", 0),
        ),
        (
            {"name": "x", "objects": {"deal": {"access": "mine"}}},
            "INVALID_ROLE",
            ("objects", "deal", "access"),
        ),
        ({"name": "x", "capabilities": ["everything"]}, "INVALID_ROLE", ("capabilities", 0)),
        ({"name": "x", "objects": {"ghost": {}}}, "UNKNOWN_OBJECT", ("objects", "ghost")),
        (
            {"name": "x", "objects": {"deal": {"fields": {"ghost": "read"}}}},
            "UNKNOWN_FIELD",
            ("objects", "deal", "fields", "ghost"),
        ),
        ({"name": "admin"}, "ROLE_BUILT_IN", ("name",)),
        ("just text", "INVALID_ROLE", ()),
    ],
)
def test_a_wrong_role_is_refused_with_its_path(
    model: None, roles: RoleStore, workspace: str, document: Any, code: str, path: tuple[Any, ...]
):
    with pytest.raises(TesseraError) as caught:
        roles.save(workspace, document)
    assert (caught.value.code, caught.value.path) == (code, path)
    assert [r.name for r in roles.roles(workspace)] == list(BUILTIN_ROLES)


def test_a_role_held_by_someone_stays_until_they_have_another(
    model: None, roles: RoleStore, engine: Engine, workspace: str
):
    roles.save(workspace, load_role_document(SALES))
    identity = IdentityService(engine)
    identity.create_user(workspace, "ada@example.com", "a long password", role="sales")
    with pytest.raises(TesseraError) as caught:
        roles.delete(workspace, "sales")
    assert caught.value.code == "ROLE_IN_USE" and "ada@example.com" in str(caught.value)
    identity.set_role(workspace, "ada@example.com", "viewer")
    roles.delete(workspace, "sales")
    with pytest.raises(TesseraError) as caught:
        roles.delete(workspace, "sales")
    assert caught.value.code == "UNKNOWN_ROLE"
    with pytest.raises(TesseraError) as caught:
        roles.delete(workspace, "viewer")
    assert caught.value.code == "ROLE_BUILT_IN"


def test_roles_belong_to_their_workspace(
    model: None, roles: RoleStore, engine: Engine, workspace: str, workspace_factory: Callable[..., str]
):
    roles.save(workspace, load_role_document(SALES))
    other = workspace_factory()
    with pytest.raises(TesseraError) as caught:
        IdentityService(engine).create_user(other, "ada@example.com", "a long password", role="sales")
    assert (caught.value.code, caught.value.path) == ("UNKNOWN_ROLE", ("role",))


def test_an_actor_gets_its_role_and_its_team(
    model: None, roles: RoleStore, engine: Engine, workspace: str, user_factory: Callable[..., Any]
):
    roles.save(workspace, load_role_document(SALES))
    ada = user_factory("sales", "east")
    bob = user_factory("member", "east")
    user_factory("member", "west")
    got = access(engine, workspace, ada)
    assert (got.role.name, got.actor, got.team) == ("sales", ada, frozenset({ada, bob}))
    assert got.owners("deal") == {ada, bob} and got.owners("company") is None
    assert access(engine, workspace, None).unrestricted  # Tessera's own work


def test_an_unknown_disabled_or_revoked_actor_may_do_nothing(
    model: None, engine: Engine, workspace: str, workspace_factory: Callable[..., str]
):
    identity = IdentityService(engine)
    identity.create_user(workspace, "ada@example.com", "a long password", role="admin")
    _, key = identity.create_api_key(workspace, "erp", role="admin")
    assert access(engine, workspace, key.id).role == BUILTIN_ROLES["admin"]
    identity.revoke_api_key(workspace, key.id)
    ada = identity.set_active(workspace, "ada@example.com", False).id
    elsewhere = identity.create_user(workspace_factory(), "eve@example.com", "a long password", role="admin")
    for actor in (key.id, ada, elsewhere.id, uuid.UUID(int=7)):
        assert access(engine, workspace, actor).role == NOBODY


def test_a_role_sees_the_objects_and_fields_it_may_read(
    model: None, roles: RoleStore, engine: Engine, workspace: str, state: Callable[[], MetadataState]
):
    role = roles.save(
        workspace,
        {"name": "deals_only", "objects": {"deal": {"operations": ["read"], "fields": {"margin": "none"}}}},
    )
    seen = visible_state(state(), role)
    assert [o.api_name for o in seen.objects] == ["deal"]
    deal = seen.object_named("deal")
    assert deal is not None
    # the lookup to company goes with company; margin is hidden
    assert [f.api_name for f in deal.fields] == ["name", "amount"]
    problems = filter_problems(
        Access(role),
        state(),
        state().object_named("deal"),
        {"or": [{"name": {"eq": "x"}}, {"margin": {"gt": 1}}]},
    )
    assert [(p.code, p.path) for p in problems] == [("FORBIDDEN", ("filter", "or", 1, "margin"))]


def test_writes_in_the_name_of_an_api_key_have_its_role(
    model: None, engine: Engine, workspace: str, records: RecordService
):
    """How connectors write: as their integration's API key."""
    identity = IdentityService(engine)
    _, viewer = identity.create_api_key(workspace, "reporting", role="viewer")
    _, member = identity.create_api_key(workspace, "erp", role="member")
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "company", {"name": "Acme"}, actor=viewer.id)
    assert caught.value.code == "FORBIDDEN"
    made = records.create(workspace, "company", {"name": "Acme"}, actor=member.id)
    assert (made["owner"], made["created_by"]) == (member.id, member.id)
    assert records.ids_matching(workspace, "company", {}) == [made["id"]]
