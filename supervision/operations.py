"""Routes for running the system: each user's notifications, and the administrator's view of the scheduled jobs
(every job with its schedule, next and last run; run one now for a period)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role
from foundation.clock import utc_now
from foundation.errors import InvalidInput, NotFound, RuleViolation
from foundation.jobs import JobRun, NotDue
from foundation.notifications import Notification, mark_read
from foundation.paging import Page, PageRequest, fetch_page
from foundation.periods import PERIOD_PATTERN
from foundation.web.auth import allow, logged_in
from foundation.web.params import RecordId
from foundation.web.problems import problem_responses
from supervision.schedule import JOBS, job_named, last_runs, next_run, run_now


class NotificationOut(msgspec.Struct):
    id: int
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class JobRunOut(msgspec.Struct):
    job: str
    period: str
    state: str
    started_at: datetime
    finished_at: datetime | None
    attempts: int
    result: dict[str, Any] | None
    error: str | None


class JobOut(msgspec.Struct):
    name: str
    description: str
    schedule: dict[str, str]
    next_run: datetime | None
    last_run: JobRunOut | None


def _run_out(r: JobRun) -> JobRunOut:
    return JobRunOut(job=r.job, period=r.period, state=r.state, started_at=r.started_at, finished_at=r.finished_at, attempts=r.attempts, result=r.result, error=r.error)


class NotificationController(Controller):
    path = "/api/notifications"
    tags = ["system"]
    guards = [logged_in]

    @get("/", responses=problem_responses())
    async def mine(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], unread: FromQuery[bool] = False) -> Page[NotificationOut]:
        """Your notifications, newest first."""
        query = select(Notification).where(col(Notification.user_id) == principal.user_id).order_by(col(Notification.id).desc())
        if unread:
            query = query.where(col(Notification.read_at).is_(None))
        rows, total = await fetch_page(db, query, paging)
        return Page([NotificationOut(id=n.id or 0, title=n.title, body=n.body, link=n.link, created_at=n.created_at, read_at=n.read_at) for n in rows], total, paging.page, paging.page_size)

    @post("/{notification_id:int}/read", status_code=200, responses=problem_responses(404))
    async def read(self, notification_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> NotificationOut:
        n = await mark_read(db, principal.user_id, notification_id)
        return NotificationOut(id=n.id or 0, title=n.title, body=n.body, link=n.link, created_at=n.created_at, read_at=n.read_at)


class JobController(Controller):
    path = "/api/jobs"
    tags = ["system"]
    guards = [allow({Role.ADMIN}, "scheduled jobs")]

    @get("/", responses=problem_responses(403))
    async def jobs(self, db: NamedDependency[AsyncSession]) -> list[JobOut]:
        """Every scheduled job: schedule (Asia/Shanghai), next run, last run and its result."""
        last = await last_runs(db)
        now = utc_now()
        return [JobOut(name=j.name, description=j.description, schedule=j.cron, next_run=next_run(j, now), last_run=_run_out(last[j.name]) if j.name in last else None) for j in JOBS]

    @get("/{name:str}/runs", responses=problem_responses(403, 404))
    async def runs(self, name: FromPath[str], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest]) -> Page[JobRunOut]:
        try:
            job_named(name)
        except KeyError:
            raise NotFound("job", name) from None
        rows, total = await fetch_page(db, select(JobRun).where(col(JobRun.job) == name).order_by(col(JobRun.id).desc()), paging)
        return Page([_run_out(r) for r in rows], total, paging.page, paging.page_size)

    @post("/{name:str}/run", status_code=200, responses=problem_responses(403, 404, 422))
    async def run(
        self, name: FromPath[str], state: State, period: Annotated[str | None, Parameter(max_length=20, pattern=PERIOD_PATTERN)] = None
    ) -> JobRunOut:
        """Run a job now for a period (default: the period it would work on now); a period already done is not
        run again — its record is returned."""
        try:
            job_named(name)
        except KeyError:
            raise NotFound("job", name) from None
        try:
            return _run_out(await run_now(state.write_session_factory, name, period, utc_now()))
        except NotDue as error:
            raise RuleViolation(str(error), zh="该任务此期间尚未到期，暂不能运行") from None
        except ValueError as error:
            raise InvalidInput(f"period {period!r} does not fit job {name}: {error}", zh=f"期间 {period} 不符合该任务的格式") from None


ROUTES = [NotificationController, JobController]
