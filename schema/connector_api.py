"""Connectors and connections over the metadata API: what is installed, the workspace's
connections (secrets never shown), checks, syncs and the sync log. Needs manage_connectors."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.scalars import JSON
from strawberry.types import Info

from tessera.connectors.connections import Connection
from tessera.connectors.runtime import ConnectorRuntime, SyncRun
from tessera.connectors.sdk import Connector
from tessera.platform.errors import TesseraError
from tessera.schema.errors import error_payload, to_graphql_error
from tessera.schema.metadata_api import MetadataContext, admin_context, call

CAPABILITY = "manage_connectors"
T = TypeVar("T")


async def call_as_written(function: Callable[[], T]) -> T:
    """Like :func:`call`, keeping input paths as written: a configuration's keys are the
    connector's, not the API's camelCase names."""
    try:
        return await run_in_threadpool(function)
    except TesseraError as exc:
        payload = error_payload(exc, list)
        raise GraphQLError(payload["message"], extensions=payload["extensions"]) from exc


def runtime_of(ctx: MetadataContext) -> ConnectorRuntime:
    if ctx.connectors is None:
        raise to_graphql_error(
            TesseraError.single("CONNECTORS_UNAVAILABLE", "This server runs no connectors.")
        )
    return ctx.connectors


@strawberry.type(name="Connector", description="A connector installed on this server.")
class ConnectorType:
    name: str
    version: str
    title: str
    description: str
    config_schema: JSON = strawberry.field(description="JSON Schema of a connection's configuration")
    secret_fields: list[str] = strawberry.field(
        description="configuration properties kept encrypted, never shown"
    )
    streams: JSON = strawberry.field(description="what it syncs: key, cursor field, object and field mapping")
    actions: JSON = strawberry.field(description="what workflows can call: input and output JSON Schemas")

    @classmethod
    def of(cls, connector: type[Connector]) -> ConnectorType:
        described = connector.manifest.describe()
        return cls(
            name=described["name"],
            version=described["version"],
            title=described["title"],
            description=described["description"],
            config_schema=JSON(described["configSchema"]),
            secret_fields=described["secretFields"],
            streams=JSON(described["streams"]),
            actions=JSON(described["actions"]),
        )


@strawberry.type(name="Connection", description="A workspace's configured use of a connector.")
class ConnectionType:
    name: str
    connector: str
    config: JSON = strawberry.field(description="the configuration; each secret that is set reads <set>")
    streams: list[str] | None = strawberry.field(description="the streams synced; null: all")
    schedule: str | None = strawberry.field(description="cron expression of automatic syncs; null: by hand")
    next_sync_at: dt.datetime | None
    run_as: uuid.UUID | None = strawberry.field(description="the user or API key whose rights it writes with")
    enabled: bool
    push: JSON | None = strawberry.field(
        description="the other system's push registration: {id, details, callbackUrl}; null: none"
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, runtime: ConnectorRuntime, connection: Connection) -> ConnectionType:
        shown = runtime.shown(connection)
        return cls(
            name=connection.name,
            connector=connection.connector,
            config=JSON(shown["config"]),
            streams=connection.streams,
            schedule=connection.schedule,
            next_sync_at=connection.next_sync_at,
            run_as=connection.run_as,
            enabled=connection.enabled,
            push=None if connection.push is None else JSON(connection.push),
            created_at=connection.created_at,
            updated_at=connection.updated_at,
        )


@strawberry.type(name="SyncRun", description="One run of one stream of a connection: the sync log.")
class SyncRunType:
    id: uuid.UUID
    connection: str
    stream: str
    trigger: str = strawberry.field(description="manual, schedule or cli")
    status: str = strawberry.field(description="queued, running, retrying, succeeded or failed")
    attempts: int
    records_read: int
    records_created: int
    records_updated: int
    records_failed: int = strawberry.field(description="records skipped: the record service refused them")
    errors: JSON = strawberry.field(
        description="the skipped records (the first hundred): key, code, message, path"
    )
    error: JSON | None = strawberry.field(description="why the run stopped: {kind, message}")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    due_at: dt.datetime | None = strawberry.field(description="when a worker takes it (queued or retrying)")
    duration_ms: int | None

    @classmethod
    def of(cls, run: SyncRun) -> SyncRunType:
        return cls(
            id=run.id,
            connection=run.connection,
            stream=run.stream,
            trigger=run.trigger,
            status=run.status,
            attempts=run.attempts,
            records_read=run.records_read,
            records_created=run.records_created,
            records_updated=run.records_updated,
            records_failed=run.records_failed,
            errors=JSON(run.errors),
            error=None if run.error is None else JSON(run.error),
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            due_at=run.due_at,
            duration_ms=run.duration_ms,
        )


@strawberry.type(name="ConnectionCheck", description="What a connection's check found.")
class ConnectionCheckType:
    ok: bool
    message: str = strawberry.field(description="in the connector's words: what works, or what is wrong")


@strawberry.type
class ConnectorQuery:
    @strawberry.field(description="The connectors installed on this server. Needs manage_connectors.")
    async def connectors(self, info: Info[MetadataContext, Any]) -> list[ConnectorType]:
        runtime = runtime_of(admin_context(info, CAPABILITY))
        return [ConnectorType.of(c) for c in runtime.connectors.values()]

    @strawberry.field(description="The workspace's connections, by name. Needs manage_connectors.")
    async def connections(self, info: Info[MetadataContext, Any]) -> list[ConnectionType]:
        ctx = admin_context(info, CAPABILITY)
        runtime = runtime_of(ctx)
        return [ConnectionType.of(runtime, c) for c in await call(lambda: runtime.store.list(ctx.workspace))]

    @strawberry.field(
        description="The sync log, newest first: one connection's, or the workspace's. "
        "Needs manage_connectors."
    )
    async def sync_runs(
        self, info: Info[MetadataContext, Any], connection: str | None = None, first: int = 50
    ) -> list[SyncRunType]:
        ctx = admin_context(info, CAPABILITY)
        runtime = runtime_of(ctx)
        runs = await call(lambda: runtime.sync_runs(ctx.workspace, connection, limit=max(1, min(first, 500))))
        return [SyncRunType.of(r) for r in runs]


@strawberry.type
class ConnectorMutation:
    @strawberry.mutation(
        description="Connect the workspace to a system with a connector (installing the package the "
        "connector needs). Secrets in config are stored encrypted and never shown again. "
        "Needs manage_connectors."
    )
    async def create_connection(
        self,
        info: Info[MetadataContext, Any],
        name: str,
        connector: str,
        config: JSON,
        streams: list[str] | None = None,
        schedule: str | None = None,
        run_as: uuid.UUID | None = None,
    ) -> ConnectionType:
        ctx = admin_context(info, CAPABILITY)
        runtime = runtime_of(ctx)
        created = await call_as_written(
            lambda: runtime.create_connection(
                ctx.workspace,
                name,
                connector,
                cast(Mapping[str, Any], config),
                streams=streams,
                schedule=schedule,
                run_as=run_as,
                actor=ctx.actor,
            )
        )
        return ConnectionType.of(runtime, created)

    @strawberry.mutation(
        description="Change a connection; only what is given changes. In config, a secret left out or "
        "given as <set> keeps its value. Needs manage_connectors."
    )
    async def update_connection(
        self,
        info: Info[MetadataContext, Any],
        name: str,
        config: JSON | None = None,
        streams: list[str] | None = None,
        schedule: str | None = None,
        clear_schedule: bool = False,
        run_as: uuid.UUID | None = None,
        enabled: bool | None = None,
    ) -> ConnectionType:
        ctx = admin_context(info, CAPABILITY)
        runtime = runtime_of(ctx)
        changes: dict[str, Any] = {}
        if config is not None:
            changes["config"] = config
        if streams is not None:
            changes["streams"] = streams
        if schedule is not None or clear_schedule:
            changes["schedule"] = None if clear_schedule else schedule
        if run_as is not None:
            changes["run_as"] = run_as
        if enabled is not None:
            changes["enabled"] = enabled
        updated = await call_as_written(
            lambda: runtime.update_connection(ctx.workspace, name, changes, actor=ctx.actor)
        )
        return ConnectionType.of(runtime, updated)

    @strawberry.mutation(
        description="Delete a connection with its checkpoints and sync log; synced records stay. "
        "Needs manage_connectors."
    )
    async def delete_connection(self, info: Info[MetadataContext, Any], name: str) -> bool:
        ctx = admin_context(info, CAPABILITY)
        runtime = runtime_of(ctx)
        await call(lambda: runtime.delete_connection(ctx.workspace, name, actor=ctx.actor))
        return True

    @strawberry.mutation(description="Test a connection against its system. Needs manage_connectors.")
    async def check_connection(self, info: Info[MetadataContext, Any], name: str) -> ConnectionCheckType:
        ctx = admin_context(info, CAPABILITY)
        runtime = runtime_of(ctx)
        ok, message = await call(lambda: runtime.check(ctx.workspace, name))
        return ConnectionCheckType(ok=ok, message=message)

    @strawberry.mutation(
        description="Queue a sync of a connection (every stream, or one): workers run it; follow it in "
        "syncRuns. Needs manage_connectors."
    )
    async def sync_connection(
        self, info: Info[MetadataContext, Any], name: str, stream: str | None = None
    ) -> list[SyncRunType]:
        ctx = admin_context(info, CAPABILITY)
        runtime = runtime_of(ctx)
        ids = await call(lambda: runtime.queue_sync(ctx.workspace, name, stream=stream))
        return [SyncRunType.of(await call(lambda i=i: runtime.sync_run(i))) for i in ids]  # type: ignore[misc]

    @strawberry.mutation(
        description="Ask the connected system to push its changes to publicUrl/hooks/connections/<id> "
        "(signed per Standard Webhooks with a secret only the two sides know); each push queues a "
        "sync. publicUrl is Tessera's address as that system reaches it. Needs manage_connectors."
    )
    async def subscribe_connection(
        self, info: Info[MetadataContext, Any], name: str, public_url: str
    ) -> ConnectionType:
        ctx = admin_context(info, CAPABILITY)
        runtime = runtime_of(ctx)
        subscribed = await call(lambda: runtime.subscribe(ctx.workspace, name, public_url, actor=ctx.actor))
        return ConnectionType.of(runtime, subscribed)

    @strawberry.mutation(description="Stop the connected system's pushes. Needs manage_connectors.")
    async def unsubscribe_connection(self, info: Info[MetadataContext, Any], name: str) -> ConnectionType:
        ctx = admin_context(info, CAPABILITY)
        runtime = runtime_of(ctx)
        return ConnectionType.of(
            runtime, await call(lambda: runtime.unsubscribe(ctx.workspace, name, actor=ctx.actor))
        )
