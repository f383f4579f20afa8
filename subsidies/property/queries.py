"""Reading runs, lines, batches and the ledger within one's scope: finance and administrators the district, a
street officer the street's part, a company its own lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role
from foundation.errors import NotFound, PermissionDenied
from foundation.paging import PageRequest, fetch_page
from foundation.periods import Quarter
from foundation.ratios import ratio_text, stored_ratio
from registry import queries as registry_queries
from subsidies.engine.tables import ProgrammeAdjustment, ProgrammeApproval, ProgrammeBatch, ProgrammeLedgerEntry, ProgrammeRun
from subsidies.property import schemas
from subsidies.property.cards import configured_cards, rate_cards
from subsidies.property.programme import CODE
from subsidies.property.rules import GRADES
from subsidies.property.tables import HeldOut, RateCardRow, SubsidyLine


def street_of(holder: str) -> int:
    """The street of a line's holder ("street:3")."""
    return int(holder.removeprefix("street:"))


async def confirmations(session: AsyncSession, run_id: int) -> list[ProgrammeApproval]:
    """The streets' confirmations of a run (holder "street:N"), by street."""
    rows = (await session.execute(select(ProgrammeApproval).where(col(ProgrammeApproval.run_id) == run_id, col(ProgrammeApproval.step) == "confirm"))).scalars()
    return sorted(rows, key=lambda a: street_of(a.holder))


async def approval(session: AsyncSession, run_id: int) -> ProgrammeApproval | None:
    """Finance's approval of a run, once given."""
    return (await session.execute(select(ProgrammeApproval).where(col(ProgrammeApproval.run_id) == run_id, col(ProgrammeApproval.step) == "approve"))).scalar()


async def cards_out(session: AsyncSession) -> list[schemas.RateCardOut]:
    added = set((await session.execute(select(col(RateCardRow.valid_from)))).scalars())
    configured = {c.valid_from for c in configured_cards()}
    return [
        schemas.RateCardOut(
            valid_from=c.valid_from, rate_fen_per_m2_month=c.rate_fen, city_share=ratio_text(c.city_share),
            coefficients={g: ratio_text(c.coefficients[g]) for g in GRADES}, source="api" if c.valid_from in added or c.valid_from not in configured else "config",
        )
        for c in await rate_cards(session)
    ]


async def run_out(session: AsyncSession, actor: Principal, run: ProgrammeRun) -> schemas.RunOut:
    lines = select(SubsidyLine).where(col(SubsidyLine.run_id) == run.id)
    if actor.role is Role.STREET_OFFICER:
        lines = lines.where(col(SubsidyLine.street_id) == actor.street_id)
    sub = lines.subquery()
    totals = (await session.execute(select(func.count(), func.coalesce(func.sum(sub.c.amount_fen), 0), func.coalesce(func.sum(sub.c.city_fen), 0), func.coalesce(func.sum(sub.c.district_fen), 0)))).one()
    confirmed = {street_of(c.holder): c for c in await confirmations(session, run.id or 0)}
    approved = await approval(session, run.id or 0)
    street_names = {s.id: s.name for s in await registry_queries.streets(session)}
    streets = [
        schemas.StreetTotal(street_id=sid, street_name=street_names[sid], lines=n, total_fen=int(total), confirmed_at=confirmed[sid].approved_at if sid in confirmed else None, confirmed_by=confirmed[sid].approved_by if sid in confirmed else None)
        for sid, n, total in (await session.execute(select(sub.c.street_id, func.count(), func.sum(sub.c.amount_fen)).group_by(sub.c.street_id).order_by(sub.c.street_id)))
    ]
    by_company = list(
        await session.execute(select(sub.c.company_id, func.count(), func.sum(sub.c.amount_fen), func.sum(sub.c.city_fen), func.sum(sub.c.district_fen)).group_by(sub.c.company_id))
    )
    company_names = {c.id: c.name for c in (await registry_queries.companies(session, [row[0] for row in by_company])).values()}
    companies = sorted(
        (
            schemas.CompanyTotal(company_id=cid, company_name=company_names[cid], lines=n, total_fen=int(total), city_fen=int(city), district_fen=int(district))
            for cid, n, total, city, district in by_company
        ),
        key=lambda c: (c.company_name, c.company_id),
    )
    held = select(HeldOut).where(col(HeldOut.run_id) == run.id)
    if actor.role is Role.STREET_OFFICER:
        held = held.where(col(HeldOut.street_id) == actor.street_id)
    held_rows = list((await session.execute(held)).scalars())
    codes = {e.id: e.code for e in (await registry_queries.estates(session, {h.estate_id for h in held_rows})).values()}
    held_out = [
        schemas.HeldOutOut(estate_id=h.estate_id, estate_code=codes[h.estate_id], street_id=h.street_id, month=h.month, reason=h.reason)
        for h in sorted(held_rows, key=lambda h: (h.month, codes[h.estate_id]))
    ]
    batch = (await session.execute(select(col(ProgrammeBatch.number)).where(col(ProgrammeBatch.run_id) == run.id))).scalar()
    return schemas.RunOut(
        id=run.id or 0, quarter=run.period, supplementary=run.supplementary, state=run.state, cards_sha256=run.rules_sha256, created_at=run.created_at,
        created_by=run.created_by, computed_at=run.computed_at, approved_at=approved.approved_at if approved else None, approved_by=approved.approved_by if approved else None,
        lines=totals[0], total_fen=int(totals[1]), city_fen=int(totals[2]), district_fen=int(totals[3]), streets=streets, companies=companies, held_out=held_out, batch_number=batch,
    )


