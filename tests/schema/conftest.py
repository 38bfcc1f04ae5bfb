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


@pytest.fixture
def record_api(engine: Any, workspace: str) -> Callable[..., dict[str, Any]]:
    """Runs a query against the record API of the test's workspace (``RecordAPI.run``),
    re-checking the metadata version on every request."""
    from tessera.schema.record_api import Caller, GraphQLRequest, RecordAPI

    api = RecordAPI(engine, check_interval=0)

    def run(query: str, variables: dict[str, Any] | None = None, **caller: Any) -> dict[str, Any]:
        """``caller``: the fields of :class:`Caller` (who asks, what they may do)."""
        return api.run(workspace, GraphQLRequest(query, variables), Caller(**caller))

    run.api = api  # type: ignore[attr-defined]
    return run


@pytest.fixture
def records_ok(record_api: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Like ``record_api`` but asserts there are no errors and returns ``data``."""

    def run(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = record_api(query, variables)
        assert "errors" not in answer, answer["errors"]
        return dict(answer["data"])

    return run


@pytest.fixture
def crm(object_factory: Callable[..., Any]) -> None:
    """A small CRM model: company ← deal (lookup), with fields of most types."""
    object_factory(
        "company",
        [
            {"api_name": "name", "type": "text", "required": True, "unique": True},
            {"api_name": "country", "type": "text"},
            {
                "api_name": "size",
                "type": "select",
                "options": {
                    "choices": [
                        {"value": "small", "label": "Small", "color": "#00aa00"},
                        {"value": "large", "label": "Large"},
                    ]
                },
            },
        ],
        label_plural="Companies",
    )
    object_factory(
        "deal",
        [
            {"api_name": "title", "type": "text", "required": True},
            {"api_name": "amount", "type": "decimal", "options": {"precision": 12, "scale": 2}},
            {"api_name": "price", "type": "currency", "options": {"default_currency": "EUR"}},
            {"api_name": "quantity", "type": "integer"},
            {"api_name": "won", "type": "boolean"},
            {"api_name": "close_date", "type": "date"},
            {"api_name": "closed_at", "type": "datetime"},
            {
                "api_name": "stage",
                "type": "select",
                "options": {
                    "choices": [
                        {"value": "prospect", "label": "Prospect"},
                        {"value": "proposal", "label": "Proposal"},
                        {"value": "won", "label": "Won", "color": "#00ff00"},
                    ]
                },
            },
            {
                "api_name": "tags",
                "type": "multi_select",
                "options": {"choices": [{"value": "hot"}, {"value": "cold"}]},
            },
            {"api_name": "details", "type": "json"},
            {"api_name": "company", "type": "lookup", "options": {"target_object": "company"}},
        ],
    )
