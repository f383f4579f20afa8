"""The documents of a disbursement batch and of an estate's month: their data gathered from the database, rendered
(reports.pdf, reports.sheets), and recorded as issued so that any copy can be verified. A document is made once,
when it is issued (a batch's documents as the batch is issued, an estate's month report by a POST): its bytes are
kept in the blob store under their sha256 (named in the issued-document row, which is append-only) and every
download serves exactly those bytes, whatever changed in the registry, the rate cards or the scores since. A
download never makes a document."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Protocol, TypeVar

from PIL import Image as PILImage
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment.queries import ScoreVersion, opinion_of, vetoes_of
from foundation.clock import BUSINESS_TZ, utc_now
from foundation.errors import Conflict, NotFound
from foundation.heavy import off_loop, run_on
from foundation.money import yuan
from foundation.periods import Month, period_zh
from foundation.ratios import ratio_text, stored_ratio
from foundation.settings import get_settings
from foundation.storage import BlobStore, read_blob, write_blob
from foundation.web.filters import actor_account, person_named
from inspections.config import current_checklist
from inspections.queries import finding_notes, record_photo_digests
from people.queries import account_names
from registry import queries as registry_queries
from registry.queries import EstateInfo
from reports.pdf import Column, Document, FontMissing, Photo, Signoff, TableBlock, page_count, render
from reports.sheets import batch_workbook
from reports.tables import IssuedDocument
from subsidies.engine.proposals import proposal_behind
from subsidies.engine.tables import ProgrammeAdjustment, ProgrammeBatch, ProgrammeRun
from subsidies.property.cards import rate_cards
from subsidies.property.queries import approval, confirmations, street_of
from subsidies.property.rules import RateCard, card_on
from subsidies.property.service import PROGRAMME
from subsidies.property.tables import SubsidyLine

log = logging.getLogger(__name__)
T = TypeVar("T")
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Who issues each kind of document (shown on the public verification page).
ISSUERS = {"batch_summary": "区财政", "payment_notice": "区财政", "batch_lines": "区财政", "estate_report": "街道办事处", "audit_statement": "区级系统管理员", "volunteer_hours": "社区居委会", "relief_letter": "区民政局", "wristband_labels": "社区居委会"}


def new_document_code() -> str:
    """128 bits from the operating system's CSPRNG, in hex: the code in the verification address and the QR code.
    Nothing about the document can be derived from it, so codes cannot be enumerated."""
    return secrets.token_hex(16)


SUBJECT_LENGTH, NUMBER_LENGTH = 80, 40  # issued_documents.subject and .number


def verify_url(code: str) -> str:
    return f"{get_settings().resolved_public_base_url()}/verify/{code}"


def content_checksum(content: object) -> str:
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def _when(instant: datetime | None) -> str:
    return instant.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if instant else ""


def date_written(instant: datetime) -> str:
    """The date under the issuing authority (落款), as an official document writes it: 2026年11月26日."""
    day = instant.astimezone(BUSINESS_TZ).date()
    return f"{day.year}年{day.month}月{day.day}日"


# The signature lines of a document: who handled it, who checked it, who approved it (signed by hand).
SIGNATURE_LINES = (("经办", ""), ("复核", ""), ("审批", ""))

Named = Callable[[str | None], str]


async def people_named(session: AsyncSession, *labels: str | None) -> Named:
    """Who did something, as a document names them ('王芳（区财政）'), from one look-up of the accounts among
    `labels` (not one per line)."""
    names = await account_names(session, {a for a in map(actor_account, labels) if a is not None})
    return lambda label: person_named(label, names)


def street_office(street: str) -> str:
    """The issuing authority of a street's documents: 小白楼 → 小白楼街道办事处 (a name with 街道 already keeps it once)."""
    return f"{street.removesuffix('街道')}街道办事处"


def finance_signoff(instant: datetime, handled: str = "", approved: str = "") -> Signoff:
    """District finance's sign-off: the people who priced and approved it named on 经办 and 审批 when known; 复核 is
    signed by hand."""
    return Signoff(get_settings().finance_authority, date_written(instant), (("经办", handled), ("复核", ""), ("审批", approved)))


def area_text(centi_m2: int) -> str:
    """A floor area in m² with thousands separators: 12,345.60."""
    return f"{centi_m2 // 100:,}.{centi_m2 % 100:02d}"


