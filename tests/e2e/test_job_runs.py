"""`supervision jobs run` killed in the middle of a run: the run it left "running" is taken over at once by the next
run of its (job, period), because its lock died with its process; a run still alive is left alone."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from foundation.db import create_engine, create_session_factory
from foundation.jobs import JobRun
from tests.e2e.slow_job import NAME
from tests.served import Served

REPOSITORY = Path(__file__).resolve().parents[2]
PERIOD = "2026-11-20"


def jobs_run() -> list[str]:
    return [sys.executable, "-m", "tests.e2e.slow_job", "jobs", "run", NAME, "--period", PERIOD]


def environment(served: Served, seconds: float) -> dict[str, str]:
    return {**os.environ, "SUPERVISION_DATABASE_URL": served.database_url, "SUPERVISION_LOG_LEVEL": "WARNING", "SLOW_JOB_SECONDS": str(seconds)}


def stored_run(served: Served) -> JobRun | None:
    async def read() -> JobRun | None:
        engine = create_engine(served.database_url)
        try:
            async with create_session_factory(engine)() as session:
                return (await session.execute(select(JobRun).where(JobRun.job == NAME, JobRun.period == PERIOD))).scalar()
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_a_killed_job_run_is_taken_over_at_once_and_a_live_one_is_left_alone(served: Served) -> None:
    slow = subprocess.Popen(jobs_run(), env=environment(served, 600), cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while (run := stored_run(served)) is None or run.state != "running":
            assert slow.poll() is None, slow.stdout.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the slow run never started"
            time.sleep(0.1)

        # While it runs, another `jobs run` of the same period leaves it alone.
        meanwhile = subprocess.run(jobs_run(), env=environment(served, 0), cwd=REPOSITORY, capture_output=True, text=True, timeout=120)
        assert meanwhile.returncode == 1 and f"{NAME} {PERIOD}: running" in meanwhile.stdout, meanwhile.stdout + meanwhile.stderr
        assert stored_run(served).attempts == 1  # type: ignore[union-attr]

        slow.send_signal(signal.SIGKILL)  # dies without recording anything
        slow.wait(timeout=10)
    finally:
        if slow.poll() is None:
            slow.kill()
    assert stored_run(served).state == "running"  # type: ignore[union-attr]

    again = subprocess.run(jobs_run(), env=environment(served, 0), cwd=REPOSITORY, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and f"{NAME} {PERIOD}: done" in again.stdout, again.stdout + again.stderr
    run = stored_run(served)
    assert run is not None and run.state == "done" and run.attempts == 2 and run.result == {"slept": 0.0}
