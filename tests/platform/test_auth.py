"""Every API request is authenticated: API keys, session cookies with CSRF, roles, and no
way into another workspace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tessera.platform.app import create_app
from tessera.platform.identity import IdentityService
from tessera.platform.settings import Settings

PASSWORD = "correct horse battery"
CREATE = 'mutation { createNote(input: {title: "hi"}) { title } }'
LIST = "{ notes { totalCount } }"


@pytest.fixture
def anonymous(
    engine: Engine, database_url: str, workspace: str, object_factory: Callable[..., Any]
) -> Iterator[TestClient]:
    """A client of the app with no credentials, and an object ``note``."""
    object_factory("note", [{"api_name": "title", "type": "text"}])
    settings = Settings.from_env(
        {"TESSERA_DATABASE_URL": database_url, "TESSERA_DEFAULT_WORKSPACE": workspace}
    )
    with TestClient(create_app(settings, engine), follow_redirects=False) as client:
        yield client


def code_of(response: Any) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_requests_without_credentials_are_refused(anonymous: TestClient):
    for path in ("/graphql", "/graphql/metadata", "/auth/me"):
        answer = anonymous.post(path, json={"query": LIST}) if path != "/auth/me" else anonymous.get(path)
        assert answer.status_code == 401 and code_of(answer) == "UNAUTHENTICATED"
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/graphql", headers={"Accept": "text/html"}).status_code == 200  # GraphiQL
    unknown = anonymous.post("/graphql", json={"query": LIST}, headers=bearer("tsk_nope"))
    assert unknown.status_code == 401


def test_roles_decide_what_a_key_may_do(anonymous: TestClient, api_key_factory: Callable[..., str]):
    viewer, member, admin = (bearer(api_key_factory(role)) for role in ("viewer", "member", "admin"))
    refused = anonymous.post("/graphql", json={"query": CREATE}, headers=viewer)
    assert code_of(refused) == "FORBIDDEN" and "viewer" in refused.json()["errors"][0]["message"]
    assert anonymous.post("/graphql", json={"query": LIST}, headers=viewer).json() == {
        "data": {"notes": {"totalCount": 0}}
    }
    assert anonymous.post("/graphql", json={"query": CREATE}, headers=member).json() == {
        "data": {"createNote": {"title": "hi"}}
    }
    change = 'mutation { createField(input: {object: "note", apiName: "body", type: "text"}) { applied } }'
    assert code_of(anonymous.post("/graphql/metadata", json={"query": change}, headers=member)) == "FORBIDDEN"
    assert (
        anonymous.post(
            "/graphql/metadata", json={"query": "{ objects { apiName } }"}, headers=member
        ).status_code
        == 200
    )
    done = anonymous.post("/graphql/metadata", json={"query": change}, headers=admin).json()
    assert done == {"data": {"createField": {"applied": True}}}


def test_writes_record_who_made_them(anonymous: TestClient, engine: Engine, workspace: str):
    secret, key = IdentityService(engine).create_api_key(workspace, "importer", role="member")
    anonymous.post("/graphql", json={"query": CREATE}, headers=bearer(secret))
    listed = anonymous.post(
        "/graphql", json={"query": "{ notes { edges { node { created_by } } } }"}, headers=bearer(secret)
    )
    assert listed.json()["data"]["notes"]["edges"][0]["node"]["created_by"] == str(key.id)


def test_a_key_of_another_workspace_reaches_nothing_here(
    anonymous: TestClient, engine: Engine, workspace: str, workspace_factory: Callable[..., str]
):
    other = workspace_factory()
    foreign, _ = IdentityService(engine).create_api_key(other, "foreign", role="admin")
    here = anonymous.post(
        "/graphql", json={"query": LIST}, headers={**bearer(foreign), "X-Tessera-Workspace": workspace}
    )
    assert here.status_code == 403 and code_of(here) == "WORKSPACE_MISMATCH"
    # Without the header the key works in its own workspace, which has no notes at all.
    own = anonymous.post("/graphql", json={"query": LIST}, headers=bearer(foreign))
    assert code_of(own) == "GRAPHQL_VALIDATION_FAILED"


def test_a_browser_session_needs_its_csrf_token_to_change_things(
    anonymous: TestClient, engine: Engine, workspace: str
):
    IdentityService(engine).create_user(workspace, "ada@example.com", PASSWORD, role="member")
    wrong = anonymous.post("/auth/login", json={"email": "ada@example.com", "password": "not the password"})
    assert wrong.status_code == 401 and code_of(wrong) == "LOGIN_FAILED"
    login = anonymous.post(
        "/auth/login", json={"email": "ada@example.com", "password": PASSWORD, "workspace": workspace}
    )
    assert login.status_code == 200
    cookie = login.headers["set-cookie"]
    assert "tessera_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    csrf = login.json()["csrfToken"]
    assert anonymous.get("/auth/me").json() == {
        "workspace": workspace,
        "name": "ada@example.com",
        "role": "member",
        "kind": "user",
        "csrfToken": csrf,  # a page reloaded in the browser gets it back
    }
    assert anonymous.get("/graphql", params={"query": LIST}).json() == {"data": {"notes": {"totalCount": 0}}}
    forged = anonymous.post("/graphql", json={"query": CREATE})
    assert forged.status_code == 403 and code_of(forged) == "CSRF_FAILED"
    made = anonymous.post("/graphql", json={"query": CREATE}, headers={"X-CSRF-Token": csrf})
    assert made.json() == {"data": {"createNote": {"title": "hi"}}}
    assert anonymous.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert anonymous.get("/auth/me").status_code == 401


@pytest.mark.parametrize("path", ["/graphql", "/graphql/metadata"])
def test_introspection_can_be_kept_for_admins(
    path: str, engine: Engine, database_url: str, workspace: str, api_key_factory: Callable[..., str]
):
    settings = Settings.from_env(
        {
            "TESSERA_DATABASE_URL": database_url,
            "TESSERA_DEFAULT_WORKSPACE": workspace,
            "TESSERA_INTROSPECTION": "admins",
        }
    )
    query = {"query": "{ __schema { queryType { name } } __typename }"}
    with TestClient(create_app(settings, engine)) as client:
        refused = client.post(path, json=query, headers=bearer(api_key_factory("member")))
        assert code_of(refused) == "INTROSPECTION_DISABLED"
        plain = client.post(path, json={"query": "{ __typename }"}, headers=bearer(api_key_factory("viewer")))
        assert plain.json() == {"data": {"__typename": "Query"}}
        allowed = client.post(path, json=query, headers=bearer(api_key_factory("admin")))
        assert allowed.json()["data"]["__schema"] == {"queryType": {"name": "Query"}}
