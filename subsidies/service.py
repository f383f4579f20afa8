"""Use cases of the subsidy: rate cards, quarterly runs (draft → confirmed by every street → approved by finance →
disbursed), exactly-once disbursement batches and the ledger. One transaction each; every transition audited."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from fractions import Fraction
from functools import lru_cache

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from subsidies.rules import GRADES, RateCard, check_card, half_up, month_segments, parse_rate_cards, price_line
from subsidies.tables import (
    AdjustmentLine,
    DisbursementBatch,
    HeldOut,
    LedgerEntry,
    PaidEstateMonth,
    RateCardRow,
    StreetConfirmation,
    SubsidyLine,
    SubsidyRun,
)
from supervision.assessment.tables import AssessmentMonth, EstateScore, Veto
from supervision.core.access import Principal, Role, require_role
from supervision.core.audit import record_change
from supervision.core.clock import business_today, utc_now
from supervision.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from supervision.core.periods import Quarter
from supervision.core.process_locks import transaction_lock
from supervision.core.settings import config_dir
from supervision.registry.scope import contract_in_force
from supervision.registry.tables import Community, ContractEstate, Estate, ServiceContract

FINANCE = frozenset({Role.FINANCE})
ADMINS = frozenset({Role.ADMIN})
STREET = frozenset({Role.STREET_OFFICER})
ATTEMPTS = 4


@lru_cache(maxsize=1)
def configured_cards() -> tuple[RateCard, ...]:
    return parse_rate_cards((config_dir() / "subsidies.toml").read_text(encoding="utf-8"))


def card_of_row(row: RateCardRow) -> RateCard:
    return RateCard(row.valid_from, row.rate_fen, Fraction(row.city_share), {g: Fraction(v) for g, v in json.loads(row.coefficients).items()})


async def rate_cards(session: AsyncSession) -> tuple[RateCard, ...]:
    """The cards in force: the configured ones, with those added through the API (replacing one of the same date)."""
    added = {row.valid_from: card_of_row(row) for row in (await session.execute(select(RateCardRow))).scalars()}
    merged = {c.valid_from: c for c in configured_cards()} | added
    return tuple(merged[d] for d in sorted(merged))


def cards_fingerprint(cards: tuple[RateCard, ...]) -> str:
    content = [
        [c.valid_from.isoformat(), c.rate_fen, str(c.city_share), {g: str(c.coefficients[g]) for g in GRADES}] for c in cards
    ]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


async def add_rate_card(session: AsyncSession, actor: Principal, card: RateCard) -> RateCardRow:
    require_role(actor, ADMINS, "adding a rate card")
    check_card(card)
    if card.valid_from <= business_today():
        raise RuleViolation("a new rate card applies from a future date; past months keep the card they were priced by")
    if (await session.execute(select(RateCardRow.id).where(RateCardRow.valid_from == card.valid_from))).scalar() is not None:
        raise Conflict(f"a rate card from {card.valid_from} already exists")
    row = RateCardRow(
        valid_from=card.valid_from,
        rate_fen=card.rate_fen,
        city_share=str(card.city_share),
        coefficients=json.dumps({g: str(card.coefficients[g]) for g in GRADES}, ensure_ascii=False),
        created_at=utc_now(),
        created_by=actor.label,
    )
    session.add(row)
    await session.flush()
    record_change(session, actor, "rate_card.added", "rate_card", row.id, after={"valid_from": card.valid_from, "rate_fen": card.rate_fen})
    await session.commit()
    return row


# Runs


async def _price_quarter(session: AsyncSession, run: SubsidyRun, quarter: Quarter) -> None:
    """(Re)build a draft run's lines and held-out estate-months."""
    cards = await rate_cards(session)
    run.cards_sha256 = cards_fingerprint(cards)
    for table in (SubsidyLine, HeldOut):
        for row in (await session.execute(select(table).where(table.run_id == run.id))).scalars():  # type: ignore[attr-defined]
            await session.delete(row)
    await session.flush()
    paid = set((await session.execute(select(PaidEstateMonth.estate_id, PaidEstateMonth.month).where(PaidEstateMonth.month.in_([str(m) for m in quarter.months])))).tuples())  # type: ignore[attr-defined]
    for month in quarter.months:
        estates = (
            await session.execute(
                select(Estate, Community.street_id)
                .join(Community)
                .where(Estate.entered_on <= month.last_day, (Estate.left_on.is_(None)) | (Estate.left_on > month.first_day))  # type: ignore[union-attr,operator]
                .order_by(Estate.id)
            )
        ).all()
        locked = set((await session.execute(select(AssessmentMonth.street_id).where(AssessmentMonth.month == str(month), AssessmentMonth.state == "locked"))).scalars())
        newest = select(EstateScore.estate_id, func.max(EstateScore.version).label("version")).where(EstateScore.month == str(month)).group_by(EstateScore.estate_id).subquery()
        scores = {
            s.estate_id: s
            for s in (await session.execute(select(EstateScore).join(newest, and_(newest.c.estate_id == EstateScore.estate_id, newest.c.version == EstateScore.version)).where(EstateScore.month == str(month)))).scalars()
        }
        pending = set((await session.execute(select(Veto.estate_id).where(Veto.month == str(month), Veto.state == "pending"))).scalars())
        contracts = {
            estate_id: (contract_id, company_id)
            for estate_id, contract_id, company_id in (
                await session.execute(
                    select(ContractEstate.estate_id, ServiceContract.id, ServiceContract.company_id)
                    .join(ServiceContract, ServiceContract.id == ContractEstate.contract_id)
                    .where(contract_in_force(month.last_day))
                )
            ).tuples()
        }
        for estate, street_id in estates:
            if (estate.id, str(month)) in paid:
                continue
            reason = (
                "month_not_locked" if street_id not in locked
                else "veto_pending" if estate.id in pending
                else "no_contract" if estate.id not in contracts
                else "no_score" if estate.id not in scores or scores[estate.id].score_centi is None and not scores[estate.id].vetoed
                else None
            )
            if reason:
                session.add(HeldOut(run_id=run.id, estate_id=estate.id, street_id=street_id, month=str(month), reason=reason))  # type: ignore[arg-type]
                continue
            score = scores[estate.id]
            segments = month_segments(month, cards, estate.entered_on, estate.left_on)
            line = price_line(estate.floor_area_centi_m2, month, segments, score.grade, score.vetoed)
            # The coefficient as applied (of the card in force at the month's end, when a card changed mid-month).
            coefficient = "0" if score.vetoed or not segments else str(segments[-1].card.coefficients[score.grade])
            contract_id, company_id = contracts[estate.id]
            session.add(
                SubsidyLine(
                    run_id=run.id, estate_id=estate.id, community_id=estate.community_id, street_id=street_id, company_id=company_id,  # type: ignore[arg-type]
                    contract_id=contract_id, month=str(month), score_id=score.id, score_centi=score.score_centi, grade=score.grade,  # type: ignore[arg-type]
                    vetoed=score.vetoed, coefficient=coefficient, area_centi_m2=estate.floor_area_centi_m2, days=line.days,
                    days_in_month=month.days, amount_fen=line.amount_fen, city_fen=line.city_fen, district_fen=line.district_fen,
                )
            )
    run.computed_at = utc_now()


