"""The read planner: a GraphQL selection becomes one SQL statement whose result is the
response's JSON, built by the database.

Lookups are correlated subqueries, reverse relations are correlated connections (their
own filter, order, page), so a query's statement count never depends on how many rows it
returns. Cursors are computed in SQL too: the hexadecimal of a JSON array holding a
signature of the sort order, then the sort key values, then the id (the tie-breaker).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import get_argument_values

from tessera.metadata.fields.currency import CURRENCY_COLUMN_SUFFIX
from tessera.metadata.model import FieldDef, ObjectDef
from tessera.metadata.storage import Tables
from tessera.platform.errors import Path, TesseraError, located
from tessera.platform.filtering import compile_filter
from tessera.platform.permissions import SYSTEM_ACCESS, Access
from tessera.schema.record_types import FieldRole
from tessera.schema.sql_json import Expr, JsonDialect, decimal_scale, sql_string

Where = Callable[[sa.FromClause], Expr]


@dataclass(frozen=True)
class ReadSettings:
    page_size: int = 50
    max_page_size: int = 500
    time_zone: str = "UTC"


@dataclass(frozen=True)
class SortKey:
    """One key of an order: how to compute it on a table, render it into a cursor and
    read it back from one."""

    expr: Callable[[sa.FromClause], Expr]
    json: Callable[[sa.FromClause], Expr]
    parse: Callable[[Any], Any]
    descending: bool = False
    nulls_first: bool = False

    def reversed(self) -> SortKey:
        return SortKey(self.expr, self.json, self.parse, not self.descending, not self.nulls_first)

    def order(self, table: sa.FromClause) -> Any:
        expr = self.expr(table)
        ordered = expr.desc() if self.descending else expr.asc()
        return ordered.nulls_first() if self.nulls_first else ordered.nulls_last()

    def bind(self, table: sa.FromClause, value: Any) -> Expr:
        expr = self.expr(table)
        return sa.literal(value, type_=expr.type)

    def equal(self, table: sa.FromClause, value: Any) -> Expr:
        expr = self.expr(table)
        return expr.is_(None) if value is None else expr == self.bind(table, value)

    def later(self, table: sa.FromClause, value: Any) -> Expr:
        """Rows that come strictly after ``value`` in this key's order."""
        expr = self.expr(table)
        if value is None:
            return expr.is_not(None) if self.nulls_first else sa.false()
        beyond = expr < self.bind(table, value) if self.descending else expr > self.bind(table, value)
        return beyond if self.nulls_first else sa.or_(beyond, expr.is_(None))


DIRECTIONS = {
    "ASC": (False, False),
    "ASC_NULLS_LAST": (False, False),
    "ASC_NULLS_FIRST": (False, True),
    "DESC": (True, True),
    "DESC_NULLS_FIRST": (True, True),
    "DESC_NULLS_LAST": (True, False),
}


def deleted_condition(table: sa.FromClause, deleted: str) -> list[Expr]:
    """The recycle-bin part of a read: ``EXCLUDED`` (default), ``INCLUDED`` or ``ONLY``."""
    if deleted == "INCLUDED":
        return []
    column = table.c.deleted_at
    return [column.is_not(None) if deleted == "ONLY" else column.is_(None)]


