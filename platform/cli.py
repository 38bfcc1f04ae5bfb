"""The ``tessera`` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml
from graphql import print_schema

from tessera.connectors.cli import connector_group
from tessera.metadata.document import (
    document_schema,
    document_state,
    dump_document,
    export_document,
    load_document,
)
from tessera.metadata.packages import build_archive, read_package, scaffold
from tessera.metadata.store import MetadataStore
from tessera.platform import migrate as migrations
from tessera.platform.cli_support import WORKSPACE_OPTION, Services, pass_services, reports_errors
from tessera.platform.errors import TesseraError
from tessera.platform.packages import (
    BUILTIN_PACKAGES,
    PackageChange,
    PackageManager,
    check_package,
    export_as_package,
    open_package,
)
from tessera.platform.permissions import Role
from tessera.platform.roles import RoleStore, load_role_document, role_schema
from tessera.platform.settings import Settings
from tessera.platform.workspaces import WorkspaceService
from tessera.schema.record_api import SchemaCache
from tessera.workflows.store import WorkflowStore

#: where the first admin's credentials are kept, in the data dir
CREDENTIALS_FILE = "first-admin.txt"


@click.group()
@click.version_option(package_name="tessera-crm")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Tessera: a CRM platform configured without code and served over GraphQL."""
    services = ctx.ensure_object(Services)
    ctx.call_on_close(services.close)


@main.command()
@pass_services
def config(services: Services) -> None:
    """Print the effective settings and where each comes from."""
    for variable, value, meaning in services.settings.describe():
        click.echo(f"{variable}={value}")
        click.echo(f"    {meaning}")


@main.command()
@pass_services
@reports_errors
def migrate(services: Services) -> None:
    """Create or upgrade the platform's own tables (alembic migrations)."""
    migrations.upgrade(services.engine)
    click.echo(f"database at revision {migrations.current_revision(services.engine)}")


@main.command()
@pass_services
@reports_errors
def init(services: Services) -> None:
    """Apply migrations and create the default workspace (and its first admin) if missing."""
    initialize(services)
    show_first_admin(services, services.settings.default_workspace)


def initialize(services: Services) -> None:
    migrations.upgrade(services.engine)
    workspace = WorkspaceService(services.engine).ensure(services.settings.default_workspace)
    click.echo(
        f"database ready; default workspace '{workspace.slug}' (metadata version "
        f"{workspace.metadata_version})"
    )
    install_starter(services, workspace.slug, workspace.metadata_version)


def install_starter(services: Services, workspace: str, metadata_version: int) -> None:
    """A new, empty default workspace gets the starter package (TESSERA_STARTER_PACKAGE),
    with its sample records unless TESSERA_DEMO_DATA is false."""
    settings = services.settings
    manager = package_manager(services)
    if not settings.starter_package or metadata_version != 0 or manager.installed(workspace):
        return
    starter = open_package(settings.starter_package)
    click.echo(
        f"installing {starter.name} {starter.version}{' with demo data' if settings.demo_data else ''}…"
    )
    echo_change(manager.install(workspace, starter, sample_data=settings.demo_data, actor="tessera init"))


def show_first_admin(services: Services, workspace: str) -> None:
    """Create the first admin of a workspace nobody can sign in to yet, keep its
    credentials in the data dir (readable by this user only) and print them."""
    saved = services.settings.data_dir / CREDENTIALS_FILE
    created = services.identity.bootstrap(workspace)
    if created is not None:
        password, key = created
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(
            f"workspace: {workspace}\nlogin: admin@example.com\npassword: {password}\napi key: {key}\n"
        )
        saved.chmod(0o600)
    if saved.exists():
        click.echo(f"first admin ({saved}; change it, then delete the file):")
        for line in saved.read_text().splitlines():
            click.echo(f"    {line}")


