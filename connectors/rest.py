"""A generic REST/JSON connector, configured entirely by its connection's configuration.

The streams are not in the manifest: they are entries of the configuration, and
:meth:`RestConnector.discover` returns them (the runtime asks ``discover`` for a
connection's streams). Each stream says where its pages are, how to go from one page to
the next, where the items are in a page, and how an item maps onto a Tessera object::

    {
      "base_url": "https://api.example.com/v2",
      "auth_header": "Authorization", "auth_value": "Bearer s3cr3t",
      "streams": [{
        "name": "customers", "path": "/customers?page={page}&since={since}",
        "pagination": "page", "items": "/data",
        "key": "/id", "cursor_field": "/updated_at",
        "object": "company", "external_id_field": "shop_id",
        "fields": {"name": "/name", "website": "/links/site",
                   "parent": {"pointer": "/parent_id", "object": "company", "field": "shop_id"}}
      }],
      "post": {"path": "/orders", "method": "POST"}
    }

Pagination: ``none`` (one request), ``page`` (``{page}`` counts from ``page_start``),
``offset`` (``{offset}`` grows by the items read; ``{limit}`` is ``page_size``), ``cursor``
(``{cursor}`` is the value at the ``next_cursor`` pointer of the previous page) and
``link_header`` (the ``Link: <…>; rel="next"`` URL). A stream ends on an empty page, a
page shorter than ``page_size``, or no next cursor / link.

Resuming: with a ``cursor_field`` a stream is incremental (records at or before the last
value read are skipped, ``{since}`` passes it to the server; pages must come in cursor
order for a resumed run to miss nothing); without one, a paginated stream resumes at its
last page (an append-only list), and a ``none`` stream is read whole every time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urljoin, urlsplit

import httpx2 as httpx

from tessera.connectors.sdk import (
    ActionSpec,
    AuthenticationError,
    Catalog,
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
from tessera.connectors.sync import source_value
from tessera.workflows.http_request import retry_after_seconds

__all__ = ["RestConnector"]

PAGINATIONS = ("none", "page", "offset", "cursor", "link_header")
DEFAULT_TIMEOUT = 30.0
#: the longest run of pages one read follows (a server that never ends its pages)
MAX_PAGES = 10_000
BODY_CHARS = 200
_LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*\brel="?next"?', re.I)
_POINTER = {"type": "string", "pattern": "^(/.*)?$"}

STREAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "path", "key", "object", "external_id_field"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$"},
        "description": {"type": "string"},
        "path": {
            "type": "string",
            "description": "A path under base_url (or a full URL) with {page}, {offset}, {limit}, {cursor} "
            "or {since} placeholders.",
        },
        "pagination": {"enum": list(PAGINATIONS), "default": "none"},
        "page_size": {"type": "integer", "minimum": 1},
        "page_start": {"type": "integer", "minimum": 0, "default": 1},
        "items": {**_POINTER, "description": "JSON pointer to the items array ('' for the whole answer)."},
        "next_cursor": {
            **_POINTER,
            "description": "JSON pointer to the next page's cursor (cursor pagination).",
        },
        "key": {**_POINTER, "description": "JSON pointer to an item's identity."},
        "cursor_field": {
            **_POINTER,
            "description": "JSON pointer to an item's ordering value (incremental).",
        },
        "object": {"type": "string"},
        "external_id_field": {"type": "string"},
        "fields": {
            "type": "object",
            "additionalProperties": {
                "oneOf": [
                    _POINTER,
                    {
                        "type": "object",
                        "required": ["pointer", "object", "field"],
                        "properties": {
                            "pointer": _POINTER,
                            "object": {"type": "string"},
                            "field": {"type": "string"},
                        },
                    },
                ]
            },
        },
    },
}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["base_url", "streams"],
    "properties": {
        "base_url": {"type": "string", "format": "uri"},
        "auth_header": {
            "type": "string",
            "description": "The header that carries the credential (Authorization).",
        },
        "auth_value": {"type": "string", "secret": True, "description": "Its value (Bearer …)."},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "check_path": {
            "type": "string",
            "description": "What check GETs (default: the first stream's first page).",
        },
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 300, "default": DEFAULT_TIMEOUT},
        "streams": {"type": "array", "items": STREAM_SCHEMA},
        "post": {
            "type": "object",
            "required": ["path"],
            "additionalProperties": False,
            "properties": {
                "path": {"type": "string"},
                "method": {"enum": ["POST", "PUT", "PATCH"], "default": "POST"},
                "idempotency_header": {"type": "string", "default": "Idempotency-Key"},
            },
        },
    },
}

POST_ACTION = ActionSpec(
    name="post",
    description=(
        "Send a JSON body to the configured path (the configuration's post entry), with the step's "
        "idempotency key in a header; answers the status and the JSON (or text) the server sent back."
    ),
    input_schema={
        "type": "object",
        "required": ["body"],
        "additionalProperties": False,
        "properties": {"body": {"description": "The JSON to send."}},
    },
    output_schema={
        "type": "object",
        "required": ["status", "body"],
        "properties": {"status": {"type": "integer"}, "body": {}},
    },
)


def stream_spec(entry: Mapping[str, Any]) -> StreamSpec:
    fields: dict[str, str | Lookup] = {}
    for target, source in (entry.get("fields") or {}).items():
        if isinstance(source, Mapping):
            fields[target] = Lookup(str(source["pointer"]), str(source["object"]), str(source["field"]))
        else:
            fields[target] = str(source)
    return StreamSpec(
        name=str(entry["name"]),
        key=str(entry["key"]),
        object=str(entry["object"]),
        external_id_field=str(entry["external_id_field"]),
        fields=fields,
        cursor_field=entry.get("cursor_field") or None,
        description=str(entry.get("description") or ""),
    )


def stream_problem(entry: Mapping[str, Any]) -> str | None:
    """What is wrong with one stream's configuration, in words (``None``: nothing)."""
    name, path = entry.get("name"), str(entry.get("path") or "")
    pagination = entry.get("pagination") or "none"
    needs = {"page": "{page}", "offset": "{offset}", "cursor": "{cursor}"}.get(pagination)
    if pagination not in PAGINATIONS:
        return f"Stream '{name}': pagination is one of {', '.join(PAGINATIONS)}, not {pagination!r}."
    if needs and needs not in path:
        return f"Stream '{name}' pages by {pagination}: its path needs the {needs} placeholder."
    if pagination == "cursor" and entry.get("next_cursor") is None:
        return f"Stream '{name}' pages by cursor: give the next_cursor pointer."
    for required in ("name", "path", "key", "object", "external_id_field"):
        if not entry.get(required):
            return f"Stream '{name or '?'}': give its {required}."
    return None