async def start_run(session: AsyncSession, actor: Principal, quarter: Quarter, supplementary: bool) -> SubsidyRun:
    """Finance starts a quarter's run (a supplementary one picks up what earlier runs held out)."""
    require_role(actor, FINANCE, "starting a subsidy run")
    if quarter.months[-1].last_day >= business_today():
        raise RuleViolation(f"{quarter} has not ended; a run prices a finished quarter", zh=f"{quarter} 尚未结束，只能核算已结束的季度", field="quarter")
    await transaction_lock(session, f"subsidy-run|{quarter}")  # two finance officers at once: one run, one refusal
    open_run = (await session.execute(select(SubsidyRun.id).where(SubsidyRun.quarter == str(quarter), SubsidyRun.state.in_(("draft", "confirmed", "approved"))))).scalar()  # type: ignore[attr-defined]
    if open_run is not None:
        raise Conflict(f"run {open_run} of {quarter} is not disbursed yet; finish or recompute it", zh="该季度已有一个未拨付的核算，请先完成或重算它", field="quarter")
    earlier = (await session.execute(select(func.count()).where(SubsidyRun.quarter == str(quarter)))).scalar_one()
    if earlier and not supplementary:
        raise Conflict(f"{quarter} already has a run; start a supplementary run for what it held out", zh=f"{quarter} 已核算过；如需补算暂缓项，请选择补充核算", field="quarter")
    now = utc_now()
    run = SubsidyRun(quarter=str(quarter), supplementary=supplementary, state="draft", cards_sha256="", created_at=now, created_by=actor.label, computed_at=now)
    session.add(run)
    await session.flush()
    await _price_quarter(session, run, quarter)
    record_change(session, actor, "subsidy_run.started", "subsidy_run", run.id, after={"quarter": str(quarter), "supplementary": supplementary})
    await session.commit()
    return run


