"""The ``http_request`` action against a real HTTP server on loopback."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2 as httpx
import jsonschema
import pytest

from tessera.workflows.actions import ActionCall, ActionFailed, ActionRegistry
from tessera.workflows.http_request import MAX_BODY_BYTES, HttpRequestAction


@dataclass
class EchoServer:
    """A loopback server; ``paths`` lists what it was asked for, in order."""

    url: str
    paths: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _answer(self) -> None:
        self.server.echo.paths.append(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            if self.path == "/echo":
                echoed = {
                    "method": self.command,
                    "headers": {name.lower(): value for name, value in self.headers.items()},
                    "body": json.loads(body) if body else None,
                }
                self._send(200, json.dumps(echoed).encode(), "application/json")
            elif self.path == "/text":
                self._send(200, "héllo, world".encode(), "text/plain; charset=utf-8")
            elif self.path == "/big":
                self._send(200, b"x" * (MAX_BODY_BYTES + 10), "text/plain")
            elif self.path == "/not-json":
                self._send(200, b"{oops", "application/json")
            elif self.path == "/redirect":
                self._send(302, b"", "text/plain", {"Location": "/echo"})
            elif self.path == "/loop":
                self._send(302, b"", "text/plain", {"Location": "/loop"})
            elif self.path == "/missing":
                self._send(404, b"no such hook " + b"!" * 500, "text/plain")
            elif self.path == "/busy":
                self._send(503, b"try later", "text/plain", {"Retry-After": "7"})
            elif self.path == "/limited":
                later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
                self._send(429, b"slow down", "text/plain", {"Retry-After": later})
            elif self.path == "/broken":
                self._send(500, b"oops", "text/plain")
            elif self.path == "/slow":
                # wait until the test is over rather than a fixed time, so teardown is quick
                self.server.stop.wait(5)
                self._send(200, b"late", "text/plain")
            else:
                self._send(404, b"unknown path", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test): nothing to answer

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # keep test output quiet


class _Server(ThreadingHTTPServer):
    echo: EchoServer
    stop: threading.Event


@pytest.fixture
def server() -> Iterator[EchoServer]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    host, port = httpd.server_address[:2]
    httpd.echo = EchoServer(url=f"http://{host!s}:{port}")
    httpd.stop = threading.Event()
    # a short poll interval so shutdown() returns quickly at teardown
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="test-http-server"
    )
    thread.start()
    try:
        yield httpd.echo
    finally:
        httpd.stop.set()
        httpd.shutdown()
        httpd.server_close()  # joins the handler threads
        thread.join()


@pytest.fixture
def action() -> Iterator[HttpRequestAction]:
    action = HttpRequestAction()
    try:
        yield action
    finally:
        action.close()


def make_call(idempotency_key: str = "run-1:notify") -> ActionCall:
    return ActionCall(
        workspace="acme", run_id=uuid.uuid4(), step_key="notify", idempotency_key=idempotency_key
    )


def failure(action: HttpRequestAction, payload: dict[str, Any]) -> ActionFailed:
    with pytest.raises(ActionFailed) as caught:
        action.execute(make_call(), payload)
    return caught.value


def test_json_post_round_trip(server: EchoServer, action: HttpRequestAction) -> None:
    result = action.execute(
        make_call(),
        {
            "url": f"{server.url}/echo",
            "json": {"deal": "d-1", "amount": 12.5},
            "headers": {"X-Tenant": "acme"},
        },
    )

    jsonschema.validate(result, action.output_schema)
    assert result["status"] == 200
    assert result["headers"]["content-type"] == "application/json"
    echoed = result["body"]
    assert echoed["method"] == "POST"  # the default when there is a json body
    assert echoed["body"] == {"deal": "d-1", "amount": 12.5}
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["headers"]["x-tenant"] == "acme"
    assert echoed["headers"]["user-agent"] == "Tessera-Workflows/0.1"
    assert "truncated" not in result


def test_method_defaults_to_get_and_can_be_chosen(server: EchoServer, action: HttpRequestAction) -> None:
    assert action.execute(make_call(), {"url": f"{server.url}/echo"})["body"]["method"] == "GET"
    put = action.execute(make_call(), {"url": f"{server.url}/echo", "method": "PUT", "json": [1]})
    assert put["body"]["method"] == "PUT"
    assert put["body"]["body"] == [1]


def test_idempotency_key_is_sent_and_repeats_with_the_step(
    server: EchoServer, action: HttpRequestAction
) -> None:
    first = action.execute(make_call("run-7:notify"), {"url": f"{server.url}/echo"})
    second = action.execute(make_call("run-7:notify"), {"url": f"{server.url}/echo"})
    other = action.execute(make_call("run-8:notify"), {"url": f"{server.url}/echo"})

    assert first["body"]["headers"]["idempotency-key"] == "run-7:notify"
    assert second["body"]["headers"]["idempotency-key"] == first["body"]["headers"]["idempotency-key"]
    assert other["body"]["headers"]["idempotency-key"] == "run-8:notify"


def test_idempotency_key_from_the_step_headers_wins(server: EchoServer, action: HttpRequestAction) -> None:
    result = action.execute(
        make_call(), {"url": f"{server.url}/echo", "headers": {"idempotency-key": "mine"}}
    )
    assert result["body"]["headers"]["idempotency-key"] == "mine"


def test_text_response(server: EchoServer, action: HttpRequestAction) -> None:
    result = action.execute(make_call(), {"url": f"{server.url}/text"})
    assert result["status"] == 200
    assert result["body"] == "héllo, world"


def test_mislabelled_json_is_returned_as_text(server: EchoServer, action: HttpRequestAction) -> None:
    assert action.execute(make_call(), {"url": f"{server.url}/not-json"})["body"] == "{oops"


def test_large_body_is_truncated(server: EchoServer, action: HttpRequestAction) -> None:
    result = action.execute(make_call(), {"url": f"{server.url}/big"})
    jsonschema.validate(result, action.output_schema)
    assert result["truncated"] is True
    assert len(result["body"]) == MAX_BODY_BYTES


def test_redirects_are_followed(server: EchoServer, action: HttpRequestAction) -> None:
    result = action.execute(make_call(), {"url": f"{server.url}/redirect"})
    assert result["status"] == 200
    assert result["body"]["method"] == "GET"
    assert server.paths == ["/redirect", "/echo"]


def test_redirect_loop_fails_without_retry(server: EchoServer, action: HttpRequestAction) -> None:
    error = failure(action, {"url": f"{server.url}/loop"})
    assert error.code == "HTTP_TOO_MANY_REDIRECTS"
    assert error.retryable is False
    assert len(server.paths) == 6  # the first request and five redirects


def test_404_is_not_retryable(server: EchoServer, action: HttpRequestAction) -> None:
    error = failure(action, {"url": f"{server.url}/missing", "json": {}})
    assert error.code == "HTTP_STATUS"
    assert error.retryable is False
    assert error.retry_after is None
    message = str(error)
    assert f"POST {server.url}/missing" in message
    assert "404" in message
    assert "no such hook" in message
    assert "!" * 200 not in message  # the body is cut to 200 characters


def test_503_with_retry_after_is_retryable(server: EchoServer, action: HttpRequestAction) -> None:
    error = failure(action, {"url": f"{server.url}/busy"})
    assert error.code == "HTTP_STATUS"
    assert error.retryable is True
    assert error.retry_after == 7
    assert "503" in str(error)


def test_429_with_an_http_date_retry_after(server: EchoServer, action: HttpRequestAction) -> None:
    error = failure(action, {"url": f"{server.url}/limited"})
    assert error.retryable is True
    assert error.retry_after is not None
    assert 50 < error.retry_after <= 60


def test_500_is_retryable_without_retry_after(server: EchoServer, action: HttpRequestAction) -> None:
    error = failure(action, {"url": f"{server.url}/broken"})
    assert (error.code, error.retryable, error.retry_after) == ("HTTP_STATUS", True, None)


def test_slow_endpoint_times_out(server: EchoServer, action: HttpRequestAction) -> None:
    error = failure(action, {"url": f"{server.url}/slow", "timeout_seconds": 0.2})
    assert error.code == "HTTP_UNAVAILABLE"
    assert error.retryable is True


def test_connection_refused_is_retryable(action: HttpRequestAction) -> None:
    # a port that was just free and is now closed: nothing listens there
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failure(action, {"url": f"http://127.0.0.1:{port}/echo", "timeout_seconds": 5})
    assert error.code == "HTTP_UNAVAILABLE"
    assert error.retryable is True


@pytest.mark.parametrize("url", ["ftp://example.com/file", "file:///etc/passwd", "/relative/path", "http://"])
def test_bad_url_is_refused(action: HttpRequestAction, url: str) -> None:
    error = failure(action, {"url": url})
    assert error.code == "INVALID_URL"
    assert error.retryable is False
    assert url in str(error)


def test_private_addresses_refused_when_not_allowed(server: EchoServer) -> None:
    port = server.url.rsplit(":", 1)[1]
    action = HttpRequestAction(allow_private_addresses=False)
    try:
        for url in (
            f"{server.url}/echo",
            f"http://localhost:{port}/echo",
            "http://10.1.2.3/",
            "http://[::1]/",
        ):
            error = failure(action, {"url": url})
            assert error.code == "URL_NOT_ALLOWED", url
            assert error.retryable is False
    finally:
        action.close()
    assert server.paths == []  # refused before connecting


def test_public_address_allowed_and_redirect_to_private_refused() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/hook":
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(302, headers={"Location": "http://127.0.0.1/admin"})

    action = HttpRequestAction(transport=httpx.MockTransport(answer), allow_private_addresses=False)
    try:
        # an IP literal: getaddrinfo does not need DNS, so this runs offline
        assert action.execute(make_call(), {"url": "http://93.184.215.14/hook"})["body"] == {"ok": True}
        error = failure(action, {"url": "http://93.184.215.14/go"})
    finally:
        action.close()
    assert error.code == "URL_NOT_ALLOWED"
    assert seen == ["http://93.184.215.14/hook", "http://93.184.215.14/go"]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"url": 5},
        {"url": "https://example.com", "method": "TRACE"},
        {"url": "https://example.com", "headers": {"X-Count": 3}},
        {"url": "https://example.com", "timeout_seconds": 0},
        {"url": "https://example.com", "timeout_seconds": 121},
        {"url": "https://example.com", "body": "text"},
    ],
)
def test_payload_breaking_the_schema_is_invalid_input(
    action: HttpRequestAction, payload: dict[str, Any]
) -> None:
    registry = ActionRegistry([action])
    with pytest.raises(ActionFailed) as caught:
        registry.call("http_request", make_call(), payload)
    assert caught.value.code == "INVALID_INPUT"
    assert caught.value.retryable is False
