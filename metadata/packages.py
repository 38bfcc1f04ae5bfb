"""Template packages: a folder (or a ``.zip`` of it) that partners ship and workspaces
install — objects, fields extending other packages' objects, validation rules, workflows,
roles, saved views and sample data.

::

    package.yaml          the manifest (name, version, namespace, dependencies, …)
    objects.yaml          a metadata document (``objects:``) plus ``extends:``
    workflows/*.yaml      workflow documents
    roles/*.yaml          role documents
    views/*.yaml          saved views
    data/*.yaml           sample data, applied in file-name order

This module reads and checks a package; :mod:`tessera.platform.packages` installs,
upgrades and uninstalls it. Problems point at the file and the spot inside it:
``["objects.yaml", "objects", 2, "fields", 0, "type"]``.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from referencing import Registry, Resource

from tessera.metadata.document import SCHEMA_ID as DOCUMENT_SCHEMA_ID
from tessera.metadata.document import document_problems, document_schema
from tessera.platform.errors import Problem, TesseraError

MANIFEST = "package.yaml"
OBJECTS = "objects.yaml"
FOLDERS = ("workflows", "roles", "views", "data")
SCHEMA_PATH = Path(__file__).parent / "schemas" / "package.schema.json"
SCHEMA_ID = "https://tessera.dev/schemas/package.schema.json"
NAME_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
NAMESPACE_PATTERN = r"^[a-z][a-z0-9]{1,19}$"
#: the largest archive accepted (a package is configuration and sample data)
MAX_ARCHIVE_BYTES = 50 * 1024 * 1024


def package_schema() -> dict[str, Any]:
    """The JSON Schema of a package's manifest, ``objects.yaml`` extensions, saved views and
    sample data files (objects, workflows and roles have their own published schemas)."""
    field_ref = {"$ref": "metadata-document.schema.json#/$defs/field"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Tessera package",
        "description": "The files of a template package, by kind.",
        "$defs": {
            "manifest": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "version", "namespace"],
                "properties": {
                    "name": {"type": "string", "pattern": NAME_PATTERN, "description": "kebab-case"},
                    "version": {"type": "string", "description": "A semantic version: 1.4.0"},
                    "namespace": {
                        "type": "string",
                        "pattern": NAMESPACE_PATTERN,
                        "description": "The prefix (namespace_) of every field the package adds "
                        "to another package's objects, so two packages never collide.",
                    },
                    "label": {"type": "string"},
                    "description": {"type": "string"},
                    "tessera": {
                        "type": "string",
                        "description": "The Tessera versions it works with (a PEP 440 specifier: >=0.1,<2)",
                    },
                    "dependencies": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "Other packages it needs: name → version range (>=1.0,<2)",
                    },
                },
            },
            "extension": {
                "type": "object",
                "additionalProperties": False,
                "required": ["object", "fields"],
                "description": "Fields added to an object of a package this one depends on.",
                "properties": {
                    "object": {"type": "string"},
                    "fields": {"type": "array", "items": field_ref},
                },
            },
            "view": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "object"],
                "properties": {
                    "name": {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,62}$"},
                    "object": {"type": "string"},
                    "label": {"type": "string"},
                    "filter": {"type": "object", "description": "The filter language (filter.schema.json)."},
                    "sort": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["field"],
                            "properties": {
                                "field": {"type": "string"},
                                "direction": {"enum": ["asc", "desc"], "default": "asc"},
                            },
                        },
                    },
                    "columns": {"type": "array", "items": {"type": "string"}},
                },
            },
            "data": {
                "type": "object",
                "additionalProperties": False,
                "required": ["object", "records"],
                "properties": {
                    "object": {"type": "string"},
                    "records": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "description": "Values as the record API takes them; _ref names the record "
                            "for later files; a lookup written {ref: name} points at it.",
                            "properties": {"_ref": {"type": "string"}},
                        },
                    },
                },
            },
        },
    }


@cache
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    """The validator of one kind of package file (fields resolve to the metadata
    document's published schema)."""
    schema = package_schema()
    fields = document_schema(with_options=False)
    registry: Registry[Any] = Registry().with_resources(
        [(DOCUMENT_SCHEMA_ID, Resource.from_contents(fields)), (SCHEMA_ID, Resource.from_contents(schema))]
    )
    return jsonschema.Draft202012Validator({**schema, "$ref": f"#/$defs/{kind}"}, registry=registry)


@dataclass
class Package:
    """The files of one package, parsed (not yet checked against a workspace)."""

    manifest: dict[str, Any]
    #: the objects it creates (metadata document entries)
    objects: list[dict[str, Any]] = field(default_factory=list)
    #: fields it adds to other packages' objects
    extends: list[dict[str, Any]] = field(default_factory=list)
    #: file name → document
    workflows: dict[str, Any] = field(default_factory=dict)
    roles: dict[str, Any] = field(default_factory=dict)
    views: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def version(self) -> Version:
        return Version(str(self.manifest["version"]))

    @property
    def namespace(self) -> str:
        return str(self.manifest["namespace"])

    @property
    def dependencies(self) -> dict[str, str]:
        return dict(self.manifest.get("dependencies") or {})

    def as_document(self) -> dict[str, Any]:
        """Everything, as kept with an installation (the base of the next upgrade)."""
        return {
            "manifest": self.manifest,
            "objects": self.objects,
            "extends": self.extends,
            "workflows": self.workflows,
            "roles": self.roles,
            "views": self.views,
        }


def read_package(source: Path | str) -> Package:
    """The package in a folder or a ``.zip``; raises :class:`TesseraError` listing what
    cannot be read or is misshapen (paths start with the file name)."""
    files = _package_files(Path(source))
    problems: list[Problem] = []

    def parse(name: str) -> Any:
        try:
            return yaml.safe_load(files[name])
        except yaml.YAMLError as exc:
            problems.append(Problem("INVALID_PACKAGE", f"Not valid YAML or JSON: {exc}", (name,)))
            return None

    if MANIFEST not in files:
        raise TesseraError.single("INVALID_PACKAGE", f"A package has a {MANIFEST} at its top.", (MANIFEST,))
    manifest = parse(MANIFEST)
    problems += _shape_problems("manifest", manifest, (MANIFEST,))
    if isinstance(manifest, Mapping):
        problems += _manifest_value_problems(manifest)
    package = Package(dict(manifest) if isinstance(manifest, Mapping) else {})
    if OBJECTS in files:
        document = parse(OBJECTS)
        if document is not None and not isinstance(document, Mapping):
            problems.append(
                Problem("INVALID_PACKAGE", "objects.yaml holds objects: and extends:.", (OBJECTS,))
            )
        elif document is not None:
            unknown = sorted(set(document) - {"objects", "extends"})
            problems += [
                Problem("INVALID_PACKAGE", f"objects.yaml has no '{k}' (objects, extends).", (OBJECTS, k))
                for k in unknown
            ]
            objects_doc = {"objects": document.get("objects") or []}
            problems += [p.under((OBJECTS,)) for p in document_problems(objects_doc)]
            problems += _shape_problems(
                "extension", document.get("extends") or [], (OBJECTS, "extends"), many=True
            )
            package.objects = list(objects_doc["objects"])
            package.extends = list(document.get("extends") or [])
    for folder in FOLDERS:
        for name in sorted(n for n in files if PurePosixPath(n).parent.as_posix() == folder):
            if PurePosixPath(name).suffix not in (".yaml", ".yml", ".json"):
                continue
            document = parse(name)
            if folder == "views":
                problems += _shape_problems("view", document, (name,))
            elif folder == "data":
                problems += _shape_problems("data", document, (name,))
            getattr(package, folder)[name] = document
    if problems:
        raise TesseraError(problems)
    return package


def _package_files(source: Path) -> dict[str, str]:
    """Relative POSIX path → text of every file of the package."""
    try:
        return _read_files(source)
    except (UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
        raise TesseraError.single(
            "INVALID_PACKAGE", f"{source} cannot be read as a package (text files in UTF-8): {exc}", ()
        ) from None


def _read_files(source: Path) -> dict[str, str]:
    if source.is_dir():
        return {
            path.relative_to(source).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted(source.rglob("*"))
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(source).parts)
        }
    if source.is_file() and zipfile.is_zipfile(source):
        if source.stat().st_size > MAX_ARCHIVE_BYTES:
            raise TesseraError.single("INVALID_PACKAGE", "The archive is larger than 50 MB.", (str(source),))
        with zipfile.ZipFile(source) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            # A built archive holds one top folder; a hand-made one may hold the files directly.
            tops = {n.split("/", 1)[0] for n in names}
            prefix = f"{tops.pop()}/" if len(tops) == 1 and all("/" in n for n in names) else ""
            return {n[len(prefix) :]: archive.read(n).decode("utf-8") for n in names if n.startswith(prefix)}
    raise TesseraError.single(
        "INVALID_PACKAGE", f"{source} is neither a package folder nor a .zip of one.", (str(source),)
    )


def _shape_problems(kind: str, value: Any, path: tuple[Any, ...], *, many: bool = False) -> list[Problem]:
    validator = _validator(kind)
    items = list(enumerate(value)) if many and isinstance(value, list) else [(None, value)]
    if many and not isinstance(value, list):
        return [Problem("INVALID_PACKAGE", "A list is expected here.", path)]
    problems = []
    for index, item in items:
        at = path if index is None else (*path, index)
        for error in sorted(validator.iter_errors(item), key=lambda e: list(map(str, e.absolute_path))):
            problems.append(Problem("INVALID_PACKAGE", error.message, (*at, *error.absolute_path)))
    return problems


def _manifest_value_problems(manifest: Mapping[str, Any]) -> list[Problem]:
    problems = []
    try:
        Version(str(manifest.get("version")))
    except InvalidVersion:
        problems.append(
            Problem("INVALID_PACKAGE", "version is a semantic version such as 1.2.0.", (MANIFEST, "version"))
        )
    ranges: list[tuple[tuple[str, ...], Any]] = (
        [(("tessera",), manifest["tessera"])] if "tessera" in manifest else []
    )
    ranges += [(("dependencies", name), spec) for name, spec in (manifest.get("dependencies") or {}).items()]
    for where, spec in ranges:
        try:
            SpecifierSet(str(spec))
        except InvalidSpecifier:
            path = (MANIFEST, *where)
            problems.append(
                Problem("INVALID_PACKAGE", f"'{spec}' is not a version range such as >=1.0,<2.", path)
            )
    return problems


def satisfies(version: str | Version, spec: str) -> bool:
    return Version(str(version)) in SpecifierSet(spec, prereleases=True)


def build_archive(folder: Path, out_dir: Path | None = None) -> Path:
    """``<name>-<version>.zip`` of a checked package folder, in ``out_dir`` (default: the
    folder's parent). The archive's entries are sorted and dated alike: building twice
    gives the same bytes."""
    package = read_package(folder)
    target = (out_dir or folder.parent) / f"{package.name}-{package.manifest['version']}.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(_package_files(folder).items()):
            info = zipfile.ZipInfo(f"{package.name}/{name}", date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    target.write_bytes(buffer.getvalue())
    return target


SCAFFOLD_MANIFEST = """\
name: {name}
version: 0.1.0
namespace: {namespace}
label: {label}
description: What this package gives a workspace.
tessera: ">=0.1"
dependencies: {{}}
"""

SCAFFOLD_OBJECTS = """\
# The objects this package creates (the metadata document format: docs/metadata-changes.md),
# and `extends:` for fields it adds to objects of the packages it depends on.
objects:
  - api_name: {namespace}_item
    fields:
      - {{api_name: name, type: text, required: true}}
extends: []
"""


def scaffold(name: str, parent: Path) -> Path:
    """A new package folder ``parent/name`` with a manifest, an object and empty folders."""
    if not re.match(NAME_PATTERN, name):
        raise TesseraError.single("INVALID_PACKAGE", "A package name is kebab-case: real-estate.", ("name",))
    folder = parent / name
    if folder.exists():
        raise TesseraError.single("INVALID_PACKAGE", f"{folder} already exists.", ("name",))
    namespace = re.sub(r"[^a-z0-9]", "", name)[:20]
    folder.mkdir(parents=True)
    label = name.replace("-", " ").title()
    (folder / MANIFEST).write_text(SCAFFOLD_MANIFEST.format(name=name, namespace=namespace, label=label))
    (folder / OBJECTS).write_text(SCAFFOLD_OBJECTS.format(namespace=namespace))
    for sub in FOLDERS:
        (folder / sub).mkdir()
        (folder / sub / ".keep").write_text("")
    return folder
