from tessera.metadata import changes

from .helpers import make_field, refused, rejected

STAGES = {
    "choices": [{"value": "new"}, {"value": "won", "color": "green"}, {"value": "lost", "retired": True}]
}


def test_options_get_ids_labels_and_defaults():
    fld = make_field("select", **STAGES)
    first = fld.options["choices"][0]
    assert first["label"] == "New"
    assert first["color"] is None and first["retired"] is False
    assert len({c["id"] for c in fld.options["choices"]}) == 3


def test_only_active_options_are_accepted():
    error = rejected("select", "lost", **STAGES)
    assert error.code == "INVALID_OPTION"
    assert "choose one of: new, won" in error.message
    assert rejected("select", "maybe", **STAGES).code == "INVALID_OPTION"


def test_duplicate_values_are_refused(object_factory, store, workspace):
    object_factory("deal")
    error = refused(
        store.apply,
        workspace,
        changes.create_field(
            "deal",
            {"api_name": "stage", "type": "select", "options": {"choices": [{"value": "a"}, {"value": "a"}]}},
        ),
    )
    assert (error.code, error.path) == ("DUPLICATE_OPTION", ("input", "options", "choices", 1, "value"))


def test_default_must_be_an_option(object_factory, store, workspace):
    object_factory("deal")
    error = refused(
        store.apply,
        workspace,
        changes.create_field(
            "deal", {"api_name": "stage", "type": "select", "default": "open", "options": STAGES}
        ),
    )
    assert (error.code, error.path) == ("INVALID_DEFAULT", ("input", "default"))


def test_rename_retire_reorder_and_remove(object_factory, records, store, workspace, state):
    object_factory("deal", fields=[{"api_name": "stage", "type": "select", "options": STAGES}])
    won = records.create(workspace, "deal", {"stage": "won"})
    choices = [dict(c) for c in state().object_named("deal").field_named("stage").options["choices"]]
    renamed = [{**c, "value": "closed_won"} if c["value"] == "won" else c for c in choices][::-1]
    store.apply(workspace, changes.update_field("deal", "stage", {"options": {"choices": renamed}}))
    assert records.get(workspace, "deal", won["id"])["stage"] == "closed_won"
    error = refused(
        store.apply,
        workspace,
        changes.update_field(
            "deal", "stage", {"options": {"choices": [c for c in renamed if c["value"] != "closed_won"]}}
        ),
    )
    assert error.code == "UNSAFE_TYPE_CHANGE"
    assert error.problems[0].details == {"records": 1}
    retired = [{**c, "retired": c["value"] == "closed_won"} for c in renamed]
    store.apply(workspace, changes.update_field("deal", "stage", {"options": {"choices": retired}}))
    assert records.get(workspace, "deal", won["id"])["stage"] == "closed_won"
    assert refused(records.create, workspace, "deal", {"stage": "closed_won"}).code == "INVALID_OPTION"
    unused = [c for c in retired if c["value"] != "new"]
    store.apply(workspace, changes.update_field("deal", "stage", {"options": {"choices": unused}}))
    assert [c["value"] for c in state().object_named("deal").field_named("stage").options["choices"]] == [
        "lost",
        "closed_won",
    ]
