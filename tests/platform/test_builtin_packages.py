"""The packages that come with Tessera install on both databases, demo data included,
and their workflows work on that data: the standard CRM proves the package mechanism."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tessera.metadata.store import MetadataStore
from tessera.platform.packages import BUILTIN_PACKAGES, PackageManager, open_package
from tessera.platform.records import RecordService
from tessera.workflows.engine import WorkflowEngine
from tessera.workflows.scheduler import WorkflowScheduler

EXPECTED_RECORDS = {"company": 40, "person": 120, "lead": 60, "deal": 80, "case": 50}


@pytest.fixture
def crm(engine: Engine, workspace: str, tmp_path: Path) -> PackageManager:
    packages = PackageManager(engine, export_dir=tmp_path)
    packages.install(workspace, open_package("standard-crm"))
    return packages


def test_the_standard_crm_installs_with_its_demo_data(
    crm: PackageManager, workspace: str, records: RecordService, store: MetadataStore
):
    for object_name, count in EXPECTED_RECORDS.items():
        assert len(records.ids_matching(workspace, object_name, {})) == count, object_name
    names = {o.api_name for o in store.state(workspace).objects}
    assert {
        "product",
        "quote",
        "quote_line",
        "campaign",
        "segment",
        "task",
        "call",
        "meeting",
        "note",
    } <= names
    assert {"knowledge_article", "campaign_member"} <= names


def test_a_qualified_lead_converts_into_a_company_a_person_and_a_deal(
    crm: PackageManager, engine: Engine, workspace: str, records: RecordService
):
    lead = records.find(workspace, "lead", {"status": {"eq": "qualified"}}, limit=1)[0]
    deals_before = len(records.ids_matching(workspace, "deal", {}))
    workflows = WorkflowEngine(engine)
    workflows.run_manually(workspace, "lead_conversion", [lead["id"]])
    WorkflowScheduler(workflows, None).tick()
    converted = records.get(workspace, "lead", lead["id"])
    assert converted is not None and converted["status"] == "converted"
    assert converted["converted_deal"] is not None and converted["converted_at"] is not None
    company = records.get(workspace, "company", converted["converted_company"])
    person = records.get(workspace, "person", converted["converted_person"])
    assert company is not None and company["name"] == lead["company_name"]
    assert person is not None and person["email"] == lead["email"]
    assert len(records.ids_matching(workspace, "deal", {})) == deals_before + 1


def test_the_saas_package_extends_the_standard_crm(
    crm: PackageManager, workspace: str, store: MetadataStore, records: RecordService
):
    assert (BUILTIN_PACKAGES / "saas-subscriptions").is_dir()
    crm.install(workspace, open_package("saas-subscriptions"))
    company = store.state(workspace).object_named("company")
    assert company is not None and company.field_named("saas_mrr") is not None
    assert [p.name for p in crm.installed(workspace)] == ["standard-crm", "saas-subscriptions"]
    assert len(records.ids_matching(workspace, "plan", {})) == 6
