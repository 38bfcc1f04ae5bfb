"""The field-type registry: one module per type, each a :class:`FieldType`."""

from __future__ import annotations

from tessera.metadata.fields.auto_number import AutoNumberType
from tessera.metadata.fields.base import Conversion, FieldType, FieldValueError
from tessera.metadata.fields.boolean import BooleanType
from tessera.metadata.fields.currency import CurrencyType, Money
from tessera.metadata.fields.date import DateType
from tessera.metadata.fields.datetime import DateTimeType
from tessera.metadata.fields.decimal import DecimalType
from tessera.metadata.fields.email import EmailType
from tessera.metadata.fields.integer import IntegerType
from tessera.metadata.fields.json import JsonType
from tessera.metadata.fields.long_text import LongTextType
from tessera.metadata.fields.lookup import LookupType
from tessera.metadata.fields.multi_select import MultiSelectType
from tessera.metadata.fields.percent import PercentType
from tessera.metadata.fields.phone import PhoneType
from tessera.metadata.fields.select import SelectType
from tessera.metadata.fields.text import TextType
from tessera.metadata.fields.url import UrlType

FIELD_TYPES: dict[str, FieldType] = {
    t.name: t
    for t in (
        TextType(),
        LongTextType(),
        IntegerType(),
        DecimalType(),
        CurrencyType(),
        PercentType(),
        BooleanType(),
        DateType(),
        DateTimeType(),
        EmailType(),
        PhoneType(),
        UrlType(),
        SelectType(),
        MultiSelectType(),
        LookupType(),
        JsonType(),
        AutoNumberType(),
    )
}


def field_type(name: str) -> FieldType:
    """The registered type ``name``; raises ``KeyError`` for an unknown one."""
    return FIELD_TYPES[name]


__all__ = [
    "FIELD_TYPES",
    "Conversion",
    "FieldType",
    "FieldValueError",
    "Money",
    "field_type",
]
