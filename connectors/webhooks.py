"""Webhooks, signed per the Standard Webhooks specification (https://www.standardwebhooks.com).

**Signing.** A secret is ``whsec_`` + base64 of 32 random bytes; its HMAC key is the
base64-decoded part. A message carries three headers: ``webhook-id`` (the same on every
attempt of a message), ``webhook-timestamp`` (unix seconds of the attempt) and
``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, one per
live secret, separated by spaces. :func:`verify` checks them: the timestamp within five
minutes of now (either way), one signature matching, compared in constant time. Inbound
workflow webhooks (``tessera.platform.webhooks``) use it too.

**Outbound subscriptions.** A workspace subscribes a URL to record events — of one object
or of all, of some kinds (created, updated, deleted, restored, destroyed), optionally only
for records a filter matches. The filter is the API's filter language, compiled by
:func:`tessera.platform.filtering.compile_filter` and evaluated in SQL on the record *as it
is when the event is handled* (like workflow trigger conditions); a destroyed record no
longer exists, so a subscription with a filter never receives ``destroyed`` events.

**Deliveries.** :meth:`WebhookService.handle` (an outbox handler of
``tessera.workflows.delivery``) writes one delivery per matching enabled subscription and
event, once (a unique key). :meth:`WebhookService.send_due` claims due deliveries
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL), POSTs them, and records each attempt:

- 2xx: delivered. Redirects are not followed (a 3xx is a failed attempt).
- 410 Gone: the delivery fails and the subscription is disabled.
- anything else (other statuses, timeouts, refused connections): tried again per
  :data:`RETRY_SCHEDULE` — 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the previous
  attempt (eight attempts over about 27 hours), then the delivery fails. A 429, 502, 503
  or 504 with a ``Retry-After`` (seconds or an HTTP date) later than the schedule waits
  that long instead (at most a day).
- a URL whose host is a loopback, private or reserved address fails at once, unless
  ``allow_private_urls`` (``TESSERA_ALLOW_PRIVATE_URLS``).

**Auto-disable.** Every finally failed delivery extends the subscription's failing run
(``failing_since``: when the first failed delivery of the run was created); a delivered
one ends it. When a delivery fails finally and the run has lasted :data:`DISABLE_AFTER`
(5 days), the subscription is disabled; its pending deliveries fail. Enabling it again
starts afresh; :meth:`WebhookService.replay` sends a past delivery again, as a new
delivery with the same ``webhook-id``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from tessera.metadata.storage import Tables
from tessera.metadata.store import committed_tables
from tessera.platform.audit import record_admin_event
from tessera.platform.database import write_transaction
from tessera.platform.errors import NotFound, PathPart, Problem, TesseraError
from tessera.platform.filtering import compile_filter
from tessera.platform.tables import webhook_deliveries, webhook_subscriptions
from tessera.platform.workspaces import Workspace, get_workspace, workspace_by_id
from tessera.workflows.actions import ActionFailed
from tessera.workflows.http_request import refuse_private_host, retry_after_seconds

__all__ = [
    "Delivery",
    "Subscription",
    "WebhookService",
    "WebhookVerificationError",
    "generate_secret",
    "secret_key",
    "sign",
    "signed_headers",
    "verify",
]

logger = logging.getLogger("tessera.webhooks")
Clock = Callable[[], dt.datetime]

#: the kinds of record events (``record_events.kind``) a subscription may ask for
EVENT_KINDS = ("created", "updated", "deleted", "restored", "destroyed")
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
#: how far a ``webhook-timestamp`` may be from now, either way
TOLERANCE = dt.timedelta(minutes=5)
#: seconds to wait before each attempt after the previous one: the first at once
RETRY_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
#: statuses whose ``Retry-After`` is honoured when it is later than the schedule
RETRY_AFTER_STATUSES = frozenset({429, 502, 503, 504})
#: the longest ``Retry-After`` honoured, in seconds
MAX_RETRY_AFTER = 86_400.0
DEFAULT_TIMEOUT_SECONDS = 20.0
#: how long a rotated-out secret still signs
ROTATION_OVERLAP = dt.timedelta(hours=24)
#: a subscription whose deliveries all failed for this long is disabled
DISABLE_AFTER = dt.timedelta(days=5)
#: characters of a response body kept in the delivery log
RESPONSE_EXCERPT_CHARS = 500
MAX_URL_LENGTH = 2000
DELIVERY_STATUSES = ("pending", "delivered", "failed")
#: who disables a subscription that failed (in the admin events)
SYSTEM_ACTOR = "tessera"


# -- Standard Webhooks ---------------------------------------------------------------------
class WebhookVerificationError(TesseraError):
    """A signed request that does not verify (answered 401); ``code`` says why."""


def generate_secret() -> str:
    """A new signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str | bytes) -> bytes:
    """The HMAC key of ``secret``: the base64-decoded part after ``whsec_``; bytes are a key."""
    if isinstance(secret, bytes):
        return secret
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("A signing secret starts with 'whsec_'.")
    try:
        return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"A signing secret is 'whsec_' and base64: {exc}.") from exc


