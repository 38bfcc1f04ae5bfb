"""The workflow send_email step goes through the workspace's email connection when it has
one (stored, threaded to the run's record), else through TESSERA_MAIL_URL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tessera.connectors.connections import SecretBox
from tessera.connectors.email.workflow_step import SendEmailStep
from tessera.connectors.runtime import ConnectorRuntime
from tessera.connectors.sdk import ActionSpec, Connector, Manifest, TransientError
from tessera.platform.records import RecordService
from tessera.workflows.actions import ActionCall, ActionFailed, ActionRegistry
from tessera.workflows.definitions import load_workflow
from tessera.workflows.engine import WorkflowEngine
from tessera.workflows.mail import MemoryMailSender, SendEmailAction
from tessera.workflows.store import WorkflowStore
from tests.workflows.conftest import last_event

SENT: list[tuple[dict[str, Any], str]] = []
FAILURES: list[Exception] = []


class RecordingEmail(Connector):
    """Stands for the email connector (tested against real servers in test_email.py)."""

    manifest = Manifest(
        name="email",
        version="1.0.0",
        title="Email (recording)",
        actions=(ActionSpec("send_email", "Send.", input_schema={"type": "object", "required": ["to"]}),),
    )

    def execute(
        self, config: Mapping[str, Any], action: str, payload: Mapping[str, Any], idempotency_key: str
    ) -> Mapping[str, Any]:
        if FAILURES:
            raise FAILURES.pop()
        SENT.append((dict(payload), idempotency_key))
        return {"message_id": "<m@x>", "sent": True}


WORKFLOW = """
name: welcome
trigger: {type: record_created, object: deal}
steps:
  - {id: mail, type: send_email, to: "ann@example.com", subject: "Deal {{ record.title }}", body: "Hi"}
"""


@pytest.fixture
def setup(
    engine: Engine, workspace: str, object_factory: Callable[..., Any], box: SecretBox
) -> tuple[ConnectorRuntime, MemoryMailSender]:
    SENT.clear()
    FAILURES.clear()
    object_factory("deal", [{"api_name": "title", "type": "text"}])
    store = WorkflowStore(engine)
    store.activate(workspace, store.save_draft(workspace, load_workflow(WORKFLOW)).name)
    return ConnectorRuntime(engine, box, connectors={"email": RecordingEmail}), MemoryMailSender()


def run_for_a_new_deal(
    engine: Engine, workspace: str, runtime: ConnectorRuntime, mail: MemoryMailSender
) -> Any:
    actions = ActionRegistry([SendEmailStep(runtime, SendEmailAction(mail))])
    deal = RecordService(engine).create(workspace, "deal", {"title": "Acme"})
    WorkflowEngine(engine, actions=actions).handle(last_event(engine, deal["id"]))
    return deal


def test_without_an_email_connection_the_step_uses_the_mail_settings(
    setup: tuple[ConnectorRuntime, MemoryMailSender], engine: Engine, workspace: str
):
    runtime, mail = setup
    run_for_a_new_deal(engine, workspace, runtime, mail)
    (sent,) = mail.sent
    assert sent.subject == "Deal Acme" and SENT == []


def test_with_an_email_connection_the_step_sends_through_it_about_the_runs_record(
    setup: tuple[ConnectorRuntime, MemoryMailSender], engine: Engine, workspace: str
):
    runtime, mail = setup
    runtime.create_connection(workspace, "support_mail", "email", {})
    deal = run_for_a_new_deal(engine, workspace, runtime, mail)
    ((payload, key),) = SENT
    assert payload == {
        "to": "ann@example.com",
        "subject": "Deal Acme",
        "text": "Hi",
        "related_object": "deal",
        "related_record_id": str(deal["id"]),
    }
    assert key.endswith(":mail") and mail.sent == []


def test_a_disabled_connection_is_not_used_and_connector_errors_are_retried(
    setup: tuple[ConnectorRuntime, MemoryMailSender], engine: Engine, workspace: str
):
    runtime, mail = setup
    runtime.create_connection(workspace, "email", "email", {})
    runtime.update_connection(workspace, "email", {"enabled": False})
    run_for_a_new_deal(engine, workspace, runtime, mail)
    assert len(mail.sent) == 1 and SENT == []

    runtime.update_connection(workspace, "email", {"enabled": True})
    FAILURES.append(TransientError("The SMTP server timed out."))
    step = SendEmailStep(runtime, SendEmailAction(mail))

    with pytest.raises(ActionFailed) as failed:
        step.execute(
            ActionCall(workspace, uuid.uuid4(), "mail", "k"), {"to": "a@example.com", "subject": "s"}
        )
    assert (failed.value.code, failed.value.retryable) == ("CONNECTOR_TRANSIENT", True)
