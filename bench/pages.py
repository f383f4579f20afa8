"""Benchmark: the pages people open most, rendered from a district with six months of evidence and scores.

Prints figures; asserts nothing about speed. Runs on a fresh SQLite file under a temporary folder, or on the
database named by SUPERVISION_BENCH_DATABASE_URL (an empty PostgreSQL database, say).

    .venv/bin/python bench/pages.py [--requests 30]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from sqlalchemy import select  # noqa: E402

from assessment.service import compute_month  # noqa: E402
from bench.harness import page_login, percentile  # noqa: E402
from foundation.access import SYSTEM  # noqa: E402
from foundation.clock import business_today  # noqa: E402
from foundation.db import create_engine, create_session_factory, unit_of_work  # noqa: E402
from foundation.periods import Month  # noqa: E402
from foundation.settings import load_settings  # noqa: E402
from registry.tables import Street  # noqa: E402
from supervision.app import create_app  # noqa: E402
from supervision.cli import migrate  # noqa: E402
from supervision.demo import load_demo  # noqa: E402
from tests.generated import generate_month  # noqa: E402

MONTHS = 6


def pages(month: Month) -> dict[str, tuple[str, str]]:
    return {
        "patrol today (worker, phone)": ("xbl01-worker", "/patrol"),
        "patrol checklist (worker, phone)": ("xbl01-worker", "/patrol/estates/{estate}"),
        "month table + trend (street, 55)": ("xbl-officer", f"/assessment?month={month}"),
        "month table + trend (district, 323)": ("admin", f"/assessment?month={month}"),
        "month table, HTMX filter (street)": ("xbl-officer", f"/assessment?month={month}&community_id={{community}}"),
        "coverage heat map (street)": ("xbl-officer", f"/coverage?month={month}"),
        "coverage heat map (district)": ("admin", f"/coverage?month={month}"),
        "committee month (director)": ("xbl01-director", f"/committee?month={month}"),
        "orders by deadline (company)": ("company01", "/defects"),
    }


async def main(requests: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="supervision-bench-"))
    url = os.environ.get("SUPERVISION_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    os.environ.setdefault("SUPERVISION_VAR_DIR", str(folder / "var"))
    os.environ.setdefault("SUPERVISION_LOG_LEVEL", "WARNING")
    settings = load_settings(database_url=url)
    await asyncio.to_thread(migrate, settings)
    engine = create_engine(url)
    await load_demo(engine)
    factory = create_session_factory(engine)
    last = Month.of(business_today()).previous()
    months = [last]
    for _ in range(MONTHS - 1):
        months.insert(0, months[0].previous())
    started = time.perf_counter()
    for month in months:
        await generate_month(factory, month, seed=month.month)
        async with unit_of_work(factory) as session:
            for street_id in (await session.execute(select(Street.id))).scalars():
                await compute_month(session, SYSTEM, street_id, month)
    print(f"database: {engine.dialect.name}; {MONTHS} months of evidence generated and scored in {time.perf_counter() - started:.1f} s")

    app = create_app(settings, engine=engine)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    print(f"{'page':38} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'KiB':>6}")
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        for label, (username, path) in pages(last).items():
            if username not in clients:
                clients[username] = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
                await page_login(clients[username], username)
            client = clients[username]
            if "{estate}" in path:
                estate = re.search(r'href="/patrol/estates/(\d+)"', (await client.get("/patrol")).text).group(1)  # type: ignore[union-attr]
                path = path.replace("{estate}", estate)
            if "{community}" in path:
                community = re.search(r'<option value="(\d+)">', (await client.get(path.split("&")[0])).text).group(1)  # type: ignore[union-attr]
                path = path.replace("{community}", community)
            headers = {"HX-Request": "true", "HX-Target": "scores"} if "HTMX" in label else {}
            samples, size = [], 0
            for _ in range(requests):
                before = time.perf_counter()
                answer = await client.get(path, headers=headers)
                samples.append((time.perf_counter() - before) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
                size = len(answer.content)
            print(f"{label:38} {statistics.median(samples):8.1f} {percentile(samples, 0.95):8.1f} {max(samples):8.1f} {size / 1024:6.0f}")
    finally:
        for client in clients.values():
            await client.aclose()
    await engine.dispose()
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30)
    asyncio.run(main(parser.parse_args().requests))
