"""The metadata API, served at ``/graphql/metadata``: read and change a workspace's data
model. The workspace is named by the ``X-Tessera-Workspace`` header (default: the
configured default workspace)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.scalars import JSON
from strawberry.types import Info

from tessera.connectors.runtime import ConnectorRuntime
from tessera.connectors.webhooks import KEEP, Delivery, Subscription, WebhookService, whsec_of_key
from tessera.metadata import changes
from tessera.metadata.changes import Edit
from tessera.metadata.model import MetadataState
from tessera.metadata.packages import Package, read_package
from tessera.metadata.store import MetadataStore
from tessera.platform.audit import AdminEventFilter, admin_events, record_history_of
from tessera.platform.errors import NotFound, PathPart, TesseraError
from tessera.platform.identity import ApiKey, IdentityService, User
from tessera.platform.packages import (
    BUILTIN_PACKAGES,
    PackageChange,
    PackageManager,
    find_package,
    saved_views_of,
)
from tessera.platform.permissions import SYSTEM_ACCESS, Access, Role, role_from_document, visible_state
from tessera.platform.roles import RoleStore, role_validator
from tessera.platform.workspaces import WorkspaceService
from tessera.schema.errors import MaskUnexpectedErrors, QuietSchema, error_payload, to_graphql_error
from tessera.schema.introspection import IntrospectionByRole
from tessera.schema.metadata_types import (
    AdminEventType,
    ApiKeyType,
    CreateFieldInput,
    CreateObjectInput,
    DeleteFieldInput,
    DeleteObjectInput,
    FieldTypeInfo,
    InstalledPackageType,
    MetadataChange,
    MetadataChangeResult,
    NewApiKeyType,
    ObjectType,
    PackageChangeType,
    PackageUninstallType,
    RecordHistoryEntryType,
    RecordHistoryFilter,
    ReorderFieldsInput,
    RoleType,
    SavedViewType,
    UpdateFieldInput,
    UpdateObjectInput,
    UserType,
    WorkflowRunFilter,
    WorkflowRunType,
    WorkflowVersionType,
    WorkflowWebhookType,
    WorkspaceType,
    field_type_infos,
    given,
)
from tessera.workflows.engine import WorkflowEngine
from tessera.workflows.store import WorkflowStore

T = TypeVar("T")


@dataclass
class MetadataContext:
    """What resolvers of one request need."""

    store: MetadataStore
    workspaces: WorkspaceService
    workspace: str
    actor: str
    workflows: WorkflowStore
    #: queues runs (runWorkflow, retries); workers execute them
    runner: WorkflowEngine
    #: what the caller's role allows (its capabilities, the objects and fields it sees)
    access: Access = SYSTEM_ACCESS
    #: whether __schema and __type are answered (TESSERA_INTROSPECTION)
    may_introspect: bool = True
    #: where uninstalled packages' records are exported
    export_dir: Path = Path("var") / "exports"
    #: whether webhook subscriptions may name loopback and private addresses
    allow_private_urls: bool = False
    #: connections, checks and syncs (None: this server runs no connectors)
    connectors: ConnectorRuntime | None = None

    @property
    def identity(self) -> IdentityService:
        return IdentityService(self.store.engine)

    @property
    def packages(self) -> PackageManager:
        return PackageManager(self.store.engine, store=self.store, export_dir=self.export_dir)

    @property
    def webhooks(self) -> WebhookService:
        return WebhookService(self.store.engine, allow_private_urls=self.allow_private_urls)


async def call(function: Callable[[], T]) -> T:
    """Run blocking database work off the event loop; Tessera errors become GraphQL errors."""
    try:
        return await run_in_threadpool(function)
    except TesseraError as exc:
        raise to_graphql_error(exc) from exc


async def call_with_document(argument: str, function: Callable[[], T]) -> T:
    """Like :func:`call`, for work on a JSON document given as ``argument``: the paths of
    its errors start at the argument and keep the document's keys as written (api names)."""

    def inside(path: Sequence[PathPart]) -> list[PathPart]:
        return [argument, *path]

    try:
        return await run_in_threadpool(function)
    except TesseraError as exc:
        payload = error_payload(exc, inside)
        raise GraphQLError(payload["message"], extensions=payload["extensions"]) from exc


def as_utc(instant: dt.datetime | None) -> dt.datetime | None:
    """An instant given without an offset is UTC."""
    if instant is None or instant.tzinfo is not None:
        return instant
    return instant.replace(tzinfo=dt.UTC)


def context(info: Info[MetadataContext, Any]) -> MetadataContext:
    return info.context


CAPABILITY_WORK = {
    "manage_api_keys": "manage API keys",
    "manage_connectors": "manage connections and webhooks",
    "manage_data_model": "change the data model",
    "manage_packages": "install, upgrade or uninstall packages",
    "manage_workflows": "manage workflows",
    "manage_users": "manage users and roles",
}


