"""Tessera errors as GraphQL errors: a stable ``code``, the ``inputPath`` of the offending
input (in the API's camelCase names), and every problem found. Anything else is masked
so that no stack trace or internal detail reaches a client."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from tessera.platform.errors import PathPart, TesseraError

logger = logging.getLogger("tessera.graphql")

# Below these keys the path runs inside JSON values whose keys are kept as written.
JSON_VALUED_KEYS = frozenset({"options", "default", "values", "error_when"})


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def api_path(path: Sequence[PathPart]) -> list[PathPart]:
    """``("input", "api_name")`` → ``["input", "apiName"]``; JSON values keep their keys."""
    out: list[PathPart] = []
    inside_json = False
    for part in path:
        if isinstance(part, str) and not inside_json:
            out.append(camel_case(part))
            inside_json = part in JSON_VALUED_KEYS
        else:
            out.append(part)
    return out


def error_payload(
    exc: TesseraError, path: Callable[[Sequence[PathPart]], list[PathPart]] = api_path
) -> dict[str, Any]:
    """``message`` and ``extensions`` (``code``, ``inputPath``, every problem) of a
    GraphQL error for ``exc``; ``path`` writes input paths in the API's spelling."""
    problems: list[dict[str, Any]] = [
        {
            "code": p.code,
            "message": p.message,
            "inputPath": path(p.path),
            **({"details": p.details} if p.details else {}),
        }
        for p in exc.problems
    ]
    first = problems[0]
    more = len(problems) - 1
    return {
        "message": first["message"] if not more else f"{first['message']} (and {more} more problem(s))",
        "extensions": {"code": first["code"], "inputPath": first["inputPath"], "problems": problems},
    }


def to_graphql_error(exc: TesseraError) -> GraphQLError:
    payload = error_payload(exc)
    return GraphQLError(payload["message"], extensions=payload["extensions"])


def is_unexpected(error: GraphQLError) -> bool:
    """Errors raised by our code that are not Tessera's own: hide them, log them."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError | TesseraError):
        return False
    logger.error("Unexpected error in GraphQL resolver", exc_info=original)
    return True


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(
            should_mask_error=is_unexpected,
            error_message="Unexpected error; it has been logged. Nothing was changed.",
        )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_ERROR"}
        return masked


class QuietSchema(strawberry.Schema):
    """A schema that does not log errors a client caused (bad input, unknown names):
    they are answers, not incidents. Unexpected errors are logged by
    :class:`MaskUnexpectedErrors`."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None
