"""``<plural>Aggregate(filter, groupBy)``: counts, sums, averages and bounds, optionally
per group, computed by the database in one statement.

Sums and averages are exact decimals (strings) for every numeric type; averages carry
two more digits than the field's scale. Groups are keyed by select options, lookups (the
linked record, with its own selection), booleans, currency codes, and date buckets (DAY,
WEEK starting on Monday, MONTH, QUARTER, YEAR; the bucket is named by its first day;
datetime fields are bucketed in UTC).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from graphql import (
    FieldNode,
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    get_named_type,
)

from tessera.metadata.fields.currency import CURRENCY_COLUMN_SUFFIX
from tessera.metadata.model import FieldDef, ObjectDef
from tessera.platform.errors import TesseraError
from tessera.schema.read_planner import Planner, deleted_condition
from tessera.schema.record_types import (
    DATE_TYPES,
    NUMERIC_TYPES,
    DateScalar,
    DateTimeScalar,
    DecimalScalar,
    DeletedRecords,
    RecordSchemaBuilder,
    type_name,
)
from tessera.schema.sql_json import Expr

DateBucket = GraphQLEnumType(
    "DateBucket",
    {name: GraphQLEnumValue(name) for name in ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR")},
    description="How dates are grouped; a group is named by its first day.",
)
GROUPABLE_TYPES = frozenset({"select", "lookup", "boolean", "currency", "date", "datetime"})
#: groups returned at most; more is refused with a clear error
MAX_GROUPS = 1000


def aggregate_field(builder: RecordSchemaBuilder, obj: ObjectDef) -> GraphQLField:
    """The root field ``<plural>Aggregate`` of ``obj``."""
    name = type_name(obj.api_name)
    numeric = [f for f in obj.fields if f.type in NUMERIC_TYPES]
    bounded = [f for f in obj.fields if f.type in NUMERIC_TYPES | DATE_TYPES]
    sums = (
        GraphQLObjectType(name + "Sums", {f.api_name: GraphQLField(DecimalScalar) for f in numeric})
        if numeric
        else None
    )

    def bound_scalar(fld: FieldDef) -> Any:
        if fld.type == "date":
            return DateScalar
        if fld.type == "datetime":
            return DateTimeScalar
        return GraphQLInt if fld.type == "integer" else DecimalScalar

    bounds = GraphQLObjectType(
        name + "Bounds",
        {
            "created_at": GraphQLField(DateTimeScalar),
            "updated_at": GraphQLField(DateTimeScalar),
            **{f.api_name: GraphQLField(bound_scalar(f)) for f in bounded},
        },
    )
    values: dict[str, GraphQLField] = {"count": GraphQLField(GraphQLNonNull(GraphQLInt))}
    if sums is not None:
        values["sum"] = GraphQLField(sums)
        values["avg"] = GraphQLField(sums)
    values["min"] = GraphQLField(bounds)
    values["max"] = GraphQLField(bounds)
    groupable = [f for f in obj.fields if f.type in GROUPABLE_TYPES]

    def key_type(fld: FieldDef) -> Any:
        if fld.type == "select":
            return builder.option_type(obj, fld)
        if fld.type == "lookup":
            return builder.object_type(builder.lookup_target(fld))
        if fld.type == "boolean":
            return GraphQLBoolean
        if fld.type == "currency":
            return GraphQLString
        return DateScalar

    keys = GraphQLObjectType(
        name + "GroupKey",
        {
            "created_at": GraphQLField(DateScalar),
            **{f.api_name: GraphQLField(key_type(f)) for f in groupable},
        },
    )
    group = GraphQLObjectType(name + "Group", {"key": GraphQLField(GraphQLNonNull(keys)), **values})
    result = GraphQLObjectType(
        name + "Aggregate",
        {**values, "groups": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(group))))},
        description="Figures over the records matching the filter; `groups` when grouped.",
    )
    group_by = GraphQLInputObjectType(
        name + "GroupBy",
        {
            "created_at": GraphQLInputField(DateBucket),
            **{
                f.api_name: GraphQLInputField(DateBucket if f.type in DATE_TYPES else GraphQLBoolean)
                for f in groupable
            },
        },
        description="One grouping key: name exactly one field (a date field with its bucket).",
    )
    return builder.root(
        "aggregate",
        obj,
        GraphQLNonNull(result),
        {
            "filter": GraphQLArgument(builder.filter_type(obj)),
            "groupBy": GraphQLArgument(GraphQLList(GraphQLNonNull(group_by))),
            "deleted": GraphQLArgument(DeletedRecords, default_value="EXCLUDED"),
        },
        f"Count, sum, average, minimum and maximum over {obj.label_plural}, optionally grouped.",
    )


class Aggregator:
    """Plans and runs one aggregate root field."""

    def __init__(
        self, planner: Planner, obj: ObjectDef, nodes: Sequence[FieldNode], definition: GraphQLField
    ) -> None:
        self.planner = planner
        self.obj = obj
        self.nodes = nodes
        self.definition = definition
        self.dialect = planner.json.name

    def run(self, conn: sa.Connection) -> dict[str, Any]:
        planner, obj = self.planner, self.obj
        args = planner.arguments(self.definition, self.nodes[0])
        result_type = get_named_type(self.definition.type)
        assert isinstance(result_type, GraphQLObjectType)
        table = planner.tables.of(obj).alias()
        conditions = deleted_condition(table, args.get("deleted") or "EXCLUDED") + planner.access.reach(
            obj, table
        )
        if args.get("filter"):
            conditions.append(planner.filter_condition(args["filter"], obj, table))
        selections = planner.collect(self.nodes, result_type)
        group_by = args.get("groupBy") or []
        group_nodes = [n for _, ns, _ in selections if ns[0].name.value == "groups" for n in ns]
        keys = [self.group_key(table, element, ("groupBy", i)) for i, element in enumerate(group_by)]
        group_type = get_named_type(result_type.fields["groups"].type)
        assert isinstance(group_type, GraphQLObjectType)

        # The figures over everything, then per group when asked.
        figures = self.figure_columns(table, selections, result_type)
        out: dict[str, Any] = {}
        if figures:
            total_row = conn.execute(
                sa.select(*[c for _, c, _ in figures]).select_from(table).where(*conditions)
            ).one()
            out = self.shape(selections, result_type, figures, total_row, key_values=None)
        else:
            out = self.shape(selections, result_type, figures, (), key_values=None)
        if group_nodes:
            if not keys:
                groups: list[dict[str, Any]] = []
            else:
                group_selections = planner.collect(group_nodes, group_type)
                group_figures = self.figure_columns(table, group_selections, group_type)
                key_type = get_named_type(group_type.fields["key"].type)
                assert isinstance(key_type, GraphQLObjectType)
                key_nodes = [n for _, ns, _ in group_selections if ns[0].name.value == "key" for n in ns]
                key_columns = [k[0] for k in keys]
                rendered = [self.key_json(table, k, key_nodes, key_type) for k in keys]
                query = (
                    sa.select(*key_columns, *rendered, *[c for _, c, _ in group_figures])
                    .select_from(table)
                    .where(*conditions)
                    .group_by(*key_columns)
                    .order_by(*[c.asc().nulls_last() for c in key_columns])
                    .limit(MAX_GROUPS + 1)
                )
                rows = conn.execute(query).all()
                if len(rows) > MAX_GROUPS:
                    raise TesseraError.single(
                        "TOO_MANY_GROUPS",
                        f"More than {MAX_GROUPS} groups; filter the records or group by a coarser key.",
                        ("groupBy",),
                    )
                groups = []
                n = len(keys)
                for row in rows:
                    key_map = {k[2]: row[n + i] for i, k in enumerate(keys)}
                    groups.append(
                        self.shape(
                            group_selections,
                            group_type,
                            group_figures,
                            row[2 * n :],
                            key_values=(key_map, key_nodes, key_type),
                        )
                    )
            for key, ns, _ in selections:
                if ns[0].name.value == "groups":
                    out[key] = groups
        return out

    # -- figures -------------------------------------------------------------------------
    def figure_columns(
        self,
        table: sa.FromClause,
        selections: list[tuple[str, list[FieldNode], Any]],
        type_: GraphQLObjectType,
    ) -> list[tuple[str, Any, tuple[str, str | None]]]:
        """(response path, SQL column, (figure, field)) for every figure selected."""
        columns: list[tuple[str, Any, tuple[str, str | None]]] = []
        for key, nodes, _ in selections:
            name = nodes[0].name.value
            if name == "count":
                columns.append((key, sa.func.count(), ("count", None)))
            elif name in ("sum", "avg", "min", "max"):
                sub_type = get_named_type(type_.fields[name].type)
                assert isinstance(sub_type, GraphQLObjectType)
                for sub_key, sub_nodes, _ in self.planner.collect(nodes, sub_type):
                    field_name = sub_nodes[0].name.value
                    if field_name == "__typename":
                        continue
                    column = table.c[field_name]
                    if name == "avg":
                        # exact: the sum and the count of values, divided in Python
                        columns.append(
                            (
                                f"{key}.{sub_key}",
                                sa.type_coerce(sa.func.sum(column), column.type),
                                ("avg_sum", field_name),
                            )
                        )
                        columns.append(
                            (f"{key}.{sub_key}#n", sa.func.count(column), ("avg_count", field_name))
                        )
                    else:
                        figure = getattr(sa.func, name)(column)
                        columns.append(
                            (
                                f"{key}.{sub_key}",
                                sa.type_coerce(figure, column.type),
                                (name, field_name),
                            )
                        )
        return columns

    def shape(
        self,
        selections: list[tuple[str, list[FieldNode], Any]],
        type_: GraphQLObjectType,
        figures: list[tuple[str, Any, tuple[str, str | None]]],
        row: Sequence[Any],
        key_values: tuple[dict[str, Any], list[FieldNode], GraphQLObjectType] | None,
    ) -> dict[str, Any]:
        values = {path: row[i] for i, (path, _, _) in enumerate(figures)}
        out: dict[str, Any] = {}
        for key, nodes, _ in selections:
            name = nodes[0].name.value
            if name == "__typename":
                out[key] = type_.name
            elif name == "count":
                out[key] = int(values[key])
            elif name in ("sum", "avg", "min", "max"):
                sub_type = get_named_type(type_.fields[name].type)
                assert isinstance(sub_type, GraphQLObjectType)
                part: dict[str, Any] = {}
                for sub_key, sub_nodes, _ in self.planner.collect(nodes, sub_type):
                    field_name = sub_nodes[0].name.value
                    if field_name == "__typename":
                        part[sub_key] = sub_type.name
                        continue
                    value = values[f"{key}.{sub_key}"]
                    if name == "avg":
                        count = values[f"{key}.{sub_key}#n"]
                        value = average(value, count, self.obj.field_named(field_name))
                    # Sums and averages are Decimal strings, whatever the field's type.
                    part[sub_key] = (
                        str(value) if name in ("sum", "avg") and value is not None else render(value)
                    )
                out[key] = part
            elif name == "key" and key_values is not None:
                key_map, _, key_type = key_values
                rendered: dict[str, Any] = {}
                for sub_key, sub_nodes, _ in self.planner.collect(nodes, key_type):
                    field_name = sub_nodes[0].name.value
                    rendered[sub_key] = (
                        key_type.name if field_name == "__typename" else key_map.get(field_name)
                    )
                out[key] = rendered
        return out

    # -- groups --------------------------------------------------------------------------
    def group_key(
        self, table: sa.FromClause, element: Mapping[str, Any], path: tuple[Any, ...]
    ) -> tuple[Expr, str, str]:
        """(SQL grouping expression, field type, field name) of one groupBy element."""
        if len(element) != 1:
            raise TesseraError.single(
                "GROUP_BY_INVALID", "Each groupBy element names exactly one field.", path
            )
        ((name, how),) = element.items()
        fld = self.obj.field_named(name)
        kind = "datetime" if fld is None else fld.type
        column = table.c[name]
        if kind == "currency":
            return table.c[name + CURRENCY_COLUMN_SUFFIX], kind, name
        if kind in DATE_TYPES:
            return self.bucket(column, str(how), kind), kind, name
        if how is not True:
            raise TesseraError.single("GROUP_BY_INVALID", f"Group by '{name}' with true.", (*path, name))
        return column, kind, name

    def bucket(self, column: Expr, bucket: str, kind: str) -> Expr:
        if self.dialect == "postgresql":
            local = sa.func.timezone("UTC", column) if kind == "datetime" else sa.cast(column, sa.DateTime)
            return sa.func.to_char(sa.func.date_trunc(bucket.lower(), local), "YYYY-MM-DD")
        day = sa.func.date(column)
        if bucket == "DAY":
            return day
        if bucket == "WEEK":
            return sa.func.date(column, "-6 days", "weekday 1")
        if bucket == "MONTH":
            return sa.func.strftime("%Y-%m-01", column)
        if bucket == "YEAR":
            return sa.func.strftime("%Y-01-01", column)
        month = sa.cast(sa.func.strftime("%m", column), sa.Integer)
        quarter = sa.func.printf("%s-%02d-01", sa.func.strftime("%Y", column), ((month - 1) // 3) * 3 + 1)
        return sa.case((column.is_(None), sa.null()), else_=quarter)

    def key_json(
        self,
        table: sa.FromClause,
        key: tuple[Expr, str, str],
        nodes: list[FieldNode],
        key_type: GraphQLObjectType,
    ) -> Expr:
        """The value of a group's key as the API shows it (a lookup: the linked record)."""
        expr, kind, name = key
        sub_nodes = [n for node in nodes for n in _subfields(node, name)]
        planner = self.planner
        if kind == "lookup" and sub_nodes:
            fld = self.obj.field_named(name)
            assert fld is not None
            target = planner.tables.state.object_by_id(uuid.UUID(str(fld.options["target_object_id"])))
            assert target is not None
            target_type = get_named_type(key_type.fields[name].type)
            assert isinstance(target_type, GraphQLObjectType)
            other = planner.tables.of(target).alias()
            record = (
                sa.select(planner.record_json(target, other, sub_nodes, target_type))
                .where(other.c.id == expr, *planner.access.reach(target, other))
                .scalar_subquery()
            )
            return sa.type_coerce(planner.json.embed(record), sa.JSON)
        if kind == "select" and sub_nodes:
            fld = self.obj.field_named(name)
            assert fld is not None
            option_type = get_named_type(key_type.fields[name].type)
            assert isinstance(option_type, GraphQLObjectType)
            keys = [(k, ns[0].name.value) for k, ns, _ in planner.collect(sub_nodes, option_type)]
            return sa.type_coerce(
                planner.json.embed(
                    sa.case(
                        (expr.is_(None), sa.null()), else_=planner.option_json(fld, expr, keys, option_type)
                    )
                ),
                sa.JSON,
            )
        if kind == "boolean":
            return sa.type_coerce(planner.json.boolean(expr), sa.JSON) if self.dialect == "sqlite" else expr
        return expr


def _subfields(node: FieldNode, name: str) -> list[FieldNode]:
    if node.selection_set is None:
        return []
    return [s for s in node.selection_set.selections if isinstance(s, FieldNode) and s.name.value == name]


def average(total: Any, count: Any, fld: FieldDef | None) -> Decimal | None:
    if total is None or not count:
        return None
    scale = int(fld.options.get("scale", 0)) if fld is not None else 0
    return (Decimal(total) / Decimal(count)).quantize(Decimal(1).scaleb(-(scale + 2)))


def render(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
