"""Packages through the metadata API: install (a built-in one, or an uploaded archive),
preview, upgrade, uninstall, the list of installed packages, saved views, admin events."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from starlette.testclient import TestClient

from tessera.metadata.packages import build_archive, scaffold

INSTALL = """
mutation($source: String, $archive: String, $sampleData: Boolean!, $dryRun: Boolean!) {
  installPackage(source: $source, archive: $archive, sampleData: $sampleData, dryRun: $dryRun) {
    package version applied objects workflows roles views records metadataVersion
  }
}"""
UPGRADE = """
mutation($archive: String) {
  upgradePackage(archive: $archive) { package version fromVersion applied objects conflicts kept }
}"""
UNINSTALL = "mutation($name: String!, $delete: Boolean!) { uninstallPackage(name: $name, deleteData: $delete) { package keptData export } }"
INSTALLED = "{ installedPackages { name version installedBy dependencies } }"


def post(client: TestClient, query: str, key: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    answer: dict[str, Any] = client.post(
        "/graphql/metadata", json={"query": query, "variables": variables}, headers=headers
    ).json()
    return answer


def archive_of(folder: Path) -> str:
    return base64.b64encode(build_archive(folder).read_bytes()).decode()


def test_the_standard_crm_installs_from_the_api(client: TestClient):
    preview = post(client, INSTALL, source="standard-crm", sampleData=False, dryRun=True)
    assert preview["data"]["installPackage"]["applied"] is False
    assert post(client, INSTALLED) == {"data": {"installedPackages": []}}
    done = post(client, INSTALL, source="standard-crm", sampleData=False, dryRun=False)["data"][
        "installPackage"
    ]
    assert done["applied"] and {"company", "deal", "lead", "case"} <= set(done["objects"])
    assert done["records"] == {} and "lead_conversion" in done["workflows"] and "sales_rep" in done["roles"]
    (installed,) = post(client, INSTALLED)["data"]["installedPackages"]
    assert (installed["name"], installed["version"]) == ("standard-crm", "1.0.0")
    views = post(client, '{ savedViews(object: "deal") { name object package definition } }')["data"][
        "savedViews"
    ]
    assert views and all(v["object"] == "deal" and v["package"] == "standard-crm" for v in views)
    events = post(client, '{ adminEvents(kind: "package_installed") { subject after } }')["data"][
        "adminEvents"
    ]
    assert events == [{"subject": "standard-crm", "after": {"version": "1.0.0"}}]


def test_an_uploaded_package_is_installed_upgraded_and_uninstalled(client: TestClient, tmp_path: Path):
    folder = scaffold("field-service", tmp_path)
    done = post(client, INSTALL, archive=archive_of(folder), sampleData=True, dryRun=False)
    assert done["data"]["installPackage"]["objects"] == ["fieldservice_item"]
    manifest = yaml.safe_load((folder / "package.yaml").read_text())
    (folder / "package.yaml").write_text(yaml.safe_dump({**manifest, "version": "0.2.0"}))
    objects = yaml.safe_load((folder / "objects.yaml").read_text())
    objects["objects"].append(
        {"api_name": "fieldservice_visit", "fields": [{"api_name": "at", "type": "datetime"}]}
    )
    (folder / "objects.yaml").write_text(yaml.safe_dump(objects))
    upgraded = post(client, UPGRADE, archive=archive_of(folder))["data"]["upgradePackage"]
    assert (upgraded["fromVersion"], upgraded["version"], upgraded["objects"]) == (
        "0.1.0",
        "0.2.0",
        ["fieldservice_visit"],
    )
    assert upgraded["conflicts"] == [] and upgraded["applied"]
    again = post(client, UPGRADE, archive=archive_of(folder))
    assert again["errors"][0]["extensions"]["code"] == "PACKAGE_NOT_NEWER"
    gone = post(client, UNINSTALL, name="field-service", delete=False)["data"]["uninstallPackage"]
    assert gone["keptData"] is True and gone["export"].endswith(".yaml")
    assert post(client, INSTALLED) == {"data": {"installedPackages": []}}


def test_bad_packages_and_bad_callers_are_refused(
    client: TestClient, api_key_factory: Callable[..., str], tmp_path: Path
):
    member = api_key_factory(role="member")
    refused = post(client, INSTALL, member, source="standard-crm", sampleData=False, dryRun=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN" and refused["data"] is None
    unknown = post(client, INSTALL, source="nope", sampleData=False, dryRun=True)
    assert unknown["errors"][0]["extensions"]["code"] == "UNKNOWN_PACKAGE"
    both = post(client, INSTALL, source="standard-crm", archive="eA==", sampleData=False, dryRun=True)
    assert both["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # built by hand: `build` refuses a broken package
        archive.writestr("broken/package.yaml", "name: broken\nversion: one\nnamespace: broken\n")
    broken = post(
        client, INSTALL, archive=base64.b64encode(buffer.getvalue()).decode(), sampleData=False, dryRun=False
    )
    error = broken["errors"][0]
    assert error["extensions"]["code"] == "INVALID_PACKAGE"
    assert error["extensions"]["inputPath"] == ["archive", "package.yaml", "version"]
    missing = post(client, UNINSTALL, name="nope", delete=False)
    assert missing["errors"][0]["extensions"]["code"] == "UNKNOWN_PACKAGE"