def log_to_stderr(settings: Settings) -> None:
    """Tessera's own log (workflow runs, mail written by ``log://``, failures of the
    background loops) on standard error, at ``TESSERA_LOG_LEVEL``."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(name)s: %(message)s"))
    tessera = logging.getLogger("tessera")
    tessera.addHandler(handler)
    tessera.setLevel(settings.log_level.upper())


@main.command()
@click.option("--host", default=None, help="Address to bind (default: TESSERA_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: TESSERA_PORT).")
@pass_services
@reports_errors
def serve(services: Services, host: str | None, port: int | None) -> None:
    """Initialise the database if needed and serve the HTTP API."""
    import uvicorn

    from tessera.platform.app import create_app

    initialize(services)
    show_first_admin(services, services.settings.default_workspace)
    settings = services.settings
    log_to_stderr(settings)
    host, port = host or settings.host, port or settings.port
    click.echo(f"record API:   http://{host}:{port}/graphql")
    click.echo(f"metadata API: http://{host}:{port}/graphql/metadata")
    uvicorn.run(create_app(settings, services.engine), host=host, port=port, log_level=settings.log_level)


@main.command()
@click.option("--threads", type=int, default=8, show_default=True, help="Worker threads.")
@pass_services
@reports_errors
def worker(services: Services, threads: int) -> None:
    """Run Dramatiq workers and the outbox dispatcher on TESSERA_BROKER_URL until stopped."""
    import signal
    import threading

    from tessera.connectors.runtime import ConnectorRuntime
    from tessera.connectors.webhooks import WebhookService
    from tessera.workflows.delivery import DeliveryRuntime
    from tessera.workflows.runtime import build_workflow_engine

    initialize(services)
    log_to_stderr(services.settings)
    connectors = ConnectorRuntime.from_settings(services.engine, services.settings)
    runtime = DeliveryRuntime(
        services.engine,
        services.settings.broker_url,
        workflows=build_workflow_engine(services.engine, services.settings, connectors),
        connectors=connectors,
        webhooks=WebhookService(services.engine, allow_private_urls=services.settings.allow_private_urls),
        worker_threads=threads,
    )
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    runtime.start()
    click.echo(f"worker: {threads} threads on {services.settings.broker_url.split('@')[-1]}; Ctrl-C stops")
    try:
        stopped.wait()
    finally:
        runtime.stop()


def workflow_store(services: Services) -> WorkflowStore:
    return WorkflowStore(services.engine, time_zone=services.settings.time_zone)


@main.group()
def user() -> None:
    """People who sign in to a workspace."""


def in_team(team: str | None) -> str:
    return f", team {team}" if team else ""


@user.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name (default: the address's local part).")
@click.option("--role", default="member", show_default=True, help="admin, member, viewer or a custom role.")
@click.option("--team", default=None, help="The team whose records 'team' access reaches.")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 12 characters."
)
@WORKSPACE_OPTION
@pass_services
@reports_errors
def user_create(
    services: Services,
    email: str,
    name: str,
    role: str,
    team: str | None,
    password: str,
    workspace: str | None,
) -> None:
    """Create a user of the workspace who signs in with EMAIL."""
    slug = workspace or services.settings.default_workspace
    if team is not None:
        team = check_team(team)
    made = services.identity.create_user(slug, email, password, name=name, role=role, team=team)
    click.echo(f"created {made.email} ({made.role}{in_team(made.team)})")


def check_team(team: str) -> str:
    """The team name as ``IdentityService.set_team`` keeps it (checked before the user is
    created)."""
    if not 0 < len(team.strip()) <= 100:
        raise TesseraError.single("INVALID_TEAM", "A team name has 1 to 100 characters.", ("team",))
    return team.strip()


@user.command("list")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def user_list(services: Services, workspace: str | None) -> None:
    """The workspace's users: email, name, role, active or disabled, team."""
    for u in services.identity.users(workspace or services.settings.default_workspace):
        state = "active" if u.active else "disabled"
        click.echo(f"{u.email}\t{u.name}\t{u.role}\t{state}\t{u.team or '-'}")


@user.command("role")
@click.argument("email")
@click.argument("role")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def user_role(services: Services, email: str, role: str, workspace: str | None) -> None:
    """Give EMAIL the role ROLE (from their next request)."""
    changed = services.identity.set_role(workspace or services.settings.default_workspace, email, role)
    click.echo(f"{changed.email} now has role {changed.role}")


@user.command("team")
@click.argument("email")
@click.argument("team", required=False)
@WORKSPACE_OPTION
@pass_services
@reports_errors
def user_team(services: Services, email: str, team: str | None, workspace: str | None) -> None:
    """Put EMAIL in TEAM; without TEAM, in no team."""
    changed = services.identity.set_team(workspace or services.settings.default_workspace, email, team)
    if changed.team:
        click.echo(f"{changed.email} is now in team {changed.team}")
    else:
        click.echo(f"{changed.email} is now in no team")


@user.command("disable")
@click.argument("email")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def user_disable(services: Services, email: str, workspace: str | None) -> None:
    """Stop EMAIL from signing in; their sessions end at once."""
    services.identity.set_active(workspace or services.settings.default_workspace, email, False)
    click.echo(f"disabled {email}")


