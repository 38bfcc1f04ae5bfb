from tessera.metadata import changes

from .helpers import coerce, refused, rejected


def test_true_false_and_null(object_factory, records, workspace):
    object_factory("task", fields=[{"api_name": "done", "type": "boolean"}])
    for value in (True, False, None):
        created = records.create(workspace, "task", {"done": value})
        assert records.get(workspace, "task", created["id"])["done"] is value


def test_only_booleans_are_accepted():
    assert coerce("boolean", False) is False
    assert rejected("boolean", 1).code == "TYPE_MISMATCH"
    assert rejected("boolean", "true").code == "TYPE_MISMATCH"


def test_default_fills_new_records_and_existing_ones(object_factory, records, store, workspace):
    object_factory("task", fields=[{"api_name": "title", "type": "text"}])
    existing = records.create(workspace, "task", {"title": "Old"})
    store.apply(
        workspace, changes.create_field("task", {"api_name": "done", "type": "boolean", "default": False})
    )
    assert records.get(workspace, "task", existing["id"])["done"] is False
    assert records.create(workspace, "task", {"title": "New"})["done"] is False


def test_cannot_be_unique(object_factory, store, workspace):
    object_factory("task")
    error = refused(
        store.apply,
        workspace,
        changes.create_field("task", {"api_name": "done", "type": "boolean", "unique": True}),
    )
    assert error.code == "UNIQUE_NOT_SUPPORTED"
