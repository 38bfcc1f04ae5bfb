from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tessera.platform.app import create_app
from tessera.platform.settings import Settings

GraphQL = Callable[..., dict[str, Any]]


@pytest.fixture
def client(engine: Engine, database_url: str, workspace: str) -> Iterator[TestClient]:
    """An HTTP client of the app, whose default workspace is the test's fresh workspace."""
    settings = Settings.from_env(
        {"TESSERA_DATABASE_URL": database_url, "TESSERA_DEFAULT_WORKSPACE": workspace}
    )
    with TestClient(create_app(settings, engine)) as client:
        yield client


@pytest.fixture
def metadata_api(client: TestClient) -> GraphQL:
    """Posts a query to /graphql/metadata and returns the JSON answer."""

    def post(query: str, variables: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
        response = client.post(
            "/graphql/metadata", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    return post


@pytest.fixture
def ok(metadata_api: GraphQL) -> GraphQL:
    """Like ``metadata_api`` but asserts there are no errors and returns ``data``."""

    def post(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = metadata_api(query, variables)
        assert "errors" not in answer, answer["errors"]
        return dict(answer["data"])

    return post
