"""Scheduled work of volunteering: reminding the approvers of hours waiting past their answer day, once per entry."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from community.volunteers.service import remind_late_approvals
from foundation.jobs import daily_job


async def remind_hours_approvers(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    return {"notified": await remind_late_approvals(session, date.fromisoformat(period))}


JOBS = [
    daily_job("community.remind_volunteer_hours", "提醒队长和社工审核超过 7 天未审核的志愿服务时长", 9, 25, remind_hours_approvers),
]
