"""The record API at ``/graphql``: one GraphQL schema per (workspace, metadata version).

- Schemas are built once per metadata version and cached; a request only checks the
  workspace's version (at most every ``check_interval`` seconds, and at once after a
  change made through this process), so a new field is queryable on the next request and
  other processes see it within a second.
- Documents are parsed and validated once per query text (LRU caches), then checked
  against the limits (tokens, depth, aliases, cost).
- Root fields are planned into one SQL statement each whose result is the response JSON;
  the executor passes those values through instead of completing them field by field.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    execute,
    get_named_type,
    parse,
    validate,
)
from graphql.execution.executor_throwing_on_incremental import ExecutorThrowingOnIncremental
from sqlalchemy.engine import Engine

from tessera.metadata.model import MetadataState, ObjectDef
from tessera.metadata.storage import Tables
from tessera.metadata.store import load_state
from tessera.platform.errors import Path, TesseraError
from tessera.platform.permissions import SYSTEM_ACCESS, Access, Role, visible_state
from tessera.platform.records import RecordService
from tessera.platform.workspaces import get_workspace
from tessera.schema.aggregates import Aggregator
from tessera.schema.errors import error_payload
from tessera.schema.introspection import NoIntrospection
from tessera.schema.query_limits import QueryLimits, check_limits
from tessera.schema.read_planner import Planner, ReadSettings
from tessera.schema.record_types import RecordSchemaBuilder, RootRole
from tessera.schema.sql_json import json_dialect

logger = logging.getLogger("tessera.graphql")


class RawJSON:
    """JSON text the database built, spliced into the response without being parsed."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Planned:
    """A value the database already shaped for the selection: passed through as is."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class PlannedExecutor(ExecutorThrowingOnIncremental):
    def complete_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if isinstance(result, Planned):
            return result.value
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)


@dataclass
class RecordSchema:
    """The API of one workspace at one metadata version."""

    workspace: str
    version: int
    state: MetadataState
    tables: Tables
    schema: GraphQLSchema
    #: query text → (document, validation errors), most recent last
    documents: OrderedDict[str, tuple[DocumentNode, list[GraphQLError]]] = field(default_factory=OrderedDict)
    #: planned statements of record-by-id fields, by (field, variables it depends on)
    plans: OrderedDict[tuple[Any, ...], sa.Select[Any]] = field(default_factory=OrderedDict)
    #: the API of each role that does not see the whole data model, by role fingerprint
    views: dict[str, RecordSchema] = field(default_factory=dict)


@dataclass(frozen=True)
class Caller:
    """Who asks, and what their request may do."""

    #: stamped on the writes (``created_by``, ``updated_by``, events)
    actor: uuid.UUID | None = None
    #: mutations over GET are refused (a link must not change data)
    allow_mutations: bool = True
    #: why this caller may not run mutations (a role that only reads), if so
    writes_refused: str | None = None
    #: whether ``__schema`` and ``__type`` are answered
    introspection: bool = True
    #: what its role allows, and whose records it reaches
    access: Access = SYSTEM_ACCESS


#: Tessera's own calls (tests, tools): everything allowed, no actor
SYSTEM = Caller()


@dataclass
class RequestContext:
    engine: Engine
    records: RecordService
    api: RecordSchema
    settings: ReadSettings
    actor: uuid.UUID | None = None
    access: Access = SYSTEM_ACCESS
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    #: errors of the items a non-atomic batch could not write (the others were written)
    item_errors: list[dict[str, Any]] = field(default_factory=list)


class SchemaCache:
    """Built schemas by workspace, swapped when the workspace's metadata version moves."""

    def __init__(self, engine: Engine, *, check_interval: float = 0.5) -> None:
        self.engine = engine
        self.check_interval = check_interval
        self._schemas: dict[str, RecordSchema] = {}
        self._checked: dict[str, float] = {}
        self._lock = threading.Lock()
        self.builds = 0

    def forget(self, workspace: str) -> None:
        """Check the version on the next request (called after a change in this process)."""
        self._checked.pop(workspace, None)

    def get(self, workspace: str, role: Role | None = None) -> RecordSchema:
        """The API of the workspace's current version, as ``role`` sees it (whole when
        ``role`` is ``None``)."""
        whole = self.current(workspace)
        if role is None or role.unrestricted:
            return whole
        view = whole.views.get(role.fingerprint)
        if view is None:
            state = visible_state(whole.state, role)
            view = (
                whole
                if state == whole.state
                else build_record_schema(workspace, state, whole.tables.namespace)
            )
            with self._lock:
                whole.views[role.fingerprint] = view
            self.builds += view is not whole
        return view

    def current(self, workspace: str) -> RecordSchema:
        cached = self._schemas.get(workspace)
        now = time.monotonic()
        if cached is not None and now - self._checked.get(workspace, 0.0) < self.check_interval:
            return cached
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            if cached is not None and cached.version == ws.metadata_version:
                self._checked[workspace] = now
                return cached
            with self._lock:
                cached = self._schemas.get(workspace)
                if cached is None or cached.version != ws.metadata_version:
                    state = load_state(conn, ws)
                    cached = build_record_schema(workspace, state, ws.namespace(conn.dialect.name))
                    self._schemas[workspace] = cached
                    self.builds += 1
        self._checked[workspace] = now
        return cached


