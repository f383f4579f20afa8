"""Scheduled work of the needs pipeline: telling the street (and the district) of proposals left unanswered past
their due day, once per proposal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from community.needs.service import notify_overdue_proposals
from foundation.jobs import daily_job


async def flag_overdue_proposals(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    return {"notified": await notify_overdue_proposals(session, now)}


JOBS = [
    daily_job("community.flag_overdue_proposals", "提醒街道答复已超期的社区提案", 9, 20, flag_overdue_proposals),
]
