"""Delivery of record events to Dramatiq workers, losing none.

The record service writes an event (``record_events``) in the transaction of each record
change. The :class:`OutboxDispatcher` claims events that were never dispatched — or were
dispatched ``redeliver_after`` ago and are still not processed — stamps ``dispatched_at``,
commits, and only then enqueues one message per event. A crash between the commit and the
enqueue leaves the event unprocessed, so it is sent again later: delivery is at least
once. The worker's actor skips an event already processed, and stamps ``processed_at``
after its handlers ran, so each event's handlers complete once.

Brokers come from ``TESSERA_BROKER_URL``: ``stub://`` (in-process, the embedded default),
``redis://…`` or ``amqp://…``. Retries are Tessera's (a few, over minutes), not
Dramatiq's default of twenty over days.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dramatiq
import sqlalchemy as sa
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries
from sqlalchemy.engine import Engine

from tessera.platform.database import write_transaction
from tessera.platform.tables import record_events
from tessera.workflows.engine import WorkflowEngine
from tessera.workflows.scheduler import RUN_QUEUE, WorkflowScheduler, register_run_actor

if TYPE_CHECKING:
    from tessera.connectors.runtime import ConnectorRuntime
    from tessera.connectors.webhooks import WebhookService

logger = logging.getLogger("tessera.delivery")

QUEUE = "tessera_record_events"
ACTOR = "process_record_event"
#: retries of a failed event: a few, backing off from 5 seconds to 5 minutes
MAX_RETRIES = 5
MIN_BACKOFF_MS = 5_000
MAX_BACKOFF_MS = 300_000

#: what runs for each event; the workflow engine registers itself here
EventHandler = Callable[[dict[str, Any]], None]


def create_broker(url: str) -> dramatiq.Broker:
    """The Dramatiq broker named by ``url``, with Tessera's retry policy."""
    if url.startswith("stub:"):
        broker: dramatiq.Broker = StubBroker()
    elif url.startswith(("redis:", "rediss:")):
        broker = RedisBroker(url=url)  # type: ignore[no-untyped-call]
    elif url.startswith(("amqp:", "amqps:")):
        broker = RabbitmqBroker(url=url)
    else:
        raise ValueError(f"TESSERA_BROKER_URL must be stub://, redis://… or amqp://…, not {url!r}")
    for middleware in broker.middleware:
        if isinstance(middleware, Retries):
            middleware.max_retries = MAX_RETRIES
            middleware.min_backoff = MIN_BACKOFF_MS
            middleware.max_backoff = MAX_BACKOFF_MS
    return broker


