"""Rules over the whole data model."""

from tessera.metadata.definitions import build_object
from tessera.metadata.model import MetadataState
from tessera.metadata.validation import state_problems


def state_of(*objects):
    state = MetadataState()
    for data in objects:
        state = state.with_object(build_object(data, state))
    return state


def test_a_valid_model_has_no_problems():
    state = state_of(
        {"api_name": "company"},
        {
            "api_name": "deal",
            "fields": [{"api_name": "company", "type": "lookup", "options": {"target_object": "company"}}],
        },
    )
    assert state_problems(state) == []


def test_names_and_plurals_must_all_differ():
    state = state_of({"api_name": "deal"}, {"api_name": "deals"})
    problems = {(p.code, p.path) for p in state_problems(state)}
    assert ("DUPLICATE_NAME", ("objects", 1, "api_name")) in problems


def test_duplicate_field_names():
    obj = build_object({"api_name": "deal", "fields": [{"api_name": "a", "type": "text"}]}, MetadataState())
    obj = obj.evolve(fields=(*obj.fields, obj.fields[0].evolve(id=obj.fields[0].id.__class__(int=1))))
    problems = {(p.code, p.path) for p in state_problems(MetadataState((obj,)))}
    assert problems == {("DUPLICATE_NAME", ("objects", 0, "fields", 1, "api_name"))}


def test_a_field_named_like_a_reverse_relation_conflicts():
    state = state_of({"api_name": "company", "fields": [{"api_name": "deals", "type": "integer"}]})
    state = state.with_object(
        build_object(
            {
                "api_name": "deal",
                "fields": [
                    {
                        "api_name": "company",
                        "type": "lookup",
                        "options": {"target_object": "company", "reverse_name": "deals"},
                    }
                ],
            },
            state,
        )
    )
    problems = {(p.code, p.path) for p in state_problems(state)}
    assert ("REVERSE_NAME_CONFLICT", ("objects", 1, "fields", 0, "options", "reverse_name")) in problems


def test_focus_puts_problems_at_the_input():
    state = state_of({"api_name": "deal", "fields": [{"api_name": "Bad", "type": "text"}]})
    obj = state.objects[0]
    problems = state_problems(state, {(obj.id, obj.fields[0].id): ("input",)})
    assert [(p.code, p.path) for p in problems] == [("NAME_NOT_SNAKE_CASE", ("input", "api_name"))]


def test_renaming_a_field_onto_a_relation_name_is_reported_at_the_input(store, workspace, object_factory):
    import pytest

    from tessera.metadata import changes
    from tessera.platform.errors import TesseraError

    object_factory(
        "company",
        fields=[
            {"api_name": "name", "type": "text"},
            {
                "api_name": "parent",
                "type": "lookup",
                "options": {"target_object": "company", "reverse_name": "children"},
            },
        ],
    )
    with pytest.raises(TesseraError) as caught:
        store.apply(workspace, changes.update_field("company", "name", {"api_name": "children"}))
    assert (caught.value.code, caught.value.path) == ("DUPLICATE_NAME", ("input", "api_name"))
    assert "relation from 'company.parent'" in caught.value.problems[0].message
