"""Connections over the metadata API: secrets never come back, bad input is a coded error
with its path, syncs are queued for workers and logged; all of it needs manage_connectors."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tessera.connectors import runtime as runtime_module
from tessera.connectors.connections import SecretBox
from tessera.connectors.runtime import ConnectorRuntime
from tessera.connectors.webhooks import signed_headers
from tessera.metadata.model import ObjectDef
from tessera.platform.settings import Settings
from tests.connectors import sample

CREATE = """
mutation($name: String!, $config: JSON!, $schedule: String) {
  createConnection(name: $name, connector: "catalogue", config: $config, schedule: $schedule) {
    name connector config streams schedule enabled
  }
}"""
SYNC = 'mutation { syncConnection(name: "shop") { id stream status trigger } }'
RUNS = """
query { syncRuns(connection: "shop") { stream status recordsRead recordsCreated recordsFailed errors error } }"""


@pytest.fixture(autouse=True)
def catalogue(monkeypatch: pytest.MonkeyPatch, object_factory: Callable[..., ObjectDef]) -> Iterator[None]:
    monkeypatch.setattr(runtime_module, "installed_connectors", lambda: {"catalogue": sample.Catalogue})
    sample.reset(items=3, brands=1)
    object_factory(
        "brand",
        fields=[
            {"api_name": "name", "type": "text"},
            {"api_name": "catalogue_id", "type": "text", "unique": True},
        ],
    )
    object_factory(
        "item",
        fields=[
            {"api_name": "title", "type": "text"},
            {"api_name": "price", "type": "integer"},
            {"api_name": "catalogue_id", "type": "text", "unique": True},
            {"api_name": "brand", "type": "lookup", "options": {"target_object": "brand"}},
        ],
    )
    yield


def post(client: TestClient, query: str, key: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    answer: dict[str, Any] = client.post(
        "/graphql/metadata", json={"query": query, "variables": variables}, headers=headers
    ).json()
    return answer


def test_an_admin_connects_checks_and_never_sees_the_secret_again(client: TestClient):
    made = post(client, CREATE, name="shop", config={"token": "good", "page_size": 2})
    assert made["data"]["createConnection"] == {
        "name": "shop",
        "connector": "catalogue",
        "config": {"page_size": 2, "token": "<set>"},
        "streams": None,
        "schedule": None,
        "enabled": True,
    }
    listed = post(client, "{ connections { name config } connectors { name secretFields streams } }")
    assert listed["data"]["connections"] == [{"name": "shop", "config": {"page_size": 2, "token": "<set>"}}]
    (connector,) = listed["data"]["connectors"]
    assert connector["secretFields"] == ["token"] and [s["name"] for s in connector["streams"]] == [
        "brands",
        "items",
    ]
    assert "good" not in str(listed)
    checked = post(client, 'mutation { checkConnection(name: "shop") { ok message } }')
    assert checked["data"]["checkConnection"] == {"ok": True, "message": "The connection works."}
    changed = post(client, 'mutation { updateConnection(name: "shop", config: {token: "bad"}) { config } }')
    assert changed["data"]["updateConnection"]["config"] == {"token": "<set>"}
    failing = post(client, 'mutation { checkConnection(name: "shop") { ok message } }')
    assert failing["data"]["checkConnection"] == {"ok": False, "message": "The catalogue refused the token."}


@pytest.mark.parametrize(
    ("config", "schedule", "code", "path"),
    [
        ({"page_size": 2}, None, "INVALID_CONFIG", ["config"]),
        ({"token": "good", "page_size": "two"}, None, "INVALID_CONFIG", ["config", "page_size"]),
        ({"token": "good"}, "sometimes", "INVALID_SCHEDULE", ["schedule"]),
    ],
)
def test_bad_input_is_a_coded_error_at_its_path_and_creates_nothing(
    client: TestClient, config: dict[str, Any], schedule: str | None, code: str, path: list[Any]
):
    answer = post(client, CREATE, name="shop", config=config, schedule=schedule)
    error = answer["errors"][0]
    assert (error["extensions"]["code"], error["path"], error["extensions"]["inputPath"]) == (
        code,
        ["createConnection"],
        path,
    )
    assert post(client, "{ connections { name } }")["data"]["connections"] == []


def test_a_sync_is_queued_for_workers_and_logged(client: TestClient, engine: Any, workspace: str):
    post(client, CREATE, name="shop", config={"token": "good"})
    queued = post(client, SYNC)["data"]["syncConnection"]
    assert [(r["stream"], r["status"], r["trigger"]) for r in queued] == [
        ("brands", "queued", "manual"),
        ("items", "queued", "manual"),
    ]
    # A worker of the same deployment: the same database and secret key (here: the data folder's).
    worker = ConnectorRuntime(engine, SecretBox.from_settings(Settings.from_env({})))
    sent: list[Any] = []
    worker.enqueue = sent.append
    worker.tick()
    mine = [run_id for run_id in sent if str(run_id) in {r["id"] for r in queued}]
    assert len(mine) == 2
    for run_id in mine:
        worker.run(run_id)
    runs = post(client, RUNS)["data"]["syncRuns"]
    assert sorted((r["stream"], r["status"], r["recordsCreated"]) for r in runs) == [
        ("brands", "succeeded", 1),
        ("items", "succeeded", 3),
    ]


def test_connections_need_manage_connectors(client: TestClient, api_key_factory: Callable[..., str]):
    member = api_key_factory(role="member")
    for query in ("{ connections { name } }", "{ syncRuns { id } }", SYNC):
        answer = post(client, query, key=member)
        assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN", query
    answer = post(client, CREATE, key=member, name="shop", config={"token": "good"})
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_pushed_change_queues_one_sync_and_bad_signatures_are_refused(client: TestClient, engine: Any):
    post(client, CREATE, name="shop", config={"token": "good"})
    subscribed = post(
        client,
        'mutation { subscribeConnection(name: "shop", publicUrl: "https://crm.example.com/") { push } }',
    )["data"]["subscribeConnection"]["push"]
    (hook,) = sample.CATALOGUE["hooks"].values()
    assert subscribed["callbackUrl"] == hook["url"] and hook["url"].startswith(
        "https://crm.example.com/hooks/connections/"
    )
    path = hook["url"].removeprefix("https://crm.example.com")
    body = b'{"stream": "items"}'
    headers = signed_headers([hook["secret"]], "msg_1", int(time.time()), body)
    first = client.post(path, content=body, headers=headers)
    again = client.post(
        path,
        content=body,
        headers={
            **headers,
            "webhook-id": "msg_2",
            "webhook-signature": signed_headers(
                [hook["secret"]], "msg_2", int(headers["webhook-timestamp"]), body
            )["webhook-signature"],
        },
    )
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()  # a sync already queued reads the second change too
    (run,) = post(client, RUNS)["data"]["syncRuns"]
    assert run["stream"] == "items" and run["status"] == "queued"

    tampered = client.post(path, content=b'{"stream": "brands"}', headers=headers)
    assert (tampered.status_code, tampered.json()["errors"][0]["extensions"]["code"]) == (
        401,
        "WEBHOOK_SIGNATURE_INVALID",
    )
    stale = signed_headers([hook["secret"]], "msg_3", int(time.time()) - 3600, body)
    assert client.post(path, content=body, headers=stale).status_code == 401
    unknown = client.post("/hooks/connections/not-an-id", content=body, headers=headers)
    assert unknown.status_code == 404

    post(client, 'mutation { unsubscribeConnection(name: "shop") { push } }')
    assert sample.CATALOGUE["hooks"] == {}
    assert client.post(path, content=body, headers=headers).status_code == 404


def test_a_connector_failing_during_a_request_is_a_coded_error_not_a_crash(client: TestClient):
    post(client, CREATE, name="shop", config={"token": "unreachable"})
    answer = post(client, SYNC)
    error = answer["errors"][0]
    assert (error["extensions"]["code"], error["message"]) == (
        "CONNECTOR_TRANSIENT",
        "The catalogue cannot be reached.",
    )
    assert post(client, RUNS)["data"]["syncRuns"] == []
