"""The scheduler: APScheduler 3.11 (AsyncIOScheduler, Asia/Shanghai) firing every domain's jobs on their calendar,
in exactly one process. A leader lock decides which: a PostgreSQL advisory lock held on a dedicated connection
(released by the server when the process dies), or an exclusive file lock beside the SQLite database. Every other
scheduler waits as a standby and takes over when the lock frees. Each job run is recorded once per (job, period)
(supervision.core.jobs), so even two leaders would change nothing twice."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from supervision.core.clock import BUSINESS_TZ, utc_now
from supervision.core.db import create_engine, create_session_factory
from supervision.core.jobs import Job, JobRun, NotDue, run_job
from supervision.core.settings import Settings
from supervision.schedule import JOBS

log = logging.getLogger("supervision.scheduler")
ADVISORY_KEY = 7_301_977  # the scheduler's leader lock on PostgreSQL (any fixed number)


class LeaderLock(Protocol):
    async def try_acquire(self) -> bool: ...
    async def still_held(self) -> bool: ...
    async def release(self) -> None: ...


class PostgresLeaderLock:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.connection: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        if self.connection is None:
            self.connection = await self.engine.connect()
        got = (await self.connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY})).scalar_one()
        await self.connection.commit()
        return bool(got)

    async def still_held(self) -> bool:
        try:
            assert self.connection is not None
            held = (
                await self.connection.execute(
                    text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :k AND pid = pg_backend_pid() AND granted"),
                    {"k": ADVISORY_KEY},
                )
            ).scalar_one()
            await self.connection.commit()
            return bool(held)
        except Exception:  # the connection is gone: so is the lock
            log.exception("lost the leader lock's connection")
            self.connection = None
            return False

    async def release(self) -> None:
        if self.connection is not None:
            await self.connection.close()  # closing the session releases the advisory lock
            self.connection = None


class FileLeaderLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: Any = None

    async def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 (held for as long as the process leads)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.handle = handle
        return True

    async def still_held(self) -> bool:
        return self.handle is not None

    async def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def leader_lock(settings: Settings, engine: AsyncEngine) -> LeaderLock:
    if engine.dialect.name == "postgresql":
        return PostgresLeaderLock(engine)
    return FileLeaderLock(settings.var_dir / "scheduler.lock")


async def fire(factory: async_sessionmaker, job: Job, now: datetime | None = None) -> None:  # type: ignore[type-arg]
    now = now or utc_now()
    period = job.period_for(now)
    try:
        run = await run_job(factory, job, period, now)
        log.info("job %s for %s: %s", job.name, period, run.state)
    except NotDue:
        log.debug("job %s for %s not due", job.name, period)


async def lead(
    factory: async_sessionmaker,  # type: ignore[type-arg]
    lock: LeaderLock,
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
    # Runs left "running" were cut off when the last leader died (only the leader runs jobs): free them, then catch
    # up on every job's period due now (what was missed while no scheduler ran).
    async with factory() as session:
        freed = await session.execute(
            update(JobRun).where(JobRun.state == "running").values(state="failed", error="interrupted: the scheduler running it stopped")
        )
        await session.commit()
    if freed.rowcount:  # type: ignore[attr-defined]
        log.warning("freed %s job runs interrupted by the previous leader", freed.rowcount)  # type: ignore[attr-defined]
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
    poll = poll_seconds if poll_seconds is not None else settings.scheduler_poll_seconds
    own_engine = engine is None
    engine = engine or create_engine(settings.database_url)
    factory = create_session_factory(engine)
    lock = leader_lock(settings, engine)
    announced = False
    try:
        while not stop.is_set():
            if await lock.try_acquire():
                log.warning("scheduler %s leads", os.getpid())
                announced = False
                await lead(factory, lock, stop, poll)
                await lock.release()
                continue
            if not announced:
                log.warning("scheduler %s stands by: another process leads", os.getpid())
                announced = True
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll)
            except TimeoutError:
                pass
    finally:
        await lock.release()
        if own_engine:
            await engine.dispose()