@user.command("enable")
@click.argument("email")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def user_enable(services: Services, email: str, workspace: str | None) -> None:
    """Let EMAIL sign in again."""
    services.identity.set_active(workspace or services.settings.default_workspace, email, True)
    click.echo(f"enabled {email}")


@user.command("password")
@click.argument("email")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 12 characters."
)
@WORKSPACE_OPTION
@pass_services
@reports_errors
def user_password(services: Services, email: str, password: str, workspace: str | None) -> None:
    """Give EMAIL a new password (their sessions end)."""
    services.identity.set_password(workspace or services.settings.default_workspace, email, password)
    click.echo(f"changed the password of {email}")


@main.group()
def apikey() -> None:
    """Keys for apps and integrations (Authorization: Bearer …)."""


@apikey.command("create")
@click.argument("name")
@click.option("--role", default="member", show_default=True, help="admin, member, viewer or a custom role.")
@click.option("--expires", type=click.DateTime(), default=None, help="When it stops working (UTC).")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def apikey_create(services: Services, name: str, role: str, expires: Any, workspace: str | None) -> None:
    """Create a key called NAME; its secret is shown this once."""
    import datetime as dt

    secret, key = services.identity.create_api_key(
        workspace or services.settings.default_workspace,
        name,
        role=role,
        expires_at=expires.replace(tzinfo=dt.UTC) if expires else None,
        created_by="cli",
    )
    click.echo(f"created key {key.id} ({key.role}); keep its secret, it is not shown again:")
    click.echo(secret)


@apikey.command("list")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def apikey_list(services: Services, workspace: str | None) -> None:
    """The workspace's keys (never their secrets)."""
    for k in services.identity.api_keys(workspace or services.settings.default_workspace):
        state = "revoked" if k.revoked_at else "active"
        expires = f"expires {k.expires_at:%Y-%m-%d}" if k.expires_at else "no expiry"
        click.echo(f"{k.id}\t{k.prefix}…\t{k.name}\t{k.role}\t{state}\t{expires}")


@apikey.command("revoke")
@click.argument("key_id", type=click.UUID)
@WORKSPACE_OPTION
@pass_services
@reports_errors
def apikey_revoke(services: Services, key_id: Any, workspace: str | None) -> None:
    """Stop key KEY_ID from working, at once."""
    services.identity.revoke_api_key(workspace or services.settings.default_workspace, key_id)
    click.echo(f"revoked {key_id}")


@main.group("role")
def role_group() -> None:
    """Roles: what users and API keys may do (docs/security.md)."""


def role_store(services: Services) -> RoleStore:
    return RoleStore(services.engine)


@role_group.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@WORKSPACE_OPTION
@pass_services
@reports_errors
def role_apply(services: Services, file: Path, workspace: str | None) -> None:
    """Save the role document FILE (YAML or JSON): creates the role or replaces it."""
    slug = workspace or services.settings.default_workspace
    saved = role_store(services).save(slug, load_role_document(file.read_text()), actor="cli")
    click.echo(f"saved role '{saved.name}':")
    click.echo(dump_role(saved), nl=False)


@role_group.command("list")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def role_list(services: Services, workspace: str | None) -> None:
    """Every role: name, built-in or custom, description."""
    for r in role_store(services).roles(workspace or services.settings.default_workspace):
        click.echo(f"{r.name}\t{'built-in' if r.builtin else 'custom'}\t{r.description}")


@role_group.command("show")
@click.argument("name")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def role_show(services: Services, name: str, workspace: str | None) -> None:
    """Print the document of role NAME as YAML."""
    click.echo(
        dump_role(role_store(services).role(workspace or services.settings.default_workspace, name)), nl=False
    )


@role_group.command("delete")
@click.argument("name")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def role_delete(services: Services, name: str, workspace: str | None) -> None:
    """Delete the custom role NAME (nobody may hold it)."""
    role_store(services).delete(workspace or services.settings.default_workspace, name)
    click.echo(f"deleted role '{name}'")


@role_group.command("schema")
def role_schema_command() -> None:
    """Print the JSON Schema of role documents."""
    click.echo(json.dumps(role_schema(), indent=2, ensure_ascii=False))


def dump_role(saved: Role) -> str:
    return str(yaml.safe_dump(saved.as_document(), sort_keys=False, allow_unicode=True, width=1000))


