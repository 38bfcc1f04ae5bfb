"""``long_text``: several lines of text (default limit 100,000 characters)."""

from tessera.metadata.fields.text import LongTextType

__all__ = ["LongTextType"]
