from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

GraphQL = Callable[..., dict[str, Any]]


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
