"""The connector SDK: what an integrator writes to plug a system into Tessera.

A connector is a class with a :class:`Manifest` and a few hooks, all with no-op defaults::

    from tessera.connectors.sdk import (
        ActionSpec, CheckResult, Checkpoint, Connector, Manifest, Record, StreamSpec,
    )

    class Shop(Connector):
        manifest = Manifest(
            name="shop",
            version="1.0.0",
            title="Shop",
            config_schema={
                "type": "object",
                "required": ["url", "token"],
                "properties": {
                    "url": {"type": "string", "format": "uri"},
                    "token": {"type": "string", "secret": True},
                },
            },
            streams=(
                StreamSpec(
                    name="customers",
                    key="id",
                    cursor_field="updated_at",
                    object="company",
                    external_id_field="shop_id",
                    fields={"name": "/name", "website": "/site"},
                ),
            ),
        )

        def check(self, config):
            ...  # try the URL and the token; CheckResult.failed("plain words") when wrong

        def read(self, config, stream, state):
            for page in ...:
                yield from (Record(item) for item in page)
                yield Checkpoint({"updated_at": page[-1]["updated_at"]})

The hooks:

- :meth:`Connector.check` tests a configuration and says what is wrong in plain words.
- :meth:`Connector.discover` lists the streams and actions (the manifest's, by default).
- :meth:`Connector.read` yields :class:`Record` and :class:`Checkpoint` items for one
  stream, starting after ``state`` (the last checkpoint saved, or ``None``). Tessera saves
  a checkpoint in the transaction that writes the records read before it, so a sync that
  dies resumes from the last checkpoint: records after it are read again and deduplicated
  by their external id (at least once, no duplicates).
- :meth:`Connector.execute` runs an action for a workflow with an idempotency key that is
  the same for every attempt of one step: pass it on where the other side honours one.
- :meth:`Connector.subscribe` / :meth:`Connector.unsubscribe` register push notifications.

Errors are one taxonomy (:class:`ConnectorError` and its subclasses): the runtime retries
rate-limited and transient failures (within the manifest's ``max_retries``) and stops at
configuration, authentication and permanent ones.

Connectors are found through the ``tessera.connectors`` entry point group, so a connector
can be its own pip package::

    [project.entry-points."tessera.connectors"]
    shop = "shop_connector:Shop"

:mod:`tessera.connectors.contract` is the test suite every connector runs against itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

__all__ = [
    "ActionSpec",
    "AuthenticationError",
    "Catalog",
    "CheckResult",
    "Checkpoint",
    "ConfigurationError",
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "Lookup",
    "Manifest",
    "PermanentError",
    "RateLimited",
    "Record",
    "RecordAccess",
    "StreamSpec",
    "Subscription",
    "TransientError",
    "secret_fields",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")


# -- errors ------------------------------------------------------------------------------
class ConnectorError(Exception):
    """A connector's failure, in plain words. Raise one of the subclasses: the runtime
    decides from the kind whether to try again."""

    kind: ClassVar[str] = "permanent"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, path: Sequence[str | int] = ()) -> None:
        super().__init__(message)
        #: where in the configuration or input the problem is, when it is there
        self.path = tuple(path)


class ConfigurationError(ConnectorError):
    """The configuration is wrong (a missing database name, a URL that is not one)."""

    kind = "configuration"


class AuthenticationError(ConnectorError):
    """The other side refused the credentials."""

    kind = "authentication"


class RateLimited(ConnectorError):
    """The other side asked us to slow down; ``retry_after`` seconds when it said how long."""

    kind = "rate_limited"
    retryable = True

    def __init__(
        self, message: str, *, retry_after: float | None = None, path: Sequence[str | int] = ()
    ) -> None:
        super().__init__(message, path=path)
        self.retry_after = retry_after


class TransientError(ConnectorError):
    """A failure that may pass: a timeout, a refused connection, a 503."""

    kind = "transient"
    retryable = True


class PermanentError(ConnectorError):
    """A failure that trying again will not cure: a record the other side rejects."""

    kind = "permanent"


# -- what a connector declares -----------------------------------------------------------
@dataclass(frozen=True)
class Lookup:
    """A mapped value that names another Tessera record: the id of the ``object`` record
    whose ``field`` equals the source value (``None`` when there is none yet)."""

    pointer: str
    object: str
    field: str


@dataclass(frozen=True)
class StreamSpec:
    """A kind of source record a connector can sync into a Tessera object.

    ``key`` is the source record's identity (stored in the unique ``external_id_field`` of
    ``object``, which is how a record read twice updates the same Tessera record);
    ``cursor_field`` orders records for incremental reads. ``fields`` maps a Tessera field
    to a JSON pointer into the source record (``/name``, ``/address/city``; a bare name is
    read as ``/name``) or to a :class:`Lookup`."""

    name: str
    key: str
    object: str
    external_id_field: str
    fields: Mapping[str, str | Lookup] = field(default_factory=dict)
    cursor_field: str | None = None
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    description: str = ""

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "key": self.key,
            "cursorField": self.cursor_field,
            "object": self.object,
            "externalIdField": self.external_id_field,
            "fields": {
                name: (
                    source
                    if isinstance(source, str)
                    else {"pointer": source.pointer, "object": source.object, "field": source.field}
                )
                for name, source in self.fields.items()
            },
            "schema": dict(self.schema),
        }


@dataclass(frozen=True)
class ActionSpec:
    """An action a connector offers workflows, with its input and output JSON Schemas."""

    name: str
    description: str = ""
    input_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    output_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": dict(self.input_schema),
            "outputSchema": dict(self.output_schema),
        }


@dataclass(frozen=True)
class Manifest:
    """Who a connector is and what it offers.

    ``config_schema`` is a JSON Schema (draft 2020-12) of the connection's configuration;
    a property with ``"secret": true`` is a secret: stored encrypted, never shown again.
    ``package`` names a package folder (relative to the connector's module) that a
    connection installs first: the objects and fields the streams feed.
    ``max_retries`` bounds the runtime's retries of rate-limited and transient failures."""

    name: str
    version: str
    title: str = ""
    description: str = ""
    config_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    streams: tuple[StreamSpec, ...] = ()
    actions: tuple[ActionSpec, ...] = ()
    package: str | None = None
    max_retries: int = 3

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"A connector's name is lower_snake_case (a-z, 0-9, _), not {self.name!r}.")
        if not _SEMVER.match(self.version):
            raise ValueError(f"A connector's version is semantic (1.2.3), not {self.version!r}.")

    def stream(self, name: str) -> StreamSpec:
        for spec in self.streams:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.streams) or "none"
        raise ConfigurationError(f"Connector '{self.name}' has no stream '{name}' (streams: {known}).")

    def action(self, name: str) -> ActionSpec:
        for spec in self.actions:
            if spec.name == name:
                return spec
        known = ", ".join(a.name for a in self.actions) or "none"
        raise ConfigurationError(f"Connector '{self.name}' has no action '{name}' (actions: {known}).")

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "title": self.title or self.name,
            "description": self.description,
            "configSchema": dict(self.config_schema),
            "secretFields": secret_fields(self.config_schema),
            "streams": [s.describe() for s in self.streams],
            "actions": [a.describe() for a in self.actions],
        }