def whsec_of_key(key: bytes) -> str:
    """The ``whsec_`` form of a raw HMAC key (what Standard Webhooks libraries take)."""
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def sign(secret: str | bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """One signature: ``v1,`` + base64 of HMAC-SHA256 over ``{id}.{timestamp}.{body}``."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(
    signing_secrets: Sequence[str | bytes], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers, one signature per secret."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, message_id, timestamp, body) for s in signing_secrets),
    }


def verify(
    signing_secrets: str | bytes | Sequence[str | bytes],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: dt.datetime | None = None,
    tolerance: dt.timedelta = TOLERANCE,
) -> str:
    """Check a signed request; its ``webhook-id`` when it verifies. ``body`` is the raw body.

    Raises :class:`WebhookVerificationError`: ``WEBHOOK_HEADERS_INVALID`` (a header missing
    or malformed), ``WEBHOOK_TIMESTAMP_STALE`` (more than ``tolerance`` from ``now``),
    ``WEBHOOK_SIGNATURE_INVALID`` (no signature made with any of ``signing_secrets``)."""
    keys = (
        [secret_key(signing_secrets)]
        if isinstance(signing_secrets, str | bytes)
        else [secret_key(s) for s in signing_secrets]
    )
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "").strip()
    signatures = lowered.get("webhook-signature", "")
    if not message_id or not stamp or not signatures:
        raise WebhookVerificationError.single(
            "WEBHOOK_HEADERS_INVALID",
            "Send the headers webhook-id, webhook-timestamp and webhook-signature.",
        )
    if len(message_id) > 255 or not stamp.isdigit():
        raise WebhookVerificationError.single(
            "WEBHOOK_HEADERS_INVALID",
            "webhook-id is at most 255 characters and webhook-timestamp is unix seconds.",
        )
    current = (now or dt.datetime.now(dt.UTC)).timestamp()
    if abs(current - int(stamp)) > tolerance.total_seconds():
        raise WebhookVerificationError.single(
            "WEBHOOK_TIMESTAMP_STALE",
            f"webhook-timestamp is more than {tolerance.total_seconds():g} s from the server's clock.",
        )
    expected = [sign(key, message_id, int(stamp), body).encode() for key in keys]
    matched = False
    for given in signatures.split():
        for candidate in expected:
            # every comparison runs: constant time per signature, whatever matches
            matched |= hmac.compare_digest(candidate, given.encode())
    if not matched:
        raise WebhookVerificationError.single(
            "WEBHOOK_SIGNATURE_INVALID", "No signature in webhook-signature matches the body and secret."
        )
    return message_id


# -- subscriptions and deliveries -------------------------------------------------------------
class _Keep(enum.Enum):
    KEEP = 0


#: an argument of :meth:`WebhookService.update` left as it is
KEEP = _Keep.KEEP


@dataclass(frozen=True)
class SecretInfo:
    """A signing secret, without the secret."""

    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class Subscription:
    id: uuid.UUID
    url: str
    description: str
    object: str | None
    events: tuple[str, ...]
    filter: Mapping[str, Any] | None
    enabled: bool
    disabled_reason: str | None
    secrets: tuple[SecretInfo, ...]
    failing_since: dt.datetime | None
    consecutive_failures: int
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime

    def public(self) -> dict[str, Any]:
        """What the admin events keep of it (no secrets, no password of the URL)."""
        return {
            "url": _display_url(self.url),
            "description": self.description,
            "object": self.object,
            "events": list(self.events),
            "filter": self.filter,
            "enabled": self.enabled,
        }


@dataclass(frozen=True)
class Delivery:
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    message_id: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    response_status: int | None
    response_body: str | None
    error: str | None
    log: list[dict[str, Any]]
    replay_of: uuid.UUID | None
    created_at: dt.datetime
    last_attempt_at: dt.datetime | None
    finished_at: dt.datetime | None
    body: str

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Claimed:
    """A delivery a sender holds for one attempt."""

    id: uuid.UUID
    token: uuid.UUID
    subscription_id: uuid.UUID
    workspace_id: uuid.UUID
    url: str
    secrets: tuple[str, ...]
    message_id: str
    body: str
    attempts: int
    created_at: dt.datetime


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: ``code`` is ``None`` when it was delivered."""

    status: int | None = None
    body: str = ""
    code: str | None = None
    error: str | None = None
    retry_after: float | None = None
    #: no further attempt can help (the URL is refused)
    final: bool = False
    duration_ms: int = 0


def event_payload(workspace_slug: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON a subscriber receives for a record event."""
    created = event["created_at"]
    return {
        "type": f"record.{event['kind']}",
        "timestamp": created.isoformat() if isinstance(created, dt.datetime) else str(created),
        "data": {
            "workspace": workspace_slug,
            "object": event["object_api_name"],
            "recordId": str(event["record_id"]),
            "before": event.get("before"),
            "after": event.get("after"),
            "changedFields": event.get("changed_fields"),
            "eventId": str(event["id"]),
        },
    }


class WebhookService:
    """Outbound webhooks of every workspace: subscriptions, deliveries and their sending.

    ``transport`` (an ``httpx`` transport) and ``clock`` are for tests; ``timeout`` bounds
    each connect, write and read of an attempt."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        allow_private_urls: bool = False,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        schedule: Sequence[float] = RETRY_SCHEDULE,
        disable_after: dt.timedelta = DISABLE_AFTER,
        batch_size: int = 50,
        concurrency: int = 8,
        user_agent: str = "Tessera-Webhooks/0.1",
    ) -> None:
        self.engine = engine
        self.clock: Clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.allow_private_urls = allow_private_urls
        self.timeout = timeout
        self.schedule = tuple(schedule)
        self.disable_after = disable_after
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        #: how long a claimed delivery stays claimed: a sender that died lets it go after this
        self.lease = dt.timedelta(seconds=timeout + 60)
        self._transport = transport
        self._user_agent = user_agent
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        """The pooled HTTP client, made at the first attempt (managing subscriptions needs none)."""
        with self._client_lock:
            if self._client is None:
                # trust_env=False: the subscriber chooses the URL; no proxy or ~/.netrc of ours applies
                self._client = httpx.Client(
                    transport=self._transport,
                    headers={"User-Agent": self._user_agent},
                    follow_redirects=False,
                    trust_env=False,
                )
            return self._client

    def close(self) -> None:
        """Close the pooled connections."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- subscriptions ---------------------------------------------------------------------
    def subscriptions(self, workspace: str) -> list[Subscription]:
        """The workspace's subscriptions, oldest first."""
        table = webhook_subscriptions
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            rows = conn.execute(
                sa.select(table).where(table.c.workspace_id == ws.id).order_by(table.c.created_at, table.c.id)
            ).mappings()
            return [_subscription(r) for r in rows]

    def subscription(self, workspace: str, subscription_id: uuid.UUID) -> Subscription:
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            return _subscription(self._subscription_row(conn, ws, subscription_id, ("id",)))

    def create(
        self,
        workspace: str,
        *,
        url: str,
        events: Sequence[str] | None = None,
        object: str | None = None,  # noqa: A002 - the API's name for it
        filter: Mapping[str, Any] | None = None,  # noqa: A002 - the API's name for it
        enabled: bool = True,
        description: str = "",
        actor: str = SYSTEM_ACTOR,
    ) -> tuple[str, Subscription]:
        """A new subscription (every event kind unless ``events`` names some) and its
        signing secret, which is shown this once."""
        now = self.clock()
        secret = generate_secret()
        kinds = list(EVENT_KINDS) if events is None else list(events)
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            kinds = self._check(conn, ws, url, kinds, object, filter, description)
            subscription_id = uuid.uuid4()
            conn.execute(
                sa.insert(webhook_subscriptions).values(
                    id=subscription_id,
                    workspace_id=ws.id,
                    url=url,
                    description=description,
                    object_api_name=object,
                    events=kinds,
                    filter=dict(filter) if filter else None,
                    enabled=enabled,
                    disabled_reason=None,
                    secrets=[{"secret": secret, "created_at": now.isoformat(), "expires_at": None}],
                    failing_since=None,
                    consecutive_failures=0,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
            )
            created = _subscription(self._subscription_row(conn, ws, subscription_id, ("id",)))
            record_admin_event(
                conn,
                ws.id,
                "webhook_subscription_created",
                str(subscription_id),
                actor,
                after=created.public(),
            )
        return secret, created

    def update(
        self,
        workspace: str,
        subscription_id: uuid.UUID,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        object: str | _Keep | None = KEEP,  # noqa: A002 - the API's name for it
        filter: Mapping[str, Any] | _Keep | None = KEEP,  # noqa: A002 - the API's name for it
        enabled: bool | None = None,
        description: str | None = None,
        actor: str = SYSTEM_ACTOR,
    ) -> Subscription:
        """Change what is given (``None`` for ``object`` or ``filter``: none). Enabling a
        disabled subscription clears its failing run."""
        now = self.clock()
        table = webhook_subscriptions
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            row = self._subscription_row(conn, ws, subscription_id, ("id",))
            before = _subscription(row)
            new_url = before.url if url is None else url
            new_object = before.object if object is KEEP else object
            new_filter = before.filter if filter is KEEP else filter
            new_description = before.description if description is None else description
            kinds = self._check(
                conn,
                ws,
                new_url,
                list(before.events) if events is None else list(events),
                new_object,
                new_filter,
                new_description,
            )
            values: dict[str, Any] = {
                "url": new_url,
                "events": kinds,
                "object_api_name": new_object,
                "filter": dict(new_filter) if new_filter else None,
                "description": new_description,
                "updated_at": now,
            }
            if enabled is not None:
                values["enabled"] = enabled
                if enabled and not before.enabled:
                    values.update(disabled_reason=None, failing_since=None, consecutive_failures=0)
                elif not enabled and before.enabled:
                    values["disabled_reason"] = f"Disabled by {actor}."
            conn.execute(sa.update(table).where(table.c.id == subscription_id).values(**values))
            after = _subscription(self._subscription_row(conn, ws, subscription_id, ("id",)))
            record_admin_event(
                conn,
                ws.id,
                "webhook_subscription_updated",
                str(subscription_id),
                actor,
                before=before.public(),
                after=after.public(),
            )
        return after

    def rotate_secret(
        self,
        workspace: str,
        subscription_id: uuid.UUID,
        *,
        keep_old_for: dt.timedelta = ROTATION_OVERLAP,
        actor: str = SYSTEM_ACTOR,
    ) -> tuple[str, Subscription]:
        """A new signing secret, shown this once; the old ones keep signing for
        ``keep_old_for`` (24 hours by default), so receivers can switch meanwhile."""
        if keep_old_for < dt.timedelta(0) or keep_old_for > dt.timedelta(days=7):
            raise TesseraError.single(
                "INVALID_VALUE", "Keep the old secret for 0 to 168 hours.", ("keepOldForHours",)
            )
        now = self.clock()
        secret = generate_secret()
        table = webhook_subscriptions
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            row = self._subscription_row(conn, ws, subscription_id, ("id",))
            until = now + keep_old_for
            kept = []
            for entry in row["secrets"]:
                expires = _instant(entry.get("expires_at"))
                if expires is not None and expires <= now:
                    continue  # expired: dropped
                kept.append({**entry, "expires_at": min(expires or until, until).isoformat()})
            kept.append({"secret": secret, "created_at": now.isoformat(), "expires_at": None})
            conn.execute(
                sa.update(table).where(table.c.id == subscription_id).values(secrets=kept, updated_at=now)
            )
            rotated = _subscription(self._subscription_row(conn, ws, subscription_id, ("id",)))
            record_admin_event(
                conn,
                ws.id,
                "webhook_secret_rotated",
                str(subscription_id),
                actor,
                after={"secrets": [s.prefix for s in rotated.secrets], "old_valid_until": until.isoformat()},
            )
        return secret, rotated

    def delete(self, workspace: str, subscription_id: uuid.UUID, *, actor: str = SYSTEM_ACTOR) -> None:
        """Delete a subscription and its deliveries."""
        table = webhook_subscriptions
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            before = _subscription(self._subscription_row(conn, ws, subscription_id, ("id",)))
            conn.execute(
                sa.delete(webhook_deliveries).where(webhook_deliveries.c.subscription_id == before.id)
            )
            conn.execute(sa.delete(table).where(table.c.id == subscription_id))
            record_admin_event(
                conn,
                ws.id,
                "webhook_subscription_deleted",
                str(subscription_id),
                actor,
                before=before.public(),
            )

    # -- the delivery log ------------------------------------------------------------------
    def deliveries(
        self,
        workspace: str,
        *,
        subscription_id: uuid.UUID | None = None,
        status: str | None = None,
        first: int = 50,
    ) -> list[Delivery]:
        """Deliveries, newest first: of one subscription, in one status, when given."""
        if status is not None and status not in DELIVERY_STATUSES:
            raise TesseraError.single(
                "INVALID_VALUE", f"A delivery's status is one of {', '.join(DELIVERY_STATUSES)}.", ("status",)
            )
        table = webhook_deliveries
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            query = sa.select(table).where(table.c.workspace_id == ws.id)
            if subscription_id is not None:
                self._subscription_row(conn, ws, subscription_id, ("subscriptionId",))
                query = query.where(table.c.subscription_id == subscription_id)
            if status is not None:
                query = query.where(table.c.status == status)
            rows = conn.execute(
                query.order_by(table.c.created_at.desc(), table.c.id).limit(max(1, min(first, 500)))
            ).mappings()
            return [_delivery(r) for r in rows]

    def delivery(self, workspace: str, delivery_id: uuid.UUID) -> Delivery:
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            return _delivery(self._delivery_row(conn, ws, delivery_id))

    def replay(self, workspace: str, delivery_id: uuid.UUID) -> Delivery:
        """Send a past delivery again: a new delivery of the same message (same body and
        ``webhook-id``), due now, signed with the subscription's current secrets. A
        disabled subscription's replay waits until it is enabled."""
        now = self.clock()
        table = webhook_deliveries
        replay_id = uuid.uuid4()
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            row = self._delivery_row(conn, ws, delivery_id)
            conn.execute(
                sa.insert(table).values(
                    id=replay_id,
                    workspace_id=ws.id,
                    subscription_id=row["subscription_id"],
                    event_id=row["event_id"],
                    key=f"replay:{replay_id}",
                    message_id=row["message_id"],
                    event_type=row["event_type"],
                    body=row["body"],
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    log=[],
                    replay_of=row["id"],
                    created_at=now,
                    updated_at=now,
                )
            )
            return _delivery(self._delivery_row(conn, ws, replay_id))

    # -- from record events to deliveries ----------------------------------------------------
    def handle(self, event: dict[str, Any]) -> None:
        """The outbox handler (``tessera.workflows.delivery``): :meth:`queue` the event."""
        self.queue(event)

    def queue(self, event: Mapping[str, Any]) -> int:
        """Queue a delivery of a record event to every enabled subscription it matches:
        once per subscription and event, however often the event is handled. The number
        of subscriptions it matched."""
        table = webhook_subscriptions
        kind = str(event["kind"])
        object_name = str(event["object_api_name"])
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(table).where(
                        table.c.workspace_id == event["workspace_id"],
                        table.c.enabled,
                        sa.or_(table.c.object_api_name.is_(None), table.c.object_api_name == object_name),
                    )
                )
                .mappings()
                .all()
            )
            candidates = [r for r in rows if kind in (r["events"] or [])]
            if not candidates:
                return 0
            ws = workspace_by_id(conn, event["workspace_id"])
            if ws is None:
                return 0
            tables: list[Tables] = []  # loaded once, when a filter needs it
            matching = [r for r in candidates if self._matches(conn, ws, tables, r, event)]
        if not matching:
            return 0
        now = self.clock()
        body = json.dumps(
            event_payload(ws.slug, event), ensure_ascii=False, separators=(",", ":"), default=str
        )
        event_id = uuid.UUID(str(event["id"]))
        with write_transaction(self.engine) as conn:
            insert = (
                postgresql.insert(webhook_deliveries)
                if conn.dialect.name == "postgresql"
                else sqlite_dialect.insert(webhook_deliveries)
            )
            for row in matching:
                conn.execute(
                    insert.values(
                        id=uuid.uuid4(),
                        workspace_id=ws.id,
                        subscription_id=row["id"],
                        event_id=event_id,
                        key=f"event:{event_id}",
                        message_id=f"msg_{event_id.hex}",
                        event_type=f"record.{kind}",
                        body=body,
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        log=[],
                        created_at=now,
                        updated_at=now,
                    ).on_conflict_do_nothing(index_elements=["subscription_id", "key"])
                )
        return len(matching)

    def _matches(
        self,
        conn: Connection,
        ws: Workspace,
        tables: list[Tables],
        row: sa.RowMapping,
        event: Mapping[str, Any],
    ) -> bool:
        """Whether the event's record, as it is now, passes the subscription's filter."""
        if not row["filter"]:
            return True
        if not tables:
            tables.append(committed_tables(conn, ws))
        obj = tables[0].state.object_named(str(event["object_api_name"]))
        if obj is None:
            return False
        table = tables[0].of(obj)
        try:
            condition = compile_filter(row["filter"], obj, table, tables[0], now=self.clock())
        except TesseraError as exc:  # the data model changed under the filter
            logger.error("webhook subscription %s cannot evaluate its filter: %s", row["id"], exc)
            return False
        record_id = uuid.UUID(str(event["record_id"]))
        return (
            conn.execute(sa.select(table.c.id).where(table.c.id == record_id, condition)).first() is not None
        )

    # -- sending ---------------------------------------------------------------------------
    def send_due(self) -> int:
        """Attempt every due delivery (a batch); the number attempted."""
        claimed = self.claim()
        if len(claimed) <= 1 or self.concurrency == 1:
            for delivery in claimed:
                self.attempt(delivery)
        else:
            workers = min(self.concurrency, len(claimed))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tessera-webhook") as pool:
                list(pool.map(self.attempt, claimed))
        return len(claimed)

    def claim(self) -> list[Claimed]:
        """Hold the due deliveries of enabled subscriptions for one attempt each
        (committed before anything is sent; a sender that dies lets them go after
        ``lease``)."""
        now = self.clock()
        d, s = webhook_deliveries, webhook_subscriptions
        due = sa.and_(d.c.status == "pending", d.c.next_attempt_at <= now, s.c.enabled)
        joined = d.join(s, s.c.id == d.c.subscription_id)
        with self.engine.connect() as conn:
            # A read first: an idle sender takes no write lock (SQLite has one).
            if conn.execute(sa.select(d.c.id).select_from(joined).where(due).limit(1)).first() is None:
                return []
        token = uuid.uuid4()
        with write_transaction(self.engine) as conn:
            query = (
                sa.select(d.c.id)
                .select_from(joined)
                .where(due)
                .order_by(d.c.next_attempt_at)
                .limit(self.batch_size)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=d)  # senders may run side by side
            ids = list(conn.execute(query).scalars())
            if not ids:
                return []
            conn.execute(
                sa.update(d)
                .where(d.c.id.in_(ids))
                .values(lease_token=token, next_attempt_at=now + self.lease)
            )
            rows = conn.execute(
                sa.select(
                    d.c.id,
                    d.c.subscription_id,
                    d.c.workspace_id,
                    d.c.message_id,
                    d.c.body,
                    d.c.attempts,
                    d.c.created_at,
                    s.c.url,
                    s.c.secrets,
                )
                .select_from(joined)
                .where(d.c.id.in_(ids))
                .order_by(d.c.next_attempt_at)
            ).all()
        return [
            Claimed(
                id=r.id,
                token=token,
                subscription_id=r.subscription_id,
                workspace_id=r.workspace_id,
                url=r.url,
                secrets=live_secrets(r.secrets, now),
                message_id=r.message_id,
                body=r.body,
                attempts=r.attempts,
                created_at=r.created_at,
            )
            for r in rows
        ]

    def attempt(self, claimed: Claimed) -> Outcome:
        """POST a claimed delivery and record what happened."""
        outcome = self.post(claimed)
        self.record(claimed, outcome)
        return outcome

    def post(self, claimed: Claimed) -> Outcome:
        """One signed POST of the delivery's body; nothing is written."""
        started = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            url = httpx.URL(claimed.url)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            return Outcome(code="INVALID_URL", error=f"The URL is not valid: {exc}.", final=True)
        if not self.allow_private_urls:
            try:
                refuse_private_host(url)
            except ActionFailed as exc:
                if exc.code == "URL_NOT_ALLOWED":
                    return Outcome(
                        code=exc.code,
                        error=f"{_display_url(claimed.url)} points at a loopback, private or reserved "
                        "address; allow such URLs with TESSERA_ALLOW_PRIVATE_URLS=true.",
                        final=True,
                        duration_ms=took(),
                    )
                return Outcome(code=exc.code, error=str(exc), final=not exc.retryable, duration_ms=took())
        body = claimed.body.encode("utf-8")
        timestamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            **signed_headers(claimed.secrets, claimed.message_id, timestamp, body),
        }
        try:
            with self.client.stream(
                "POST", url, content=body, headers=headers, timeout=self.timeout
            ) as response:
                excerpt = _read_excerpt(response)
        except httpx.TimeoutException as exc:
            return Outcome(
                code="HTTP_TIMEOUT",
                error=f"No answer within {self.timeout:g} s ({type(exc).__name__}).",
                duration_ms=took(),
            )
        except httpx.RequestError as exc:
            return Outcome(code="HTTP_UNAVAILABLE", error=str(exc) or type(exc).__name__, duration_ms=took())
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(status=status, body=excerpt, duration_ms=took())
        retry_after = None
        if status in RETRY_AFTER_STATUSES:
            retry_after = retry_after_seconds(response.headers.get("retry-after"), self.clock())
        return Outcome(
            status=status,
            body=excerpt,
            code="HTTP_STATUS",
            error=f"{status} {response.reason_phrase}".strip(),
            retry_after=retry_after,
            duration_ms=took(),
        )

    def record(self, claimed: Claimed, outcome: Outcome) -> None:
        """Write an attempt's outcome: delivered, due again per the schedule, or failed."""
        now = self.clock()
        d, s = webhook_deliveries, webhook_subscriptions
        attempt = claimed.attempts + 1
        entry = {
            "attempt": attempt,
            "at": now.isoformat(),
            "responseStatus": outcome.status,
            "code": outcome.code,
            "error": outcome.error,
            "durationMs": outcome.duration_ms,
        }
        values: dict[str, Any] = {
            "attempts": attempt,
            "last_attempt_at": now,
            "updated_at": now,
            "response_status": outcome.status,
            "response_body": outcome.body or None,
            "error": outcome.error,
            "lease_token": None,
        }
        mine = sa.and_(d.c.id == claimed.id, d.c.lease_token == claimed.token)
        with write_transaction(self.engine) as conn:
            log = conn.execute(sa.select(d.c.log).where(mine)).scalar()
            if log is None:
                return  # deleted meanwhile, or the claim ran out and another sender took it
            values["log"] = [*log, entry]
            disable: str | None = None
            if outcome.code is None:
                values.update(status="delivered", next_attempt_at=None, finished_at=now)
                conn.execute(
                    sa.update(s)
                    .where(s.c.id == claimed.subscription_id, s.c.consecutive_failures != 0)
                    .values(failing_since=None, consecutive_failures=0)
                )
            elif outcome.status == 410:
                disable = "The endpoint answered 410 Gone."
                values.update(
                    status="failed",
                    next_attempt_at=None,
                    finished_at=now,
                    error=f"{outcome.error}: the endpoint is gone; the subscription was disabled.",
                )
            elif not outcome.final and attempt < len(self.schedule):
                delay = float(self.schedule[attempt])
                if outcome.retry_after is not None:
                    delay = max(delay, min(outcome.retry_after, MAX_RETRY_AFTER))
                values.update(status="pending", next_attempt_at=now + dt.timedelta(seconds=delay))
            else:
                values.update(status="failed", next_attempt_at=None, finished_at=now)
                disable = self._failed_finally(conn, claimed, now)
            conn.execute(sa.update(d).where(mine).values(**values))
            if disable is not None:
                self._disable(conn, claimed.subscription_id, claimed.workspace_id, disable, now)

    def _failed_finally(self, conn: Connection, claimed: Claimed, now: dt.datetime) -> str | None:
        """Extend the subscription's failing run; the reason to disable it, when it lasted."""
        s = webhook_subscriptions
        conn.execute(
            sa.update(s)
            .where(s.c.id == claimed.subscription_id)
            .values(
                failing_since=sa.func.coalesce(s.c.failing_since, claimed.created_at),
                consecutive_failures=s.c.consecutive_failures + 1,
            )
        )
        since = conn.execute(sa.select(s.c.failing_since).where(s.c.id == claimed.subscription_id)).scalar()
        if since is not None and now - since >= self.disable_after:
            days = self.disable_after.total_seconds() / 86_400
            return f"Every delivery failed for {days:g} days."
        return None

    def _disable(
        self,
        conn: Connection,
        subscription_id: uuid.UUID,
        workspace_id: uuid.UUID,
        reason: str,
        now: dt.datetime,
    ) -> None:
        """Disable a subscription (410 Gone, or failing for long); its pending deliveries fail."""
        s, d = webhook_subscriptions, webhook_deliveries
        changed = conn.execute(
            sa.update(s)
            .where(s.c.id == subscription_id, s.c.enabled)
            .values(enabled=False, disabled_reason=reason, updated_at=now)
        )
        if not changed.rowcount:
            return
        conn.execute(
            sa.update(d)
            .where(d.c.subscription_id == subscription_id, d.c.status == "pending")
            .values(
                status="failed",
                next_attempt_at=None,
                lease_token=None,
                finished_at=now,
                updated_at=now,
                error=f"The subscription was disabled before this was delivered: {reason}",
            )
        )
        logger.warning("webhook subscription %s disabled: %s", subscription_id, reason)
        record_admin_event(
            conn,
            workspace_id,
            "webhook_subscription_disabled",
            str(subscription_id),
            SYSTEM_ACTOR,
            after={"reason": reason},
        )

    # -- helpers ---------------------------------------------------------------------------
    def _check(
        self,
        conn: Connection,
        ws: Workspace,
        url: str,
        events: list[str],
        object_name: str | None,
        filter_doc: Mapping[str, Any] | None,
        description: str,
    ) -> list[str]:
        """The event kinds, deduplicated, when the subscription is valid; else every problem."""
        problems = self._check_url(url)
        kinds: list[str] = []
        if not events:
            problems.append(Problem("INVALID_VALUE", "Name at least one event kind.", ("events",)))
        for index, kind in enumerate(events):
            if kind not in EVENT_KINDS:
                problems.append(
                    Problem(
                        "UNKNOWN_EVENT_TYPE",
                        f"'{kind}' is not an event kind; use {', '.join(EVENT_KINDS)}.",
                        ("events", index),
                    )
                )
            elif kind not in kinds:
                kinds.append(kind)
        if len(description) > 200:
            problems.append(
                Problem("VALUE_TOO_LONG", "A description is at most 200 characters.", ("description",))
            )
        if object_name is not None or filter_doc:
            tables = committed_tables(conn, ws)
            obj = None if object_name is None else tables.state.object_named(object_name)
            if object_name is not None and obj is None:
                problems.append(
                    Problem("UNKNOWN_OBJECT", f"There is no object '{object_name}'.", ("object",))
                )
            if filter_doc and object_name is None:
                problems.append(
                    Problem(
                        "FILTER_NEEDS_OBJECT",
                        "A filter applies to one object's records: name the object too.",
                        ("filter",),
                    )
                )
            elif filter_doc and obj is not None:
                if not isinstance(filter_doc, Mapping):
                    problems.append(Problem("INVALID_VALUE", "A filter is a JSON object.", ("filter",)))
                else:
                    try:
                        compile_filter(filter_doc, obj, tables.of(obj), tables, now=self.clock())
                    except TesseraError as exc:
                        problems.extend(exc.problems)
        if problems:
            raise TesseraError(problems)
        return kinds

    def _check_url(self, text: str) -> list[Problem]:
        """Problems of a subscription's URL. A host given as a private or loopback address
        (or ``localhost``) is refused here; names are resolved and checked at each attempt."""
        path: tuple[PathPart, ...] = ("url",)
        if len(text) > MAX_URL_LENGTH:
            return [Problem("INVALID_URL", f"A URL is at most {MAX_URL_LENGTH} characters.", path)]
        try:
            url = httpx.URL(text)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            return [Problem("INVALID_URL", f"The URL '{text}' is not valid: {exc}.", path)]
        if url.scheme not in ("http", "https") or not url.host:
            return [
                Problem(
                    "INVALID_URL",
                    f"The URL '{text}' is not an absolute http or https URL (like https://example.com/hook).",
                    path,
                )
            ]
        if not self.allow_private_urls and _names_private_host(url.host):
            return [
                Problem(
                    "URL_NOT_ALLOWED",
                    f"The URL '{_display_url(text)}' points at a loopback or private address; allow "
                    "such URLs with TESSERA_ALLOW_PRIVATE_URLS=true.",
                    path,
                )
            ]
        return []

    @staticmethod
    def _subscription_row(
        conn: Connection, ws: Workspace, subscription_id: uuid.UUID, path: tuple[PathPart, ...]
    ) -> sa.RowMapping:
        table = webhook_subscriptions
        row = (
            conn.execute(sa.select(table).where(table.c.id == subscription_id, table.c.workspace_id == ws.id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound.single(
                "UNKNOWN_WEBHOOK_SUBSCRIPTION", f"There is no webhook subscription {subscription_id}.", path
            )
        return row

    @staticmethod
    def _delivery_row(conn: Connection, ws: Workspace, delivery_id: uuid.UUID) -> sa.RowMapping:
        table = webhook_deliveries
        row = (
            conn.execute(sa.select(table).where(table.c.id == delivery_id, table.c.workspace_id == ws.id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound.single(
                "UNKNOWN_WEBHOOK_DELIVERY", f"There is no webhook delivery {delivery_id}.", ("id",)
            )
        return row


def live_secrets(stored: Sequence[Mapping[str, Any]], now: dt.datetime) -> tuple[str, ...]:
    """The secrets that sign at ``now``: newest first."""
    live = [
        entry["secret"]
        for entry in stored
        if (expires := _instant(entry.get("expires_at"))) is None or expires > now
    ]
    return tuple(reversed(live))


def _read_excerpt(response: httpx.Response) -> str:
    """The start of the response body, as text; what could not be read is left out."""
    limit = RESPONSE_EXCERPT_CHARS * 4
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except httpx.HTTPError:
        pass  # the status is the answer; a body cut short is still an excerpt
    return b"".join(chunks)[:limit].decode("utf-8", errors="replace")[:RESPONSE_EXCERPT_CHARS]


def _names_private_host(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a literal non-public address (no DNS lookup)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def _display_url(text: str) -> str:
    """``text`` without the password of its user info."""
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError):
        return text
    return str(url.copy_with(username=None, password=None)) if url.userinfo else text


def _instant(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _subscription(row: sa.RowMapping) -> Subscription:
    return Subscription(
        id=row["id"],
        url=row["url"],
        description=row["description"],
        object=row["object_api_name"],
        events=tuple(row["events"]),
        filter=row["filter"],
        enabled=bool(row["enabled"]),
        disabled_reason=row["disabled_reason"],
        secrets=tuple(
            SecretInfo(
                prefix=str(entry["secret"])[: len(SECRET_PREFIX) + 4],
                created_at=_instant(entry["created_at"]) or row["created_at"],
                expires_at=_instant(entry.get("expires_at")),
            )
            for entry in row["secrets"]
        ),
        failing_since=row["failing_since"],
        consecutive_failures=row["consecutive_failures"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _delivery(row: sa.RowMapping) -> Delivery:
    return Delivery(
        id=row["id"],
        subscription_id=row["subscription_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        message_id=row["message_id"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
        response_status=row["response_status"],
        response_body=row["response_body"],
        error=row["error"],
        log=list(row["log"] or []),
        replay_of=row["replay_of"],
        created_at=row["created_at"],
        last_attempt_at=row["last_attempt_at"],
        finished_at=row["finished_at"],
        body=row["body"],
    )