class RestConnector(Connector):
    """Any REST/JSON API, described by the connection's configuration."""

    manifest: ClassVar[Manifest] = Manifest(
        name="rest",
        version="1.0.0",
        title="REST/JSON API",
        description=(
            "Reads paginated JSON from any REST API into Tessera objects, as the configuration maps it "
            "(streams are configuration entries: discover lists them), and posts JSON to it."
        ),
        config_schema=CONFIG_SCHEMA,
        actions=(POST_ACTION,),
    )

    # -- configuration --
    @staticmethod
    def entries(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        streams = config.get("streams") or []
        if not isinstance(streams, list):
            raise ConfigurationError("streams is a list of stream entries.", path=["streams"])
        for index, entry in enumerate(streams):
            problem = stream_problem(entry) if isinstance(entry, Mapping) else "A stream is an object."
            if problem:
                raise ConfigurationError(problem, path=["streams", index])
        names = [e["name"] for e in streams]
        if len(names) != len(set(names)):
            raise ConfigurationError("Two streams have the same name.", path=["streams"])
        return streams

    def entry(self, config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        entries = self.entries(config)
        for entry in entries:
            if entry["name"] == name:
                return entry
        known = ", ".join(e["name"] for e in entries) or "none"
        raise ConfigurationError(f"This connection has no stream '{name}' (streams: {known}).")

    def discover(self, config: Mapping[str, Any]) -> Catalog:
        """The streams of the configuration; the ``post`` action when it has a ``post`` entry."""
        streams = tuple(stream_spec(entry) for entry in self.entries(config))
        return Catalog(streams, (POST_ACTION,) if config.get("post") else ())

    # -- check --
    def check(self, config: Mapping[str, Any]) -> CheckResult:
        try:
            entries = self.entries(config)
            with Http(config) as http:
                if config.get("check_path"):
                    http.get(http.url(str(config["check_path"])))
                    return CheckResult.passed(f"{http.base_url} answered.")
                if not entries:
                    return CheckResult.failed("Configure a stream (or a check_path) to check.", ["streams"])
                entry = entries[0]
                url = http.url(fill(str(entry["path"]), first_position(entry), entry, None))
                body, _ = http.get(url)
                items = source_value(body, str(entry.get("items") or ""))
                if not isinstance(items, list):
                    return CheckResult.failed(
                        f"Stream '{entry['name']}': the items pointer '{entry.get('items') or ''}' does not "
                        f"point at a list in the answer of GET {url}.",
                        ["streams", 0, "items"],
                    )
                return CheckResult.passed(f"{http.base_url} answered: stream '{entry['name']}' has items.")
        except ConnectorError as exc:
            return CheckResult.failed(str(exc), exc.path)

    # -- read --
    def read(
        self, config: Mapping[str, Any], stream: str, state: Mapping[str, Any] | None
    ) -> Iterator[Record | Checkpoint]:
        entry = self.entry(config, stream)
        pagination = entry.get("pagination") or "none"
        key_pointer = str(entry["key"])
        cursor_pointer = entry.get("cursor_field")
        incremental = bool(cursor_pointer)
        since: Any = (state or {}).get("since") if incremental else None
        skip = {str(k) for k in (state or {}).get("keys", [])}
        #: what earlier reads covered (skipped here; ``{since}`` stays this value for the whole read)
        covered, covered_keys = since, set(skip)
        position: dict[str, Any] = dict(first_position(entry))
        if not incremental and state and state.get("position"):
            position = dict(state["position"])
        with Http(config) as http:
            for _ in range(MAX_PAGES):
                url = (
                    position["url"]
                    if "url" in position
                    else http.url(fill(str(entry["path"]), position, entry, covered))
                )
                body, response = http.get(url)
                items = source_value(body, str(entry.get("items") or ""))
                if items is None:
                    items = []
                if not isinstance(items, list):
                    raise PermanentError(
                        f"Stream '{stream}': the items pointer '{entry.get('items') or ''}' does not "
                        f"point at a list in the answer of GET {url}."
                    )
                page_keys: list[str] = []
                for item in items:
                    key = source_value(item, key_pointer)
                    if key is None:
                        raise PermanentError(
                            f"Stream '{stream}': an item has nothing at its key '{key_pointer}'."
                        )
                    if incremental:
                        value = source_value(item, str(cursor_pointer))
                        if (
                            covered is not None
                            and value is not None
                            and (
                                comparable(value) < comparable(covered)
                                or (comparable(value) == comparable(covered) and str(key) in covered_keys)
                            )
                        ):
                            continue
                        if value is not None and (since is None or comparable(value) > comparable(since)):
                            since, skip = value, set()
                        if value is not None and comparable(value) == comparable(since):
                            skip.add(str(key))
                    elif str(key) in skip:
                        continue
                    page_keys.append(str(key))
                    yield Record(item)
                next_position = self.next_position(entry, position, items, body, response, url)
                if incremental:
                    if since is not None:
                        yield Checkpoint({"since": since, "keys": sorted(skip)})
                elif pagination != "none":
                    if next_position is None:  # the last page: the next read starts here, past what it had
                        yield Checkpoint({"position": position, "keys": sorted(skip | set(page_keys))})
                    else:
                        yield Checkpoint({"position": next_position, "keys": []})
                if next_position is None:
                    return
                position = next_position
                if not incremental:
                    skip = set()
        raise PermanentError(f"Stream '{stream}' has more than {MAX_PAGES} pages in one read.")

    @staticmethod
    def next_position(
        entry: Mapping[str, Any],
        position: Mapping[str, Any],
        items: list[Any],
        body: Any,
        response: httpx.Response,
        url: str,
    ) -> dict[str, Any] | None:
        pagination = entry.get("pagination") or "none"
        page_size = entry.get("page_size")
        if pagination == "none" or not items:
            return None
        if pagination in ("page", "offset") and page_size and len(items) < int(page_size):
            return None
        if pagination == "page":
            return {"page": int(position["page"]) + 1}
        if pagination == "offset":
            return {"offset": int(position["offset"]) + len(items)}
        if pagination == "cursor":
            cursor = source_value(body, str(entry["next_cursor"]))
            return None if cursor in (None, "", False) else {"cursor": str(cursor)}
        match = _LINK_NEXT.search(response.headers.get("Link", ""))
        return {"url": urljoin(url, match.group(1))} if match else None

    # -- the post action --
    def execute(
        self, config: Mapping[str, Any], action: str, payload: Mapping[str, Any], idempotency_key: str
    ) -> Mapping[str, Any]:
        self.manifest.action(action)
        post = config.get("post")
        if not post:
            raise ConfigurationError(
                "This connection has no post entry: configure its path first.", path=["post"]
            )
        with Http(config) as http:
            header = str(post.get("idempotency_header") or "Idempotency-Key")
            response = http.send(
                str(post.get("method") or "POST"),
                http.url(str(post["path"])),
                json_body=payload.get("body"),
                headers={header: idempotency_key},
            )
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            return {"status": response.status_code, "body": body}


def first_position(entry: Mapping[str, Any]) -> dict[str, Any]:
    pagination = entry.get("pagination") or "none"
    if pagination == "page":
        return {"page": int(entry.get("page_start", 1))}
    if pagination == "offset":
        return {"offset": 0}
    if pagination == "cursor":
        return {"cursor": ""}
    return {}


def fill(template: str, position: Mapping[str, Any], entry: Mapping[str, Any], since: Any) -> str:
    values = {
        "page": str(position.get("page", "")),
        "offset": str(position.get("offset", "")),
        "cursor": str(position.get("cursor", "")),
        "limit": str(entry.get("page_size") or ""),
        "since": "" if since is None else str(since),
    }
    return re.sub(
        r"\{(page|offset|cursor|limit|since)\}", lambda m: quote(values[m.group(1)], safe=""), template
    )


def comparable(value: Any) -> tuple[int, Any]:
    """Cursor values compare as numbers when both are, else as text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


class Http:
    """The connection's HTTP client: its base URL, credential, headers and timeout; every
    failure as the SDK's taxonomy."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        base_url = str(config.get("base_url") or "")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                f"The base URL must start with http:// or https:// (got {base_url!r}).", path=["base_url"]
            )
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json", **dict(config.get("headers") or {})}
        if config.get("auth_header"):
            headers[str(config["auth_header"])] = str(config.get("auth_value") or "")
        self.timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
        self.client = httpx.Client(timeout=self.timeout, headers=headers, follow_redirects=True)

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(self, url: str) -> tuple[Any, httpx.Response]:
        response = self.send("GET", url)
        try:
            return response.json(), response
        except ValueError:
            raise PermanentError(f"GET {url} did not answer JSON.") from None

    def send(
        self, method: str, url: str, *, json_body: Any = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        try:
            if method == "GET":
                response = self.client.get(url, headers=dict(headers or {}))
            else:
                response = self.client.request(method, url, json=json_body, headers=dict(headers or {}))
        except httpx.TimeoutException:
            raise TransientError(f"{self.base_url} did not answer within {self.timeout:g} seconds.") from None
        except httpx.ConnectError as exc:
            reason = "the connection was refused" if "refused" in str(exc).lower() else str(exc)
            raise TransientError(f"Cannot reach {self.base_url}: {reason}.") from None
        except httpx.TransportError as exc:
            raise TransientError(f"The connection to {self.base_url} failed: {exc}.") from None
        status = response.status_code
        if status < 400:
            return response
        snippet = response.text[:BODY_CHARS].strip()
        what = f"{method} {url} gave HTTP {status}" + (f": {snippet}" if snippet else "")
        if status == 429:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            raise RateLimited(
                f"{self.base_url} is limiting the rate of requests ({what}).", retry_after=retry_after
            )
        if status in (401, 403):
            raise AuthenticationError(
                f"{self.base_url} refused the credentials ({what}).", path=["auth_value"]
            )
        if status == 408 or status >= 500:
            raise TransientError(f"{what}.")
        raise PermanentError(f"{what}.")
