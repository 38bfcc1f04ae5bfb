"""The Odoo connector: partners and products from Odoo, sales orders from won deals.

Three protocols reach the same ORM methods (``search_read``, ``read``, ``create``…):

- ``jsonrpc`` (the default): ``POST /jsonrpc``, login and password (or an API key in its
  place), Odoo 14 to 21;
- ``xmlrpc``: ``/xmlrpc/2/common`` and ``/xmlrpc/2/object``, the same credentials;
- ``json2``: ``POST /json/2/<model>/<method>`` with ``Authorization: bearer <API key>`` and
  ``X-Odoo-Database``, Odoo 19 and later.

Streams (incremental by ``write_date``, then ``id``; a checkpoint after every page):

- ``companies``: ``res.partner`` with ``is_company`` → ``company``;
- ``contacts``: the other partners → ``person`` (``company`` is the parent's company);
- ``products``: ``product.product`` → ``product``.

Action ``create_sales_order``: a won deal's accepted quote becomes an Odoo sales order
(``docs/connectors/odoo.md``). Failures are the SDK's taxonomy: a refused connection or a
timeout is transient, ``AccessDenied`` an authentication error, HTTP 429 rate limiting,
``UserError``/``ValidationError`` permanent, an unknown database a configuration error.
"""

from __future__ import annotations

import itertools
import json
import re
import xmlrpc.client
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx2 as httpx

from tessera.connectors.sdk import (
    ActionSpec,
    AuthenticationError,
    Checkpoint,
    CheckResult,
    ConfigurationError,
    Connector,
    ConnectorError,
    Lookup,
    Manifest,
    PermanentError,
    RateLimited,
    Record,
    StreamSpec,
    TransientError,
)
from tessera.workflows.http_request import retry_after_seconds

__all__ = ["OdooClient", "OdooConnector", "OdooFault"]

PROTOCOLS = ("jsonrpc", "xmlrpc", "json2")
#: the oldest Odoo the RPC protocols are tested against; JSON-2 came with Odoo 19
MIN_RPC_VERSION = 14
MIN_JSON2_VERSION = 19
PAGE_SIZE = 200
DEFAULT_TIMEOUT = 30.0
USER_AGENT = "tessera-odoo-connector/1.0"
#: the transport statuses worth another attempt (besides 429, which says when)
TRANSIENT_STATUSES = frozenset({408, 502, 503, 504})
#: the ``origin`` ("Source Document") of an order this connector made: the step's idempotency key
ORIGIN_PREFIX = "tessera:"


# -- the wire ----------------------------------------------------------------------------
@dataclass(frozen=True)
class OdooFault:
    """An error Odoo answered, whatever the protocol: the exception's qualified name
    (``odoo.exceptions.ValidationError``), its message, and the HTTP status (JSON-2)."""

    name: str
    message: str
    status: int | None = None

    @property
    def short(self) -> str:
        return self.name.rsplit(".", 1)[-1]


class OdooCallError(Exception):
    def __init__(self, fault: OdooFault) -> None:
        super().__init__(f"{fault.name}: {fault.message}")
        self.fault = fault


_MISSING_DATABASE = re.compile(r'database "([^"]*)" does not exist')
_TRACEBACK_LAST = re.compile(
    r"^([\w.]+(?:Error|Exception|Denied|Warning|Unauthorized|NotFound)): (.*)$", re.M
)


def fault_from_xmlrpc(fault: xmlrpc.client.Fault) -> OdooFault:
    """Odoo's XML-RPC faults carry a code (``odoo/addons/base/controllers/rpc.py``): 3
    ``AccessDenied``, 4 ``AccessError``, 2 a ``UserError`` (its message), 1 anything else
    (the traceback, whose last line names the exception)."""
    text = str(fault.faultString)
    code = fault.faultCode
    lines = text.strip().splitlines()
    if code == 3 or (lines and "odoo.exceptions.AccessDenied" in lines[-1]):
        return OdooFault("odoo.exceptions.AccessDenied", text if code == 3 else "Access Denied")
    if code == 4:
        return OdooFault("odoo.exceptions.AccessError", text)
    if code == 2:
        return OdooFault("odoo.exceptions.UserError", text)
    found = _TRACEBACK_LAST.findall(text)
    if found:
        name, message = found[-1]
        return OdooFault(name, message.strip())
    return OdooFault("builtins.Exception", text.strip().splitlines()[-1] if text.strip() else str(code))


