"""The README's "deal won" workflows, applied verbatim with the CLI: the onboarding case and
the owner's email when a deal is won, and the reminder 3 days after its close date (on a
clock the test moves)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from tessera.platform.cli import main
from tessera.platform.records import RecordService
from tessera.platform.tables import record_events
from tessera.workflows.actions import ActionRegistry
from tessera.workflows.delivery import EventProcessor
from tessera.workflows.engine import WorkflowEngine
from tessera.workflows.mail import MemoryMailSender, SendEmailAction
from tessera.workflows.scheduler import WorkflowScheduler
from tests.conftest import Clock

README = Path(__file__).resolve().parents[2] / "README.md"
WORKFLOW = re.compile(r"<!-- workflow: (?P<name>[\w-]+) -->\n```yaml\n(?P<body>.*?)\n```", re.S)


@pytest.fixture
def crm(object_factory: Callable[..., Any]) -> None:
    object_factory(
        "deal",
        [
            {"api_name": "title", "type": "text", "required": True},
            {
                "api_name": "stage",
                "type": "select",
                "options": {"choices": [{"value": "new"}, {"value": "won"}]},
            },
            {"api_name": "close_date", "type": "date"},
            {"api_name": "owner_email", "type": "email"},
            {"api_name": "account_manager_email", "type": "email"},
        ],
    )
    object_factory(
        "case",
        [
            {"api_name": "subject", "type": "text", "required": True},
            {"api_name": "number", "type": "auto_number", "options": {"prefix": "CASE-", "padding": 4}},
            {"api_name": "deal", "type": "lookup", "options": {"target_object": "deal"}},
        ],
    )
    object_factory(
        "task",
        [
            {"api_name": "title", "type": "text", "required": True},
            {"api_name": "deal", "type": "lookup", "options": {"target_object": "deal"}},
        ],
    )


def process_events(engine: Engine, processor: EventProcessor) -> None:
    """What the workers do: handle every pending record event, oldest first."""
    while True:
        with engine.connect() as conn:
            pending = list(
                conn.execute(
                    sa.select(record_events.c.id)
                    .where(record_events.c.processed_at.is_(None))
                    .order_by(record_events.c.created_at)
                ).scalars()
            )
        if not pending:
            return
        for event_id in pending:
            processor.process(str(event_id))


def test_the_readme_deal_won_workflows(
    crm: None, engine: Engine, database_url: str, records: RecordService, workspace: str, tmp_path: Path
):
    examples = {m["name"]: m["body"] for m in WORKFLOW.finditer(README.read_text())}
    assert set(examples) == {"deal-won", "won-deal-reminder"}
    env = {"TESSERA_DATABASE_URL": database_url, "TESSERA_DEFAULT_WORKSPACE": workspace}
    cli = CliRunner()
    for name, body in examples.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(body)
        applied = cli.invoke(main, ["workflow", "apply", str(path), "--activate"], env=env)
        assert applied.exit_code == 0, applied.output

    clock = Clock()  # 2026-12-01 10:00 UTC
    mail = MemoryMailSender()
    workflows = WorkflowEngine(engine, clock=clock, actions=ActionRegistry([SendEmailAction(mail)]))
    processor = EventProcessor(engine, [workflows.handle])
    deal = records.create(
        workspace,
        "deal",
        {
            "title": "Acme",
            "stage": "new",
            "close_date": "2026-12-01",
            "owner_email": "olivia@example.com",
            "account_manager_email": "adam@example.com",
        },
    )
    records.update(workspace, "deal", deal["id"], {"stage": "won"})
    process_events(engine, processor)

    (case,) = records.find(workspace, "case", {})
    assert (case["subject"], case["number"], case["deal"]) == ("Onboard Acme", "CASE-0001", deal["id"])
    (owner_mail,) = mail.sent
    assert owner_mail.to == ("olivia@example.com",)
    assert (owner_mail.subject, owner_mail.text) == ("You won Acme", "Onboarding case CASE-0001 is open.")

    scheduler = WorkflowScheduler(workflows, None)
    clock.advance(days=2, hours=13, minutes=59)  # 3 December, 23:59
    scheduler.tick()
    assert len(mail.sent) == 1 and records.find(workspace, "task", {}) == []
    clock.advance(minutes=1)  # 4 December, 00:00 UTC: 3 days after the close date
    scheduler.tick()
    process_events(engine, processor)  # the task's own event fires nothing more
    reminder = mail.sent[1]
    assert reminder.to == ("adam@example.com",)
    assert reminder.subject == "How is onboarding going at Acme?"
    (task,) = records.find(workspace, "task", {})
    assert (task["title"], task["deal"]) == ("Call Acme", deal["id"])

    listed = cli.invoke(main, ["workflow", "runs", "--steps"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "won_deal_reminder v1\trelative\tsucceeded" in listed.output
    assert "deal_won v1\tevent\tsucceeded" in listed.output
    assert "    tell_owner\tsend_email\t#1\tsucceeded" in listed.output


def test_the_cli_queues_and_retries_runs(
    crm: None, engine: Engine, database_url: str, records: RecordService, workspace: str, tmp_path: Path
):
    body = {m["name"]: m["body"] for m in WORKFLOW.finditer(README.read_text())}["won-deal-reminder"]
    path = tmp_path / "reminder.yaml"
    path.write_text(body)
    env = {"TESSERA_DATABASE_URL": database_url, "TESSERA_DEFAULT_WORKSPACE": workspace}
    cli = CliRunner()
    assert cli.invoke(main, ["workflow", "apply", str(path), "--activate"], env=env).exit_code == 0
    deal = records.create(workspace, "deal", {"title": "Acme", "stage": "won"})  # no manager's email
    queued = cli.invoke(main, ["workflow", "run", "won_deal_reminder", str(deal["id"])], env=env)
    assert queued.exit_code == 0 and queued.output.startswith("queued run ")
    run_id = queued.output.split()[2]
    mail = MemoryMailSender()
    workflows = WorkflowEngine(engine, actions=ActionRegistry([SendEmailAction(mail)]))
    WorkflowScheduler(workflows, None).tick()
    failed = cli.invoke(main, ["workflow", "runs", "--status", "failed", "--steps"], env=env).output
    assert f"{run_id}\twon_deal_reminder v1\tmanual\tfailed" in failed
    assert "remind\tsend_email\t#1\tfailed" in failed
    records.update(workspace, "deal", deal["id"], {"account_manager_email": "adam@example.com"})
    retried = cli.invoke(main, ["workflow", "retry", run_id], env=env)
    assert retried.exit_code == 0, retried.output
    WorkflowScheduler(workflows, None).tick()
    # The retry runs the failed step again with the data the run started with: still no
    # address. The run fails again, and says so.
    again = cli.invoke(main, ["workflow", "runs", "--status", "failed"], env=env).output
    assert run_id in again
    nope = cli.invoke(
        main, ["workflow", "run", "won_deal_reminder", "00000000-0000-0000-0000-000000000000"], env=env
    )
    assert nope.exit_code == 1 and "RECORD_NOT_FOUND" in nope.output
