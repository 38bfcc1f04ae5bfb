"""Validation rules as metadata: defined, checked against the model, exported, edited via the API."""

from __future__ import annotations

from typing import Any

import pytest

from tessera.metadata import changes
from tessera.metadata.document import document_state, export_document
from tessera.metadata.store import MetadataStore
from tessera.platform.errors import TesseraError

RULE = {
    "name": "won_needs_close_date",
    "error_when": {"stage": {"eq": "won"}, "close_date": {"isNull": True}},
    "message": "A won deal needs a close date.",
    "field": "close_date",
}


@pytest.fixture
def deal(object_factory: Any) -> Any:
    return object_factory(
        "deal",
        [
            {
                "api_name": "stage",
                "type": "select",
                "options": {"choices": [{"value": "new"}, {"value": "won"}]},
            },
            {"api_name": "close_date", "type": "date"},
        ],
        validation_rules=[RULE],
    )


def test_rules_are_stored_with_stable_ids(deal: Any, store: MetadataStore, workspace: str):
    (rule,) = store.state(workspace).object_named("deal").validation_rules  # type: ignore[union-attr]
    assert (rule.name, rule.field, rule.active, dict(rule.error_when)) == (
        "won_needs_close_date",
        "close_date",
        True,
        RULE["error_when"],
    )
    store.apply(
        workspace, changes.update_object("deal", {"validation_rules": [{**RULE, "message": "Close date!"}]})
    )
    (renamed,) = store.state(workspace).object_named("deal").validation_rules  # type: ignore[union-attr]
    assert renamed.id == rule.id and renamed.message == "Close date!"


def test_each_rule_added_changed_or_removed_is_a_logged_change(
    deal: Any, store: MetadataStore, workspace: str
):
    second = {"name": "no_empty_stage", "error_when": {"stage": {"isNull": True}}, "message": "Stage!"}
    result = store.apply(
        workspace, changes.update_object("deal", {"validation_rules": [{**RULE, "active": False}, second]})
    )
    assert [c.describe() for c in result.changes] == [
        "Validation rule 'deal.won_needs_close_date': change active",
        "Add validation rule 'deal.no_empty_stage'",
    ]
    assert [c.as_dict()["change"] for c in result.changes] == [
        "validation_rule_updated",
        "validation_rule_created",
    ]
    reordered = store.apply(
        workspace, changes.update_object("deal", {"validation_rules": [second, {**RULE, "active": False}]})
    )
    assert [c.describe() for c in reordered.changes] == ["Change validation_rule_order of object 'deal'"]
    result = store.apply(workspace, changes.update_object("deal", {"validation_rules": []}))
    assert [c.describe() for c in result.changes] == [
        "Delete validation rule 'deal.no_empty_stage'",
        "Delete validation rule 'deal.won_needs_close_date'",
    ]
    assert store.state(workspace).object_named("deal").validation_rules == ()  # type: ignore[union-attr]
    (entry, *_) = store.change_log(workspace)
    assert [c["change"] for c in entry.changes] == ["validation_rule_deleted", "validation_rule_deleted"]


def test_renaming_a_rule_by_id_keeps_it(deal: Any, store: MetadataStore, workspace: str):
    (rule,) = store.state(workspace).object_named("deal").validation_rules  # type: ignore[union-attr]
    result = store.apply(
        workspace,
        changes.update_object(
            "deal", {"validation_rules": [{**RULE, "id": str(rule.id), "name": "renamed"}]}
        ),
    )
    assert [c.describe() for c in result.changes] == [
        "Validation rule 'deal.won_needs_close_date': rename to 'renamed'"
    ]
    (renamed,) = store.state(workspace).object_named("deal").validation_rules  # type: ignore[union-attr]
    assert (renamed.id, renamed.name) == (rule.id, "renamed")


@pytest.mark.parametrize(
    ("rule", "code", "path"),
    [
        (
            {**RULE, "error_when": {"stage": {"eq": "maybe"}}},
            "FILTER_INVALID_VALUE",
            ("validation_rules", 0, "error_when", "stage", "eq"),
        ),
        (
            {**RULE, "error_when": {"nope": {"isNull": True}}},
            "FILTER_UNKNOWN_FIELD",
            ("validation_rules", 0, "error_when", "nope"),
        ),
        ({**RULE, "message": " "}, "RULE_MESSAGE_REQUIRED", ("validation_rules", 0, "message")),
        ({**RULE, "field": "nope"}, "UNKNOWN_FIELD", ("validation_rules", 0, "field")),
        ({**RULE, "name": "Bad Name"}, "NAME_NOT_SNAKE_CASE", ("validation_rules", 0, "name")),
        ({**RULE, "error_when": []}, "INVALID_INPUT", ("validation_rules", 0, "error_when")),
    ],
)
def test_bad_rules_are_refused_with_their_path(
    deal: Any, store: MetadataStore, workspace: str, rule: Any, code: str, path: tuple[Any, ...]
):
    with pytest.raises(TesseraError) as caught:
        store.apply(workspace, changes.update_object("deal", {"validation_rules": [rule]}))
    assert (caught.value.code, caught.value.path) == (code, ("input", *path))


def test_deleting_a_field_a_rule_uses_is_refused(deal: Any, store: MetadataStore, workspace: str):
    with pytest.raises(TesseraError) as caught:
        store.apply(workspace, changes.delete_field("deal", "close_date"), confirm_data_loss=True)
    assert {p.code for p in caught.value.problems} == {"UNKNOWN_FIELD", "FILTER_UNKNOWN_FIELD"}


def test_rules_round_trip_through_the_document(deal: Any, store: MetadataStore, workspace: str):
    state = store.state(workspace)
    document = export_document(state)
    assert document["objects"][0]["validation_rules"][0]["name"] == "won_needs_close_date"
    assert document_state(document, state) == state


def test_rules_through_the_metadata_api(client: Any, deal: Any):
    query = """mutation($rules: JSON) { updateObject(input: {object: "deal", validationRules: $rules}) {
        applied object { validationRules } } }"""
    bad = client.post(
        "/graphql/metadata",
        json={"query": query, "variables": {"rules": [{**RULE, "error_when": {"stage": {"eq": "x"}}}]}},
    )
    error = bad.json()["errors"][0]["extensions"]
    assert error["code"] == "FILTER_INVALID_VALUE"
    assert error["inputPath"] == ["input", "validationRules", 0, "errorWhen", "stage", "eq"]
    good = client.post("/graphql/metadata", json={"query": query, "variables": {"rules": [RULE]}}).json()[
        "data"
    ]
    assert good["updateObject"]["object"]["validationRules"][0]["message"] == RULE["message"]
