"""``tessera connector new NAME``: a connector of one's own, as its own pip package.

The scaffold is a working connector — it reads records from a JSON file, incrementally
by an ``updated_at`` cursor, and offers one action — with the contract suite already run
against it, so an integrator starts from green tests and replaces the file with their
system's API.
"""

from __future__ import annotations

import re
from pathlib import Path

from tessera.platform.errors import TesseraError

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")

PYPROJECT = """[build-system]
requires = ["setuptools>=77", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "tessera-connector-{dashed}"
version = "0.1.0"
description = "{title}: a Tessera connector"
requires-python = ">=3.11"
dependencies = ["tessera-crm"]

[project.optional-dependencies]
dev = ["pytest>=8"]

# Tessera finds the connector through this entry point once the package is installed.
[project.entry-points."tessera.connectors"]
{name} = "{module}:{cls}"

[tool.setuptools]
packages = ["{module}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
filterwarnings = ["error"]
"""

README = """# {title} connector for Tessera

A connector made with `tessera connector new {name}`. It reads items from a JSON file
(`source` in its configuration): replace `read` with calls to your system's API.

    pip install -e .[dev]
    pytest                                  # the connector contract suite
    tessera connector list                  # Tessera sees it

Then connect a workspace (see Tessera's docs/connectors.md):

    tessera connector connect my_{name} --connector {name} --config config.json
    tessera connector sync my_{name}
"""

MODULE = '''"""{title}: a Tessera connector."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tessera.connectors.sdk import (
    ActionSpec,
    CheckResult,
    Checkpoint,
    ConfigurationError,
    Connector,
    Manifest,
    PermanentError,
    Record,
    StreamSpec,
)

PAGE = 100


class {cls}(Connector):
    manifest = Manifest(
        name="{name}",
        version="0.1.0",
        title="{title}",
        description="Items read from a JSON file (replace with your system's API).",
        config_schema={{
            "type": "object",
            "required": ["source"],
            "properties": {{
                "source": {{"type": "string", "description": "Path of the JSON file with the items."}},
                "token": {{"type": "string", "secret": True, "description": "An API token (unused here)."}},
            }},
            "additionalProperties": False,
        }},
        streams=(
            StreamSpec(
                name="items",
                key="id",
                cursor_field="updated_at",
                object="company",
                external_id_field="{name}_id",
                fields={{"name": "/name"}},
                schema={{
                    "type": "object",
                    "required": ["id", "name", "updated_at"],
                    "properties": {{"id": {{"type": "integer"}}, "name": {{"type": "string"}}}},
                }},
                description="Each item becomes a company.",
            ),
        ),
        actions=(
            ActionSpec(
                "echo",
                "Answer the message it is given (an example action).",
                input_schema={{
                    "type": "object",
                    "required": ["message"],
                    "properties": {{"message": {{"type": "string"}}}},
                }},
                output_schema={{
                    "type": "object",
                    "required": ["message", "key"],
                    "properties": {{"message": {{"type": "string"}}, "key": {{"type": "string"}}}},
                }},
            ),
        ),
    )

    def check(self, config: Mapping[str, Any]) -> CheckResult:
        try:
            self.items(config)
        except ConfigurationError as exc:
            return CheckResult.failed(str(exc), exc.path)
        return CheckResult.passed()

    def read(
        self, config: Mapping[str, Any], stream: str, state: Mapping[str, Any] | None
    ) -> Iterator[Record | Checkpoint]:
        self.manifest.stream(stream)
        after = (state or {{}}).get("updated_at", "")
        items = sorted(
            (item for item in self.items(config) if item["updated_at"] > after),
            key=lambda item: (item["updated_at"], item["id"]),
        )
        for start in range(0, len(items), PAGE):
            page = items[start : start + PAGE]
            yield from (Record(item) for item in page)
            yield Checkpoint({{"updated_at": page[-1]["updated_at"]}})

    def execute(
        self, config: Mapping[str, Any], action: str, payload: Mapping[str, Any], idempotency_key: str
    ) -> Mapping[str, Any]:
        if action != "echo":
            raise PermanentError(f"There is no action '{{action}}'.")
        return {{"message": payload["message"], "key": idempotency_key}}

    @staticmethod
    def items(config: Mapping[str, Any]) -> list[dict[str, Any]]:
        path = Path(config["source"])
        if not path.is_file():
            raise ConfigurationError(f"There is no file at {{path}}.", path=("source",))
        try:
            items: list[dict[str, Any]] = json.loads(path.read_text())
        except ValueError as exc:
            raise ConfigurationError(f"{{path}} is not JSON: {{exc}}.", path=("source",)) from exc
        return items
'''

CONTRACT_TEST = '''"""The Tessera connector contract, run against {cls}."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tessera.connectors.contract import ConnectorContract
from {module} import {cls}


class Test{cls}Contract(ConnectorContract):
    connector_class = {cls}

    @pytest.fixture
    def config(self, tmp_path: Path) -> dict[str, Any]:
        source = tmp_path / "items.json"
        items = [
            {{"id": i, "name": f"Item {{i}}", "updated_at": f"2026-01-{{i:02d}}T00:00:00Z"}}
            for i in range(1, 6)
        ]
        source.write_text(json.dumps(items))
        return {{"source": str(source)}}

    @pytest.fixture
    def bad_config(self, tmp_path: Path) -> tuple[dict[str, Any], str]:
        return {{"source": str(tmp_path / "missing.json")}}, "There is no file"

    @pytest.fixture
    def action_inputs(self) -> dict[str, dict[str, Any]]:
        return {{"echo": {{"message": "hello"}}}}
'''


def class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Connector"


def scaffold(name: str, parent: Path) -> Path:
    """Write the package of a new connector ``name`` into ``parent``; its folder."""
    if not _NAME.match(name):
        raise TesseraError.single(
            "INVALID_NAME",
            f"A connector's name is lower_snake_case (2 to 41 characters), not '{name}'.",
            ("name",),
        )
    dashed = name.replace("_", "-")
    root = parent / f"tessera-connector-{dashed}"
    if root.exists():
        raise TesseraError.single("ALREADY_EXISTS", f"{root} exists already; choose another place.", ("dir",))
    module = f"{name}_connector"
    values = {
        "name": name,
        "dashed": dashed,
        "module": module,
        "cls": class_name(name),
        "title": name.replace("_", " ").title(),
    }
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"{module}/__init__.py": MODULE,
        "tests/test_contract.py": CONTRACT_TEST,
    }
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values))
    return root
