"""Use cases of the subsidy: rate cards, quarterly runs (draft → confirmed by every street → approved by finance →
disbursed), exactly-once disbursement batches and the ledger. Each flushes its changes, every transition audited;
the caller's transaction (the request's, or a job's unit of work) stores them whole or not at all."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment.queries import current_scores, locked_streets, pending_veto_estates
from foundation.access import Principal, Role, require_role
from foundation.audit import actors_of, record_change
from foundation.clock import business_today, utc_now
from foundation.duties import Duty, keep_apart
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.money import yuan
from foundation.periods import Month, Quarter, period_zh
from foundation.process_locks import transaction_lock
from foundation.ratios import ratio_text, stored_ratio
from foundation.settings import config_dir
from people.waiting import Turn, done, waits, whose_turn
from registry.queries import estate_tenures
from registry.queries import estates as registry_estates
from subsidies.engine import proposals
from subsidies.engine.rules import PayerSplit, check_corrected_lines, correction
from subsidies.engine.service import refused_correction
from subsidies.engine.tables import AdjustmentProposal
from subsidies.property.rules import (
    GRADES,
    RateCard,
    card_on,
    check_card,
    contract_segments,
    most_for_line,
    parse_payer_split,
    parse_rate_cards,
    price_estate_month,
)
from subsidies.property.tables import (
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

FINANCE = frozenset({Role.FINANCE})
ADMINS = frozenset({Role.ADMIN})
STREET = frozenset({Role.STREET_OFFICER})
# Who did any of these to a run does not approve it (foundation/duties.py).
RUN_MAKERS = ("subsidy_run.started", "subsidy_run.recomputed", "subsidy_run.street_confirmed")
ATTEMPTS = 4


@lru_cache(maxsize=1)
def configured_cards() -> tuple[RateCard, ...]:
    return parse_rate_cards((config_dir() / "subsidies.toml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def configured_split() -> PayerSplit:
    """config/RULES.md, "Money: rounding between payers", as config/subsidies.toml sets it."""
    return parse_payer_split((config_dir() / "subsidies.toml").read_text(encoding="utf-8"))


def card_of_row(row: RateCardRow) -> RateCard:
    return RateCard(row.valid_from, row.rate_fen, stored_ratio(row.city_share), {g: stored_ratio(v) for g, v in json.loads(row.coefficients).items()})


async def rate_cards(session: AsyncSession) -> tuple[RateCard, ...]:
    """The cards in force: the configured ones, with those added through the API (replacing one of the same date)."""
    added = {row.valid_from: card_of_row(row) for row in (await session.execute(select(RateCardRow))).scalars()}
    merged = {c.valid_from: c for c in configured_cards()} | added
    return tuple(merged[d] for d in sorted(merged))


def cards_fingerprint(cards: tuple[RateCard, ...], split: PayerSplit) -> str:
    """The version of the rules a run was priced by: its cards and the split between the payers."""
    content: list[object] = [
        [c.valid_from.isoformat(), c.rate_fen, str(c.city_share), {g: str(c.coefficients[g]) for g in GRADES}] for c in cards
    ]
    content.append({"split": [split.rounded, split.rounding]})
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


async def add_rate_card(session: AsyncSession, actor: Principal, card: RateCard) -> RateCardRow:
    require_role(actor, ADMINS, "adding a rate card")
    check_card(card)
    if card.valid_from <= business_today():
        raise RuleViolation("a new rate card applies from a future date; past months keep the card they were priced by", zh="新补贴标准只能从今后的日期起执行；已过去的月份仍按当时的标准核算")
    if (await session.execute(select(col(RateCardRow.id)).where(col(RateCardRow.valid_from) == card.valid_from))).scalar() is not None:
        raise Conflict(f"a rate card from {card.valid_from} already exists", zh=f"{card.valid_from} 起执行的补贴标准已存在")
    row = RateCardRow(
        valid_from=card.valid_from,
        rate_fen=card.rate_fen,
        city_share=ratio_text(card.city_share),
        coefficients=json.dumps({g: ratio_text(card.coefficients[g]) for g in GRADES}, ensure_ascii=False),
        created_at=utc_now(),
        created_by=actor.label,
    )
    session.add(row)
    await session.flush()
    record_change(session, actor, "rate_card.added", "rate_card", row.id, after={"valid_from": card.valid_from, "rate_fen": card.rate_fen})
    await session.flush()
    return row


# Runs


async def _price_quarter(session: AsyncSession, run: SubsidyRun, quarter: Quarter) -> None:
    """(Re)build a draft run's lines and held-out estate-months. Each day of an estate's month is priced by the
    contract (and company) in force on it: one line per estate, month and contract not yet paid; an estate-month is
    held out only while nothing of it can be paid yet (month not locked, veto pending, no score), or when it had no
    contract on any of its days."""
    cards = await rate_cards(session)
    split = configured_split()
    run.cards_sha256 = cards_fingerprint(cards, split)
    for row in [*(await session.execute(select(SubsidyLine).where(col(SubsidyLine.run_id) == run.id))).scalars()]:
        await session.delete(row)
    for held in [*(await session.execute(select(HeldOut).where(col(HeldOut.run_id) == run.id))).scalars()]:
        await session.delete(held)
    await session.flush()
    months = [str(m) for m in quarter.months]
    paid: dict[tuple[int, str], set[int]] = {}
    for estate_id, month_text, contract_id in (
        await session.execute(select(col(PaidEstateMonth.estate_id), col(PaidEstateMonth.month), col(PaidEstateMonth.contract_id)).where(col(PaidEstateMonth.month).in_(months)))
    ):
        paid.setdefault((estate_id, month_text), set()).add(contract_id)
    tenures = await estate_tenures(session, quarter.months[0].first_day, quarter.months[-1].last_day)
    for month in quarter.months:
        locked = await locked_streets(session, month)
        scores = await current_scores(session, month)
        pending = await pending_veto_estates(session, month)
        for tenure in tenures:
            by_day = tenure.contracts_by_day(month.first_day, month.last_day)
            if not any(tenure.managed_on(day) for day in by_day):
                continue
            served = {c.contract_id for c in by_day.values() if c is not None}
            already = paid.get((tenure.estate_id, str(month)), set())
            if served and served <= already:
                continue
            score = scores.get(tenure.estate_id)
            reason = (
                "month_not_locked" if tenure.street_id not in locked
                else "veto_pending" if tenure.estate_id in pending
                else "no_contract" if not served
                else "no_score" if score is None or score.score_centi is None and not score.vetoed
                else None
            )
            if reason:
                session.add(HeldOut(run_id=run.id, estate_id=tenure.estate_id, street_id=tenure.street_id, month=str(month), reason=reason))
                continue
            assert score is not None
            for line in price_estate_month(month, cards, tenure, score.grade, score.vetoed, split, already):
                session.add(
                    SubsidyLine(
                        run_id=run.id, estate_id=tenure.estate_id, community_id=tenure.community_id, street_id=tenure.street_id,
                        company_id=line.contract.company_id, contract_id=line.contract.contract_id, month=str(month), score_id=score.id,
                        score_centi=score.score_centi, grade=score.grade, vetoed=score.vetoed, coefficient=ratio_text(line.coefficient),
                        area_centi_m2=tenure.floor_area_centi_m2, days=line.amount.days, days_in_month=month.days,
                        amount_fen=line.amount.amount_fen, city_fen=line.amount.city_fen, district_fen=line.amount.district_fen,
                    )
                )
    run.computed_at = utc_now()


async def start_run(session: AsyncSession, actor: Principal, quarter: Quarter, supplementary: bool) -> SubsidyRun:
    """Finance starts a quarter's run (a supplementary one picks up what earlier runs held out)."""
    require_role(actor, FINANCE, "starting a subsidy run")
    if quarter.months[-1].last_day >= business_today():
        raise RuleViolation(f"{quarter} has not ended; a run prices a finished quarter", zh=f"{quarter} 尚未结束，只能核算已结束的季度", field="quarter")
    await transaction_lock(session, f"subsidy-run|{quarter}")  # two finance officers at once: one run, one refusal
    open_run = (await session.execute(select(col(SubsidyRun.id)).where(col(SubsidyRun.quarter) == str(quarter), col(SubsidyRun.state).in_(("draft", "confirmed", "approved"))))).scalar()
    if open_run is not None:
        raise Conflict(f"run {open_run} of {quarter} is not disbursed yet; finish or recompute it", zh="该季度已有一个未拨付的核算，请先完成或重算它", field="quarter")
    earlier = (await session.execute(select(func.count()).where(col(SubsidyRun.quarter) == str(quarter)))).scalar_one()
    if earlier and not supplementary:
        raise Conflict(f"{quarter} already has a run; start a supplementary run for what it held out", zh=f"{quarter} 已核算过；如需补算暂缓项，请选择补充核算", field="quarter")
    now = utc_now()
    run = SubsidyRun(quarter=str(quarter), supplementary=supplementary, state="draft", cards_sha256="", created_at=now, created_by=actor.label, computed_at=now)
    session.add(run)
    await session.flush()
    await _price_quarter(session, run, quarter)
    await _something_payable(session, run, quarter)
    record_change(session, actor, "subsidy_run.started", "subsidy_run", run.id, after={"quarter": str(quarter), "supplementary": supplementary})
    await session.flush()
    await _ask_streets(session, run)
    return run


