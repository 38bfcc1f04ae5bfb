"""The metadata API over HTTP, on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from tessera.metadata.fields import FIELD_TYPES
from tessera.metadata.store import MetadataStore
from tessera.platform.identity import IdentityService

CREATE_COMPANY = """
mutation { createObject(input: {apiName: "company", labelPlural: "Companies", fields: [
  {apiName: "name", type: "text", required: true, unique: true}
]}) { applied version object { id apiName pluralApiName labelSingular labelPlural fields { id apiName type required unique options } } } }
"""

CREATE_DEAL = """
mutation { createObject(input: {apiName: "deal", fields: [
  {apiName: "title", type: "text"}
  {apiName: "company", type: "lookup", options: {target_object: "company"}}
  {apiName: "stage", type: "select", options: {choices: [{value: "new"}, {value: "won", color: "green"}]}}
]}) { applied version } }
"""


def error_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer.get("data") is None or not any(answer["data"].values())
    (error,) = answer["errors"]
    return dict(error)


def test_create_object_returns_the_object_and_bumps_the_version(ok):
    data = ok(CREATE_COMPANY)["createObject"]
    assert data["applied"] is True
    assert data["version"] == 1
    company = data["object"]
    assert company["apiName"] == "company"
    assert company["pluralApiName"] == "companies"
    assert company["labelSingular"] == "Company"
    assert company["labelPlural"] == "Companies"
    (name,) = company["fields"]
    assert name == {**name, "apiName": "name", "type": "text", "required": True, "unique": True}
    assert name["options"] == {"max_length": 255}


def test_lookup_gives_the_target_a_reverse_relation(ok):
    ok(CREATE_COMPANY)
    ok(CREATE_DEAL)
    data = ok('{ object(apiName: "company") { relations { name sourceObject sourceField } } }')
    assert data["object"]["relations"] == [
        {"name": "deals", "sourceObject": "deal", "sourceField": "company"}
    ]
    deal = ok('{ object(apiName: "deal") { fields { apiName options } } }')["object"]
    lookup = next(f for f in deal["fields"] if f["apiName"] == "company")
    assert lookup["options"] == {"target_object": "company", "on_delete": "set_null", "reverse_name": "deals"}


def test_objects_and_fields_carry_the_versions_that_created_and_changed_them(ok):
    ok(CREATE_COMPANY)
    ok('mutation { createField(input: {object: "company", apiName: "size", type: "integer"}) { version } }')
    ok('mutation { updateField(input: {object: "company", field: "name", label: "Legal name"}) { version } }')
    company = ok(
        '{ object(apiName: "company") { createdVersion updatedVersion '
        "fields { apiName createdVersion updatedVersion } } }"
    )["object"]
    assert (company["createdVersion"], company["updatedVersion"]) == (1, 3)
    assert company["fields"] == [
        {"apiName": "name", "createdVersion": 1, "updatedVersion": 3},
        {"apiName": "size", "createdVersion": 2, "updatedVersion": 2},
    ]


def test_workspace_and_objects_queries(ok, workspace):
    ok(CREATE_COMPANY)
    data = ok("{ workspace { slug metadataVersion } objects { apiName } }")
    assert data == {
        "workspace": {"slug": workspace, "metadataVersion": 1},
        "objects": [{"apiName": "company"}],
    }
    assert ok('{ object(apiName: "nothing") { apiName } }') == {"object": None}


def test_field_types_lists_every_registered_type_with_its_options_schema(ok):
    types = ok("{ fieldTypes { name label optionsSchema supportsUnique supportsDefault } }")["fieldTypes"]
    assert [t["name"] for t in types] == list(FIELD_TYPES)
    by_name = {t["name"]: t for t in types}
    assert by_name["select"]["optionsSchema"]["required"] == ["choices"]
    assert by_name["auto_number"]["supportsDefault"] is False
    assert by_name["json"]["supportsUnique"] is False


def test_field_mutations_create_update_reorder_delete(ok):
    ok(CREATE_COMPANY)
    ok('mutation { createField(input: {object: "company", apiName: "website", type: "url"}) { version } }')
    data = ok(
        'mutation { updateField(input: {object: "company", field: "website", apiName: "homepage", '
        'label: "Home page", helpText: "Public site"}) { version object { fields { apiName label helpText } } } }'
    )["updateField"]
    assert data["version"] == 3
    assert data["object"]["fields"][1] == {
        "apiName": "homepage",
        "label": "Home page",
        "helpText": "Public site",
    }
    data = ok(
        'mutation { reorderFields(input: {object: "company", fields: ["homepage", "name"]}) '
        "{ object { fields { apiName } } } }"
    )["reorderFields"]
    assert [f["apiName"] for f in data["object"]["fields"]] == ["homepage", "name"]
    data = ok(
        'mutation { deleteField(input: {object: "company", field: "homepage"}) '
        "{ applied object { fields { apiName } } } }"
    )["deleteField"]
    assert data["applied"] is True
    assert [f["apiName"] for f in data["object"]["fields"]] == ["name"]


def test_update_and_delete_object(ok):
    ok(CREATE_COMPANY)
    data = ok(
        'mutation { updateObject(input: {object: "company", apiName: "account", labelSingular: "Account", '
        'labelPlural: "Accounts"}) { object { apiName pluralApiName labelPlural } } }'
    )
    assert data["updateObject"]["object"] == {
        "apiName": "account",
        "pluralApiName": "accounts",
        "labelPlural": "Accounts",
    }
    assert ok('mutation { deleteObject(input: {object: "account"}) { applied version } }')[
        "deleteObject"
    ] == {"applied": True, "version": 3}
    assert ok("{ objects { apiName } }")["objects"] == []


def test_dry_run_returns_the_plan_and_changes_nothing(ok):
    data = ok(
        CREATE_COMPANY.replace("createObject(input:", "createObject(dryRun: true, input:").replace(
            "applied version object", "applied version plan { description destructive sql } object"
        )
    )
    result = data["createObject"]
    assert result["applied"] is False
    assert result["version"] == 0
    assert result["object"]["apiName"] == "company"
    assert "Create table" in result["plan"][0]["description"]
    assert result["plan"][0]["sql"][0].startswith("CREATE TABLE")
    assert ok("{ objects { apiName } workspace { metadataVersion } }") == {
        "objects": [],
        "workspace": {"metadataVersion": 0},
    }


def test_data_loss_needs_confirmation(ok, metadata_api, records, workspace):
    ok(CREATE_COMPANY)
    records.create(workspace, "company", {"name": "Acme"})
    error = error_of(
        metadata_api('mutation { deleteField(input: {object: "company", field: "name"}) { applied } }')
    )
    assert error["extensions"]["code"] == "DATA_LOSS_NOT_CONFIRMED"
    assert error["extensions"]["inputPath"] == ["confirmDataLoss"]
    assert error["extensions"]["problems"][0]["details"]["data_loss"] == [
        {"object": "company", "field": "name", "records": 1}
    ]
    assert ok('{ object(apiName: "company") { fields { apiName } } }')["object"]["fields"] == [
        {"apiName": "name"}
    ]
    data = ok(
        'mutation { deleteObject(input: {object: "company"}, confirmDataLoss: true) '
        "{ applied dataLoss { object field records } } }"
    )
    assert data["deleteObject"] == {
        "applied": True,
        "dataLoss": [{"object": "company", "field": None, "records": 1}],
    }


def test_expected_version_conflict(ok, metadata_api):
    ok(CREATE_COMPANY)
    error = error_of(
        metadata_api(
            'mutation { createField(input: {object: "company", apiName: "size", type: "integer"}, expectedVersion: 0) '
            "{ applied } }"
        )
    )
    assert error["extensions"]["code"] == "VERSION_CONFLICT"
    assert error["extensions"]["inputPath"] == ["expectedVersion"]
    ok(
        'mutation { createField(input: {object: "company", apiName: "size", type: "integer"}, expectedVersion: 1) '
        "{ applied } }"
    )


@pytest.mark.parametrize(
    ("mutation", "code", "input_path"),
    [
        ('createObject(input: {apiName: "Deals"})', "NAME_NOT_SNAKE_CASE", ["input", "apiName"]),
        ('createObject(input: {apiName: "select"})', "NAME_RESERVED", ["input", "apiName"]),
        ('createObject(input: {apiName: "company"})', "DUPLICATE_NAME", ["input", "apiName"]),
        (
            'createField(input: {object: "company", apiName: "created_at", type: "text"})',
            "NAME_RESERVED",
            ["input", "apiName"],
        ),
        (
            'createField(input: {object: "nope", apiName: "x", type: "text"})',
            "UNKNOWN_OBJECT",
            ["input", "object"],
        ),
        (
            'createField(input: {object: "company", apiName: "x", type: "colour"})',
            "UNKNOWN_FIELD_TYPE",
            ["input", "type"],
        ),
        (
            'createField(input: {object: "company", apiName: "x", type: "decimal", options: {precision: 40}})',
            "INVALID_OPTIONS",
            ["input", "options", "precision"],
        ),
        (
            'createField(input: {object: "company", apiName: "x", type: "select", options: {choices: [{value: "a b"}]}})',
            "INVALID_OPTIONS",
            ["input", "options", "choices", 0, "value"],
        ),
        (
            'createField(input: {object: "company", apiName: "x", type: "integer", default: "many"})',
            "INVALID_DEFAULT",
            ["input", "default"],
        ),
        (
            'createField(input: {object: "company", apiName: "x", type: "lookup", options: {target_object: "ghost"}})',
            "UNKNOWN_OBJECT",
            ["input", "options", "target_object"],
        ),
        (
            'updateField(input: {object: "company", field: "name", type: "integer"})',
            "UNSAFE_TYPE_CHANGE",
            ["input", "type"],
        ),
        (
            'updateField(input: {object: "company", field: "ghost", label: "x"})',
            "UNKNOWN_FIELD",
            ["input", "field"],
        ),
        ('deleteObject(input: {object: "ghost"})', "UNKNOWN_OBJECT", ["input", "object"]),
    ],
)
def test_rejections_have_a_stable_code_and_the_input_path(ok, metadata_api, mutation, code, input_path):
    ok(CREATE_COMPANY)
    error = error_of(metadata_api(f"mutation {{ {mutation} {{ applied }} }}"))
    assert error["extensions"]["code"] == code
    assert error["extensions"]["inputPath"] == input_path
    assert error["message"]
    assert "Traceback" not in str(error)
    assert ok("{ workspace { metadataVersion } }")["workspace"]["metadataVersion"] == 1


def test_every_problem_is_reported(metadata_api):
    error = error_of(
        metadata_api(
            'mutation { createObject(input: {apiName: "deal", fields: [{apiName: "Bad", type: "text"}, '
            '{apiName: "amount", type: "decimal", options: {scale: 9, precision: 4}}]}) { applied } }'
        )
    )
    problems = {(p["code"], tuple(p["inputPath"])) for p in error["extensions"]["problems"]}
    assert ("NAME_NOT_SNAKE_CASE", ("input", "fields", 0, "apiName")) in problems
    assert ("INVALID_OPTIONS", ("input", "fields", 1, "options", "scale")) in problems


def test_credentials_work_only_in_their_workspace(client, engine, ok, workspace, workspace_factory):
    other = workspace_factory()
    ok(CREATE_COMPANY)
    for named in ("ghost", other):
        refused = client.post(
            "/graphql/metadata",
            json={"query": "{ objects { apiName } }"},
            headers={"X-Tessera-Workspace": named},
        )
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["extensions"]["code"] == "WORKSPACE_MISMATCH"
    other_key, _ = IdentityService(engine).create_api_key(other, "other", role="admin")
    answer = client.post(
        "/graphql/metadata",
        json={"query": "{ objects { apiName } }"},
        headers={"Authorization": f"Bearer {other_key}", "X-Tessera-Workspace": other},
    )
    assert answer.json() == {"data": {"objects": []}}  # the other workspace's model, not ours


def test_unexpected_errors_are_masked(metadata_api, monkeypatch):
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(MetadataStore, "state", explode)
    error = error_of(metadata_api("{ objects { apiName } }"))
    assert error["extensions"] == {"code": "INTERNAL_ERROR"}
    assert "hunter2" not in str(error)


def test_change_log_lists_applied_changes_newest_first(ok):
    ok(CREATE_COMPANY)
    ok(CREATE_DEAL)
    log = ok("{ changeLog { version actor summary changes plan } }")["changeLog"]
    assert [e["version"] for e in log] == [2, 1]
    assert log[1]["actor"] == "key:tests"  # who: the API key the test client sends
    assert log[1]["summary"] == "Create object 'company' with 1 field(s)"
    assert log[1]["changes"][0]["change"] == "object_created"
    assert log[1]["plan"][0]["sql"]
    assert [e["version"] for e in ok("{ changeLog(sinceVersion: 1) { version } }")["changeLog"]] == [2]


def test_graphql_syntax_errors_are_reported_not_raised(metadata_api):
    answer = metadata_api("{ objects { ")
    assert answer["data"] is None
    assert "Syntax Error" in answer["errors"][0]["message"]
