"""``/graphql`` over HTTP: GraphiQL, GET and POST, and a schema that follows metadata
changes in this process and in another one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from tessera.metadata import changes
from tessera.metadata.store import MetadataStore

ROOT = Path(__file__).parent.parent.parent


def test_graphiql_in_a_browser(client: TestClient):
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()


def test_queries_over_get_and_post(client: TestClient, object_factory):
    object_factory("company", [{"api_name": "name", "type": "text"}], label_plural="Companies")
    created = client.post(
        "/graphql", json={"query": 'mutation { createCompany(input: {name: "Acme"}) { name } }'}
    )
    assert created.json() == {"data": {"createCompany": {"name": "Acme"}}}
    listed = client.get("/graphql", params={"query": "{ companies { totalCount } }"})
    assert listed.json() == {"data": {"companies": {"totalCount": 1}}}
    refused = client.get(
        "/graphql", params={"query": 'mutation { createCompany(input: {name: "B"}) { name } }'}
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def test_bad_requests(client: TestClient):
    assert (
        client.post("/graphql", content=b"{nope", headers={"Content-Type": "application/json"}).status_code
        == 400
    )
    answer = client.post("/graphql", json={"variables": {}})
    assert answer.status_code == 400 and answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    elsewhere = client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"X-Tessera-Workspace": "nowhere"}
    )
    assert elsewhere.status_code == 403
    assert elsewhere.json()["errors"][0]["extensions"]["code"] == "WORKSPACE_MISMATCH"


def test_a_field_added_through_the_metadata_api_is_queryable_at_once(client: TestClient, object_factory):
    object_factory("company", [{"api_name": "name", "type": "text"}], label_plural="Companies")
    query = {"query": "{ companies { edges { node { vat_number } } } }"}
    assert (
        client.post("/graphql", json=query).json()["errors"][0]["extensions"]["code"]
        == "GRAPHQL_VALIDATION_FAILED"
    )
    added = client.post(
        "/graphql/metadata",
        json={
            "query": 'mutation { createField(input: {object: "company", apiName: "vat_number", type: "text"}) { applied } }'
        },
    )
    assert added.json()["data"]["createField"]["applied"] is True
    assert client.post("/graphql", json=query).json() == {"data": {"companies": {"edges": []}}}


@pytest.fixture
def server(database_url: str, workspace: str, tmp_path: Path, api_key_factory: Any) -> Iterator[httpx.Client]:
    """``tessera serve`` in another process, on the test's database and workspace, and a
    client of it with an admin key."""
    if not database_url.startswith("postgresql"):
        pytest.skip("two processes share one database server: PostgreSQL")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": database_url,
        "TESSERA_DEFAULT_WORKSPACE": workspace,
        "TESSERA_PORT": str(port),
        "TESSERA_DATA_DIR": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tessera.platform.cli", "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise AssertionError("the server did not start")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key_factory()}"}) as client:
            yield client
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_another_process_sees_a_new_field_within_a_second(
    server: httpx.Client, store: MetadataStore, workspace: str, object_factory
):
    object_factory("company", [{"api_name": "name", "type": "text"}], label_plural="Companies")
    query = {"query": "{ companies { totalCount edges { node { vat_number } } } }"}
    before = server.post("/graphql", json=query).json()
    assert before["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    store.apply(workspace, changes.create_field("company", {"api_name": "vat_number", "type": "text"}))
    time.sleep(1.0)  # the documented bound: every process checks the version at least every 0.5 s
    assert server.post("/graphql", json=query).json() == {
        "data": {"companies": {"totalCount": 0, "edges": []}}
    }
