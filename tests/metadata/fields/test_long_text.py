from tessera.metadata import changes

from .helpers import coerce, refused, rejected


def test_default_limit_is_100000_characters():
    assert coerce("long_text", "x" * 100_000) == "x" * 100_000
    assert rejected("long_text", "x" * 100_001).code == "VALUE_TOO_LONG"


def test_keeps_line_breaks():
    assert coerce("long_text", "first\nsecond\n") == "first\nsecond\n"


def test_cannot_be_unique(object_factory, store, workspace):
    object_factory("note")
    error = refused(
        store.apply,
        workspace,
        changes.create_field("note", {"api_name": "body", "type": "long_text", "unique": True}),
    )
    assert (error.code, error.path) == ("UNIQUE_NOT_SUPPORTED", ("input", "unique"))


def test_text_becomes_long_text_with_its_values(object_factory, records, store, workspace):
    object_factory("note", fields=[{"api_name": "body", "type": "text"}])
    created = records.create(workspace, "note", {"body": "Call back"})
    store.apply(workspace, changes.update_field("note", "body", {"type": "long_text"}))
    assert records.get(workspace, "note", created["id"])["body"] == "Call back"
