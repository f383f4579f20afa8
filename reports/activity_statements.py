"""A holder's statement of a year's activity funds (活动经费收支明细), in Simplified Chinese: the allocation, every
claim with its approval and payment, and the balance, as a PDF (ReportLab, like the batch documents) and an XLSX.
Made on request from what is stored (a GET writes nothing); the same data gives the same bytes."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from typing import Annotated

import xlsxwriter
from litestar import Controller, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.clock import BUSINESS_TZ
from foundation.errors import Unavailable
from foundation.money import yuan
from foundation.settings import get_settings
from foundation.web.auth import allow
from foundation.web.problems import problem_responses
from reports.pdf import Column, Document, FontMissing, TableBlock, render
from reports.service import PDF, XLSX, content_checksum
from reports.sheets import write_cell
from subsidies.activity import queries
from subsidies.activity.rules import STATE_NAMES
from subsidies.activity.schemas import ClaimOut

YearPath = Annotated[int, Parameter(ge=2000, le=2100, description="A calendar year")]
HolderPath = Annotated[str, Parameter(pattern=r"^(community|street):[1-9][0-9]{0,9}$", description="community:<id> or street:<id>")]
CLAIM_HEADERS = ("申请编号", "支出日期", "用途", "所购物品或服务", "发票号码", "状态", "审批", "拨付批次", "金额（元）")


def _when(instant: datetime | None) -> str:
    return instant.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if instant else ""


def _decided(claim: ClaimOut) -> str:
    if claim.decided_at is None:
        return f"待审批（期限 {claim.due_on}）"
    return f"{(claim.decided_by or '').split(' (')[0]}，{_when(claim.decided_at)}"


def _facts(statement: queries.Statement) -> list[tuple[str, str]]:
    f = statement.fund
    return [
        ("经费持有方", f.holder_name),
        ("年度", f"{f.year} 年"),
        ("年度额度", f"{yuan(f.allocated_fen)} 元"),
        ("待审批", f"{yuan(f.pending_fen)} 元"),
        ("已批准", f"{yuan(f.approved_fen)} 元（其中已拨付 {yuan(f.paid_fen)} 元）"),
        ("年末失效", f"{yuan(f.lapsed_fen)} 元" + ("" if f.lapsed else "（年度未结束）")),
        ("可用余额", f"{yuan(f.left_fen)} 元"),
    ]


def _content(statement: queries.Statement) -> dict[str, object]:
    return {"fund": statement.fund, "claims": statement.claims}


def statement_pdf(statement: queries.Statement) -> bytes:
    f = statement.fund
    claims = statement.claims
    counted = [c for c in claims if c.state != "refused"]
    document = Document(
        title=f"{f.holder_name}{f.year} 年度活动经费收支明细",
        number=f"HDJF-{f.year}-{f.holder.replace(':', '-')}",
        checksum=content_checksum(_content(statement)),
        verify_url=f"{get_settings().public_base_url.rstrip('/')}/activity?year={f.year}",
        facts=_facts(statement),
        tables=[
            TableBlock(
                "报销申请",
                (Column("支出日期", 22), Column("用途", 16), Column("所购物品或服务", 84), Column("发票号码", 36), Column("金额（元）", 22, True)),
                [[str(c.spent_on), c.purpose, c.description, c.invoice_number, yuan(c.amount_fen)] for c in claims],
                ["合计（不含未批准）", "", "", "", yuan(sum(c.amount_fen for c in counted))],
            ),
            TableBlock(
                "审批与拨付",
                (Column("发票号码", 36), Column("状态", 14), Column("审批", 62), Column("不批准理由", 32), Column("拨付批次", 36)),
                [[c.invoice_number, STATE_NAMES.get(c.state, c.state), _decided(c), c.refusal_reason or "", (c.paid_in_batch or "未拨付") if c.state == "approved" else ""] for c in claims],
            ),
        ],
        notes=("社区的报销由所属街道审批，街道的报销由区财政审批；同一张发票只能报销一次；年度余额年末失效，不结转下一年度。",),
    )
    return render(document, get_settings().pdf_font_path)


def statement_workbook(statement: queries.Statement) -> bytes:
    f = statement.fund
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False})
    book.set_properties({"title": f"{f.holder_name}{f.year} 年度活动经费收支明细", "author": "旧楼区准物业管理监督系统", "created": datetime(f.year, 1, 1)})
    money = book.add_format({"num_format": "#,##0.00"})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("收支明细")
    for row, (label, fact) in enumerate(_facts(statement)):
        sheet.write_string(row, 0, label, bold)
        sheet.write_string(row, 1, fact)
    top = len(_facts(statement)) + 1
    for index, header in enumerate(CLAIM_HEADERS):
        sheet.write_string(top, index, header, bold)
    for n, c in enumerate(statement.claims, start=top + 1):
        cells: list[object] = [c.id, str(c.spent_on), c.purpose, c.description, c.invoice_number, STATE_NAMES.get(c.state, c.state), _decided(c) + (f"；理由：{c.refusal_reason}" if c.refusal_reason else ""), c.paid_in_batch or ""]
        for index, value in enumerate(cells):
            write_cell(sheet, n, index, value)
        sheet.write_number(n, len(CLAIM_HEADERS) - 1, c.amount_fen / 100, money)
    sheet.set_column(0, 1, 14)
    sheet.set_column(3, 3, 36)
    sheet.set_column(6, 6, 30)
    sheet.set_column(len(CLAIM_HEADERS) - 1, len(CLAIM_HEADERS) - 1, 16)
    book.close()
    return buffer.getvalue()


def _file(content: bytes, media_type: str, name: str) -> Response[bytes]:
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private"})


class ActivityStatementController(Controller):
    """A holder's statement of a year: to the holder, its street and the district."""

    path = "/activity/statements"
    tags = ["activity funds"]
    guards = [allow({Role.COMMITTEE_DIRECTOR, Role.STREET_OFFICER, Role.FINANCE, Role.ADMIN}, "activity fund statements")]

    @get("/{year:int}/{holder:str}/statement.pdf", responses=problem_responses(400, 403, 404, 503), media_type=PDF)
    async def activity_statement_pdf(self, year: YearPath, holder: HolderPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[bytes]:
        statement = await queries.statement(db, principal, year, holder)
        try:
            content = await asyncio.to_thread(statement_pdf, statement)
        except FontMissing as missing:
            raise Unavailable(str(missing)) from None
        return _file(content, PDF, f"activity-{year}-{holder.replace(':', '-')}.pdf")

    @get("/{year:int}/{holder:str}/statement.xlsx", responses=problem_responses(400, 403, 404), media_type=XLSX)
    async def activity_statement_xlsx(self, year: YearPath, holder: HolderPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[bytes]:
        statement = await queries.statement(db, principal, year, holder)
        return _file(await asyncio.to_thread(statement_workbook, statement), XLSX, f"activity-{year}-{holder.replace(':', '-')}.xlsx")


# As the batch documents: /api/... for software, /documents/... for pages, under the same checks.
ROUTES = [
    Router(path="/api", route_handlers=[ActivityStatementController]),
    Router(path="/documents", route_handlers=[ActivityStatementController], include_in_schema=False),
]
