"""Installing, upgrading and uninstalling template packages (see
:mod:`tessera.metadata.packages` for the format).

An install is one transaction: the package's objects and the fields it adds to other
packages' objects go through the metadata store (one version bump, DDL included); its
roles, workflows (activated), saved views, sample data (through the record service) and
the record of the installation (version, content, what it owns) are written by the same
transaction — it all commits, or nothing does. :meth:`PackageManager.preview` shows what
an install would create without changing anything.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from packaging.version import Version
from sqlalchemy.engine import Connection, Engine

from tessera.metadata.document import document_state, export_document
from tessera.metadata.model import MetadataState, ObjectDef
from tessera.metadata.packages import MANIFEST, OBJECTS, Package, read_package, satisfies
from tessera.metadata.storage import Tables
from tessera.metadata.store import MetadataStore
from tessera.platform.audit import record_admin_event
from tessera.platform.errors import NotFound, Problem, TesseraError, located
from tessera.platform.errors import Path as ErrorPath
from tessera.platform.filtering import compile_filter
from tessera.platform.permissions import role_from_document
from tessera.platform.records import RecordWriter, record_from_row, record_json
from tessera.platform.roles import RoleStore, delete_role, role_named, save_role
from tessera.platform.tables import installed_packages, saved_views, workflow_versions, workflows
from tessera.platform.workspaces import Workspace, get_workspace
from tessera.workflows.store import WorkflowStore
from tessera.workflows.timers import remove_timers

Clock = Callable[[], dt.datetime]
TESSERA_VERSION = importlib.metadata.version("tessera-crm")


@dataclass(frozen=True)
class InstalledPackage:
    name: str
    version: str
    installed_at: dt.datetime
    installed_by: str
    #: objects and fields by id; workflows, roles and views by name
    owned: Mapping[str, list[str]]
    content: Mapping[str, Any]

    @property
    def dependencies(self) -> dict[str, str]:
        return dict(self.content["manifest"].get("dependencies") or {})


@dataclass
class PackageChange:
    """What an install (or a preview of it) creates."""

    package: str
    version: str
    applied: bool
    objects: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    workflows: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    #: sample records by object
    records: dict[str, int] = field(default_factory=dict)
    #: the steps of the metadata change (description, SQL)
    plan: list[dict[str, Any]] = field(default_factory=list)
    metadata_version: int = 0

    def describe(self) -> list[str]:
        lines = [f"{'Installed' if self.applied else 'Would install'} {self.package} {self.version}"]
        for kind in ("objects", "fields", "workflows", "roles", "views"):
            names = getattr(self, kind)
            if names:
                lines.append(f"  {kind}: {', '.join(names)}")
        if self.records:
            lines.append("  sample records: " + ", ".join(f"{n} {o}" for o, n in self.records.items()))
        return lines


@dataclass
class PackageUpgrade(PackageChange):
    """What an upgrade changes, and what it left as the admin had made it."""

    from_version: str = ""
    #: where the admin and the new version changed the same thing differently: the admin's
    #: value is kept (code ``UPGRADE_CONFLICT``, path into the package's files)
    conflicts: list[Problem] = field(default_factory=list)
    #: what the new version no longer has, or the admin removed: left as it is
    kept: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        done = "Upgraded" if self.applied else "Would upgrade"
        lines = [f"{done} {self.package} {self.from_version} → {self.version}", *super().describe()[1:]]
        lines += [f"  conflict at {'.'.join(map(str, c.path))}: {c.message}" for c in self.conflicts]
        lines += [f"  kept: {k}" for k in self.kept]
        return lines


class PreviewDone(Exception):
    """Raised at the end of a previewed install: its transaction rolls back."""


@dataclass(frozen=True)
class Uninstalled:
    package: str
    kept_data: bool
    #: the records it owned, written before anything was removed
    export: Path | None


class PackageManager:
    def __init__(
        self,
        engine: Engine,
        *,
        store: MetadataStore | None = None,
        export_dir: Path | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        self.store = store or MetadataStore(engine)
        self.export_dir = export_dir or Path("var") / "exports"
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.workflows = WorkflowStore(engine)

    # -- reading ------------------------------------------------------------------------
    def installed(self, workspace: str) -> list[InstalledPackage]:
        with self.engine.connect() as conn:
            return installed_in(conn, get_workspace(conn, workspace))

    # -- install ------------------------------------------------------------------------
    def preview(self, workspace: str, package: Package, *, sample_data: bool = True) -> PackageChange:
        """What :meth:`install` would do, every part checked (the install runs, then rolls
        back); nothing changes."""
        return self.install(workspace, package, sample_data=sample_data, dry_run=True)

    def install(
        self,
        workspace: str,
        package: Package,
        *,
        sample_data: bool = True,
        actor: str = "system",
        dry_run: bool = False,
    ) -> PackageChange:
        """Install ``package``, all of it or nothing. Refused when it is installed already,
        when Tessera's version or an installed dependency's does not match, when one of its
        objects exists already, or when anything in it is invalid (paths start with the file)."""
        change = PackageChange(package.name, str(package.manifest["version"]), applied=False)
        with self.engine.connect() as conn:
            installed = {p.name: p for p in installed_in(conn, get_workspace(conn, workspace))}
        if package.name in installed:
            raise TesseraError.single(
                "PACKAGE_INSTALLED",
                f"{package.name} {installed[package.name].version} is installed already: upgrade it instead.",
                (MANIFEST, "name"),
            )
        check_compatibility(package, installed)
        merged = PackageMerge(package)

        def then(conn: Connection, ws: Workspace, state: MetadataState) -> None:
            owned = merged.owned(state)
            self.write_contents(conn, ws, state, package, change, sample_data, actor)
            now = self.clock()
            conn.execute(
                sa.insert(installed_packages).values(
                    workspace_id=ws.id,
                    name=package.name,
                    version=change.version,
                    content=package.as_document(),
                    owned={
                        **owned,
                        "workflows": change.workflows,
                        "roles": change.roles,
                        "views": change.views,
                    },
                    installed_at=now,
                    installed_by=actor,
                    updated_at=now,
                )
            )
            record_admin_event(
                conn, ws.id, "package_installed", package.name, actor, after={"version": change.version}
            )
            if dry_run:
                raise PreviewDone

        apply = functools.partial(
            self.store.apply,
            workspace,
            merged.build,
            actor=f"{actor} (package {package.name})",
            focus=merged.focus,
        )
        result = apply(dry_run=True)  # the plan (and every check of the data model)
        try:
            result = apply(then=then)
        except PreviewDone:
            pass
        change.applied = not dry_run
        change.objects = [o["api_name"] for o in package.objects]
        change.fields = [f"{e['object']}.{f['api_name']}" for e in package.extends for f in e["fields"]]
        change.plan = list(result.plan)
        change.metadata_version = result.version
        return change

    def write_contents(
        self,
        conn: Connection,
        ws: Workspace,
        state: MetadataState,
        package: Package,
        change: PackageChange,
        sample_data: bool,
        actor: str,
    ) -> None:
        """The package's roles, workflows, views and sample data, in the install's transaction."""
        for name, document in package.roles.items():
            with located((name,)):
                change.roles.append(save_role(conn, ws, state, document, actor=actor).name)
        for name, document in package.workflows.items():
            with located((name,)):
                self.workflows.save_draft_in(conn, ws, state, document, actor=actor)
                self.workflows.activate_in(conn, ws, state, document["name"])
                change.workflows.append(document["name"])
        tables = Tables(ws.namespace(conn.dialect.name), state)
        for name, document in package.views.items():
            with located((name,)):
                save_view(conn, ws, tables, document, package.name, self.clock())
                change.views.append(document["name"])
        if sample_data:
            writer = RecordWriter(conn, ws, state, self.clock, None)
            refs: dict[str, str] = {}
            for name, document in package.data.items():
                with located((name,)):
                    created = insert_sample_data(writer, state, document, refs)
                change.records[document["object"]] = change.records.get(document["object"], 0) + created

    # -- upgrade ------------------------------------------------------------------------
    def upgrade(
        self, workspace: str, package: Package, *, actor: str = "system", dry_run: bool = False
    ) -> PackageUpgrade:
        """Move an installed package to a newer version without losing data: what the new
        version changes is applied where the admin left the package's value alone; what the
        admin customised (an option added, a label changed) stays; where both changed the
        same thing differently, the admin's value stays and a conflict is reported. Nothing
        is deleted: objects, fields, workflows, roles and views the new version drops are
        kept (and listed). Sample data is not loaded again."""
        with self.engine.connect() as conn:
            installed = {p.name: p for p in installed_in(conn, get_workspace(conn, workspace))}
        there = installed.get(package.name)
        if there is None:
            raise NotFound.single(
                "UNKNOWN_PACKAGE", f"{package.name} is not installed here.", (MANIFEST, "name")
            )
        if package.version <= Version(there.version):
            raise TesseraError.single(
                "PACKAGE_NOT_NEWER",
                f"{package.name} {there.version} is installed; {package.manifest['version']} is not newer.",
                (MANIFEST, "version"),
            )
        check_compatibility(package, installed)
        dependents = [
            p.name
            for p in installed.values()
            if package.name in p.dependencies and not satisfies(package.version, p.dependencies[package.name])
        ]
        if dependents:
            raise TesseraError.single(
                "PACKAGE_REQUIRED",
                f"{', '.join(sorted(dependents))} need{'s' if len(dependents) == 1 else ''} another "
                f"version of {package.name}: upgrade them first.",
                (MANIFEST, "version"),
            )
        base = package_from_content(there.content)
        change = PackageUpgrade(
            package.name, str(package.manifest["version"]), applied=False, from_version=there.version
        )
        merge = UpgradeMerge(base, package, change)

        def then(conn: Connection, ws: Workspace, state: MetadataState) -> None:
            self.upgrade_contents(conn, ws, state, base, package, change, actor)
            owned = PackageMerge(package).owned(state)
            kept = {k: v for k, v in there.owned.items() if k in ("objects", "fields")}
            conn.execute(
                sa.update(installed_packages)
                .where(installed_packages.c.workspace_id == ws.id, installed_packages.c.name == package.name)
                .values(
                    version=change.version,
                    content=package.as_document(),
                    owned={
                        "objects": sorted({*kept.get("objects", []), *owned["objects"]}),
                        "fields": sorted({*kept.get("fields", []), *owned["fields"]}),
                        "workflows": sorted({*there.owned.get("workflows", []), *change.workflows}),
                        "roles": sorted({*there.owned.get("roles", []), *change.roles}),
                        "views": sorted({*there.owned.get("views", []), *change.views}),
                    },
                    updated_at=self.clock(),
                )
            )
            record_admin_event(
                conn,
                ws.id,
                "package_upgraded",
                package.name,
                actor,
                before={"version": there.version},
                after={"version": change.version, "conflicts": [c.message for c in change.conflicts]},
            )

        result = self.store.apply(
            workspace, merge.build, actor=f"{actor} (package {package.name})", dry_run=dry_run, then=then
        )
        change.applied = not dry_run
        change.plan = list(result.plan)
        change.metadata_version = result.version
        if dry_run:
            with self.engine.connect() as conn:
                ws = get_workspace(conn, workspace)
                self.upgrade_contents(
                    conn, ws, self.store.state(workspace), base, package, change, actor, write=False
                )
        return change

    def upgrade_contents(
        self,
        conn: Connection,
        ws: Workspace,
        state: MetadataState,
        base: Package,
        package: Package,
        change: PackageUpgrade,
        actor: str,
        *,
        write: bool = True,
    ) -> None:
        """Workflows, roles and views: each is replaced by the new version's unless the admin
        changed it since the install (then it stays, and a conflict is reported)."""
        tables = Tables(ws.namespace(conn.dialect.name), state)

        def write_workflow(name: str, document: Any) -> None:
            self.workflows.save_draft_in(conn, ws, state, document, actor=actor)
            self.workflows.activate_in(conn, ws, state, name)

        def current_role(name: str) -> Any:
            role = role_named(conn, ws.id, name)
            return None if role is None else role.as_document()

        def write_role(_name: str, document: Any) -> None:
            save_role(conn, ws, state, document, actor=actor)

        def write_view(name: str, document: Any) -> None:
            conn.execute(
                sa.delete(saved_views).where(saved_views.c.workspace_id == ws.id, saved_views.c.name == name)
            )
            save_view(conn, ws, tables, document, package.name, self.clock())

        def roles_of(p: Package) -> dict[str, Any]:
            return {n: role_from_document(d).as_document() for n, d in by_name(p.roles).items()}

        kinds: list[
            tuple[str, dict[str, Any], dict[str, Any], Callable[[str], Any], Callable[[str, Any], None]]
        ] = [
            (
                "workflows",
                by_name(base.workflows),
                by_name(package.workflows),
                lambda name: active_definition(conn, ws, name),
                write_workflow,
            ),
            ("roles", roles_of(base), roles_of(package), current_role, write_role),
            (
                "views",
                by_name(base.views),
                by_name(package.views),
                lambda n: view_definition(conn, ws, n),
                write_view,
            ),
        ]
        files = {
            kind: {
                doc["name"]: file for file, doc in getattr(package, kind).items() if isinstance(doc, Mapping)
            }
            for kind in ("workflows", "roles", "views")
        }
        for kind, before, after, current_of, write_one in kinds:
            for name, document in after.items():
                ours = current_of(name)
                if document == before.get(name) or ours == document:
                    continue
                if ours is not None and ours != before.get(name):
                    change.conflicts.append(
                        Problem(
                            "UPGRADE_CONFLICT",
                            f"{kind[:-1]} '{name}' was changed here since the install; it stays as it is "
                            "(the new version's is not applied).",
                            (files[kind][name],),
                        )
                    )
                    continue
                if write:
                    with located((files[kind][name],)):
                        write_one(name, document)
                getattr(change, kind).append(name)
            change.kept += [f"{kind[:-1]} {name}" for name in before if name not in after]

    # -- uninstall ----------------------------------------------------------------------
    def uninstall(
        self, workspace: str, name: str, *, keep_data: bool = True, actor: str = "system"
    ) -> Uninstalled:
        """Remove what the package owns: its workflows, roles and views always; its objects
        and fields only with ``keep_data=False`` (else they stay, as the workspace's own).
        Its records are exported to a file first either way. Refused while another
        installed package depends on it."""
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            installed = {p.name: p for p in installed_in(conn, ws)}
            state = self.store.state(workspace)
        package = installed.get(name)
        if package is None:
            raise NotFound.single("UNKNOWN_PACKAGE", f"{name} is not installed here.", ("name",))
        dependents = sorted(p.name for p in installed.values() if name in p.dependencies)
        if dependents:
            raise TesseraError.single(
                "PACKAGE_REQUIRED",
                f"{', '.join(dependents)} depend{'s' if len(dependents) == 1 else ''} on {name}: "
                "uninstall them first.",
                ("name",),
            )
        export = self.export(workspace, package, state)
        object_ids = {uuid.UUID(i) for i in package.owned.get("objects", [])}
        field_ids = {uuid.UUID(i) for i in package.owned.get("fields", [])}

        def without_package(current: MetadataState) -> MetadataState:
            if keep_data:
                return current
            objects = [o for o in current.objects if o.id not in object_ids]
            return MetadataState(
                tuple(o.evolve(fields=tuple(f for f in o.fields if f.id not in field_ids)) for o in objects),
                current.version,
            )

        def then(conn: Connection, ws: Workspace, _state: MetadataState) -> None:
            for role in package.owned.get("roles", []):
                delete_role(conn, ws, role, actor=actor)
            for workflow in package.owned.get("workflows", []):
                remove_workflow(conn, ws, workflow)
            conn.execute(
                sa.delete(saved_views).where(
                    saved_views.c.workspace_id == ws.id, saved_views.c.package == name
                )
            )
            conn.execute(
                sa.delete(installed_packages).where(
                    installed_packages.c.workspace_id == ws.id, installed_packages.c.name == name
                )
            )
            record_admin_event(
                conn,
                ws.id,
                "package_uninstalled",
                name,
                actor,
                before={"version": package.version},
                after={"kept_data": keep_data, "export": str(export)},
            )

        self.store.apply(
            workspace, without_package, actor=f"{actor} (package {name})", confirm_data_loss=True, then=then
        )
        return Uninstalled(name, keep_data, export)

    def export(self, workspace: str, package: InstalledPackage, state: MetadataState) -> Path:
        """Every record of the package's objects, and the values of the fields it added to
        other objects, as YAML (readable by people and by ``tessera`` alike)."""
        object_ids = set(package.owned.get("objects", []))
        field_ids = set(package.owned.get("fields", []))
        document: dict[str, Any] = {
            "format": "tessera.package-export/v1",
            "package": package.name,
            "version": package.version,
            "workspace": workspace,
            "exported_at": self.clock().isoformat(),
            "objects": {},
            "fields": {},
        }
        with self.engine.connect() as conn:
            ws = get_workspace(conn, workspace)
            tables = Tables(ws.namespace(conn.dialect.name), state)
            for obj in state.objects:
                table = tables.of(obj)
                if str(obj.id) in object_ids:
                    rows = conn.execute(sa.select(table).order_by(table.c.created_at, table.c.id)).mappings()
                    document["objects"][obj.api_name] = [export_record(obj, row) for row in rows]
                    continue
                added = [f for f in obj.fields if str(f.id) in field_ids]
                if added:
                    rows = conn.execute(sa.select(table).order_by(table.c.created_at, table.c.id)).mappings()
                    document["fields"][obj.api_name] = [
                        {"id": str(r["id"]), **{f.api_name: export_record(obj, r)[f.api_name] for f in added}}
                        for r in rows
                    ]
        self.export_dir.mkdir(parents=True, exist_ok=True)
        stamp = self.clock().strftime("%Y%m%dT%H%M%S")
        target = self.export_dir / f"{workspace}-{package.name}-{stamp}.yaml"
        target.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
        return target


def export_record(obj: ObjectDef, row: Mapping[str, Any] | sa.RowMapping) -> dict[str, Any]:
    return record_json(obj, record_from_row(obj, row))


# -- the parts ---------------------------------------------------------------------------------
def installed_in(conn: Connection, ws: Workspace) -> list[InstalledPackage]:
    rows = conn.execute(
        sa.select(installed_packages)
        .where(installed_packages.c.workspace_id == ws.id)
        .order_by(installed_packages.c.installed_at, installed_packages.c.name)
    )
    return [
        InstalledPackage(r.name, r.version, r.installed_at, r.installed_by, r.owned, r.content) for r in rows
    ]


def check_compatibility(package: Package, installed: Mapping[str, InstalledPackage]) -> None:
    problems = []
    wanted = package.manifest.get("tessera")
    if wanted and not satisfies(TESSERA_VERSION, wanted):
        problems.append(
            Problem(
                "PACKAGE_INCOMPATIBLE",
                f"{package.name} needs Tessera {wanted}; this is {TESSERA_VERSION}.",
                (MANIFEST, "tessera"),
            )
        )
    for name, spec in package.dependencies.items():
        there = installed.get(name)
        if there is None or not satisfies(there.version, spec):
            now = f"{there.version} is installed" if there else "it is not installed"
            problems.append(
                Problem(
                    "DEPENDENCY_MISSING",
                    f"{package.name} needs {name} {spec}; {now}. Install it first.",
                    (MANIFEST, "dependencies", name),
                )
            )
    if problems:
        raise TesseraError(problems)


class PackageMerge:
    """The workspace's data model with a package's objects and extension fields added;
    problems point into ``objects.yaml``."""

    def __init__(self, package: Package) -> None:
        self.package = package
        #: where each object and field of the package is, for error paths (filled by build)
        self.focus: dict[tuple[object, object | None], ErrorPath] = {}

    def build(self, current: MetadataState) -> MetadataState:
        package = self.package
        problems: list[Problem] = []
        entries = export_document(current)["objects"]
        by_name = {e["api_name"]: e for e in entries}
        #: (merged object index, field index) → path in objects.yaml
        moved: dict[tuple[int, int | None], ErrorPath] = {}
        for i, data in enumerate(package.objects):
            if data["api_name"] in by_name:
                problems.append(
                    Problem(
                        "OBJECT_EXISTS",
                        f"This workspace has an object '{data['api_name']}' already.",
                        (OBJECTS, "objects", i, "api_name"),
                    )
                )
        for e, extension in enumerate(package.extends):
            target = by_name.get(extension["object"])
            if target is None:
                problems.append(
                    Problem(
                        "UNKNOWN_OBJECT",
                        f"There is no object '{extension['object']}' to extend: name one of a dependency.",
                        (OBJECTS, "extends", e, "object"),
                    )
                )
                continue
            index = entries.index(target)
            for k, fld in enumerate(extension["fields"]):
                path: ErrorPath = (OBJECTS, "extends", e, "fields", k)
                if not str(fld["api_name"]).startswith(f"{package.namespace}_"):
                    problems.append(
                        Problem(
                            "FIELD_NOT_NAMESPACED",
                            f"A field added to another package's object starts with the namespace: "
                            f"'{package.namespace}_{fld['api_name']}'.",
                            (*path, "api_name"),
                        )
                    )
                moved[(index, len(target["fields"]))] = path
                target["fields"].append(dict(fld))
        if problems:
            raise TesseraError(problems)
        first = len(entries)
        for i in range(len(package.objects)):
            moved[(first + i, None)] = (OBJECTS, "objects", i)
        try:
            state = document_state({"objects": entries + list(package.objects)}, current)
        except TesseraError as exc:
            raise TesseraError([relocate(p, moved) for p in exc.problems]) from None
        self.focus.clear()
        for (index, field_index), path in moved.items():
            obj = state.objects[index]
            if field_index is None:
                self.focus[(obj.id, None)] = path
                for j, fld in enumerate(obj.fields):
                    self.focus[(obj.id, fld.id)] = (*path, "fields", j)
            else:
                self.focus[(obj.id, obj.fields[field_index].id)] = path
        return state

    def owned(self, state: MetadataState) -> dict[str, list[str]]:
        """The ids of the objects and fields the package brought."""
        objects = [state.object_named(o["api_name"]) for o in self.package.objects]
        fields = []
        for extension in self.package.extends:
            target = state.object_named(extension["object"])
            assert target is not None
            fields += [target.field_named(f["api_name"]) for f in extension["fields"]]
        return {
            "objects": [str(o.id) for o in objects if o is not None],
            "fields": [str(f.id) for f in fields if f is not None],
        }


def relocate(problem: Problem, moved: Mapping[tuple[int, int | None], ErrorPath]) -> Problem:
    """A problem of the merged document, at its place in ``objects.yaml``."""
    path = problem.path
    if len(path) >= 2 and path[0] == "objects" and isinstance(path[1], int):
        if (
            len(path) >= 4
            and path[2] == "fields"
            and isinstance(path[3], int)
            and (path[1], path[3]) in moved
        ):
            return Problem(
                problem.code, problem.message, (*moved[(path[1], path[3])], *path[4:]), problem.details
            )
        if (path[1], None) in moved:
            return Problem(
                problem.code, problem.message, (*moved[(path[1], None)], *path[2:]), problem.details
            )
    return problem


def save_view(
    conn: Connection,
    ws: Workspace,
    tables: Tables,
    document: Mapping[str, Any],
    package: str | None,
    now: dt.datetime,
) -> None:
    state = tables.state
    obj = state.object_named(document["object"])
    if obj is None:
        raise TesseraError.single(
            "UNKNOWN_OBJECT", f"There is no object '{document['object']}'.", ("object",)
        )
    known = {"id", "created_at", "updated_at", "owner", *(f.api_name for f in obj.fields)}
    problems = [
        Problem("UNKNOWN_FIELD", f"'{obj.api_name}' has no field '{name}'.", (key, i, *sub))
        for key, names, sub in (
            ("columns", document.get("columns") or [], ()),
            ("sort", [s["field"] for s in document.get("sort") or []], ("field",)),
        )
        for i, name in enumerate(names)
        if name not in known
    ]
    if problems:
        raise TesseraError(problems)
    compile_filter(document.get("filter"), obj, tables.of(obj), tables)
    conn.execute(
        sa.insert(saved_views).values(
            workspace_id=ws.id,
            name=document["name"],
            object_api_name=obj.api_name,
            definition=dict(document),
            package=package,
            updated_at=now,
        )
    )


def insert_sample_data(
    writer: RecordWriter, state: MetadataState, document: Mapping[str, Any], refs: dict[str, str]
) -> int:
    """Create a data file's records (``{ref: name}`` values point at earlier ``_ref``s)."""
    if state.object_named(document["object"]) is None:
        raise TesseraError.single(
            "UNKNOWN_OBJECT", f"There is no object '{document['object']}'.", ("object",)
        )
    values_list = []
    problems = []
    for i, record in enumerate(document["records"]):
        values = {}
        for key, value in record.items():
            if key == "_ref":
                continue
            if isinstance(value, Mapping) and set(value) == {"ref"}:
                if value["ref"] not in refs:
                    problems.append(
                        Problem(
                            "UNKNOWN_REF",
                            f"No earlier record has _ref '{value['ref']}'.",
                            ("records", i, key),
                        )
                    )
                    continue
                value = refs[value["ref"]]
            values[key] = value
        values_list.append(values)
    if problems:
        raise TesseraError(problems)
    try:
        created = writer.create_many(document["object"], values_list)
    except TesseraError as exc:
        raise TesseraError([p.under(("records",)) for p in exc.problems]) from None
    for record, made in zip(document["records"], created, strict=True):
        if "_ref" in record:
            refs[str(record["_ref"])] = str(made["id"])
    return len(created)


def remove_workflow(conn: Connection, ws: Workspace, name: str) -> None:
    """Stop a package's workflow and delete its versions (its runs stay, for the record)."""
    workflow_id = conn.execute(
        sa.select(workflows.c.id).where(workflows.c.workspace_id == ws.id, workflows.c.name == name)
    ).scalar_one_or_none()
    if workflow_id is None:
        return
    remove_timers(conn, workflow_id)
    conn.execute(
        sa.delete(workflow_versions).where(
            workflow_versions.c.workspace_id == ws.id, workflow_versions.c.workflow_id == workflow_id
        )
    )
    conn.execute(sa.delete(workflows).where(workflows.c.workspace_id == ws.id, workflows.c.id == workflow_id))


# -- upgrades ----------------------------------------------------------------------------------
MISSING: Any = object()


def package_from_content(content: Mapping[str, Any]) -> Package:
    """The package as it was installed (kept with the installation)."""
    return Package(
        dict(content["manifest"]),
        list(content.get("objects", [])),
        list(content.get("extends", [])),
        dict(content.get("workflows", {})),
        dict(content.get("roles", {})),
        dict(content.get("views", {})),
    )


def by_name(documents: Mapping[str, Any]) -> dict[str, Any]:
    return {doc["name"]: doc for doc in documents.values() if isinstance(doc, Mapping)}


def active_definition(conn: Connection, ws: Workspace, name: str) -> Any:
    row = conn.execute(
        sa.select(workflow_versions.c.definition)
        .join(
            workflows,
            sa.and_(
                workflows.c.workspace_id == workflow_versions.c.workspace_id,
                workflows.c.id == workflow_versions.c.workflow_id,
            ),
        )
        .where(
            workflows.c.workspace_id == ws.id,
            workflows.c.name == name,
            workflow_versions.c.status == "active",
        )
    ).first()
    return None if row is None else row[0]


def view_definition(conn: Connection, ws: Workspace, name: str) -> Any:
    return conn.execute(
        sa.select(saved_views.c.definition).where(
            saved_views.c.workspace_id == ws.id, saved_views.c.name == name
        )
    ).scalar_one_or_none()


def without_ids(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: without_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


#: lists merged item by item, matched by this key
LIST_KEYS = {"fields": "api_name", "validation_rules": "name", "choices": "value"}


class UpgradeMerge:
    """A three-way merge of the data model: the installed version (base), the workspace
    as the admin has it now (ours) and the new version (theirs)."""

    def __init__(self, base: Package, new: Package, change: PackageUpgrade) -> None:
        self.base, self.new, self.change = base, new, change

    def normalized(
        self, package: Package, current: MetadataState
    ) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
        """The package's objects and extension fields as the model would hold them (every
        key written out, options normalised), without ids."""
        names = {o["api_name"] for o in package.objects}
        added = {(x["object"], f["api_name"]) for x in package.extends for f in x["fields"]}
        entries = [e for e in export_document(current)["objects"] if e["api_name"] not in names]
        by = {e["api_name"]: e for e in entries}
        for entry in entries:
            entry["fields"] = [f for f in entry["fields"] if (entry["api_name"], f["api_name"]) not in added]
        for extension in package.extends:
            if extension["object"] in by:
                by[extension["object"]]["fields"] += [dict(f) for f in extension["fields"]]
        # Built on a model without them, so that what the package leaves unsaid takes the
        # defaults, not the values the workspace has now.
        bare = MetadataState(
            tuple(
                o.evolve(fields=tuple(f for f in o.fields if (o.api_name, f.api_name) not in added))
                for o in current.objects
                if o.api_name not in names
            ),
            current.version,
        )
        state = document_state({"objects": [*entries, *(dict(o) for o in package.objects)]}, bare)
        exported = without_ids(export_document(state)["objects"])
        objects = {e["api_name"]: e for e in exported if e["api_name"] in names}
        fields = {
            (o["api_name"], f["api_name"]): f
            for o in exported
            for f in o["fields"]
            if (o["api_name"], f["api_name"]) in added
        }
        return objects, fields

    def build(self, current: MetadataState) -> MetadataState:
        self.change.conflicts.clear()
        self.change.kept.clear()
        base_objects, base_fields = self.normalized(self.base, current)
        new_objects, new_fields = self.normalized(self.new, current)
        entries = without_ids(export_document(current)["objects"])
        ours = {e["api_name"]: e for e in entries}
        object_files: dict[str, ErrorPath] = {
            o["api_name"]: ("objects.yaml", "objects", i) for i, o in enumerate(self.new.objects)
        }
        for name, theirs in new_objects.items():
            at = object_files[name]
            if name not in ours:
                if name in base_objects:
                    self.change.kept.append(f"object {name} (removed here: not added back)")
                else:
                    entries.append(theirs)
                    self.change.objects.append(name)
                continue
            if name not in base_objects:
                if ours[name] != theirs:
                    self.conflict(at, f"The new version adds an object '{name}'; this workspace has its own.")
                continue
            merged = self.merge(base_objects[name], ours[name], theirs, at)
            if merged != ours[name]:
                self.change.objects.append(name)
            entries[entries.index(ours[name])] = merged
        self.change.kept += [f"object {n}" for n in base_objects if n not in new_objects]
        extension_files: dict[tuple[str, str], ErrorPath] = {
            (x["object"], f["api_name"]): ("objects.yaml", "extends", i, "fields", j)
            for i, x in enumerate(self.new.extends)
            for j, f in enumerate(x["fields"])
        }
        for (object_name, field_name), theirs in new_fields.items():
            target = ours.get(object_name)
            if target is None:
                continue
            fields = {f["api_name"]: f for f in target["fields"]}
            at = extension_files[(object_name, field_name)]
            base = base_fields.get((object_name, field_name), MISSING)
            mine = fields.get(field_name, MISSING)
            merged = self.merge(base, mine, theirs, at) if base is not MISSING else theirs
            if mine is MISSING and base is not MISSING:
                self.change.kept.append(f"field {object_name}.{field_name} (removed here: not added back)")
                continue
            if mine is not MISSING and base is MISSING and mine != theirs:
                self.conflict(
                    at, f"The new version adds '{object_name}.{field_name}'; this workspace has its own."
                )
                continue
            if merged != mine:
                self.change.fields.append(f"{object_name}.{field_name}")
            index = next((i for i, f in enumerate(target["fields"]) if f["api_name"] == field_name), None)
            if index is None:
                target["fields"].append(merged)
            else:
                target["fields"][index] = merged
        return document_state({"objects": entries}, current)

    def conflict(self, path: ErrorPath, message: str) -> None:
        self.change.conflicts.append(Problem("UPGRADE_CONFLICT", message, path))

    def merge(self, base: Any, ours: Any, theirs: Any, path: ErrorPath) -> Any:
        if theirs == base or ours == theirs:
            return ours
        if ours == base:
            return theirs
        if isinstance(base, Mapping) and isinstance(ours, Mapping) and isinstance(theirs, Mapping):
            merged = {}
            for key in [*ours, *(k for k in theirs if k not in ours)]:
                value = self.merge_item(
                    base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING), (*path, key)
                )
                if value is not MISSING:
                    merged[key] = value
            return merged
        key = LIST_KEYS.get(str(path[-1])) if path else None
        if key and all(isinstance(v, list) for v in (base, ours, theirs)):
            return self.merge_list(base, ours, theirs, key, path)
        self.conflict(
            path,
            f"Changed here and in the new version: kept as it is here ({ours!r}; "
            f"the new version has {theirs!r}).",
        )
        return ours

    def merge_item(self, base: Any, ours: Any, theirs: Any, path: ErrorPath) -> Any:
        if theirs is MISSING:
            return ours  # the new version dropped it: kept
        if ours is MISSING:
            return MISSING if base is not MISSING else theirs  # removed here / new in the package
        if base is MISSING:
            if ours != theirs:
                self.conflict(
                    path, "Added here and in the new version with different values: kept as it is here."
                )
            return ours
        return self.merge(base, ours, theirs, path)

    def merge_list(
        self, base: list[Any], ours: list[Any], theirs: list[Any], key: str, path: ErrorPath
    ) -> list[Any]:
        def keyed(items: list[Any]) -> dict[Any, Any]:
            return {item.get(key): item for item in items if isinstance(item, Mapping)}

        b, o, t = keyed(base), keyed(ours), keyed(theirs)
        merged = []
        for name in [*o, *(n for n in t if n not in o)]:
            value = self.merge_item(
                b.get(name, MISSING), o.get(name, MISSING), t.get(name, MISSING), (*path, name)
            )
            if value is not MISSING:
                merged.append(value)
        return merged


# -- a workspace's own work as a package ---------------------------------------------------------
@dataclass
class ExportedPackage:
    folder: Path
    #: what the package cannot ship as it is (fix these before publishing it)
    warnings: list[str] = field(default_factory=list)


def export_as_package(
    engine: Engine, workspace: str, folder: Path, *, name: str, namespace: str, version: str = "1.0.0"
) -> ExportedPackage:
    """Write the workspace's own customisations — objects no package owns, fields added to
    packages' objects, workflows, custom roles and saved views that came with no package —
    as a package folder depending on the installed packages it builds on."""
    with engine.connect() as conn:
        ws = get_workspace(conn, workspace)
        packages = installed_in(conn, ws)
        state = MetadataStore(engine).state(workspace)
        owned_objects = {i for p in packages for i in p.owned.get("objects", [])}
        owned_fields = {i for p in packages for i in p.owned.get("fields", [])}
        owned_names = {
            kind: {n for p in packages for n in p.owned.get(kind, [])}
            for kind in ("workflows", "roles", "views")
        }
        package_fields = {
            (o["api_name"], f["api_name"])
            for p in packages
            for o in p.content.get("objects", [])
            for f in o.get("fields", [])
        }
        object_package = {oid: p for p in packages for oid in p.owned.get("objects", [])}
        exported = without_ids(export_document(state)["objects"])
        objects, extends, needs, warnings = [], [], set(), []
        for obj, entry in zip(state.objects, exported, strict=True):
            if str(obj.id) not in owned_objects:
                objects.append(entry)
                continue
            needs.add(object_package[str(obj.id)].name)
            added = [
                f
                for f, fld in zip(entry["fields"], obj.fields, strict=True)
                if (obj.api_name, fld.api_name) not in package_fields and str(fld.id) not in owned_fields
            ]
            if added:
                extends.append({"object": obj.api_name, "fields": added})
                warnings += [
                    f"field {obj.api_name}.{f['api_name']} extends a package's object: rename it "
                    f"{namespace}_{f['api_name']} before shipping"
                    for f in added
                    if not f["api_name"].startswith(f"{namespace}_")
                ]
        for entry in objects:
            for fld in entry["fields"]:
                target = fld.get("options", {}).get("target_object")
                for p in packages:
                    if target in {o["api_name"] for o in p.content.get("objects", [])}:
                        needs.add(p.name)
        workflow_documents = [
            dict(definition)
            for (workflow_name,) in conn.execute(
                sa.select(workflows.c.name).where(workflows.c.workspace_id == ws.id)
            )
            if workflow_name not in owned_names["workflows"]
            and (definition := active_definition(conn, ws, workflow_name)) is not None
        ]
        role_documents = [
            r.as_document()
            for r in RoleStore(engine).roles(workspace)
            if not r.builtin and r.name not in owned_names["roles"]
        ]
        view_documents = [
            dict(r.definition)
            for r in conn.execute(
                sa.select(saved_views.c.definition).where(
                    saved_views.c.workspace_id == ws.id, saved_views.c.package.is_(None)
                )
            )
        ]
    versions = {p.name: Version(p.version) for p in packages}
    manifest = {
        "name": name,
        "version": version,
        "namespace": namespace,
        "label": name.replace("-", " ").title(),
        "description": f"Exported from the workspace '{workspace}'.",
        "tessera": f">={Version(TESSERA_VERSION).base_version}",
        "dependencies": {n: f">={versions[n]},<{versions[n].major + 1}" for n in sorted(needs)},
    }
    folder.mkdir(parents=True, exist_ok=True)

    def write(relative: str, document: Any) -> None:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))

    write(MANIFEST, manifest)
    write(OBJECTS, {"objects": objects, "extends": extends})
    for document in workflow_documents:
        if document.get("settings", {}).pop("run_as", None):
            warnings.append(
                f"workflow {document['name']}: run_as names a user of this workspace; it was left out"
            )
        write(f"workflows/{document['name']}.yaml", document)
    for document in role_documents:
        write(f"roles/{document['name']}.yaml", document)
    for document in view_documents:
        write(f"views/{document['name']}.yaml", document)
    return ExportedPackage(folder, warnings)