async def _something_payable(session: AsyncSession, run: SubsidyRun, quarter: Quarter) -> None:
    """A run with no line has nothing to confirm, approve or pay, and would stand in the way of the quarter's real
    run (one open run per quarter): it is refused, and the caller's transaction stores nothing of it."""
    await session.flush()
    if (await session.execute(select(func.count()).where(col(SubsidyLine.run_id) == run.id))).scalar_one():
        return
    locked = [m for m in quarter.months if await locked_streets(session, m)]
    if not locked:
        raise RuleViolation(
            f"no street has locked a month of {quarter}: nothing of it can be priced yet",
            zh=f"{period_zh(str(quarter))}还没有任何街道锁定月度考核，没有可核算的区片月；请待街道锁定后再发起核算",
            field="quarter",
        )
    raise RuleViolation(
        f"nothing of {quarter} is payable: every estate-month is paid already or held out",
        zh=f"{period_zh(str(quarter))}没有可拨付的区片月（均已拨付或仍需暂缓），无需发起核算",
        field="quarter",
    )


async def _ask_streets(session: AsyncSession, run: SubsidyRun) -> None:
    """A draft waits on every street with lines in it: each street's officers are told to check and confirm their
    part (again after a recomputation, which cleared the confirmations)."""
    for street_id, total in sorted((await street_totals(session, run.id)).items()):
        await waits(
            session, "run-confirm", f"{run.id}:{street_id}", await whose_turn(session, Turn(Role.STREET_OFFICER, street_id=street_id)),
            f"{period_zh(run.quarter)}补贴核算待街道确认", f"核算 #{run.id} 中本街道合计 {yuan(total)} 元，请核对后确认。", f"/subsidies/runs/{run.id}",
            round_=f"{run.computed_at:%Y%m%d%H%M%S%f}",
        )


