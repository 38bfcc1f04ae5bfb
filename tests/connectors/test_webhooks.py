"""Outbound webhooks: Standard Webhooks signatures, subscriptions and their filters, the
delivery table's retry schedule, disabling, the delivery log and replay, and the API.

Unit tests inject an httpx transport and a clock the test moves; one test sends to a real
HTTP server on 127.0.0.1, and one runs the whole path through the delivery runtime."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.server
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tessera.connectors.webhooks import (
    RETRY_SCHEDULE,
    WebhookService,
    WebhookVerificationError,
    event_payload,
    generate_secret,
    secret_key,
    sign,
    signed_headers,
    verify,
)
from tessera.platform.audit import AdminEventFilter, admin_events
from tessera.platform.errors import TesseraError
from tessera.platform.records import RecordService
from tessera.platform.tables import record_events, webhook_deliveries, webhook_subscriptions
from tessera.platform.workspaces import WorkspaceService
from tessera.workflows.delivery import DeliveryRuntime, EventProcessor
from tests.conftest import Clock
from tests.workflows.conftest import until

Handler = Callable[[httpx.Request], httpx.Response]


# -- Standard Webhooks signatures -------------------------------------------------------------
def test_signature_matches_the_standard_webhooks_reference_algorithm():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    timestamp = 1614265330
    body = b'{"test": 2432232314}'
    # by hand: HMAC-SHA256 keyed with the base64-decoded secret, over "{id}.{timestamp}.{body}"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    by_hand = "v1," + base64.b64encode(digest).decode()
    assert sign(secret, msg_id, timestamp, body) == by_hand
    # the example of the specification's reference libraries
    assert by_hand == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_secrets_are_whsec_and_24_or_more_random_bytes():
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(secret_key(secret)) >= 24
    assert generate_secret() != secret
    with pytest.raises(ValueError):
        secret_key("not-a-secret")


def test_verify_accepts_a_valid_signature_and_rejects_the_rest():
    secret, other = generate_secret(), generate_secret()
    now = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    stamp = int(now.timestamp())
    body = b'{"type":"record.created"}'
    headers = signed_headers([secret], "msg_1", stamp, body)
    assert verify(secret, headers, body, now=now) == "msg_1"
    # any signature of the list may match; unknown versions are ignored
    several = {
        **headers,
        "webhook-signature": f"v2,abc {sign(other, 'msg_1', stamp, body)} " + headers["webhook-signature"],
    }
    assert verify([secret], several, body, now=now) == "msg_1"

    def code(secrets: Any, hdrs: dict[str, str], payload: bytes, at: dt.datetime = now) -> str:
        with pytest.raises(WebhookVerificationError) as caught:
            verify(secrets, hdrs, payload, now=at)
        return caught.value.code

    assert code(secret, headers, body + b" ") == "WEBHOOK_SIGNATURE_INVALID"  # tampered body
    assert code(other, headers, body) == "WEBHOOK_SIGNATURE_INVALID"  # wrong secret
    assert code(secret, {**headers, "webhook-id": "msg_2"}, body) == "WEBHOOK_SIGNATURE_INVALID"
    assert code(secret, headers, body, now + dt.timedelta(minutes=5, seconds=1)) == "WEBHOOK_TIMESTAMP_STALE"
    assert code(secret, headers, body, now - dt.timedelta(minutes=6)) == "WEBHOOK_TIMESTAMP_STALE"  # future
    assert verify(secret, headers, body, now=now + dt.timedelta(minutes=4, seconds=59)) == "msg_1"
    missing = {k: v for k, v in headers.items() if k != "webhook-signature"}
    assert code(secret, missing, body) == "WEBHOOK_HEADERS_INVALID"
    assert code(secret, {**headers, "webhook-timestamp": "soon"}, body) == "WEBHOOK_HEADERS_INVALID"


# -- fixtures ---------------------------------------------------------------------------------
class Receiver:
    """A scripted endpoint behind an httpx MockTransport: answers in turn (the last one
    repeats), and keeps every request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers) or [httpx.Response(200, text="ok")]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def deals(object_factory: Callable[..., Any], engine: Engine, workspace: str) -> Iterator[None]:
    """Two objects; afterwards the workspace's subscriptions and deliveries are deleted, so
    that no sender of a later test (PostgreSQL tests share a database) finds them due."""
    object_factory("deal", [{"api_name": "title", "type": "text"}, {"api_name": "amount", "type": "integer"}])
    object_factory("note", [{"api_name": "text", "type": "text"}])
    yield
    with engine.begin() as conn:
        workspace_id = WorkspaceService(engine).get(workspace).id
        conn.execute(
            sa.delete(webhook_subscriptions).where(webhook_subscriptions.c.workspace_id == workspace_id)
        )


