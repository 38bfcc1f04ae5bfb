"""A Tessera server and a real headless Chromium for the console's end-to-end tests.

The server is `tessera serve` (what `make run` starts) on a fresh data folder: SQLite, the
standard CRM with its demo data, an in-process worker. The browser is Debian's Chromium
(/usr/bin/chromium, or TESSERA_CHROMIUM) driven by Playwright. Without Chromium or
Playwright the tests are skipped with the reason — and fail under CI=true.

TESSERA_SCREENSHOTS=<folder> keeps a screenshot of each main screen there (`make screenshots`
writes docs/console/).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unavailable
from tests.platform.test_serve import free_port, wait_until_serving

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class ConsoleServer:
    url: str
    data_dir: Path
    email: str
    password: str
    api_key: str
    database_url: str


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    data_dir = tmp_path_factory.mktemp("console") / "var"
    port = free_port()
    env = {
        **os.environ,
        "TESSERA_DATA_DIR": str(data_dir),
        "TESSERA_PORT": str(port),
        "TESSERA_STARTER_PACKAGE": "standard-crm",
        "TESSERA_DEMO_DATA": "true",  # the screenshots show a CRM at work
        "TESSERA_LOG_LEVEL": "info",
    }
    env.pop("TESSERA_DATABASE_URL", None)
    log = (data_dir.parent / "server.log").open("w")  # read it when a test fails
    server = subprocess.Popen(
        [sys.executable, "-m", "tessera.platform.cli", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server)
        saved = dict(line.split(": ", 1) for line in (data_dir / "first-admin.txt").read_text().splitlines())
        yield ConsoleServer(
            url,
            data_dir,
            saved["login"],
            saved["password"],
            saved["api key"],
            f"sqlite:///{data_dir / 'tessera.db'}",
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    executable = os.environ.get("TESSERA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        unavailable("Chromium is not installed (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed (it is a dev dependency: make install)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any, console_server: ConsoleServer, tmp_path: Path) -> Iterator[Any]:
    """A new browser page, signed out, on a laptop-sized screen; page errors fail the test.
    The last screen is kept as last-screen.png in the test's temporary folder."""
    context = chromium.new_context(viewport={"width": 1366, "height": 820}, base_url=console_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        page.screenshot(path=str(tmp_path / "last-screen.png"))
        context.close()
    assert not errors, f"the console raised in the browser: {errors}"


def sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def screenshot(page: Any, name: str) -> None:
    """Keep a screenshot of the screen as it is, when TESSERA_SCREENSHOTS names a folder."""
    folder = os.environ.get("TESSERA_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)
