"""The scheduler: schedules fire per cron tick in the workspace's time zone, relative dates
per record (planned again when the date moves), each once; due runs are dispatched."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.platform.records import RecordService
from tessera.platform.tables import workflow_timers, workspaces
from tessera.workflows.definitions import load_workflow
from tessera.workflows.engine import WorkflowEngine
from tessera.workflows.scheduler import WorkflowScheduler
from tessera.workflows.store import RunFilter, WorkflowStore
from tests.conftest import Clock
from tests.workflows.conftest import last_event, task_titles


@pytest.fixture
def model(object_factory: Callable[..., Any]) -> None:
    object_factory(
        "deal",
        [
            {"api_name": "title", "type": "text"},
            {"api_name": "close_date", "type": "date"},
            {
                "api_name": "stage",
                "type": "select",
                "options": {"choices": [{"value": "new"}, {"value": "won"}]},
            },
        ],
    )
    object_factory("task", [{"api_name": "title", "type": "text", "required": True}])


@pytest.fixture
def paris(model: None, engine: Engine, clock: Clock) -> tuple[WorkflowStore, WorkflowEngine]:
    """A store and an engine on the test's clock, in Europe/Paris."""
    return (
        WorkflowStore(engine, clock=clock, time_zone="Europe/Paris"),
        WorkflowEngine(engine, clock=clock, time_zone="Europe/Paris"),
    )


def activate(store: WorkflowStore, workspace: str, text: str) -> None:
    store.activate(workspace, store.save_draft(workspace, load_workflow(text)).name)


def timers(engine: Engine, workspace: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = (
            sa.select(workflow_timers)
            .join(workspaces, workspaces.c.id == workflow_timers.c.workspace_id)
            .where(workspaces.c.slug == workspace)
            .order_by(workflow_timers.c.fire_at)
        )
        return [dict(r) for r in conn.execute(query).mappings()]


SCHEDULE = """
name: morning_check
trigger:
  type: schedule
  object: deal
  cron: "0 9 * * *"
  filter: {stage: {eq: new}}
steps:
  - {id: note, type: create_record, object: task, values: {title: "check {{ record.title }}"}}
"""


def test_a_schedule_fires_once_per_tick_over_the_matching_records(
    paris: tuple[WorkflowStore, WorkflowEngine],
    engine: Engine,
    records: RecordService,
    workspace: str,
    clock: Clock,
):
    store, workflows = paris
    records.create(workspace, "deal", {"title": "Open", "stage": "new"})
    records.create(workspace, "deal", {"title": "Done", "stage": "won"})
    activate(store, workspace, SCHEDULE)
    (timer,) = timers(engine, workspace)
    # 09:00 in Paris on 2 December is 08:00 UTC (the clock reads 1 December, 10:00 UTC).
    assert timer["fire_at"] == dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)
    scheduler = WorkflowScheduler(workflows, None)
    clock.advance(hours=21, minutes=59)
    scheduler.tick()
    assert task_titles(records, workspace) == []
    clock.advance(minutes=1)
    scheduler.tick()
    scheduler.tick()  # a second tick at the same time fires nothing more
    assert task_titles(records, workspace) == ["check Open"]
    (timer,) = timers(engine, workspace)
    assert timer["fire_at"] == dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)
    (run,) = store.runs(workspace, RunFilter(trigger="schedule"))
    assert run.status == "succeeded"


def test_ticks_missed_while_nothing_ran_fire_once(
    paris: tuple[WorkflowStore, WorkflowEngine],
    engine: Engine,
    records: RecordService,
    workspace: str,
    clock: Clock,
):
    store, workflows = paris
    records.create(workspace, "deal", {"title": "Open", "stage": "new"})
    activate(store, workspace, SCHEDULE)
    clock.advance(days=3)  # three 09:00s went by
    WorkflowScheduler(workflows, None).tick()
    assert task_titles(records, workspace) == ["check Open"]
    (timer,) = timers(engine, workspace)
    assert timer["fire_at"] > clock.now


def test_deactivating_a_schedule_removes_its_timer(
    paris: tuple[WorkflowStore, WorkflowEngine], engine: Engine, workspace: str
):
    store, _ = paris
    activate(store, workspace, SCHEDULE)
    store.deactivate(workspace, "morning_check")
    assert timers(engine, workspace) == []


