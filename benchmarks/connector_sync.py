"""Benchmark: connector syncs (``ConnectorRuntime.sync_now``) against raw SQL upserts.

A small in-memory connector of this file (``bench_shop``: no network, the source records
are Python dicts already in memory) feeds a workspace with two objects:

- ``brand`` (name, ``source_id`` text unique), synced first: ``--brands`` records (50);
- ``item`` (title text required, price integer whose history is tracked, ``source_id``
  text unique as the external id, ``brand`` a lookup to brand resolved by the stream with
  ``Lookup("/brand", "brand", "source_id")``).

The connection runs as an API key whose custom role may read, create and update items and
brands (so the field permissions are checked as for any connection with a ``run_as``);
its token is a secret sealed by a :class:`SecretBox`. The connector yields a checkpoint
every ``--page-size`` records (500): one transaction per page. Measured on SQLite (a temp
file) and on PostgreSQL (database ``tessera_bench_connectors``), each a records/second
of the whole ``sync_now`` of the ``items`` stream (queue, claim, read, write, finish):

1. initial sync: ``--records`` new items (10,000) — all upserts are creates;
2. incremental sync: 10% of the items changed (title and price, their cursor moved past
   the last checkpoint) — the run reads and updates only those;
3. re-sync of everything, unchanged, from no checkpoint (the stream's ``sync_states`` row
   deleted) — every upsert finds its record; Tessera sees that no value changed and
   writes nothing for it (the count says "updated").

For each, the SQL statements per record the Tessera path sends (counted by a
``before_cursor_execute`` listener on its engine: every SELECT, INSERT, UPDATE, SAVEPOINT,
RELEASE and SQLite's BEGIN; COMMITs go through the driver and are not counted), and a
breakdown by statement and table with the mean time of each in the driver's ``execute``.
The listener is on during the Tessera syncs only, and costs them a few percent.

The baseline, in the same run on the same database, is SQLAlchemy Core on a plain table
with the same columns as the item's record table that matter here (id, created_at,
updated_at, title, price, source_id, brand — same types) and one unique index on
source_id, through a second engine made the same way (same driver, same SQLite pragmas):

1. ``INSERT`` of the N rows, 500 rows per statement (executemany) and per transaction;
2. and 3. one ``INSERT … ON CONFLICT (source_id) DO UPDATE`` per row (the dialect's
   ``insert``, PostgreSQL and SQLite alike), 500 per transaction: the changed 10%, then
   every row (which rewrites each row, changed or not).

The baseline maps a source dict to a row and finds a brand's id in a Python dict. It does
not do what the Tessera path does on top: per record, one SELECT to find the holder of the
external id, value coercion and validation (required, types, unique values checked by a
query, lookup targets that exist, are live and readable by the role), the role's field
permissions, the brand lookup resolved by one SELECT per record, a savepoint per upsert
(two for a create), a ``record_events`` outbox row (what workflows run from) and a
``record_history`` row for the tracked price, re-reading an updated record; per
transaction, the workspace, the data model and the actor's role read again, the stream's
checkpoint and the run's counts saved with the records; per run, the ``sync_runs`` row
(queued, claimed, finished), the connection read and its secrets decrypted. Nor does the
plain table carry the record table's extra columns and indexes (created_by, updated_by,
owner and its index, deleted_at, the lookup's foreign key and index). A ratio is the
baseline's rate over Tessera's.

    .venv/bin/python benchmarks/connector_sync.py [--records 10000] [--brands 50] [--page-size 500]
        [--databases sqlite,postgresql]

When PostgreSQL is unreachable its rows are skipped (and the benchmark says why).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _databases import drop_database, fresh_database
from cryptography.fernet import Fernet
from sqlalchemy.dialects import postgresql, sqlite

from tessera.connectors.connections import SecretBox
from tessera.connectors.runtime import ConnectorRuntime
from tessera.connectors.sdk import (
    AuthenticationError,
    Checkpoint,
    CheckResult,
    Connector,
    Lookup,
    Manifest,
    Record,
    StreamSpec,
)
from tessera.metadata import changes
from tessera.metadata.storage import Tables
from tessera.metadata.store import MetadataStore
from tessera.platform import migrate
from tessera.platform.database import create_engine
from tessera.platform.identity import IdentityService
from tessera.platform.roles import RoleStore
from tessera.platform.tables import sync_states
from tessera.platform.workspaces import WorkspaceService, get_workspace

BENCH_DATABASE = "tessera_bench_connectors"
WORKSPACE = "bench"
CONNECTION = "shop"
TOKEN = "bench-token"
PLAIN_TABLE = "bench_plain_item"

# -- the "remote system" and its connector ------------------------------------------------
#: source records by stream, each with an ``updated`` counter as its cursor
CATALOGUE: dict[str, list[dict[str, Any]]] = {"brands": [], "items": []}


def fill_catalogue(items: int, brands: int) -> None:
    CATALOGUE["brands"] = [{"id": f"B{b}", "name": f"Brand {b}", "updated": b} for b in range(1, brands + 1)]
    CATALOGUE["items"] = [
        {
            "id": f"SKU-{i:07d}",
            "title": f"Item {i}",
            "price": (i * 37) % 100_000,
            "brand": f"B{i % brands + 1}",
            "updated": i,
        }
        for i in range(1, items + 1)
    ]


def change_tenth() -> list[dict[str, Any]]:
    """Every tenth item renamed and repriced, its cursor moved past every other; those items."""
    items = CATALOGUE["items"]
    last = max(row["updated"] for row in items)
    changed = items[::10]
    for n, row in enumerate(changed, 1):
        row.update(title=f"{row['title']} (new)", price=row["price"] + 1, updated=last + n)
    return changed


class BenchShop(Connector):
    manifest = Manifest(
        name="bench_shop",
        version="1.0.0",
        title="Shop (benchmark)",
        description="Brands and items from an in-memory catalogue.",
        config_schema={
            "type": "object",
            "required": ["token"],
            "properties": {
                "token": {"type": "string", "secret": True},
                "page_size": {"type": "integer", "minimum": 1, "default": 500},
            },
            "additionalProperties": False,
        },
        streams=(
            StreamSpec(
                name="brands",
                key="id",
                cursor_field="updated",
                object="brand",
                external_id_field="source_id",
                fields={"name": "/name"},
            ),
            StreamSpec(
                name="items",
                key="id",
                cursor_field="updated",
                object="item",
                external_id_field="source_id",
                fields={
                    "title": "/title",
                    "price": "/price",
                    "brand": Lookup("/brand", "brand", "source_id"),
                },
            ),
        ),
    )

    def check(self, config: Mapping[str, Any]) -> CheckResult:
        return CheckResult.passed() if config.get("token") == TOKEN else CheckResult.failed("Bad token.")

    def read(
        self, config: Mapping[str, Any], stream: str, state: Mapping[str, Any] | None
    ) -> Iterator[Record | Checkpoint]:
        self.manifest.stream(stream)
        if config.get("token") != TOKEN:
            raise AuthenticationError("The shop refused the token.")
        after = (state or {}).get("updated", 0)
        page = int(config.get("page_size", 500))
        rows = sorted((r for r in CATALOGUE[stream] if r["updated"] > after), key=lambda r: r["updated"])
        for start in range(0, len(rows), page):
            chunk = rows[start : start + page]
            for row in chunk:
                yield Record(dict(row))
            yield Checkpoint({"updated": chunk[-1]["updated"]})


# -- counting statements ----------------------------------------------------------------------
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+((?:\"?\w+\"?\.)?\"?\w+\"?)", re.IGNORECASE)


@dataclass
class StatementCounter:
    """The statements an engine sends while :attr:`on`, by kind and table, and the seconds
    spent in the driver's ``execute`` for each kind (the database's share of the time)."""

    on: bool = False
    kinds: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    _current: tuple[str, float] | None = None

    def attach(self, engine: sa.Engine) -> None:
        sa.event.listen(engine, "before_cursor_execute", self.before)
        sa.event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not self.on:
            return
        words = statement.split(None, 1)
        kind = words[0].upper() if words else "?"
        found = _TABLE.search(statement) if kind in ("SELECT", "INSERT", "UPDATE", "DELETE") else None
        if found:
            table = found.group(1).replace('"', "").split(".")[-1]
            kind = f"{kind} {table.removeprefix(f'ws_{WORKSPACE}__')}"
        self.kinds[kind] += 1
        self._current = (kind, time.perf_counter())

    def after(self, *args: Any) -> None:
        if self._current is not None:
            kind, start = self._current
            self.seconds[kind] = self.seconds.get(kind, 0.0) + time.perf_counter() - start
            self._current = None

    def start(self) -> None:
        self.kinds.clear()
        self.seconds.clear()
        self.on = True

    def stop(self) -> tuple[Counter[str], dict[str, float]]:
        self.on = False
        return Counter(self.kinds), dict(self.seconds)


# -- Tessera ------------------------------------------------------------------------------------
def define_model(engine: sa.Engine) -> uuid.UUID:
    """Migrations, the workspace, ``brand`` and ``item``, and the API key the connection
    runs as (its id)."""
    migrate.upgrade(engine)
    WorkspaceService(engine).create(WORKSPACE)
    store = MetadataStore(engine)
    store.apply(
        WORKSPACE,
        changes.create_object(
            {
                "api_name": "brand",
                "fields": [
                    {"api_name": "name", "type": "text", "required": True},
                    {"api_name": "source_id", "type": "text", "unique": True},
                ],
            }
        ),
    )
    store.apply(
        WORKSPACE,
        changes.create_object(
            {
                "api_name": "item",
                "fields": [
                    {"api_name": "title", "type": "text", "required": True},
                    {"api_name": "price", "type": "integer", "track_history": True},
                    {"api_name": "source_id", "type": "text", "unique": True},
                    {"api_name": "brand", "type": "lookup", "options": {"target_object": "brand"}},
                ],
            }
        ),
    )
    grant = {"operations": ["read", "create", "update"]}
    RoleStore(engine).save(WORKSPACE, {"name": "shop_sync", "objects": {"item": grant, "brand": grant}})
    _, key = IdentityService(engine).create_api_key(WORKSPACE, "shop sync", role="shop_sync")
    return key.id


def record_table(engine: sa.Engine, api_name: str) -> sa.Table:
    with engine.connect() as conn:
        workspace = get_workspace(conn, WORKSPACE)
        state = MetadataStore(engine).state(WORKSPACE)
        obj = state.object_named(api_name)
        assert obj is not None
        return Tables(workspace.namespace(conn.dialect.name), state).of(obj)


@dataclass(frozen=True)
class Measured:
    records: int
    seconds: float
    statements: Counter[str]
    #: seconds in the driver's execute, by kind of statement
    in_driver: dict[str, float]

    @property
    def rate(self) -> float:
        return self.records / self.seconds

    @property
    def per_record(self) -> float:
        return sum(self.statements.values()) / self.records


def timed_sync(
    runtime: ConnectorRuntime, counter: StatementCounter, expect: tuple[int, int, int]
) -> Measured:
    """``sync_now`` of the items; ``expect``: (read, created, updated)."""
    counter.start()
    start = time.perf_counter()
    (run,) = runtime.sync_now(WORKSPACE, CONNECTION, stream="items")
    seconds = time.perf_counter() - start
    statements, in_driver = counter.stop()
    got = (run.records_read, run.records_created, run.records_updated)
    if run.status != "succeeded" or got != expect or run.records_failed:
        raise RuntimeError(
            f"items sync: {run.status} {got} (expected {expect}), {run.error} {run.errors[:3]}"
        )
    return Measured(run.records_read, seconds, statements, in_driver)


# -- the baseline ---------------------------------------------------------------------------------
def plain_table(engine: sa.Engine, item: sa.Table) -> sa.Table:
    """The plain table: the item table's columns that the sync writes (same types), a
    unique index on source_id."""
    names = ("id", "created_at", "updated_at", "title", "price", "source_id", "brand")
    table = sa.Table(
        PLAIN_TABLE,
        sa.MetaData(),
        *(sa.Column(n, item.c[n].type, primary_key=n == "id", nullable=n != "source_id") for n in names),
        sa.Index(f"{PLAIN_TABLE}_source_id", "source_id", unique=True),
    )
    table.create(engine)
    return table


class Baseline:
    def __init__(self, engine: sa.Engine, table: sa.Table, brand_ids: Mapping[str, uuid.UUID], page: int):
        self.engine = engine
        self.table = table
        self.brand_ids = brand_ids
        self.page = page
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        upsert = insert(table)
        self.upsert = upsert.on_conflict_do_update(
            index_elements=[table.c.source_id],
            set_={
                "title": upsert.excluded.title,
                "price": upsert.excluded.price,
                "brand": upsert.excluded.brand,
                "updated_at": upsert.excluded.updated_at,
            },
        )

    def row(self, source: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "title": source["title"],
            "price": source["price"],
            "source_id": str(source["id"]),
            "brand": self.brand_ids.get(source["brand"]),
        }

    def pages(self, sources: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        ordered = sorted(sources, key=lambda r: r["updated"])
        for start in range(0, len(ordered), self.page):
            yield ordered[start : start + self.page]

    def warm_up(self) -> None:
        """The connection and both statements' compilation, on a row removed afterwards."""
        probe = {"id": "warm-up", "title": "Warm-up", "price": 0, "brand": None, "updated": 0}
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(sa.insert(self.table), [self.row(probe, now)])
            conn.execute(self.upsert, self.row(probe, now))
            conn.execute(sa.delete(self.table).where(self.table.c.source_id == "warm-up"))

    def insert(self, sources: list[dict[str, Any]]) -> float:
        """Batches of ``page`` rows, one executemany INSERT and one transaction each; seconds."""
        start = time.perf_counter()
        for chunk in self.pages(sources):
            now = _now()
            with self.engine.begin() as conn:
                conn.execute(sa.insert(self.table), [self.row(s, now) for s in chunk])
        return time.perf_counter() - start

    def upsert_rows(self, sources: list[dict[str, Any]]) -> float:
        """One INSERT … ON CONFLICT DO UPDATE per row, ``page`` rows per transaction; seconds."""
        start = time.perf_counter()
        for chunk in self.pages(sources):
            now = _now()
            with self.engine.begin() as conn:
                for source in chunk:
                    conn.execute(self.upsert, self.row(source, now))
        return time.perf_counter() - start


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- one database ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    scenario: str
    database: str
    tessera: Measured
    baseline_rate: float