def admin_context(info: Info[MetadataContext, Any], capability: str = "manage_data_model") -> MetadataContext:
    """The context of an admin's work: the caller's role must have ``capability``."""
    ctx = context(info)
    try:
        ctx.access.require_capability(capability, CAPABILITY_WORK[capability])
    except TesseraError as exc:
        raise to_graphql_error(exc) from exc
    return ctx


def may_give(ctx: MetadataContext, role: Role) -> None:
    """Refuse to hand out (or define) a role that allows more than the caller's."""
    if not ctx.access.role.covers(role):
        raise TesseraError.single(
            "FORBIDDEN",
            f"Your role ({ctx.access.role.name}) may not give the role '{role.name}': "
            "it allows more than yours.",
            ("role",),
        )


def may_give_named(ctx: MetadataContext, name: str) -> None:
    may_give(ctx, RoleStore(ctx.store.engine).role(ctx.workspace, name))


def seen_state(ctx: MetadataContext, state: MetadataState) -> MetadataState:
    """The data model as the caller sees it: whole for those who change it."""
    return state if ctx.access.role.administer else visible_state(state, ctx.access.role)


@strawberry.type
class Query:
    @strawberry.field(description="The workspace this request works on.")
    async def workspace(self, info: Info[MetadataContext, Any]) -> WorkspaceType:
        ctx = context(info)
        return WorkspaceType.of(await call(lambda: ctx.workspaces.get(ctx.workspace)))

    @strawberry.field(description="Every object of the workspace, in display order.")
    async def objects(self, info: Info[MetadataContext, Any]) -> list[ObjectType]:
        ctx = context(info)
        state = seen_state(ctx, await call(lambda: ctx.store.state(ctx.workspace)))
        return [ObjectType.of(o, state) for o in state.objects]

    @strawberry.field(description="One object by api name, or null.")
    async def object(self, info: Info[MetadataContext, Any], api_name: str) -> ObjectType | None:
        ctx = context(info)
        state = seen_state(ctx, await call(lambda: ctx.store.state(ctx.workspace)))
        obj = state.object_named(api_name)
        return ObjectType.of(obj, state) if obj else None

    @strawberry.field(description="The field types and their options' JSON Schemas.")
    def field_types(self) -> list[FieldTypeInfo]:
        return field_type_infos()

    @strawberry.field(description="Workflow versions (of one workflow when named), newest first.")
    async def workflow_versions(
        self, info: Info[MetadataContext, Any], name: str | None = None
    ) -> list[WorkflowVersionType]:
        ctx = context(info)
        versions = await call(lambda: ctx.workflows.versions(ctx.workspace, name))
        return [WorkflowVersionType.of(v) for v in versions]

    @strawberry.field(description="Workflow runs, newest first, with their steps.")
    async def workflow_runs(
        self,
        info: Info[MetadataContext, Any],
        filter: WorkflowRunFilter | None = None,  # noqa: A002 - the API's name for it
        workflow: Annotated[str | None, strawberry.argument(description="as filter.workflow")] = None,
        status: Annotated[str | None, strawberry.argument(description="as filter.status")] = None,
        record_id: Annotated[uuid.UUID | None, strawberry.argument(description="as filter.recordId")] = None,
        limit: int = 50,
    ) -> list[WorkflowRunType]:
        ctx = context(info)
        where = (filter or WorkflowRunFilter()).to_filter()
        where = replace(
            where,
            workflow=workflow or where.workflow,
            statuses=(status,) if status else where.statuses,
            record_id=record_id or where.record_id,
        )
        runs = await call(lambda: ctx.workflows.runs(ctx.workspace, where, limit=max(1, min(limit, 500))))
        return [WorkflowRunType.of(r) for r in runs]

    @strawberry.field(description="One workflow run, with its steps.")
    async def workflow_run(self, info: Info[MetadataContext, Any], id: uuid.UUID) -> WorkflowRunType:  # noqa: A002
        ctx = context(info)
        return WorkflowRunType.of(await call(lambda: ctx.workflows.run(ctx.workspace, id)))

    @strawberry.field(description="The address and secret of a webhook-triggered workflow.")
    async def workflow_webhook(self, info: Info[MetadataContext, Any], name: str) -> WorkflowWebhookType:
        ctx = admin_context(info, "manage_workflows")  # the secret is an admin's to see
        workflow_id, secret = await call(lambda: ctx.workflows.webhook(ctx.workspace, name))
        return WorkflowWebhookType(
            path=f"/hooks/workflows/{workflow_id}",
            secret=secret,
            signing_secret=whsec_of_key(secret.encode("utf-8")),
        )

    @strawberry.field(
        description="Changes of the fields that track their history (trackHistory), newest first."
    )
    async def record_history(
        self,
        info: Info[MetadataContext, Any],
        filter: RecordHistoryFilter | None = None,  # noqa: A002 - the API's name for it
        limit: int = 100,
    ) -> list[RecordHistoryEntryType]:
        ctx = context(info)
        where = (filter or RecordHistoryFilter()).to_filter()
        entries = await call(
            lambda: record_history_of(
                ctx.store.engine, ctx.workspace, where, limit=max(1, min(limit, 1000)), access=ctx.access
            )
        )
        return [RecordHistoryEntryType.of(e) for e in entries]

    @strawberry.field(description="Applied changes, newest first; every given condition holds.")
    async def change_log(
        self,
        info: Info[MetadataContext, Any],
        since_version: int = 0,
        limit: int = 100,
        actor: Annotated[
            str | None,
            strawberry.argument(description="who made them, as the log says: ada@example.com, key:<name>"),
        ] = None,
        changed_after: Annotated[
            dt.datetime | None, strawberry.argument(description="made at or after this instant")
        ] = None,
        changed_before: Annotated[
            dt.datetime | None, strawberry.argument(description="made before this instant")
        ] = None,
    ) -> list[MetadataChange]:
        ctx = context(info)
        entries = await call(
            lambda: ctx.store.change_log(
                ctx.workspace,
                since_version,
                max(1, min(limit, 1000)),
                actor=actor,
                changed_after=changed_after,
                changed_before=changed_before,
            )
        )
        return [MetadataChange.of(e) for e in entries]

    @strawberry.field(
        description="Admin work (roles, users, API keys, packages), newest first. Needs manage_users."
    )
    async def admin_events(
        self,
        info: Info[MetadataContext, Any],
        kind: str | None = None,
        subject: str | None = None,
        actor: str | None = None,
        after: dt.datetime | None = None,
        before: dt.datetime | None = None,
        limit: int = 100,
    ) -> list[AdminEventType]:
        ctx = admin_context(info, "manage_users")
        where = AdminEventFilter(kind, subject, actor, as_utc(after), as_utc(before))
        events = await call(
            lambda: admin_events(ctx.store.engine, ctx.workspace, where, limit=max(1, min(limit, 1000)))
        )
        return [AdminEventType.of(e) for e in events]

    @strawberry.field(description="The workspace's users, by email. Needs manage_users.")
    async def users(self, info: Info[MetadataContext, Any]) -> list[UserType]:
        ctx = admin_context(info, "manage_users")
        return [UserType.of(u) for u in await call(lambda: ctx.identity.users(ctx.workspace))]

    @strawberry.field(
        description="The workspace's API keys, oldest first (never their secrets). Needs manage_api_keys."
    )
    async def api_keys(self, info: Info[MetadataContext, Any]) -> list[ApiKeyType]:
        ctx = admin_context(info, "manage_api_keys")
        return [ApiKeyType.of(k) for k in await call(lambda: ctx.identity.api_keys(ctx.workspace))]

    @strawberry.field(description="The packages installed in the workspace, oldest first.")
    async def installed_packages(self, info: Info[MetadataContext, Any]) -> list[InstalledPackageType]:
        ctx = context(info)
        return [InstalledPackageType.of(p) for p in await call(lambda: ctx.packages.installed(ctx.workspace))]

    @strawberry.field(description="Saved views (of one object when named), by name.")
    async def saved_views(
        self,
        info: Info[MetadataContext, Any],
        object: str | None = None,  # noqa: A002 - the API's name for it
    ) -> list[SavedViewType]:
        ctx = context(info)
        views = await call(lambda: saved_views_of(ctx.store.engine, ctx.workspace, object))
        return [
            SavedViewType(name=v.name, object=v.object, definition=JSON(v.definition), package=v.package)
            for v in views
        ]

    @strawberry.field(description="Every role of the workspace: the built-in ones, then the custom ones.")
    async def roles(self, info: Info[MetadataContext, Any]) -> list[RoleType]:
        ctx = context(info)
        return [RoleType.of(r) for r in await call(lambda: RoleStore(ctx.store.engine).roles(ctx.workspace))]

    @strawberry.field(
        description="The workspace's outbound webhook subscriptions, oldest first (never their secrets). "
        "Needs manage_connectors."
    )
    async def webhook_subscriptions(self, info: Info[MetadataContext, Any]) -> list[WebhookSubscriptionType]:
        ctx = admin_context(info, "manage_connectors")
        found = await call(lambda: ctx.webhooks.subscriptions(ctx.workspace))
        return [WebhookSubscriptionType.of(s) for s in found]

    @strawberry.field(
        description="Webhook deliveries, newest first: of one subscription, in one status (pending, "
        "delivered, failed) when given. Needs manage_connectors."
    )
    async def webhook_deliveries(
        self,
        info: Info[MetadataContext, Any],
        subscription_id: uuid.UUID | None = None,
        status: str | None = None,
        first: int = 50,
    ) -> list[WebhookDeliveryType]:
        ctx = admin_context(info, "manage_connectors")
        found = await call(
            lambda: ctx.webhooks.deliveries(
                ctx.workspace, subscription_id=subscription_id, status=status, first=first
            )
        )
        return [WebhookDeliveryType.of(d) for d in found]