def month_rates(cards: tuple[RateCard, ...], month: str) -> str:
    """The monthly rate (元/㎡·月) of the cards in force in a month: one figure, or each when a card starts mid-month."""
    first = Month.parse(month).first_day
    days = [first.replace(day=d) for d in range(1, Month.parse(month).last_day.day + 1)]
    rates = sorted({card.rate_fen for card in (card_on(cards, day) for day in days) if card is not None})
    return "/".join(yuan(r) for r in rates) or "—"


@dataclass(frozen=True)
class Made:
    """A document as made, before it is recorded: its bytes and the facts the verification shows."""

    content: bytes
    number: str
    title: str
    checksum: str
    total_fen: int | None
    media_type: str = PDF
    pages: int | None = None


# Rendering is CPU work, one document at a time (ReportLab keeps process-wide state): on a thread of its own, so a
# document waiting for the one before it holds none of the threads other heavy work (photos, spreadsheets) uses.
_RENDERING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-render")


async def rendered_alone(render_pdf: Callable[[], bytes]) -> bytes:
    """Render off the event loop, one document at a time like every other (a sheet of labels, ...)."""
    return await run_on(_RENDERING, render_pdf)


async def made_pdf(document: Document, total_fen: int | None) -> Made:
    pdf = await rendered_alone(partial(render, document, get_settings().pdf_font_path))
    return Made(pdf, document.number, document.title, document.checksum, total_fen, PDF, page_count(pdf))


async def _kept(session: AsyncSession, kind: str, subject: str) -> IssuedDocument | None:
    return (await session.execute(select(IssuedDocument).where(col(IssuedDocument.kind) == kind, col(IssuedDocument.subject) == subject, col(IssuedDocument.kept)))).scalar()


async def served(session: AsyncSession, store: BlobStore, kind: str, subject: str, missing: Conflict) -> tuple[bytes, IssuedDocument]:
    """The document as it was issued, for a download; `missing` (saying how to issue it) when it was not."""
    row = await _kept(session, kind, subject)
    if row is None:
        raise missing
    return await read_blob(store, row.pdf_sha256), row


def batch_subject(batch: ProgrammeBatch, company_id: int | None = None) -> str:
    return f"batch:{batch.id}" + (f"/company:{company_id}" if company_id is not None else "")


async def kept_documents(session: AsyncSession, batch: ProgrammeBatch) -> list[IssuedDocument]:
    """The documents kept of a batch: its summary, and for a run's batch each company's notice and the spreadsheet."""
    subject = batch_subject(batch)
    query = select(IssuedDocument).where(col(IssuedDocument.kept), (col(IssuedDocument.subject) == subject) | col(IssuedDocument.subject).startswith(f"{subject}/"))
    return list((await session.execute(query.order_by(col(IssuedDocument.id)))).scalars())


def estate_report_subject(score: ScoreVersion) -> str:
    return f"estate:{score.estate_id}/{score.month}/score:{score.id}"


async def issue(
    session: AsyncSession, store: BlobStore, kind: str, subject: str, make: Callable[[str], Awaitable[Made]], prepared: tuple[str, Made] | None = None
) -> tuple[bytes, IssuedDocument]:
    """The document as issued: made (with a new code) and kept the first time it is asked for; from then on its
    kept bytes, never made again. `prepared`: its code and bytes, made already (before the transaction began)."""
    if len(subject) > SUBJECT_LENGTH:  # SQLite would keep it; PostgreSQL would refuse it: refuse it everywhere
        raise ValueError(f"a document's subject has at most {SUBJECT_LENGTH} characters: {subject!r}")
    row = await _kept(session, kind, subject)
    if row is None:
        if prepared is not None:
            code, made = prepared
        else:
            code = new_document_code()
            made = await make(code)
        if len(made.number) > NUMBER_LENGTH:
            raise ValueError(f"a document's number has at most {NUMBER_LENGTH} characters: {made.number!r}")
        sha = await write_blob(store, made.content)  # before the row: a row always names bytes that are there
        row = IssuedDocument(
            code=code, kind=kind, subject=subject, number=made.number, title=made.title, total_fen=made.total_fen,
            checksum=made.checksum, pdf_sha256=sha, media_type=made.media_type, pages=made.pages, kept=True, issued_at=utc_now(),
        )
        try:
            # In a savepoint, so that losing the race below expires nothing else the caller holds (its batch). The
            # row is stored with the caller's transaction: a batch and the documents issued with it, together or not.
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:  # the same document issued at the same moment by another request: theirs is the one
            row = await _kept(session, kind, subject)
            if row is None:
                raise
    return await read_blob(store, row.pdf_sha256), row


