"""Scheduled work of the assessment: computing and publishing last month's scores for every street once the
committees' opinion deadline (the configured working day of the month) has passed."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment import service
from assessment.service import month_state
from assessment.tables import CommitteeOpinion, Veto
from foundation.access import SYSTEM, Role
from foundation.calendar.rules import working_days_after
from foundation.calendar.service import CALENDAR, working_calendar
from foundation.jobs import Job, daily_job
from foundation.notifications import notify
from foundation.periods import Month, business_date
from people.queries import recipients
from registry import queries as registry_queries

OPINION_DEADLINE_WORKING_DAY = 5  # config/RULES.md, "Committee opinions": due by the 5th working day of the next month


def opinion_deadline(month: Month) -> date:
    """The last day (Beijing) for the committees' opinions on `month`: the 5th working day of the next month, on
    the calendar as last read (each job that counts working days reads the district's years first)."""
    day, _ = working_days_after(month.last_day, OPINION_DEADLINE_WORKING_DAY, CALENDAR)
    return day


def scoring_due(period: str, now: datetime) -> bool:
    return business_date(now) > opinion_deadline(Month.parse(period))


async def compute_last_month(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    month = Month.parse(period)
    done, skipped, empty = [], [], []
    with_evidence = await service.streets_with_evidence(session, month)
    for street_id in [s.id for s in await registry_queries.streets(session)]:
        state = await month_state(session, street_id, month)
        if state is not None and state.state == "locked":
            skipped.append(street_id)
            continue
        if street_id not in with_evidence:  # nothing filed: nothing to score (the officer may still compute it)
            empty.append(street_id)
            continue
        result = await service.compute_month(session, SYSTEM, street_id, month, reason="scheduled computation", now=now, ranked=False)
        done.append({"street_id": street_id, "estates": result.estates, "new_versions": result.new_versions})
    # Ranked once for the whole district, not again after each street.
    ranks = await service.rank_month(session, month) if any(d["new_versions"] for d in done) else 0
    return {"computed": done, "locked_already": skipped, "no_evidence": empty, "ranks_written": ranks}



async def remind_opinions(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """In the two working days before the deadline, remind directors of estates without last month's opinion."""
    await working_calendar(session)
    month = Month.parse(str(Month.of_instant(now).previous()))
    deadline = opinion_deadline(month)
    today = business_date(now)
    soon, _ = working_days_after(today, 2, CALENDAR)
    if not today <= deadline <= soon:
        return {"reminded": 0, "deadline": deadline.isoformat()}
    given = set((await session.execute(select(col(CommitteeOpinion.estate_id)).where(col(CommitteeOpinion.month) == str(month)))).scalars())
    lacking = Counter(e.community_id for e in await registry_queries.managed_during(session, month) if e.id not in given)
    reminded = 0
    for community_id, n in sorted(lacking.items()):
        directors = await recipients(session, Role.COMMITTEE_DIRECTOR, community_id=community_id)
        reminded += await notify(
            session, f"opinion|{month}|community:{community_id}", directors, f"请在 {deadline} 前提交 {month} 居委会评价",
            f"还有 {n} 个区片未提交 {month} 的居委会评价和满意度调查。", f"/committee?month={month}",
        )
    return {"reminded": reminded, "deadline": deadline.isoformat()}


async def flag_veto_reviews(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """Tell the street of every pending veto whose review is due within a working day (or overdue)."""
    limit, _ = working_days_after(business_date(now), 1, await working_calendar(session))
    pending = (await session.execute(select(Veto).where(col(Veto.state) == "pending", col(Veto.review_due_on) <= limit).order_by(col(Veto.id)))).scalars().all()
    flagged = 0
    for veto in pending:
        officers = await recipients(session, Role.STREET_OFFICER, street_id=veto.street_id)
        flagged += await notify(
            session, f"veto|{veto.id}|due:{period}", officers, f"一票否决 #{veto.id} 须在 {veto.review_due_on} 前复核",
            f"区片 {veto.estate_id} {veto.month}：{veto.explanation[:200]}", f"/assessment/vetoes#veto-{veto.id}",
        )
    return {"pending_due": len(pending), "notified": flagged}

JOBS = [
    Job(
        name="assessment.compute_last_month",
        description="计算并公布上月考核得分（居委会评价截止后）",
        cron={"hour": "2", "minute": "0"},
        work=compute_last_month,
        period_for=lambda now: str(Month.of_instant(now).previous()),
        period_kind="month",
        due=scoring_due,
    ),
    daily_job("assessment.remind_opinions", "提醒居委会在截止前提交上月评价", 9, 0, remind_opinions),
    daily_job("assessment.flag_veto_reviews", "提醒街道复核即将到期的一票否决", 9, 10, flag_veto_reviews),
]
