"""Connections: a workspace's configured use of a connector.

A connection names a connector, holds its configuration — the secrets (the properties the
connector's configuration schema marks ``"secret": true``) apart from the rest, encrypted
with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) — and says which streams
it syncs, on what schedule, and with whose rights it writes. Nothing returns a secret
once it is stored: :meth:`Connection.describe` lists which secrets are set, never their
values.

The encryption key is ``TESSERA_SECRET_KEY`` (one or more Fernet keys, comma-separated:
the first encrypts, every one decrypts, so keys can be rotated); without it, a key is made
on first use and kept in the data folder's ``secret.key`` (readable by its owner only).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import sqlalchemy as sa
from croniter import croniter
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import Engine

from tessera.connectors.sdk import Connector, secret_fields
from tessera.metadata.names import name_problems
from tessera.platform.database import write_transaction
from tessera.platform.errors import NotFound, Problem, TesseraError
from tessera.platform.errors import Path as ErrorPath
from tessera.platform.settings import Settings
from tessera.platform.tables import connections
from tessera.platform.workspaces import Workspace, get_workspace

Clock = Callable[[], dt.datetime]
#: what a secret reads as wherever a configuration is shown
SECRET_SET = "<set>"


class SecretBox:
    """Encrypts and decrypts connection secrets."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("A secret box needs at least one key.")
        try:
            self.fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise ValueError(
                "TESSERA_SECRET_KEY holds Fernet keys (32 url-safe base64-encoded bytes), comma-separated: "
                "make one with `tessera connector new-key`."
            ) from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.secret_key:
            return cls([k.strip() for k in settings.secret_key.split(",") if k.strip()])
        return cls([local_key(settings.data_dir / "secret.key")])

    def seal(self, values: Mapping[str, Any]) -> str:
        return self.fernet.encrypt(json.dumps(dict(values)).encode()).decode()

    def open(self, token: str) -> dict[str, Any]:
        try:
            opened: dict[str, Any] = json.loads(self.fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise TesseraError.single(
                "SECRET_KEY_MISMATCH",
                "The connection's secrets were encrypted with another key: set TESSERA_SECRET_KEY to "
                "the key they were saved with (or enter the secrets again).",
            ) from exc
        return opened

    def rotate(self, token: str) -> str:
        """``token`` encrypted again with the first key."""
        return self.fernet.rotate(token.encode()).decode()


def local_key(path: Path) -> str:
    """The key kept in ``path``, made there (owner-only) the first time. Written whole
    before it appears, so a process starting at the same time reads it complete."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(Fernet.generate_key().decode() + "\n")
    try:
        os.link(draft, path)  # fails if another process made the key first: theirs is kept
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


@dataclass(frozen=True)
class Connection:
    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    connector: str
    #: the configuration without its secrets
    config: dict[str, Any]
    secrets_token: str
    streams: list[str] | None
    schedule: str | None
    next_sync_at: dt.datetime | None
    run_as: uuid.UUID | None
    enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    #: the push registration on the other side ({id, details, callbackUrl}), if any
    push: dict[str, Any] | None = None
    push_secret_token: str | None = None

    def describe(self, secret_names: Sequence[str]) -> dict[str, Any]:
        """What the API and the CLI show: the configuration with its secrets as ``<set>``."""
        return {
            "name": self.name,
            "connector": self.connector,
            "config": {**self.config, **{name: SECRET_SET for name in secret_names}},
            "streams": self.streams,
            "schedule": self.schedule,
            "nextSyncAt": self.next_sync_at,
            "runAs": self.run_as,
            "enabled": self.enabled,
            "push": self.push,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


def connection_from_row(row: Any) -> Connection:
    return Connection(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        connector=row.connector,
        config=dict(row.config),
        secrets_token=row.secrets,
        streams=None if row.streams is None else list(row.streams),
        schedule=row.schedule,
        next_sync_at=row.next_sync_at,
        run_as=row.run_as,
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
        push=None if row.push is None else dict(row.push),
        push_secret_token=row.push_secret,
    )


def config_problems(connector: type[Connector], config: Any, path: ErrorPath = ("config",)) -> list[Problem]:
    """``config`` against the connector's configuration schema, each problem at its spot."""
    if not isinstance(config, Mapping):
        return [Problem("INVALID_CONFIG", "A connection's configuration is an object.", path)]
    validator = jsonschema.Draft202012Validator(connector.manifest.config_schema)
    return [
        Problem("INVALID_CONFIG", error.message, (*path, *error.absolute_path))
        for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    ]


def schedule_problems(schedule: str | None) -> list[Problem]:
    if schedule is not None and not croniter.is_valid(schedule):
        return [
            Problem(
                "INVALID_SCHEDULE",
                f"'{schedule}' is not a cron expression "
                "(minute hour day month weekday, e.g. '*/15 * * * *').",
                ("schedule",),
            )
        ]
    return []


def next_run(schedule: str | None, after: dt.datetime) -> dt.datetime | None:
    if schedule is None:
        return None
    following: dt.datetime = croniter(schedule, after).get_next(dt.datetime)
    return following


class ConnectionStore:
    """Connections of workspaces, with their secrets sealed."""

    def __init__(self, engine: Engine, box: SecretBox, *, clock: Clock | None = None) -> None:
        self.engine = engine
        self.box = box
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    # -- reading --------------------------------------------------------------------------
    def list(self, workspace: str) -> list[Connection]:
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            rows = conn.execute(
                sa.select(connections).where(connections.c.workspace_id == ws.id).order_by(connections.c.name)
            )
            return [connection_from_row(row) for row in rows]

    def get(self, workspace: str, name: str) -> Connection:
        with self.engine.connect() as conn:
            return self.get_in(conn, get_workspace(conn, workspace), name)

    def get_in(self, conn: DbConnection, ws: Workspace, name: str) -> Connection:
        row = conn.execute(
            sa.select(connections).where(connections.c.workspace_id == ws.id, connections.c.name == name)
        ).first()
        if row is None:
            raise NotFound.single(
                "UNKNOWN_CONNECTION", f"Workspace '{ws.slug}' has no connection '{name}'.", ("name",)
            )
        return connection_from_row(row)

    def config_of(self, connection: Connection) -> dict[str, Any]:
        """The whole configuration, secrets decrypted (for the connector, never for display)."""
        return {**connection.config, **self.box.open(connection.secrets_token)}

    # -- writing --------------------------------------------------------------------------
    def create(
        self,
        conn: DbConnection,
        ws: Workspace,
        connector: type[Connector],
        name: str,
        config: Mapping[str, Any],
        *,
        streams: Sequence[str] | None = None,
        schedule: str | None = None,
        run_as: uuid.UUID | None = None,
        enabled: bool = True,
    ) -> Connection:
        problems = [
            *name_problems(name, ("name",), kind="connection", length=(2, 63), system=False, reserved=False),
            *config_problems(connector, config),
            *stream_problems(connector, streams),
            *schedule_problems(schedule),
        ]
        if problems:
            raise TesseraError(problems)
        exists = conn.execute(
            sa.select(connections.c.id).where(connections.c.workspace_id == ws.id, connections.c.name == name)
        ).first()
        if exists is not None:
            raise TesseraError.single(
                "DUPLICATE_CONNECTION", f"Workspace '{ws.slug}' already has a connection '{name}'.", ("name",)
            )
        now = self.clock()
        public, secrets = split_secrets(connector, config)
        row = {
            "id": uuid.uuid4(),
            "workspace_id": ws.id,
            "name": name,
            "connector": connector.manifest.name,
            "config": public,
            "secrets": self.box.seal(secrets),
            "streams": None if streams is None else list(streams),
            "schedule": schedule,
            "next_sync_at": next_run(schedule, now),
            "run_as": run_as,
            "enabled": enabled,
            "created_at": now,
            "updated_at": now,
            "push": None,
            "push_secret": None,
        }
        conn.execute(sa.insert(connections).values(**row))
        return connection_from_row(_Row(row))

    def update(
        self,
        conn: DbConnection,
        ws: Workspace,
        connector: type[Connector],
        name: str,
        changes: Mapping[str, Any],
    ) -> Connection:
        """Change a connection. ``config`` is merged: a secret left out (or given as
        ``<set>``) keeps its stored value."""
        current = self.get_in(conn, ws, name)
        values: dict[str, Any] = {"updated_at": self.clock()}
        problems: list[Problem] = []
        if "config" in changes:
            given = dict(changes["config"] or {})
            kept_secrets = self.box.open(current.secrets_token)
            for secret in secret_fields(connector.manifest.config_schema):
                if given.get(secret, SECRET_SET) == SECRET_SET and secret in kept_secrets:
                    given[secret] = kept_secrets[secret]
            problems += config_problems(connector, given)
            public, secrets = split_secrets(connector, given)
            values.update(config=public, secrets=self.box.seal(secrets))
        if "streams" in changes:
            problems += stream_problems(connector, changes["streams"])
            values["streams"] = changes["streams"]
        if "schedule" in changes:
            problems += schedule_problems(changes["schedule"])
            values["schedule"] = changes["schedule"]
            values["next_sync_at"] = next_run(changes["schedule"], values["updated_at"])
        for key in ("run_as", "enabled"):
            if key in changes:
                values[key] = changes[key]
        if problems:
            raise TesseraError(problems)
        conn.execute(sa.update(connections).where(connections.c.id == current.id).values(**values))
        return self.get_in(conn, ws, name)

    def set_push(
        self, conn: DbConnection, connection: Connection, push: Mapping[str, Any] | None, secret: str | None
    ) -> None:
        """Record (or, with ``None``, forget) the connection's push registration and its secret."""
        conn.execute(
            sa.update(connections)
            .where(connections.c.id == connection.id)
            .values(
                push=None if push is None else dict(push),
                push_secret=None if secret is None else self.box.seal({"secret": secret}),
                updated_at=self.clock(),
            )
        )

    def push_secret_of(self, connection: Connection) -> str | None:
        if connection.push_secret_token is None:
            return None
        secret: str = self.box.open(connection.push_secret_token)["secret"]
        return secret

    def delete(self, conn: DbConnection, ws: Workspace, name: str) -> Connection:
        current = self.get_in(conn, ws, name)
        conn.execute(sa.delete(connections).where(connections.c.id == current.id))
        return current

    def rotate_keys(self, workspace: str | None = None) -> int:
        """Encrypt the connections' secrets (every workspace's, or one's) again with the
        first key; how many there were. All or none: a secret no key opens stops it."""
        with write_transaction(self.engine) as conn:
            query = sa.select(connections.c.id, connections.c.secrets)
            if workspace is not None:
                query = query.where(connections.c.workspace_id == get_workspace(conn, workspace).id)
            rows = conn.execute(query).all()
            for row in rows:
                try:
                    sealed = self.box.rotate(row.secrets)
                except InvalidToken as exc:
                    raise TesseraError.single(
                        "SECRET_KEY_MISMATCH",
                        "A connection's secrets open with none of the keys of TESSERA_SECRET_KEY: "
                        "add the key they were saved with.",
                    ) from exc
                conn.execute(sa.update(connections).where(connections.c.id == row.id).values(secrets=sealed))
            return len(rows)


class _Row:
    """Attribute access over a dict (a row just inserted)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)


def split_secrets(
    connector: type[Connector], config: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    names = set(secret_fields(connector.manifest.config_schema))
    public = {k: v for k, v in config.items() if k not in names}
    secrets = {k: v for k, v in config.items() if k in names}
    return public, secrets


def stream_problems(connector: type[Connector], streams: Sequence[str] | None) -> list[Problem]:
    if streams is None:
        return []
    offered = {s.name for s in connector.manifest.streams}
    if not offered and connector.manifest.streams == ():
        return []  # streams come from the configuration (discover): checked when syncing
    return [
        Problem(
            "UNKNOWN_STREAM",
            f"Connector '{connector.manifest.name}' has no stream '{name}' "
            f"(streams: {', '.join(sorted(offered)) or 'none'}).",
            ("streams", i),
        )
        for i, name in enumerate(streams)
        if name not in offered
    ]
