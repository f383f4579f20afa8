"""Whether an uploaded photo or scan is what its first bytes claim: an image that decodes whole (Pillow, within the
pixel limit) or a PDF that opens with at least one page (pypdf). A file's signature alone proves nothing: b"\\xff\\xd8\\xff"
followed by a web page is no photo, "%PDF-1.4" followed by one is no scan."""

from __future__ import annotations

import io
import logging
import warnings

from PIL import Image
from pypdf import PdfReader

from foundation.errors import InvalidInput, TooLarge

log = logging.getLogger("foundation.documents")

NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP", "application/pdf": "PDF"}
_PILLOW_FORMATS = {"image/jpeg": ("JPEG", "MPO"), "image/png": ("PNG",), "image/webp": ("WEBP",)}


def check_readable(content: bytes, kind: str, max_pixels: int, *, field: str, what: str, what_zh: str) -> None:
    """Refuse (InvalidInput, or TooLarge past `max_pixels`) a file of type `kind`, judged by its signature, that does
    not open as one: `what`/`what_zh` name it to the person ("the receipt", "发票")."""
    if kind == "application/pdf":
        if not _pdf_pages(content):
            raise InvalidInput(f"{what} is not a readable PDF (it does not open, or has no page); scan it again", zh=f"{what_zh}不是可打开的 PDF 文件（无法读取或没有页面），请重新扫描后上传", field=field)
        return
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise TooLarge(
                    f"{what} is {width}×{height} pixels; the limit is {max_pixels // 1_000_000} megapixels: send a smaller picture",
                    zh=f"{what_zh}像素过大（{width}×{height}），上限为 {max_pixels // 10_000} 万像素，请缩小后再上传",
                    field=field,
                )
            if image.format not in _PILLOW_FORMATS.get(kind, ()):
                raise ValueError(f"{image.format}, not {NAMES.get(kind, kind)}")
            image.load()  # every pixel: a truncated picture, or a signature before something else, fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(f"{what} unpacks to too many pixels; send a smaller picture", zh=f"{what_zh}像素过大，请缩小后再上传", field=field) from None
    except (OSError, SyntaxError, ValueError) as error:  # Pillow's UnidentifiedImageError is an OSError
        log.info("an uploaded picture does not decode: %r", error)
        raise InvalidInput(
            f"{what} is not a whole, readable {NAMES.get(kind, kind)} picture (damaged, cut short or not a picture); take or scan it again",
            zh=f"{what_zh}不是完整可读的 {NAMES.get(kind, kind)} 图片（文件已损坏或并非图片），请重新拍照或扫描后上传",
            field=field,
        ) from None


def _pdf_pages(content: bytes) -> int:
    """How many pages the PDF has; 0 when it does not open. pypdf reads hostile bytes: any failure of it is an
    unreadable file (never a 500), and its warnings about a damaged file are not the log's business."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return len(PdfReader(io.BytesIO(content), strict=False).pages)
    except Exception as error:  # noqa: BLE001 - a parser of untrusted input fails in many ways; each means unreadable
        log.info("an uploaded PDF does not open: %r", error)
        return 0


SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),  # RIFF....WEBP: the format Pillow finds is checked by check_readable
    "application/pdf": (b"%PDF-",),
}


def document_kind(content: bytes, allowed: frozenset[str], *, field: str, what: str, what_zh: str) -> str:
    """The type of a photo or scan of one of the `allowed` types, judged by its first bytes (not its name);
    InvalidInput when it is none of them."""
    for kind in sorted(allowed):
        if content.startswith(SIGNATURES.get(kind, (b"\0never",))):
            return kind
    listed = sorted(NAMES.get(t, t) for t in allowed)
    raise InvalidInput(f"{what} is a photo or scan: {', '.join(listed)}", zh=f"{what_zh}须为照片或扫描件（{'、'.join(listed)}）", field=field)
