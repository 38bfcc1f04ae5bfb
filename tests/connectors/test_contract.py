"""The contract suite, run against the runtime's sample connector (each shipped connector
runs it against itself in its own test module)."""

from __future__ import annotations

from typing import Any

import pytest

from tessera.connectors.contract import ConnectorContract
from tests.connectors import sample


class TestCatalogueContract(ConnectorContract):
    connector_class = sample.Catalogue

    @pytest.fixture
    def config(self) -> dict[str, Any]:
        sample.reset(items=7, brands=2)
        return {"token": "good", "page_size": 3}

    @pytest.fixture
    def bad_config(self) -> tuple[dict[str, Any], str]:
        return {"token": "bad"}, "refused the token"

    @pytest.fixture
    def action_inputs(self) -> dict[str, dict[str, Any]]:
        return {"place_order": {"item": 1, "quantity": 2}}
