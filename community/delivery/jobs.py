"""Scheduled work of delivery: delegations left unanswered past their deadline go back to the street (their state
changes and the street is told), once a day after the day's end of the deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from community.delivery.service import return_unanswered
from foundation.jobs import daily_job


async def return_unanswered_delegations(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    return {"returned": await return_unanswered(session, now)}


JOBS = [
    daily_job("community.return_unanswered_delegations", "委托逾期未答复的项目退回街道并通知", 0, 30, return_unanswered_delegations),
]
