"""The Odoo connector through Tessera's runtime, end to end on both databases: a connection installs
its package on the standard CRM, a sync brings Odoo's partners and products in, a won
deal becomes an Odoo sales order, and a partner changed in Odoo updates its company."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tessera.connectors.connections import SecretBox
from tessera.connectors.odoo import OdooConnector
from tessera.connectors.runtime import ConnectorRuntime
from tessera.platform.packages import PackageManager, open_package
from tessera.platform.records import RecordService
from tests.connectors.odoo_server import ADMIN_PASSWORD, OdooServer


@pytest.fixture
def odoo() -> Iterator[OdooServer]:
    with OdooServer() as server:
        yield server


@pytest.fixture
def runtime(engine: Engine, workspace: str, box: SecretBox, tmp_path: Path) -> ConnectorRuntime:
    PackageManager(engine, export_dir=tmp_path).install(
        workspace, open_package("standard-crm"), sample_data=False
    )
    return ConnectorRuntime(engine, box, connectors={"odoo": OdooConnector})


def one(records: RecordService, workspace: str, object_name: str, **where: Any) -> dict[str, Any]:
    found = records.find(workspace, object_name, {name: {"eq": value} for name, value in where.items()})
    assert len(found) == 1, found
    return dict(found[0])


def test_partners_and_products_sync_in_and_a_won_deal_becomes_an_order(
    odoo: OdooServer, runtime: ConnectorRuntime, records: RecordService, workspace: str
) -> None:
    deco = odoo.seed_partner(
        "Deco Addict", city="Brussels", country_id=odoo.country("BE"), website="deco.example"
    )
    odoo.seed_partner(
        "Ada King", is_company=False, parent_id=deco, email="ada@deco.example", function="Buyer"
    )
    desk = odoo.seed_product("Large Desk", "FURN_0001", 1799.0)
    config = {"url": odoo.url, "database": "acme", "username": "admin", "password": ADMIN_PASSWORD}
    runtime.create_connection(workspace, "odoo", "odoo", config)

    runs = runtime.sync_now(workspace, "odoo")
    assert [(r.stream, r.status, r.records_created) for r in runs] == [
        ("companies", "succeeded", 1),
        ("contacts", "succeeded", 1),
        ("products", "succeeded", 1),
    ], [r.errors or r.error for r in runs]
    company = one(records, workspace, "company", odoo_id=str(deco))
    assert (company["name"], company["city"], company["country"]) == ("Deco Addict", "Brussels", "BE")
    person = one(records, workspace, "person", email="ada@deco.example")
    assert (person["first_name"], person["last_name"], person["job_title"]) == ("Ada", "King", "Buyer")
    assert str(person["company"]) == str(company["id"])
    product = one(records, workspace, "product", odoo_id=str(desk))
    assert product["code"] == "FURN_0001"

    # a won deal with an accepted quote → an Odoo sales order, once
    deal = records.create(
        workspace, "deal", {"title": "Office refit", "company": company["id"], "stage": "won"}
    )
    quote = records.create(workspace, "quote", {"deal": deal["id"], "status": "accepted"})
    records.create(
        workspace,
        "quote_line",
        {
            "quote": quote["id"],
            "product": product["id"],
            "quantity": "3",
            "unit_price": {"amount": "1500.00", "currency_code": "EUR"},  # the quote's price, not the list's
        },
    )
    out = runtime.execute(
        workspace, "odoo", "create_sales_order", {"deal_id": str(deal["id"])}, "wf-run-1-step-2"
    )
    again = runtime.execute(
        workspace, "odoo", "create_sales_order", {"deal_id": str(deal["id"])}, "wf-run-1-step-2"
    )
    [order] = odoo.orders()
    assert out["order_id"] == order["id"] and out["created"] and not again["created"]
    assert order["partner_id"][0] == deco and order["amount_total"] == 4500.0
    assert [(line["product_id"][0], line["product_uom_qty"]) for line in order["lines"]] == [(desk, 3.0)]
    stored = records.get(workspace, "deal", deal["id"])
    assert (
        stored is not None
        and stored["odoo_order_id"] == str(order["id"])
        and stored["odoo_order_name"] == "S00001"
    )

    # a partner changed in Odoo updates its company on the next sync
    odoo.advance(60)
    odoo.write("res.partner", deco, {"city": "Antwerp", "phone": "+32 2 290 34 90"})
    runs = runtime.sync_now(workspace, "odoo", stream="companies")
    assert [(r.records_read, r.records_updated) for r in runs] == [(1, 1)], [(r.errors, r.error) for r in runs]
    company = one(records, workspace, "company", odoo_id=str(deco))
    assert (company["city"], company["phone"]) == ("Antwerp", "+3222903490")
