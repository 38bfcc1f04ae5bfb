"""The ``http_request`` action: a workflow step that calls an HTTP endpoint.

Every request carries an ``Idempotency-Key`` header (the step's key, the same on every
attempt), so a receiver that honours it can drop a repeat after a retry or a redelivered run.
Failures are sorted for the retry policy: a timeout, a refused connection, 408, 429 and 5xx
are retryable (with the server's ``Retry-After`` when it sends one); other 4xx are not.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import math
import socket
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx2 as httpx

from tessera.workflows.actions import Action, ActionCall, ActionFailed

__all__ = ["HttpRequestAction", "refuse_private_host"]

#: response bodies beyond this many bytes are cut off (and the result says ``truncated``)
MAX_BODY_BYTES = 1024 * 1024
#: redirects followed before the step fails with ``HTTP_TOO_MANY_REDIRECTS``
MAX_REDIRECTS = 5
DEFAULT_TIMEOUT_SECONDS = 30.0
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: statuses worth another attempt besides 5xx: the server timed out waiting, or asked us to slow down
RETRYABLE_STATUSES = frozenset({408, 429})
#: characters of the response body quoted in an error message
ERROR_BODY_CHARS = 200


class HttpRequestAction(Action):
    """Send one HTTP request and return its status, headers and body.

    Redirects are followed, up to five (``MAX_REDIRECTS``); every hop is checked like the
    first URL. ``2xx`` and ``3xx`` answers are results; the others raise
    :class:`~tessera.workflows.actions.ActionFailed` with code ``HTTP_STATUS``.

    With ``allow_private_addresses=False`` a URL whose host resolves to a loopback, private,
    link-local, reserved or otherwise non-global address is refused (``URL_NOT_ALLOWED``), so a
    workflow author cannot reach the servers next to ours. The host is resolved again when
    connecting, so this does not stop DNS rebinding; an egress proxy or firewall does.

    Example::

        action = HttpRequestAction()
        result = action.execute(call, {"url": "https://example.com/hooks", "json": {"id": 1}})
        result["status"], result["body"]
    """

    name: ClassVar[str] = "http_request"
    description: ClassVar[str] = "Send an HTTP request and return the response's status, headers and body."
    input_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "required": ["url"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "minLength": 1},
            "method": {"enum": list(METHODS)},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "json": {},
            "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
        },
    }
    output_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "required": ["status", "headers", "body"],
        "additionalProperties": False,
        "properties": {
            "status": {"type": "integer"},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": {},
            "truncated": {"const": True},
        },
    }

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        allow_private_addresses: bool = True,
        user_agent: str = "Tessera-Workflows/0.1",
    ) -> None:
        self.allow_private_addresses = allow_private_addresses
        # One client per action, shared by every run's threads, so connections are pooled.
        # trust_env=False: a workflow author chooses the URL, so the server's ~/.netrc
        # credentials and proxy variables must not be applied to it.
        self._client = httpx.Client(
            transport=transport,
            headers={"User-Agent": user_agent},
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            trust_env=False,
            event_hooks={"request": [self._check_request]},
        )

    def close(self) -> None:
        """Close the pooled connections; the action cannot send afterwards."""
        self._client.close()

    def execute(self, call: ActionCall, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Send the request ``payload`` describes; see the class docstring for the outcomes."""
        url = _parse_url(str(payload["url"]))
        method = payload.get("method") or ("POST" if "json" in payload else "GET")
        timeout = float(payload.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
        shown = _display_url(url)
        try:
            headers = httpx.Headers(payload.get("headers") or {})
        except UnicodeEncodeError as exc:
            raise ActionFailed(
                f"http_request: headers: header names and values must be ASCII ({exc.reason}).",
                "INVALID_INPUT",
                retryable=False,
            ) from exc
        if "idempotency-key" not in headers:
            headers["Idempotency-Key"] = call.idempotency_key
        content: bytes | None = None
        if "json" in payload:
            content = _encode_json(payload["json"])
            headers.setdefault("Content-Type", "application/json")

        # httpx's timeout applies to each connect/read/write; the deadline bounds the whole body
        # read, so a server that drips bytes cannot hold the step for longer than asked.
        deadline = time.monotonic() + timeout
        try:
            with self._client.stream(
                method, url, headers=headers, content=content, timeout=timeout
            ) as response:
                raw, truncated = _read_body(response, deadline, timeout)
        except httpx.TooManyRedirects as exc:
            raise ActionFailed(
                f"{method} {shown} redirected more than {MAX_REDIRECTS} times.",
                "HTTP_TOO_MANY_REDIRECTS",
                retryable=False,
            ) from exc
        except httpx.UnsupportedProtocol as exc:
            raise ActionFailed(
                f"{method} {shown}: {exc}; only http and https URLs can be called.",
                "INVALID_URL",
                retryable=False,
            ) from exc
        except httpx.LocalProtocolError as exc:
            # our side built a request HTTP cannot carry (e.g. a newline in a header): no retry helps
            raise ActionFailed(
                f"{method} {shown} could not be sent: {exc}", "INVALID_INPUT", retryable=False
            ) from exc
        except httpx.RequestError as exc:
            # timeouts, refused or reset connections, DNS failures: usually over soon
            reason = str(exc) or type(exc).__name__
            raise ActionFailed(
                f"{method} {shown} failed: {reason}", "HTTP_UNAVAILABLE", retryable=True
            ) from exc

        status = response.status_code
        if status >= 400:
            text = _decode_text(raw, response)
            retryable = status >= 500 or status in RETRYABLE_STATUSES
            raise ActionFailed(
                f"{method} {shown} answered {status} {response.reason_phrase}: {text[:ERROR_BODY_CHARS]}",
                "HTTP_STATUS",
                retryable=retryable,
                retry_after=retry_after_seconds(response.headers.get("retry-after")) if retryable else None,
            )
        result: dict[str, Any] = {
            "status": status,
            "headers": dict(response.headers.items()),
            "body": _parse_body(raw, response, truncated),
        }
        if truncated:
            result["truncated"] = True
        return result

    def _check_request(self, request: httpx.Request) -> None:
        """Run before every request, redirects included: refuse what the first URL would be refused."""
        if request.url.scheme not in ("http", "https"):
            raise ActionFailed(
                f"The URL '{_display_url(request.url)}' is not an http or https URL.",
                "INVALID_URL",
                retryable=False,
            )
        if not self.allow_private_addresses:
            _refuse_private_host(request.url)


def _parse_url(text: str) -> httpx.URL:
    """The URL ``text`` names, or ``INVALID_URL`` when it is not an absolute http(s) URL."""
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise ActionFailed(f"The URL '{text}' is not valid: {exc}.", "INVALID_URL", retryable=False) from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ActionFailed(
            f"The URL '{text}' is not an absolute http or https URL (like https://example.com/hook).",
            "INVALID_URL",
            retryable=False,
        )
    return url


def _display_url(url: httpx.URL) -> str:
    """``url`` without its user info, so a password in it does not reach run logs."""
    return str(url.copy_with(username=None, password=None)) if url.userinfo else str(url)


def _refuse_private_host(url: httpx.URL) -> None:
    """Raise ``URL_NOT_ALLOWED`` when ``url``'s host resolves to any non-public address."""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ActionFailed(
            f"The host of '{_display_url(url)}' could not be resolved: {exc}.", "HTTP_UNAVAILABLE"
        ) from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])  # drop an IPv6 zone id
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            # ::ffff:127.0.0.1 reaches 127.0.0.1; judge the IPv4 address it carries
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise ActionFailed(
                f"The URL '{_display_url(url)}' points at {address}, a private, loopback or reserved "
                "address, which workflows may not call.",
                "URL_NOT_ALLOWED",
                retryable=False,
            )


