"""The layout recipe: top-level folders mapped into ``tessera`` without shadowing the
standard library, and a wheel that carries every module and data file."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAPPED = ("platform", "schema", "metadata", "workflows", "connectors")


def test_import_platform_from_the_repository_root_is_the_standard_library():
    code = "import platform, uuid, sqlalchemy; print(platform.__file__); print(platform.python_version())"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert Path(out[0]).parent == Path(sysconfig.get_paths()["stdlib"])
    assert out[1] == ".".join(map(str, sys.version_info[:3]))


def test_top_level_folders_have_no_init_module():
    for folder in MAPPED:
        assert not (ROOT / folder / "__init__.py").exists(), (
            f"{folder}/__init__.py would shadow or break imports"
        )


def source_modules() -> set[str]:
    modules = set()
    for folder in MAPPED:
        for path in (ROOT / folder).rglob("*.py"):
            modules.add(f"tessera/{path.relative_to(ROOT).as_posix()}")
    return modules


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("tessera_crm-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_contains_every_module(wheel: zipfile.ZipFile):
    names = set(wheel.namelist())
    missing = source_modules() - names
    assert not missing, (
        f"modules missing from the wheel (add their package to pyproject.toml): {sorted(missing)}"
    )


def test_wheel_contains_the_data_files(wheel: zipfile.ZipFile):
    names = set(wheel.namelist())
    for data in (
        "tessera/metadata/schemas/metadata-document.schema.json",
        "tessera/schema/metadata.graphql",
        "tessera/platform/migrations/script.py.mako",
        "tessera/platform/py.typed",
        "tessera/metadata/py.typed",
        "tessera/schema/py.typed",
    ):
        assert data in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "tessera = tessera.platform.cli:main" in wheel.read(entry_points).decode()


def test_wheel_contains_the_console_and_the_connectors_packages(wheel: zipfile.ZipFile):
    names = set(wheel.namelist())
    root = Path(__file__).parents[2]
    shipped = {
        f"tessera/platform/{path.relative_to(root / 'platform')}"
        for path in (root / "platform" / "console").rglob("*")
        if path.is_file()
    }
    shipped |= {
        f"tessera/connectors/{path.relative_to(root / 'connectors')}"
        for path in (root / "connectors").glob("*/package/*.yaml")
    }
    assert shipped - names == set()
