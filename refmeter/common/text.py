"""Normalising what people type or paste: full-width digits, stray spaces, numbers as floats."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def clean_text(value: object) -> str:
    """Fold full-width forms to half-width (NFKC) and collapse white space."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return _SPACES.sub(" ", text).strip()


def clean_digits(value: object) -> str:
    """A number typed as text, full-width, with spaces, or stored as a float (1701636729.0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = clean_text(value).replace(" ", "")
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".", 1)[0]
    return text


def is_digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()
