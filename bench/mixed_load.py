"""Benchmark: a burst of 200 concurrent clients sending the district's everyday mix to the served system
(`supervision serve`, as users run it, with its default number of web workers unless --workers says) on a fresh demo database with last month's evidence: community social
workers file patrols (with client ids) and upload photos, street officers read the month table page and the record
list, committee directors give opinions. Beside it, the same clients send the same mix to trivial routes (one
insert, one select, one multipart read and insert: bench/floor_app.py) in the same run, served by as many worker
processes: the floor of this machine at that moment. Prints p50/p95/max per kind of request; asserts nothing.

Each client logs in once before the burst (a phone keeps its token); the cost of a login is printed on its own.

    .venv/bin/python bench/mixed_load.py [--clients 200] [--rounds 2]
    SUPERVISION_BENCH_DATABASE_URL=postgresql+asyncpg://... .venv/bin/python bench/mixed_load.py   (an empty database)
    .venv/bin/python bench/mixed_load.py --checkout /path/to/other/checkout   (serve that code too, on a copy of the
                                                                               same database: before and after)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from PIL import Image
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.harness import page_login, percentile, serving  # noqa: E402
from foundation.clock import business_today  # noqa: E402
from foundation.periods import Month  # noqa: E402
from foundation.settings import load_settings  # noqa: E402
from supervision.demo import DEMO_PASSWORD  # noqa: E402

KINDS = ("patrol", "patrol with a failed item", "photo upload", "opinion", "month table page", "record list")
ITEMS = ("M01", "C01", "C02", "G01", "G02", "P01", "O01")
# Out of every 20 clients: workers file and photograph, officers read, directors give opinions.
ROLES = ["worker"] * 11 + ["officer"] * 5 + ["director"] * 4
LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4)


# The photos: a phone-sized JPEG with EXIF, made distinct per upload by a comment segment (so none is a duplicate).


def phone_photo() -> bytes:
    image = Image.effect_noise((1600, 1200), 40).convert("RGB")
    exif = Image.Exif()
    exif[0x0132] = datetime.now(UTC).strftime("%Y:%m:%d %H:%M:%S")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=exif)
    return buffer.getvalue()


def distinct(photo: bytes, tag: str) -> bytes:
    comment = tag.encode()
    return photo[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + photo[2:]


# The clients


@dataclass
class Client:
    role: str
    username: str
    http: httpx.AsyncClient
    headers: dict[str, str] = field(default_factory=dict)
    estates: list[int] = field(default_factory=list)


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, started: float, status: int) -> None:
        self.latencies[kind].append((time.perf_counter() - started) * 1000)
        self.statuses[kind][status] += 1


async def api_login(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await http.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    if answer.status_code != 200:
        raise RuntimeError(f"login of {username}: {answer.status_code} {answer.text[:200]}")
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def prepare(base: str, count: int) -> tuple[list[Client], list[float]]:
    """Log every client in once (timed, one at a time on an idle server) and find its estates."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as admin_http:
        admin = await api_login(admin_http, "admin")
        communities = (await admin_http.get("/api/registry/communities?page_size=200", headers=admin)).json()["items"]
        streets = (await admin_http.get("/api/registry/streets?page_size=200", headers=admin)).json()["items"]
        estates_of: dict[int, list[int]] = defaultdict(list)
        page = 1
        while True:
            answer = (await admin_http.get(f"/api/registry/estates?page_size=200&page={page}", headers=admin)).json()
            for estate in answer["items"]:
                estates_of[estate["community_id"]].append(estate["id"])
            if page * 200 >= answer["total"]:
                break
            page += 1
    # Officers read the street with last month's evidence (小白楼, code XBL) most, the other streets too.
    street_users = [f"{s['code'].lower()}-officer" for s in streets] + [f"{s['code'].lower()}-worker1" for s in streets]
    readers = ["xbl-officer", "xbl-worker1", "xbl-worker2", *street_users]
    order = sorted(communities, key=lambda c: (not c["code"].lower().startswith("xbl"), c["code"]))
    clients: list[Client] = []
    login_ms: list[float] = []
    counters: Counter[str] = Counter()
    for n in range(count):
        role = ROLES[n % len(ROLES)]
        k = counters[role]
        counters[role] += 1
        community = order[k % len(order)]
        username = {"worker": f"{community['code'].lower()}-worker", "director": f"{community['code'].lower()}-director", "officer": readers[k % len(readers)]}[role]
        http = httpx.AsyncClient(base_url=base, timeout=120, limits=LIMITS)
        started = time.perf_counter()
        client = Client(role, username, http, await api_login(http, username), estates_of[community["id"]])
        login_ms.append((time.perf_counter() - started) * 1000)
        if role == "officer":
            await page_login(http, username)
        clients.append(client)
    return clients, login_ms


