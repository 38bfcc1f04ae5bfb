"""The ``tessera`` command, on both databases."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tessera.platform.cli import main

MODEL = """
objects:
  - api_name: company
    label_plural: Companies
    fields:
      - {api_name: name, type: text, required: true, unique: true}
  - api_name: deal
    fields:
      - {api_name: title, type: text}
      - {api_name: company, type: lookup, options: {target_object: company}}
      - api_name: stage
        type: select
        options: {choices: [{value: new}, {value: won, color: green}]}
"""

Tessera = Callable[..., Result]


@pytest.fixture
def tessera(database_url: str, workspace: str) -> Tessera:
    """Runs the CLI against the test database, with the test workspace as default."""
    runner = CliRunner()

    def run(*args: str, expect: int = 0) -> Result:
        result = runner.invoke(
            main,
            list(args),
            env={"TESSERA_DATABASE_URL": database_url, "TESSERA_DEFAULT_WORKSPACE": workspace},
        )
        assert result.exit_code == expect, result.output
        return result

    return run


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(MODEL)
    return path


def test_config_prints_every_setting(tessera, database_url):
    out = tessera("config").output
    assert f"TESSERA_DATABASE_URL={database_url}" in out
    assert "TESSERA_BROKER_URL=stub://" in out


def test_migrate_and_init(tessera, workspace):
    assert "database at revision 0010" in tessera("migrate").output
    assert f"default workspace '{workspace}'" in tessera("init").output


def test_workspace_create_and_list(tessera, workspace):
    slug = f"emea_{uuid.uuid4().hex[:8]}"  # PostgreSQL tests share one database
    created = tessera("workspace", "create", slug, "--name", "Sales EMEA").output
    assert f"created workspace '{slug}' (Sales EMEA)" in created
    listed = tessera("workspace", "list").output
    assert f"{slug}\tSales EMEA\tversion 0" in listed
    assert workspace in listed
    error = tessera("workspace", "create", "Sales EMEA", expect=1).output
    assert "error [NAME_NOT_SNAKE_CASE] at slug:" in error


def test_apply_dry_run_then_apply_then_no_op(tessera, model_file):
    dry = tessera("metadata", "apply", str(model_file), "--dry-run").output
    assert "- Create object 'company' with 1 field(s)" in dry
    assert "CREATE TABLE" in dry
    assert "dry run: nothing was changed" in dry
    assert tessera("metadata", "log").output == ""
    assert "applied: metadata version 1" in tessera("metadata", "apply", str(model_file)).output
    assert "nothing to change (metadata version 1)" in tessera("metadata", "apply", str(model_file)).output


def test_export_then_apply_is_a_no_op_and_edits_are_applied(tessera, model_file, tmp_path):
    tessera("metadata", "apply", str(model_file))
    exported = tmp_path / "exported.yaml"
    exported.write_text(tessera("metadata", "export").output)
    assert "nothing to change" in tessera("metadata", "apply", str(exported)).output
    exported.write_text(exported.read_text().replace("label: Title", "label: Deal title"))
    out = tessera("metadata", "apply", str(exported)).output
    assert "- Field 'deal.title': change label" in out
    assert "applied: metadata version 2" in out
    as_json = json.loads(tessera("metadata", "export", "--format", "json").output)
    title = as_json["objects"][1]["fields"][0]
    assert (title["api_name"], title["label"]) == ("title", "Deal title")


def test_deleting_data_needs_confirm_data_loss(tessera, model_file, tmp_path, records, workspace):
    tessera("metadata", "apply", str(model_file))
    records.create(workspace, "company", {"name": "Acme"})
    only_deal = tmp_path / "deal-only.yaml"
    only_deal.write_text(
        MODEL.split("  - api_name: deal")[0].replace(
            "      - {api_name: name, type: text, required: true, unique: true}\n",
            "      - {api_name: name, type: text, required: true, unique: true}\n      - {api_name: size, type: integer}\n",
        )
    )
    error = tessera("metadata", "apply", str(only_deal), expect=0).output
    assert "applied" in error  # deleting the empty deal object needs no confirmation
    without_name = tmp_path / "without-name.yaml"
    without_name.write_text("objects:\n  - api_name: company\n    label_plural: Companies\n    fields: []\n")
    refused = tessera("metadata", "apply", str(without_name), expect=1).output
    assert "error [DATA_LOSS_NOT_CONFIRMED]" in refused
    assert "the 'name' values of 1 'company' record(s)" in refused
    assert "applied" in tessera("metadata", "apply", str(without_name), "--confirm-data-loss").output


def test_invalid_files_report_code_and_path(tessera, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("objects:\n  - api_name: deal\n    fields:\n      - {api_name: amount, type: money}\n")
    out = tessera("metadata", "apply", str(bad), expect=1).output
    assert "error [INVALID_DOCUMENT] at objects.0.fields.0.type:" in out
    bad.write_text("objects: [\n")
    assert "error [INVALID_DOCUMENT]" in tessera("metadata", "apply", str(bad), expect=1).output


def test_unknown_workspace(tessera):
    out = tessera("metadata", "export", "-w", "ghost", expect=1).output
    assert "error [UNKNOWN_WORKSPACE]" in out


def test_log_lists_changes(tessera, model_file):
    tessera("metadata", "apply", str(model_file))
    (line,) = tessera("metadata", "log").output.splitlines()
    assert line.startswith("v1\t")
    assert "\tcli\tCreate object 'company' with 1 field(s); Create object 'deal' with 3 field(s)" in line


def test_schema_prints_the_document_schema(tessera):
    schema = json.loads(tessera("metadata", "schema").output)
    assert schema["title"] == "Tessera metadata document"


def test_an_unreachable_database_is_reported_plainly():
    result = CliRunner().invoke(
        main,
        ["workspace", "list"],
        env={"TESSERA_DATABASE_URL": "postgresql+psycopg://tessera:secret@127.0.0.1:5999/nowhere"},
    )
    assert result.exit_code == 1
    assert "error [DATABASE_UNAVAILABLE]: cannot use the database at " in result.output
    assert "postgresql+psycopg://tessera:***@127.0.0.1:5999/nowhere" in result.output
    assert "secret" not in result.output
    assert "Traceback" not in result.output


def test_schema_print_shows_the_record_api(tessera, model_file):
    tessera("metadata", "apply", str(model_file))
    sdl = tessera("schema", "print").output
    assert "type Company {" in sdl and "companies(" in sdl and "createCompany(" in sdl


def test_schema_print_of_an_unknown_workspace(tessera):
    assert "error [UNKNOWN_WORKSPACE]" in tessera("schema", "print", "-w", "nowhere", expect=1).output
