"""Scheduled work of activity funds: every day, the turn of the year (the ended year's remainder lapses, the new
year's funds open: both idempotent) and a notice to the approvers of each claim waiting past its deadline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role
from foundation.jobs import daily_job
from foundation.money import yuan
from foundation.notifications import notify
from people.queries import recipients
from subsidies.activity import queries, rules, service
from subsidies.activity.tables import ActivityFund

SCHEDULER = Principal(role=Role.ADMIN, username="scheduler")


async def turn_of_year(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """Lapse what is left of every ended year not lapsed yet (when the rules say funds lapse), and open this
    year's funds."""
    today = date.fromisoformat(period)
    lapsed = 0
    if service.fund_rules().lapse_at_year_end:
        years = (await session.execute(select(func.distinct(col(ActivityFund.year))).where(col(ActivityFund.year) < today.year, col(ActivityFund.lapsed_at).is_(None)))).scalars()
        for year in sorted(years):
            lapsed += await service.lapse_year(session, SCHEDULER, int(year), today)
    opened, _ = await service.open_year(session, SCHEDULER, today.year, today)
    return {"lapsed_funds": lapsed, "opened_funds": opened}


async def remind_overdue_claims(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """Each claim still waiting after its deadline: its approvers (the street's officers for a community's claim,
    district finance for a street's) are told once."""
    overdue = await service.overdue_claims(session, date.fromisoformat(period))
    names = await queries.holder_names(session, [c.holder for c in overdue])
    told = 0
    for claim in overdue:
        holder = rules.parse_holder(claim.holder)
        approvers = await (recipients(session, Role.STREET_OFFICER, street_id=claim.street_id) if holder.kind == rules.COMMUNITY else recipients(session, rules.DISTRICT_APPROVER))
        told += await notify(
            session, f"activity-claim-overdue|{claim.id}", approvers, f"活动经费报销待审批已超期：{names[claim.holder]}",
            f"{names[claim.holder]}于 {claim.spent_on} 支出的{claim.purpose} {yuan(claim.amount_fen)} 元（发票 {claim.invoice_number}）应在 {claim.due_on} 前审批，请尽快处理。",
            "/activity",
        )
    await session.flush()
    return {"overdue_claims": len(overdue), "notices": told}


JOBS = [
    daily_job("activity.turn_of_year", "活动经费：上一年度余额年末失效，开立本年度各社区、街道经费", 0, 20, turn_of_year),
    daily_job("activity.overdue_claims", "活动经费：报销申请超过审批期限，提醒审批人", 9, 10, remind_overdue_claims),
]