async def apply(
    info: Info[MetadataContext, Any],
    edit: Edit,
    object_api_name: str | None,
    *,
    dry_run: bool,
    expected_version: int | None,
    confirm_data_loss: bool = False,
) -> MetadataChangeResult:
    ctx = admin_context(info)
    result = await call(
        lambda: ctx.store.apply(
            ctx.workspace,
            edit,
            actor=ctx.actor,
            dry_run=dry_run,
            confirm_data_loss=confirm_data_loss,
            expected_version=expected_version,
        )
    )
    return MetadataChangeResult.of(result, object_api_name)


DryRun = Annotated[bool, strawberry.argument(description="Return the plan without changing anything.")]
ExpectedVersion = Annotated[
    int | None,
    strawberry.argument(
        description="Refuse the change (VERSION_CONFLICT) unless the data model is at this version."
    ),
]
ConfirmDataLoss = Annotated[bool, strawberry.argument(description="Required when the change deletes data.")]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an object (and its table), optionally with fields.")
    async def create_object(
        self,
        info: Info[MetadataContext, Any],
        input: CreateObjectInput,  # noqa: A002 - GraphQL convention
        dry_run: DryRun = False,
        expected_version: ExpectedVersion = None,
    ) -> MetadataChangeResult:
        return await apply(
            info,
            changes.create_object(given(input)),
            input.api_name,
            dry_run=dry_run,
            expected_version=expected_version,
        )

    @strawberry.mutation(description="Rename an object or change its labels and description.")
    async def update_object(
        self,
        info: Info[MetadataContext, Any],
        input: UpdateObjectInput,  # noqa: A002
        dry_run: DryRun = False,
        expected_version: ExpectedVersion = None,
    ) -> MetadataChangeResult:
        name = input.api_name if isinstance(input.api_name, str) else input.object
        return await apply(
            info,
            changes.update_object(input.object, given(input, skip=("object",))),
            name,
            dry_run=dry_run,
            expected_version=expected_version,
        )

    @strawberry.mutation(
        description="Delete an object and its table (confirmDataLoss when it holds records)."
    )
    async def delete_object(
        self,
        info: Info[MetadataContext, Any],
        input: DeleteObjectInput,  # noqa: A002
        dry_run: DryRun = False,
        expected_version: ExpectedVersion = None,
        confirm_data_loss: ConfirmDataLoss = False,
    ) -> MetadataChangeResult:
        return await apply(
            info,
            changes.delete_object(input.object),
            None,
            dry_run=dry_run,
            expected_version=expected_version,
            confirm_data_loss=confirm_data_loss,
        )

    @strawberry.mutation(description="Add a field (and its column) to an object.")
    async def create_field(
        self,
        info: Info[MetadataContext, Any],
        input: CreateFieldInput,  # noqa: A002
        dry_run: DryRun = False,
        expected_version: ExpectedVersion = None,
    ) -> MetadataChangeResult:
        return await apply(
            info,
            changes.create_field(input.object, given(input, skip=("object",))),
            input.object,
            dry_run=dry_run,
            expected_version=expected_version,
        )

    @strawberry.mutation(description="Change a field: rename, relabel, options, safe type changes.")
    async def update_field(
        self,
        info: Info[MetadataContext, Any],
        input: UpdateFieldInput,  # noqa: A002
        dry_run: DryRun = False,
        expected_version: ExpectedVersion = None,
    ) -> MetadataChangeResult:
        edit = changes.update_field(input.object, input.field, given(input, skip=("object", "field")))
        return await apply(info, edit, input.object, dry_run=dry_run, expected_version=expected_version)

    @strawberry.mutation(description="Delete a field and its column (confirmDataLoss when it holds values).")
    async def delete_field(
        self,
        info: Info[MetadataContext, Any],
        input: DeleteFieldInput,  # noqa: A002
        dry_run: DryRun = False,
        expected_version: ExpectedVersion = None,
        confirm_data_loss: ConfirmDataLoss = False,
    ) -> MetadataChangeResult:
        return await apply(
            info,
            changes.delete_field(input.object, input.field),
            input.object,
            dry_run=dry_run,
            expected_version=expected_version,
            confirm_data_loss=confirm_data_loss,
        )

    @strawberry.mutation(description="Put an object's fields in a new display order.")
    async def reorder_fields(
        self,
        info: Info[MetadataContext, Any],
        input: ReorderFieldsInput,  # noqa: A002
        dry_run: DryRun = False,
        expected_version: ExpectedVersion = None,
    ) -> MetadataChangeResult:
        return await apply(
            info,
            changes.reorder_fields(input.object, input.fields),
            input.object,
            dry_run=dry_run,
            expected_version=expected_version,
        )


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(
        description="Save a workflow document as its draft (the workflow is created when new)."
    )
    async def save_workflow_draft(
        self, info: Info[MetadataContext, Any], definition: JSON
    ) -> WorkflowVersionType:
        ctx = admin_context(info, "manage_workflows")
        saved = await call(lambda: ctx.workflows.save_draft(ctx.workspace, definition, actor=ctx.actor))
        return WorkflowVersionType.of(saved)

    @strawberry.mutation(description="Check a workflow document without saving it: true, or the errors.")
    async def validate_workflow(self, info: Info[MetadataContext, Any], definition: JSON) -> bool:
        ctx = admin_context(info, "manage_workflows")
        await call(lambda: ctx.workflows.validate(ctx.workspace, definition))
        return True

    @strawberry.mutation(description="Make the draft (or a version) the one that runs.")
    async def activate_workflow(
        self, info: Info[MetadataContext, Any], name: str, version: int | None = None
    ) -> WorkflowVersionType:
        ctx = admin_context(info, "manage_workflows")
        return WorkflowVersionType.of(
            await call(lambda: ctx.workflows.activate(ctx.workspace, name, version))
        )

    @strawberry.mutation(description="Stop running a workflow (its versions are kept).")
    async def deactivate_workflow(self, info: Info[MetadataContext, Any], name: str) -> bool:
        ctx = admin_context(info, "manage_workflows")
        await call(lambda: ctx.workflows.deactivate(ctx.workspace, name))
        return True

    @strawberry.mutation(
        description="Run a workflow's active version now on these records (its trigger's object); "
        "the ids of the queued runs."
    )
    async def run_workflow(
        self,
        info: Info[MetadataContext, Any],
        workflow_id: Annotated[str, strawberry.argument(description="the workflow's id or name")],
        record_ids: Annotated[list[uuid.UUID], strawberry.argument(description="records of its object")],
    ) -> list[uuid.UUID]:
        ctx = context(info)
        if not ctx.access.role.write_records:
            raise to_graphql_error(
                TesseraError.single("FORBIDDEN", "Your role cannot start workflow runs.", ())
            )
        return await call(lambda: ctx.runner.run_manually(ctx.workspace, workflow_id, record_ids))

    @strawberry.mutation(description="Run a failed run again from its failed step; the run, queued.")
    async def retry_workflow_run(self, info: Info[MetadataContext, Any], id: uuid.UUID) -> WorkflowRunType:  # noqa: A002
        ctx = admin_context(info, "manage_workflows")
        await call(lambda: ctx.runner.retry(ctx.workspace, id))
        return WorkflowRunType.of(await call(lambda: ctx.workflows.run(ctx.workspace, id)))

    @strawberry.mutation(description="Stop a run that has not finished; the run, cancelled.")
    async def cancel_workflow_run(self, info: Info[MetadataContext, Any], id: uuid.UUID) -> WorkflowRunType:  # noqa: A002
        ctx = admin_context(info, "manage_workflows")
        await call(lambda: ctx.runner.cancel(ctx.workspace, id))
        return WorkflowRunType.of(await call(lambda: ctx.workflows.run(ctx.workspace, id)))