async def _company_names(session: AsyncSession, ids: Collection[int]) -> dict[int, str]:
    return {c.id: c.name for c in (await registry_queries.companies(session, ids)).values()}


async def _batch_context(session: AsyncSession, batch: ProgrammeBatch) -> tuple[ProgrammeRun, list[SubsidyLine], dict[int, EstateInfo], dict[int, str], dict[int, str]]:
    run = await session.get_one(ProgrammeRun, batch.run_id)
    lines = list((await session.execute(select(SubsidyLine).where(col(SubsidyLine.run_id) == batch.run_id).order_by(col(SubsidyLine.street_id), col(SubsidyLine.company_id), col(SubsidyLine.estate_id), col(SubsidyLine.month), col(SubsidyLine.contract_id)))).scalars())
    estates = await registry_queries.estates(session, {l.estate_id for l in lines})  # noqa: E741
    streets = {s.id: s.name for s in await registry_queries.streets(session)}
    companies = await _company_names(session, {l.company_id for l in lines})  # noqa: E741
    return run, lines, estates, streets, companies


LINE_COLUMNS = (
    Column("区片", 40), Column("月份", 14), Column("得分", 12, True), Column("等级", 25), Column("标准（元/㎡·月）", 18, True),
    Column("系数", 11, True), Column("面积（㎡）", 22, True), Column("天数", 12, True), Column("金额（元）", 26, True),
)


def _line_row(line: SubsidyLine, estate: EstateInfo, cards: tuple[RateCard, ...]) -> list[str]:
    # An upheld veto makes the month 不合格 whatever the points: the points are not shown beside that grade.
    score = "否决" if line.vetoed else "—" if line.score_centi is None else f"{line.score_centi // 100}.{line.score_centi % 100:02d}"
    grade = line.grade
    return [
        f"{estate.code} {estate.name}", line.month, score, grade, month_rates(cards, line.month), ratio_text(stored_ratio(line.coefficient)),
        area_text(line.area_centi_m2), f"{line.days}/{line.days_in_month}", yuan(line.amount_fen),
    ]


class Correction(Protocol):
    """An adjustment's row of any programme: what the line should pay in all, and this adjustment's difference."""

    corrected_amount_fen: int
    delta_fen: int


def paid_before(adjustment: Correction) -> int:
    """What the line had paid before this adjustment (its amount with every earlier adjustment): the corrected amount
    less this adjustment's difference, so that each row of an adjustment reads 原金额 + 差额 = 应付."""
    return adjustment.corrected_amount_fen - adjustment.delta_fen


@dataclass(frozen=True)
class AdjustmentSignoff:
    """Who made an adjustment batch, as its summary names them: the officer who proposed the correction (经办) and
    the one who approved and so issued it (审批), each with when."""

    facts: list[tuple[str, str]]
    signoff: Signoff


class IssuedBatch(Protocol):
    """A batch of the property subsidy or of any programme, as its sign-off reads it."""

    @property
    def id(self) -> int | None: ...
    @property
    def issued_at(self) -> datetime: ...
    @property
    def issued_by(self) -> str: ...


async def adjustment_signoff(session: AsyncSession, programme: str, batch: IssuedBatch) -> AdjustmentSignoff:
    """The proposal behind an adjustment batch names its two people; a batch issued before proposals existed names
    the one who issued it."""
    proposal = await proposal_behind(session, programme, batch.id)
    if proposal is None:
        who = await people_named(session, batch.issued_by)
        return AdjustmentSignoff([("签发", f"{who(batch.issued_by)}，{_when(batch.issued_at)}")], finance_signoff(batch.issued_at, handled=who(batch.issued_by)))
    who = await people_named(session, proposal.proposed_by, batch.issued_by)
    return AdjustmentSignoff(
        [("提出", f"{who(proposal.proposed_by)}，{_when(proposal.proposed_at)}"), ("审批签发", f"{who(batch.issued_by)}，{_when(batch.issued_at)}")],
        finance_signoff(batch.issued_at, handled=who(proposal.proposed_by), approved=who(batch.issued_by)),
    )


