"""A daily reminder to the evaluation firms of the projects whose evaluation falls due within
`[due] remind_days_before` days (config/evaluation.toml) or is overdue: the users of the firm assigned to the
project; a project with no firm assigned reminds its buyer (the district's administrators or the street's officers)
to assign one. Each notice is sent once (its key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from community.calls import queries as calls_queries
from community.calls import service as calls_service
from community.evaluation import rules
from community.evaluation.service import assigned_firms, evaluation_rules, firms_of
from foundation.access import Role
from foundation.clock import BUSINESS_TZ
from foundation.jobs import daily_job
from foundation.notifications import notify
from people import queries as people_queries


async def remind(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    limits = evaluation_rules()
    today = now.astimezone(BUSINESS_TZ).date()
    contracts = await calls_queries.contracts(session)
    filed = await firms_of(session, [c.id for c in contracts])
    assigned = await assigned_firms(session, [c.id for c in contracts])
    sent = 0
    for contract in contracts:
        done = filed.get(contract.id, {})
        stage = next((s for s in rules.STAGES if s not in done), None)
        if stage is None or not rules.reminder_due(stage, today, contract.starts_on, contract.ends_on, limits):
            continue
        due = rules.due_on(stage, contract.starts_on, contract.ends_on)
        if contract.id not in assigned:
            buyers = await (people_queries.recipients(session, Role.ADMIN) if contract.street_id is None else people_queries.recipients(session, Role.STREET_OFFICER, street_id=contract.street_id))
            sent += await notify(
                session, f"evaluation-unassigned:{contract.id}:{stage}", buyers, f"项目{rules.STAGE_NAMES[stage]}尚未委派评估机构：{contract.title}",
                f"合同 {contract.number} 的{rules.STAGE_NAMES[stage]}应于 {due.isoformat()} 完成，请委派第三方评估机构。", f"/community/evaluation/contracts/{contract.id}",
            )
            continue
        firms = {assigned[contract.id]}
        sent += await notify(
            session, f"evaluation-due:{contract.id}:{stage}", await calls_service.organisation_user_ids(session, firms),
            f"项目{rules.STAGE_NAMES[stage]}{'已逾期' if due < today else '即将到期'}：{contract.title}",
            f"合同 {contract.number} 的{rules.STAGE_NAMES[stage]}应于 {due.isoformat()} 完成。", f"/community/evaluation/contracts/{contract.id}",
        )
    await session.commit()
    return {"notices": sent}


JOBS = [
    daily_job("evaluation.reminders", "项目评估提醒：中期、结项评估即将到期或已逾期，提醒第三方评估机构", 8, 20, remind),
]
