"""``tessera connector …``: installed connectors, a workspace's connections, checks and syncs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from cryptography.fernet import Fernet

from tessera.connectors.runtime import ConnectorRuntime, SyncRun
from tessera.connectors.scaffold import scaffold
from tessera.platform.cli_support import WORKSPACE_OPTION, Services, pass_services, reports_errors
from tessera.platform.errors import TesseraError


@click.group("connector")
def connector_group() -> None:
    """Connectors (email, ERP, REST…) and the workspace's connections to them."""


def runtime_of(services: Services) -> ConnectorRuntime:
    return ConnectorRuntime.from_settings(services.engine, services.settings)


def read_config(file: Path | None) -> dict[str, Any]:
    if file is None:
        return {}
    try:
        loaded = json.loads(file.read_text())
    except ValueError as exc:
        raise TesseraError.single("INVALID_CONFIG", f"{file} is not JSON: {exc}.", ("config",)) from exc
    if not isinstance(loaded, dict):
        raise TesseraError.single("INVALID_CONFIG", f"{file} holds a JSON object.", ("config",))
    return loaded


@connector_group.command("list")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def connector_list(services: Services, workspace: str | None) -> None:
    """The installed connectors, then the workspace's connections."""
    runtime = runtime_of(services)
    for name, connector in runtime.connectors.items():
        manifest = connector.manifest
        streams = ", ".join(s.name for s in manifest.streams) or "-"
        actions = ", ".join(a.name for a in manifest.actions) or "-"
        click.echo(f"{name}\t{manifest.version}\t{manifest.title}\tstreams: {streams}\tactions: {actions}")
    slug = workspace or services.settings.default_workspace
    for connection in runtime.store.list(slug):
        state = "enabled" if connection.enabled else "disabled"
        schedule = connection.schedule or "by hand"
        click.echo(f"connection {connection.name}\t{connection.connector}\t{state}\t{schedule}")


@connector_group.command("connect")
@click.argument("name")
@click.option("--connector", "connector_name", required=True, help="The connector to use.")
@click.option(
    "--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSON file."
)
@click.option("--schedule", default=None, help="Cron expression of automatic syncs (default: by hand).")
@click.option("--stream", "streams", multiple=True, help="A stream to sync (default: all).")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def connector_connect(
    services: Services,
    name: str,
    connector_name: str,
    config_file: Path | None,
    schedule: str | None,
    streams: tuple[str, ...],
    workspace: str | None,
) -> None:
    """Create the connection NAME (installing the package the connector needs)."""
    slug = workspace or services.settings.default_workspace
    runtime = runtime_of(services)
    created = runtime.create_connection(
        slug,
        name,
        connector_name,
        read_config(config_file),
        streams=list(streams) or None,
        schedule=schedule,
        actor="cli",
    )
    click.echo(json.dumps(runtime.shown(created), indent=2))


@connector_group.command("check")
@click.argument("name")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def connector_check(services: Services, name: str, workspace: str | None) -> None:
    """Test the connection NAME; exit 1 with the connector's words when it fails."""
    ok, message = runtime_of(services).check(workspace or services.settings.default_workspace, name)
    click.echo(("ok: " if ok else "failed: ") + message, err=not ok)
    if not ok:
        raise SystemExit(1)


@connector_group.command("sync")
@click.argument("name")
@click.option("--stream", default=None, help="Sync only this stream.")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def connector_sync(services: Services, name: str, stream: str | None, workspace: str | None) -> None:
    """Sync the connection NAME now, in this process; exit 1 when a stream failed."""
    runs = runtime_of(services).sync_now(
        workspace or services.settings.default_workspace, name, stream=stream
    )
    for run in runs:
        click.echo(describe_run(run))
        for error in run.errors:
            click.echo(f"  skipped {error['key']}: [{error['code']}] {error['message']}")
    if any(run.status != "succeeded" for run in runs):
        raise SystemExit(1)


def describe_run(run: SyncRun) -> str:
    line = (
        f"{run.stream}: {run.status} — read {run.records_read}, created {run.records_created}, "
        f"updated {run.records_updated}, skipped {run.records_failed}"
    )
    if run.duration_ms is not None:
        line += f" in {run.duration_ms} ms"
    if run.error:
        line += f" ({run.error['kind']}: {run.error['message']})"
    return line


@connector_group.command("log")
@click.argument("name", required=False)
@click.option("--limit", default=20, show_default=True)
@WORKSPACE_OPTION
@pass_services
@reports_errors
def connector_log(services: Services, name: str | None, limit: int, workspace: str | None) -> None:
    """The sync log of the workspace (or of the connection NAME), newest first."""
    slug = workspace or services.settings.default_workspace
    for run in runtime_of(services).sync_runs(slug, name, limit=limit):
        click.echo(
            f"{run.created_at:%Y-%m-%d %H:%M:%S}\t{run.connection}\t{run.trigger}\t{describe_run(run)}"
        )


@connector_group.command("subscribe")
@click.argument("name")
@click.option("--public-url", required=True, help="Tessera's address as the other system reaches it.")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def connector_subscribe(services: Services, name: str, public_url: str, workspace: str | None) -> None:
    """Ask the system of connection NAME to push its changes (each push queues a sync)."""
    runtime = runtime_of(services)
    subscribed = runtime.subscribe(
        workspace or services.settings.default_workspace, name, public_url, actor="cli"
    )
    click.echo(json.dumps(runtime.shown(subscribed)["push"], indent=2))


@connector_group.command("unsubscribe")
@click.argument("name")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def connector_unsubscribe(services: Services, name: str, workspace: str | None) -> None:
    """Stop the pushes of connection NAME's system."""
    runtime_of(services).unsubscribe(workspace or services.settings.default_workspace, name, actor="cli")
    click.echo(f"connection {name} no longer receives pushes")


@connector_group.command("disconnect")
@click.argument("name")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def connector_disconnect(services: Services, name: str, workspace: str | None) -> None:
    """Delete the connection NAME, its checkpoints and its sync log (synced records stay)."""
    runtime_of(services).delete_connection(
        workspace or services.settings.default_workspace, name, actor="cli"
    )
    click.echo(f"deleted connection {name}")


@connector_group.command("new")
@click.argument("name")
@click.option(
    "--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True
)
@reports_errors
def connector_new(name: str, parent: Path) -> None:
    """Scaffold a connector NAME as its own pip package, with the contract suite passing."""
    root = scaffold(name, parent)
    click.echo(f"created {root}: `pip install -e {root}[dev]`, then `pytest {root}`")


@connector_group.command("new-key")
def connector_new_key() -> None:
    """Print a new key for TESSERA_SECRET_KEY (put it first to rotate; then `rotate-secrets`)."""
    click.echo(Fernet.generate_key().decode())


@connector_group.command("rotate-secrets")
@pass_services
@reports_errors
def connector_rotate_secrets(services: Services) -> None:
    """Encrypt every connection's secrets again with the first key of TESSERA_SECRET_KEY."""
    count = runtime_of(services).store.rotate_keys()
    click.echo(f"re-encrypted the secrets of {count} connection(s)")
