"""What an uploaded photo is, judged by its content (not its name or claimed type), and what its EXIF says."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import imagehash
import numpy
from PIL import Image, ImageOps, UnidentifiedImageError

from foundation.errors import InvalidInput, TooLarge

# A camera JPEG carrying a preview picture (Multi-Picture Format) is opened by Pillow as "MPO": it is a JPEG to every
# browser and is kept as one.
ACCEPTED = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 0x9003
_DATETIME = 0x0132


@dataclass(frozen=True)
class PhotoLimits:
    """What one upload may be (settings attachment_max_bytes, photo_max_pixels) and the longest side of the copy
    served for display (photo_display_max_side); the original is kept as filed evidence."""

    max_bytes: int
    max_pixels: int
    display_side: int

    @classmethod
    def of(cls, settings: Any) -> PhotoLimits:
        return cls(settings.attachment_max_bytes, settings.photo_max_pixels, settings.photo_display_max_side)


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.0f}"


def _too_many_pixels(width: int, height: int, max_pixels: int) -> TooLarge:
    return TooLarge(
        f"the photo is {width}×{height} pixels ({_megapixels(width * height)} megapixels); the limit is "
        f"{_megapixels(max_pixels)} megapixels: send a smaller photo (a phone's normal setting is well below it)",
        zh=f"照片像素过大（{width}×{height}），上限为 {max_pixels // 10_000} 万像素，请缩小后再上传",
        field="file",
    )


@dataclass(frozen=True)
class PhotoFacts:
    content_type: str
    width: int
    height: int
    exif_taken_at: str | None  # "2026:10:12 09:31:05", the camera's local time as written
    latitude_micro: int | None
    longitude_micro: int | None


def _degrees_micro(values: Any, ref: object) -> int | None:
    try:
        d, m, s = (Fraction(str(float(v))) for v in values)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    sign = -1 if str(ref).upper() in ("S", "W") else 1
    return sign * round(degrees * 1_000_000)


def _saved_format(kind: str | None) -> str:
    """The format a copy of a photo of this kind is saved in (an MPO's copy is a plain JPEG of its first picture)."""
    return "JPEG" if kind in (None, "MPO") else kind


def _exif_facts(exif: Image.Exif) -> tuple[object, int | None, int | None]:
    """(time taken, latitude, longitude) as the EXIF says them; None for whatever part cannot be read (a camera or
    editor that wrote a broken pointer to the EXIF or GPS block still took a photo: only its metadata is lost)."""
    taken: object = None
    latitude = longitude = None
    try:
        taken = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, struct.error):
        taken = None
    taken = taken or exif.get(_DATETIME)
    try:
        gps = exif.get_ifd(_GPS_IFD)
        if gps and 2 in gps and 4 in gps:
            latitude = _degrees_micro(gps[2], gps.get(1, "N"))
            longitude = _degrees_micro(gps[4], gps.get(3, "E"))
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, struct.error):
        latitude = longitude = None
    return taken, latitude, longitude