def secret_fields(schema: Mapping[str, Any]) -> list[str]:
    """The top-level properties of a configuration schema marked ``"secret": true``."""
    properties = schema.get("properties", {})
    return [name for name, prop in properties.items() if isinstance(prop, Mapping) and prop.get("secret")]


# -- what the hooks yield and return ------------------------------------------------------
@dataclass(frozen=True)
class Record:
    """One source record (JSON-like), as the other system has it."""

    data: Mapping[str, Any]


@dataclass(frozen=True)
class Checkpoint:
    """A resumable position in a stream: every record yielded before it is covered.
    ``state`` is JSON; the next :meth:`Connector.read` of the stream receives it."""

    state: Mapping[str, Any]


@dataclass(frozen=True)
class CheckResult:
    """The answer of :meth:`Connector.check`."""

    ok: bool
    message: str
    path: tuple[str | int, ...] = ()

    @classmethod
    def passed(cls, message: str = "The connection works.") -> CheckResult:
        return cls(True, message)

    @classmethod
    def failed(cls, message: str, path: Sequence[str | int] = ()) -> CheckResult:
        return cls(False, message, tuple(path))


@dataclass(frozen=True)
class Catalog:
    """What :meth:`Connector.discover` finds: the streams and actions available."""

    streams: tuple[StreamSpec, ...]
    actions: tuple[ActionSpec, ...]


