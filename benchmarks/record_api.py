"""Benchmark: the record API over HTTP against the raw SQL that returns the same JSON.

Seeds a workspace through the metadata store with ``company`` (2,000 rows) and ``person``
(100,000 rows, 20 fields, one a lookup to company) — rows through the record service —
starts ``tessera serve`` in another process, then measures, on SQLite and on PostgreSQL
(when reachable):

- a list of 10,000 people with their company (20 fields + 3 of the company);
- the same list for an API key whose role reaches only its own people (every person is
  given to it, so both lists return the same rows: the difference is the permission's cost);
- one person by id with its company;
- rebuilding the GraphQL schema of a 200-object x 30-field model.

Each figure is the median of ``--repeat`` runs, next to its baseline measured in the same
run (hand-written SQL building the same JSON in the database, fetched by the driver) and
the ratio of the two.

    .venv/bin/python benchmarks/record_api.py [--people 100000] [--companies 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
import sqlalchemy as sa
from _databases import fresh_database

from tessera.metadata.document import document_state
from tessera.platform.database import create_engine
from tessera.platform.identity import IdentityService
from tessera.platform.records import RecordService
from tessera.platform.roles import RoleStore
from tessera.schema.record_api import build_record_schema

BENCH_DATABASE = "tessera_bench_records"
WORKSPACE = "bench"
STATUSES = ["lead", "customer", "churned"]
TAGS = ["vip", "newsletter", "partner", "press"]
PERSON_FIELDS: list[dict[str, Any]] = [
    {"api_name": "first_name", "type": "text"},
    {"api_name": "last_name", "type": "text"},
    {"api_name": "email", "type": "email"},
    {"api_name": "phone", "type": "phone"},
    {"api_name": "job_title", "type": "text"},
    {"api_name": "city", "type": "text"},
    {"api_name": "country", "type": "text"},
    {"api_name": "street", "type": "text"},
    {"api_name": "zip", "type": "text"},
    {"api_name": "birthday", "type": "date"},
    {"api_name": "score", "type": "integer"},
    {"api_name": "revenue", "type": "decimal", "options": {"precision": 14, "scale": 2}},
    {"api_name": "vip", "type": "boolean"},
    {"api_name": "status", "type": "select", "options": {"choices": [{"value": s} for s in STATUSES]}},
    {"api_name": "tags", "type": "multi_select", "options": {"choices": [{"value": t} for t in TAGS]}},
    {"api_name": "last_contacted_at", "type": "datetime"},
    {"api_name": "notes", "type": "long_text"},
    {"api_name": "website", "type": "url"},
    {"api_name": "rating", "type": "percent"},
    {"api_name": "company", "type": "lookup", "options": {"target_object": "company"}},
]
PERSON_COLUMNS = [f["api_name"] for f in PERSON_FIELDS]
LIST_QUERY = (
    "query($n: Int) { people(first: $n) { edges { node { "
    + " ".join(name if name not in ("status", "tags", "company") else "" for name in PERSON_COLUMNS)
    + " status { value } tags { value } company { name domain industry } } } } }"
)
ONE_QUERY = (
    "query($id: ID!) { person(id: $id) { "
    + " ".join(name for name in PERSON_COLUMNS if name not in ("status", "tags", "company"))
    + " status { value } tags { value } company { name domain industry } } }"
)


COMPANY_FIELDS = [
    {"api_name": "name", "type": "text"},
    {"api_name": "domain", "type": "text"},
    {"api_name": "industry", "type": "text"},
]
CREATE_OBJECT = """mutation($input: CreateObjectInput!) { createObject(input: $input) { applied } }"""


def define_model(base: str, headers: dict[str, str]) -> None:
    """The two objects, through the metadata API of the running server."""
    for api_name, plural, fields in (
        ("company", "Companies", COMPANY_FIELDS),
        ("person", "People", PERSON_FIELDS),
    ):
        data = {
            "apiName": api_name,
            "labelPlural": plural,
            "fields": [
                {
                    "apiName": f["api_name"],
                    "type": f["type"],
                    **({"options": f["options"]} if "options" in f else {}),
                }
                for f in fields
            ],
        }
        answer = httpx.post(
            f"{base}/graphql/metadata",
            json={"query": CREATE_OBJECT, "variables": {"input": data}},
            headers=headers,
        ).json()
        assert "errors" not in answer, answer["errors"]


def seed(engine: sa.Engine, base: str, headers: dict[str, str], people: int, companies: int) -> list[str]:
    """The model through the metadata API, the rows through the record service."""
    define_model(base, headers)
    records = RecordService(engine)
    rng = random.Random(7)
    company_ids: list[str] = []
    for start in range(0, companies, 1000):
        batch = [
            {
                "name": f"Company {i}",
                "domain": f"company{i}.example",
                "industry": rng.choice(["saas", "retail", "bank"]),
            }
            for i in range(start, min(start + 1000, companies))
        ]
        company_ids += [str(r["id"]) for r in records.create_many(WORKSPACE, "company", batch)]
    person_ids: list[str] = []
    for start in range(0, people, 1000):
        batch = []
        for i in range(start, min(start + 1000, people)):
            batch.append(
                {
                    "first_name": f"First{i}",
                    "last_name": f"Last{i}",
                    "email": f"person{i}@example.com",
                    "phone": f"+3361234{i % 10000:04d}",
                    "job_title": "Buyer",
                    "city": "Lyon",
                    "country": "FR",
                    "street": f"{i} rue de la Paix",
                    "zip": "69001",
                    "birthday": f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}",
                    "score": i % 100,
                    "revenue": f"{i % 1000}.{i % 100:02d}",
                    "vip": i % 7 == 0,
                    "status": STATUSES[i % 3],
                    "tags": TAGS[: i % 3],
                    "last_contacted_at": "2026-11-01T10:00:00+00:00",
                    "notes": "Met at the fair.",
                    "website": f"https://person{i}.example",
                    "rating": "42.50",
                    "company": company_ids[i % len(company_ids)],
                }
            )
        person_ids += [str(r["id"]) for r in records.create_many(WORKSPACE, "person", batch)]
    return person_ids


def raw_list_sql(dialect: str, table: Callable[[str], str]) -> str:
    """Hand-written SQL building the same JSON as the list query."""
    people, company = table("person"), table("company")
    if dialect == "postgresql":
        pairs = ", ".join(f"'{c}', p.{c}" for c in PERSON_COLUMNS if c != "company")
        return (
            f"SELECT json_agg(json_build_object('node', json_build_object({pairs}, 'company', "
            f"json_build_object('name', c.name, 'domain', c.domain, 'industry', c.industry)))) "
            f"FROM (SELECT * FROM {people} WHERE deleted_at IS NULL ORDER BY id LIMIT :n) p "
            f"LEFT JOIN {company} c ON c.id = p.company"
        )
    pairs = ", ".join(f"'{c}', p.{c}" for c in PERSON_COLUMNS if c not in ("company", "tags"))
    return (
        f"SELECT json_group_array(json_object('node', json_object({pairs}, 'tags', json(p.tags), 'company', "
        f"json_object('name', c.name, 'domain', c.domain, 'industry', c.industry)))) "
        f"FROM (SELECT * FROM {people} WHERE deleted_at IS NULL ORDER BY id LIMIT :n) p "
        f"LEFT JOIN {company} c ON c.id = p.company"
    )


def raw_one_sql(dialect: str, table: Callable[[str], str]) -> str:
    people, company = table("person"), table("company")
    build = "json_build_object" if dialect == "postgresql" else "json_object"
    pairs = ", ".join(f"'{c}', p.{c}" for c in PERSON_COLUMNS if c not in ("company", "tags"))
    tags = "p.tags" if dialect == "postgresql" else "json(p.tags)"
    return (
        f"SELECT {build}({pairs}, 'tags', {tags}, 'company', {build}('name', c.name, 'domain', c.domain, "
        f"'industry', c.industry)) FROM {people} p LEFT JOIN {company} c ON c.id = p.company "
        f"WHERE p.id = :id AND p.deleted_at IS NULL"
    )


def median_time(function: Callable[[], Any], repeat: int) -> float:
    function()  # warm-up: caches, connections
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def serve(url: str, data_dir: str) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    """``tessera serve`` on ``url``; its address and the headers of its first admin's key."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": url,
        "TESSERA_DEFAULT_WORKSPACE": WORKSPACE,
        "TESSERA_PORT": str(port),
        "TESSERA_DATA_DIR": data_dir,
        "TESSERA_MAX_PAGE_SIZE": "10000",
        "TESSERA_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tessera.platform.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                saved = Path(data_dir) / "first-admin.txt"
                key = dict(line.split(": ", 1) for line in saved.read_text().splitlines())["api key"]
                return process, base, {"Authorization": f"Bearer {key}"}
        except httpx.TransportError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("the server did not start")