class OdooClient:
    """One connection's calls to Odoo, over the configured protocol.

    :meth:`call` runs one ORM method with named arguments (``ids`` for record methods);
    every failure comes out as a :class:`~tessera.connectors.sdk.ConnectorError`."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        url = str(config.get("url") or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                f"The Odoo URL must start with http:// or https:// (got {url!r}).", path=["url"]
            )
        self.url = url.rstrip("/")
        self.database = str(config.get("database") or "")
        if not self.database:
            raise ConfigurationError("Give the name of the Odoo database.", path=["database"])
        self.protocol = str(config.get("protocol") or "jsonrpc")
        if self.protocol not in PROTOCOLS:
            raise ConfigurationError(
                f"The protocol is one of {', '.join(PROTOCOLS)}, not {self.protocol!r}.", path=["protocol"]
            )
        self.username = str(config.get("username") or "")
        self.api_key = str(config.get("api_key") or "")
        self.password = str(config.get("password") or "") or self.api_key
        if self.protocol == "json2":
            if not self.api_key:
                raise ConfigurationError(
                    "The json2 protocol signs in with an API key: give one.", path=["api_key"]
                )
        else:
            if not self.username:
                raise ConfigurationError("Give the login of the Odoo user.", path=["username"])
            if not self.password:
                raise ConfigurationError(
                    "Give the password (or an API key) of the Odoo user.", path=["password"]
                )
        self.timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
        self.http = httpx.Client(
            timeout=self.timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=True
        )
        self._uid: int | None = None
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> OdooClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport --
    def post(self, path: str, *, content: bytes, headers: Mapping[str, str]) -> httpx.Response:
        try:
            response = self.http.post(self.url + path, content=content, headers=dict(headers))
        except httpx.TimeoutException:
            raise TransientError(
                f"The Odoo server at {self.url} did not answer within {self.timeout:g} seconds."
            ) from None
        except httpx.ConnectError as exc:
            raise TransientError(
                f"Cannot reach the Odoo server at {self.url}: {connect_reason(exc)}."
            ) from None
        except httpx.TransportError as exc:
            raise TransientError(f"The connection to the Odoo server at {self.url} failed: {exc}.") from None
        self.raise_for_transport(response, path)
        return response

    def raise_for_transport(self, response: httpx.Response, path: str) -> None:
        status = response.status_code
        if status == 429:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            wait = f" (it asks to wait {retry_after:g} seconds)" if retry_after is not None else ""
            raise RateLimited(
                f"The Odoo server at {self.url} is limiting the rate of requests{wait}.",
                retry_after=retry_after,
            )
        if status in TRANSIENT_STATUSES or (status >= 500 and not is_json(response)):
            raise TransientError(f"The Odoo server at {self.url} answered HTTP {status} to POST {path}.")

    def not_odoo(self, path: str, response: httpx.Response) -> ConnectorError:
        return ConfigurationError(
            f"The server at {self.url} does not answer as Odoo: "
            f"POST {path} gave HTTP {response.status_code}.",
            path=["url"],
        )

    def xmlrpc(self, service: str, method: str, args: Sequence[Any]) -> Any:
        path = f"/xmlrpc/2/{service}"
        body = xmlrpc.client.dumps(tuple(args), method, allow_none=True).encode()
        response = self.post(path, content=body, headers={"Content-Type": "text/xml"})
        if response.status_code != 200:
            raise self.not_odoo(path, response)
        try:
            result, _ = xmlrpc.client.loads(response.content, use_builtin_types=True)
        except xmlrpc.client.Fault as fault:
            raise OdooCallError(fault_from_xmlrpc(fault)) from None
        except Exception:  # noqa: BLE001 (an answer that is not XML-RPC at all)
            raise self.not_odoo(path, response) from None
        return result[0]

    def jsonrpc(self, service: str, method: str, args: Sequence[Any]) -> Any:
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": next(self._ids),
        }
        response = self.post(
            "/jsonrpc", content=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
        if response.status_code != 200 or not is_json(response):
            raise self.not_odoo("/jsonrpc", response)
        answer = response.json()
        if not isinstance(answer, dict) or ("result" not in answer and "error" not in answer):
            raise self.not_odoo("/jsonrpc", response)
        if "error" in answer:
            error = answer["error"] or {}
            data = error.get("data") or {}
            name = str(data.get("name") or "builtins.Exception")
            message = str(data.get("message") or error.get("message") or "")
            raise OdooCallError(OdooFault(name, message))
        return answer["result"]

    def json2(self, model: str, method: str, params: Mapping[str, Any]) -> Any:
        path = f"/json/2/{model}/{method}"
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"bearer {self.api_key}",
            "X-Odoo-Database": self.database,
        }
        response = self.post(path, content=json.dumps(dict(params)).encode(), headers=headers)
        if response.status_code == 200 and is_json(response):
            return response.json()
        if not is_json(response):
            raise self.not_odoo(path, response)
        body = response.json()
        if not isinstance(body, dict):
            raise OdooCallError(OdooFault("builtins.Exception", str(body), response.status_code))
        name = str(body.get("name") or "builtins.Exception")
        message = str(body.get("message") or "")
        raise OdooCallError(OdooFault(name, message, response.status_code))

    # -- the API --
    def rpc(self, service: str, method: str, *args: Any) -> Any:
        if self.protocol == "xmlrpc":
            return self.xmlrpc(service, method, args)
        return self.jsonrpc(service, method, args)

    def version(self) -> tuple[list[Any], str]:
        """The server's ``version_info`` and series (``"17.0"``)."""
        if self.protocol == "json2":
            try:
                response = self.http.get(self.url + "/web/version")
            except httpx.TimeoutException:
                raise TransientError(
                    f"The Odoo server at {self.url} did not answer within {self.timeout:g} seconds."
                ) from None
            except httpx.ConnectError as exc:
                raise TransientError(
                    f"Cannot reach the Odoo server at {self.url}: {connect_reason(exc)}."
                ) from None
            self.raise_for_transport(response, "/web/version")
            if response.status_code == 404:
                return [], ""
            if response.status_code != 200 or not is_json(response):
                raise ConfigurationError(
                    f"The server at {self.url} does not answer as Odoo: GET /web/version gave HTTP "
                    f"{response.status_code}.",
                    path=["url"],
                )
            data = response.json()
            return list(data.get("version_info") or []), str(data.get("version") or "")
        try:
            data = self.rpc("common", "version")
        except OdooCallError as exc:
            raise self.translate(exc.fault, "version") from None
        return list(data.get("server_version_info") or []), str(data.get("server_serie") or "")

    @property
    def uid(self) -> int:
        """The user's id (``common.authenticate``), asked once per client."""
        if self._uid is None:
            try:
                uid = self.rpc("common", "authenticate", self.database, self.username, self.password, {})
            except OdooCallError as exc:
                raise self.translate(exc.fault, "authenticate") from None
            if not uid:
                raise AuthenticationError(
                    f"Odoo refused the login '{self.username}' with this password or API key "
                    f"on database '{self.database}'.",
                    path=["password"],
                )
            self._uid = int(uid)
        return self._uid

    def call(self, model: str, method: str, *, ids: Sequence[int] | None = None, **params: Any) -> Any:
        """Run ``model.method`` with named arguments (``ids`` for a record method)."""
        try:
            if self.protocol == "json2":
                body = dict(params)
                if ids is not None:
                    body["ids"] = list(ids)
                return self.json2(model, method, body)
            args = [list(ids)] if ids is not None else []
            return self.rpc(
                "object", "execute_kw", self.database, self.uid, self.password, model, method, args, params
            )
        except OdooCallError as exc:
            raise self.translate(exc.fault, f"{model}.{method}") from None

    def translate(self, fault: OdooFault, what: str) -> ConnectorError:
        """An Odoo error as the SDK's taxonomy."""
        short = fault.short
        missing = _MISSING_DATABASE.search(fault.message)
        if missing or (
            self.protocol == "json2" and fault.status == 404 and "URL was not found" in fault.message
        ):
            return ConfigurationError(
                f"The Odoo server at {self.url} has no database '{self.database}'.", path=["database"]
            )
        if short == "AccessDenied":
            return AuthenticationError(
                f"Odoo refused the login '{self.username}' with this password or API key "
                f"on database '{self.database}'.",
                path=["password"],
            )
        if short == "Unauthorized" or fault.status == 401:
            return AuthenticationError(
                f"Odoo refused the API key on database '{self.database}'.", path=["api_key"]
            )
        if short == "AccessError" or fault.status == 403:
            return AuthenticationError(f"The Odoo user may not do this ({what}): {first_line(fault.message)}")
        if short == "OperationalError" or short == "SerializationFailure":
            return TransientError(f"Odoo's database failed during {what}: {first_line(fault.message)}")
        if fault.status == 404:
            return PermanentError(f"This Odoo server has no {what}: {fault.message}")
        if short in ("UserError", "ValidationError", "MissingError", "RedirectWarning"):
            return PermanentError(f"Odoo refused {what}: {fault.message.strip()}")
        return PermanentError(f"Odoo failed on {what}: {fault.name}: {first_line(fault.message)}")


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def is_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("Content-Type", "")


