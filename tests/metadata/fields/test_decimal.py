from decimal import Decimal

from tessera.metadata import changes

from .helpers import coerce, refused, rejected


def test_values_stay_exact_at_18_digits(object_factory, records, workspace):
    object_factory("ledger", fields=[{"api_name": "amount", "type": "decimal"}])
    for text in ("9999999999999999.99", "-0.01", "0.10"):
        created = records.create(workspace, "ledger", {"amount": text})
        assert records.get(workspace, "ledger", created["id"])["amount"] == Decimal(text)


def test_never_rounds_silently():
    assert coerce("decimal", "1.50") == Decimal("1.50")
    assert coerce("decimal", "1.500") == Decimal("1.50")  # trailing zeros are not precision
    error = rejected("decimal", "1.005")
    assert error.code == "TOO_MANY_DECIMALS"


def test_integer_digits_are_limited_by_precision():
    assert rejected("decimal", "1000", precision=5, scale=2).code == "NUMBER_OUT_OF_RANGE"
    assert coerce("decimal", "999.99", precision=5, scale=2) == Decimal("999.99")


def test_non_numbers_are_refused():
    assert rejected("decimal", "abc").code == "TYPE_MISMATCH"
    assert rejected("decimal", "NaN").code == "TYPE_MISMATCH"
    assert rejected("decimal", True).code == "TYPE_MISMATCH"


def test_scale_above_precision_is_refused(object_factory, store, workspace):
    object_factory("ledger")
    error = refused(
        store.apply,
        workspace,
        changes.create_field(
            "ledger", {"api_name": "amount", "type": "decimal", "options": {"precision": 4, "scale": 6}}
        ),
    )
    assert (error.code, error.path) == ("INVALID_OPTIONS", ("input", "options", "scale"))


def test_more_scale_keeps_values_less_scale_is_refused(object_factory, records, store, workspace):
    object_factory("ledger", fields=[{"api_name": "amount", "type": "decimal", "options": {"precision": 10}}])
    created = records.create(workspace, "ledger", {"amount": "12.34"})
    store.apply(
        workspace, changes.update_field("ledger", "amount", {"options": {"precision": 12, "scale": 4}})
    )
    assert records.get(workspace, "ledger", created["id"])["amount"] == Decimal("12.3400")
    error = refused(
        store.apply, workspace, changes.update_field("ledger", "amount", {"options": {"scale": 1}})
    )
    assert error.code == "UNSAFE_TYPE_CHANGE"


def test_integer_becomes_decimal_exactly(object_factory, records, store, workspace):
    object_factory("ledger", fields=[{"api_name": "amount", "type": "integer"}])
    created = records.create(workspace, "ledger", {"amount": 1234567})
    store.apply(
        workspace, changes.update_field("ledger", "amount", {"type": "decimal", "options": {"scale": 3}})
    )
    assert records.get(workspace, "ledger", created["id"])["amount"] == Decimal("1234567.000")
