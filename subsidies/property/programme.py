"""The property subsidy on the programme engine: a quarter's run pays one line per estate, month and contract (key
`estate:<id>:<month>:contract:<id>`, so each company is paid once, ever, for its own days of a month) to the company,
under the estate's street; each street confirms its part, district finance approves and issues the batch. Each
line's facts (area, rate card, grade, coefficient, days, the score it rests on) and the estate-months a run could
not pay yet are kept beside the engine's lines (subsidies/property/tables.py); the documents are the subsidy's own
(reports/service.py)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment.queries import current_scores, locked_streets, pending_veto_estates
from foundation.access import Role
from foundation.audit import actors_of
from foundation.clock import business_today
from foundation.errors import RuleViolation
from foundation.money import yuan
from foundation.periods import Month, Quarter
from foundation.ratios import ratio_text, stored_ratio
from registry.queries import estate_tenures
from registry.queries import estates as registry_estates
from subsidies.engine.queries import registry_names
from subsidies.engine.registry import DescribedLine, DocumentColumn, Documents, LineView, Payers, Priced, Programme, register, without_limit
from subsidies.engine.rules import LineDraft, Party, Step
from subsidies.engine.service import paid_keys
from subsidies.engine.tables import ProgrammeRun
from subsidies.property.cards import cards_fingerprint, configured_cards, configured_split, rate_cards
from subsidies.property.rules import RateCard, card_on, contract_segments, most_for_line, price_estate_month
from subsidies.property.tables import HeldOut, LegacyRun, PropertyLine, SubsidyLine

CODE = "property"
NAME = "老旧小区准物业管理补贴"
# What was done to a run before it moved onto the engine (migration 0049), as the audit log names it then, by the
# engine's name of the same action.
LEGACY_ACTIONS = {
    "programme_run.started": "subsidy_run.started", "programme_run.recomputed": "subsidy_run.recomputed", "programme_run.confirm": "subsidy_run.street_confirmed",
    "programme_run.approve": "subsidy_run.approved",
}


def line_key(estate_id: int, month: str, contract_id: int) -> str:
    """What the subsidy pays at most once, ever: an estate's month under one contract."""
    return f"estate:{estate_id}:{month}:contract:{contract_id}"


def line_reason(month: str, grade: str, vetoed: bool, coefficient: str, days: int, days_in_month: int) -> str:
    """A line's reason in the engine's words (migration 0049 wrote the same for the lines it moved)."""
    return f"{month}：{'一票否决' if vetoed else grade}，系数 {coefficient}，计补 {days}/{days_in_month} 天"


@dataclass
class PricedQuarter:
    """What a quarter's pricing keeps beside the engine's lines: each line's facts by key, the estate-months held out."""

    facts: dict[str, PropertyLine] = field(default_factory=dict)
    held_out: list[HeldOut] = field(default_factory=list)


def check_period(text: str) -> str:
    quarter = Quarter.parse(text, "quarter")
    if quarter.months[-1].last_day >= business_today():
        raise RuleViolation(f"{quarter} has not ended; a run prices a finished quarter", zh=f"{quarter} 尚未结束，只能核算已结束的季度", field="quarter")
    return str(quarter)


