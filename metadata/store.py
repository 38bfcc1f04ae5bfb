"""The metadata store: reads a workspace's data model and applies changes to it.

Applying is one transaction: plan the DDL from the diff, run it, write the metadata rows,
bump the workspace's metadata version and append the change log. Any failure rolls all
of it back.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tessera.metadata.diff import Change, diff_states
from tessera.metadata.model import FieldDef, MetadataState, ObjectDef, ValidationRule
from tessera.metadata.plan import DataLoss, Locate, default_location, plan_changes, plan_summary, run_plan
from tessera.metadata.storage import Tables
from tessera.metadata.validation import EntityKey, check_state
from tessera.platform.database import schema_change_transaction
from tessera.platform.errors import Path, TesseraError
from tessera.platform.tables import auto_number_sequences, metadata_changes, workspaces
from tessera.platform.tables import fields as fields_table
from tessera.platform.tables import objects as objects_table
from tessera.platform.workspaces import Workspace, get_workspace


@dataclass
class ApplyResult:
    """What an apply did (or, for a dry run, would do)."""

    applied: bool
    version: int
    changes: list[Change]
    plan: list[dict[str, Any]]
    data_loss: list[DataLoss] = field(default_factory=list)
    state: MetadataState | None = None


@dataclass(frozen=True)
class ChangeLogEntry:
    version: int
    actor: str
    created_at: dt.datetime
    summary: str
    changes: list[dict[str, Any]]
    plan: list[dict[str, Any]]


def load_state(conn: Connection, workspace: Workspace) -> MetadataState:
    field_rows = conn.execute(
        sa.select(fields_table)
        .where(fields_table.c.workspace_id == workspace.id)
        .order_by(fields_table.c.position)
    ).mappings()
    by_object: dict[uuid.UUID, list[FieldDef]] = {}
    for row in field_rows:
        by_object.setdefault(row["object_id"], []).append(
            FieldDef(
                id=row["id"],
                api_name=row["api_name"],
                label=row["label"],
                type=row["type"],
                required=row["required"],
                unique=row["is_unique"],
                default=row["default_value"],
                help_text=row["help_text"],
                track_history=row["track_history"],
                options=row["options"],
                created_version=row["created_version"],
                updated_version=row["updated_version"],
            )
        )
    object_rows = conn.execute(
        sa.select(objects_table)
        .where(objects_table.c.workspace_id == workspace.id)
        .order_by(objects_table.c.position)
    ).mappings()
    objects = tuple(
        ObjectDef(
            id=row["id"],
            api_name=row["api_name"],
            plural_api_name=row["plural_api_name"],
            label_singular=row["label_singular"],
            label_plural=row["label_plural"],
            description=row["description"],
            fields=tuple(by_object.get(row["id"], [])),
            validation_rules=tuple(
                ValidationRule(
                    id=uuid.UUID(rule["id"]),
                    name=rule["name"],
                    error_when=rule["error_when"],
                    message=rule["message"],
                    field=rule.get("field"),
                    active=rule.get("active", True),
                )
                for rule in row["validation_rules"] or []
            ),
            created_version=row["created_version"],
            updated_version=row["updated_version"],
        )
        for row in object_rows
    )
    return MetadataState(objects, workspace.metadata_version)


_STATES: OrderedDict[tuple[uuid.UUID, int], MetadataState] = OrderedDict()
_STATES_LOCK = threading.Lock()
#: how many (workspace, version) states the process keeps
STATE_CACHE_SIZE = 128


#: work done in the transaction of a metadata change, on the model it made
AfterApply = Callable[[Connection, Workspace, MetadataState], None]


def committed_state(conn: Connection, workspace: Workspace) -> MetadataState:
    """The data model at ``workspace.metadata_version``, read once per process: a version
    never changes once committed (every change bumps it), so the record service and the
    workflow engine need not read the model again for each write.

    Only for transactions that have not changed the metadata themselves (the store's own
    apply reads with :func:`load_state`): a state read before its version committed must
    not be kept."""
    key = (workspace.id, workspace.metadata_version)
    with _STATES_LOCK:
        state = _STATES.get(key)
        if state is not None:
            _STATES.move_to_end(key)
            return state
    state = load_state(conn, workspace)
    with _STATES_LOCK:
        _STATES[key] = state
        while len(_STATES) > STATE_CACHE_SIZE:
            _STATES.popitem(last=False)
    return state


def committed_tables(conn: Connection, workspace: Workspace) -> Tables:
    """The tables of the workspace's committed model (see :func:`committed_state`)."""
    return Tables(workspace.namespace(conn.dialect.name), committed_state(conn, workspace))


