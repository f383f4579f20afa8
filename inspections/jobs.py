"""Scheduled work of the evidence: overdue rectifications every hour, the month's spot-check draw on the 1st."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import SYSTEM, Role
from foundation.errors import Conflict
from foundation.jobs import Job, daily_job, period_of
from foundation.notifications import notify
from foundation.periods import Month
from inspections import defects, reconciliation, spot_checks
from inspections.config import inspection_rules, reconciliation_rules
from inspections.rules import Source, reconciliation_due
from inspections.tables import InspectionRecord
from people.queries import recipients
from registry import queries as registry_queries


async def mark_overdue(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    marked = await defects.mark_overdue(session, SYSTEM, now)
    return {"marked": marked.marked, "yellow_cards": marked.yellow_cards, "third_overdue": marked.third_overdue_defect_ids}


async def draw_spot_checks(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    try:
        draw = await spot_checks.draw_month(session, SYSTEM, Month.parse(period), now=now)
    except Conflict:
        return {"already_drawn": True}  # an administrator drew it by hand first
    return {"draw_id": draw.id, "seed": draw.seed}



async def evening_coverage(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """Each evening: tell each street which of its estates had no patrol today, per community; flag a community
    that missed patrols three days running."""
    day = date.fromisoformat(period)
    days = [day - timedelta(days=n) for n in (2, 1, 0)]
    managed = await registry_queries.managed_during(session, days[0], day)
    names = {i: c.name for i, c in (await registry_queries.communities(session, {e.community_id for e in managed})).items()}
    patrolled = set(
        (
            await session.execute(
                select(col(InspectionRecord.estate_id), col(InspectionRecord.business_date)).where(
                    col(InspectionRecord.source) == Source.PATROL.value, col(InspectionRecord.business_date) >= days[0], col(InspectionRecord.business_date) <= day
                )
            )
        )
    )
    missing: dict[tuple[int, int, str], dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for estate in managed:
        for d in days:
            if estate.managed_on(d) and (estate.id, d) not in patrolled:
                missing[(estate.street_id, estate.community_id, names[estate.community_id])][d] += 1
    by_street: dict[int, list[str]] = defaultdict(list)
    flagged: dict[int, list[str]] = defaultdict(list)
    for (street_id, _community_id, name), counts in sorted(missing.items()):
        if counts.get(day):
            by_street[street_id].append(f"{name} {counts[day]} 个区片")
        if all(counts.get(d) for d in days):
            flagged[street_id].append(name)
    notified = 0
    for street_id in sorted(set(by_street) | set(flagged)):
        officers = await recipients(session, Role.STREET_OFFICER, street_id=street_id)
        body = "今日未巡查：" + "；".join(by_street[street_id]) if by_street[street_id] else "今日各社区均已巡查。"
        if flagged[street_id]:
            body += "。连续三天漏巡的社区：" + "、".join(flagged[street_id])
        notified += await notify(session, f"coverage|{period}|street:{street_id}", officers, f"{period} 巡查覆盖", body, f"/coverage?month={period[:7]}")
    return {"streets_with_gaps": len(by_street), "communities_flagged": sum(len(v) for v in flagged.values()), "notified": notified}

async def reconcile_spot_checks(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """Each night: reconcile the spot-checked estate-months of the window whose patrols are all in (a month's end plus
    the late tolerance) and that are not reconciled yet — a spot check approved late is caught the night after."""
    done: dict[str, int] = {}
    for month in reconciliation.window(Month.of_instant(now), reconciliation_rules().window_months):
        if reconciliation_due(month, now, inspection_rules()):
            answer = await reconciliation.reconcile_month(session, SYSTEM, month, now)
            if answer.reconciled:
                done[answer.month] = answer.mismatches
    return {"mismatches_by_month": done}


JOBS = [
    Job(
        name="inspections.mark_overdue",
        description="标记逾期整改（每小时）",
        cron={"minute": "5"},
        work=mark_overdue,
        period_for=lambda now: period_of("hour", now),
        period_kind="hour",
    ),
    Job(
        name="inspections.draw_spot_checks",
        description="抽取本月第三方暗访（每月1日）",
        cron={"day": "1", "hour": "0", "minute": "30"},
        work=draw_spot_checks,
        period_for=lambda now: period_of("month", now),
        period_kind="month",
    ),
    daily_job("inspections.evening_coverage", "晚间巡查覆盖：各街道当日未巡查的区片，连续三天漏巡的社区", 20, 30, evening_coverage),
    daily_job("inspections.reconcile_spot_checks", "第三方抽查与日常巡查对账：记录对账不符（每日）", 3, 40, reconcile_spot_checks),
]
