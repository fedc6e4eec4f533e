"""Zip packages (.xlsx, .ods): checking the members before anything is unpacked."""

from __future__ import annotations

import codecs
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import suppress
from typing import IO
from xml.parsers import expat

from django.utils.translation import gettext as _

from refmeter.common.spreadsheets.bounds import (
    MAX_COMPRESSION_RATIO,
    MAX_MEMBERS,
    MAX_UNPACKED_BYTES,
    MB,
    SHEET_ROOTS,
    ZIP_MAGIC,
    _bomb,
    _Budget,
    _corrupt,
    _lying,
    _not_a_spreadsheet,
    _password,
    _refuse,
)
from refmeter.common.spreadsheets.fast_scan import FastWorksheetScan
from refmeter.common.spreadsheets.xml_scan import (
    _OdsScan,
    _parser,
    _SharedStrings,
    _Stop,
    _WorksheetScan,
)

# ---------------------------------------------------------------- zip packages

_UNSAFE_NAME = re.compile(r"(^[/\\])|(^[A-Za-z]:)|\\|(^|/)\.\.(/|$)|[\x00-\x1f]")


def _inflate(stream: IO[bytes], entry: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's bytes, a block at a time, from its raw data: never more than the
    directory declares, and its end, size and CRC checked against the directory."""
    stream.seek(entry.header_offset)
    header = stream.read(30)
    if len(header) != 30 or header[:4] != ZIP_MAGIC:
        raise _corrupt()
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    stream.seek(entry.header_offset + 30 + name_length + extra_length)
    remaining = entry.compress_size
    produced = 0
    crc = 0
    if entry.compress_type == zipfile.ZIP_STORED:
        while remaining:
            block = stream.read(min(remaining, MB))
            if not block:
                raise _corrupt()
            remaining -= len(block)
            produced += len(block)
            crc = zlib.crc32(block, crc)
            yield block
    else:
        inflater = zlib.decompressobj(-15)
        while not inflater.eof:
            if inflater.unconsumed_tail:
                raw = inflater.unconsumed_tail
            elif remaining:
                raw = stream.read(min(remaining, 256 * 1024))
                if not raw:
                    raise _corrupt()
                remaining -= len(raw)
            else:
                raw = b""
            try:
                block = inflater.decompress(raw, MB)
            except zlib.error as error:
                raise _corrupt() from error
            if not block and not raw:
                break  # the data ended before the stream did
            produced += len(block)
            if produced > entry.file_size:
                raise _lying()
            if block:
                crc = zlib.crc32(block, crc)
                yield block
        if not inflater.eof:
            raise _lying() if produced == entry.file_size else _corrupt()
    if produced != entry.file_size:
        raise _lying()
    if crc != entry.CRC:
        raise _corrupt()


def _looks_like_xml(head: bytes) -> bool:
    text = head.lstrip(b" \t\r\n")
    return text.startswith((b"<", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def _parse(
    parser: expat.XMLParserType, blocks: Iterator[bytes], first: bytes, *, lenient: bool
) -> None:
    try:
        parser.Parse(first, False)
        for block in blocks:
            parser.Parse(block, False)
        parser.Parse(b"", True)
    except expat.ExpatError as error:
        if not lenient:
            raise _corrupt() from error


def _scan_zip(stream: IO[bytes], budget: _Budget) -> str:
    """Check an xlsx or ods package member by member; returns its kind."""
    try:
        package = zipfile.ZipFile(stream)
        entries = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as error:
        raise _corrupt() from error
    if len(entries) > MAX_MEMBERS:
        raise _refuse(
            _("文件内部条目过多（超过 %(limit)d 个），不像电子表格，已拒绝。")
            % {"limit": MAX_MEMBERS}
        )
    seen: set[str] = set()
    unpacked = 0
    for entry in entries:
        if _UNSAFE_NAME.search(entry.filename):
            raise _refuse(
                _("文件内部含有不安全的路径“%(name)s”，已拒绝。") % {"name": entry.filename[:100]}
            )
        folded = entry.filename.lower()
        if folded in seen:
            raise _refuse(
                _("文件内部有两个同名条目“%(name)s”，已拒绝。") % {"name": entry.filename[:100]}
            )
        seen.add(folded)
        if entry.flag_bits & 0x1:
            raise _password()
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _corrupt()
        unpacked += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if unpacked > MAX_UNPACKED_BYTES or (
            entry.file_size > MB and ratio > MAX_COMPRESSION_RATIO
        ):
            raise _bomb()
    if "xl/workbook.xml" in seen:
        kind = "xlsx"
    elif "content.xml" in seen and "mimetype" in seen:
        kind = "ods"
    else:
        raise _not_a_spreadsheet()

    # Every member is inflated here; XML parts are parsed. Sheets wait until the shared
    # strings are known, so each string cell can be costed as the library would copy it.
    shared = _SharedStrings(budget)
    sheets: list[tuple[zipfile.ZipInfo, str]] = []
    for entry in entries:
        if entry.is_dir():
            continue
        blocks = _inflate(stream, entry)
        first = next(blocks, b"")
        if not _looks_like_xml(first[:64]):
            for _block in blocks:  # inflated to its end: its size and CRC are checked
                pass
            continue
        parser = _parser()

        def root(
            name: str,
            _attrs: dict[str, str],
            entry: zipfile.ZipInfo = entry,
            parser: expat.XMLParserType = parser,
        ) -> None:
            local = name.rpartition(":")[2]
            if local in SHEET_ROOTS or local == "document-content":
                sheets.append((entry, local))
                raise _Stop  # checked below, once the shared strings are known
            if local == "sst":
                shared.handlers(parser)
            else:
                parser.StartElementHandler = None

        parser.StartElementHandler = root
        with suppress(_Stop):
            _parse(parser, blocks, first, lenient=entry.filename.lower().endswith(".vml"))
    for entry, kind_of_part in sheets:
        if kind_of_part == "worksheet" and FastWorksheetScan(
            budget, shared if shared.lengths else None
        ).run(_inflate(stream, entry)):
            continue
        parser = _parser()
        scan: _WorksheetScan | _OdsScan
        if kind_of_part == "document-content":
            scan = _OdsScan(budget)
        else:
            scan = _WorksheetScan(budget, shared if shared.lengths else None)
        scan.handlers(parser)
        _parse(parser, _inflate(stream, entry), b"", lenient=False)
        if isinstance(scan, _WorksheetScan):
            scan.finish()
    return kind
