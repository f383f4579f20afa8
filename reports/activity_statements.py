"""A holder's statement of a year's activity funds (活动经费收支明细), in Simplified Chinese: the allocation, every
claim with its approval and payment, and the balance.

The PDF is issued like every other document (reports.service): asked for with a POST, it gets a random code in its
QR and verification address, its bytes are kept and served again as issued, and an altered copy fails the
verification. One statement per state of the fund: asking again with nothing changed gives the same document, byte
for byte; a new claim or decision makes the next one. The XLSX is a working sheet made on request (a GET writes
nothing), not an issued document."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated

import msgspec
import xlsxwriter
from litestar import Controller, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.clock import BUSINESS_TZ
from foundation.errors import Conflict, Unavailable
from foundation.heavy import off_loop
from foundation.money import yuan
from foundation.storage import BlobStore
from foundation.web.auth import allow
from foundation.web.doors import two_doors
from foundation.web.params import provide_store
from foundation.web.problems import problem_responses
from registry import queries as registry_queries
from reports.pdf import Column, Document, FontMissing, TableBlock
from reports.service import PDF, XLSX, Made, Named, content_checksum, issue, made_pdf, people_named, served, verify_url
from reports.sheets import write_cell
from subsidies.activity import queries
from subsidies.activity.rules import APPROVED, COMMUNITY, STATE_NAMES, parse_holder
from subsidies.activity.schemas import ClaimOut

YearPath = Annotated[int, Parameter(ge=2000, le=2100, description="A calendar year")]
HolderPath = Annotated[str, Parameter(pattern=r"^(community|street):[1-9][0-9]{0,9}$", description="community:<id> or street:<id>")]
CLAIM_HEADERS = ("申请编号", "支出日期", "用途", "所购物品或服务", "发票号码", "状态", "审批", "拨付批次", "金额（元）")


def _when(instant: datetime | None) -> str:
    return instant.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if instant else ""


def _decided(claim: ClaimOut, named: Named) -> str:
    """Who decided a claim and when, the person named by name and post (王芳（街道办）), never by account."""
    if claim.decided_at is None:
        return f"待审批（期限 {claim.due_on}）"
    return f"{named(claim.decided_by)}，{_when(claim.decided_at)}"


async def deciders_named(session: AsyncSession, statement: queries.Statement) -> Named:
    return await people_named(session, *(c.decided_by for c in statement.claims))


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


KIND = "activity_statement"


def subject_of(statement: queries.Statement) -> str:
    """The statement's subject: the holder, the year and the state of the fund it shows (128 bits of its content's
    checksum, so the subject fits the column's 80 characters)."""
    return f"activity:{statement.fund.holder}/{statement.fund.year}/content:{content_checksum(_content(statement))[:32]}"


async def holder_code(session: AsyncSession, holder: str) -> str:
    """The holder's code in the registry (a community's or a street's, as the district writes it: NS01), for the
    statement's number; its id when the registry has no code for it."""
    party = parse_holder(holder)
    found = await (registry_queries.community(session, party.id) if party.kind == COMMUNITY else registry_queries.street(session, party.id))
    return found.code if found is not None and found.code else str(party.id)


def statement_number(statement: queries.Statement, code: str) -> str:
    """HDJF-2026-NS01-C4DADE: the year, the holder's registry code and the first digits of the content's checksum, so
    the same state of the fund always has the same number and another state (or holder) another."""
    return f"HDJF-{statement.fund.year}-{code}-{content_checksum(_content(statement))[:6].upper()}"


async def _make(statement: queries.Statement, named: Named, number: str, code: str) -> Made:
    f = statement.fund
    claims = statement.claims
    approved = sum(c.amount_fen for c in claims if c.state == APPROVED)  # pending and refused claims are listed, not counted
    checksum = content_checksum(_content(statement))
    document = Document(
        title=f"{f.holder_name}{f.year} 年度活动经费收支明细",
        number=number,
        checksum=checksum,
        verify_url=verify_url(code),
        facts=_facts(statement),
        tables=[
            TableBlock(
                "报销申请",
                (Column("支出日期", 22), Column("用途", 16), Column("所购物品或服务", 84), Column("发票号码", 36), Column("金额（元）", 22, True)),
                [[str(c.spent_on), c.purpose, c.description, c.invoice_number, yuan(c.amount_fen)] for c in claims],
                ["合计（已批准）", "", "", "", yuan(approved)],
            ),
            TableBlock(
                "审批与拨付",
                (Column("发票号码", 36), Column("状态", 14), Column("审批", 62), Column("不批准理由", 32), Column("拨付批次", 36)),
                [[c.invoice_number, STATE_NAMES.get(c.state, c.state), _decided(c, named), c.refusal_reason or "", (c.paid_in_batch or "未拨付") if c.state == "approved" else ""] for c in claims],
            ),
        ],
        notes=("社区的报销由所属街道审批，街道的报销由区财政审批；同一张发票只能报销一次；年度余额年末失效，不结转下一年度。",),
    )
    return await made_pdf(document, approved)


