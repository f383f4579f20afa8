"""Scheduled work of delivery: delegations left unanswered past their deadline go back to the street (their state
changes and the street is told), once a day after the day's end of the deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from community.delivery.service import return_unanswered
from foundation.jobs import Job, from_time_of_day, period_of


async def return_unanswered_delegations(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    return {"returned": await return_unanswered(session, now)}


JOBS = [
    Job(
        name="community.return_unanswered_delegations",
        description="委托逾期未答复的项目退回街道并通知",
        cron={"hour": "0", "minute": "30"},
        work=return_unanswered_delegations,
        period_for=lambda now: period_of("day", now),
        period_kind="day",
        due=from_time_of_day(0, 30),
    ),
]