async def price(session: AsyncSession, period: str) -> Priced:
    """A quarter's lines: each day of an estate's month is priced by the contract (and company) in force on it, one
    line per estate, month and contract not yet paid; an estate-month is held out only while nothing of it can be
    paid yet (month not locked, veto pending, no score), or when it had no contract on any of its days."""
    quarter = Quarter.parse(period)
    cards = await rate_cards(session)
    split = configured_split()
    detail = PricedQuarter()
    drafts: list[LineDraft] = []
    tenures = await estate_tenures(session, quarter.months[0].first_day, quarter.months[-1].last_day)
    for month in quarter.months:
        locked = await locked_streets(session, month)
        scores = await current_scores(session, month)
        pending = await pending_veto_estates(session, month)
        served_by = {t.estate_id: {c.contract_id for c in t.contracts_by_day(month.first_day, month.last_day).values() if c is not None} for t in tenures}
        paid = await paid_keys(session, CODE, [line_key(e, str(month), c) for e, contracts in served_by.items() for c in contracts])
        for tenure in tenures:
            by_day = tenure.contracts_by_day(month.first_day, month.last_day)
            if not any(tenure.managed_on(day) for day in by_day):
                continue
            served = served_by[tenure.estate_id]
            already = {c for c in served if line_key(tenure.estate_id, str(month), c) in paid}
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
                detail.held_out.append(HeldOut(run_id=0, estate_id=tenure.estate_id, street_id=tenure.street_id, month=str(month), reason=reason))
                continue
            assert score is not None
            for line in price_estate_month(month, cards, tenure, score.grade, score.vetoed, split, already):
                key = line_key(tenure.estate_id, str(month), line.contract.contract_id)
                coefficient = ratio_text(line.coefficient)
                drafts.append(
                    LineDraft(
                        key=key, payee=Party("company", line.contract.company_id), holder=Party("street", tenure.street_id), beneficiary=Party("estate", tenure.estate_id),
                        period=str(month), amount_fen=line.amount.amount_fen, city_fen=line.amount.city_fen,
                        reason=line_reason(str(month), score.grade, score.vetoed, coefficient, line.amount.days, month.days), evidence=f"score:{score.id}",
                    )
                )
                detail.facts[key] = PropertyLine(
                    line_id=0, estate_id=tenure.estate_id, community_id=tenure.community_id, street_id=tenure.street_id, company_id=line.contract.company_id,
                    contract_id=line.contract.contract_id, month=str(month), score_id=score.id, score_centi=score.score_centi, grade=score.grade, vetoed=score.vetoed,
                    coefficient=coefficient, area_centi_m2=tenure.floor_area_centi_m2, days=line.amount.days, days_in_month=month.days,
                )
    return Priced(cards_fingerprint(cards, split), drafts, detail)


async def keep_detail(session: AsyncSession, run: ProgrammeRun, priced: Priced, line_ids: Mapping[str, int]) -> None:
    """Each stored line's facts, and the estate-months held out, beside the engine's lines."""
    detail = priced.detail
    assert isinstance(detail, PricedQuarter)
    for key, line_id in line_ids.items():
        facts = detail.facts[key]
        facts.line_id = line_id
        session.add(facts)
    for held in detail.held_out:
        held.run_id = run.id or 0
        session.add(held)


async def forget_detail(session: AsyncSession, run_id: int) -> None:
    """Before a draft is priced again: its lines' facts and held-out estate-months go with its lines, and so do the
    lines this session read (SQLite may give the new lines the ids of the old ones: none is read as it was)."""
    for read in [o for o in session.sync_session.identity_map.values() if isinstance(o, SubsidyLine) and o.run_id == run_id]:
        session.expunge(read)
    lines = select(col(SubsidyLine.id)).where(col(SubsidyLine.run_id) == run_id)
    await session.execute(delete(PropertyLine).where(col(PropertyLine.line_id).in_(lines)))
    await session.execute(delete(HeldOut).where(col(HeldOut.run_id) == run_id))


async def _line(session: AsyncSession, line_id: int) -> SubsidyLine:
    return (await session.execute(select(SubsidyLine).where(col(SubsidyLine.id) == line_id))).scalar_one()


async def line_city_share(session: AsyncSession, key: str, period: str) -> Fraction:
    """A correction of a line is split by the city share of the card in force at the end of the line's month."""
    card = card_on(await rate_cards(session), Month.parse(period).last_day)
    if card is None:  # the line was priced on a card, so one was in force; a card deleted since cannot split it
        raise RuleViolation(f"no rate card is in force for {period}: a correction of its lines cannot be split between the payers", zh=f"{period} 没有生效的补贴标准，无法拆分市、区承担金额")
    return card.city_share


async def _contract_days(session: AsyncSession, month: Month, cards: tuple[RateCard, ...], estate_id: int, contract_id: int) -> int:
    """The days of `month` the registry now has the estate managed under the contract (0: none)."""
    for tenure in await estate_tenures(session, month.first_day, month.last_day, [estate_id]):
        for contract, segments in contract_segments(month, cards, tenure).items():
            if contract.contract_id == contract_id:
                return sum(segment.days for segment in segments)
    return 0


