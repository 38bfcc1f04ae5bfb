"""``currency``: an amount of money and its ISO 4217 currency code.

Stored in two columns: the amount in ``<field>`` (exact decimal) and the code in
``<field>__currency``. The value is :class:`Money`; the input is
``{"amount": "12.50", "currency_code": "EUR"}``, or a bare amount when the field has a
``default_currency``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import pycountry
import sqlalchemy as sa

from tessera.metadata.fields.base import Conversion, FieldType, FieldValueError
from tessera.metadata.fields.decimal import (
    coerce_decimal,
    decimal_conversion,
    precision_options_schema,
    scale_problems,
)
from tessera.metadata.model import FieldDef
from tessera.metadata.storage import ColumnContext
from tessera.platform.column_types import ExactDecimal
from tessera.platform.errors import Problem

CURRENCY_COLUMN_SUFFIX = "__currency"
#: how a currency value names its code: documents and events, then the GraphQL API
CODE_KEYS = ("currency_code", "currencyCode")


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency_code: str


def is_currency_code(code: object) -> bool:
    return isinstance(code, str) and len(code) == 3 and pycountry.currencies.get(alpha_3=code) is not None


class CurrencyType(FieldType):
    name = "currency"
    filter_kind = "currency"
    label = "Currency"
    description = "An amount of money with its ISO 4217 currency code."
    supports_unique = False
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **precision_options_schema(18, 2),
            "default_currency": {
                "type": ["string", "null"],
                "pattern": "^[A-Z]{3}$",
                "description": "ISO 4217 code used when an amount is given alone, e.g. 'EUR'.",
            },
            "allowed_currencies": {
                "type": ["array", "null"],
                "items": {"type": "string", "pattern": "^[A-Z]{3}$"},
                "uniqueItems": True,
                "description": "When set, only these ISO 4217 codes are accepted.",
            },
        },
    }

    def normalize_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "precision": 18,
            "scale": 2,
            "default_currency": None,
            "allowed_currencies": None,
            **options,
        }

    def option_problems(self, fld: FieldDef, obj: Any, state: Any) -> list[Problem]:
        problems = scale_problems(fld.options)
        default = fld.options["default_currency"]
        if default is not None and not is_currency_code(default):
            problems.append(
                Problem(
                    "INVALID_CURRENCY",
                    f"'{default}' is not an ISO 4217 currency code.",
                    ("default_currency",),
                )
            )
        for i, code in enumerate(fld.options["allowed_currencies"] or []):
            if not is_currency_code(code):
                problems.append(
                    Problem(
                        "INVALID_CURRENCY",
                        f"'{code}' is not an ISO 4217 currency code.",
                        ("allowed_currencies", i),
                    )
                )
        return problems

    def columns(self, fld: FieldDef, ctx: ColumnContext) -> list[sa.Column[Any]]:
        return [
            sa.Column(fld.api_name, self.column_type(fld), nullable=True),
            sa.Column(fld.api_name + CURRENCY_COLUMN_SUFFIX, sa.String(3), nullable=True),
        ]

    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        return ExactDecimal(int(fld.options["precision"]), int(fld.options["scale"]))

    def column_names(self, fld: FieldDef) -> list[str]:
        return [fld.api_name, fld.api_name + CURRENCY_COLUMN_SUFFIX]

    def to_columns(self, fld: FieldDef, value: Any) -> dict[str, Any]:
        if value is None:
            return {fld.api_name: None, fld.api_name + CURRENCY_COLUMN_SUFFIX: None}
        return {fld.api_name: value.amount, fld.api_name + CURRENCY_COLUMN_SUFFIX: value.currency_code}

    def from_columns(self, fld: FieldDef, row: Mapping[str, Any]) -> Any:
        amount = row[fld.api_name]
        if amount is None:
            return None
        return Money(amount, row[fld.api_name + CURRENCY_COLUMN_SUFFIX])

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        amount: Any
        code: Any
        # The code is ``currency_code`` in documents and events, ``currencyCode`` in the
        # GraphQL API (as the API returns it); problems point at the key that was given.
        code_key = "currency_code"
        if isinstance(value, Money):
            amount, code = value.amount, value.currency_code
        elif isinstance(value, Mapping):
            unknown = set(value) - {"amount", *CODE_KEYS}
            if unknown or all(key in value for key in CODE_KEYS):
                raise FieldValueError(
                    "TYPE_MISMATCH",
                    "A currency value has an 'amount' and one 'currency_code' (or 'currencyCode')"
                    + (f", not {', '.join(sorted(unknown))}." if unknown else "."),
                )
            code_key = next((key for key in CODE_KEYS if key in value), code_key)
            amount, code = value.get("amount"), value.get(code_key)
        else:
            amount, code = value, None
        if amount is None:
            raise FieldValueError("TYPE_MISMATCH", "A currency value needs an amount.", ("amount",))
        code = code or fld.options["default_currency"]
        if code is None:
            raise FieldValueError(
                "CURRENCY_REQUIRED",
                f"'{fld.api_name}' has no default currency: give a {code_key} with the amount.",
                (code_key,),
            )
        if not is_currency_code(code):
            raise FieldValueError(
                "INVALID_CURRENCY", f"'{code}' is not an ISO 4217 currency code.", (code_key,)
            )
        allowed = fld.options["allowed_currencies"]
        if allowed and code not in allowed:
            raise FieldValueError(
                "CURRENCY_NOT_ALLOWED",
                f"'{fld.api_name}' accepts {', '.join(allowed)}, not {code}.",
                (code_key,),
            )
        try:
            number = coerce_decimal(
                fld.api_name, amount, int(fld.options["precision"]), int(fld.options["scale"])
            )
        except FieldValueError as exc:
            raise FieldValueError(exc.code, exc.message, ("amount",)) from None
        return Money(number, code)

    def to_json(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        return {"amount": str(value.amount), "currency_code": value.currency_code}

    def needs_conversion(self, old: FieldDef, new: FieldDef) -> bool:
        return (old.options["precision"], old.options["scale"]) != (
            new.options["precision"],
            new.options["scale"],
        )

    def conversion_from(self, old: FieldDef, new: FieldDef) -> Conversion | None:
        if old.type != "currency":
            return None
        return decimal_conversion("currency", old.options, new.options)
