"""Benchmark: a city morning under load, with locust (headless, bounded in users and time, loopback only) against
`supervision serve --workers N` on PostgreSQL for N = 1, 2 and 4, photos in the PostgreSQL blob store. Social
workers file patrols (a third with a photo), street officers open the month table page, score breakdowns and the
record list, inspectors file this month's drawn spot checks, finance downloads a batch's pack (its summary PDF,
the treasury spreadsheet and a payment notice, as issued) (bench/city_morning_locust.py). Prints, per worker count,
the throughput and p50/p95/p99 per kind of request, the failures and how many answers were 5xx. Asserts nothing.

Scale: the demo district (323 estates, last month's evidence of one street), not 10,000 estates; 36 users, 60 s per
worker count, on the same machine as the server (locust takes about one core): see the README's table.

    SUPERVISION_BENCH_DATABASE_URL=postgresql+asyncpg://.../empty_db .venv/bin/python bench/city_morning.py
        [--users 36] [--seconds 60] [--workers 1 2 4] [--locust PATH]
locust is not a dependency of the system: install it apart (`python3 -m venv var/locust && var/locust/bin/pip
install locust`) and give its command with --locust or LOCUST (default: `locust` on the PATH)."""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.harness import serving  # noqa: E402
from bench.mixed_load import clone_postgresql, phone_photo, seed  # noqa: E402
from foundation.clock import business_today  # noqa: E402
from foundation.periods import Month  # noqa: E402
from supervision.demo import DEMO_PASSWORD  # noqa: E402

KINDS = (
    "patrol", "photo upload", "patrol with a photo", "month table page", "score breakdown", "record list", "spot check", "spot-check assignments",
    "pack summary", "pack lines", "pack notice",
)  # fmt: skip


def packs(base: str, url: str) -> str:
    """The issued batches finance downloads (the demo's programme batches: care vouchers, activity funds, relief), each
    with one payee of its lines, as "batch:payee_kind:payee_id,..." for the locust users; their documents are made
    first where the demo issued a batch without them (it issues through the use cases, not the web)."""
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def read() -> list[tuple[int, str, int]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text(
                        # one payee the batch really paid: the payee of its first paid line (a kind and an id of
                        # two different lines would name a payee the batch has no notice for)
                        "SELECT p.batch_id, l.payee_kind, l.payee_id FROM programme_paid_lines p "
                        "JOIN programme_lines l ON l.id = p.line_id "
                        "WHERE p.line_id = (SELECT MIN(q.line_id) FROM programme_paid_lines q WHERE q.batch_id = p.batch_id) ORDER BY p.batch_id"
                    )
                )
                return [(int(i), str(k), int(p)) for i, k, p in rows.all()]
        finally:
            await engine.dispose()

    batches = asyncio.run(read())
    if not batches:
        raise RuntimeError("the demo issued no batch: nothing for finance to download")
    finance = httpx.post(f"{base}/api/auth/login", json={"username": "finance", "password": DEMO_PASSWORD}, timeout=60).json()["token"]
    for batch_id, _, _ in batches:
        made = httpx.post(f"{base}/api/programmes/batches/{batch_id}/documents", headers={"Authorization": f"Bearer {finance}"}, timeout=300)
        if made.status_code != 200:
            raise RuntimeError(f"documents of batch {batch_id}: {made.status_code} {made.text[:300]}")
    return ",".join(f"{b}:{k}:{p}" for b, k, p in batches)


def draw_spot_checks(base: str) -> None:
    admin = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": DEMO_PASSWORD}, timeout=60).json()["token"]
    answer = httpx.post(f"{base}/api/spot-checks/draws", json={"month": str(Month.of(business_today()))}, headers={"Authorization": f"Bearer {admin}"}, timeout=120)
    if answer.status_code not in (200, 201, 409):
        raise RuntimeError(f"spot-check draw: {answer.status_code} {answer.text[:300]}")


