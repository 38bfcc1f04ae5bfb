from tessera.metadata import changes

from .helpers import coerce, refused, rejected

TAGS = {"choices": [{"value": "vip"}, {"value": "partner"}, {"value": "churn_risk"}]}


def test_values_are_kept_in_option_order_without_repeats():
    assert coerce("multi_select", ["churn_risk", "vip", "vip"], **TAGS) == ["vip", "churn_risk"]
    assert coerce("multi_select", [], **TAGS) == []


def test_each_value_must_be_an_option():
    error = rejected("multi_select", ["vip", "gold"], **TAGS)
    assert (error.code, error.path) == ("INVALID_OPTION", (1,))
    assert rejected("multi_select", "vip", **TAGS).code == "TYPE_MISMATCH"


def test_renaming_an_option_rewrites_stored_lists(object_factory, records, store, workspace, state):
    object_factory("company", fields=[{"api_name": "tags", "type": "multi_select", "options": TAGS}])
    both = records.create(workspace, "company", {"tags": ["vip", "partner"]})
    empty = records.create(workspace, "company", {"tags": []})
    choices = state().object_named("company").field_named("tags").options["choices"]
    renamed = [{**c, "value": "key_account"} if c["value"] == "vip" else dict(c) for c in choices]
    store.apply(workspace, changes.update_field("company", "tags", {"options": {"choices": renamed}}))
    assert records.get(workspace, "company", both["id"])["tags"] == ["key_account", "partner"]
    assert records.get(workspace, "company", empty["id"])["tags"] == []
    error = refused(
        store.apply,
        workspace,
        changes.update_field(
            "company", "tags", {"options": {"choices": [c for c in renamed if c["value"] != "partner"]}}
        ),
    )
    assert error.code == "UNSAFE_TYPE_CHANGE"


def test_select_becomes_multi_select(object_factory, records, store, workspace):
    object_factory("company", fields=[{"api_name": "tier", "type": "select", "options": TAGS}])
    created = records.create(workspace, "company", {"tier": "vip"})
    blank = records.create(workspace, "company", {})
    store.apply(workspace, changes.update_field("company", "tier", {"type": "multi_select"}))
    assert records.get(workspace, "company", created["id"])["tier"] == ["vip"]
    assert records.get(workspace, "company", blank["id"])["tier"] is None