# -- finding and checking packages ---------------------------------------------------------------
#: the packages that come with Tessera (a source checkout or an editable install)
BUILTIN_PACKAGES = Path(__file__).resolve().parent.parent / "templates"


def find_package(name: str, search: list[Path]) -> Package | None:
    """The package named ``name`` in one of the ``search`` folders (a sub-folder holding
    its manifest), or ``None``."""
    for folder in search:
        if not folder.is_dir():
            continue
        for candidate in sorted(p for p in folder.iterdir() if (p / MANIFEST).is_file()):
            manifest = yaml.safe_load((candidate / MANIFEST).read_text()) or {}
            if isinstance(manifest, Mapping) and manifest.get("name") == name:
                return read_package(candidate)
    return None


def open_package(source: str, search: list[Path] | None = None) -> Package:
    """A package from a folder, a ``.zip``, or the name of a built-in package."""
    path = Path(source)
    if path.exists():
        return read_package(path)
    found = find_package(source, search if search is not None else [BUILTIN_PACKAGES])
    if found is None:
        raise TesseraError.single(
            "UNKNOWN_PACKAGE",
            f"{source} is neither a package folder, an archive, nor a built-in package.",
            (),
        )
    return found


def with_dependencies(package: Package, search: list[Path]) -> list[Package]:
    """The packages to install for ``package``, dependencies first."""
    ordered: list[Package] = []

    def visit(current: Package, trail: tuple[str, ...]) -> None:
        for name, spec in current.dependencies.items():
            if name in trail:
                raise TesseraError.single(
                    "INVALID_PACKAGE",
                    f"Dependency cycle: {' → '.join((*trail, name))}.",
                    (MANIFEST, "dependencies"),
                )
            if any(p.name == name for p in ordered):
                continue
            found = find_package(name, search)
            if found is None or not satisfies(found.version, spec):
                raise TesseraError.single(
                    "DEPENDENCY_MISSING",
                    f"{current.name} needs {name} {spec}; none was found in {', '.join(map(str, search))}.",
                    (MANIFEST, "dependencies", name),
                )
            visit(found, (*trail, name))
            ordered.append(found)

    visit(package, (package.name,))
    return [*ordered, package]


