"""The documents of any programme's batch, rendered from the engine's batch and the programme's own description of
its lines: the summary (totals by holder and payee, the approvals, every line), a payment notice per payee and the
treasury spreadsheet. Made and kept when the batch is issued (or by an explicit POST when they could not be made
then); a download only serves what was kept."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.errors import Conflict, NotFound
from foundation.heavy import off_loop
from foundation.money import yuan
from foundation.periods import period_zh
from foundation.settings import get_settings
from foundation.storage import BlobStore, open_blob_store
from reports import service as property_documents
from reports.pdf import Column, Document, FontMissing, TableBlock
from reports.service import (
    XLSX,
    Made,
    _when,
    adjustment_signoff,
    content_checksum,
    finance_signoff,
    issue,
    made_pdf,
    paid_before,
    people_named,
    served,
    verify_url,
)
from reports.sheets import batch_workbook
from reports.tables import IssuedDocument
from subsidies.engine.accounts import NOT_RECORDED_ZH, Account, accounts_of
from subsidies.engine.queries import approvals_of, batch_lines, party
from subsidies.engine.registry import BatchDocumentMaker, DescribedLine, LineView, Programme, programme, sheet_headers
from subsidies.engine.rules import Party
from subsidies.engine.tables import ProgrammeAdjustment, ProgrammeBatch, ProgrammeLine, ProgrammeRun
from subsidies.property.programme import CODE as PROPERTY

log = logging.getLogger(__name__)


def subject_of(batch: ProgrammeBatch, payee: Party | None = None) -> str:
    if batch.programme == PROPERTY:  # the property subsidy's batches keep the documents of their own (reports/service.py)
        return property_documents.batch_subject(batch, payee.id if payee is not None else None)
    return f"programme-batch:{batch.id}" + (f"/{payee}" if payee else "")


async def _context(session: AsyncSession, batch: ProgrammeBatch) -> tuple[Programme, list[LineView], dict[int, DescribedLine], dict[Party, str]]:
    of = programme(batch.programme)
    lines = await batch_lines(session, batch)
    described = await of.documents.describe(session, lines)
    names = await of.names(session, {p for line in lines for p in (line.payee, line.holder, line.beneficiary)})
    return of, lines, described, names


def _line_columns(of: Programme) -> tuple[Column, ...]:
    return (*(Column(c.title, c.width, c.numeric) for c in of.documents.columns), Column("金额（元）", 26, True))


def _line_rows(lines: Sequence[LineView], described: dict[int, DescribedLine]) -> list[list[str]]:
    return [[*described[line.id].cells, yuan(line.amount_fen)] for line in lines]


def _total_row(of: Programme, total: int) -> list[str]:
    return ["合计", *[""] * (len(of.documents.columns) - 1), yuan(total)]


async def _summary(session: AsyncSession, batch: ProgrammeBatch, code: str) -> Made:
    of, lines, described, names = await _context(session, batch)
    run = await session.get(ProgrammeRun, batch.run_id)
    assert run is not None
    steps = {s.name: s for s in of.steps}
    given = await approvals_of(session, run.id or 0)
    who = await people_named(session, run.created_by, batch.issued_by, *(a.approved_by for a in given))
    approvals = [
        (f"{steps[a.step].zh or a.step}" + (f"（{names.get(party(a.holder), a.holder)}）" if a.holder else ""), f"{who(a.approved_by)}，{_when(a.approved_at)}，{yuan(a.total_fen)} 元")
        for a in given
    ]
    by_holder: dict[Party, list[LineView]] = {}
    by_payee: dict[Party, list[LineView]] = {}
    for line in lines:
        by_holder.setdefault(line.holder, []).append(line)
        by_payee.setdefault(line.payee, []).append(line)
    document = Document(
        title=of.documents.summary_title,
        number=batch.number,
        checksum=content_checksum({"batch": batch.number, "checksum": batch.checksum, "total": batch.total_fen, "lines": len(lines)}),
        verify_url=verify_url(code),
        facts=[
            ("项目", of.name), ("批次编号", batch.number), ("期间", period_zh(run.period) + ("（补充）" if run.supplementary else "")),
            ("拨付总额", f"{yuan(batch.total_fen)} 元（市级 {yuan(batch.city_fen)} 元，区级 {yuan(batch.district_fen)} 元）"),
            ("明细条目", str(len(lines))), ("批次校验和", batch.checksum), ("测算", f"{who(run.created_by)}，{_when(run.created_at)}"),
            *approvals, ("拨付", f"{who(batch.issued_by)}，{_when(batch.issued_at)}"),
        ],
        tables=[
            TableBlock(
                f"按{of.documents.holder_title}汇总",
                (Column(of.documents.holder_title, 70), Column("条目", 16, True), Column("市级（元）", 32, True), Column("区级（元）", 32, True), Column("合计（元）", 32, True)),
                [
                    [names.get(h, str(h)), str(len(ls)), yuan(sum(l.city_fen for l in ls)), yuan(sum(l.district_fen for l in ls)), yuan(sum(l.amount_fen for l in ls))]  # noqa: E741
                    for h, ls in sorted(by_holder.items())
                ],
                ["合计", str(len(lines)), yuan(batch.city_fen), yuan(batch.district_fen), yuan(batch.total_fen)],
            ),
            TableBlock(
                f"按{of.documents.payee_title}汇总",
                (Column(of.documents.payee_title, 70), Column("条目", 16, True), Column("市级（元）", 32, True), Column("区级（元）", 32, True), Column("合计（元）", 32, True)),
                [
                    [names.get(p, str(p)), str(len(ls)), yuan(sum(l.city_fen for l in ls)), yuan(sum(l.district_fen for l in ls)), yuan(sum(l.amount_fen for l in ls))]  # noqa: E741
                    for p, ls in sorted(by_payee.items(), key=lambda kv: names.get(kv[0], str(kv[0])))
                ],
                ["合计", str(len(lines)), yuan(batch.city_fen), yuan(batch.district_fen), yuan(batch.total_fen)],
            ),
            TableBlock("明细", _line_columns(of), _line_rows(lines, described), _total_row(of, batch.total_fen)),
        ],
        notes=list(of.documents.notes),
        signoff=finance_signoff(batch.issued_at, handled=who(run.created_by), approved=who(given[-1].approved_by) if given else ""),
    )
    return await made_pdf(document, batch.total_fen)


async def _adjustment_summary(session: AsyncSession, batch: ProgrammeBatch, code: str) -> Made:
    of = programme(batch.programme)
    original = await session.get(ProgrammeBatch, batch.corrects_batch_id)
    rows = (
        await session.execute(
            select(ProgrammeAdjustment, ProgrammeLine)
            .join(ProgrammeLine, col(ProgrammeLine.id) == col(ProgrammeAdjustment.line_id))
            .where(col(ProgrammeAdjustment.batch_id) == batch.id)
            .order_by(col(ProgrammeAdjustment.id))
        )
    ).all()
    names = await of.names(session, {p for _, line in rows for p in (Party(line.payee_kind, line.payee_id), party(line.beneficiary))})
    people = await adjustment_signoff(session, of.code, batch)
    document = Document(
        title=f"{of.name}调整批次",
        number=batch.number,
        checksum=content_checksum({"batch": batch.number, "checksum": batch.checksum, "total": batch.total_fen}),
        verify_url=verify_url(code),
        facts=[
            ("项目", of.name), ("批次编号", batch.number), ("更正批次", original.number if original else ""), ("调整原因", batch.reason or ""),
            ("调整合计", f"{yuan(batch.total_fen)} 元（市级 {yuan(batch.city_fen)} 元，区级 {yuan(batch.district_fen)} 元）"), *people.facts,
        ],
        tables=[
            TableBlock(
                "调整明细",
                (Column("对象", 50), Column(of.documents.payee_title, 44), Column("期间", 15), Column("原金额（元）", 24, True), Column("应付（元）", 24, True), Column("差额（元）", 24, True)),
                [
                    [names.get(party(line.beneficiary), line.beneficiary), names.get(Party(line.payee_kind, line.payee_id), ""), line.period, yuan(paid_before(a)), yuan(a.corrected_amount_fen), yuan(a.delta_fen)]
                    for a, line in rows
                ],
                ["合计", "", "", "", "", yuan(batch.total_fen)],
            )
        ],
        signoff=people.signoff,
    )
    return await made_pdf(document, batch.total_fen)


async def _notice(session: AsyncSession, batch: ProgrammeBatch, payee: Party, code: str) -> Made:
    of, lines, described, names = await _context(session, batch)
    run = await session.get(ProgrammeRun, batch.run_id)
    assert run is not None
    own = [line for line in lines if line.payee == payee]
    account = (await accounts_of(session, [payee])).get(payee)
    total, city, district = sum(l.amount_fen for l in own), sum(l.city_fen for l in own), sum(l.district_fen for l in own)  # noqa: E741
    approvals = await approvals_of(session, run.id or 0)
    last = approvals[-1] if approvals else None
    who = await people_named(session, run.created_by, last.approved_by if last else None)
    document = Document(
        title=of.documents.notice_title,
        number=batch.number,
        checksum=content_checksum({"batch": batch.number, "payee": str(payee), "total": total, "lines": [[l.key, l.amount_fen] for l in own]}),  # noqa: E741
        verify_url=verify_url(code),
        facts=[
            (of.documents.payee_title, names.get(payee, str(payee))),
            ("开户银行", account.bank_name if account else NOT_RECORDED_ZH), ("银行账号", account.bank_account if account else NOT_RECORDED_ZH), ("项目", of.name), ("批次编号", batch.number), ("期间", period_zh(run.period)),
            ("拨付金额", f"{yuan(total)} 元（市级 {yuan(city)} 元，区级 {yuan(district)} 元）"), ("审批", f"{who(last.approved_by)}，{_when(last.approved_at)}" if last else ""),
        ],
        tables=[TableBlock("明细", _line_columns(of), _line_rows(own, described), _total_row(of, total))],
        signoff=finance_signoff(batch.issued_at, handled=who(run.created_by), approved=who(last.approved_by) if last else ""),
    )
    return await made_pdf(document, total)


def _account_cells(account: Account | None) -> tuple[str, str]:
    """The payee's bank and account on a line of the treasury spreadsheet (empty cells: not recorded)."""
    return (account.bank_name, account.bank_account) if account else ("", "")


