"""Scheduled work of the needs pipeline: telling the street (and the district) of proposals left unanswered past
their due day, once per proposal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from community.needs.service import notify_overdue_proposals
from foundation.jobs import Job, from_time_of_day, period_of


async def flag_overdue_proposals(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    return {"notified": await notify_overdue_proposals(session, now)}


JOBS = [
    Job(
        name="community.flag_overdue_proposals",
        description="提醒街道答复已超期的社区提案",
        cron={"hour": "9", "minute": "20"},
        work=flag_overdue_proposals,
        period_for=lambda now: period_of("day", now),
        period_kind="day",
        due=from_time_of_day(9, 20),
    ),
]
