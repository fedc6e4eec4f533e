"""Photos and the position recorded with an inspection finding from the scan page."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from refmeter.inspections.models import InspectionPhoto, InspectionResult
from refmeter.labels.selectors import targets_for_points
from refmeter.labels.services import labels_issue
from refmeter.organisations.models import Role
from tests import factories


def image_bytes(kind: str = "JPEG", size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 60, 30)).save(out, format=kind)
    return out.getvalue()


def photo(name: str = "seal.jpg", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes() if content is None else content, "image/jpeg")


def stored_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.fixture
def storage(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def scan(city, storage):
    """A field inspector and the label of one point in their service area."""
    group = factories.group(
        actor=city.south_admin, unit=city.south, place=city.south_place, sub_accounts=1
    )
    inspector = factories.user(unit=city.south, role=Role.FIELD_STAFF, username="inspector")
    point = group.points.order_by("pk").first()
    label = labels_issue(
        actor=inspector, targets=targets_for_points(user=inspector, point_ids=[point.pk]),
        batch="test", now=timezone.now(),
    )[0]  # fmt: skip

    class Scan:
        pass

    found = Scan()
    found.inspector, found.point, found.url = (
        inspector,
        point,
        reverse("labels:inspection", args=[label.token]),
    )
    found.page = reverse("labels:scan", args=[label.token])
    return found


def record(client, scan, **extra):
    client.force_login(scan.inspector)
    return client.post(scan.url, {"finding": "sealed", "note": "", **extra}, follow=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


class TestPhotosAccepted:
    def test_photos_are_stored_with_the_finding_and_shown_on_the_point_page(
        self, client, scan, storage
    ):
        response = record(client, scan, photos=[photo("a.jpg"), photo("b.png", image_bytes("PNG"))])

        assert messages_of(response) == ["检查结果已记录。"]
        result = InspectionResult.objects.get()
        photos = list(result.photos.order_by("pk"))
        assert [(p.content_type, p.original_name, p.width, p.height) for p in photos] == [
            ("image/jpeg", "a.jpg", 640, 480),
            ("image/png", "b.png", 640, 480),
        ]
        month = f"{result.recorded_at:%Y/%m}"
        assert stored_files(storage) == [
            f"inspections/{month}/{result.pk}-1-thumb.jpg",
            f"inspections/{month}/{result.pk}-1.jpg",
            f"inspections/{month}/{result.pk}-2-thumb.jpg",
            f"inspections/{month}/{result.pk}-2.png",
        ]
        page = client.get(reverse("registry:point_detail", args=[scan.point.pk])).content.decode()
        for item in photos:
            assert (
                f'<a href="/inspections/photos/{item.pk}/" hx-boost="false" target="_blank" '
                f'rel="noopener"><img src="/inspections/photos/{item.pk}/thumb/"'
            ) in page

    def test_the_photo_and_its_preview_are_served_to_staff_of_the_unit(self, client, scan):
        record(client, scan, photos=[photo()])
        item = InspectionPhoto.objects.get()

        full = client.get(reverse("inspections:photo", args=[item.pk]))
        thumb = client.get(reverse("inspections:photo_thumb", args=[item.pk]))

        assert full["Content-Type"] == "image/jpeg"
        assert b"".join(full.streaming_content) == image_bytes()
        with Image.open(io.BytesIO(b"".join(thumb.streaming_content))) as preview:
            assert (preview.format, preview.size) == ("JPEG", (320, 240))

    def test_another_unit_does_not_get_the_photo(self, client, scan, city):
        record(client, scan, photos=[photo()])
        item = InspectionPhoto.objects.get()
        client.force_login(city.north_admin)

        response = client.get(reverse("inspections:photo", args=[item.pk]))

        assert response.status_code == 404
        assert "未找到该照片" in response.content.decode()

    def test_a_finding_without_photos_is_recorded_as_before(self, client, scan, storage):
        response = record(client, scan)

        assert messages_of(response) == ["检查结果已记录。"]
        assert InspectionResult.objects.count() == 1
        assert stored_files(storage) == []


class TestPhotosRefused:
    @pytest.mark.parametrize(
        ("photos", "message"),
        [
            (lambda: [photo(f"{n}.jpg") for n in range(6)],
             "一次最多上传 5 张照片，您选择了 6 张。"),
            (lambda: [photo("ok.jpg"), photo("notes.jpg", b"%PDF-1.4 not a photo at all")],
             "“notes.jpg”不是可识别的照片（只接受 JPEG、PNG 或 WebP 图片）。"),
            (lambda: [photo("cut.jpg", image_bytes()[:400])],
             "“cut.jpg”不是可识别的照片（只接受 JPEG、PNG 或 WebP 图片）。"),
            (lambda: [photo("anim.gif", image_bytes("GIF"))],
             "“anim.gif”不是可识别的照片（只接受 JPEG、PNG 或 WebP 图片）。"),
        ],
        ids=["too many", "not an image", "truncated", "not a photo format"],
    )  # fmt: skip
    def test_refused_photos_refuse_the_finding_and_keep_nothing(
        self, client, scan, storage, photos, message
    ):
        response = record(client, scan, photos=photos())

        assert messages_of(response) == [message]
        assert InspectionResult.objects.count() == 0
        assert InspectionPhoto.objects.count() == 0
        assert stored_files(storage) == []

    def test_a_photo_over_5_mb_is_refused(self, client, scan, storage):
        noisy = io.BytesIO()
        pixels = random.Random(1).randbytes(1400 * 1300 * 3)  # noise does not compress
        Image.frombytes("RGB", (1400, 1300), pixels).save(noisy, format="PNG")
        assert len(noisy.getvalue()) > 5 * 1024 * 1024

        response = record(
            client, scan, photos=[photo("ok.jpg"), photo("big.png", noisy.getvalue())]
        )

        assert messages_of(response) == ["照片“big.png”超过 5 MB，请压缩后再上传。"]
        assert InspectionResult.objects.count() == 0
        assert stored_files(storage) == []

    def test_someone_who_may_not_record_inspections_stores_nothing(
        self, client, scan, storage, city
    ):
        client.force_login(city.south_clerk)

        response = client.post(scan.url, {"finding": "sealed", "photos": [photo()]}, follow=True)

        assert messages_of(response) == ["只有装接/用电检查人员可以记录检查结果。"]
        assert InspectionResult.objects.count() == 0
        assert stored_files(storage) == []

    def test_files_saved_before_a_failed_write_are_removed(self, scan, storage, monkeypatch):
        from refmeter.inspections import services

        created = []

        def fail_on_the_second(**values):
            if created:
                raise RuntimeError("database gone")
            created.append(values)
            return InspectionPhoto(**values)

        monkeypatch.setattr(services.InspectionPhoto.objects, "create", fail_on_the_second)

        with pytest.raises(RuntimeError):
            services.inspection_result_record(
                actor=scan.inspector, point_id=scan.point.pk, finding="sealed", note="",
                now=timezone.now(), photos=[photo("a.jpg"), photo("b.jpg")],
            )  # fmt: skip

        assert InspectionResult.objects.count() == 0
        assert stored_files(storage) == []


class TestPosition:
    def test_the_position_is_stored_and_shown_on_the_point_page(self, client, scan):
        record(client, scan, latitude="30.000123", longitude="120.585316")

        result = InspectionResult.objects.get()
        assert (str(result.latitude), str(result.longitude)) == ("30.000123", "120.585316")
        page = client.get(reverse("registry:point_detail", args=[scan.point.pk])).content.decode()
        assert '<span class="muted" data-testid="finding-position">位置 30.000123, 120.585316' in (
            page
        )

    @pytest.mark.parametrize(
        ("latitude", "longitude", "message"),
        [("95", "120", "纬度应为 -90 到 90 之间的数，最多 6 位小数。"),
         ("30", "abc", "经度应为 -180 到 180 之间的数，最多 6 位小数。"),
         ("30.1", "", "位置须同时有纬度和经度。")],
        ids=["latitude out of range", "longitude not a number", "half a position"],
    )  # fmt: skip
    def test_a_wrong_position_is_refused(self, client, scan, latitude, longitude, message):
        response = record(client, scan, latitude=latitude, longitude=longitude)

        # shown on the page it comes back to, beside the position button or above the form
        assert response.status_code == 400
        assert message in response.content.decode()
        assert InspectionResult.objects.count() == 0

    def test_the_form_offers_photos_and_the_position_button(self, client, scan):
        client.force_login(scan.inspector)

        page = client.get(scan.page).content.decode()

        assert (
            '<input type="file" name="photos" accept="image/*" capture="environment" multiple>'
        ) in page
        assert 'enctype="multipart/form-data"' in page
        assert '<input type="hidden" name="latitude"><input type="hidden" name="longitude">' in (
            page
        )
        assert "data-locate " in page
