"""The console in a real headless Firefox (Debian's firefox-esr), against `tessera serve`.

Playwright cannot drive a stock Firefox, so this test speaks Mozilla's own Marionette protocol
(the `marionette-driver` package). Firefox runs headless on a fresh temporary profile whose
user.js asks for Marionette on port 0: Firefox picks a free port and writes it to the profile's
MarionetteActivePort file, so there is no race for a port. It is started with
-remote-allow-system-access so that the test can read the browser's console (chrome context)
and fail on any JavaScript error the console raised. Without Firefox or marionette-driver the
test is skipped with the reason — and fails under CI=true. TESSERA_FIREFOX names another binary.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unavailable
from tests.console.conftest import ConsoleServer

STARTUP_TIMEOUT = 30.0  # seconds for Firefox to open its Marionette port
WAIT_TIMEOUT = 10.0  # seconds for a screen to render

#: user.js of the fresh profile: Marionette on a port Firefox picks, nothing fetched in the background
FIREFOX_PREFS = {
    "marionette.port": 0,
    "app.normandy.enabled": False,
    "app.update.disabledForTesting": True,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
}

#: the page's JavaScript errors so far, as the browser's console service saw them (chrome context)
CONSOLE_ERRORS = """
const [origin] = arguments;
return Services.console.getMessageArray()
  .filter((m) => m instanceof Ci.nsIScriptError && !(m.flags & Ci.nsIScriptError.warningFlag)
    && !m.isFromChromeContext && (m.sourceName || "").startsWith(origin))
  .map((m) => `${m.errorMessage} (${m.sourceName}:${m.lineNumber})`);
"""


def firefox_binary() -> str:
    executable = os.environ.get("TESSERA_FIREFOX") or shutil.which("firefox-esr") or shutil.which("firefox")
    if not executable or not Path(executable).exists():
        unavailable("Firefox is not installed (Debian: apt-get install firefox-esr)")
    assert executable is not None
    return executable


def marionette_class() -> Any:
    try:
        with warnings.catch_warnings():  # mozinfo calls the deprecated distro.linux_distribution()
            warnings.simplefilter("ignore", DeprecationWarning)
            from marionette_driver.marionette import Marionette  # type: ignore[import-untyped]
    except ImportError:
        unavailable("marionette-driver is not installed (it is a dev dependency: make install)")
    return Marionette


@dataclass(frozen=True)
class FirefoxProcess:
    process: subprocess.Popen[bytes]
    profile: Path
    log: Path


@pytest.fixture(scope="module")
def firefox_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirefoxProcess]:
    """A headless Firefox of its own, starting (it boots while the server does); Firefox and its
    profile are gone after."""
    executable = firefox_binary()
    marionette_class()  # skip before starting anything when the driver is missing
    profile = Path(tempfile.mkdtemp(prefix="tessera-firefox-"))
    log_path = tmp_path_factory.mktemp("firefox") / "firefox.log"  # read it when the test fails
    try:
        (profile / "user.js").write_text(
            "".join(
                f"user_pref({json.dumps(name)}, {json.dumps(value)});\n"
                for name, value in FIREFOX_PREFS.items()
            )
        )
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [
                    executable,
                    "--headless",
                    "--no-remote",
                    "--marionette",
                    "--remote-allow-system-access",
                    "--profile",
                    str(profile),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the content processes go with it
            )
        try:
            yield FirefoxProcess(process, profile, log_path)
        finally:
            stop(process)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def firefox(firefox_process: FirefoxProcess, console_server: ConsoleServer) -> Iterator[Any]:
    """A Marionette session in that Firefox, once the server is up too."""
    marionette = marionette_class()
    process, port_file = firefox_process.process, firefox_process.profile / "MarionetteActivePort"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not (port_file.exists() and port_file.read_text().strip()):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(
                f"Firefox did not open its Marionette port (exit code {process.poll()}):\n"
                + firefox_process.log.read_text()[-2000:]
            )
        time.sleep(0.05)
    client = marionette(
        host="127.0.0.1",
        port=int(port_file.read_text()),
        startup_timeout=int(STARTUP_TIMEOUT),
        socket_timeout=60,
    )
    try:
        client.start_session(timeout=STARTUP_TIMEOUT)
        client.timeout.page_load = 30
        client.timeout.script = 10
        yield client
    finally:
        client.cleanup()  # ends the session, if any; firefox_process ends Firefox


def stop(process: subprocess.Popen[bytes]) -> None:
    """End Firefox and its content processes (its process group): politely, then for sure."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_for(browser: Any, script: str, what: str, *args: Any) -> Any:
    """Run ``script`` in the page until it returns something truthy; fail after WAIT_TIMEOUT."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        value = browser.execute_script(script, script_args=args)
        if value:
            return value
        if time.monotonic() > deadline:
            body = browser.execute_script("return document.body ? document.body.innerText : ''")
            raise AssertionError(f"no {what} after {WAIT_TIMEOUT}s; the page shows:\n{body[:2000]}")
        time.sleep(0.1)


def console_errors(browser: Any, origin: str) -> list[str]:
    with browser.using_context(browser.CONTEXT_CHROME):
        return list(browser.execute_script(CONSOLE_ERRORS, script_args=(origin,)))


def assert_rendered(browser: Any, what: str) -> None:
    """The screen has its heading, is done loading and shows no error."""
    state = wait_for(
        browser,
        """const h1 = document.querySelector("main h1");
        return h1 && !document.querySelector(".loading") && h1.textContent.trim();""",
        f"heading on {what}",
    )
    assert state, what
    problems = browser.execute_script(
        """return [...document.querySelectorAll('.error-banner, [role="alert"]')]
          .map((e) => e.textContent.trim());"""
    )
    assert not problems, f"{what} shows errors: {problems}"


def test_the_console_works_in_firefox(firefox: Any, console_server: ConsoleServer):
    from marionette_driver.by import By  # type: ignore[import-untyped]

    browser = firefox
    browser.navigate(f"{console_server.url}/")
    wait_for(browser, 'return document.querySelector("main.sign-in input[type=email]")', "sign-in form")
    browser.find_element(By.CSS_SELECTOR, "input[type=email]").send_keys(console_server.email)
    browser.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(console_server.password)
    browser.find_element(By.CSS_SELECTOR, "main.sign-in button[type=submit]").click()
    wait_for(
        browser,
        """return [...document.querySelectorAll("header button")]
          .some((b) => b.textContent.trim() === "Sign out");""",
        "Sign out button",
    )

    browser.navigate(f"{console_server.url}/#/records/company")
    rows = wait_for(
        browser,
        """return !document.querySelector(".loading")
          && document.querySelectorAll("table.records tbody tr").length;""",
        "table of companies",
    )
    assert rows > 1
    count = wait_for(
        browser,
        """const s = document.querySelector(".list-count");
        return s && / of \\d+$/.test(s.textContent.trim()) && s.textContent.trim();""",
        "count of companies",
    )
    assert count.endswith(" of 40"), count
    assert_rendered(browser, "the companies")

    for screen, heading in (("objects", "Data model"), ("workflows", "Workflows")):
        browser.navigate(f"{console_server.url}/#/admin/{screen}")
        wait_for(
            browser,
            'const h1 = document.querySelector("main h1"); return h1 && h1.textContent.trim() === arguments[0];',
            f"{heading} heading",
            heading,
        )
        wait_for(browser, 'return document.querySelector("main table tbody tr")', f"{screen} table")
        assert_rendered(browser, f"#/admin/{screen}")

    errors = console_errors(browser, console_server.url)
    assert not errors, f"the console raised in Firefox: {errors}"
