"""Scheduled work of the subsidy: at the start of a quarter, the draft run of the quarter just ended, as soon as
every street has locked its three months; until then finance is told daily what holds it up. The work runs in the
unit of work foundation.jobs opens for it (stored whole when done; when held up, only the notice is kept)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment.queries import locked_streets
from foundation.access import SCHEDULER_FINANCE, Role
from foundation.jobs import Job, NotReady
from foundation.notifications import notify
from foundation.periods import Quarter, last_ended_quarter
from people.queries import recipients
from registry.queries import streets as all_streets
from subsidies.engine.tables import ProgrammeRun
from subsidies.property import service


class HeldUp(NotReady):
    """The quarter cannot be run yet; the message lists what holds it up (the job is retried the next day)."""


async def prepare_quarter_run(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    quarter = Quarter.parse(period)
    existing = (await session.execute(select(func.count()).where(col(ProgrammeRun.programme) == service.PROGRAMME, col(ProgrammeRun.period) == period))).scalar_one()
    if existing:
        return {"already_started": True}
    streets = {s.id: s.name for s in await all_streets(session)}
    locked = {(street, str(month)) for month in quarter.months for street in await locked_streets(session, month)}
    holding = [f"{streets[s]} {m}" for s in sorted(streets) for m in map(str, quarter.months) if (s, m) not in locked]
    finance = await recipients(session, Role.FINANCE)
    if holding:
        await notify(session, f"quarter-wait|{period}|{now.date()}", finance, f"{period} 补贴测算待街道锁定", "尚未锁定：" + "、".join(holding), "/subsidies/runs")
        raise HeldUp("not locked yet: " + ", ".join(holding))
    run = await service.start_run(session, SCHEDULER_FINANCE, quarter, False)
    await notify(session, f"quarter-run|{period}", finance, f"{period} 补贴测算草稿已生成", f"测算 #{run.id} 待各街道确认后审批。", f"/subsidies/runs/{run.id}")
    return {"run_id": run.id}


JOBS = [
    Job(
        name="subsidies.prepare_quarter_run",
        description="季度初生成上季度补贴测算草稿（三个月均锁定后）",
        cron={"hour": "3", "minute": "0"},
        work=prepare_quarter_run,
        period_for=lambda now: str(last_ended_quarter(now)),
        period_kind="quarter",
    ),
]