async def check_correction(session: AsyncSession, line_id: int, key: str, corrected: int) -> None:
    """A month whose veto was upheld pays nothing; no line pays past its estate's floor area at the month's best rate
    and coefficient for its days, with the area and the days under its contract as the registry has them now when
    they were corrected since (a wrong figure is corrected in the registry first, and then bounds the line)."""
    line = await _line(session, line_id)
    if line.vetoed and corrected:
        raise RuleViolation(
            f"line {line_id} is a month whose veto was upheld: it pays nothing (overturn the veto and price the month again instead)",
            zh=f"条目 {line_id} 所在月份的一票否决已维持，该月不予补贴，不能通过更正支付",
        )
    month, cards = Month.parse(line.month), await rate_cards(session)
    days = max(line.days, await _contract_days(session, month, cards, line.estate_id, line.contract_id))
    area = (await registry_estates(session, {line.estate_id})).get(line.estate_id)
    most = most_for_line(max(line.area_centi_m2, area.floor_area_centi_m2 if area else 0), month, cards, days)
    if corrected > most:
        raise RuleViolation(
            f"line {line_id} could pay at most {yuan(most)} yuan under the rate cards (its floor area at the highest rate and coefficient for its {days} days); "
            "a wrong floor area or management period is corrected in the registry first",
            zh=f"条目 {line_id} 按补贴标准最多支付 {yuan(most)} 元（区片面积 × 当月最高标准和系数 × {days} 天）；如面积或纳管日期有误，请先在区片登记中更正",
        )


async def earlier_makers(session: AsyncSession, run_id: int, actions: Sequence[str]) -> set[int]:
    """Who took these actions on a run before it moved onto the engine, as the audit log names the run by its id then
    (a street officer who confirmed before a recomputation confirms again; nobody who confirmed approves)."""
    legacy = (await session.execute(select(col(LegacyRun.legacy_id)).where(col(LegacyRun.run_id) == run_id))).scalar()
    earlier = [LEGACY_ACTIONS[a] for a in actions if a in LEGACY_ACTIONS]
    return set() if legacy is None or not earlier else await actors_of(session, "subsidy_run", legacy, earlier)


async def names(session: AsyncSession, parties: Collection[Party]) -> dict[Party, str]:
    return await registry_names(session, parties)


async def describe(session: AsyncSession, lines: Sequence[LineView]) -> dict[int, DescribedLine]:
    """A line in the subsidy's words: the estate, the month, the grade (or the veto), coefficient, area and days."""
    facts = {f.id: f for f in (await session.execute(select(SubsidyLine).where(col(SubsidyLine.id).in_([line.id for line in lines])))).scalars()}
    estates = await registry_estates(session, {f.estate_id for f in facts.values()})
    described = {}
    for line in lines:
        f = facts[line.id]
        estate = estates[f.estate_id]
        grade = "一票否决" if f.vetoed else f.grade
        coefficient = ratio_text(stored_ratio(f.coefficient))
        area = f"{f.area_centi_m2 // 100}.{f.area_centi_m2 % 100:02d}"
        described[line.id] = DescribedLine(
            [f"{estate.code} {estate.name}", f.month, grade, coefficient, area, f"{f.days}/{f.days_in_month}"],
            [f"{estate.code} {estate.name}", f.month, grade, coefficient, area, f.days, f.days_in_month],
        )
    return described


PROPERTY = register(
    Programme(
        code=CODE,
        name=NAME,
        number_prefix="HPBT",
        steps=(
            Step("confirm", frozenset({Role.STREET_OFFICER}), "confirmed", per_holder=True, zh="街道确认"),
            Step("approve", frozenset({Role.FINANCE}), "approved", zh="审批"),
        ),
        runs_by=frozenset({Role.FINANCE}),
        page="/subsidies/runs",
        run_page="/subsidies/runs/{run}",
        run_title="{period}补贴核算",
        # Each line carries its own split (its cards' city share) and a correction is split by the card of its month
        # (line_city_share): the programme's one share is the newest configured card's, used by neither.
        payers=lambda: Payers(configured_cards()[-1].city_share, configured_split()),
        price=price,
        check_period=check_period,
        names=names,
        documents=Documents(
            summary_title="旧楼区准物业管理补贴拨付汇总表", notice_title="旧楼区准物业管理补贴拨付通知书", sheet_title="补贴拨付明细",
            columns=(
                DocumentColumn("区片", 40), DocumentColumn("月份", 14), DocumentColumn("等级", 20), DocumentColumn("系数", 11, True),
                DocumentColumn("面积（㎡）", 22, True), DocumentColumn("天数", 12, True),
            ),
            sheet_headers=("区片", "月份", "等级", "系数", "面积（㎡）", "计补天数", "当月天数"), describe=describe, holder_title="街道", payee_title="物业企业",
        ),
        holder_of=lambda principal: Party("street", principal.street_id) if principal.street_id else None,
        most_for_line=without_limit,  # check_correction bounds a line by the rate cards and the registry
        keep_detail=keep_detail,
        forget_detail=forget_detail,
        line_city_share=line_city_share,
        check_correction=check_correction,
        earlier_makers=earlier_makers,
        accounts_in_registry=True,
    )
)
