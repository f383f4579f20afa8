"""Scheduled work of complaints: telling the community of complaints past their first-response deadline, once each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from complaints.service import remind_late_first_responses
from foundation.jobs import daily_job


async def remind_late_complaints(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    return {"notified": await remind_late_first_responses(session, now)}


JOBS = [
    daily_job("complaints.remind_late_first_responses", "提醒社区物业社工和居委会主任处理超过首次响应时限的居民投诉", 9, 5, remind_late_complaints),
]
