"""Scheduled reminders of the calls, every hour: a call closing within a day (to the organisations that may bid),
a deadline passed with the bidding still open (to the buyer), an objection whose answer falls due within two
working days (to the buyer), a publicity ended with the award not yet confirmed (to the buyer). Each notice is
sent once (its key)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community.calls import service
from community.calls.queries import OPEN
from community.calls.tables import Award, Call, Objection
from foundation.calendar.rules import working_days_after
from foundation.calendar.service import working_calendar
from foundation.clock import BUSINESS_TZ
from foundation.jobs import Job, period_of
from foundation.notifications import notify
from registry import queries as registry_queries


async def remind(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    sent = 0
    calls = (await session.execute(select(Call).where(col(Call.status) == OPEN))).scalars().all()
    for call in calls:
        if now < call.bid_deadline <= now + timedelta(days=1):
            organisations = await _eligible_organisations(session, call)
            users = await service.organisation_user_ids(session, organisations)
            sent += await notify(session, f"call-closing:{call.id}", users, f"投标即将截止：{call.title}", f"投标截止时间 {call.bid_deadline.astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M}。", f"/community/calls/{call.id}")
        elif call.bid_deadline <= now:
            sent += await notify(session, f"call-to-open:{call.id}", await service.buyer_user_ids(session, call), f"投标已截止待开标：{call.title}", "请开标并组织评审。", f"/community/calls/{call.id}")
    calendar = await working_calendar(session)
    soon, _ = working_days_after(now.astimezone(BUSINESS_TZ).date(), 2, calendar)
    open_objections = (await session.execute(select(Objection, Award).join(Award, col(Award.id) == col(Objection.award_id)).where(col(Objection.answered_at).is_(None), col(Objection.answer_due_on) <= soon))).all()
    for objection, award in open_objections:
        of_objection = await session.get(Call, award.call_id)
        if of_objection is not None:
            call = of_objection
            sent += await notify(session, f"objection-due:{objection.id}", await service.buyer_user_ids(session, call), f"质疑答复即将到期：{call.title}", f"请在 {objection.answer_due_on.isoformat()} 前书面答复。", f"/community/calls/{call.id}")
    ended = (await session.execute(select(Award).where(col(Award.status) == "pending", col(Award.publicity_ends_at) <= now))).scalars().all()
    for award in ended:
        of_award = await session.get(Call, award.call_id)
        if of_award is not None:
            call = of_award
            sent += await notify(session, f"award-to-confirm:{award.id}", await service.buyer_user_ids(session, call), f"公示期已满：{call.title}", "无未答复质疑的，请确认中标结果生效并签订合同。", f"/community/calls/{call.id}")
    await session.commit()
    return {"notices": sent}


async def _eligible_organisations(session: AsyncSession, call: Call) -> set[int]:
    """The organisations that may bid in a call (without saying who did)."""
    invited = set(await service.invited_organisations(session, call.id))
    if invited:
        return invited
    social = await registry_queries.social_organisations(session)
    return {o.id for o in social if call.street_id is None or call.street_id in o.street_ids}


JOBS = [
    Job(
        name="calls.reminders",
        description="公益项目提醒：投标即将截止、待开标、质疑答复到期、公示期满待确认",
        cron={"minute": "15"},
        work=remind,
        period_for=lambda now: period_of("hour", now),
        period_kind="hour",
    ),
]
