"""Scheduled work of elderly home care: the month's vouchers on the 1st; on the reminder day (the 20th), a reminder to
whoever serves an elder not yet served enough this month; once a month is over, its draft run on the engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import SCHEDULER_FINANCE, Role
from foundation.clock import BUSINESS_TZ
from foundation.jobs import Job
from foundation.notifications import notify
from foundation.periods import Month
from people.queries import organisation_members, recipients
from subsidies.care import rules, service
from subsidies.care.programme import CODE
from subsidies.care.rules import Served
from subsidies.care.tables import CareVoucher
from subsidies.engine import service as engine


async def issue_month_vouchers(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    issued = await service.issue_vouchers(session, Month.parse(period), now=now)
    return {"issued": issued}


async def remind_unserved(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """Tell each provider and each community's care worker how many of their elders still lack the month's minimum."""
    month = Month.parse(period)
    care = service.care_rules()
    vouchers = list((await session.execute(select(CareVoucher).where(col(CareVoucher.month) == period, col(CareVoucher.redeemed_at).is_(None)))).scalars())
    served = await service.served_in(session, month, [v.elder_id for v in vouchers])
    short = [v for v in vouchers if not rules.minimum_met(care, served.get(v.elder_id, Served(0, 0)))]
    by_provider: dict[int, int] = {}
    by_community: dict[int, int] = {}
    for v in short:
        by_provider[v.provider_id] = by_provider.get(v.provider_id, 0) + 1
        by_community[v.community_id] = by_community.get(v.community_id, 0) + 1
    minimum = f"{care.min_visits} 次或 {care.min_minutes // 60} 小时"
    told = 0
    for provider_id, count in sorted(by_provider.items()):
        told += await notify(
            session, f"care-remind|{period}|organisation:{provider_id}", await organisation_members(session, provider_id), f"{period} 居家养老服务提醒",
            f"本月尚有 {count} 位老人未达到最低服务量（{minimum}），请在月底前完成服务并兑付服务券。", "/care/visits",
        )
    for community_id, count in sorted(by_community.items()):
        told += await notify(
            session, f"care-remind|{period}|community:{community_id}", await recipients(session, Role.CARE_WORKER, community_id=community_id), f"{period} 居家养老服务提醒",
            f"本社区尚有 {count} 位老人本月未达到最低服务量（{minimum}）。", "/care",
        )
    return {"elders_short": len(short), "notified": told}


async def draft_month_run(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """The draft run of a month that is over (no voucher can be redeemed after its month); `now` is not needed: the
    engine refuses a month that has not ended."""
    month = Month.parse(period)
    if await engine.open_run(session, CODE, str(month)) is not None:
        return {"already_started": True}
    try:
        async with session.begin_nested():  # a month nobody redeemed a voucher in leaves nothing behind
            run = await engine.start_run(session, SCHEDULER_FINANCE, CODE, str(month))
    except engine.NothingToPay:
        return {"nothing_to_pay": True}
    await notify(session, f"care-run|{period}", await recipients(session, Role.FINANCE), f"{period} 居家养老服务券核算草稿已生成", f"核算 #{run.id} 待各街道确认后审批。", "/care/runs")
    return {"run_id": run.id}


def _reminder_due(period: str, now: datetime) -> bool:
    month = Month.parse(period)
    # within its month, from the reminder day: a reminder after the month is over helps nobody
    return Month.of_instant(now) == month and now.astimezone(BUSINESS_TZ).day >= service.care_rules().reminder_day


def _month_over(period: str, now: datetime) -> bool:
    return Month.of_instant(now) > Month.parse(period)


JOBS = [
    Job(
        name="care.issue_vouchers",
        description="每月1日为在册老人发放当月居家养老服务券",
        cron={"day": "1", "hour": "0", "minute": "10"},
        work=issue_month_vouchers,
        period_for=lambda now: str(Month.of_instant(now)),
        period_kind="month",
    ),
    Job(
        name="care.remind_unserved",
        description="每月提醒日提醒尚未达到最低服务量的老人的服务机构和社区老龄社工",
        cron={"hour": "9", "minute": "0"},  # daily; due from the reminder day of config/care.toml, once a month
        work=remind_unserved,
        period_for=lambda now: str(Month.of_instant(now)),
        period_kind="month",
        due=_reminder_due,
    ),
    Job(
        name="care.draft_month_run",
        description="月份结束后生成上月居家养老服务券核算草稿",
        cron={"day": "1", "hour": "4", "minute": "0"},
        work=draft_month_run,
        period_for=lambda now: str(Month.of_instant(now).previous()),
        period_kind="month",
        due=_month_over,
    ),
]