@main.group()
def workspace() -> None:
    """Create and list workspaces."""


@workspace.command("create")
@click.argument("slug")
@click.option("--name", default=None, help="Display name (default: from the slug).")
@pass_services
@reports_errors
def workspace_create(services: Services, slug: str, name: str | None) -> None:
    """Create the workspace SLUG with an empty data model."""
    created = WorkspaceService(services.engine).create(slug, name)
    click.echo(f"created workspace '{created.slug}' ({created.name})")


@workspace.command("list")
@pass_services
@reports_errors
def workspace_list(services: Services) -> None:
    """List workspaces with their metadata version."""
    for ws in WorkspaceService(services.engine).list():
        click.echo(f"{ws.slug}\t{ws.name}\tversion {ws.metadata_version}")


@main.group()
def metadata() -> None:
    """Export, apply and inspect a workspace's data model."""


@metadata.command("export")
@WORKSPACE_OPTION
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option(
    "--as-package",
    "as_package",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the workspace's own customisations as a package folder instead.",
)
@click.option("--name", default=None, help="With --as-package: the package name (kebab-case).")
@click.option("--namespace", default=None, help="With --as-package: its namespace.")
@pass_services
@reports_errors
def metadata_export(
    services: Services,
    workspace: str | None,
    fmt: str,
    as_package: Path | None,
    name: str | None,
    namespace: str | None,
) -> None:
    """Print the data model as YAML (or JSON), or write a package (--as-package DIR)."""
    slug = workspace or services.settings.default_workspace
    if as_package is not None:
        package_name = name or as_package.name
        exported = export_as_package(
            services.engine,
            slug,
            as_package,
            name=package_name,
            namespace=namespace or package_name.replace("-", "")[:20],
        )
        click.echo(f"wrote {exported.folder}; check it with `tessera package validate {exported.folder}`")
        for warning in exported.warnings:
            click.echo(f"warning: {warning}", err=True)
        return
    state = MetadataStore(services.engine).state(slug)
    click.echo(dump_document(export_document(state, slug), fmt), nl=False)


@metadata.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@WORKSPACE_OPTION
@click.option("--dry-run", is_flag=True, help="Show the plan without changing anything.")
@click.option("--confirm-data-loss", is_flag=True, help="Allow changes that delete data.")
@pass_services
@reports_errors
def metadata_apply(
    services: Services, file: Path, workspace: str | None, dry_run: bool, confirm_data_loss: bool
) -> None:
    """Make the data model match FILE (objects and fields left out are deleted)."""
    slug = workspace or services.settings.default_workspace
    document = load_document(file.read_text())
    result = MetadataStore(services.engine).apply(
        slug,
        lambda current: document_state(document, current),
        actor="cli",
        dry_run=dry_run,
        confirm_data_loss=confirm_data_loss,
    )
    if not result.changes:
        click.echo(f"nothing to change (metadata version {result.version})")
        return
    for change in result.changes:
        click.echo(f"- {change.describe()}")
    for step in result.plan:
        marker = " [deletes data]" if step["destructive"] else ""
        click.echo(f"  * {step['description']}{marker}")
        for sql in step["sql"]:
            click.echo("      " + sql.replace("\n", "\n      "))
    if dry_run:
        click.echo("dry run: nothing was changed")
    else:
        click.echo(f"applied: metadata version {result.version}")


@metadata.command("log")
@WORKSPACE_OPTION
@click.option("--limit", type=int, default=20, show_default=True)
@pass_services
@reports_errors
def metadata_log(services: Services, workspace: str | None, limit: int) -> None:
    """Show the latest applied changes (who, when, what)."""
    slug = workspace or services.settings.default_workspace
    for entry in MetadataStore(services.engine).change_log(slug, limit=limit):
        click.echo(f"v{entry.version}\t{entry.created_at:%Y-%m-%d %H:%M:%S}\t{entry.actor}\t{entry.summary}")


@metadata.command("schema")
def metadata_schema() -> None:
    """Print the JSON Schema of metadata documents."""
    click.echo(json.dumps(document_schema(), indent=2))


@main.group()
def workflow() -> None:
    """Workflow rules: apply a file as a draft, activate, list."""