@pytest.fixture
def service(engine: Engine, clock: Clock) -> Iterator[Callable[..., WebhookService]]:
    """``service(receiver, **options)``: a WebhookService that sends to ``receiver``."""
    made: list[WebhookService] = []

    def make(receiver: Receiver | None = None, **options: Any) -> WebhookService:
        options.setdefault("allow_private_urls", True)
        options.setdefault("concurrency", 1)
        transport = httpx.MockTransport(receiver) if receiver is not None else None
        webhooks = WebhookService(engine, clock=clock, transport=transport, **options)
        made.append(webhooks)
        return webhooks

    yield make
    for webhooks in made:
        webhooks.close()


@pytest.fixture
def emit(engine: Engine, records: RecordService, workspace: str) -> Callable[..., uuid.UUID]:
    """``emit(webhooks, object, values)``: create a record and hand its event to ``webhooks``
    as the outbox worker does; the record's id."""

    def make(
        webhooks: WebhookService, object_name: str = "deal", values: dict[str, Any] | None = None
    ) -> uuid.UUID:
        record = records.create(workspace, object_name, values or {"title": "Big one", "amount": 500})
        process(engine, webhooks, record["id"])
        return uuid.UUID(str(record["id"]))

    return make


def process(engine: Engine, webhooks: WebhookService, record_id: Any) -> None:
    """Hand the record's unprocessed events to ``webhooks`` through the event processor."""
    with engine.connect() as conn:
        ids = conn.execute(
            sa.select(record_events.c.id).where(
                record_events.c.record_id == record_id, record_events.c.processed_at.is_(None)
            )
        ).scalars()
        for event_id in list(ids):
            EventProcessor(engine, [webhooks.handle]).process(str(event_id))


def deliveries_of(engine: Engine, subscription_id: uuid.UUID) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.select(webhook_deliveries)
                .where(webhook_deliveries.c.subscription_id == subscription_id)
                .order_by(webhook_deliveries.c.created_at)
            ).mappings()
        ]


#: a name that never resolves (RFC 2606): nothing leaves the machine, whoever sends
URL = "https://hooks.example.invalid/tessera"


# -- signing and rotation ------------------------------------------------------------------------
def test_a_delivery_is_signed_with_the_standard_webhooks_headers(
    deals: None,
    service: Callable[..., WebhookService],
    emit: Callable[..., uuid.UUID],
    workspace: str,
    clock: Clock,
):
    receiver = Receiver()
    webhooks = service(receiver)
    secret, sub = webhooks.create(workspace, url=URL, object="deal", events=["created"])
    record_id = emit(webhooks)
    assert webhooks.send_due() == 1
    [request] = receiver.requests
    assert (
        verify(secret, dict(request.headers), request.content, now=clock()) == request.headers["webhook-id"]
    )
    assert request.headers["webhook-timestamp"] == str(int(clock().timestamp()))
    assert request.headers["content-type"] == "application/json"
    payload = json.loads(request.content)
    assert payload["type"] == "record.created"
    assert payload["data"]["workspace"] == workspace
    assert payload["data"]["object"] == "deal"
    assert payload["data"]["recordId"] == str(record_id)
    assert payload["data"]["before"] is None
    assert payload["data"]["after"]["amount"] == 500
    assert request.headers["webhook-id"] == f"msg_{uuid.UUID(payload['data']['eventId']).hex}"
    [delivery] = webhooks.deliveries(workspace, subscription_id=sub.id)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)


