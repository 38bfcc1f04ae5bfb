"""Users, sessions and API keys: hashed secrets, one workspace each, clear refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.platform.errors import TesseraError
from tessera.platform.identity import IdentityService, digest
from tessera.platform.tables import api_keys, users
from tests.conftest import Clock

PASSWORD = "correct horse battery"


@pytest.fixture
def identity(engine: Engine, clock: Clock) -> IdentityService:
    return IdentityService(engine, clock=clock)


def test_a_user_signs_in_with_the_password_kept_as_a_hash(
    identity: IdentityService, engine: Engine, workspace: str
):
    made = identity.create_user(workspace, "Ada@Example.com", PASSWORD, role="admin")
    assert (made.email, made.name, made.role) == ("Ada@example.com", "Ada", "admin")
    with engine.connect() as conn:
        stored = conn.execute(sa.select(users.c.password_hash)).scalars().all()
    assert all(PASSWORD not in h and h.startswith("$argon2") for h in stored)
    token, principal = identity.log_in(workspace, "ada@example.com", PASSWORD)
    assert (principal.workspace, principal.role.name, principal.user_id) == (workspace, "admin", made.id)
    session = identity.session(token)
    assert session is not None and session.csrf_token == principal.csrf_token
    identity.log_out(token)
    assert identity.session(token) is None


def test_wrong_email_and_wrong_password_answer_alike(identity: IdentityService, workspace: str):
    identity.create_user(workspace, "ada@example.com", PASSWORD)
    for email, password in (("ada@example.com", "nope nope nope"), ("bob@example.com", PASSWORD)):
        with pytest.raises(TesseraError) as caught:
            identity.log_in(workspace, email, password)
        assert (caught.value.code, str(caught.value)) == ("LOGIN_FAILED", "Wrong email or password.")


def test_sessions_expire(identity: IdentityService, workspace: str, clock: Clock):
    identity.create_user(workspace, "ada@example.com", PASSWORD)
    token, _ = identity.log_in(workspace, "ada@example.com", PASSWORD)
    clock.now += dt.timedelta(days=15)
    assert identity.session(token) is None


@pytest.mark.parametrize(
    ("email", "password", "role", "code", "path"),
    [
        ("not an address", PASSWORD, "member", "INVALID_EMAIL", ("email",)),
        ("ada@example.com", "short", "member", "PASSWORD_TOO_SHORT", ("password",)),
        ("ada@example.com", PASSWORD, "boss", "UNKNOWN_ROLE", ("role",)),
    ],
)
def test_bad_users_are_refused(identity: IdentityService, workspace: str, email, password, role, code, path):
    with pytest.raises(TesseraError) as caught:
        identity.create_user(workspace, email, password, role=role)
    assert (caught.value.code, caught.value.path) == (code, path)


def test_an_email_has_one_account_per_workspace(
    identity: IdentityService, workspace: str, workspace_factory: Callable[..., str]
):
    identity.create_user(workspace, "ada@example.com", PASSWORD)
    with pytest.raises(TesseraError) as caught:
        identity.create_user(workspace, "ADA@example.com", PASSWORD)
    assert caught.value.code == "DUPLICATE_NAME"
    other = workspace_factory()
    identity.create_user(other, "ada@example.com", PASSWORD)  # another workspace: another account
    with pytest.raises(TesseraError):
        identity.log_in(other, "ada@example.com", "the first workspace's? no")


def test_api_keys_are_shown_once_and_stop_when_revoked_or_expired(
    identity: IdentityService, engine: Engine, workspace: str, clock: Clock
):
    secret, key = identity.create_api_key(
        workspace, "ERP sync", role="viewer", expires_at=clock.now + dt.timedelta(days=1)
    )
    assert secret.startswith("tsk_") and key.prefix == secret[:12]
    with engine.connect() as conn:
        assert conn.execute(sa.select(api_keys.c.secret_hash)).scalars().all().count(digest(secret)) == 1
        assert secret not in str(conn.execute(sa.select(api_keys)).all())
    principal = identity.api_key(secret)
    assert principal is not None and (principal.workspace, principal.role.name) == (workspace, "viewer")
    assert identity.api_key(secret + "x") is None and identity.api_key("not a key") is None
    clock.now += dt.timedelta(days=2)
    assert identity.api_key(secret) is None  # expired
    other, other_key = identity.create_api_key(workspace, "other")
    identity.revoke_api_key(workspace, other_key.id)
    assert identity.api_key(other) is None
    with pytest.raises(TesseraError) as caught:
        identity.revoke_api_key(workspace, other_key.id)
    assert caught.value.code == "UNKNOWN_API_KEY"


def test_the_first_admin_is_made_once(identity: IdentityService, workspace: str):
    created = identity.bootstrap(workspace)
    assert created is not None
    password, key = created
    assert identity.log_in(workspace, "admin@example.com", password)[1].role.name == "admin"
    principal = identity.api_key(key)
    assert principal is not None and principal.role.name == "admin"
    assert identity.bootstrap(workspace) is None


def test_the_cli_manages_users_and_keys(database_url: str, workspace: str, identity: Any):
    from click.testing import CliRunner

    from tessera.platform.cli import main

    env = {"TESSERA_DATABASE_URL": database_url, "TESSERA_DEFAULT_WORKSPACE": workspace}
    cli = CliRunner()
    made = cli.invoke(
        main,
        ["user", "create", "ada@example.com", "--role", "viewer"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env=env,
    )
    assert made.exit_code == 0 and "created ada@example.com (viewer)" in made.output
    assert "ada@example.com\tada\tviewer\tactive" in cli.invoke(main, ["user", "list"], env=env).output
    created = cli.invoke(main, ["apikey", "create", "ERP sync", "--role", "member"], env=env)
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert identity.api_key(secret) is not None
    key_id = created.output.split()[2]
    assert "ERP sync\tmember\tactive" in cli.invoke(main, ["apikey", "list"], env=env).output
    assert secret not in cli.invoke(main, ["apikey", "list"], env=env).output
    assert cli.invoke(main, ["apikey", "revoke", key_id], env=env).exit_code == 0
    assert identity.api_key(secret) is None
    refused = cli.invoke(main, ["user", "create", "bob@example.com"], input="short\nshort\n", env=env)
    assert refused.exit_code == 1 and "PASSWORD_TOO_SHORT" in refused.output
    assert cli.invoke(main, ["user", "disable", "ada@example.com"], env=env).exit_code == 0
    assert "ada@example.com\tada\tviewer\tdisabled" in cli.invoke(main, ["user", "list"], env=env).output
    assert cli.invoke(main, ["user", "enable", "ada@example.com"], env=env).exit_code == 0
    changed = cli.invoke(
        main, ["user", "password", "ada@example.com"], input="another passphrase\n" * 2, env=env
    )
    assert changed.exit_code == 0, changed.output


def test_disabling_a_user_ends_their_sessions_and_a_new_password_too(
    identity: IdentityService, workspace: str
):
    identity.create_user(workspace, "ada@example.com", PASSWORD)
    token, _ = identity.log_in(workspace, "ada@example.com", PASSWORD)
    assert identity.set_active(workspace, "ADA@example.com", False).active is False
    assert identity.session(token) is None
    with pytest.raises(TesseraError) as caught:
        identity.log_in(workspace, "ada@example.com", PASSWORD)
    assert caught.value.code == "LOGIN_FAILED"
    identity.set_active(workspace, "ada@example.com", True)
    token, _ = identity.log_in(workspace, "ada@example.com", PASSWORD)
    identity.set_password(workspace, "ada@example.com", "a brand new passphrase")
    assert identity.session(token) is None
    assert (
        identity.log_in(workspace, "ada@example.com", "a brand new passphrase")[1].name == "ada@example.com"
    )
    with pytest.raises(TesseraError) as caught:
        identity.set_password(workspace, "nobody@example.com", "a brand new passphrase")
    assert caught.value.code == "UNKNOWN_USER"


def test_processes_starting_together_make_one_first_admin(identity: IdentityService, workspace: str):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        made = [m for m in pool.map(lambda _: identity.bootstrap(workspace), range(4)) if m is not None]
    assert len(made) == 1
    assert len(identity.users(workspace)) == 1 and len(identity.api_keys(workspace)) == 1
    assert identity.api_key(made[0][1]) is not None


def test_a_user_changes_role_and_team(identity: IdentityService, workspace: str):
    identity.create_user(workspace, "ada@example.com", PASSWORD, team="east")
    assert identity.set_role(workspace, "ada@example.com", "viewer").role == "viewer"
    assert identity.set_team(workspace, "ada@example.com", " west ").team == "west"
    assert identity.set_team(workspace, "ada@example.com", None).team is None
    for change, code in (
        (lambda: identity.set_role(workspace, "ada@example.com", "king"), "UNKNOWN_ROLE"),
        (lambda: identity.set_team(workspace, "ada@example.com", " "), "INVALID_TEAM"),
        (lambda: identity.set_role(workspace, "bob@example.com", "viewer"), "UNKNOWN_USER"),
    ):
        with pytest.raises(TesseraError) as caught:
            change()
        assert caught.value.code == code
    (ada,) = identity.users(workspace)
    assert (ada.role, ada.team) == ("viewer", None)
