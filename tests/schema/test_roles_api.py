"""Roles through the metadata API: roles, saveRole, deleteRole; changeLog's filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tessera.metadata import changes
from tessera.metadata.store import MetadataStore
from tessera.platform.identity import IdentityService
from tessera.platform.tables import metadata_changes
from tessera.platform.workspaces import WorkspaceService

SALES = {
    "name": "sales",
    "description": "Sales reps work their team's deals",
    "objects": {
        "deal": {
            "operations": ["read", "create", "update"],
            "access": "team",
            "fields": {"margin": "none", "amount": "read"},
        }
    },
    "other_objects": {"operations": ["read"]},
}
ROLES = "{ roles { name description builtIn document } }"
SAVE = "mutation($d: JSON!) { saveRole(definition: $d) { name description builtIn document } }"
DELETE = "mutation($name: String!) { deleteRole(name: $name) }"


@pytest.fixture
def deals(object_factory: Callable[..., Any]) -> None:
    object_factory(
        "deal",
        [
            {"api_name": "title", "type": "text"},
            {"api_name": "amount", "type": "decimal", "options": {"precision": 12, "scale": 2}},
            {"api_name": "margin", "type": "decimal", "options": {"precision": 5, "scale": 2}},
        ],
    )


def post(client: TestClient, query: str, key: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = client.post(
        "/graphql/metadata", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def data(answer: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in answer, answer["errors"]
    return dict(answer["data"])


def error(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer.get("errors"), answer
    first: dict[str, Any] = answer["errors"][0]
    return first


def test_save_list_and_delete_a_role(deals: None, client: TestClient):
    builtin = data(post(client, ROLES))["roles"]
    assert [(r["name"], r["builtIn"]) for r in builtin] == [
        ("admin", True),
        ("member", True),
        ("viewer", True),
    ]
    assert "manage_users" in builtin[0]["document"]["capabilities"]

    saved = data(post(client, SAVE, d=SALES))["saveRole"]
    assert (saved["name"], saved["description"], saved["builtIn"]) == (
        "sales",
        "Sales reps work their team's deals",
        False,
    )
    deal = saved["document"]["objects"]["deal"]
    assert deal == {
        "operations": ["read", "create", "update"],
        "access": "team",
        "fields": {"amount": "read", "margin": "none"},
    }
    assert saved["document"]["other_objects"] == {"operations": ["read"], "access": "all"}
    listed = data(post(client, ROLES))["roles"]
    assert [r["name"] for r in listed] == ["admin", "member", "viewer", "sales"]
    assert listed[3]["document"] == saved["document"]

    # saving again replaces the role of that name
    changed = {**SALES, "description": "Sales reps", "objects": {"deal": {"operations": ["read"]}}}
    replaced = data(post(client, SAVE, d=changed))["saveRole"]
    assert replaced["document"]["objects"] == {"deal": {"operations": ["read"], "access": "all"}}
    assert [r["description"] for r in data(post(client, ROLES))["roles"] if r["name"] == "sales"] == [
        "Sales reps"
    ]

    assert data(post(client, DELETE, name="sales")) == {"deleteRole": True}
    assert [r["name"] for r in data(post(client, ROLES))["roles"]] == ["admin", "member", "viewer"]
    gone = error(post(client, DELETE, name="sales"))
    assert (gone["extensions"]["code"], gone["extensions"]["inputPath"]) == ("UNKNOWN_ROLE", ["name"])


def test_an_invalid_document_is_refused_with_the_path_of_each_problem(deals: None, client: TestClient):
    bad_access = {**SALES, "objects": {"deal": {"operations": ["read"], "access": "mine"}}}
    refused = error(post(client, SAVE, d=bad_access))
    assert refused["extensions"]["code"] == "INVALID_ROLE"
    # the path starts at the argument and keeps the document's keys (api names) as written
    assert refused["extensions"]["inputPath"] == ["definition", "objects", "deal", "access"]

    unknown = {
        **SALES,
        "objects": {
            "deal": {"operations": ["read"], "fields": {"margn": "none"}},
            "ghost_object": {"operations": ["read"]},
        },
    }
    problems = error(post(client, SAVE, d=unknown))["extensions"]["problems"]
    assert {(p["code"], tuple(p["inputPath"])) for p in problems} == {
        ("UNKNOWN_FIELD", ("definition", "objects", "deal", "fields", "margn")),
        ("UNKNOWN_OBJECT", ("definition", "objects", "ghost_object")),
    }

    shape = error(post(client, SAVE, d={"name": "Sales Team", "other_objects": {"operations": ["fly"]}}))
    assert shape["extensions"]["code"] == "INVALID_ROLE"
    assert {tuple(p["inputPath"]) for p in shape["extensions"]["problems"]} == {
        ("definition", "name"),
        ("definition", "other_objects", "operations", 0),
    }
    assert error(post(client, SAVE, d=["sales"]))["extensions"]["inputPath"] == ["definition"]

    builtin = error(post(client, SAVE, d={"name": "viewer"}))
    assert (builtin["extensions"]["code"], builtin["extensions"]["inputPath"]) == (
        "ROLE_BUILT_IN",
        ["definition", "name"],
    )
    kept = error(post(client, DELETE, name="admin"))
    assert kept["extensions"]["code"] == "ROLE_BUILT_IN"
    assert [r["name"] for r in data(post(client, ROLES))["roles"]] == ["admin", "member", "viewer"]


def test_only_roles_with_manage_users_change_roles(
    deals: None, client: TestClient, api_key_factory: Callable[..., str]
):
    member = api_key_factory(role="member", name="member key")
    refused = error(post(client, SAVE, member, d=SALES))
    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert "manage users and roles" in refused["message"]
    assert [r["name"] for r in data(post(client, ROLES, member))["roles"]] == ["admin", "member", "viewer"]

    data(post(client, SAVE, d=SALES))
    assert error(post(client, DELETE, member, name="sales"))["extensions"]["code"] == "FORBIDDEN"
    # everyone authenticated reads the roles
    viewer = api_key_factory(role="viewer", name="viewer key")
    assert "sales" in [r["name"] for r in data(post(client, ROLES, viewer))["roles"]]

    # a custom role with manage_users may (roles allowing no more than its own)
    people_admin = {
        "name": "people_admin",
        "capabilities": ["manage_users"],
        "other_objects": {"operations": ["read", "create", "update", "delete", "restore", "destroy"]},
    }
    data(post(client, SAVE, d=people_admin))
    people = api_key_factory(role="people_admin", name="people key")
    saved = data(post(client, SAVE, people, d={**SALES, "description": "changed"}))["saveRole"]
    assert saved["description"] == "changed"


def test_a_role_someone_holds_is_not_deleted(
    deals: None,
    client: TestClient,
    engine: Engine,
    workspace: str,
    user_factory: Callable[..., Any],
    api_key_factory: Callable[..., str],
):
    data(post(client, SAVE, d=SALES))
    user_factory(role="sales", team="east")
    api_key_factory(role="sales", name="crm sync")
    in_use = error(post(client, DELETE, name="sales"))
    assert (in_use["extensions"]["code"], in_use["extensions"]["inputPath"]) == ("ROLE_IN_USE", ["name"])
    assert "user1@example.com" in in_use["message"] and "key:crm sync" in in_use["message"]

    identity = IdentityService(engine)
    identity.set_role(workspace, "user1@example.com", "member")
    (key,) = [k for k in identity.api_keys(workspace) if k.name == "crm sync"]
    identity.revoke_api_key(workspace, key.id)
    assert data(post(client, DELETE, name="sales")) == {"deleteRole": True}


CHANGE_LOG = """query($actor: String, $after: DateTime, $before: DateTime) {
  changeLog(actor: $actor, changedAfter: $after, changedBefore: $before) { version actor createdAt }
}"""


def test_the_change_log_filters_by_actor_and_time(
    client: TestClient, engine: Engine, store: MetadataStore, workspace: str
):
    create = 'mutation { createObject(input: {apiName: "%s"}) { version } }'
    data(post(client, create % "company"))  # v1, by the test client's key
    store.apply(workspace, changes.create_object({"api_name": "deal"}), actor="cli")  # v2
    data(post(client, create % "task"))  # v3
    ws = WorkspaceService(engine).get(workspace)
    with engine.begin() as conn:
        for version, month in ((1, 1), (2, 2), (3, 3)):
            conn.execute(
                sa.update(metadata_changes)
                .where(metadata_changes.c.workspace_id == ws.id, metadata_changes.c.version == version)
                .values(created_at=dt.datetime(2026, month, 1, 12, tzinfo=dt.UTC))
            )

    def versions(**variables: Any) -> list[int]:
        return [e["version"] for e in data(post(client, CHANGE_LOG, **variables))["changeLog"]]

    assert versions() == [3, 2, 1]
    assert versions(actor="key:tests") == [3, 1]
    assert versions(actor="cli") == [2]
    assert versions(actor="nobody@example.com") == []
    assert versions(after="2026-02-01T12:00:00Z") == [3, 2]  # at or after
    assert versions(before="2026-02-01T12:00:00Z") == [1]  # strictly before
    assert versions(after="2026-01-15T00:00:00+00:00", before="2026-03-01T00:00:00+00:00") == [2]
    assert versions(actor="key:tests", after="2026-01-15T00:00:00Z") == [3]
    assert versions(before="2026-02-01T13:00:00+02:00") == [1]  # offsets count
    assert versions(after="2026-02-01T12:00:00") == [3, 2]  # no offset: UTC
    first = data(post(client, CHANGE_LOG))["changeLog"][-1]
    assert first["actor"] == "key:tests" and first["createdAt"].startswith("2026-01-01T12:00:00")

    # the store's own callers keep working, and filter the same way
    assert [e.version for e in store.change_log(workspace)] == [3, 2, 1]
    assert [e.version for e in store.change_log(workspace, 1, 10, actor="key:tests")] == [3]
    after = dt.datetime(2026, 2, 1, 12)
    assert [e.version for e in store.change_log(workspace, changed_after=after)] == [3, 2]
