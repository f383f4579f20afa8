"""Every scheduled job of every domain, and the `supervision jobs` command's work: list them with their last run,
run one now for a period. `supervision.scheduler` fires them on their calendar."""

from __future__ import annotations

from datetime import datetime

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from assessment.jobs import JOBS as ASSESSMENT_JOBS
from community.calls.jobs import JOBS as CALL_JOBS
from community.delivery.jobs import JOBS as DELIVERY_JOBS
from community.evaluation.jobs import JOBS as EVALUATION_JOBS
from community.needs.jobs import JOBS as NEEDS_JOBS
from community.volunteers.jobs import JOBS as VOLUNTEER_JOBS
from complaints.jobs import JOBS as COMPLAINT_JOBS
from foundation.clock import BUSINESS_TZ
from foundation.jobs import Job, JobRun, run_job
from inspections.jobs import JOBS as INSPECTION_JOBS
from reports.audit_statement import JOBS as AUDIT_JOBS
from subsidies.activity.jobs import JOBS as ACTIVITY_JOBS
from subsidies.care.jobs import JOBS as CARE_JOBS
from subsidies.property.jobs import JOBS as SUBSIDY_JOBS
from subsidies.relief.jobs import JOBS as RELIEF_JOBS
from supervision.backup import JOBS as BACKUP_JOBS

JOBS: list[Job] = [*INSPECTION_JOBS, *ASSESSMENT_JOBS, *SUBSIDY_JOBS, *ACTIVITY_JOBS, *AUDIT_JOBS, *NEEDS_JOBS, *CALL_JOBS, *CARE_JOBS, *VOLUNTEER_JOBS, *DELIVERY_JOBS, *RELIEF_JOBS, *EVALUATION_JOBS, *BACKUP_JOBS, *COMPLAINT_JOBS]


def next_run(job: Job, now: datetime) -> datetime | None:
    """When the scheduler fires `job` next (Beijing time)."""
    fires_at: datetime | None = CronTrigger(timezone=BUSINESS_TZ, **job.cron).get_next_fire_time(None, now.astimezone(BUSINESS_TZ))
    return fires_at


def job_named(name: str) -> Job:
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(f"no job {name!r}; jobs: {', '.join(j.name for j in JOBS)}")


async def last_runs(session: AsyncSession) -> dict[str, JobRun]:
    newest = select(col(JobRun.job), func.max(col(JobRun.id)).label("id")).group_by(col(JobRun.job)).subquery()
    rows = (await session.execute(select(JobRun).join(newest, newest.c.id == JobRun.id))).scalars()
    return {r.job: r for r in rows}


async def run_now(factory: async_sessionmaker[AsyncSession], name: str, period: str | None, now: datetime) -> JobRun:
    job = job_named(name)
    return await run_job(factory, job, period or job.period_for(now), now)