async def _sheet(session: AsyncSession, batch: ProgrammeBatch) -> Made:
    of, lines, described, names = await _context(session, batch)
    headers = sheet_headers(of.documents)
    accounts = await accounts_of(session, {l.payee for l in lines})  # noqa: E741
    rows = [
        [batch.number, names.get(l.holder, ""), names.get(l.payee, ""), *_account_cells(accounts.get(l.payee)), *described[l.id].sheet, l.amount_fen, l.city_fen, l.district_fen]
        for l in lines  # noqa: E741
    ]
    content = await off_loop(batch_workbook, batch.number, batch.issued_at, rows, (batch.total_fen, batch.city_fen, batch.district_fen), headers, of.documents.sheet_title)
    checksum = content_checksum({"batch": batch.number, "checksum": batch.checksum, "total": batch.total_fen, "lines": len(rows), "sheet": "lines"})
    return Made(content, batch.number, f"{of.documents.sheet_title} {batch.number}", checksum, batch.total_fen, XLSX, None)


async def payees_of(session: AsyncSession, batch: ProgrammeBatch) -> list[Party]:
    rows = await session.execute(select(col(ProgrammeLine.payee_kind), col(ProgrammeLine.payee_id)).where(col(ProgrammeLine.run_id) == batch.run_id).distinct())
    return sorted(Party(kind, ident) for kind, ident in rows)


