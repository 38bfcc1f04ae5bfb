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


def test_serve_initialises_an_empty_data_dir_and_answers(tmp_path: Path):
    port = free_port()
    env = {**os.environ, "TESSERA_DATA_DIR": str(tmp_path / "var"), "TESSERA_PORT": str(port)}
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
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not come up")
        answer = httpx.post(
            f"{base}/graphql/metadata", json={"query": "{ workspace { slug metadataVersion } }"}
        )
        assert answer.json() == {"data": {"workspace": {"slug": "default", "metadataVersion": 0}}}
        assert (tmp_path / "var" / "tessera.db").exists()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert "default workspace 'default'" in output
