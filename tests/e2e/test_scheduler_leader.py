"""Two `supervision scheduler` processes on one database: one leads, the other stands by, and takes over when the
leader is killed; the jobs' work is recorded once per (job, period) whoever runs it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from foundation.db import create_engine, create_session_factory
from foundation.jobs import JobRun
from tests.served import Served


def start(served: Served, folder: Path, name: str) -> tuple[subprocess.Popen, Path]:  # type: ignore[type-arg]
    log = folder / f"{name}.log"
    env = {**os.environ, "SUPERVISION_DATABASE_URL": served.database_url, "SUPERVISION_SCHEDULER_POLL_SECONDS": "0.3", "SUPERVISION_LOG_LEVEL": "INFO"}
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "supervision.cli", "scheduler"], env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, log


def wait_for(log: Path, text: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in log.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"{log.name} never said {text!r}:\n{log.read_text()[-3000:]}")


def job_runs(served: Served) -> list[tuple[str, str, int]]:
    async def read() -> list[tuple[str, str, int]]:
        engine = create_engine(served.database_url)
        async with create_session_factory(engine)() as session:
            rows = (await session.execute(select(JobRun.job, JobRun.period, func.count()).group_by(JobRun.job, JobRun.period))).all()
        await engine.dispose()
        return [tuple(r) for r in rows]  # type: ignore[misc]

    return asyncio.run(read())


def test_one_scheduler_leads_the_other_stands_by_and_takes_over_when_the_leader_dies(served: Served, tmp_path: Path) -> None:
    first, first_log = start(served, tmp_path, "first")
    try:
        wait_for(first_log, "leads")
        second, second_log = start(served, tmp_path, "second")
        try:
            wait_for(second_log, "stands by")
            wait_for(first_log, "Scheduler started")
            runs = job_runs(served)
            assert runs and all(n == 1 for _, _, n in runs)  # one record per (job, period)
            killed_at = time.monotonic()
            first.send_signal(signal.SIGKILL)  # the leader dies without letting go
            first.wait(timeout=10)
            wait_for(second_log, "leads", seconds=60)
            assert time.monotonic() - killed_at < 60
            wait_for(second_log, "Scheduler started")
            assert sorted(job_runs(served)) == sorted(runs)  # the new leader found the periods done
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=20)
    finally:
        if first.poll() is None:
            first.kill()
