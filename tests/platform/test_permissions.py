"""Roles through the one write path: which records each actor reaches, which operations and
fields its role allows, and that a refused write leaves nothing behind (both databases).

The world of these tests (also used by ``tests/schema/test_record_permissions.py``): a
``company`` (name) and a ``deal`` (name, amount, margin, company lookup), and five users:

========  =========  =====  ==========================================
actor     role       team   deals it reaches
========  =========  =====  ==========================================
admin     admin      —      D1, D2, D3 (owns D2)
owner     sales      east   D1 (owns it)
teammate  sales      east   D1 (its team's)
outsider  sales      west   D3 (owns it)
viewer    viewer     —      D1, D2, D3 (reads only)
========  =========  =====  ==========================================

``sales`` reads, creates, updates, deletes and restores (never destroys) its team's deals,
may not read ``margin`` and only reads ``amount``; it reads every company and changes none.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.metadata import changes
from tessera.metadata.store import MetadataStore
from tessera.platform.errors import TesseraError
from tessera.platform.identity import IdentityService
from tessera.platform.permissions import (
    BUILTIN_ROLES,
    NOBODY,
    Access,
    filter_problems,
    visible_state,
)
from tessera.platform.records import RecordService
from tessera.platform.roles import RoleStore, access_of
from tessera.platform.tables import record_events, workspaces
from tessera.platform.workspaces import get_workspace

SALES: dict[str, Any] = {
    "name": "sales",
    "description": "Sales reps work their team's deals",
    "objects": {
        "deal": {
            "operations": ["read", "create", "update", "delete", "restore"],
            "access": "team",
            "fields": {"margin": "none", "amount": "read"},
        },
        "company": {"operations": ["read"], "access": "all"},
    },
}
#: reads every deal, and nothing of companies
DEALS_ONLY: dict[str, Any] = {"name": "deals_only", "objects": {"deal": {"operations": ["read"]}}}
#: its own deals and its own companies
SOLO: dict[str, Any] = {
    "name": "solo",
    "objects": {
        "deal": {"operations": ["read", "create", "update"], "access": "own"},
        "company": {"operations": ["read"], "access": "own"},
    },
}
PASSWORD = "a long password"


@dataclass
class World:
    workspace: str
    #: user ids by actor name (admin, owner, teammate, outsider, viewer)
    actors: dict[str, uuid.UUID]
    #: ids by name: Acme, Globex
    companies: dict[str, uuid.UUID]
    #: ids by name: D1 (owner's), D2 (admin's), D3 (outsider's)
    deals: dict[str, uuid.UUID]

    def user(self, engine: Engine, role: str, team: str | None = None) -> uuid.UUID:
        """One more user of the world's workspace."""
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        return IdentityService(engine).create_user(self.workspace, email, PASSWORD, role=role, team=team).id


def build_model(engine: Engine, workspace: str) -> None:
    """``company`` (name) ← ``deal`` (name, amount, margin, company)."""
    store = MetadataStore(engine)
    store.apply(
        workspace,
        changes.create_object(
            {
                "api_name": "company",
                "label_plural": "Companies",
                "fields": [{"api_name": "name", "type": "text", "required": True, "unique": True}],
            }
        ),
    )
    decimal = {"precision": 12, "scale": 2}
    store.apply(
        workspace,
        changes.create_object(
            {
                "api_name": "deal",
                "fields": [
                    {"api_name": "name", "type": "text", "required": True},
                    {"api_name": "amount", "type": "decimal", "options": decimal},
                    {"api_name": "margin", "type": "decimal", "options": decimal},
                    {"api_name": "company", "type": "lookup", "options": {"target_object": "company"}},
                ],
            }
        ),
    )


