"""CSV files: their encoding, their lines and their rows."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from typing import IO, cast

from django.utils.translation import gettext as _

from refmeter.common.spreadsheets.bounds import (
    MAX_CSV_LINE_BYTES,
    Source,
    UnreadableSpreadsheet,
    _refuse,
    _too_big,
    limits,
)
from refmeter.common.spreadsheets.sources import _binary, _size

# ---------------------------------------------------------------- CSV

CSV_SAMPLE_BYTES = 64 * 1024


def _csv_encoding(head: bytes) -> str:
    """The encoding of a CSV, from its start: a byte-order mark says it; without one,
    UTF-8 if the start is UTF-8, else GB18030 (which GBK and GB2312 are part of)."""
    for mark, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if head.startswith(mark):
            return encoding
    if b"\0" in head:
        raise _refuse(
            _(
                "文件含有空字符（可能是不带签名的 UTF-16 或二进制文件）：请将 CSV 另存为 UTF-8 "
                "编码后重新上传。"
            )
        )
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise _refuse(
        _("无法识别文件的文字编码：请将 CSV 另存为 UTF-8 或 GB18030（GBK）编码后重新上传。")
    )


def _csv_lines(stream: IO[bytes], encoding: str, counter: list[int]) -> Iterator[str]:
    """Decoded lines, each checked for length and for its encoding; ``counter[0]`` is the
    number of the line last read."""
    if encoding in ("utf-8", "utf-8-sig", "gb18030"):
        # Line breaks are single bytes in these encodings, so a line is split before it
        # is decoded, and a decoding error names its own line.
        first = True
        while line := stream.readline(MAX_CSV_LINE_BYTES + 1):
            counter[0] += 1
            if len(line) > MAX_CSV_LINE_BYTES and not line.endswith(b"\n"):
                raise _long_line(counter[0])
            if first and encoding == "utf-8-sig":
                line = line.removeprefix(codecs.BOM_UTF8)
            first = False
            try:
                yield line.decode(encoding if encoding != "utf-8-sig" else "utf-8")
            except UnicodeDecodeError as error:
                raise _refuse(
                    _(
                        "第 %(line)d 行含有无法按 %(encoding)s 解码的字符：文件的编码前后不一，"
                        "请将 CSV 另存为 UTF-8 编码后重新上传。"
                    )
                    % {"line": counter[0], "encoding": "UTF-8" if "utf" in encoding else "GB18030"}
                ) from error
        return
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        while True:
            try:
                decoded = text.readline(MAX_CSV_LINE_BYTES + 1)
            except UnicodeDecodeError as error:
                raise _refuse(
                    _("第 %(line)d 行附近含有无法按 %(encoding)s 解码的字符：文件已损坏。")
                    % {"line": counter[0] + 1, "encoding": encoding.upper()}
                ) from error
            if not decoded:
                return
            counter[0] += 1
            if len(decoded) > MAX_CSV_LINE_BYTES and not decoded.endswith("\n"):
                raise _long_line(counter[0])
            yield decoded
    finally:
        text.detach()  # the caller's stream stays open


def _long_line(number: int) -> UnreadableSpreadsheet:
    return _refuse(
        _("第 %(line)d 行超过 %(limit)d 个字符，已拒绝：请检查文件是否为逐行的 CSV 数据。")
        % {"line": number, "limit": MAX_CSV_LINE_BYTES}
    )


def iter_csv_rows(source: Source) -> Iterator[list[object]]:
    """The rows of a CSV file, read a line at a time (memory does not grow with the file).
    Commas or tabs (Excel's "Unicode text") separate the fields."""
    with _binary(source) as stream:
        limit = limits().upload_bytes
        if _size(stream) > limit:
            raise _too_big(limit)
        encoding = _csv_encoding(stream.read(CSV_SAMPLE_BYTES))
        stream.seek(0)
        counter = [0]
        lines = _csv_lines(stream, encoding, counter)
        first = next(lines, "")
        delimiter = "\t" if "\t" in first and "," not in first else ","
        reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
        try:
            for row in reader:
                yield cast(list[object], row)
        except csv.Error as error:
            raise _refuse(
                _("CSV 格式错误（第 %(line)d 行附近）：请检查引号是否成对。") % {"line": counter[0]}
            ) from error
