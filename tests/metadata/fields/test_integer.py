from tessera.metadata import changes

from .helpers import coerce, refused, rejected


def test_whole_numbers_including_64_bit_extremes(object_factory, records, workspace):
    object_factory("stock", fields=[{"api_name": "count", "type": "integer"}])
    for number in (0, -(2**63), 2**63 - 1):
        created = records.create(workspace, "stock", {"count": number})
        assert records.get(workspace, "stock", created["id"])["count"] == number


def test_numeric_text_and_integral_floats_are_accepted():
    assert coerce("integer", "42") == 42
    assert coerce("integer", 7.0) == 7


def test_booleans_and_fractions_are_refused():
    assert rejected("integer", True).code == "TYPE_MISMATCH"
    assert rejected("integer", 1.5).code == "TYPE_MISMATCH"
    assert rejected("integer", 2**63).code == "NUMBER_OUT_OF_RANGE"


def test_bounds():
    assert coerce("integer", 10, min_value=1, max_value=10) == 10
    error = rejected("integer", 11, min_value=1, max_value=10)
    assert error.code == "NUMBER_OUT_OF_RANGE"
    assert "from 1 to 10" in error.message


def test_min_above_max_is_refused(object_factory, store, workspace):
    object_factory("stock")
    error = refused(
        store.apply,
        workspace,
        changes.create_field(
            "stock", {"api_name": "count", "type": "integer", "options": {"min_value": 5, "max_value": 1}}
        ),
    )
    assert (error.code, error.path) == ("INVALID_OPTIONS", ("input", "options", "min_value"))
