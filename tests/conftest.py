"""Shared fixtures: both databases, a fresh workspace per test, factories.

PostgreSQL tests run against the real server named by ``TESSERA_TEST_POSTGRES_URL``
(default: the local trust-auth server). When it is unreachable they are skipped with the
reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tessera.metadata import changes
from tessera.metadata.model import MetadataState, ObjectDef
from tessera.metadata.store import ApplyResult, MetadataStore
from tessera.platform import migrate
from tessera.platform.app import create_app
from tessera.platform.database import create_engine
from tessera.platform.identity import IdentityService
from tessera.platform.records import RecordService
from tessera.platform.settings import Settings
from tessera.platform.workspaces import WorkspaceService

POSTGRES_SERVER_URL = os.environ.get(
    "TESSERA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
POSTGRES_TEST_DATABASE = f"tessera_test_{os.getpid()}"
IN_CI = os.environ.get("CI", "").lower() == "true"
#: the tests make their own models: no starter package in workspaces they (or their servers) create
os.environ["TESSERA_STARTER_PACKAGE"] = ""


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own on the PostgreSQL server, migrated, for this test session."""
    admin = sa.create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{POSTGRES_TEST_DATABASE}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{POSTGRES_TEST_DATABASE}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_SERVER_URL}: {exc.orig}")
    url = sa.make_url(POSTGRES_SERVER_URL).set(database=POSTGRES_TEST_DATABASE)
    rendered = url.render_as_string(hide_password=False)
    engine = create_engine(rendered)
    migrate.upgrade(engine)
    engine.dispose()
    yield rendered
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{POSTGRES_TEST_DATABASE}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using it runs once on SQLite (a fresh file) and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tessera.db'}"
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        return url
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def dialect(engine: Engine) -> str:
    return engine.dialect.name


@pytest.fixture
def store(engine: Engine) -> MetadataStore:
    return MetadataStore(engine)


@pytest.fixture
def records(engine: Engine) -> RecordService:
    return RecordService(engine)


@pytest.fixture
def workspace_factory(engine: Engine) -> Callable[..., str]:
    """Creates workspaces with unique slugs (PostgreSQL tests share one database)."""

    def make(prefix: str = "t") -> str:
        slug = f"{prefix}{uuid.uuid4().hex[:10]}"
        WorkspaceService(engine).create(slug)
        return slug

    return make


@pytest.fixture
def workspace(workspace_factory: Callable[..., str]) -> str:
    """The slug of a new, empty workspace."""
    return workspace_factory()


@pytest.fixture
def object_factory(store: MetadataStore, workspace: str) -> Callable[..., ObjectDef]:
    """Creates an object in ``workspace``: ``object_factory("deal", fields=[...])``."""

    def make(api_name: str = "deal", fields: list[dict[str, Any]] | None = None, **attrs: Any) -> ObjectDef:
        result = store.apply(
            workspace, changes.create_object({"api_name": api_name, "fields": fields or [], **attrs})
        )
        assert result.state is not None
        obj = result.state.object_named(api_name)
        assert obj is not None
        return obj

    return make


@pytest.fixture
def field_factory(store: MetadataStore, workspace: str) -> Callable[..., ApplyResult]:
    """Adds a field to an object of ``workspace``: ``field_factory("deal", type="text", api_name="x")``."""

    def make(object_api_name: str, **attrs: Any) -> ApplyResult:
        return store.apply(workspace, changes.create_field(object_api_name, attrs))

    return make


@pytest.fixture
def state(store: MetadataStore, workspace: str) -> Callable[[], MetadataState]:
    return lambda: store.state(workspace)


@pytest.fixture
def api_key_factory(engine: Engine, workspace: str) -> Callable[..., str]:
    """Creates API keys of ``workspace``: ``api_key_factory(role="viewer")`` gives the secret."""

    def make(role: str = "admin", name: str = "tests") -> str:
        secret, _ = IdentityService(engine).create_api_key(workspace, name, role=role)
        return secret

    return make


@pytest.fixture
def user_factory(engine: Engine, workspace: str) -> Callable[..., uuid.UUID]:
    """Creates users of ``workspace``: ``user_factory(role="sales", team="east")`` gives the id."""
    made = iter(range(1, 10_000))

    def make(role: str = "member", team: str | None = None) -> uuid.UUID:
        email = f"user{next(made)}@example.com"
        return (
            IdentityService(engine).create_user(workspace, email, "a long password", role=role, team=team).id
        )

    return make


@pytest.fixture
def client(
    engine: Engine, database_url: str, workspace: str, api_key_factory: Callable[..., str]
) -> Iterator[TestClient]:
    """An HTTP client of the app, authenticated with an admin API key of the test's fresh
    workspace (its default workspace)."""
    settings = Settings.from_env(
        {"TESSERA_DATABASE_URL": database_url, "TESSERA_DEFAULT_WORKSPACE": workspace}
    )
    with TestClient(
        create_app(settings, engine),
        follow_redirects=False,
        headers={"Authorization": f"Bearer {api_key_factory()}"},
    ) as client:
        yield client


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()
