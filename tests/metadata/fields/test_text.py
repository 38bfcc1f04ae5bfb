from tessera.metadata import changes

from .helpers import coerce, refused, rejected


def test_max_length_defaults_to_255_and_is_enforced():
    assert coerce("text", "x" * 255) == "x" * 255
    error = rejected("text", "x" * 256)
    assert error.code == "VALUE_TOO_LONG"
    assert "at most 255 characters (256 given)" in error.message


def test_blank_text_is_no_value():
    assert coerce("text", "") is None
    assert coerce("text", "   ") is None


def test_other_values_are_refused():
    assert rejected("text", 12).code == "TYPE_MISMATCH"


def test_unique_text_refuses_a_second_record_with_the_value(object_factory, records, workspace):
    object_factory("company", fields=[{"api_name": "name", "type": "text", "unique": True}])
    records.create(workspace, "company", {"name": "Acme"})
    error = refused(records.create, workspace, "company", {"name": "Acme"})
    assert (error.code, error.path) == ("DUPLICATE_VALUE", ("name",))


def test_shortening_is_refused_while_longer_values_exist(object_factory, records, store, workspace):
    object_factory("company", fields=[{"api_name": "name", "type": "text"}])
    records.create(workspace, "company", {"name": "A long company name"})
    error = refused(
        store.apply, workspace, changes.update_field("company", "name", {"options": {"max_length": 5}})
    )
    assert (error.code, error.path) == ("UNSAFE_TYPE_CHANGE", ("input", "options"))
    store.apply(workspace, changes.update_field("company", "name", {"options": {"max_length": 50}}))
