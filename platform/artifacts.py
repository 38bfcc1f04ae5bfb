"""Published artifacts, committed so that a breaking change shows in review:

- ``schema/metadata.graphql``: the SDL of the metadata API;
- ``metadata/schemas/metadata-document.schema.json``: the JSON Schema of metadata documents.

``python -m tessera.platform.artifacts write`` (``make schemas``) regenerates them;
``check`` exits non-zero when a committed file differs from the code (a test runs it).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from tessera.metadata.document import SCHEMA_PATH, document_schema
from tessera.schema.metadata_api import build_metadata_schema

SDL_PATH = Path(__file__).parent.parent / "schema" / "metadata.graphql"


def metadata_sdl() -> str:
    return build_metadata_schema().as_str() + "\n"


def document_schema_json() -> str:
    return json.dumps(document_schema(), indent=2, ensure_ascii=False) + "\n"


ARTIFACTS: dict[Path, Callable[[], str]] = {
    SDL_PATH: metadata_sdl,
    SCHEMA_PATH: document_schema_json,
}


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
