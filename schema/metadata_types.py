"""GraphQL types of the metadata API (``/graphql/metadata``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry
from strawberry.scalars import JSON

from tessera.metadata.fields import FIELD_TYPES, field_type
from tessera.metadata.model import FieldDef, MetadataState, ObjectDef
from tessera.metadata.plan import DataLoss
from tessera.metadata.store import ApplyResult, ChangeLogEntry
from tessera.platform.audit import AdminEvent, HistoryEntry, HistoryFilter
from tessera.platform.identity import ApiKey, User
from tessera.platform.packages import InstalledPackage, PackageChange, PackageUpgrade
from tessera.platform.permissions import Role
from tessera.platform.workspaces import Workspace
from tessera.workflows.store import RunFilter, WorkflowRun, WorkflowVersion


@strawberry.type(description="A field of an object.")
class Field:
    id: uuid.UUID
    api_name: str
    label: str
    type: str
    required: bool
    unique: bool
    default: JSON | None = strawberry.field(description="Default value, as written in the API.")
    help_text: str
    track_history: bool = strawberry.field(description="Every change of its value is kept (recordHistory).")
    options: JSON = strawberry.field(description="Settings of the field type (see fieldTypes).")
    created_version: int = strawberry.field(description="Metadata version that created it.")
    updated_version: int = strawberry.field(description="Metadata version that last changed it.")

    @classmethod
    def of(cls, fld: FieldDef, state: MetadataState) -> Field:
        return cls(
            id=fld.id,
            api_name=fld.api_name,
            label=fld.label,
            type=fld.type,
            required=fld.required,
            unique=fld.unique,
            default=fld.default,
            help_text=fld.help_text,
            track_history=fld.track_history,
            options=JSON(field_type(fld.type).portable_options(fld.options, state)),
            created_version=fld.created_version,
            updated_version=fld.updated_version,
        )


@strawberry.type(description="A one-to-many relation: records of another object linking here.")
class Relation:
    name: str = strawberry.field(description="Name of the relation on this object, e.g. 'deals'.")
    source_object: str = strawberry.field(description="Object whose lookup points here.")
    source_field: str = strawberry.field(description="That lookup field.")


@strawberry.type(name="Object", description="An object: a kind of record, stored in its own table.")
class ObjectType:
    id: uuid.UUID
    api_name: str
    plural_api_name: str
    label_singular: str
    label_plural: str
    description: str
    fields: list[Field]
    relations: list[Relation] = strawberry.field(
        description="Reverse one-to-many relations (lookups to this object)."
    )
    validation_rules: JSON = strawberry.field(
        description="Rules records must pass: {id, name, error_when (a filter), message, field, active}."
    )
    created_version: int = strawberry.field(description="Metadata version that created it.")
    updated_version: int = strawberry.field(
        description="Metadata version that last changed it or one of its fields."
    )

    @classmethod
    def of(cls, obj: ObjectDef, state: MetadataState) -> ObjectType:
        return cls(
            id=obj.id,
            api_name=obj.api_name,
            plural_api_name=obj.plural_api_name,
            label_singular=obj.label_singular,
            label_plural=obj.label_plural,
            description=obj.description,
            fields=[Field.of(f, state) for f in obj.fields],
            validation_rules=JSON([rule.as_dict() for rule in obj.validation_rules]),
            relations=[
                Relation(
                    name=r.reverse_name,
                    source_object=r.source_object.api_name,
                    source_field=r.source_field.api_name,
                )
                for r in state.relations_to(obj.id)
            ],
            created_version=obj.created_version,
            updated_version=obj.updated_version,
        )


@strawberry.type(name="WorkflowVersion", description="One version of a workflow.")
class WorkflowVersionType:
    name: str
    version: int
    status: str = strawberry.field(description="draft, active or inactive")
    definition: JSON
    created_by: str
    created_at: dt.datetime

    @classmethod
    def of(cls, v: WorkflowVersion) -> WorkflowVersionType:
        return cls(
            name=v.name,
            version=v.version,
            status=v.status,
            definition=JSON(dict(v.definition)),
            created_by=v.created_by,
            created_at=v.created_at,
        )


@strawberry.type(name="WorkflowRun", description="One run of a workflow, with every step.")
class WorkflowRunType:
    id: uuid.UUID
    workflow: str
    version: int
    status: str = strawberry.field(
        description="queued, running, waiting (a wait step, or a failed step's next attempt), "
        "succeeded, failed or cancelled"
    )
    trigger: str = strawberry.field(description="what started it: event, schedule, relative, manual, webhook")
    record_id: uuid.UUID | None
    event_id: uuid.UUID | None
    steps: JSON = strawberry.field(
        description="Each attempt of each step: key, id, type, status, input, output, error, "
        "timings, attempt."
    )
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    wake_at: dt.datetime | None = strawberry.field(description="when a waiting run goes on")

    @classmethod
    def of(cls, run: WorkflowRun) -> WorkflowRunType:
        return cls(
            id=run.id,
            workflow=run.workflow,
            version=run.version,
            status=run.status,
            record_id=run.record_id,
            event_id=run.event_id,
            steps=JSON(run.steps),
            error=run.error,
            trigger=run.trigger,
            wake_at=run.wake_at,
            created_at=run.created_at,
            finished_at=run.finished_at,
        )


@strawberry.type(name="Workspace")
class WorkspaceType:
    slug: str
    name: str
    metadata_version: int
    created_at: dt.datetime

    @classmethod
    def of(cls, ws: Workspace) -> WorkspaceType:
        return cls(slug=ws.slug, name=ws.name, metadata_version=ws.metadata_version, created_at=ws.created_at)


@strawberry.type(description="A field type and the JSON Schema of its options.")
class FieldTypeInfo:
    name: str
    label: str
    description: str
    options_schema: JSON
    supports_unique: bool
    supports_default: bool


def field_type_infos() -> list[FieldTypeInfo]:
    return [
        FieldTypeInfo(
            name=t.name,
            label=t.label,
            description=t.description,
            options_schema=JSON(t.options_schema),
            supports_unique=t.supports_unique,
            supports_default=t.supports_default and not t.generated,
        )
        for t in FIELD_TYPES.values()
    ]


@strawberry.type(description="One step of a DDL plan.")
class PlanStep:
    description: str
    destructive: bool = strawberry.field(description="Whether the step deletes data.")
    sql: list[str] = strawberry.field(
        description="The SQL it runs (a preview; SQLite table rebuilds are described)."
    )


@strawberry.type(description="Data a change deletes.")
class DataLossInfo:
    object: str
    field: str | None
    records: int


@strawberry.type(description="What a metadata mutation did, or for a dry run would do.")
class MetadataChangeResult:
    applied: bool = strawberry.field(description="False for a dry run or when nothing changed.")
    version: int = strawberry.field(description="The workspace's metadata version afterwards.")
    changes: list[str]
    plan: list[PlanStep]
    data_loss: list[DataLossInfo]
    object: ObjectType | None = strawberry.field(
        description="The object the mutation was about, as it is (or would be)."
    )

    @classmethod
    def of(cls, result: ApplyResult, object_api_name: str | None) -> MetadataChangeResult:
        state = result.state
        obj = state.object_named(object_api_name) if state and object_api_name else None
        return cls(
            applied=result.applied,
            version=result.version,
            changes=[c.describe() for c in result.changes],
            plan=[
                PlanStep(description=p["description"], destructive=p["destructive"], sql=p["sql"])
                for p in result.plan
            ],
            data_loss=[data_loss(d) for d in result.data_loss],
            object=ObjectType.of(obj, state) if obj and state else None,
        )


def data_loss(loss: DataLoss) -> DataLossInfo:
    return DataLossInfo(object=loss.object, field=loss.field, records=loss.records)


@strawberry.type(description="An applied metadata change, from the change log.")
class MetadataChange:
    version: int
    actor: str
    created_at: dt.datetime
    summary: str
    changes: JSON = strawberry.field(description="Each change with its before and after values.")
    plan: JSON = strawberry.field(description="The DDL steps that were run.")

    @classmethod
    def of(cls, entry: ChangeLogEntry) -> MetadataChange:
        return cls(
            version=entry.version,
            actor=entry.actor,
            created_at=entry.created_at,
            summary=entry.summary,
            changes=JSON(entry.changes),
            plan=JSON(entry.plan),
        )


@strawberry.type(name="Role", description="A role: what the users and API keys holding it may do.")
class RoleType:
    name: str
    description: str
    built_in: bool = strawberry.field(
        description="admin, member and viewer are built in: they stay as they are."
    )
    document: JSON = strawberry.field(
        description="The role document (platform/schemas/role.schema.json): capabilities, grants by "
        "object (operations, access: own | team | all, fields: none | read | edit), other_objects."
    )

    @classmethod
    def of(cls, role: Role) -> RoleType:
        return cls(
            name=role.name,
            description=role.description,
            built_in=role.builtin,
            document=JSON(role.as_document()),
        )


@strawberry.type(name="InstalledPackage", description="A package installed in the workspace.")
class InstalledPackageType:
    name: str
    version: str
    installed_at: dt.datetime
    installed_by: str
    dependencies: JSON = strawberry.field(description="name → version range")
    owned: JSON = strawberry.field(description="objects and fields (ids), workflows, roles and views (names)")

    @classmethod
    def of(cls, package: InstalledPackage) -> InstalledPackageType:
        return cls(
            name=package.name,
            version=package.version,
            installed_at=package.installed_at,
            installed_by=package.installed_by,
            dependencies=JSON(package.dependencies),
            owned=JSON(dict(package.owned)),
        )


@strawberry.type(name="PackageChange", description="What an install or upgrade did (or, dry run, would do).")
class PackageChangeType:
    package: str
    version: str
    applied: bool
    from_version: str | None = strawberry.field(description="an upgrade: the version it replaced")
    objects: list[str]
    fields: list[str] = strawberry.field(description="object.field")
    workflows: list[str]
    roles: list[str]
    views: list[str]
    records: JSON = strawberry.field(description="sample records created, by object")
    plan: JSON = strawberry.field(description="the metadata change's steps: description, destructive, sql")
    conflicts: JSON = strawberry.field(
        description="an upgrade: where the admin and the new version changed the same thing "
        "[{code, message, path}]; the admin's value was kept"
    )
    kept: list[str] = strawberry.field(description="an upgrade: what the new version dropped, left as it is")
    metadata_version: int

    @classmethod
    def of(cls, change: PackageChange) -> PackageChangeType:
        upgrade = change if isinstance(change, PackageUpgrade) else None
        return cls(
            package=change.package,
            version=change.version,
            applied=change.applied,
            from_version=upgrade.from_version if upgrade else None,
            objects=change.objects,
            fields=change.fields,
            workflows=change.workflows,
            roles=change.roles,
            views=change.views,
            records=JSON(change.records),
            plan=JSON(change.plan),
            conflicts=JSON(
                [{"code": c.code, "message": c.message, "path": list(c.path)} for c in upgrade.conflicts]
                if upgrade
                else []
            ),
            kept=upgrade.kept if upgrade else [],
            metadata_version=change.metadata_version,
        )


@strawberry.type(name="PackageUninstall", description="What an uninstall did.")
class PackageUninstallType:
    package: str
    kept_data: bool = strawberry.field(description="its objects and fields stay, as the workspace's own")
    export: str | None = strawberry.field(description="the file on the server its records were exported to")


@strawberry.type(name="User", description="A person who signs in to the workspace.")
class UserType:
    id: uuid.UUID
    email: str
    name: str
    role: str
    team: str | None
    active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None

    @classmethod
    def of(cls, user: User) -> UserType:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            team=user.team,
            active=user.active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


@strawberry.type(
    name="ApiKey", description="A key for an app or an integration (its secret is never shown again)."
)
class ApiKeyType:
    id: uuid.UUID
    name: str
    prefix: str = strawberry.field(description="the first characters of the secret, to tell keys apart")
    role: str
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyType:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            role=key.role,
            created_by=key.created_by,
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


@strawberry.type(name="NewApiKey", description="A key just made: its secret is shown this once.")
class NewApiKeyType:
    secret: str
    key: ApiKeyType


@strawberry.type(name="AdminEvent", description="Admin work: roles, users, API keys, packages.")
class AdminEventType:
    kind: str = strawberry.field(
        description="role_saved, role_deleted, user_created, user_changed, user_password_set, "
        "api_key_created, api_key_revoked, package_installed, package_upgraded, package_uninstalled, "
        "connection_created, connection_updated, connection_deleted, connection_subscribed, "
        "connection_unsubscribed, webhook_subscription_created, webhook_subscription_updated, "
        "webhook_subscription_deleted, webhook_subscription_disabled, webhook_secret_rotated"
    )
    subject: str = strawberry.field(
        description="a role's name, a user's email, an API key's, package's or connection's name, "
        "a webhook subscription's id"
    )
    actor: str
    at: dt.datetime
    before: JSON | None
    after: JSON | None

    @classmethod
    def of(cls, event: AdminEvent) -> AdminEventType:
        return cls(
            kind=event.kind,
            subject=event.subject,
            actor=event.actor,
            at=event.at,
            before=None if event.before is None else JSON(event.before),
            after=None if event.after is None else JSON(event.after),
        )


@strawberry.type(name="SavedView", description="A named filter, sort and columns over an object's records.")
class SavedViewType:
    name: str
    object: str
    definition: JSON
    package: str | None = strawberry.field(description="the package it came with")


# -- inputs --------------------------------------------------------------------------
RULES_INPUT_HELP = (
    "The object's validation rules, all of them: [{name, error_when, message, field?, active?}]. "
    "A rule keeps its id when its name is unchanged."
)


@strawberry.input(description="A field, inside createObject.")
class FieldInput:
    api_name: str
    type: str
    id: uuid.UUID | None = strawberry.UNSET
    label: str | None = strawberry.UNSET
    required: bool | None = strawberry.UNSET
    unique: bool | None = strawberry.UNSET
    default: JSON | None = strawberry.UNSET
    help_text: str | None = strawberry.UNSET
    track_history: bool | None = strawberry.UNSET
    options: JSON | None = strawberry.UNSET


@strawberry.input
class CreateObjectInput:
    api_name: str
    label_singular: str | None = strawberry.UNSET
    label_plural: str | None = strawberry.UNSET
    plural_api_name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    fields: list[FieldInput] | None = strawberry.UNSET
    validation_rules: JSON | None = strawberry.field(default=strawberry.UNSET, description=RULES_INPUT_HELP)


@strawberry.input
class UpdateObjectInput:
    object: str = strawberry.field(description="Current api name of the object.")
    api_name: str | None = strawberry.UNSET
    label_singular: str | None = strawberry.UNSET
    label_plural: str | None = strawberry.UNSET
    plural_api_name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    validation_rules: JSON | None = strawberry.field(default=strawberry.UNSET, description=RULES_INPUT_HELP)


@strawberry.input
class DeleteObjectInput:
    object: str


@strawberry.input
class CreateFieldInput:
    object: str = strawberry.field(description="Api name of the object to add the field to.")
    api_name: str
    type: str
    label: str | None = strawberry.UNSET
    required: bool | None = strawberry.UNSET
    unique: bool | None = strawberry.UNSET
    default: JSON | None = strawberry.UNSET
    help_text: str | None = strawberry.UNSET
    track_history: bool | None = strawberry.UNSET
    options: JSON | None = strawberry.UNSET


@strawberry.input(
    description="Only the attributes given change; options given replace stored ones key by key."
)
class UpdateFieldInput:
    object: str
    field: str = strawberry.field(description="Current api name of the field.")
    api_name: str | None = strawberry.UNSET
    type: str | None = strawberry.UNSET
    label: str | None = strawberry.UNSET
    required: bool | None = strawberry.UNSET
    unique: bool | None = strawberry.UNSET
    default: JSON | None = strawberry.UNSET
    help_text: str | None = strawberry.UNSET
    track_history: bool | None = strawberry.UNSET
    options: JSON | None = strawberry.UNSET


@strawberry.input
class DeleteFieldInput:
    object: str
    field: str


@strawberry.input
class ReorderFieldsInput:
    object: str
    fields: list[str] = strawberry.field(description="Every field's api name, in the new order.")


def given(value: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The attributes of an input object that were given (not UNSET), snake_case keys;
    nested inputs become dicts too."""
    out: dict[str, Any] = {}
    for name, attr in vars(value).items():
        if name in skip or attr is strawberry.UNSET:
            continue
        if isinstance(attr, list):
            attr = [given(item) if hasattr(item, "__strawberry_definition__") else item for item in attr]
        elif isinstance(attr, uuid.UUID):
            attr = str(attr)
        out[name] = attr
    return out


