"""``decimal``: an exact decimal number with ``precision`` digits, ``scale`` of them after
the point (at most 18 digits, so values stay exact on SQLite too)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import sqlalchemy as sa

from tessera.metadata.fields.base import Conversion, FieldType, FieldValueError
from tessera.metadata.model import FieldDef
from tessera.platform.column_types import MAX_DECIMAL_PRECISION, ExactDecimal
from tessera.platform.errors import Problem

DECIMAL_SOURCES = frozenset({"decimal", "percent"})


def precision_options_schema(default_precision: int, default_scale: int) -> dict[str, Any]:
    return {
        "precision": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_DECIMAL_PRECISION,
            "description": f"Total number of digits (default {default_precision}).",
        },
        "scale": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_DECIMAL_PRECISION,
            "description": f"Digits after the decimal point (default {default_scale}).",
        },
    }


def scale_problems(options: Mapping[str, Any]) -> list[Problem]:
    if int(options["scale"]) > int(options["precision"]):
        return [Problem("INVALID_OPTIONS", "scale cannot be larger than precision.", ("scale",))]
    return []


def coerce_decimal(api_name: str, value: Any, precision: int, scale: int) -> Decimal:
    """An exact decimal that fits ``numeric(precision, scale)``; never rounds silently."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise FieldValueError("TYPE_MISMATCH", f"'{api_name}' takes a number.")
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise FieldValueError("TYPE_MISMATCH", f"'{value}' is not a number.") from None
    if not number.is_finite():
        raise FieldValueError("TYPE_MISMATCH", f"'{value}' is not a finite number.")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > scale and number != number.quantize(Decimal(1).scaleb(-scale)):
        raise FieldValueError(
            "TOO_MANY_DECIMALS",
            f"'{api_name}' takes at most {scale} digits after the decimal point.",
        )
    number = number.quantize(Decimal(1).scaleb(-scale))
    if abs(number) >= Decimal(10) ** (precision - scale):
        raise FieldValueError(
            "NUMBER_OUT_OF_RANGE",
            f"'{api_name}' takes at most {precision - scale} digits before the decimal point.",
        )
    return number


def decimal_conversion(
    old_type: str, old_options: Mapping[str, Any], new_options: Mapping[str, Any]
) -> Conversion | None:
    """integer → decimal, or a decimal to one with at least as many digits on each side of
    the point. SQLite stores decimals as integers of 10^-scale units, so it rescales."""
    new_precision, new_scale = int(new_options["precision"]), int(new_options["scale"])
    pg = f"CAST({{col}} AS NUMERIC({new_precision}, {new_scale}))"
    if old_type == "integer":
        return Conversion(
            postgresql=pg,
            sqlite=f"{{col}} * {10**new_scale}",
            blocking_rows_where=f"abs({{col}}) >= {10 ** (new_precision - new_scale)}",
        )
    old_precision, old_scale = int(old_options["precision"]), int(old_options["scale"])
    if new_scale < old_scale or new_precision - new_scale < old_precision - old_scale:
        return None
    return Conversion(postgresql=pg, sqlite=f"{{col}} * {10 ** (new_scale - old_scale)}")


class DecimalType(FieldType):
    name = "decimal"
    filter_kind = "number"
    label = "Decimal"
    description = "An exact decimal number (amounts, quantities)."
    default_precision: ClassVar[int] = 18
    default_scale: ClassVar[int] = 2
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": precision_options_schema(18, 2),
    }

    def normalize_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"precision": self.default_precision, "scale": self.default_scale, **options}

    def option_problems(self, fld: FieldDef, obj: Any, state: Any) -> list[Problem]:
        return scale_problems(fld.options)

    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        return ExactDecimal(int(fld.options["precision"]), int(fld.options["scale"]))

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        return coerce_decimal(fld.api_name, value, int(fld.options["precision"]), int(fld.options["scale"]))

    def to_json(self, fld: FieldDef, value: Any) -> Any:
        return None if value is None else str(value)

    def needs_conversion(self, old: FieldDef, new: FieldDef) -> bool:
        return (old.options["precision"], old.options["scale"]) != (
            new.options["precision"],
            new.options["scale"],
        )

    def conversion_from(self, old: FieldDef, new: FieldDef) -> Conversion | None:
        if old.type == "integer" or old.type in DECIMAL_SOURCES:
            return decimal_conversion(old.type, old.options, new.options)
        return None
