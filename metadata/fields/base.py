"""The field-type contract. One module per type in this package implements it; adding a
type touches that one module (and its test)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import jsonschema
import sqlalchemy as sa

from tessera.metadata.model import FieldDef, MetadataState, ObjectDef
from tessera.metadata.storage import ColumnContext
from tessera.platform.errors import Path, Problem


class FieldValueError(ValueError):
    """A value a field cannot hold. ``code`` is stable; ``path`` is inside the value."""

    def __init__(self, code: str, message: str, path: Path = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path


@dataclass(frozen=True)
class Conversion:
    """How existing data follows a change of type (or of storage options).

    ``postgresql`` and ``sqlite`` are SQL expressions for the new value of the column
    (``{col}`` stands for the quoted column): PostgreSQL uses its expression as the
    ``USING`` clause when the column type changes and as ``SET`` otherwise; SQLite, loosely
    typed, keeps the column and rewrites values with ``SET``. ``None`` means the values stay
    as they are. ``blocking_rows_where`` selects the rows that cannot be converted: when
    any exist, the change is refused with their count (``sqlite_blocking_rows_where``
    replaces it on SQLite where the two dialects' SQL differs).
    """

    postgresql: str | None = None
    sqlite: str | None = None
    blocking_rows_where: str | None = None
    sqlite_blocking_rows_where: str | None = None

    def expression_for(self, dialect_name: str) -> str | None:
        return self.sqlite if dialect_name == "sqlite" else self.postgresql

    def blocking_for(self, dialect_name: str) -> str | None:
        if dialect_name == "sqlite" and self.sqlite_blocking_rows_where is not None:
            return self.sqlite_blocking_rows_where
        return self.blocking_rows_where


class FieldType:
    """Everything Tessera knows about one field type.

    Values come in three shapes: the *input* (JSON-like, from GraphQL, YAML, imports), the
    *value* (typed Python, after :meth:`coerce`) and the *stored* columns
    (:meth:`to_columns`/:meth:`from_columns`).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    #: JSON Schema of the ``options`` object (defaults are filled by :meth:`normalize_options`).
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {},
    }
    #: which operators filter it (see tessera.metadata.filters.OPERATORS)
    filter_kind: ClassVar[str] = "text"
    supports_unique: ClassVar[bool] = True
    supports_default: ClassVar[bool] = True
    #: a plain index on the first column (lookups)
    indexed: ClassVar[bool] = False
    #: values are generated, never written by users (auto_number)
    generated: ClassVar[bool] = False
    #: defaults computed when a record is created ("today", "now")
    dynamic_defaults: ClassVar[frozenset[str]] = frozenset()

    # -- options ---------------------------------------------------------------------
    @cached_property
    def options_validator(self) -> jsonschema.Draft202012Validator:
        """Checks options against :attr:`options_schema` (built once per type)."""
        return jsonschema.Draft202012Validator(self.options_schema, format_checker=jsonschema.FormatChecker())

    def normalize_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Options with defaults filled in; called after JSON Schema validation."""
        return dict(options)

    def resolve_options(
        self, options: Mapping[str, Any], obj: ObjectDef, state: MetadataState
    ) -> dict[str, Any]:
        """Options with names of other metadata turned into stable ids (lookups)."""
        return dict(options)

    def carry_over_options(self, existing: FieldDef, options: dict[str, Any]) -> dict[str, Any]:
        """New options for an existing field, with what input leaves implicit taken from
        the stored ones (select options matched by value keep their ids)."""
        return options

    def portable_options(self, options: Mapping[str, Any], state: MetadataState) -> dict[str, Any]:
        """Options as written in an export: stable ids of other metadata turned into names."""
        return dict(options)

    def option_problems(self, fld: FieldDef, obj: ObjectDef, state: MetadataState) -> list[Problem]:
        """Rules the JSON Schema cannot express (paths relative to ``options``)."""
        return []

    # -- storage ---------------------------------------------------------------------
    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        raise NotImplementedError

    def columns(self, fld: FieldDef, ctx: ColumnContext) -> list[sa.Column[Any]]:
        """The field's column(s); the first one is the one unique indexes cover."""
        return [sa.Column(fld.api_name, self.column_type(fld), nullable=True)]

    def column_names(self, fld: FieldDef) -> list[str]:
        return [fld.api_name]

    def to_columns(self, fld: FieldDef, value: Any) -> dict[str, Any]:
        return {fld.api_name: value}

    def from_columns(self, fld: FieldDef, row: Mapping[str, Any]) -> Any:
        return row[fld.api_name]

    def conversion_from(self, old: FieldDef, new: FieldDef) -> Conversion | None:
        """How data of ``old`` (another type, or the same type with other options) becomes
        data of ``new``; ``None`` when that cannot be done without loss."""
        return None

    def needs_conversion(self, old: FieldDef, new: FieldDef) -> bool:
        """Whether an options change of the same type changes stored data."""
        return False

    # -- values ----------------------------------------------------------------------
    def coerce(self, fld: FieldDef, value: Any) -> Any:
        """The typed value for an input (``None`` stays ``None``); raises
        :class:`FieldValueError`."""
        raise NotImplementedError

    def to_json(self, fld: FieldDef, value: Any) -> Any:
        """A JSON-safe rendering of a typed value (exports, events, defaults)."""
        return value

    def is_dynamic_default(self, default: Any) -> bool:
        """Whether ``default`` is computed per record ("today", "now") rather than a value."""
        return isinstance(default, str) and default in self.dynamic_defaults

    def default_value(self, fld: FieldDef) -> Any:
        """The typed value a new record gets when none is given."""
        if fld.default is None:
            return None
        return self.coerce(fld, fld.default)


class TextualFieldType(FieldType):
    """A type stored as text. ``None`` and blank input mean no value; anything but a
    string is refused; :meth:`coerce_text` checks and normalises the rest."""

    #: what the field takes, in words, for the type-mismatch message
    takes: ClassVar[str] = "text"

    def column_type(self, fld: FieldDef) -> sa.types.TypeEngine[Any]:
        # Text on both databases: limits are rules of the field, enforced on write, so
        # changing them never rewrites the table.
        return sa.Text()

    def coerce(self, fld: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise FieldValueError("TYPE_MISMATCH", f"'{fld.api_name}' takes {self.takes}.")
        if value.strip() == "":
            return None
        return self.coerce_text(fld, value)

    def coerce_text(self, fld: FieldDef, text: str) -> str:
        return text
