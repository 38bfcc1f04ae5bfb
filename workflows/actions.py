"""The action registry: what workflow steps call outside the record service.

An action is a named piece of work with an input and an output JSON Schema — send an
email, make an HTTP request, create a sales order in an ERP. The engine runs the
``send_email`` and ``http_request`` steps through the actions of those names, and a
``connector_action`` step through ``<connector>.<action>``: connectors register their
actions here, which is how they reach workflows.

Every call carries an idempotency key, the same for every attempt of one step of one run,
so a redelivered run does not repeat an effect where the other side honours the key
(an ``Idempotency-Key`` header, an email's Message-ID).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import jsonschema


class ActionFailed(Exception):
    """An action could not do its work. ``retryable`` failures (a timeout, a 503) are tried
    again by the workflow's retry policy; the others fail the step at once."""

    def __init__(
        self,
        message: str,
        code: str = "ACTION_FAILED",
        *,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        #: seconds the other side asked us to wait (Retry-After), when it said so
        self.retry_after = retry_after


@dataclass(frozen=True)
class ActionCall:
    """Who calls an action, and the key that makes a repeated call harmless."""

    workspace: str
    run_id: uuid.UUID
    step_key: str
    idempotency_key: str
    #: the record the run is about, as (object api name, id), when it is about one
    record: tuple[str, uuid.UUID] | None = None


class Action:
    """Base class of actions: a name, input and output schemas, and :meth:`execute`."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    input_schema: ClassVar[Mapping[str, Any]] = {"type": "object"}
    output_schema: ClassVar[Mapping[str, Any]] = {}

    def execute(self, call: ActionCall, payload: Mapping[str, Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_input(self, payload: Mapping[str, Any]) -> None:
        """Raise :class:`ActionFailed` (not retryable) when ``payload`` breaks the input schema."""
        errors = sorted(
            jsonschema.Draft202012Validator(self.input_schema).iter_errors(payload),
            key=lambda e: list(map(str, e.absolute_path)),
        )
        if errors:
            where = ".".join(map(str, errors[0].absolute_path)) or "input"
            raise ActionFailed(f"{self.name}: {where}: {errors[0].message}", "INVALID_INPUT", retryable=False)


class ActionRegistry:
    """Actions by name; the engine asks it for the action of each step."""

    def __init__(
        self, actions: Iterable[Action] = (), *, resolve: Callable[[str], Action | None] | None = None
    ) -> None:
        self._actions: dict[str, Action] = {}
        #: finds an action not registered by name (connectors' ``<connection>.<action>``)
        self.resolve = resolve
        for action in actions:
            self.register(action)

    def register(self, action: Action) -> None:
        if not action.name:
            raise ValueError(f"{type(action).__name__} has no name")
        self._actions[action.name] = action

    def get(self, name: str) -> Action:
        action = self._actions.get(name)
        if action is None and self.resolve is not None:
            action = self.resolve(name)
        if action is None:
            known = ", ".join(sorted(self._actions)) or "none"
            raise ActionFailed(
                f"There is no action '{name}' (registered: {known}).", "UNKNOWN_ACTION", retryable=False
            )
        return action

    def names(self) -> list[str]:
        return sorted(self._actions)

    def call(self, name: str, call: ActionCall, payload: Mapping[str, Any]) -> Any:
        """Check ``payload`` against the action's input schema, then run it."""
        action = self.get(name)
        action.check_input(payload)
        return action.execute(call, payload)
