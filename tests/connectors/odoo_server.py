"""A local Odoo server for the connector's tests: Odoo's documented external API, in memory.

Odoo cannot be installed from a package registry, so the tests run against this server,
which implements the parts of Odoo's external API the connector uses, with Odoo's wire
formats and error envelopes (Odoo 17/18 for the RPC APIs, Odoo 19 for JSON-2):

- **XML-RPC** (``/xmlrpc/2/common``: ``version``, ``login``, ``authenticate``;
  ``/xmlrpc/2/object``: ``execute_kw``, ``execute``). Errors are ``Fault``\\ s with Odoo's
  integer codes (``odoo/addons/base/controllers/rpc.py``): 1 application error (the
  faultString is the traceback, ending ``<module>.<Exception>: <message>``), 2 warning
  (``UserError``, ``ValidationError``…: the message), 3 ``AccessDenied`` (``Access Denied``),
  4 ``AccessError`` (the message).
- **JSON-RPC** (``POST /jsonrpc``, ``{"jsonrpc": "2.0", "method": "call", "params":
  {"service": "common"|"object", "method": …, "args": […]}}``). Errors are HTTP 200 with
  ``{"error": {"code": 200, "message": "Odoo Server Error", "data": {"name", "message",
  "arguments", "context", "debug"}}}`` (``odoo.http.serialize_exception``).
- **JSON-2** (Odoo 19: ``POST /json/2/<model>/<method>``, ``Authorization: bearer <api
  key>``, ``X-Odoo-Database``; a JSON object of named arguments plus ``ids`` and
  ``context``). Errors are 4xx/5xx with ``{"name", "message", "arguments", "context",
  "debug"}``: 401 for a bad key (``werkzeug.exceptions.Unauthorized: Invalid apikey``),
  404 for an unknown model, method or database, 422 for a bad argument or a
  ``UserError``/``ValidationError``, 403 for an ``AccessError``, 500 otherwise. As in
  Odoo, ``create`` answers a list of ids on JSON-2 and the id of a single dict over RPC.
  ``GET /web/version`` answers ``{"version_info": […], "version": "19.0"}``.

Models: ``res.partner``, ``res.country``, ``res.users`` (``context_get``),
``product.product``, ``sale.order`` (``order_line`` one2many commands, computed
``amount_untaxed``/``amount_total``, ``action_confirm``) and ``sale.order.line``.
Methods: ``search``, ``search_read``, ``search_count``, ``read``, ``create`` (a dict or a
list), ``write``, ``unlink``, ``fields_get``. Domains are Odoo's Polish-notation lists
(``&``, ``|``, ``!``; ``=`` ``!=`` ``>`` ``>=`` ``<`` ``<=`` ``in`` ``not in`` ``like``
``ilike`` ``not like`` ``not ilike`` ``=like`` ``=ilike`` ``=?`` ``child_of``; dotted paths
through many2one fields), with Odoo's implicit ``active = True``. Many2one fields read as
``[id, "display name"]``, empty values as ``false``, datetimes as UTC
``"YYYY-MM-DD HH:MM:SS"``; ``write_date`` changes on every write.

Not implemented: sessions (``/web/session/authenticate``), the ``db`` service, reports,
other models, access rules beyond :meth:`OdooServer.deny`, translations, multi-company.

For tests: :meth:`OdooServer.seed_partner` & co, :meth:`OdooServer.records`,
:meth:`OdooServer.set_time` / :meth:`OdooServer.advance` (the clock ``write_date`` comes
from), :meth:`OdooServer.rate_limit` (HTTP 429 with ``Retry-After`` after N requests),
:meth:`OdooServer.stall` (requests wait until released), :attr:`OdooServer.version_info`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import json
import re
import threading
import xmlrpc.client
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DATABASE = "acme"
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin-password"
ADMIN_API_KEY = "6578616d706c65206a736f6e20617069206b6579"
ADMIN_UID = 2
FORMAT = "%Y-%m-%d %H:%M:%S"


# -- Odoo's exceptions, as the wire shows them --------------------------------------------
class OdooException(Exception):
    """An exception raised inside "Odoo": ``name`` is its qualified Python name."""

    def __init__(self, name: str, message: str, *arguments: Any) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.arguments = list(arguments) if arguments else [message]

    @property
    def rpc_code(self) -> int:
        short = self.name.rsplit(".", 1)[-1]
        if short == "AccessDenied":
            return 3
        if short == "AccessError":
            return 4
        if self.name.startswith("odoo.exceptions."):
            return 2
        return 1

    @property
    def http_status(self) -> int:
        short = self.name.rsplit(".", 1)[-1]
        statuses = {
            "Unauthorized": 401,
            "AccessDenied": 403,
            "AccessError": 403,
            "NotFound": 404,
            "MissingError": 404,
            "UnprocessableEntity": 422,
            "UserError": 422,
            "ValidationError": 422,
        }
        return statuses.get(short, 500)

    @property
    def debug(self) -> str:
        return (
            "Traceback (most recent call last):\n"
            '  File "/opt/odoo/odoo/http.py", line 1784, in _serve_db\n'
            "    return service_model.retrying(self._serve_ir_http, self.env)\n"
            '  File "/opt/odoo/odoo/service/model.py", line 133, in retrying\n'
            "    result = func()\n"
            f"{self.name}: {self.message}\n"
        )

    def serialize(self) -> dict[str, Any]:
        """``odoo.http.serialize_exception``."""
        return {
            "name": self.name,
            "message": self.message,
            "arguments": self.arguments,
            "context": {},
            "debug": "" if self.name.endswith("AccessDenied") else self.debug,
        }


def user_error(message: str) -> OdooException:
    return OdooException("odoo.exceptions.UserError", message)


def validation_error(message: str) -> OdooException:
    return OdooException("odoo.exceptions.ValidationError", message)


def access_denied() -> OdooException:
    return OdooException("odoo.exceptions.AccessDenied", "Access Denied")


def access_error(message: str) -> OdooException:
    return OdooException("odoo.exceptions.AccessError", message)


def missing_error(model: str, ids: list[int], uid: int) -> OdooException:
    message = (
        "Record does not exist or has been deleted.\n"
        f"(Record: {model}({', '.join(str(i) for i in ids)},), User: {uid})"
    )
    return OdooException("odoo.exceptions.MissingError", message)


def value_error(message: str) -> OdooException:
    return OdooException("builtins.ValueError", message)


def type_error(message: str) -> OdooException:
    return OdooException("builtins.TypeError", message)


def unknown_database(db: str) -> OdooException:
    return OdooException(
        "psycopg2.OperationalError",
        f'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: '
        f'FATAL:  database "{db}" does not exist\n',
    )


def http_error(name: str, code: int, description: str) -> OdooException:
    return OdooException(f"werkzeug.exceptions.{name}", description, description, code)


# -- the data model ----------------------------------------------------------------------
@dataclass
class Field:
    type: str
    string: str
    relation: str | None = None
    inverse: str | None = None
    required: bool = False
    readonly: bool = False
    compute: Callable[[Database, dict[str, Any]], Any] | None = None
    selection: list[tuple[str, str]] | None = None
    default: Any = False


@dataclass
class Model:
    name: str
    description: str
    fields: dict[str, Field]
    order: str = "id"
    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1


def _partner_display(db: Database, rec: dict[str, Any]) -> str:
    name = rec.get("name") or ""
    parent = rec.get("parent_id")
    if parent and not rec.get("is_company"):
        parent_rec = db.models["res.partner"].records.get(parent)
        if parent_rec:
            return f"{parent_rec['name']}, {name}"
    return str(name)


def _product_display(db: Database, rec: dict[str, Any]) -> str:
    return f"[{rec['default_code']}] {rec['name']}" if rec.get("default_code") else str(rec.get("name") or "")


def _line_subtotal(db: Database, rec: dict[str, Any]) -> float:
    qty = float(rec.get("product_uom_qty") or 0)
    price = float(rec.get("price_unit") or 0)
    discount = float(rec.get("discount") or 0)
    return round(qty * price * (1 - discount / 100), 2)


def _order_untaxed(db: Database, rec: dict[str, Any]) -> float:
    lines = db.models["sale.order.line"].records.values()
    return round(sum(_line_subtotal(db, line) for line in lines if line["order_id"] == rec["id"]), 2)


def _order_total(db: Database, rec: dict[str, Any]) -> float:
    return round(_order_untaxed(db, rec) * (1 + db.tax_rate), 2)


def _display(db: Database, rec: dict[str, Any]) -> str:
    return str(rec.get("name") or "")


def _common_fields(display: Callable[[Database, dict[str, Any]], Any] = _display) -> dict[str, Field]:
    return {
        "id": Field("integer", "ID", readonly=True),
        "display_name": Field("char", "Display Name", readonly=True, compute=display),
        "create_date": Field("datetime", "Created on", readonly=True),
        "write_date": Field("datetime", "Last Updated on", readonly=True),
    }


def build_models() -> dict[str, Model]:
    partner = Model(
        "res.partner",
        "Contact",
        {
            **_common_fields(_partner_display),
            "name": Field("char", "Name"),
            "is_company": Field("boolean", "Is a Company"),
            "parent_id": Field("many2one", "Related Company", relation="res.partner"),
            "child_ids": Field("one2many", "Contact", relation="res.partner", inverse="parent_id"),
            "email": Field("char", "Email"),
            "phone": Field("char", "Phone"),
            "mobile": Field("char", "Mobile"),
            "function": Field("char", "Job Position"),
            "website": Field("char", "Website Link"),
            "street": Field("char", "Street"),
            "zip": Field("char", "Zip"),
            "city": Field("char", "City"),
            "country_id": Field("many2one", "Country", relation="res.country"),
            "type": Field(
                "selection",
                "Address Type",
                selection=[
                    ("contact", "Contact"),
                    ("invoice", "Invoice Address"),
                    ("delivery", "Delivery Address"),
                    ("other", "Other Address"),
                ],
                default="contact",
            ),
            "ref": Field("char", "Reference"),
            "comment": Field("html", "Notes"),
            "active": Field("boolean", "Active", default=True),
        },
        order="complete_name asc, id desc",
    )
    country = Model(
        "res.country",
        "Country",
        {
            **_common_fields(),
            "name": Field("char", "Country Name", required=True),
            "code": Field("char", "Country Code"),
        },
        order="name",
    )
    users = Model(
        "res.users",
        "User",
        {**_common_fields(), "name": Field("char", "Name"), "login": Field("char", "Login", required=True)},
    )
    product = Model(
        "product.product",
        "Product Variant",
        {
            **_common_fields(_product_display),
            "name": Field("char", "Name", required=True),
            "default_code": Field("char", "Internal Reference"),
            "list_price": Field("float", "Sales Price", default=1.0),
            "type": Field(
                "selection",
                "Product Type",
                selection=[("consu", "Goods"), ("service", "Service"), ("combo", "Combo")],
                default="consu",
            ),
            "description_sale": Field("text", "Sales Description"),
            "active": Field("boolean", "Active", default=True),
        },
        order="default_code, name, id",
    )
    order = Model(
        "sale.order",
        "Sales Order",
        {
            **_common_fields(),
            "name": Field("char", "Order Reference", readonly=True),
            "partner_id": Field("many2one", "Customer", relation="res.partner", required=True),
            "state": Field(
                "selection",
                "Status",
                selection=[
                    ("draft", "Quotation"),
                    ("sent", "Quotation Sent"),
                    ("sale", "Sales Order"),
                    ("cancel", "Cancelled"),
                ],
                default="draft",
            ),
            "date_order": Field("datetime", "Order Date"),
            "client_order_ref": Field("char", "Customer Reference"),
            "origin": Field("char", "Source Document"),
            "note": Field("html", "Terms and conditions"),
            "order_line": Field("one2many", "Order Lines", relation="sale.order.line", inverse="order_id"),
            "amount_untaxed": Field("monetary", "Untaxed Amount", readonly=True, compute=_order_untaxed),
            "amount_total": Field("monetary", "Total", readonly=True, compute=_order_total),
        },
        order="date_order desc, id desc",
    )
    line = Model(
        "sale.order.line",
        "Sales Order Line",
        {
            **_common_fields(),
            "order_id": Field("many2one", "Order Reference", relation="sale.order", required=True),
            "product_id": Field("many2one", "Product", relation="product.product"),
            "name": Field("text", "Description"),
            "product_uom_qty": Field("float", "Quantity", default=1.0),
            "price_unit": Field("float", "Unit Price"),
            "discount": Field("float", "Discount (%)", default=0.0),
            "price_subtotal": Field("monetary", "Subtotal", readonly=True, compute=_line_subtotal),
        },
        order="order_id, id",
    )
    return {m.name: m for m in (partner, country, users, product, order, line)}


@dataclass
class User:
    uid: int
    login: str
    password: str
    api_keys: set[str]
    denied: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Env:
    db: Database
    user: User
    context: Mapping[str, Any]


# -- the ORM -----------------------------------------------------------------------------
class Database:
    def __init__(self, name: str, clock: Callable[[], dt.datetime]) -> None:
        self.name = name
        self.clock = clock
        self.models = build_models()
        self.tax_rate = 0.0
        self.order_sequence = 0
        self.lock = threading.RLock()
        self.users: dict[str, User] = {
            ADMIN_LOGIN: User(ADMIN_UID, ADMIN_LOGIN, ADMIN_PASSWORD, {ADMIN_API_KEY}),
        }
        self.models["res.users"].records[ADMIN_UID] = {
            "id": ADMIN_UID,
            "name": "Mitchell Admin",
            "login": ADMIN_LOGIN,
            "create_date": self.now(),
            "write_date": self.now(),
        }
        self.models["res.users"].next_id = 3
        for name, code in (("Belgium", "BE"), ("France", "FR"), ("Germany", "DE"), ("United States", "US")):
            self.insert("res.country", {"name": name, "code": code})

    def now(self) -> str:
        return self.clock().astimezone(dt.UTC).strftime(FORMAT)

    def model(self, name: str) -> Model:
        try:
            return self.models[name]
        except KeyError:
            raise user_error(f"Object {name} doesn't exist") from None

    # -- raw writes (the tests' seeding goes through these too) --
    def insert(self, model_name: str, vals: Mapping[str, Any]) -> int:
        model = self.model(model_name)
        for name in vals:
            if name not in model.fields:
                raise value_error(f"Invalid field {name!r} on model {model_name!r}")
        rec: dict[str, Any] = {}
        commands: dict[str, Any] = {}
        for name, fld in model.fields.items():
            if fld.compute or name in ("id", "create_date", "write_date") or fld.type == "one2many":
                continue
            rec[name] = fld.default
        for name, value in vals.items():
            fld = model.fields[name]
            if fld.type == "one2many":
                commands[name] = value
            elif not fld.compute and name not in ("id", "display_name"):
                rec[name] = self.convert(model, name, value)
        if model_name == "sale.order":
            self.order_sequence += 1
            rec["name"] = f"S{self.order_sequence:05d}"
            rec["date_order"] = rec.get("date_order") or self.now()
        if model_name == "sale.order.line":
            self.line_defaults(rec)
        for name, fld in model.fields.items():
            if fld.required and rec.get(name) in (False, None, ""):
                raise validation_error(
                    "The operation cannot be completed:\n"
                    f"- Create/update: a mandatory field is not set.\n"
                    f"- Delete: another model requires the record being deleted. If possible, archive it instead.\n\n"
                    f"Model: {model.description} ({model_name})\nField: {fld.string} ({name})"
                )
        rec_id = model.next_id
        model.next_id += 1
        rec["id"] = rec_id
        rec["create_date"] = rec["write_date"] = self.now()
        model.records[rec_id] = rec
        for name, value in commands.items():
            self.apply_commands(model, rec, name, value)
        return rec_id

    def line_defaults(self, rec: dict[str, Any]) -> None:
        product = self.models["product.product"].records.get(rec.get("product_id") or 0)
        if product:
            if rec.get("price_unit") in (False, None):
                rec["price_unit"] = product["list_price"]
            if not rec.get("name"):
                rec["name"] = _product_display(self, product)
        if rec.get("price_unit") in (False, None):
            rec["price_unit"] = 0.0

    def update(self, model_name: str, ids: list[int], vals: Mapping[str, Any]) -> None:
        model = self.model(model_name)
        for name in vals:
            if name not in model.fields:
                raise value_error(f"Invalid field {name!r} on model {model_name!r}")
        missing = [i for i in ids if i not in model.records]
        if missing:
            raise missing_error(model_name, missing, ADMIN_UID)
        for rec_id in ids:
            rec = model.records[rec_id]
            for name, value in vals.items():
                fld = model.fields[name]
                if fld.type == "one2many":
                    self.apply_commands(model, rec, name, value)
                elif not fld.compute and name not in ("id", "display_name", "create_date", "write_date"):
                    rec[name] = self.convert(model, name, value)
                    if fld.required and rec[name] in (False, None, ""):
                        raise validation_error(
                            f"The operation cannot be completed: a mandatory field is not set.\n"
                            f"Model: {model.description} ({model_name})\nField: {fld.string} ({name})"
                        )
            rec["write_date"] = self.now()

    def convert(self, model: Model, name: str, value: Any) -> Any:
        fld = model.fields[name]
        if value is None:
            return False
        if fld.type == "many2one":
            if value is False:
                return False
            if isinstance(value, list | tuple) and value:
                value = value[0]
            if not isinstance(value, int) or isinstance(value, bool):
                raise value_error(f"Wrong value for {model.name}.{name}: {value!r}")
            assert fld.relation is not None
            if value not in self.models[fld.relation].records:
                raise validation_error(
                    "The operation cannot be completed: the record you are trying to link to "
                    f"({fld.relation}({value},)) does not exist.\nModel: {model.description} ({model.name}), "
                    f"Field: {fld.string} ({name})"
                )
            return value
        if fld.type == "selection":
            assert fld.selection is not None
            if value is not False and value not in [key for key, _ in fld.selection]:
                raise value_error(f"Wrong value for {model.name}.{name}: {value!r}")
            return value
        if fld.type in ("float", "monetary"):
            if value is False:
                return 0.0
            try:
                return float(value)
            except (TypeError, ValueError):
                raise value_error(f"could not convert string to float: {value!r}") from None
        if fld.type == "boolean":
            return bool(value)
        if fld.type == "integer":
            return int(value)
        return value if value != "" else False

    def apply_commands(self, model: Model, rec: dict[str, Any], name: str, commands: Any) -> None:
        fld = model.fields[name]
        assert fld.relation is not None and fld.inverse is not None
        target = self.models[fld.relation]
        if not isinstance(commands, list):
            raise value_error(f"Wrong value for {model.name}.{name}: {commands!r}")
        for command in commands:
            if not isinstance(command, list | tuple) or not command:
                raise value_error(f"Wrong value for {model.name}.{name}: {command!r}")
            op = command[0]
            if op == 0:
                self.insert(fld.relation, {**command[2], fld.inverse: rec["id"]})
            elif op == 1:
                self.update(fld.relation, [command[1]], command[2])
            elif op in (2, 3):
                target.records.pop(command[1], None)
            elif op == 4:
                self.update(fld.relation, [command[1]], {fld.inverse: rec["id"]})
            elif op == 5:
                for other in [r for r in target.records.values() if r[fld.inverse] == rec["id"]]:
                    target.records.pop(other["id"])
            elif op == 6:
                for other in [r for r in target.records.values() if r[fld.inverse] == rec["id"]]:
                    if other["id"] not in command[2]:
                        target.records.pop(other["id"])
                for other_id in command[2]:
                    self.update(fld.relation, [other_id], {fld.inverse: rec["id"]})
            else:
                raise value_error(f"Unknown command {op!r} for {model.name}.{name}")

    # -- reading --
    def value(self, model: Model, rec: dict[str, Any], name: str) -> Any:
        fld = model.fields[name]
        if fld.compute is not None:
            return fld.compute(self, rec)
        if fld.type == "one2many":
            assert fld.relation is not None
            target = self.models[fld.relation].records.values()
            return sorted(r["id"] for r in target if r.get(fld.inverse) == rec["id"])
        return rec.get(name, False)

    def display_name(self, model_name: str, rec_id: int) -> str:
        model = self.models[model_name]
        return str(self.value(model, model.records[rec_id], "display_name"))

    def read_record(
        self, model: Model, rec: dict[str, Any], fields: list[str] | None, load: Any
    ) -> dict[str, Any]:
        names = fields or [n for n in model.fields if n != "id"]
        out: dict[str, Any] = {"id": rec["id"]}
        for name in names:
            if name not in model.fields:
                raise value_error(f"Invalid field {name!r} on model {model.name!r}")
            value = self.value(model, rec, name)
            fld = model.fields[name]
            if fld.type == "many2one" and value and load == "_classic_read":
                assert fld.relation is not None
                value = [value, self.display_name(fld.relation, value)]
            out[name] = False if value is None else value
        return out

    # -- domains --
    def matcher(
        self, model: Model, domain: Any, context: Mapping[str, Any]
    ) -> Callable[[dict[str, Any]], bool]:
        if not isinstance(domain, list | tuple):
            raise value_error(f"Invalid domain: {domain!r}")
        domain = list(domain)
        mentions_active = any(isinstance(t, list | tuple) and t and t[0] == "active" for t in domain)
        if "active" in model.fields and not mentions_active and context.get("active_test", True):
            domain = ["&", ("active", "=", True), *domain] if domain else [("active", "=", True)]
        position = 0

        def parse() -> Callable[[dict[str, Any]], bool]:
            nonlocal position
            if position >= len(domain):
                raise value_error(f"Invalid domain: {domain!r}")
            token = domain[position]
            position += 1
            if token == "!":
                inner = parse()
                return lambda rec: not inner(rec)
            if token in ("&", "|"):
                left = parse()
                right = parse()
                if token == "&":
                    return lambda rec: left(rec) and right(rec)
                return lambda rec: left(rec) or right(rec)
            return self.leaf(model, token)

        parts = []
        while position < len(domain):
            parts.append(parse())
        return lambda rec: all(part(rec) for part in parts)

    def leaf(self, model: Model, token: Any) -> Callable[[dict[str, Any]], bool]:
        if not isinstance(token, list | tuple) or len(token) != 3:
            raise value_error(f"Invalid leaf {token!r}")
        path, operator, operand = token
        if path in (0, 1) and operator == "=" and operand == 1:
            return (lambda rec: True) if path == 1 else (lambda rec: False)
        if not isinstance(path, str):
            raise value_error(f"Invalid leaf {token!r}")
        operators = (
            "=",
            "!=",
            "<>",
            ">",
            ">=",
            "<",
            "<=",
            "in",
            "not in",
            "like",
            "ilike",
            "not like",
            "not ilike",
            "=like",
            "=ilike",
            "=?",
            "child_of",
            "parent_of",
        )
        if operator not in operators:
            raise value_error(f"Invalid leaf {token!r}")
        first, _, rest = path.partition(".")
        if first not in model.fields:
            raise value_error(f"Invalid field {model.name}.{first} in leaf {tuple(token)!r}")
        fld = model.fields[first]
        if rest:
            if fld.type != "many2one":
                raise value_error(f"Invalid field {model.name}.{path} in leaf {tuple(token)!r}")
            assert fld.relation is not None
            target = self.models[fld.relation]
            inner = self.leaf(target, [rest, operator, operand])

            def through(rec: dict[str, Any]) -> bool:
                linked = target.records.get(rec.get(first) or 0)
                return linked is not None and inner(linked)

            return through
        if operator == "child_of":
            roots = set(operand if isinstance(operand, list | tuple) else [operand])

            def child_of(rec: dict[str, Any]) -> bool:
                current: dict[str, Any] | None = rec
                seen: set[int] = set()
                start_value = rec["id"] if first == "id" else rec.get(first)
                current = model.records.get(start_value) if start_value else None
                while current is not None and current["id"] not in seen:
                    if current["id"] in roots:
                        return True
                    seen.add(current["id"])
                    current = model.records.get(current.get("parent_id") or 0)
                return False

            return child_of

        def compare(rec: dict[str, Any]) -> bool:
            value = self.value(model, rec, first)
            return compare_values(fld, value, operator, operand, self)

        return compare

    def search_ids(
        self,
        model: Model,
        domain: Any,
        context: Mapping[str, Any],
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[int]:
        match = self.matcher(model, domain or [], context)
        found = [rec for rec in model.records.values() if match(rec)]
        for name, descending in reversed(parse_order(model, order or model.order)):
            found.sort(key=lambda rec, n=name: sort_key(self.value(model, rec, n)), reverse=descending)
        ids = [rec["id"] for rec in found]
        ids = ids[offset or 0 :]
        return ids[:limit] if limit else ids


def parse_order(model: Model, order: str) -> list[tuple[str, bool]]:
    out = []
    for part in order.split(","):
        words = part.strip().split()
        if not words:
            continue
        name = "display_name" if words[0] == "complete_name" else words[0]
        if (
            name not in model.fields
            or len(words) > 2
            or (len(words) == 2 and words[1].lower() not in ("asc", "desc"))
        ):
            raise value_error(
                f'Invalid "order" specified ({order}). A valid "order" specification is a '
                "comma-separated list of valid field names (optionally followed by asc/desc "
                "for the direction)"
            )
        out.append((name, len(words) == 2 and words[1].lower() == "desc"))
    return out


def sort_key(value: Any) -> tuple[int, Any]:
    if value is False or value is None:
        return (1, "")  # NULLS LAST, as PostgreSQL sorts ascending
    if isinstance(value, list):
        value = value[0]
    if isinstance(value, str):
        return (0, value.lower())
    return (0, value)


def like_regex(pattern: str, anchored: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(body if anchored else f".*{body}.*", re.DOTALL)


def compare_values(fld: Field, value: Any, operator: str, operand: Any, db: Database) -> bool:
    if operator == "=?":
        if operand is False or operand is None:
            return True
        operator = "="
    if operator == "<>":
        operator = "!="
    if fld.type == "many2one" and isinstance(operand, str) and operator in ("=", "!=", "like", "ilike"):
        assert fld.relation is not None
        name = db.display_name(fld.relation, value) if value else ""
        hit = operand.lower() in name.lower() if operator in ("like", "ilike") else operand == name
        return hit if operator != "!=" else not hit
    if fld.type == "many2one" and isinstance(operand, list | tuple) and operator in ("=", "!="):
        operator = "in" if operator == "=" else "not in"
    empty = value is False or value is None
    if operator == "=":
        if operand is False or operand is None:
            return empty
        return not empty and value == operand
    if operator == "!=":
        if operand is False or operand is None:
            return not empty
        return empty or value != operand
    if operator in ("in", "not in"):
        values = list(operand) if isinstance(operand, list | tuple) else [operand]
        hit = (empty and (False in values or None in values)) or (not empty and value in values)
        return hit if operator == "in" else not hit
    if operator in (">", ">=", "<", "<="):
        if empty or operand is False or operand is None:
            return False
        try:
            if operator == ">":
                return bool(value > operand)
            if operator == ">=":
                return bool(value >= operand)
            if operator == "<":
                return bool(value < operand)
            return bool(value <= operand)
        except TypeError:
            raise value_error(f"Invalid comparison {value!r} {operator} {operand!r}") from None
    # like, ilike and their variants
    negate = operator.startswith("not ")
    base = operator.removeprefix("not ")
    anchored = base.startswith("=")
    insensitive = base.endswith("ilike")
    text = "" if empty else str(value)
    pattern = str(operand)
    if insensitive:
        text, pattern = text.lower(), pattern.lower()
    hit = not empty and bool(like_regex(pattern, anchored).fullmatch(text))
    return not hit if negate else hit


# -- the methods the API exposes -------------------------------------------------------------
OPERATIONS = {
    "search": "read",
    "search_read": "read",
    "search_count": "read",
    "read": "read",
    "fields_get": "read",
    "create": "create",
    "write": "write",
    "unlink": "unlink",
    "action_confirm": "write",
    "context_get": "read",
}


class Methods:
    """The public model methods. Record methods take ``ids`` first; the rest are ``@api.model``."""

    api_model = frozenset({"search", "search_read", "search_count", "create", "fields_get", "context_get"})

    @staticmethod
    def search(
        env: Env,
        model: Model,
        domain: Any,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[int]:
        return env.db.search_ids(model, domain, env.context, offset, limit, order)

    @staticmethod
    def search_count(env: Env, model: Model, domain: Any, limit: int | None = None) -> int:
        return len(env.db.search_ids(model, domain, env.context, 0, limit))

    @staticmethod
    def search_read(
        env: Env,
        model: Model,
        domain: Any = None,
        fields: list[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        load: Any = "_classic_read",
    ) -> list[dict[str, Any]]:
        ids = env.db.search_ids(model, domain or [], env.context, offset, limit, order)
        return [env.db.read_record(model, model.records[i], fields, load) for i in ids]

    @staticmethod
    def read(
        env: Env, model: Model, ids: list[int], fields: list[str] | None = None, load: Any = "_classic_read"
    ) -> list[dict[str, Any]]:
        missing = [i for i in ids if i not in model.records]
        if missing:
            raise missing_error(model.name, missing, env.user.uid)
        return [env.db.read_record(model, model.records[i], fields, load) for i in ids]

    @staticmethod
    def create(env: Env, model: Model, vals_list: Any) -> Any:
        if isinstance(vals_list, Mapping):
            return [env.db.insert(model.name, vals_list)]
        if not isinstance(vals_list, list) or not all(isinstance(v, Mapping) for v in vals_list):
            raise type_error(f"create() expects a dict or a list of dicts, not {vals_list!r}")
        return [env.db.insert(model.name, vals) for vals in vals_list]

    @staticmethod
    def write(env: Env, model: Model, ids: list[int], vals: Mapping[str, Any]) -> bool:
        env.db.update(model.name, ids, vals)
        return True

    @staticmethod
    def unlink(env: Env, model: Model, ids: list[int]) -> bool:
        missing = [i for i in ids if i not in model.records]
        if missing:
            raise missing_error(model.name, missing, env.user.uid)
        for rec_id in ids:
            model.records.pop(rec_id)
        return True

    @staticmethod
    def fields_get(
        env: Env, model: Model, allfields: list[str] | None = None, attributes: list[str] | None = None
    ) -> dict[str, Any]:
        out = {}
        for name, fld in model.fields.items():
            if allfields and name not in allfields:
                continue
            desc: dict[str, Any] = {
                "type": fld.type,
                "string": fld.string,
                "required": fld.required,
                "readonly": fld.readonly or fld.compute is not None,
                "store": fld.compute is None,
                "searchable": True,
                "sortable": fld.type != "one2many",
            }
            if fld.relation:
                desc["relation"] = fld.relation
            if fld.inverse:
                desc["relation_field"] = fld.inverse
            if fld.selection:
                desc["selection"] = [list(pair) for pair in fld.selection]
            out[name] = {k: v for k, v in desc.items() if not attributes or k in attributes}
        return out

    @staticmethod
    def action_confirm(env: Env, model: Model, ids: list[int]) -> bool:
        if model.name != "sale.order":
            raise OdooException(
                "builtins.AttributeError", f"The method '{model.name}.action_confirm' does not exist"
            )
        for rec_id in ids:
            if model.records[rec_id]["state"] not in ("draft", "sent"):
                raise user_error("Some orders are not in a state requiring confirmation.")
        env.db.update(model.name, ids, {"state": "sale"})
        return True

    @staticmethod
    def context_get(env: Env, model: Model) -> dict[str, Any]:
        if model.name != "res.users":
            raise OdooException(
                "builtins.AttributeError", f"The method '{model.name}.context_get' does not exist"
            )
        return {"lang": "en_US", "tz": "Europe/Brussels", "uid": env.user.uid}


def method_of(model: Model, name: str) -> Callable[..., Any]:
    func = getattr(Methods, name, None) if not name.startswith("_") else None
    if func is None or name not in OPERATIONS:
        raise OdooException("builtins.AttributeError", f"The method '{model.name}.{name}' does not exist")
    wrong_model = {"action_confirm": "sale.order", "context_get": "res.users"}.get(name, model.name)
    if wrong_model != model.name:
        raise OdooException("builtins.AttributeError", f"The method '{model.name}.{name}' does not exist")
    return func


# -- the server --------------------------------------------------------------------------
class OdooServer:
    """An Odoo server on 127.0.0.1 (ephemeral port), in a background thread."""

    def __init__(self, database: str = DATABASE, version: tuple[int, int] = (19, 0)) -> None:
        self.now = dt.datetime(2025, 1, 6, 9, 0, 0, tzinfo=dt.UTC)
        self.db = Database(database, lambda: self.now)
        self.version_info: list[Any] = [version[0], version[1], 0, "final", 0, ""]
        self.requests: list[str] = []
        self._rate_budget: int | None = None
        self._retry_after = 30
        self._stalled = threading.Event()
        self._stalled.set()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="odoo-test-server",
            daemon=True,
        )

    # -- lifecycle --
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> OdooServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stalled.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> OdooServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test helpers --
    def set_time(self, value: str | dt.datetime) -> None:
        if isinstance(value, str):
            value = dt.datetime.strptime(value, FORMAT).replace(tzinfo=dt.UTC)
        self.now = value

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)

    def rate_limit(self, after: int | None, retry_after: int = 30) -> None:
        """Answer 429 (with ``Retry-After``) to every request after the next ``after``; ``None`` lifts it."""
        self._rate_budget = after
        self._retry_after = retry_after

    @contextlib.contextmanager
    def stall(self) -> Iterator[None]:
        """Requests wait (up to 10 s) until the block ends: for client timeouts."""
        self._stalled.clear()
        try:
            yield
        finally:
            self._stalled.set()

    def add_user(self, login: str, password: str, api_key: str | None = None) -> int:
        with self.db.lock:
            uid = self.db.insert("res.users", {"name": login.title(), "login": login})
            self.db.users[login] = User(uid, login, password, {api_key} if api_key else set())
            return uid

    def deny(self, login: str, model: str, operation: str) -> None:
        """Refuse ``operation`` (read, write, create, unlink) on ``model`` to a user (an AccessError)."""
        self.db.users[login].denied.add((model, operation))

    def create(self, model: str, vals: Mapping[str, Any]) -> int:
        with self.db.lock:
            return self.db.insert(model, vals)

    def write(self, model: str, record_id: int, vals: Mapping[str, Any]) -> None:
        with self.db.lock:
            self.db.update(model, [record_id], vals)

    def seed_partner(self, name: str, *, is_company: bool = True, **vals: Any) -> int:
        return self.create("res.partner", {"name": name, "is_company": is_company, **vals})

    def seed_product(self, name: str, code: str | None = None, price: float = 1.0, **vals: Any) -> int:
        return self.create(
            "product.product", {"name": name, "default_code": code or False, "list_price": price, **vals}
        )

    def country(self, code: str) -> int:
        return next(r["id"] for r in self.db.models["res.country"].records.values() if r["code"] == code)

    def records(self, model: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
        """Every record of a model (archived too), as ``read`` gives them, by id."""
        with self.db.lock:
            m = self.db.models[model]
            return [self.db.read_record(m, m.records[i], fields, "_classic_read") for i in sorted(m.records)]

    def orders(self) -> list[dict[str, Any]]:
        """The sales orders, each with its lines read in ``lines``."""
        out = self.records("sale.order")
        lines = self.records("sale.order.line")
        for order in out:
            order["lines"] = [line for line in lines if line["order_id"][0] == order["id"]]
        return out

    # -- dispatch --
    def authenticate(self, db: str, login: str, password: str) -> int | bool:
        if db != self.db.name:
            raise unknown_database(db)
        user = self.db.users.get(login)
        if user is None or (password != user.password and password not in user.api_keys):
            return False
        return user.uid

    def user_by_uid(self, db: str, uid: Any, password: str) -> User:
        if db != self.db.name:
            raise unknown_database(db)
        for user in self.db.users.values():
            if user.uid == uid and (password == user.password or password in user.api_keys):
                return user
        raise access_denied()

    def common(self, method: str, args: list[Any]) -> Any:
        if method == "version":
            return self.version()
        if method == "login":
            db, login, password = args
            return self.authenticate(db, login, password)
        if method == "authenticate":
            db, login, password, _env = args
            return self.authenticate(db, login, password)
        raise OdooException("builtins.NameError", f"Method not available {method}")

    def version(self) -> dict[str, Any]:
        serie = f"{self.version_info[0]}.{self.version_info[1]}"
        return {
            "server_version": serie,
            "server_version_info": self.version_info,
            "server_serie": serie,
            "protocol_version": 1,
        }

    def object(self, method: str, args: list[Any]) -> Any:
        if method == "execute_kw":
            if len(args) < 6:
                raise type_error("execute_kw() missing required positional arguments")
            db, uid, password, model, name, call_args, *rest = args
            kwargs = dict(rest[0]) if rest else {}
        elif method == "execute":
            db, uid, password, model, name, *call_args = args
            kwargs = {}
        else:
            raise OdooException("builtins.NameError", f"Method not available {method}")
        user = self.user_by_uid(db, uid, password)
        context = kwargs.pop("context", None) or {}
        return self.call(user, model, name, list(call_args), kwargs, context, rpc=True)

    def call(
        self,
        user: User,
        model_name: str,
        name: str,
        args: list[Any],
        kwargs: dict[str, Any],
        context: Mapping[str, Any],
        *,
        rpc: bool,
    ) -> Any:
        with self.db.lock:
            model = self.db.model(model_name)
            func = method_of(model, name)
            if (model_name, OPERATIONS[name]) in user.denied:
                raise access_error(
                    f"You are not allowed to {'access' if OPERATIONS[name] == 'read' else OPERATIONS[name]} "
                    f"'{model.description}' ({model_name}) records.\n\n"
                    f"This operation is allowed for the following groups:\n\t- Sales/User: Own Documents Only\n\n"
                    f"Contact your administrator to request access if necessary."
                )
            env = Env(self.db, user, context)
            try:
                inspect.signature(func).bind(env, model, *args, **kwargs)
            except TypeError as exc:
                raise type_error(f"{name}() {exc}") from None
            # a transaction: undo everything on error
            saved = {
                n: ({i: dict(r) for i, r in m.records.items()}, m.next_id) for n, m in self.db.models.items()
            }
            sequence = self.db.order_sequence
            try:
                result = func(env, model, *args, **kwargs)
            except OdooException:
                for n, m in self.db.models.items():
                    m.records, m.next_id = saved[n]
                self.db.order_sequence = sequence
                raise
            if name == "create" and rpc and args and isinstance(args[0], Mapping):
                return result[0]
            if (
                name == "create"
                and rpc
                and "vals_list" in kwargs
                and isinstance(kwargs["vals_list"], Mapping)
            ):
                return result[0]
            return result

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except ConnectionError:  # the client gave up (a timeout test): nothing to answer
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
                pass

            def reply(
                self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def reply_json(self, status: int, value: Any, headers: Mapping[str, str] | None = None) -> None:
                self.reply(status, json.dumps(value).encode(), "application/json; charset=utf-8", headers)

            def not_found(self) -> None:
                body = b"<!doctype html><title>404 Not Found</title><h1>Not Found</h1>"
                self.reply(404, body, "text/html; charset=utf-8")

            def gate(self) -> bool:
                server._stalled.wait(10)
                server.requests.append(f"{self.command} {self.path}")
                if server._rate_budget is not None:
                    if server._rate_budget <= 0:
                        self.reply(
                            429, b"Too Many Requests", "text/plain", {"Retry-After": str(server._retry_after)}
                        )
                        return False
                    server._rate_budget -= 1
                return True

            def do_GET(self) -> None:
                if not self.gate():
                    return
                if self.path == "/web/version":
                    serie = f"{server.version_info[0]}.{server.version_info[1]}"
                    self.reply_json(200, {"version_info": server.version_info, "version": serie})
                else:
                    self.not_found()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not self.gate():
                    return
                rpc_available = server.version_info[0] < 22
                if self.path in ("/xmlrpc/2/common", "/xmlrpc/2/object") and rpc_available:
                    self.xmlrpc(self.path.rsplit("/", 1)[1], body)
                elif self.path == "/jsonrpc" and rpc_available:
                    self.jsonrpc(body)
                elif self.path.startswith("/json/2/") and server.version_info[0] >= 19:
                    self.json2(self.path.removeprefix("/json/2/"), body)
                else:
                    self.not_found()

            def xmlrpc(self, service: str, body: bytes) -> None:
                try:
                    params, method = xmlrpc.client.loads(body, use_builtin_types=True)
                    handler = server.common if service == "common" else server.object
                    result = handler(str(method), list(params))
                    payload = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True)
                except OdooException as exc:
                    message = exc.debug if exc.rpc_code == 1 else exc.message
                    payload = xmlrpc.client.dumps(xmlrpc.client.Fault(exc.rpc_code, message), allow_none=True)
                except ValueError as exc:
                    payload = xmlrpc.client.dumps(xmlrpc.client.Fault(1, f"builtins.ValueError: {exc}"))
                self.reply(200, payload.encode(), "text/xml")

            def jsonrpc(self, body: bytes) -> None:
                request_id = None
                try:
                    request = json.loads(body)
                    request_id = request.get("id")
                    params = request["params"]
                    service, method, args = params["service"], params["method"], params.get("args", [])
                    if service == "common":
                        result = server.common(method, args)
                    elif service == "object":
                        result = server.object(method, args)
                    else:
                        raise OdooException("builtins.Exception", f"No such service: {service}")
                    self.reply_json(200, {"jsonrpc": "2.0", "id": request_id, "result": result})
                except OdooException as exc:
                    error = {"code": 200, "message": "Odoo Server Error", "data": exc.serialize()}
                    self.reply_json(200, {"jsonrpc": "2.0", "id": request_id, "error": error})
                except (ValueError, KeyError, TypeError) as exc:
                    wrapped = OdooException(f"builtins.{type(exc).__name__}", str(exc))
                    error = {"code": 200, "message": "Odoo Server Error", "data": wrapped.serialize()}
                    self.reply_json(200, {"jsonrpc": "2.0", "id": request_id, "error": error})

            def json2(self, path: str, body: bytes) -> None:
                try:
                    model_name, _, method = path.partition("/")
                    if not model_name or not method or "/" in method:
                        raise http_error("NotFound", 404, "Did you mean POST /json/2/<model>/<method>?")
                    database = self.headers.get("X-Odoo-Database") or server.db.name
                    if database != server.db.name:
                        raise http_error(
                            "NotFound",
                            404,
                            "The requested URL was not found on the server. If you entered the URL "
                            "manually please check your spelling and try again.",
                        )
                    scheme, _, key = (self.headers.get("Authorization") or "").partition(" ")
                    user = next(
                        (
                            u
                            for u in server.db.users.values()
                            if scheme.lower() == "bearer" and key in u.api_keys
                        ),
                        None,
                    )
                    if user is None:
                        raise http_error("Unauthorized", 401, "Invalid apikey")
                    try:
                        params = json.loads(body) if body else {}
                    except ValueError as exc:
                        raise http_error(
                            "BadRequest", 400, f"could not parse the body as json: {exc}"
                        ) from None
                    if not isinstance(params, dict):
                        raise http_error(
                            "BadRequest", 400, "could not parse the body, expecting a json object"
                        )
                    ids = params.pop("ids", None) or []
                    context = params.pop("context", None) or {}
                    if model_name not in server.db.models:
                        raise http_error("NotFound", 404, f"the model {model_name!r} does not exist")
                    model = server.db.models[model_name]
                    try:
                        method_of(model, method)
                    except OdooException as exc:
                        raise http_error("NotFound", 404, exc.message) from None
                    if method in Methods.api_model and ids:
                        raise http_error(
                            "UnprocessableEntity", 422, f"cannot call {model_name}.{method} with ids"
                        )
                    args = [] if method in Methods.api_model else [list(ids)]
                    try:
                        inspect.signature(getattr(Methods, method)).bind(None, model, *args, **params)
                    except TypeError as exc:
                        raise http_error("UnprocessableEntity", 422, str(exc)) from None
                    result = server.call(user, model_name, method, args, params, context, rpc=False)
                    self.reply_json(200, result)
                except OdooException as exc:
                    self.reply_json(exc.http_status, exc.serialize())

        return Handler