@strawberry.input(description="Which workflow runs to list; every given condition holds.")
class WorkflowRunFilter:
    workflow: str | None = None
    status: list[str] | None = strawberry.field(default=None, description="any of these statuses")
    record_id: uuid.UUID | None = None
    trigger: str | None = strawberry.field(
        default=None, description="event, schedule, relative, manual or webhook"
    )
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None

    def to_filter(self) -> RunFilter:
        return RunFilter(
            workflow=self.workflow,
            statuses=tuple(self.status or ()),
            record_id=self.record_id,
            trigger=self.trigger,
            created_after=self.created_after,
            created_before=self.created_before,
        )


@strawberry.type(name="WorkflowWebhook", description="Where a webhook workflow is called, and its secret.")
class WorkflowWebhookType:
    path: str = strawberry.field(description="POST JSON here, with the header Authorization: Bearer <secret>")
    secret: str
    signing_secret: str = strawberry.field(
        default="",
        description="the secret as a Standard Webhooks key (whsec_…): sign requests with it instead",
    )


@strawberry.input(description="Which record history entries to list; every given condition holds.")
class RecordHistoryFilter:
    object: str | None = None
    record_id: uuid.UUID | None = None
    field: str | None = None
    actor: uuid.UUID | None = strawberry.field(default=None, description="the user or API key id")
    changed_after: dt.datetime | None = None
    changed_before: dt.datetime | None = None

    def to_filter(self) -> HistoryFilter:
        return HistoryFilter(
            object=self.object,
            record_id=self.record_id,
            field=self.field,
            actor=self.actor,
            changed_after=self.changed_after,
            changed_before=self.changed_before,
        )


@strawberry.type(name="RecordHistoryEntry", description="One change of a field that tracks its history.")
class RecordHistoryEntryType:
    object: str
    record_id: uuid.UUID
    field: str
    kind: str = strawberry.field(description="created, updated or destroyed")
    old_value: JSON | None
    new_value: JSON | None
    actor: uuid.UUID | None = strawberry.field(description="the user or API key that made the change")
    changed_at: dt.datetime

    @classmethod
    def of(cls, entry: HistoryEntry) -> RecordHistoryEntryType:
        return cls(
            object=entry.object,
            record_id=entry.record_id,
            field=entry.field,
            kind=entry.kind,
            old_value=entry.old_value,
            new_value=entry.new_value,
            actor=entry.actor,
            changed_at=entry.changed_at,
        )