@workflow.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@WORKSPACE_OPTION
@click.option("--activate", is_flag=True, help="Activate the draft right away.")
@pass_services
@reports_errors
def workflow_apply(services: Services, file: Path, workspace: str | None, activate: bool) -> None:
    """Save FILE (YAML or JSON) as the draft of the workflow it names."""
    from tessera.workflows.definitions import load_workflow

    slug = workspace or services.settings.default_workspace
    store = workflow_store(services)
    saved = store.save_draft(slug, load_workflow(file.read_text()), actor="cli")
    click.echo(f"saved '{saved.name}' version {saved.version} as a draft")
    if activate:
        store.activate(slug, saved.name)
        click.echo(f"activated '{saved.name}' version {saved.version}")


@workflow.command("activate")
@click.argument("name")
@click.option(
    "--version", "version", type=int, default=None, help="A version to (re)activate; default: the draft."
)
@WORKSPACE_OPTION
@pass_services
@reports_errors
def workflow_activate(services: Services, name: str, version: int | None, workspace: str | None) -> None:
    """Make the draft (or a version) of workflow NAME the one that runs."""
    active = workflow_store(services).activate(
        workspace or services.settings.default_workspace, name, version
    )
    click.echo(f"activated '{name}' version {active.version}")


@workflow.command("deactivate")
@click.argument("name")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def workflow_deactivate(services: Services, name: str, workspace: str | None) -> None:
    """Stop running workflow NAME (its versions are kept)."""
    workflow_store(services).deactivate(workspace or services.settings.default_workspace, name)
    click.echo(f"deactivated '{name}'")


@workflow.command("list")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def workflow_list(services: Services, workspace: str | None) -> None:
    """Every workflow version, newest first."""
    for v in workflow_store(services).versions(workspace or services.settings.default_workspace):
        click.echo(f"{v.name}\tv{v.version}\t{v.status}\t{v.created_at:%Y-%m-%d %H:%M:%S}\t{v.created_by}")


@workflow.command("runs")
@click.option("--workflow", "name", default=None, help="Only this workflow's runs.")
@click.option("--status", default=None, help="queued, running, waiting, succeeded, failed or cancelled.")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--steps", is_flag=True, help="Show every step's attempt, status and error.")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def workflow_runs(
    services: Services, name: str | None, status: str | None, limit: int, steps: bool, workspace: str | None
) -> None:
    """Recent workflow runs, newest first."""
    from tessera.workflows.store import RunFilter

    where = RunFilter(workflow=name, statuses=(status,) if status else ())
    for run in workflow_store(services).runs(
        workspace or services.settings.default_workspace, where, limit=limit
    ):
        click.echo(
            f"{run.id}\t{run.workflow} v{run.version}\t{run.trigger}\t{run.status}\t"
            f"{run.created_at:%Y-%m-%d %H:%M:%S}\t{run.error or ''}"
        )
        for step in run.steps if steps else ():
            error = step.get("error", {}).get("message", "")
            click.echo(f"    {step['key']}\t{step['type']}\t#{step['attempt']}\t{step['status']}\t{error}")


@workflow.command("run")
@click.argument("name")
@click.argument("record_ids", nargs=-1, required=True, type=click.UUID)
@WORKSPACE_OPTION
@pass_services
@reports_errors
def workflow_run(services: Services, name: str, record_ids: tuple[Any, ...], workspace: str | None) -> None:
    """Queue runs of workflow NAME on RECORD_IDS (a worker, or the server, runs them)."""
    from tessera.workflows.engine import WorkflowEngine

    engine = WorkflowEngine(services.engine, time_zone=services.settings.time_zone)
    for run_id in engine.run_manually(workspace or services.settings.default_workspace, name, record_ids):
        click.echo(f"queued run {run_id}")


@workflow.command("retry")
@click.argument("run_id", type=click.UUID)
@WORKSPACE_OPTION
@pass_services
@reports_errors
def workflow_retry(services: Services, run_id: Any, workspace: str | None) -> None:
    """Run the failed run RUN_ID again from its failed step."""
    from tessera.workflows.engine import WorkflowEngine

    engine = WorkflowEngine(services.engine, time_zone=services.settings.time_zone)
    engine.retry(workspace or services.settings.default_workspace, run_id)
    click.echo(f"queued run {run_id} again from its failed step")


@workflow.command("schema")
def workflow_schema_command() -> None:
    """Print the JSON Schema of workflow documents."""
    from tessera.workflows.definitions import workflow_schema

    click.echo(json.dumps(workflow_schema(), indent=2, ensure_ascii=False))


@main.group()
def package() -> None:
    """Template packages: scaffold, check, build, install, upgrade, uninstall."""


