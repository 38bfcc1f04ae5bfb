"""Small helpers shared by the field-type tests."""

from __future__ import annotations

from typing import Any

import pytest

from tessera.metadata.fields import FieldValueError, field_type
from tessera.metadata.model import FieldDef, new_id
from tessera.platform.errors import TesseraError


def make_field(type_name: str, **options: Any) -> FieldDef:
    """A field of ``type_name`` with normalised options, for value-level tests."""
    ftype = field_type(type_name)
    return FieldDef(new_id(), "value", "Value", type_name, options=ftype.normalize_options(options))


def coerce(type_name: str, value: Any, **options: Any) -> Any:
    return field_type(type_name).coerce(make_field(type_name, **options), value)


def rejected(type_name: str, value: Any, **options: Any) -> FieldValueError:
    with pytest.raises(FieldValueError) as caught:
        coerce(type_name, value, **options)
    return caught.value


def refused(call: Any, *args: Any, **kwargs: Any) -> TesseraError:
    with pytest.raises(TesseraError) as caught:
        call(*args, **kwargs)
    return caught.value