def connect_reason(exc: Exception) -> str:
    text = str(exc)
    if "refused" in text.lower():
        return "the connection was refused"
    if (
        "name or service not known" in text.lower()
        or "nodename" in text.lower()
        or "getaddrinfo" in text.lower()
    ):
        return "its host name does not resolve"
    return text or type(exc).__name__


def version_major(info: Sequence[Any], serie: str) -> int | None:
    if info and isinstance(info[0], int):
        return info[0]
    match = re.match(r"(?:saas~)?(\d+)", serie)
    return int(match.group(1)) if match else None


# -- reading ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    model: str
    domain: tuple[Any, ...]
    fields: tuple[str, ...]
    #: archived records too (``active_test``), so that archiving comes through
    archived: bool = False


SOURCES: dict[str, Source] = {
    "companies": Source(
        "res.partner",
        (("is_company", "=", True),),
        ("name", "email", "phone", "website", "street", "zip", "city", "country_id", "ref", "write_date"),
    ),
    "contacts": Source(
        "res.partner",
        (("is_company", "=", False), ("type", "=", "contact")),
        ("name", "email", "phone", "mobile", "function", "city", "parent_id", "write_date"),
    ),
    "products": Source(
        "product.product",
        (),
        ("name", "default_code", "list_price", "type", "description_sale", "active", "write_date"),
        archived=True,
    ),
}
BOOLEAN_FIELDS = frozenset({"is_company", "active"})
MANY2ONE_FIELDS = frozenset({"parent_id", "country_id"})

