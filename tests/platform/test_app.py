from __future__ import annotations

import sqlalchemy as sa
from starlette.testclient import TestClient

from tessera.platform.app import create_app
from tessera.platform.settings import Settings


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/db.sqlite")
    with TestClient(create_app(Settings.from_env({}), engine)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}
    engine.dispose()


def test_index_points_at_the_apis(client):
    body = client.get("/").json()
    assert body["metadata_api"].endswith("/graphql/metadata")
    assert body["health"].endswith("/healthz")


def test_graphiql_is_served_to_browsers(client):
    response = client.get("/graphql/metadata", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
