from __future__ import annotations

import json

import jsonschema

from tessera.platform import artifacts


def test_committed_artifacts_match_the_code():
    stale = artifacts.stale_artifacts()
    assert not stale, f"out of date: {stale}; run `make schemas` and commit"


def test_published_document_schema_is_a_valid_json_schema():
    schema = json.loads(artifacts.SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)


def test_check_command_reports_drift(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "metadata.graphql"
    stale.write_text("type Query { old: String }\n")
    monkeypatch.setattr(artifacts, "ARTIFACTS", {stale: artifacts.metadata_sdl})
    assert artifacts.main(["artifacts", "check"]) == 1
    assert "make schemas" in capsys.readouterr().err
    assert artifacts.main(["artifacts", "write"]) == 0
    assert artifacts.main(["artifacts", "check"]) == 0
