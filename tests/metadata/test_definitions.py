"""Building objects and fields from input: defaults, shapes, paths."""

import pytest

from tessera.metadata.definitions import build_field, build_object
from tessera.metadata.model import MetadataState
from tessera.platform.errors import TesseraError

EMPTY = MetadataState()


def problems_of(call, *args, **kwargs):
    with pytest.raises(TesseraError) as caught:
        call(*args, **kwargs)
    return {(p.code, p.path) for p in caught.value.problems}


def test_object_defaults_come_from_the_name_and_labels():
    obj = build_object({"api_name": "person", "label_plural": "People"}, EMPTY)
    assert (obj.label_singular, obj.label_plural, obj.plural_api_name) == ("Person", "People", "people")
    assert build_object({"api_name": "deal"}, EMPTY).plural_api_name == "deals"
    assert (
        build_object({"api_name": "series", "label_plural": "Series"}, EMPTY).plural_api_name == "series_list"
    )


def test_field_defaults():
    obj = build_object({"api_name": "deal"}, EMPTY)
    fld = build_field({"api_name": "close_date", "type": "date"}, obj, EMPTY)
    assert (fld.label, fld.required, fld.unique, fld.default, fld.help_text) == (
        "Close date",
        False,
        False,
        None,
        "",
    )


def test_unknown_keys_and_types():
    obj = build_object({"api_name": "deal"}, EMPTY)
    assert problems_of(
        build_field, {"api_name": "x", "type": "text", "colour": 1}, obj, EMPTY, ("input",)
    ) == {("UNKNOWN_KEY", ("input", "colour"))}
    assert problems_of(build_field, {"api_name": "x", "type": "money"}, obj, EMPTY, ("input",)) == {
        ("UNKNOWN_FIELD_TYPE", ("input", "type"))
    }
    assert problems_of(build_object, {"api_name": "deal", "owner_team": "x"}, EMPTY, ("input",)) == {
        ("UNKNOWN_KEY", ("input", "owner_team"))
    }


def test_options_and_defaults_are_checked():
    obj = build_object({"api_name": "deal"}, EMPTY)
    assert problems_of(build_field, {"api_name": "n", "type": "integer", "options": "big"}, obj, EMPTY) == {
        ("INVALID_OPTIONS", ("options",))
    }
    assert problems_of(build_field, {"api_name": "n", "type": "integer", "default": "x"}, obj, EMPTY) == {
        ("INVALID_DEFAULT", ("default",))
    }
    assert problems_of(build_field, {"api_name": "n", "type": "auto_number", "default": "1"}, obj, EMPTY) == {
        ("DEFAULT_NOT_SUPPORTED", ("default",))
    }
    assert problems_of(build_field, {"api_name": "n", "type": "json", "unique": True}, obj, EMPTY) == {
        ("UNIQUE_NOT_SUPPORTED", ("unique",))
    }


def test_a_field_that_cannot_be_built_reports_its_name_too():
    obj = build_object({"api_name": "deal"}, EMPTY)
    assert problems_of(build_field, {"api_name": "Bad", "type": "money"}, obj, EMPTY) == {
        ("UNKNOWN_FIELD_TYPE", ("type",)),
        ("NAME_NOT_SNAKE_CASE", ("api_name",)),
    }


def test_ids_must_be_uuids():
    assert problems_of(build_object, {"api_name": "deal", "id": "42"}, EMPTY, ("objects", 0)) == {
        ("INVALID_ID", ("objects", 0, "id"))
    }


def test_updates_keep_what_the_input_leaves_out():
    obj = build_object(
        {
            "api_name": "deal",
            "fields": [
                {
                    "api_name": "stage",
                    "type": "select",
                    "required": True,
                    "options": {"choices": [{"value": "new"}]},
                }
            ],
        },
        EMPTY,
    )
    state = MetadataState((obj,))
    stage = obj.fields[0]
    updated = build_field({"label": "Pipeline stage"}, obj, state, existing=stage)
    assert (updated.id, updated.required, updated.options) == (stage.id, True, stage.options)
    renamed = build_field(
        {"options": {"choices": [{"value": "new"}, {"value": "won"}]}}, obj, state, existing=stage
    )
    assert renamed.options["choices"][0]["id"] == stage.options["choices"][0]["id"]
