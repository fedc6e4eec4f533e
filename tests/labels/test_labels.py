from __future__ import annotations

import base64
import datetime as dt
import io
import json
import random

import cv2
import numpy as np
import pypdfium2
import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.urls import reverse

from refmeter.labels.layouts import layout_get, layout_names
from refmeter.labels.models import Label, ScanLog, ScanResult
from refmeter.labels.pdf import LabelPrint, labels_pdf
from refmeter.labels.selectors import label_check, targets_for_group
from refmeter.labels.services import labels_issue, signing_key_rotate
from refmeter.labels.tokens import token_make, token_read
from refmeter.organisations.models import Role
from refmeter.organisations.services import api_token_create
from refmeter.registry.models import Point
from tests import factories

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def group(city):
    return factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=29
    )


def issue(city, group):
    return labels_issue(
        actor=city.south_admin,
        targets=targets_for_group(user=city.south_admin, group_id=group.pk),
        batch="test",
        now=NOW,
    )


def decode_pdf(data: bytes, layout) -> list[str]:
    """Rasterise every page at 300 dpi and decode each label's QR code with OpenCV, and again
    with zxing-cpp."""
    # OpenCV's two QR decoders, as a phone app tries more than one way to read a code.
    detectors = [cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()]
    found = []
    document = pypdfium2.PdfDocument(data)
    dots_per_mm = 300 / 25.4
    for page in document:
        image = page.render(scale=300 / 72).to_numpy()
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        for row in range(layout.rows):
            for column in range(layout.columns):
                left = layout.margin_left + column * (layout.label_width + layout.gap_x)
                top = layout.margin_top + row * (layout.label_height + layout.gap_y)
                cell = gray[
                    int(top * dots_per_mm) : int((top + layout.label_height) * dots_per_mm),
                    int(left * dots_per_mm) : int((left + layout.label_width) * dots_per_mm),
                ]
                if cell.size == 0 or np.all(cell > 250):
                    continue
                text = ""
                for detector in detectors:
                    text, _points, _straight = detector.detectAndDecode(cell)
                    if text:
                        found.append(text)
                        break
                # zxing-cpp, a second decoder of another lineage, reads the same text.
                read = zxingcpp.read_barcodes(
                    np.ascontiguousarray(cell), formats=zxingcpp.BarcodeFormat.QRCode
                )
                assert [code.text for code in read] == ([text] if text else []), (row, column)
    document.close()
    return found


class TestPrintedLabelsDecode:
    @pytest.mark.parametrize("layout_name", [name for name, _title in layout_names()])
    def test_every_code_on_every_layout_decodes_verifies_and_finds_its_point(
        self, city, group, layout_name
    ):
        layout = layout_get(layout_name)
        issued = issue(city, group)
        out = io.BytesIO()

        count = labels_pdf(
            (
                LabelPrint(
                    url=label.url,
                    account_number=label.account_number,
                    name=label.name,
                    short_address=label.short_address,
                    serial=label.serial,
                )
                for label in issued
            ),
            layout=layout,
            out=out,
        )

        decoded = decode_pdf(out.getvalue(), layout)
        assert count == 30
        assert sorted(decoded) == sorted(label.url for label in issued)
        for url in decoded:
            check = label_check(url)
            assert check.valid
            assert check.label.point.account_number == token_read(url).account_number
        assert b"/FontFile2" in out.getvalue()


