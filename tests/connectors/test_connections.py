"""Connections keep their configuration, with secrets encrypted at rest and never shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from tessera.connectors.connections import SECRET_SET, ConnectionStore, SecretBox, local_key
from tessera.connectors.runtime import ConnectorRuntime
from tessera.platform.audit import admin_events
from tessera.platform.errors import TesseraError
from tessera.platform.settings import Settings
from tessera.platform.tables import connections


def test_secrets_are_stored_encrypted_and_never_shown(
    runtime: ConnectorRuntime, connection: Callable[..., Any], engine: Engine, workspace: str
):
    created = connection(config={"token": "good", "page_size": 2})
    with engine.connect() as conn:
        row = conn.execute(sa.select(connections).where(connections.c.id == created.id)).one()
    assert row.config == {"page_size": 2}
    assert "good" not in row.secrets
    shown = runtime.shown(created)
    assert shown["config"] == {"page_size": 2, "token": SECRET_SET}
    assert runtime.store.config_of(created) == {"page_size": 2, "token": "good"}
    events = admin_events(engine, workspace)
    assert events[0].kind == "connection_created" and "good" not in str(events[0].after)


def test_an_update_keeps_a_secret_left_out_and_replaces_one_given(
    runtime: ConnectorRuntime, connection: Callable[..., Any], workspace: str
):
    connection(config={"token": "good"})
    kept = runtime.update_connection(workspace, "shop", {"config": {"page_size": 5, "token": SECRET_SET}})
    assert runtime.store.config_of(kept) == {"page_size": 5, "token": "good"}
    replaced = runtime.update_connection(workspace, "shop", {"config": {"token": "newer"}})
    assert runtime.store.config_of(replaced) == {"token": "newer"}


def test_secrets_need_the_key_they_were_sealed_with_and_keys_rotate(
    engine: Engine, connection: Callable[..., Any], secret_key: str, workspace: str
):
    created = connection()
    stranger = ConnectionStore(engine, SecretBox([Fernet.generate_key().decode()]))
    with pytest.raises(TesseraError) as refused:
        stranger.config_of(created)
    assert refused.value.problems[0].code == "SECRET_KEY_MISMATCH"

    new_key = Fernet.generate_key().decode()
    rotating = ConnectionStore(engine, SecretBox([new_key, secret_key]))
    assert rotating.rotate_keys(workspace) == 1
    only_new = ConnectionStore(engine, SecretBox([new_key]))
    assert only_new.config_of(only_new.get(workspace, "shop")) == {"token": "good"}


@pytest.mark.parametrize(
    ("options", "code", "path"),
    [
        ({"config": {"page_size": 2}}, "INVALID_CONFIG", ("config",)),
        ({"config": {"token": "good", "page_size": 0}}, "INVALID_CONFIG", ("config", "page_size")),
        ({"config": {"token": 7}}, "INVALID_CONFIG", ("config", "token")),
        ({"schedule": "every hour"}, "INVALID_SCHEDULE", ("schedule",)),
        ({"streams": ["items", "orders"]}, "UNKNOWN_STREAM", ("streams", 1)),
        ({"name": "Shop EU"}, "NAME_NOT_SNAKE_CASE", ("name",)),
    ],
)
def test_a_bad_connection_is_refused_with_the_path_of_the_problem(
    connection: Callable[..., Any],
    runtime: ConnectorRuntime,
    workspace: str,
    options: dict[str, Any],
    code: str,
    path: tuple[Any, ...],
):
    with pytest.raises(TesseraError) as refused:
        connection(**options)
    assert (refused.value.problems[0].code, refused.value.problems[0].path) == (code, path)
    assert runtime.store.list(workspace) == []


def test_names_are_unique_per_workspace_and_connectors_must_be_installed(
    connection: Callable[..., Any], runtime: ConnectorRuntime, workspace: str
):
    connection()
    with pytest.raises(TesseraError) as duplicate:
        connection()
    assert duplicate.value.problems[0].code == "DUPLICATE_CONNECTION"
    with pytest.raises(TesseraError) as unknown:
        runtime.create_connection(workspace, "erp", "sap", {})
    assert unknown.value.problems[0].code == "UNKNOWN_CONNECTOR"


def test_without_a_configured_key_one_is_made_once_in_the_data_folder(tmp_path: Path):
    settings = Settings.from_env({"TESSERA_DATA_DIR": str(tmp_path)})
    first = SecretBox.from_settings(settings)
    token = first.seal({"password": "s3cret"})
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert SecretBox.from_settings(settings).open(token) == {"password": "s3cret"}
    assert local_key(tmp_path / "secret.key") == (tmp_path / "secret.key").read_text().strip()


def test_a_configured_key_that_is_not_a_fernet_key_is_a_clear_error(tmp_path: Path):
    settings = Settings.from_env({"TESSERA_DATA_DIR": str(tmp_path), "TESSERA_SECRET_KEY": "hunter2"})
    with pytest.raises(ValueError, match="Fernet keys"):
        SecretBox.from_settings(settings)
    assert settings.shown("secret_key") == "(set)"