_NULLABLE_STRING = {"type": ["string", "null"]}
_MANY2ONE = {
    "type": ["object", "null"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
}
_WRITE_DATE = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"}


def _schema(properties: Mapping[str, Any], required: Sequence[str]) -> dict[str, Any]:
    return {"type": "object", "required": ["id", "write_date", *required], "properties": dict(properties)}


COMPANY_SCHEMA = _schema(
    {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "email": _NULLABLE_STRING,
        "phone": _NULLABLE_STRING,
        "website": _NULLABLE_STRING,
        "street": _NULLABLE_STRING,
        "zip": _NULLABLE_STRING,
        "city": _NULLABLE_STRING,
        "country_id": _MANY2ONE,
        "country_code": _NULLABLE_STRING,
        "ref": _NULLABLE_STRING,
        "write_date": _WRITE_DATE,
    },
    ["name"],
)
CONTACT_SCHEMA = _schema(
    {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "first_name": _NULLABLE_STRING,
        "last_name": {"type": "string"},
        "email": _NULLABLE_STRING,
        "phone": _NULLABLE_STRING,
        "mobile": _NULLABLE_STRING,
        "function": _NULLABLE_STRING,
        "city": _NULLABLE_STRING,
        "parent_id": _MANY2ONE,
        "write_date": _WRITE_DATE,
    },
    ["name", "last_name"],
)
PRODUCT_SCHEMA = _schema(
    {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "default_code": _NULLABLE_STRING,
        "code": {"type": "string"},
        "list_price": {"type": "number"},
        "price": {
            "type": "object",
            "required": ["amount", "currency_code"],
            "properties": {"amount": {"type": "string"}, "currency_code": {"type": "string"}},
        },
        "type": _NULLABLE_STRING,
        "description_sale": _NULLABLE_STRING,
        "active": {"type": "boolean"},
        "write_date": _WRITE_DATE,
    },
    ["name", "code"],
)


def normalise(raw: Mapping[str, Any]) -> dict[str, Any]:
    """An Odoo record as JSON a mapping can point into: ``false`` for "empty" becomes
    ``null`` (booleans excepted), a many2one ``[id, "name"]`` becomes ``{"id", "name"}``."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name in BOOLEAN_FIELDS:
            out[name] = bool(value)
        elif name in MANY2ONE_FIELDS or (
            isinstance(value, list) and len(value) == 2 and isinstance(value[1], str)
        ):
            out[name] = {"id": value[0], "name": value[1]} if value else None
        elif value is False:
            out[name] = None
        else:
            out[name] = value
    return out


def split_name(name: str) -> tuple[str | None, str]:
    """Odoo keeps one name for a contact: the last word is the last name."""
    words = name.split()
    if len(words) < 2:
        return None, name.strip() or name
    return " ".join(words[:-1]), words[-1]


# -- the action ---------------------------------------------------------------------------
def record_id(value: Any) -> str | None:
    """A lookup's value as the record access gives it: an id, or an object with one."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value in (None, "") else str(value)


def amount_of(value: Any) -> Decimal | None:
    if isinstance(value, Mapping):
        value = value.get("amount")
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def odoo_id(value: Any) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


# -- the connector -------------------------------------------------------------------------
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["url", "database"],
    "properties": {
        "url": {
            "type": "string",
            "format": "uri",
            "title": "Odoo URL",
            "description": "The address of the Odoo server (https://mycompany.odoo.com).",
        },
        "database": {"type": "string", "minLength": 1, "title": "Database"},
        "protocol": {
            "enum": list(PROTOCOLS),
            "default": "jsonrpc",
            "description": "jsonrpc (Odoo 14-21), xmlrpc (Odoo 14-21) or json2 (Odoo 19 and later).",
        },
        "username": {
            "type": "string",
            "title": "Login",
            "description": "The Odoo user's login (jsonrpc and xmlrpc).",
        },
        "password": {
            "type": "string",
            "secret": True,
            "description": "The user's password or one of its API keys (jsonrpc and xmlrpc).",
        },
        "api_key": {
            "type": "string",
            "secret": True,
            "description": "An API key of the user (json2; also accepted in place of the password).",
        },
        "currency": {
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "default": "EUR",
            "description": "The currency of Odoo's prices (ISO 4217).",
        },
        "confirm_orders": {
            "type": "boolean",
            "default": False,
            "description": "Confirm the sales orders create_sales_order makes (else they stay quotations).",
        },
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 300, "default": DEFAULT_TIMEOUT},
    },
}