class TestForgeries:
    def test_ten_thousand_forgeries_bit_flips_and_foreign_signatures_are_all_refused(
        self, city, group
    ):
        genuine = issue(city, group)[0].token
        raw = bytearray(base64.urlsafe_b64decode(genuine + "=="))
        rng = random.Random(376)
        foreign_key = Ed25519PrivateKey.generate()
        accepted = []

        for attempt in range(10_000):
            kind = attempt % 4
            if kind == 0:  # flip one bit anywhere in the token
                forged = bytearray(raw)
                position = rng.randrange(len(forged) * 8)
                forged[position // 8] ^= 1 << (position % 8)
                token = base64.urlsafe_b64encode(bytes(forged)).rstrip(b"=").decode()
            elif kind == 1:  # another account number or serial, signed by someone else
                token = token_make(
                    key_id=raw[1],
                    serial=rng.randrange(1, 2**32),
                    account_number=f"{rng.randrange(10**9, 10**10)}",
                    private_key=foreign_key,
                )
            elif kind == 2:  # the genuine serial and account, re-signed with a wrong key
                token = token_make(
                    key_id=raw[1],
                    serial=int.from_bytes(raw[2:6], "big"),
                    account_number=token_read(genuine).account_number,
                    private_key=foreign_key,
                )
            else:  # random bytes of the right shape
                token = (
                    base64.urlsafe_b64encode(bytes([1, raw[1]]) + rng.randbytes(73))
                    .rstrip(b"=")
                    .decode()
                )
            if label_check(token).valid:
                accepted.append(token)

        assert accepted == []
        assert label_check(genuine).valid

    def test_an_altered_account_number_is_refused_as_forged(self, city, group):
        token = issue(city, group)[0].token
        parts = token_read(token)
        raw = bytearray(base64.urlsafe_b64decode(token + "=="))
        raw[6:11] = (int(parts.account_number) + 1).to_bytes(5, "big")

        check = label_check(base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode())

        assert check.result == ScanResult.FORGED


class TestReprintAndRotation:
    def test_a_reprint_voids_the_old_label_and_the_new_one_is_accepted(self, city, group):
        old = issue(city, group)[0]

        new = issue(city, group)[0]

        assert label_check(old.token).result == ScanResult.VOIDED
        assert label_check(new.token).valid
        assert new.serial > old.serial
        assert Label.objects.get(serial=old.serial).void_reason == "重印"

    def test_labels_signed_before_a_key_rotation_stay_valid(self, city, group):
        before = issue(city, group)[5]

        rotated = signing_key_rotate(now=NOW)
        after = labels_issue(
            actor=city.south_admin,
            targets=targets_for_group(user=city.south_admin, group_id=group.pk)[:1],
            batch="after",
            now=NOW,
        )[0]

        assert label_check(before.token).valid
        assert label_check(after.token).valid
        assert token_read(after.token).key_id == rotated.key_id != token_read(before.token).key_id


class TestScanPage:
    def test_without_login_the_point_is_shown_but_personal_data_is_not(self, client, city, group):
        label = issue(city, group)[0]

        page = client.get(reverse("labels:scan", args=[label.token]))

        html = page.content.decode()
        assert page.status_code == 200
        assert label.account_number in html and "33503000009083788" in html
        assert "0575-88003000" not in html and "13800000000" not in html
        scan = ScanLog.objects.get()
        assert (scan.serial, scan.result, scan.user) == (label.serial, "valid", None)

    def test_logged_in_field_staff_see_everything_and_record_a_result(self, client, city, group):
        label = issue(city, group)[0]
        field = factories.user(unit=city.south, role=Role.FIELD_STAFF)
        client.force_login(field)

        html = client.get(reverse("labels:scan", args=[label.token])).content.decode()
        client.post(
            reverse("labels:inspection", args=[label.token]), {"finding": "sealed", "note": ""}
        )

        assert "0575-88003000" in html and "张三 13800000000" in html
        point = Point.objects.get(account_number=label.account_number)
        assert list(point.inspections.values_list("finding", "label_serial")) == [
            ("sealed", label.serial)
        ]

    def test_staff_of_another_unit_see_only_the_public_view(self, client, city, group):
        label = issue(city, group)[0]
        client.force_login(city.north_clerk)

        html = client.get(reverse("labels:scan", args=[label.token])).content.decode()

        assert "0575-88003000" not in html

    def test_a_forged_label_gets_an_unmistakable_invalid_page(self, client, city, group):
        token = issue(city, group)[0].token
        forged = token[:50] + ("A" if token[50] != "A" else "B") + token[51:]

        page = client.get(reverse("labels:scan", args=[forged]))

        html = page.content.decode()
        assert page.status_code == 404
        assert "无效标签" in html
        assert ScanLog.objects.get().result in {"forged", "malformed", "unknown_key"}

    def test_a_voided_label_says_so(self, client, city, group):
        old = issue(city, group)[0]
        issue(city, group)

        page = client.get(reverse("labels:scan", args=[old.token]))

        assert page.status_code == 410
        assert "该标签已作废（已重印或点位已撤销），请以新标签为准。" in page.content.decode()


class TestApiAndCommandLine:
    def test_public_keys_verify_and_scan_log(self, client, city, group):
        label = issue(city, group)[0]
        headers = {
            "Authorization": f"Bearer {api_token_create(user=city.south_clerk, name='t', now=dt.datetime.now(dt.UTC))}"
        }

        keys = client.get("/api/v1/labels/keys").json()
        verified = client.get("/api/v1/labels/verify", {"token": label.url}, headers=headers).json()
        point_id = verified["point_id"]
        scans = client.get(f"/api/v1/points/{point_id}/scans", headers=headers).json()

        assert (
            keys[0]["algorithm"] == "Ed25519" and len(base64.b64decode(keys[0]["public_key"])) == 32
        )
        assert (verified["valid"], verified["account_number"]) == (True, label.account_number)
        assert [scan["result"] for scan in scans] == ["valid"]

    def test_the_labels_command_writes_a_pdf_and_verify_label_reads_it_back(
        self, city, group, tmp_path
    ):
        base = group.points.get(kind="base").account_number
        out = tmp_path / "labels.pdf"
        call_command("labels", "--group", base, "--out", str(out), "--layout", "roll-50x30",
                     stdout=io.StringIO())  # fmt: skip
        urls = decode_pdf(out.read_bytes(), layout_get("roll-50x30"))
        output = io.StringIO()

        call_command("verify_label", urls[0], "--format", "json", stdout=output)

        report = json.loads(output.getvalue())
        assert len(urls) == 30
        assert (report["valid"], report["account_number"]) == (True, base)

    def test_verify_label_exits_non_zero_for_a_forgery(self, city, group):
        token = issue(city, group)[0].token

        with pytest.raises(CommandError) as refusal:
            call_command("verify_label", token[:-2] + "AA", stdout=io.StringIO())

        assert str(refusal.value).startswith("无效标签：")

    def test_an_unknown_layout_is_refused(self, city, group, tmp_path):
        base = group.points.get(kind="base").account_number

        with pytest.raises(CommandError) as refusal:
            call_command("labels", "--group", base, "--out", str(tmp_path / "x.pdf"),
                         "--layout", "a5-9x9", stdout=io.StringIO())  # fmt: skip

        assert "没有名为“a5-9x9”的标签版式" in str(refusal.value)


@pytest.mark.django_db(transaction=True)
class TestPrintingFromThePages:
    def test_printing_a_groups_labels_runs_as_a_job_whose_pdf_decodes(self, client, city):
        from refmeter.common.models import Job, JobStatus

        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=4
        )
        client.force_login(city.south_clerk)

        form = client.get(reverse("labels:print"), {"source": "group", "id": group.pk})
        response = client.post(
            reverse("labels:print"), {"source": "group", "id": group.pk, "layout": "a4-2x7"}
        )
        factories.run_queued_tasks()
        job = Job.objects.get()
        page = client.get(response["Location"]).content.decode()
        pdf = client.get(reverse("jobs:file", args=[job.pk]))

        assert "共 5 张" in form.content.decode()
        assert job.status == JobStatus.SUCCEEDED and job.result["labels"] == 5
        assert "已生成 5 张标签" in page
        pdf_bytes = b"".join(pdf.streaming_content)
        decoded = decode_pdf(pdf_bytes, layout_get("a4-2x7"))
        assert sorted(token_read(url).account_number for url in decoded) == sorted(
            group.points.values_list("account_number", flat=True)
        )

    def test_another_units_group_cannot_be_printed(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        client.force_login(city.north_clerk)

        response = client.post(
            reverse("labels:print"), {"source": "group", "id": group.pk, "layout": "a4-3x8"}
        )

        assert response.status_code == 404
        assert Label.objects.count() == 0
