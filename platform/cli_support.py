"""What the ``tessera`` commands share: the services of one command, error reporting and
the ``--workspace`` option (used by ``platform/cli.py`` and the connectors' commands)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import sqlalchemy as sa

from tessera.platform.database import create_engine
from tessera.platform.errors import TesseraError
from tessera.platform.identity import IdentityService
from tessera.platform.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(command: F) -> F:
    """Print a Tessera error as ``error [CODE] at path: message`` and exit with status 1;
    an unreachable database is reported the same way."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except TesseraError as exc:
            for problem in exc.problems:
                where = f" at {'.'.join(map(str, problem.path))}" if problem.path else ""
                click.echo(f"error [{problem.code}]{where}: {problem.message}", err=True)
            sys.exit(1)
        except sa.exc.OperationalError as exc:
            url = sa.make_url(Settings.from_env().database_url).render_as_string(hide_password=True)
            click.echo(
                f"error [DATABASE_UNAVAILABLE]: cannot use the database at {url}: {exc.orig}. "
                "Check TESSERA_DATABASE_URL (see `tessera config`) and that the server is running.",
                err=True,
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


class Services:
    """Settings and database for one command, created on first use."""

    def __init__(self) -> None:
        self.settings = Settings.from_env()
        self._engine: Any = None

    @property
    def engine(self) -> Any:
        if self._engine is None:
            self._engine = create_engine(self.settings.database_url)
        return self._engine

    @property
    def identity(self) -> IdentityService:
        return IdentityService(self.engine)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


pass_services = click.make_pass_decorator(Services)
WORKSPACE_OPTION = click.option(
    "--workspace", "-w", default=None, help="Workspace slug (default: TESSERA_DEFAULT_WORKSPACE)."
)