CREATE_SALES_ORDER = ActionSpec(
    name="create_sales_order",
    description=(
        "Create an Odoo sales order from a won deal: its company becomes the customer (found by "
        "odoo_id or by name, else created), the lines of its accepted quote (else its latest open "
        "quote) become the order lines, and the order's id and name are written back to the deal. "
        "A retried step finds the order it made instead of making another."
    ),
    input_schema={
        "type": "object",
        "required": ["deal_id"],
        "additionalProperties": False,
        "properties": {
            "deal_id": {"type": "string", "minLength": 1, "description": "The Tessera id of the deal."},
            "quote_id": {
                "type": "string",
                "description": "The quote whose lines to order (default: see above).",
            },
        },
    },
    output_schema={
        "type": "object",
        "required": ["order_id", "name", "amount_total", "created"],
        "properties": {
            "order_id": {"type": "integer"},
            "name": {"type": "string"},
            "amount_total": {"type": "number"},
            "state": {"type": "string"},
            "partner_id": {"type": "integer"},
            "created": {"type": "boolean", "description": "False when the order existed already."},
        },
    },
)


class OdooConnector(Connector):
    """Odoo partners and products into Tessera; won deals into Odoo sales orders."""

    manifest: ClassVar[Manifest] = Manifest(
        name="odoo",
        version="1.0.0",
        title="Odoo",
        description=(
            "Reads Odoo's companies, contacts and products into the standard CRM and turns won deals "
            "into Odoo sales orders, over JSON-RPC, XML-RPC or the JSON-2 API."
        ),
        config_schema=CONFIG_SCHEMA,
        streams=(
            StreamSpec(
                name="companies",
                description="Odoo partners that are companies (res.partner, is_company).",
                key="id",
                cursor_field="write_date",
                object="company",
                external_id_field="odoo_id",
                fields={
                    "name": "/name",
                    "website": "/website",
                    "phone": "/phone",
                    "city": "/city",
                    "country": "/country_code",
                },
                schema=COMPANY_SCHEMA,
            ),
            StreamSpec(
                name="contacts",
                description="Odoo partners that are people, linked to their company (res.partner).",
                key="id",
                cursor_field="write_date",
                object="person",
                external_id_field="odoo_id",
                fields={
                    "first_name": "/first_name",
                    "last_name": "/last_name",
                    "email": "/email",
                    "phone": "/phone",
                    "mobile": "/mobile",
                    "job_title": "/function",
                    "city": "/city",
                    "company": Lookup(pointer="/parent_id/id", object="company", field="odoo_id"),
                },
                schema=CONTACT_SCHEMA,
            ),
            StreamSpec(
                name="products",
                description="Odoo product variants (product.product).",
                key="id",
                cursor_field="write_date",
                object="product",
                external_id_field="odoo_id",
                fields={
                    "name": "/name",
                    "code": "/code",
                    "unit_price": "/price",
                    "active": "/active",
                    "description": "/description_sale",
                },
                schema=PRODUCT_SCHEMA,
            ),
        ),
        actions=(CREATE_SALES_ORDER,),
        package="package",
        max_retries=5,
    )

    page_size: ClassVar[int] = PAGE_SIZE

    # -- check --
    def check(self, config: Mapping[str, Any]) -> CheckResult:
        try:
            with OdooClient(config) as client:
                return self._check(client)
        except ConnectorError as exc:
            return CheckResult.failed(str(exc), exc.path)

    def _check(self, client: OdooClient) -> CheckResult:
        try:
            info, serie = client.version()
        except ConfigurationError:
            if client.protocol == "json2":
                raise
            # no RPC endpoint: an Odoo that removed it (22 and later) says so at /web/version
            newer = OdooClient({**client.config, "protocol": "json2", "api_key": "-"})
            with newer:
                try:
                    _, newer_serie = newer.version()
                except ConnectorError:
                    newer_serie = ""
            if not newer_serie:
                raise
            return CheckResult.failed(
                f"The Odoo server at {client.url} runs Odoo {newer_serie}, which has no "
                f"{client.protocol} API: choose the 'json2' protocol (with an API key).",
                ["protocol"],
            )
        major = version_major(info, serie)
        if client.protocol == "json2":
            if major is None or major < MIN_JSON2_VERSION:
                runs = f"runs Odoo {serie}" if serie else "has no JSON-2 API"
                return CheckResult.failed(
                    f"The Odoo server at {client.url} {runs}; the JSON-2 API needs Odoo {MIN_JSON2_VERSION} "
                    "or later (choose the 'jsonrpc' or 'xmlrpc' protocol).",
                    ["protocol"],
                )
            context = client.call("res.users", "context_get")
            uid = context.get("uid") if isinstance(context, Mapping) else None
        else:
            if major is not None and major < MIN_RPC_VERSION:
                return CheckResult.failed(
                    f"The Odoo server at {client.url} runs Odoo {serie}; this connector needs Odoo "
                    f"{MIN_RPC_VERSION} or later.",
                    ["url"],
                )
            uid = client.uid
        for source in {s.model for s in SOURCES.values()}:
            client.call(source, "search", domain=[], limit=1)
        who = f" as user {uid}" if uid else ""
        return CheckResult.passed(f"Connected to Odoo {serie} database '{client.database}'{who}.")

    # -- read --
    def read(
        self, config: Mapping[str, Any], stream: str, state: Mapping[str, Any] | None
    ) -> Iterator[Record | Checkpoint]:
        self.manifest.stream(stream)
        source = SOURCES[stream]
        currency = str(config.get("currency") or "EUR")
        last_date = str(state["write_date"]) if state and state.get("write_date") else None
        last_id = int(state.get("id") or 0) if state else 0
        with OdooClient(config) as client:
            while True:
                domain: list[Any] = [list(leaf) for leaf in source.domain]
                if last_date is not None:
                    domain += [
                        "|",
                        ["write_date", ">", last_date],
                        "&",
                        ["write_date", "=", last_date],
                        ["id", ">", last_id],
                    ]
                page = client.call(
                    source.model,
                    "search_read",
                    domain=domain,
                    fields=list(source.fields),
                    limit=self.page_size,
                    order="write_date asc, id asc",
                    context={"active_test": False} if source.archived else {},
                )
                if not page:
                    return
                countries = self._country_codes(client, page) if stream == "companies" else {}
                for raw in page:
                    yield Record(self._shape(stream, normalise(raw), countries, currency))
                last_date, last_id = str(page[-1]["write_date"]), int(page[-1]["id"])
                yield Checkpoint({"write_date": last_date, "id": last_id})
                if len(page) < self.page_size:
                    return

    def _country_codes(self, client: OdooClient, page: Sequence[Mapping[str, Any]]) -> dict[int, str]:
        ids = sorted({int(r["country_id"][0]) for r in page if r.get("country_id")})
        if not ids:
            return {}
        rows = client.call("res.country", "read", ids=ids, fields=["code"])
        return {int(r["id"]): str(r["code"]) for r in rows if r.get("code")}

    @staticmethod
    def _shape(
        stream: str, data: dict[str, Any], countries: Mapping[int, str], currency: str
    ) -> dict[str, Any]:
        if stream == "companies":
            country = data.get("country_id")
            data["country_code"] = countries.get(country["id"]) if country else None
        elif stream == "contacts":
            data["first_name"], data["last_name"] = split_name(str(data.get("name") or ""))
        elif stream == "products":
            price = Decimal(str(data.get("list_price") or 0)).quantize(Decimal("0.01"))
            data["code"] = data.get("default_code") or f"odoo-{data['id']}"
            data["price"] = {"amount": str(price), "currency_code": currency}
        return data

    # -- the action --
    def execute(
        self, config: Mapping[str, Any], action: str, payload: Mapping[str, Any], idempotency_key: str
    ) -> Mapping[str, Any]:
        self.manifest.action(action)
        with OdooClient(config) as client:
            return SalesOrderMaker(self, client, config).make(payload, idempotency_key)