def check_items(engine: sa.Engine, item: sa.Table, changed: list[dict[str, Any]]) -> None:
    """Every item synced once, with its brand; the changed ones with their new title."""
    with engine.connect() as conn:
        total, without_brand = conn.execute(
            sa.select(sa.func.count(), sa.func.count().filter(item.c.brand.is_(None)))
        ).one()
        titles = dict(
            conn.execute(
                sa.select(item.c.source_id, item.c.title).where(
                    item.c.source_id.in_([r["id"] for r in changed[:50]])
                )
            ).all()
        )
    assert total == len(CATALOGUE["items"]) and without_brand == 0, (total, without_brand)
    assert all(titles[r["id"]] == r["title"] for r in changed[:50]), "an update was lost"


def measure(database: str, url: str, args: argparse.Namespace) -> list[Row]:
    engine = create_engine(url)
    plain_engine = create_engine(url)
    counter = StatementCounter()
    counter.attach(engine)
    rows: list[Row] = []
    try:
        print(f"{database}: model, connection, {args.brands} brands…", file=sys.stderr)
        run_as = define_model(engine)
        fill_catalogue(args.records, args.brands)
        runtime = ConnectorRuntime(
            engine, SecretBox([Fernet.generate_key().decode()]), connectors={"bench_shop": BenchShop}
        )
        connection = runtime.create_connection(
            WORKSPACE, CONNECTION, "bench_shop", {"token": TOKEN, "page_size": args.page_size}, run_as=run_as
        )
        # The brands first (the items' lookups find them); also the warm-up of the sync path.
        (brands,) = runtime.sync_now(WORKSPACE, CONNECTION, stream="brands")
        assert brands.status == "succeeded" and brands.records_created == args.brands, brands
        item, brand = record_table(engine, "item"), record_table(engine, "brand")
        with engine.connect() as conn:
            brand_ids = {key: id_ for key, id_ in conn.execute(sa.select(brand.c.source_id, brand.c.id))}
        baseline = Baseline(plain_engine, plain_table(plain_engine, item), brand_ids, args.page_size)
        baseline.warm_up()
        n = args.records

        print(f"{database}: initial sync of {n} items…", file=sys.stderr)
        initial = timed_sync(runtime, counter, (n, n, 0))
        raw = baseline.insert(CATALOGUE["items"])
        rows.append(Row(f"initial sync ({n} new)", database, initial, n / raw))

        changed = change_tenth()
        print(f"{database}: incremental sync of {len(changed)} changed items…", file=sys.stderr)
        incremental = timed_sync(runtime, counter, (len(changed), 0, len(changed)))
        raw = baseline.upsert_rows(changed)
        rows.append(Row(f"incremental ({len(changed)} changed)", database, incremental, len(changed) / raw))

        print(f"{database}: re-sync of {n} unchanged items from no checkpoint…", file=sys.stderr)
        with engine.begin() as conn:
            deleted = conn.execute(
                sa.delete(sync_states).where(
                    sync_states.c.connection_id == connection.id, sync_states.c.stream == "items"
                )
            )
            assert deleted.rowcount == 1
        resync = timed_sync(runtime, counter, (n, 0, n))
        raw = baseline.upsert_rows(CATALOGUE["items"])
        rows.append(Row(f"re-sync, no checkpoint ({n} unchanged)", database, resync, n / raw))
        check_items(engine, item, changed)
        with plain_engine.connect() as conn:
            plain_count = conn.execute(sa.select(sa.func.count()).select_from(baseline.table)).scalar_one()
        assert plain_count == n, plain_count
    finally:
        plain_engine.dispose()
        engine.dispose()
    return rows


