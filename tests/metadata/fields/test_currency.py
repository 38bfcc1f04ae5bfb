from decimal import Decimal

import sqlalchemy as sa

from tessera.metadata import changes
from tessera.metadata.fields import Money
from tessera.metadata.storage import Namespace

from .helpers import coerce, refused, rejected


def test_amount_and_code_are_stored_in_two_columns(object_factory, records, workspace, engine):
    object_factory("deal", fields=[{"api_name": "amount", "type": "currency"}])
    records.create(workspace, "deal", {"amount": {"amount": "99.90", "currency_code": "JPY"}})
    ns = Namespace(workspace, engine.dialect.name)
    columns = {c["name"] for c in sa.inspect(engine).get_columns(ns.table_name("deal"), schema=ns.schema)}
    assert {"amount", "amount__currency"} <= columns
    with engine.connect() as conn:
        code = conn.execute(
            sa.text(f"SELECT amount__currency FROM {ns.qualified_table_name('deal')}")
        ).scalar_one()
    assert code == "JPY"


def test_a_bare_amount_takes_the_default_currency():
    assert coerce("currency", "10", default_currency="EUR") == Money(Decimal("10.00"), "EUR")
    error = rejected("currency", "10")
    assert (error.code, error.path) == ("CURRENCY_REQUIRED", ("currency_code",))


def test_codes_are_iso_4217_and_may_be_restricted():
    assert rejected("currency", {"amount": 1, "currency_code": "ABC"}).code == "INVALID_CURRENCY"
    error = rejected("currency", {"amount": 1, "currency_code": "GBP"}, allowed_currencies=["EUR", "USD"])
    assert error.code == "CURRENCY_NOT_ALLOWED"
    assert (
        coerce("currency", {"amount": 1, "currency_code": "USD"}, allowed_currencies=["USD"]).currency_code
        == "USD"
    )


def test_amount_errors_point_at_the_amount():
    error = rejected("currency", {"amount": "1.234", "currency_code": "EUR"})
    assert (error.code, error.path) == ("TOO_MANY_DECIMALS", ("amount",))
    assert rejected("currency", {"amount": 1, "currency_code": "EUR", "rate": 2}).code == "TYPE_MISMATCH"


def test_invalid_default_currency_option(object_factory, store, workspace):
    object_factory("deal")
    error = refused(
        store.apply,
        workspace,
        changes.create_field(
            "deal", {"api_name": "amount", "type": "currency", "options": {"default_currency": "XXY"}}
        ),
    )
    assert (error.code, error.path) == ("INVALID_CURRENCY", ("input", "options", "default_currency"))
