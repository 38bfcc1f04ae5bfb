"""The filter language compiled to SQL — the one implementation behind the GraphQL API,
validation rules, workflow conditions and saved views.

:func:`compile_filter` checks a filter (every problem, with its path) while it builds a
boolean SQL expression over a table (or an alias of it). Lookups and reverse relations
become correlated ``EXISTS`` subqueries over fresh aliases, so filters nest to any depth
and an object may appear several times; soft-deleted related records never match.

Semantics worth knowing (docs/filters.md):

- ``neq`` and ``notIn`` match empty values too; ``eq: null`` is ``isNull: true``.
- A lookup's ``isNull`` follows what reads show: a link to a record in the recycle bin
  counts as empty.
- ``like`` is case-sensitive and ``ilike`` case-insensitive on both databases (SQLite:
  ``GLOB`` for ``like``, ``LIKE`` for ``ilike``, whose case folding covers ASCII letters
  only). In both, ``\\`` escapes the next character (``100\\%``), as PostgreSQL does
  by default; a pattern may not end with a lone ``\\``.
- ``startsWith`` and ``contains`` are case-insensitive and take their text literally.
- Relative dates are computed in ``time_zone``; weeks start on Monday. A date alone where
  a datetime is expected is the instant that day starts in ``time_zone``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from tessera.metadata.fields import FieldValueError, field_type
from tessera.metadata.fields.currency import CURRENCY_COLUMN_SUFFIX
from tessera.metadata.fields.decimal import coerce_decimal
from tessera.metadata.filters import (
    CURRENCY_AMOUNT_OPERATORS,
    CURRENCY_CODE_OPERATORS,
    DATE_PERIODS,
    LOGICAL_KEYS,
    OPERATORS,
    RELATION_QUANTIFIERS,
    RELATIVE_DAYS,
    SYSTEM_FIELD_KINDS,
    Operator,
    filter_kind,
)
from tessera.metadata.model import FieldDef, ObjectDef, Relation
from tessera.metadata.storage import Tables
from tessera.platform.errors import Path, Problem, TesseraError

Expr = ColumnElement[Any]
#: SQL LIKE's escape character, the same on both databases (PostgreSQL's default)
LIKE_ESCAPE = "\\"


class _Invalid(Exception):
    """One problem, raised where it is found and collected by the caller."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def compile_filter(
    filter_doc: Mapping[str, Any] | None,
    obj: ObjectDef,
    table: sa.FromClause,
    tables: Tables,
    *,
    path: Path = ("filter",),
    now: dt.datetime | None = None,
    time_zone: str = "UTC",
    on_relative_time: Callable[[], None] | None = None,
    reach: Reach | None = None,
) -> ColumnElement[bool]:
    """A boolean SQL expression over ``table`` (records of ``obj``) true for the records
    ``filter_doc`` matches; ``None`` or ``{}`` match everything. The table's own
    ``deleted_at`` is left to the caller. Raises :class:`TesseraError` listing every problem.

    ``on_relative_time`` is called when the expression depends on ``now`` (``today``,
    ``lastNDays``, ``within``…): such an expression is only right for a while.

    ``reach`` limits the linked records a filter looks at (through lookups and reverse
    relations) to those the caller may read."""
    compiler = FilterCompiler(tables, now=now, time_zone=time_zone, reach=reach)
    expression = compiler.filter(filter_doc, obj, table, path)
    if compiler.problems:
        raise TesseraError(compiler.problems)
    if compiler.used_now and on_relative_time is not None:
        on_relative_time()
    return expression


#: the conditions of the records of an object (in a table) that a caller may read
Reach = Callable[[ObjectDef, sa.FromClause], list[Expr]]