@strawberry.type
class RoleMutation:
    @strawberry.mutation(
        description="Save a role document (platform/schemas/role.schema.json): creates the role, or "
        "replaces the role of that name. Needs manage_users."
    )
    async def save_role(self, info: Info[MetadataContext, Any], definition: JSON) -> RoleType:
        ctx = admin_context(info, "manage_users")
        store = RoleStore(ctx.store.engine)

        def save() -> Role:
            if role_validator().is_valid(definition):  # else the store says what is wrong
                may_give(ctx, role_from_document(cast(Mapping[str, Any], definition)))
            return store.save(ctx.workspace, definition, actor=ctx.actor)

        return RoleType.of(await call_with_document("definition", save))

    @strawberry.mutation(description="Delete a custom role nobody holds any more. Needs manage_users.")
    async def delete_role(self, info: Info[MetadataContext, Any], name: str) -> bool:
        ctx = admin_context(info, "manage_users")
        await call(lambda: RoleStore(ctx.store.engine).delete(ctx.workspace, name))
        return True


PackageSource = Annotated[
    str | None, strawberry.argument(description="The name of a built-in package (standard-crm, …).")
]
PackageArchive = Annotated[
    str | None, strawberry.argument(description="A package archive (.zip), base64-encoded.")
]


def package_argument(archive: str | None) -> str:
    """The argument a package's problems are under (their paths go on into its files)."""
    return "source" if archive is None else "archive"


