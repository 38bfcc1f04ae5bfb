"""The Tryton connector: parties and products into the Standard CRM, won deals into sale orders.

It talks Tryton's plain JSON-RPC over HTTP (no Tryton library): ``POST /rpc/`` with
``common.server.version`` for the server's series, ``POST /<database>/rpc/`` with
``common.db.login`` for a session, then ``Authorization: Session base64(login:id:token)``
for ``model.<model>.<method>`` calls, each given the user's preferences as context (the
company a sale is made for). Servers older than the ``/rpc/`` routes (``POST /<database>/``,
``common.version``) are spoken to on their paths.

- **Streams**: ``companies`` and ``people`` (``party.party``: a party in the configured
  *person category*, ``Person`` by default, is a person; every other party an
  organisation) and ``products`` (``product.product``). Reads are incremental by Tryton's
  ``last_modified_at`` (``COALESCE(write_date, create_date)``: Tryton leaves
  ``write_date`` empty on records never modified), in pages ordered by
  ``(last_modified_at, id)`` with a checkpoint after each page; a product is read again
  when its template (name, price) changes.
- **Action** ``create_sale_order``: the won deal's accepted quote becomes a Tryton sale
  order with one line per quote line (finding or creating the party, mapping products by
  their ``tryton_id`` or code), idempotent by the step's key (kept in the sale's
  ``reference``); the sale's id and number are written back to the deal.

See docs/connectors/tryton.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import httpx2 as httpx

from tessera.connectors.sdk import (
    ActionSpec,
    AuthenticationError,
    Checkpoint,
    CheckResult,
    ConfigurationError,
    Connector,
    ConnectorError,
    Manifest,
    PermanentError,
    RateLimited,
    Record,
    StreamSpec,
    TransientError,
)
from tessera.workflows.http_request import retry_after_seconds

__all__ = ["TrytonClient", "TrytonConnector"]

#: Tryton series the connector is tested with; older ones are refused by ``check``
MIN_SERIES = (7, 0)
DEFAULT_PAGE_SIZE = 100
#: the Tryton modules the streams and the action use
MODULES = ("party", "product", "company", "sale")
DEFAULT_PERSON_CATEGORY = "Person"
#: the prefix of a sale's ``reference`` that holds the idempotency key of the step that made it
REFERENCE_PREFIX = "tessera:"

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["url", "database", "login", "password"],
    "additionalProperties": False,
    "properties": {
        "url": {
            "type": "string",
            "format": "uri",
            "pattern": "^https?://",
            "description": "The Tryton server's address (http://erp.example.com:8000).",
        },
        "database": {"type": "string", "minLength": 1, "description": "The Tryton database."},
        "login": {"type": "string", "minLength": 1, "description": "The Tryton user's login."},
        "password": {"type": "string", "secret": True, "description": "The Tryton user's password."},
        "person_category": {
            "type": "string",
            "minLength": 1,
            "default": DEFAULT_PERSON_CATEGORY,
            "description": "Parties in the party category of this name are people; all others are companies.",
        },
        "page_size": {"type": "integer", "minimum": 1, "maximum": 1000, "default": DEFAULT_PAGE_SIZE},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 30, "description": "Seconds."},
    },
}

_MODIFIED = {"type": "string", "format": "date-time"}
_TEXT = {"type": ["string", "null"]}

PARTY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "modified_at"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "code": _TEXT,
        "first_name": _TEXT,
        "last_name": {"type": "string"},
        "email": _TEXT,
        "phone": _TEXT,
        "mobile": _TEXT,
        "website": _TEXT,
        "city": _TEXT,
        "country": _TEXT,
        "modified_at": _MODIFIED,
    },
}

PRODUCT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "code", "name", "active", "modified_at"],
    "properties": {
        "id": {"type": "integer"},
        "code": {"type": "string"},
        "name": {"type": "string"},
        "description": _TEXT,
        "active": {"type": "boolean"},
        "unit_price": {
            "type": ["object", "null"],
            "properties": {"amount": {"type": "string"}, "currency_code": {"type": "string"}},
        },
        "modified_at": _MODIFIED,
    },
}

CREATE_SALE_INPUT: dict[str, Any] = {
    "type": "object",
    "required": ["deal_id"],
    "additionalProperties": False,
    "properties": {
        "deal_id": {"type": "string", "minLength": 1, "description": "The won deal (its Tessera id)."},
        "quote_id": {
            "type": "string",
            "minLength": 1,
            "description": "The quote whose lines become the sale's (default: the deal's accepted quote).",
        },
        "state": {
            "enum": ["draft", "quotation"],
            "default": "quotation",
            "description": "Leave the sale a draft, or quote it (Tryton numbers it then).",
        },
    },
}

CREATE_SALE_OUTPUT: dict[str, Any] = {
    "type": "object",
    "required": ["sale_id", "state", "party_id", "created", "lines"],
    "properties": {
        "sale_id": {"type": "integer"},
        "number": {"type": ["string", "null"]},
        "state": {"type": "string"},
        "party_id": {"type": "integer"},
        "total_amount": {"type": ["string", "null"]},
        "currency": {"type": ["string", "null"]},
        "lines": {"type": "integer"},
        "created": {"type": "boolean", "description": "False when an earlier attempt had created it."},
    },
}


# -- Tryton's JSON ----------------------------------------------------------------------------
_DATETIME_PARTS = ("year", "month", "day", "hour", "minute", "second", "microsecond")


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"__class__": "datetime", **{p: getattr(value, p) for p in _DATETIME_PARTS}}
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    raise TypeError(f"Cannot send a {type(value).__name__} to Tryton.")


def _decode(value: dict[str, Any]) -> Any:
    kind = value.get("__class__")
    if kind == "Decimal":
        return Decimal(value["decimal"])
    if kind == "datetime":
        year, month, day, hour, minute, second, micro = (int(value[p]) for p in _DATETIME_PARTS)
        return dt.datetime(year, month, day, hour, minute, second, micro)
    if kind == "date":
        return dt.date(int(value["year"]), int(value["month"]), int(value["day"]))
    if kind == "bytes":
        return base64.b64decode(value["base64"])
    return value


def _series(version: str) -> tuple[int, int]:
    parts = [*(int(p) for p in version.split(".")[:2] if p.isdigit()), 0, 0]
    return parts[0], parts[1]


class TrytonClient:
    """One user's JSON-RPC session with one Tryton database. Errors are the SDK's."""

    def __init__(self, config: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None) -> None:
        self.url = str(config["url"]).rstrip("/")
        self.database = str(config["database"])
        self.login_name = str(config["login"])
        self.password = str(config["password"])
        self.http = httpx.Client(timeout=float(config.get("timeout", 30)), transport=transport)
        self.legacy = False
        self.version: str | None = None
        self.user_id: int | None = None
        self.authorization: str | None = None
        self.context: dict[str, Any] = {}

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> TrytonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ------------------------------------------------------------------------
    def _post(self, path: str, method: str, params: Sequence[Any], *, auth: bool) -> httpx.Response:
        body = json.dumps({"id": 1, "method": method, "params": list(params)}, default=_encode)
        headers = {"Content-Type": "application/json"}
        if auth and self.authorization:
            headers["Authorization"] = self.authorization
        try:
            return self.http.post(f"{self.url}{path}", content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientError(f"The Tryton server at {self.url} did not answer in time.") from exc
        except httpx.TransportError as exc:
            reason = "the connection was refused" if "refused" in str(exc).lower() else str(exc)
            raise TransientError(f"Cannot reach the Tryton server at {self.url}: {reason}.") from exc

    def _result(self, response: httpx.Response, method: str) -> Any:
        status = response.status_code
        if status == 429:
            raise RateLimited(
                f"The Tryton server asked to slow down ({method}).",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status in (502, 503, 504):
            raise TransientError(f"The Tryton server is unavailable (HTTP {status}) for {method}.")
        if status == 403:
            raise PermanentError(f"Tryton user '{self.login_name}' may not call {method} (HTTP 403).")
        if status != 200:
            raise PermanentError(f"The Tryton server answered HTTP {status} to {method}.")
        try:
            answer = json.loads(response.text, object_hook=_decode)
        except ValueError as exc:
            raise PermanentError(f"The Tryton server's answer to {method} is not JSON.") from exc
        if isinstance(answer, dict) and answer.get("error") is not None:
            raise self._error(answer["error"], method)
        if not isinstance(answer, dict) or "result" not in answer:
            raise PermanentError(f"The Tryton server's answer to {method} has no result.")
        return answer["result"]

    def _error(self, error: Any, method: str) -> ConnectorError:
        """Tryton's error array: ``[exception name, args]`` for its own exceptions
        (``UserError``: ``[message, description, domain]``), ``[text, traceback]`` otherwise."""
        if isinstance(error, list) and error:
            name = error[0]
            args = error[1] if len(error) > 1 else None
            if name in ("UserError", "UserWarning") and isinstance(args, list):
                texts = args[:2] if name == "UserError" else args[1:3]
                message = " ".join(str(t).strip() for t in texts if t)
                return PermanentError(f"Tryton refused {method}: {message}")
            if name == "ConcurrencyException":
                return TransientError(f"Tryton: the record changed meanwhile ({method}); try again.")
            if name == "LoginException":
                return AuthenticationError(f"Tryton asks for more to log in '{self.login_name}' ({args}).")
            return PermanentError(f"Tryton failed on {method}: {name}")
        return PermanentError(f"Tryton failed on {method}: {error}")

    # -- the protocol ---------------------------------------------------------------------
    def server_version(self) -> str:
        """The server's series (``8.2``); also finds which paths the server has."""
        response = self._post("/rpc/", "common.server.version", [], auth=False)
        if response.status_code in (404, 405):
            legacy = self._post("/", "common.version", [], auth=False)
            if legacy.status_code != 200:
                raise ConfigurationError(
                    f"The server at {self.url} does not answer as a Tryton server "
                    f"(HTTP {response.status_code}).",
                    path=("url",),
                )
            self.legacy = True
            response = legacy
        try:
            version = self._result(response, "common.server.version")
        except PermanentError as exc:
            raise ConfigurationError(
                f"The server at {self.url} does not answer as a Tryton server ({exc}).", path=("url",)
            ) from exc
        self.version = str(version)
        return self.version

    @property
    def database_path(self) -> str:
        return f"/{self.database}/" if self.legacy else f"/{self.database}/rpc/"

    def login(self) -> None:
        if self.version is None:
            self.server_version()
        params = [self.login_name, {"password": self.password}]
        response = self._post(self.database_path, "common.db.login", params, auth=False)
        if response.status_code == 404:
            raise ConfigurationError(
                f"The Tryton server at {self.url} has no database '{self.database}'.", path=("database",)
            )
        if response.status_code in (401, 403):
            raise AuthenticationError(
                f"Tryton refused the login '{self.login_name}' with this password.", path=("password",)
            )
        result = self._result(response, "common.db.login")
        if not result:  # servers before the HTTP statuses answered a false result
            raise AuthenticationError(
                f"Tryton refused the login '{self.login_name}' with this password.", path=("password",)
            )
        user_id, session = int(result[0]), str(result[1])
        token = base64.b64encode(f"{self.login_name}:{user_id}:{session}".encode()).decode()
        self.user_id = user_id
        self.authorization = f"Session {token}"
        self.context = {}
        self.context = dict(self.call("res.user", "get_preferences", True))

    def call(self, model: str, method: str, *args: Any, context: Mapping[str, Any] | None = None) -> Any:
        """``<model>.<method>(*args, context)``; logs in first, and again once when the
        session has expired."""
        if self.authorization is None:
            self.login()
        name = f"model.{model}.{method}"
        params = [*args, {**self.context, **(context or {})}]
        response = self._post(self.database_path, name, params, auth=True)
        if response.status_code == 401:
            self.authorization = None
            self.login()
            response = self._post(self.database_path, name, params, auth=True)
            if response.status_code == 401:
                raise AuthenticationError(f"Tryton refused the session of '{self.login_name}' for {name}.")
        return self._result(response, name)

    def search_read(
        self,
        model: str,
        domain: list[Any],
        fields: Sequence[str],
        *,
        limit: int | None = None,
        order: Sequence[tuple[str, str]] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        orders = [list(o) for o in order] if order else None
        return list(self.call(model, "search_read", domain, 0, limit, orders, list(fields), context=context))

    def read(self, model: str, ids: Sequence[int], fields: Sequence[str]) -> list[dict[str, Any]]:
        return list(self.call(model, "read", list(ids), list(fields))) if ids else []


# -- reading ----------------------------------------------------------------------------------
def _iso(value: dt.datetime) -> str:
    return value.replace(tzinfo=dt.UTC).isoformat()


def _from_iso(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _text(value: Any) -> str | None:
    if value is None or value is False:
        return None
    text = str(value).strip()
    return text or None


def _website(value: Any) -> str | None:
    text = _text(value)
    if text and "://" not in text:
        text = f"https://{text}"
    return text


def _split_name(name: str) -> tuple[str | None, str]:
    first, _, last = name.strip().rpartition(" ")
    return (first.strip() or None), last


class _Pass:
    """One ordered walk of a stream: the records whose timestamp at ``path`` is after the
    pass's cursor, by ``(timestamp, id)``."""

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path

    def domain(self, cursor: Sequence[Any] | None) -> list[Any]:
        if not cursor:
            return []
        moment, last_id = _from_iso(str(cursor[0])), int(cursor[1])
        return ["OR", [self.path, ">", moment], [[self.path, "=", moment], ["id", ">", last_id]]]


class TrytonConnector(Connector):
    """Tryton ERP: parties and products in, won deals out as sale orders."""

    manifest = Manifest(
        name="tryton",
        version="1.0.0",
        title="Tryton",
        description="Syncs Tryton parties into companies and people and Tryton products into "
        "products; turns won deals into Tryton sale orders.",
        config_schema=CONFIG_SCHEMA,
        streams=(
            StreamSpec(
                name="companies",
                key="id",
                cursor_field="modified_at",
                object="company",
                external_id_field="tryton_id",
                fields={
                    "name": "/name",
                    "website": "/website",
                    "phone": "/phone",
                    "city": "/city",
                    "country": "/country",
                },
                schema=PARTY_SCHEMA,
                description="Tryton parties that are organisations (not in the person category).",
            ),
            StreamSpec(
                name="people",
                key="id",
                cursor_field="modified_at",
                object="person",
                external_id_field="tryton_id",
                fields={
                    "first_name": "/first_name",
                    "last_name": "/last_name",
                    "email": "/email",
                    "phone": "/phone",
                    "mobile": "/mobile",
                    "city": "/city",
                },
                schema=PARTY_SCHEMA,
                description="Tryton parties in the person category; the name's last word is the last name.",
            ),
            StreamSpec(
                name="products",
                key="id",
                cursor_field="modified_at",
                object="product",
                external_id_field="tryton_id",
                fields={
                    "name": "/name",
                    "code": "/code",
                    "unit_price": "/unit_price",
                    "active": "/active",
                    "description": "/description",
                },
                schema=PRODUCT_SCHEMA,
                description="Tryton product variants (product.product), inactive ones included.",
            ),
        ),
        actions=(
            ActionSpec(
                name="create_sale_order",
                description="Create a Tryton sales order from a won deal: the lines of its accepted "
                "quote, for its company's party (found or created); once per workflow step.",
                input_schema=CREATE_SALE_INPUT,
                output_schema=CREATE_SALE_OUTPUT,
            ),
        ),
        package="package",
    )

    # -- check ----------------------------------------------------------------------------
    def check(self, config: Mapping[str, Any]) -> CheckResult:
        try:
            with TrytonClient(config) as client:
                version = client.server_version()
                if _series(version) < MIN_SERIES:
                    wanted = ".".join(map(str, MIN_SERIES))
                    return CheckResult.failed(
                        f"Tryton {version} is not supported: the connector needs Tryton {wanted} or newer.",
                        ("url",),
                    )
                client.login()
                active = {
                    m["name"]
                    for m in client.search_read(
                        "ir.module", [["name", "in", list(MODULES)], ["state", "=", "activated"]], ["name"]
                    )
                }
                missing = [m for m in MODULES if m not in active]
                if missing:
                    return CheckResult.failed(
                        f"Tryton database '{client.database}' lacks the module(s) {', '.join(missing)}: "
                        "activate them.",
                        ("database",),
                    )
                if not client.context.get("company"):
                    return CheckResult.failed(
                        f"Tryton user '{client.login_name}' has no current company (sale orders need one).",
                        ("login",),
                    )
        except ConnectorError as exc:
            return CheckResult.failed(str(exc), exc.path)
        return CheckResult.passed(
            f"Connected to Tryton {version}, database '{client.database}', as '{client.login_name}'."
        )

    # -- read -----------------------------------------------------------------------------
    def read(
        self, config: Mapping[str, Any], stream: str, state: Mapping[str, Any] | None
    ) -> Iterator[Record | Checkpoint]:
        self.manifest.stream(stream)
        page_size = int(config.get("page_size", DEFAULT_PAGE_SIZE))
        cursors: dict[str, Any] = dict(state or {})
        with TrytonClient(config) as client:
            if stream == "products":
                passes = [
                    _Pass("product", "last_modified_at"),
                    _Pass("template", "template.last_modified_at"),
                ]
                base: list[Any] = []
                context: dict[str, Any] = {"active_test": False}
            else:
                category = str(config.get("person_category", DEFAULT_PERSON_CATEGORY))
                operator = "where" if stream == "people" else "not where"
                passes = [_Pass("party", "last_modified_at")]
                base = [["categories", operator, [["name", "=", category]]]]
                context = {}
            yielded: dict[int, Any] = {}
            for walk in passes:
                while True:
                    domain = [*base, walk.domain(cursors.get(walk.name))] if cursors.get(walk.name) else base
                    order = [(walk.path, "ASC"), ("id", "ASC")]
                    if stream == "products":
                        rows = self._products(client, domain, order, page_size, context)
                    else:
                        rows = self._parties(client, stream, domain, order, page_size)
                    for row, moment in rows:
                        stamp = row.pop("_stamp")
                        if yielded.get(row["id"]) != stamp:  # not already read as it is in this read
                            yielded[row["id"]] = stamp
                            yield Record(row)
                        cursors[walk.name] = [moment.isoformat(), row["id"]]
                    if rows:
                        yield Checkpoint(dict(cursors))
                    if len(rows) < page_size:
                        break

    def _parties(
        self,
        client: TrytonClient,
        stream: str,
        domain: list[Any],
        order: Sequence[tuple[str, str]],
        limit: int,
    ) -> list[tuple[dict[str, Any], dt.datetime]]:
        fields = ["name", "code", "email", "phone", "mobile", "website", "addresses", "last_modified_at"]
        found = client.search_read("party.party", domain, fields, limit=limit, order=order)
        first_addresses = [p["addresses"][0] for p in found if p.get("addresses")]
        addresses = {
            a["id"]: a for a in client.read("party.address", first_addresses, ["city", "country.code"])
        }
        rows = []
        for party in found:
            address = addresses.get(party["addresses"][0]) if party.get("addresses") else None
            country = (address or {}).get("country.") or {}
            name = str(party["name"] or "")
            row: dict[str, Any] = {
                "id": party["id"],
                "name": name,
                "code": _text(party.get("code")),
                "email": _text(party.get("email")),
                "phone": _text(party.get("phone")),
                "mobile": _text(party.get("mobile")),
                "website": _website(party.get("website")),
                "city": _text((address or {}).get("city")),
                "country": _text(country.get("code")),
                "modified_at": _iso(party["last_modified_at"]),
                "_stamp": party["last_modified_at"],
            }
            if stream == "people":
                row["first_name"], row["last_name"] = _split_name(name)
            rows.append((row, party["last_modified_at"]))
        return rows

    def _products(
        self,
        client: TrytonClient,
        domain: list[Any],
        order: Sequence[tuple[str, str]],
        limit: int,
        context: Mapping[str, Any],
    ) -> list[tuple[dict[str, Any], dt.datetime]]:
        fields = [
            "code",
            "name",
            "description",
            "active",
            "list_price_used",
            "last_modified_at",
            "template.last_modified_at",
        ]
        found = client.search_read(
            "product.product", domain, fields, limit=limit, order=order, context=context
        )
        currency = self._company_currency(client)
        by_template = any(o[0].startswith("template.") for o in order)
        rows = []
        for product in found:
            own: dt.datetime = product["last_modified_at"]
            template_modified: dt.datetime = (product.get("template.") or {}).get("last_modified_at") or own
            price = product.get("list_price_used")
            row = {
                "id": product["id"],
                "code": _text(product.get("code")) or f"TRYTON-{product['id']}",
                "name": str(product.get("name") or ""),
                "description": _text(product.get("description")),
                "active": bool(product.get("active")),
                "unit_price": None if price is None else {"amount": str(price), "currency_code": currency},
                "modified_at": _iso(max(own, template_modified)),
                "_stamp": (own, template_modified),
            }
            rows.append((row, template_modified if by_template else own))
        return rows

    def _company_currency(self, client: TrytonClient) -> str | None:
        company = client.context.get("company")
        if not company:
            return None
        (found,) = client.read("company.company", [int(company)], ["currency.code"])
        return _text((found.get("currency.") or {}).get("code"))

    # -- the action -----------------------------------------------------------------------
    def execute(
        self, config: Mapping[str, Any], action: str, payload: Mapping[str, Any], idempotency_key: str
    ) -> Mapping[str, Any]:
        if action != "create_sale_order":
            return super().execute(config, action, payload, idempotency_key)
        with TrytonClient(config) as client:
            return SaleOrderFromDeal(self, client, payload, idempotency_key).run()


class SaleOrderFromDeal:
    """``create_sale_order``: one run."""

    def __init__(
        self, connector: TrytonConnector, client: TrytonClient, payload: Mapping[str, Any], key: str
    ) -> None:
        self.connector = connector
        self.records = connector.records
        self.client = client
        self.payload = payload
        self.reference = f"{REFERENCE_PREFIX}{key}"
        self.state = str(payload.get("state", "quotation"))

    def run(self) -> dict[str, Any]:
        deal_id = str(self.payload["deal_id"])
        deal = self.records.get("deal", deal_id)
        if deal is None:
            raise PermanentError(f"There is no deal {deal_id}.", path=("deal_id",))
        existing = self.client.search_read(
            "sale.sale", [["reference", "=", self.reference]], ["id", "party", "state"], limit=1
        )
        created = not existing
        if existing:
            sale_id, party_id = int(existing[0]["id"]), int(existing[0]["party"])
        else:
            quote = self.quote_of(deal)
            lines = self.records.find("quote_line", {"quote": {"id": {"eq": str(quote["id"])}}})
            if not lines:
                raise PermanentError(
                    f"Quote {quote.get('number') or quote['id']} has no lines.", path=("quote_id",)
                )
            party_id = self.party_of(deal)
            sale_id = self.create_sale(deal, party_id, lines)
        sale = self.finish(sale_id)
        self.records.update(
            "deal", deal_id, {"tryton_sale_id": str(sale_id), "tryton_sale_number": _text(sale.get("number"))}
        )
        return {
            "sale_id": sale_id,
            "number": _text(sale.get("number")),
            "state": str(sale["state"]),
            "party_id": party_id,
            "total_amount": None if sale.get("total_amount") is None else str(sale["total_amount"]),
            "currency": _text((sale.get("currency.") or {}).get("code")),
            "lines": len(sale.get("lines") or []),
            "created": created,
        }

    # -- the deal's side ------------------------------------------------------------------
    def quote_of(self, deal: Mapping[str, Any]) -> dict[str, Any]:
        quote_id = self.payload.get("quote_id")
        if quote_id:
            quote = self.records.get("quote", str(quote_id))
            if quote is None or _ref(quote.get("deal")) != str(deal["id"]):
                raise PermanentError(f"Quote {quote_id} is not a quote of this deal.", path=("quote_id",))
            return quote
        quotes = self.records.find(
            "quote", {"deal": {"id": {"eq": str(deal["id"])}}, "status": {"eq": "accepted"}}
        )
        if not quotes:
            raise PermanentError(
                f"Deal {deal.get('number') or deal['id']} has no accepted quote: the sale order's lines "
                "come from the deal's accepted quote (or give quote_id).",
                path=("deal_id",),
            )
        return max(quotes, key=lambda q: str(q.get("updated_at") or q.get("created_at") or ""))

    def party_of(self, deal: Mapping[str, Any]) -> int:
        """The Tryton party of the deal's company (else its contact): by ``tryton_id``, else
        a party of the same name, else a new party; its id is written back."""
        for object_name, field in (("company", "company"), ("person", "contact")):
            record_id = _ref(deal.get(field))
            if record_id is None:
                continue
            record = self.records.get(object_name, record_id)
            if record is None:
                continue
            return self.party_for(object_name, record)
        raise PermanentError(
            f"Deal {deal.get('number') or deal['id']} has neither a company nor a contact to sell to.",
            path=("deal_id",),
        )

    def party_for(self, object_name: str, record: Mapping[str, Any]) -> int:
        client = self.client
        known = _text(record.get("tryton_id"))
        if known and known.isdigit():
            if client.search_read("party.party", [["id", "=", int(known)]], ["id"], limit=1):
                self.ensure_address(int(known), record)
                return int(known)
        if object_name == "company":
            name = str(record["name"])
        else:
            name = " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p)
        found = client.search_read(
            "party.party", [["name", "=", name]], ["id"], limit=1, order=[("id", "ASC")]
        )
        if found:
            party_id = int(found[0]["id"])
            self.ensure_address(party_id, record)
        else:
            values: dict[str, Any] = {"name": name, "addresses": [["create", [self.address_values(record)]]]}
            mechanisms = [
                {"type": kind, "value": str(record[kind])}
                for kind in ("email", "phone", "website")
                if record.get(kind)
            ]
            if mechanisms:
                values["contact_mechanisms"] = [["create", mechanisms]]
            (party_id,) = client.call("party.party", "create", [values])
            party_id = int(party_id)
        if known != str(party_id):
            self.records.update(object_name, str(record["id"]), {"tryton_id": str(party_id)})
        return party_id

    def address_values(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {"city": _text(record.get("city"))}

    def ensure_address(self, party_id: int, record: Mapping[str, Any]) -> None:
        (party,) = self.client.read("party.party", [party_id], ["addresses"])
        if not party.get("addresses"):
            self.client.call("party.address", "create", [{"party": party_id, **self.address_values(record)}])

    def product_of(self, product: Mapping[str, Any]) -> dict[str, Any]:
        """The Tryton product of a Tessera product: by ``tryton_id``, else by code."""
        fields = ["id", "code", "sale_uom", "list_price_used", "rec_name"]
        context = {"active_test": False}
        known = _text(product.get("tryton_id"))
        if known and known.isdigit():
            found = self.client.search_read(
                "product.product", [["id", "=", int(known)]], fields, limit=1, context=context
            )
            if found:
                return found[0]
        code = _text(product.get("code"))
        found = (
            self.client.search_read("product.product", [["code", "=", code]], fields, limit=1) if code else []
        )
        if not found:
            raise PermanentError(
                f"Product '{product.get('name')}' ({code or 'no code'}) is not in Tryton: sync the products "
                "stream or create it in Tryton with this code.",
            )
        if known != str(found[0]["id"]):
            self.records.update("product", str(product["id"]), {"tryton_id": str(found[0]["id"])})
        return found[0]

    # -- Tryton's side --------------------------------------------------------------------
    def create_sale(self, deal: Mapping[str, Any], party_id: int, lines: list[dict[str, Any]]) -> int:
        (party,) = self.client.read("party.party", [party_id], ["addresses"])
        address = party["addresses"][0] if party.get("addresses") else None
        currencies = {code for line in lines if (code := _currency_code(line.get("unit_price")))}
        values: dict[str, Any] = {
            "party": party_id,
            "invoice_address": address,
            "shipment_address": address,
            "reference": self.reference,
            "description": str(deal.get("title") or "")[:200] or None,
            "comment": f"From Tessera deal {deal.get('number') or deal['id']}.",
            "lines": [["create", [self.line_values(line) for line in lines]]],
        }
        if len(currencies) > 1:
            raise PermanentError(
                f"The quote's lines are in several currencies ({', '.join(sorted(currencies))})."
            )
        if currencies:
            code = currencies.pop()
            found = self.client.search_read("currency.currency", [["code", "=", code]], ["id"], limit=1)
            if not found:
                raise PermanentError(f"Tryton has no currency {code}.")
            values["currency"] = found[0]["id"]
        (sale_id,) = self.client.call("sale.sale", "create", [values])
        return int(sale_id)

    def line_values(self, line: Mapping[str, Any]) -> dict[str, Any]:
        quantity = _decimal(line.get("quantity")) or Decimal(1)
        price = _decimal(_amount(line.get("unit_price")))
        values: dict[str, Any] = {"type": "line", "quantity": float(quantity)}
        product_ref = _ref(line.get("product"))
        product = self.records.get("product", product_ref) if product_ref else None
        if product is not None:
            tryton_product = self.product_of(product)
            values["product"] = tryton_product["id"]
            values["unit"] = tryton_product["sale_uom"]
            if price is None:
                price = tryton_product.get("list_price_used")
            values["description"] = _text(line.get("description")) or str(product.get("name") or "")
        else:
            values["description"] = _text(line.get("description")) or "Item"
        discount = _decimal(line.get("discount")) or Decimal(0)
        if price is None:
            raise PermanentError(f"Quote line '{values['description']}' has no unit price.")
        if discount:
            price = price * (Decimal(100) - discount) / Decimal(100)
        values["unit_price"] = Decimal(price).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        return values

    def finish(self, sale_id: int) -> dict[str, Any]:
        fields = ["number", "state", "total_amount", "currency.code", "lines"]
        (sale,) = self.client.read("sale.sale", [sale_id], fields)
        if self.state == "quotation" and sale["state"] == "draft":
            self.client.call("sale.sale", "quote", [sale_id])
            (sale,) = self.client.read("sale.sale", [sale_id], fields)
        return dict(sale)


# -- values of Tessera records (JSON from the record service) ---------------------------------
def _ref(value: Any) -> str | None:
    """A lookup's record id: the id itself, or ``{"id": …}``."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value in (None, "") else str(value)


def _amount(value: Any) -> Any:
    return value.get("amount") if isinstance(value, Mapping) else value


def _currency_code(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return _text(value.get("currency_code") or value.get("currencyCode"))
    return None


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise PermanentError(f"'{value}' is not a number.") from exc
