"""PDF documents in Simplified Chinese with an embedded TrueType CJK font (ReportLab). Pure rendering: plain data
in, bytes out. Every page carries the document's number, page x/y, the content checksum and a QR code of the
verification address; the same data renders to the same bytes (ReportLab's invariant mode)."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "CJK"
DEFAULT_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


class FontMissing(RuntimeError):
    """No CJK TrueType font to embed: the documents cannot be made on this machine."""


@lru_cache(maxsize=4)
def register_font(configured: str = "") -> str:
    candidates = [configured] if configured else list(DEFAULT_FONTS)
    for path in candidates:
        if Path(path).is_file():
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0) if path.endswith(".ttc") else TTFont(FONT, path))
            return path
    raise FontMissing(
        f"no CJK TrueType font at {', '.join(candidates)}: install the Debian package fonts-wqy-zenhei, or set SUPERVISION_PDF_FONT_PATH"
    )


@dataclass(frozen=True)
class Column:
    title: str
    width: float  # mm
    numeric: bool = False


@dataclass(frozen=True)
class TableBlock:
    heading: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[str]]
    total: Sequence[str] | None = None  # a last, bold row


@dataclass(frozen=True)
class Signoff:
    """What makes a document an official one (公文要素), printed after its content: the signature lines (经办, 复核,
    审批 with the names known, blank lines to sign otherwise), the issuing authority and the date written below it
    (落款), and the area its seal is stamped on."""

    issuer: str  # the issuing authority, as settings name it
    issued_on: str  # "2026年11月26日"
    signatures: Sequence[tuple[str, str]] = ()  # (经办 / 复核 / 审批, the name or "" to sign by hand)


@dataclass(frozen=True)
class Photo:
    """A thumbnail in a table cell: JPEG or PNG bytes, drawn at most `height` mm high."""

    content: bytes
    height: float = 18


@dataclass(frozen=True)
class Document:
    title: str
    number: str  # batch number, or the report's reference
    checksum: str  # of the content; its first 16 characters are printed on every page
    verify_url: str
    facts: Sequence[tuple[str, str]] = ()  # label, value lines under the title
    tables: Sequence[TableBlock] = ()
    notes: Sequence[str] = field(default=())
    addressee: str = ""  # 主送: "某某物业服务有限公司：", the first line under the title
    opening: str = ""  # the paragraph that speaks to the addressee
    signoff: Signoff | None = None
    photos: Sequence[tuple[str, Sequence[Photo]]] = ()  # captioned thumbnails after the tables


def _styles() -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, alignment=1, spaceAfter=4 * mm),
        "heading": ParagraphStyle("heading", fontName=FONT, fontSize=11.5, leading=16, spaceBefore=4 * mm, spaceAfter=2 * mm),
        "fact": ParagraphStyle("fact", fontName=FONT, fontSize=9.5, leading=14),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8.5, leading=11),
        "note": ParagraphStyle("note", fontName=FONT, fontSize=8.5, leading=12, textColor=colors.HexColor("#444444")),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=17, firstLineIndent=21, spaceAfter=2 * mm),
        "addressee": ParagraphStyle("addressee", fontName=FONT, fontSize=10.5, leading=17, spaceAfter=1 * mm),
        "issuer": ParagraphStyle("issuer", fontName=FONT, fontSize=10.5, leading=17, alignment=2),
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(block: TableBlock, styles: dict[str, ParagraphStyle]) -> Table:
    header = [Paragraph(_escape(c.title), styles["cell"]) for c in block.columns]
    # A cell becomes a (wrapping, slower) Paragraph only when its text cannot fit on one line of the column.
    room = [c.width * mm - 6 for c in block.columns]
    body = [
        [
            value if column.numeric or pdfmetrics.stringWidth(value, FONT, 8.5) <= space else Paragraph(_escape(value), styles["cell"])
            for value, column, space in zip(row, block.columns, room, strict=True)
        ]
        for row in block.rows
    ]
    data = [header, *body]
    if block.total is not None:
        data.append(list(block.total))
    table = Table(data, colWidths=[c.width * mm for c in block.columns], repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    for n, column in enumerate(block.columns):
        if column.numeric:
            style.append(("ALIGN", (n, 1), (n, -1), "RIGHT"))
    if block.total is not None:
        style += [("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f3f3f3")), ("FONTSIZE", (0, -1), (-1, -1), 9)]
    table.setStyle(TableStyle(style))
    return table


class _SealArea(Flowable):
    """The place the issuing authority's seal is stamped: a dashed circle (42 mm, the size of an official seal)
    with 「（盖章）」, drawn over the issuer and date lines as a stamp falls on them."""

    SIZE = 42 * mm

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self._width = available_width
        return available_width, 0

    def draw(self) -> None:
        canvas = self.canv
        radius = self.SIZE / 2
        x = self._width - 20 * mm  # centred on the issuer and the date below it, as a seal is stamped over both
        y = -9 * mm
        canvas.saveState()
        canvas.setStrokeColor(colors.HexColor("#c8102e"))
        canvas.setDash(3, 2)
        canvas.setLineWidth(0.8)
        canvas.circle(x, y, radius, stroke=1, fill=0)
        canvas.setFillColor(colors.HexColor("#c8102e"))
        canvas.setFont(FONT, 9)
        canvas.drawCentredString(x, y - radius + 4 * mm, "（盖章）")
        canvas.restoreState()


def _signoff(signoff: Signoff, styles: dict[str, ParagraphStyle]) -> list[object]:
    story: list[object] = [Spacer(1, 6 * mm)]
    if signoff.signatures:
        cells = [f"{role}：{name or '　' * 6}" for role, name in signoff.signatures]
        lines = Table([cells], colWidths=[180 * mm / len(cells)] * len(cells))
        lines.setStyle(
            TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 10), ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#666666"))])
        )
        story += [lines, Spacer(1, 14 * mm)]
    story += [_SealArea(), Paragraph(_escape(signoff.issuer), styles["issuer"]), Paragraph(_escape(signoff.issued_on), styles["issuer"]), Spacer(1, 24 * mm)]
    return [KeepTogether(story)]


def _photos(caption: str, photos: Sequence[Photo], styles: dict[str, ParagraphStyle]) -> list[object]:
    images = []
    for photo in photos:
        try:
            reader = ImageReader(io.BytesIO(photo.content))
            width, height = reader.getSize()
        except (OSError, ValueError):
            continue  # not a picture ReportLab reads: left out rather than failing the document
        scale = photo.height * mm / height
        images.append(Image(io.BytesIO(photo.content), width=width * scale, height=height * scale))
    if not images:
        return []
    per_row = 6
    rows = [images[n : n + per_row] + [""] * (per_row - len(images[n : n + per_row])) for n in range(0, len(images), per_row)]
    grid = Table(rows, colWidths=[30 * mm] * per_row, hAlign="LEFT")
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 1), ("RIGHTPADDING", (0, 0), (-1, -1), 1)]))
    return [KeepTogether([Paragraph(_escape(caption), styles["cell"]), grid, Spacer(1, 2 * mm)])]


def _draw_qr(canvas: Canvas, text: str, size: float) -> None:
    widget = QrCodeWidget(text)
    qr = widget.qr
    qr.version = qr.calculate_version()
    qr.makeImpl(False, 0)  # a fixed mask pattern: valid for any reader, and the search for the best costs most of the time
    modules = qr.modules
    border = widget.barBorder
    box = size / (len(modules) + 2 * border)
    canvas.setFillColor(colors.black)
    for r, row in enumerate(modules):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                canvas.rect((start + border) * box, size - (r + border + 1) * box, (c - start) * box, box, stroke=0, fill=1)
            else:
                c += 1


def _numbered_canvas(document: Document) -> type[Canvas]:
    """A canvas that draws the footer once the page count is known (page x/y)."""
    qr_drawn: list[bool] = []  # outside the page state the canvas saves and restores

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # Start every page in the embedded font, so no font the reader must have is ever named.
            super().__init__(*args, **{**kwargs, "initialFontName": FONT})
            self._pages: list[dict[str, object]] = []

        def showPage(self) -> None:  # noqa: N802 (ReportLab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._footer(total)
                super().showPage()
            super().save()

        def _footer(self, total: int) -> None:
            width, _ = A4
            self.setFont(FONT, 8)
            self.setFillColor(colors.HexColor("#333333"))
            self.drawString(15 * mm, 12 * mm, f"编号 {document.number}    第 {self._pageNumber} 页 / 共 {total} 页")
            self.drawString(15 * mm, 8 * mm, f"校验码 {document.checksum[:16]}    验证：{document.verify_url}")
            size = 18 * mm
            if not qr_drawn:
                # The QR code is encoded once and drawn as a form the pages reuse, straight onto the canvas.
                self.beginForm("verification_qr", lowerx=0, lowery=0, upperx=size, uppery=size)
                _draw_qr(self, document.verify_url, size)
                self.endForm()
                qr_drawn.append(True)
            self.saveState()
            self.translate(width - 15 * mm - size, 4 * mm)
            self.doForm("verification_qr")
            self.restoreState()

    return NumberedCanvas


def render(document: Document, font_path: str = "") -> bytes:
    register_font(font_path)
    styles = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=26 * mm,
        title=document.title,
        author="旧楼区准物业管理监督系统",
        subject=document.number,
        invariant=1,
    )
    story: list[object] = [Paragraph(_escape(document.title), styles["title"])]
    if document.addressee:
        story.append(Paragraph(_escape(document.addressee), styles["addressee"]))
    if document.opening:
        story.append(Paragraph(_escape(document.opening), styles["body"]))
    for label, value in document.facts:
        story.append(Paragraph(f"{_escape(label)}：{_escape(value)}", styles["fact"]))
    for block in document.tables:
        story.append(Paragraph(_escape(block.heading), styles["heading"]))
        story.append(_table(block, styles))
    if document.photos:
        story.append(Spacer(1, 3 * mm))
        for caption, photos in document.photos:
            story += _photos(caption, photos, styles)
    if document.signoff is not None:
        story += _signoff(document.signoff, styles)
    if document.notes:
        story.append(Spacer(1, 4 * mm))
        story += [Paragraph(_escape(note), styles["note"]) for note in document.notes]
    doc.build(story, canvasmaker=_numbered_canvas(document))
    return buffer.getvalue()


def page_count(pdf: bytes) -> int:
    """The pages of a PDF we rendered (ReportLab writes each page as an uncompressed `/Type /Page` object)."""
    return len(re.findall(rb"/Type /Page\b", pdf))


@dataclass(frozen=True)
class Label:
    """One label of a sheet: the text its QR code holds and the lines printed beside it."""

    qr_text: str
    lines: Sequence[str]


def _qr_drawing(text: str, size: float) -> Drawing:
    """A printed label's QR code, with the 4-module quiet zone ISO/IEC 18004 asks for (the label's rule and text
    stay clear of the code)."""
    widget = QrCodeWidget(text, barBorder=4)
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0])
    drawing.add(widget)
    return drawing


def render_label_sheet(document: Document, labels: Sequence[Label], columns: int = 3, label_mm: tuple[float, float] = (60, 28), font_path: str = "") -> bytes:
    """Sheets of labels (a band's size each: a QR code and its lines), with the issued document's footer on every
    page (number, page x/y, checksum, the verification QR)."""
    register_font(font_path)
    styles = _styles()
    line_style = ParagraphStyle("label", fontName=FONT, fontSize=8, leading=10)
    code_style = ParagraphStyle("label_code", fontName=FONT, fontSize=10.5, leading=13)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=12 * mm, bottomMargin=26 * mm,
        title=document.title, author="旧楼区准物业管理监督系统", subject=document.number, invariant=1,
    )
    width, height = label_mm[0] * mm, label_mm[1] * mm
    qr_size = height - 3 * mm
    cells = []
    for label in labels:
        texts = [Paragraph(_escape(line), code_style if n == len(label.lines) - 1 else line_style) for n, line in enumerate(label.lines)]
        inner = Table([[_qr_drawing(label.qr_text, qr_size), texts]], colWidths=[qr_size + 1 * mm, width - qr_size - 2 * mm], rowHeights=[height - 1 * mm])
        inner.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 1), ("RIGHTPADDING", (0, 0), (-1, -1), 1), ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))
        cells.append(inner)
    rows = [cells[n : n + columns] + [""] * (columns - len(cells[n : n + columns])) for n in range(0, len(cells), columns)]
    story: list[object] = [Paragraph(_escape(document.title), styles["fact"])]
    if rows:
        grid = Table(rows, colWidths=[width] * columns, rowHeights=[height] * len(rows))
        grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#bbbbbb")), ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
        story.append(grid)
    story += [Paragraph(_escape(note), styles["note"]) for note in document.notes]
    doc.build(story, canvasmaker=_numbered_canvas(document))
    return buffer.getvalue()
