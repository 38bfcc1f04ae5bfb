"""Roles through the record API: the schema each role sees, the records every read reaches
(lists, ids, aggregates, relations, filters, sorts), the writes it may make, and API keys
that never leave their workspace (both databases). The world — actors, roles and deals — is
that of ``tests/platform/test_permissions.py``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tessera.platform.identity import IdentityService
from tessera.platform.records import RecordService
from tessera.platform.roles import access_of
from tessera.platform.workspaces import get_workspace
from tessera.schema.record_api import Caller, GraphQLRequest, RecordAPI
from tests.platform.test_permissions import World, build_model, build_world, snapshot

Run = Callable[..., dict[str, Any]]
ACTORS = ("admin", "owner", "teammate", "outsider", "viewer")
SALES = ("owner", "teammate", "outsider")


@pytest.fixture
def world(engine: Engine, workspace: str) -> World:
    return build_world(engine, workspace)


@pytest.fixture
def as_actor(engine: Engine, world: World) -> Callable[[uuid.UUID], Run]:
    """``as_actor(user_id)(query, variables)``: the record API as that user, its access read
    the way the HTTP app reads it."""
    api = RecordAPI(engine, check_interval=0)

    def caller(actor: uuid.UUID) -> Run:
        with engine.connect() as conn:
            access = access_of(conn, get_workspace(conn, world.workspace).id, actor)

        def run(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
            return api.run(
                world.workspace, GraphQLRequest(query, variables), Caller(actor=actor, access=access)
            )

        return run

    return caller


@pytest.fixture
def as_(world: World, as_actor: Callable[[uuid.UUID], Run]) -> Callable[[str], Run]:
    """``as_("owner")(query, variables)``: the record API as one of the world's actors."""
    return lambda name: as_actor(world.actors[name])