async def get_run(session: AsyncSession, actor: Principal, run_id: int) -> SubsidyRun:
    if actor.role not in (Role.FINANCE, Role.ADMIN, Role.STREET_OFFICER):
        raise PermissionDenied("subsidy runs are for finance, administrators and street officers")
    run = await session.get(SubsidyRun, run_id)
    if run is None:
        raise NotFound("subsidy run", run_id)
    return run


async def recompute_run(session: AsyncSession, actor: Principal, run_id: int) -> SubsidyRun:
    require_role(actor, FINANCE, "recomputing a subsidy run")
    run = await get_run(session, actor, run_id)
    if run.state != "draft":
        raise Conflict(f"run {run_id} is {run.state}; only a draft is recomputed", zh="只有草稿状态的核算可以重算")
    await _price_quarter(session, run, Quarter.parse(run.quarter))
    for confirmation in (await session.execute(select(StreetConfirmation).where(StreetConfirmation.run_id == run.id))).scalars():
        await session.delete(confirmation)
    record_change(session, actor, "subsidy_run.recomputed", "subsidy_run", run.id)
    await session.commit()
    return run


async def street_totals(session: AsyncSession, run_id: int) -> dict[int, int]:
    return dict((await session.execute(select(SubsidyLine.street_id, func.sum(SubsidyLine.amount_fen)).where(SubsidyLine.run_id == run_id).group_by(SubsidyLine.street_id))).tuples().all())


async def confirm_street(session: AsyncSession, actor: Principal, run_id: int) -> SubsidyRun:
    """A street officer confirms the street's part; when every street with lines has, the run is confirmed."""
    require_role(actor, STREET, "confirming a street's part of a run")
    run = await get_run(session, actor, run_id)
    if run.state != "draft":
        raise Conflict(f"run {run_id} is {run.state}; streets confirm a draft", zh="只有草稿状态的核算需要街道确认")
    totals = await street_totals(session, run.id)  # type: ignore[arg-type]
    if actor.street_id not in totals:
        raise RuleViolation("your street has no lines in this run", zh="本核算中没有您街道的区片")
    try:
        session.add(StreetConfirmation(run_id=run.id, street_id=actor.street_id, confirmed_at=utc_now(), confirmed_by=actor.label, total_fen=totals[actor.street_id]))  # type: ignore[arg-type]
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict("your street has already confirmed this run", zh="您街道已确认过本核算") from None
    confirmed = set((await session.execute(select(StreetConfirmation.street_id).where(StreetConfirmation.run_id == run.id))).scalars())
    if confirmed >= set(totals):
        run.state = "confirmed"
    record_change(session, actor, "subsidy_run.street_confirmed", "subsidy_run", run.id, after={"street_id": actor.street_id, "total_fen": totals[actor.street_id]})  # type: ignore[index]
    await session.commit()
    return run


