"""Column types that behave the same on PostgreSQL and SQLite.

- :class:`UTCDateTime`: ``timestamptz`` on PostgreSQL; on SQLite (no time zones) the value
  is stored in UTC and comes back as an aware UTC datetime.
- :class:`ExactDecimal`: ``numeric(p, s)`` on PostgreSQL; on SQLite (whose numeric
  affinity is a binary float) an integer count of 10^-scale units, so values stay exact
  and still compare and sort correctly in SQL. This caps precision at 18 digits.
- :data:`JSONValue`: ``jsonb`` on PostgreSQL, JSON text on SQLite; ``None`` is SQL NULL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

MAX_DECIMAL_PRECISION = 18


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timezone-aware datetime, normalised to UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.DateTime(timezone=False))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class ExactDecimal(sa.TypeDecorator[Decimal]):
    """An exact decimal with fixed precision and scale on both databases."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int = MAX_DECIMAL_PRECISION, scale: int = 2) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        if dialect.name == "sqlite":
            return int(value.scaleb(self.scale).to_integral_value())
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value).quantize(Decimal(1).scaleb(-self.scale))

    def __repr__(self) -> str:
        return f"ExactDecimal(precision={self.precision}, scale={self.scale})"


#: ``None`` is stored as SQL NULL (not the JSON ``null``), so "no value" is one thing.
JSONValue: TypeEngine[Any] = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)
