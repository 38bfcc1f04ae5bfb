"""Who is calling: users (password login, browser sessions) and API keys.

Passwords are hashed with argon2 (``argon2-cffi``). API keys (``tsk_…``) and session
tokens are random secrets of 256 bits: only their SHA-256 is stored, so a leaked
database holds no usable credential; a key is shown once, when created.

Every credential belongs to one workspace: a request is in the workspace of its key or
session, and naming another workspace is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.engine import Connection, Engine

from tessera.platform.audit import record_admin_event
from tessera.platform.database import write_transaction
from tessera.platform.errors import NotFound, TesseraError
from tessera.platform.permissions import Access, Role
from tessera.platform.roles import access_for, require_role, role_named
from tessera.platform.tables import api_keys, user_sessions, users, workspaces
from tessera.platform.workspaces import get_workspace

KEY_PREFIX = "tsk_"
SESSION_LIFETIME = dt.timedelta(days=14)
MIN_PASSWORD_LENGTH = 12
Clock = Callable[[], dt.datetime]
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """The caller of a request: a user (signed in) or an API key, in one workspace."""

    workspace_id: uuid.UUID
    workspace: str
    #: its role, and whose records it reaches
    access: Access
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    #: the name written in change logs and audit entries
    name: str = ""
    #: set for a browser session: what cookie-authenticated mutations must send back
    csrf_token: str | None = None

    @property
    def role(self) -> Role:
        return self.access.role


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    name: str
    role: str
    active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    team: str | None = None


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    name: str
    prefix: str
    role: str
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise TesseraError.single(
            "PASSWORD_TOO_SHORT", f"A password has at least {MIN_PASSWORD_LENGTH} characters.", ("password",)
        )


def new_key_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class IdentityService:
    def __init__(self, engine: Engine, *, clock: Clock = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.engine = engine
        self.clock = clock

    # -- users ---------------------------------------------------------------------------
    def create_user(
        self,
        workspace: str,
        email: str,
        password: str,
        *,
        name: str = "",
        role: str = "member",
        team: str | None = None,
        actor: str = "system",
    ) -> User:
        """A user of ``workspace``; the password is kept only as an argon2 hash."""
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise TesseraError.single(
                "INVALID_EMAIL", f"'{email}' is not an email address: {exc}", ("email",)
            ) from None
        check_password(password)
        taken = TesseraError.single("DUPLICATE_NAME", f"'{email}' already has an account here.", ("email",))
        try:
            with write_transaction(self.engine) as conn:
                ws = get_workspace(conn, workspace)
                require_role(conn, ws.id, role)
                if conn.execute(
                    sa.select(users.c.id).where(
                        users.c.workspace_id == ws.id, sa.func.lower(users.c.email) == email.lower()
                    )
                ).first():
                    raise taken
                user_id = self._insert_user(
                    conn, ws.id, email, password, name or email.split("@")[0], role, team or None
                )
                record_admin_event(
                    conn, ws.id, "user_created", email, actor, after={"role": role, "team": team or None}
                )
        except sa.exc.IntegrityError:  # the same address, created by someone else meanwhile
            raise taken from None
        return self.user(workspace, user_id)

    def _insert_user(
        self,
        conn: Connection,
        workspace_id: uuid.UUID,
        email: str,
        password: str,
        name: str,
        role: str,
        team: str | None = None,
    ) -> uuid.UUID:
        user_id = uuid.uuid4()
        conn.execute(
            sa.insert(users).values(
                id=user_id,
                workspace_id=workspace_id,
                email=email,
                name=name,
                password_hash=_hasher.hash(password),
                role=role,
                team=team,
                active=True,
                created_at=self.clock(),
            )
        )
        return user_id

    def user(self, workspace: str, user_id: uuid.UUID) -> User:
        found = [u for u in self.users(workspace) if u.id == user_id]
        if not found:
            raise NotFound.single("UNKNOWN_USER", f"There is no user {user_id}.", ("id",))
        return found[0]

    def users(self, workspace: str) -> list[User]:
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            rows = conn.execute(sa.select(users).where(users.c.workspace_id == ws.id).order_by(users.c.email))
            return [
                User(r.id, r.email, r.name, r.role, r.active, r.created_at, r.last_login_at, r.team)
                for r in rows
            ]

    def set_active(self, workspace: str, email: str, active: bool, *, actor: str = "system") -> User:
        """Disable a user (their sessions stop working at once) or enable them again."""
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            row = self._user_row(conn, ws.id, email)
            self._change_user(conn, ws.id, row, actor, active=active)
            if not active:
                conn.execute(sa.delete(user_sessions).where(user_sessions.c.user_id == row.id))
        return self.user(workspace, row.id)

    def set_role(self, workspace: str, email: str, role: str, *, actor: str = "system") -> User:
        """Give a user another role (it holds from their next request)."""
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            require_role(conn, ws.id, role)
            row = self._user_row(conn, ws.id, email)
            self._change_user(conn, ws.id, row, actor, role=role)
        return self.user(workspace, row.id)

    def set_team(self, workspace: str, email: str, team: str | None, *, actor: str = "system") -> User:
        """Put a user in a team (``None``: in none)."""
        if team is not None and not 0 < len(team.strip()) <= 100:
            raise TesseraError.single("INVALID_TEAM", "A team name has 1 to 100 characters.", ("team",))
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            row = self._user_row(conn, ws.id, email)
            self._change_user(conn, ws.id, row, actor, team=team and team.strip())
        return self.user(workspace, row.id)

    def set_password(self, workspace: str, email: str, password: str, *, actor: str = "system") -> None:
        """Give a user a new password; their sessions end."""
        check_password(password)
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            row = self._user_row(conn, ws.id, email)
            record_admin_event(conn, ws.id, "user_password_set", row.email, actor)
            conn.execute(
                sa.update(users).where(users.c.id == row.id).values(password_hash=_hasher.hash(password))
            )
            conn.execute(sa.delete(user_sessions).where(user_sessions.c.user_id == row.id))

    @staticmethod
    def _change_user(conn: Connection, workspace_id: uuid.UUID, row: Any, actor: str, **values: Any) -> None:
        """Change a user's columns, recording what they were and became."""
        conn.execute(sa.update(users).where(users.c.id == row.id).values(**values))
        before = {name: getattr(row, name) for name in values}
        record_admin_event(conn, workspace_id, "user_changed", row.email, actor, before=before, after=values)

    @staticmethod
    def _user_row(conn: Any, workspace_id: uuid.UUID, email: str) -> Any:
        row = conn.execute(
            sa.select(users).where(
                users.c.workspace_id == workspace_id, sa.func.lower(users.c.email) == email.lower()
            )
        ).first()
        if row is None:
            raise NotFound.single("UNKNOWN_USER", f"No user signs in with '{email}' here.", ("email",))
        return row

    def log_in(self, workspace: str, email: str, password: str) -> tuple[str, Principal]:
        """A new session token for the user's browser, and the principal it stands for.
        A wrong email and a wrong password answer alike."""
        refused = TesseraError.single("LOGIN_FAILED", "Wrong email or password.", ())
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            row = conn.execute(
                sa.select(users).where(
                    users.c.workspace_id == ws.id, sa.func.lower(users.c.email) == email.lower()
                )
            ).first()
        if row is None or not row.active:
            _hasher.hash(password)  # the same work as a real check: no timing tells accounts apart
            raise refused
        try:
            _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise refused from None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        with write_transaction(self.engine) as conn:
            conn.execute(
                sa.insert(user_sessions).values(
                    id=digest(token),
                    user_id=row.id,
                    workspace_id=ws.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                )
            )
            values: dict[str, object] = {"last_login_at": now}
            if _hasher.check_needs_rehash(row.password_hash):
                values["password_hash"] = _hasher.hash(password)
            conn.execute(sa.update(users).where(users.c.id == row.id).values(**values))
            access = access_for(conn, ws.id, role_named(conn, ws.id, row.role), row.id, row.team)
        return token, Principal(ws.id, ws.slug, access, user_id=row.id, name=row.email, csrf_token=csrf)

    def log_out(self, token: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(sa.delete(user_sessions).where(user_sessions.c.id == digest(token)))

    def session(self, token: str) -> Principal | None:
        """The principal of a session cookie, or ``None`` (unknown, expired, user disabled)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    user_sessions,
                    users.c.email,
                    users.c.role,
                    users.c.team,
                    users.c.active,
                    workspaces.c.slug,
                )
                .join(users, users.c.id == user_sessions.c.user_id)
                .join(workspaces, workspaces.c.id == user_sessions.c.workspace_id)
                .where(user_sessions.c.id == digest(token))
            ).first()
            if row is None or not row.active or row.expires_at <= self.clock():
                return None
            role = role_named(conn, row.workspace_id, row.role)
            access = access_for(conn, row.workspace_id, role, row.user_id, row.team)
        return Principal(
            row.workspace_id,
            row.slug,
            access,
            user_id=row.user_id,
            name=row.email,
            csrf_token=row.csrf_token,
        )

    def bootstrap(self, workspace: str, email: str = "admin@example.com") -> tuple[str, str] | None:
        """A first admin for a workspace that has no user and no API key: (password, API
        key), both random, made together; ``None`` when the workspace already has someone
        (or another process made them at the same moment)."""
        password, secret = secrets.token_urlsafe(12), new_key_secret()
        try:
            with write_transaction(self.engine) as conn:
                ws = get_workspace(conn, workspace)
                for table in (users, api_keys):
                    if conn.execute(
                        sa.select(table.c.id).where(table.c.workspace_id == ws.id).limit(1)
                    ).first():
                        return None
                self._insert_user(conn, ws.id, email, password, "Admin", "admin")
                self._insert_api_key(conn, ws.id, "first admin key", secret, "admin", None, "bootstrap")
                record_admin_event(conn, ws.id, "user_created", email, "bootstrap", after={"role": "admin"})
                record_admin_event(
                    conn, ws.id, "api_key_created", "first admin key", "bootstrap", after={"role": "admin"}
                )
        except sa.exc.IntegrityError:
            return None
        return password, secret

    # -- API keys ------------------------------------------------------------------------
    def create_api_key(
        self,
        workspace: str,
        name: str,
        *,
        role: str = "member",
        expires_at: dt.datetime | None = None,
        created_by: str = "system",
    ) -> tuple[str, ApiKey]:
        """A new key: its secret (shown this once) and what is kept of it."""
        if not name.strip():
            raise TesseraError.single("NAME_REQUIRED", "Name the key (what uses it).", ("name",))
        secret = new_key_secret()
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            require_role(conn, ws.id, role)
            key_id = self._insert_api_key(conn, ws.id, name, secret, role, expires_at, created_by)
            expiry = expires_at and expires_at.isoformat()
            record_admin_event(
                conn, ws.id, "api_key_created", name, created_by, after={"role": role, "expires_at": expiry}
            )
        return secret, next(k for k in self.api_keys(workspace) if k.id == key_id)

    def _insert_api_key(
        self,
        conn: Connection,
        workspace_id: uuid.UUID,
        name: str,
        secret: str,
        role: str,
        expires_at: dt.datetime | None,
        created_by: str,
    ) -> uuid.UUID:
        key_id = uuid.uuid4()
        conn.execute(
            sa.insert(api_keys).values(
                id=key_id,
                workspace_id=workspace_id,
                name=name,
                prefix=secret[:12],
                secret_hash=digest(secret),
                role=role,
                created_by=created_by,
                created_at=self.clock(),
                expires_at=expires_at,
            )
        )
        return key_id

    def api_keys(self, workspace: str) -> list[ApiKey]:
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            rows = conn.execute(
                sa.select(api_keys).where(api_keys.c.workspace_id == ws.id).order_by(api_keys.c.created_at)
            )
            return [
                ApiKey(
                    r.id,
                    r.name,
                    r.prefix,
                    r.role,
                    r.created_by,
                    r.created_at,
                    r.expires_at,
                    r.revoked_at,
                    r.last_used_at,
                )
                for r in rows
            ]

    def revoke_api_key(self, workspace: str, key_id: uuid.UUID, *, actor: str = "system") -> None:
        with write_transaction(self.engine) as conn:
            ws = get_workspace(conn, workspace)
            name = conn.execute(
                sa.update(api_keys)
                .where(
                    api_keys.c.id == key_id, api_keys.c.workspace_id == ws.id, api_keys.c.revoked_at.is_(None)
                )
                .values(revoked_at=self.clock())
                .returning(api_keys.c.name)
            ).scalar_one_or_none()
            if name is None:
                raise NotFound.single("UNKNOWN_API_KEY", f"There is no active API key {key_id}.", ("id",))
            record_admin_event(conn, ws.id, "api_key_revoked", name, actor, before={"id": str(key_id)})

    def api_key(self, secret: str) -> Principal | None:
        """The principal of a bearer key, or ``None`` (unknown, revoked or expired)."""
        if not secret.startswith(KEY_PREFIX):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(api_keys, workspaces.c.slug)
                .join(workspaces, workspaces.c.id == api_keys.c.workspace_id)
                .where(api_keys.c.secret_hash == digest(secret))
            ).first()
            now = self.clock()
            if (
                row is None
                or row.revoked_at is not None
                or (row.expires_at is not None and row.expires_at <= now)
            ):
                return None
            access = access_for(
                conn, row.workspace_id, role_named(conn, row.workspace_id, row.role), row.id, None
            )
        return Principal(row.workspace_id, row.slug, access, api_key_id=row.id, name=f"key:{row.name}")