def package_from(source: str | None, archive: str | None) -> Package:
    """The package an API call names: a built-in one, or an uploaded archive."""
    if (source is None) == (archive is None):
        raise TesseraError.single(
            "INVALID_INPUT", "Give source (a built-in package) or archive, one of them.", ()
        )
    if source is not None:
        found = find_package(source, [BUILTIN_PACKAGES])
        if found is None:
            raise TesseraError.single(
                "UNKNOWN_PACKAGE", f"There is no built-in package '{source}'.", ("source",)
            )
        return found
    try:
        data = base64.b64decode(archive or "", validate=True)
    except binascii.Error:
        raise TesseraError.single("INVALID_PACKAGE", "archive is not base64.", ("archive",)) from None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "package.zip"
        path.write_bytes(data)
        return read_package(path)


@strawberry.type
class PackageMutation:
    @strawberry.mutation(
        description="Install a package: all of it or nothing. dryRun: what it would create, every part "
        "checked, nothing changed. Needs manage_packages."
    )
    async def install_package(
        self,
        info: Info[MetadataContext, Any],
        source: PackageSource = None,
        archive: PackageArchive = None,
        sample_data: bool = True,
        dry_run: DryRun = False,
    ) -> PackageChangeType:
        ctx = admin_context(info, "manage_packages")

        def install() -> PackageChange:
            package = package_from(source, archive)
            if dry_run:
                return ctx.packages.preview(ctx.workspace, package, sample_data=sample_data)
            return ctx.packages.install(ctx.workspace, package, sample_data=sample_data, actor=ctx.actor)

        return PackageChangeType.of(await call_with_document(package_argument(archive), install))

    @strawberry.mutation(
        description="Upgrade an installed package, keeping what admins customised (conflicts are "
        "listed). Needs manage_packages."
    )
    async def upgrade_package(
        self,
        info: Info[MetadataContext, Any],
        source: PackageSource = None,
        archive: PackageArchive = None,
        dry_run: DryRun = False,
    ) -> PackageChangeType:
        ctx = admin_context(info, "manage_packages")
        change = await call_with_document(
            package_argument(archive),
            lambda: ctx.packages.upgrade(
                ctx.workspace, package_from(source, archive), actor=ctx.actor, dry_run=dry_run
            ),
        )
        return PackageChangeType.of(change)

    @strawberry.mutation(
        description="Remove a package's workflows, roles and views; its records are exported to a file "
        "on the server, and its objects and fields kept unless deleteData. Needs manage_packages."
    )
    async def uninstall_package(
        self, info: Info[MetadataContext, Any], name: str, delete_data: bool = False
    ) -> PackageUninstallType:
        ctx = admin_context(info, "manage_packages")
        done = await call(
            lambda: ctx.packages.uninstall(ctx.workspace, name, keep_data=not delete_data, actor=ctx.actor)
        )
        return PackageUninstallType(
            package=done.package, kept_data=done.kept_data, export=str(done.export) if done.export else None
        )


