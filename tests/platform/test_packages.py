"""Template packages: checked with exact error paths, installed in one transaction (or
not at all), uninstalled with their data kept or deleted, dependencies respected."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from tessera.metadata.packages import build_archive, read_package, scaffold
from tessera.metadata.store import MetadataStore
from tessera.platform.audit import AdminEventFilter, admin_events
from tessera.platform.errors import TesseraError
from tessera.platform.packages import PackageManager
from tessera.platform.records import RecordService
from tessera.platform.roles import RoleStore
from tessera.platform.tables import saved_views
from tessera.workflows.store import WorkflowStore

PackageFiles = dict[str, str]

CRM: PackageFiles = {
    "package.yaml": """
        name: mini-crm
        version: 1.0.0
        namespace: crm
        label: Mini CRM
        tessera: ">=0.1"
    """,
    "objects.yaml": """
        objects:
          - api_name: company
            label_plural: Companies
            fields:
              - {api_name: name, type: text, required: true}
              - {api_name: tier, type: select, options: {choices: [{value: gold}, {value: silver}]}}
          - api_name: deal
            fields:
              - {api_name: title, type: text, required: true}
              - {api_name: company, type: lookup, options: {target_object: company}}
    """,
    "workflows/nudge.yaml": """
        name: nudge
        trigger: {type: record_created, object: deal}
        steps:
          - {id: touch, type: update_record, object: company, record: "{{ record.company }}", values: {tier: gold}}
    """,
    "roles/sales.yaml": """
        name: sales
        objects:
          deal: {operations: [read, create, update], access: own}
        other_objects: {operations: [read]}
    """,
    "views/gold.yaml": """
        name: gold_companies
        object: company
        label: Gold companies
        filter: {tier: {eq: gold}}
        sort: [{field: name}]
        columns: [name, tier]
    """,
    "data/01_companies.yaml": """
        object: company
        records:
          - {_ref: acme, name: Acme, tier: silver}
          - {_ref: globex, name: Globex}
    """,
    "data/02_deals.yaml": """
        object: deal
        records:
          - {title: Big one, company: {ref: acme}}
    """,
}

BILLING: PackageFiles = {
    "package.yaml": """
        name: billing
        version: 1.0.0
        namespace: bill
        dependencies: {mini-crm: ">=1.0,<2"}
    """,
    "objects.yaml": """
        objects:
          - api_name: invoice
            fields:
              - {api_name: amount, type: integer}
              - {api_name: company, type: lookup, options: {target_object: company, reverse_name: invoices}}
        extends:
          - object: company
            fields:
              - {api_name: bill_vat_number, type: text}
    """,
}


@pytest.fixture
def package_dir(tmp_path: Path) -> Callable[..., Path]:
    """Writes a package folder: ``package_dir(CRM, **{"data/01.yaml": None})`` drops a file."""

    made = iter(range(1, 1000))

    def make(files: PackageFiles, **changes: str | None) -> Path:
        merged = {**files, **changes}
        folder = tmp_path / f"package{next(made)}"
        for name, text in merged.items():
            if text is None:
                continue
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text))
        return folder

    return make


@pytest.fixture
def packages(engine: Engine, tmp_path: Path) -> PackageManager:
    return PackageManager(engine, export_dir=tmp_path / "exports")


def names(store: MetadataStore, workspace: str) -> list[str]:
    return [o.api_name for o in store.state(workspace).objects]


def test_an_install_creates_everything_the_package_holds(
    packages: PackageManager,
    package_dir: Callable[..., Path],
    workspace: str,
    store: MetadataStore,
    records: RecordService,
    engine: Engine,
):
    package = read_package(package_dir(CRM))
    preview = packages.preview(workspace, package)
    assert not preview.applied and names(store, workspace) == []
    assert (preview.objects, preview.workflows, preview.roles, preview.views) == (
        ["company", "deal"],
        ["nudge"],
        ["sales"],
        ["gold_companies"],
    )
    assert preview.records == {"company": 2, "deal": 1}
    assert any("CREATE TABLE" in sql for step in preview.plan for sql in step["sql"])

    done = packages.install(workspace, package, actor="ada")
    assert done.applied and done.records == preview.records
    assert names(store, workspace) == ["company", "deal"]
    assert [v.status for v in WorkflowStore(engine).versions(workspace, "nudge")] == ["active"]
    assert RoleStore(engine).role(workspace, "sales").may("deal", "create")
    with engine.connect() as conn:
        assert conn.execute(sa.select(saved_views.c.name)).scalars().all().count("gold_companies") >= 1
    (deal_id,) = records.ids_matching(workspace, "deal", {})
    (acme,) = records.find(workspace, "company", {"name": {"eq": "Acme"}})
    assert records.get(workspace, "deal", deal_id)["company"] == acme["id"]
    (installed,) = packages.installed(workspace)
    assert (installed.name, installed.version, installed.installed_by) == ("mini-crm", "1.0.0", "ada")
    assert len(installed.owned["objects"]) == 2
    (event,) = admin_events(engine, workspace, AdminEventFilter(kind="package_installed"))
    assert (event.subject, event.actor, event.after) == ("mini-crm", "ada", {"version": "1.0.0"})
    with pytest.raises(TesseraError) as caught:
        packages.install(workspace, package)
    assert (caught.value.code, caught.value.path) == ("PACKAGE_INSTALLED", ("package.yaml", "name"))


def test_an_install_without_sample_data_and_from_an_archive(
    packages: PackageManager, package_dir: Callable[..., Path], workspace: str, records: RecordService
):
    archive = build_archive(package_dir(CRM))
    assert archive.name == "mini-crm-1.0.0.zip"
    assert archive.read_bytes() == build_archive(package_dir(CRM)).read_bytes()  # reproducible
    done = packages.install(workspace, read_package(archive), sample_data=False)
    assert done.records == {} and records.ids_matching(workspace, "company", {}) == []


@pytest.mark.parametrize(
    ("changes", "code", "path"),
    [
        (
            {"package.yaml": "name: Mini CRM\nversion: 1.0.0\nnamespace: crm\n"},
            "INVALID_PACKAGE",
            ("package.yaml", "name"),
        ),
        (
            {"package.yaml": "name: mini-crm\nversion: one\nnamespace: crm\n"},
            "INVALID_PACKAGE",
            ("package.yaml", "version"),
        ),
        ({"package.yaml": "name: mini-crm\nversion: 1.0.0\n"}, "INVALID_PACKAGE", ("package.yaml",)),
        (
            {
                "package.yaml": "name: mini-crm\nversion: 1.0.0\nnamespace: crm\ndependencies: {x: 'about 2'}\n"
            },
            "INVALID_PACKAGE",
            ("package.yaml", "dependencies", "x"),
        ),
        ({"package.yaml": "name: [unclosed\n"}, "INVALID_PACKAGE", ("package.yaml",)),
        (
            {"objects.yaml": "objects:\n  - {api_name: company, fields: [{api_name: name}]}\n"},
            "INVALID_DOCUMENT",
            ("objects.yaml", "objects", 0, "fields", 0),
        ),
        (
            {"views/gold.yaml": "name: Gold\nobject: company\n"},
            "INVALID_PACKAGE",
            ("views/gold.yaml", "name"),
        ),
        ({"data/02_deals.yaml": "object: deal\n"}, "INVALID_PACKAGE", ("data/02_deals.yaml",)),
    ],
)
def test_a_misshapen_package_is_refused_with_the_file_and_the_spot(
    package_dir: Callable[..., Path], changes: PackageFiles, code: str, path: tuple[Any, ...]
):
    with pytest.raises(TesseraError) as caught:
        read_package(package_dir(CRM, **changes))
    assert (caught.value.code, caught.value.path) == (code, path)


@pytest.mark.parametrize(
    ("changes", "code", "path"),
    [
        (
            {"objects.yaml": "objects:\n  - {api_name: company, fields: [{api_name: n, type: nope}]}\n"},
            "INVALID_DOCUMENT",
            ("objects.yaml", "objects", 0, "fields", 0, "type"),
        ),
        (
            {"objects.yaml": "objects:\n  - {api_name: company, fields: [{api_name: Name, type: text}]}\n"},
            "NAME_NOT_SNAKE_CASE",
            ("objects.yaml", "objects", 0, "fields", 0, "api_name"),
        ),
        (
            {
                "workflows/nudge.yaml": "name: nudge\ntrigger: {type: record_created, object: ghost}\nsteps: []\n"
            },
            "UNKNOWN_OBJECT",
            ("workflows/nudge.yaml", "trigger", "object"),
        ),
        (
            {"roles/sales.yaml": "name: sales\nobjects: {ghost: {}}\n"},
            "UNKNOWN_OBJECT",
            ("roles/sales.yaml", "objects", "ghost"),
        ),
        (
            {"views/gold.yaml": "name: gold\nobject: company\ncolumns: [name, ghost]\n"},
            "UNKNOWN_FIELD",
            ("views/gold.yaml", "columns", 1),
        ),
        (
            {"data/02_deals.yaml": "object: deal\nrecords: [{title: x, company: {ref: nobody}}]\n"},
            "UNKNOWN_REF",
            ("data/02_deals.yaml", "records", 0, "company"),
        ),
        (
            {"data/02_deals.yaml": "object: deal\nrecords: [{title: ok}, {company: {ref: acme}}]\n"},
            "FIELD_REQUIRED",
            ("data/02_deals.yaml", "records", 1, "title"),
        ),
    ],
)
def test_a_wrong_package_installs_nothing(
    packages: PackageManager,
    package_dir: Callable[..., Path],
    workspace: str,
    store: MetadataStore,
    engine: Engine,
    changes: PackageFiles,
    code: str,
    path: tuple[Any, ...],
):
    with pytest.raises(TesseraError) as caught:
        packages.install(workspace, read_package(package_dir(CRM, **changes)))
    assert (caught.value.code, caught.value.path) == (code, path)
    assert names(store, workspace) == [] and packages.installed(workspace) == []
    assert [r.name for r in RoleStore(engine).roles(workspace)] == ["admin", "member", "viewer"]
    assert WorkflowStore(engine).versions(workspace, None) == []


def test_dependencies_are_installed_first_and_removed_last(
    packages: PackageManager, package_dir: Callable[..., Path], workspace: str, store: MetadataStore
):
    billing = read_package(package_dir(BILLING))
    with pytest.raises(TesseraError) as caught:
        packages.install(workspace, billing)
    assert (caught.value.code, caught.value.path) == (
        "DEPENDENCY_MISSING",
        ("package.yaml", "dependencies", "mini-crm"),
    )
    packages.install(workspace, read_package(package_dir(CRM)))
    packages.install(workspace, billing)
    company = store.state(workspace).object_named("company")
    assert company is not None and company.field_named("bill_vat_number") is not None
    with pytest.raises(TesseraError) as caught:
        packages.uninstall(workspace, "mini-crm")
    assert caught.value.code == "PACKAGE_REQUIRED" and "billing" in str(caught.value)


def test_fields_added_to_another_package_object_carry_the_namespace(
    packages: PackageManager, package_dir: Callable[..., Path], workspace: str
):
    packages.install(workspace, read_package(package_dir(CRM)))
    wrong = BILLING["objects.yaml"].replace("bill_vat_number", "vat_number")
    with pytest.raises(TesseraError) as caught:
        packages.install(workspace, read_package(package_dir(BILLING, **{"objects.yaml": wrong})))
    assert (caught.value.code, caught.value.path) == (
        "FIELD_NOT_NAMESPACED",
        ("objects.yaml", "extends", 0, "fields", 0, "api_name"),
    )


def test_an_object_the_workspace_has_is_not_taken_over(
    packages: PackageManager, package_dir: Callable[..., Path], workspace: str, object_factory: Any
):
    object_factory("deal", [{"api_name": "title", "type": "text"}])
    with pytest.raises(TesseraError) as caught:
        packages.install(workspace, read_package(package_dir(CRM)))
    assert (caught.value.code, caught.value.path) == (
        "OBJECT_EXISTS",
        ("objects.yaml", "objects", 1, "api_name"),
    )


def test_uninstall_keeps_the_data_by_default_and_exports_it(
    packages: PackageManager,
    package_dir: Callable[..., Path],
    workspace: str,
    store: MetadataStore,
    records: RecordService,
    engine: Engine,
):
    packages.install(workspace, read_package(package_dir(CRM)))
    gone = packages.uninstall(workspace, "mini-crm", actor="ada")
    assert gone.kept_data and gone.export is not None
    exported = yaml.safe_load(gone.export.read_text())
    assert sorted(c["name"] for c in exported["objects"]["company"]) == ["Acme", "Globex"]
    assert names(store, workspace) == ["company", "deal"]  # the workspace's own now
    assert len(records.ids_matching(workspace, "company", {})) == 2
    assert packages.installed(workspace) == [] and WorkflowStore(engine).versions(workspace, None) == []
    assert "sales" not in [r.name for r in RoleStore(engine).roles(workspace)]
    (event,) = admin_events(engine, workspace, AdminEventFilter(kind="package_uninstalled"))
    assert event.actor == "ada" and event.after["kept_data"] is True


def test_uninstall_may_delete_the_data(
    packages: PackageManager, package_dir: Callable[..., Path], workspace: str, store: MetadataStore
):
    packages.install(workspace, read_package(package_dir(CRM)))
    packages.install(workspace, read_package(package_dir(BILLING)))
    gone = packages.uninstall(workspace, "billing", keep_data=False)
    assert not gone.kept_data and gone.export is not None
    assert names(store, workspace) == ["company", "deal"]
    company = store.state(workspace).object_named("company")
    assert company is not None and company.field_named("bill_vat_number") is None
    assert [p.name for p in packages.installed(workspace)] == ["mini-crm"]
    packages.uninstall(workspace, "mini-crm", keep_data=False)
    assert names(store, workspace) == []
    with pytest.raises(TesseraError) as caught:
        packages.uninstall(workspace, "mini-crm")
    assert caught.value.code == "UNKNOWN_PACKAGE"


def test_a_new_package_is_scaffolded_valid(tmp_path: Path, packages: PackageManager, workspace: str):
    folder = scaffold("real-estate", tmp_path)
    package = read_package(folder)
    assert (package.name, package.namespace) == ("real-estate", "realestate")
    assert packages.install(workspace, package).objects == ["realestate_item"]
    with pytest.raises(TesseraError) as caught:
        scaffold("Real Estate", tmp_path)
    assert caught.value.code == "INVALID_PACKAGE"


CRM_V2 = {
    **CRM,
    "package.yaml": CRM["package.yaml"].replace("1.0.0", "1.1.0"),
    "objects.yaml": """
        objects:
          - api_name: company
            label_plural: Companies
            fields:
              - {api_name: name, type: text, required: true, label: Company name}
              - {api_name: tier, type: select, options: {choices: [{value: gold}, {value: silver}, {value: bronze}]}}
              - {api_name: website, type: url}
          - api_name: deal
            fields:
              - {api_name: title, type: text, required: true, label: Deal title}
              - {api_name: company, type: lookup, options: {target_object: company}}
          - api_name: contract
            fields:
              - {api_name: deal, type: lookup, options: {target_object: deal}}
    """,
    "workflows/nudge.yaml": CRM["workflows/nudge.yaml"].replace("tier: gold", "tier: silver"),
    "workflows/welcome.yaml": """
        name: welcome
        trigger: {type: record_created, object: company}
        steps:
          - {id: mark, type: update_record, object: company, record: "{{ record.id }}", values: {tier: bronze}}
    """,
}


def test_an_upgrade_applies_the_new_version_and_keeps_what_the_admin_customised(
    packages: PackageManager,
    package_dir: Callable[..., Path],
    workspace: str,
    store: MetadataStore,
    records: RecordService,
    engine: Engine,
):
    from tessera.metadata import changes

    packages.install(workspace, read_package(package_dir(CRM)))
    # The admin customises: an extra tier, another label for the deal's title, their own
    # version of the nudge workflow.
    store.apply(
        workspace,
        changes.update_field(
            "company",
            "tier",
            {"options": {"choices": [{"value": "gold"}, {"value": "silver"}, {"value": "platinum"}]}},
        ),
    )
    store.apply(workspace, changes.update_field("deal", "title", {"label": "Subject"}))
    workflows = WorkflowStore(engine)
    mine = yaml.safe_load(textwrap.dedent(CRM["workflows/nudge.yaml"]).replace("tier: gold", "tier: gold  "))
    mine["label"] = "Our nudge"
    workflows.save_draft(workspace, mine)
    workflows.activate(workspace, "nudge")
    before = len(records.ids_matching(workspace, "company", {}))

    new = read_package(package_dir(CRM_V2))
    preview = packages.upgrade(workspace, new, dry_run=True)
    assert not preview.applied and [p.version for p in packages.installed(workspace)] == ["1.0.0"]
    done = packages.upgrade(workspace, new, actor="ada")
    assert done.applied and (done.from_version, done.version) == ("1.0.0", "1.1.0")
    assert [(c.code, c.path) for c in done.conflicts] == [
        ("UPGRADE_CONFLICT", ("objects.yaml", "objects", 1, "fields", "title", "label")),
        ("UPGRADE_CONFLICT", ("workflows/nudge.yaml",)),
    ]
    assert [(c.code, c.path) for c in preview.conflicts] == [(c.code, c.path) for c in done.conflicts]
    model = store.state(workspace)
    company, deal = model.object_named("company"), model.object_named("deal")
    assert company is not None and deal is not None and model.object_named("contract") is not None
    assert [c["value"] for c in company.field_named("tier").options["choices"]] == [
        "gold",
        "silver",
        "platinum",  # the admin's, kept
        "bronze",  # the new version's, added
    ]
    assert company.field_named("name").label == "Company name"  # untouched here: the new label
    assert company.field_named("website") is not None
    assert deal.field_named("title").label == "Subject"  # both changed it: the admin's stays
    assert [v.definition.get("label") for v in workflows.versions(workspace, "nudge", status="active")] == [
        "Our nudge"
    ]
    assert [v.status for v in workflows.versions(workspace, "welcome")] == ["active"]
    assert len(records.ids_matching(workspace, "company", {})) == before  # no data lost, no sample data again
    (installed,) = packages.installed(workspace)
    assert installed.version == "1.1.0" and len(installed.owned["objects"]) == 3
    with pytest.raises(TesseraError) as caught:
        packages.upgrade(workspace, new)
    assert (caught.value.code, caught.value.path) == ("PACKAGE_NOT_NEWER", ("package.yaml", "version"))


def test_an_archive_that_is_not_text_is_refused(tmp_path: Path):
    import zipfile

    archive = tmp_path / "binary.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("binary/package.yaml", b"\xff\xfe\x00 not utf-8")
    with pytest.raises(TesseraError) as caught:
        read_package(archive)
    assert caught.value.code == "INVALID_PACKAGE"
