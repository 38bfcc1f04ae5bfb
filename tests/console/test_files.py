"""The console's files: served without a build, every route's screen exists, every module
parses, and a browser asking for / gets the console while API clients get JSON."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tessera.platform.app import CONSOLE
from tests.conftest import unavailable

MODULES = sorted(CONSOLE.rglob("*.js"))


def test_every_route_has_its_screen():
    routes = re.findall(r'\["(/[^"]*)", "\./(views/[\w-]+\.js)"\]', (CONSOLE / "router.js").read_text())
    assert routes, "router.js declares the routes"
    missing = sorted({module for _, module in routes if not (CONSOLE / module).exists()})
    assert not missing, f"screens the router names but nobody wrote: {missing}"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(CONSOLE)))
def test_every_module_parses(module: Path):
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed: the console's modules cannot be checked")
    checked = subprocess.run([node, "--check", str(module)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_imports_name_files_that_exist():
    for module in MODULES:
        for target in re.findall(r'from\s+"(\.{1,2}/[^"]+)"', module.read_text()):
            assert (module.parent / target).resolve().exists(), f"{module.name} imports {target}"


def test_a_browser_gets_the_console_and_an_api_client_json(client: TestClient):
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and '<script type="module" src="/console/app.js">' in page.text
    assert client.get("/").json()["record_api"].endswith("/graphql")
    script = client.get("/console/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_the_console_files_need_no_credentials(client: TestClient):
    anonymous = TestClient(client.app)
    assert anonymous.get("/console/vendor/preact-htm.js").status_code == 200
    assert anonymous.get("/", headers={"Accept": "text/html"}).status_code == 200
    assert anonymous.post("/graphql", json={"query": "{ __typename }"}).status_code == 401


def test_the_workflow_builders_copy_of_the_workflow_schema_is_the_published_one():
    import json

    source = (CONSOLE / "components" / "workflow-steps.js").read_text()
    copied = re.search(r"export const WORKFLOW_SCHEMA = (\{.*?\});\n", source, re.S)
    assert copied, "workflow-steps.js carries WORKFLOW_SCHEMA"
    published = Path(__file__).parents[2] / "workflows" / "schemas" / "workflow.schema.json"
    assert json.loads(copied.group(1)) == json.loads(published.read_text()), (
        "copy workflows/schemas/workflow.schema.json into platform/console/components/workflow-steps.js"
    )