class FilterCompiler:
    def __init__(
        self,
        tables: Tables,
        *,
        now: dt.datetime | None = None,
        time_zone: str = "UTC",
        reach: Reach | None = None,
    ) -> None:
        self.tables = tables
        self.reach: Reach = reach or (lambda _obj, _table: [])
        self.problems: list[Problem] = []
        try:
            self.zone: dt.tzinfo = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = dt.UTC
        now = now or dt.datetime.now(dt.UTC)
        if now.tzinfo is None:  # a naive instant is taken as UTC, like stored datetimes
            now = now.replace(tzinfo=dt.UTC)
        self._now = now.astimezone(self.zone)
        self.used_now = False

    @property
    def now(self) -> dt.datetime:
        """The current instant in the time zone; reading it marks the filter as relative."""
        self.used_now = True
        return self._now

    # -- structure -----------------------------------------------------------------------
    def filter(self, doc: Any, obj: ObjectDef, table: sa.FromClause, path: Path) -> Expr:
        if doc is None:
            return sa.true()
        if not isinstance(doc, Mapping):
            self.problems.append(
                Problem("FILTER_INVALID", 'A filter is an object: {"field": {"operator": value}}.', path)
            )
            return sa.true()
        parts: list[Expr] = []
        for key, value in doc.items():
            at = (*path, key)
            try:
                parts.append(self.entry(key, value, obj, table, at))
            except _Invalid as invalid:
                self.problems.append(invalid.problem)
        return sa.and_(sa.true(), *parts) if parts else sa.true()

    def entry(self, key: str, value: Any, obj: ObjectDef, table: sa.FromClause, path: Path) -> Expr:
        if key in LOGICAL_KEYS:
            return self.logical(key, value, obj, table, path)
        if key in SYSTEM_FIELD_KINDS:
            return self.operators(value, SYSTEM_FIELD_KINDS[key], table.c[key], None, path)
        fld = obj.field_named(key)
        if fld is not None:
            return self.field(fld, value, obj, table, path)
        for relation in self.tables.state.relations_to(obj.id):
            if relation.reverse_name == key:
                return self.relation(relation, value, table, path)
        known = [*SYSTEM_FIELD_KINDS, *(f.api_name for f in obj.fields)]
        known += [r.reverse_name for r in self.tables.state.relations_to(obj.id)]
        raise _Invalid(
            Problem(
                "FILTER_UNKNOWN_FIELD",
                f"'{obj.api_name}' has no field '{key}' to filter on (fields: {', '.join(known)}).",
                path,
            )
        )

    def logical(self, key: str, value: Any, obj: ObjectDef, table: sa.FromClause, path: Path) -> Expr:
        if key == "not":
            if not isinstance(value, Mapping):
                raise _Invalid(Problem("FILTER_INVALID", "'not' takes one filter object.", path))
            return sa.not_(sa.func.coalesce(self.filter(value, obj, table, path), sa.false()))
        if not isinstance(value, list):
            raise _Invalid(Problem("FILTER_INVALID", f"'{key}' takes a list of filters.", path))
        parts = [self.filter(item, obj, table, (*path, i)) for i, item in enumerate(value)]
        if key == "and":
            return sa.and_(sa.true(), *parts)
        return sa.or_(sa.false(), *parts)

    def field(self, fld: FieldDef, value: Any, obj: ObjectDef, table: sa.FromClause, path: Path) -> Expr:
        kind = filter_kind(fld)
        if kind == "lookup":
            return self.lookup(fld, value, table, path)
        if kind == "currency":
            return self.currency(fld, value, table, path)
        return self.operators(value, kind, table.c[fld.api_name], fld, path)

    def lookup(self, fld: FieldDef, value: Any, table: sa.FromClause, path: Path) -> Expr:
        if not isinstance(value, Mapping):
            raise _Invalid(
                Problem("FILTER_INVALID", f"'{fld.api_name}' takes a filter of the linked record.", path)
            )
        column = table.c[fld.api_name]
        target = self.tables.state.object_by_id(uuid.UUID(str(fld.options["target_object_id"])))
        assert target is not None
        parts: list[Expr] = []
        rest = dict(value)
        if "isNull" in rest:
            try:
                flag = self.flag(rest.pop("isNull"), (*path, "isNull"))
            except _Invalid as invalid:
                self.problems.append(invalid.problem)
            else:
                # As in reads, a link to a record in the recycle bin counts as empty.
                alive = self.tables.of(target).alias()
                linked_live = sa.exists(
                    sa.select(alive.c.id).where(
                        alive.c.id == column, alive.c.deleted_at.is_(None), *self.reach(target, alive)
                    )
                )
                parts.append(~linked_live if flag else linked_live)
        if rest:
            linked = self.tables.of(target).alias()
            condition = self.filter(rest, target, linked, path)
            parts.append(
                sa.exists(
                    sa.select(linked.c.id).where(
                        linked.c.id == column,
                        linked.c.deleted_at.is_(None),
                        *self.reach(target, linked),
                        condition,
                    )
                )
            )
        return sa.and_(sa.true(), *parts)

    def relation(self, relation: Relation, value: Any, table: sa.FromClause, path: Path) -> Expr:
        if not isinstance(value, Mapping) or not value:
            raise _Invalid(
                Problem(
                    "FILTER_INVALID", f"'{relation.reverse_name}' takes some, none or every: {{…}}.", path
                )
            )
        parts: list[Expr] = []
        for quantifier, inner in value.items():
            at = (*path, quantifier)
            if quantifier not in RELATION_QUANTIFIERS:
                self.problems.append(
                    Problem(
                        "FILTER_UNKNOWN_OPERATOR",
                        f"Use some, none or every on '{relation.reverse_name}'.",
                        at,
                    )
                )
                continue
            source = self.tables.of(relation.source_object).alias()
            condition = self.filter(inner, relation.source_object, source, at)
            linked = [
                source.c[relation.source_field.api_name] == table.c.id,
                source.c.deleted_at.is_(None),
                *self.reach(relation.source_object, source),
            ]
            if quantifier == "some":
                parts.append(sa.exists(sa.select(source.c.id).where(*linked, condition)))
            elif quantifier == "none":
                parts.append(~sa.exists(sa.select(source.c.id).where(*linked, condition)))
            else:
                failing = sa.not_(sa.func.coalesce(condition, sa.false()))
                parts.append(~sa.exists(sa.select(source.c.id).where(*linked, failing)))
        return sa.and_(sa.true(), *parts)

    def currency(self, fld: FieldDef, value: Any, table: sa.FromClause, path: Path) -> Expr:
        if not isinstance(value, Mapping):
            raise _Invalid(
                Problem("FILTER_INVALID", f"'{fld.api_name}' takes {{amount: …, currencyCode: …}}.", path)
            )
        amount = table.c[fld.api_name]
        code = table.c[fld.api_name + CURRENCY_COLUMN_SUFFIX]
        parts: list[Expr] = []
        for key, inner in value.items():
            at = (*path, key)
            if key == "isNull":
                parts.append(self.null_check(amount, inner, at))
            elif key == "amount":
                parts.append(self.operators(inner, "number", amount, fld, at, CURRENCY_AMOUNT_OPERATORS))
            elif key == "currencyCode":
                parts.append(self.operators(inner, "text", code, None, at, CURRENCY_CODE_OPERATORS))
            else:
                self.problems.append(
                    Problem(
                        "FILTER_UNKNOWN_OPERATOR",
                        f"A currency filters by amount, currencyCode or isNull, not '{key}'.",
                        at,
                    )
                )
        return sa.and_(sa.true(), *parts)

    # -- operators -------------------------------------------------------------------------
    def operators(
        self,
        value: Any,
        kind: str,
        column: Expr,
        fld: FieldDef | None,
        path: Path,
        allowed: tuple[Operator, ...] | None = None,
    ) -> Expr:
        if not isinstance(value, Mapping):
            raise _Invalid(
                Problem(
                    "FILTER_INVALID",
                    'Give operators and values: {"eq": …}, {"in": […]}, {"isNull": true}…',
                    path,
                )
            )
        operators = {op.name: op for op in (allowed or OPERATORS[kind])}
        parts: list[Expr] = []
        for name, operand in value.items():
            at = (*path, name)
            op = operators.get(name)
            if op is None:
                self.problems.append(
                    Problem(
                        "FILTER_UNKNOWN_OPERATOR",
                        f"'{name}' is not an operator here; use one of: {', '.join(operators)}.",
                        at,
                    )
                )
                continue
            try:
                parts.append(self.operator(op, operand, kind, column, fld, at))
            except _Invalid as invalid:
                self.problems.append(invalid.problem)
        return sa.and_(sa.true(), *parts)

    def operator(
        self, op: Operator, operand: Any, kind: str, column: Expr, fld: FieldDef | None, path: Path
    ) -> Expr:
        name = op.name
        if name == "isNull" and kind == "multi_select":
            # no option chosen: no value, or an empty list
            length = (
                sa.func.json_array_length(column)
                if self.tables.namespace.dialect_name == "sqlite"
                else sa.func.jsonb_array_length(column)
            )
            empty = sa.func.coalesce(length, 0) == 0
            return empty if self.flag(operand, path) else sa.not_(empty)
        if name == "isNull":
            return self.null_check(column, operand, path)
        if op.operand == "value":
            if operand is None:
                return (
                    column.is_(None)
                    if name == "eq"
                    else column.is_not(None)
                    if name == "neq"
                    else self.bad(path, f"'{name}' needs a value.")
                )
            typed = self.value(operand, kind, fld, path)
            if name == "eq":
                equal: Expr = column == typed
                return equal
            if name == "neq":
                return sa.or_(column != typed, column.is_(None))
            comparisons: dict[str, Expr] = {
                "lt": column < typed,
                "lte": column <= typed,
                "gt": column > typed,
                "gte": column >= typed,
            }
            return comparisons[name]
        if op.operand in ("values", "range"):
            if not isinstance(operand, list):
                raise _Invalid(Problem("FILTER_INVALID_VALUE", f"'{name}' takes a list of values.", path))
            values = [self.value(item, kind, fld, (*path, i)) for i, item in enumerate(operand)]
            if op.operand == "range":
                if len(values) != 2:
                    raise _Invalid(
                        Problem("FILTER_INVALID_VALUE", "'between' takes two values: [low, high].", path)
                    )
                return sa.and_(column >= values[0], column <= values[1])
            if kind == "multi_select":
                return self.contains(column, values, every=name == "containsAll")
            if name == "in":
                return column.in_(values) if values else sa.false()
            return sa.or_(column.not_in(values), column.is_(None)) if values else sa.true()
        if op.operand == "pattern":
            if not isinstance(operand, str):
                raise _Invalid(Problem("FILTER_INVALID_VALUE", f"'{name}' takes text.", path))
            if name in ("like", "ilike") and (len(operand) - len(operand.rstrip(LIKE_ESCAPE))) % 2:
                raise _Invalid(
                    Problem(
                        "FILTER_INVALID_VALUE",
                        f"A '{name}' pattern cannot end with a lone \\ (it escapes the next "
                        "character: write \\\\ for a backslash).",
                        path,
                    )
                )
            return self.pattern(name, column, operand)
        if op.operand == "count":
            if not isinstance(operand, int) or isinstance(operand, bool) or operand < 0:
                raise _Invalid(
                    Problem("FILTER_INVALID_VALUE", f"'{name}' takes a number of days (0 or more).", path)
                )
            today = self.now.date()
            if name == "lastNDays":
                return self.day_range(
                    column, kind, today - dt.timedelta(days=operand), today + dt.timedelta(days=1)
                )
            return self.day_range(column, kind, today, today + dt.timedelta(days=operand + 1))
        # period
        if operand not in DATE_PERIODS:
            raise _Invalid(
                Problem(
                    "FILTER_INVALID_VALUE",
                    f"'{operand}' is not a period; use one of: {', '.join(DATE_PERIODS)}.",
                    path,
                )
            )
        start, end = period_bounds(str(operand), self.now.date())
        return self.day_range(column, kind, start, end)

    def bad(self, path: Path, message: str) -> Expr:
        raise _Invalid(Problem("FILTER_INVALID_VALUE", message, path))

    @staticmethod
    def flag(operand: Any, path: Path) -> bool:
        """The operand of ``isNull``."""
        if not isinstance(operand, bool):
            raise _Invalid(Problem("FILTER_INVALID_VALUE", "'isNull' takes true or false.", path))
        return operand

    def null_check(self, column: Expr, operand: Any, path: Path) -> Expr:
        return column.is_(None) if self.flag(operand, path) else column.is_not(None)

    def value(self, operand: Any, kind: str, fld: FieldDef | None, path: Path) -> Any:
        """The operand as a typed value bound like the column's values."""
        if kind == "id":
            try:
                return uuid.UUID(str(operand))
            except ValueError:
                raise _Invalid(
                    Problem("FILTER_INVALID_VALUE", f"'{operand}' is not an id (a UUID).", path)
                ) from None
        if kind in ("date", "datetime") and isinstance(operand, str) and operand in RELATIVE_DAYS:
            day = self.now.date() + dt.timedelta(days=RELATIVE_DAYS[operand])
            return day if kind == "date" else self.start_of(day)
        if kind == "datetime" and operand == "now":
            return self.now.astimezone(dt.UTC)
        if kind in ("select", "multi_select") and fld is not None:
            choices = [c["value"] for c in fld.options.get("choices", [])]
            if operand not in choices:
                raise _Invalid(
                    Problem(
                        "FILTER_INVALID_VALUE",
                        f"'{operand}' is not an option of '{fld.api_name}' (options: {', '.join(choices)}).",
                        path,
                    )
                )
            return operand
        if kind == "datetime" and isinstance(operand, str) and _is_plain_date(operand):
            return self.start_of(dt.date.fromisoformat(operand))
        if kind == "text" and not isinstance(operand, str):
            raise _Invalid(Problem("FILTER_INVALID_VALUE", f"'{operand}' is not text.", path))
        if fld is None and kind == "text":
            return operand
        if fld is None:
            fld = FieldDef(uuid.UUID(int=0), "value", "value", "datetime")
        try:
            typed = self.coerce(fld, operand)
        except FieldValueError as exc:
            raise _Invalid(Problem("FILTER_INVALID_VALUE", exc.message, path)) from None
        if typed is None:
            raise _Invalid(Problem("FILTER_INVALID_VALUE", "Give a value (or use isNull).", path))
        return typed

    @staticmethod
    def coerce(fld: FieldDef, operand: Any) -> Any:
        """An operand checked and converted like a value of ``fld`` — but a filter may name
        values a record could not hold (beyond an integer's bounds, a text's maximum
        length, an auto-number), which simply match nothing (or everything, with ``neq``)."""
        ftype = field_type(fld.type)
        if fld.type == "currency":  # the amount operators
            options = fld.options
            return coerce_decimal(fld.api_name, operand, int(options["precision"]), int(options["scale"]))
        if fld.type == "integer":
            fld = fld.evolve(options={**fld.options, "min_value": None, "max_value": None})
        if ftype.generated:
            return operand.strip() or None
        try:
            return ftype.coerce(fld, operand)
        except FieldValueError as exc:
            if exc.code == "VALUE_TOO_LONG":
                return operand
            raise

    def contains(self, column: Expr, values: list[Any], *, every: bool) -> Expr:
        """Multi-select: has any (or all) of ``values``."""
        from tessera.schema.sql_json import json_dialect

        if not values:
            return sa.true() if every else sa.false()
        elements, element = json_dialect(self.tables.namespace.dialect_name).json_array_elements(column)
        if every:
            found = (
                sa.select(sa.func.count(sa.distinct(element)))
                .select_from(elements)
                .where(element.in_(values))
            )
            return found.scalar_subquery() == len(set(values))
        return sa.exists(sa.select(element).select_from(elements).where(element.in_(values)))

    def pattern(self, name: str, column: Expr, text: str) -> Expr:
        sqlite = self.tables.namespace.dialect_name == "sqlite"
        if name == "like":
            if sqlite:  # SQLite's LIKE ignores ASCII case; GLOB does not
                return column.op("GLOB")(like_to_glob(text))
            return column.like(text, escape=LIKE_ESCAPE)
        if name == "ilike":
            wanted = text
        else:  # startsWith, contains: the text taken literally
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            wanted = f"{escaped}%" if name == "startsWith" else f"%{escaped}%"
        if sqlite:  # SQLite's LIKE ignores ASCII case
            return column.like(wanted, escape=LIKE_ESCAPE)
        return column.ilike(wanted, escape=LIKE_ESCAPE)

    # -- dates -----------------------------------------------------------------------------
    def start_of(self, day: dt.date) -> dt.datetime:
        """The instant (UTC) a local day starts."""
        return dt.datetime.combine(day, dt.time(), tzinfo=self.zone).astimezone(dt.UTC)

    def day_range(self, column: Expr, kind: str, start: dt.date, end: dt.date) -> Expr:
        """Values on the local days from ``start`` (included) to ``end`` (excluded)."""
        if kind == "date":
            return sa.and_(column >= start, column < end)
        return sa.and_(column >= self.start_of(start), column < self.start_of(end))


