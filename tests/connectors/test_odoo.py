"""The Odoo connector against a local Odoo server (tests/connectors/odoo_server.py), over
each of its protocols: real HTTP on loopback, no mock of the protocol."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tessera.connectors.contract import ConnectorContract
from tessera.connectors.odoo import OdooClient, OdooConnector
from tessera.connectors.sdk import (
    AuthenticationError,
    Checkpoint,
    ConfigurationError,
    ConnectorContext,
    PermanentError,
    RateLimited,
    Record,
    TransientError,
)
from tests.connectors.odoo_server import ADMIN_API_KEY, ADMIN_PASSWORD, OdooServer

PROTOCOLS = ("jsonrpc", "xmlrpc", "json2")


@pytest.fixture
def odoo() -> Iterator[OdooServer]:
    with OdooServer() as server:
        yield server


def config_for(server: OdooServer, protocol: str, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"url": server.url, "database": "acme", "protocol": protocol}
    if protocol == "json2":
        config["api_key"] = ADMIN_API_KEY
    else:
        config |= {"username": "admin", "password": ADMIN_PASSWORD}
    return config | extra


def read(
    connector: OdooConnector, config: Mapping[str, Any], stream: str, state: Mapping[str, Any] | None = None
):
    records, states = [], []
    for item in connector.read(config, stream, state):
        if isinstance(item, Record):
            records.append(dict(item.data))
        else:
            assert isinstance(item, Checkpoint)
            states.append(dict(item.state))
    return records, states


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- reading -------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_protocol_reads_partners_incrementally(odoo: OdooServer, protocol: str) -> None:
    odoo.set_time("2025-01-06 09:00:00")
    deco = odoo.seed_partner(
        "Deco Addict", city="Brussels", country_id=odoo.country("BE"), website="https://deco.example"
    )
    odoo.advance(60)
    gemini = odoo.seed_partner("Gemini Furniture", phone="+32 2 290 34 90")
    odoo.seed_partner("Jane Doe", is_company=False, parent_id=gemini, email="jane@gemini.example")
    connector, config = OdooConnector(), config_for(odoo, protocol)

    companies, states = read(connector, config, "companies")
    assert [c["name"] for c in companies] == ["Deco Addict", "Gemini Furniture"]
    assert companies[0]["country_code"] == "BE" and companies[0]["country_id"] == {
        "id": odoo.country("BE"),
        "name": "Belgium",
    }
    assert companies[0]["phone"] is None  # Odoo's false for "empty" reads as null
    assert states[-1] == {"write_date": "2025-01-06 09:01:00", "id": gemini}

    again, _ = read(connector, config, "companies", states[-1])
    assert again == []

    odoo.advance(3600)
    odoo.write("res.partner", deco, {"city": "Antwerp"})
    changed, changed_states = read(connector, config, "companies", states[-1])
    assert [(c["id"], c["city"]) for c in changed] == [(deco, "Antwerp")]
    assert changed_states[-1] == {"write_date": "2025-01-06 10:01:00", "id": deco}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_protocol_reads_products_incrementally(odoo: OdooServer, protocol: str) -> None:
    desk = odoo.seed_product("Large Desk", "FURN_0001", 1799.0)
    odoo.seed_product("Consulting", None, 95.5, type="service")
    connector, config = OdooConnector(), config_for(odoo, protocol, currency="USD")

    products, states = read(connector, config, "products")
    assert [(p["code"], p["price"], p["active"]) for p in products] == [
        ("FURN_0001", {"amount": "1799.00", "currency_code": "USD"}, True),
        (f"odoo-{desk + 1}", {"amount": "95.50", "currency_code": "USD"}, True),
    ]
    assert read(connector, config, "products", states[-1])[0] == []

    odoo.advance(5)
    odoo.write("product.product", desk, {"active": False})  # archived products come through
    products, _ = read(connector, config, "products", states[-1])
    assert [(p["id"], p["active"]) for p in products] == [(desk, False)]


def test_contacts_carry_their_company_and_a_split_name(odoo: OdooServer) -> None:
    acme = odoo.seed_partner("Acme")
    odoo.seed_partner(
        "Ada Lovelace King", is_company=False, parent_id=acme, function="CTO", email="ada@acme.example"
    )
    odoo.seed_partner("Solo", is_company=False)
    odoo.seed_partner("", is_company=False, parent_id=acme, type="invoice")  # an address, not a person

    contacts, _ = read(OdooConnector(), config_for(odoo, "jsonrpc"), "contacts")
    assert [(c["first_name"], c["last_name"], c["parent_id"], c["function"]) for c in contacts] == [
        ("Ada Lovelace", "King", {"id": acme, "name": "Acme"}, "CTO"),
        (None, "Solo", None, None),
    ]


def test_pages_end_in_checkpoints_and_ties_on_write_date_break_by_id(odoo: OdooServer) -> None:
    ids = [odoo.seed_product(f"Chair {n}", f"CH{n}") for n in range(5)]  # all written in the same second
    connector = OdooConnector()
    connector.page_size = 2
    config = config_for(odoo, "xmlrpc")

    seen: list[int] = []
    items = list(connector.read(config, "products", None))
    kinds = ["R" if isinstance(i, Record) else "C" for i in items]
    assert kinds == ["R", "R", "C", "R", "R", "C", "R", "C"]
    seen = [i.data["id"] for i in items if isinstance(i, Record)]
    assert seen == ids

    # resuming from the middle checkpoint reads the rest, nothing twice
    middle = next(i for i in items if isinstance(i, Checkpoint)).state
    rest, _ = read(connector, config, "products", middle)
    assert [r["id"] for r in rest] == ids[2:]


# -- check ---------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_check_passes_on_each_protocol(odoo: OdooServer, protocol: str) -> None:
    result = OdooConnector().check(config_for(odoo, protocol))
    assert result.ok, result.message
    assert result.message == "Connected to Odoo 19.0 database 'acme' as user 2."


def test_an_api_key_works_in_place_of_the_password_over_rpc(odoo: OdooServer) -> None:
    config = config_for(odoo, "jsonrpc", password=ADMIN_API_KEY)
    assert OdooConnector().check(config).ok


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_check_says_the_server_cannot_be_reached(protocol: str) -> None:
    url = closed_port_url()
    result = OdooConnector().check(
        {
            "url": url,
            "database": "acme",
            "protocol": protocol,
            "username": "a",
            "password": "b",
            "api_key": "c",
        }
    )
    assert not result.ok
    assert result.message == f"Cannot reach the Odoo server at {url}: the connection was refused."


def test_check_says_a_url_is_not_one() -> None:
    result = OdooConnector().check(
        {"url": "odoo.example.com", "database": "acme", "username": "a", "password": "b"}
    )
    assert result.message == "The Odoo URL must start with http:// or https:// (got 'odoo.example.com')."
    assert result.path == ("url",)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_check_says_the_database_does_not_exist(odoo: OdooServer, protocol: str) -> None:
    result = OdooConnector().check(config_for(odoo, protocol, database="nope"))
    assert not result.ok
    assert result.message == f"The Odoo server at {odoo.url} has no database 'nope'."
    assert result.path == ("database",)


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
def test_check_says_the_password_is_wrong(odoo: OdooServer, protocol: str) -> None:
    result = OdooConnector().check(config_for(odoo, protocol, password="wrong"))
    assert not result.ok
    assert (
        result.message == "Odoo refused the login 'admin' with this password or API key on database 'acme'."
    )
    assert result.path == ("password",)


def test_check_says_the_api_key_is_wrong(odoo: OdooServer) -> None:
    result = OdooConnector().check(config_for(odoo, "json2", api_key="0" * 40))
    assert not result.ok
    assert result.message == "Odoo refused the API key on database 'acme'."
    assert result.path == ("api_key",)


def test_check_says_json2_needs_odoo_19() -> None:
    with OdooServer(version=(18, 0)) as old:
        result = OdooConnector().check(config_for(old, "json2"))
        assert result.message == (
            f"The Odoo server at {old.url} runs Odoo 18.0; the JSON-2 API needs Odoo 19 or later "
            "(choose the 'jsonrpc' or 'xmlrpc' protocol)."
        )
        assert OdooConnector().check(config_for(old, "jsonrpc")).ok


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
def test_check_says_odoo_22_has_no_rpc_api(protocol: str) -> None:
    with OdooServer(version=(22, 0)) as new:
        result = OdooConnector().check(config_for(new, protocol))
        assert result.message == (
            f"The Odoo server at {new.url} runs Odoo 22.0, which has no {protocol} API: "
            "choose the 'json2' protocol (with an API key)."
        )


def test_check_says_an_old_odoo_is_not_supported() -> None:
    with OdooServer(version=(12, 0)) as old:
        result = OdooConnector().check(config_for(old, "xmlrpc"))
        assert (
            result.message
            == f"The Odoo server at {old.url} runs Odoo 12.0; this connector needs Odoo 14 or later."
        )


def test_check_says_a_server_is_not_odoo(odoo: OdooServer) -> None:
    result = OdooConnector().check(config_for(odoo, "jsonrpc", url=odoo.url + "/shop"))
    assert (
        result.message
        == f"The server at {odoo.url}/shop does not answer as Odoo: POST /jsonrpc gave HTTP 404."
    )


def test_check_says_a_server_did_not_answer_in_time(odoo: OdooServer) -> None:
    with odoo.stall():
        result = OdooConnector().check(config_for(odoo, "jsonrpc", timeout=0.2))
    assert result.message == f"The Odoo server at {odoo.url} did not answer within 0.2 seconds."


def test_check_says_which_credential_is_missing(odoo: OdooServer) -> None:
    result = OdooConnector().check({"url": odoo.url, "database": "acme", "protocol": "json2"})
    assert (result.message, result.path) == (
        "The json2 protocol signs in with an API key: give one.",
        ("api_key",),
    )
    result = OdooConnector().check({"url": odoo.url, "database": "acme", "username": "admin"})
    assert (result.message, result.path) == (
        "Give the password (or an API key) of the Odoo user.",
        ("password",),
    )


def test_check_says_the_user_may_not_read_partners(odoo: OdooServer) -> None:
    odoo.add_user("intern", "intern-password")
    odoo.deny("intern", "res.partner", "read")
    result = OdooConnector().check(config_for(odoo, "jsonrpc", username="intern", password="intern-password"))
    assert result.message.startswith(
        "The Odoo user may not do this (res.partner.search): You are not allowed to access 'Contact' (res.partner) records."
    )


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_429_is_rate_limited_with_its_retry_after(odoo: OdooServer, protocol: str) -> None:
    odoo.rate_limit(after=0, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        read(OdooConnector(), config_for(odoo, protocol), "companies")
    assert caught.value.retry_after == 7
    assert (
        str(caught.value)
        == f"The Odoo server at {odoo.url} is limiting the rate of requests (it asks to wait 7 seconds)."
    )


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
def test_access_denied_is_an_authentication_error(odoo: OdooServer, protocol: str) -> None:
    # a password changed after sign-in: execute_kw answers odoo.exceptions.AccessDenied
    with OdooClient(config_for(odoo, protocol)) as client:
        assert client.uid == 2
        client.password = "changed"
        with pytest.raises(AuthenticationError, match="Odoo refused the login 'admin'"):
            client.call("res.partner", "search", domain=[])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_access_error_is_an_authentication_error(odoo: OdooServer, protocol: str) -> None:
    odoo.add_user("intern", "intern-password", api_key="intern-key")
    odoo.deny("intern", "sale.order", "create")
    config = config_for(odoo, protocol, username="intern", password="intern-password", api_key="intern-key")
    with (
        OdooClient(config) as client,
        pytest.raises(
            AuthenticationError, match=r"may not do this \(sale.order.create\): You are not allowed to create"
        ),
    ):
        client.call("sale.order", "create", vals_list=[{"partner_id": odoo.seed_partner("Acme")}])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_validation_errors_are_permanent(odoo: OdooServer, protocol: str) -> None:
    with OdooClient(config_for(odoo, protocol)) as client, pytest.raises(PermanentError) as caught:
        client.call("sale.order", "create", vals_list=[{"client_order_ref": "no customer"}])
    assert str(caught.value).startswith("Odoo refused sale.order.create: The operation cannot be completed")
    assert "Field: Customer (partner_id)" in str(caught.value)
    assert odoo.orders() == []  # the transaction was rolled back


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_bad_domain_is_permanent(odoo: OdooServer, protocol: str) -> None:
    with (
        OdooClient(config_for(odoo, protocol)) as client,
        pytest.raises(PermanentError, match=r"Invalid field res.partner.colour"),
    ):
        client.call("res.partner", "search", domain=[["colour", "=", "red"]])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_unknown_database_is_a_configuration_error_on_read(odoo: OdooServer, protocol: str) -> None:
    with pytest.raises(ConfigurationError, match="has no database 'nope'"):
        read(OdooConnector(), config_for(odoo, protocol, database="nope"), "products")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_refused_connections_and_timeouts_are_transient(odoo: OdooServer, protocol: str) -> None:
    config = config_for(odoo, protocol, url=closed_port_url())
    with pytest.raises(TransientError, match="the connection was refused"):
        read(OdooConnector(), config, "products")
    with odoo.stall(), pytest.raises(TransientError, match=r"did not answer within 0.2 seconds"):
        read(OdooConnector(), config_for(odoo, protocol, timeout=0.2), "products")


def test_an_unknown_stream_is_a_configuration_error(odoo: OdooServer) -> None:
    with pytest.raises(ConfigurationError, match="has no stream 'invoices'"):
        read(OdooConnector(), config_for(odoo, "jsonrpc"), "invoices")


# -- create_sales_order ------------------------------------------------------------------------
class FakeRecords:
    """Tessera's records in memory (the RecordAccess protocol), as JSON like the runtime's."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.updates: list[tuple[str, str, dict[str, Any]]] = []

    def add(self, object_name: str, **values: Any) -> str:
        record_id = str(uuid.uuid4())
        self.objects.setdefault(object_name, {})[record_id] = {"id": record_id, **values}
        return record_id

    def find(
        self, object_name: str, filter_doc: Mapping[str, Any] | None = None, *, limit: int | None = None
    ):
        out = []
        for record in self.objects.get(object_name, {}).values():
            if all(record.get(name) == cond["id"]["eq"] for name, cond in (filter_doc or {}).items()):
                out.append(dict(record))
        return out[:limit] if limit else out

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        found = self.objects.get(object_name, {}).get(record_id)
        return None if found is None else dict(found)

    def create(self, object_name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return self.objects[object_name][self.add(object_name, **values)]

    def update(self, object_name: str, record_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        self.updates.append((object_name, record_id, dict(values)))
        self.objects[object_name][record_id].update(values)
        return dict(self.objects[object_name][record_id])

    def upsert(self, object_name: str, match_field: str, values: Mapping[str, Any]) -> dict[str, Any]:
        for record in self.objects.get(object_name, {}).values():
            if record.get(match_field) == values[match_field]:
                record.update(values)
                return dict(record)
        return self.create(object_name, values)


def won_deal(records: FakeRecords, odoo: OdooServer, *, company_odoo_id: str | None = None) -> dict[str, str]:
    desk_odoo = odoo.seed_product("Large Desk", "FURN_0001", 1799.0)
    odoo.seed_product("Chair", "FURN_0002", 120.0)
    company = records.add(
        "company", name="Deco Addict", website="https://deco.example", odoo_id=company_odoo_id
    )
    desk = records.add("product", name="Large Desk", code="FURN_0001", odoo_id=str(desk_odoo))
    chair = records.add("product", name="Chair", code="FURN_0002", odoo_id=None)  # matched by its code
    deal = records.add("deal", number="D-0007", title="Office refit", company=company, stage="won")
    old = records.add("quote", deal=deal, status="rejected", number="Q-1")
    records.add(
        "quote_line",
        quote=old,
        product=desk,
        quantity="9.00",
        unit_price={"amount": "1000.00", "currency_code": "EUR"},
    )
    quote = records.add("quote", deal=deal, status="accepted", number="Q-2")
    records.add(
        "quote_line",
        quote=quote,
        product=desk,
        quantity="2.00",
        unit_price={"amount": "1700.00", "currency_code": "EUR"},
        discount="10",
    )
    records.add(
        "quote_line",
        quote=quote,
        product=chair,
        quantity="4.00",
        unit_price=None,
        description="Ergonomic chair",
    )
    return {"deal": deal, "company": company, "chair": chair}


def connector_with(records: FakeRecords) -> OdooConnector:
    return OdooConnector(ConnectorContext(workspace="acme", connection="odoo", records=records))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_create_sales_order_makes_the_order_with_its_lines_once(odoo: OdooServer, protocol: str) -> None:
    records = FakeRecords()
    ids = won_deal(records, odoo)
    connector, config = connector_with(records), config_for(odoo, protocol)

    out = connector.execute(config, "create_sales_order", {"deal_id": ids["deal"]}, "step-42")

    [order] = odoo.orders()
    assert out == {
        "order_id": order["id"],
        "name": "S00001",
        "amount_total": 3540.0,
        "state": "draft",
        "partner_id": order["partner_id"][0],
        "created": True,
    }
    assert order["partner_id"][1] == "Deco Addict" and order["client_order_ref"] == "D-0007"
    assert order["origin"] == "tessera:step-42"
    assert [
        (line["product_id"][1], line["product_uom_qty"], line["price_unit"], line["discount"], line["name"])
        for line in order["lines"]
    ] == [
        ("[FURN_0001] Large Desk", 2.0, 1700.0, 10.0, "[FURN_0001] Large Desk"),
        ("[FURN_0002] Chair", 4.0, 120.0, 0.0, "Ergonomic chair"),  # no price on the quote: Odoo's list price
    ]
    # what it learnt is written back: the order on the deal, the partner and product ids
    assert records.get("deal", ids["deal"])["odoo_order_id"] == str(order["id"])
    assert records.get("deal", ids["deal"])["odoo_order_name"] == "S00001"
    assert records.get("company", ids["company"])["odoo_id"] == str(order["partner_id"][0])
    assert records.get("product", ids["chair"])["odoo_id"] is not None

    # the step retried with the same key: the same order, not a second one
    again = connector.execute(config, "create_sales_order", {"deal_id": ids["deal"]}, "step-42")
    assert again == {**out, "created": False}
    assert len(odoo.orders()) == 1


def test_a_retry_that_lost_the_write_back_finds_the_order_by_its_key(odoo: OdooServer) -> None:
    records = FakeRecords()
    ids = won_deal(records, odoo)
    connector, config = connector_with(records), config_for(odoo, "jsonrpc")
    first = connector.execute(config, "create_sales_order", {"deal_id": ids["deal"]}, "step-1")
    records.objects["deal"][ids["deal"]]["odoo_order_id"] = None  # as if the step died before writing back

    again = connector.execute(config, "create_sales_order", {"deal_id": ids["deal"]}, "step-1")
    assert again["order_id"] == first["order_id"] and again["created"] is False
    assert len(odoo.orders()) == 1
    assert records.get("deal", ids["deal"])["odoo_order_id"] == str(first["order_id"])


def test_a_deal_with_an_order_gets_no_second_one_under_another_key(odoo: OdooServer) -> None:
    records = FakeRecords()
    ids = won_deal(records, odoo)
    connector, config = connector_with(records), config_for(odoo, "json2")
    first = connector.execute(config, "create_sales_order", {"deal_id": ids["deal"]}, "run-1")
    second = connector.execute(config, "create_sales_order", {"deal_id": ids["deal"]}, "run-2")
    assert second["order_id"] == first["order_id"] and not second["created"]
    assert len(odoo.orders()) == 1


def test_the_customer_is_the_companys_partner_when_it_has_one(odoo: OdooServer) -> None:
    partner = odoo.seed_partner("Deco Addict (Odoo name)")
    records = FakeRecords()
    ids = won_deal(records, odoo, company_odoo_id=str(partner))
    connector_with(records).execute(
        config_for(odoo, "xmlrpc"), "create_sales_order", {"deal_id": ids["deal"]}, "k"
    )
    assert odoo.orders()[0]["partner_id"] == [partner, "Deco Addict (Odoo name)"]
    assert len(odoo.records("res.partner")) == 1


def test_the_customer_is_found_by_name_before_one_is_created(odoo: OdooServer) -> None:
    partner = odoo.seed_partner("Deco Addict")
    records = FakeRecords()
    ids = won_deal(records, odoo)
    connector_with(records).execute(
        config_for(odoo, "jsonrpc"), "create_sales_order", {"deal_id": ids["deal"]}, "k"
    )
    assert odoo.orders()[0]["partner_id"][0] == partner
    assert records.get("company", ids["company"])["odoo_id"] == str(partner)


def test_a_product_odoo_does_not_have_stops_the_order(odoo: OdooServer) -> None:
    records = FakeRecords()
    ids = won_deal(records, odoo)
    records.objects["product"][ids["chair"]]["code"] = "NOT_IN_ODOO"
    with pytest.raises(PermanentError) as caught:
        connector_with(records).execute(
            config_for(odoo, "jsonrpc"), "create_sales_order", {"deal_id": ids["deal"]}, "k"
        )
    assert str(caught.value) == (
        "Product 'Chair' (code NOT_IN_ODOO) is not in Odoo: sync the products stream or create it in Odoo "
        "with this internal reference."
    )
    assert odoo.orders() == []


def test_a_deal_without_company_or_quote_is_refused_in_words(odoo: OdooServer) -> None:
    records = FakeRecords()
    lonely = records.add("deal", number="D-0001", title="Nobody", company=None)
    connector, config = connector_with(records), config_for(odoo, "jsonrpc")
    with pytest.raises(
        PermanentError, match=r"Deal D-0001 has no company: Odoo needs a customer for the order."
    ):
        connector.execute(config, "create_sales_order", {"deal_id": lonely}, "k")
    company = records.add("company", name="Acme")
    bare = records.add("deal", number="D-0002", title="No quote", company=company)
    with pytest.raises(PermanentError, match="Deal D-0002 has no accepted or open quote"):
        connector.execute(config, "create_sales_order", {"deal_id": bare}, "k")
    with pytest.raises(PermanentError, match=r"There is no deal nope."):
        connector.execute(config, "create_sales_order", {"deal_id": "nope"}, "k")


def test_orders_are_confirmed_when_configured(odoo: OdooServer) -> None:
    records = FakeRecords()
    ids = won_deal(records, odoo)
    out = connector_with(records).execute(
        config_for(odoo, "json2", confirm_orders=True), "create_sales_order", {"deal_id": ids["deal"]}, "k"
    )
    assert out["state"] == "sale" and odoo.orders()[0]["state"] == "sale"


def test_the_action_needs_a_workspace(odoo: OdooServer) -> None:
    with pytest.raises(ConfigurationError, match="needs a Tessera workspace"):
        OdooConnector().execute(config_for(odoo, "jsonrpc"), "create_sales_order", {"deal_id": "x"}, "k")


# -- the contract ------------------------------------------------------------------------------
class TestOdooContract(ConnectorContract):
    connector_class = OdooConnector

    @pytest.fixture(params=PROTOCOLS)
    def server(self, request: pytest.FixtureRequest, odoo: OdooServer) -> OdooServer:
        odoo.protocol = request.param  # type: ignore[attr-defined]
        acme = odoo.seed_partner("Acme", city="Lyon", country_id=odoo.country("FR"))
        odoo.seed_partner("Ada King", is_company=False, parent_id=acme)
        odoo.seed_product("Desk", "DESK", 300.0)
        return odoo

    @pytest.fixture
    def records(self, server: OdooServer) -> FakeRecords:
        return FakeRecords()

    @pytest.fixture
    def context(self, records: FakeRecords) -> ConnectorContext:
        return ConnectorContext(workspace="acme", connection="odoo", records=records)

    @pytest.fixture
    def config(self, server: OdooServer) -> dict[str, Any]:
        return config_for(server, server.protocol)  # type: ignore[attr-defined]

    @pytest.fixture
    def bad_config(self, server: OdooServer) -> tuple[dict[str, Any], str]:
        return config_for(server, server.protocol, database="nope"), "has no database 'nope'"  # type: ignore[attr-defined]

    @pytest.fixture
    def action_inputs(self, server: OdooServer, records: FakeRecords) -> dict[str, Any]:
        company = records.add("company", name="Acme")
        product = records.add("product", name="Desk", code="DESK")
        deal = records.add("deal", number="D-0001", title="Desks", company=company)
        quote = records.add("quote", deal=deal, status="accepted")
        records.add("quote_line", quote=quote, product=product, quantity="3")
        return {"create_sales_order": {"deal_id": deal}}
