"""The scheduler: APScheduler 3.11 (AsyncIOScheduler, Asia/Shanghai) firing every domain's jobs on their calendar,
in exactly one process. A leader lock decides which (foundation.process_locks): a PostgreSQL advisory lock held
on a dedicated connection (released by the server when the process dies), or an exclusive file lock in var_dir. Every other
scheduler waits as a standby and takes over when the lock frees. Each job run is recorded once per (job, period)
(foundation.jobs), so even two leaders would change nothing twice."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from foundation.clock import BUSINESS_TZ, utc_now
from foundation.db import create_engine, create_session_factory
from foundation.jobs import Job, NotDue, run_job
from foundation.process_locks import AdvisoryLock, FileLock, ProcessLock
from foundation.settings import Settings
from supervision.publishers import subscribe_all as subscribe_publishers
from supervision.schedule import JOBS

log = logging.getLogger("supervision.scheduler")
ADVISORY_KEY = 7_301_977  # the scheduler's leader lock on PostgreSQL (any fixed number)


def leader_lock(settings: Settings, engine: AsyncEngine) -> ProcessLock:
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, ADVISORY_KEY)
    return FileLock(settings.var_dir / "scheduler.lock")


async def fire(factory: async_sessionmaker[AsyncSession], job: Job, now: datetime | None = None) -> None:
    now = now or utc_now()
    period = job.period_for(now)
    try:
        run = await run_job(factory, job, period, now)
        log.info("job %s for %s: %s", job.name, period, run.state)
    except NotDue:
        log.debug("job %s for %s not due", job.name, period)


async def lead(
    factory: async_sessionmaker[AsyncSession],
    lock: ProcessLock,
    stop: asyncio.Event,
    check_seconds: float,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Fire the jobs until stopped or the lock is lost; first catch up on the periods due now (missed while down)."""
    scheduler = AsyncIOScheduler(
        timezone=BUSINESS_TZ,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    for job in JOBS:
        scheduler.add_job(fire, CronTrigger(timezone=BUSINESS_TZ, **job.cron), args=[factory, job], id=job.name, name=job.description)
    # Catch up on every job's period due now (what was missed while no scheduler ran). A run left "running" by a
    # process that died is taken over by the next run of its (job, period): its run lock is free.
    for job in JOBS:
        await fire(factory, job, clock())
    scheduler.start()
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=check_seconds)
            except TimeoutError:
                pass
            if not await lock.still_held():
                log.warning("the leader lock was lost; standing by")
                return
    finally:
        scheduler.shutdown(wait=False)


async def run_scheduler(settings: Settings, stop: asyncio.Event, engine: AsyncEngine | None = None, poll_seconds: float | None = None) -> None:
    """Stand by until this process holds the leader lock, then lead; repeat until stopped."""
    subscribe_publishers()
    poll = poll_seconds if poll_seconds is not None else settings.scheduler_poll_seconds
    own_engine = engine is None
    engine = engine or create_engine(settings.database_url)
    factory = create_session_factory(engine)
    lock = leader_lock(settings, engine)
    announced = False
    try:
        while not stop.is_set():
            if await lock.try_acquire():
                log.info("scheduler %s leads", os.getpid())
                announced = False
                await lead(factory, lock, stop, poll)
                await lock.release()
                continue
            if not announced:
                log.info("scheduler %s stands by: another process leads", os.getpid())
                announced = True
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll)
            except TimeoutError:
                pass
    finally:
        await lock.release()
        if own_engine:
            await engine.dispose()
