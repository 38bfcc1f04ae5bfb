"""The HTTP application: ``/healthz`` and the metadata API at ``/graphql/metadata``."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from tessera.metadata.store import MetadataStore
from tessera.platform.database import create_engine
from tessera.platform.settings import Settings
from tessera.platform.workspaces import WorkspaceService
from tessera.schema.metadata_api import MetadataContext, build_metadata_schema

WORKSPACE_HEADER = "x-tessera-workspace"
logger = logging.getLogger("tessera")


class MetadataGraphQL(GraphQL[MetadataContext, None]):
    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__(build_metadata_schema(), graphql_ide="graphiql")
        self.settings = settings
        self.store = MetadataStore(engine)
        self.workspaces = WorkspaceService(engine)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> MetadataContext:
        return MetadataContext(
            store=self.store,
            workspaces=self.workspaces,
            workspace=request.headers.get(WORKSPACE_HEADER) or self.settings.default_workspace,
            actor="api",
        )


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

    async def index(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {"name": "Tessera", "metadata_api": f"{base}/graphql/metadata", "health": f"{base}/healthz"}
        )

    app = Starlette(
        routes=[
            Route("/", index, name="index"),
            Route("/healthz", healthz, name="healthz"),
            # A route, not a mount: a mount would redirect POST /graphql/metadata to a trailing
            # slash, and clients such as curl do not follow redirects of a POST.
            Route(
                "/graphql/metadata",
                MetadataGraphQL(engine, settings),
                name="metadata",
                methods=["GET", "POST"],
            ),
        ]
    )
    app.state.engine = engine
    app.state.settings = settings
    return app
