"""Photos taken with an inspection finding: checked as whole images before anything is kept.

A file is taken only if Pillow recognises it as a JPEG, PNG or WebP by its content (not its
name or the type the browser claims), reads it to the end without error, and its pixel count
is within bounds (a small file may decode into a huge image). The stored name comes from the
detected format; the browser's file name is kept as text only.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow's format name: the content type and the file extension kept.
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
MAX_PIXELS = 50_000_000
THUMBNAIL_SIZE = (320, 320)


class UnacceptablePhoto(Exception):
    """A photo that cannot be taken; the message is fit to show."""


class Upload(Protocol):
    name: str | None
    size: int | None

    def read(self, size: int = -1, /) -> Any: ...

    def seek(self, offset: int, whence: int = 0, /) -> Any: ...


@dataclass(frozen=True)
class CheckedPhoto:
    content: bytes
    thumbnail: bytes
    content_type: str
    extension: str
    width: int
    height: int
    original_name: str


def photo_limits() -> tuple[int, int]:
    """How many photos a finding may carry, and the largest one in MB."""
    return settings.REFMETER_INSPECTION_PHOTOS_MAX, settings.REFMETER_INSPECTION_PHOTO_MAX_MB


def photos_check(uploads: list[Upload]) -> list[CheckedPhoto]:
    """Every photo checked, or UnacceptablePhoto naming the first one refused."""
    most, max_mb = photo_limits()
    if len(uploads) > most:
        raise UnacceptablePhoto(
            _("一次最多上传 %(most)d 张照片，您选择了 %(count)d 张。")
            % {"most": most, "count": len(uploads)}
        )
    return [_check(upload, max_mb=max_mb) for upload in uploads]


def _check(upload: Upload, *, max_mb: int) -> CheckedPhoto:
    name = (upload.name or "")[:200]
    size = upload.size or 0
    if size > max_mb * 1024 * 1024:
        raise UnacceptablePhoto(
            _("照片“%(name)s”超过 %(mb)d MB，请压缩后再上传。") % {"name": name, "mb": max_mb}
        )
    upload.seek(0)
    content = upload.read(max_mb * 1024 * 1024 + 1)
    if not content:
        raise UnacceptablePhoto(_("照片“%(name)s”是空文件。") % {"name": name})
    if len(content) > max_mb * 1024 * 1024:
        raise UnacceptablePhoto(
            _("照片“%(name)s”超过 %(mb)d MB，请压缩后再上传。") % {"name": name, "mb": max_mb}
        )
    not_an_image = UnacceptablePhoto(
        _("“%(name)s”不是可识别的照片（只接受 JPEG、PNG 或 WebP 图片）。") % {"name": name}
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as probe:
                kind = probe.format or ""
                width, height = probe.size
                if kind not in FORMATS:
                    raise not_an_image
                if width * height > MAX_PIXELS:
                    raise UnacceptablePhoto(
                        _("照片“%(name)s”的像素过多（%(width)d×%(height)d）。")
                        % {"name": name, "width": width, "height": height}
                    )
                probe.verify()
            # verify() leaves the image unusable: decode a fresh copy for the preview, which
            # also reads every pixel, so a truncated file is refused here.
            with Image.open(io.BytesIO(content)) as image:
                image.load()
                thumbnail = _thumbnail(image)
    except UnacceptablePhoto:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ) as error:
        raise not_an_image from error
    content_type, extension = FORMATS[kind]
    return CheckedPhoto(
        content=content,
        thumbnail=thumbnail,
        content_type=content_type,
        extension=extension,
        width=width,
        height=height,
        original_name=name,
    )


def _thumbnail(image: Image.Image) -> bytes:
    """A small JPEG, turned the way the camera held it (EXIF orientation)."""
    preview = ImageOps.exif_transpose(image)
    preview = preview.convert("RGB")
    preview.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    preview.save(out, format="JPEG", quality=80)
    return out.getvalue()