def build_record_schema(workspace: str, state: MetadataState, namespace: Any) -> RecordSchema:
    schema = RecordSchemaBuilder(state, resolve_root).build()
    return RecordSchema(workspace, state.version, state, Tables(namespace, state), schema)


# -- resolving ---------------------------------------------------------------------------------
def resolve_root(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Planned:
    context: RequestContext = info.context
    role: RootRole = info.parent_type.fields[info.field_name].extensions["tessera_root"]
    planner = Planner(
        context.api.tables,
        json_dialect(context.engine.dialect.name),
        context.settings,
        info,
        now=context.now,
        access=context.access,
    )
    definition = info.parent_type.fields[info.field_name]
    obj = role.object
    if role.kind == "list":
        connection = planner.json.to_text(planner.connection_json(obj, info.field_nodes, definition))
        with context.engine.connect() as conn:
            return Planned(RawJSON(conn.execute(sa.select(sa.type_coerce(connection, sa.Text))).scalar_one()))
    if role.kind == "aggregate":
        with context.engine.connect() as conn:
            return Planned(Aggregator(planner, obj, info.field_nodes, definition).run(conn))
    if role.kind == "get":
        record_id = parse_id(args["id"], ("id",))
        statement = record_plan(context, planner, obj, info, args.get("deleted") or "EXCLUDED")
        with context.engine.connect() as conn:
            row = conn.execute(statement, {"ids": [record_id]}).first()
        return Planned(None if row is None else RawJSON(row[1]))
    return Planned(write(context, planner, role, obj, info, args))


PLAN_CACHE_SIZE = 500


def record_plan(
    context: RequestContext, planner: Planner, obj: ObjectDef, info: GraphQLResolveInfo, deleted: str
) -> sa.Select[Any]:
    """The statement reading one record for this field, planned once per field and
    variable values — the record's id is a parameter, so a get-by-id query with a
    ``$id`` variable is planned once for every id."""
    variables = dict(planner.variables)
    source = info.operation.loc.source.body if info.operation.loc else ""
    id_argument = next((a.value for a in info.field_nodes[0].arguments or () if a.name.value == "id"), None)
    if isinstance(id_argument, VariableNode):
        name = id_argument.name.value
        if source.count(f"${name}") == 2:  # declared, then used only here
            variables.pop(name, None)
    dependencies = json.dumps(variables, sort_keys=True, default=str)
    key = (source, tuple(info.path.as_list()), deleted, dependencies, context.access.key)
    plans = context.api.plans
    statement = plans.get(key)
    if statement is None:
        record_type = get_named_type(info.return_type)
        assert isinstance(record_type, GraphQLObjectType)
        ids: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
        statement = planner.records_by_id(obj, ids, info.field_nodes, record_type, deleted=deleted)
        # "today" and its kin are resolved when planning: such plans are not kept.
        if not planner.uses_relative_time:
            plans[key] = statement
            if len(plans) > PLAN_CACHE_SIZE:
                plans.popitem(last=False)
    return statement


def write(
    context: RequestContext,
    planner: Planner,
    role: RootRole,
    obj: ObjectDef,
    info: GraphQLResolveInfo,
    args: dict[str, Any],
) -> Any:
    service, ws, name, actor = context.records, context.api.workspace, obj.api_name, context.actor
    with under_input():
        if role.kind == "create":
            return one(
                read_records(
                    context, planner, obj, [service.create(ws, name, args["input"], actor=actor)["id"]], info
                )
            )
        if role.kind == "create_many":
            if args.get("atomic", True):
                created = service.create_many(ws, name, args["input"], actor=actor)
                return read_records(context, planner, obj, [r["id"] for r in created], info)
            return each_on_its_own(
                context,
                planner,
                obj,
                info,
                [lambda v=v: service.create(ws, name, v, actor=actor) for v in args["input"]],
            )
        if role.kind == "upsert":
            record, _created = service.upsert(ws, name, args["on"], args["input"], actor=actor)
            return one(read_records(context, planner, obj, [record["id"]], info))
    record_id = parse_id(args["id"], ("id",)) if "id" in args else None
    if role.kind == "update":
        assert record_id is not None
        with under_input():
            updated = service.update(ws, name, record_id, args["input"], actor=actor)
        return one(read_records(context, planner, obj, [updated["id"]], info))
    if role.kind == "update_many":
        if not args.get("atomic", True):
            matching = service.ids_matching(ws, name, args["filter"])
            return each_on_its_own(
                context,
                planner,
                obj,
                info,
                [lambda i=i: service.update(ws, name, i, args["input"], actor=actor) for i in matching],
            )
        with under_input():
            changed = service.update_many(ws, name, args["filter"], args["input"], actor=actor)
        return read_records(context, planner, obj, [r["id"] for r in changed], info)
    assert record_id is not None
    if role.kind == "delete":
        return one(
            read_records(
                context, planner, obj, [service.delete(ws, name, record_id, actor=actor)["id"]], info
            )
        )
    if role.kind == "restore":
        return one(
            read_records(
                context, planner, obj, [service.restore(ws, name, record_id, actor=actor)["id"]], info
            )
        )
    if role.kind == "destroy":
        return str(service.destroy(ws, name, record_id, actor=actor))
    raise AssertionError(role.kind)


#: arguments of mutations other than ``input``: problems about them keep their path
OTHER_ARGUMENTS = frozenset({"filter", "on", "id"})


@contextlib.contextmanager
def under_input() -> Iterator[None]:
    """Place the record service's problems (paths relative to the values) under the
    mutation's ``input`` argument; problems about another argument keep their path."""
    try:
        yield
    except TesseraError as exc:
        exc.problems = [
            p if p.path[:1] and p.path[0] in OTHER_ARGUMENTS else p.under(("input",)) for p in exc.problems
        ]
        raise


def each_on_its_own(
    context: RequestContext,
    planner: Planner,
    obj: ObjectDef,
    info: GraphQLResolveInfo,
    writes: list[Any],
) -> list[Any]:
    """Run each write in its own transaction: the records of those that succeeded, null
    for the others, whose errors (paths ``["input", index, …]``) join the response."""
    written: list[Any] = []
    for index, write_one in enumerate(writes):
        try:
            written.append(write_one()["id"])
        except TesseraError as exc:
            written.append(None)
            error = tessera_error(TesseraError([p.under(("input", index)) for p in exc.problems]))
            error["path"] = [*info.path.as_list(), index]
            context.item_errors.append(error)
    found = iter(read_records(context, planner, obj, [i for i in written if i is not None], info))
    return [None if i is None else next(found, None) for i in written]


def one(records: list[Any]) -> Any:
    return records[0] if records else None


def read_records(
    context: RequestContext,
    planner: Planner,
    obj: ObjectDef,
    ids: Sequence[Any],
    info: GraphQLResolveInfo,
    *,
    deleted: str = "INCLUDED",
) -> list[Any]:
    """The records ``ids`` shaped for the field's selection, in the order of ``ids``."""
    if not ids:
        return []
    record_type = get_named_type(info.return_type)
    assert isinstance(record_type, GraphQLObjectType)
    ids = [i if isinstance(i, uuid.UUID) else uuid.UUID(str(i)) for i in ids]
    with context.engine.connect() as conn:
        rows = conn.execute(
            planner.records_by_id(obj, ids, info.field_nodes, record_type, deleted=deleted)
        ).all()
    by_id = {row[0]: RawJSON(row[1]) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def parse_id(value: Any, path: Path) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise TesseraError.single("INVALID_ID", f"'{value}' is not a record id (a UUID).", path) from None


# -- requests ----------------------------------------------------------------------------------
@dataclass
class GraphQLRequest:
    query: str
    variables: Mapping[str, Any] | None = None
    operation_name: str | None = None


class RecordAPI:
    """Runs GraphQL requests against the record schemas of one database."""

    def __init__(
        self,
        engine: Engine,
        *,
        limits: QueryLimits | None = None,
        read_settings: ReadSettings | None = None,
        check_interval: float = 0.5,
        document_cache_size: int = 500,
    ) -> None:
        self.engine = engine
        self.read_settings = read_settings or ReadSettings()
        self.records = RecordService(engine, time_zone=self.read_settings.time_zone)
        self.schemas = SchemaCache(engine, check_interval=check_interval)
        self.limits = limits or QueryLimits()
        self.document_cache_size = document_cache_size

    def document(self, api: RecordSchema, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        cached = api.documents.get(query)
        if cached is not None:
            api.documents.move_to_end(query)
            return cached
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError as syntax_error:
            if "tokens" in syntax_error.message:
                too_large = GraphQLError(
                    f"The query has more than {self.limits.max_tokens} tokens; split it.",
                    extensions={"code": "QUERY_TOO_LARGE"},
                )
                return None, [too_large]
            syntax_error.extensions = {"code": "GRAPHQL_PARSE_FAILED"}
            return None, [syntax_error]
        errors = validate(api.schema, document)
        for error in errors:
            error.extensions = {"code": "GRAPHQL_VALIDATION_FAILED"}
        api.documents[query] = (document, errors)
        if len(api.documents) > self.document_cache_size:
            api.documents.popitem(last=False)
        return document, errors

    def run(self, workspace: str, request: GraphQLRequest, caller: Caller = SYSTEM) -> dict[str, Any]:
        """The response to one request, as Python values."""
        answer: dict[str, Any] = json.loads(self.run_json(workspace, request, caller))
        return answer

    def run_json(self, workspace: str, request: GraphQLRequest, caller: Caller = SYSTEM) -> bytes:
        """The response to one request, as the JSON sent over HTTP."""
        return dumps(self.answer(workspace, request, caller))

    def answer(self, workspace: str, request: GraphQLRequest, caller: Caller = SYSTEM) -> dict[str, Any]:
        """The response (``data``/``errors``) to one request; never raises for bad input."""
        try:
            api = self.schemas.get(workspace, caller.access.role)
        except TesseraError as exc:
            return {"errors": [tessera_error(exc)]}
        document, errors = self.document(api, request.query)
        if errors or document is None:
            return {"errors": [e.formatted for e in errors]}
        operation = find_operation(document, request.operation_name)
        if operation is not None and operation.operation == OperationType.MUTATION:
            if not caller.allow_mutations:
                return error_answer("METHOD_NOT_ALLOWED", "Mutations need a POST request.")
            if caller.writes_refused:
                return error_answer("FORBIDDEN", caller.writes_refused)
        if not caller.introspection:
            refused = validate(api.schema, document, [NoIntrospection])
            if refused:
                return {"errors": [e.formatted for e in refused]}
        limits = self.limits
        if caller.access.role.query_limits:
            limits = replace(limits, **caller.access.role.query_limits)
        try:
            check_limits(
                api.schema,
                document,
                request.operation_name,
                request.variables or {},
                limits,
                self.read_settings,
            )
        except TesseraError as exc:
            return {"errors": [tessera_error(exc)]}
        records = self.records if caller.access is SYSTEM_ACCESS else self.records.acting_as(caller.access)
        context = RequestContext(
            self.engine, records, api, self.read_settings, caller.actor, access=caller.access
        )
        result = execute(
            api.schema,
            document,
            context_value=context,
            variable_values=dict(request.variables or {}),
            operation_name=request.operation_name,
            executor_class=PlannedExecutor,
        )
        assert isinstance(result, ExecutionResult)
        answer = response(result)
        if context.item_errors:
            answer.setdefault("errors", []).extend(context.item_errors)
        return answer


def error_answer(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def find_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if name is None or (operation.name and operation.name.value == name):
            return operation
    return None


def response(result: ExecutionResult) -> dict[str, Any]:
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [format_error(error) for error in result.errors]
    return out


def format_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if isinstance(original, TesseraError):
        located = tessera_error(original)
        located["path"] = error.path
        located["locations"] = [loc._asdict() for loc in error.locations or []]
        return located
    if original is not None and not isinstance(original, GraphQLError):
        logger.error("Unexpected error in the record API", exc_info=original)
        return {
            "message": "Unexpected error; it has been logged. Nothing was changed.",
            "path": error.path,
            "extensions": {"code": "INTERNAL_ERROR"},
        }
    formatted: dict[str, Any] = dict(error.formatted)
    formatted.setdefault("extensions", {}).setdefault("code", "GRAPHQL_VALIDATION_FAILED")
    return formatted


def tessera_error(exc: TesseraError) -> dict[str, Any]:
    """The error for ``exc``; record fields keep their api names in input paths."""
    return error_payload(exc, path=list)


def dumps(payload: Any) -> bytes:
    """The response as JSON: :class:`RawJSON` values are written as they are (the
    database's JSON text), the rest encoded."""
    raw: list[str] = []

    def mark(value: Any) -> Any:
        if isinstance(value, RawJSON):
            raw.append(value.text)
            return f"{RAW_MARK}{len(raw) - 1}{RAW_MARK}"
        if isinstance(value, dict):
            return {key: mark(item) for key, item in value.items()}
        if isinstance(value, list):
            return [mark(item) for item in value]
        return value

    skeleton = json.dumps(mark(payload), ensure_ascii=False, separators=(",", ":"))
    if raw:
        parts = RAW_MARKER.split(skeleton)
        # split() alternates text and captured indexes
        skeleton = "".join(raw[int(part)] if i % 2 else part for i, part in enumerate(parts))
    return skeleton.encode()


RAW_MARK = "\x00"
RAW_MARKER = re.compile(r'"\\u0000(\d+)\\u0000"')
