from decimal import Decimal

from .helpers import coerce, rejected


def test_percent_is_the_number_shown(object_factory, records, workspace):
    object_factory("deal", fields=[{"api_name": "probability", "type": "percent"}])
    created = records.create(workspace, "deal", {"probability": 12.5})
    assert records.get(workspace, "deal", created["id"])["probability"] == Decimal("12.50")


def test_default_precision_leaves_five_integer_digits():
    assert coerce("percent", "99999.99") == Decimal("99999.99")
    assert rejected("percent", "100000").code == "NUMBER_OUT_OF_RANGE"