async def _ask_finance(session: AsyncSession, run: SubsidyRun, step: str, title: str, body: str) -> None:
    """The run waits on finance (its approval, then its batch): every finance officer but those who made the run."""
    makers = await actors_of(session, "subsidy_run", run.id, RUN_MAKERS)
    finance = [uid for uid in await whose_turn(session, Turn(Role.FINANCE)) if uid not in makers or step == "run-batch"]
    await waits(session, step, run.id, finance, title, body, f"/subsidies/runs/{run.id}")


async def get_run(session: AsyncSession, actor: Principal, run_id: int) -> SubsidyRun:
    if actor.role not in (Role.FINANCE, Role.ADMIN, Role.STREET_OFFICER):
        raise PermissionDenied("subsidy runs are for finance, administrators and street officers", zh="补贴核算仅供财政人员、区管理员和街道办查看")
    run = await session.get(SubsidyRun, run_id)
    if run is None:
        raise NotFound("subsidy run", run_id)
    return run


async def recompute_run(session: AsyncSession, actor: Principal, run_id: int) -> SubsidyRun:
    require_role(actor, FINANCE, "recomputing a subsidy run")
    run = await get_run(session, actor, run_id)
    if run.state != "draft":
        raise Conflict(f"run {run_id} is {run.state}; only a draft is recomputed", zh="只有草稿状态的核算可以重算")
    asked = set(await street_totals(session, run.id))
    await _price_quarter(session, run, Quarter.parse(run.quarter))
    for confirmation in (await session.execute(select(StreetConfirmation).where(col(StreetConfirmation.run_id) == run.id))).scalars():
        await session.delete(confirmation)
    record_change(session, actor, "subsidy_run.recomputed", "subsidy_run", run.id)
    await session.flush()
    for street_id in sorted(asked):
        await done(session, "run-confirm", f"{run.id}:{street_id}")  # the earlier figures are not what is asked now
    await _ask_streets(session, run)
    return run


