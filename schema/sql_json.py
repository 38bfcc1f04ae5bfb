"""JSON built by the database, the same on PostgreSQL and SQLite.

The read planner asks the database for the response itself: every record, nested record
and connection is a JSON value computed in SQL, so Python only parses one string. This
module holds the dialect differences: how to build objects and arrays, and how each field
type's stored columns become the JSON value the API promises (see
docs/record-api.md: decimals as exact strings, datetimes as ISO strings in UTC,
UUIDs with dashes, booleans as true/false).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from tessera.platform.column_types import ExactDecimal

Expr = ColumnElement[Any]

# PostgreSQL functions take at most 100 arguments, SQLite's at most 127 by default.
PAIRS_PER_CALL = 48


class JsonDialect:
    """How one database builds JSON."""

    name: str

    def object(self, pairs: Sequence[tuple[str, Expr]]) -> Expr:
        raise NotImplementedError

    def array(self, items: Sequence[Expr]) -> Expr:
        raise NotImplementedError

    def array_agg(self, item: Expr, order_by: Expr | None = None) -> Expr:
        """The items of a group as a JSON array, ``[]`` when there are none."""
        raise NotImplementedError

    def embed(self, json_text: Expr) -> Expr:
        """A JSON value that crossed a subquery boundary, usable inside :meth:`object`."""
        raise NotImplementedError

    def boolean(self, column: Expr) -> Expr:
        raise NotImplementedError

    def uuid(self, column: Expr) -> Expr:
        raise NotImplementedError

    def date(self, column: Expr) -> Expr:
        raise NotImplementedError

    def datetime(self, column: Expr) -> Expr:
        raise NotImplementedError

    def decimal(self, column: Expr, scale: int) -> Expr:
        raise NotImplementedError

    def json_column(self, column: Expr) -> Expr:
        raise NotImplementedError

    def json_array_elements(self, column: Expr) -> tuple[sa.FromClause, Expr]:
        """A table of the text elements of a JSON array column, and its value column."""
        raise NotImplementedError

    def hex_text(self, text: Expr) -> Expr:
        """The hexadecimal of ``text``'s UTF-8 bytes (cursors)."""
        raise NotImplementedError

    def to_text(self, json_value: Expr) -> Expr:
        raise NotImplementedError


