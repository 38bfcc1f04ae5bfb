"""The Tryton connector against a real Tryton server (tests/connectors/tryton_server.py)."""

from __future__ import annotations

import http.server
import itertools
import threading
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest

from tessera.connectors.contract import ConnectorContract
from tessera.connectors.sdk import (
    AuthenticationError,
    Checkpoint,
    ConfigurationError,
    ConnectorContext,
    PermanentError,
    Record,
    TransientError,
)
from tessera.connectors.tryton import TrytonClient, TrytonConnector
from tests.connectors.tryton_server import (
    TrytonServer,
    free_port,
    tryton_server,  # noqa: F401 (the fixture)
)

_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}{next(_names)}"


def read_all(
    connector: TrytonConnector, config: Mapping[str, Any], stream: str, state: Mapping[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    records: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    for item in connector.read(config, stream, state):
        if isinstance(item, Record):
            records.append(dict(item.data))
        else:
            assert isinstance(item, Checkpoint)
            states.append(dict(item.state))
    return records, states


def last_state(connector: TrytonConnector, config: Mapping[str, Any], stream: str) -> dict[str, Any] | None:
    _, states = read_all(connector, config, stream)
    return states[-1] if states else None


# -- a tiny in-memory RecordAccess --------------------------------------------------------------
class FakeRecords:
    """Tessera's records as a connector sees them (JSON: lookups as ids, currency as a dict)."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.updates: list[tuple[str, str, dict[str, Any]]] = []

    def add(self, object_name: str, **values: Any) -> dict[str, Any]:
        record = {"id": str(uuid.uuid4()), "updated_at": "2026-12-01T10:00:00+00:00", **values}
        self.objects.setdefault(object_name, {})[record["id"]] = record
        return record

    def find(
        self, object_name: str, filter_doc: Mapping[str, Any] | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        def matches(record: Mapping[str, Any]) -> bool:
            for name, condition in (filter_doc or {}).items():
                if "id" in condition:
                    if record.get(name) != condition["id"]["eq"]:
                        return False
                elif record.get(name) != condition["eq"]:
                    return False
            return True

        found = [dict(r) for r in self.objects.get(object_name, {}).values() if matches(r)]
        return found[:limit] if limit else found

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        found = self.objects.get(object_name, {}).get(record_id)
        return None if found is None else dict(found)

    def create(self, object_name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return self.add(object_name, **values)

    def update(self, object_name: str, record_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        self.updates.append((object_name, record_id, dict(values)))
        self.objects[object_name][record_id].update(values)
        return dict(self.objects[object_name][record_id])

    def upsert(self, object_name: str, match_field: str, values: Mapping[str, Any]) -> dict[str, Any]:
        for record in self.objects.get(object_name, {}).values():
            if record.get(match_field) == values[match_field]:
                record.update(values)
                return dict(record)
        return self.add(object_name, **values)


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency_code": "EUR"}


class WonDeal:
    """A won deal of a company, with an accepted quote of two lines (one discounted)."""

    def __init__(self, server: TrytonServer, records: FakeRecords) -> None:
        self.code = f"W{uuid.uuid4().hex[:6].upper()}"
        self.tryton_product = server.create_product("Onboarding", self.code, "100.00")
        self.company = records.add("company", name=unique("Globex"), city="Lyon", tryton_id=None)
        self.product = records.add("product", name="Onboarding", code=self.code, tryton_id=None)
        self.deal = records.add(
            "deal", number="D-0042", title="Globex roll-out", stage="won", company=self.company["id"]
        )
        self.quote = records.add("quote", number="Q-0007", deal=self.deal["id"], status="accepted")
        records.add("quote", number="Q-0006", deal=self.deal["id"], status="rejected")
        records.add(
            "quote_line",
            quote=self.quote["id"],
            product=self.product["id"],
            quantity="3.00",
            unit_price=eur("100.00"),
            discount="10",
        )
        records.add(
            "quote_line",
            quote=self.quote["id"],
            product=None,
            description="Travel expenses",
            quantity="1.00",
            unit_price=eur("250.00"),
            discount="0",
        )


@pytest.fixture
def server(tryton_server: TrytonServer) -> TrytonServer:  # noqa: F811
    return tryton_server


@pytest.fixture
def connector() -> TrytonConnector:
    return TrytonConnector()


@pytest.fixture
def fake_records() -> FakeRecords:
    return FakeRecords()


@pytest.fixture
def acting(fake_records: FakeRecords) -> TrytonConnector:
    return TrytonConnector(ConnectorContext("acme", "tryton", fake_records))


# -- check: plain words against the real server ---------------------------------------------------
def test_check_passes_and_names_the_server_version(server: TrytonServer, connector: TrytonConnector):
    result = connector.check(server.config())
    assert result.ok
    assert result.message == "Connected to Tryton 8.2, database 'tessera', as 'admin'."


def test_check_says_the_server_is_unreachable(connector: TrytonConnector, server: TrytonServer):
    url = f"http://127.0.0.1:{free_port()}"
    result = connector.check(server.config(url=url))
    assert not result.ok
    assert result.message == f"Cannot reach the Tryton server at {url}: the connection was refused."


def test_check_says_the_database_is_unknown(server: TrytonServer, connector: TrytonConnector):
    result = connector.check(server.config(database="nowhere"))
    assert not result.ok
    assert result.message == f"The Tryton server at {server.url} has no database 'nowhere'."
    assert result.path == ("database",)


def test_check_says_the_password_is_wrong(server: TrytonServer, connector: TrytonConnector):
    login = server.new_user()
    result = connector.check(server.config(login=login, password="not the password"))
    assert not result.ok
    assert result.message == f"Tryton refused the login '{login}' with this password."
    assert result.path == ("password",)


class _NotTryton(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture
def not_tryton() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotTryton)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_check_says_when_the_url_is_not_a_tryton_server(
    server: TrytonServer, connector: TrytonConnector, not_tryton: str
):
    result = connector.check(server.config(url=not_tryton))
    assert not result.ok
    assert result.message == f"The server at {not_tryton} does not answer as a Tryton server (HTTP 404)."


# -- errors: the SDK's taxonomy -------------------------------------------------------------------
def test_tryton_failures_are_the_sdks_error_kinds(server: TrytonServer):
    with pytest.raises(TransientError):
        TrytonClient(server.config(url=f"http://127.0.0.1:{free_port()}")).login()
    with pytest.raises(ConfigurationError):
        TrytonClient(server.config(database="nowhere")).login()
    with pytest.raises(AuthenticationError):
        TrytonClient(server.config(login=server.new_user(), password="wrong")).login()
    with TrytonClient(server.config()) as client, pytest.raises(PermanentError) as refused:
        client.call("sale.sale", "create", [{"description": "no party"}])
    assert 'A value is required for field "Party"' in str(refused.value)


# -- read --------------------------------------------------------------------------------------
def test_parties_are_companies_or_people_by_their_category(server: TrytonServer, connector: TrytonConnector):
    config = server.config()
    company = server.create_party(
        unique("Initech"), website="www.initech.example.org", phone="+33 1 23 45 67 89", city="Lyon"
    )
    person = server.create_party(
        "Ann Marie Lee", person=True, email="ann@initech.fr", phone="+33 6 12 34 56 78", city="Paris"
    )
    companies, _ = read_all(connector, config, "companies")
    people, _ = read_all(connector, config, "people")
    by_id = {r["id"]: r for r in companies}
    assert person not in by_id and company in by_id
    assert by_id[company]["website"] == "https://www.initech.example.org"
    assert by_id[company]["phone"] == "+33 1 23 45 67 89"
    assert by_id[company]["city"] == "Lyon"
    (ann,) = [r for r in people if r["id"] == person]
    assert (ann["first_name"], ann["last_name"], ann["email"], ann["city"]) == (
        "Ann Marie",
        "Lee",
        "ann@initech.fr",
        "Paris",
    )
    assert ann["modified_at"].endswith("+00:00")


def test_people_follow_the_configured_category(server: TrytonServer, connector: TrytonConnector):
    person = server.create_party(unique("Bob"), person=True)
    people, _ = read_all(connector, server.config(person_category="Contact"), "people")
    companies, _ = read_all(connector, server.config(person_category="Contact"), "companies")
    assert person not in {r["id"] for r in people}
    assert person in {r["id"] for r in companies}


def test_products_are_read_with_their_code_and_price(server: TrytonServer, connector: TrytonConnector):
    code = f"P{uuid.uuid4().hex[:6].upper()}"
    product = server.create_product("Consulting day", code, "800.00")
    products, _ = read_all(connector, server.config(), "products")
    (row,) = [r for r in products if r["id"] == product]
    assert row["code"] == code
    assert row["name"] == "Consulting day"
    assert row["active"] is True
    assert row["unit_price"] == {"amount": "800.00", "currency_code": "EUR"}


def test_an_incremental_read_sees_only_what_changed_on_the_server(
    server: TrytonServer, connector: TrytonConnector
):
    config = server.config()
    changed = server.create_party(unique("Umbrella"))
    untouched = server.create_party(unique("Hooli"))
    state = last_state(connector, config, "companies")
    assert state is not None
    again, _ = read_all(connector, config, "companies", state)
    assert again == []
    server.call("model.party.party.write", [changed], {"name": "Umbrella Corporation"})
    again, states = read_all(connector, config, "companies", state)
    assert [r["id"] for r in again] == [changed]
    assert again[0]["name"] == "Umbrella Corporation"
    assert untouched not in {r["id"] for r in again}
    assert states and states[-1] != state


def test_a_party_never_modified_is_read_by_its_creation_date(
    server: TrytonServer, connector: TrytonConnector
):
    """Tryton leaves write_date empty on a record never written after its creation."""
    config = server.config()
    state = last_state(connector, config, "companies")
    name = unique("Vandelay")
    party = server.create_party(name)
    # as a record created by a module or an import that never wrote it again
    server.sql("UPDATE party_party SET write_date = NULL WHERE id = ?", party)
    (stored,) = server.call("model.party.party.read", [party], ["write_date", "create_date"])
    assert stored["write_date"] is None and stored["create_date"] is not None
    again, _ = read_all(connector, config, "companies", state)
    assert [r["id"] for r in again] == [party]


def test_a_product_is_read_again_when_its_template_changes(server: TrytonServer, connector: TrytonConnector):
    config = server.config()
    product = server.create_product("Licence", f"L{uuid.uuid4().hex[:6].upper()}", "50.00")
    state = last_state(connector, config, "products")
    assert read_all(connector, config, "products", state)[0] == []
    (template,) = server.call("model.product.product.read", [product], ["template"])
    server.call("model.product.template.write", [template["template"]], {"list_price": Decimal("55.00")})
    again, _ = read_all(connector, config, "products", state)
    assert [(r["id"], r["unit_price"]["amount"]) for r in again] == [(product, "55.00")]


def test_reads_checkpoint_each_page_and_resume_after_it(server: TrytonServer, connector: TrytonConnector):
    config = server.config(page_size=2)
    state = last_state(connector, config, "companies")
    made = [server.create_party(unique("Page")) for _ in range(5)]
    items = list(connector.read(config, "companies", state))
    kinds = ["R" if isinstance(i, Record) else "C" for i in items]
    assert kinds == ["R", "R", "C", "R", "R", "C", "R", "C"]
    assert [i.data["id"] for i in items if isinstance(i, Record)] == made
    middle = items[2]
    assert isinstance(middle, Checkpoint)
    resumed, _ = read_all(connector, config, "companies", middle.state)
    assert [r["id"] for r in resumed] == made[2:]


# -- the action: a won deal becomes a sale order ---------------------------------------------------
def sale_lines(server: TrytonServer, sale_id: int) -> list[tuple[Any, ...]]:
    lines = server.call(
        "model.sale.line.search_read",
        [["sale", "=", sale_id]],
        0,
        None,
        [["id", "ASC"]],
        ["product", "quantity", "unit_price", "description"],
    )
    return [(line["product"], line["quantity"], line["unit_price"], line["description"]) for line in lines]


def test_a_won_deal_becomes_a_quoted_sale_order_once(
    server: TrytonServer, acting: TrytonConnector, fake_records: FakeRecords
):
    won = WonDeal(server, fake_records)
    config = server.config()
    payload = {"deal_id": won.deal["id"]}
    first = acting.execute(config, "create_sale_order", payload, "run-1:step-2")
    assert first["created"] is True and first["state"] == "quotation" and first["lines"] == 2
    assert first["total_amount"] == "520.00" and first["currency"] == "EUR"
    sale_id = first["sale_id"]
    assert sale_lines(server, sale_id) == [
        (won.tryton_product, 3.0, Decimal("90.0000"), "Onboarding"),
        (None, 1.0, Decimal("250.0000"), "Travel expenses"),
    ]
    (sale,) = server.call(
        "model.sale.sale.read", [sale_id], ["party", "reference", "description", "number", "invoice_address"]
    )
    assert sale["reference"] == "tessera:run-1:step-2"
    assert sale["description"] == "Globex roll-out"
    assert sale["invoice_address"] is not None
    (party,) = server.call("model.party.party.read", [sale["party"]], ["name"])
    assert party["name"] == won.company["name"]
    # what Tessera learnt: the deal's sale, the company's party, the product's Tryton id
    deal = fake_records.get("deal", won.deal["id"])
    assert deal is not None
    assert (deal["tryton_sale_id"], deal["tryton_sale_number"]) == (str(sale_id), sale["number"])
    assert fake_records.objects["company"][won.company["id"]]["tryton_id"] == str(sale["party"])
    assert fake_records.objects["product"][won.product["id"]]["tryton_id"] == str(won.tryton_product)

    # a retried step finds the sale it made
    again = acting.execute(config, "create_sale_order", payload, "run-1:step-2")
    assert again["created"] is False
    assert again["sale_id"] == sale_id
    assert server.call(
        "model.sale.sale.search", [["reference", "=", "tessera:run-1:step-2"]], 0, None, None
    ) == [sale_id]

    # another run makes another sale, for the same party (found by the company's tryton_id)
    other = acting.execute(config, "create_sale_order", {**payload, "state": "draft"}, "run-9:step-2")
    assert other["created"] is True and other["sale_id"] != sale_id
    assert other["state"] == "draft" and other["number"] is None
    assert other["party_id"] == first["party_id"]


def test_a_deal_without_an_accepted_quote_is_refused(
    server: TrytonServer, acting: TrytonConnector, fake_records: FakeRecords
):
    company = fake_records.add("company", name=unique("Soylent"))
    deal = fake_records.add("deal", number="D-0100", title="Nothing agreed", company=company["id"])
    fake_records.add("quote", deal=deal["id"], status="sent")
    with pytest.raises(PermanentError, match="Deal D-0100 has no accepted quote"):
        acting.execute(server.config(), "create_sale_order", {"deal_id": deal["id"]}, "k-no-quote")


def test_a_product_tryton_does_not_have_is_refused(
    server: TrytonServer, acting: TrytonConnector, fake_records: FakeRecords
):
    company = fake_records.add("company", name=unique("Stark"))
    product = fake_records.add("product", name="Arc reactor", code="NOT-IN-TRYTON")
    deal = fake_records.add("deal", number="D-0101", title="Reactor", company=company["id"])
    quote = fake_records.add("quote", deal=deal["id"], status="accepted")
    fake_records.add(
        "quote_line", quote=quote["id"], product=product["id"], quantity="1", unit_price=eur("9")
    )
    with pytest.raises(PermanentError, match=r"Product 'Arc reactor' \(NOT-IN-TRYTON\) is not in Tryton"):
        acting.execute(server.config(), "create_sale_order", {"deal_id": deal["id"]}, "k-no-product")


def test_the_action_needs_a_tessera_workspace(server: TrytonServer, connector: TrytonConnector):
    with pytest.raises(ConfigurationError):
        connector.execute(server.config(), "create_sale_order", {"deal_id": str(uuid.uuid4())}, "k")


# -- the contract ----------------------------------------------------------------------------------
class TestTrytonContract(ConnectorContract):
    connector_class = TrytonConnector

    @pytest.fixture
    def config(self, tryton_server: TrytonServer) -> Mapping[str, Any]:  # noqa: F811
        return tryton_server.config()

    @pytest.fixture
    def bad_config(self, tryton_server: TrytonServer) -> tuple[Mapping[str, Any], str]:  # noqa: F811
        return tryton_server.config(login=tryton_server.new_user(), password="wrong"), "refused the login"

    @pytest.fixture
    def deal(self, tryton_server: TrytonServer, fake_records: FakeRecords) -> WonDeal:  # noqa: F811
        return WonDeal(tryton_server, fake_records)

    @pytest.fixture
    def context(self, fake_records: FakeRecords) -> ConnectorContext:
        return ConnectorContext("acme", "tryton", fake_records)

    @pytest.fixture
    def action_inputs(self, deal: WonDeal) -> Mapping[str, Mapping[str, Any]]:
        return {"create_sale_order": {"deal_id": deal.deal["id"]}}