RELATIVE = """
name: follow_up
trigger:
  type: relative_date
  object: deal
  date_field: close_date
  offset: {after: {days: 3}}
  condition: {stage: {eq: won}}
steps:
  - {id: note, type: create_record, object: task, values: {title: "follow up {{ record.title }}"}}
"""


def test_a_relative_date_fires_per_record_and_follows_the_date(
    paris: tuple[WorkflowStore, WorkflowEngine],
    engine: Engine,
    records: RecordService,
    workspace: str,
    clock: Clock,
):
    store, workflows = paris
    past = records.create(workspace, "deal", {"title": "Old", "stage": "won", "close_date": "2026-11-01"})
    ahead = records.create(workspace, "deal", {"title": "Soon", "stage": "won", "close_date": "2026-12-02"})
    activate(store, workspace, RELATIVE)
    # Activation plans the times still ahead only: midnight in Paris, 3 days after 2 December.
    assert [(t["record_id"], t["fire_at"]) for t in timers(engine, workspace)] == [
        (ahead["id"], dt.datetime(2026, 12, 4, 23, 0, tzinfo=dt.UTC))
    ]
    assert past["id"] not in {t["record_id"] for t in timers(engine, workspace)}
    # The date moves: the event plans the timer again.
    records.update(workspace, "deal", ahead["id"], {"close_date": "2026-12-03"})
    workflows.handle(last_event(engine, ahead["id"]))
    (timer,) = timers(engine, workspace)
    assert timer["fire_at"] == dt.datetime(2026, 12, 5, 23, 0, tzinfo=dt.UTC)
    # A new record gets its own timer; deleting it removes it.
    gone = records.create(workspace, "deal", {"title": "Gone", "stage": "won", "close_date": "2026-12-03"})
    workflows.handle(last_event(engine, gone["id"]))
    assert len(timers(engine, workspace)) == 2
    records.delete(workspace, "deal", gone["id"])
    workflows.handle(last_event(engine, gone["id"]))
    assert len(timers(engine, workspace)) == 1
    scheduler = WorkflowScheduler(workflows, None)
    clock.now = dt.datetime(2026, 12, 5, 22, 59, tzinfo=dt.UTC)
    scheduler.tick()
    assert task_titles(records, workspace) == []
    clock.advance(minutes=1)
    scheduler.tick()
    scheduler.tick()
    assert task_titles(records, workspace) == ["follow up Soon"]
    (run,) = store.runs(workspace, RunFilter(trigger="relative"))
    assert run.record_id == ahead["id"] and run.status == "succeeded"


def test_a_relative_date_whose_condition_no_longer_holds_starts_nothing(
    paris: tuple[WorkflowStore, WorkflowEngine],
    engine: Engine,
    records: RecordService,
    workspace: str,
    clock: Clock,
):
    store, workflows = paris
    activate(store, workspace, RELATIVE)
    deal = records.create(workspace, "deal", {"title": "Lost", "stage": "won", "close_date": "2026-12-02"})
    workflows.handle(last_event(engine, deal["id"]))
    records.update(workspace, "deal", deal["id"], {"stage": "new"})
    workflows.handle(last_event(engine, deal["id"]))
    clock.advance(days=10)
    WorkflowScheduler(workflows, None).tick()
    assert task_titles(records, workspace) == []
    assert store.runs(workspace) == []


def test_a_timer_the_model_broke_is_dropped_and_the_others_still_fire(
    paris: tuple[WorkflowStore, WorkflowEngine],
    engine: Engine,
    records: RecordService,
    store: Any,
    workspace: str,
    clock: Clock,
):
    from tessera.metadata import changes

    workflows_store, workflows = paris
    records.create(workspace, "deal", {"title": "Open", "stage": "new", "close_date": "2026-12-01"})
    activate(
        workflows_store,
        workspace,
        SCHEDULE.replace("filter: {stage: {eq: new}}", "filter: {close_date: {isNull: false}}"),
    )
    activate(workflows_store, workspace, SCHEDULE.replace("morning_check", "other_check"))
    store.apply(workspace, changes.delete_field("deal", "close_date"), confirm_data_loss=True)
    clock.advance(days=1)
    WorkflowScheduler(workflows, None).tick()  # no exception: the broken timer is logged and dropped
    assert task_titles(records, workspace) == ["check Open"]  # other_check ran
    assert len(timers(engine, workspace)) == 1
