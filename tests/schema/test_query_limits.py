"""Limits on GraphQL requests: each refused with its own code before any SQL runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tessera.platform.permissions import Access
from tessera.platform.roles import RoleStore
from tessera.schema.query_limits import QueryLimits
from tessera.schema.record_api import Caller, GraphQLRequest, RecordAPI

pytestmark = pytest.mark.usefixtures("crm")


@pytest.fixture
def limited(engine: Engine, workspace: str) -> Callable[[str], dict[str, Any]]:
    api = RecordAPI(engine, limits=QueryLimits(max_depth=5, max_aliases=2, max_tokens=200, max_cost=1000))
    return lambda query: api.run(workspace, GraphQLRequest(query))


def code(answer: dict[str, Any]) -> str:
    return str(answer["errors"][0]["extensions"]["code"])


def test_depth(limited: Callable[[str], dict[str, Any]]):
    ok = "{ deals { edges { node { company { name } } } } }"
    assert "errors" not in limited(ok)
    deep = "{ deals { edges { node { company { deals { totalCount } } } } } }"
    assert code(limited(deep)) == "QUERY_TOO_DEEP"


def test_aliases(limited: Callable[[str], dict[str, Any]]):
    assert "errors" not in limited("{ a: deals { totalCount } b: deals { totalCount } }")
    assert (
        code(limited("{ a: deals { totalCount } b: deals { totalCount } c: deals { totalCount } }"))
        == "TOO_MANY_ALIASES"
    )


def test_tokens(limited: Callable[[str], dict[str, Any]]):
    huge = "{ " + " ".join("__typename" for _ in range(300)) + " }"
    answer = limited(huge)
    assert code(answer) == "QUERY_TOO_LARGE"


def test_cost_multiplies_nested_page_sizes(limited: Callable[[str], dict[str, Any]]):
    assert "errors" not in limited(
        "{ companies(first: 10) { edges { node { deals(first: 10) { totalCount } } } } }"
    )
    answer = limited("{ companies(first: 100) { edges { node { deals(first: 10) { totalCount } } } } }")
    assert code(answer) == "QUERY_TOO_COSTLY"
    assert answer["errors"][0]["extensions"]["problems"][0]["details"] == {"cost": 1100, "limit": 1000}


def test_cost_uses_variables_and_the_default_page_size(engine: Engine, workspace: str):
    api = RecordAPI(engine, limits=QueryLimits(max_cost=60))
    query = "query($n: Int) { deals(first: $n) { totalCount } }"
    assert "errors" not in api.run(workspace, GraphQLRequest(query, {"n": 60}))
    assert code(api.run(workspace, GraphQLRequest(query, {"n": 61}))) == "QUERY_TOO_COSTLY"
    assert "errors" not in api.run(workspace, GraphQLRequest("{ deals { totalCount } }"))  # 50 by default


def test_syntax_errors_and_unknown_fields(limited: Callable[[str], dict[str, Any]]):
    assert code(limited("{ deals {")) == "GRAPHQL_PARSE_FAILED"
    assert code(limited("{ nope }")) == "GRAPHQL_VALIDATION_FAILED"


def test_documents_are_parsed_and_validated_once(
    engine: Engine, workspace: str, monkeypatch: pytest.MonkeyPatch
):
    import tessera.schema.record_api as module

    calls: list[str] = []
    real_parse = module.parse
    monkeypatch.setattr(module, "parse", lambda *a, **k: calls.append("parse") or real_parse(*a, **k))
    api = RecordAPI(engine)
    for _ in range(3):
        assert "errors" not in api.run(workspace, GraphQLRequest("{ deals { totalCount } }"))
    assert calls == ["parse"]


def test_a_role_may_have_its_own_limits(engine: Engine, workspace: str):
    role = RoleStore(engine).save(
        workspace,
        {"name": "app", "other_objects": {"operations": ["read"]}, "query_limits": {"max_cost": 50}},
    )
    api = RecordAPI(engine, limits=QueryLimits(max_cost=1000))
    query = "{ companies(first: 10) { edges { node { deals(first: 10) { totalCount } } } } }"
    assert "errors" not in api.run(workspace, GraphQLRequest(query))
    answer = api.run(workspace, GraphQLRequest(query), Caller(access=Access(role)))
    assert code(answer) == "QUERY_TOO_COSTLY"
    assert answer["errors"][0]["extensions"]["problems"][0]["details"] == {"cost": 110, "limit": 50}