def refuse_private_host(url: httpx.URL) -> None:
    """Raise :class:`ActionFailed` when ``url``'s host resolves to a non-public address
    (``URL_NOT_ALLOWED``) or does not resolve (``HTTP_UNAVAILABLE``, retryable). The check
    of this action, shared with outbound webhooks (``tessera.connectors.webhooks``)."""
    _refuse_private_host(url)


def _encode_json(value: Any) -> bytes:
    """``value`` as a JSON request body; ``INVALID_INPUT`` when it is not JSON (NaN, a set)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ActionFailed(f"http_request: json: {exc}", "INVALID_INPUT", retryable=False) from exc


def _read_body(response: httpx.Response, deadline: float, timeout: float) -> tuple[bytes, bool]:
    """Up to ``MAX_BODY_BYTES`` of the (decompressed) body, and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            # stop reading: the rest is dropped when the stream closes
            return b"".join(chunks)[:MAX_BODY_BYTES], True
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout(f"the response took longer than {timeout:g} s", request=response.request)
    return b"".join(chunks), False


def _decode_text(raw: bytes, response: httpx.Response) -> str:
    """``raw`` as text in the response's charset (UTF-8 when it names none or an unknown one)."""
    try:
        return raw.decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def _parse_body(raw: bytes, response: httpx.Response, truncated: bool) -> Any:
    """The parsed JSON for a JSON response that parses, else the body as text."""
    media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    is_json = media_type == "application/json" or media_type.endswith("+json")
    # a truncated JSON document cannot parse; it is returned as text with ``truncated``
    if is_json and raw and not truncated:
        try:
            return json.loads(raw)
        except ValueError:
            pass  # a server that mislabels its body: the text is still useful
    return _decode_text(raw, response)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date
    (counted from ``now``); ``None`` when there is none or it is not one of those."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" dates parse naive; HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
