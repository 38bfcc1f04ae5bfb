"""``tessera connector …``, on both databases; and the scaffold, which passes the contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from tessera.connectors import runtime as runtime_module
from tessera.platform.cli import main
from tests.connectors import sample


@pytest.fixture
def tessera(
    database_url: str,
    workspace: str,
    catalogue_objects: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    monkeypatch.setattr(runtime_module, "installed_connectors", lambda: {"catalogue": sample.Catalogue})
    runner = CliRunner()
    env = {
        "TESSERA_DATABASE_URL": database_url,
        "TESSERA_DEFAULT_WORKSPACE": workspace,
        "TESSERA_STARTER_PACKAGE": "",
        "TESSERA_SECRET_KEY": Fernet.generate_key().decode(),
        "TESSERA_DATA_DIR": str(tmp_path),
    }

    def run(*args: str, expect: int = 0) -> Result:
        result = runner.invoke(main, list(args), env=env)
        assert result.exit_code == expect, result.output
        return result

    return run


def test_connect_check_sync_log_and_disconnect(tessera: Any, tmp_path: Path):
    sample.reset(items=4, brands=1)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"token": "good"}))
    shown = json.loads(
        tessera("connector", "connect", "shop", "--connector", "catalogue", "--config", str(config)).output
    )
    assert shown["config"] == {"token": "<set>"} and shown["connector"] == "catalogue"
    assert "connection shop\tcatalogue\tenabled\tby hand" in tessera("connector", "list").output
    assert tessera("connector", "check", "shop").output == "ok: The connection works.\n"

    synced = tessera("connector", "sync", "shop").output
    assert "brands: succeeded — read 1, created 1, updated 0, skipped 0" in synced
    assert "items: succeeded — read 4, created 4, updated 0, skipped 0" in synced
    log = tessera("connector", "log", "shop").output
    assert log.count("\tshop\tcli\t") == 2

    tessera("connector", "disconnect", "shop")
    assert "connection shop" not in tessera("connector", "list").output


def test_a_failing_check_or_sync_exits_1_with_the_reason(tessera: Any, tmp_path: Path):
    sample.reset(items=1)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"token": "bad"}))
    tessera("connector", "connect", "shop", "--connector", "catalogue", "--config", str(config))
    assert (
        "failed: The catalogue refused the token." in tessera("connector", "check", "shop", expect=1).output
    )
    synced = tessera("connector", "sync", "shop", "--stream", "items", expect=1).output
    assert "items: failed" in synced and "(authentication: The catalogue refused the token.)" in synced


def test_bad_input_is_a_coded_error(tessera: Any, tmp_path: Path):
    config = tmp_path / "config.json"
    config.write_text("{not json")
    out = tessera(
        "connector", "connect", "shop", "--connector", "catalogue", "--config", str(config), expect=1
    )
    assert "error [INVALID_CONFIG] at config:" in out.output
    unknown = tessera("connector", "connect", "erp", "--connector", "sap", expect=1).output
    assert "error [UNKNOWN_CONNECTOR] at connector: No connector 'sap' is installed" in unknown
    assert "error [UNKNOWN_CONNECTION] at name" in tessera("connector", "sync", "nope", expect=1).output


def test_the_scaffold_is_a_package_whose_contract_suite_passes(tmp_path: Path):
    result = CliRunner().invoke(main, ["connector", "new", "shop_feed", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    root = tmp_path / "tessera-connector-shop-feed"
    assert (root / "pyproject.toml").read_text().count(
        'shop_feed = "shop_feed_connector:ShopFeedConnector"'
    ) == 1
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "10 passed" in tests.stdout
    again = CliRunner().invoke(main, ["connector", "new", "shop_feed", "--dir", str(tmp_path)])
    assert again.exit_code == 1 and "ALREADY_EXISTS" in again.output


def test_a_new_key_is_a_fernet_key():
    key = CliRunner().invoke(main, ["connector", "new-key"]).output.strip()
    Fernet(key.encode())


def test_subscribe_and_unsubscribe_pushes(tessera: Any, tmp_path: Path):
    sample.reset()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"token": "good"}))
    tessera("connector", "connect", "shop", "--connector", "catalogue", "--config", str(config))
    push = json.loads(
        tessera("connector", "subscribe", "shop", "--public-url", "https://crm.example.com").output
    )
    assert push["id"] == "hook-1" and push["callbackUrl"].startswith(
        "https://crm.example.com/hooks/connections/"
    )
    tessera("connector", "unsubscribe", "shop")
    assert sample.CATALOGUE["hooks"] == {}
    bad = tessera("connector", "subscribe", "shop", "--public-url", "crm.example.com", expect=1).output
    assert "error [INVALID_URL] at publicUrl" in bad
