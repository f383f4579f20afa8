"""`python -m tests.e2e.slow_job jobs run tests.slow_job --period 2026-11-20`: the `supervision` command with one more
job, for tests only, that takes $SLOW_JOB_SECONDS to run (long enough to be killed in the middle)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from foundation.jobs import Job, period_of
from supervision.cli import main
from supervision.schedule import JOBS

NAME = "tests.slow_job"


async def sleep_a_while(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    seconds = float(os.environ.get("SLOW_JOB_SECONDS", "0"))
    await asyncio.sleep(seconds)
    return {"slept": seconds}


JOBS.append(Job(name=NAME, description="a slow job (tests only)", cron={"hour": "3"}, work=sleep_a_while, period_for=lambda now: period_of("day", now), period_kind="day"))

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
