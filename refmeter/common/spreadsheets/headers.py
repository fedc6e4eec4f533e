"""Headers: finding a sheet's header row, and column letters."""

from __future__ import annotations

from refmeter.common.text import clean_text

# ---------------------------------------------------------------- headers


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def find_header(
    rows: list[list[object]],
    wanted: dict[str, tuple[str, ...]],
    required: set[str],
    *,
    scan: int = 30,
) -> tuple[int, dict[str, int]] | None:
    """The first row among the top ``scan`` rows naming every required column.

    A header cell matches a key when its text (spaces removed) contains one of the
    key's words, so "就近户号/局号（或杆号/箱号）" matches "就近户号". Headers of two
    rows with merged cells are read together: a blank cell takes the text above it.
    """
    previous: list[str] = []
    for index, row in enumerate(rows[:scan]):
        own = [clean_text(cell).replace(" ", "") for cell in row]
        texts = [
            text or (previous[position] if position < len(previous) else "")
            for position, text in enumerate(own)
        ]
        texts += previous[len(own) :]
        columns: dict[str, int] = {}
        for key, words in wanted.items():
            for position, text in enumerate(texts):
                taken = position in columns.values()
                if text and not taken and any(word in text for word in words):
                    columns[key] = position
                    break
        if required <= columns.keys():
            return index, columns
        previous = own
    return None
