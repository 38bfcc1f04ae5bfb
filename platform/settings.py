"""Settings read from ``TESSERA_*`` environment variables, with documented defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """The effective configuration of one Tessera process.

    Every field is read from the environment variable named in its metadata;
    ``tessera config`` prints them.
    """

    data_dir: Path
    database_url: str
    broker_url: str
    host: str
    port: int
    default_workspace: str
    log_level: str
    time_zone: str = "UTC"
    page_size: int = 50
    max_page_size: int = 500
    max_query_depth: int = 12
    max_query_aliases: int = 50
    max_query_tokens: int = 5000
    max_query_cost: int = 100_000
    mail_url: str = "log://"
    allow_private_urls: bool = False
    workflow_lease_seconds: int = 300
    introspection: str = "everyone"
    rate_limit_url: str = "memory://"
    rate_limit_per_minute: int = 600
    login_attempts_per_15_minutes: int = 10
    starter_package: str = "standard-crm"
    demo_data: bool = True
    secret_key: str = ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("TESSERA_DATA_DIR", "var"))
        return cls(
            data_dir=data_dir,
            database_url=env.get("TESSERA_DATABASE_URL", f"sqlite:///{data_dir / 'tessera.db'}"),
            broker_url=env.get("TESSERA_BROKER_URL", "stub://"),
            host=env.get("TESSERA_HOST", "127.0.0.1"),
            port=int(env.get("TESSERA_PORT", "8000")),
            default_workspace=env.get("TESSERA_DEFAULT_WORKSPACE", "default"),
            log_level=env.get("TESSERA_LOG_LEVEL", "info"),
            time_zone=env.get("TESSERA_TIME_ZONE", "UTC"),
            page_size=int(env.get("TESSERA_PAGE_SIZE", "50")),
            max_page_size=int(env.get("TESSERA_MAX_PAGE_SIZE", "500")),
            max_query_depth=int(env.get("TESSERA_MAX_QUERY_DEPTH", "12")),
            max_query_aliases=int(env.get("TESSERA_MAX_QUERY_ALIASES", "50")),
            max_query_tokens=int(env.get("TESSERA_MAX_QUERY_TOKENS", "5000")),
            max_query_cost=int(env.get("TESSERA_MAX_QUERY_COST", "100000")),
            mail_url=env.get("TESSERA_MAIL_URL", "log://"),
            allow_private_urls=env.get("TESSERA_ALLOW_PRIVATE_URLS", "false").lower() in ("1", "true", "yes"),
            workflow_lease_seconds=int(env.get("TESSERA_WORKFLOW_LEASE_SECONDS", "300")),
            introspection=introspection_setting(env.get("TESSERA_INTROSPECTION", "everyone")),
            rate_limit_url=env.get("TESSERA_RATE_LIMIT_URL", "memory://"),
            rate_limit_per_minute=int(env.get("TESSERA_RATE_LIMIT_PER_MINUTE", "600")),
            login_attempts_per_15_minutes=int(env.get("TESSERA_LOGIN_ATTEMPTS_PER_15_MINUTES", "10")),
            starter_package=env.get("TESSERA_STARTER_PACKAGE", "standard-crm").strip(),
            demo_data=env.get("TESSERA_DEMO_DATA", "true").lower() in ("1", "true", "yes"),
            secret_key=env.get("TESSERA_SECRET_KEY", "").strip(),
        )

    def describe(self) -> list[tuple[str, str, str]]:
        """(environment variable, effective value, meaning) for every setting."""
        return [
            (f"TESSERA_{f.name.upper()}", self.shown(f.name), SETTING_HELP[f.name]) for f in fields(self)
        ]

    def shown(self, name: str) -> str:
        """A setting's value as ``tessera config`` prints it (a secret only as whether it is set)."""
        value = str(getattr(self, name))
        if name in SECRET_SETTINGS:
            return "(set)" if value else ""
        return value


def introspection_setting(value: str) -> str:
    if value not in ("everyone", "admins"):
        raise ValueError(f"TESSERA_INTROSPECTION is 'everyone' or 'admins', not {value!r}.")
    return value


#: settings never printed
SECRET_SETTINGS = frozenset({"secret_key"})

SETTING_HELP = {
    "data_dir": "folder for the embedded SQLite database and other local files (default: var)",
    "database_url": "SQLAlchemy URL of the database (default: SQLite file in the data dir); "
    "PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
    "broker_url": "Dramatiq broker: stub:// (in-process), redis://…, amqp://… (default: stub://)",
    "host": "address the HTTP server binds to (default: 127.0.0.1)",
    "port": "port the HTTP server listens on (default: 8000)",
    "default_workspace": "workspace used when a request names none (default: default)",
    "log_level": "log level of the server (default: info)",
    "time_zone": "IANA time zone of relative dates in filters (today, THIS_QUARTER…) (default: UTC)",
    "page_size": "records per page when a query gives no first/last (default: 50)",
    "max_page_size": "largest first/last a query may ask for (default: 500)",
    "max_query_depth": "deepest selection a GraphQL query may nest (default: 12)",
    "max_query_aliases": "most aliased fields in one GraphQL query (default: 50)",
    "max_query_tokens": "most tokens in one GraphQL document (default: 5000)",
    "max_query_cost": "largest query cost: root page sizes x nested page sizes (default: 100000)",
    "mail_url": "how workflows send email: log:// (written to the log), smtp://user:pw@host:25, "
    "smtp+starttls://…:587, smtps://…:465; ?from=address sets the sender (default: log://)",
    "allow_private_urls": "let workflow HTTP steps call loopback and private addresses (default: false)",
    "workflow_lease_seconds": "how long a worker holds a workflow run between two steps before another "
    "worker may take it over, should it have died (default: 300)",
    "introspection": "who may query the GraphQL schemas (__schema, __type): everyone, or admins "
    "(default: everyone)",
    "rate_limit_url": "where request and login counts are kept: memory:// (each server process on its own) "
    "or redis://host:6379/0 (shared by every process) (default: memory://)",
    "rate_limit_per_minute": "requests a minute per API key or signed-in user before 429 RATE_LIMITED; "
    "0 turns the limit off (default: 600)",
    "login_attempts_per_15_minutes": "failed logins per email (in a workspace) and per client address in "
    "15 minutes before 429 LOGIN_THROTTLED; 0 turns throttling off (default: 10)",
    "starter_package": "package installed into the default workspace when it is created: a built-in "
    "name, a folder or an archive; empty for none (default: standard-crm)",
    "demo_data": "install the starter package's sample records too (default: true)",
    "secret_key": "key(s) that encrypt connection secrets at rest: Fernet keys, comma-separated, the "
    "first encrypting and all decrypting (rotation); empty: a key kept in the data dir's secret.key, "
    "made on first use (default: empty)",
}
