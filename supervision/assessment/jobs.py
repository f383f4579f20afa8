"""Scheduled work of the assessment: computing and publishing last month's scores for every street once the
committees' opinion deadline (the configured working day of the month) has passed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspections.defects import CALENDAR
from inspections.rules import working_days_after
from supervision.assessment import service
from supervision.assessment.service import month_state
from supervision.core.access import SYSTEM
from supervision.core.jobs import Job
from supervision.core.periods import Month, business_date
from supervision.registry.tables import Street

OPINION_DEADLINE_WORKING_DAY = 5  # RULES.md / issue: the committees give their opinion by the 5th working day


def opinion_deadline(month: Month) -> date:
    """The last day (Beijing) for the committees' opinions on `month`: the 5th working day of the next month."""
    day, _ = working_days_after(month.last_day, OPINION_DEADLINE_WORKING_DAY, CALENDAR)
    return day


def scoring_due(period: str, now: datetime) -> bool:
    return business_date(now) > opinion_deadline(Month.parse(period))


async def compute_last_month(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    month = Month.parse(period)
    done, skipped = [], []
    for street_id in (await session.execute(select(Street.id).order_by(Street.id))).scalars():
        state = await month_state(session, street_id, month)
        if state is not None and state.state == "locked":
            skipped.append(street_id)
            continue
        result = await service.compute_month(session, SYSTEM, street_id, month, reason="scheduled computation", now=now)
        done.append({"street_id": street_id, "estates": result.estates, "new_versions": result.new_versions})
    return {"computed": done, "locked_already": skipped}


JOBS = [
    Job(
        name="assessment.compute_last_month",
        description="计算并公布上月考核得分（居委会评价截止后）",
        cron={"hour": "2", "minute": "0"},
        work=compute_last_month,
        period_for=lambda now: str(Month.of_instant(now).previous()),
        due=scoring_due,
    ),
]