@dataclass
class EventProcessor:
    """Runs the handlers of one event, once: the worker's side of delivery."""

    engine: Engine
    handlers: Sequence[EventHandler] = ()
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    def process(self, event_id: str) -> bool:
        """Handle an event unless it was already; ``True`` when this call handled it.

        The handlers run outside any transaction of ours (they write through the record
        service, in their own), so two deliveries racing may both run them: handlers are
        idempotent per event (the engine starts one run per workflow and event)."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(record_events).where(record_events.c.id == uuid.UUID(event_id)))
                .mappings()
                .first()
            )
        if row is None or row["processed_at"] is not None:
            return False
        event = dict(row)
        for handler in self.handlers:
            handler(event)
        with write_transaction(self.engine) as conn:
            marked = conn.execute(
                sa.update(record_events)
                .where(record_events.c.id == event["id"], record_events.c.processed_at.is_(None))
                .values(processed_at=self.clock())
            )
            return bool(marked.rowcount)


def register_actor(broker: dramatiq.Broker, processor: EventProcessor) -> dramatiq.Actor[[str], None]:
    """The actor that processes record events, on ``broker``."""

    def process_record_event(event_id: str) -> None:
        # Nothing is returned: Dramatiq would warn that results are discarded.
        processor.process(event_id)

    return dramatiq.Actor(
        process_record_event, broker=broker, actor_name=ACTOR, queue_name=QUEUE, priority=0, options={}
    )


class OutboxDispatcher:
    """Hands record events to the broker after their transaction committed."""

    def __init__(
        self,
        engine: Engine,
        actor: dramatiq.Actor[[str], None],
        *,
        redeliver_after: dt.timedelta = dt.timedelta(minutes=5),
        batch_size: int = 500,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.engine = engine
        self.actor = actor
        self.redeliver_after = redeliver_after
        self.batch_size = batch_size
        self.clock = clock

    def claim(self) -> list[uuid.UUID]:
        """Stamp and return the events to send now (committed before anything is sent)."""
        now = self.clock()
        due = sa.or_(
            record_events.c.dispatched_at.is_(None),
            sa.and_(
                record_events.c.processed_at.is_(None),
                record_events.c.dispatched_at < now - self.redeliver_after,
            ),
        )
        with self.engine.connect() as conn:
            # A read first: an idle dispatcher takes no write lock (SQLite has one).
            if conn.execute(sa.select(record_events.c.id).where(due).limit(1)).first() is None:
                return []
        with write_transaction(self.engine) as conn:
            query = (
                sa.select(record_events.c.id)
                .where(due)
                .order_by(record_events.c.created_at)
                .limit(self.batch_size)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)  # dispatchers may run side by side
            ids = list(conn.execute(query).scalars())
            if ids:
                conn.execute(
                    sa.update(record_events).where(record_events.c.id.in_(ids)).values(dispatched_at=now)
                )
        return ids

    def dispatch_once(self) -> int:
        """Send what is due; the number of events sent."""
        ids = self.claim()
        for event_id in ids:
            self.actor.send(str(event_id))
        return len(ids)


def poll(stop: threading.Event, tick: Callable[[], int], what: str, interval: float = 0.2) -> None:
    """Call ``tick`` until ``stop`` is set, pausing ``interval`` when it had nothing to do
    (the loops of the outbox dispatcher and the workflow scheduler)."""
    while not stop.is_set():
        try:
            done = tick()
        except Exception:  # a database or broker outage: log, wait, go on
            logger.exception("%s failed; retrying", what)
            done = 0
        if not done:
            stop.wait(interval)


class DeliveryRuntime:
    """A broker, its worker threads, the outbox dispatcher and the workflow scheduler,
    started and stopped together: what ``tessera worker`` runs, and what ``tessera serve``
    runs in-process on the embedded default (``stub://``). With ``workflows``, the engine
    handles record events and its runs are executed here. With ``webhooks``, record events
    become webhook deliveries, and a loop sends those that are due. With ``connectors``,
    connector syncs run here as jobs, and a loop starts those their schedule makes due."""

    def __init__(
        self,
        engine: Engine,
        broker_url: str,
        *,
        handlers: Sequence[EventHandler] = (),
        workflows: WorkflowEngine | None = None,
        webhooks: WebhookService | None = None,
        connectors: ConnectorRuntime | None = None,
        worker_threads: int = 4,
        redeliver_after: dt.timedelta = dt.timedelta(minutes=5),
    ) -> None:
        self.broker = create_broker(broker_url)
        if workflows is not None:
            handlers = [*handlers, workflows.handle]
        self.webhooks = webhooks
        if webhooks is not None:
            handlers = [*handlers, webhooks.handle]
        self.processor = EventProcessor(engine, handlers)
        self.actor = register_actor(self.broker, self.processor)
        self.dispatcher = OutboxDispatcher(engine, self.actor, redeliver_after=redeliver_after)
        queues = {QUEUE}
        self.scheduler: WorkflowScheduler | None = None
        if workflows is not None:
            self.scheduler = WorkflowScheduler(workflows, register_run_actor(self.broker, workflows))
            queues.add(RUN_QUEUE)
        self.connectors = connectors
        if connectors is not None:
            queues.add(connectors.attach(self.broker).queue_name)
        self.worker = dramatiq.Worker(
            self.broker, queues=queues, worker_threads=worker_threads, worker_timeout=100
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self.worker.start()
        loops: list[tuple[str, str, Callable[[], int]]] = [
            ("tessera-dispatcher", "dispatching record events", self.dispatcher.dispatch_once)
        ]
        if self.scheduler is not None:
            loops.append(("tessera-scheduler", "the workflow scheduler's tick", self.scheduler.tick))
        if self.webhooks is not None:
            loops.append(("tessera-webhooks", "sending webhooks", self.webhooks.send_due))
        if self.connectors is not None:
            loops.append(("tessera-connectors", "starting scheduled syncs", self.connectors.tick))
        for name, what, tick in loops:
            thread = threading.Thread(target=poll, args=(self._stop, tick, what), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self.worker.stop()
        self.broker.close()
        if self.webhooks is not None:
            self.webhooks.close()
