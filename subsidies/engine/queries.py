"""Reading the engine's runs, lines, batches and budgets, and naming the parties a line is about."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal
from foundation.clock import BUSINESS_TZ
from foundation.errors import NotFound, PermissionDenied
from foundation.paging import PageRequest, fetch_page
from registry.tables import Community, Company, Estate, Street
from subsidies.engine import schemas
from subsidies.engine.registry import LineView, Programme, programme
from subsidies.engine.rules import DISBURSED, Party
from subsidies.engine.tables import Budget, PaidLine, ProgrammeAdjustment, ProgrammeApproval, ProgrammeBatch, ProgrammeLine, ProgrammeRun

REGISTRY_NAMES = {
    "street": (col(Street.id), col(Street.name)),
    "community": (col(Community.id), col(Community.name)),
    "company": (col(Company.id), col(Company.name)),
    "estate": (col(Estate.id), col(Estate.name)),
}


def party(text: str) -> Party:
    kind, _, ident = text.partition(":")
    return Party(kind, int(ident)) if ident.isdecimal() else Party(kind, 0)


async def registry_names(session: AsyncSession, parties: Collection[Party]) -> dict[Party, str]:
    """Names of streets, communities, companies and estates (a programme with parties of its own names those)."""
    found: dict[Party, str] = {}
    for kind, (key, name) in REGISTRY_NAMES.items():
        ids = {p.id for p in parties if p.kind == kind}
        if ids:
            rows = await session.execute(select(key, name).where(key.in_(ids)))
            found |= {Party(kind, int(i or 0)): str(n) for i, n in rows}
    return found


async def run_out(session: AsyncSession, run: ProgrammeRun, holder: str | None = None) -> schemas.ProgrammeRunOut:
    """A run as its reader sees it: the whole run, or (`holder`: a street officer's street) that holder's part, its
    lines' totals and its own approvals beside those given for the whole run."""
    lines = select(func.count(), func.coalesce(func.sum(col(ProgrammeLine.amount_fen)), 0), func.coalesce(func.sum(col(ProgrammeLine.city_fen)), 0), func.coalesce(func.sum(col(ProgrammeLine.district_fen)), 0)).where(
        col(ProgrammeLine.run_id) == run.id
    )
    given = select(ProgrammeApproval).where(col(ProgrammeApproval.run_id) == run.id)
    if holder is not None:
        lines = lines.where(col(ProgrammeLine.holder) == holder)
        given = given.where(col(ProgrammeApproval.holder).in_([holder, ""]))
    totals = (await session.execute(lines)).one()
    approvals = [
        schemas.ProgrammeApprovalOut(step=a.step, holder=a.holder, approved_at=a.approved_at, approved_by=a.approved_by, total_fen=a.total_fen)
        for a in (await session.execute(given.order_by(col(ProgrammeApproval.id)))).scalars()
    ]
    batch = (await session.execute(select(col(ProgrammeBatch.id), col(ProgrammeBatch.number)).where(col(ProgrammeBatch.run_id) == run.id))).first()
    return schemas.ProgrammeRunOut(
        id=run.id or 0, programme=run.programme, period=run.period, supplementary=run.supplementary, state=run.state, rules_sha256=run.rules_sha256,
        created_at=run.created_at, created_by=run.created_by, computed_at=run.computed_at, lines=int(totals[0]), total_fen=int(totals[1]), city_fen=int(totals[2]),
        district_fen=int(totals[3]), approvals=approvals, batch_id=batch[0] if batch else None, batch_number=batch[1] if batch else None,
    )


async def run_lines(session: AsyncSession, run_id: int, paging: PageRequest, holder: str | None = None) -> tuple[list[schemas.ProgrammeLineOut], int]:
    """A page of a run's lines (`holder`: only that holder's)."""
    query = select(ProgrammeLine).where(col(ProgrammeLine.run_id) == run_id)
    if holder is not None:
        query = query.where(col(ProgrammeLine.holder) == holder)
    rows, total = await fetch_page(session, query.order_by(col(ProgrammeLine.holder), col(ProgrammeLine.line_key)), paging)
    return [
        schemas.ProgrammeLineOut(
            id=r.id or 0, key=r.line_key, payee=f"{r.payee_kind}:{r.payee_id}", holder=r.holder, beneficiary=r.beneficiary, period=r.period, amount_fen=r.amount_fen,
            city_fen=r.city_fen, district_fen=r.district_fen, reason=r.reason, evidence=r.evidence, rules_sha256=r.rules_sha256,
        )
        for r in rows
    ], total


def batch_out(batch: ProgrammeBatch, period: str | None) -> schemas.ProgrammeBatchOut:
    return schemas.ProgrammeBatchOut(
        id=batch.id or 0, programme=batch.programme, number=batch.number, run_id=batch.run_id, period=period, corrects_batch_id=batch.corrects_batch_id, reason=batch.reason,
        total_fen=batch.total_fen, city_fen=batch.city_fen, district_fen=batch.district_fen, lines=batch.lines, checksum=batch.checksum, issued_at=batch.issued_at, issued_by=batch.issued_by,
    )


async def get_batch(session: AsyncSession, actor: Principal, batch_id: int, code: str | None = None) -> tuple[ProgrammeBatch, str | None]:
    """A batch and its run's period (an adjustment: the period of the batch it corrects), for the programme's staff."""
    batch = await session.get(ProgrammeBatch, batch_id)
    if batch is None or (code is not None and batch.programme != code):
        raise NotFound("batch", batch_id)
    of = programme(batch.programme)
    if actor.role not in of.runs_by | of.reads:
        # A batch pays every holder's lines: a street officer reads their street's part of the run, not the batch.
        raise PermissionDenied(f"batches of {batch.programme} are for the programme's staff", zh="拨付批次仅供该项目的经办人员查看")
    run_id = batch.run_id
    if run_id is None and batch.corrects_batch_id is not None:
        run_id = (await session.execute(select(col(ProgrammeBatch.run_id)).where(col(ProgrammeBatch.id) == batch.corrects_batch_id))).scalar()
    period = (await session.execute(select(col(ProgrammeRun.period)).where(col(ProgrammeRun.id) == run_id))).scalar() if run_id else None
    return batch, period


async def batch_lines(session: AsyncSession, batch: ProgrammeBatch) -> list[LineView]:
    """The lines a batch paid, as the documents see them."""
    rows = (await session.execute(select(ProgrammeLine).where(col(ProgrammeLine.run_id) == batch.run_id).order_by(col(ProgrammeLine.holder), col(ProgrammeLine.payee_id), col(ProgrammeLine.line_key)))).scalars()
    return [
        LineView(
            id=r.id or 0, key=r.line_key, payee=Party(r.payee_kind, r.payee_id), holder=party(r.holder), beneficiary=party(r.beneficiary), period=r.period,
            amount_fen=r.amount_fen, city_fen=r.city_fen, district_fen=r.district_fen, reason=r.reason, evidence=r.evidence,
        )
        for r in rows
    ]


async def approvals_of(session: AsyncSession, run_id: int) -> list[ProgrammeApproval]:
    return list((await session.execute(select(ProgrammeApproval).where(col(ProgrammeApproval.run_id) == run_id).order_by(col(ProgrammeApproval.id)))).scalars())


async def budgets(session: AsyncSession, code: str, year: int | None = None) -> list[schemas.ProgrammeBudgetOut]:
    query = select(Budget).where(col(Budget.programme) == code).order_by(col(Budget.year), col(Budget.holder))
    if year is not None:
        query = query.where(col(Budget.year) == year)
    return [
        schemas.ProgrammeBudgetOut(programme=b.programme, year=b.year, holder=b.holder, amount_fen=b.amount_fen, spent_fen=b.spent_fen, left_fen=b.amount_fen - b.spent_fen)
        for b in (await session.execute(query)).scalars()
    ]


async def paid_in(session: AsyncSession, code: str, keys: Collection[str]) -> dict[str, tuple[str, int]]:
    """The batch (number, id) that paid each of these line keys of a programme; keys not paid are absent."""
    found: dict[str, tuple[str, int]] = {}
    wanted = sorted(keys)
    for start in range(0, len(wanted), 500):
        rows = await session.execute(
            select(col(PaidLine.line_key), col(ProgrammeBatch.number), col(ProgrammeBatch.id))
            .join(ProgrammeBatch, col(ProgrammeBatch.id) == col(PaidLine.batch_id))
            .where(col(PaidLine.programme) == code, col(PaidLine.line_key).in_(wanted[start : start + 500]))
        )
        found |= {str(key): (str(number), int(ident or 0)) for key, number, ident in rows}
    return found


async def budget_spent(session: AsyncSession, code: str, year: int) -> dict[str, int]:
    """What the batches of a programme took out of each holder's budget of a year."""
    rows = await session.execute(select(col(Budget.holder), col(Budget.spent_fen)).where(col(Budget.programme) == code, col(Budget.year) == year))
    return {str(holder): int(spent) for holder, spent in rows}
async def runs_of(session: AsyncSession, code: str, limit: int = 24) -> list[schemas.ProgrammeRunOut]:
    """A programme's newest runs, newest first (for its pages)."""
    rows = (await session.execute(select(ProgrammeRun).where(col(ProgrammeRun.programme) == code).order_by(col(ProgrammeRun.id).desc()).limit(limit))).scalars()
    return [await run_out(session, run) for run in rows]


async def adjustments_of(session: AsyncSession, batch_ids: Collection[int]) -> dict[int, list[ProgrammeBatch]]:
    """The adjustment batches correcting each of these batches, oldest first (for the pages under each batch)."""
    found: dict[int, list[ProgrammeBatch]] = {}
    if batch_ids:
        query = select(ProgrammeBatch).where(col(ProgrammeBatch.corrects_batch_id).in_(list(batch_ids))).order_by(col(ProgrammeBatch.id))
        for adjustment in (await session.execute(query)).scalars():
            found.setdefault(adjustment.corrects_batch_id or 0, []).append(adjustment)
    return found


async def adjustments_of_keys(session: AsyncSession, code: str, keys: Collection[str]) -> dict[str, list[ProgrammeBatch]]:
    """The adjustment batches that corrected each of these line keys of `code`, oldest first (a page showing one
    payee's lines shows only the adjustments of those lines, not every adjustment of their batch)."""
    found: dict[str, list[ProgrammeBatch]] = {}
    if keys:
        query = (
            select(col(ProgrammeLine.line_key), ProgrammeBatch)
            .join(ProgrammeAdjustment, col(ProgrammeAdjustment.batch_id) == col(ProgrammeBatch.id))
            .join(ProgrammeLine, col(ProgrammeLine.id) == col(ProgrammeAdjustment.line_id))
            .where(col(ProgrammeBatch.programme) == code, col(ProgrammeLine.line_key).in_(list(keys)))
            .order_by(col(ProgrammeBatch.id))
        )
        for key, adjustment in (await session.execute(query)).all():
            found.setdefault(key, []).append(adjustment)
    return found


@dataclass(frozen=True)
class PaidKey:
    """How a programme's line key was paid: the batch, when, and what it paid in all (the line's amount with the
    corrections of adjustment batches since, the last of them when)."""

    batch_id: int
    batch_number: str
    issued_at: datetime
    amount_fen: int
    adjusted_at: datetime | None = None

    @property
    def changed_at(self) -> datetime:
        return self.adjusted_at or self.issued_at


async def paid(session: AsyncSession, code: str, keys: Collection[str]) -> dict[str, PaidKey]:
    """The keys of `code` already paid, each with its batch (a key is paid once, ever)."""
    if not keys:
        return {}
    query = (
        select(col(PaidLine.line_key), col(ProgrammeBatch.id), col(ProgrammeBatch.number), col(ProgrammeBatch.issued_at), col(ProgrammeLine.amount_fen))
        .join(ProgrammeBatch, col(ProgrammeBatch.id) == col(PaidLine.batch_id))
        .join(ProgrammeLine, col(ProgrammeLine.id) == col(PaidLine.line_id))
        .where(col(PaidLine.programme) == code, col(PaidLine.line_key).in_(list(keys)))
    )
    found = {key: PaidKey(batch_id, number, issued_at, amount) for key, batch_id, number, issued_at, amount in (await session.execute(query)).all()}
    if found:
        corrected = (
            select(col(ProgrammeLine.line_key), func.sum(col(ProgrammeAdjustment.delta_fen)), func.max(col(ProgrammeBatch.issued_at)))
            .join(ProgrammeLine, col(ProgrammeLine.id) == col(ProgrammeAdjustment.line_id))
            .join(ProgrammeBatch, col(ProgrammeBatch.id) == col(ProgrammeAdjustment.batch_id))
            .where(col(ProgrammeLine.programme) == code, col(ProgrammeLine.line_key).in_(list(found)))
            .group_by(col(ProgrammeLine.line_key))
        )
        for key, delta, last in (await session.execute(corrected)).all():
            found[key] = replace(found[key], amount_fen=found[key].amount_fen + int(delta), adjusted_at=last)
    return found


async def runs_of_period(session: AsyncSession, code: str, period: str) -> int:
    """How many runs a programme has had for a period (a new one after them is supplementary)."""
    return int((await session.execute(select(func.count()).where(col(ProgrammeRun.programme) == code, col(ProgrammeRun.period) == period))).scalar_one())


@dataclass(frozen=True)
class ProgrammeOverview:
    """One programme as the finance desk shows it for a year: its budgets, what its batches paid, what waits."""

    code: str
    name: str
    page: str
    budget_fen: int  # the year's budgets, all holders together (0 for a programme without budgets)
    spent_fen: int  # what the year's batches took out of them
    paid_fen: int  # what the batches issued in the year paid (Beijing time)
    batches: int
    waiting_runs: int  # runs not yet paid out (any year)
    last_batch: str | None
    last_issued_at: datetime | None

    @property
    def left_fen(self) -> int:
        return self.budget_fen - self.spent_fen


async def overview(session: AsyncSession, of: Programme, year: int) -> ProgrammeOverview:
    """`of`'s figures for `year`: budgets, payments and runs waiting."""
    start = datetime.combine(date(year, 1, 1), time.min, BUSINESS_TZ)
    end = datetime.combine(date(year + 1, 1, 1), time.min, BUSINESS_TZ)
    budget, spent = (
        await session.execute(
            select(func.coalesce(func.sum(Budget.amount_fen), 0), func.coalesce(func.sum(Budget.spent_fen), 0)).where(col(Budget.programme) == of.code, col(Budget.year) == year)
        )
    ).one()
    paid, batches = (
        await session.execute(
            select(func.coalesce(func.sum(ProgrammeBatch.total_fen), 0), func.count()).where(
                col(ProgrammeBatch.programme) == of.code, col(ProgrammeBatch.issued_at) >= start, col(ProgrammeBatch.issued_at) < end
            )
        )
    ).one()
    waiting = (await session.execute(select(func.count()).select_from(ProgrammeRun).where(col(ProgrammeRun.programme) == of.code, col(ProgrammeRun.state) != DISBURSED))).scalar_one()
    last = (await session.execute(select(ProgrammeBatch).where(col(ProgrammeBatch.programme) == of.code).order_by(col(ProgrammeBatch.id).desc()).limit(1))).scalar()
    return ProgrammeOverview(
        code=of.code, name=of.name, page=of.page, budget_fen=int(budget), spent_fen=int(spent), paid_fen=int(paid), batches=int(batches), waiting_runs=int(waiting),
        last_batch=last.number if last else None, last_issued_at=last.issued_at if last else None,
    )

