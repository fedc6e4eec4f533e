"""Hostile files, made in the test run: each small on disk, each built to hurt a reader.

Every maker returns the file's bytes. Zip packages are written by hand where the
standard library would refuse to write the lie (wrong sizes, unsafe names).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "spreadsheets"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument"/></Relationships>'
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="{target}" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/worksheet"/>{more}</Relationships>'
)
SHARED_STRINGS_REL = (
    '<Relationship Id="rId2" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/sharedStrings"/>'
)
XXE = (
    '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
    '<!ENTITY lol "lollollollollollollollollol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
)
HEADER = ["序号", "点位名称", "接电位置", "就近户号/局号", "备注"]


def sheet_xml(rows: str, *, dimension: str = "", prefix: str = "") -> str:
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    dim = f'<{p}dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{p}worksheet {xmlns}>{dim}'
        f"<{p}sheetData>{rows}</{p}sheetData></{p}worksheet>"
    )


def cell_rows(cells: dict[str, str]) -> str:
    """``{"A1": "text", "B1": "12"}`` as rows of inline strings, in row order."""
    by_row: dict[int, list[str]] = {}
    for ref, text in cells.items():
        row = int("".join(ch for ch in ref if ch.isdigit()))
        by_row.setdefault(row, []).append(f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>')
    return "".join(f'<row r="{row}">{"".join(by_row[row])}</row>' for row in sorted(by_row))


def xlsx(
    sheet: str,
    *,
    sheet_part: str = "xl/worksheets/sheet1.xml",
    shared_strings: str | None = None,
    extra: dict[str, str] | None = None,
) -> bytes:
    """A minimal workbook whose one sheet is ``sheet``, written with the standard library."""
    parts: dict[str, str] = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": PACKAGE_RELS,
        "xl/workbook.xml": WORKBOOK,
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS.format(
            target="/" + sheet_part, more=SHARED_STRINGS_REL if shared_strings else ""
        ),
        sheet_part: sheet,
    }
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = shared_strings
    parts.update(extra or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, content in parts.items():
            package.writestr(name, content)
    return buffer.getvalue()


def application_list_xlsx() -> bytes:
    """A good attachment-4 list, the base the hostile variants start from."""
    return xlsx(
        sheet_xml(
            cell_rows(
                {
                    "A1": HEADER[0],
                    "B1": HEADER[1],
                    "C1": HEADER[2],
                    "D1": HEADER[3],
                    "E1": HEADER[4],
                    "A2": "1",
                    "B2": "甲",
                    "C2": "1幢",
                    "D2": "1701636729",
                    "E2": "新增",
                }
            )
        )
    )


# ---------------------------------------------------------------- zip written by hand


@dataclass
class RawMember:
    name: str
    data: bytes  # the stored bytes (deflated unless method is 0)
    crc: int
    size: int  # the uncompressed size the directory declares
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0


def deflated(content: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(content) + compressor.flush()


def member(name: str, content: str | bytes) -> RawMember:
    raw = content.encode() if isinstance(content, str) else content
    return RawMember(name, deflated(raw), zlib.crc32(raw), len(raw))


def raw_zip(members: list[RawMember]) -> bytes:
    """A zip whose directory says exactly what the members say, true or not."""
    body = io.BytesIO()
    directory = io.BytesIO()
    for item in members:
        name = item.name.encode()
        offset = body.tell()
        body.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                item.flags,
                item.method,
                0,
                0x21,
                item.crc,
                len(item.data),
                item.size,
                len(name),
                0,
            )
        )
        body.write(name)
        body.write(item.data)
        directory.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                item.flags,
                item.method,
                0,
                0x21,
                item.crc,
                len(item.data),
                item.size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
        )
        directory.write(name)
    start = body.tell()
    listing = directory.getvalue()
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(listing), start, 0
    )
    return body.getvalue() + listing + end


def skeleton(sheet: str = "", *, sheet_part: str = "xl/worksheets/sheet1.xml") -> list[RawMember]:
    return [
        member("[Content_Types].xml", CONTENT_TYPES),
        member("_rels/.rels", PACKAGE_RELS),
        member("xl/workbook.xml", WORKBOOK),
        member(
            "xl/_rels/workbook.xml.rels", WORKBOOK_RELS.format(target="/" + sheet_part, more="")
        ),
        member(sheet_part, sheet or sheet_xml(cell_rows({"A1": "序号"}))),
    ]


def _zeros_deflated(megabytes: int, prefix: bytes = b"") -> tuple[bytes, int]:
    """A deflate stream of ``prefix`` then ``megabytes`` MiB of spaces, built in a blink:
    one flushed block is repeated, since after a full flush each block stands alone."""
    block = b" " * (1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    chunk = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush()
    crc = zlib.crc32(prefix)
    for _ in range(megabytes):
        crc = zlib.crc32(block, crc)
    return head + chunk * megabytes + tail, crc


def zip_bomb() -> bytes:
    """An honest directory: a 600 MiB sheet packed into 600 KB."""
    prefix = b'<worksheet xmlns="%s"><sheetData>' % MAIN.encode()
    stream, crc = _zeros_deflated(600, prefix)
    members = skeleton()
    members[-1] = RawMember("xl/worksheets/sheet1.xml", stream, crc, len(prefix) + (600 << 20))
    return raw_zip(members)


def lying_sizes() -> bytes:
    """The directory says the sheet is 1 KB; its data unpack to 64 MiB."""
    prefix = sheet_xml(cell_rows({"A1": "序号"})).encode()
    stream, _crc = _zeros_deflated(64, prefix)
    members = skeleton()
    members[-1] = RawMember("xl/worksheets/sheet1.xml", stream, zlib.crc32(prefix), len(prefix))
    return raw_zip(members)


def path_traversal() -> bytes:
    return raw_zip([*skeleton(), member("../../../../tmp/refmeter-evil.xml", "<x/>")])


def encrypted_member() -> bytes:
    """A zip whose sheet is encrypted with the old zip password scheme (flag bit 0)."""
    members = skeleton()
    members[-1].flags |= 0x1
    return raw_zip(members)


# ---------------------------------------------------------------- the sheets


def dimension_bomb() -> bytes:
    """5 KB: values in A1 and XFD1048576; a reader that allocates the range asks for 512 GiB."""
    rows = (
        '<row r="1"><c r="A1"><v>1</v></c></row>'
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    )
    return xlsx(sheet_xml(rows))


def declared_dimension_bomb() -> bytes:
    return xlsx(sheet_xml(cell_rows({"A1": "序号"}), dimension="A1:XFD1048576"))


def wide_sheet() -> bytes:
    return xlsx(sheet_xml('<row r="1"><c r="A1"><v>1</v></c><c r="XFD1"><v>1</v></c></row>'))


def xxe(part: str = "xl/workbook.xml") -> bytes:
    """A DOCTYPE with an external entity (and an entity expansion) in one XML part."""
    parts = {
        "[Content_Types].xml": CONTENT_TYPES,
        "xl/workbook.xml": WORKBOOK,
        "xl/worksheets/sheet1.xml": sheet_xml(cell_rows({"A1": "x"})),
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}"><si><t>x</t></si></sst>',
        "docProps/custom.xml": "<Properties><x>x</x></Properties>",
    }
    original = parts[part]
    declaration = ""
    if original.startswith("<?xml"):
        declaration, original = original.split("?>", 1)
        declaration += "?>"
    parts[part] = declaration + XXE + original.replace(">x<", ">&xxe;&lol2;<", 1)
    sheet = parts.pop("xl/worksheets/sheet1.xml")
    shared = parts.pop("xl/sharedStrings.xml")
    return xlsx(sheet, shared_strings=shared, extra=parts)


def formula_in_renamed_part() -> bytes:
    """The worksheet part is xl/worksheets/data.xml, and its cell is a formula."""
    rows = '<row r="1"><c r="A1"><f>1701636729+0</f><v>1701636729</v></c></row>'
    return xlsx(sheet_xml(rows, prefix="x"), sheet_part="xl/worksheets/data.xml")


def shared_string_amplifier() -> bytes:
    """One 30,000-character shared string, used by 100,000 cells: 3 GB of text once read."""
    shared = f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>{"x" * 30_000}</t></si></sst>'
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="s"><v>0</v></c></row>' for n in range(1, 100_001))
    return xlsx(sheet_xml(rows), shared_strings=shared)


def million_rows(path: Path) -> Path:
    """1,048,576 real rows (every row Excel allows), streamed to disk; about 2.5 MB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        for name, content in (
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", PACKAGE_RELS),
            ("xl/workbook.xml", WORKBOOK),
            (
                "xl/_rels/workbook.xml.rels",
                WORKBOOK_RELS.format(target="/xl/worksheets/sheet1.xml", more=""),
            ),
        ):
            package.writestr(name, content)
        with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<worksheet xmlns="{MAIN}"><sheetData>'.encode())
            batch = []
            for number in range(1, 1_048_577):
                batch.append(
                    b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (number, number, number)
                )
                if len(batch) == 65536:
                    sheet.write(b"".join(batch))
                    batch = []
            sheet.write(b"</sheetData></worksheet>")
    return path


