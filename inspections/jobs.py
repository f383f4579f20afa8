"""Scheduled work of the evidence: overdue rectifications every hour, the month's spot-check draw on the 1st."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inspections import defects, spot_checks
from supervision.core.access import SYSTEM
from supervision.core.errors import Conflict
from supervision.core.jobs import Job, period_of
from supervision.core.periods import Month


async def mark_overdue(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    marked = await defects.mark_overdue(session, SYSTEM, now)
    return {"marked": marked.marked, "yellow_cards": marked.yellow_cards, "third_overdue": marked.third_overdue_defect_ids}


async def draw_spot_checks(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    try:
        draw = await spot_checks.draw_month(session, SYSTEM, Month.parse(period), now=now)
    except Conflict:
        return {"already_drawn": True}  # an administrator drew it by hand first
    return {"draw_id": draw.id, "seed": draw.seed}


JOBS = [
    Job(
        name="inspections.mark_overdue",
        description="标记逾期整改（每小时）",
        cron={"minute": "5"},
        work=mark_overdue,
        period_for=lambda now: period_of("hour", now),
    ),
    Job(
        name="inspections.draw_spot_checks",
        description="抽取本月第三方暗访（每月1日）",
        cron={"day": "1", "hour": "0", "minute": "30"},
        work=draw_spot_checks,
        period_for=lambda now: period_of("month", now),
    ),
]
