"""QR codes for printing: zxing-cpp encodes (a tenth of a millisecond a code, where a pure
Python encoder with its automatic mask choice took ten times that); each code is one
grey-scale image, one pixel per module with the four-module quiet zone, that the PDF scales
up with sharp edges."""

from __future__ import annotations

from typing import Any

QUIET_ZONE_MODULES = 4


def qr_modules(text: str) -> Any:
    """The code of ``text`` (error correction level M, as every code refmeter prints) as a PIL
    image in mode L: black modules 0, white 255, the quiet zone included."""
    import zxingcpp
    from PIL import Image

    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    pixels = memoryview(code.to_image(scale=1, add_quiet_zones=True))  # type: ignore[arg-type]
    height, width = pixels.shape or (0, 0)
    # copy(): the image must not outlive zxing-cpp's buffer.
    return Image.frombuffer("L", (width, height), pixels, "raw", "L", 0, 1).copy()
