"""What the workflow tests share: brokers, a movable clock, a small model, activation,
and helpers that read runs and events."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.platform.records import RecordService
from tessera.platform.tables import record_events, workflow_runs
from tessera.workflows.definitions import load_workflow
from tessera.workflows.store import WorkflowStore
from tests.conftest import unavailable

BROKERS = {
    "stub": "stub://",
    "redis": "redis://127.0.0.1:6379/0",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/%2F",
}


def reachable(url: str) -> bool:
    if url.startswith("stub"):
        return True
    port = 6379 if url.startswith("redis") else 5672
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=list(BROKERS))
def broker_url(request: pytest.FixtureRequest) -> str:
    url = BROKERS[request.param]
    if not reachable(url):
        unavailable(f"{request.param} is not reachable at {url}")
    return url


@pytest.fixture
def model(object_factory: Callable[..., Any]) -> None:
    object_factory(
        "deal",
        [
            {"api_name": "title", "type": "text"},
            {"api_name": "amount", "type": "integer"},
            {
                "api_name": "stage",
                "type": "select",
                "options": {"choices": [{"value": "new"}, {"value": "won"}]},
            },
        ],
    )
    object_factory(
        "task",
        [
            {"api_name": "title", "type": "text", "required": True},
            {"api_name": "hours", "type": "integer"},
            {"api_name": "deal", "type": "lookup", "options": {"target_object": "deal"}},
        ],
    )


@pytest.fixture
def active(model: None, engine: Engine, workspace: str) -> Callable[[str], None]:
    def activate(text: str) -> None:
        store = WorkflowStore(engine)
        saved = store.save_draft(workspace, load_workflow(text))
        store.activate(workspace, saved.name)

    return activate


def last_event(engine: Engine, record_id: Any) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                sa.select(record_events)
                .where(record_events.c.record_id == record_id)
                .order_by(record_events.c.created_at.desc())
            )
            .mappings()
            .first()
            or {}
        )


def runs(engine: Engine, record_id: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.select(workflow_runs).where(workflow_runs.c.record_id == record_id)
            ).mappings()
        ]


def task_titles(records: RecordService, workspace: str) -> list[str]:
    return sorted(
        records.get(workspace, "task", i)["title"] for i in records.ids_matching(workspace, "task", {})
    )


def until(condition: Callable[[], bool], seconds: float = 30) -> bool:
    """Poll ``condition`` for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