# ---------------------------------------------------------------- legacy and OpenDocument


def encrypted_ooxml() -> bytes:
    """An xlsx saved with an opening password: not a zip but an OLE compound file holding
    the streams EncryptionInfo and EncryptedPackage (written here, sector by sector)."""
    sector = 512
    end_of_chain, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    streams = [
        ("EncryptionInfo", b"\x04\x00\x04\x00" + bytes(4092)),
        ("EncryptedPackage", bytes(4096)),
    ]
    fat = [fat_sector, end_of_chain]  # sector 0 holds the FAT, sector 1 the directory
    starts = []
    for _name, content in streams:
        count = len(content) // sector
        starts.append(len(fat))
        fat += [len(fat) + 1 + n for n in range(count - 1)] + [end_of_chain]
    fat += [free] * (sector // 4 - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(encoded), kind, 1, free, right, child)
            + bytes(16 + 4 + 16)
            + struct.pack("<IQ", start, size)
        )

    directory = (
        entry("Root Entry", 5, 1, free, end_of_chain, 0)
        + entry(streams[0][0], 2, free, 2, starts[0], len(streams[0][1]))
        + entry(streams[1][0], 2, free, free, starts[1], len(streams[1][1]))
        + entry("", 0, free, free, 0, 0)
    )
    header = (
        OLE_MAGIC
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end_of_chain, 0, end_of_chain, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )
    return (
        header
        + struct.pack(f"<{sector // 4}I", *fat)
        + directory
        + b"".join(content for _name, content in streams)
    )