class PostgresJson(JsonDialect):
    name = "postgresql"

    def object(self, pairs: Sequence[tuple[str, Expr]]) -> Expr:
        chunks = [pairs[i : i + PAIRS_PER_CALL] for i in range(0, len(pairs), PAIRS_PER_CALL)] or [[]]
        built = [sa.func.json_build_object(*_flatten(chunk), type_=sa.JSON) for chunk in chunks]
        if len(built) == 1:
            return built[0]
        # More than 48 keys: merged as jsonb (whose keys are not kept in selection order).
        merged: Expr = sa.cast(built[0], postgresql.JSONB)
        for part in built[1:]:
            merged = merged.op("||")(sa.cast(part, postgresql.JSONB))
        return sa.cast(merged, sa.JSON)

    def array(self, items: Sequence[Expr]) -> Expr:
        return sa.func.json_build_array(*items, type_=sa.JSON)

    def array_agg(self, item: Expr, order_by: Expr | None = None) -> Expr:
        return sa.func.coalesce(
            sa.func.json_agg(
                item if order_by is None else postgresql.aggregate_order_by(item, order_by), type_=sa.JSON
            ),
            sa.literal_column("'[]'::json"),
        )

    def embed(self, json_text: Expr) -> Expr:
        return json_text

    def boolean(self, column: Expr) -> Expr:
        return column

    def uuid(self, column: Expr) -> Expr:
        return sa.cast(column, sa.Text)

    def date(self, column: Expr) -> Expr:
        return sa.func.to_char(column, "YYYY-MM-DD")

    def datetime(self, column: Expr) -> Expr:
        return sa.func.to_char(sa.func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')

    def decimal(self, column: Expr, scale: int) -> Expr:
        return sa.cast(column, sa.Text)

    def json_column(self, column: Expr) -> Expr:
        return column

    def json_array_elements(self, column: Expr) -> tuple[sa.FromClause, Expr]:
        elements = sa.func.jsonb_array_elements_text(column).table_valued("value").alias()
        return elements, elements.c.value

    def hex_text(self, text: Expr) -> Expr:
        return sa.func.encode(sa.func.convert_to(text, "UTF8"), "hex")

    def to_text(self, json_value: Expr) -> Expr:
        return sa.cast(json_value, sa.Text)


class SqliteJson(JsonDialect):
    name = "sqlite"

    def object(self, pairs: Sequence[tuple[str, Expr]]) -> Expr:
        head, rest = pairs[:PAIRS_PER_CALL], pairs[PAIRS_PER_CALL:]
        built: Expr = sa.func.json_object(*_flatten(head), type_=sa.JSON)
        while rest:
            chunk, rest = rest[:PAIRS_PER_CALL], rest[PAIRS_PER_CALL:]
            args: list[Any] = []
            for key, value in chunk:
                args += [sql_string(f'$."{key}"'), value]
            built = sa.func.json_insert(built, *args, type_=sa.JSON)
        return built

    def array(self, items: Sequence[Expr]) -> Expr:
        return sa.func.json_array(*items, type_=sa.JSON)

    def array_agg(self, item: Expr, order_by: Expr | None = None) -> Expr:
        # SQLite 3.40 has no ORDER BY inside aggregates: the caller aggregates over a
        # subquery already in order (with a LIMIT, so it is never flattened).
        return sa.func.json_group_array(item, type_=sa.JSON)

    def embed(self, json_text: Expr) -> Expr:
        return sa.func.json(json_text, type_=sa.JSON)

    def boolean(self, column: Expr) -> Expr:
        return sa.func.json(
            sa.case((column.is_(None), "null"), (column == sa.true(), "true"), else_="false"),
            type_=sa.JSON,
        )

    def uuid(self, column: Expr) -> Expr:
        # sa.Uuid stores 32 hexadecimal digits on SQLite.
        def part(start: int, length: int | None = None) -> Expr:
            return sa.func.substr(column, start, length) if length else sa.func.substr(column, start)

        dashed = part(1, 8) + "-" + part(9, 4) + "-" + part(13, 4) + "-" + part(17, 4) + "-" + part(21)
        return sa.case((column.is_(None), sa.null()), else_=sa.func.lower(dashed))

    def date(self, column: Expr) -> Expr:
        return column

    def datetime(self, column: Expr) -> Expr:
        # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff" (UTC, see UTCDateTime).
        return sa.func.replace(column, " ", "T") + "Z"

    def decimal(self, column: Expr, scale: int) -> Expr:
        # ExactDecimal stores an integer count of 10^-scale units.
        if scale == 0:
            return sa.func.printf("%d", column)
        unit = 10**scale
        sign = sa.case((column < 0, "-"), else_="")
        text = sa.func.printf(
            f"%s%d.%0{scale}d", sign, sa.func.abs(column) // unit, sa.func.abs(column) % unit
        )
        return sa.case((column.is_(None), sa.null()), else_=text)

    def json_column(self, column: Expr) -> Expr:
        return sa.func.json(column, type_=sa.JSON)

    def json_array_elements(self, column: Expr) -> tuple[sa.FromClause, Expr]:
        elements = sa.func.json_each(column).table_valued("value").alias()
        return elements, elements.c.value

    def hex_text(self, text: Expr) -> Expr:
        return sa.func.hex(text)

    def to_text(self, json_value: Expr) -> Expr:
        return json_value


def json_dialect(name: str) -> JsonDialect:
    return PostgresJson() if name == "postgresql" else SqliteJson()


def decimal_scale(column_type: Any) -> int | None:
    return column_type.scale if isinstance(column_type, ExactDecimal) else None


def sql_string(text: str) -> Expr:
    """A string constant written into the SQL (standard quoting), not a parameter:
    PostgreSQL cannot infer the type of a parameter given to ``json_build_object``."""
    return sa.type_coerce(sa.literal_column("'" + text.replace("'", "''") + "'"), sa.Text)


def _flatten(pairs: Sequence[tuple[str, Expr]]) -> list[Any]:
    out: list[Any] = []
    for key, value in pairs:
        out += [sql_string(key), value]
    return out