async def street_totals(session: AsyncSession, run_id: int) -> dict[int, int]:
    """Each street's total in fen, as an int (PostgreSQL's SUM answers a Decimal)."""
    rows = await session.execute(select(col(SubsidyLine.street_id), func.sum(col(SubsidyLine.amount_fen))).where(col(SubsidyLine.run_id) == run_id).group_by(col(SubsidyLine.street_id)))
    return {street_id: int(total) for street_id, total in rows}


async def confirm_street(session: AsyncSession, actor: Principal, run_id: int) -> SubsidyRun:
    """A street officer confirms the street's part; when every street with lines has, the run is confirmed."""
    require_role(actor, STREET, "confirming a street's part of a run")
    run = await get_run(session, actor, run_id)
    if run.state != "draft":
        raise Conflict(f"run {run_id} is {run.state}; streets confirm a draft", zh="只有草稿状态的核算需要街道确认")
    totals = await street_totals(session, run.id)
    if actor.street_id not in totals:
        raise RuleViolation("your street has no lines in this run", zh="本核算中没有您街道的区片")
    try:
        async with session.begin_nested():  # a colleague confirming at the same moment undoes only this row
            session.add(StreetConfirmation(run_id=run.id, street_id=actor.street_id, confirmed_at=utc_now(), confirmed_by=actor.label, total_fen=totals[actor.street_id]))
    except IntegrityError:
        raise Conflict("your street has already confirmed this run", zh="您街道已确认过本核算") from None
    confirmed = set((await session.execute(select(col(StreetConfirmation.street_id)).where(col(StreetConfirmation.run_id) == run.id))).scalars())
    if confirmed >= set(totals):
        run.state = "confirmed"
    record_change(session, actor, "subsidy_run.street_confirmed", "subsidy_run", run.id, after={"street_id": actor.street_id, "total_fen": totals[actor.street_id]})
    await session.flush()
    await done(session, "run-confirm", f"{run.id}:{actor.street_id}")
    if run.state == "confirmed":
        await _ask_finance(session, run, "run-approve", f"{period_zh(run.quarter)}补贴核算待审批", f"核算 #{run.id} 各街道已确认，合计 {yuan(sum(totals.values()))} 元。")
    return run


async def approve_run(session: AsyncSession, actor: Principal, run_id: int) -> SubsidyRun:
    require_role(actor, FINANCE, "approving a subsidy run")
    run = await get_run(session, actor, run_id)
    if run.state != "confirmed":
        raise Conflict(f"run {run_id} is {run.state}; finance approves a run every street has confirmed", zh="各街道全部确认后才能审批")
    keep_apart(Duty.APPROVE_OWN_RUN, actor, await actors_of(session, "subsidy_run", run.id, RUN_MAKERS))
    run.state = "approved"
    run.approved_at = utc_now()
    run.approved_by = actor.label
    record_change(session, actor, "subsidy_run.approved", "subsidy_run", run.id)
    await session.flush()
    await done(session, "run-approve", run.id)
    await _ask_finance(session, run, "run-batch", f"{period_zh(run.quarter)}补贴已审批、待生成拨付批次", f"核算 #{run.id} 已审批，请生成拨付批次。")
    return run


# Disbursement


def batch_checksum(number: str, lines: list[SubsidyLine]) -> str:
    ordered = sorted(lines, key=lambda l: (l.estate_id, l.month, l.contract_id))  # noqa: E741
    content = [number] + [[l.estate_id, l.month, l.company_id, l.amount_fen, l.city_fen, l.district_fen] for l in ordered]  # noqa: E741
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


