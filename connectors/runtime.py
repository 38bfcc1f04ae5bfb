"""Connectors at work: discovery, connections, syncs as Dramatiq jobs, actions for workflows.

- :func:`installed_connectors` finds connector classes through the ``tessera.connectors``
  entry point group.
- :class:`ConnectorRuntime` creates connections (installing the package a connector
  ships, if it has one), checks them, runs syncs — by hand, from the CLI or on their cron
  schedule — and keeps the sync log (``sync_runs``). Every record a sync or an action
  writes goes through the record service with the connection's ``run_as`` rights.
- Retries follow the connector error taxonomy: a rate-limited or transient failure is
  tried again (after the other side's Retry-After, else 30 s, 2 min, 10 min…) up to the
  manifest's ``max_retries``; a configuration, authentication or permanent failure stops
  the run at once. Dramatiq's own retries are off for syncs.
- :class:`ConnectorActions` resolves a workflow's ``connector_action`` step
  (``connector: <connection or connector name>``, ``action: <name>``) to the connector's
  :meth:`~tessera.connectors.sdk.Connector.execute`, its errors mapped to the engine's
  retryable or final failures.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.metadata
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
import jsonschema
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.connectors.connections import (
    Connection,
    ConnectionStore,
    SecretBox,
    connection_from_row,
    next_run,
)
from tessera.connectors.sdk import (
    Connector,
    ConnectorContext,
    ConnectorError,
    RateLimited,
    StreamSpec,
    Subscription,
    secret_fields,
)
from tessera.connectors.sync import StreamSync, SyncCounts
from tessera.connectors.webhooks import generate_secret, verify
from tessera.metadata.packages import read_package
from tessera.metadata.store import MetadataStore
from tessera.platform.audit import record_admin_event
from tessera.platform.database import write_transaction
from tessera.platform.errors import NotFound, TesseraError
from tessera.platform.packages import PackageManager
from tessera.platform.records import RecordService, record_json
from tessera.platform.settings import Settings
from tessera.platform.tables import connections, sync_runs, workspaces
from tessera.platform.workspaces import get_workspace
from tessera.workflows.actions import Action, ActionCall, ActionFailed

logger = logging.getLogger("tessera.connectors")

ENTRY_POINT_GROUP = "tessera.connectors"
SYNC_QUEUE = "tessera_connector_syncs"
SYNC_ACTOR = "run_connector_sync"
#: seconds before each retry of a rate-limited or transient failure (the last repeats)
RETRY_DELAYS = (30, 120, 600, 1800)
#: a running sync that wrote nothing for this long died with its worker: it is run again
#: from its last checkpoint (a connector yields a checkpoint well within it)
STALE_AFTER = dt.timedelta(minutes=15)
Clock = Callable[[], dt.datetime]


@contextmanager
def as_tessera_errors() -> Iterator[None]:
    """A connector's failure inside an admin's request (a check of the streams, a push
    registration) as a Tessera error — coded ``CONNECTOR_<KIND>``, with the connector's
    words and path — so the API and the CLI answer it instead of failing unexpectedly."""
    try:
        yield
    except ConnectorError as exc:
        raise TesseraError.single(f"CONNECTOR_{exc.kind.upper()}", str(exc), exc.path) from exc


def installed_connectors() -> dict[str, type[Connector]]:
    """The connector classes the ``tessera.connectors`` entry points name, by name. An
    entry point that does not load is logged and left out."""
    found: dict[str, type[Connector]] = {}
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception:
            logger.exception("connector entry point %s (%s) does not load", entry.name, entry.value)
            continue
        if not (isinstance(loaded, type) and issubclass(loaded, Connector)):
            logger.error("connector entry point %s names %r, not a Connector class", entry.name, loaded)
            continue
        found[loaded.manifest.name] = loaded
    return dict(sorted(found.items()))


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


class ServiceRecords:
    """Tessera's records for a connector (:class:`~tessera.connectors.sdk.RecordAccess`):
    the record service, acting as the connection's ``run_as``. Records come as JSON, each
    value as its field type writes it (a currency is ``{amount, currency_code}``, a lookup
    the linked record's id), as in record events."""

    def __init__(self, service: RecordService, workspace: str, actor: uuid.UUID | None) -> None:
        self.service = service
        self.workspace = workspace
        self.actor = actor

    def as_json(self, object_name: str, record: Mapping[str, Any]) -> dict[str, Any]:
        obj = MetadataStore(self.service.engine).state(self.workspace).object_named(object_name)
        return record_json(obj, record) if obj is not None else dict(jsonable(record))

    def find(
        self, object_name: str, filter_doc: Mapping[str, Any] | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        found = self.service.find(self.workspace, object_name, filter_doc, limit=limit, actor=self.actor)
        return [self.as_json(object_name, r) for r in found]

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        found = self.service.get(self.workspace, object_name, uuid.UUID(str(record_id)), actor=self.actor)
        return None if found is None else self.as_json(object_name, found)

    def create(self, object_name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return self.as_json(
            object_name, self.service.create(self.workspace, object_name, values, actor=self.actor)
        )

    def update(self, object_name: str, record_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        record = self.service.update(
            self.workspace, object_name, uuid.UUID(str(record_id)), values, actor=self.actor
        )
        return self.as_json(object_name, record)

    def upsert(self, object_name: str, match_field: str, values: Mapping[str, Any]) -> dict[str, Any]:
        record, _ = self.service.upsert(self.workspace, object_name, match_field, values, actor=self.actor)
        return self.as_json(object_name, record)


@dataclass(frozen=True)
class SyncRun:
    id: uuid.UUID
    connection: str
    stream: str
    trigger: str
    status: str
    attempts: int
    records_read: int
    records_created: int
    records_updated: int
    records_failed: int
    errors: list[dict[str, Any]]
    error: dict[str, Any] | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    due_at: dt.datetime | None

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class ConnectorRuntime:
    """Connections, checks, syncs and the sync log of every workspace."""

    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        *,
        connectors: Mapping[str, type[Connector]] | None = None,
        records: RecordService | None = None,
        packages: PackageManager | None = None,
        clock: Clock | None = None,
        time_zone: str = "UTC",
    ) -> None:
        self.engine = engine
        self.connectors = dict(installed_connectors() if connectors is None else connectors)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.store = ConnectionStore(engine, box, clock=self.clock)
        self.records = records or RecordService(engine, clock=self.clock, time_zone=time_zone)
        self.packages = packages or PackageManager(engine, clock=self.clock)
        #: hands a run to a worker (set by :meth:`attach`); :meth:`tick` calls it for due runs
        self.enqueue: Callable[[uuid.UUID], None] | None = None

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> ConnectorRuntime:
        return cls(
            engine,
            SecretBox.from_settings(settings),
            packages=PackageManager(engine, export_dir=settings.data_dir / "exports"),
            time_zone=settings.time_zone,
        )

    # -- connectors ---------------------------------------------------------------------
    def connector(self, name: str) -> type[Connector]:
        found = self.connectors.get(name)
        if found is None:
            known = ", ".join(self.connectors) or "none"
            raise NotFound.single(
                "UNKNOWN_CONNECTOR",
                f"No connector '{name}' is installed (installed: {known}).",
                ("connector",),
            )
        return found

    def instance(self, connection: Connection, workspace: str) -> Connector:
        context = ConnectorContext(
            workspace, connection.name, ServiceRecords(self.records, workspace, connection.run_as)
        )
        return self.connector(connection.connector)(context)

    # -- connections --------------------------------------------------------------------
    def create_connection(
        self,
        workspace: str,
        name: str,
        connector_name: str,
        config: Mapping[str, Any],
        *,
        streams: list[str] | None = None,
        schedule: str | None = None,
        run_as: uuid.UUID | None = None,
        actor: str = "system",
    ) -> Connection:
        """A new connection. The package the connector ships (the objects and fields its
        streams feed) is installed first when the workspace lacks it."""
        connector = self.connector(connector_name)
        self.install_package(workspace, connector, actor)
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            created = self.store.create(
                conn, ws, connector, name, config, streams=streams, schedule=schedule, run_as=run_as
            )
            record_admin_event(conn, ws.id, "connection_created", name, actor, after=self.shown(created))
        return created

    def install_package(self, workspace: str, connector: type[Connector], actor: str) -> None:
        if connector.manifest.package is None:
            return
        module = importlib.import_module(connector.__module__)
        folder = Path(module.__file__ or "").parent / connector.manifest.package
        package = read_package(folder)
        installed = {p.name: p for p in self.packages.installed(workspace)}
        if package.name not in installed:
            self.packages.install(workspace, package, sample_data=False, actor=actor)
        elif installed[package.name].version != str(package.manifest["version"]):
            self.packages.upgrade(workspace, package, actor=actor)

    def update_connection(
        self, workspace: str, name: str, changes: Mapping[str, Any], *, actor: str = "system"
    ) -> Connection:
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            before = self.store.get_in(conn, ws, name)
            after = self.store.update(conn, ws, self.connector(before.connector), name, changes)
            record_admin_event(
                conn,
                ws.id,
                "connection_updated",
                name,
                actor,
                before=self.shown(before),
                after=self.shown(after),
            )
        return after

    def delete_connection(self, workspace: str, name: str, *, actor: str = "system") -> None:
        """Delete a connection (its pushes stopped first, when the other side answers)."""
        current = self.store.get(workspace, name)
        if current.push is not None:
            try:
                self.unsubscribe(workspace, name, actor=actor)
            except TesseraError as exc:  # the other side refused or is away: delete anyway
                logger.warning("connection %s: the push registration stays on the other side: %s", name, exc)
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            gone = self.store.delete(conn, ws, name)
            record_admin_event(conn, ws.id, "connection_deleted", name, actor, before=self.shown(gone))

    def shown(self, connection: Connection) -> dict[str, Any]:
        """A connection as the API, the CLI and the audit trail show it: no secret."""
        connector = self.connectors.get(connection.connector)
        secrets = [] if connector is None else secret_fields(connector.manifest.config_schema)
        return dict(jsonable(connection.describe(secrets)))

    # -- push -------------------------------------------------------------------------------
    def subscribe(self, workspace: str, name: str, public_url: str, *, actor: str = "system") -> Connection:
        """Ask the other system to push changes to ``public_url``/hooks/connections/<id>,
        signed (Standard Webhooks) with a new secret; a push queues a sync."""
        connection = self.store.get(workspace, name)
        if not public_url.startswith(("https://", "http://")):
            raise TesseraError.single(
                "INVALID_URL",
                "The public URL is Tessera's address as the other system reaches it: http(s)://…",
                ("publicUrl",),
            )
        callback = f"{public_url.rstrip('/')}/hooks/connections/{connection.id}"
        secret = generate_secret()
        connector = self.instance(connection, workspace)
        config = self.store.config_of(connection)
        with as_tessera_errors():
            if connection.push is not None:
                connector.unsubscribe(config, Subscription(connection.push["id"], connection.push["details"]))
            made = connector.subscribe(config, callback, secret)
        if made is None:
            raise TesseraError.single(
                "PUSH_NOT_SUPPORTED",
                f"Connector '{connection.connector}' cannot push changes: schedule its syncs instead.",
                ("name",),
            )
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            push = {"id": made.id, "details": dict(made.details), "callbackUrl": callback}
            self.store.set_push(conn, connection, push, secret)
            record_admin_event(conn, ws.id, "connection_subscribed", name, actor, after=jsonable(push))
            return self.store.get_in(conn, ws, name)

    def unsubscribe(self, workspace: str, name: str, *, actor: str = "system") -> Connection:
        connection = self.store.get(workspace, name)
        if connection.push is not None:
            with as_tessera_errors():
                self.instance(connection, workspace).unsubscribe(
                    self.store.config_of(connection),
                    Subscription(connection.push["id"], connection.push["details"]),
                )
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            self.store.set_push(conn, connection, None, None)
            record_admin_event(conn, ws.id, "connection_unsubscribed", name, actor, before=connection.push)
            return self.store.get_in(conn, ws, name)

    def receive_push(
        self, connection_id: uuid.UUID, headers: Mapping[str, str], body: bytes
    ) -> list[uuid.UUID]:
        """A push from the other system: verified against the connection's secret over the
        raw body, then a sync of the stream it names (``{"stream": …}``; else every stream)
        is queued — unless one is queued already, which will read the change too."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(connections, workspaces.c.slug)
                .join(workspaces, workspaces.c.id == connections.c.workspace_id)
                .where(connections.c.id == connection_id)
            ).first()
        connection = None if row is None else connection_from_row(row)
        secret = None if connection is None else self.store.push_secret_of(connection)
        if row is None or connection is None or secret is None or not connection.enabled:
            raise NotFound.single("UNKNOWN_HOOK", "No connection takes pushes at this address.")
        verify(secret, headers, body, now=self.clock())
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            payload = {}
        stream = payload.get("stream") if isinstance(payload, dict) else None
        with self.engine.connect() as conn:
            waiting = {
                r.stream: r.id
                for r in conn.execute(
                    sa.select(sync_runs.c.stream, sync_runs.c.id).where(
                        sync_runs.c.connection_id == connection.id, sync_runs.c.status == "queued"
                    )
                )
            }
        if isinstance(stream, str) and stream in waiting:
            return [waiting[stream]]
        if stream is None and waiting:
            return list(waiting.values())
        return self.queue_sync(
            row.slug, connection.name, stream=stream if isinstance(stream, str) else None, trigger="push"
        )

    # -- check --------------------------------------------------------------------------
    def check(self, workspace: str, name: str) -> tuple[bool, str]:
        connection = self.store.get(workspace, name)
        connector = self.instance(connection, workspace)
        try:
            result = connector.check(self.store.config_of(connection))
        except ConnectorError as exc:
            return False, str(exc)
        return result.ok, result.message

    # -- syncs --------------------------------------------------------------------------
    def streams_of(self, connection: Connection, connector: Connector) -> list[StreamSpec]:
        offered = connector.discover(self.store.config_of(connection)).streams
        if connection.streams is None:
            return list(offered)
        by_name = {s.name: s for s in offered}
        return [by_name[n] for n in connection.streams if n in by_name]

    def queue_sync(
        self, workspace: str, name: str, *, stream: str | None = None, trigger: str = "manual"
    ) -> list[uuid.UUID]:
        """New sync runs (one per stream, or just ``stream``), queued: a worker's
        :meth:`tick` hands them over (or :meth:`run` runs one here); their ids."""
        connection = self.store.get(workspace, name)
        with as_tessera_errors():
            specs = self.streams_of(connection, self.instance(connection, workspace))
        if stream is not None:
            specs = [s for s in specs if s.name == stream]
            if not specs:
                raise TesseraError.single(
                    "UNKNOWN_STREAM", f"Connection '{name}' does not sync a stream '{stream}'.", ("stream",)
                )
        now = self.clock()
        ids = [uuid.uuid4() for _ in specs]
        with write_transaction(self.engine) as conn:
            conn.execute(
                sa.insert(sync_runs),
                [
                    {
                        "id": run_id,
                        "workspace_id": connection.workspace_id,
                        "connection_id": connection.id,
                        "stream": spec.name,
                        "trigger": trigger,
                        "status": "queued",
                        "attempts": 0,
                        "records_read": 0,
                        "records_created": 0,
                        "records_updated": 0,
                        "records_failed": 0,
                        "errors": [],
                        "created_at": now,
                        "due_at": now,
                    }
                    for run_id, spec in zip(ids, specs, strict=True)
                ],
            )
        return ids

    def sync_now(
        self, workspace: str, name: str, *, stream: str | None = None, trigger: str = "cli"
    ) -> list[SyncRun]:
        """Queue and run the syncs in this process, retries included (the CLI's way)."""
        runs = []
        for run_id in self.queue_sync(workspace, name, stream=stream, trigger=trigger):
            while (delay := self.run(run_id)) is not None:
                logger.info("sync %s: retrying in %.0f s", run_id, delay)
                time.sleep(delay)
            runs.append(self.sync_run(run_id))
        return runs

    def run(self, run_id: uuid.UUID) -> float | None:
        """One attempt of a sync run. ``None`` when it is done (succeeded or failed for
        good, or not this worker's to run); else the seconds before the next attempt."""
        claimed = self.claim(run_id)
        if claimed is None:
            return None
        workspace, connection, run = claimed
        max_retries = 0
        try:
            connector = self.instance(connection, workspace)
            max_retries = connector.manifest.max_retries
            spec = next((s for s in self.streams_of(connection, connector) if s.name == run["stream"]), None)
            if spec is None:
                raise TesseraError.single(
                    "UNKNOWN_STREAM", f"Connection '{connection.name}' no longer syncs '{run['stream']}'."
                )
            sync = StreamSync(
                self.records,
                workspace,
                connection.id,
                run_id,
                spec,
                actor=connection.run_as,
                clock=self.clock,
            )
            sync.counts = SyncCounts(  # an attempt goes on from the counts of the ones before
                run["records_read"],
                run["records_created"],
                run["records_updated"],
                run["records_failed"],
                list(run["errors"]),
            )
            sync.run(connector, self.store.config_of(connection))
        except ConnectorError as exc:
            attempts = run["attempts"] + 1
            if exc.retryable and attempts <= max_retries:
                delay = retry_delay(exc, attempts)
                self.finish(run_id, "retrying", exc.kind, str(exc), retry_in=delay)
                return delay
            self.finish(run_id, "failed", exc.kind, str(exc))
            return None
        except TesseraError as exc:
            self.finish(run_id, "failed", exc.problems[0].code, str(exc))
            return None
        except Exception as exc:  # a connector's bug: logged, the run fails, the worker goes on
            logger.exception("sync %s of %s failed", run["stream"], connection.name)
            self.finish(run_id, "failed", "internal", f"{type(exc).__name__}: {exc}")
            return None
        self.finish(run_id, "succeeded")
        return None

    def claim(self, run_id: uuid.UUID) -> tuple[str, Connection, dict[str, Any]] | None:
        """Mark a queued or retrying run as running (one attempt at a time): its workspace,
        connection and row; ``None`` when another worker has it or it is finished."""
        now = self.clock()
        with write_transaction(self.engine) as conn:
            marked = conn.execute(
                sa.update(sync_runs)
                .where(sync_runs.c.id == run_id, sync_runs.c.status.in_(("queued", "retrying")))
                .values(
                    status="running",
                    started_at=sa.func.coalesce(sync_runs.c.started_at, now),
                    heartbeat_at=now,
                    due_at=None,
                )
            )
            if not marked.rowcount:
                return None
            row = (
                conn.execute(
                    sa.select(sync_runs, workspaces.c.slug, connections)
                    .join(workspaces, workspaces.c.id == sync_runs.c.workspace_id)
                    .join(connections, connections.c.id == sync_runs.c.connection_id)
                    .where(sync_runs.c.id == run_id)
                )
                .mappings()
                .one()
            )
        connection = connection_from_row(_Columns(row, connections))
        return row["slug"], connection, dict(row)

    def finish(
        self,
        run_id: uuid.UUID,
        status: str,
        kind: str | None = None,
        message: str | None = None,
        *,
        retry_in: float | None = None,
    ) -> None:
        now = self.clock()
        values: dict[str, Any] = {"status": status, "attempts": sync_runs.c.attempts + 1}
        values["error"] = None if kind is None else {"kind": kind, "message": message}
        if retry_in is None:
            values["finished_at"] = now
        else:
            values["due_at"] = now + dt.timedelta(seconds=retry_in)
        with write_transaction(self.engine) as conn:
            conn.execute(sa.update(sync_runs).where(sync_runs.c.id == run_id).values(**values))

    # -- the sync log -------------------------------------------------------------------
    def sync_run(self, run_id: uuid.UUID) -> SyncRun:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(sync_runs, connections.c.name)
                    .join(connections, connections.c.id == sync_runs.c.connection_id)
                    .where(sync_runs.c.id == run_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound.single("UNKNOWN_SYNC_RUN", f"There is no sync run {run_id}.", ("id",))
        return sync_run_from_row(row)

    def sync_runs(self, workspace: str, name: str | None = None, *, limit: int = 50) -> list[SyncRun]:
        """The workspace's (or one connection's) sync runs, newest first."""
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            query = (
                sa.select(sync_runs, connections.c.name)
                .join(connections, connections.c.id == sync_runs.c.connection_id)
                .where(sync_runs.c.workspace_id == ws.id)
            )
            if name is not None:
                query = query.where(connections.c.id == self.store.get_in(conn, ws, name).id)
            rows = conn.execute(query.order_by(sync_runs.c.created_at.desc()).limit(limit)).mappings()
            return [sync_run_from_row(row) for row in rows]

    # -- scheduling ---------------------------------------------------------------------
    def tick(self) -> int:
        """Queue the syncs of connections whose schedule is due, take up the runs whose
        worker died, and hand to workers the runs that are due (new, or whose retry time has
        come); how many were handed over."""
        now = self.clock()
        self.take_up_stale_runs(now)
        with self.engine.connect() as conn:
            due = conn.execute(
                sa.select(connections.c.id, connections.c.name, connections.c.schedule, workspaces.c.slug)
                .join(workspaces, workspaces.c.id == connections.c.workspace_id)
                .where(connections.c.enabled.is_(True), connections.c.next_sync_at <= now)
            ).all()
            ready = list(
                conn.execute(
                    sa.select(sync_runs.c.id).where(
                        sync_runs.c.status.in_(("queued", "retrying")), sync_runs.c.due_at <= now
                    )
                ).scalars()
            )
        for row in due:
            with write_transaction(self.engine) as conn:
                moved = conn.execute(
                    sa.update(connections)
                    .where(connections.c.id == row.id, connections.c.next_sync_at <= now)
                    .values(next_sync_at=next_run(row.schedule, now))
                )
            if moved.rowcount:  # another scheduler did not take it first
                try:
                    ready += self.queue_sync(row.slug, row.name, trigger="schedule")
                except (TesseraError, ConnectorError) as exc:
                    logger.error("scheduled sync of %s/%s not started: %s", row.slug, row.name, exc)
        if self.enqueue is None:
            return 0
        # Sent, then marked: a crash in between sends a run twice, and the second finds it
        # taken (:meth:`claim`); marking first could lose it.
        for run_id in ready:
            self.enqueue(run_id)
        if ready:
            with write_transaction(self.engine) as conn:
                conn.execute(sa.update(sync_runs).where(sync_runs.c.id.in_(ready)).values(due_at=None))
        return len(ready)

    def take_up_stale_runs(self, now: dt.datetime) -> None:
        """Runs left ``running`` by a worker that died go back to the queue (as an attempt
        that failed), to resume from their last checkpoint."""
        stale = sa.and_(sync_runs.c.status == "running", sync_runs.c.heartbeat_at < now - STALE_AFTER)
        with self.engine.connect() as conn:
            if conn.execute(sa.select(sync_runs.c.id).where(stale).limit(1)).first() is None:
                return  # the usual case: no write
        with write_transaction(self.engine) as conn:
            conn.execute(
                sa.update(sync_runs)
                .where(stale)
                .values(
                    status="retrying",
                    attempts=sync_runs.c.attempts + 1,
                    due_at=now,
                    error={"kind": "interrupted", "message": "The worker running it stopped; resumed."},
                )
            )

    def attach(self, broker: dramatiq.Broker) -> dramatiq.Actor[[str], None]:
        """Run syncs as Dramatiq jobs on ``broker`` (queue ``tessera_connector_syncs``)."""

        def run_connector_sync(run_id: str) -> None:
            self.run(uuid.UUID(run_id))  # a retry is due later: the tick hands it over again

        actor: dramatiq.Actor[[str], None] = dramatiq.Actor(
            run_connector_sync,
            broker=broker,
            actor_name=SYNC_ACTOR,
            queue_name=SYNC_QUEUE,
            priority=10,
            options={"max_retries": 0},
        )

        def enqueue(run_id: uuid.UUID) -> None:
            actor.send(str(run_id))

        self.enqueue = enqueue
        return actor

    # -- actions ------------------------------------------------------------------------
    def execute(
        self, workspace: str, target: str, action: str, payload: Mapping[str, Any], idempotency_key: str
    ) -> Mapping[str, Any]:
        """Run a connector's action with the connection ``target`` names (a connection's
        name, or a connector's whose workspace has exactly one connection of it)."""
        connection = self.connection_for(workspace, target)
        connector = self.instance(connection, workspace)
        spec = connector.manifest.action(action)
        problems = list(_schema_errors(spec.input_schema, payload))
        if problems:
            raise ActionFailed(f"{target}.{action}: {problems[0]}", "INVALID_INPUT", retryable=False)
        return connector.execute(self.store.config_of(connection), action, payload, idempotency_key)

    def connection_for(self, workspace: str, target: str) -> Connection:
        candidates = self.store.list(workspace)
        named = [c for c in candidates if c.name == target]
        if not named:
            named = [c for c in candidates if c.connector == target]
        if len(named) != 1:
            why = "none" if not named else f"{len(named)}: name one of {', '.join(c.name for c in named)}"
            raise ActionFailed(
                f"'{target}' names no single connection of workspace '{workspace}' ({why}).",
                "UNKNOWN_CONNECTION",
                retryable=False,
            )
        if not named[0].enabled:
            raise ActionFailed(
                f"Connection '{named[0].name}' is disabled.", "CONNECTION_DISABLED", retryable=False
            )
        return named[0]


def _schema_errors(schema: Mapping[str, Any], payload: Any) -> Iterator[str]:
    for error in sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(payload),
        key=lambda e: list(map(str, e.absolute_path)),
    ):
        where = ".".join(map(str, error.absolute_path)) or "input"
        yield f"{where}: {error.message}"


class _Columns:
    """The columns of ``table`` in a joined row, as attributes."""

    def __init__(self, row: sa.RowMapping, table: sa.Table) -> None:
        for column in table.c:
            setattr(self, column.name, row[column])


def retry_delay(exc: ConnectorError, attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1-based): the other side's Retry-After when
    it gave one, else the schedule."""
    scheduled = float(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1])
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return max(exc.retry_after, 1.0)
    return scheduled


def sync_run_from_row(row: Mapping[str, Any] | sa.RowMapping) -> SyncRun:
    return SyncRun(
        id=row["id"],
        connection=row["name"],
        stream=row["stream"],
        trigger=row["trigger"],
        status=row["status"],
        attempts=row["attempts"],
        records_read=row["records_read"],
        records_created=row["records_created"],
        records_updated=row["records_updated"],
        records_failed=row["records_failed"],
        errors=list(row["errors"]),
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        due_at=row["due_at"],
    )


class ConnectorAction(Action):
    """A ``connector_action`` step: ``<connection or connector>.<action>``."""

    def __init__(self, runtime: ConnectorRuntime, target: str, action: str) -> None:
        self.runtime = runtime
        self.target = target
        self.action = action
        self.name = f"{target}.{action}"  # type: ignore[misc]

    def check_input(self, payload: Mapping[str, Any]) -> None:
        """Checked against the action's schema once the connection is known (in :meth:`execute`)."""

    def execute(self, call: ActionCall, payload: Mapping[str, Any]) -> Any:
        try:
            return dict(
                self.runtime.execute(call.workspace, self.target, self.action, payload, call.idempotency_key)
            )
        except RateLimited as exc:
            raise ActionFailed(str(exc), "RATE_LIMITED", retryable=True, retry_after=exc.retry_after) from exc
        except ConnectorError as exc:
            raise ActionFailed(str(exc), f"CONNECTOR_{exc.kind.upper()}", retryable=exc.retryable) from exc
        except TesseraError as exc:
            raise ActionFailed(str(exc), exc.problems[0].code, retryable=False) from exc


class ConnectorActions:
    """Resolves ``<target>.<action>`` names for the workflow action registry."""

    def __init__(self, runtime: ConnectorRuntime) -> None:
        self.runtime = runtime

    def __call__(self, name: str) -> Action | None:
        target, dot, action = name.partition(".")
        if not dot or not target or not action:
            return None
        return ConnectorAction(self.runtime, target, action)