def package_search(source: str) -> list[Path]:
    """Where a package's dependencies are looked for: beside it, then the built-in ones."""
    path = Path(source)
    return [*([path.resolve().parent] if path.exists() else []), BUILTIN_PACKAGES]


def package_manager(services: Services) -> PackageManager:
    return PackageManager(services.engine, export_dir=services.settings.data_dir / "exports")


def echo_change(change: PackageChange) -> None:
    for line in change.describe():
        click.echo(line)


@package.command("new")
@click.argument("name")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@reports_errors
def package_new(name: str, parent: Path) -> None:
    """Scaffold a package folder NAME (manifest, an object, empty folders)."""
    click.echo(f"created {scaffold(name, parent)}")


@package.command("validate")
@click.argument("source")
@reports_errors
def package_validate(source: str) -> None:
    """Check a package folder or archive: its files, then a full install (after its
    dependencies, looked for beside it and among the built-in packages) into a throwaway
    database."""
    checked = check_package(open_package(source), package_search(source))
    click.echo(f"{checked.package} {checked.version} is valid")


@package.command("build")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Default: beside it."
)
@reports_errors
def package_build(folder: Path, out: Path | None) -> None:
    """Build NAME-VERSION.zip from a package folder (checked first)."""
    check_package(read_package(folder), package_search(str(folder)))
    click.echo(f"built {build_archive(folder, out)}")


@package.command("install")
@click.argument("source")
@WORKSPACE_OPTION
@click.option("--no-sample-data", is_flag=True, help="Leave the package's sample records out.")
@click.option("--dry-run", is_flag=True, help="Show what it would create; change nothing.")
@pass_services
@reports_errors
def package_install(
    services: Services, source: str, workspace: str | None, no_sample_data: bool, dry_run: bool
) -> None:
    """Install a package (a folder, an archive or a built-in name such as standard-crm)."""
    slug = workspace or services.settings.default_workspace
    manager = package_manager(services)
    found = open_package(source)
    if dry_run:
        echo_change(manager.preview(slug, found, sample_data=not no_sample_data))
        return
    echo_change(manager.install(slug, found, sample_data=not no_sample_data, actor="cli"))


@package.command("upgrade")
@click.argument("source")
@WORKSPACE_OPTION
@click.option("--dry-run", is_flag=True, help="Show what it would change and the conflicts; change nothing.")
@pass_services
@reports_errors
def package_upgrade(services: Services, source: str, workspace: str | None, dry_run: bool) -> None:
    """Upgrade an installed package to the version at SOURCE, keeping what admins customised."""
    slug = workspace or services.settings.default_workspace
    echo_change(package_manager(services).upgrade(slug, open_package(source), actor="cli", dry_run=dry_run))


@package.command("uninstall")
@click.argument("name")
@WORKSPACE_OPTION
@click.option("--delete-data", is_flag=True, help="Also delete its objects and fields (default: keep them).")
@click.option("--yes", is_flag=True, help="Do not ask before deleting data.")
@pass_services
@reports_errors
def package_uninstall(
    services: Services, name: str, workspace: str | None, delete_data: bool, yes: bool
) -> None:
    """Remove a package's workflows, roles and views; its data is exported to a file and
    kept (or deleted with --delete-data)."""
    slug = workspace or services.settings.default_workspace
    if delete_data and not yes:
        click.confirm(f"Delete every record of {name}'s objects and fields in {slug}?", abort=True)
    done = package_manager(services).uninstall(slug, name, keep_data=not delete_data, actor="cli")
    click.echo(f"uninstalled {name}; its records were exported to {done.export}")
    click.echo(
        "its objects and fields stay, as the workspace's own" if done.kept_data else "its data was deleted"
    )


@package.command("list")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def package_list(services: Services, workspace: str | None) -> None:
    """The installed packages: name, version, when and by whom."""
    slug = workspace or services.settings.default_workspace
    for p in package_manager(services).installed(slug):
        click.echo(f"{p.name}\t{p.version}\t{p.installed_at:%Y-%m-%d %H:%M}\t{p.installed_by}")


@main.group("schema")
def schema_group() -> None:
    """The record API's GraphQL schema."""


@schema_group.command("print")
@WORKSPACE_OPTION
@pass_services
@reports_errors
def schema_print(services: Services, workspace: str | None) -> None:
    """Print the SDL of a workspace's record API (what /graphql serves)."""
    slug = workspace or services.settings.default_workspace
    click.echo(print_schema(SchemaCache(services.engine).get(slug).schema))


main.add_command(connector_group)

if __name__ == "__main__":
    main()
