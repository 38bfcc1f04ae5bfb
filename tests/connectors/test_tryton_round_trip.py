"""The Tryton connector inside Tessera: a workspace with the standard CRM, a connection to a
real Tryton server (tests/connectors/tryton_server.py), a won deal becoming a Tryton sale
order through the runtime, and a party changed in Tryton updating its company by a sync."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tessera.connectors.connections import SecretBox
from tessera.connectors.runtime import ConnectorRuntime
from tessera.connectors.tryton import TrytonConnector
from tessera.platform.packages import PackageManager, open_package
from tessera.platform.records import RecordService
from tests.connectors.tryton_server import (
    TrytonServer,
    tryton_server,  # noqa: F401 (the fixture)
)


@pytest.fixture
def crm_runtime(engine: Engine, workspace: str, box: SecretBox, tmp_path: Path) -> ConnectorRuntime:
    packages = PackageManager(engine, export_dir=tmp_path)
    packages.install(workspace, open_package("standard-crm"), sample_data=False)
    return ConnectorRuntime(engine, box, connectors={"tryton": TrytonConnector}, packages=packages)


def test_a_won_deal_becomes_a_sale_and_a_party_change_comes_back_by_sync(
    crm_runtime: ConnectorRuntime,
    records: RecordService,
    workspace: str,
    tryton_server: TrytonServer,  # noqa: F811
):
    server = tryton_server
    connection = crm_runtime.create_connection(workspace, "erp", "tryton", server.config(page_size=50))
    assert connection.name == "erp"
    assert crm_runtime.check(workspace, "erp")[0]

    code = f"RT{uuid.uuid4().hex[:6].upper()}"
    tryton_product = server.create_product("Support plan", code, "120.00")
    product = records.create(
        workspace,
        "product",
        {"name": "Support plan", "code": code, "unit_price": {"amount": "120", "currency_code": "EUR"}},
    )
    company = records.create(workspace, "company", {"name": f"Wayne Enterprises {code}", "city": "Gotham"})
    deal = records.create(
        workspace, "deal", {"title": "Support for Wayne", "company": str(company["id"]), "stage": "won"}
    )
    quote = records.create(workspace, "quote", {"deal": str(deal["id"]), "status": "accepted"})
    records.create(
        workspace,
        "quote_line",
        {"quote": str(quote["id"]), "product": str(product["id"]), "quantity": "2", "discount": "25"},
    )

    key = f"round-trip-{code}"
    output = crm_runtime.execute(workspace, "erp", "create_sale_order", {"deal_id": str(deal["id"])}, key)
    assert output["created"] is True and output["state"] == "quotation"
    assert output["total_amount"] == "180.00"  # 2 x 120.00 less 25 %

    stored_deal = records.get(workspace, "deal", deal["id"])
    assert stored_deal is not None
    assert stored_deal["tryton_sale_id"] == str(output["sale_id"])
    assert stored_deal["tryton_sale_number"] == output["number"]
    stored_company = records.get(workspace, "company", company["id"])
    assert stored_company is not None and stored_company["tryton_id"] == str(output["party_id"])
    stored_product = records.get(workspace, "product", product["id"])
    assert stored_product is not None and stored_product["tryton_id"] == str(tryton_product)
    (line,) = server.call(
        "model.sale.line.search_read",
        [["sale", "=", output["sale_id"]]],
        0,
        None,
        None,
        ["product", "quantity"],
    )
    assert (line["product"], line["quantity"]) == (tryton_product, 2.0)

    # the retried step finds its sale
    again = crm_runtime.execute(workspace, "erp", "create_sale_order", {"deal_id": str(deal["id"])}, key)
    assert (again["created"], again["sale_id"]) == (False, output["sale_id"])

    # Tryton's side changes; a sync brings it to the same company
    server.call(
        "model.party.party.write",
        [output["party_id"]],
        {
            "name": f"Wayne Enterprises Ltd {code}",
            "contact_mechanisms": [["create", [{"type": "phone", "value": "+1 212 555 0100"}]]],
        },
    )
    (run,) = crm_runtime.sync_now(workspace, "erp", stream="companies")
    assert run.status == "succeeded", run.error or run.errors
    updated = records.get(workspace, "company", company["id"])
    assert updated is not None
    assert updated["name"] == f"Wayne Enterprises Ltd {code}"
    assert updated["phone"] == "+12125550100"
    assert updated["city"] == "Gotham"
    matching = records.find(workspace, "company", {"tryton_id": {"eq": str(output["party_id"])}})
    assert [c["id"] for c in matching] == [company["id"]]
