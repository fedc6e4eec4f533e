"""Normalising what people type or paste: full-width digits, stray spaces, numbers as floats."""

from __future__ import annotations

import re

_SPACES = re.compile(r"\s+")
_WHOLE_DECIMAL = re.compile(r"\d+\.0+")
# Full-width digits and Latin letters become ordinary ones; Chinese punctuation
# (，：（）) is left as the person wrote it.
_FULL_WIDTH = {
    **{code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)},
    **{code: code - 0xFEE0 for code in range(0xFF21, 0xFF3B)},
    **{code: code - 0xFEE0 for code in range(0xFF41, 0xFF5B)},
    0x3000: 0x20,
    0xFF0E: 0x2E,
    0xFF0D: 0x2D,
}
# What clean_text changes: white space other than one space between words, and the
# full-width characters it folds.
_NEEDS_CLEANING = re.compile(
    r"^\s|\s$|\s\s|[^\S ]|[" + "".join(map(chr, sorted(_FULL_WIDTH))) + "]"
)


def clean_text(value: object) -> str:
    """Fold full-width digits and letters to half-width and collapse white space."""
    if value is None:
        return ""
    if type(value) is str and _NEEDS_CLEANING.search(value) is None:
        return value  # nothing to fold, no white space to tidy: most cells of a large file
    text = str(value).translate(_FULL_WIDTH)
    return _SPACES.sub(" ", text).strip()


def clean_digits(value: object) -> str:
    """A number typed as text, full-width, with spaces, or stored as a float (1701636729.0)."""
    if type(value) is str and value.isascii() and value.isdigit():
        return value  # already plain digits
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = clean_text(value).replace(" ", "")
    if _WHOLE_DECIMAL.fullmatch(text):
        text = text.split(".", 1)[0]
    return text


def is_digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()