def run_locust(locust: str, base: str, users: int, seconds: int, prefix: Path, batches: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    command = [
        locust, "-f", str(BENCH / "city_morning_locust.py"), "--headless", "--host", base, "--users", str(users),
        "--spawn-rate", str(max(1, users // 4)), "--run-time", f"{seconds}s", "--stop-timeout", "30", "--csv", str(prefix), "--only-summary",
    ]  # fmt: skip
    photo = prefix.with_suffix(".jpg")
    photo.write_bytes(phone_photo())
    ran = subprocess.run(command, check=False, capture_output=True, cwd=BENCH.parent, env={**os.environ, "BENCH_PASSWORD": DEMO_PASSWORD, "BENCH_PHOTO": str(photo), "BENCH_PACKS": batches}, timeout=seconds + 300)
    if not Path(f"{prefix}_stats.csv").exists():
        raise RuntimeError(f"locust did not run: {ran.stderr.decode()[-2000:]}")
    with open(f"{prefix}_stats.csv") as stats, open(f"{prefix}_failures.csv") as failures:
        return list(csv.DictReader(stats)), list(csv.DictReader(failures))


def report(workers: int, stats: list[dict[str, str]], failures: list[dict[str, str]], seconds: int) -> None:
    rows = {row["Name"]: row for row in stats}
    total = rows.get("Aggregated", {})
    server_errors = sum(int(f["Occurrences"]) for f in failures if f["Error"].startswith("HTTP 5") or "HTTP 5" in f["Error"])
    print(f"--workers {workers}: {total.get('Request Count', '0')} requests in {seconds} s, {float(total.get('Requests/s', 0)):.1f}/s; "
          f"{total.get('Failure Count', '0')} failures, {server_errors} of them 5xx")  # fmt: skip
    print(f"  {'kind':24} {'n':>6} {'per s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'failed':>6}")
    for kind in KINDS:
        row = rows.get(kind)
        if row is None:
            continue
        print(f"  {kind:24} {row['Request Count']:>6} {float(row['Requests/s']):7.1f} {row['50%']:>7} {row['95%']:>7} {row['99%']:>7} {row['Failure Count']:>6}")
    for failure in failures[:8]:
        print(f"  ! {failure['Method']} {failure['Name']}: {failure['Error']} ×{failure['Occurrences']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=36)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--locust", default=os.environ.get("LOCUST") or shutil.which("locust") or "locust")
    args = parser.parse_args()
    url = os.environ.get("SUPERVISION_BENCH_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        raise SystemExit("give an empty PostgreSQL database in SUPERVISION_BENCH_DATABASE_URL (bench/run.sh does)")
    folder = Path(tempfile.mkdtemp(prefix="supervision-city-"))
    seed_env = seed(url, folder)
    # The demo's photos and documents move into the database, as a city deployment keeps them.
    subprocess.run([sys.executable, "-m", "supervision.cli", "blobs", "migrate", "--to", "postgresql"], env=seed_env, check=True, capture_output=True, cwd=BENCH.parent)
    print(f"{args.users} locust users for {args.seconds} s per worker count; {os.cpu_count()} CPU cores shared by locust, the server and PostgreSQL")
    import asyncio

    from sqlalchemy.engine import make_url

    for workers in args.workers:
        copy_url = asyncio.run(clone_postgresql(url, f"{make_url(url).database}_w{workers}"))
        env = seed_env | {"SUPERVISION_DATABASE_URL": copy_url, "SUPERVISION_VAR_DIR": str(folder / f"var-{workers}"), "SUPERVISION_BLOB_STORE": "postgresql"}
        command = [sys.executable, "-m", "supervision.cli", "serve", "--workers", str(workers)]
        with serving(command, env, folder / f"serve-{workers}.log") as base:
            draw_spot_checks(base)
            batches = packs(base, copy_url)
            time.sleep(1)
            stats, failures = run_locust(args.locust, base, args.users, args.seconds, folder / f"locust-{workers}", batches)
        report(workers, stats, failures, args.seconds)


if __name__ == "__main__":
    main()
