"""The GraphQL types of one workspace's data model, generated from its metadata.

Built with graphql-core directly (the engine under strawberry): the types are data, not
Python classes, and a 200-object model builds in a fraction of a second. Every generated
field carries a :class:`FieldRole` in its ``extensions`` that tells the read planner what
it stands for; root fields carry a :class:`RootRole`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
)

from tessera.metadata.filters import DATE_PERIODS, SYSTEM_FIELD_KINDS, Operator, filter_operators
from tessera.metadata.model import FieldDef, MetadataState, ObjectDef, Relation
from tessera.metadata.names import pascal_case
from tessera.schema.errors import camel_case

RoleKind = Literal["value", "select", "multi_select", "currency", "lookup", "reverse", "typename"]
RootKind = Literal[
    "get", "list", "aggregate", "create", "create_many", "update", "update_many",
    "delete", "restore", "destroy", "upsert",
]  # fmt: skip

#: field types whose values sort (a lookup sorts by a field of its target)
SORTABLE_TYPES = frozenset(
    {"text", "long_text", "email", "phone", "url", "auto_number", "integer", "decimal", "percent",
     "currency", "boolean", "date", "datetime", "select"}
)  # fmt: skip
NUMERIC_TYPES = frozenset({"integer", "decimal", "percent", "currency"})
DATE_TYPES = frozenset({"date", "datetime"})


@dataclass(frozen=True)
class FieldRole:
    """What a field of a record type stands for."""

    kind: RoleKind
    name: str
    #: the field (``None`` for system fields)
    field: FieldDef | None = None
    #: type of a system field's value: "id" or "datetime"
    system_type: str | None = None
    #: lookup: the target; reverse: the object whose lookup points here
    other: ObjectDef | None = None


@dataclass(frozen=True)
class RootRole:
    kind: RootKind
    object: ObjectDef


type_name = pascal_case


def _scalar(name: str, description: str) -> GraphQLScalarType:
    """A scalar passed through as JSON: the database shapes output values and the record
    service (or the filter compiler) checks input values, with precise error paths."""
    return GraphQLScalarType(
        name,
        description=description,
        serialize=lambda value: value,
        parse_value=lambda value: value,
    )


DecimalScalar = _scalar(
    "Decimal", 'An exact decimal number, as a string: "1234.50". Input accepts numbers too.'
)
DateScalar = _scalar("Date", 'A calendar date, ISO 8601: "2026-11-23".')
DateTimeScalar = _scalar(
    "DateTime", 'An instant, ISO 8601 with a time zone; returned in UTC: "2026-11-23T10:00:00.000000Z".'
)
JSONScalar = _scalar("JSON", "Any JSON value.")

PageInfo = GraphQLObjectType(
    "PageInfo",
    {
        "hasNextPage": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
        "hasPreviousPage": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
        "startCursor": GraphQLField(GraphQLString),
        "endCursor": GraphQLField(GraphQLString),
    },
    description="Where a page is in its list (Relay cursor connections).",
)
Money = GraphQLObjectType(
    "Money",
    {
        "amount": GraphQLField(GraphQLNonNull(DecimalScalar)),
        "currencyCode": GraphQLField(GraphQLNonNull(GraphQLString), description="ISO 4217 code"),
    },
    description="An amount in a currency.",
)
MoneyInput = GraphQLInputObjectType(
    "MoneyInput",
    {
        "amount": GraphQLInputField(GraphQLNonNull(DecimalScalar)),
        "currencyCode": GraphQLInputField(GraphQLString, description="ISO 4217; default: the field's"),
    },
)
SortDirection = GraphQLEnumType(
    "SortDirection",
    {
        name: GraphQLEnumValue(name, description=text)
        for name, text in {
            "ASC": "ascending, empty values last",
            "DESC": "descending, empty values first",
            "ASC_NULLS_FIRST": "ascending, empty values first",
            "ASC_NULLS_LAST": "ascending, empty values last",
            "DESC_NULLS_FIRST": "descending, empty values first",
            "DESC_NULLS_LAST": "descending, empty values last",
        }.items()
    },
)
ATOMIC = GraphQLArgument(
    GraphQLBoolean,
    default_value=True,
    description="true (default): all records are written, or none. false: each on its own.",
)
DatePeriod = GraphQLEnumType(
    "DatePeriod",
    {name: GraphQLEnumValue(name) for name in DATE_PERIODS},
    description="A calendar period around today, in the configured time zone (weeks start on Monday).",
)
DeletedRecords = GraphQLEnumType(
    "DeletedRecords",
    {
        "EXCLUDED": GraphQLEnumValue("EXCLUDED", description="live records only (default)"),
        "INCLUDED": GraphQLEnumValue("INCLUDED", description="live records and the recycle bin"),
        "ONLY": GraphQLEnumValue("ONLY", description="the recycle bin only"),
    },
)


class RecordSchemaBuilder:
    """Builds the schema of one metadata state; ``resolve`` serves every root field."""

    def __init__(self, state: MetadataState, resolve: Callable[..., Any]) -> None:
        self.state = state
        self.resolve = resolve
        self.objects: dict[uuid.UUID, GraphQLObjectType] = {}
        self.connections: dict[uuid.UUID, GraphQLObjectType] = {}
        self.filters: dict[uuid.UUID, GraphQLInputObjectType] = {}
        self.lookup_filters: dict[uuid.UUID, GraphQLInputObjectType] = {}
        self.relation_filters: dict[uuid.UUID, GraphQLInputObjectType] = {}
        self.order_bys: dict[uuid.UUID, GraphQLInputObjectType] = {}
        self.inputs: dict[uuid.UUID, GraphQLInputObjectType] = {}
        self.enums: dict[uuid.UUID, GraphQLEnumType] = {}
        self.options: dict[uuid.UUID, GraphQLObjectType] = {}
        self.operator_inputs: dict[str, GraphQLInputObjectType] = {}

    # -- output --------------------------------------------------------------------
    def object_type(self, obj: ObjectDef) -> GraphQLObjectType:
        if obj.id not in self.objects:
            self.objects[obj.id] = GraphQLObjectType(
                type_name(obj.api_name),
                lambda: self.object_fields(obj),
                description=obj.description or obj.label_singular,
                extensions={"tessera_object": obj},
            )
        return self.objects[obj.id]

    def object_fields(self, obj: ObjectDef) -> dict[str, GraphQLField]:
        out: dict[str, GraphQLField] = {}
        for name, kind in SYSTEM_FIELD_KINDS.items():
            scalar = GraphQLID if kind == "id" else DateTimeScalar
            required = name in ("id", "created_at", "updated_at")
            out[name] = GraphQLField(
                GraphQLNonNull(scalar) if required else scalar,
                extensions={"tessera": FieldRole("value", name, system_type=kind)},
            )
        for fld in obj.fields:
            out[fld.api_name] = self.output_field(obj, fld)
        for relation in self.state.relations_to(obj.id):
            out[relation.reverse_name] = self.reverse_field(relation)
        return out

    def output_field(self, obj: ObjectDef, fld: FieldDef) -> GraphQLField:
        description = fld.help_text or fld.label
        if fld.type == "lookup":
            target = self.lookup_target(fld)
            return GraphQLField(
                self.object_type(target),
                description=description,
                extensions={"tessera": FieldRole("lookup", fld.api_name, fld, other=target)},
            )
        if fld.type == "select":
            return GraphQLField(
                self.option_type(obj, fld),
                description=description,
                extensions={"tessera": FieldRole("select", fld.api_name, fld)},
            )
        if fld.type == "multi_select":
            return GraphQLField(
                GraphQLList(GraphQLNonNull(self.option_type(obj, fld))),
                description=description,
                extensions={"tessera": FieldRole("multi_select", fld.api_name, fld)},
            )
        if fld.type == "currency":
            return GraphQLField(
                Money,
                description=description,
                extensions={"tessera": FieldRole("currency", fld.api_name, fld)},
            )
        return GraphQLField(
            self.value_scalar(fld),
            description=description,
            extensions={"tessera": FieldRole("value", fld.api_name, fld)},
        )

    def reverse_field(self, relation: Relation) -> GraphQLField:
        source = relation.source_object
        return GraphQLField(
            GraphQLNonNull(self.connection_type(source)),
            self.list_arguments(source),
            description=f"{source.label_plural} whose '{relation.source_field.api_name}' is this record.",
            extensions={
                "tessera": FieldRole("reverse", relation.reverse_name, relation.source_field, other=source)
            },
        )

    def option_type(self, obj: ObjectDef, fld: FieldDef) -> GraphQLObjectType:
        if fld.id not in self.options:
            self.options[fld.id] = GraphQLObjectType(
                type_name(obj.api_name) + type_name(fld.api_name) + "Option",
                {
                    "value": GraphQLField(GraphQLNonNull(self.enum_type(obj, fld))),
                    "label": GraphQLField(GraphQLNonNull(GraphQLString)),
                    "color": GraphQLField(GraphQLString),
                },
                description=f"An option of '{obj.api_name}.{fld.api_name}'.",
            )
        return self.options[fld.id]

    def enum_type(self, obj: ObjectDef, fld: FieldDef) -> GraphQLEnumType:
        if fld.id not in self.enums:
            self.enums[fld.id] = GraphQLEnumType(
                type_name(obj.api_name) + type_name(fld.api_name),
                {
                    choice["value"]: GraphQLEnumValue(
                        choice["value"],
                        description=choice.get("label"),
                        deprecation_reason="retired: kept on existing records"
                        if choice.get("retired")
                        else None,
                    )
                    for choice in fld.options["choices"]
                },
            )
        return self.enums[fld.id]

    def value_scalar(self, fld: FieldDef) -> GraphQLScalarType:
        if fld.type == "integer":
            return GraphQLInt
        if fld.type in ("decimal", "percent"):
            return DecimalScalar
        if fld.type == "boolean":
            return GraphQLBoolean
        if fld.type == "date":
            return DateScalar
        if fld.type == "datetime":
            return DateTimeScalar
        if fld.type == "json":
            return JSONScalar
        return GraphQLString

    def connection_type(self, obj: ObjectDef) -> GraphQLObjectType:
        if obj.id not in self.connections:
            name = type_name(obj.api_name)
            edge = GraphQLObjectType(
                name + "Edge",
                lambda: {
                    "node": GraphQLField(GraphQLNonNull(self.object_type(obj))),
                    "cursor": GraphQLField(GraphQLNonNull(GraphQLString)),
                },
            )
            self.connections[obj.id] = GraphQLObjectType(
                name + "Connection",
                {
                    "edges": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(edge)))),
                    "pageInfo": GraphQLField(GraphQLNonNull(PageInfo)),
                    "totalCount": GraphQLField(
                        GraphQLNonNull(GraphQLInt), description="Records matching the filter, on all pages."
                    ),
                },
                extensions={"tessera_connection": obj},
            )
        return self.connections[obj.id]

    def lookup_target(self, fld: FieldDef) -> ObjectDef:
        target = self.state.object_by_id(uuid.UUID(str(fld.options["target_object_id"])))
        assert target is not None, "a valid state's lookups have targets"
        return target

    # -- arguments -------------------------------------------------------------------
    def list_arguments(self, obj: ObjectDef) -> dict[str, GraphQLArgument]:
        return {
            "filter": GraphQLArgument(self.filter_type(obj)),
            "orderBy": GraphQLArgument(GraphQLList(GraphQLNonNull(self.order_by_type(obj)))),
            "first": GraphQLArgument(
                GraphQLInt, description="Page size, counted from the start (or `after`)."
            ),
            "after": GraphQLArgument(GraphQLString),
            "last": GraphQLArgument(GraphQLInt, description="Page size, counted from the end (or `before`)."),
            "before": GraphQLArgument(GraphQLString),
            "deleted": GraphQLArgument(DeletedRecords, default_value="EXCLUDED"),
        }

    def order_by_type(self, obj: ObjectDef) -> GraphQLInputObjectType:
        if obj.id not in self.order_bys:

            def fields() -> dict[str, GraphQLInputField]:
                out = {name: GraphQLInputField(SortDirection) for name in SYSTEM_FIELD_KINDS}
                for fld in obj.fields:
                    if fld.type == "lookup":
                        out[fld.api_name] = GraphQLInputField(
                            self.order_by_type(self.lookup_target(fld)),
                            description="by a field of the linked record",
                        )
                    elif fld.type in SORTABLE_TYPES:
                        out[fld.api_name] = GraphQLInputField(SortDirection)
                return out

            self.order_bys[obj.id] = GraphQLInputObjectType(
                type_name(obj.api_name) + "OrderBy",
                fields,
                description="One sort key: name exactly one field.",
                extensions={"tessera_object": obj},
            )
        return self.order_bys[obj.id]

    def filter_type(self, obj: ObjectDef) -> GraphQLInputObjectType:
        if obj.id not in self.filters:
            self.filters[obj.id] = GraphQLInputObjectType(
                type_name(obj.api_name) + "Filter",
                lambda: self.filter_fields(obj, self.filters[obj.id]),
                description="Records matching every key given (see docs/filters.md).",
            )
        return self.filters[obj.id]

    def lookup_filter_type(self, obj: ObjectDef) -> GraphQLInputObjectType:
        if obj.id not in self.lookup_filters:
            self.lookup_filters[obj.id] = GraphQLInputObjectType(
                type_name(obj.api_name) + "LookupFilter",
                lambda: {
                    **self.filter_fields(obj, self.filter_type(obj)),
                    "isNull": GraphQLInputField(GraphQLBoolean, description="no linked record"),
                },
                description=f"A filter on the linked {obj.label_singular}.",
            )
        return self.lookup_filters[obj.id]

    def relation_filter_type(self, obj: ObjectDef) -> GraphQLInputObjectType:
        if obj.id not in self.relation_filters:
            self.relation_filters[obj.id] = GraphQLInputObjectType(
                type_name(obj.api_name) + "RelationFilter",
                lambda: {
                    "some": GraphQLInputField(self.filter_type(obj), description="at least one matches"),
                    "none": GraphQLInputField(self.filter_type(obj), description="none matches"),
                    "every": GraphQLInputField(
                        self.filter_type(obj), description="all match (or there are none)"
                    ),
                },
            )
        return self.relation_filters[obj.id]

    def filter_fields(self, obj: ObjectDef, own: GraphQLInputObjectType) -> dict[str, GraphQLInputField]:
        out: dict[str, GraphQLInputField] = {
            "and": GraphQLInputField(GraphQLList(GraphQLNonNull(own))),
            "or": GraphQLInputField(GraphQLList(GraphQLNonNull(own))),
            "not": GraphQLInputField(own),
        }
        for name, kind in SYSTEM_FIELD_KINDS.items():
            out[name] = GraphQLInputField(
                self.operator_input(
                    "ID" if kind == "id" else "DateTime",
                    system_filter_operators(kind),
                    GraphQLID if kind == "id" else DateTimeScalar,
                )
            )
        for fld in obj.fields:
            if fld.type == "lookup":
                out[fld.api_name] = GraphQLInputField(self.lookup_filter_type(self.lookup_target(fld)))
            elif fld.type == "currency":
                out[fld.api_name] = GraphQLInputField(self.money_filter())
            elif fld.type in ("select", "multi_select"):
                out[fld.api_name] = GraphQLInputField(
                    self.operator_input(
                        type_name(obj.api_name) + type_name(fld.api_name),
                        filter_operators(fld),
                        self.enum_type(obj, fld),
                    )
                )
            else:
                operators = filter_operators(fld)
                if operators:
                    out[fld.api_name] = GraphQLInputField(
                        self.operator_input(type_name(fld.type), operators, self.filter_scalar(fld))
                    )
        for relation in self.state.relations_to(obj.id):
            out[relation.reverse_name] = GraphQLInputField(self.relation_filter_type(relation.source_object))
        return out

    def filter_scalar(self, fld: FieldDef) -> GraphQLInputType:
        if fld.type in DATE_TYPES:
            # ISO values or relative words (today, now…), checked by the filter compiler.
            return GraphQLString
        if fld.type in ("decimal", "percent"):
            return DecimalScalar
        return self.value_scalar(fld)

    def money_filter(self) -> GraphQLInputObjectType:
        if "Money" not in self.operator_inputs:
            decimal_ops = [op for op in filter_operators(_pseudo("decimal")) if op.name != "isNull"]
            self.operator_inputs["Money"] = GraphQLInputObjectType(
                "MoneyFilter",
                lambda: {
                    "amount": GraphQLInputField(
                        self.operator_input("MoneyAmount", decimal_ops, DecimalScalar)
                    ),
                    "currencyCode": GraphQLInputField(
                        self.operator_input(
                            "CurrencyCode",
                            [
                                op
                                for op in filter_operators(_pseudo("text"))
                                if op.name in ("eq", "neq", "in", "notIn")
                            ],
                            GraphQLString,
                        )
                    ),
                    "isNull": GraphQLInputField(GraphQLBoolean),
                },
            )
        return self.operator_inputs["Money"]

    def operator_input(
        self, prefix: str, operators: tuple[Operator, ...] | list[Operator], scalar: GraphQLInputType
    ) -> GraphQLInputObjectType:
        name = prefix + "Filter"
        if name not in self.operator_inputs:
            fields: dict[str, GraphQLInputField] = {}
            for op in operators:
                operand: GraphQLInputType
                if op.operand == "value":
                    operand = scalar
                elif op.operand in ("values", "range"):
                    operand = GraphQLList(GraphQLNonNull(scalar))
                elif op.operand == "flag":
                    operand = GraphQLBoolean
                elif op.operand == "count":
                    operand = GraphQLInt
                elif op.operand == "period":
                    operand = DatePeriod
                else:  # pattern
                    operand = GraphQLString
                fields[op.name] = GraphQLInputField(operand, description=op.description)
            self.operator_inputs[name] = GraphQLInputObjectType(name, fields)
        return self.operator_inputs[name]

    def input_type(self, obj: ObjectDef) -> GraphQLInputObjectType:
        if obj.id not in self.inputs:

            def fields() -> dict[str, GraphQLInputField]:
                out = {"owner": GraphQLInputField(GraphQLID, description="user who owns the record")}
                for fld in obj.fields:
                    if fld.type == "auto_number":
                        continue
                    described = fld.help_text or fld.label
                    if fld.required:
                        described += " (required)"
                    kind: GraphQLInputType
                    if fld.type == "lookup":
                        kind = GraphQLID
                    elif fld.type == "currency":
                        kind = MoneyInput
                    elif fld.type == "select":
                        kind = self.enum_type(obj, fld)
                    elif fld.type == "multi_select":
                        kind = GraphQLList(GraphQLNonNull(self.enum_type(obj, fld)))
                    else:
                        kind = self.value_scalar(fld)
                    out[fld.api_name] = GraphQLInputField(kind, description=described)
                return out

            self.inputs[obj.id] = GraphQLInputObjectType(
                type_name(obj.api_name) + "Input",
                fields,
                description="Values of a record; on update, only the fields given change.",
            )
        return self.inputs[obj.id]

    # -- roots -----------------------------------------------------------------------
    def root(
        self,
        kind: RootKind,
        obj: ObjectDef,
        type_: GraphQLOutputType,
        args: dict[str, GraphQLArgument],
        description: str,
    ) -> GraphQLField:
        return GraphQLField(
            type_,
            args,
            resolve=self.resolve,
            description=description,
            extensions={"tessera_root": RootRole(kind, obj)},
        )

    def aggregate_root(self, obj: ObjectDef) -> GraphQLField:
        from tessera.schema.aggregates import aggregate_field

        return aggregate_field(self, obj)

    def build(self) -> GraphQLSchema:
        query: dict[str, GraphQLField] = {}
        mutation: dict[str, GraphQLField] = {}
        for obj in self.state.objects:
            single, plural = camel_case(obj.api_name), camel_case(obj.plural_api_name)
            singular_type, plural_type = type_name(obj.api_name), type_name(obj.plural_api_name)
            record = self.object_type(obj)
            id_arg = {"id": GraphQLArgument(GraphQLNonNull(GraphQLID))}
            record_input = GraphQLNonNull(self.input_type(obj))
            query[single] = self.root(
                "get",
                obj,
                record,
                {**id_arg, "deleted": GraphQLArgument(DeletedRecords, default_value="EXCLUDED")},
                f"One {obj.label_singular} by id (null when there is none).",
            )
            query[plural] = self.root(
                "list",
                obj,
                GraphQLNonNull(self.connection_type(obj)),
                self.list_arguments(obj),
                f"{obj.label_plural}, filtered, sorted and paginated.",
            )
            query[plural + "Aggregate"] = self.aggregate_root(obj)
            mutation["create" + singular_type] = self.root(
                "create",
                obj,
                GraphQLNonNull(record),
                {"input": GraphQLArgument(record_input)},
                f"Create a {obj.label_singular}.",
            )
            mutation["create" + plural_type] = self.root(
                "create_many",
                obj,
                GraphQLNonNull(GraphQLList(record)),
                {"input": GraphQLArgument(GraphQLNonNull(GraphQLList(record_input))), "atomic": ATOMIC},
                f"Create several {obj.label_plural}: all of them, or none when one is invalid "
                "(atomic: false creates the valid ones; the others are null, with an error each).",
            )
            mutation["update" + singular_type] = self.root(
                "update",
                obj,
                GraphQLNonNull(record),
                {**id_arg, "input": GraphQLArgument(record_input)},
                f"Change fields of a {obj.label_singular}: only those given.",
            )
            mutation["update" + plural_type] = self.root(
                "update_many",
                obj,
                GraphQLNonNull(GraphQLList(record)),
                {
                    "filter": GraphQLArgument(GraphQLNonNull(self.filter_type(obj))),
                    "input": GraphQLArgument(record_input),
                    "atomic": ATOMIC,
                },
                f"Change the same fields of every {obj.label_singular} matching a filter: all or none "
                "(atomic: false changes those it can; the others are null, with an error each).",
            )
            mutation["delete" + singular_type] = self.root(
                "delete",
                obj,
                GraphQLNonNull(record),
                id_arg,
                f"Move a {obj.label_singular} to the recycle bin.",
            )
            mutation["restore" + singular_type] = self.root(
                "restore",
                obj,
                GraphQLNonNull(record),
                id_arg,
                f"Bring a {obj.label_singular} back from the recycle bin.",
            )
            mutation["destroy" + singular_type] = self.root(
                "destroy",
                obj,
                GraphQLNonNull(GraphQLID),
                id_arg,
                f"Delete a {obj.label_singular} for good; returns its id.",
            )
            unique = [f.api_name for f in obj.fields if f.unique]
            if unique:
                match = GraphQLEnumType(
                    singular_type + "UniqueField", {n: GraphQLEnumValue(n) for n in unique}
                )
                mutation["upsert" + singular_type] = self.root(
                    "upsert",
                    obj,
                    GraphQLNonNull(record),
                    {"on": GraphQLArgument(GraphQLNonNull(match)), "input": GraphQLArgument(record_input)},
                    f"Update the {obj.label_singular} whose `on` field equals the input's, or create it.",
                )
        if not query:
            query["_empty"] = GraphQLField(GraphQLString, description="This workspace has no objects yet.")
        return GraphQLSchema(
            GraphQLObjectType("Query", query),
            GraphQLObjectType("Mutation", mutation) if mutation else None,
        )


def system_filter_operators(kind: str) -> tuple[Operator, ...]:
    """Operators of a system field: ids compare for equality, instants like datetimes."""
    if kind == "datetime":
        return filter_operators(_pseudo("datetime"))
    return tuple(op for op in filter_operators(_pseudo("text")) if op.name in ID_OPERATORS)


ID_OPERATORS = ("eq", "neq", "in", "notIn", "isNull")


def _pseudo(type_name_: str) -> FieldDef:
    """A field of a type, to ask the registry for that type's operators."""
    return FieldDef(id=uuid.UUID(int=0), api_name="value", label="value", type=type_name_)
