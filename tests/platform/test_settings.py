from __future__ import annotations

from pathlib import Path

from tessera.platform.settings import SETTING_HELP, Settings


def test_defaults_run_on_embedded_sqlite():
    settings = Settings.from_env({})
    assert settings.data_dir == Path("var")
    assert settings.database_url == "sqlite:///var/tessera.db"
    assert settings.broker_url == "stub://"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.default_workspace == "default"


def test_environment_overrides():
    settings = Settings.from_env(
        {
            "TESSERA_DATA_DIR": "/srv/tessera",
            "TESSERA_PORT": "9000",
            "TESSERA_DEFAULT_WORKSPACE": "acme",
            "TESSERA_BROKER_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert settings.database_url == "sqlite:////srv/tessera/tessera.db"
    assert settings.port == 9000
    assert settings.default_workspace == "acme"
    assert settings.broker_url == "redis://127.0.0.1:6379/0"
    explicit = Settings.from_env({"TESSERA_DATABASE_URL": "postgresql+psycopg://db/tessera"})
    assert explicit.database_url == "postgresql+psycopg://db/tessera"


def test_every_setting_is_described():
    described = Settings.from_env({}).describe()
    assert [variable for variable, _, _ in described] == [f"TESSERA_{name.upper()}" for name in SETTING_HELP]
    assert all(meaning for _, _, meaning in described)
