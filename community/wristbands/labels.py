"""腕带标签: a print run's labels as a PDF, issued like every other document (reports.service: the verification
footer on every page, the bytes kept as issued and served again). The tokens exist in clear only in this PDF: the
tables keep their digests, so the sheet is made once, as the labels are."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from community.wristbands import rules, service
from community.wristbands.tables import WristbandSheet
from foundation.access import Principal
from foundation.errors import Conflict, NotFound
from foundation.settings import get_settings
from foundation.storage import BlobStore
from registry import queries as registry_queries
from reports.pdf import Document, Label, page_count, render_label_sheet
from reports.service import Made, content_checksum, issue, rendered_alone, served, verify_url

KIND = "wristband_labels"


def subject_of(sheet_id: int) -> str:
    return f"wristband_sheet:{sheet_id}"


async def print_sheet(session: AsyncSession, store: BlobStore, actor: Principal, count: int) -> tuple[WristbandSheet, bytes]:
    """A print run of `count` labels for the actor's community and its PDF (issued)."""
    sheet, made = await service.new_sheet(session, actor, count)
    community = await registry_queries.community(session, sheet.community_id)
    base = get_settings().resolved_public_base_url()
    number = f"WDBQ-{community.code if community else sheet.community_id}-{sheet.id:05d}"
    labels = [Label(rules.finder_url(base, m.token), ("爱洒回家路", "如我需要帮助请扫码", m.label.short_code)) for m in made]

    async def make(code: str) -> Made:
        document = Document(
            title=f"{community.name if community else ''}社区 · 爱洒回家路腕带标签（{len(made)} 枚）",
            number=number,
            checksum=content_checksum({"sheet": sheet.id, "codes": [m.label.short_code for m in made]}),
            verify_url=verify_url(code),
            notes=("每枚标签的二维码只含一个随机编码，扫码页面不显示老人的任何个人信息。标签绑定老人后方才启用；丢失的腕带请在系统中补换，旧腕带随即停用。",),
        )
        pdf = await rendered_alone(lambda: render_label_sheet(document, labels, 3, (60, 28), get_settings().pdf_font_path))
        return Made(pdf, number, document.title, document.checksum, None, pages=page_count(pdf))

    content, _ = await issue(session, store, KIND, subject_of(sheet.id), make)
    return sheet, content


async def sheet_pdf(session: AsyncSession, store: BlobStore, actor: Principal, sheet_id: int) -> bytes:
    """The sheet's PDF as issued (a GET never makes one)."""
    sheet = await session.get(WristbandSheet, sheet_id)
    if sheet is None or sheet.community_id != actor.community_id:
        raise NotFound("label sheet", sheet_id)
    content, _ = await served(session, store, KIND, subject_of(sheet.id), Conflict("the sheet was not issued", zh="该批标签没有生成文件"))
    return content