def test_rotation_signs_with_both_secrets_until_the_old_one_expires(
    deals: None,
    service: Callable[..., WebhookService],
    emit: Callable[..., uuid.UUID],
    workspace: str,
    clock: Clock,
):
    receiver = Receiver()
    webhooks = service(receiver)
    old, sub = webhooks.create(workspace, url=URL)
    new, rotated = webhooks.rotate_secret(workspace, sub.id)
    assert new != old and new.startswith("whsec_")
    assert [s.expires_at for s in rotated.secrets] == [clock() + dt.timedelta(hours=24), None]
    emit(webhooks)
    webhooks.send_due()
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):  # a receiver on either secret accepts it
        verify(secret, dict(request.headers), request.content, now=clock())

    clock.advance(hours=24, seconds=1)
    emit(webhooks)
    webhooks.send_due()
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    verify(new, dict(request.headers), request.content, now=clock())
    with pytest.raises(WebhookVerificationError) as caught:
        verify(old, dict(request.headers), request.content, now=clock())
    assert caught.value.code == "WEBHOOK_SIGNATURE_INVALID"
    # rotating again drops the expired secret
    _, again = webhooks.rotate_secret(workspace, sub.id, keep_old_for=dt.timedelta(0))
    assert len(again.secrets) == 2 and again.secrets[0].expires_at == clock()


# -- the retry schedule ------------------------------------------------------------------------
def test_failed_attempts_follow_the_retry_schedule_then_the_delivery_fails(
    deals: None,
    service: Callable[..., WebhookService],
    emit: Callable[..., uuid.UUID],
    workspace: str,
    clock: Clock,
):
    receiver = Receiver(httpx.Response(500, text="boom"))
    webhooks = service(receiver)
    _, sub = webhooks.create(workspace, url=URL)
    emit(webhooks)
    waits = []
    for _ in RETRY_SCHEDULE:
        assert webhooks.send_due() == 1
        [delivery] = webhooks.deliveries(workspace, subscription_id=sub.id)
        if delivery.status != "pending":
            break
        assert delivery.next_attempt_at is not None
        wait = delivery.next_attempt_at - clock()
        waits.append(wait.total_seconds())
        clock.advance(seconds=wait.total_seconds() - 1)
        assert webhooks.send_due() == 0  # not due yet
        clock.advance(seconds=1)
    assert waits == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert sum(waits) / 3600 == pytest.approx(27.6, abs=0.1)  # about a day
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 8, 500)
    assert delivery.response_body == "boom"
    assert [entry["attempt"] for entry in delivery.log] == list(range(1, 9))
    assert len(receiver.requests) == 8
    # every attempt of a message carries the same webhook-id
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


def test_a_5xx_is_retried_and_a_later_2xx_delivers(
    deals: None,
    service: Callable[..., WebhookService],
    emit: Callable[..., uuid.UUID],
    workspace: str,
    clock: Clock,
):
    receiver = Receiver(httpx.Response(502), httpx.Response(503), httpx.Response(204))
    webhooks = service(receiver)
    _, sub = webhooks.create(workspace, url=URL)
    emit(webhooks)
    webhooks.send_due()
    clock.advance(seconds=5)
    webhooks.send_due()
    clock.advance(seconds=300)
    webhooks.send_due()
    [delivery] = webhooks.deliveries(workspace, subscription_id=sub.id)
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert [e["responseStatus"] for e in delivery.log] == [502, 503, 204]
    assert [e["code"] for e in delivery.log] == ["HTTP_STATUS", "HTTP_STATUS", None]
    assert delivery.error is None and delivery.finished_at == clock()


