"""``percent``: a percentage, stored as the number shown (``12.5`` means 12.5 %)."""

from __future__ import annotations

from typing import Any, ClassVar

from tessera.metadata.fields.decimal import DecimalType, precision_options_schema


class PercentType(DecimalType):
    name = "percent"
    label = "Percent"
    description = "A percentage: 12.5 means 12.5 %."
    default_precision = 7
    default_scale = 2
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": precision_options_schema(7, 2),
    }
