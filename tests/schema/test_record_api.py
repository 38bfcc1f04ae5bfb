"""The generated record API: schema, values, pages, relations, writes, errors (both databases)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from graphql import print_schema

from tessera.metadata import changes
from tessera.metadata.store import MetadataStore
from tessera.platform.records import RecordService

pytestmark = pytest.mark.usefixtures("crm")
Run = Callable[..., dict[str, Any]]


@pytest.fixture
def company(records: RecordService, workspace: str) -> Callable[..., dict[str, Any]]:
    def make(name: str = "Acme", **values: Any) -> dict[str, Any]:
        return records.create(workspace, "company", {"name": name, **values})

    return make


@pytest.fixture
def deal(records: RecordService, workspace: str) -> Callable[..., dict[str, Any]]:
    def make(title: str = "Deal", **values: Any) -> dict[str, Any]:
        if "company" in values and isinstance(values["company"], dict):
            values["company"] = str(values["company"]["id"])
        return records.create(workspace, "deal", {"title": title, **values})

    return make


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def codes(answer: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in answer.get("errors", [])]


# -- the generated schema ----------------------------------------------------------------------
def test_schema_has_types_roots_and_mutations_per_object(record_api: Run):
    sdl = print_schema(_schema(record_api))
    for expected in (
        "type Deal {",
        "type DealConnection {",
        "type DealEdge {",
        "company: Company",
        "): DealConnection!",
        "orderBy: [DealOrderBy!]",
        "deleted: DeletedRecords = EXCLUDED",
        "deal(id: ID!, deleted: DeletedRecords = EXCLUDED): Deal",
        "groupBy: [DealGroupBy!]",
        "): DealAggregate!",
        "price: Money",
        "stage: DealStageOption",
        "tags: [DealTagsOption!]",
        "enum DealStage {",
        "createDeal(input: DealInput!): Deal!",
        "): [Deal]!",
        "atomic: Boolean = true",
        "updateDeal(id: ID!, input: DealInput!): Deal!",
        "deleteDeal(id: ID!): Deal!",
        "restoreDeal(id: ID!): Deal!",
        "destroyDeal(id: ID!): ID!",
        "upsertCompany(on: CompanyUniqueField!, input: CompanyInput!): Company!",
    ):
        assert expected in sdl, expected
    assert "upsertDeal" not in sdl  # deal has no unique field


def _schema(record_api: Run) -> Any:
    record_api("{ __typename }")
    (cached,) = record_api.api.schemas._schemas.values()  # type: ignore[attr-defined]
    return cached.schema


def test_an_empty_workspace_has_a_valid_schema(engine: Any, workspace_factory: Callable[..., str]):
    from tessera.schema.record_api import GraphQLRequest, RecordAPI

    empty = workspace_factory("empty")
    answer = RecordAPI(engine).run(empty, GraphQLRequest("{ __typename }"))
    assert answer == {"data": {"__typename": "Query"}}


# -- values ------------------------------------------------------------------------------------
def test_every_type_reads_back_as_documented(records_ok: Run, company: Any):
    acme = company("Acme", size="small")
    created = records_ok(
        """mutation($company: ID) { createDeal(input: {
            title: "Big", amount: "1234.5", price: {amount: "99.9", currencyCode: "USD"}, quantity: 3,
            won: true, close_date: "2026-03-31", closed_at: "2026-03-31T23:30:00+02:00", stage: won,
            tags: [cold, hot], details: {a: [1, 2], b: null}, company: $company}) {
              id title amount price { amount currencyCode } quantity won close_date closed_at
              stage { value label color } tags { value label } details
              company { name size { value label color } }
              created_at updated_at owner deleted_at __typename } }""",
        {"company": str(acme["id"])},
    )["createDeal"]
    assert created["title"] == "Big"
    assert created["amount"] == "1234.50"
    assert created["price"] == {"amount": "99.90", "currencyCode": "USD"}
    assert created["quantity"] == 3 and created["won"] is True
    assert created["close_date"] == "2026-03-31"
    assert created["closed_at"] == "2026-03-31T21:30:00.000000Z"
    assert created["stage"] == {"value": "won", "label": "Won", "color": "#00ff00"}
    # in the order of the field's options, whatever the input's
    assert created["tags"] == [{"value": "hot", "label": "Hot"}, {"value": "cold", "label": "Cold"}]
    assert created["details"] == {"a": [1, 2], "b": None}
    assert created["company"] == {
        "name": "Acme",
        "size": {"value": "small", "label": "Small", "color": "#00aa00"},
    }
    assert len(created["id"]) == 36 and created["id"].count("-") == 4
    assert created["created_at"].endswith("Z") and created["deleted_at"] is None
    assert created["__typename"] == "Deal"


def test_empty_values_are_null(records_ok: Run, deal: Any):
    made = deal("Bare")
    got = records_ok(
        "query($id: ID!) { deal(id: $id) { amount price { amount } won stage { value } tags { value } details company { name } } }",
        {"id": str(made["id"])},
    )["deal"]
    assert got == {
        "amount": None,
        "price": None,
        "won": None,
        "stage": None,
        "tags": None,
        "details": None,
        "company": None,
    }


def test_negative_and_small_decimals_are_exact(records_ok: Run, deal: Any):
    for value in ("-0.05", "-12.30", "0.01"):
        deal("D", amount=value)
    amounts = [
        n["amount"]
        for n in nodes(
            records_ok("{ deals(orderBy: [{amount: ASC}]) { edges { node { amount } } } }")["deals"]
        )
    ]
    assert amounts == ["-12.30", "-0.05", "0.01"]


def test_aliases_and_fragments_shape_the_response(records_ok: Run, deal: Any):
    deal("A", quantity=1)
    data = records_ok(
        """{ all: deals { edges { node { ...names n: quantity } } } }
           fragment names on Deal { t: title ... on Deal { title } }"""
    )
    assert nodes(data["all"]) == [{"t": "A", "title": "A", "n": 1}]


def test_skip_and_include_directives(records_ok: Run, deal: Any):
    deal("A", quantity=1)
    data = records_ok(
        "query($yes: Boolean!) { deals { edges { node { title @include(if: $yes) quantity @skip(if: $yes) } } } }",
        {"yes": True},
    )
    assert nodes(data["deals"]) == [{"title": "A"}]


# -- lists and pages ---------------------------------------------------------------------------
def test_pages_walk_every_record_once_with_ties(records_ok: Run, deal: Any):
    for i in range(7):
        deal(f"D{i}", quantity=i % 2)  # many ties on quantity
    query = """query($after: String) { deals(first: 3, after: $after, orderBy: [{quantity: DESC}]) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { title quantity } } } }"""
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = records_ok(query, {"after": after})["deals"]
        assert page["totalCount"] == 7
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [n["title"] for n in nodes(page)]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert sorted(seen) == [f"D{i}" for i in range(7)]
    quantities = [1 if int(t[1:]) % 2 else 0 for t in seen]
    assert quantities == sorted(quantities, reverse=True)


def test_backward_pages(records_ok: Run, deal: Any):
    for i in range(5):
        deal(f"D{i}", quantity=i)
    last = records_ok(
        "{ deals(last: 2, orderBy: [{quantity: ASC}]) { pageInfo { hasPreviousPage hasNextPage startCursor } edges { node { quantity } } } }"
    )["deals"]
    assert [n["quantity"] for n in nodes(last)] == [3, 4]
    assert last["pageInfo"]["hasPreviousPage"] is True and last["pageInfo"]["hasNextPage"] is False
    before = records_ok(
        "query($before: String) { deals(last: 2, before: $before, orderBy: [{quantity: ASC}]) { pageInfo { hasNextPage } edges { node { quantity } } } }",
        {"before": last["pageInfo"]["startCursor"]},
    )["deals"]
    assert [n["quantity"] for n in nodes(before)] == [1, 2]
    assert before["pageInfo"]["hasNextPage"] is True


def test_cursors_stay_correct_under_concurrent_inserts(records_ok: Run, deal: Any):
    for i in (10, 20, 30, 40):
        deal(f"D{i}", quantity=i)
    query = "query($after: String) { deals(first: 2, after: $after, orderBy: [{quantity: ASC}]) { pageInfo { endCursor } edges { node { quantity } } } }"
    first = records_ok(query)["deals"]
    assert [n["quantity"] for n in nodes(first)] == [10, 20]
    deal("before the cursor", quantity=15)
    deal("after the cursor", quantity=25)
    second = records_ok(query, {"after": first["pageInfo"]["endCursor"]})["deals"]
    assert [n["quantity"] for n in nodes(second)] == [25, 30]


def test_nulls_first_and_last(records_ok: Run, deal: Any):
    deal("none")
    deal("one", quantity=1)
    deal("two", quantity=2)

    def titles(direction: str) -> list[str]:
        data = records_ok(
            f"{{ deals(orderBy: [{{quantity: {direction}}}]) {{ edges {{ node {{ title }} }} }} }}"
        )
        return [n["title"] for n in nodes(data["deals"])]

    assert titles("ASC") == ["one", "two", "none"]
    assert titles("DESC") == ["none", "two", "one"]
    assert titles("ASC_NULLS_FIRST") == ["none", "one", "two"]
    assert titles("DESC_NULLS_LAST") == ["two", "one", "none"]


def test_order_by_a_field_of_the_linked_record_and_by_select_position(
    records_ok: Run, company: Any, deal: Any
):
    zeta, alpha = company("Zeta"), company("Alpha")
    deal("z", company=zeta, stage="prospect")
    deal("a", company=alpha, stage="won")
    deal("nobody", stage="proposal")
    by_company = records_ok("{ deals(orderBy: [{company: {name: ASC}}]) { edges { node { title } } } }")
    assert [n["title"] for n in nodes(by_company["deals"])] == ["a", "z", "nobody"]
    by_stage = records_ok("{ deals(orderBy: [{stage: DESC}]) { edges { node { title } } } }")
    assert [n["title"] for n in nodes(by_stage["deals"])] == ["a", "nobody", "z"]


def test_page_through_an_order_on_a_linked_field(records_ok: Run, company: Any, deal: Any):
    companies = [company(f"C{i}") for i in range(3)]
    for i in range(6):
        deal(f"D{i}", company=companies[i % 3])
    query = """query($after: String) { deals(first: 4, after: $after, orderBy: [{company: {name: DESC}}]) {
        pageInfo { endCursor } edges { node { title } } } }"""
    first = records_ok(query)["deals"]
    second = records_ok(query, {"after": first["pageInfo"]["endCursor"]})["deals"]
    assert sorted(n["title"] for n in nodes(first) + nodes(second)) == [f"D{i}" for i in range(6)]


@pytest.mark.parametrize(
    ("arguments", "code", "path"),
    [
        ("first: 501", "PAGE_SIZE_OUT_OF_RANGE", ["first"]),
        ("first: -1", "PAGE_SIZE_OUT_OF_RANGE", ["first"]),
        ("first: 1, last: 1", "PAGINATION_INVALID", ["last"]),
        ('after: "zz"', "INVALID_CURSOR", ["after"]),
        ('after: "5b5d"', "INVALID_CURSOR", ["after"]),
        ("orderBy: [{title: ASC, quantity: ASC}]", "ORDER_BY_INVALID", ["orderBy", 0]),
    ],
)
def test_bad_page_arguments_are_clear_errors(record_api: Run, arguments: str, code: str, path: list[Any]):
    answer = record_api(f"{{ deals({arguments}) {{ totalCount }} }}")
    assert codes(answer) == [code]
    assert answer["errors"][0]["extensions"]["inputPath"] == path


def test_a_cursor_of_another_order_is_refused(records_ok: Run, record_api: Run, deal: Any):
    deal("a")
    deal("b")
    cursor = records_ok("{ deals(first: 1) { pageInfo { endCursor } } }")["deals"]["pageInfo"]["endCursor"]
    answer = record_api(
        "query($c: String) { deals(after: $c, orderBy: [{title: ASC}]) { totalCount } }", {"c": cursor}
    )
    assert codes(answer) == ["INVALID_CURSOR"]


def test_default_page_size(record_api: Run, deal: Any, records: RecordService, workspace: str):
    records.create_many(workspace, "deal", [{"title": f"D{i}"} for i in range(55)])
    data = record_api("{ deals { totalCount pageInfo { hasNextPage } edges { cursor } } }")["data"]["deals"]
    assert data["totalCount"] == 55 and len(data["edges"]) == 50 and data["pageInfo"]["hasNextPage"] is True


# -- relations ---------------------------------------------------------------------------------
def test_reverse_relation_is_a_connection_with_its_own_arguments(records_ok: Run, company: Any, deal: Any):
    acme, globex = company("Acme"), company("Globex")
    for i in range(4):
        deal(f"A{i}", company=acme, quantity=i)
    deal("G0", company=globex, quantity=9)
    data = records_ok(
        """{ companies(orderBy: [{name: ASC}]) { edges { node { name
            deals(first: 2, orderBy: [{quantity: DESC}], filter: {quantity: {gte: 1}}) {
              totalCount pageInfo { hasNextPage } edges { node { title company { name } } } } } } } }"""
    )
    acme_deals, globex_deals = (n["deals"] for n in nodes(data["companies"]))
    assert acme_deals["totalCount"] == 3 and acme_deals["pageInfo"]["hasNextPage"] is True
    assert [n["title"] for n in nodes(acme_deals)] == ["A3", "A2"]
    assert nodes(acme_deals)[0]["company"] == {"name": "Acme"}
    assert [n["title"] for n in nodes(globex_deals)] == ["G0"]


def test_soft_deleted_records_are_hidden_from_relations(
    records_ok: Run, records: RecordService, workspace: str, company: Any, deal: Any
):
    acme = company("Acme")
    gone = deal("gone", company=acme)
    deal("kept", company=acme)
    records.delete(workspace, "deal", gone["id"])
    records.delete(workspace, "company", acme["id"])
    data = records_ok("{ deals { edges { node { title company { name } } } } }")
    assert nodes(data["deals"]) == [{"title": "kept", "company": None}]
    bin_ = records_ok("{ companies(deleted: ONLY) { edges { node { name deals { totalCount } } } } }")
    assert nodes(bin_["companies"]) == [{"name": "Acme", "deals": {"totalCount": 1}}]


def test_statement_count_does_not_grow_with_rows(
    engine: Any, record_api: Run, records: RecordService, workspace: str, company: Any
):
    query = """{ companies(first: 500) { edges { node { name
        deals(first: 5) { totalCount edges { node { title company { name deals(first: 2) { totalCount } } } } } } } } }"""

    def statements_for(count: int) -> int:
        before = len(statements)
        answer = record_api(query)
        assert "errors" not in answer
        assert len(answer["data"]["companies"]["edges"]) == count
        return len(statements) - before

    statements: list[str] = []
    record_api("{ __typename }")  # builds the schema
    # Transaction control (SQLite's BEGIN) is not a statement of the plan.
    sa.event.listen(
        engine,
        "before_cursor_execute",
        lambda *args: None if args[2].startswith("BEGIN") else statements.append(args[2]),
    )
    acme = company("C0")
    records.create(workspace, "deal", {"title": "d", "company": str(acme["id"])})
    one = statements_for(1)
    extra = records.create_many(workspace, "company", [{"name": f"C{i}"} for i in range(1, 200)])
    records.create_many(
        workspace, "deal", [{"title": "d", "company": str(c["id"])} for c in extra for _ in range(2)]
    )
    assert statements_for(200) == one == 2  # the version check and the planned read


# -- writes ------------------------------------------------------------------------------------
def test_create_many_is_all_or_nothing_with_indexed_paths(record_api: Run, records_ok: Run):
    answer = record_api(
        'mutation { createDeals(input: [{title: "ok"}, {title: "bad", amount: "x"}, {quantity: 1}]) { id } }'
    )
    problems = answer["errors"][0]["extensions"]["problems"]
    assert {(p["code"], tuple(p["inputPath"])) for p in problems} >= {
        ("TYPE_MISMATCH", ("input", 1, "amount")),
        ("FIELD_REQUIRED", ("input", 2, "title")),
    }
    assert records_ok("{ deals { totalCount } }")["deals"]["totalCount"] == 0


def test_update_delete_restore_destroy(records_ok: Run, record_api: Run, deal: Any):
    made = deal("D", quantity=1)
    variables = {"id": str(made["id"])}
    updated = records_ok(
        "mutation($id: ID!) { updateDeal(id: $id, input: {quantity: 2}) { title quantity } }", variables
    )
    assert updated["updateDeal"] == {"title": "D", "quantity": 2}
    deleted = records_ok("mutation($id: ID!) { deleteDeal(id: $id) { deleted_at } }", variables)
    assert deleted["deleteDeal"]["deleted_at"] is not None
    assert records_ok("query($id: ID!) { deal(id: $id) { title } }", variables)["deal"] is None
    assert records_ok("{ deals { totalCount } }")["deals"]["totalCount"] == 0
    in_bin = records_ok("query($id: ID!) { deal(id: $id, deleted: INCLUDED) { title } }", variables)
    assert in_bin["deal"] == {"title": "D"}
    restored = records_ok("mutation($id: ID!) { restoreDeal(id: $id) { deleted_at } }", variables)
    assert restored["restoreDeal"]["deleted_at"] is None
    assert (
        records_ok("mutation($id: ID!) { destroyDeal(id: $id) }", variables)["destroyDeal"] == variables["id"]
    )
    assert (
        records_ok("query($id: ID!) { deal(id: $id, deleted: INCLUDED) { title } }", variables)["deal"]
        is None
    )
    assert codes(
        record_api("mutation($id: ID!) { updateDeal(id: $id, input: {quantity: 3}) { id } }", variables)
    ) == ["RECORD_NOT_FOUND"]


def test_update_many_by_filter(records_ok: Run, record_api: Run, deal: Any):
    deal("a", quantity=1)
    deal("b", quantity=1)
    deal("c", quantity=5)
    changed = records_ok(
        "mutation { updateDeals(filter: {quantity: {eq: 1}}, input: {won: true}) { title won } }"
    )["updateDeals"]
    assert sorted(d["title"] for d in changed) == ["a", "b"] and all(d["won"] for d in changed)
    bad = record_api('mutation { updateDeals(filter: {close_date: {eq: "x"}}, input: {won: true}) { id } }')
    assert bad["errors"][0]["extensions"]["inputPath"] == ["filter", "close_date", "eq"]


def test_upsert_creates_then_updates(records_ok: Run):
    query = 'mutation($country: String) { upsertCompany(on: name, input: {name: "Acme", country: $country}) { name country } }'
    assert records_ok(query, {"country": "FR"})["upsertCompany"] == {"name": "Acme", "country": "FR"}
    assert records_ok(query, {"country": "DE"})["upsertCompany"] == {"name": "Acme", "country": "DE"}
    assert records_ok("{ companies { totalCount } }")["companies"]["totalCount"] == 1


def test_a_bad_id_is_a_clear_error(record_api: Run):
    answer = record_api('{ deal(id: "nope") { id } }')
    assert codes(answer) == ["INVALID_ID"] and answer["errors"][0]["extensions"]["inputPath"] == ["id"]


def test_mutations_need_post(record_api: Run):
    answer = record_api('mutation { createDeal(input: {title: "x"}) { id } }', allow_mutations=False)
    assert codes(answer) == ["METHOD_NOT_ALLOWED"]


# -- live schema -------------------------------------------------------------------------------
def test_a_new_field_is_queryable_on_the_next_request(record_api: Run, store: MetadataStore, workspace: str):
    assert codes(record_api("{ deals { edges { node { probability } } } }")) == ["GRAPHQL_VALIDATION_FAILED"]
    store.apply(workspace, changes.create_field("deal", {"api_name": "probability", "type": "percent"}))
    assert "errors" not in record_api("{ deals { edges { node { probability } } } }")


def test_schemas_are_not_rebuilt_per_request(record_api: Run):
    for _ in range(3):
        record_api("{ deals { totalCount } }")
    assert record_api.api.schemas.builds == 1  # type: ignore[attr-defined]


# -- filters through GraphQL -------------------------------------------------------------------
def test_the_filter_language_in_graphql_literals_and_variables(
    records_ok: Run, record_api: Run, company: Any, deal: Any
):
    acme, globex = company("Acme", country="FR"), company("Globex", country="US")
    deal("won", company=acme, stage="won", close_date="2020-01-15", tags=["hot"])
    deal("open", company=globex, stage="prospect", tags=["hot", "cold"])
    literal = records_ok(
        """{ deals(filter: {or: [{stage: {eq: won}}, {tags: {containsAll: [hot, cold]}}],
                           company: {country: {in: ["FR", "US"]}}, close_date: {within: LAST_YEAR}}) {
             edges { node { title } } } }"""
    )
    assert nodes(literal["deals"]) == []
    variables = {"f": {"company": {"name": {"startsWith": "ac"}}, "close_date": {"lt": "today"}}}
    by_variables = records_ok(
        "query($f: DealFilter) { deals(filter: $f) { edges { node { title } } } }", variables
    )
    assert nodes(by_variables["deals"]) == [{"title": "won"}]
    reverse = records_ok(
        "{ companies(filter: {deals: {none: {stage: {eq: won}}}}) { edges { node { name } } } }"
    )
    assert nodes(reverse["companies"]) == [{"name": "Globex"}]
    wrong = record_api('{ deals(filter: {close_date: {eq: "someday"}}) { totalCount } }')
    assert wrong["errors"][0]["extensions"]["code"] == "FILTER_INVALID_VALUE"
    assert wrong["errors"][0]["extensions"]["inputPath"] == ["filter", "close_date", "eq"]


def test_non_atomic_batches_write_what_they_can(record_api: Run, records_ok: Run, deal: Any):
    answer = record_api(
        'mutation { createDeals(atomic: false, input: [{title: "a"}, {title: "b", amount: "x"}, {title: "c"}]) { title } }'
    )
    assert answer["data"]["createDeals"] == [{"title": "a"}, None, {"title": "c"}]
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "TYPE_MISMATCH"
    assert error["extensions"]["inputPath"] == ["input", 1, "amount"]
    assert error["path"] == ["createDeals", 1]
    deal("with quantity", quantity=1)
    updated = record_api(
        'mutation { updateDeals(atomic: false, filter: {title: {in: ["a", "with quantity"]}}, input: {amount: "2"}) { title amount } }'
    )
    assert updated["data"]["updateDeals"] == [
        {"title": "a", "amount": "2.00"},
        {"title": "with quantity", "amount": "2.00"},
    ]
    assert records_ok("{ deals { totalCount } }")["deals"]["totalCount"] == 3


def test_database_json_is_spliced_into_the_response_unparsed():
    from tessera.schema.record_api import RawJSON, dumps

    payload = {"data": {"a": RawJSON('{"x": [1, 2]}'), "b": [RawJSON("null"), "\x00text\x00"], "c": "é"}}
    assert dumps(payload).decode() == '{"data":{"a":{"x": [1, 2]},"b":[null,"\\u0000text\\u0000"],"c":"é"}}'


def test_a_get_by_id_is_planned_once_for_every_id(record_api: Run, records_ok: Run, deal: Any):
    first, second = deal("first"), deal("second")
    query = "query($id: ID!) { deal(id: $id) { title } }"
    assert records_ok(query, {"id": str(first["id"])})["deal"] == {"title": "first"}
    assert records_ok(query, {"id": str(second["id"])})["deal"] == {"title": "second"}
    (cached,) = record_api.api.schemas._schemas.values()  # type: ignore[attr-defined]
    assert len(cached.plans) == 1
    relative = 'query($id: ID!) { deal(id: $id) { company { deals(filter: {close_date: {lt: "today"}}) { totalCount } } } }'
    records_ok(relative, {"id": str(first["id"])})
    assert len(cached.plans) == 1  # plans resolving "today" are not kept


def test_an_error_in_a_nested_argument_says_where_it_is(record_api: Run, company: Any):
    company("Acme")
    answer = record_api(
        '{ companies { edges { node { deals(filter: {close_date: {eq: "soon"}}) { totalCount } } } } }'
    )
    error = answer["errors"][0]
    assert error["path"] == ["companies"]
    assert error["extensions"]["inputPath"] == ["edges", "node", "deals", "filter", "close_date", "eq"]


def test_a_bad_currency_code_points_at_the_api_spelling(record_api: Run):
    answer = record_api(
        'mutation { createDeal(input: {title: "x", price: {amount: "1", currencyCode: "XXQ"}}) { id } }'
    )
    assert answer["errors"][0]["extensions"]["inputPath"] == ["input", "price", "currencyCode"]