def in_workspace(table: sa.Table, workspace: Workspace) -> sa.ColumnElement[bool]:
    return table.c.workspace_id == workspace.id


def write_rows(
    conn: Connection, workspace: Workspace, before: MetadataState, after: MetadataState, version: int
) -> None:
    """Make the metadata rows of ``workspace`` say ``after``; rows created or changed are
    stamped with ``version``. An object counts as changed when one of its fields does."""
    now = dt.datetime.now(dt.UTC)
    after_fields = {f.id for _, f in after.all_fields()}
    gone_fields = [f.id for _, f in before.all_fields() if f.id not in after_fields]
    gone_objects = [o.id for o in before.objects if after.object_by_id(o.id) is None]
    if gone_fields:
        # Explicitly, not by ON DELETE CASCADE: SQLite applies schema changes with foreign
        # keys off, so cascades do not fire there.
        conn.execute(
            sa.delete(auto_number_sequences).where(
                auto_number_sequences.c.workspace_id == workspace.id,
                auto_number_sequences.c.field_id.in_(gone_fields),
            )
        )
        conn.execute(
            sa.delete(fields_table).where(
                in_workspace(fields_table, workspace), fields_table.c.id.in_(gone_fields)
            )
        )
    if gone_objects:
        conn.execute(
            sa.delete(objects_table).where(
                in_workspace(objects_table, workspace), objects_table.c.id.in_(gone_objects)
            )
        )
    # Two names may be swapped in one change: renamed rows are first parked under a
    # temporary name, so the unique (workspace, api_name) constraints hold at every step.
    for obj in after.objects:
        old_obj = before.object_by_id(obj.id)
        if old_obj is not None and old_obj.api_name != obj.api_name:
            conn.execute(
                sa.update(objects_table)
                .where(in_workspace(objects_table, workspace), objects_table.c.id == obj.id)
                .values(api_name=f"~{obj.id.hex}")
            )
        for fld in obj.fields:
            old_fld = old_obj.field_by_id(fld.id) if old_obj else None
            if old_fld is not None and old_fld.api_name != fld.api_name:
                conn.execute(
                    sa.update(fields_table)
                    .where(in_workspace(fields_table, workspace), fields_table.c.id == fld.id)
                    .values(api_name=f"~{fld.id.hex}")
                )
    new_objects: list[dict[str, Any]] = []
    new_fields: list[dict[str, Any]] = []
    old_object_positions = {o.id: i for i, o in enumerate(before.objects)}
    old_field_positions = {f.id: i for o in before.objects for i, f in enumerate(o.fields)}
    for position, obj in enumerate(after.objects):
        old = before.object_by_id(obj.id)
        values: dict[str, Any] = {
            "api_name": obj.api_name,
            "plural_api_name": obj.plural_api_name,
            "label_singular": obj.label_singular,
            "label_plural": obj.label_plural,
            "description": obj.description,
            "validation_rules": [rule.as_dict() for rule in obj.validation_rules] or None,
            "position": position,
            "updated_at": now,
            "updated_version": version,
        }
        if old is None:
            new_objects.append(
                {
                    "id": obj.id,
                    "workspace_id": workspace.id,
                    "created_at": now,
                    "created_version": version,
                    **values,
                }
            )
        elif old != obj or old_object_positions[obj.id] != position:
            conn.execute(
                sa.update(objects_table)
                .where(in_workspace(objects_table, workspace), objects_table.c.id == obj.id)
                .values(**values)
            )
    for obj in after.objects:
        old_obj = before.object_by_id(obj.id)
        for position, fld in enumerate(obj.fields):
            old_field = old_obj.field_by_id(fld.id) if old_obj else None
            values = {
                "api_name": fld.api_name,
                "label": fld.label,
                "type": fld.type,
                "required": fld.required,
                "is_unique": fld.unique,
                "default_value": fld.default,
                "help_text": fld.help_text,
                "track_history": fld.track_history,
                "options": dict(fld.options),
                "position": position,
                "updated_at": now,
                "updated_version": version,
            }
            if old_field is None:
                new_fields.append(
                    {
                        "id": fld.id,
                        "workspace_id": workspace.id,
                        "object_id": obj.id,
                        "created_at": now,
                        "created_version": version,
                        **values,
                    }
                )
            elif old_field != fld or old_field_positions[fld.id] != position:
                conn.execute(
                    sa.update(fields_table)
                    .where(in_workspace(fields_table, workspace), fields_table.c.id == fld.id)
                    .values(**values)
                )
    # One statement each (executemany): a document may create thousands of fields.
    if new_objects:
        conn.execute(sa.insert(objects_table), new_objects)
    if new_fields:
        conn.execute(sa.insert(fields_table), new_fields)