async def _draft_batch(session: AsyncSession, actor: Principal, run: SubsidyRun, now: datetime) -> tuple[DisbursementBatch, list[SubsidyLine]]:
    """The batch an approved run would be issued as at `now` (not stored), with its lines."""
    lines = list((await session.execute(select(SubsidyLine).where(col(SubsidyLine.run_id) == run.id).order_by(col(SubsidyLine.id)))).scalars())
    # Numbered among the runs' batches of the quarter (an adjustment takes its batch's number with -ADJnn).
    issued = (await session.execute(select(func.count()).where(col(DisbursementBatch.number).like(f"HPBT-{run.quarter}-%"), col(DisbursementBatch.run_id).is_not(None)))).scalar_one()
    number = f"HPBT-{run.quarter}-{issued + 1:03d}"
    batch = DisbursementBatch(
        number=number, run_id=run.id, total_fen=sum(l.amount_fen for l in lines), city_fen=sum(l.city_fen for l in lines),  # noqa: E741
        district_fen=sum(l.district_fen for l in lines), lines=len(lines), checksum=batch_checksum(number, lines),  # noqa: E741
        issued_at=now, issued_by=actor.label,
    )
    return batch, lines


async def prospective_batch(session: AsyncSession, actor: Principal, run_id: int, now: datetime) -> DisbursementBatch | None:
    """The batch `issue_batch(..., now=now)` would store, read without writing (None: the run has its batch already,
    or is not approved, and issuing will answer that). Its documents can be made from it before the transaction that
    issues it begins: rendering them is slow, and on SQLite a writing transaction holds the one write lock."""
    require_role(actor, FINANCE, "issuing a disbursement batch")
    run = await get_run(session, actor, run_id)
    if run.state != "approved" or (await session.execute(select(col(DisbursementBatch.id)).where(col(DisbursementBatch.run_id) == run_id))).first() is not None:
        return None
    return (await _draft_batch(session, actor, run, now))[0]


async def issue_batch(session: AsyncSession, actor: Principal, run_id: int, now: datetime | None = None) -> DisbursementBatch:
    """Issue the batch of an approved run, once: a retry, a double click or a colleague at the same moment gets the
    same batch. Each line's estate-month is recorded as paid (the database refuses a second payment) and becomes
    ledger entries for the city's and the district's shares."""
    require_role(actor, FINANCE, "issuing a disbursement batch")
    for _ in range(ATTEMPTS):
        now = now or utc_now()
        run = await get_run(session, actor, run_id)
        existing = (await session.execute(select(DisbursementBatch).where(col(DisbursementBatch.run_id) == run_id))).scalar()
        if existing is not None:
            return existing
        if run.state != "approved":
            raise Conflict(f"run {run_id} is {run.state}; a batch is issued for an approved run", zh="审批通过后才能生成拨付批次")
        batch, lines = await _draft_batch(session, actor, run, now)
        number = batch.number
        try:
            async with session.begin_nested():  # losing a race undoes only this attempt
                session.add(batch)
                await session.flush()
                for line in lines:
                    session.add(PaidEstateMonth(estate_id=line.estate_id, month=line.month, contract_id=line.contract_id, batch_id=batch.id, line_id=line.id))
                    for payer, amount in (("city", line.city_fen), ("district", line.district_fen)):
                        session.add(LedgerEntry(batch_id=batch.id, line_id=line.id, company_id=line.company_id, quarter=run.quarter, payer=payer, amount_fen=amount))
                run.state = "disbursed"
                record_change(session, actor, "batch.issued", "disbursement_batch", batch.id, after={"number": number, "run_id": run_id, "total_fen": batch.total_fen})
            await done(session, "run-batch", run_id)
            return batch
        except IntegrityError as error:
            raced = (await session.execute(select(DisbursementBatch).where(col(DisbursementBatch.run_id) == run_id))).scalar()
            if raced is not None:
                return raced
            if "paid_estate_months" in str(error.orig) or "PRIMARY" in str(error.orig).upper():
                raise Conflict("an estate-month of this run was already paid in another batch; recompute a supplementary run", zh="本核算中有区片月已在其他批次中拨付，请重新核算") from None
    raise Conflict("the batch could not be issued for concurrent changes; retry", zh="他人正在同时操作，拨付批次未能生成，请重试")