@strawberry.type
class AccessMutation:
    @strawberry.mutation(description="Create a user (role: built in or custom). Needs manage_users.")
    async def create_user(
        self,
        info: Info[MetadataContext, Any],
        email: str,
        password: str,
        name: str = "",
        role: str = "member",
        team: str | None = None,
    ) -> UserType:
        ctx = admin_context(info, "manage_users")

        def create() -> User:
            may_give_named(ctx, role)
            return ctx.identity.create_user(
                ctx.workspace, email, password, name=name, role=role, team=team, actor=ctx.actor
            )

        return UserType.of(await call(create))

    @strawberry.mutation(
        description="Change a user's role, team (empty string: none) or whether they may sign in; "
        "only what is given changes. Needs manage_users."
    )
    async def update_user(
        self,
        info: Info[MetadataContext, Any],
        email: str,
        role: str | None = None,
        team: str | None = None,
        active: bool | None = None,
    ) -> UserType:
        ctx = admin_context(info, "manage_users")

        def update() -> User:
            user = next(
                (u for u in ctx.identity.users(ctx.workspace) if u.email.lower() == email.lower()), None
            )
            if user is None:
                raise NotFound.single("UNKNOWN_USER", f"No user signs in with '{email}' here.", ("email",))
            if role is not None:
                may_give_named(ctx, role)
                user = ctx.identity.set_role(ctx.workspace, email, role, actor=ctx.actor)
            if team is not None:
                user = ctx.identity.set_team(ctx.workspace, email, team or None, actor=ctx.actor)
            if active is not None:
                user = ctx.identity.set_active(ctx.workspace, email, active, actor=ctx.actor)
            return user

        return UserType.of(await call(update))

    @strawberry.mutation(
        description="Create an API key; its secret is in the answer, this once. Needs manage_api_keys."
    )
    async def create_api_key(
        self,
        info: Info[MetadataContext, Any],
        name: str,
        role: str = "member",
        expires_at: dt.datetime | None = None,
    ) -> NewApiKeyType:
        ctx = admin_context(info, "manage_api_keys")

        def create() -> tuple[str, ApiKey]:
            may_give_named(ctx, role)
            return ctx.identity.create_api_key(
                ctx.workspace, name, role=role, expires_at=as_utc(expires_at), created_by=ctx.actor
            )

        secret, key = await call(create)
        return NewApiKeyType(secret=secret, key=ApiKeyType.of(key))

    @strawberry.mutation(description="Revoke an API key: it stops working at once. Needs manage_api_keys.")
    async def revoke_api_key(self, info: Info[MetadataContext, Any], id: uuid.UUID) -> bool:  # noqa: A002
        ctx = admin_context(info, "manage_api_keys")
        await call(lambda: ctx.identity.revoke_api_key(ctx.workspace, id, actor=ctx.actor))
        return True


