"""The contract every field type keeps, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from tessera.metadata import changes
from tessera.metadata.fields import FIELD_TYPES, field_type
from tessera.platform.errors import TesseraError

from .conftest import SAMPLES

TYPES = list(FIELD_TYPES)


def test_every_type_has_samples_and_a_test_module():
    assert set(SAMPLES) == set(FIELD_TYPES)
    here = Path(__file__).parent
    missing = [name for name in FIELD_TYPES if not (here / f"test_{name}.py").exists()]
    assert not missing, f"each field type needs its own test module: {missing}"


@pytest.mark.parametrize("type_name", TYPES)
def test_type_describes_itself(type_name):
    ftype = field_type(type_name)
    assert ftype.name == type_name
    assert ftype.label and ftype.description
    jsonschema.Draft202012Validator.check_schema(ftype.options_schema)
    assert ftype.options_schema.get("additionalProperties") is False


@pytest.mark.parametrize("type_name", TYPES)
def test_valid_value_round_trips(type_name, typed_object, records, workspace):
    thing = typed_object(type_name)
    given, expected = thing.sample_value(type_name)
    values = {} if given is None else {"value": given}
    created = records.create(workspace, "thing", values)
    assert created["value"] == expected
    assert records.get(workspace, "thing", created["id"])["value"] == expected


@pytest.mark.parametrize("type_name", [t for t in TYPES if not field_type(t).generated])
def test_null_round_trips(type_name, typed_object, records, workspace):
    typed_object(type_name)
    created = records.create(workspace, "thing", {"value": None})
    assert records.get(workspace, "thing", created["id"])["value"] is None


@pytest.mark.parametrize("type_name", TYPES)
def test_invalid_value_is_rejected_and_nothing_is_written(
    type_name, typed_object, records, workspace, engine
):
    typed_object(type_name)
    sample = SAMPLES[type_name]
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "thing", {"value": sample.invalid})
    assert caught.value.code == sample.invalid_code
    assert caught.value.path[0] == "value"
    assert caught.value.problems[0].message
    assert count_rows(engine, workspace, "thing") == 0


@pytest.mark.parametrize("type_name", TYPES)
def test_options_breaking_the_schema_are_rejected(type_name, object_factory, store, workspace):
    object_factory("target")
    object_factory("thing")
    edit = changes.create_field(
        "thing", {"api_name": "value", "type": type_name, "options": SAMPLES[type_name].bad_options}
    )
    with pytest.raises(TesseraError) as caught:
        store.apply(workspace, edit)
    assert caught.value.code == "INVALID_OPTIONS"
    assert caught.value.path[:2] == ("input", "options")
    assert store.state(workspace).object_named("thing").fields == ()


@pytest.mark.parametrize("type_name", [t for t in TYPES if not field_type(t).generated])
def test_typed_value_survives_json(type_name, typed_object, records, workspace, state):
    """``to_json`` then ``coerce`` gives the value back (exports, events, defaults)."""
    thing = typed_object(type_name)
    _given, expected = thing.sample_value(type_name)
    fld = state().object_named("thing").field_named("value")
    ftype = field_type(type_name)
    assert ftype.coerce(fld, ftype.to_json(fld, expected)) == expected


def count_rows(engine, workspace: str, object_api_name: str) -> int:
    import sqlalchemy as sa

    from tessera.metadata.storage import Namespace

    ns = Namespace(workspace, engine.dialect.name)
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(
                    sa.table(ns.table_name(object_api_name), schema=ns.schema)
                )
            ).scalar_one()
        )