def inspect_photo(content: bytes, max_pixels: int) -> tuple[PhotoFacts, Image.Image | None]:
    """The photo's type and EXIF facts, and its fingerprint copy (see below); InvalidInput if the bytes are not a
    JPEG, PNG or WebP image that decodes whole (a truncated or padded file is not a photo), TooLarge if it has more
    than `max_pixels` pixels (judged from its header, before anything is decoded: a small file can unpack into
    gigabytes). An EXIF block that cannot be read is ignored: the photo is kept without a time or position, as one
    taken without them.

    The photo is decoded once, and that decoding both judges it and gives the fingerprint copy: greyscale, turned
    upright (EXIF orientation applied, as ImageOps.exif_transpose does), a JPEG decoded at a reduced scale (its data
    is read whole all the same, so a truncated one still fails here; only the last step that makes full-size pixels
    is skipped). None when no greyscale copy can be made of it (then it gets no perceptual hash)."""
    try:
        # Pillow's own bomb check raises past twice its limit (and warns below, an error under strict warning
        # filters): either is a refusal here, never a 500. Below it, our limit refuses before anything is decoded.
        with Image.open(io.BytesIO(content)) as image:
            kind = image.format
            width, height = image.size
            if width * height > max_pixels:
                raise _too_many_pixels(width, height, max_pixels)
            image.verify()  # a PNG's checksums; a JPEG's data is not read by it
        try:
            exif, fingerprint = _decoded(content, reduced=True)
        except OSError:
            # A JPEG the decoder cannot scale (a lossless one) is decoded whole before it is refused.
            exif, fingerprint = _decoded(content, reduced=False)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(
            f"the photo unpacks to more than {_megapixels(max_pixels)} megapixels; send a smaller photo",
            zh=f"照片像素过大，上限为 {max_pixels // 10_000} 万像素，请缩小后再上传",
            field="file",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidInput(f"the file is not a readable JPEG, PNG or WebP photo ({error})", zh="无法识别该照片，请上传 JPEG、PNG 或 WebP 照片", field="file") from None
    if kind not in ACCEPTED:
        raise InvalidInput(f"photos must be JPEG, PNG or WebP; this file is {kind}", zh=f"照片须为 JPEG、PNG 或 WebP 格式，该文件为 {kind}", field="file")
    taken, latitude, longitude = _exif_facts(exif) if exif else (None, None, None)
    facts = PhotoFacts(
        content_type=ACCEPTED[kind],
        width=width,
        height=height,
        exif_taken_at=str(taken)[:40] if taken else None,
        latitude_micro=latitude,
        longitude_micro=longitude,
    )
    return facts, fingerprint


# pHash looks at a 32×32 greyscale copy: decoding a JPEG at a reduced scale (at least this side) gives the same
# picture for far less time and memory.
_HASH_DECODE_SIDE = 64
# A flat picture (a photo taken in the dark, a blank wall) has a hash every other flat picture shares: likeness says
# nothing there, so it gets none (its exact copies are still found by sha256). Flat: its greyscale values, on a
# small copy, spread less than this (out of 255).
_FLAT_SIDE = 32
# EXIF orientation → the turn that makes the picture upright (as ImageOps.exif_transpose does), applied to the
# greyscale fingerprint copy only (never to what is kept or shown).
_ORIENTATION = 0x0112
_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_FLAT_STDDEV = 3.0


def _decoded(content: bytes, *, reduced: bool) -> tuple[Image.Exif, Image.Image | None]:
    """Decode every byte of the picture's data (a truncated JPEG fails here), a JPEG at a reduced scale if
    `reduced`; its EXIF and its fingerprint copy."""
    with Image.open(io.BytesIO(content)) as image:
        if reduced and image.format in ("JPEG", "MPO"):
            image.draft("L", (_HASH_DECODE_SIDE, _HASH_DECODE_SIDE))
        image.load()
        exif = image.getexif()
        return exif, _fingerprint_copy(image, exif)


def _fingerprint_copy(image: Image.Image, exif: Image.Exif) -> Image.Image | None:
    try:
        grey = image.convert("L")
        turn = _TURNS.get(exif.get(_ORIENTATION, 1))
        return grey if turn is None else grey.transpose(turn)
    except (OSError, ValueError, TypeError):
        return None


def perceptual_hash(fingerprint: Image.Image | None) -> str | None:
    """The photo's perceptual hash (ImageHash's pHash: 64 bits as 16 hex digits) from its fingerprint copy
    (inspect_photo: upright, so that a re-encoded or resized copy lands a few bits away); None for a flat picture
    or when there is no copy."""
    if fingerprint is None:
        return None
    small = fingerprint.resize((_FLAT_SIDE, _FLAT_SIDE), Image.Resampling.BILINEAR)
    if float(numpy.asarray(small, dtype=numpy.float32).std()) < _FLAT_STDDEV:
        return None
    return str(imagehash.phash(fingerprint))


def display_copy(content: bytes, longest_side: int) -> bytes | None:
    """The photo turned upright and scaled so that its longest side is `longest_side`, in its own format and
    without its EXIF (no location in what is shown); None when the photo is no larger than that already, or cannot
    be scaled here (a photo kept before the pixel limit, too large to decode safely: it is served as it is)."""
    try:
        return _scaled(content, longest_side)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None


def shareable_copy(content: bytes, longest_side: int) -> bytes | None:
    """A copy fit to show to anyone: the display copy, or for a photo no larger than that the same pixels saved
    again without EXIF; None when the photo cannot be decoded here (then it is not shown)."""
    try:
        scaled = _scaled(content, longest_side)
        if scaled is not None:
            return scaled
        with Image.open(io.BytesIO(content)) as image:
            kind = _saved_format(image.format)
            if image.width * image.height > (Image.MAX_IMAGE_PIXELS or 0):
                return None
            upright = ImageOps.exif_transpose(image)
            if kind == "JPEG" and upright.mode not in ("RGB", "L"):
                upright = upright.convert("RGB")
            out = io.BytesIO()
            upright.save(out, format=kind, **({"quality": 85} if kind in ("JPEG", "WEBP") else {"optimize": True}))
            return out.getvalue()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None


def _scaled(content: bytes, longest_side: int) -> bytes | None:
    with Image.open(io.BytesIO(content)) as image:
        kind = _saved_format(image.format)
        if max(image.size) <= longest_side or image.width * image.height > (Image.MAX_IMAGE_PIXELS or 0):
            return None
        if kind == "JPEG":
            image.draft("RGB", (longest_side, longest_side))  # decode at a reduced scale: far less memory and time
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((longest_side, longest_side), Image.Resampling.LANCZOS)
        if kind == "JPEG" and upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        out = io.BytesIO()
        upright.save(out, format=kind, **({"quality": 85} if kind in ("JPEG", "WEBP") else {"optimize": True}))
        return out.getvalue()