async def _adjustment_summary(session: AsyncSession, batch: ProgrammeBatch, code: str) -> Made:
    """An adjustment batch: the batch it corrects, why, and each line's corrected amount and difference."""
    original = await session.get(ProgrammeBatch, batch.corrects_batch_id)
    adjusted = [
        (a, line)
        for a, line in await session.execute(
            select(ProgrammeAdjustment, SubsidyLine)
            .join(SubsidyLine, col(SubsidyLine.id) == col(ProgrammeAdjustment.line_id))
            .where(col(ProgrammeAdjustment.batch_id) == batch.id)
            .order_by(col(ProgrammeAdjustment.id))
        )
    ]
    estates = await registry_queries.estates(session, {line.estate_id for _, line in adjusted})
    companies = await _company_names(session, {line.company_id for _, line in adjusted})
    rows = [(a, line, estates[line.estate_id], companies[line.company_id]) for a, line in adjusted]
    people = await adjustment_signoff(session, PROGRAMME, batch)
    document = Document(
        title="旧楼区准物业管理补贴调整批次",
        number=batch.number,
        checksum=content_checksum({"batch": batch.number, "checksum": batch.checksum, "total": batch.total_fen}),
        verify_url=verify_url(code),
        facts=[
            ("批次编号", batch.number), ("更正批次", original.number if original else ""), ("调整原因", batch.reason or ""),
            ("调整合计", f"{yuan(batch.total_fen)} 元（市级 {yuan(batch.city_fen)} 元，区级 {yuan(batch.district_fen)} 元）"),
            *people.facts,
        ],
        tables=[
            TableBlock(
                "调整明细",
                (Column("区片", 50), Column("物业企业", 44), Column("月份", 15), Column("原金额（元）", 24, True), Column("应付（元）", 24, True), Column("差额（元）", 24, True)),
                [[f"{e.code} {e.name}", company, line.month, yuan(paid_before(a)), yuan(a.corrected_amount_fen), yuan(a.delta_fen)] for a, line, e, company in rows],
                ["合计", "", "", "", "", yuan(batch.total_fen)],
            )
        ],
        signoff=people.signoff,
    )
    return await made_pdf(document, batch.total_fen)


async def batch_summary(session: AsyncSession, store: BlobStore, batch: ProgrammeBatch, prepared: tuple[str, Made] | None = None) -> tuple[bytes, IssuedDocument]:
    """The batch pack's summary (or an adjustment batch's), as issued."""
    make = _adjustment_summary if batch.run_id is None else _batch_summary
    return await issue(session, store, "batch_summary", batch_subject(batch), lambda code: make(session, batch, code), prepared)


async def _batch_summary(session: AsyncSession, batch: ProgrammeBatch, code: str) -> Made:
    run, lines, estates, streets, companies = await _batch_context(session, batch)
    cards = await rate_cards(session)
    confirmed = await confirmations(session, run.id or 0)
    approved = await approval(session, run.id or 0)
    approver, approved_at = (approved.approved_by, approved.approved_at) if approved else ("", None)
    by_street: dict[int, list[SubsidyLine]] = {}
    by_company: dict[int, list[SubsidyLine]] = {}
    for line in lines:
        by_street.setdefault(line.street_id, []).append(line)
        by_company.setdefault(line.company_id, []).append(line)
    content = {"batch": batch.number, "checksum": batch.checksum, "total": batch.total_fen, "lines": len(lines)}
    who = await people_named(session, run.created_by, approver, batch.issued_by, *(c.approved_by for c in confirmed))
    document = Document(
        title="旧楼区准物业管理补贴拨付汇总表",
        number=batch.number,
        checksum=content_checksum(content),
        verify_url=verify_url(code),
        facts=[
            ("批次编号", batch.number), ("季度", period_zh(run.period) + ("（补充）" if run.supplementary else "")),
            ("拨付总额", f"{yuan(batch.total_fen)} 元（市级 {yuan(batch.city_fen)} 元，区级 {yuan(batch.district_fen)} 元）"),
            ("明细条目", str(len(lines))),
            ("测算", f"{who(run.created_by)}，{_when(run.created_at)}"),
            *[(f"街道确认（{streets[street_of(c.holder)]}）", f"{who(c.approved_by)}，{_when(c.approved_at)}，{yuan(c.total_fen)} 元") for c in confirmed],
            ("区财政审批", f"{who(approver)}，{_when(approved_at)}"), ("拨付", f"{who(batch.issued_by)}，{_when(batch.issued_at)}"),
        ],
        tables=[
            TableBlock(
                "按街道汇总", (Column("街道", 70), Column("条目", 16, True), Column("市级（元）", 32, True), Column("区级（元）", 32, True), Column("合计（元）", 32, True)),
                [
                    [streets[s], str(len(ls)), yuan(sum(l.city_fen for l in ls)), yuan(sum(l.district_fen for l in ls)), yuan(sum(l.amount_fen for l in ls))]  # noqa: E741
                    for s, ls in sorted(by_street.items())
                ],
                ["合计", str(len(lines)), yuan(batch.city_fen), yuan(batch.district_fen), yuan(batch.total_fen)],
            ),
            TableBlock(
                "按企业汇总", (Column("物业企业", 70), Column("条目", 16, True), Column("市级（元）", 32, True), Column("区级（元）", 32, True), Column("合计（元）", 32, True)),
                [
                    [companies[c], str(len(ls)), yuan(sum(l.city_fen for l in ls)), yuan(sum(l.district_fen for l in ls)), yuan(sum(l.amount_fen for l in ls))]  # noqa: E741
                    for c, ls in sorted(by_company.items(), key=lambda kv: companies[kv[0]])
                ],
                ["合计", str(len(lines)), yuan(batch.city_fen), yuan(batch.district_fen), yuan(batch.total_fen)],
            ),
            TableBlock("明细（区片 × 月份）", LINE_COLUMNS, [_line_row(l, estates[l.estate_id], cards) for l in lines], ["合计", "", "", "", "", "", "", "", yuan(batch.total_fen)]),  # noqa: E741
        ],
        signoff=finance_signoff(batch.issued_at, handled=who(run.created_by), approved=who(approver)),
        notes=[
            "金额 = 管理面积 × 每平方米月补贴标准 × 等级系数 × 计补天数 / 当月天数，按行四舍五入到分；一票否决维持的月份系数为 0。",
            f"批次校验和（SHA-256，核对明细用）：{batch.checksum}",
        ],
    )
    return await made_pdf(document, batch.total_fen)


