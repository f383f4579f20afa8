"""A photo is decoded once (inspections.photos.inspect_photo): a JPEG at a reduced scale, its data read whole. What
the decoder cannot scale is decoded whole instead, and what is cut short is refused either way."""

from __future__ import annotations

import io
import struct

import numpy
import pytest
from PIL import Image

from foundation.errors import InvalidInput
from inspections.photos import inspect_photo, perceptual_hash

MAX_PIXELS = 40_000_000


def _lossless_jpeg(picture: numpy.ndarray) -> bytes:
    """A greyscale lossless JPEG (SOF3, predictor 1; Pillow cannot write one): the decoder reads it but cannot scale
    it down."""
    height, width = picture.shape
    counts, symbols = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], list(range(12))
    codes: dict[int, tuple[int, int]] = {}
    code = k = 0
    for length in range(1, 17):
        for _ in range(counts[length - 1]):
            codes[symbols[k]] = (code, length)
            code, k = code + 1, k + 1
        code <<= 1
    out, bits, pending = bytearray(), 0, 0

    def put(value: int, length: int) -> None:
        nonlocal bits, pending
        bits, pending = (bits << length) | (value & ((1 << length) - 1)), pending + length
        while pending >= 8:
            pending -= 8
            out.append((bits >> pending) & 0xFF)
            if out[-1] == 0xFF:
                out.append(0)

    values = picture.astype(int)
    for y in range(height):
        for x in range(width):
            predicted = 128 if x == y == 0 else values[y - 1, x] if x == 0 else values[y, x - 1]
            difference = int(values[y, x] - predicted)
            size = abs(difference).bit_length()
            put(*codes[size])
            if size:
                put(difference if difference > 0 else difference - 1, size)
    if pending:
        put((1 << (8 - pending)) - 1, 8 - pending)

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">HH", marker, len(body) + 2) + body

    tables = segment(0xFFC4, bytes([0]) + bytes(counts) + bytes(symbols))
    frame = segment(0xFFC3, struct.pack(">BHHB", 8, height, width, 1) + bytes([1, 0x11, 0]))
    scan = segment(0xFFDA, bytes([1, 1, 0, 1, 0, 0]))
    return b"\xff\xd8" + tables + frame + scan + bytes(out) + b"\xff\xd9"


def _gradient() -> numpy.ndarray:
    rows, columns = numpy.mgrid[0:200, 0:256]
    return ((columns + rows) % 256).astype(numpy.uint8)


def test_a_lossless_jpeg_the_decoder_cannot_scale_is_decoded_whole_and_kept_with_its_hash() -> None:
    content = _lossless_jpeg(_gradient())
    facts, fingerprint = inspect_photo(content, MAX_PIXELS)
    assert (facts.content_type, facts.width, facts.height) == ("image/jpeg", 256, 200)
    assert fingerprint is not None and fingerprint.size == (256, 200)
    assert perceptual_hash(fingerprint) is not None


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_a_jpeg_cut_short_is_refused_though_it_is_decoded_at_a_reduced_scale(progressive: bool) -> None:
    whole = io.BytesIO()
    Image.effect_mandelbrot((1600, 1200), (-2, -1.5, 1, 1.5), 100).convert("RGB").save(whole, "JPEG", progressive=progressive)
    content = whole.getvalue()
    facts, fingerprint = inspect_photo(content, MAX_PIXELS)
    assert (facts.width, facts.height) == (1600, 1200) and fingerprint is not None and max(fingerprint.size) < 1600  # scaled
    for cut in (content[: len(content) * 2 // 3], content[:-2]):
        with pytest.raises(InvalidInput):
            inspect_photo(cut, MAX_PIXELS)
    with pytest.raises(InvalidInput):
        inspect_photo(_lossless_jpeg(_gradient())[:-300], MAX_PIXELS)