async def approve_run(session: AsyncSession, actor: Principal, run_id: int) -> SubsidyRun:
    require_role(actor, FINANCE, "approving a subsidy run")
    run = await get_run(session, actor, run_id)
    if run.state != "confirmed":
        raise Conflict(f"run {run_id} is {run.state}; finance approves a run every street has confirmed", zh="各街道全部确认后才能审批")
    run.state = "approved"
    run.approved_at = utc_now()
    run.approved_by = actor.label
    record_change(session, actor, "subsidy_run.approved", "subsidy_run", run.id)
    await session.commit()
    return run


# Disbursement


def batch_checksum(number: str, lines: list[SubsidyLine]) -> str:
    content = [number] + [[l.estate_id, l.month, l.company_id, l.amount_fen, l.city_fen, l.district_fen] for l in sorted(lines, key=lambda l: (l.estate_id, l.month))]  # noqa: E741
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


async def issue_batch(session: AsyncSession, actor: Principal, run_id: int, now: datetime | None = None) -> DisbursementBatch:
    """Issue the batch of an approved run, once: a retry, a double click or a colleague at the same moment gets the
    same batch. Each line's estate-month is recorded as paid (the database refuses a second payment) and becomes
    ledger entries for the city's and the district's shares."""
    require_role(actor, FINANCE, "issuing a disbursement batch")
    for _ in range(ATTEMPTS):
        now = now or utc_now()
        run = await get_run(session, actor, run_id)
        existing = (await session.execute(select(DisbursementBatch).where(DisbursementBatch.run_id == run_id))).scalar()
        if existing is not None:
            return existing
        if run.state != "approved":
            raise Conflict(f"run {run_id} is {run.state}; a batch is issued for an approved run", zh="审批通过后才能生成拨付批次")
        lines = list((await session.execute(select(SubsidyLine).where(SubsidyLine.run_id == run_id).order_by(SubsidyLine.id))).scalars())
        year_batches = (await session.execute(select(func.count()).where(DisbursementBatch.number.like(f"HPBT-{run.quarter}-%")))).scalar_one()  # type: ignore[attr-defined]
        number = f"HPBT-{run.quarter}-{year_batches + 1:03d}"
        batch = DisbursementBatch(
            number=number, run_id=run_id, total_fen=sum(l.amount_fen for l in lines), city_fen=sum(l.city_fen for l in lines),  # noqa: E741
            district_fen=sum(l.district_fen for l in lines), lines=len(lines), checksum=batch_checksum(number, lines),  # noqa: E741
            issued_at=now, issued_by=actor.label,
        )
        try:
            session.add(batch)
            await session.flush()
            for line in lines:
                session.add(PaidEstateMonth(estate_id=line.estate_id, month=line.month, batch_id=batch.id, line_id=line.id))  # type: ignore[arg-type]
                for payer, amount in (("city", line.city_fen), ("district", line.district_fen)):
                    session.add(LedgerEntry(batch_id=batch.id, line_id=line.id, company_id=line.company_id, quarter=run.quarter, payer=payer, amount_fen=amount))  # type: ignore[arg-type]
            run.state = "disbursed"
            record_change(session, actor, "batch.issued", "disbursement_batch", batch.id, after={"number": number, "run_id": run_id, "total_fen": batch.total_fen})
            await session.commit()
            return batch
        except IntegrityError as error:
            await session.rollback()
            raced = (await session.execute(select(DisbursementBatch).where(DisbursementBatch.run_id == run_id))).scalar()
            if raced is not None:
                return raced
            if "paid_estate_months" in str(error.orig) or "PRIMARY" in str(error.orig).upper():
                raise Conflict("an estate-month of this run was already paid in another batch; recompute a supplementary run") from None
    raise Conflict("the batch could not be issued for concurrent changes; retry")