async def run_lines(session: AsyncSession, actor: Principal, run_id: int, paging: PageRequest, company_id: int | None, street_id: int | None) -> tuple[list[schemas.LineOut], int]:
    query = select(SubsidyLine).where(col(SubsidyLine.run_id) == run_id).order_by(col(SubsidyLine.street_id), col(SubsidyLine.estate_id), col(SubsidyLine.month), col(SubsidyLine.id))
    if actor.role is Role.COMPANY:
        query = query.where(col(SubsidyLine.company_id) == actor.company_id)
    elif actor.role is Role.STREET_OFFICER:
        query = query.where(col(SubsidyLine.street_id) == actor.street_id)
    elif actor.role not in (Role.FINANCE, Role.ADMIN):
        raise PermissionDenied("subsidy lines are for finance, administrators, street officers and the companies paid", zh="补贴明细仅供财政人员、区管理员、街道办和受款物业企业查看")
    if company_id:
        query = query.where(col(SubsidyLine.company_id) == company_id)
    if street_id:
        query = query.where(col(SubsidyLine.street_id) == street_id)
    run = await session.get(ProgrammeRun, run_id)
    if run is None or run.programme != CODE:
        raise NotFound("subsidy run", run_id)
    rows, total = await fetch_page(session, query, paging)
    estates = await registry_queries.estates(session, {r.estate_id for r in rows}) if rows else {}
    return [
        schemas.LineOut(
            id=r.id or 0, estate_id=r.estate_id, estate_code=estates[r.estate_id].code, estate_name=estates[r.estate_id].name, street_id=r.street_id,
            company_id=r.company_id, month=r.month, score=None if r.score_centi is None else f"{r.score_centi // 100}.{r.score_centi % 100:02d}",
            grade=r.grade, vetoed=r.vetoed, coefficient=ratio_text(stored_ratio(r.coefficient)), area_centi_m2=r.area_centi_m2, days=r.days,
            days_in_month=r.days_in_month, amount_fen=r.amount_fen, city_fen=r.city_fen, district_fen=r.district_fen, contract_id=r.contract_id,
        )
        for r in rows
    ], total


def batch_out(b: ProgrammeBatch, quarter: str | None) -> schemas.BatchOut:
    return schemas.BatchOut(
        id=b.id or 0, number=b.number, run_id=b.run_id, quarter=quarter, corrects_batch_id=b.corrects_batch_id, reason=b.reason, total_fen=b.total_fen, city_fen=b.city_fen, district_fen=b.district_fen,
        lines=b.lines, checksum=b.checksum, issued_at=b.issued_at, issued_by=b.issued_by,
    )


