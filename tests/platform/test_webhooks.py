"""Inbound webhooks: the secret is checked (a bearer secret, or a Standard Webhooks signature
over the raw body), the JSON body becomes the run's trigger data, and the answer (202 with
the run id) comes before the run; a signed event id received twice starts one run."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tessera.connectors.webhooks import generate_secret, signed_headers, whsec_of_key
from tessera.platform.records import RecordService
from tessera.platform.tables import webhook_receipts, workflow_runs
from tessera.workflows.definitions import load_workflow
from tessera.workflows.engine import WorkflowEngine
from tessera.workflows.store import WorkflowStore

SIGNUP = """
name: web_signup
trigger: {type: webhook}
steps:
  - {id: lead, type: create_record, object: lead, values: {name: "{{ trigger.data.name }}", source: "{{ trigger.data.source }}"}}
"""


@pytest.fixture
def hook(
    object_factory: Callable[..., Any], engine: Engine, workspace: str, client: TestClient
) -> dict[str, str]:
    """The webhook workflow's path and secret, as the metadata API gives them."""
    object_factory("lead", [{"api_name": "name", "type": "text"}, {"api_name": "source", "type": "text"}])
    store = WorkflowStore(engine)
    store.save_draft(workspace, load_workflow(SIGNUP))
    store.activate(workspace, "web_signup")
    answer = client.post(
        "/graphql/metadata",
        json={"query": '{ workflowWebhook(name: "web_signup") { path secret signingSecret } }'},
    ).json()
    return dict(answer["data"]["workflowWebhook"])


def test_a_webhook_starts_a_run_with_its_body(
    hook: dict[str, str], client: TestClient, records: RecordService, workspace: str
):
    answer = client.post(
        hook["path"],
        json={"name": "Ada", "source": "website"},
        headers={"Authorization": f"Bearer {hook['secret']}"},
    )
    assert answer.status_code == 202
    run_id = answer.json()["runId"]
    for _ in range(200):  # the server's in-process worker runs it
        leads = records.find(workspace, "lead", {})
        if leads:
            break
        time.sleep(0.05)
    assert [(lead["name"], lead["source"]) for lead in leads] == [("Ada", "website")]
    run = client.post(
        "/graphql/metadata",
        json={"query": f'{{ workflowRun(id: "{run_id}") {{ trigger status }} }}'},
    ).json()["data"]["workflowRun"]
    assert run["trigger"] == "webhook"


def test_a_webhook_refuses_a_wrong_or_missing_secret_and_bad_json(hook: dict[str, str], client: TestClient):
    wrong = client.post(hook["path"], json={}, headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()["errors"][0]["extensions"]["code"]) == (404, "UNKNOWN_WEBHOOK")
    missing = client.post(hook["path"], json={}, headers={"Authorization": ""})
    assert (missing.status_code, missing.json()["errors"][0]["extensions"]["code"]) == (
        401,
        "UNAUTHENTICATED",
    )
    bad = client.post(
        hook["path"], content=b"{not json", headers={"X-Tessera-Webhook-Secret": hook["secret"]}
    )
    assert (bad.status_code, bad.json()["errors"][0]["extensions"]["code"]) == (400, "INVALID_JSON")
    unknown = client.post("/hooks/workflows/not-an-id", json={}, headers={"Authorization": "Bearer x"})
    assert unknown.status_code == 404


def test_a_workflow_without_a_webhook_has_no_secret(
    object_factory: Callable[..., Any], engine: Engine, workspace: str, client: TestClient
):
    object_factory("lead", [{"api_name": "name", "type": "text"}])
    store = WorkflowStore(engine)
    store.save_draft(
        workspace,
        load_workflow(
            "name: other\ntrigger: {type: record_created, object: lead}\nsteps: [{id: f, type: find_records, object: lead}]"
        ),
    )
    answer = client.post(
        "/graphql/metadata", json={"query": '{ workflowWebhook(name: "other") { path secret } }'}
    ).json()
    assert answer["errors"][0]["extensions"]["code"] == "NOT_A_WEBHOOK"


# -- Standard Webhooks signatures ------------------------------------------------------------
def signed(secret: str, body: bytes, message_id: str = "msg_1", at: float | None = None) -> dict[str, str]:
    """Headers of a request signed with ``secret`` (no bearer secret: the signature is the proof)."""
    stamp = int(time.time() if at is None else at)
    return {
        "Authorization": "",
        "Content-Type": "application/json",
        **signed_headers([secret], message_id, stamp, body),
    }


def runs_of(engine: Engine, path: str) -> list[dict[str, Any]]:
    workflow_id = uuid.UUID(path.rsplit("/", 1)[1])
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.select(workflow_runs).where(workflow_runs.c.workflow_id == workflow_id)
            ).mappings()
        ]