async def make_documents(session: AsyncSession, store: BlobStore, batch: ProgrammeBatch) -> list[IssuedDocument]:
    """Make and keep the batch's documents that are not kept yet (its summary; for a run's batch also each payee's
    notice and the spreadsheet). Raises FontMissing when there is no CJK font."""
    if batch.programme == PROPERTY:  # its own documents, whichever route issues the batch
        await property_documents.make_batch_documents(session, store, batch)
        return await property_documents.kept_documents(session, batch)
    summary = _adjustment_summary if batch.run_id is None else _summary
    made = [(await issue(session, store, "batch_summary", subject_of(batch), lambda code: summary(session, batch, code)))[1]]
    if batch.run_id is not None:
        for payee in await payees_of(session, batch):
            made.append((await issue(session, store, "payment_notice", subject_of(batch, payee), partial(_notice, session, batch, payee)))[1])
        made.append((await issue(session, store, "batch_lines", subject_of(batch), lambda code: _sheet(session, batch)))[1])
    return made


async def issue_programme_batch_documents(session: AsyncSession, store: BlobStore, batch: ProgrammeBatch) -> None:
    """As the batch is issued: its documents, carrying the registry as it is now. Without a CJK font the batch is
    issued all the same and its documents are made later by POST .../documents."""
    try:
        await make_documents(session, store, batch)
    except FontMissing as missing:
        log.warning("documents of batch %s not made at issue: %s", batch.number, missing)


def batch_documents_to_default_store() -> BatchDocumentMaker:
    """Making an issued batch's documents outside a request (the demo loaders), into the system's store, as the
    routes do after issuing (`issue_programme_batch_documents`)."""
    store = open_blob_store(get_settings())
    return lambda session, batch: issue_programme_batch_documents(session, store, batch)


async def kept(session: AsyncSession, store: BlobStore, kind: str, batch: ProgrammeBatch, payee: Party | None = None) -> tuple[bytes, IssuedDocument]:
    """A batch's document as it was issued; never made here (a download writes nothing). An adjustment batch has
    its summary only (the corrections and their differences): it has no payment notices and no spreadsheet, ever."""
    if batch.programme == PROPERTY and payee is not None and payee.kind != "company":
        raise NotFound("payment notice of", str(payee))  # the property subsidy pays companies only
    if batch.run_id is None and kind != "batch_summary":
        raise NotFound(f"{kind} of adjustment batch (an adjustment batch has its summary only)", batch.number)
    missing = Conflict(
        f"the documents of batch {batch.number} were not made when it was issued (no CJK font then); make them with POST /api/programmes/batches/{batch.id}/documents",
        zh="该批次的文件尚未生成，请先生成批次文件",
    )
    return await served(session, store, kind, subject_of(batch, payee), missing)
