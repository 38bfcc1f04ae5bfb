"""Introspection for admins only (``TESSERA_INTROSPECTION=admins``): the schema of a
workspace tells its whole data model, which a narrow integration key need not read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, GraphQLError, get_named_type, is_introspection_type
from graphql.validation import ValidationRule
from strawberry.extensions import SchemaExtension

MESSAGE = "Introspection is for admins here (TESSERA_INTROSPECTION=admins); ask one for the schema."


class NoIntrospection(ValidationRule):
    """Refuses ``__schema`` and ``__type`` (``__typename`` stays allowed)."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        named = get_named_type(self.context.get_type())
        if named is not None and is_introspection_type(named):
            self.report_error(GraphQLError(MESSAGE, node, extensions={"code": "INTROSPECTION_DISABLED"}))


class IntrospectionByRole(SchemaExtension):
    """The metadata API's side: adds :class:`NoIntrospection` to the validation of a
    request whose context says ``may_introspect`` is false."""

    def on_operation(self) -> Iterator[None]:
        if not getattr(self.execution_context.context, "may_introspect", True):
            self.execution_context.validation_rules = (
                *self.execution_context.validation_rules,
                NoIntrospection,
            )
        yield
