"""Scheduled work, exactly once per (job, period): a run holds the (job, period)'s run lock while it runs and records
the run under a unique constraint; a period already done is skipped, one running in a live process is left to it,
and one whose process died is taken over at once, so running a job twice, after a crash or from two processes
changes nothing. The jobs themselves live in each domain's `jobs.py` and call the same use cases as the API."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import Field, SQLModel, col

from foundation.clock import BUSINESS_TZ, utc_now
from foundation.db import UTCDateTime, rows_changed, surrogate_key, unit_of_work
from foundation.periods import parse_period
from foundation.process_locks import job_run_lock

log = logging.getLogger("supervision.jobs")
LIVE_RUN_LOOKS = 40  # times (50 ms apart) to look for the record of a run another process has just begun


class JobRun(SQLModel, table=True):
    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: int = surrogate_key()
    job: str = Field(max_length=60)
    period: str = Field(max_length=20)  # "2026-11-25T14" (hour), "2026-11-25" (day), "2026-11" (month), "2026-Q4"
    state: str = Field(sa_column=Column(String(10), nullable=False))  # running, done, waiting (on people), failed
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    attempts: int = 1
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: str | None = Field(default=None, max_length=4000)


class NotDue(Exception):
    """The period cannot be worked on yet (its month has not ended, its deadline has not passed)."""


class NotReady(Exception):
    """The work waits on people (months to lock, ...): the run is recorded as waiting (not failed: nothing is wrong)
    with this message, without a traceback, and tried again at the next run."""


def from_time_of_day(hour: int, minute: int) -> Callable[[str, datetime], bool]:
    """A daily job's `due`: its day's work starts at its scheduled time (a catch-up at start does not run it early)."""

    def due(period: str, now: datetime) -> bool:
        day = datetime.strptime(period, "%Y-%m-%d").replace(hour=hour, minute=minute, tzinfo=BUSINESS_TZ)
        return now >= day

    return due


Work = Callable[[AsyncSession, str, datetime], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    cron: dict[str, str]  # APScheduler cron fields, Asia/Shanghai
    work: Work
    period_for: Callable[[datetime], str]  # the period a run at this moment works on
    period_kind: str  # what its periods are: "hour", "day", "month" or "quarter" (a period given by hand is checked)
    due: Callable[[str, datetime], bool] = lambda period, now: True  # not due yet: nothing is recorded


def daily_job(name: str, description: str, hour: int, minute: int, work: Work) -> Job:
    """A job that works on each day at `hour`:`minute` Beijing time, and not before it on a catch-up at start."""
    return Job(
        name=name,
        description=description,
        cron={"hour": str(hour), "minute": str(minute)},
        work=work,
        period_for=lambda now: period_of("day", now),
        period_kind="day",
        due=from_time_of_day(hour, minute),
    )


def period_of(granularity: str, instant: datetime) -> str:
    """The period a job run at `instant` (Beijing time) works on: the hour, day, month or quarter that just ended
    or is running, as each job defines it."""
    local = instant.astimezone(BUSINESS_TZ)
    match granularity:
        case "hour":
            return local.strftime("%Y-%m-%dT%H")
        case "day":
            return local.strftime("%Y-%m-%d")
        case "month":
            return local.strftime("%Y-%m")
        case "quarter":
            return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"
    raise ValueError(f"unknown granularity {granularity!r}")


def _engine_of(factory: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    bind = factory.kw["bind"]
    return bind if isinstance(bind, AsyncEngine) else bind.engine


async def _stored_run(factory: async_sessionmaker[AsyncSession], job: Job, period: str) -> JobRun | None:
    async with factory() as session:
        return (await session.execute(select(JobRun).where(col(JobRun.job) == job.name, col(JobRun.period) == period))).scalar()


async def run_job(factory: async_sessionmaker[AsyncSession], job: Job, period: str, now: datetime | None = None) -> JobRun:
    """Run `job` for `period` unless it is done, running in a live process, or not yet due; record the outcome.

    Whoever runs a (job, period) holds its run lock (foundation.process_locks) for as long as it runs, and a
    process's death frees it: a run recorded as running whose lock is free was cut off, and is taken over at once."""
    now = now or utc_now()
    parse_period(period, job.period_kind)  # a malformed or impossible period is refused before anything is recorded
    if not job.due(period, now):
        raise NotDue(f"{job.name} for {period} is not due yet")
    lock = job_run_lock(_engine_of(factory), job.name, period)
    if not await lock.try_acquire():
        # A live process is running (or just finishing) it. Its record may be a moment from being stored.
        for _ in range(LIVE_RUN_LOOKS):
            stored = await _stored_run(factory, job, period)
            if stored is not None:
                log.info("job %s for %s is %s in another process; skipped", job.name, period, stored.state)
                return stored
            await asyncio.sleep(0.05)
        return JobRun(job=job.name, period=period, state="running", started_at=now)
    try:
        return await _run_holding_lock(factory, job, period, now)
    finally:
        await lock.release()


async def _run_holding_lock(factory: async_sessionmaker[AsyncSession], job: Job, period: str, now: datetime) -> JobRun:
    """Three transactions: claim the run, do the work (stored whole or not at all), record the outcome."""
    async with unit_of_work(factory) as session:
        record = JobRun(job=job.name, period=period, state="running", started_at=now)
        try:
            async with session.begin_nested():
                session.add(record)
        except IntegrityError:
            record = (await session.execute(select(JobRun).where(col(JobRun.job) == job.name, col(JobRun.period) == period))).scalar_one()
            if record.state == "done":
                log.info("job %s for %s is done; skipped", job.name, period)
                return record
            # Failed, waiting, or left running by a process that died (we hold its lock): claim it again.
            if record.state == "running":
                log.warning("job %s for %s was cut off (its process died); taking it over", job.name, period)
            claimed = await rows_changed(
                session,
                update(JobRun)
                .where(col(JobRun.id) == record.id, col(JobRun.state) == record.state, col(JobRun.attempts) == record.attempts)
                .values(state="running", started_at=now, attempts=record.attempts + 1, error=None),
            )
            if claimed != 1:
                return record
            await session.refresh(record)
    message: str | None
    async with factory() as session:  # the work's own unit of work: stored whole, or (failing) not at all
        try:
            try:
                result = await job.work(session, period, now)
            except NotReady:
                await session.commit()  # what it did to tell people what holds it up (notices) is kept
                raise
            await session.commit()
        except NotReady as waiting:
            await session.rollback()
            log.info("job %s for %s waits: %s", job.name, period, waiting)
            state, result, message = "waiting", None, f"waiting: {waiting}"[:4000]
        except Exception as error:  # a job's failure is recorded and logged, never lost
            await session.rollback()
            log.exception("job %s for %s failed", job.name, period)
            state, result, message = "failed", None, "".join(traceback.format_exception_only(error)).strip()[:4000]
        else:
            state, message = "done", None
    async with unit_of_work(factory) as session:
        await session.execute(
            update(JobRun).where(col(JobRun.id) == record.id).values(state=state, finished_at=utc_now(), result=result, error=message)
        )
        return (await session.execute(select(JobRun).where(col(JobRun.id) == record.id))).scalar_one()
