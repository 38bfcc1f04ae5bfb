from tessera.metadata.definitions import build_object
from tessera.metadata.diff import (
    FieldCreated,
    FieldDeleted,
    FieldUpdated,
    ObjectCreated,
    ObjectDeleted,
    ObjectUpdated,
    diff_states,
)
from tessera.metadata.model import MetadataState


def model():
    state = MetadataState()
    for data in (
        {"api_name": "company", "fields": [{"api_name": "name", "type": "text"}]},
        {
            "api_name": "deal",
            "fields": [{"api_name": "title", "type": "text"}, {"api_name": "amount", "type": "integer"}],
        },
    ):
        state = state.with_object(build_object(data, state))
    return state


def test_identical_states_have_no_changes():
    state = model()
    assert diff_states(state, state) == []


def test_changes_are_matched_by_stable_id_not_name():
    before = model()
    deal = before.object_named("deal")
    title, amount = deal.fields
    after = before.with_object(
        deal.evolve(
            api_name="opportunity", fields=(title.evolve(api_name="name"), amount.evolve(type="decimal"))
        )
    )
    kinds = [type(c) for c in diff_states(before, after)]
    assert kinds == [ObjectUpdated, FieldUpdated, FieldUpdated]
    described = [c.describe() for c in diff_states(before, after)]
    assert described[0] == "Rename object 'deal' to 'opportunity'"
    assert "rename to 'name'" in described[1]
    assert "change type integer → decimal" in described[2]


def test_deletions_come_first_then_updates_then_creations():
    before = model()
    company = before.object_named("company")
    deal = before.object_named("deal")
    new_object = build_object({"api_name": "lead"}, before)
    after = (
        before.without_object(company.id)
        .with_object(deal.evolve(fields=(*deal.fields[1:], deal.fields[0].evolve(label="Title!"))))
        .with_object(new_object)
    )
    after = after.with_object(
        after.object_named("deal").evolve(
            fields=(
                *after.object_named("deal").fields,
                build_object(
                    {"api_name": "x", "fields": [{"api_name": "stage", "type": "text"}]}, before
                ).fields[0],
            )
        )
    )
    kinds = [type(c) for c in diff_states(before, after)]
    assert kinds == [ObjectDeleted, ObjectUpdated, FieldUpdated, ObjectCreated, FieldCreated]


def test_deleted_field_and_change_log_form():
    before = model()
    deal = before.object_named("deal")
    after = before.with_object(deal.evolve(fields=deal.fields[:1]))
    (change,) = diff_states(before, after)
    assert isinstance(change, FieldDeleted)
    as_dict = change.as_dict()
    assert as_dict["change"] == "field_deleted" and as_dict["before"]["api_name"] == "amount"