@dataclass(frozen=True)
class Subscription:
    """A push registration on the other side (:meth:`Connector.subscribe`)."""

    id: str
    details: Mapping[str, Any] = field(default_factory=dict)


# -- what Tessera gives a connector --------------------------------------------------------
class RecordAccess(Protocol):
    """Tessera's records, as the connection's actor may read and write them (every write
    goes through the record service: validation, permissions, audit, events)."""

    def find(
        self, object_name: str, filter_doc: Mapping[str, Any] | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]: ...

    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None: ...

    def create(self, object_name: str, values: Mapping[str, Any]) -> dict[str, Any]: ...

    def update(self, object_name: str, record_id: str, values: Mapping[str, Any]) -> dict[str, Any]: ...

    def upsert(self, object_name: str, match_field: str, values: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ConnectorContext:
    """Where a connector runs: the workspace, the connection's name and the records."""

    workspace: str
    connection: str
    records: RecordAccess


# -- the connector ------------------------------------------------------------------------
class Connector:
    """Base class of connectors. Subclasses set :attr:`manifest` and override the hooks
    they need; each hook receives the connection's configuration (secrets decrypted).

    The runtime builds one instance per use with the :class:`ConnectorContext` it runs in
    (``None`` in the CLI's ``check`` and in unit tests)."""

    manifest: ClassVar[Manifest]

    def __init__(self, context: ConnectorContext | None = None) -> None:
        self.context = context

    @property
    def records(self) -> RecordAccess:
        """Tessera's records (for actions that read the triggering record or store what they did)."""
        if self.context is None:
            raise ConfigurationError(
                "This connector needs a Tessera workspace to run this (no context given)."
            )
        return self.context.records

    def check(self, config: Mapping[str, Any]) -> CheckResult:
        """Test the configuration against the other side; say what is wrong in plain words."""
        return CheckResult.passed()

    def discover(self, config: Mapping[str, Any]) -> Catalog:
        """The streams and actions available with this configuration."""
        return Catalog(self.manifest.streams, self.manifest.actions)

    def read(
        self, config: Mapping[str, Any], stream: str, state: Mapping[str, Any] | None
    ) -> Iterator[Record | Checkpoint]:
        """Yield the records of ``stream`` changed after ``state``, with checkpoints."""
        return iter(())

    def execute(
        self, config: Mapping[str, Any], action: str, payload: Mapping[str, Any], idempotency_key: str
    ) -> Mapping[str, Any]:
        """Run ``action`` with ``payload`` (valid against its input schema)."""
        raise PermanentError(f"Connector '{self.manifest.name}' has no action '{action}'.")

    def subscribe(self, config: Mapping[str, Any], callback_url: str, secret: str) -> Subscription | None:
        """Ask the other side to push changes to ``callback_url`` (``None``: it cannot)."""
        return None

    def unsubscribe(self, config: Mapping[str, Any], subscription: Subscription) -> None:
        """Undo :meth:`subscribe`."""
