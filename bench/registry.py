"""Benchmark: migrate and load the demo district, then time the registry reads a user makes most.

Prints figures; asserts nothing about speed. Runs on a fresh SQLite file under a temporary folder, or on the
database named by SUPERVISION_BENCH_DATABASE_URL (an empty PostgreSQL database, say).

    .venv/bin/python bench/registry.py [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from foundation.db import create_engine
from foundation.settings import load_settings
from supervision.app import create_app
from supervision.cli import migrate
from supervision.demo import DEMO_PASSWORD, load_demo

READS = {
    "summary (district)": ("admin", "/api/registry/summary"),
    "estates page 1 (district)": ("admin", "/api/registry/estates?limit=50"),
    "estates search (district)": ("admin", "/api/registry/estates?q=%E9%87%8C"),
    "estates (one community)": ("xbl01-worker", "/api/registry/estates"),
    "contracts page 1 (street)": ("xbl-officer", "/api/registry/contracts?limit=50"),
}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def main(requests: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="supervision-bench-"))
    url = os.environ.get("SUPERVISION_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    os.environ.setdefault("SUPERVISION_VAR_DIR", str(folder / "var"))
    os.environ.setdefault("SUPERVISION_LOG_LEVEL", "WARNING")
    settings = load_settings(database_url=url)

    started = time.perf_counter()
    await asyncio.to_thread(migrate, settings)
    migrated = time.perf_counter()
    engine = create_engine(url)
    await load_demo(engine)
    loaded = time.perf_counter()
    print(f"database: {engine.dialect.name}")
    print(f"migrate: {migrated - started:.2f} s; load demo district (323 estates, 64 contracts, votes): {loaded - migrated:.2f} s")

    app = create_app(settings, engine=engine)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        tokens: dict[str, dict[str, str]] = {}
        for username in {user for user, _ in READS.values()}:
            answer = await client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            answer.raise_for_status()
            tokens[username] = {"Authorization": f"Bearer {answer.json()['token']}"}
        print(f"{'read':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'req/s':>8}")
        for label, (username, path) in READS.items():
            samples = []
            for _ in range(requests):
                before = time.perf_counter()
                answer = await client.get(path, headers=tokens[username])
                samples.append((time.perf_counter() - before) * 1000)
                answer.raise_for_status()
            print(
                f"{label:32} {statistics.median(samples):8.2f} {percentile(samples, 0.95):8.2f} "
                f"{max(samples):8.2f} {1000 * len(samples) / sum(samples):8.0f}"
            )
    await engine.dispose()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mib:.0f} MiB (one process, in-process ASGI calls, no network)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per read (default 200)")
    asyncio.run(main(parser.parse_args().requests))