def build_world(engine: Engine, workspace: str) -> World:
    """The model, the roles, the users and three deals (written by Tessera itself)."""
    build_model(engine, workspace)
    roles = RoleStore(engine)
    for document in (SALES, DEALS_ONLY, SOLO):
        roles.save(workspace, document)
    world = World(workspace, {}, {}, {})
    for name, role, team in (
        ("admin", "admin", None),
        ("owner", "sales", "east"),
        ("teammate", "sales", "east"),
        ("outsider", "sales", "west"),
        ("viewer", "viewer", None),
    ):
        world.actors[name] = world.user(engine, role, team)
    records = RecordService(engine)
    for company in ("Acme", "Globex"):
        world.companies[company] = records.create(workspace, "company", {"name": company})["id"]
    for name, owner, company, amount in (
        ("D1", "owner", "Acme", "100"),
        ("D2", "admin", "Acme", "200"),
        ("D3", "outsider", "Globex", "300"),
    ):
        values = {
            "name": name,
            "amount": amount,
            "margin": str(int(amount) // 10),
            "company": str(world.companies[company]),
            "owner": str(world.actors[owner]),
        }
        world.deals[name] = records.create(workspace, "deal", values)["id"]
    return world


@pytest.fixture
def world(engine: Engine, workspace: str) -> World:
    return build_world(engine, workspace)


def events(engine: Engine, workspace: str) -> int:
    """How many record events the workspace has: every write adds at least one."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(record_events.join(workspaces, workspaces.c.id == record_events.c.workspace_id))
                .where(workspaces.c.slug == workspace)
            ).scalar_one()
        )


def snapshot(engine: Engine, workspace: str) -> tuple[Any, ...]:
    """What a write changes: the live deals, the companies, the events (every write adds one)."""
    records = RecordService(engine)
    deals = records.find(workspace, "deal", None)
    return (
        sorted(
            (d["name"], d["amount"], d["margin"], d["owner"], d["deleted_at"], d["updated_at"]) for d in deals
        ),
        sorted(c["name"] for c in records.find(workspace, "company", None)),
        events(engine, workspace),
    )


def refusal(write: Callable[[], Any]) -> TesseraError:
    with pytest.raises(TesseraError) as caught:
        write()
    return caught.value


def names(found: list[dict[str, Any]]) -> list[str]:
    return sorted(r["name"] for r in found)


# -- roles and accesses ------------------------------------------------------------------------
def test_built_in_roles():
    admin, member, viewer = (BUILTIN_ROLES[n] for n in ("admin", "member", "viewer"))
    assert admin.unrestricted and admin.administer
    assert member.unrestricted and not member.administer and not member.capabilities
    assert not viewer.unrestricted and not viewer.write_records
    assert viewer.may("anything", "read") and not viewer.may("anything", "create")
    assert NOBODY.grant("deal").operations == frozenset()


def test_a_saved_role_reads_back_as_its_document(engine: Engine, workspace: str, world: World):
    role = RoleStore(engine).role(workspace, "sales")
    assert role.may("deal", "restore") and not role.may("deal", "destroy")
    assert [role.field_access("deal", f) for f in ("name", "amount", "margin")] == ["edit", "read", "none"]
    assert role.may("company", "read") and not role.may("company", "update")
    assert not role.may("contact", "read")  # no other_objects: nothing else
    assert role.write_records and not role.unrestricted and not role.administer


@pytest.mark.parametrize(
    ("document", "code", "path"),
    [
        ({"name": "admin"}, "ROLE_BUILT_IN", ("name",)),
        ({"name": "x", "objects": {"ghost": {}}}, "UNKNOWN_OBJECT", ("objects", "ghost")),
        (
            {"name": "x", "objects": {"deal": {"fields": {"ghost": "none"}}}},
            "UNKNOWN_FIELD",
            ("objects", "deal", "fields", "ghost"),
        ),
        (
            {"name": "x", "objects": {"deal": {"access": "mine"}}},
            "INVALID_ROLE",
            ("objects", "deal", "access"),
        ),
        (
            {"name": "x", "objects": {"deal": {"operations": ["fly"]}}},
            "INVALID_ROLE",
            ("objects", "deal", "operations", 0),
        ),
    ],
)
def test_bad_roles_are_refused(engine: Engine, workspace: str, document, code, path):
    build_model(engine, workspace)
    error = refusal(lambda: RoleStore(engine).save(workspace, document))
    assert (error.code, error.path) == (code, path)


def test_access_of_a_user_holds_its_role_and_its_team(engine: Engine, workspace: str, world: World):
    a = world.actors
    with engine.connect() as conn:
        ws_id = get_workspace(conn, workspace).id
        owner, outsider, viewer = (access_of(conn, ws_id, a[n]) for n in ("owner", "outsider", "viewer"))
        stranger = access_of(conn, ws_id, uuid.uuid4())
        tessera = access_of(conn, ws_id, None)
    assert owner.role.name == "sales" and owner.team == {a["owner"], a["teammate"]}
    assert outsider.team == {a["outsider"]}
    assert owner.owners("deal") == {a["owner"], a["teammate"]} and owner.owners("company") is None
    assert viewer.owners("deal") is None and viewer.team == frozenset()  # no team access: not read
    assert stranger.role is NOBODY and tessera.unrestricted
    assert owner.reaches("deal", a["teammate"]) and not owner.reaches("deal", a["outsider"])
    assert not owner.reaches("deal", None)  # a record nobody owns is nobody's team's


def test_a_disabled_user_and_a_revoked_key_may_do_nothing(engine: Engine, workspace: str, world: World):
    identity = IdentityService(engine)
    gone = identity.create_user(workspace, "gone@example.com", PASSWORD, role="admin")
    identity.set_active(workspace, "gone@example.com", False)
    _, key = identity.create_api_key(workspace, "revoked", role="admin")
    identity.revoke_api_key(workspace, key.id)
    records = RecordService(engine)
    before = snapshot(engine, workspace)
    for actor in (gone.id, key.id, uuid.uuid4()):
        error = refusal(lambda actor=actor: records.create(workspace, "deal", {"name": "x"}, actor=actor))
        assert error.code == "FORBIDDEN" and "nobody" in str(error)
        assert (
            refusal(lambda actor=actor: records.find(workspace, "deal", None, actor=actor)).code
            == "FORBIDDEN"
        )
    assert snapshot(engine, workspace) == before


def test_visible_state_drops_what_a_role_may_not_read(engine: Engine, workspace: str, world: World):
    state = MetadataStore(engine).state(workspace)
    roles = RoleStore(engine)

    def seen(role_name: str) -> dict[str, list[str]]:
        visible = visible_state(state, roles.role(workspace, role_name))
        return {o.api_name: [f.api_name for f in o.fields] for o in visible.objects}

    assert seen("admin") == {"company": ["name"], "deal": ["name", "amount", "margin", "company"]}
    assert seen("sales") == {"company": ["name"], "deal": ["name", "amount", "company"]}
    # no read on company: the object goes, and the lookup to it (so its reverse relation)
    assert seen("deals_only") == {"deal": ["name", "amount", "margin"]}


def test_filter_problems_name_every_hidden_field(engine: Engine, workspace: str, world: World):
    state = MetadataStore(engine).state(workspace)
    sales = Access(RoleStore(engine).role(workspace, "sales"))
    deal, company = state.object_named("deal"), state.object_named("company")
    assert deal is not None and company is not None
    found = filter_problems(
        sales,
        state,
        deal,
        {"or": [{"margin": {"gt": 1}}, {"not": {"margin": {"isNull": True}}}], "amount": {}},
    )
    assert [(p.code, p.path) for p in found] == [
        ("FORBIDDEN", ("filter", "or", 0, "margin")),
        ("FORBIDDEN", ("filter", "or", 1, "not", "margin")),
    ]
    through = filter_problems(sales, state, company, {"deals": {"some": {"margin": {"gt": 1}}}})
    assert [(p.code, p.path) for p in through] == [("FORBIDDEN", ("filter", "deals", "some", "margin"))]
    assert filter_problems(Access(BUILTIN_ROLES["admin"]), state, deal, {"margin": {"gt": 1}}) == []


# -- reads through the service ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        ("admin", ["D1", "D2", "D3"]),
        ("owner", ["D1"]),
        ("teammate", ["D1"]),
        ("outsider", ["D3"]),
        ("viewer", ["D1", "D2", "D3"]),
    ],
)
def test_find_get_and_ids_reach_the_actors_records(
    records: RecordService, world: World, actor: str, sees: list[str]
):
    who = world.actors[actor]
    assert names(records.find(world.workspace, "deal", None, actor=who)) == sees
    reached = {
        name
        for name, i in world.deals.items()
        if records.get(world.workspace, "deal", i, actor=who) is not None
    }
    assert sorted(reached) == sees
    ids = records.ids_matching(world.workspace, "deal", None, actor=who)
    assert sorted(ids) == sorted(world.deals[n] for n in sees)
    # companies: access all for every one of them
    assert names(records.find(world.workspace, "company", None, actor=who)) == ["Acme", "Globex"]


def test_filters_through_relations_see_only_reachable_records(records: RecordService, world: World):
    by_deal = {"deals": {"some": {"name": {"eq": "D3"}}}}
    assert names(records.find(world.workspace, "company", by_deal, actor=world.actors["admin"])) == ["Globex"]
    assert names(records.find(world.workspace, "company", by_deal, actor=world.actors["owner"])) == []
    without = {"deals": {"none": {}}}
    assert names(records.find(world.workspace, "company", without, actor=world.actors["outsider"])) == [
        "Acme"
    ]


@pytest.mark.parametrize(
    ("object_name", "filter_doc", "path"),
    [
        ("deal", {"margin": {"gt": 0}}, ("filter", "margin")),
        (
            "deal",
            {"and": [{"name": {"eq": "D1"}}, {"margin": {"isNull": False}}]},
            ("filter", "and", 1, "margin"),
        ),
        ("company", {"deals": {"some": {"margin": {"gt": 0}}}}, ("filter", "deals", "some", "margin")),
    ],
)
def test_a_filter_on_a_hidden_field_is_forbidden(
    records: RecordService, world: World, object_name: str, filter_doc: dict[str, Any], path: tuple[Any, ...]
):
    owner = world.actors["owner"]
    for read in (records.find, records.ids_matching):
        error = refusal(lambda read=read: read(world.workspace, object_name, filter_doc, actor=owner))
        assert (error.code, error.path) == ("FORBIDDEN", path)
    # the admin may filter on it
    assert records.find(world.workspace, object_name, filter_doc, actor=world.actors["admin"]) is not None


def test_a_role_without_read_reads_nothing(engine: Engine, records: RecordService, world: World):
    deals_only = world.user(engine, "deals_only")
    assert names(records.find(world.workspace, "deal", None, actor=deals_only)) == ["D1", "D2", "D3"]
    error = refusal(lambda: records.find(world.workspace, "company", None, actor=deals_only))
    assert (error.code, error.path) == ("FORBIDDEN", ("object",))
    error = refusal(
        lambda: records.get(world.workspace, "company", world.companies["Acme"], actor=deals_only)
    )
    assert error.code == "FORBIDDEN"


# -- writes: operations -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("actor", "allowed"),
    [("admin", True), ("owner", True), ("teammate", True), ("outsider", True), ("viewer", False)],
)
def test_create_deal(engine: Engine, records: RecordService, world: World, actor: str, allowed: bool):
    who = world.actors[actor]
    if allowed:
        made = records.create(world.workspace, "deal", {"name": "new"}, actor=who)
        assert made["owner"] == who and made["created_by"] == who
        assert records.get(world.workspace, "deal", made["id"], actor=who) is not None
        return
    before = snapshot(engine, world.workspace)
    error = refusal(lambda: records.create(world.workspace, "deal", {"name": "new"}, actor=who))
    assert (error.code, error.path) == ("FORBIDDEN", ())
    assert "viewer" in str(error) and "create deal" in str(error)
    assert snapshot(engine, world.workspace) == before


@pytest.mark.parametrize("actor", ["owner", "outsider", "viewer"])
def test_only_the_admin_writes_companies(engine: Engine, records: RecordService, world: World, actor: str):
    who, acme = world.actors[actor], world.companies["Acme"]
    before = snapshot(engine, world.workspace)
    for write in (
        lambda: records.create(world.workspace, "company", {"name": "New"}, actor=who),
        lambda: records.create_many(world.workspace, "company", [{"name": "New"}], actor=who),
        lambda: records.update(world.workspace, "company", acme, {"name": "Renamed"}, actor=who),
        lambda: records.update_many(world.workspace, "company", None, {"name": "Renamed"}, actor=who),
        lambda: records.delete(world.workspace, "company", acme, actor=who),
        lambda: records.destroy(world.workspace, "company", acme, actor=who),
    ):
        assert refusal(write).code == "FORBIDDEN"
    assert snapshot(engine, world.workspace) == before
    records.update(world.workspace, "company", acme, {"name": "Renamed"}, actor=world.actors["admin"])


@pytest.mark.parametrize(
    ("actor", "deal", "outcome"),
    [
        ("admin", "D3", "ok"),
        ("owner", "D1", "ok"),
        ("teammate", "D1", "ok"),  # its team's record
        ("teammate", "D2", "RECORD_NOT_FOUND"),
        ("outsider", "D1", "RECORD_NOT_FOUND"),  # as if it did not exist
        ("owner", "D3", "RECORD_NOT_FOUND"),
        ("viewer", "D1", "FORBIDDEN"),
    ],
)
def test_update_delete_and_restore(
    engine: Engine, records: RecordService, world: World, actor: str, deal: str, outcome: str
):
    who, record_id, ws = world.actors[actor], world.deals[deal], world.workspace
    if outcome == "ok":
        assert records.update(ws, "deal", record_id, {"name": "renamed"}, actor=who)["updated_by"] == who
        assert records.delete(ws, "deal", record_id, actor=who)["deleted_at"] is not None
        assert records.restore(ws, "deal", record_id, actor=who)["deleted_at"] is None
        return
    before = snapshot(engine, ws)
    for write in (
        lambda: records.update(ws, "deal", record_id, {"name": "renamed"}, actor=who),
        lambda: records.delete(ws, "deal", record_id, actor=who),
    ):
        error = refusal(write)
        assert (error.code, error.path) == (outcome, () if outcome == "FORBIDDEN" else ("id",))
    assert snapshot(engine, ws) == before
    records.delete(ws, "deal", record_id)  # Tessera puts it in the recycle bin
    in_bin = snapshot(engine, ws)
    error = refusal(lambda: records.restore(ws, "deal", record_id, actor=who))
    assert error.code == outcome
    assert snapshot(engine, ws) == in_bin


@pytest.mark.parametrize(("actor", "allowed"), [("admin", True), ("owner", False), ("viewer", False)])
def test_destroy_needs_the_destroy_operation(
    engine: Engine, records: RecordService, world: World, actor: str, allowed: bool
):
    who, d1 = world.actors[actor], world.deals["D1"]
    if allowed:
        assert records.destroy(world.workspace, "deal", d1, actor=who) == d1
        assert records.get(world.workspace, "deal", d1, include_deleted=True) is None
        return
    before = snapshot(engine, world.workspace)
    error = refusal(lambda: records.destroy(world.workspace, "deal", d1, actor=who))
    assert (error.code, error.path) == ("FORBIDDEN", ())
    assert "destroy deal" in str(error)
    assert snapshot(engine, world.workspace) == before


@pytest.mark.parametrize(
    ("actor", "changed"),
    [
        ("admin", ["D1", "D2", "D3"]),
        ("owner", ["D1"]),
        ("teammate", ["D1"]),
        ("outsider", ["D3"]),
    ],
)
def test_update_many_changes_only_reachable_records(
    records: RecordService, world: World, actor: str, changed: list[str]
):
    who = world.actors[actor]
    updated = records.update_many(world.workspace, "deal", None, {"name": "bulk"}, actor=who)
    assert sorted(r["id"] for r in updated) == sorted(world.deals[n] for n in changed)
    after = {n: records.get(world.workspace, "deal", i)["name"] for n, i in world.deals.items()}  # type: ignore[index]
    assert after == {n: "bulk" if n in changed else n for n in world.deals}


def test_update_many_refusals_write_nothing(engine: Engine, records: RecordService, world: World):
    owner, ws = world.actors["owner"], world.workspace
    before = snapshot(engine, ws)
    hidden = refusal(
        lambda: records.update_many(ws, "deal", {"margin": {"gt": 0}}, {"name": "x"}, actor=owner)
    )
    assert [(p.code, p.path) for p in hidden.problems] == [("FORBIDDEN", ("filter", "margin"))]
    read_only = refusal(lambda: records.update_many(ws, "deal", None, {"amount": "1"}, actor=owner))
    assert [(p.code, p.path) for p in read_only.problems] == [("FORBIDDEN", ("amount",))]
    viewer = refusal(
        lambda: records.update_many(ws, "deal", None, {"name": "x"}, actor=world.actors["viewer"])
    )
    assert viewer.code == "FORBIDDEN"
    assert snapshot(engine, ws) == before


# -- writes: fields and owners ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"name": "x", "amount": "5"}, ("amount",)),  # read only
        ({"name": "x", "margin": "5"}, ("margin",)),  # hidden
        ({"name": "x", "owner": "outsider"}, ("owner",)),  # an owner out of the team
    ],
)
def test_refused_fields_on_create_and_update(
    engine: Engine, records: RecordService, world: World, values: dict[str, Any], path: tuple[str, ...]
):
    owner, ws = world.actors["owner"], world.workspace
    if values.get("owner") == "outsider":
        values = {**values, "owner": str(world.actors["outsider"])}
    before = snapshot(engine, ws)
    for write in (
        lambda: records.create(ws, "deal", values, actor=owner),
        lambda: records.create_many(ws, "deal", [{"name": "fine"}, values], actor=owner),
        lambda: records.update(ws, "deal", world.deals["D1"], values, actor=owner),
        lambda: records.update_many(ws, "deal", None, values, actor=owner),
    ):
        error = refusal(write)
        assert error.code == "FORBIDDEN"
        assert error.path[-len(path) :] == path
    assert snapshot(engine, ws) == before
    # the admin may write them all
    records.update(ws, "deal", world.deals["D1"], values, actor=world.actors["admin"])


def test_every_refused_field_is_reported_at_once(records: RecordService, world: World):
    error = refusal(
        lambda: records.create(
            world.workspace,
            "deal",
            {"name": "x", "amount": "1", "margin": "1", "owner": str(world.actors["admin"])},
            actor=world.actors["owner"],
        )
    )
    assert sorted((p.code, p.path) for p in error.problems) == [
        ("FORBIDDEN", ("amount",)),
        ("FORBIDDEN", ("margin",)),
        ("FORBIDDEN", ("owner",)),
    ]


def test_records_pass_to_owners_within_reach(records: RecordService, world: World):
    a, ws = world.actors, world.workspace
    made = records.create(
        ws, "deal", {"name": "for my teammate", "owner": str(a["teammate"])}, actor=a["owner"]
    )
    assert made["owner"] == a["teammate"] and made["created_by"] == a["owner"]
    assert records.get(ws, "deal", made["id"], actor=a["owner"]) is not None  # still its team's
    given = records.update(ws, "deal", world.deals["D1"], {"owner": str(a["teammate"])}, actor=a["owner"])
    assert given["owner"] == a["teammate"]
    # the admin gives D1 away to the west: the east no longer reaches it
    records.update(ws, "deal", world.deals["D1"], {"owner": str(a["outsider"])}, actor=a["admin"])
    assert records.get(ws, "deal", world.deals["D1"], actor=a["owner"]) is None
    assert records.get(ws, "deal", world.deals["D1"], actor=a["outsider"]) is not None


def test_a_lookup_to_an_unreachable_record_is_not_found(engine: Engine, records: RecordService, world: World):
    solo, ws = world.user(engine, "solo"), world.workspace
    mine = records.create(ws, "company", {"name": "Mine", "owner": str(solo)})["id"]
    before = snapshot(engine, ws)
    error = refusal(
        lambda: records.create(ws, "deal", {"name": "x", "company": str(world.companies["Acme"])}, actor=solo)
    )
    assert (error.code, error.path) == ("LOOKUP_TARGET_NOT_FOUND", ("company",))
    assert snapshot(engine, ws) == before
    made = records.create(ws, "deal", {"name": "x", "company": str(mine)}, actor=solo)
    error = refusal(
        lambda: records.update(ws, "deal", made["id"], {"company": str(world.companies["Acme"])}, actor=solo)
    )
    assert (error.code, error.path) == ("LOOKUP_TARGET_NOT_FOUND", ("company",))
    # a role that may not read companies links to none
    deals_writer = {"name": "deals_writer", "objects": {"deal": {"operations": ["read", "create"]}}}
    RoleStore(engine).save(ws, deals_writer)
    writer = world.user(engine, "deals_writer")
    error = refusal(
        lambda: records.create(
            ws, "deal", {"name": "x", "company": str(world.companies["Acme"])}, actor=writer
        )
    )
    assert (error.code, error.path) == ("LOOKUP_TARGET_NOT_FOUND", ("company",))


# -- the service bound to an access -------------------------------------------------------------
def test_acting_as_binds_the_access_whatever_the_actor(engine: Engine, records: RecordService, world: World):
    with engine.connect() as conn:
        outsider = access_of(conn, get_workspace(conn, world.workspace).id, world.actors["outsider"])
    bound = records.acting_as(outsider)
    assert names(bound.find(world.workspace, "deal", None)) == ["D3"]
    # the bound access decides, even with another actor named (the actor is only stamped)
    assert names(bound.find(world.workspace, "deal", None, actor=world.actors["admin"])) == ["D3"]
    error = refusal(lambda: bound.update(world.workspace, "deal", world.deals["D1"], {"name": "x"}))
    assert error.code == "RECORD_NOT_FOUND"
    assert names(records.find(world.workspace, "deal", None)) == ["D1", "D2", "D3"]  # unbound: Tessera


def test_a_refused_operation_in_a_writer_leaves_the_others(
    engine: Engine, records: RecordService, world: World
):
    owner, ws = world.actors["owner"], world.workspace
    with records.writer(ws, actor=owner) as w:
        kept = w.create("deal", {"name": "kept"})
        with pytest.raises(TesseraError):
            w.create("deal", {"name": "refused", "margin": "1"})
        with pytest.raises(TesseraError):
            w.update("deal", world.deals["D3"], {"name": "refused"})
    assert names(records.find(ws, "deal", None, actor=owner)) == ["D1", "kept"]
    assert records.get(ws, "deal", kept["id"])["owner"] == owner  # type: ignore[index]
    assert records.get(ws, "deal", world.deals["D3"])["name"] == "D3"  # type: ignore[index]


# -- upserts ------------------------------------------------------------------------------------
@pytest.mark.parametrize("actor", ["owner", "viewer"])
def test_an_upsert_that_creates_needs_the_create_operation(
    engine: Engine, records: RecordService, world: World, actor: str
):
    """Neither role may create companies: an upsert of a new name must not create one."""
    who, ws = world.actors[actor], world.workspace
    before = snapshot(engine, ws)
    error = refusal(lambda: records.upsert(ws, "company", "name", {"name": "New"}, actor=who))
    assert error.code == "FORBIDDEN" and "create company" in str(error)
    assert snapshot(engine, ws) == before


@pytest.mark.parametrize("actor", ["owner", "viewer"])
def test_an_upsert_that_updates_needs_the_update_operation(
    engine: Engine, records: RecordService, world: World, actor: str
):
    who, ws = world.actors[actor], world.workspace
    before = snapshot(engine, ws)
    error = refusal(lambda: records.upsert(ws, "company", "name", {"name": "Acme"}, actor=who))
    assert error.code == "FORBIDDEN" and "update company" in str(error)
    assert snapshot(engine, ws) == before
    record, created = records.upsert(ws, "company", "name", {"name": "Acme"}, actor=world.actors["admin"])
    assert (record["id"], created) == (world.companies["Acme"], False)


# -- owners out of reach: nobody ----------------------------------------------------------------
def test_a_team_role_may_not_give_a_record_to_nobody(engine: Engine, records: RecordService, world: World):
    """No owner is outside every team (``Access.reaches(…, None)`` is false for ``team``):
    emptying the owner would hand the record to no one of the team, as giving it to the
    outsider would."""
    owner, ws = world.actors["owner"], world.workspace
    before = snapshot(engine, ws)
    error = refusal(lambda: records.update(ws, "deal", world.deals["D1"], {"owner": None}, actor=owner))
    assert (error.code, error.path) == ("FORBIDDEN", ("owner",))
    assert snapshot(engine, ws) == before
    assert records.get(ws, "deal", world.deals["D1"], actor=owner) is not None
