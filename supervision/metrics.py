"""/metrics in the Prometheus text format (when `metrics_enabled`): the web workers' request counts and latencies
(foundation.web.telemetry), and what the database says of the whole system at scrape time, the same whichever
worker answers: scheduled job runs by job and state, late evidence waiting for a decision."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.jobs import JobRun
from foundation.web.admission import NEVER_HELD_BACK
from foundation.web.telemetry import RequestMetrics, labels
from inspections import queries as inspection_queries

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class MetricsController(Controller):
    @get("/metrics", include_in_schema=False, security=[{}], opt=NEVER_HELD_BACK)
    async def metrics(self, db: NamedDependency[AsyncSession], state: State) -> Response[str]:
        """Counters and gauges for a Prometheus scraper (no login: keep the path from the public at the proxy)."""
        request_metrics: RequestMetrics = state.request_metrics
        lines = request_metrics.render()
        runs = (await db.execute(select(col(JobRun.job), col(JobRun.state), func.count()).group_by(col(JobRun.job), col(JobRun.state)))).all()
        lines += [
            "# HELP supervision_job_runs Scheduled job runs recorded, by job and state (running, done, failed).",
            "# TYPE supervision_job_runs gauge",
            *(f"supervision_job_runs{labels(job=job, state=run_state)} {count}" for job, run_state, count in sorted(runs)),
            "# HELP supervision_late_records_waiting Late evidence waiting for its street officer's decision.",
            "# TYPE supervision_late_records_waiting gauge",
            f"supervision_late_records_waiting {await inspection_queries.late_records_waiting(db)}",
        ]
        return Response("\n".join(lines) + "\n", media_type=PROMETHEUS_TEXT, headers={"Cache-Control": "no-store"})


ROUTES = [MetricsController]