def _is_plain_date(text: str) -> bool:
    """``YYYY-MM-DD`` (a day, not an instant)."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def like_to_glob(pattern: str) -> str:
    """A LIKE pattern (``\\`` escaping the next character) as a GLOB pattern (SQLite's
    case-sensitive matching)."""
    out = []
    chars = iter(pattern)
    for char in chars:
        if char == LIKE_ESCAPE:
            char = next(chars, LIKE_ESCAPE)
            out.append(f"[{char}]" if char in "*?[" else char)
        elif char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        elif char in "*?[":
            out.append(f"[{char}]")
        else:
            out.append(char)
    return "".join(out)


def period_bounds(period: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """First day (included) and last day (excluded) of a named period around ``today``."""
    if period in ("TODAY", "YESTERDAY", "TOMORROW"):
        day = today + dt.timedelta(days={"TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}[period])
        return day, day + dt.timedelta(days=1)
    when, unit = period.split("_", 1)
    shift = {"THIS": 0, "LAST": -1, "NEXT": 1}[when]
    if unit == "WEEK":
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=shift)
        return monday, monday + dt.timedelta(days=7)
    if unit == "YEAR":
        year = today.year + shift
        return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    months = 3 if unit == "QUARTER" else 1
    first_month = (today.month - 1) // months * months  # 0-based month of the period's start
    index = today.year * 12 + first_month + shift * months
    start = dt.date(index // 12, index % 12 + 1, 1)
    end_index = index + months
    return start, dt.date(end_index // 12, end_index % 12 + 1, 1)