async def issue_statement(session: AsyncSession, store: BlobStore, statement: queries.Statement) -> tuple[bytes, str, str]:
    """The statement of the fund as it stands, issued (the one issued before for the same state, or a new one):
    its bytes, code and number."""
    try:
        named = await deciders_named(session, statement)
        number = statement_number(statement, await holder_code(session, statement.fund.holder))
        content, row = await issue(session, store, KIND, subject_of(statement), lambda code: _make(statement, named, number, code))
    except FontMissing as missing:
        raise Unavailable(str(missing)) from None
    return content, row.code, row.number


def _not_issued(year: int, holder: str) -> Conflict:
    return Conflict(
        f"no statement was issued for this fund as it stands; issue one with POST /api/activity/statements/{year}/{holder}/statement",
        zh="该经费的收支明细尚未按当前状态开具，请先点击“开具年度收支明细”",
    )


def statement_workbook(statement: queries.Statement, named: Named) -> bytes:
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
        cells: list[object] = [c.id, str(c.spent_on), c.purpose, c.description, c.invoice_number, STATE_NAMES.get(c.state, c.state), _decided(c, named) + (f"；理由：{c.refusal_reason}" if c.refusal_reason else ""), c.paid_in_batch or ""]
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


class IssuedStatement(msgspec.Struct):
    code: str
    number: str
    download: str


STORE = {"store": Provide(provide_store, sync_to_thread=False)}
READERS = {Role.COMMITTEE_DIRECTOR, Role.STREET_OFFICER, Role.FINANCE, Role.ADMIN}


class ActivityStatementController(Controller):
    """A holder's statement of a year: to the holder, its street and the district."""

    path = "/activity/statements"
    tags = ["activity funds"]
    guards = [allow(READERS, "activity fund statements")]
    dependencies = STORE  # noqa: RUF012

    @get("/{year:int}/{holder:str}/statement.pdf", responses=problem_responses(400, 403, 404, 409), media_type=PDF)
    async def activity_statement_pdf(
        self, year: YearPath, holder: HolderPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]
    ) -> Response[bytes]:
        """The statement issued for the fund as it stands, byte for byte as issued (409 before one is)."""
        statement = await queries.statement(db, principal, year, holder)
        content, row = await served(db, store, KIND, subject_of(statement), _not_issued(year, holder))
        return _file(content, PDF, f"{row.number}.pdf")

    @get("/{year:int}/{holder:str}/statement.xlsx", responses=problem_responses(400, 403, 404), media_type=XLSX)
    async def activity_statement_xlsx(self, year: YearPath, holder: HolderPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[bytes]:
        statement = await queries.statement(db, principal, year, holder)
        named = await deciders_named(db, statement)
        return _file(await off_loop(statement_workbook, statement, named), XLSX, f"activity-{year}-{holder.replace(':', '-')}.xlsx")


class ActivityStatementIssueController(Controller):
    path = "/api/activity/statements"
    tags = ["activity funds"]
    guards = [allow(READERS, "activity fund statements")]
    dependencies = STORE  # noqa: RUF012

    @post("/{year:int}/{holder:str}/statement", responses=problem_responses(400, 403, 404, 503), status_code=200)
    async def issue_activity_statement(
        self, year: YearPath, holder: HolderPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]
    ) -> IssuedStatement:
        """活动经费收支明细: issue the statement of the fund as it stands (PDF with a verification QR code). Asked again
        with nothing changed, the same document."""
        _, code, number = await issue_statement(db, store, await queries.statement(db, principal, year, holder))
        return IssuedStatement(code=code, number=number, download=f"/api/activity/statements/{year}/{holder}/statement.pdf")


class ActivityStatementPageController(Controller):
    """The page's button: issue (or find) the statement, then download it."""

    path = "/documents/activity/statements"
    guards = [allow(READERS, "activity fund statements")]
    dependencies = STORE  # noqa: RUF012
    include_in_schema = False

    @post("/{year:int}/{holder:str}/statement", status_code=303)
    async def issue_activity_statement_page(
        self, year: YearPath, holder: HolderPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]
    ) -> Redirect:
        await issue_statement(db, store, await queries.statement(db, principal, year, holder))
        return Redirect(f"/documents/activity/statements/{year}/{holder}/statement.pdf", status_code=303)


# As the batch documents: /api/... for software, /documents/... for pages, under the same checks.
ROUTES: list[Router | type[Controller]] = [
    *two_doors(ActivityStatementController),
    ActivityStatementIssueController,
    ActivityStatementPageController,
]
