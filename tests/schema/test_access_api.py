"""Users and API keys through the metadata API: each needs its capability
(manage_users, manage_api_keys), every change is in the admin audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tessera.platform.roles import RoleStore

CREATE_USER = """
mutation($email: String!, $role: String!, $team: String) {
  createUser(email: $email, password: "a long password", role: $role, team: $team) { email role team active }
}"""
UPDATE_USER = """
mutation($email: String!, $role: String, $team: String, $active: Boolean) {
  updateUser(email: $email, role: $role, team: $team, active: $active) { email role team active }
}"""
CREATE_KEY = (
    'mutation($role: String!) { createApiKey(name: "erp", role: $role) { secret key { id name role } } }'
)


def post(client: TestClient, query: str, key: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    answer: dict[str, Any] = client.post(
        "/graphql/metadata", json={"query": query, "variables": variables}, headers=headers
    ).json()
    return answer


def code(answer: dict[str, Any]) -> str:
    return str(answer["errors"][0]["extensions"]["code"])


def test_an_admin_manages_users(client: TestClient):
    made = post(client, CREATE_USER, email="ada@example.com", role="member", team="east")
    assert made == {
        "data": {"createUser": {"email": "ada@example.com", "role": "member", "team": "east", "active": True}}
    }
    changed = post(client, UPDATE_USER, email="ada@example.com", role="viewer", team="", active=False)
    assert changed["data"]["updateUser"] == {
        "email": "ada@example.com",
        "role": "viewer",
        "team": None,
        "active": False,
    }
    users = post(client, "{ users { email role } }")["data"]["users"]
    assert {"email": "ada@example.com", "role": "viewer"} in users
    assert code(post(client, UPDATE_USER, email="bob@example.com", role="viewer")) == "UNKNOWN_USER"
    assert code(post(client, CREATE_USER, email="bob@example.com", role="king")) == "UNKNOWN_ROLE"
    kinds = [
        e["kind"]
        for e in post(client, '{ adminEvents(subject: "ada@example.com") { kind } }')["data"]["adminEvents"]
    ]
    assert kinds == ["user_changed", "user_changed", "user_changed", "user_created"]


def test_an_api_key_is_shown_once_and_works_until_revoked(client: TestClient):
    made = post(client, CREATE_KEY, role="viewer")["data"]["createApiKey"]
    assert made["secret"].startswith("tsk_") and made["key"]["role"] == "viewer"
    keys = post(client, "{ apiKeys { id name prefix } }")["data"]["apiKeys"]
    assert made["key"]["id"] in [k["id"] for k in keys]
    assert all("secret" not in k for k in keys) and made["secret"][:12] in [k["prefix"] for k in keys]
    assert "errors" not in post(client, "{ workspace { slug } }", made["secret"])
    revoke = "mutation($id: UUID!) { revokeApiKey(id: $id) }"
    assert post(client, revoke, id=made["key"]["id"]) == {"data": {"revokeApiKey": True}}
    answer = client.post(
        "/graphql/metadata",
        json={"query": "{ workspace { slug } }"},
        headers={"Authorization": f"Bearer {made['secret']}"},
    )
    assert answer.status_code == 401


def test_each_capability_guards_its_own_work(
    client: TestClient, engine: Engine, workspace: str, api_key_factory: Callable[..., str]
):
    keymaster_role = {
        "name": "keymaster",
        "capabilities": ["manage_api_keys"],
        "other_objects": {"operations": ["read"]},
    }
    RoleStore(engine).save(workspace, keymaster_role)
    keymaster, member = api_key_factory(role="keymaster"), api_key_factory(role="member")
    assert "errors" not in post(client, CREATE_KEY, keymaster, role="viewer")
    assert code(post(client, CREATE_USER, keymaster, email="x@example.com", role="member")) == "FORBIDDEN"
    assert code(post(client, "{ users { email } }", keymaster)) == "FORBIDDEN"
    for query in ("{ apiKeys { id } }", "{ users { email } }", "{ adminEvents { kind } }"):
        assert code(post(client, query, member)) == "FORBIDDEN"
    assert code(post(client, CREATE_KEY, member, role="admin")) == "FORBIDDEN"


def test_no_one_hands_out_more_than_their_role_allows(
    client: TestClient, engine: Engine, workspace: str, api_key_factory: Callable[..., str]
):
    roles = RoleStore(engine)
    roles.save(
        workspace,
        {"name": "keymaster", "capabilities": ["manage_api_keys"], "other_objects": {"operations": ["read"]}},
    )
    roles.save(
        workspace,
        {
            "name": "people_admin",
            "capabilities": ["manage_users"],
            "other_objects": {"operations": ["read", "update"]},
        },
    )
    keymaster, people_admin = api_key_factory(role="keymaster"), api_key_factory(role="people_admin")
    assert "errors" not in post(client, CREATE_KEY, keymaster, role="viewer")  # reads only: within its rights
    for role in ("admin", "member"):
        refused = post(client, CREATE_KEY, keymaster, role=role)
        assert code(refused) == "FORBIDDEN" and "allows more than yours" in refused["errors"][0]["message"]
    assert code(post(client, CREATE_USER, people_admin, email="eve@example.com", role="admin")) == "FORBIDDEN"
    assert "errors" not in post(client, CREATE_USER, people_admin, email="eve@example.com", role="viewer")
    assert (
        code(post(client, UPDATE_USER, people_admin, email="eve@example.com", role="member")) == "FORBIDDEN"
    )
    greedy = {"name": "greedy", "capabilities": ["manage_users", "manage_data_model"]}
    save = "mutation($d: JSON!) { saveRole(definition: $d) { name } }"
    assert code(post(client, save, people_admin, d=greedy)) == "FORBIDDEN"
    assert "errors" not in post(client, save, d=greedy)  # an admin may
