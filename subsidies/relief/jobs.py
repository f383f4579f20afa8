"""Scheduled work of relief funds: every day, this year's funds open (idempotent), and the reviewers of each
application waiting past its level's deadline are told once (per application, round and level)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.jobs import daily_job
from foundation.money import yuan
from foundation.notifications import notify
from people.queries import recipients
from registry import queries as registry
from subsidies.relief import rules, service
from subsidies.relief.rules import COMMUNITY, STREET

SCHEDULER = Principal(role=Role.ADMIN, username="scheduler")


async def open_this_year(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    today = date.fromisoformat(period)
    opened, _ = await service.open_year(session, SCHEDULER, today.year, today)
    return {"opened_funds": opened}


async def remind_overdue_reviews(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """Each application waiting at a level past its deadline: that level's reviewers (the community's director,
    the street's officers, the district's administrators) are told once; the notice names no applicant."""
    overdue = await service.overdue(session, date.fromisoformat(period))
    communities = await registry.communities(session, {a.community_id for a in overdue})
    config = service.relief_rules()
    told = 0
    for application in overdue:
        level = application.state
        role = rules.LEVEL_ROLES[level]
        reviewers = await (
            recipients(session, role, community_id=application.community_id) if level == COMMUNITY else recipients(session, role, street_id=application.street_id) if level == STREET else recipients(session, role)
        )
        community = communities[application.community_id].name if application.community_id in communities else ""
        fund = config.funds[application.fund].name if application.fund in config.funds else application.fund
        told += await notify(
            session, f"relief-overdue|{application.id}|{application.round}|{level}", reviewers, f"救助申请{rules.LEVEL_NAMES[level]}已超期：{community}社区",
            f"{community}社区的{fund}申请（第 {application.id} 号，{yuan(application.amount_fen)} 元）应在 {application.due_on} 前完成{rules.LEVEL_NAMES[level]}，请尽快处理。",
            "/relief",
        )
    await session.flush()
    return {"overdue_applications": len(overdue), "notices": told}


JOBS = [
    daily_job("relief.open_year", "救助基金：开立本年度四项基金（已开立的不变）", 0, 25, open_this_year),
    daily_job("relief.overdue_reviews", "救助基金：申请超过本级审核期限，提醒审核人", 9, 15, remind_overdue_reviews),
]
