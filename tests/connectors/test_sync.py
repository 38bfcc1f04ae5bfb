"""A sync writes through the record service by external id, with its checkpoint in the
same transaction: incremental, resumable without loss or duplicates, a bad record skipped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tessera.connectors import sync as sync_module
from tessera.connectors.runtime import ConnectorRuntime
from tessera.connectors.sdk import TransientError
from tessera.connectors.sync import MAX_BATCH, source_value
from tessera.platform.records import RecordService
from tests.connectors import sample


class Crash(BaseException):
    """The process dying (not an error anything catches)."""


def items(records: RecordService, workspace: str) -> dict[str, dict[str, Any]]:
    return {r["catalogue_id"]: r for r in records.find(workspace, "item", {})}


def test_a_sync_upserts_by_external_id_and_resolves_lookups(
    runtime: ConnectorRuntime, connection: Callable[..., Any], records: RecordService, workspace: str
):
    sample.reset(items=7, brands=2)
    connection()
    runs = runtime.sync_now(workspace, "shop")
    assert [(r.stream, r.status, r.records_created) for r in runs] == [
        ("brands", "succeeded", 2),
        ("items", "succeeded", 7),
    ]
    brands = {r["catalogue_id"]: r["id"] for r in records.find(workspace, "brand", {})}
    synced = items(records, workspace)
    assert synced["3"]["title"] == "Item 3" and synced["3"]["price"] == 30
    assert synced["3"]["brand"] == brands["2"]
    assert runs[1].duration_ms is not None and runs[1].trigger == "cli"


def test_the_next_sync_reads_only_what_changed_after_the_checkpoint(
    runtime: ConnectorRuntime, connection: Callable[..., Any], records: RecordService, workspace: str
):
    sample.reset(items=5)
    connection(streams=["items"])
    runtime.sync_now(workspace, "shop")
    sample.CATALOGUE["items"][1].update(title="Renamed", updated=6)
    sample.CATALOGUE["items"].append({"id": 9, "title": "New", "price": 1, "brand": None, "updated": 7})
    (again,) = runtime.sync_now(workspace, "shop")
    assert (again.records_read, again.records_created, again.records_updated) == (2, 1, 1)
    synced = items(records, workspace)
    assert synced["2"]["title"] == "Renamed" and len(synced) == 6


def test_a_sync_that_dies_between_checkpoints_resumes_without_loss_or_duplicates(
    runtime: ConnectorRuntime, connection: Callable[..., Any], records: RecordService, workspace: str
):
    sample.reset(items=10)
    connection(streams=["items"])
    sample.CATALOGUE["fail"] = [(8, Crash("killed"))]  # after two pages of three were checkpointed
    (run_id,) = runtime.queue_sync(workspace, "shop")
    with pytest.raises(Crash):
        runtime.run(run_id)
    assert sorted(items(records, workspace), key=int) == [str(i) for i in range(1, 7)]
    (resumed,) = runtime.sync_now(workspace, "shop")
    assert resumed.records_read == 4  # 7 to 10: from the last checkpoint
    synced = items(records, workspace)
    assert sorted(synced, key=int) == [str(i) for i in range(1, 11)]
    assert len(records.find(workspace, "item", {})) == 10


def test_a_sync_that_dies_inside_a_batch_keeps_nothing_of_it(
    runtime: ConnectorRuntime,
    connection: Callable[..., Any],
    records: RecordService,
    workspace: str,
    monkeypatch: pytest.MonkeyPatch,
):
    sample.reset(items=6)
    connection(streams=["items"])
    real_save = sync_module.save_state
    saves = iter(range(100))

    def save_then_die(*args: Any) -> None:
        real_save(*args)
        if next(saves) == 1:  # the second batch's transaction, after its upserts
            raise Crash("killed")

    monkeypatch.setattr(sync_module, "save_state", save_then_die)
    (run_id,) = runtime.queue_sync(workspace, "shop")
    with pytest.raises(Crash):
        runtime.run(run_id)
    assert sorted(items(records, workspace), key=int) == ["1", "2", "3"]  # the second batch rolled back
    monkeypatch.setattr(sync_module, "save_state", real_save)
    runtime.sync_now(workspace, "shop")
    assert sorted(items(records, workspace), key=int) == [str(i) for i in range(1, 7)]


def test_a_record_the_record_service_refuses_is_logged_and_skipped(
    runtime: ConnectorRuntime, connection: Callable[..., Any], records: RecordService, workspace: str
):
    sample.reset(items=4)
    sample.CATALOGUE["items"][2]["title"] = "A title far longer than twenty characters"
    connection(streams=["items"])
    (run,) = runtime.sync_now(workspace, "shop")
    assert (run.status, run.records_created, run.records_failed) == ("succeeded", 3, 1)
    assert run.errors == [
        {
            "key": "3",
            "code": "VALUE_TOO_LONG",
            "message": "'title' takes at most 20 characters (41 given).",
            "path": ["title"],
        }
    ]
    assert sorted(items(records, workspace), key=int) == ["1", "2", "4"]


def test_a_sync_writes_with_the_rights_of_its_run_as_user(
    runtime: ConnectorRuntime,
    connection: Callable[..., Any],
    records: RecordService,
    workspace: str,
    user_factory: Callable[..., Any],
):
    sample.reset(items=2)
    connection(streams=["items"], run_as=user_factory(role="viewer"))
    (run,) = runtime.sync_now(workspace, "shop")
    assert (run.records_created, run.records_failed) == (0, 2)
    assert {e["code"] for e in run.errors} == {"FORBIDDEN"}
    assert records.find(workspace, "item", {}) == []


def test_long_stretches_without_a_checkpoint_are_written_in_bounded_batches(
    runtime: ConnectorRuntime, connection: Callable[..., Any], records: RecordService, workspace: str
):
    sample.reset(items=MAX_BATCH + 5)
    connection(streams=["items"], config={"token": "good", "page_size": MAX_BATCH + 5})
    (run,) = runtime.sync_now(workspace, "shop")
    assert run.records_created == MAX_BATCH + 5


def test_source_values_follow_json_pointers():
    record: dict[str, Any] = {"a": {"b/c": [1, {"d": "x"}]}, "name": "n", "tilde~": 2}
    assert source_value(record, "/a/b~1c/1/d") == "x"
    assert source_value(record, "name") == "n"
    assert source_value(record, "/tilde~0") == 2
    assert source_value(record, "/a/missing/deeper") is None
    assert source_value(record, "/a/b~1c/7") is None
    assert source_value(record, "") is record
    assert source_value(record, "a/b~1c/0") == 1


def test_a_transient_failure_keeps_the_batches_before_it(
    runtime: ConnectorRuntime, connection: Callable[..., Any], records: RecordService, workspace: str
):
    sample.reset(items=5)
    connection(streams=["items"])
    sample.CATALOGUE["fail"] = [(5, TransientError("timeout"))]
    (run_id,) = runtime.queue_sync(workspace, "shop")
    assert runtime.run(run_id) == 30
    assert sorted(items(records, workspace), key=int) == ["1", "2", "3"]
    assert runtime.run(run_id) is None
    run = runtime.sync_run(run_id)
    assert (run.status, run.attempts) == ("succeeded", 2)
    assert sorted(items(records, workspace), key=int) == ["1", "2", "3", "4", "5"]
