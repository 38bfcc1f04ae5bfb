from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from tessera.connectors.connections import SecretBox
from tessera.connectors.runtime import ConnectorRuntime
from tessera.metadata.model import ObjectDef
from tests.conftest import Clock
from tests.connectors import sample


@pytest.fixture
def secret_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def box(secret_key: str) -> SecretBox:
    return SecretBox([secret_key])


@pytest.fixture
def catalogue_objects(object_factory: Callable[..., ObjectDef]) -> None:
    """The objects the sample connector's streams feed."""
    sample.reset()
    object_factory(
        "brand",
        fields=[
            {"api_name": "name", "type": "text", "required": True},
            {"api_name": "catalogue_id", "type": "text", "unique": True},
        ],
    )
    object_factory(
        "item",
        fields=[
            {"api_name": "title", "type": "text", "required": True, "options": {"max_length": 20}},
            {"api_name": "price", "type": "integer"},
            {"api_name": "catalogue_id", "type": "text", "unique": True},
            {"api_name": "brand", "type": "lookup", "options": {"target_object": "brand"}},
        ],
    )


@pytest.fixture
def runtime(engine: Engine, box: SecretBox, clock: Clock, catalogue_objects: None) -> ConnectorRuntime:
    return ConnectorRuntime(engine, box, connectors={"catalogue": sample.Catalogue}, clock=clock)


@pytest.fixture
def connection(runtime: ConnectorRuntime, workspace: str) -> Callable[..., Any]:
    def make(name: str = "shop", **options: Any) -> Any:
        config = options.pop("config", {"token": "good"})
        return runtime.create_connection(workspace, name, "catalogue", config, **options)

    return make