def _parse_datetime(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class Planner:
    """Plans the reads of one GraphQL request."""

    def __init__(
        self,
        tables: Tables,
        dialect: JsonDialect,
        settings: ReadSettings,
        info: GraphQLResolveInfo,
        now: dt.datetime | None = None,
        access: Access = SYSTEM_ACCESS,
    ) -> None:
        self.tables = tables
        #: whose records the caller reaches: every read of a table is limited to them
        self.access = access
        self.json = dialect
        self.settings = settings
        self.info = info
        self.now = now or dt.datetime.now(dt.UTC)
        #: whether a plan depends on the current time (then it is not cached)
        self.uses_relative_time = False

    # -- selections ----------------------------------------------------------------------
    def collect(
        self, nodes: Iterable[FieldNode], parent: GraphQLObjectType
    ) -> list[tuple[str, list[FieldNode], GraphQLField | None]]:
        """The fields selected under ``nodes`` on ``parent``: (response key, field nodes,
        definition — ``None`` for ``__typename``), merging repeated keys, resolving
        fragments and honouring ``@skip``/``@include``."""
        grouped: dict[str, list[FieldNode]] = {}

        def visit(selection_set: SelectionSetNode | None, seen: set[str]) -> None:
            if selection_set is None:
                return
            for selection in selection_set.selections:
                if not self.included(selection):
                    continue
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    grouped.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    visit(selection.selection_set, seen)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    if name in seen:
                        continue
                    fragment = self.fragment(name)
                    if fragment is not None:
                        visit(fragment.selection_set, seen | {name})

        for node in nodes:
            visit(node.selection_set, set())
        out: list[tuple[str, list[FieldNode], GraphQLField | None]] = []
        for key, field_nodes in grouped.items():
            name = field_nodes[0].name.value
            out.append((key, field_nodes, None if name == "__typename" else parent.fields[name]))
        return out

    def fragment(self, name: str) -> FragmentDefinitionNode | None:
        found = self.info.fragments.get(name)
        return getattr(found, "definition", found)

    def included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            value: Any = True
            for argument in directive.arguments:
                if argument.name.value == "if":
                    literal = argument.value
                    value = (
                        self.variables.get(literal.name.value)
                        if literal.kind == "variable"
                        else getattr(literal, "value", True)
                    )
            if (name == "skip") == bool(value):
                return False
        return True

    @property
    def variables(self) -> Mapping[str, Any]:
        values: Any = self.info.variable_values
        return dict(getattr(values, "coerced", values) or {})

    def filter_condition(self, filter_doc: Any, obj: ObjectDef, table: sa.FromClause) -> Expr:
        """A ``filter`` argument in SQL, relative dates as of this request."""
        return compile_filter(
            filter_doc,
            obj,
            table,
            self.tables,
            path=("filter",),
            now=self.now,
            time_zone=self.settings.time_zone,
            on_relative_time=self.saw_relative_time,
            reach=self.access.reach,
        )

    def saw_relative_time(self) -> None:
        self.uses_relative_time = True

    def arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        return get_argument_values(definition, node, self.info.variable_values)

    # -- records ---------------------------------------------------------------------------
    def record_json(
        self, obj: ObjectDef, table: sa.FromClause, nodes: Sequence[FieldNode], type_: GraphQLObjectType
    ) -> Expr:
        pairs: list[tuple[str, Expr]] = []
        for key, field_nodes, definition in self.collect(nodes, type_):
            if definition is None:
                pairs.append((key, sql_string(type_.name)))
                continue
            role: FieldRole = definition.extensions["tessera"]
            with located((key,)):
                pairs.append((key, self.field_json(obj, table, role, field_nodes, definition)))
        return self.json.object(pairs)

    def field_json(
        self,
        obj: ObjectDef,
        table: sa.FromClause,
        role: FieldRole,
        nodes: list[FieldNode],
        definition: GraphQLField,
    ) -> Expr:
        if role.kind == "value":
            return self.value_json(table, role)
        assert role.field is not None
        if role.kind == "reverse":
            assert role.other is not None
            lookup = role.field.api_name

            def linked_here(source: sa.FromClause) -> Expr:
                return source.c[lookup] == table.c.id

            return self.json.embed(
                self.connection_json(role.other, nodes, definition, linked_here, outer=table)
            )
        column = table.c[role.name]
        if role.kind == "currency":
            return self.currency_json(table, role.field, nodes, definition)
        if role.kind in ("select", "multi_select"):
            option_type = get_named_type(definition.type)
            assert isinstance(option_type, GraphQLObjectType)
            keys = [
                (key, field_nodes[0].name.value) for key, field_nodes, _ in self.collect(nodes, option_type)
            ]
            if role.kind == "select":
                return self.json.embed(
                    sa.case(
                        (column.is_(None), sa.null()),
                        else_=self.option_json(role.field, column, keys, option_type),
                    )
                )
            elements, value = self.json.json_array_elements(column)
            options = sa.select(self.json.array_agg(self.option_json(role.field, value, keys, option_type)))
            return self.json.embed(
                sa.case(
                    (column.is_(None), sa.null()),
                    else_=options.select_from(elements).scalar_subquery(),
                )
            )
        if role.kind == "lookup":
            assert role.other is not None
            target_type = get_named_type(definition.type)
            assert isinstance(target_type, GraphQLObjectType)
            target = self.tables.of(role.other).alias()
            linked = (
                sa.select(self.record_json(role.other, target, nodes, target_type))
                .where(
                    target.c.id == column,
                    target.c.deleted_at.is_(None),
                    *self.access.reach(role.other, target),
                )
                .scalar_subquery()
            )
        return self.json.embed(linked)

    def value_json(self, table: sa.FromClause, role: FieldRole) -> Expr:
        column = table.c[role.name]
        kind = role.system_type or (role.field.type if role.field else "text")
        if kind == "id":
            return self.json.uuid(column)
        if kind == "datetime":
            return self.json.datetime(column)
        if kind == "date":
            return self.json.date(column)
        if kind == "boolean":
            return self.json.boolean(column)
        if kind == "json":
            return self.json.json_column(column)
        scale = decimal_scale(column.type)
        if scale is not None:
            return self.json.decimal(column, scale)
        return column

    def currency_json(
        self, table: sa.FromClause, fld: FieldDef, nodes: list[FieldNode], definition: GraphQLField
    ) -> Expr:
        amount = table.c[fld.api_name]
        code = table.c[fld.api_name + CURRENCY_COLUMN_SUFFIX]
        money_type = get_named_type(definition.type)
        assert isinstance(money_type, GraphQLObjectType)
        pairs: list[tuple[str, Expr]] = []
        for key, field_nodes, _ in self.collect(nodes, money_type):
            name = field_nodes[0].name.value
            if name == "amount":
                pairs.append((key, self.json.decimal(amount, decimal_scale(amount.type) or 0)))
            elif name == "currencyCode":
                pairs.append((key, code))
            else:
                pairs.append((key, sql_string(money_type.name)))
        return self.json.embed(sa.case((amount.is_(None), sa.null()), else_=self.json.object(pairs)))

    def option_json(
        self, fld: FieldDef, value: Expr, keys: list[tuple[str, str]], option_type: GraphQLObjectType
    ) -> Expr:
        choices = fld.options["choices"]
        pairs: list[tuple[str, Expr]] = []
        for key, name in keys:
            if name == "value":
                pairs.append((key, value))
            elif name in ("label", "color"):
                whens = [
                    (value == sql_string(c["value"]), sql_string(c[name]) if c.get(name) else sa.null())
                    for c in choices
                ]
                pairs.append((key, sa.case(*whens, else_=sa.null()) if whens else sa.null()))
            else:
                pairs.append((key, sql_string(option_type.name)))
        return self.json.object(pairs)

    # -- connections -----------------------------------------------------------------------
    def connection_json(
        self,
        obj: ObjectDef,
        nodes: Sequence[FieldNode],
        definition: GraphQLField,
        linked: Where | None = None,
        outer: sa.FromClause | None = None,
    ) -> Expr:
        """The connection JSON of ``obj``'s records (``linked`` to the ``outer`` row for a
        reverse relation)."""
        args = self.arguments(definition, nodes[0])
        connection_type = get_named_type(definition.type)
        assert isinstance(connection_type, GraphQLObjectType)
        first, last = args.get("first"), args.get("last")
        for name in ("first", "last"):
            asked = args.get(name)
            if asked is not None and not 0 <= asked <= self.settings.max_page_size:
                raise TesseraError.single(
                    "PAGE_SIZE_OUT_OF_RANGE",
                    f"'{name}' must be between 0 and {self.settings.max_page_size}.",
                    (name,),
                )
        if first is not None and last is not None:
            raise TesseraError.single("PAGINATION_INVALID", "Give 'first' or 'last', not both.", ("last",))
        backward = last is not None or (args.get("before") is not None and first is None)
        asked = last if backward else first
        size: int = asked if asked is not None else self.settings.page_size
        keys = self.sort_keys(obj, args.get("orderBy") or [], ("orderBy",))
        signature = hashlib.sha1(json.dumps(args.get("orderBy") or [], sort_keys=True).encode()).hexdigest()[
            :8
        ]
        after = self.decode_cursor(args.get("after"), keys, signature, ("after",))
        before = self.decode_cursor(args.get("before"), keys, signature, ("before",))
        filter_doc = args.get("filter")
        deleted = args.get("deleted") or "EXCLUDED"

        def where(table: sa.FromClause) -> list[Expr]:
            conditions: list[Expr] = []
            if linked is not None:
                conditions.append(linked(table))
            conditions += deleted_condition(table, deleted)
            conditions += self.access.reach(obj, table)
            if filter_doc:
                conditions.append(self.filter_condition(filter_doc, obj, table))
            return conditions

        def window(table: sa.FromClause) -> list[Expr]:
            """``where`` plus the cursors' bounds."""
            conditions = where(table)
            if after is not None:
                conditions.append(self.beyond(table, keys, after))
            if before is not None:
                conditions.append(self.beyond(table, [k.reversed() for k in keys], before))
            return conditions

        def cursor(table: sa.FromClause) -> Expr:
            values = [sql_string(signature), *(k.json(table) for k in keys)]
            return self.json.hex_text(self.json.to_text(self.json.array(values)))

        walk = [k.reversed() for k in keys] if backward else keys
        selections = self.collect(nodes, connection_type)
        edge_type = get_named_type(connection_type.fields["edges"].type)
        assert isinstance(edge_type, GraphQLObjectType)
        node_type = get_named_type(edge_type.fields["node"].type)
        assert isinstance(node_type, GraphQLObjectType)

        def page(
            limit: int, node_nodes: list[FieldNode] | None = None, *, with_cursor: bool = True
        ) -> sa.Subquery:
            """The page's rows in walking order (rn), with their cursor and node JSON when
            asked (both cost per row)."""
            source = self.tables.of(obj).alias()
            columns: list[Any] = [
                sa.func.row_number().over(order_by=[k.order(source) for k in walk]).label("rn")
            ]
            if with_cursor:
                columns.append(cursor(source).label("cursor"))
            if node_nodes:
                with located(("edges", "node")):
                    columns.append(self.record_json(obj, source, node_nodes, node_type).label("node"))
            query = (
                sa.select(*columns)
                .select_from(source)
                .where(*window(source))
                .order_by(*[k.order(source) for k in walk])
                .limit(limit)
            )
            if outer is not None:
                # A derived table does not correlate by itself: the outer row is two levels up.
                query = query.correlate(outer)
            return query.subquery()

        def edge_cursor(last_of_page: bool) -> Expr:
            rows = page(size)
            # Walking backwards, the page's last record is the first one walked.
            from_end = last_of_page != backward
            return (
                sa.select(rows.c.cursor)
                .order_by(rows.c.rn.desc() if from_end else rows.c.rn)
                .limit(1)
                .scalar_subquery()
            )

        ahead = page(size + 1, with_cursor=False)
        more = self.json.boolean(sa.select(sa.func.count() > size).select_from(ahead).scalar_subquery())

        def exists_beyond(cursor_values: list[Any] | None, keys_: list[SortKey]) -> Expr:
            """Rows (matching the filter) at or past a cursor on the other side of the page."""
            if cursor_values is None:
                return self.json.boolean(sa.false())
            other = self.tables.of(obj).alias()
            return self.json.boolean(
                sa.exists(
                    sa.select(other.c.id).where(
                        *where(other), sa.not_(self.beyond(other, keys_, cursor_values))
                    )
                )
            )

        pairs: list[tuple[str, Expr]] = []
        for key, field_nodes, field_def in selections:
            if field_def is None:
                pairs.append((key, sql_string(connection_type.name)))
            elif field_nodes[0].name.value == "totalCount":
                counted = self.tables.of(obj).alias()
                pairs.append(
                    (
                        key,
                        sa.select(sa.func.count())
                        .select_from(counted)
                        .where(*where(counted))
                        .scalar_subquery(),
                    )
                )
            elif field_nodes[0].name.value == "edges":
                edge_pairs: list[tuple[str, Expr]] = []
                edge_fields = self.collect(field_nodes, edge_type)
                node_nodes = [n for _, ns, _ in edge_fields if ns[0].name.value == "node" for n in ns]
                wants_cursor = any(ns[0].name.value == "cursor" for _, ns, _ in edge_fields)
                rows = page(size, node_nodes, with_cursor=wants_cursor)
                if backward and self.json.name == "sqlite":
                    # No ORDER BY inside SQLite's aggregates: walk the rows back in order.
                    rows = sa.select(rows).order_by(rows.c.rn.desc()).limit(size).subquery()
                for edge_key, edge_field_nodes, edge_def in edge_fields:
                    if edge_def is None:
                        edge_pairs.append((edge_key, sql_string(edge_type.name)))
                    elif edge_field_nodes[0].name.value == "cursor":
                        edge_pairs.append((edge_key, rows.c.cursor))
                    else:
                        edge_pairs.append((edge_key, self.json.embed(rows.c.node)))
                aggregated = sa.select(
                    self.json.array_agg(
                        self.json.object(edge_pairs), rows.c.rn.desc() if backward else rows.c.rn
                    )
                ).select_from(rows)
                pairs.append((key, self.json.embed(aggregated.scalar_subquery())))
            elif field_nodes[0].name.value == "pageInfo":
                info_type = get_named_type(field_def.type)
                assert isinstance(info_type, GraphQLObjectType)
                info_pairs: list[tuple[str, Expr]] = []
                for info_key, info_nodes, info_def in self.collect(field_nodes, info_type):
                    name = info_nodes[0].name.value
                    if info_def is None:
                        info_pairs.append((info_key, sql_string(info_type.name)))
                    elif name == "hasNextPage":
                        info_pairs.append(
                            (
                                info_key,
                                more if not backward else exists_beyond(before, [k.reversed() for k in keys]),
                            )
                        )
                    elif name == "hasPreviousPage":
                        info_pairs.append((info_key, more if backward else exists_beyond(after, keys)))
                    else:
                        info_pairs.append((info_key, edge_cursor(last_of_page=name == "endCursor")))
                pairs.append((key, self.json.object(info_pairs)))
        return self.json.object(pairs)

    def beyond(self, table: sa.FromClause, keys: Sequence[SortKey], values: Sequence[Any]) -> Expr:
        """Rows strictly after the cursor ``values`` in the order of ``keys``."""
        alternatives = []
        for i, key in enumerate(keys):
            alternatives.append(
                sa.and_(*(keys[j].equal(table, values[j]) for j in range(i)), key.later(table, values[i]))
            )
        return sa.or_(*alternatives)

    def decode_cursor(
        self, cursor: str | None, keys: list[SortKey], signature: str, path: Path
    ) -> list[Any] | None:
        if cursor is None:
            return None
        try:
            decoded = json.loads(bytes.fromhex(cursor).decode())
            if not isinstance(decoded, list) or len(decoded) != len(keys) + 1:
                raise ValueError("wrong length")
        except (ValueError, UnicodeDecodeError):
            raise TesseraError.single(
                "INVALID_CURSOR", "This cursor is not one Tessera gave out; start again without it.", path
            ) from None
        if decoded[0] != signature:
            raise TesseraError.single(
                "INVALID_CURSOR", "This cursor belongs to another sort order; start again without it.", path
            )
        try:
            return [None if v is None else key.parse(v) for key, v in zip(keys, decoded[1:], strict=True)]
        except (ValueError, TypeError, InvalidOperation):
            raise TesseraError.single(
                "INVALID_CURSOR", "This cursor is damaged; start again without it.", path
            ) from None

    # -- sort keys -------------------------------------------------------------------------
    def sort_keys(self, obj: ObjectDef, order_by: Sequence[Mapping[str, Any]], path: Path) -> list[SortKey]:
        keys: list[SortKey] = []
        for i, element in enumerate(order_by):
            if len(element) != 1:
                raise TesseraError.single(
                    "ORDER_BY_INVALID", "Each orderBy element names exactly one field.", (*path, i)
                )
            keys.append(self.sort_key(obj, element, (*path, i)))
        id_key = self.column_key("id", "id")
        keys.append(id_key)
        return keys

    def sort_key(self, obj: ObjectDef, element: Mapping[str, Any], path: Path) -> SortKey:
        ((name, direction),) = element.items()
        fld = obj.field_named(name)
        if fld is not None and fld.type == "lookup":
            if not isinstance(direction, Mapping) or len(direction) != 1:
                raise TesseraError.single(
                    "ORDER_BY_INVALID", f"Sort by one field of the record '{name}' links to.", (*path, name)
                )
            target = self.tables.state.object_by_id(uuid.UUID(str(fld.options["target_object_id"])))
            assert target is not None
            inner = self.sort_key(target, direction, (*path, name))
            return self.linked_key(target, name, inner)
        descending, nulls_first = DIRECTIONS[str(direction)]
        if fld is None:
            key = self.column_key(
                name, "id" if name in ("id", "created_by", "updated_by", "owner") else "datetime"
            )
        else:
            key = self.field_key(fld)
        return SortKey(key.expr, key.json, key.parse, descending, nulls_first)

    def linked_key(self, target: ObjectDef, lookup: str, inner: SortKey) -> SortKey:
        def through(function: Callable[[sa.FromClause], Expr]) -> Callable[[sa.FromClause], Expr]:
            def linked(table: sa.FromClause) -> Expr:
                other = self.tables.of(target).alias()
                return (
                    sa.select(function(other))
                    .where(
                        other.c.id == table.c[lookup],
                        other.c.deleted_at.is_(None),
                        *self.access.reach(target, other),
                    )
                    .scalar_subquery()
                )

            return linked

        return SortKey(
            through(inner.expr), through(inner.json), inner.parse, inner.descending, inner.nulls_first
        )

    def column_key(self, name: str, kind: str) -> SortKey:
        if kind == "id":
            return SortKey(
                lambda t: t.c[name], lambda t: self.json.uuid(t.c[name]), lambda v: uuid.UUID(str(v))
            )
        return SortKey(lambda t: t.c[name], lambda t: self.json.datetime(t.c[name]), _parse_datetime)

    def field_key(self, fld: FieldDef) -> SortKey:
        name = fld.api_name
        if fld.type == "select":
            positions = [(c["value"], i) for i, c in enumerate(fld.options["choices"])]

            def position(table: sa.FromClause) -> Expr:
                column = table.c[name]
                return sa.case(*((column == sql_string(v), i) for v, i in positions), else_=sa.null())

            return SortKey(position, position, int)
        if fld.type == "boolean":
            return SortKey(lambda t: t.c[name], lambda t: self.json.boolean(t.c[name]), bool)
        if fld.type == "date":
            return SortKey(
                lambda t: t.c[name],
                lambda t: self.json.date(t.c[name]),
                lambda v: dt.date.fromisoformat(str(v)),
            )
        if fld.type == "datetime":
            return SortKey(lambda t: t.c[name], lambda t: self.json.datetime(t.c[name]), _parse_datetime)
        if fld.type in ("decimal", "percent", "currency"):

            def decimal_json(table: sa.FromClause) -> Expr:
                column = table.c[name]
                return self.json.decimal(column, decimal_scale(column.type) or 0)

            return SortKey(lambda t: t.c[name], decimal_json, lambda v: Decimal(str(v)))
        if fld.type == "integer":
            return SortKey(lambda t: t.c[name], lambda t: t.c[name], int)
        return SortKey(lambda t: t.c[name], lambda t: t.c[name], str)

    # -- roots -----------------------------------------------------------------------------
    def records_by_id(
        self,
        obj: ObjectDef,
        ids: Sequence[uuid.UUID] | sa.BindParameter[Any],
        nodes: Sequence[FieldNode],
        type_: GraphQLObjectType,
        *,
        deleted: str = "INCLUDED",
    ) -> sa.Select[Any]:
        """(id, record JSON) of the given records."""
        table = self.tables.of(obj).alias()
        wanted = ids if isinstance(ids, sa.BindParameter) else list(ids)
        conditions: list[Expr] = [
            table.c.id.in_(wanted),
            *deleted_condition(table, deleted),
            *self.access.reach(obj, table),
        ]
        record = self.json.to_text(self.record_json(obj, table, nodes, type_))
        return sa.select(table.c.id, sa.type_coerce(record, sa.Text)).where(*conditions)