@strawberry.type(name="WebhookSecret", description="A signing secret of a subscription, without the secret.")
class WebhookSecretType:
    prefix: str = strawberry.field(description="whsec_ and the first characters, to tell secrets apart")
    created_at: dt.datetime
    expires_at: dt.datetime | None = strawberry.field(description="when a rotated-out secret stops signing")


@strawberry.type(
    name="WebhookSubscription", description="Where a workspace's record events are POSTed, signed."
)
class WebhookSubscriptionType:
    id: uuid.UUID
    url: str
    description: str
    object: str | None = strawberry.field(
        description="the object whose events are sent; null: every object's"
    )
    events: list[str] = strawberry.field(description="created, updated, deleted, restored, destroyed")
    filter: JSON | None = strawberry.field(
        description="only records it matches (the filter language), as they are when the event is handled"
    )
    enabled: bool
    disabled_reason: str | None = strawberry.field(description="why it was disabled: 410 Gone, failing…")
    secrets: list[WebhookSecretType] = strawberry.field(description="the secrets that sign, newest last")
    failing_since: dt.datetime | None = strawberry.field(
        description="since when every delivery failed (disabled after 5 days)"
    )
    consecutive_failures: int
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, sub: Subscription) -> WebhookSubscriptionType:
        return cls(
            id=sub.id,
            url=sub.url,
            description=sub.description,
            object=sub.object,
            events=list(sub.events),
            filter=None if sub.filter is None else JSON(sub.filter),
            enabled=sub.enabled,
            disabled_reason=sub.disabled_reason,
            secrets=[
                WebhookSecretType(prefix=s.prefix, created_at=s.created_at, expires_at=s.expires_at)
                for s in sub.secrets
            ],
            failing_since=sub.failing_since,
            consecutive_failures=sub.consecutive_failures,
            created_by=sub.created_by,
            created_at=sub.created_at,
            updated_at=sub.updated_at,
        )


@strawberry.type(
    name="NewWebhookSecret", description="A subscription and its new signing secret, shown this once."
)
class NewWebhookSecretType:
    secret: str = strawberry.field(description="whsec_…: verify the webhook-signature header with it")
    subscription: WebhookSubscriptionType