def test_429_and_503_honour_retry_after_when_it_is_later_than_the_schedule(
    deals: None,
    service: Callable[..., WebhookService],
    emit: Callable[..., uuid.UUID],
    workspace: str,
    clock: Clock,
):
    later = clock() + dt.timedelta(hours=1)
    receiver = Receiver(
        httpx.Response(429, headers={"Retry-After": "3600"}),
        httpx.Response(503, headers={"Retry-After": later.strftime("%a, %d %b %Y %H:%M:%S GMT")}),
        httpx.Response(429, headers={"Retry-After": "10"}),
        httpx.Response(500, headers={"Retry-After": "7200"}),
    )
    webhooks = service(receiver)
    _, sub = webhooks.create(workspace, url=URL)
    emit(webhooks)

    def next_wait() -> float:
        webhooks.send_due()
        [delivery] = webhooks.deliveries(workspace, subscription_id=sub.id)
        assert delivery.next_attempt_at is not None
        wait = (delivery.next_attempt_at - clock()).total_seconds()
        clock.advance(seconds=wait)
        return wait

    assert next_wait() == 3600  # seconds, instead of 5 s
    later = clock() + dt.timedelta(hours=1)
    receiver.answers[0] = httpx.Response(
        503, headers={"Retry-After": later.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    )
    assert next_wait() == 3600  # an HTTP date, instead of 5 min
    assert next_wait() == 1800  # 10 s is sooner than the schedule's 30 min
    assert next_wait() == 7200  # a 500's Retry-After is not honoured: the schedule's 2 h


def test_a_timeout_is_a_failed_attempt_tried_again(
    deals: None,
    service: Callable[..., WebhookService],
    emit: Callable[..., uuid.UUID],
    workspace: str,
    clock: Clock,
):
    receiver = Receiver(httpx.ReadTimeout("too slow"), httpx.ConnectError("refused"), httpx.Response(200))
    webhooks = service(receiver, timeout=15)
    _, sub = webhooks.create(workspace, url=URL)
    emit(webhooks)
    webhooks.send_due()
    [delivery] = webhooks.deliveries(workspace, subscription_id=sub.id)
    assert (delivery.status, delivery.log[0]["code"]) == ("pending", "HTTP_TIMEOUT")
    assert delivery.error == "No answer within 15 s (ReadTimeout)."
    assert delivery.response_status is None
    clock.advance(seconds=5)
    webhooks.send_due()
    clock.advance(seconds=300)
    webhooks.send_due()
    [delivery] = webhooks.deliveries(workspace, subscription_id=sub.id)
    assert [e["code"] for e in delivery.log] == ["HTTP_TIMEOUT", "HTTP_UNAVAILABLE", None]
    assert delivery.status == "delivered"


def test_a_real_server_times_out(deals: None, engine: Engine, workspace: str, clock: Clock):
    """The timeout applies to a real socket: a server that never answers is a timeout."""
    release = threading.Event()

    class Silent(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            release.wait(10)

        def log_message(self, *args: Any) -> None:
            pass

    with local_server(Silent) as url:
        webhooks = WebhookService(engine, clock=clock, allow_private_urls=True, timeout=0.2)
        try:
            _, sub = webhooks.create(workspace, url=url)
            webhooks.queue(fake_event(engine, workspace))
            webhooks.send_due()
        finally:
            release.set()
            webhooks.close()
    [delivery] = webhooks.deliveries(workspace, subscription_id=sub.id)
    assert (delivery.status, delivery.log[0]["code"]) == ("pending", "HTTP_TIMEOUT")


# -- 410 Gone, private addresses, auto-disable -------------------------------------------------------
def test_410_gone_fails_the_delivery_and_disables_the_subscription(
    deals: None,
    engine: Engine,
    service: Callable[..., WebhookService],
    emit: Callable[..., uuid.UUID],
    workspace: str,
):
    receiver = Receiver(httpx.Response(410))
    webhooks = service(receiver, concurrency=1, batch_size=1)
    _, sub = webhooks.create(workspace, url=URL)
    emit(webhooks)
    emit(webhooks)  # a second delivery, still pending when the first hears 410
    assert webhooks.send_due() == 1
    gone = webhooks.subscription(workspace, sub.id)
    assert (gone.enabled, gone.disabled_reason) == (False, "The endpoint answered 410 Gone.")
    statuses = [d.status for d in webhooks.deliveries(workspace, subscription_id=sub.id)]
    assert statuses == ["failed", "failed"]
    assert webhooks.send_due() == 0
    emit(webhooks)  # a disabled subscription receives nothing
    assert len(deliveries_of(engine, sub.id)) == 2
    assert len(receiver.requests) == 1
    events = admin_events(engine, workspace, AdminEventFilter(kind="webhook_subscription_disabled"))
    assert [(e.subject, e.actor) for e in events] == [(str(sub.id), "tessera")]
    # enabling it again starts afresh
    enabled = webhooks.update(workspace, sub.id, enabled=True)
    assert (enabled.enabled, enabled.disabled_reason) == (True, None)


def test_private_addresses_are_refused_unless_allowed(
    deals: None, service: Callable[..., WebhookService], emit: Callable[..., uuid.UUID], workspace: str
):
    strict = service(Receiver(), allow_private_urls=False)
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/", "http://[::1]/"):
        with pytest.raises(TesseraError) as caught:
            strict.create(workspace, url=url)
        assert (caught.value.code, caught.value.path) == ("URL_NOT_ALLOWED", ("url",))
    # allowed by a lenient server, then sent by a strict one: refused when sending, not sent
    receiver = Receiver()
    _, sub = service(receiver).create(workspace, url="http://localhost:9/hook")
    emit(strict)
    assert strict.send_due() == 1
    [delivery] = strict.deliveries(workspace, subscription_id=sub.id)
    assert (delivery.status, delivery.attempts, delivery.log[0]["code"]) == ("failed", 1, "URL_NOT_ALLOWED")
    assert receiver.requests == []
    # with allow_private_urls the same URL is called
    lenient = service(receiver)
    lenient.replay(workspace, delivery.id)
    assert lenient.send_due() == 1
    assert len(receiver.requests) == 1


def test_a_subscription_failing_for_five_days_is_disabled(
    deals: None,
    engine: Engine,
    service: Callable[..., WebhookService],
    emit: Callable[..., uuid.UUID],
    workspace: str,
    clock: Clock,
):
    receiver = Receiver(httpx.Response(500))
    webhooks = service(receiver, schedule=(0,))  # one attempt: each delivery fails at once
    _, sub = webhooks.create(workspace, url=URL)
    started = clock()
    for day in (0, 2, 4):
        emit(webhooks)
        webhooks.send_due()
        clock.advance(days=2)
        assert day == 4 or webhooks.subscription(workspace, sub.id).enabled
    failing = webhooks.subscription(workspace, sub.id)
    assert (failing.failing_since, failing.consecutive_failures) == (started, 3)
    assert failing.enabled  # 4 days of failures so far
    clock.advance(days=-1)
    emit(webhooks)
    webhooks.send_due()  # day 5: still failing
    disabled = webhooks.subscription(workspace, sub.id)
    assert (disabled.enabled, disabled.disabled_reason) == (False, "Every delivery failed for 5 days.")


def test_a_delivered_message_ends_the_failing_run(
    deals: None,
    service: Callable[..., WebhookService],
    emit: Callable[..., uuid.UUID],
    workspace: str,
    clock: Clock,
):
    receiver = Receiver(httpx.Response(500), httpx.Response(200))
    webhooks = service(receiver, schedule=(0,))
    _, sub = webhooks.create(workspace, url=URL)
    emit(webhooks)
    webhooks.send_due()
    assert webhooks.subscription(workspace, sub.id).failing_since == clock()
    clock.advance(days=4)
    emit(webhooks)
    webhooks.send_due()
    healthy = webhooks.subscription(workspace, sub.id)
    assert (healthy.failing_since, healthy.consecutive_failures, healthy.enabled) == (None, 0, True)


# -- the delivery log and replay -------------------------------------------------------------------
def test_the_delivery_log_and_replay(
    deals: None,
    service: Callable[..., WebhookService],
    emit: Callable[..., uuid.UUID],
    workspace: str,
    clock: Clock,
):
    receiver = Receiver(httpx.Response(500, text="x" * 2000), httpx.Response(200, text="thanks"))
    webhooks = service(receiver, schedule=(0,))
    _, sub = webhooks.create(workspace, url=URL)
    emit(webhooks)
    webhooks.send_due()
    [failed] = webhooks.deliveries(workspace, subscription_id=sub.id, status="failed")
    assert failed.response_body == "x" * 500  # an excerpt
    assert failed.log == [
        {
            "attempt": 1,
            "at": clock().isoformat(),
            "responseStatus": 500,
            "code": "HTTP_STATUS",
            "error": "500 Internal Server Error",
            "durationMs": failed.log[0]["durationMs"],
        }
    ]
    clock.advance(minutes=1)
    replay = webhooks.replay(workspace, failed.id)
    assert (replay.status, replay.replay_of, replay.attempts) == ("pending", failed.id, 0)
    assert (replay.message_id, replay.body) == (failed.message_id, failed.body)
    assert webhooks.send_due() == 1
    delivered = webhooks.delivery(workspace, replay.id)
    assert (delivered.status, delivered.response_body, delivered.last_attempt_at) == (
        "delivered",
        "thanks",
        clock(),
    )
    first, second = receiver.requests
    assert first.content == second.content
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]  # signed anew
    assert [d.id for d in webhooks.deliveries(workspace, status="delivered")] == [replay.id]
    with pytest.raises(TesseraError) as caught:
        webhooks.replay(workspace, uuid.uuid4())
    assert (caught.value.code, caught.value.path) == ("UNKNOWN_WEBHOOK_DELIVERY", ("id",))
    with pytest.raises(TesseraError) as caught:
        webhooks.deliveries(workspace, status="lost")
    assert (caught.value.code, caught.value.path) == ("INVALID_VALUE", ("status",))


# -- which events become deliveries ------------------------------------------------------------------
def test_subscriptions_match_object_event_kinds_and_filter(
    deals: None,
    engine: Engine,
    records: RecordService,
    service: Callable[..., WebhookService],
    emit: Callable[..., uuid.UUID],
    workspace: str,
):
    webhooks = service(Receiver())
    _, big = webhooks.create(workspace, url=URL, object="deal", filter={"amount": {"gt": 100}})
    _, updates = webhooks.create(workspace, url=URL, object="deal", events=["updated", "deleted"])
    _, everything = webhooks.create(workspace, url=URL)
    small = emit(webhooks, "deal", {"title": "Small", "amount": 50})
    large = emit(webhooks, "deal", {"title": "Large", "amount": 500})
    emit(webhooks, "note", {"text": "hello"})
    assert [json.loads(d["body"])["data"]["recordId"] for d in deliveries_of(engine, big.id)] == [str(large)]
    assert deliveries_of(engine, updates.id) == []
    assert len(deliveries_of(engine, everything.id)) == 3
    records.update(workspace, "deal", small, {"amount": 150})
    process(engine, webhooks, small)
    assert sorted(json.loads(d["body"])["type"] for d in deliveries_of(engine, big.id)) == [
        "record.created",
        "record.updated",
    ]
    updated = json.loads(deliveries_of(engine, updates.id)[0]["body"])
    assert (updated["type"], updated["data"]["changedFields"]) == ("record.updated", ["amount"])
    assert (updated["data"]["before"]["amount"], updated["data"]["after"]["amount"]) == (50, 150)
    records.delete(workspace, "deal", large)
    process(engine, webhooks, large)
    assert sorted(json.loads(d["body"])["type"] for d in deliveries_of(engine, updates.id)) == [
        "record.deleted",
        "record.updated",
    ]


def test_an_event_becomes_one_delivery_per_subscription_however_often_it_is_handled(
    deals: None,
    engine: Engine,
    records: RecordService,
    service: Callable[..., WebhookService],
    workspace: str,
):
    webhooks = service(Receiver())
    _, sub = webhooks.create(workspace, url=URL)
    record = records.create(workspace, "deal", {"title": "Once"})
    with engine.connect() as conn:
        event = dict(
            conn.execute(sa.select(record_events).where(record_events.c.record_id == record["id"]))
            .mappings()
            .one()
        )
    assert webhooks.queue(event) == 1
    assert webhooks.queue(event) == 1  # a redelivered event
    assert len(deliveries_of(engine, sub.id)) == 1


def test_subscriptions_are_checked(deals: None, service: Callable[..., WebhookService], workspace: str):
    webhooks = service(Receiver())

    def problems(**given: Any) -> list[tuple[str, tuple[Any, ...]]]:
        with pytest.raises(TesseraError) as caught:
            webhooks.create(workspace, **{"url": URL, **given})
        return [(p.code, p.path) for p in caught.value.problems]

    assert problems(url="ftp://example.com/x") == [("INVALID_URL", ("url",))]
    assert problems(url="not a url") == [("INVALID_URL", ("url",))]
    assert problems(events=["created", "archived"]) == [("UNKNOWN_EVENT_TYPE", ("events", 1))]
    assert problems(events=[]) == [("INVALID_VALUE", ("events",))]
    assert problems(object="invoice") == [("UNKNOWN_OBJECT", ("object",))]
    assert problems(filter={"amount": {"gt": 1}}) == [("FILTER_NEEDS_OBJECT", ("filter",))]
    [(code, path)] = problems(object="deal", filter={"nope": {"eq": 1}})
    assert code.startswith("FILTER_") and path[0] == "filter"
    with pytest.raises(TesseraError) as caught:
        webhooks.update(workspace, uuid.uuid4(), enabled=False)
    assert (caught.value.code, caught.value.path) == ("UNKNOWN_WEBHOOK_SUBSCRIPTION", ("id",))


# -- a real HTTP server and the whole path ----------------------------------------------------------
class local_server:
    """An HTTP server on 127.0.0.1 in a thread; ``with local_server(Handler) as url``."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def recording_handler(
    received: list[tuple[dict[str, str], bytes]],
) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def fake_event(engine: Engine, workspace: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "workspace_id": WorkspaceService(engine).get(workspace).id,
        "object_api_name": "deal",
        "record_id": uuid.uuid4(),
        "kind": "created",
        "before": None,
        "after": {"title": "x"},
        "changed_fields": None,
        "created_at": dt.datetime.now(dt.UTC),
    }


def test_a_real_server_receives_a_verifiable_delivery(
    deals: None, engine: Engine, emit: Callable[..., uuid.UUID], workspace: str
):
    received: list[tuple[dict[str, str], bytes]] = []
    with local_server(recording_handler(received)) as url:
        strict = WebhookService(engine, allow_private_urls=False)
        with pytest.raises(TesseraError) as caught:
            strict.create(workspace, url=url)
        assert caught.value.code == "URL_NOT_ALLOWED"
        webhooks = WebhookService(engine, allow_private_urls=True)
        try:
            secret, sub = webhooks.create(workspace, url=url, object="deal")
            record_id = emit(webhooks)
            webhooks.send_due()
        finally:
            webhooks.close()
            strict.close()
    [(headers, body)] = received
    verify(secret, headers, body)
    assert json.loads(body)["data"]["recordId"] == str(record_id)
    assert headers["user-agent"].startswith("Tessera-Webhooks/")
    [delivery] = webhooks.deliveries(workspace, subscription_id=sub.id)
    assert (delivery.status, delivery.response_status, delivery.response_body) == ("delivered", 200, "ok")


def test_the_delivery_runtime_turns_record_events_into_sent_webhooks(
    deals: None, engine: Engine, records: RecordService, workspace: str
):
    received: list[tuple[dict[str, str], bytes]] = []
    with local_server(recording_handler(received)) as url:
        webhooks = WebhookService(engine, allow_private_urls=True)
        secret, _ = webhooks.create(workspace, url=url, object="deal", events=["created"])
        runtime = DeliveryRuntime(engine, "stub://", webhooks=webhooks, worker_threads=1)
        runtime.start()
        try:
            record = records.create(workspace, "deal", {"title": "Sent"})
            assert until(lambda: len(received) == 1)
        finally:
            runtime.stop()
    headers, body = received[0]
    verify(secret, headers, body)
    assert json.loads(body)["data"]["recordId"] == str(record["id"])


# -- the metadata API ------------------------------------------------------------------------------
SUBSCRIPTION_FIELDS = "id url object events filter enabled disabledReason secrets { prefix expiresAt }"


def graphql(client: TestClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = client.post("/graphql/metadata", json={"query": query, "variables": variables or {}})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_metadata_api_manages_subscriptions(
    deals: None, engine: Engine, client: TestClient, workspace: str, api_key_factory: Callable[..., str]
):
    created = graphql(
        client,
        f"""mutation($filter: JSON) {{ createWebhookSubscription(url: "{URL}", object: "deal",
            events: ["created", "updated"], filter: $filter, description: "ERP") {{
              secret subscription {{ {SUBSCRIPTION_FIELDS} }} }} }}""",
        {"filter": {"amount": {"gte": 10}}},
    )["data"]["createWebhookSubscription"]
    secret, sub = created["secret"], created["subscription"]
    assert secret.startswith("whsec_") and sub["secrets"] == [{"prefix": secret[:10], "expiresAt": None}]
    assert (sub["object"], sub["events"], sub["filter"]) == (
        "deal",
        ["created", "updated"],
        {"amount": {"gte": 10}},
    )

    listed = graphql(client, f"{{ webhookSubscriptions {{ {SUBSCRIPTION_FIELDS} }} }}")
    assert listed["data"]["webhookSubscriptions"] == [sub]
    assert secret not in json.dumps(listed)  # never shown again

    updated = graphql(
        client,
        f'mutation {{ updateWebhookSubscription(id: "{sub["id"]}", enabled: false, filter: null, '
        f'events: ["deleted"]) {{ {SUBSCRIPTION_FIELDS} }} }}',
    )["data"]["updateWebhookSubscription"]
    assert (updated["enabled"], updated["filter"], updated["events"], updated["object"]) == (
        False,
        None,
        ["deleted"],
        "deal",
    )

    rotated = graphql(
        client,
        f'mutation {{ rotateWebhookSecret(id: "{sub["id"]}", keepOldForHours: 2) {{ secret subscription {{ secrets {{ prefix expiresAt }} }} }} }}',
    )["data"]["rotateWebhookSecret"]
    assert rotated["secret"] != secret
    assert [s["expiresAt"] is None for s in rotated["subscription"]["secrets"]] == [False, True]

    bad = graphql(
        client,
        'mutation { createWebhookSubscription(url: "http://127.0.0.1/x", events: ["made"]) { secret } }',
    )
    problems = [(p["code"], p["inputPath"]) for p in bad["errors"][0]["extensions"]["problems"]]
    assert problems == [("URL_NOT_ALLOWED", ["url"]), ("UNKNOWN_EVENT_TYPE", ["events", 0])]
    unknown = graphql(client, f'mutation {{ replayWebhookDelivery(id: "{uuid.uuid4()}") {{ id }} }}')
    assert unknown["errors"][0]["extensions"]["code"] == "UNKNOWN_WEBHOOK_DELIVERY"
    none = graphql(
        client, f'{{ webhookDeliveries(subscriptionId: "{sub["id"]}", status: "failed", first: 5) {{ id }} }}'
    )
    assert none["data"]["webhookDeliveries"] == []

    deleted = graphql(client, f'mutation {{ deleteWebhookSubscription(id: "{sub["id"]}") }}')
    assert deleted["data"]["deleteWebhookSubscription"] is True
    gone = graphql(client, f'mutation {{ deleteWebhookSubscription(id: "{sub["id"]}") }}')
    assert (gone["errors"][0]["extensions"]["code"], gone["errors"][0]["extensions"]["inputPath"]) == (
        "UNKNOWN_WEBHOOK_SUBSCRIPTION",
        ["id"],
    )
    kinds = [e.kind for e in admin_events(engine, workspace) if e.kind.startswith("webhook_")]
    assert kinds == [
        "webhook_subscription_deleted",
        "webhook_secret_rotated",
        "webhook_subscription_updated",
        "webhook_subscription_created",
    ]
    assert all(secret not in json.dumps([e.before, e.after]) for e in admin_events(engine, workspace))

    member = api_key_factory(role="member", name="member")
    forbidden = client.post(
        "/graphql/metadata",
        json={"query": "{ webhookSubscriptions { id } }"},
        headers={"Authorization": f"Bearer {member}"},
    ).json()
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_the_metadata_api_lists_and_replays_deliveries(
    deals: None, engine: Engine, client: TestClient, workspace: str, clock: Clock
):
    # disabled, so that the app's own sender (running beside the test) leaves it alone
    created = graphql(
        client,
        f'mutation {{ createWebhookSubscription(url: "{URL}", enabled: false) {{ subscription {{ id }} }} }}',
    )
    sub_id = created["data"]["createWebhookSubscription"]["subscription"]["id"]
    event = fake_event(engine, workspace)
    with engine.begin() as conn:  # a delivery that failed once
        conn.execute(
            sa.insert(webhook_deliveries).values(
                id=uuid.uuid4(),
                workspace_id=event["workspace_id"],
                subscription_id=uuid.UUID(sub_id),
                event_id=event["id"],
                key=f"event:{event['id']}",
                message_id=f"msg_{event['id'].hex}",
                event_type="record.created",
                body=json.dumps(event_payload(workspace, event), default=str),
                status="failed",
                attempts=1,
                response_status=500,
                log=[{"attempt": 1, "responseStatus": 500, "code": "HTTP_STATUS"}],
                created_at=clock(),
                updated_at=clock(),
            )
        )
    listed = graphql(
        client,
        f'{{ webhookDeliveries(subscriptionId: "{sub_id}") {{ id status attempts responseStatus eventType '
        "messageId attemptLog payload error } }",
    )["data"]["webhookDeliveries"]
    [failed] = listed
    assert (failed["status"], failed["attempts"], failed["responseStatus"], failed["eventType"]) == (
        "failed",
        1,
        500,
        "record.created",
    )
    assert failed["payload"]["data"]["workspace"] == workspace
    assert failed["attemptLog"][0]["responseStatus"] == 500
    replayed = graphql(
        client, f'mutation {{ replayWebhookDelivery(id: "{failed["id"]}") {{ status replayOf messageId }} }}'
    )
    assert replayed["data"]["replayWebhookDelivery"] == {
        "status": "pending",
        "replayOf": failed["id"],
        "messageId": failed["messageId"],
    }
    pending = graphql(client, '{ webhookDeliveries(status: "pending") { replayOf } }')["data"][
        "webhookDeliveries"
    ]
    assert pending == [{"replayOf": failed["id"]}]