async def _contract_days(session: AsyncSession, month: Month, cards: tuple[RateCard, ...], estate_id: int, contract_id: int) -> int:
    """The days of `month` the registry now has the estate managed under the contract (0: none)."""
    for tenure in await estate_tenures(session, month.first_day, month.last_day, [estate_id]):
        for contract, segments in contract_segments(month, cards, tenure).items():
            if contract.contract_id == contract_id:
                return sum(segment.days for segment in segments)
    return 0


async def _adjustment_rows(session: AsyncSession, batch_id: int, corrections: list[tuple[int, int]]) -> tuple[DisbursementBatch, str, list[AdjustmentLine]]:
    """The batch corrected, its quarter and the adjustment's rows (not stored) for each (line id, amount it should
    have paid): the difference from what the line paid with its earlier adjustments, split between city and district
    so that what the line pays in all stays split by the rule (config/subsidies.toml [payers], the city share of the
    card in force at the end of the line's month), whatever corrections came before. Refuses what cannot be paid."""
    original = await session.get(DisbursementBatch, batch_id)
    if original is None or original.run_id is None:
        raise NotFound("issued batch", batch_id)
    ids = [line_id for line_id, _ in corrections]
    lines = {l.id: l for l in (await session.execute(select(SubsidyLine).where(col(SubsidyLine.id).in_(ids), col(SubsidyLine.run_id) == original.run_id))).scalars()}  # noqa: E741
    with refused_correction():
        check_corrected_lines(ids, lines, original.number)
    adjusted: dict[int, tuple[int, int]] = {
        line_id: (int(delta), int(city))
        for line_id, delta, city in await session.execute(
            select(col(AdjustmentLine.line_id), func.sum(col(AdjustmentLine.delta_fen)), func.sum(col(AdjustmentLine.city_fen))).where(col(AdjustmentLine.line_id).in_(ids)).group_by(col(AdjustmentLine.line_id))
        )
    }
    rows = []
    cards = await rate_cards(session)
    areas = {e.id: e.floor_area_centi_m2 for e in (await registry_estates(session, {line.estate_id for line in lines.values()})).values()}
    for line_id, corrected in corrections:
        line = lines[line_id]
        earlier_delta, earlier_city = adjusted.get(line_id, (0, 0))
        if line.vetoed and corrected:
            raise RuleViolation(
                f"line {line_id} is a month whose veto was upheld: it pays nothing (overturn the veto and price the month again instead)",
                zh=f"条目 {line_id} 所在月份的一票否决已维持，该月不予补贴，不能通过更正支付",
            )
        # The line's figures as priced, or as the registry has them now if corrected since (a larger floor area, more
        # days under the line's contract): a wrong figure is corrected in the registry first, and then bounds it.
        month = Month.parse(line.month)
        days = max(line.days, await _contract_days(session, month, cards, line.estate_id, line.contract_id))
        most = most_for_line(max(line.area_centi_m2, areas.get(line.estate_id, 0)), month, cards, days)
        if corrected > most:
            raise RuleViolation(
                f"line {line_id} could pay at most {yuan(most)} yuan under the rate cards (its floor area at the highest rate and coefficient for its {days} days); "
                "a wrong floor area or management period is corrected in the registry first",
                zh=f"条目 {line_id} 按补贴标准最多支付 {yuan(most)} 元（区片面积 × 当月最高标准和系数 × {days} 天）；如面积或纳管日期有误，请先在区片登记中更正",
            )
        card = card_on(cards, Month.parse(line.month).last_day)
        if card is None:  # the line was priced on a card, so one was in force; a card deleted since cannot split it
            raise RuleViolation(f"no rate card is in force for {line.month}: the correction of line {line_id} cannot be split between the payers", zh=f"{line.month} 没有生效的补贴标准，无法拆分市、区承担金额")
        with refused_correction(line_id):
            delta, city, district = correction(corrected, line.amount_fen, line.city_fen, earlier_delta, earlier_city, card.city_share, configured_split())
        rows.append(AdjustmentLine(batch_id=0, line_id=line_id, estate_id=line.estate_id, company_id=line.company_id, month=line.month,
                                   corrected_amount_fen=corrected, delta_fen=delta, city_fen=city, district_fen=district))
    quarter = (await session.get_one(SubsidyRun, original.run_id)).quarter
    return original, quarter, rows


