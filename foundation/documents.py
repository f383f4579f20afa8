"""Whether an uploaded photo, scan or office document is what its first bytes claim: an image that decodes whole
(Pillow, within the pixel limit), a PDF that opens with at least one page (pypdf), a Word or Excel file whose main
part unpacks. A file's signature alone proves nothing: b"\\xff\\xd8\\xff"
followed by a web page is no photo, "%PDF-1.4" followed by one is no scan."""

from __future__ import annotations

import io
import logging
import warnings
import zipfile

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


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The files a bid or an evaluation may attach: the plan or report as a PDF or a Word file, a budget as a workbook, a
# scan or photo of a signed page. Office files are zip packages: the part that makes one a Word or an Excel file.
ATTACHABLE = {"application/pdf": "PDF", DOCX: "Word (.docx)", XLSX: "Excel (.xlsx)", "image/jpeg": "JPEG", "image/png": "PNG"}
_OFFICE_MAIN_PART = {DOCX: "word/document.xml", XLSX: "xl/workbook.xml"}
_OFFICE_PART_MAX_BYTES = 64 * 1024 * 1024  # a main part unpacking past this is a zip bomb, not a plan


def _office_kind(content: bytes) -> str | None:
    """DOCX or XLSX when the zip package holds the main part of one and that part unpacks; None otherwise."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            names = set(package.namelist())
            if "[Content_Types].xml" not in names:
                return None
            for kind, part in _OFFICE_MAIN_PART.items():
                if part in names:
                    if package.getinfo(part).file_size > _OFFICE_PART_MAX_BYTES:
                        return None
                    package.read(part)  # checks the part's CRC: a damaged or cut-short file fails here
                    return kind
    except Exception as error:  # noqa: BLE001 - hostile bytes fail zipfile in many ways (zlib.error, LZMAError, RuntimeError of
        # an encrypted part); each means the file does not open, never a 500
        log.info("an uploaded office file does not open: %r", error)
    return None


def attached_document(content: bytes, claimed: str | None, max_pixels: int, *, field: str, name: str) -> str:
    """The type of a file attached to a bid or an evaluation, judged by its content (not its name nor the type the
    client claims), after checking that it opens: InvalidInput when it is none of ATTACHABLE, does not open, or is not
    the type claimed; TooLarge when a picture has too many pixels."""
    listed = "、".join(ATTACHABLE.values())
    if content.startswith(b"PK\x03\x04"):
        kind = _office_kind(content)
        if kind is None:
            raise InvalidInput(
                f"{name!r} is a zip file but not a readable Word (.docx) or Excel (.xlsx) file; save it again and attach that",
                zh=f"附件“{name}”不是可打开的 Word（.docx）或 Excel（.xlsx）文件，请重新保存后上传", field=field,
            )
    else:
        kind = next((k for k in ("application/pdf", "image/jpeg", "image/png") if content.startswith(SIGNATURES[k])), "")
        if not kind:
            raise InvalidInput(
                f"{name!r} is none of the files an attachment may be: a PDF, Word (.docx), Excel (.xlsx), JPEG or PNG file", zh=f"附件“{name}”的格式不受支持，只能上传 {listed} 文件", field=field,
            )
        check_readable(content, kind, max_pixels, field=field, what=f"the attachment {name!r}", what_zh=f"附件“{name}”")
    if claimed is not None and claimed != kind:
        raise InvalidInput(
            f"{name!r} is a {ATTACHABLE[kind]} file ({kind}), not {claimed}: send its own type, or leave content_type out",
            zh=f"附件“{name}”实际是 {ATTACHABLE[kind]} 文件，与声明的类型不符", field=field,
        )
    return kind