async def issue_adjustment(
    session: AsyncSession, actor: Principal, batch_id: int, client_id: str, reason: str, corrections: list[tuple[int, int]], now: datetime | None = None
) -> DisbursementBatch:
    """A correction of an issued batch, as a new batch that references it: for each (line id, amount it should
    have paid), the difference from what it paid (with earlier adjustments) is paid or recovered, split between
    city and district in the line's proportion, and entered in the ledger. The batch corrected never changes. A
    retry with the same client id returns the adjustment already issued."""
    require_role(actor, FINANCE, "issuing an adjustment batch")
    now = now or utc_now()
    for _ in range(ATTEMPTS):
        existing = (await session.execute(select(DisbursementBatch).where(DisbursementBatch.client_id == client_id))).scalar()
        if existing is not None:
            if existing.corrects_batch_id != batch_id:
                raise Conflict(f"client id {client_id} was used for an adjustment of another batch")
            return existing
        original = await session.get(DisbursementBatch, batch_id)
        if original is None or original.run_id is None:
            raise NotFound("issued batch", batch_id)
        ids = [line_id for line_id, _ in corrections]
        if len(set(ids)) != len(ids):
            raise RuleViolation("each line is corrected once per adjustment")
        lines = {l.id: l for l in (await session.execute(select(SubsidyLine).where(SubsidyLine.id.in_(ids), SubsidyLine.run_id == original.run_id))).scalars()}  # type: ignore[union-attr]  # noqa: E741
        missing = sorted(set(ids) - set(lines))
        if missing:
            raise RuleViolation(f"lines {', '.join(map(str, missing))} are not lines of batch {original.number}")
        adjusted = dict(
            (await session.execute(select(AdjustmentLine.line_id, func.sum(AdjustmentLine.delta_fen)).where(AdjustmentLine.line_id.in_(ids)).group_by(AdjustmentLine.line_id))).tuples().all()  # type: ignore[attr-defined]
        )
        rows = []
        for line_id, corrected in corrections:
            line = lines[line_id]
            delta = corrected - line.amount_fen - int(adjusted.get(line_id, 0))
            if delta == 0:
                raise RuleViolation(f"line {line_id} already pays {corrected} fen; nothing to correct")
            city = half_up(Fraction(abs(delta) * line.city_fen, line.amount_fen)) if line.amount_fen else half_up(Fraction(abs(delta), 2))
            city = city if delta > 0 else -city
            rows.append(AdjustmentLine(batch_id=0, line_id=line_id, estate_id=line.estate_id, company_id=line.company_id, month=line.month,
                                       corrected_amount_fen=corrected, delta_fen=delta, city_fen=city, district_fen=delta - city))
        count = (await session.execute(select(func.count()).where(DisbursementBatch.corrects_batch_id == batch_id))).scalar_one()
        number = f"{original.number}-ADJ{count + 1:02d}"
        batch = DisbursementBatch(
            number=number, run_id=None, corrects_batch_id=batch_id, client_id=client_id, reason=reason,
            total_fen=sum(r.delta_fen for r in rows), city_fen=sum(r.city_fen for r in rows), district_fen=sum(r.district_fen for r in rows),
            lines=len(rows), checksum=hashlib.sha256(json.dumps([number, batch_id, [[r.line_id, r.delta_fen] for r in rows]]).encode()).hexdigest(),
            issued_at=now, issued_by=actor.label,
        )
        quarter = (await session.get(SubsidyRun, original.run_id)).quarter  # type: ignore[union-attr]
        try:
            session.add(batch)
            await session.flush()
            for row in rows:
                row.batch_id = batch.id  # type: ignore[assignment]
                session.add(row)
            await session.flush()
            for row in rows:
                for payer, amount in (("city", row.city_fen), ("district", row.district_fen)):
                    session.add(LedgerEntry(batch_id=batch.id, adjustment_line_id=row.id, company_id=row.company_id, quarter=quarter, payer=payer, amount_fen=amount))  # type: ignore[arg-type]
            record_change(session, actor, "batch.adjusted", "disbursement_batch", batch.id, after={"number": number, "corrects": original.number, "total_fen": batch.total_fen}, reason=reason)
            await session.commit()
            return batch
        except IntegrityError:
            await session.rollback()
    raise Conflict("the adjustment could not be issued for concurrent changes; retry with the same client id")
