"""Benchmark: community social workers file daily patrols over HTTP against the served system (one uvicorn
worker), beside the same load on a minimal Litestar route that inserts one row into the same database: how close
the real thing comes to the floor. Prints patrols per second, p50/p95/max latency and the server process's CPU time
per request (all its threads); asserts nothing.

    .venv/bin/python bench/patrols.py [--patrols 2000] [--concurrency 16]
    SUPERVISION_BENCH_DATABASE_URL=postgresql+asyncpg://... .venv/bin/python bench/patrols.py   (an empty database)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.harness import Served, serving  # noqa: E402
from supervision.demo import DEMO_PASSWORD  # noqa: E402


async def load(base: str, path: str, bodies: list[tuple[dict[str, str], dict]], concurrency: int) -> tuple[list[float], float, int]:
    """Send every body with `concurrency` requests in flight; latencies in ms, wall time in s, failures."""
    queue: asyncio.Queue[tuple[dict[str, str], dict]] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)
    latencies: list[float] = []
    failures = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while not queue.empty():
            headers, body = queue.get_nowait()
            started = time.perf_counter()
            answer = await client.post(path, json=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 201:
                failures += 1
                if failures <= 3:
                    print(f"  failed: {answer.status_code} {answer.text[:200]}")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return latencies, wall, failures


def timed_load(base: Served, path: str, bodies: list[tuple[dict[str, str], dict]], concurrency: int) -> tuple[list[float], float, int, float]:
    """`load`, and the server's CPU time (ms) per request over it."""
    cpu = base.cpu_seconds()
    latencies, wall, failures = asyncio.run(load(base, path, bodies, concurrency))
    return latencies, wall, failures, 1000 * (base.cpu_seconds() - cpu) / len(bodies)


def report(label: str, latencies: list[float], wall: float, failures: int, cpu_ms: float) -> float:
    """Print a line of figures; answers the throughput per second."""
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(
        f"{label:34} {len(latencies) / wall:8.1f}/s  p50 {statistics.median(ordered):7.1f} ms  p95 {p95:7.1f} ms  "
        f"max {ordered[-1]:7.1f} ms  server CPU {cpu_ms:4.2f} ms each  failed {failures}"
    )
    return len(latencies) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patrols", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="supervision-bench-"))
    url = os.environ.get("SUPERVISION_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    env = {**os.environ, "SUPERVISION_DATABASE_URL": url, "SUPERVISION_LOG_LEVEL": "WARNING", "SUPERVISION_VAR_DIR": str(folder / "var")}
    cli = [sys.executable, "-m", "supervision.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "demo"], env=env, check=True, capture_output=True)
    print(f"database: {url.split(':')[0]}; {args.patrols} patrols, {args.concurrency} in flight, one server process")

    with serving([*cli, "serve", "--workers", "1"], env, folder / "server.log") as base:
        tokens = {}
        admin = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": DEMO_PASSWORD}).json()["token"]
        listing = httpx.get(f"{base}/api/registry/communities?page_size=200", headers={"Authorization": f"Bearer {admin}"}).json()["items"]
        estates_of: dict[str, list[int]] = {}
        for community in listing:
            username = f"{community['code'].lower()}-worker"
            token = httpx.post(f"{base}/api/auth/login", json={"username": username, "password": DEMO_PASSWORD}).json()["token"]
            tokens[username] = {"Authorization": f"Bearer {token}"}
            estates = httpx.get(f"{base}/api/registry/estates?community_id={community['id']}", headers=tokens[username]).json()["items"]
            estates_of[username] = [e["id"] for e in estates]
        workers = sorted(tokens)
        day = datetime.now(UTC) - timedelta(minutes=5)
        bodies = []
        for n in range(args.patrols):
            username = workers[n % len(workers)]
            estate = estates_of[username][(n // len(workers)) % len(estates_of[username])]
            body = {
                "client_id": str(uuid.uuid4()),
                "estate_id": estate,
                "inspected_at": (day - timedelta(seconds=n)).isoformat(),
                "results": [{"item": code, "passed": True} for code in ("M01", "C01", "C02", "G01", "G02", "P01", "O01")],
                "note": "日常巡查",
            }
            bodies.append((tokens[username], body))
        system = report("POST /api/patrols (the system)", *timed_load(base, "/api/patrols", bodies, args.concurrency))

    floor_env = env | {"PYTHONPATH": str(BENCH.parent)}
    floor_command = [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "--factory", "floor_app:create_app", "--log-level", "warning"]
    with serving(floor_command, floor_env, folder / "floor.log") as base:
        floor_bodies = [({}, body | {"client_id": str(uuid.uuid4())}) for _, body in bodies]
        floor = report("POST /floor (one insert, no logic)", *timed_load(base, "/floor", floor_bodies, args.concurrency))
    print(f"the system files patrols at {100 * system / floor:.0f} % of the floor's rate")


if __name__ == "__main__":
    main()