# -- the report ---------------------------------------------------------------------------------------
def report(args: argparse.Namespace, rows: list[Row]) -> None:
    print(
        f"connector syncs: {args.records} items ({args.brands} brands), a checkpoint every "
        f"{args.page_size} records\n"
    )
    header = (
        f"| {'scenario':<42} | {'database':<10} | {'Tessera rec/s':>13} | {'baseline rec/s':>14} "
        f"| {'ratio':>6} | {'SQL/record':>10} |"
    )
    print(header)
    print(f"|{'-' * 44}|{'-' * 12}|{'-' * 14}:|{'-' * 15}:|{'-' * 7}:|{'-' * 11}:|")
    for row in rows:
        t = row.tessera
        print(
            f"| {row.scenario:<42} | {row.database:<10} | {t.rate:>13,.0f} | {row.baseline_rate:>14,.0f} "
            f"| {row.baseline_rate / t.rate:>6.1f} | {t.per_record:>10.2f} |"
        )
    print(
        "\nratio = baseline rec/s / Tessera rec/s. Baseline: (1) INSERT, 500 rows per executemany and "
        "transaction; (2), (3) one INSERT … ON CONFLICT (source_id) DO UPDATE per row, 500 per "
        "transaction. SQL/record: statements the Tessera sync sent per record read (COMMITs not counted)."
    )
    print(
        "\nPer scenario: the statements per record by kind and table, each with its mean time in the "
        "driver's execute (round trip included), and the share of the sync's time spent there."
    )
    for row in rows:
        t = row.tessera
        in_driver = sum(t.in_driver.values())
        parts = ", ".join(
            f"{kind} {count / t.records:.2f} ({t.in_driver.get(kind, 0.0) / count * 1000:.2f}ms)"
            for kind, count in t.statements.most_common()
            if count / t.records >= 0.05
        )
        print(
            f"- {row.scenario}, {row.database}: {t.seconds:.1f}s, {in_driver / t.seconds:.0%} in the "
            f"driver; per record: {parts}; the rest (per run or per transaction) "
            f"{sum(c for c in t.statements.values() if c / t.records < 0.05) / t.records:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000, help="items synced")
    parser.add_argument("--brands", type=int, default=50, help="brands synced first (the items' lookups)")
    parser.add_argument("--page-size", type=int, default=500, help="records per checkpoint (transaction)")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql (default both)"
    )
    args = parser.parse_args()
    wanted = [name.strip() for name in args.databases.split(",") if name.strip()]
    unknown = set(wanted) - {"sqlite", "postgresql"}
    if unknown or args.records < 10 or args.brands < 1:
        parser.error(f"unknown database(s) {sorted(unknown)}" if unknown else "--records ≥ 10, --brands ≥ 1")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        if "sqlite" in wanted:
            rows += measure("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", args)
        if "postgresql" in wanted:
            try:
                url = fresh_database(BENCH_DATABASE)
            except sa.exc.OperationalError as exc:
                print(f"connector sync benchmark: PostgreSQL skipped, it is unreachable ({exc.orig})")
            else:
                try:
                    rows += measure("postgresql", url, args)
                finally:
                    drop_database(BENCH_DATABASE)
    if rows:
        report(args, rows)


if __name__ == "__main__":
    main()
