"""Limits on what one GraphQL request may ask: tokens, depth, aliases and cost.

The cost of a query is the number of records it may return: every connection counts its
page size times the page sizes of the connections around it (``companies(first: 50) {
deals(first: 20) }`` costs 50 + 50 * 20 = 1,050). Single records (by id, through a
lookup) multiply by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from tessera.platform.errors import TesseraError


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 50
    max_tokens: int = 5000
    max_cost: int = 100_000


@dataclass
class _Tally:
    depth: int = 0
    aliases: int = 0
    cost: int = 0


def check_limits(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    limits: QueryLimits,
    read_settings: Any,
) -> None:
    """Raise :class:`TesseraError` when the operation goes beyond a limit."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next(
        (o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)), None
    )
    if operation is None:
        return
    root = schema.mutation_type if operation.operation == OperationType.MUTATION else schema.query_type
    if root is None:
        return
    tally = _Tally()

    def page_size(node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                value = argument.value
                if isinstance(value, IntValueNode):
                    return int(value.value)
                if isinstance(value, VariableNode) and isinstance(variables.get(value.name.value), int):
                    return int(variables[value.name.value])
        return int(read_settings.page_size)

    def walk(
        selection_set: SelectionSetNode | None, parent: Any, depth: int, multiplier: int, seen: frozenset[str]
    ) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    tally.aliases += 1
                tally.depth = max(tally.depth, depth)
                definition = (
                    parent.fields.get(selection.name.value) if isinstance(parent, GraphQLObjectType) else None
                )
                if definition is None:
                    continue
                named = get_named_type(definition.type)
                inner = multiplier
                if isinstance(named, GraphQLObjectType) and "tessera_connection" in (named.extensions or {}):
                    inner = multiplier * max(page_size(selection), 1)
                    tally.cost += inner
                walk(selection.selection_set, named, depth + 1, inner, seen)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, parent, depth, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    walk(fragments[name].selection_set, parent, depth, multiplier, seen | {name})

    walk(operation.selection_set, root, 1, 1, frozenset())
    if tally.depth > limits.max_depth:
        raise TesseraError.single(
            "QUERY_TOO_DEEP",
            f"The query nests {tally.depth} levels deep; the limit is {limits.max_depth}.",
            limit=limits.max_depth,
        )
    if tally.aliases > limits.max_aliases:
        raise TesseraError.single(
            "TOO_MANY_ALIASES",
            f"The query uses {tally.aliases} aliases; the limit is {limits.max_aliases}.",
            limit=limits.max_aliases,
        )
    if tally.cost > limits.max_cost:
        raise TesseraError.single(
            "QUERY_TOO_COSTLY",
            f"The query may return {tally.cost} records (page sizes multiplied through nested "
            f"connections); the limit is {limits.max_cost}. Ask for smaller pages.",
            cost=tally.cost,
            limit=limits.max_cost,
        )