def measure(name: str, url: str, args: argparse.Namespace, data_dir: str) -> list[tuple[str, float, float]]:
    engine = create_engine(url)
    print(f"{name}: seeding {args.companies} companies and {args.people} people…", file=sys.stderr)
    process, base, headers = serve(url, data_dir)
    rows = []
    try:
        person_ids = seed(engine, base, headers, args.people, args.companies)
        with httpx.Client(timeout=120, headers=headers) as client:

            def post(query: str, variables: dict[str, Any]) -> Any:
                answer = client.post(f"{base}/graphql", json={"query": query, "variables": variables}).json()
                assert "errors" not in answer, answer["errors"]
                return answer

            listed = post(LIST_QUERY, {"n": args.list_size})
            assert len(listed["data"]["people"]["edges"]) == args.list_size
            namespace_sqlite = engine.dialect.name == "sqlite"

            def table(obj: str) -> str:
                return f"ws_{WORKSPACE}__{obj}" if namespace_sqlite else f"ws_{WORKSPACE}.{obj}"

            def raw(sql: str, **params: Any) -> Any:
                with engine.connect() as conn:
                    return conn.execute(sa.text(sql), params).scalar_one()

            list_sql, one_sql = (
                raw_list_sql(engine.dialect.name, table),
                raw_one_sql(engine.dialect.name, table),
            )
            rep_headers = own_records_key(engine, table("person"))
            target = person_ids[len(person_ids) // 2]
            id_param: Any = target.replace("-", "") if namespace_sqlite else target
            rows.append(
                (
                    f"list {args.list_size} people + company",
                    median_time(lambda: post(LIST_QUERY, {"n": args.list_size}), args.repeat),
                    median_time(lambda: raw(list_sql, n=args.list_size), args.repeat),
                )
            )
            with httpx.Client(timeout=120, headers=rep_headers) as rep_client:

                def post_as_rep() -> Any:
                    answer = rep_client.post(
                        f"{base}/graphql", json={"query": LIST_QUERY, "variables": {"n": args.list_size}}
                    ).json()
                    assert len(answer["data"]["people"]["edges"]) == args.list_size, answer
                    return answer

                rows.append(
                    (
                        f"list {args.list_size} own people",
                        median_time(post_as_rep, args.repeat),
                        median_time(lambda: raw(list_sql, n=args.list_size), args.repeat),
                    )
                )
            rows.append(
                (
                    "one person by id + company",
                    median_time(lambda: post(ONE_QUERY, {"id": target}), args.repeat * 20),
                    median_time(lambda: raw(one_sql, id=id_param), args.repeat * 20),
                )
            )
    finally:
        process.terminate()
        process.wait(timeout=10)
    engine.dispose()
    return rows


def own_records_key(engine: sa.Engine, person_table: str) -> dict[str, str]:
    """Headers of an API key whose role reads only its own people (and every company);
    every person is given to it."""
    RoleStore(engine).save(
        WORKSPACE,
        {
            "name": "rep",
            "objects": {"person": {"operations": ["read"], "access": "own"}},
            "other_objects": {"operations": ["read"]},
        },
    )
    secret, key = IdentityService(engine).create_api_key(WORKSPACE, "rep", role="rep")
    owner = key.id.hex if engine.dialect.name == "sqlite" else str(key.id)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {person_table} SET owner = :owner"), {"owner": owner})
    return {"Authorization": f"Bearer {secret}"}


def schema_rebuild(objects: int, fields: int, repeat: int) -> float:
    """Seconds to build the GraphQL schema of an ``objects`` x ``fields`` model (in memory)."""
    from tessera.metadata.model import MetadataState
    from tessera.metadata.storage import Namespace

    document = {
        "objects": [
            {
                "api_name": f"object_{i}",
                "fields": [
                    {
                        "api_name": f"field_{j}",
                        "type": ["text", "integer", "decimal", "date", "boolean"][j % 5],
                    }
                    for j in range(fields - 1)
                ]
                + [
                    {
                        "api_name": "parent",
                        "type": "lookup",
                        "options": {"target_object": f"object_{(i + 1) % objects}"},
                    }
                ],
            }
            for i in range(objects)
        ]
    }
    state = document_state(document, MetadataState((), 0))

    def build() -> None:
        from graphql import GraphQLSchema

        built = build_record_schema(WORKSPACE, state, Namespace(WORKSPACE, "sqlite"))
        assert isinstance(built.schema, GraphQLSchema)
        built.schema.type_map  # noqa: B018  (types are resolved lazily: force them)
        for named in built.schema.type_map.values():
            getattr(named, "fields", None)

    return median_time(build, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=2_000)
    parser.add_argument("--list-size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results: list[tuple[str, str, float, float | None]] = []
    with tempfile.TemporaryDirectory() as folder:
        targets = {"sqlite": f"sqlite:///{Path(folder) / 'bench.db'}"}
        try:
            targets["postgresql"] = fresh_database(BENCH_DATABASE)
        except sa.exc.OperationalError as exc:
            print(f"PostgreSQL skipped: {exc.orig}", file=sys.stderr)
        for name, url in targets.items():
            for operation, tessera_seconds, raw_seconds in measure(name, url, args, folder):
                results.append((name, operation, tessera_seconds, raw_seconds))
    results.append(("-", "schema rebuild 200x30", schema_rebuild(200, 30, args.repeat), None))
    print(f"{'database':<11} {'operation':<34} {'tessera':>10} {'raw SQL':>10} {'ratio':>7}")
    for name, operation, tessera_seconds, raw_seconds in results:
        raw = f"{raw_seconds * 1000:>8.1f}ms" if raw_seconds else f"{'-':>10}"
        ratio = f"{tessera_seconds / raw_seconds:>7.1f}" if raw_seconds else f"{'-':>7}"
        print(f"{name:<11} {operation:<34} {tessera_seconds * 1000:>8.1f}ms {raw} {ratio}")


if __name__ == "__main__":
    main()