def _xls_records() -> tuple[bytearray, int, list[tuple[int, int, int]]]:
    """The legacy fixture, the file offset of its Workbook stream and that stream's records."""
    data = bytearray((FIXTURES / "application_list_legacy.xls").read_bytes())
    start = 2048  # the Workbook stream lies in one run of sectors from here
    records = []
    position = 0
    while position + 4 <= 2902:
        kind, length = struct.unpack_from("<HH", data, start + position)
        records.append((kind, position, length))
        position += 4 + length
    return data, start, records


def xls_dimension_bomb() -> bytes:
    """6.6 KB: the legacy list with one more cell, at row 65536, column IV (1 GB once read)."""
    data, start, records = _xls_records()
    last_label = [position for kind, position, _length in records if kind == 0x00FD][-1]
    struct.pack_into("<HH", data, start + last_label + 4, 65535, 255)
    return bytes(data)


def xls_with_password() -> bytes:
    """The legacy list with a FILEPASS record: the workbook is encrypted."""
    data, start, records = _xls_records()
    position = next(p for kind, p, length in records if kind == 0x005C)  # WRITEACCESS
    struct.pack_into("<H", data, start + position, 0x002F)
    return bytes(data)


ODS_CONTENT = (
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    '<office:body><office:spreadsheet><table:table table:name="Sheet1">{rows}'
    "</table:table></office:spreadsheet></office:body></office:document-content>"
)


def ods(rows: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        package.writestr("content.xml", ODS_CONTENT.format(rows=rows))
    return buffer.getvalue()


def ods_repeat_bomb() -> bytes:
    """One value repeated over 100,000 rows and 16,384 columns."""
    return ods(
        '<table:table-row table:number-rows-repeated="100000">'
        '<table:table-cell table:number-columns-repeated="16384" office:value-type="float" '
        'office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>'
    )


# ---------------------------------------------------------------- CSV

READINGS_HEADER = "电能表资产编号,冻结日期,正向有功总,反向有功总\n"


def utf16_csv() -> bytes:
    """Excel's "Unicode text": UTF-16 with a BOM (here with commas), for an unknown meter."""
    return (READINGS_HEADER + "9999999999,2026-11-01,1149.24,0\n").encode("utf-16")


def utf16_csv_without_bom() -> bytes:
    return (READINGS_HEADER + "9999999999,2026-11-01,1149.24,0\n").encode("utf-16-le")


def mojibake_csv() -> bytes:
    """Neither UTF-8 nor GB18030: Windows-1252 text, as a European tool would write it."""
    return "compteur,date relevé,énergie,café\n9999999999,01/11/2026,1149,0\n".encode("cp1252")


def mojibake_utf8_csv() -> bytes:
    """Valid UTF-8 that was once decoded as GBK and saved again: the header is garbage."""
    garbled = (
        (READINGS_HEADER + "9999999999,2026-11-01,1149.24,0\n")
        .encode()
        .decode("gb18030", errors="replace")
    )
    return garbled.encode()


def mixed_encoding_csv(lines: int = 3000) -> bytes:
    """UTF-8 for the first lines (more than any sample), then a line in GBK."""
    good = "".join(f"9999999999,2026-11-01,{n},0\n" for n in range(lines))
    return (READINGS_HEADER + good).encode() + "城南,2026-11-01,1,0\n".encode("gbk")
