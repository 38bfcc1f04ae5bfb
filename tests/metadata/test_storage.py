"""Record tables built from metadata: shared by request threads, never seen half-built."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tessera.metadata.model import MetadataState
from tessera.metadata.storage import Namespace, Tables


def test_threads_sharing_tables_never_see_a_table_half_built(
    object_factory: Callable[..., Any], state: Callable[[], MetadataState], workspace: str
):
    object_factory("company", [{"api_name": "name", "type": "text"}])
    for name in ("person", "deal", "lead", "case", "task"):
        object_factory(
            name,
            [
                {"api_name": "title", "type": "text"},
                {"api_name": "company", "type": "lookup", "options": {"target_object": "company"}},
            ],
        )
    current = state()
    objects = [o for o in current.objects if o.api_name != "company"]
    for _ in range(30):
        tables = Tables(Namespace(workspace, "sqlite"), current)
        start = threading.Barrier(len(objects))

        def use(index: int, tables: Tables = tables, start: threading.Barrier = start) -> None:
            start.wait()
            table = tables.of(objects[index])
            for fk in table.foreign_keys:
                assert fk.column.table.c.id is not None  # resolves to a complete table

        with ThreadPoolExecutor(len(objects)) as pool:
            for done in [pool.submit(use, i) for i in range(len(objects))]:
                done.result()  # raises what the thread raised