async def payment_notice(
    session: AsyncSession, store: BlobStore, batch: ProgrammeBatch, company_id: int, prepared: tuple[str, Made] | None = None
) -> tuple[bytes, IssuedDocument]:
    """A company's payment notice for the batch, as issued."""
    return await issue(session, store, "payment_notice", batch_subject(batch, company_id), lambda code: _payment_notice(session, batch, company_id, code), prepared)


async def _payment_notice(session: AsyncSession, batch: ProgrammeBatch, company_id: int, code: str) -> Made:
    run, lines, estates, _, companies = await _batch_context(session, batch)
    payee = await _one(registry_queries.company(session, company_id), "company", company_id)
    cards = await rate_cards(session)
    own = [l for l in lines if l.company_id == company_id]  # noqa: E741
    total, city, district = sum(l.amount_fen for l in own), sum(l.city_fen for l in own), sum(l.district_fen for l in own)  # noqa: E741
    content = {"batch": batch.number, "company": company_id, "total": total, "lines": [[l.estate_id, l.month, l.amount_fen] for l in own]}  # noqa: E741
    quarter = period_zh(run.period) + ("（补充）" if run.supplementary else "")
    approved = await approval(session, run.id or 0)
    approver, approved_at = (approved.approved_by, approved.approved_at) if approved else ("", None)
    who = await people_named(session, run.created_by, approver)
    document = Document(
        title="旧楼区准物业管理补贴拨付通知书",
        number=batch.number,
        checksum=content_checksum(content),
        verify_url=verify_url(code),
        addressee=f"{payee.name}：",
        opening=(
            f"根据{quarter}旧楼区准物业管理考核结果，经街道办事处确认、区财政审批，现拨付贵公司{quarter}旧楼区准物业管理补贴"
            f"{yuan(total)}元（市级{yuan(city)}元，区级{yuan(district)}元），汇入贵公司下列账户，请注意查收。明细如下。"
        ),
        facts=[
            ("收款单位", payee.name), ("开户银行", payee.bank_name or "未登记（请向区财政提供）"), ("银行账号", payee.bank_account or "未登记（请向区财政提供）"),
            ("批次编号", batch.number), ("季度", quarter),
            ("拨付金额", f"{yuan(total)} 元（市级 {yuan(city)} 元，区级 {yuan(district)} 元）"), ("审批", f"{who(approver)}，{_when(approved_at)}"),
        ],
        tables=[TableBlock("明细", LINE_COLUMNS, [_line_row(l, estates[l.estate_id], cards) for l in own], ["合计", "", "", "", "", "", "", "", yuan(total)])],  # noqa: E741
        signoff=finance_signoff(batch.issued_at, handled=who(run.created_by), approved=who(approver)),
        notes=["金额 = 管理面积 × 每平方米月补贴标准 × 等级系数 × 计补天数 / 当月天数，按行四舍五入到分；一票否决维持的月份系数为 0。"],
    )
    return await made_pdf(document, total)