def check_package(package: Package, search: list[Path]) -> PackageChange:
    """Install ``package`` (after its dependencies, found in ``search``) into a throwaway
    database: every part is checked as a real install checks it."""
    from tessera.platform import migrate
    from tessera.platform.database import create_engine
    from tessera.platform.workspaces import WorkspaceService

    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'check.db'}")
        try:
            migrate.upgrade(engine)
            WorkspaceService(engine).create("check")
            manager = PackageManager(engine, export_dir=Path(scratch))
            *dependencies, _ = with_dependencies(package, search)
            for dependency in dependencies:
                manager.install("check", dependency, sample_data=False)
            return manager.install("check", package)
        finally:
            engine.dispose()


@dataclass(frozen=True)
class SavedView:
    name: str
    object: str
    definition: Mapping[str, Any]
    package: str | None


def saved_views_of(engine: Engine, workspace: str, object_name: str | None = None) -> list[SavedView]:
    with engine.connect() as conn:
        ws = get_workspace(conn, workspace)
        query = sa.select(saved_views).where(saved_views.c.workspace_id == ws.id).order_by(saved_views.c.name)
        if object_name is not None:
            query = query.where(saved_views.c.object_api_name == object_name)
        return [SavedView(r.name, r.object_api_name, r.definition, r.package) for r in conn.execute(query)]