async def reconcile(session: AsyncSession, actor: Principal, quarter: Quarter) -> schemas.Reconciliation:
    """Ledger totals per company for a quarter against the totals of the quarter's batches."""
    if actor.role not in (Role.FINANCE, Role.ADMIN):
        raise PermissionDenied("the ledger is for finance and administrators", zh="台账仅供财政人员和区管理员查看")
    of_quarter = select(col(ProgrammeBatch.id)).join(ProgrammeRun, col(ProgrammeRun.id) == col(ProgrammeBatch.run_id)).where(col(ProgrammeRun.programme) == CODE, col(ProgrammeRun.period) == str(quarter))
    batches = (
        await session.execute(
            select(func.coalesce(func.sum(col(ProgrammeBatch.total_fen)), 0)).where(
                col(ProgrammeBatch.id).in_(of_quarter) | col(ProgrammeBatch.corrects_batch_id).in_(of_quarter)
            )
        )
    ).scalar_one()
    ledger = ProgrammeLedgerEntry
    by_company = list(
        await session.execute(
            select(
                col(ledger.payee_id),
                func.sum(col(ledger.amount_fen)).filter(col(ledger.payer) == "city"), func.sum(col(ledger.amount_fen)).filter(col(ledger.payer) == "district"),
            )
            .where(col(ledger.programme) == CODE, col(ledger.period) == str(quarter), col(ledger.payee_kind) == "company")
            .group_by(col(ledger.payee_id))
        )
    )
    names = {c.id: c.name for c in (await registry_queries.companies(session, [row[0] for row in by_company])).values()}
    rows = sorted(
        (
            schemas.LedgerRow(company_id=cid, company_name=names[cid], quarter=str(quarter), city_fen=int(city or 0), district_fen=int(district or 0), total_fen=int((city or 0) + (district or 0)))
            for cid, city, district in by_company
        ),
        key=lambda r: (r.company_name, r.company_id),
    )
    in_ledger = sum(r.total_fen for r in rows)
    return schemas.Reconciliation(quarter=str(quarter), batches_total_fen=int(batches), ledger_total_fen=in_ledger, balanced=int(batches) == in_ledger, companies=rows)


async def list_runs(session: AsyncSession, actor: Principal, paging: PageRequest) -> tuple[list[ProgrammeRun], int]:
    if actor.role not in (Role.FINANCE, Role.ADMIN, Role.STREET_OFFICER):
        raise PermissionDenied("subsidy runs are for finance, administrators and street officers", zh="补贴核算仅供财政人员、区管理员和街道办查看")
    return await fetch_page(session, select(ProgrammeRun).where(col(ProgrammeRun.programme) == CODE).order_by(col(ProgrammeRun.id).desc()), paging)


@dataclass(frozen=True)
class CompanyPayment:
    """A disbursement batch as the company paid by it sees it: its own lines and amount, and its payment notice."""

    batch_id: int
    number: str
    quarter: str
    supplementary: bool
    issued_at: datetime
    lines: int
    total_fen: int


async def company_payments(session: AsyncSession, company_id: int) -> list[CompanyPayment]:
    """Every batch that paid the company, newest first, with what it paid the company."""
    query = (
        select(
            col(ProgrammeBatch.id), col(ProgrammeBatch.number), col(ProgrammeRun.period), col(ProgrammeRun.supplementary), col(ProgrammeBatch.issued_at),
            func.count(col(SubsidyLine.id)), func.sum(col(SubsidyLine.amount_fen)),
        )
        .join(ProgrammeRun, col(ProgrammeRun.id) == col(ProgrammeBatch.run_id))
        .join(SubsidyLine, col(SubsidyLine.run_id) == col(ProgrammeRun.id))
        .where(col(SubsidyLine.company_id) == company_id)
        .group_by(col(ProgrammeBatch.id), col(ProgrammeBatch.number), col(ProgrammeRun.period), col(ProgrammeRun.supplementary), col(ProgrammeBatch.issued_at))
        .order_by(col(ProgrammeBatch.issued_at).desc(), col(ProgrammeBatch.id).desc())
    )
    return [CompanyPayment(row[0], row[1], row[2], row[3], row[4], int(row[5]), int(row[6])) for row in await session.execute(query)]


async def street_corrections(session: AsyncSession, adjustment_batch_ids: list[int], street_id: int) -> int:
    """What these adjustment batches paid (+) or recovered (-) on a street's lines, in fen."""
    total = (
        await session.execute(
            select(func.coalesce(func.sum(col(ProgrammeAdjustment.delta_fen)), 0))
            .join(SubsidyLine, col(SubsidyLine.id) == col(ProgrammeAdjustment.line_id))
            .where(col(ProgrammeAdjustment.batch_id).in_(adjustment_batch_ids), col(SubsidyLine.street_id) == street_id)
        )
    ).scalar_one()
    return int(total)

