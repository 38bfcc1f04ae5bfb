"""Benchmark: metadata changes on a 200-object  x  30-field workspace.

For each database (SQLite in a temporary folder; PostgreSQL when reachable), measures
Tessera applying (1) the whole data model as one document and (2) adding one field, and
compares each with its raw-SQL baseline measured in the same run: the very DDL of the
plan (rendered by a dry run in a scratch workspace) executed directly, in one
transaction. The ratio is Tessera's time over the baseline's: what validation, planning,
data checks and metadata bookkeeping cost on top of the DDL itself.

    .venv/bin/python benchmarks/metadata_changes.py [--objects 200] [--fields 30] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _databases import fresh_database

from tessera.metadata import changes
from tessera.metadata.document import document_state
from tessera.metadata.store import MetadataStore
from tessera.platform import migrate
from tessera.platform.database import create_engine, write_transaction
from tessera.platform.workspaces import WorkspaceService

BENCH_DATABASE = "tessera_bench_metadata"
TYPES = ["text", "integer", "decimal", "boolean", "date", "datetime", "email", "url", "long_text", "percent"]


def model(objects: int, fields: int) -> dict[str, Any]:
    """A data model of ``objects`` objects, each with ``fields`` fields, one a lookup."""
    return {
        "objects": [
            {
                "api_name": f"object_{i}",
                "fields": [
                    {"api_name": f"field_{j}", "type": TYPES[j % len(TYPES)]} for j in range(fields - 1)
                ]
                + [
                    {"api_name": "parent", "type": "lookup", "options": {"target_object": f"object_{i - 1}"}}
                    if i
                    else {"api_name": "note", "type": "text"}
                ],
            }
            for i in range(objects)
        ]
    }


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def plan_sql(store: MetadataStore, slug: str, edit: Callable[..., Any]) -> list[str]:
    """The SQL a change runs, from a dry run."""
    result = store.apply(slug, edit, dry_run=True)
    return [sql for step in result.plan for sql in step["sql"] if not sql.startswith("--")]


def run_raw(engine: sa.Engine, statements: list[str]) -> None:
    with write_transaction(engine) as conn:
        for statement in statements:
            conn.exec_driver_sql(statement.rstrip(";"))


def measure(engine: sa.Engine, objects: int, fields: int, repeat: int) -> list[tuple[str, float, float]]:
    migrate.upgrade(engine)
    workspaces = WorkspaceService(engine)
    store = MetadataStore(engine)
    document = model(objects, fields)
    rows = []

    def apply_document(current: Any) -> Any:
        return document_state(document, current)

    # The whole model: Tessera in one workspace, its DDL run raw in another.
    workspaces.create("tessera")
    workspaces.create("raw")
    tessera_seconds = timed(lambda: store.apply("tessera", apply_document))
    raw_seconds = timed(lambda: run_raw(engine, plan_sql(store, "raw", apply_document)))
    rows.append((f"apply a {objects}x{fields} model", tessera_seconds, raw_seconds))

    # Adding one field to that model, repeated: medians.
    workspaces.create("scratch")
    store.apply("scratch", apply_document)
    tessera_runs, raw_runs = [], []
    for n in range(repeat):
        edit = changes.create_field(f"object_{objects // 2}", {"api_name": f"extra_{n}", "type": "text"})
        tessera_runs.append(timed(lambda edit=edit: store.apply("tessera", edit)))
        raw_edit = changes.create_field(f"object_{objects // 2}", {"api_name": f"extra_{n}", "type": "text"})
        statements = plan_sql(store, "scratch", raw_edit)
        statements = [s.replace("ws_scratch", "ws_raw") for s in statements]
        raw_runs.append(timed(lambda statements=statements: run_raw(engine, statements)))
    rows.append(("add one field", statistics.median(tessera_runs), statistics.median(raw_runs)))
    rows.append(
        (
            "load the model",
            statistics.median(timed(lambda: store.state("tessera")) for _ in range(repeat)),
            statistics.median(timed(lambda: read_metadata_rows(engine)) for _ in range(repeat)),
        )
    )
    return rows


def read_metadata_rows(engine: sa.Engine) -> None:
    """The baseline for loading a model: fetching its metadata rows, nothing more."""
    with engine.connect() as conn:
        workspace = "(SELECT id FROM workspaces WHERE slug = 'tessera')"
        for table in ("objects", "fields"):
            conn.exec_driver_sql(
                f"SELECT * FROM {table} WHERE workspace_id = {workspace} ORDER BY position"
            ).all()


def postgres_engine() -> sa.Engine | None:
    try:
        return create_engine(fresh_database(BENCH_DATABASE))
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL skipped: {exc.orig}")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--fields", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engines = {"sqlite": create_engine(f"sqlite:///{Path(folder) / 'bench.db'}")}
        postgres = postgres_engine()
        if postgres is not None:
            engines["postgresql"] = postgres
        print(f"{'database':<11} {'operation':<26} {'tessera':>10} {'raw SQL':>10} {'ratio':>7}")
        for name, engine in engines.items():
            for operation, tessera_seconds, raw_seconds in measure(
                engine, args.objects, args.fields, args.repeat
            ):
                print(
                    f"{name:<11} {operation:<26} {tessera_seconds * 1000:>8.0f}ms "
                    f"{raw_seconds * 1000:>8.0f}ms {tessera_seconds / raw_seconds:>7.1f}"
                )
            engine.dispose()


if __name__ == "__main__":
    main()
