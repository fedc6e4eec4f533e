"""Sources: a file given as bytes, a path or a stream, read as a binary stream."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, cast

from django.utils.translation import gettext as _

from refmeter.common.spreadsheets.bounds import Source, _refuse, _too_big, limits

# ---------------------------------------------------------------- sources


@contextmanager
def _binary(source: Source) -> Iterator[IO[bytes]]:
    """The source as a seekable binary stream at its start; a path is opened and closed
    here, a stream given by the caller is left open."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(source)
        return
    if isinstance(source, str | os.PathLike):
        try:
            opened: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as error:
            raise _refuse(_("无法读取文件：%(reason)s") % {"reason": error.strerror}) from error
        with opened:
            yield opened
        return
    given = cast(IO[bytes], source)
    given.seek(0)
    yield given


def _size(stream: IO[bytes]) -> int:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def spreadsheet_bytes(source: Source) -> bytes:
    """The whole file, for readers that want bytes: its size is checked before reading."""
    with _binary(source) as stream:
        limit = limits().spreadsheet_bytes
        if _size(stream) > limit:
            raise _too_big(limit)
        return stream.read()