async def batch_lines(session: AsyncSession, store: BlobStore, batch: ProgrammeBatch, prepared: tuple[str, Made] | None = None) -> tuple[bytes, IssuedDocument]:
    """The batch's lines for the treasury (XLSX), as issued."""
    return await issue(session, store, "batch_lines", batch_subject(batch), lambda code: _batch_lines(session, batch), prepared)


def _identity(batch: ProgrammeBatch) -> tuple[object, ...]:
    return (batch.number, batch.run_id, batch.checksum, batch.total_fen, batch.city_fen, batch.district_fen, batch.lines, batch.issued_at, batch.issued_by)


@dataclass(frozen=True)
class PreparedDocuments:
    """A run's batch documents made from the batch as it is about to be issued (`prospective_batch`), before the
    transaction that stores it begins: rendering is slow, and on SQLite a writing transaction holds the database's
    one write lock from its start, so a colleague issuing at the same moment would wait for all the rendering. Used
    only for the very batch they were made from; each is (code, bytes) by kind and company."""

    batch: tuple[object, ...]
    documents: dict[tuple[str, int | None], tuple[str, Made]]

    def of(self, batch: ProgrammeBatch, kind: str, company_id: int | None = None) -> tuple[str, Made] | None:
        return self.documents.get((kind, company_id)) if self.batch == _identity(batch) else None


async def _companies_paid(session: AsyncSession, batch: ProgrammeBatch) -> list[int]:
    return list((await session.execute(select(col(SubsidyLine.company_id)).where(col(SubsidyLine.run_id) == batch.run_id).distinct().order_by(col(SubsidyLine.company_id)))).scalars())


async def prepare_batch_documents(session: AsyncSession, batch: ProgrammeBatch) -> PreparedDocuments | None:
    """The documents of a run's batch not stored yet, made with new codes (None without a CJK font: they are made
    later, as `issue_batch_documents` says)."""
    try:
        documents: dict[tuple[str, int | None], tuple[str, Made]] = {}
        code = new_document_code()
        documents[("batch_summary", None)] = (code, await _batch_summary(session, batch, code))
        for company_id in await _companies_paid(session, batch):
            code = new_document_code()
            documents[("payment_notice", company_id)] = (code, await _payment_notice(session, batch, company_id, code))
        documents[("batch_lines", None)] = (new_document_code(), await _batch_lines(session, batch))
    except FontMissing as missing:
        log.warning("documents of batch %s not prepared: %s", batch.number, missing)
        return None
    return PreparedDocuments(_identity(batch), documents)


async def make_batch_documents(session: AsyncSession, store: BlobStore, batch: ProgrammeBatch, prepared: PreparedDocuments | None = None) -> None:
    """Make and keep the batch's documents not kept yet (its summary; for a run's batch also every company's payment
    notice and the treasury spreadsheet), those `prepared` for this very batch as they were made. Raises FontMissing
    when there is no CJK font."""
    def ready(kind: str, company_id: int | None = None) -> tuple[str, Made] | None:
        return prepared.of(batch, kind, company_id) if prepared is not None else None

    await batch_summary(session, store, batch, ready("batch_summary"))
    if batch.run_id is None:
        return
    for company_id in await _companies_paid(session, batch):
        await payment_notice(session, store, batch, company_id, ready("payment_notice", company_id))
    await batch_lines(session, store, batch, ready("batch_lines"))


async def issue_batch_documents(session: AsyncSession, store: BlobStore, batch: ProgrammeBatch, prepared: PreparedDocuments | None = None) -> None:
    """Make and keep a batch's documents as the batch is issued, in its transaction (the batch and its documents are
    stored together, or neither), so they carry the registry as it was then. Without a CJK font the batch is issued
    all the same and its documents are made later, by POST .../documents (a download answers 409 until then)."""
    try:
        await make_batch_documents(session, store, batch, prepared)
    except FontMissing as missing:
        log.warning("documents of batch %s not made at issue: %s", batch.number, missing)