@strawberry.type(name="WebhookDelivery", description="One message to one subscription, and its attempts.")
class WebhookDeliveryType:
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str = strawberry.field(description="record.created, record.updated, …")
    message_id: str = strawberry.field(description="the webhook-id header")
    status: str = strawberry.field(description="pending, delivered or failed")
    attempts: int
    next_attempt_at: dt.datetime | None
    response_status: int | None
    response_body: str | None = strawberry.field(description="the start of the last response's body")
    error: str | None
    attempt_log: JSON = strawberry.field(
        description="each attempt: attempt, at, responseStatus, code, error, durationMs"
    )
    replay_of: uuid.UUID | None
    payload: JSON
    created_at: dt.datetime
    last_attempt_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> WebhookDeliveryType:
        return cls(
            id=delivery.id,
            subscription_id=delivery.subscription_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            message_id=delivery.message_id,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            response_status=delivery.response_status,
            response_body=delivery.response_body,
            error=delivery.error,
            attempt_log=JSON(delivery.log),
            replay_of=delivery.replay_of,
            payload=JSON(delivery.payload),
            created_at=delivery.created_at,
            last_attempt_at=delivery.last_attempt_at,
            finished_at=delivery.finished_at,
        )


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="Subscribe a URL to record events (every kind unless events names some); the "
        "signing secret is in the answer, this once. Needs manage_connectors."
    )
    async def create_webhook_subscription(
        self,
        info: Info[MetadataContext, Any],
        url: str,
        events: list[str] | None = None,
        object: str | None = None,  # noqa: A002 - the API's name for it
        filter: JSON | None = None,  # noqa: A002 - the API's name for it
        enabled: bool = True,
        description: str = "",
    ) -> NewWebhookSecretType:
        ctx = admin_context(info, "manage_connectors")
        secret, sub = await call(
            lambda: ctx.webhooks.create(
                ctx.workspace,
                url=url,
                events=events,
                object=object,
                filter=cast(Mapping[str, Any] | None, filter),
                enabled=enabled,
                description=description,
                actor=ctx.actor,
            )
        )
        return NewWebhookSecretType(secret=secret, subscription=WebhookSubscriptionType.of(sub))

    @strawberry.mutation(
        description="Change a subscription; only what is given changes (object or filter null: none). "
        "Enabling a disabled one starts afresh. Needs manage_connectors."
    )
    async def update_webhook_subscription(
        self,
        info: Info[MetadataContext, Any],
        id: uuid.UUID,  # noqa: A002
        url: str | None = None,
        events: list[str] | None = None,
        object: str | None = strawberry.UNSET,  # noqa: A002 - the API's name for it
        filter: JSON | None = strawberry.UNSET,  # noqa: A002 - the API's name for it
        enabled: bool | None = None,
        description: str | None = None,
    ) -> WebhookSubscriptionType:
        ctx = admin_context(info, "manage_connectors")
        sub = await call(
            lambda: ctx.webhooks.update(
                ctx.workspace,
                id,
                url=url,
                events=events,
                object=KEEP if object is strawberry.UNSET else object,
                filter=KEEP if filter is strawberry.UNSET else cast(Mapping[str, Any] | None, filter),
                enabled=enabled,
                description=description,
                actor=ctx.actor,
            )
        )
        return WebhookSubscriptionType.of(sub)

    @strawberry.mutation(
        description="A new signing secret, in the answer this once; the old ones keep signing for "
        "keepOldForHours (default 24, at most 168). Needs manage_connectors."
    )
    async def rotate_webhook_secret(
        self,
        info: Info[MetadataContext, Any],
        id: uuid.UUID,  # noqa: A002
        keep_old_for_hours: float = 24,
    ) -> NewWebhookSecretType:
        ctx = admin_context(info, "manage_connectors")

        def rotate() -> tuple[str, Subscription]:
            if not 0 <= keep_old_for_hours <= 168:
                raise TesseraError.single(
                    "INVALID_VALUE", "Keep the old secret for 0 to 168 hours.", ("keepOldForHours",)
                )
            return ctx.webhooks.rotate_secret(
                ctx.workspace, id, keep_old_for=dt.timedelta(hours=keep_old_for_hours), actor=ctx.actor
            )

        secret, sub = await call(rotate)
        return NewWebhookSecretType(secret=secret, subscription=WebhookSubscriptionType.of(sub))

    @strawberry.mutation(
        description="Delete a webhook subscription and its deliveries. Needs manage_connectors."
    )
    async def delete_webhook_subscription(self, info: Info[MetadataContext, Any], id: uuid.UUID) -> bool:  # noqa: A002
        ctx = admin_context(info, "manage_connectors")
        await call(lambda: ctx.webhooks.delete(ctx.workspace, id, actor=ctx.actor))
        return True

    @strawberry.mutation(
        description="Send a past delivery again, as a new delivery of the same message (same body and "
        "webhook-id), due now. Needs manage_connectors."
    )
    async def replay_webhook_delivery(
        self,
        info: Info[MetadataContext, Any],
        id: uuid.UUID,  # noqa: A002
    ) -> WebhookDeliveryType:
        ctx = admin_context(info, "manage_connectors")
        return WebhookDeliveryType.of(await call(lambda: ctx.webhooks.replay(ctx.workspace, id)))


def build_metadata_schema() -> strawberry.Schema:
    # The connector API builds on this module's context and helpers: imported here, not above.
    from tessera.schema.connector_api import ConnectorMutation, ConnectorQuery

    @strawberry.type(name="Query")
    class FullQuery(Query, ConnectorQuery):
        pass

    @strawberry.type
    class FullMutation(
        Mutation,
        WorkflowMutation,
        RoleMutation,
        PackageMutation,
        AccessMutation,
        WebhookMutation,
        ConnectorMutation,
    ):
        pass

    return QuietSchema(
        query=FullQuery, mutation=FullMutation, extensions=[MaskUnexpectedErrors, IntrospectionByRole]
    )
