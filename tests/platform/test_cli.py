"""The ``tessera`` command, on both databases."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
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

    env = {
        "TESSERA_DATABASE_URL": database_url,
        "TESSERA_DEFAULT_WORKSPACE": workspace,
        "TESSERA_STARTER_PACKAGE": "",  # the tests make their own models
    }

    def run(*args: str, expect: int = 0) -> Result:
        result = runner.invoke(main, list(args), env=env)
        assert result.exit_code == expect, result.output
        return result

    run.env = env  # type: ignore[attr-defined]
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
    assert "database at revision 0013" in tessera("migrate").output
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


SALES_ROLE = """
name: sales
description: Sales reps work their team's deals
objects:
  deal:
    operations: [read, create, update]
    access: team
    fields: {stage: read, title: edit}
other_objects: {operations: [read]}
"""
PASSWORD_INPUT = "a long password\n" * 2


@pytest.fixture
def role_file(tessera: Tessera, model_file: Path, tmp_path: Path) -> Path:
    tessera("metadata", "apply", str(model_file))
    path = tmp_path / "sales.yaml"
    path.write_text(SALES_ROLE)
    return path


def test_role_apply_list_show_delete(tessera, role_file, tmp_path):
    saved = tessera("role", "apply", str(role_file)).output
    assert saved.startswith("saved role 'sales':\n")
    assert "access: team" in saved and "stage: read" in saved
    listed = tessera("role", "list").output.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [
        ["admin", "built-in"],
        ["member", "built-in"],
        ["viewer", "built-in"],
        ["sales", "custom"],
    ]
    assert listed[3] == "sales\tcustom\tSales reps work their team's deals"
    shown = yaml.safe_load(tessera("role", "show", "sales").output)
    assert shown["objects"]["deal"] == {
        "operations": ["read", "create", "update"],
        "access": "team",
        "fields": {"stage": "read", "title": "edit"},
    }
    assert yaml.safe_load(tessera("role", "show", "viewer").output)["other_objects"] == {
        "operations": ["read"],
        "access": "all",
    }
    # a JSON document works too, and replaces the role of its name
    as_json = tmp_path / "sales.json"
    as_json.write_text(json.dumps({"name": "sales", "description": "Reps", "objects": {"deal": {}}}))
    tessera("role", "apply", str(as_json))
    assert "sales\tcustom\tReps" in tessera("role", "list").output
    assert tessera("role", "delete", "sales").output == "deleted role 'sales'\n"
    assert "sales" not in tessera("role", "list").output


def test_role_errors_print_code_and_path(tessera, role_file, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: sales\nobjects:\n  deal: {access: mine}\n  ghost: {}\n")
    out = tessera("role", "apply", str(bad), expect=1).output
    assert "error [INVALID_ROLE] at objects.deal.access:" in out
    bad.write_text("name: sales\nobjects:\n  deal: {fields: {margin: none}}\n  ghost: {}\n")
    out = tessera("role", "apply", str(bad), expect=1).output
    assert "error [UNKNOWN_FIELD] at objects.deal.fields.margin:" in out
    assert "error [UNKNOWN_OBJECT] at objects.ghost:" in out
    bad.write_text("name: [\n")
    assert "error [INVALID_DOCUMENT]" in tessera("role", "apply", str(bad), expect=1).output
    bad.write_text("name: admin\n")
    assert "error [ROLE_BUILT_IN] at name:" in tessera("role", "apply", str(bad), expect=1).output
    assert "error [ROLE_BUILT_IN]" in tessera("role", "delete", "member", expect=1).output
    assert "error [UNKNOWN_ROLE]" in tessera("role", "show", "ghost", expect=1).output
    assert "error [UNKNOWN_ROLE]" in tessera("role", "delete", "ghost", expect=1).output
    assert "sales" not in tessera("role", "list").output


def test_role_schema_prints_the_json_schema(tessera):
    schema = json.loads(tessera("role", "schema").output)
    assert schema["title"] == "Tessera role"
    assert schema["$id"] == "https://tessera.dev/schemas/role.schema.json"


def test_users_get_roles_and_teams(tessera, role_file):
    tessera("role", "apply", str(role_file))
    made = CliRunner().invoke(
        main,
        ["user", "create", "ada@example.com", "--role", "sales", "--team", " east "],
        input=PASSWORD_INPUT,
        env=tessera.env,  # type: ignore[attr-defined]
    )
    assert made.exit_code == 0, made.output
    assert "created ada@example.com (sales, team east)" in made.output
    assert "ada@example.com\tada\tsales\tactive\teast" in tessera("user", "list").output

    in_use = tessera("role", "delete", "sales", expect=1).output
    assert "error [ROLE_IN_USE] at name:" in in_use and "ada@example.com" in in_use

    assert (
        tessera("user", "team", "ada@example.com", "west").output == "ada@example.com is now in team west\n"
    )
    assert tessera("user", "team", "ADA@example.com").output == "ada@example.com is now in no team\n"
    assert "ada@example.com\tada\tsales\tactive\t-" in tessera("user", "list").output
    assert "error [INVALID_TEAM] at team:" in tessera("user", "team", "ada@example.com", " ", expect=1).output

    changed = tessera("user", "role", "ada@example.com", "viewer").output
    assert changed == "ada@example.com now has role viewer\n"
    assert "ada@example.com\tada\tviewer\tactive\t-" in tessera("user", "list").output
    assert (
        "error [UNKNOWN_ROLE] at role:" in tessera("user", "role", "ada@example.com", "boss", expect=1).output
    )
    assert "error [UNKNOWN_USER]" in tessera("user", "role", "bob@example.com", "viewer", expect=1).output
    assert "error [UNKNOWN_USER]" in tessera("user", "team", "bob@example.com", "east", expect=1).output
    assert tessera("role", "delete", "sales").output == "deleted role 'sales'\n"


def test_user_create_refuses_an_unknown_role_or_a_blank_team(tessera):
    runner = CliRunner()
    env = tessera.env  # type: ignore[attr-defined]
    unknown = runner.invoke(
        main, ["user", "create", "ada@example.com", "--role", "boss"], input=PASSWORD_INPUT, env=env
    )
    assert unknown.exit_code == 1 and "error [UNKNOWN_ROLE] at role:" in unknown.output
    blank = runner.invoke(
        main, ["user", "create", "ada@example.com", "--team", "  "], input=PASSWORD_INPUT, env=env
    )
    assert blank.exit_code == 1 and "error [INVALID_TEAM] at team:" in blank.output
    assert "ada@example.com" not in tessera("user", "list").output


def test_a_package_goes_from_scaffold_to_install_and_out(tessera, tmp_path):
    assert "created" in tessera("package", "new", "field-service", "--dir", str(tmp_path)).output
    folder = tmp_path / "field-service"
    assert tessera("package", "validate", str(folder)).output.strip() == "field-service 0.1.0 is valid"
    built = tessera("package", "build", str(folder), "--out", str(tmp_path)).output
    assert built.strip() == f"built {tmp_path / 'field-service-0.1.0.zip'}"
    preview = tessera("package", "install", str(tmp_path / "field-service-0.1.0.zip"), "--dry-run").output
    assert preview.splitlines()[:2] == ["Would install field-service 0.1.0", "  objects: fieldservice_item"]
    assert tessera("package", "list").output == ""
    assert "Installed field-service 0.1.0" in tessera("package", "install", str(folder)).output
    assert tessera("package", "list").output.split("\t")[:2] == ["field-service", "0.1.0"]
    error = tessera("package", "install", str(folder), expect=1).output
    assert "error [PACKAGE_INSTALLED] at package.yaml.name" in error
    out = tessera("package", "uninstall", "field-service", "--delete-data", "--yes").output
    assert "its data was deleted" in out and tessera("package", "list").output == ""


def test_the_builtin_packages_are_valid(tessera):
    assert tessera("package", "validate", "standard-crm").output.strip() == "standard-crm 1.0.0 is valid"
    out = tessera("package", "validate", "saas-subscriptions").output
    assert out.strip() == "saas-subscriptions 1.0.0 is valid"  # its dependency found among the built-in ones


def test_a_workspace_customisations_become_a_package(tessera, model_file, tmp_path):
    tessera("metadata", "apply", str(model_file))
    folder = tmp_path / "acme-model"
    out = tessera("metadata", "export", "--as-package", str(folder), "--namespace", "acme").output
    assert f"wrote {folder}" in out
    manifest = yaml.safe_load((folder / "package.yaml").read_text())
    assert (manifest["name"], manifest["namespace"], manifest["dependencies"]) == ("acme-model", "acme", {})
    assert tessera("package", "validate", str(folder)).output.strip() == "acme-model 1.0.0 is valid"


def test_init_installs_the_starter_package_into_a_new_workspace(tessera, workspace_factory, database_url):
    slug = workspace_factory()
    env = {**tessera.env, "TESSERA_DEFAULT_WORKSPACE": slug, "TESSERA_STARTER_PACKAGE": "standard-crm"}
    result = CliRunner().invoke(main, ["init"], env={**env, "TESSERA_DEMO_DATA": "false"})
    assert result.exit_code == 0, result.output
    assert "Installed standard-crm 1.0.0" in result.output and "sample records" not in result.output
    again = CliRunner().invoke(main, ["init"], env=env)
    assert "installing" not in again.output  # once, into an empty workspace only
