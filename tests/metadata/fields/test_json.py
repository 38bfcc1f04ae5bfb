from tessera.metadata import changes

from .helpers import coerce, refused, rejected

SCHEMA = {"type": "object", "properties": {"seats": {"type": "integer", "minimum": 1}}, "required": ["seats"]}


def test_any_json_without_a_schema(object_factory, records, workspace):
    object_factory("subscription", fields=[{"api_name": "data", "type": "json"}])
    for value in ({"a": [1, 2, {"b": None}]}, [1, "two"], "text", 3.5, True):
        created = records.create(workspace, "subscription", {"data": value})
        assert records.get(workspace, "subscription", created["id"])["data"] == value


def test_schema_violations_point_inside_the_value():
    assert coerce("json", {"seats": 3}, schema=SCHEMA) == {"seats": 3}
    error = rejected("json", {"seats": 0}, schema=SCHEMA)
    assert (error.code, error.path) == ("JSON_SCHEMA_VIOLATION", ("seats",))
    assert rejected("json", float("nan")).code == "TYPE_MISMATCH"


def test_an_invalid_schema_is_refused(object_factory, store, workspace):
    object_factory("subscription")
    error = refused(
        store.apply,
        workspace,
        changes.create_field(
            "subscription", {"api_name": "data", "type": "json", "options": {"schema": {"type": "bogus"}}}
        ),
    )
    assert error.code == "INVALID_JSON_SCHEMA"
    assert error.path[:3] == ("input", "options", "schema")


def test_an_object_default_fills_existing_records(object_factory, records, store, workspace):
    object_factory("subscription", fields=[{"api_name": "name", "type": "text"}])
    existing = records.create(workspace, "subscription", {"name": "Pro"})
    store.apply(
        workspace,
        changes.create_field("subscription", {"api_name": "limits", "type": "json", "default": {"seats": 5}}),
    )
    assert records.get(workspace, "subscription", existing["id"])["limits"] == {"seats": 5}
    error = refused(
        store.apply,
        workspace,
        changes.create_field("subscription", {"api_name": "label", "type": "text", "default": {"seats": 5}}),
    )
    assert (error.code, error.path) == ("INVALID_DEFAULT", ("input", "default"))