def data(answer: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in answer, answer["errors"]
    return dict(answer["data"])


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def codes(answer: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in answer.get("errors", [])]


def ids(world: World, *names: str) -> dict[str, str]:
    return {name: str(world.deals[name]) for name in names}


SEES = {
    "admin": ["D1", "D2", "D3"],
    "owner": ["D1"],
    "teammate": ["D1"],
    "outsider": ["D3"],
    "viewer": ["D1", "D2", "D3"],
}
BY_ACTOR = [pytest.param(actor, sees, id=actor) for actor, sees in SEES.items()]


# -- reads: every one limited to the reachable records ------------------------------------------
@pytest.mark.parametrize(("actor", "sees"), BY_ACTOR)
def test_root_list_and_total_count(as_: Callable[[str], Run], actor: str, sees: list[str]):
    found = data(as_(actor)("{ deals(orderBy: [{name: ASC}]) { totalCount edges { node { name } } } }"))
    assert found["deals"]["totalCount"] == len(sees)
    assert [n["name"] for n in nodes(found["deals"])] == sees
    paged = data(as_(actor)("{ deals(first: 1) { totalCount pageInfo { hasNextPage } } }"))["deals"]
    assert paged == {"totalCount": len(sees), "pageInfo": {"hasNextPage": len(sees) > 1}}


@pytest.mark.parametrize(("actor", "sees"), BY_ACTOR)
def test_get_by_id(as_: Callable[[str], Run], world: World, actor: str, sees: list[str]):
    query = "query($id: ID!) { deal(id: $id, deleted: INCLUDED) { name } }"
    for name, record_id in world.deals.items():
        got = data(as_(actor)(query, {"id": str(record_id)}))["deal"]
        assert got == ({"name": name} if name in sees else None)


@pytest.mark.parametrize(
    ("actor", "figures"),
    [
        ("admin", {"count": 3, "sum": {"amount": "600.00"}}),
        ("owner", {"count": 1, "sum": {"amount": "100.00"}}),
        ("teammate", {"count": 1, "sum": {"amount": "100.00"}}),
        ("outsider", {"count": 1, "sum": {"amount": "300.00"}}),
        ("viewer", {"count": 3, "sum": {"amount": "600.00"}}),
    ],
)
def test_aggregates(as_: Callable[[str], Run], actor: str, figures: dict[str, Any]):
    assert data(as_(actor)("{ dealsAggregate { count sum { amount } } }"))["dealsAggregate"] == figures
    groups = data(as_(actor)("{ dealsAggregate(groupBy: [{company: true}]) { groups { count } } }"))
    assert sum(g["count"] for g in groups["dealsAggregate"]["groups"]) == figures["count"]


@pytest.mark.parametrize(
    ("actor", "by_company"),
    [
        ("admin", {"Acme": ["D1", "D2"], "Globex": ["D3"]}),
        ("owner", {"Acme": ["D1"], "Globex": []}),
        ("teammate", {"Acme": ["D1"], "Globex": []}),
        ("outsider", {"Acme": [], "Globex": ["D3"]}),
        ("viewer", {"Acme": ["D1", "D2"], "Globex": ["D3"]}),
    ],
)
def test_reverse_relation(as_: Callable[[str], Run], actor: str, by_company: dict[str, list[str]]):
    found = data(
        as_(actor)(
            """{ companies(orderBy: [{name: ASC}]) { totalCount edges { node { name
                 deals(orderBy: [{name: ASC}]) { totalCount edges { node { name } } } } } } }"""
        )
    )["companies"]
    assert found["totalCount"] == 2  # every company: access all
    assert {n["name"]: [d["name"] for d in nodes(n["deals"])] for n in nodes(found)} == by_company
    assert {n["name"]: n["deals"]["totalCount"] for n in nodes(found)} == {
        name: len(deals) for name, deals in by_company.items()
    }


@pytest.mark.parametrize(("actor", "sees"), BY_ACTOR)
def test_nested_lookup_and_back(as_: Callable[[str], Run], actor: str, sees: list[str]):
    found = data(
        as_(actor)(
            "{ deals(orderBy: [{name: ASC}]) { edges { node { name company { name deals { totalCount } } } } } }"
        )
    )["deals"]
    expected = {"D1": "Acme", "D2": "Acme", "D3": "Globex"}
    assert [(n["name"], n["company"]["name"]) for n in nodes(found)] == [(d, expected[d]) for d in sees]
    # company → deals from a deal: still only the reachable ones
    for node in nodes(found):
        assert node["company"]["deals"]["totalCount"] == sum(
            1 for d in sees if expected[d] == node["company"]["name"]
        )


def test_a_lookup_to_an_unreachable_record_reads_as_null(
    engine: Engine, as_actor: Callable[[uuid.UUID], Run], records: RecordService, world: World
):
    solo, ws = world.user(engine, "solo"), world.workspace
    zed = records.create(ws, "company", {"name": "Zed", "owner": str(solo)})["id"]
    for name, company in (("S1", world.companies["Acme"]), ("S2", zed)):
        records.create(ws, "deal", {"name": name, "company": str(company), "owner": str(solo)})
    run = as_actor(solo)
    listed = data(run("{ deals(orderBy: [{name: ASC}]) { edges { node { name company { name } } } } }"))
    assert nodes(listed["deals"]) == [
        {"name": "S1", "company": None},  # Acme is not its own
        {"name": "S2", "company": {"name": "Zed"}},
    ]
    assert data(run("{ companies { totalCount } }"))["companies"]["totalCount"] == 1
    # a sort through the lookup does not see Acme's name either: S1 sorts as empty, last
    sorted_ = data(run("{ deals(orderBy: [{company: {name: ASC}}]) { edges { node { name } } } }"))
    assert [n["name"] for n in nodes(sorted_["deals"])] == ["S2", "S1"]
    by_name = data(run('{ deals(filter: {company: {name: {eq: "Acme"}}}) { totalCount } }'))
    assert by_name["deals"]["totalCount"] == 0
    answer = run(
        'mutation($c: ID) { createDeal(input: {name: "x", company: $c}) { id } }',
        {"c": str(world.companies["Acme"])},
    )
    assert codes(answer) == ["LOOKUP_TARGET_NOT_FOUND"]
    assert answer["errors"][0]["extensions"]["inputPath"] == ["input", "company"]


def test_aggregate_group_keys_show_only_reachable_linked_records(
    engine: Engine, as_actor: Callable[[uuid.UUID], Run], records: RecordService, world: World
):
    """A group keyed by a lookup shows the linked record as the lookup itself reads it: a
    company the actor does not reach is null there too, not its name."""
    solo = world.user(engine, "solo")
    records.create(
        world.workspace, "deal", {"name": "S1", "company": str(world.companies["Acme"]), "owner": str(solo)}
    )
    run = as_actor(solo)
    lookup = data(run("{ deals { edges { node { company { name } } } } }"))
    assert nodes(lookup["deals"]) == [{"company": None}]
    grouped = data(
        run("{ dealsAggregate(groupBy: [{company: true}]) { groups { key { company { name } } count } } }")
    )
    assert grouped["dealsAggregate"]["groups"] == [{"key": {"company": None}, "count": 1}]


@pytest.mark.parametrize(
    ("actor", "matched"),
    [("admin", ["Globex"]), ("owner", []), ("outsider", ["Globex"]), ("viewer", ["Globex"])],
)
def test_filters_through_relations_and_lookups(as_: Callable[[str], Run], actor: str, matched: list[str]):
    through_relation = data(
        as_(actor)('{ companies(filter: {deals: {some: {name: {eq: "D3"}}}}) { edges { node { name } } } }')
    )
    assert [n["name"] for n in nodes(through_relation["companies"])] == matched
    through_lookup = data(as_(actor)('{ deals(filter: {company: {name: {eq: "Globex"}}}) { totalCount } }'))
    assert through_lookup["deals"]["totalCount"] == len(matched)


# -- hidden fields: absent from the schema ------------------------------------------------------
HIDDEN_MARGIN = [
    "{ deals { edges { node { margin } } } }",
    "query($id: ID!) { deal(id: $id) { margin } }",
    "{ deals(filter: {margin: {gt: 0}}) { totalCount } }",
    "{ deals(orderBy: [{margin: ASC}]) { totalCount } }",
    "{ dealsAggregate { sum { margin } } }",
    "{ dealsAggregate(filter: {margin: {gt: 0}}) { count } }",
    "{ companies(filter: {deals: {some: {margin: {gt: 0}}}}) { totalCount } }",
    "{ companies { edges { node { deals(filter: {margin: {gt: 0}}) { totalCount } } } } }",
    "{ companies { edges { node { deals(orderBy: [{margin: DESC}]) { totalCount } } } } }",
    'mutation { createDeal(input: {name: "x", margin: "1"}) { id } }',
    'mutation($id: ID!) { updateDeal(id: $id, input: {margin: "1"}) { id } }',
    'mutation { updateDeals(filter: {margin: {gt: 0}}, input: {name: "x"}) { id } }',
]


@pytest.mark.parametrize("actor", ACTORS)
def test_a_hidden_field_is_not_in_the_schema(
    engine: Engine, as_: Callable[[str], Run], world: World, actor: str
):
    """Reading, filtering, sorting, aggregating or writing ``margin``: a role that may not
    read it meets a schema without it."""
    before = snapshot(engine, world.workspace)
    for query in HIDDEN_MARGIN:
        answer = as_(actor)(query, {"id": str(world.deals["D1"])} if "$id" in query else None)
        if actor in SALES:
            assert codes(answer) == ["GRAPHQL_VALIDATION_FAILED"], query
            assert "margin" in answer["errors"][0]["message"]
        elif actor == "viewer":  # reads it; writes nothing
            assert codes(answer) == (["FORBIDDEN"] if query.startswith("mutation") else []), query
        else:
            assert codes(answer) == [], query
    if actor != "admin":
        assert snapshot(engine, world.workspace) == before


def test_the_admin_and_the_viewer_read_the_margin(as_: Callable[[str], Run]):
    for actor in ("admin", "viewer"):
        found = data(
            as_(actor)(
                "{ deals(orderBy: [{margin: DESC}], filter: {margin: {gt: 15}}) { edges { node { name margin } } } }"
            )
        )
        assert nodes(found["deals"]) == [{"name": "D3", "margin": "30.00"}, {"name": "D2", "margin": "20.00"}]


def test_a_role_without_read_on_company_sees_neither_companies_nor_the_lookup(
    engine: Engine, as_actor: Callable[[uuid.UUID], Run], world: World
):
    run = as_actor(world.user(engine, "deals_only"))
    listed = data(run("{ deals(orderBy: [{name: ASC}]) { totalCount edges { node { name margin } } } }"))
    assert listed["deals"]["totalCount"] == 3
    for query in (
        "{ deals { edges { node { company { name } } } } }",
        "{ companies { totalCount } }",
        '{ deals(filter: {company: {name: {eq: "Acme"}}}) { totalCount } }',
        "{ deals(orderBy: [{company: {name: ASC}}]) { totalCount } }",
        "{ dealsAggregate(groupBy: [{company: true}]) { count } }",
        'mutation { createCompany(input: {name: "x"}) { id } }',
    ):
        answer = run(query)
        assert codes(answer) == ["GRAPHQL_VALIDATION_FAILED"], query


# -- writes ------------------------------------------------------------------------------------
CREATE = 'mutation { createDeal(input: {name: "new"}) { name owner created_by } }'


@pytest.mark.parametrize("actor", ACTORS)
def test_create(engine: Engine, as_: Callable[[str], Run], world: World, actor: str):
    before = snapshot(engine, world.workspace)
    answer = as_(actor)(CREATE)
    if actor == "viewer":
        assert codes(answer) == ["FORBIDDEN"]
        assert answer["errors"][0]["path"] == ["createDeal"]
        assert snapshot(engine, world.workspace) == before
        return
    who = str(world.actors[actor])
    assert data(answer)["createDeal"] == {"name": "new", "owner": who, "created_by": who}
    assert data(as_(actor)("{ deals { totalCount } }"))["deals"]["totalCount"] == len(SEES[actor]) + 1


@pytest.mark.parametrize(
    ("mutation", "field", "input_path"),
    [
        (
            'mutation { createDeal(input: {name: "x", amount: "1"}) { id } }',
            "createDeal",
            ["input", "amount"],
        ),
        (
            'mutation { createDeals(input: [{name: "x"}, {name: "y", amount: "1"}]) { id } }',
            "createDeals",
            ["input", 1, "amount"],
        ),
        (
            'mutation($id: ID!) { updateDeal(id: $id, input: {amount: "1"}) { id } }',
            "updateDeal",
            ["input", "amount"],
        ),
        (
            'mutation { updateDeals(filter: {}, input: {amount: "1"}) { id } }',
            "updateDeals",
            ["input", "amount"],
        ),
        (
            'mutation($other: ID) { createDeal(input: {name: "x", owner: $other}) { id } }',
            "createDeal",
            ["input", "owner"],
        ),
        (
            "mutation($id: ID!, $other: ID) { updateDeal(id: $id, input: {owner: $other}) { id } }",
            "updateDeal",
            ["input", "owner"],
        ),
        # the role may not do this at all: no field is to blame
        ('mutation { createCompany(input: {name: "x"}) { id } }', "createCompany", None),
        ("mutation($id: ID!) { destroyDeal(id: $id) }", "destroyDeal", None),
    ],
)
def test_refused_writes_say_why_and_where_and_write_nothing(
    engine: Engine,
    as_: Callable[[str], Run],
    world: World,
    mutation: str,
    field: str,
    input_path: list[Any] | None,
):
    before = snapshot(engine, world.workspace)
    variables = {"id": str(world.deals["D1"]), "other": str(world.actors["outsider"])}
    answer = as_("owner")(mutation, {k: v for k, v in variables.items() if f"${k}" in mutation})
    assert codes(answer) == ["FORBIDDEN"]
    (error,) = answer["errors"]
    assert error["path"] == [field]
    if input_path is None:
        operation = {"createCompany": "create company", "destroyDeal": "destroy deal"}[field]
        assert f"Your role (sales) may not {operation} records." in error["message"]
    else:
        assert error["extensions"]["inputPath"] == input_path
        assert error["message"].startswith("Your role (sales) ")
    assert snapshot(engine, world.workspace) == before


@pytest.mark.parametrize(
    ("actor", "deal", "outcome"),
    [
        ("admin", "D3", None),
        ("owner", "D1", None),
        ("teammate", "D1", None),
        ("teammate", "D2", "RECORD_NOT_FOUND"),
        ("outsider", "D1", "RECORD_NOT_FOUND"),
        ("owner", "D3", "RECORD_NOT_FOUND"),
        ("viewer", "D1", "FORBIDDEN"),
    ],
)
def test_update_delete_restore(
    engine: Engine,
    as_: Callable[[str], Run],
    records: RecordService,
    world: World,
    actor: str,
    deal: str,
    outcome: str | None,
):
    run, variables = as_(actor), {"id": str(world.deals[deal])}
    update = 'mutation($id: ID!) { updateDeal(id: $id, input: {name: "renamed"}) { name } }'
    delete = "mutation($id: ID!) { deleteDeal(id: $id) { name } }"
    restore = "mutation($id: ID!) { restoreDeal(id: $id) { deleted_at } }"
    if outcome is None:
        assert data(run(update, variables))["updateDeal"] == {"name": "renamed"}
        assert data(run(delete, variables))["deleteDeal"] == {"name": "renamed"}
        assert data(run(restore, variables))["restoreDeal"] == {"deleted_at": None}
        return
    before = snapshot(engine, world.workspace)
    for mutation in (update, delete):
        answer = run(mutation, variables)
        assert codes(answer) == [outcome]
        assert answer["data"] is None
    assert snapshot(engine, world.workspace) == before
    records.delete(world.workspace, "deal", world.deals[deal])
    in_bin = snapshot(engine, world.workspace)
    assert codes(run(restore, variables)) == [outcome]
    assert snapshot(engine, world.workspace) == in_bin


@pytest.mark.parametrize(("actor", "allowed"), [("admin", True), *((a, False) for a in (*SALES, "viewer"))])
def test_destroy(engine: Engine, as_: Callable[[str], Run], world: World, actor: str, allowed: bool):
    record_id = world.deals["D1" if actor != "outsider" else "D3"]
    before = snapshot(engine, world.workspace)
    answer = as_(actor)("mutation($id: ID!) { destroyDeal(id: $id) }", {"id": str(record_id)})
    if allowed:
        assert data(answer) == {"destroyDeal": str(record_id)}
        return
    assert codes(answer) == ["FORBIDDEN"] and answer["errors"][0]["path"] == ["destroyDeal"]
    assert snapshot(engine, world.workspace) == before


@pytest.mark.parametrize("atomic", [True, False])
@pytest.mark.parametrize(
    ("actor", "changed"),
    [("admin", ["D1", "D2", "D3"]), ("owner", ["D1"]), ("teammate", ["D1"]), ("outsider", ["D3"])],
)
def test_update_many_by_filter(
    as_: Callable[[str], Run],
    records: RecordService,
    world: World,
    actor: str,
    changed: list[str],
    atomic: bool,
):
    answer = as_(actor)(
        'mutation($atomic: Boolean) { updateDeals(atomic: $atomic, filter: {name: {startsWith: "D"}}, input: {name: "bulk"}) { id name } }',
        {"atomic": atomic},
    )
    assert sorted(r["id"] for r in data(answer)["updateDeals"]) == sorted(
        str(world.deals[n]) for n in changed
    )
    after = {n: records.get(world.workspace, "deal", i)["name"] for n, i in world.deals.items()}  # type: ignore[index]
    assert after == {n: "bulk" if n in changed else n for n in world.deals}


@pytest.mark.parametrize("actor", SALES)
def test_an_upsert_may_not_create_what_the_role_may_not_create(
    engine: Engine, as_: Callable[[str], Run], world: World, actor: str
):
    """Sales reads companies and changes none: ``upsertCompany`` (in its schema, since the
    role writes deals) creates nothing and updates nothing."""
    before = snapshot(engine, world.workspace)
    for name in ("New", "Acme"):
        answer = as_(actor)(
            "mutation($name: String) { upsertCompany(on: name, input: {name: $name}) { name } }",
            {"name": name},
        )
        assert codes(answer) == ["FORBIDDEN"], name
        assert answer["errors"][0]["path"] == ["upsertCompany"]
    assert snapshot(engine, world.workspace) == before


def test_records_pass_to_owners_within_reach(as_: Callable[[str], Run], world: World):
    a = world.actors
    given = as_("owner")(
        "mutation($id: ID!, $to: ID) { updateDeal(id: $id, input: {owner: $to}) { owner } }",
        {"id": str(world.deals["D1"]), "to": str(a["teammate"])},
    )
    assert data(given)["updateDeal"] == {"owner": str(a["teammate"])}
    moved = as_("admin")(
        "mutation($id: ID!, $to: ID) { updateDeal(id: $id, input: {owner: $to}) { owner } }",
        {"id": str(world.deals["D1"]), "to": str(a["outsider"])},
    )
    assert data(moved)["updateDeal"] == {"owner": str(a["outsider"])}
    assert data(as_("owner")("{ deals { totalCount } }"))["deals"]["totalCount"] == 0
    assert data(as_("outsider")("{ deals { totalCount } }"))["deals"]["totalCount"] == 2


# -- over HTTP: API keys ------------------------------------------------------------------------
def bearer(secret: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **headers}


def post(
    client: TestClient, secret: str, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> Any:
    return client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=bearer(secret, **headers)
    )


def test_a_viewer_key_reads_everything_and_writes_nothing(
    client: TestClient, engine: Engine, world: World, api_key_factory: Callable[..., str]
):
    viewer = api_key_factory(role="viewer")
    listed = post(
        client, viewer, "{ deals(orderBy: [{name: ASC}]) { totalCount edges { node { name margin } } } }"
    )
    assert listed.json()["data"]["deals"]["totalCount"] == 3
    before = snapshot(engine, world.workspace)
    for mutation in (
        'mutation { createDeal(input: {name: "x"}) { id } }',
        'mutation($id: ID!) { updateDeal(id: $id, input: {name: "x"}) { id } }',
        "mutation($id: ID!) { deleteDeal(id: $id) { id } }",
        "mutation($id: ID!) { destroyDeal(id: $id) }",
    ):
        answer = post(client, viewer, mutation, {"id": str(world.deals["D1"])} if "$id" in mutation else None)
        assert answer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert snapshot(engine, world.workspace) == before


def test_a_sales_key_reaches_only_the_records_it_owns(
    client: TestClient, engine: Engine, world: World, api_key_factory: Callable[..., str]
):
    """A key has no team: ``team`` access reaches the key's own records."""
    sales = api_key_factory(role="sales")
    assert post(client, sales, "{ deals { totalCount } }").json() == {"data": {"deals": {"totalCount": 0}}}
    made = post(client, sales, 'mutation { createDeal(input: {name: "by key"}) { name } }').json()
    assert made == {"data": {"createDeal": {"name": "by key"}}}
    listed = post(client, sales, "{ deals { edges { node { name } } } companies { totalCount } }").json()
    assert listed == {
        "data": {"deals": {"edges": [{"node": {"name": "by key"}}]}, "companies": {"totalCount": 2}}
    }
    hidden = post(client, sales, "{ deals { edges { node { margin } } } }").json()
    assert hidden["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    refused = post(
        client,
        sales,
        'mutation($id: ID!) { updateDeal(id: $id, input: {name: "x"}) { id } }',
        {"id": str(world.deals["D1"])},
    ).json()
    assert refused["errors"][0]["extensions"]["code"] == "RECORD_NOT_FOUND"


CREATE_X = 'mutation { createDeal(input: {name: "x"}) { id } }'


def test_a_key_of_another_workspace_neither_reads_nor_writes_here(
    client: TestClient, engine: Engine, world: World, workspace_factory: Callable[..., str]
):
    other = workspace_factory("other")
    build_model(engine, other)  # the same model there: the same queries are valid
    foreign, _ = IdentityService(engine).create_api_key(other, "foreign", role="admin")
    before = snapshot(engine, world.workspace)
    d1 = {"id": str(world.deals["D1"])}
    queries = [
        ("{ deals { totalCount } }", None),
        ("query($id: ID!) { deal(id: $id, deleted: INCLUDED) { name } }", d1),
        (CREATE_X, None),
        ('mutation($id: ID!) { updateDeal(id: $id, input: {name: "x"}) { id } }', d1),
        ('mutation { updateDeals(filter: {}, input: {name: "x"}) { id } }', None),
        ("mutation($id: ID!) { deleteDeal(id: $id) { id } }", d1),
        ("mutation($id: ID!) { destroyDeal(id: $id) }", d1),
    ]
    for query, variables in queries:
        named = post(client, foreign, query, variables, **{"X-Tessera-Workspace": world.workspace})
        assert named.status_code == 403
        assert named.json()["errors"][0]["extensions"]["code"] == "WORKSPACE_MISMATCH"
    assert snapshot(engine, world.workspace) == before
    # without the header the key works in its own workspace, where this one's records are not
    answers = [
        post(client, foreign, query, variables).json() for query, variables in queries if query != CREATE_X
    ]
    assert answers[0] == {"data": {"deals": {"totalCount": 0}}}
    assert answers[1] == {"data": {"deal": None}}
    assert answers[3] == {"data": {"updateDeals": []}}
    for answer in (answers[2], answers[4], answers[5]):
        assert answer["errors"][0]["extensions"]["code"] == "RECORD_NOT_FOUND"
    assert snapshot(engine, world.workspace) == before


def test_metadata_api_shows_only_what_a_role_may_read(
    client: TestClient, world: World, api_key_factory: Callable[..., str]
):
    query = "{ objects { apiName fields { apiName } relations { name } } }"

    def model(secret: str) -> dict[str, Any]:
        answer = client.post("/graphql/metadata", json={"query": query}, headers=bearer(secret)).json()
        assert "errors" not in answer, answer["errors"]
        return {
            o["apiName"]: ([f["apiName"] for f in o["fields"]], [r["name"] for r in o["relations"]])
            for o in answer["data"]["objects"]
        }

    whole = {"company": (["name"], ["deals"]), "deal": (["name", "amount", "margin", "company"], [])}
    assert model(api_key_factory(role="admin")) == whole
    assert model(api_key_factory(role="viewer")) == whole
    assert model(api_key_factory(role="sales")) == {
        "company": (["name"], ["deals"]),
        "deal": (["name", "amount", "company"], []),
    }
    assert model(api_key_factory(role="deals_only")) == {"deal": (["name", "amount", "margin"], [])}
    one = client.post(
        "/graphql/metadata",
        json={"query": '{ object(apiName: "company") { apiName } }'},
        headers=bearer(api_key_factory(role="deals_only")),
    ).json()
    assert one == {"data": {"object": None}}
