"""Benchmark: compute and store every estate's score of a month, for the demo district (323 estates) and for a
city (10,000 estates), as the scheduled job does (every street, then the district's ranks once, one transaction),
beside one SQL aggregate over the same findings (the floor). Prints time and the peak
memory of the computing process; asserts nothing.

The month's evidence is written straight into the tables (bulk inserts, not the API): a counted patrol per estate
per day, 2 street inspections per estate, spot checks for 30 % of estates, defects at the rates below, the
committee's opinion for 95 % of estates and an upheld veto for 1 %. Patrols store only their failed results
(scoring reads patrol defects, not patrol results).

    .venv/bin/python bench/assessment.py [--city-estates 10000] [--profile]
    SUPERVISION_BENCH_DATABASE_URL=postgresql+asyncpg://... (an empty database) .venv/bin/python bench/assessment.py
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from sqlalchemy import text  # noqa: E402

from foundation.db import create_engine, create_session_factory, unit_of_work  # noqa: E402
from foundation.periods import Month  # noqa: E402
from foundation.settings import load_settings  # noqa: E402
from supervision.cli import migrate  # noqa: E402
from supervision.demo import load_demo  # noqa: E402
from tests.generated import add_city, generate_month  # noqa: E402


async def compute_all(url: str, month: Month, profile: bool = False) -> None:
    """Run in a process of its own, so its peak memory is the computation's: the scheduled job's city month (every
    street computed, then the district ranked once, in one transaction). `profile`: under cProfile, whose top
    functions go to stderr."""
    from assessment.jobs import compute_last_month

    os.environ.setdefault("SUPERVISION_LOG_LEVEL", "WARNING")
    engine = create_engine(url)
    factory = create_session_factory(engine)
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    now = datetime.now(UTC)
    if profiler:
        profiler.enable()
    async with unit_of_work(factory) as session:
        done = await compute_last_month(session, str(month), now)
    elapsed = time.perf_counter() - started
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
    estates = sum(d["estates"] for d in done["computed"])
    async with engine.connect() as connection:
        floor_started = time.perf_counter()
        await connection.execute(
            text(
                "SELECT d.estate_id, SUM(d.deduction_centi * d.defect_count), COUNT(*) FROM defects d "
                "WHERE d.month = :m GROUP BY d.estate_id"
            ),
            {"m": str(month)},
        )
        await connection.execute(
            text("SELECT estate_id, source, COUNT(*) FROM inspection_records WHERE month = :m GROUP BY estate_id, source"), {"m": str(month)}
        )
        floor = time.perf_counter() - floor_started
        stored = (await connection.execute(text("SELECT COUNT(*) FROM estate_scores WHERE month = :m"), {"m": str(month)})).scalar_one()
    await engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"estates": estates, "stored": stored, "seconds": round(elapsed, 2), "floor_seconds": round(floor, 3), "peak_mib": round(peak)}))


async def prepare(url: str, estates: int, month: Month) -> dict[str, int]:
    settings = load_settings(database_url=url)
    await asyncio.to_thread(migrate, settings)
    engine = create_engine(url)
    await load_demo(engine)
    factory = create_session_factory(engine)
    if estates > 323:
        await add_city(factory, estates)
    counts = await generate_month(factory, month)
    await engine.dispose()
    return counts


def run(label: str, url: str, estates: int, month: Month, profile: bool = False) -> None:
    started = time.perf_counter()
    counts = asyncio.run(prepare(url, estates, month))
    print(f"{label}: {counts['estates']} estates, {counts['patrols']} patrols, {counts['inspections']} street inspections, "
          f"{counts['spot_checks']} spot checks, {counts['defects']} defects (generated in {time.perf_counter() - started:.1f} s)")
    child = subprocess.run([sys.executable, __file__, "--compute", url, str(month), *(["--profile"] if profile else [])], capture_output=True, text=True, check=True, cwd=BENCH.parent)
    if profile:
        print(child.stderr)
    print(f"  machine load (1, 5, 15 min): {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"  compute and store all scores: {figures['seconds']:.2f} s for {figures['stored']} scores, peak memory {figures['peak_mib']} MiB; "
        f"floor (one SQL aggregate over the same findings): {figures['floor_seconds']:.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city-estates", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true", help="print the city month's cProfile (cumulative, top functions)")
    parser.add_argument("--compute", nargs=2, metavar=("URL", "MONTH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compute:
        asyncio.run(compute_all(args.compute[0], Month.parse(args.compute[1]), args.profile))
        return
    os.environ.setdefault("SUPERVISION_LOG_LEVEL", "WARNING")
    month = Month.of_instant(datetime.now(UTC)).previous()
    base = os.environ.get("SUPERVISION_BENCH_DATABASE_URL")
    folder = Path(tempfile.mkdtemp(prefix="supervision-bench-"))
    for label, estates in (("district month", 323), ("city month", args.city_estates)):
        if base:
            url = create_database(base, label.replace(" ", "_"))
        else:
            url = f"sqlite+aiosqlite:///{folder / (label.replace(' ', '_') + '.db')}"
        print(f"database: {url.split(':')[0]}")
        run(label, url, estates, month, profile=args.profile and estates > 323)


def create_database(base: str, name: str) -> str:
    """A new database beside the one named by the URL (PostgreSQL)."""
    from sqlalchemy.engine import make_url

    server = make_url(base)
    database = f"{server.database}_{name}_{uuid.uuid4().hex[:6]}"

    async def create() -> None:
        admin = create_engine(server.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{database}"'))
        await admin.dispose()

    asyncio.run(create())
    return server.set(database=database).render_as_string(hide_password=False)


if __name__ == "__main__":
    main()
