"""Syncing a stream: a connector's records written through the record service, with the
stream's checkpoint saved in the same transaction as the records it covers.

:class:`StreamSync` reads one stream from the state saved last time. The records read up
to each :class:`~tessera.connectors.sdk.Checkpoint` are upserted by their external id in
one transaction that also saves the checkpoint's state and the run's counts: a sync that
dies part way loses nothing and duplicates nothing — the next run starts from the last
checkpoint, reads the records after it again and upserts them onto the same Tessera
records. A record the record service refuses (a value that breaks a validation rule, a
permission) is reported in the run's log and skipped; the rest of the batch is kept.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tessera.connectors.sdk import Checkpoint, Connector, Lookup, Record, StreamSpec
from tessera.metadata.changes import find_object
from tessera.platform.errors import TesseraError
from tessera.platform.records import RecordService, RecordWriter
from tessera.platform.tables import sync_runs, sync_states

#: records written per transaction when a connector yields no checkpoint for a long while
MAX_BATCH = 500
#: errors kept in a run's log (the count goes on)
MAX_LOGGED_ERRORS = 100


def source_value(record: Any, pointer: str) -> Any:
    """The value at a JSON pointer (RFC 6901: ``/a/0/b``; ``""`` is the whole record, and
    a pointer without its leading ``/`` is read as if it had one), or ``None``."""
    if pointer == "":
        return record
    value: Any = record
    for raw in pointer.removeprefix("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if value is None:
            return None
    return value


def external_id(value: Any) -> str:
    """A source key as Tessera stores it: text (``42`` and ``"42"`` are one record)."""
    return str(value)


@dataclass
class SyncCounts:
    read: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, key: Any, exc: TesseraError) -> None:
        self.failed += 1
        if len(self.errors) < MAX_LOGGED_ERRORS:
            first = exc.problems[0]
            self.errors.append(
                {
                    "key": None if key is None else external_id(key),
                    "code": first.code,
                    "message": str(exc),
                    "path": [str(p) for p in first.path],
                }
            )


class StreamSync:
    """One run of one stream of one connection (a row of ``sync_runs``)."""

    def __init__(
        self,
        records: RecordService,
        workspace: str,
        connection_id: uuid.UUID,
        run_id: uuid.UUID,
        spec: StreamSpec,
        *,
        actor: uuid.UUID | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.records = records
        self.workspace = workspace
        self.connection_id = connection_id
        self.run_id = run_id
        self.spec = spec
        self.actor = actor
        self.clock = clock
        self.counts = SyncCounts()
        #: the record ids lookups found in the current transaction, by (object, field, value)
        self.found: dict[tuple[str, str, str], str] = {}

    def run(self, connector: Connector, config: Mapping[str, Any]) -> SyncCounts:
        """Read the stream from its saved state and write what comes, batch by batch.
        A connector error propagates after the batches before it were kept."""
        with self.records.engine.connect() as conn:
            state = load_state(conn, self.connection_id, self.spec.name)
        batch: list[Mapping[str, Any]] = []
        for item in connector.read(config, self.spec.name, state):
            if isinstance(item, Record):
                batch.append(item.data)
                if len(batch) >= MAX_BATCH:
                    self.write(batch, None)
                    batch = []
            elif isinstance(item, Checkpoint):
                self.write(batch, item.state)
                batch = []
        self.write(batch, None)
        return self.counts

    def write(self, batch: list[Mapping[str, Any]], state: Mapping[str, Any] | None) -> None:
        """Upsert ``batch`` and save ``state`` (when given) and the run's counts, in one transaction."""
        if not batch and state is None:
            return
        counts = copy.deepcopy(self.counts)  # kept only when the transaction commits
        self.found = {}  # lookups resolved in this transaction
        with self.records.writer(self.workspace, actor=self.actor) as writer:
            for data in batch:
                counts.read += 1
                key = source_value(data, self.spec.key)
                try:
                    values = self.values(writer, data)
                    _, created = writer.upsert(self.spec.object, self.spec.external_id_field, values)
                except TesseraError as exc:
                    counts.fail(key, exc)
                    continue
                if created:
                    counts.created += 1
                else:
                    counts.updated += 1
            if state is not None:
                save_state(writer.conn, self.connection_id, self.spec.name, state, self.clock())
            save_counts(writer.conn, self.run_id, counts, self.clock())
        self.counts = counts

    def values(self, writer: RecordWriter, data: Mapping[str, Any]) -> dict[str, Any]:
        key = source_value(data, self.spec.key)
        values: dict[str, Any] = {self.spec.external_id_field: None if key is None else external_id(key)}
        for target, source in self.spec.fields.items():
            if isinstance(source, Lookup):
                values[target] = self.lookup(writer, source, source_value(data, source.pointer))
            else:
                values[target] = source_value(data, source)
        return values

    def lookup(self, writer: RecordWriter, lookup: Lookup, value: Any) -> str | None:
        if value is None:
            return None
        obj = find_object(writer.state, lookup.object, ("fields",))
        fld = obj.field_named(lookup.field)
        if fld is None or not fld.unique:
            raise TesseraError.single(
                "INVALID_MAPPING",
                f"A lookup finds '{lookup.object}' records by a unique field; '{lookup.field}' is not one.",
                ("fields",),
            )
        key = (lookup.object, lookup.field, external_id(value))
        if key in self.found:  # a page of contacts often names the same company
            return self.found[key]
        holder = writer.holder_of(obj, fld, external_id(value))
        if holder is None or holder["deleted_at"] is not None:
            return None  # not kept: a record of this page may create it
        self.found[key] = str(holder["id"])
        return self.found[key]


def load_state(conn: Connection, connection_id: uuid.UUID, stream: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(sync_states.c.state).where(
            sync_states.c.connection_id == connection_id, sync_states.c.stream == stream
        )
    ).first()
    return None if row is None else dict(row.state)


def save_state(
    conn: Connection, connection_id: uuid.UUID, stream: str, state: Mapping[str, Any], now: dt.datetime
) -> None:
    where = sa.and_(sync_states.c.connection_id == connection_id, sync_states.c.stream == stream)
    changed = conn.execute(sa.update(sync_states).where(where).values(state=dict(state), updated_at=now))
    if not changed.rowcount:
        conn.execute(
            sa.insert(sync_states).values(
                connection_id=connection_id, stream=stream, state=dict(state), updated_at=now
            )
        )


def save_counts(conn: Connection, run_id: uuid.UUID, counts: SyncCounts, now: dt.datetime) -> None:
    """The run's counts so far, and a heartbeat: it is alive."""
    conn.execute(
        sa.update(sync_runs)
        .where(sync_runs.c.id == run_id)
        .values(
            heartbeat_at=now,
            records_read=counts.read,
            records_created=counts.created,
            records_updated=counts.updated,
            records_failed=counts.failed,
            errors=counts.errors,
        )
    )
