"""A real Tryton server for the Tryton connector's tests.

``trytond`` and the modules the connector uses (party, product, company, currency, sale
and what sale depends on) come from PyPI (the ``tryton`` extra, also in ``dev``). The
harness builds one SQLite database per test session with ``trytond-admin --all`` and
serves it with ``trytond`` on 127.0.0.1 on a free port:

1. ``trytond-admin -c <conf> -d tessera --all -u sale --activate-dependencies`` (about
   20 s; the admin password comes from ``TRYTONPASSFILE``, the admin's e-mail from
   standard input);
2. ``trytond -c <conf> -d tessera`` (``-d`` preloads the database's pool: trytond 8.2
   does not load it lazily for ``common.db.login``);
3. over JSON-RPC, as a client would: a currency (EUR), a company and its party, the
   admin's company, a ``Person`` party category and the unit. Tests that fail a login on purpose
   do it with a user of their own (:meth:`TrytonServer.new_user`): Tryton slows every
   later login of a login that failed.

The server is started by a tiny launcher instead of the ``trytond`` script only to turn
off e-mail *deliverability* checks (a DNS look-up of the domain, which fails without
network); syntax checks stay.

Nothing imports ``trytond`` into the test process: the harness talks to the server over
HTTP like the connector does, so trytond's import-time warnings never reach pytest.

When ``trytond`` is not installed the tests are skipped with the reason, except under
``CI=true``, where they fail.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import itertools
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.conftest import unavailable

DATABASE = "tessera"
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin-secret"
CLERK_PASSWORD = "clerk-secret"
PERSON_CATEGORY = "Person"
#: the module whose activation (with its dependencies) gives everything the connector uses
MODULES = ("sale",)

LAUNCHER = """
import sys
from trytond.tools import email_
_validate = email_.validate_email
def validate_email(email, check_deliverability=True):
    return _validate(email, check_deliverability=False)
