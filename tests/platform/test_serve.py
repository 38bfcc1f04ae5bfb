"""``tessera serve`` (what ``make run`` runs) starts on a bare database and serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(base: str, server: subprocess.Popen[str], tries: int = 300) -> None:
    """Until ``base``/healthz answers; fails when the server exits or never answers."""
    for _ in range(tries):
        if server.poll() is not None:
            raise AssertionError(f"the server exited with status {server.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the server did not come up")


def test_serve_initialises_an_empty_data_dir_and_answers(tmp_path: Path):
    """What `make run` does on a fresh machine."""
    port = free_port()
    env = {
        **os.environ,
        "TESSERA_DATA_DIR": str(tmp_path / "var"),
        "TESSERA_PORT": str(port),
        "TESSERA_STARTER_PACKAGE": "standard-crm",
    }
    env.pop("TESSERA_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "tessera.platform.cli", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, server, tries=100)
        query = {"query": "{ workspace { slug metadataVersion } }"}
        assert httpx.post(f"{base}/graphql/metadata", json=query).status_code == 401
        # The first start made an admin and kept the credentials in the data dir.
        saved = tmp_path / "var" / "first-admin.txt"
        assert oct(saved.stat().st_mode & 0o777) == "0o600"
        credentials = dict(line.split(": ", 1) for line in saved.read_text().splitlines())
        answer = httpx.post(
            f"{base}/graphql/metadata",
            json=query,
            headers={"Authorization": f"Bearer {credentials['api key']}"},
        )
        # ... and installed the standard CRM with its demo data.
        assert answer.json() == {"data": {"workspace": {"slug": "default", "metadataVersion": 1}}}
        counted = httpx.post(
            f"{base}/graphql",
            json={"query": "{ companies { totalCount } deals { totalCount } }"},
            headers={"Authorization": f"Bearer {credentials['api key']}"},
        )
        assert counted.json() == {"data": {"companies": {"totalCount": 40}, "deals": {"totalCount": 80}}}
        login = httpx.post(
            f"{base}/auth/login", json={"email": credentials["login"], "password": credentials["password"]}
        )
        assert login.status_code == 200 and login.json()["workspace"] == "default"
        assert (tmp_path / "var" / "tessera.db").exists()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert "default workspace 'default'" in output
    assert f"api key: {credentials['api key']}" in output  # what make run prints
