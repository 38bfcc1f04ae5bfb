"""The generic REST/JSON connector against a small JSON API on loopback (no mocks)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tessera.connectors.contract import ConnectorContract
from tessera.connectors.rest import RestConnector
from tessera.connectors.sdk import (
    AuthenticationError,
    Checkpoint,
    ConfigurationError,
    Lookup,
    PermanentError,
    RateLimited,
    Record,
    TransientError,
)

API_KEY = "s3cret"


class JsonApi:
    """A small JSON API: customers by page (filtered by ``since``), products by offset,
    events by cursor, tags by Link header, ``/api/me``, ``POST /api/orders`` (honouring
    ``Idempotency-Key``); ``X-Api-Key`` required; a rate limit and a broken endpoint."""

    def __init__(self) -> None:
        self.customers = [
            {
                "id": n,
                "name": f"Customer {n}",
                "updated_at": f"2025-01-0{n}T10:00:00Z",
                "links": {"site": f"https://c{n}.example"},
                "parent": None if n == 1 else 1,
            }
            for n in range(1, 6)
        ]
        self.products = [{"sku": f"P{n}", "title": f"Product {n}"} for n in range(1, 6)]
        self.events = [{"id": f"e{n}", "kind": "signup"} for n in range(1, 6)]
        self.tags = [{"slug": f"tag-{n}"} for n in range(1, 4)]
        self.orders: dict[str, dict[str, Any]] = {}
        self.budget: int | None = None
        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
                pass

            def reply(self, status: int, value: Any, headers: Mapping[str, str] | None = None) -> None:
                body = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, header in (headers or {}).items():
                    self.send_header(key, header)
                self.end_headers()
                self.wfile.write(body)

            def gate(self) -> bool:
                api.requests.append(f"{self.command} {self.path}")
                if self.headers.get("X-Api-Key") != API_KEY:
                    self.reply(401, {"error": "bad key"})
                    return False
                if api.budget is not None:
                    if api.budget <= 0:
                        self.reply(429, {"error": "slow down"}, {"Retry-After": "12"})
                        return False
                    api.budget -= 1
                return True

            def do_GET(self) -> None:
                if not self.gate():
                    return
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                if url.path == "/api/me":
                    self.reply(200, {"name": "tests"})
                elif url.path == "/api/customers":
                    since = query.get("since") or ""
                    rows = sorted(
                        (c for c in api.customers if c["updated_at"] >= since),
                        key=lambda c: (c["updated_at"], c["id"]),
                    )
                    page = int(query["page"])
                    self.reply(200, {"data": rows[(page - 1) * 2 : page * 2], "page": page})
                elif url.path == "/api/products":
                    offset, limit = int(query["offset"]), int(query["limit"])
                    self.reply(200, {"results": api.products[offset : offset + limit]})
                elif url.path == "/api/events":
                    after = query.get("after") or ""
                    start = next((i + 1 for i, e in enumerate(api.events) if e["id"] == after), 0)
                    chunk = api.events[start : start + 2]
                    more = start + 2 < len(api.events)
                    self.reply(200, {"items": chunk, "meta": {"next": chunk[-1]["id"] if more else None}})
                elif url.path == "/api/tags":
                    page = int(query.get("p", "1"))
                    chunk = api.tags[(page - 1) * 2 : page * 2]
                    headers = (
                        {"Link": f'</api/tags?p={page + 1}>; rel="next"'} if page * 2 < len(api.tags) else {}
                    )
                    self.reply(200, chunk, headers)
                elif url.path == "/api/broken":
                    self.reply(503, {"error": "maintenance"})
                else:
                    self.reply(404, {"error": "no such path"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                if not self.gate():
                    return
                if self.path != "/api/orders":
                    self.reply(404, {"error": "no such path"})
                    return
                key = self.headers.get("Idempotency-Key") or ""
                if key not in api.orders:
                    api.orders[key] = {"id": len(api.orders) + 1, "received": body}
                self.reply(201, api.orders[key])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> JsonApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def api() -> Iterator[JsonApi]:
    with JsonApi() as server:
        yield server


STREAMS = [
    {
        "name": "customers",
        "path": "/api/customers?page={page}&since={since}",
        "pagination": "page",
        "page_size": 2,
        "items": "/data",
        "key": "/id",
        "cursor_field": "/updated_at",
        "object": "company",
        "external_id_field": "shop_id",
        "fields": {
            "name": "/name",
            "website": "/links/site",
            "parent": {"pointer": "/parent", "object": "company", "field": "shop_id"},
        },
    },
    {
        "name": "products",
        "path": "/api/products?offset={offset}&limit={limit}",
        "pagination": "offset",
        "page_size": 2,
        "items": "/results",
        "key": "/sku",
        "object": "product",
        "external_id_field": "shop_sku",
        "fields": {"name": "/title", "code": "/sku"},
    },
    {
        "name": "events",
        "path": "/api/events?after={cursor}",
        "pagination": "cursor",
        "items": "/items",
        "next_cursor": "/meta/next",
        "key": "/id",
        "object": "note",
        "external_id_field": "event_id",
        "fields": {"title": "/kind"},
    },
    {
        "name": "tags",
        "path": "/api/tags",
        "pagination": "link_header",
        "items": "",
        "key": "/slug",
        "object": "tag",
        "external_id_field": "slug",
        "fields": {"name": "/slug"},
    },
]


def config_for(api: JsonApi, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": api.url,
        "auth_header": "X-Api-Key",
        "auth_value": API_KEY,
        "streams": STREAMS,
        "post": {"path": "/api/orders"},
    } | extra


def read(config: Mapping[str, Any], stream: str, state: Mapping[str, Any] | None = None):
    records, states = [], []
    for item in RestConnector().read(config, stream, state):
        if isinstance(item, Record):
            records.append(dict(item.data))
        else:
            assert isinstance(item, Checkpoint)
            states.append(dict(item.state))
    return records, states


def test_discover_returns_the_configured_streams_as_stream_specs(api: JsonApi) -> None:
    catalog = RestConnector().discover(config_for(api))
    assert [s.name for s in catalog.streams] == ["customers", "products", "events", "tags"]
    customers = catalog.streams[0]
    assert (customers.key, customers.cursor_field, customers.object, customers.external_id_field) == (
        "/id",
        "/updated_at",
        "company",
        "shop_id",
    )
    assert customers.fields == {
        "name": "/name",
        "website": "/links/site",
        "parent": Lookup("/parent", "company", "shop_id"),
    }
    assert [a.name for a in catalog.actions] == ["post"]
    assert RestConnector().discover({**config_for(api), "post": None}).actions == ()


def test_page_pagination_reads_incrementally_by_the_cursor_field(api: JsonApi) -> None:
    config = config_for(api)
    records, states = read(config, "customers")
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    assert states[-1] == {"since": "2025-01-05T10:00:00Z", "keys": ["5"]}
    assert "GET /api/customers?page=1&since=" in api.requests

    assert read(config, "customers", states[-1])[0] == []  # nothing changed
    api.customers[1]["name"] = "Customer 2 (renamed)"
    api.customers[1]["updated_at"] = "2025-02-01T00:00:00Z"
    changed, changed_states = read(config, "customers", states[-1])
    assert [(r["id"], r["name"]) for r in changed] == [(2, "Customer 2 (renamed)")]
    assert changed_states[-1] == {"since": "2025-02-01T00:00:00Z", "keys": ["2"]}
    assert "GET /api/customers?page=1&since=2025-01-05T10%3A00%3A00Z" in api.requests  # {since} filters


def test_offset_pagination_resumes_after_what_it_read(api: JsonApi) -> None:
    config = config_for(api)
    records, states = read(config, "products")
    assert [r["sku"] for r in records] == ["P1", "P2", "P3", "P4", "P5"]
    assert states == [
        {"position": {"offset": 2}, "keys": []},
        {"position": {"offset": 4}, "keys": []},
        {"position": {"offset": 4}, "keys": ["P5"]},
    ]
    api.products.append({"sku": "P6", "title": "Product 6"})
    again, _ = read(config, "products", states[-1])
    assert [r["sku"] for r in again] == ["P6"]


def test_cursor_pagination_follows_the_next_cursor(api: JsonApi) -> None:
    records, states = read(config_for(api), "events")
    assert [r["id"] for r in records] == ["e1", "e2", "e3", "e4", "e5"]
    assert states[0] == {"position": {"cursor": "e2"}, "keys": []}
    assert read(config_for(api), "events", states[-1])[0] == []


def test_link_header_pagination_follows_rel_next(api: JsonApi) -> None:
    records, states = read(config_for(api), "tags")
    assert [r["slug"] for r in records] == ["tag-1", "tag-2", "tag-3"]
    assert states[0] == {"position": {"url": f"{api.url}/api/tags?p=2"}, "keys": []}


# -- check and errors -------------------------------------------------------------------------
def test_check_passes_and_says_what_answered(api: JsonApi) -> None:
    assert (
        RestConnector().check(config_for(api)).message == f"{api.url} answered: stream 'customers' has items."
    )
    assert RestConnector().check(config_for(api, check_path="/api/me")).message == f"{api.url} answered."


def test_check_says_the_credentials_were_refused(api: JsonApi) -> None:
    result = RestConnector().check(config_for(api, auth_value="wrong", check_path="/api/me"))
    assert result.message == (
        f'{api.url} refused the credentials (GET {api.url}/api/me gave HTTP 401: {{"error": "bad key"}}).'
    )
    assert result.path == ("auth_value",)


def test_check_says_the_server_cannot_be_reached() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = RestConnector().check({"base_url": url, "streams": STREAMS})
    assert result.message == f"Cannot reach {url}: the connection was refused."


def test_check_says_what_is_wrong_with_a_stream(api: JsonApi) -> None:
    bad = {**STREAMS[0], "path": "/api/customers"}
    result = RestConnector().check(config_for(api, streams=[bad]))
    assert (result.message, result.path) == (
        "Stream 'customers' pages by page: its path needs the {page} placeholder.",
        ("streams", 0),
    )
    not_a_list = {**STREAMS[0], "items": "/page"}
    result = RestConnector().check(config_for(api, streams=[not_a_list]))
    assert result.message == (
        f"Stream 'customers': the items pointer '/page' does not point at a list in the answer of "
        f"GET {api.url}/api/customers?page=1&since=."
    )


def test_429_is_rate_limited_with_retry_after(api: JsonApi) -> None:
    api.budget = 1
    with pytest.raises(RateLimited) as caught:
        read(config_for(api), "products")
    assert caught.value.retry_after == 12


def test_5xx_is_transient_and_404_permanent(api: JsonApi) -> None:
    broken = {**STREAMS[3], "name": "broken", "path": "/api/broken"}
    missing = {**STREAMS[3], "name": "missing", "path": "/api/missing"}
    config = config_for(api, streams=[broken, missing])
    with pytest.raises(TransientError, match="HTTP 503"):
        read(config, "broken")
    with pytest.raises(PermanentError, match="HTTP 404"):
        read(config, "missing")
    with pytest.raises(AuthenticationError):
        read(config_for(api, auth_value="nope"), "products")
    with pytest.raises(ConfigurationError, match="has no stream 'nope'"):
        read(config, "nope")


# -- the post action ----------------------------------------------------------------------------
def test_post_sends_json_with_the_idempotency_key(api: JsonApi) -> None:
    connector, config = RestConnector(), config_for(api)
    out = connector.execute(config, "post", {"body": {"deal": "D-1", "amount": 10}}, "step-7")
    assert out == {"status": 201, "body": {"id": 1, "received": {"deal": "D-1", "amount": 10}}}
    assert connector.execute(config, "post", {"body": {"deal": "D-1", "amount": 10}}, "step-7") == out
    assert len(api.orders) == 1
    with pytest.raises(ConfigurationError, match="no post entry"):
        connector.execute({**config, "post": None}, "post", {"body": {}}, "k")


class TestRestContract(ConnectorContract):
    connector_class = RestConnector

    @pytest.fixture
    def config(self, api: JsonApi) -> dict[str, Any]:
        return config_for(api)

    @pytest.fixture
    def bad_config(self, api: JsonApi) -> tuple[dict[str, Any], str]:
        return config_for(api, auth_value="wrong"), "refused the credentials"

    @pytest.fixture
    def action_inputs(self) -> dict[str, Any]:
        return {"post": {"body": {"hello": "world"}}}