class SalesOrderMaker:
    """``create_sales_order``: one won deal into one Odoo sales order."""

    def __init__(self, connector: OdooConnector, client: OdooClient, config: Mapping[str, Any]) -> None:
        self.records = connector.records
        self.client = client
        self.confirm = bool(config.get("confirm_orders"))

    def make(self, payload: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        deal_id = str(payload["deal_id"])
        deal = self.records.get("deal", deal_id)
        if deal is None:
            raise PermanentError(f"There is no deal {deal_id}.", path=["deal_id"])
        origin = f"{ORIGIN_PREFIX}{idempotency_key}"
        existing = self.existing_order(deal, origin)
        if existing is not None:
            self.write_back(deal_id, existing)
            return self.output(existing, created=False)
        partner_id = self.partner_for(deal)
        lines = self.order_lines(deal, payload.get("quote_id"))
        vals = {
            "partner_id": partner_id,
            "origin": origin,
            "client_order_ref": str(deal.get("number") or deal.get("title") or deal_id),
            "order_line": [[0, 0, line] for line in lines],
        }
        created = self.client.call("sale.order", "create", vals_list=[vals])
        order_id = int(created[0] if isinstance(created, list) else created)
        if self.confirm:
            self.client.call("sale.order", "action_confirm", ids=[order_id])
        order = self.read_order(order_id)
        self.write_back(deal_id, order)
        return self.output(order, created=True)

    def existing_order(self, deal: Mapping[str, Any], origin: str) -> dict[str, Any] | None:
        """The order this deal already has (its ``odoo_order_id``), or the one an earlier
        attempt of this step made (``origin`` is the idempotency key)."""
        known = odoo_id(deal.get("odoo_order_id"))
        if known is not None:
            found = self.client.call("sale.order", "search", domain=[["id", "=", known]], limit=1)
            if found:
                return self.read_order(known)
        found = self.client.call("sale.order", "search", domain=[["origin", "=", origin]], limit=1)
        return self.read_order(int(found[0])) if found else None

    def read_order(self, order_id: int) -> dict[str, Any]:
        rows = self.client.call(
            "sale.order", "read", ids=[order_id], fields=["name", "amount_total", "state", "partner_id"]
        )
        return dict(rows[0])

    def write_back(self, deal_id: str, order: Mapping[str, Any]) -> None:
        self.records.update(
            "deal", deal_id, {"odoo_order_id": str(order["id"]), "odoo_order_name": order["name"]}
        )

    @staticmethod
    def output(order: Mapping[str, Any], *, created: bool) -> dict[str, Any]:
        partner = order.get("partner_id")
        out = {
            "order_id": int(order["id"]),
            "name": str(order["name"]),
            "amount_total": float(order.get("amount_total") or 0),
            "state": str(order.get("state") or ""),
            "created": created,
        }
        if isinstance(partner, list) and partner:
            out["partner_id"] = int(partner[0])
        return out

    def partner_for(self, deal: Mapping[str, Any]) -> int:
        company_id = record_id(deal.get("company"))
        if company_id is None:
            raise PermanentError(
                f"Deal {deal.get('number') or deal.get('id')} has no company: "
                "Odoo needs a customer for the order.",
                path=["deal_id"],
            )
        company = self.records.get("company", company_id)
        if company is None:
            raise PermanentError(f"The deal's company {company_id} cannot be read.", path=["deal_id"])
        known = odoo_id(company.get("odoo_id"))
        if known is not None:
            if self.client.call("res.partner", "search", domain=[["id", "=", known]], limit=1):
                return known
        name = str(company.get("name") or "")
        found = self.client.call(
            "res.partner", "search", domain=[["is_company", "=", True], ["name", "=", name]], limit=1
        )
        if found:
            partner_id = int(found[0])
        else:
            vals = {"name": name, "is_company": True}
            for source, target in (("website", "website"), ("phone", "phone"), ("city", "city")):
                if company.get(source):
                    vals[target] = company[source]
            created = self.client.call("res.partner", "create", vals_list=[vals])
            partner_id = int(created[0] if isinstance(created, list) else created)
        self.records.update("company", company_id, {"odoo_id": str(partner_id)})
        return partner_id

    def quote_for(self, deal: Mapping[str, Any], quote_id: Any) -> Mapping[str, Any]:
        if quote_id:
            quote = self.records.get("quote", str(quote_id))
            if quote is None or record_id(quote.get("deal")) != str(deal["id"]):
                raise PermanentError(f"Quote {quote_id} is not a quote of this deal.", path=["quote_id"])
            return quote
        quotes = self.records.find("quote", {"deal": {"id": {"eq": str(deal["id"])}}})
        accepted = [q for q in quotes if q.get("status") == "accepted"]
        open_quotes = [q for q in quotes if q.get("status") not in ("rejected", "expired")]
        chosen = accepted or open_quotes
        if not chosen:
            raise PermanentError(
                f"Deal {deal.get('number') or deal['id']} has no accepted or open quote: "
                "its lines make the order.",
                path=["deal_id"],
            )
        return chosen[-1]  # oldest first: the latest

    def order_lines(self, deal: Mapping[str, Any], quote_id: Any) -> list[dict[str, Any]]:
        quote = self.quote_for(deal, quote_id)
        lines = self.records.find("quote_line", {"quote": {"id": {"eq": str(quote["id"])}}})
        if not lines:
            raise PermanentError(
                f"Quote {quote.get('number') or quote['id']} has no lines.", path=["deal_id"]
            )
        out = []
        for line in lines:
            vals: dict[str, Any] = {"product_id": self.product_for(line)}
            quantity = amount_of(line.get("quantity"))
            vals["product_uom_qty"] = float(quantity if quantity is not None else 1)
            price = amount_of(line.get("unit_price"))
            if price is not None:
                vals["price_unit"] = float(price)
            discount = amount_of(line.get("discount"))
            if discount:
                vals["discount"] = float(discount)
            if line.get("description"):
                vals["name"] = str(line["description"])
            out.append(vals)
        return out

    def product_for(self, line: Mapping[str, Any]) -> int:
        product_id = record_id(line.get("product"))
        if product_id is None:
            raise PermanentError(
                f"A line of the quote has no product ({line.get('description') or line.get('id')}): "
                "Odoo orders products.",
                path=["deal_id"],
            )
        product = self.records.get("product", product_id)
        if product is None:
            raise PermanentError(f"Product {product_id} cannot be read.", path=["deal_id"])
        known = odoo_id(product.get("odoo_id"))
        if known is not None:
            if self.client.call(
                "product.product",
                "search",
                domain=[["id", "=", known]],
                limit=1,
                context={"active_test": False},
            ):
                return known
        code = product.get("code")
        found = (
            self.client.call("product.product", "search", domain=[["default_code", "=", str(code)]], limit=1)
            if code
            else []
        )
        if not found:
            raise PermanentError(
                f"Product '{product.get('name')}' (code {code}) is not in Odoo: sync the products stream "
                "or create it in Odoo with this internal reference.",
                path=["deal_id"],
            )
        self.records.update("product", product_id, {"odoo_id": str(found[0])})
        return int(found[0])
