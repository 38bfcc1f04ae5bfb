from tessera.metadata import changes

from .helpers import coerce, rejected


def test_normalised_and_checked():
    assert coerce("email", " Ada.Lovelace@Example.ORG ") == "Ada.Lovelace@example.org"
    for bad in ("ada", "ada@", "@example.org", "ada@@example.org"):
        assert rejected("email", bad).code == "INVALID_EMAIL"
    assert rejected("email", 3).code == "TYPE_MISMATCH"


def test_email_becomes_text_unchanged(object_factory, records, store, workspace):
    object_factory("person", fields=[{"api_name": "contact", "type": "email"}])
    created = records.create(workspace, "person", {"contact": "ada@example.org"})
    store.apply(workspace, changes.update_field("person", "contact", {"type": "text"}))
    assert records.get(workspace, "person", created["id"])["contact"] == "ada@example.org"
