"""The HTTP application: ``/healthz``, the record API at ``/graphql`` and the metadata API
at ``/graphql/metadata``."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http.ides import get_graphql_ide_html

from tessera.connectors.push import receive_connection_push
from tessera.connectors.runtime import ConnectorRuntime
from tessera.connectors.webhooks import WebhookService
from tessera.metadata.store import MetadataStore
from tessera.platform.auth import RequireAuthentication, principal_of, session_routes
from tessera.platform.database import create_engine
from tessera.platform.identity import IdentityService, Principal
from tessera.platform.permissions import NOBODY, Access
from tessera.platform.rate_limits import rate_limiter_from_url
from tessera.platform.settings import Settings
from tessera.platform.webhooks import receive_workflow_webhook
from tessera.platform.workspaces import WorkspaceService
from tessera.schema.metadata_api import MetadataContext, build_metadata_schema
from tessera.schema.query_limits import QueryLimits
from tessera.schema.read_planner import ReadSettings
from tessera.schema.record_api import Caller, GraphQLRequest, RecordAPI, dumps
from tessera.workflows.delivery import DeliveryRuntime
from tessera.workflows.engine import WorkflowEngine
from tessera.workflows.runtime import build_workflow_engine

logger = logging.getLogger("tessera")
#: the web console's files (no build step: ES modules and a vendored Preact + htm)
CONSOLE = Path(__file__).parent / "console"


class MetadataGraphQL(GraphQL[MetadataContext, None]):
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        store: MetadataStore,
        runner: WorkflowEngine,
        connectors: ConnectorRuntime,
    ) -> None:
        super().__init__(build_metadata_schema(), graphql_ide="graphiql")
        self.settings = settings
        self.store = store
        self.runner = runner
        self.workspaces = WorkspaceService(engine)
        self.connectors = connectors

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> MetadataContext:
        # Only the GraphiQL page comes here unauthenticated: it runs no resolver.
        principal: Principal | None = getattr(request.state, "principal", None)
        return MetadataContext(
            store=self.store,
            workspaces=self.workspaces,
            workspace=principal.workspace if principal else self.settings.default_workspace,
            actor=principal.name if principal else "anonymous",
            workflows=self.runner.workflows,
            runner=self.runner,
            access=principal.access if principal else Access(NOBODY),
            may_introspect=may_introspect(self.settings, principal),
            export_dir=self.settings.data_dir / "exports",
            allow_private_urls=self.settings.allow_private_urls,
            connectors=self.connectors,
        )


def may_introspect(settings: Settings, principal: Principal | None) -> bool:
    return settings.introspection == "everyone" or (principal is not None and principal.role.administer)


def record_api_for(engine: Engine, settings: Settings) -> RecordAPI:
    return RecordAPI(
        engine,
        limits=QueryLimits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_query_aliases,
            max_tokens=settings.max_query_tokens,
            max_cost=settings.max_query_cost,
        ),
        read_settings=ReadSettings(
            page_size=settings.page_size, max_page_size=settings.max_page_size, time_zone=settings.time_zone
        ),
    )


class RecordGraphQL:
    """``/graphql``: GraphiQL for a browser, GraphQL over GET (queries) and POST (JSON)."""

    def __init__(self, api: RecordAPI, settings: Settings) -> None:
        self.api = api
        self.settings = settings

    async def handle(self, request: Request) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            if "query" not in request.query_params:
                return HTMLResponse(get_graphql_ide_html("graphiql"))
        try:
            graphql_request = await self.parse(request)
        except ValueError as exc:
            return self.json({"errors": [{"message": str(exc), "extensions": {"code": "BAD_REQUEST"}}]}, 400)
        except ClientDisconnect:  # the client left (a page navigated away): nobody to answer
            return Response(status_code=499)
        principal = principal_of(request)
        caller = Caller(
            actor=principal.user_id or principal.api_key_id,
            allow_mutations=request.method == "POST",
            writes_refused=None
            if principal.role.write_records
            else f"Your role ({principal.role.name}) reads records; it cannot change them.",
            introspection=may_introspect(self.settings, principal),
            access=principal.access,
        )
        body = await run_in_threadpool(self.api.run_json, principal.workspace, graphql_request, caller)
        return Response(body, media_type="application/json")

    @staticmethod
    async def parse(request: Request) -> GraphQLRequest:
        if request.method == "GET":
            params = request.query_params
            variables = params.get("variables")
            payload: Any = {
                "query": params.get("query"),
                "variables": json.loads(variables) if variables else None,
                "operationName": params.get("operationName"),
            }
        else:
            try:
                payload = await request.json()
            except ValueError:
                raise ValueError('The body is not JSON: send {"query": …, "variables": {…}}.') from None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise ValueError('Send a JSON object with a "query" string.')
        variables = payload.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise ValueError('"variables" must be a JSON object.')
        return GraphQLRequest(payload["query"], variables, payload.get("operationName"))

    @staticmethod
    def json(payload: Any, status: int) -> Response:
        return Response(dumps(payload), status_code=status, media_type="application/json")


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Starlette:
    """The ASGI application for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    engine = engine or create_engine(settings.database_url)

    async def healthz(request: Request) -> JSONResponse:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            logger.exception("health check: database unreachable")
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    async def index(request: Request) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            return FileResponse(CONSOLE / "index.html")  # a browser: the console
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "name": "Tessera",
                "record_api": f"{base}/graphql",
                "metadata_api": f"{base}/graphql/metadata",
                "health": f"{base}/healthz",
            }
        )

    store = MetadataStore(engine)
    identity = IdentityService(engine)
    #: queues runs for runWorkflow, retries and webhooks (workers execute them)
    runner = WorkflowEngine(engine, time_zone=settings.time_zone)
    #: connections, checks and queued syncs (workers run them)
    connectors = ConnectorRuntime.from_settings(engine, settings)
    limiter = rate_limiter_from_url(settings.rate_limit_url)
    record_api = record_api_for(engine, settings)
    store.on_change.append(record_api.schemas.forget)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The embedded default needs no broker: events are processed in this process.
        runtime = None
        if settings.broker_url.startswith("stub:"):
            worker_connectors = ConnectorRuntime.from_settings(engine, settings)
            runtime = DeliveryRuntime(
                engine,
                settings.broker_url,
                workflows=build_workflow_engine(engine, settings, worker_connectors),
                connectors=worker_connectors,
                webhooks=WebhookService(engine, allow_private_urls=settings.allow_private_urls),
                worker_threads=2,
            )
            runtime.start()
        try:
            yield
        finally:
            if runtime is not None:
                runtime.stop()
            limiter.close()

    app = Starlette(
        lifespan=lifespan,
        middleware=[
            Middleware(
                RequireAuthentication,
                identity=identity,
                limiter=limiter,
                requests_per_minute=settings.rate_limit_per_minute,
            )
        ],
        routes=[
            *session_routes(
                identity, settings.default_workspace, limiter, settings.login_attempts_per_15_minutes
            ),
            Route("/", index, name="index"),
            Route(
                "/graphql",
                RecordGraphQL(record_api, settings).handle,
                name="records",
                methods=["GET", "POST"],
            ),
            Route("/healthz", healthz, name="healthz"),
            Mount("/console", StaticFiles(directory=CONSOLE), name="console"),
            Route(
                "/hooks/workflows/{workflow_id}",
                receive_workflow_webhook(runner),
                name="workflow-webhook",
                methods=["POST"],
            ),
            Route(
                "/hooks/connections/{connection_id}",
                receive_connection_push(connectors),
                name="connection-push",
                methods=["POST"],
            ),
            # A route, not a mount: a mount would redirect POST /graphql/metadata to a trailing
            # slash, and clients such as curl do not follow redirects of a POST.
            Route(
                "/graphql/metadata",
                MetadataGraphQL(engine, settings, store, runner, connectors),
                name="metadata",
                methods=["GET", "POST"],
            ),
        ],
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.record_api = record_api
    return app
