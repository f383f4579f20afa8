"""A daily reminder to the evaluation firms of the projects whose evaluation falls due within
`[due] remind_days_before` days (config/evaluation.toml) or is overdue: the firm that filed a project's mid-term is
reminded of its final; a project not evaluated yet reminds every evaluation firm. Each notice is sent once (its key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from community.calls import queries as calls_queries
from community.calls import service as calls_service
from community.evaluation import rules
from community.evaluation.service import evaluation_rules, firms_of
from foundation.clock import BUSINESS_TZ
from foundation.jobs import daily_job
from foundation.notifications import notify
from registry import queries as registry_queries


async def remind(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    limits = evaluation_rules()
    today = now.astimezone(BUSINESS_TZ).date()
    contracts = await calls_queries.contracts(session)
    filed = await firms_of(session, [c.id for c in contracts])
    every_firm = set(await registry_queries.evaluation_firms(session))
    sent = 0
    for contract in contracts:
        done = filed.get(contract.id, {})
        stage = next((s for s in rules.STAGES if s not in done), None)
        if stage is None or not rules.reminder_due(stage, today, contract.starts_on, contract.ends_on, limits):
            continue
        firms = {done[rules.MIDTERM]} if rules.MIDTERM in done else every_firm
        due = rules.due_on(stage, contract.starts_on, contract.ends_on)
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