async def _batch_lines(session: AsyncSession, batch: ProgrammeBatch) -> Made:
    lines = list(
        (
            await session.execute(
                select(SubsidyLine).where(col(SubsidyLine.run_id) == batch.run_id).order_by(col(SubsidyLine.street_id), col(SubsidyLine.estate_id), col(SubsidyLine.month), col(SubsidyLine.contract_id))
            )
        ).scalars()
    )
    streets = {s.id: s.name for s in await registry_queries.streets(session)}
    communities = await registry_queries.communities(session, {l.community_id for l in lines})  # noqa: E741
    estates = await registry_queries.estates(session, {l.estate_id for l in lines})  # noqa: E741
    companies = await registry_queries.companies(session, {l.company_id for l in lines})  # noqa: E741
    rows = [
        (line, streets[line.street_id], communities[line.community_id].name, estates[line.estate_id].code, estates[line.estate_id].name, companies[line.company_id])
        for line in lines
    ]
    table = [
        [
            batch.number, street, community, code, name, company.name, company.bank_name, company.bank_account, line.month,
            "" if line.score_centi is None else line.score_centi / 100, line.grade, "是" if line.vetoed else "否", float(stored_ratio(line.coefficient)),
            line.area_centi_m2 / 100, line.days, line.days_in_month, line.amount_fen, line.city_fen, line.district_fen,
        ]
        for line, street, community, code, name, company in rows
    ]
    content = await off_loop(batch_workbook, batch.number, batch.issued_at, table, (batch.total_fen, batch.city_fen, batch.district_fen))
    checksum = content_checksum({"batch": batch.number, "checksum": batch.checksum, "total": batch.total_fen, "lines": len(table), "sheet": "lines"})
    return Made(content, batch.number, f"补贴拨付明细 {batch.number}", checksum, batch.total_fen, XLSX, None)


async def estate_report(session: AsyncSession, store: BlobStore, score: ScoreVersion) -> tuple[bytes, IssuedDocument]:
    """The report of a score version, as issued (a new score version is a new report; the old one stays)."""
    return await issue(session, store, "estate_report", estate_report_subject(score), lambda code: _estate_report(session, store, score, code))


# A veto's state in the words the pages use (assessment/pages.py, VETO_STATE_NAMES).
VETO_STATES = {"pending": "待审核", "upheld": "维持否决", "overturned": "撤销否决"}


async def _one(found: Awaitable[T | None], what: str, ident: int) -> T:
    """A row the document rests on, which the database keeps from disappearing (a foreign key names it)."""
    row = await found
    if row is None:
        raise NotFound(what, ident)
    return row


# A photo in the month report: a thumbnail this many pixels on its longer side (a few kilobytes each, sharp in print
# at the 18 mm it is drawn), at most this many per record and item.
THUMBNAIL_SIDE = 240
THUMBNAILS_PER_ITEM = 6


def thumbnail(content: bytes) -> bytes | None:
    """A small JPEG of a photo for a document, or None when the bytes are not a picture Pillow reads."""
    try:
        with PILImage.open(io.BytesIO(content)) as image:
            image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # a JPEG decoded at a fraction of its size: fast
            image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=70)
            return out.getvalue()
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return None


def _thumbnails(store: BlobStore, digests: list[str]) -> list[Photo]:
    photos = []
    for sha in digests[:THUMBNAILS_PER_ITEM]:
        try:
            small = thumbnail(store.get(sha))
        except OSError:  # FileNotFoundError: the blob is not in this store
            small = None
        if small is not None:
            photos.append(Photo(small))
    return photos


def _thumbnail_groups(store: BlobStore, groups: list[list[str]]) -> list[list[Photo]]:
    return [_thumbnails(store, digests) for digests in groups]


