"""Workflows are data: documents checked against the schema and the data model, versioned."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from sqlalchemy.engine import Engine

from tessera.platform.errors import TesseraError
from tessera.workflows.definitions import SCHEMA_PATH, load_workflow, workflow_schema
from tessera.workflows.store import WorkflowStore

DEAL_WON = """
name: deal_won_onboarding
label: Deal won → onboarding case
trigger:
  type: record_updated
  object: deal
  fields: [stage]
  condition: {stage: {changed_to: won}}
steps:
  - id: onboarding
    type: create_record
    object: task
    values: {title: "Onboard {{ record.title }}", deal: "{{ record.id }}"}
  - id: check
    type: branch
    if: {amount: {gt: 1000}}
    then:
      - {id: flag, type: update_record, object: deal, record: "{{ record.id }}", values: {title: "Big: {{ record.title }}"}}
settings:
  retry: {max_attempts: 3, backoff_seconds: 60}
"""


@pytest.fixture
def workflows(engine: Engine) -> WorkflowStore:
    return WorkflowStore(engine)


def test_the_published_schema_accepts_the_example():
    document = load_workflow(DEAL_WON)
    jsonschema.Draft202012Validator(workflow_schema()).validate(document)
    assert SCHEMA_PATH.exists()


def test_draft_activate_edit_and_deactivate(model: None, workflows: WorkflowStore, workspace: str):
    document = load_workflow(DEAL_WON)
    draft = workflows.save_draft(workspace, document, actor="admin")
    assert (draft.version, draft.status) == (1, "draft")
    assert workflows.active(workspace) == []
    active = workflows.activate(workspace, "deal_won_onboarding")
    assert (active.version, active.status) == (1, "active")
    edited = workflows.save_draft(workspace, {**document, "label": "v2"})
    assert (edited.version, edited.status) == (2, "draft")
    again = workflows.save_draft(workspace, {**document, "label": "v2, fixed"})
    assert again.version == 2  # one draft at a time, edited in place
    assert [v.definition.get("label") for v in workflows.active(workspace)] == ["Deal won → onboarding case"]
    workflows.activate(workspace, "deal_won_onboarding")
    statuses = {v.version: v.status for v in workflows.versions(workspace, "deal_won_onboarding")}
    assert statuses == {2: "active", 1: "inactive"}
    workflows.activate(workspace, "deal_won_onboarding", version=1)  # roll back
    assert {v.version: v.status for v in workflows.versions(workspace, "deal_won_onboarding")} == {
        2: "inactive",
        1: "active",
    }
    workflows.deactivate(workspace, "deal_won_onboarding")
    assert workflows.active(workspace) == []
    with pytest.raises(TesseraError) as caught:
        workflows.activate(workspace, "deal_won_onboarding")
    assert caught.value.code == "NO_DRAFT"


@pytest.mark.parametrize(
    ("change", "code", "path"),
    [
        (lambda d: d.update(name="Deal Won"), "INVALID_WORKFLOW", ("name",)),
        (lambda d: d["trigger"].update(object="ghost"), "UNKNOWN_OBJECT", ("trigger", "object")),
        (lambda d: d["trigger"].update(fields=["stag"]), "UNKNOWN_FIELD", ("trigger", "fields", 0)),
        (
            lambda d: d["trigger"].update(condition={"stage": {"changed_to": "lost"}}),
            "FILTER_INVALID_VALUE",
            ("trigger", "condition", "changed_to", "stage", "eq"),
        ),
        (lambda d: d["steps"][0].update(object="nothing"), "UNKNOWN_OBJECT", ("steps", 0, "object")),
        (
            lambda d: d["steps"][0]["values"].update(colour="red"),
            "UNKNOWN_FIELD",
            ("steps", 0, "values", "colour"),
        ),
        (
            lambda d: d["steps"][0]["values"].update(title="{{ __import__('os') }}"),
            "INVALID_TEMPLATE",
            ("steps", 0, "values", "title"),
        ),
        (
            lambda d: d["steps"][1]["then"][0].update(id="onboarding"),
            "DUPLICATE_NAME",
            ("steps", 1, "then", 0, "id"),
        ),
        (
            lambda d: d["steps"].append({"id": "x", "type": "teleport"}),
            "INVALID_WORKFLOW",
            ("steps", 2, "type"),
        ),
        (
            lambda d: d["trigger"].update(type="schedule", cron="soon"),
            "INVALID_WORKFLOW",
            ("trigger", "cron"),
        ),
    ],
)
def test_bad_workflows_are_refused_with_their_path(
    model: None, workflows: WorkflowStore, workspace: str, change: Any, code: str, path: tuple[Any, ...]
):
    document = load_workflow(DEAL_WON)
    change(document)
    with pytest.raises(TesseraError) as caught:
        workflows.save_draft(workspace, document)
    assert (code, path) in {(p.code, p.path) for p in caught.value.problems}
    assert workflows.versions(workspace) == []


def test_unknown_workflows(model: None, workflows: WorkflowStore, workspace: str):
    with pytest.raises(TesseraError) as caught:
        workflows.activate(workspace, "nope")
    assert caught.value.code == "UNKNOWN_WORKFLOW"


def test_the_cli_applies_activates_and_lists(model: None, database_url: str, workspace: str, tmp_path: Any):
    from click.testing import CliRunner

    from tessera.platform.cli import main

    path = tmp_path / "deal_won.yaml"
    path.write_text(DEAL_WON)
    env = {"TESSERA_DATABASE_URL": database_url, "TESSERA_DEFAULT_WORKSPACE": workspace}
    runner = CliRunner()
    applied = runner.invoke(main, ["workflow", "apply", str(path), "--activate"], env=env)
    assert applied.exit_code == 0, applied.output
    assert "saved 'deal_won_onboarding' version 1 as a draft" in applied.output
    assert "activated 'deal_won_onboarding' version 1" in applied.output
    listed = runner.invoke(main, ["workflow", "list"], env=env).output
    assert "deal_won_onboarding\tv1\tactive" in listed
    path.write_text(DEAL_WON.replace("object: task", "object: ghost"))
    refused = runner.invoke(main, ["workflow", "apply", str(path)], env=env)
    assert refused.exit_code == 1 and "error [UNKNOWN_OBJECT] at steps.0.object" in refused.output
    assert runner.invoke(main, ["workflow", "deactivate", "deal_won_onboarding"], env=env).exit_code == 0
    assert '"title": "Tessera workflow"' in runner.invoke(main, ["workflow", "schema"]).output


def test_the_metadata_api_manages_versions(model: None, client: Any):
    def post(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return dict(
            client.post("/graphql/metadata", json={"query": query, "variables": variables or {}}).json()
        )

    document = load_workflow(DEAL_WON)
    assert post("mutation($d: JSON!) { validateWorkflow(definition: $d) }", {"d": document})["data"] == {
        "validateWorkflow": True
    }
    bad = post(
        "mutation($d: JSON!) { validateWorkflow(definition: $d) }",
        {"d": {**document, "steps": [{"id": "x", "type": "create_record", "object": "ghost"}]}},
    )
    assert bad["errors"][0]["extensions"]["code"] == "UNKNOWN_OBJECT"
    saved = post(
        "mutation($d: JSON!) { saveWorkflowDraft(definition: $d) { name version status } }", {"d": document}
    )
    assert saved["data"]["saveWorkflowDraft"] == {
        "name": "deal_won_onboarding",
        "version": 1,
        "status": "draft",
    }
    active = post('mutation { activateWorkflow(name: "deal_won_onboarding") { version status } }')
    assert active["data"]["activateWorkflow"] == {"version": 1, "status": "active"}
    listed = post('{ workflowVersions(name: "deal_won_onboarding") { version status definition } }')
    assert listed["data"]["workflowVersions"][0]["definition"]["trigger"]["object"] == "deal"
    assert post('mutation { deactivateWorkflow(name: "deal_won_onboarding") }')["data"] == {
        "deactivateWorkflow": True
    }
    missing = post('mutation { activateWorkflow(name: "nope") { version } }')
    assert missing["errors"][0]["extensions"]["code"] == "UNKNOWN_WORKFLOW"


def test_each_step_type_says_what_it_needs(model: None, workflows: WorkflowStore, workspace: str):
    document = load_workflow(DEAL_WON)
    document["steps"] += [
        {"id": "pause", "type": "wait"},
        {"id": "mail", "type": "send_email", "to": "a@example.com"},
        {"id": "each", "type": "loop", "over": "{{ record.lines }}"},
        {"id": "call", "type": "http_request"},
    ]
    document["settings"] = {"run_as": "the boss"}
    with pytest.raises(TesseraError) as caught:
        workflows.save_draft(workspace, document)
    assert {(p.code, p.path) for p in caught.value.problems} == {
        ("INVALID_WORKFLOW", ("steps", 2, "duration")),
        ("INVALID_WORKFLOW", ("steps", 3, "subject")),
        ("INVALID_WORKFLOW", ("steps", 4, "steps")),
        ("INVALID_WORKFLOW", ("steps", 5, "url")),
        ("INVALID_WORKFLOW", ("settings", "run_as")),
    }