def focus_location(state: MetadataState, focus: Mapping[EntityKey, Path]) -> Locate:
    """Error paths for the planner: the input's path for the entity an edit describes."""
    default = default_location(state)

    def locate(obj: ObjectDef, fld: FieldDef) -> Path:
        return focus.get((obj.id, fld.id)) or default(obj, fld)

    return locate


class _RolledBack(Exception):
    """Leaves the transaction of a dry run, rolling it back."""

    def __init__(self, result: ApplyResult) -> None:
        self.result = result


class MetadataStore:
    """Reads and changes the data models of the workspaces in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: called with the workspace's slug after each applied change (schema caches)
        self.on_change: list[Callable[[str], None]] = []

    def state(self, workspace_slug: str) -> MetadataState:
        with self.engine.connect() as conn:
            return load_state(conn, get_workspace(conn, workspace_slug))

    def apply(
        self,
        workspace_slug: str,
        build: Callable[[MetadataState], MetadataState],
        *,
        actor: str = "system",
        dry_run: bool = False,
        confirm_data_loss: bool = False,
        expected_version: int | None = None,
        focus: Mapping[EntityKey, Path] | None = None,
        then: AfterApply | None = None,
    ) -> ApplyResult:
        """Change a workspace's data model to ``build(current state)``.

        Raises :class:`TesseraError` (nothing changed) for an invalid or unsafe change,
        for data loss not confirmed, or when ``expected_version`` is not current.

        ``then(conn, workspace, state)`` runs in the same transaction once the model is
        ``state`` (also when it did not change; not on a dry run): what it writes commits
        with the change, and its error undoes all of it (packages install this way).
        """
        if focus is None:
            # An Edit fills its focus while it builds: the same dict is read afterwards.
            focus = getattr(build, "focus", None)
        try:
            result = self._apply(
                workspace_slug,
                build,
                actor=actor,
                dry_run=dry_run,
                confirm_data_loss=confirm_data_loss,
                expected_version=expected_version,
                focus=focus,
                then=then,
            )
        except _RolledBack as rolled_back:
            return rolled_back.result
        if result.applied:
            for listener in self.on_change:
                listener(workspace_slug)
        return result

    def _apply(
        self,
        workspace_slug: str,
        build: Callable[[MetadataState], MetadataState],
        *,
        actor: str,
        dry_run: bool,
        confirm_data_loss: bool,
        expected_version: int | None,
        focus: Mapping[EntityKey, Path] | None,
        then: AfterApply | None = None,
    ) -> ApplyResult:
        with schema_change_transaction(self.engine) as conn:
            workspace = get_workspace(conn, workspace_slug, for_update=True)
            if expected_version is not None and expected_version != workspace.metadata_version:
                raise TesseraError.single(
                    "VERSION_CONFLICT",
                    f"The data model is at version {workspace.metadata_version}, not "
                    f"{expected_version}: someone changed it meanwhile. Reload and try again.",
                    ("expectedVersion",),
                )
            before = load_state(conn, workspace)
            after = build(before)
            check_state(after, focus, previous=before)
            changes = diff_states(before, after)
            if not changes:
                if then is not None and not dry_run:
                    then(conn, workspace, before)
                return ApplyResult(False, workspace.metadata_version, [], [], state=before)
            namespace = workspace.namespace(conn.dialect.name)
            plan = plan_changes(
                conn, namespace, before, after, changes, workspace.id, focus_location(after, focus or {})
            )
            summary = plan_summary(plan, conn.dialect.name)
            if dry_run:
                raise _RolledBack(
                    ApplyResult(
                        False, workspace.metadata_version, changes, summary, plan.data_loss, state=after
                    )
                )
            if plan.data_loss and not confirm_data_loss:
                lost = "; ".join(loss.describe() for loss in plan.data_loss)
                raise TesseraError.single(
                    "DATA_LOSS_NOT_CONFIRMED",
                    f"This change deletes data: {lost}. Repeat it with confirmDataLoss "
                    "(--confirm-data-loss on the command line) to go ahead.",
                    ("confirmDataLoss",),
                    data_loss=[loss.__dict__ for loss in plan.data_loss],
                )
            version = workspace.metadata_version + 1
            write_rows(conn, workspace, before, after, version)
            run_plan(conn, plan)
            conn.execute(
                sa.update(workspaces).where(workspaces.c.id == workspace.id).values(metadata_version=version)
            )
            conn.execute(
                sa.insert(metadata_changes).values(
                    id=uuid.uuid4(),
                    workspace_id=workspace.id,
                    version=version,
                    actor=actor,
                    created_at=dt.datetime.now(dt.UTC),
                    summary="; ".join(c.describe() for c in changes),
                    changes=[c.as_dict() for c in changes],
                    plan=summary,
                )
            )
            workspace = replace(workspace, metadata_version=version)
            applied = load_state(conn, workspace)
            if then is not None:
                then(conn, workspace, applied)
            return ApplyResult(True, version, changes, summary, plan.data_loss, state=applied)

    def change_log(
        self,
        workspace_slug: str,
        since_version: int = 0,
        limit: int = 100,
        *,
        actor: str | None = None,
        changed_after: dt.datetime | None = None,
        changed_before: dt.datetime | None = None,
    ) -> list[ChangeLogEntry]:
        """Applied changes, newest first: after ``since_version``, by ``actor`` (as the log
        writes it: ``ada@example.com``, ``key:<name>``, ``cli``), made at or after
        ``changed_after`` and before ``changed_before`` (a naive datetime is taken as UTC)."""

        def aware(moment: dt.datetime) -> dt.datetime:
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)

        with self.engine.connect() as conn:
            workspace = get_workspace(conn, workspace_slug)
            query = sa.select(metadata_changes).where(
                metadata_changes.c.workspace_id == workspace.id,
                metadata_changes.c.version > since_version,
            )
            if actor is not None:
                query = query.where(metadata_changes.c.actor == actor)
            if changed_after is not None:
                query = query.where(metadata_changes.c.created_at >= aware(changed_after))
            if changed_before is not None:
                query = query.where(metadata_changes.c.created_at < aware(changed_before))
            rows = conn.execute(query.order_by(metadata_changes.c.version.desc()).limit(limit)).mappings()
            return [
                ChangeLogEntry(
                    r["version"], r["actor"], r["created_at"], r["summary"], r["changes"], r["plan"]
                )
                for r in rows
            ]
