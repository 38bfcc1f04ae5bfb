"""Published artifacts, committed so that a breaking change shows in review:

- ``schema/metadata.graphql``: the SDL of the metadata API;
- ``schema/example-crm.graphql``: the SDL of the record API for the example CRM model
  (``docs/examples/crm.yaml``), so a change to the generated schema shows in review;
- ``schema/standard-crm.graphql``: the SDL of the record API of a workspace with the
  standard CRM package (``templates/standard-crm``) installed;
- ``metadata/schemas/metadata-document.schema.json``: the JSON Schema of metadata documents;
- ``metadata/schemas/filter.schema.json``: the JSON Schema of the filter language;
- ``workflows/schemas/workflow.schema.json``: the JSON Schema of workflow documents;
- ``platform/schemas/role.schema.json``: the JSON Schema of role documents;
- ``metadata/schemas/package.schema.json``: the JSON Schema of a package's manifest,
  extensions, saved views and sample data.

``python -m tessera.platform.artifacts write`` (``make schemas``) regenerates them;
``check`` exits non-zero when a committed file differs from the code (a test runs it).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from graphql import print_schema

from tessera.metadata.document import SCHEMA_PATH, document_schema, document_state, load_document
from tessera.metadata.filters import GENERIC_FILTER_SCHEMA
from tessera.metadata.model import MetadataState
from tessera.metadata.packages import SCHEMA_PATH as PACKAGE_SCHEMA_PATH
from tessera.metadata.packages import package_schema, read_package
from tessera.metadata.storage import Namespace
from tessera.metadata.validation import check_state
from tessera.platform.packages import PackageMerge
from tessera.platform.roles import SCHEMA_PATH as ROLE_SCHEMA_PATH
from tessera.platform.roles import role_schema
from tessera.schema.metadata_api import build_metadata_schema
from tessera.schema.record_api import build_record_schema
from tessera.workflows.definitions import SCHEMA_PATH as WORKFLOW_SCHEMA_PATH
from tessera.workflows.definitions import workflow_schema

ROOT = Path(__file__).parent.parent
SDL_PATH = ROOT / "schema" / "metadata.graphql"
EXAMPLE_MODEL_PATH = ROOT / "docs" / "examples" / "crm.yaml"
EXAMPLE_SDL_PATH = ROOT / "schema" / "example-crm.graphql"
STANDARD_CRM_PATH = ROOT / "templates" / "standard-crm"
STANDARD_SDL_PATH = ROOT / "schema" / "standard-crm.graphql"
FILTER_SCHEMA_PATH = SCHEMA_PATH.parent / "filter.schema.json"


def metadata_sdl() -> str:
    return build_metadata_schema().as_str() + "\n"


def document_schema_json() -> str:
    return json.dumps(document_schema(), indent=2, ensure_ascii=False) + "\n"


def example_record_sdl() -> str:
    state = document_state(load_document(EXAMPLE_MODEL_PATH.read_text()), MetadataState((), 0))
    check_state(state)
    return print_schema(build_record_schema("example", state, Namespace("example", "sqlite")).schema) + "\n"


def standard_crm_sdl() -> str:
    package = read_package(STANDARD_CRM_PATH)
    state = PackageMerge(package).build(MetadataState((), 0))
    check_state(state)
    return print_schema(build_record_schema("standard", state, Namespace("standard", "sqlite")).schema) + "\n"


def filter_schema_json() -> str:
    return json.dumps(GENERIC_FILTER_SCHEMA, indent=2, ensure_ascii=False) + "\n"


def workflow_schema_json() -> str:
    return json.dumps(workflow_schema(), indent=2, ensure_ascii=False) + "\n"


def role_schema_json() -> str:
    return json.dumps(role_schema(), indent=2, ensure_ascii=False) + "\n"


def package_schema_json() -> str:
    return json.dumps(package_schema(), indent=2, ensure_ascii=False) + "\n"


ARTIFACTS: dict[Path, Callable[[], str]] = {
    SDL_PATH: metadata_sdl,
    SCHEMA_PATH: document_schema_json,
    FILTER_SCHEMA_PATH: filter_schema_json,
    WORKFLOW_SCHEMA_PATH: workflow_schema_json,
    ROLE_SCHEMA_PATH: role_schema_json,
    PACKAGE_SCHEMA_PATH: package_schema_json,
}
if EXAMPLE_MODEL_PATH.exists():  # a source checkout (the docs are not in the wheel)
    ARTIFACTS[EXAMPLE_SDL_PATH] = example_record_sdl
if STANDARD_CRM_PATH.exists():
    ARTIFACTS[STANDARD_SDL_PATH] = standard_crm_sdl


def stale_artifacts() -> list[Path]:
    """Committed artifacts that differ from what the code generates."""
    return [path for path, render in ARTIFACTS.items() if not path.exists() or path.read_text() != render()]


def write_artifacts() -> None:
    for path, render in ARTIFACTS.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render())


def main(argv: list[str]) -> int:
    if argv[1:] == ["write"]:
        write_artifacts()
        return 0
    if argv[1:] == ["check"]:
        stale = stale_artifacts()
        for path in stale:
            print(f"{path} is out of date: run `make schemas` and commit the result", file=sys.stderr)
        return 1 if stale else 0
    print("usage: python -m tessera.platform.artifacts write|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