def test_the_signing_secret_is_the_workflow_secret_as_a_standard_webhooks_key(hook: dict[str, str]):
    assert hook["signingSecret"] == whsec_of_key(hook["secret"].encode())
    assert hook["signingSecret"].startswith("whsec_")


def test_a_signed_webhook_starts_a_run_with_its_body(
    hook: dict[str, str], client: TestClient, records: RecordService, workspace: str
):
    body = json.dumps({"name": "Grace", "source": "signed"}).encode()
    answer = client.post(hook["path"], content=body, headers=signed(hook["signingSecret"], body))
    assert answer.status_code == 202, answer.text
    assert set(answer.json()) == {"runId"}
    for _ in range(200):  # the server's in-process worker runs it
        leads = records.find(workspace, "lead", {})
        if leads:
            break
        time.sleep(0.05)
    assert [(lead["name"], lead["source"]) for lead in leads] == [("Grace", "signed")]


def test_a_repeated_event_id_is_deduplicated(hook: dict[str, str], client: TestClient, engine: Engine):
    body = b'{"name": "Ada"}'
    first = client.post(hook["path"], content=body, headers=signed(hook["signingSecret"], body, "evt_42"))
    assert first.status_code == 202
    again = client.post(hook["path"], content=body, headers=signed(hook["signingSecret"], body, "evt_42"))
    assert again.status_code == 200
    assert again.json() == {"runId": first.json()["runId"], "duplicate": True}
    other = client.post(hook["path"], content=body, headers=signed(hook["signingSecret"], body, "evt_43"))
    assert other.status_code == 202 and other.json()["runId"] != first.json()["runId"]
    assert len(runs_of(engine, hook["path"])) == 2


def test_concurrent_repeats_start_one_run(hook: dict[str, str], engine: Engine):
    """Two deliveries of one event racing: the unique (source, event id) lets one run in."""
    runner = WorkflowEngine(engine)
    workflow_id = uuid.UUID(hook["path"].rsplit("/", 1)[1])
    body = b'{"name": "Race"}'
    headers = signed(hook["signingSecret"], body, "evt_race")
    start = threading.Barrier(4)
    receipts: list[Any] = []

    def deliver() -> None:
        start.wait()
        receipts.append(runner.receive_signed_webhook(workflow_id, headers, body))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(receipts) == 4
    assert len({r.run_id for r in receipts}) == 1
    assert sorted(r.duplicate for r in receipts) == [False, True, True, True]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(webhook_receipts.c.run_id).where(webhook_receipts.c.source == f"workflow:{workflow_id}")
        ).all()
    assert [r.run_id for r in rows] == [receipts[0].run_id]
    assert len(runs_of(engine, hook["path"])) == 1


def test_bad_signatures_stale_timestamps_and_missing_headers_are_refused(
    hook: dict[str, str], client: TestClient, engine: Engine
):
    body = b'{"name": "Mallory"}'

    def refused(content: bytes, headers: dict[str, str], path: str = hook["path"]) -> tuple[int, str]:
        answer = client.post(path, content=content, headers=headers)
        return answer.status_code, answer.json()["errors"][0]["extensions"]["code"]

    secret = hook["signingSecret"]
    tampered = signed(secret, body)
    assert refused(b'{"name": "Eve"}', tampered) == (401, "WEBHOOK_SIGNATURE_INVALID")
    wrong_secret = signed(generate_secret(), body)
    assert refused(body, wrong_secret) == (401, "WEBHOOK_SIGNATURE_INVALID")
    stale = signed(secret, body, at=time.time() - 6 * 60)
    assert refused(body, stale) == (401, "WEBHOOK_TIMESTAMP_STALE")
    future = signed(secret, body, at=time.time() + 6 * 60)
    assert refused(body, future) == (401, "WEBHOOK_TIMESTAMP_STALE")
    partial = {k: v for k, v in signed(secret, body).items() if k != "webhook-signature"}
    assert refused(body, partial) == (401, "WEBHOOK_HEADERS_INVALID")
    elsewhere = f"/hooks/workflows/{uuid.uuid4()}"
    assert refused(body, signed(secret, body), elsewhere) == (404, "UNKNOWN_WEBHOOK")
    not_json = b"{not json"
    assert refused(not_json, signed(secret, not_json)) == (400, "INVALID_JSON")
    assert runs_of(engine, hook["path"]) == []
    # the bearer secret still works beside signatures
    bearer = client.post(
        hook["path"], json={"name": "Ada"}, headers={"Authorization": f"Bearer {hook['secret']}"}
    )
    assert bearer.status_code == 202
