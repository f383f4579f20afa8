"""What an uploaded photo is, judged by its content (not its name or claimed type), and what its EXIF says."""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

from PIL import Image, UnidentifiedImageError

from supervision.core.errors import InvalidInput

ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 0x9003
_DATETIME = 0x0132


@dataclass(frozen=True)
class PhotoFacts:
    content_type: str
    width: int
    height: int
    exif_taken_at: str | None  # "2026:10:12 09:31:05", the camera's local time as written
    latitude_micro: int | None
    longitude_micro: int | None


def _degrees_micro(values: object, ref: object) -> int | None:
    try:
        d, m, s = (Fraction(str(float(v))) for v in values)  # type: ignore[union-attr]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    sign = -1 if str(ref).upper() in ("S", "W") else 1
    return sign * round(degrees * 1_000_000)


def inspect_photo(content: bytes) -> PhotoFacts:
    """The photo's type and EXIF facts; InvalidInput if the bytes are not a JPEG, PNG or WebP image."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            kind = image.format
            image.verify()
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            exif = image.getexif()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidInput(f"the file is not a readable JPEG, PNG or WebP photo ({error})", zh="无法识别该照片，请上传 JPEG、PNG 或 WebP 照片", field="file") from None
    if kind not in ACCEPTED:
        raise InvalidInput(f"photos must be JPEG, PNG or WebP; this file is {kind}", zh=f"照片须为 JPEG、PNG 或 WebP 格式，该文件为 {kind}", field="file")
    taken = None
    latitude = longitude = None
    if exif:
        taken = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
        gps = exif.get_ifd(_GPS_IFD)
        if gps and 2 in gps and 4 in gps:
            latitude = _degrees_micro(gps[2], gps.get(1, "N"))
            longitude = _degrees_micro(gps[4], gps.get(3, "E"))
    return PhotoFacts(
        content_type=ACCEPTED[kind],
        width=width,
        height=height,
        exif_taken_at=str(taken)[:40] if taken else None,
        latitude_micro=latitude,
        longitude_micro=longitude,
    )
