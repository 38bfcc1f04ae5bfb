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
import importlib.metadata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection, Engine

from tessera.metadata.document import document_state, export_document
from tessera.metadata.model import MetadataState, ObjectDef
from tessera.metadata.packages import MANIFEST, OBJECTS, Package, satisfies
from tessera.metadata.storage import Tables
from tessera.metadata.store import MetadataStore
from tessera.platform.audit import record_admin_event
from tessera.platform.errors import NotFound, Problem, TesseraError
from tessera.platform.errors import Path as ErrorPath
from tessera.platform.filtering import compile_filter
from tessera.platform.records import RecordWriter, record_from_row, record_json
from tessera.platform.roles import delete_role, save_role
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
        """What :meth:`install` would do; nothing changes."""
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

        result = self.store.apply(
            workspace,
            merged.build,
            actor=f"{actor} (package {package.name})",
            dry_run=dry_run,
            focus=merged.focus,
            then=then,
        )
        change.applied = not dry_run
        change.objects = [o["api_name"] for o in package.objects]
        change.fields = [f"{e['object']}.{f['api_name']}" for e in package.extends for f in e["fields"]]
        change.plan = list(result.plan)
        change.metadata_version = result.version
        if dry_run:
            self.describe_contents(package, change, sample_data)
        return change

    def describe_contents(self, package: Package, change: PackageChange, sample_data: bool) -> None:
        change.workflows = [doc["name"] for doc in package.workflows.values()]
        change.roles = [doc["name"] for doc in package.roles.values()]
        change.views = [doc["name"] for doc in package.views.values()]
        if sample_data:
            for doc in package.data.values():
                change.records[doc["object"]] = change.records.get(doc["object"], 0) + len(doc["records"])

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
            with located(name):
                change.roles.append(save_role(conn, ws, state, document, actor=actor).name)
        for name, document in package.workflows.items():
            with located(name):
                self.workflows.save_draft_in(conn, ws, state, document, actor=actor)
                self.workflows.activate_in(conn, ws, state, document["name"])
                change.workflows.append(document["name"])
        tables = Tables(ws.namespace(conn.dialect.name), state)
        for name, document in package.views.items():
            with located(name):
                save_view(conn, ws, tables, document, package.name, self.clock())
                change.views.append(document["name"])
        if sample_data:
            writer = RecordWriter(conn, ws, state, self.clock, None)
            refs: dict[str, str] = {}
            for name, document in package.data.items():
                with located(name):
                    created = insert_sample_data(writer, state, document, refs)
                change.records[document["object"]] = change.records.get(document["object"], 0) + created

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


class located:
    """Prefix the problems raised inside with a package file's name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, _tb: Any) -> None:
        if isinstance(exc, TesseraError):
            exc.problems = [p.under((self.name,)) for p in exc.problems]


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