async def _estate_report(session: AsyncSession, store: BlobStore, score: ScoreVersion, code: str) -> Made:
    """The estate's month: score, grade, components, every line of the breakdown, the committee's opinion, vetoes."""
    estate = await _one(registry_queries.estate(session, score.estate_id), "estate", score.estate_id)
    community = await _one(registry_queries.community(session, score.community_id), "community", score.community_id)
    street = await _one(registry_queries.street(session, score.street_id), "street", score.street_id)
    company = await registry_queries.company(session, score.company_id) if score.company_id else None
    opinion = await opinion_of(session, score.estate_id, Month.parse(score.month))
    vetoes = await vetoes_of(session, score.estate_id, Month.parse(score.month))
    who = await people_named(session, opinion.given_by if opinion else None, *(v.cast_by for v in vetoes), *(v.reviewed_by for v in vetoes))
    result = score.result
    record_ids = {line["record_id"] for line in result.get("lines", []) if line.get("record_id")}
    digests = await record_photo_digests(session, record_ids) if record_ids else {}
    items = current_checklist().items
    # The fault found on a failed item (the note written on it, as amended), as the web's breakdown shows it.
    found = await finding_notes(session, {line["record_id"] for line in result.get("lines", []) if line.get("record_id") and line.get("item")})

    def item_text(item: str | None) -> str:
        """A checklist item by its code and its text (C04 楼道杂物堆放), as the web shows it."""
        if not item:
            return ""
        known = items.get(item)
        return f"{item} {known.text}" if known else item

    def fault_text(record_id: int | None, item: str | None) -> str:
        """What was found on the item (问题), with the item it was found on: 「楼道堆放纸箱」（C04 楼道杂物堆放）."""
        fault = found.get((record_id, item)) if record_id and item else None
        return f"{fault}（{item_text(item)}）" if fault else item_text(item)

    groups = sorted(digests.items())
    # The photos are read from the store and shrunk off the event loop: both block.
    shots_of = await off_loop(_thumbnail_groups, store, [shas for _, shas in groups])
    photos = [(f"记录 #{record} {item_text(item) or '整条记录'}", shots) for ((record, item), _), shots in zip(groups, shots_of, strict=True) if shots]
    names = {"street_inspection": "街道检查", "spot_check": "第三方抽查", "patrol": "日常巡查", "committee": "居委会评价", "satisfaction": "居民满意度", "veto": "一票否决"}
    shown = "—" if score.score_centi is None else f"{score.score_centi // 100}.{score.score_centi % 100:02d}"
    document = Document(
        title="旧楼区准物业管理月度考核报告",
        number=f"KH-{score.month}-{estate.code}-v{score.version}",
        checksum=content_checksum({"score": score.id, "inputs": score.inputs_sha256, "rules": score.rules_sha256}),
        verify_url=verify_url(code),
        facts=[
            ("区片", f"{estate.code} {estate.name}"), ("社区 / 街道", f"{community.name} / {street.name}"),
            ("物业企业", company.name if company else "—"), ("月份", score.month),
            ("得分 / 等级", f"一票否决，按{score.grade}计（各项计分 {shown}，不决定等级）" if score.vetoed else f"{shown} / {score.grade}"),
            ("计算", f"第 {score.version} 版，{_when(score.computed_at)}，规则 {score.rules_sha256[:12]}，输入 {score.inputs_sha256[:12]}"),
            ("居委会评价", f"{opinion.rating} 分" + (f"，满意度 {opinion.satisfied}/{opinion.answered}" if opinion.answered else "") + (f"（{who(opinion.given_by)}）" if opinion.given_by else "") if opinion else "未评价"),
        ],
        tables=[
            TableBlock(
                "分项得分", (Column("分项", 50), Column("得分", 25, True), Column("权重", 20, True), Column("折算权重", 30, True), Column("记录数", 20, True)),
                [[names.get(c["component"], c["component"]), c["score"], str(c["weight"]), c["effective_weight"], str(c["records"])] for c in result.get("components", [])],
            ),
            TableBlock(
                "扣分与加减分明细", (Column("分项", 22), Column("记录", 14, True), Column("缺陷", 14, True), Column("问题（检查项）", 60), Column("分项分", 16, True), Column("影响总分", 18, True), Column("说明", 36)),
                [
                    [names.get(l["component"], l["component"]), str(l["record_id"] or ""), str(l["defect_id"] or ""), fault_text(l["record_id"], l["item"]), l["points"], l["effect"], l["note"]]  # noqa: E741
                    for l in result.get("lines", [])  # noqa: E741
                ],
            ),
            TableBlock(
                "一票否决记录", (Column("编号", 14, True), Column("原因", 44), Column("提出", 34), Column("状态", 20), Column("审核", 68)),
                [
                    [str(v.id), v.explanation, who(v.cast_by), VETO_STATES.get(v.state, v.state), "，".join(part for part in (who(v.reviewed_by) if v.reviewed_by else "", v.review_reason or "") if part)]
                    for v in vetoes
                ],
            ),
        ],
        photos=photos,
        signoff=Signoff(street_office(street.name), date_written(utc_now()), SIGNATURE_LINES),
        notes=[f"未计入的分项：{', '.join(names.get(m, m) for m in result.get('missing', []))}" if result.get("missing") else "五个分项均有数据。"],
    )
    return await made_pdf(document, None)


async def verify(session: AsyncSession, code: str | None = None, content: bytes | None = None) -> IssuedDocument | None:
    """The issued document by its code, or the one whose bytes these are exactly (None: not issued by us). Bytes
    are compared by sha256 with every document ever issued, also those issued before the bytes were kept."""
    if content is not None:
        sha = hashlib.sha256(content).hexdigest()
        return (await session.execute(select(IssuedDocument).where(col(IssuedDocument.pdf_sha256) == sha).order_by(col(IssuedDocument.id)))).scalars().first()
    return (await session.execute(select(IssuedDocument).where(col(IssuedDocument.code) == code))).scalar()

