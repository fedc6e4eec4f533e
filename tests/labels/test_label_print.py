"""What a printed label says to the field crew, and that every PDF carries its fonts."""

from __future__ import annotations

import io
import re

import pypdfium2
import pytest
from django.core.management import call_command

from refmeter.labels.layouts import layout_get
from refmeter.labels.pdf import LabelPrint, labels_pdf
from refmeter.spreadsheets.documents import ListDocument, list_pdf
from tests.labels.test_labels import decode_pdf

LABEL = LabelPrint(
    url="https://refmeter.example/s/" + "A" * 100,
    account_number="1702017329",
    name="城南街道EPON机柜",
    short_address="越城区城南大道1号2单元",
    serial=4711,
)


def page_texts(data: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(data)
    texts = [page.get_textpage().get_text_range() for page in document]
    document.close()
    return texts


def font_objects(data: bytes) -> tuple[set[bytes], int, int]:
    """The fonts a PDF names, how many font descriptors and how many embedded font files."""
    names = set(re.findall(rb"/BaseFont /([\w+-]+)", data))
    return names, data.count(b"/Type /FontDescriptor"), data.count(b"/FontFile2")


def label_pdf(*labels: LabelPrint, layout: str = "a4-3x8") -> bytes:
    out = io.BytesIO()
    labels_pdf(list(labels), layout=layout_get(layout), out=out)
    return out.getvalue()


class TestWhatALabelSays:
    @pytest.mark.parametrize("layout", ["a4-3x8", "a4-2x7", "roll-50x30", "roll-60x40"])
    def test_the_utility_the_caption_the_account_the_name_and_the_address(self, settings, layout):
        settings.REFMETER_UTILITY_SHORT_NAME = "绍兴供电"

        data = label_pdf(LABEL, layout=layout)

        text = page_texts(data)[0]
        for expected in ("绍兴供电", "扫码验真", "1702017329", "城南街道EPON机柜", "No.4711"):
            assert expected in text
        assert "越城区城南" in text
        assert decode_pdf(data, layout_get(layout)) == [LABEL.url]


class TestEveryFontIsEmbedded:
    def test_a_label_sheet_names_only_the_embedded_cjk_font(self):
        names, descriptors, files = font_objects(label_pdf(LABEL, LABEL))

        assert len(names) == 1 and b"+WenQuanYiMicroHei" in next(iter(names))
        assert descriptors == files == 1

    def test_an_empty_label_sheet_too(self):
        names, descriptors, files = font_objects(label_pdf())

        assert len(names) == 1 and descriptors == files == 1

    def test_a_printed_list_names_only_the_embedded_cjk_font(self):
        document = ListDocument(
            title="用电点现场确认清单",
            header=["户号", "户名"],
            rows=[["1702017329", "城南街道EPON机柜"]],
            meta=[("客户", "中国电信")],
            signatures=["客户签章"],
        )

        names, descriptors, files = font_objects(list_pdf(document))

        assert len(names) == 1 and b"+WenQuanYiMicroHei" in next(iter(names))
        assert descriptors == files == 1


class TestDemoLabelsOpenTheDemoServer:
    @pytest.fixture
    def demo_loaded(self, monkeypatch, db):
        from refmeter.demo.management.commands import demo

        monkeypatch.setattr(demo, "demo_is_loaded", lambda: True)
        monkeypatch.delenv("REFMETER_LABEL_BASE_URL", raising=False)

    def test_the_port_it_serves_is_the_port_its_labels_open(self, settings, demo_loaded):
        settings.REFMETER_LABEL_BASE_URL = "http://127.0.0.1:8000"
        printed = io.StringIO()

        call_command("demo", "--port", "8123", "--no-server", stdout=printed)

        assert settings.REFMETER_LABEL_BASE_URL == "http://127.0.0.1:8123"
        assert "http://127.0.0.1:8123/" in printed.getvalue()

    def test_a_configured_label_address_is_kept(self, settings, demo_loaded, monkeypatch):
        monkeypatch.setenv("REFMETER_LABEL_BASE_URL", "https://labels.example")
        settings.REFMETER_LABEL_BASE_URL = "https://labels.example"

        call_command("demo", "--port", "8123", "--no-server", stdout=io.StringIO())

        assert settings.REFMETER_LABEL_BASE_URL == "https://labels.example"