async def check_adjustment(session: AsyncSession, batch_id: int, corrections: list[tuple[int, int]]) -> int:
    """What the corrections would pay (+) or recover (-) if issued now, in fen; refuses what cannot be issued."""
    return sum(row.delta_fen for row in (await _adjustment_rows(session, batch_id, corrections))[2])


async def issue_adjustment(
    session: AsyncSession, actor: Principal, batch_id: int, client_id: str, reason: str, corrections: list[tuple[int, int]], now: datetime | None = None
) -> DisbursementBatch:
    """A correction of an issued batch, as a new batch that references it: for each (line id, amount it should
    have paid), the difference from what it paid (with earlier adjustments) is paid or recovered, split between
    city and district (see `_adjustment_rows`), and entered in the ledger. The batch corrected never changes. A
    retry with the same client id returns the adjustment already issued. Called when a proposal is approved
    (subsidies.engine.proposals): nobody issues one alone."""
    require_role(actor, FINANCE, "issuing an adjustment batch")
    now = now or utc_now()
    for _ in range(ATTEMPTS):
        existing = (await session.execute(select(DisbursementBatch).where(col(DisbursementBatch.client_id) == client_id))).scalar()
        if existing is not None:
            if existing.corrects_batch_id != batch_id:
                raise Conflict(f"client id {client_id} was used for an adjustment of another batch", zh="该请求编号已用于另一批次的更正，请刷新页面后重新提交")
            return existing
        original, quarter, rows = await _adjustment_rows(session, batch_id, corrections)
        count = (await session.execute(select(func.count()).where(col(DisbursementBatch.corrects_batch_id) == batch_id))).scalar_one()
        number = f"{original.number}-ADJ{count + 1:02d}"
        batch = DisbursementBatch(
            number=number, run_id=None, corrects_batch_id=batch_id, client_id=client_id, reason=reason,
            total_fen=sum(r.delta_fen for r in rows), city_fen=sum(r.city_fen for r in rows), district_fen=sum(r.district_fen for r in rows),
            lines=len(rows), checksum=hashlib.sha256(json.dumps([number, batch_id, [[r.line_id, r.delta_fen] for r in rows]]).encode()).hexdigest(),
            issued_at=now, issued_by=actor.label,
        )
        try:
            async with session.begin_nested():  # losing a race undoes only this attempt
                session.add(batch)
                await session.flush()
                for row in rows:
                    row.batch_id = batch.id
                    session.add(row)
                await session.flush()
                for row in rows:
                    for payer, amount in (("city", row.city_fen), ("district", row.district_fen)):
                        session.add(LedgerEntry(batch_id=batch.id, adjustment_line_id=row.id, company_id=row.company_id, quarter=quarter, payer=payer, amount_fen=amount))
                record_change(session, actor, "batch.adjusted", "disbursement_batch", batch.id, after={"number": number, "corrects": original.number, "total_fen": batch.total_fen}, reason=reason)
            return batch
        except IntegrityError:
            continue
    raise Conflict("the adjustment could not be issued for concurrent changes; retry with the same client id", zh="他人正在同时操作，调整批次未能生成，请重试")


# Adjustments: proposed by one finance officer, approved (and so issued) by another (subsidies.engine.proposals).

PROGRAMME = "property"  # the property subsidy's proposals among the programmes'


async def propose_adjustment(session: AsyncSession, actor: Principal, batch_id: int, client_id: str, reason: str, corrections: list[tuple[int, int]]) -> AdjustmentProposal:
    original = await session.get(DisbursementBatch, batch_id)
    link = f"/subsidies/runs/{original.run_id}" if original is not None and original.run_id is not None else "/subsidies/runs"
    return await proposals.propose(session, actor, PROGRAMME, FINANCE, batch_id, client_id, reason, corrections, check_adjustment, "物业补贴", link)


async def approve_adjustment(session: AsyncSession, actor: Principal, proposal_id: int) -> DisbursementBatch:
    _, batch = await proposals.approve(session, actor, PROGRAMME, FINANCE, proposal_id, issue_adjustment)
    assert isinstance(batch, DisbursementBatch)
    return batch


async def withdraw_adjustment(session: AsyncSession, actor: Principal, proposal_id: int) -> AdjustmentProposal:
    return await proposals.withdraw(session, actor, PROGRAMME, FINANCE, proposal_id)
