"""Inbound webhooks: the secret is checked, the JSON body becomes the run's trigger data,
and the answer (202 with the run id) comes before the run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tessera.platform.records import RecordService
from tessera.workflows.definitions import load_workflow
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
        "/graphql/metadata", json={"query": '{ workflowWebhook(name: "web_signup") { path secret } }'}
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