email_.validate_email = validate_email
from trytond.cli import main
sys.argv[0] = "trytond"
sys.exit(main())
"""


def trytond_available() -> bool:
    return (
        importlib.util.find_spec("trytond") is not None
        and shutil.which("trytond-admin", path=str(Path(sys.executable).parent)) is not None
    )


def require_trytond() -> None:
    if not trytond_available():
        unavailable("trytond is not installed (pip install -e '.[tryton]')")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- Tryton's JSON encoding ---------------------------------------------------------------
def encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        parts = ("year", "month", "day", "hour", "minute", "second", "microsecond")
        return {"__class__": "datetime", **{p: getattr(value, p) for p in parts}}
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode(value: dict[str, Any]) -> Any:
    kind = value.get("__class__")
    if kind == "Decimal":
        return Decimal(value["decimal"])
    if kind == "datetime":
        parts = ("year", "month", "day", "hour", "minute", "second", "microsecond")
        return dt.datetime(*(value[p] for p in parts))
    if kind == "date":
        return dt.date(value["year"], value["month"], value["day"])
    return value


class TrytonServer:
    """A running trytond serving :data:`DATABASE`; :meth:`call` runs a method as the admin."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = DATABASE
        self.config_file = directory / "trytond.conf"
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(timeout=60)
        self.auth = ""
        self.context: dict[str, Any] = {}
        #: seconds spent creating the database (``trytond-admin --all``) and setting it up
        self.timings: dict[str, float] = {}
        self._users = itertools.count(1)

    # -- lifecycle ------------------------------------------------------------------------
    def build(self) -> None:
        self.config_file.write_text(
            "[database]\nuri = sqlite://\n"
            f"path = {self.directory}\n"
            f"[web]\nlisten = 127.0.0.1:{self.port}\n"
            "[session]\nmax_attempt = 100\n"
        )
        (self.directory / f"{DATABASE}.sqlite").touch()
        password_file = self.directory / "admin-password"
        password_file.write_text(ADMIN_PASSWORD + "\n")
        bin_dir = Path(sys.executable).parent
        started = time.monotonic()
        result = subprocess.run(
            [
                str(bin_dir / "trytond-admin"),
                "-c",
                str(self.config_file),
                "-d",
                DATABASE,
                "--all",
                "-u",
                *MODULES,
                "--activate-dependencies",
            ],
            input=b"\n",  # the admin's e-mail: none
            capture_output=True,
            env={**os.environ, "TRYTONPASSFILE": str(password_file)},
            timeout=600,
            check=False,
        )
        self.timings["create_database"] = time.monotonic() - started
        if result.returncode != 0:
            raise RuntimeError(f"trytond-admin failed:\n{result.stderr.decode()[-4000:]}")

    def start(self) -> None:
        with (self.directory / "trytond.log").open("wb") as log:  # the server keeps its own handle
            self.process = subprocess.Popen(
                [sys.executable, "-c", LAUNCHER, "-c", str(self.config_file), "-d", DATABASE],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"trytond exited:\n{self.log()[-4000:]}")
            try:
                if (
                    self.client.post(
                        f"{self.url}/rpc/", json={"id": 0, "method": "common.server.version", "params": []}
                    ).status_code
                    == 200
                ):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"trytond did not answer on {self.url}:\n{self.log()[-4000:]}")

    def log(self) -> str:
        path = self.directory / "trytond.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.client.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    # -- JSON-RPC as the admin ------------------------------------------------------------
    def login(self, login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD) -> str:
        response = self.client.post(
            f"{self.url}/{DATABASE}/rpc/",
            json={"id": 1, "method": "common.db.login", "params": [login, {"password": password}]},
        )
        response.raise_for_status()
        user_id, session = response.json()["result"][:2]
        return "Session " + base64.b64encode(f"{login}:{user_id}:{session}".encode()).decode()

    def call(self, method: str, *params: Any) -> Any:
        """``model.<name>.<method>`` with ``params`` as the admin; the user's context is
        appended (``context`` keys go in a last dict argument the caller gives)."""
        if not self.auth:
            self.auth = self.login()
        body = json.dumps({"id": 1, "method": method, "params": [*params, self.context]}, default=encode)
        response = self.client.post(
            f"{self.url}/{DATABASE}/rpc/",
            content=body,
            headers={"Authorization": self.auth, "Content-Type": "application/json"},
        )
        response.raise_for_status()
        answer = json.loads(response.text, object_hook=decode)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error'][:2]}")
        return answer["result"]

    def setup(self) -> None:
        """What a sale needs: a currency, a company, the admin working for it; plus a
        party category for people and the unit."""
        started = time.monotonic()
        (currency,) = self.call(
            "model.currency.currency.create",
            [{"name": "Euro", "code": "EUR", "symbol": "€", "rounding": Decimal("0.01"), "digits": 2}],
        )
        (company_party,) = self.call("model.party.party.create", [{"name": "Tessera Test Company"}])
        (company,) = self.call(
            "model.company.company.create", [{"party": company_party, "currency": currency}]
        )
        (admin,) = self.call("model.res.user.search", [["login", "=", ADMIN_LOGIN]], 0, None, None)
        self.call("model.res.user.write", [admin], {"companies": [["add", [company]]], "company": company})
        self.context = self.call("model.res.user.get_preferences", True)
        self.call("model.party.category.create", [{"name": PERSON_CATEGORY}])
        (self.unit,) = self.call("model.product.uom.search", [["symbol", "=", "u"]], 0, 1, None)
        self.company = company
        self.timings["setup"] = time.monotonic() - started

    # -- helpers for tests ----------------------------------------------------------------
    def config(self, **overrides: Any) -> dict[str, Any]:
        return {
            "url": self.url,
            "database": DATABASE,
            "login": ADMIN_LOGIN,
            "password": ADMIN_PASSWORD,
            **overrides,
        }

    def new_user(self) -> str:
        """A new user's login (its password is :data:`CLERK_PASSWORD`). Tryton delays every
        login of a login that failed before (0 to 2**failures - 1 s), so each test that
        fails a login on purpose uses a login of its own."""
        login = f"clerk{next(self._users)}"
        self.call("model.res.user.create", [{"name": login, "login": login, "password": CLERK_PASSWORD}])
        return login

    def sql(self, statement: str, *params: Any) -> None:
        """Runs SQL on the server's SQLite database (for states the API cannot make, such as
        a record never written after its creation: ``write_date`` empty)."""
        with sqlite3.connect(self.directory / f"{DATABASE}.sqlite") as conn:
            conn.execute(statement, params)
        conn.close()

    def person_category(self) -> int:
        (category,) = self.call("model.party.category.search", [["name", "=", PERSON_CATEGORY]], 0, 1, None)
        return int(category)

    def create_party(self, name: str, *, person: bool = False, **values: Any) -> int:
        mechanisms = [
            {"type": kind, "value": values.pop(kind)}
            for kind in ("email", "phone", "website")
            if kind in values
        ]
        city = values.pop("city", None)
        record: dict[str, Any] = {"name": name, "addresses": [["create", [{"city": city}]]], **values}
        if mechanisms:
            record["contact_mechanisms"] = [["create", mechanisms]]
        if person:
            record["categories"] = [["add", [self.person_category()]]]
        (party,) = self.call("model.party.party.create", [record])
        return int(party)

    def create_product(self, name: str, code: str, price: str) -> int:
        (template,) = self.call(
            "model.product.template.create",
            [
                {
                    "name": name,
                    "code": code,
                    "type": "service",
                    "default_uom": self.unit,
                    "salable": True,
                    "sale_uom": self.unit,
                    "list_price": Decimal(price),
                    "products": [["create", [{}]]],
                }
            ],
        )
        (product,) = self.call("model.product.product.search", [["template", "=", template]], 0, 1, None)
        return int(product)


def start_tryton_server(directory: Path) -> TrytonServer:
    """Builds the database, serves it and sets it up (stops the server when any step fails)."""
    server = TrytonServer(directory)
    try:
        server.build()
        server.start()
        server.setup()
    except BaseException:
        server.stop()
        raise
    return server


_SERVER_KEY = pytest.StashKey[TrytonServer]()


@pytest.fixture(scope="session")
def tryton_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> TrytonServer:
    """One Tryton server per test session (building its database takes about 20 s).

    Import it into a test module (``from tests.connectors.tryton_server import
    tryton_server``). Each module importing it defines a fixture of its own, so the server
    is kept in the session's stash: every module gets the same one, stopped at the end."""
    require_trytond()
    config = request.config
    if _SERVER_KEY not in config.stash:
        server = start_tryton_server(tmp_path_factory.mktemp("tryton"))
        config.stash[_SERVER_KEY] = server
        config.add_cleanup(server.stop)
    return config.stash[_SERVER_KEY]