async def run_client(index: int, client: Client, rounds: int, photo: bytes, month: Month, tally: Tally, floor: bool, barrier: asyncio.Event) -> None:
    http = client.http
    rng = random.Random(client.username + str(id(client)))
    await barrier.wait()
    for n in range(rounds):
        if client.role == "worker":
            estate = client.estates[rng.randrange(len(client.estates))]
            results: list[dict[str, object]] = [{"item": code, "passed": True} for code in ITEMS]
            kind = "patrol"
            if (n + index // len(ROLES)) % 2 == 1:  # every other round: photograph what failed, then file it
                started = time.perf_counter()
                files = {"file": ("photo.jpg", distinct(photo, uuid.uuid4().hex), "image/jpeg")}
                answer = await http.post("/floor/upload" if floor else "/api/attachments", files=files, headers=client.headers)
                tally.add("photo upload", started, answer.status_code)
                if answer.status_code not in (200, 201):
                    tally.errors.append(f"photo upload: {answer.status_code} {answer.text[:200]}")
                    continue
                results[3] = {"item": "G01", "passed": False, "note": "楼道堆物", "defects": 1, "photo_ids": [answer.json()["id"]]}
                kind = "patrol with a failed item"
            body = {
                "client_id": str(uuid.uuid4()),
                "estate_id": estate,
                "inspected_at": (datetime.now(UTC) - timedelta(minutes=rng.randrange(1, 120))).isoformat(),
                "results": results,
                "note": "日常巡查",
            }
            started = time.perf_counter()
            answer = await http.post("/floor" if floor else "/api/patrols", json=body, headers=client.headers)
            tally.add(kind, started, answer.status_code)
            if answer.status_code != 201:
                tally.errors.append(f"{kind}: {answer.status_code} {answer.text[:200]}")
        elif client.role == "officer":
            if (n + index // len(ROLES)) % 2 == 0:
                kind, path = "month table page", f"/assessment?month={month.previous()}"
            else:
                kind, path = "record list", "/api/inspections?page_size=50"
            started = time.perf_counter()
            answer = await http.get(f"/floor/read?n={50}" if floor else path, headers=client.headers)
            tally.add(kind, started, answer.status_code)
            if answer.status_code != 200:
                tally.errors.append(f"{kind}: {answer.status_code} {answer.text[:200]}")
        else:
            # Opinions carry a client id like patrols (a resend is the same opinion); the floor's insert keeps one too.
            body = {"client_id": str(uuid.uuid4()), "estate_id": client.estates[n % len(client.estates)], "month": str(month), "rating": rng.randrange(60, 100), "note": "居委会意见"}
            started = time.perf_counter()
            answer = await http.post("/floor" if floor else "/api/assessment/opinions", json=body, headers=client.headers)
            tally.add("opinion", started, answer.status_code)
            if answer.status_code != 201:
                tally.errors.append(f"opinion: {answer.status_code} {answer.text[:200]}")


async def burst(clients: list[Client], rounds: int, floor: bool, time_limit: float) -> tuple[Tally, float]:
    tally = Tally()
    photo = phone_photo()
    month = Month.of(business_today())
    barrier = asyncio.Event()
    tasks = [asyncio.create_task(run_client(i, c, rounds, photo, month, tally, floor, barrier)) for i, c in enumerate(clients)]
    await asyncio.sleep(0.5)
    started = time.perf_counter()
    barrier.set()
    done, pending = await asyncio.wait(tasks, timeout=time_limit)
    for task in pending:
        task.cancel()
    for task in done:
        if task.exception() is not None:
            tally.errors.append(f"client failed: {task.exception()!r}")
    if pending:
        tally.errors.append(f"{len(pending)} clients still waiting after {time_limit:.0f} s, cancelled")
    return tally, time.perf_counter() - started


def report(label: str, tally: Tally, wall: float) -> None:
    total = sum(len(v) for v in tally.latencies.values())
    print(f"{label}: {total} requests in {wall:.1f} s")
    print(f"  {'kind':28} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  statuses")
    for kind in KINDS:
        samples = tally.latencies.get(kind)
        if not samples:
            continue
        statuses = " ".join(f"{code}×{n}" for code, n in sorted(tally.statuses[kind].items()))
        print(f"  {kind:28} {len(samples):5} {statistics.median(samples):8.0f} {percentile(samples, 0.95):8.0f} {max(samples):8.0f}  {statuses}")
    patrols = tally.latencies.get("patrol", []) + tally.latencies.get("patrol with a failed item", [])
    if patrols:
        print(f"  {'every patrol':28} {len(patrols):5} {statistics.median(patrols):8.0f} {percentile(patrols, 0.95):8.0f} {max(patrols):8.0f}")
    for error in tally.errors[:5]:
        print(f"  ! {error}")
    if len(tally.errors) > 5:
        print(f"  ! ... {len(tally.errors) - 5} more")


def measure(label: str, base: str, args: argparse.Namespace, floor: bool, clients: list[Client] | None = None) -> list[Client]:
    """One burst; returns the clients (their HTTP connections closed) so the floor can replay the same mix."""

    async def work() -> list[Client]:
        if clients is None:
            ready, login_ms = await prepare(base, args.clients)
            print(f"{label}: {len(login_ms)} logins one at a time before the burst (argon2): p50 {statistics.median(login_ms):.0f} ms, max {max(login_ms):.0f} ms")
        else:  # the same clients, now talking to the floor
            ready = [Client(c.role, c.username, httpx.AsyncClient(base_url=base, timeout=120, limits=LIMITS), c.headers, c.estates) for c in clients]
        for client in ready:  # fresh connections for the burst (the server closes those idle since the logins)
            cookies = client.http.cookies
            await client.http.aclose()
            client.http = httpx.AsyncClient(base_url=base, timeout=120, limits=LIMITS, cookies=cookies)
        try:
            tally, wall = await burst(ready, args.rounds, floor, args.time_limit)
        finally:
            for client in ready:
                await client.http.aclose()
        report(label, tally, wall)
        return ready

    return asyncio.run(work())


# Databases: one seed with the demo district and last month's evidence, copied for every served process.


def seed(url: str, folder: Path) -> dict[str, str]:
    env = {**os.environ, "SUPERVISION_DATABASE_URL": url, "SUPERVISION_LOG_LEVEL": "WARNING", "SUPERVISION_VAR_DIR": str(folder / "var")}
    cli = [sys.executable, "-m", "supervision.cli"]
    started = time.perf_counter()
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True, cwd=BENCH.parent)
    subprocess.run([*cli, "demo", "--evidence"], env=env, check=True, capture_output=True, cwd=BENCH.parent)
    print(f"demo district and last month's evidence of 小白楼街道 loaded in {time.perf_counter() - started:.0f} s")
    return env


async def clone_postgresql(url: str, name: str) -> str:
    parsed = make_url(url)
    engine = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"'))
    finally:
        await engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def copy_of(seed_env: dict[str, str], folder: Path, name: str) -> dict[str, str]:
    url = seed_env["SUPERVISION_DATABASE_URL"]
    var = folder / name
    shutil.copytree(seed_env["SUPERVISION_VAR_DIR"], var)
    if url.startswith("sqlite"):
        database = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{database}{suffix}").exists():
                shutil.copy(f"{database}{suffix}", folder / f"{name}.db{suffix}")
        copy_url = f"sqlite+aiosqlite:///{folder / f'{name}.db'}"
    else:
        copy_url = asyncio.run(clone_postgresql(url, f"{make_url(url).database}_{name}"))
    return seed_env | {"SUPERVISION_DATABASE_URL": copy_url, "SUPERVISION_VAR_DIR": str(var)}


def run_one(label: str, checkout: Path, seed_env: dict[str, str], folder: Path, args: argparse.Namespace, workers: int) -> None:
    name = re.sub(r"\W", "_", label)
    env = copy_of(seed_env, folder, name)
    env["PYTHONPATH"] = str(checkout)
    given = ["--workers", str(args.workers)] if args.workers else []
    with serving([sys.executable, "-m", "supervision.cli", "serve", *given], env, folder / f"{name}.log", checkout) as base:
        clients = measure(f"{label} (supervision serve {' '.join(given)})".replace(" )", ")"), base, args, floor=False)
    floor_env = env | {"PYTHONPATH": str(BENCH.parent)}
    # The floor's table is made before its workers start (they would all make it at once).
    subprocess.run([sys.executable, "-c", "import asyncio, floor_app\nasync def made():\n    await floor_app.create_table()\n    await floor_app.ENGINE.dispose()\nasyncio.run(made())"], env=floor_env, cwd=BENCH, check=True)
    floor_command = [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "--factory", "floor_app:create_app", "--log-level", "warning", "--workers", str(workers)]
    with serving(floor_command, floor_env, folder / f"{name}-floor.log", BENCH.parent) as base:
        measure(f"{label} floor (trivial routes, same clients)", base, args, floor=True, clients=clients)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="requests per client (a worker's photo upload and its patrol count as one round)")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds before waiting clients are cancelled")
    parser.add_argument("--workers", type=int, help="web worker processes of `supervision serve` (default: its own default); the floor gets as many")
    parser.add_argument("--checkout", type=Path, action="append", default=[], help="another checkout to serve on a copy of the same database (e.g. main, for 'before')")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="supervision-bench-"))
    url = os.environ.get("SUPERVISION_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{folder / 'seed.db'}"
    seed_env = seed(url, folder)
    workers = args.workers or load_settings(database_url=url, var_dir=folder / "var").resolved_web_workers()
    print(f"database: {url.split(':')[0]}; {args.clients} clients at once, {args.rounds} rounds each; {workers} web worker process(es), the floor as many; {os.cpu_count()} CPU cores")
    for checkout in args.checkout:
        run_one(f"{checkout.name}", checkout.resolve(), seed_env, folder, args, workers)
    run_one("this checkout", BENCH.parent, seed_env, folder, args, workers)


if __name__ == "__main__":
    main()
