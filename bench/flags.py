"""Benchmark: what the evidence-integrity checks cost on the patrol path (config/RULES.md, "Evidence integrity flags").
Social workers file patrols, each with one photo uploaded first (as the phone's outbox sends them), through the
use cases themselves, in the same run and database: without the checks (the photo's perceptual hash not taken,
the record not checked) and with them (hash and bands stored, location, boundary, EXIF time and reuse checked),
patrol by patrol in turn, so that both meet the same growing database. Every estate has a boundary; a tenth of the photos
are reused ones. Prints patrols per second and p50/p95 per patrol (upload + filing) of each; asserts nothing.

    .venv/bin/python bench/flags.py [--patrols 600]
    SUPERVISION_BENCH_DATABASE_URL=postgresql+asyncpg://... .venv/bin/python bench/flags.py   (an empty database)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

os.environ.setdefault("SUPERVISION_LOG_LEVEL", "WARNING")

from PIL import Image  # noqa: E402
from sqlalchemy import select  # noqa: E402

from foundation.access import Principal  # noqa: E402
from foundation.clock import BUSINESS_TZ  # noqa: E402
from foundation.db import create_engine, create_session_factory, unit_of_work  # noqa: E402
from foundation.settings import load_settings  # noqa: E402
from foundation.storage import FileBlobStore  # noqa: E402
from inspections import attachments, service  # noqa: E402
from inspections.photos import PhotoLimits, inspect_photo, perceptual_hash  # noqa: E402
from inspections.rules import Source  # noqa: E402
from inspections.schemas import ItemResultIn, Location, RecordIn  # noqa: E402
from people.service import principal_of  # noqa: E402
from people.tables import User  # noqa: E402
from registry import queries as registry_queries  # noqa: E402
from registry import service as registry_service  # noqa: E402
from supervision.cli import migrate  # noqa: E402
from supervision.demo import load_demo  # noqa: E402

HALF = 0.001  # degrees: a square of about 170 m × 220 m around each estate's point


def photo(seed: int, taken: datetime) -> bytes:
    """A phone-sized JPEG (1280 × 960) with a picture in it, different for each seed, with its EXIF time."""
    rng = random.Random(seed)
    small = Image.new("L", (16, 12))
    small.putdata([rng.randrange(256) for _ in range(16 * 12)])
    image = small.resize((1280, 960), Image.Resampling.BICUBIC).convert("RGB")
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = taken.astimezone(BUSINESS_TZ).strftime("%Y:%m:%d %H:%M:%S")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=exif)
    return buffer.getvalue()


def square(latitude: float, longitude: float) -> dict[str, Any]:
    ring = [[longitude - HALF, latitude - HALF], [longitude + HALF, latitude - HALF], [longitude + HALF, latitude + HALF], [longitude - HALF, latitude + HALF]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


@contextmanager
def checks(on: bool) -> Iterator[None]:
    """The patrol path with its checks, or as it was before them (no perceptual hash, no record checked). The
    greyscale copy the hash is taken from is made either way: it comes out of the decoding that judges the photo."""
    if on:
        yield
        return
    hash_of, check, place = attachments.perceptual_hash, service.check_record, service.place_findings

    async def unchecked(*args: Any, **kwargs: Any) -> list[Any]:
        return []

    attachments.perceptual_hash = lambda fingerprint: None  # type: ignore[assignment]
    service.check_record = unchecked  # type: ignore[assignment]
    service.place_findings = lambda *args: []  # type: ignore[assignment]
    try:
        yield
    finally:
        attachments.perceptual_hash, service.check_record, service.place_findings = hash_of, check, place  # type: ignore[assignment]


async def prepare(url: str) -> tuple[list[tuple[Principal, int, tuple[float, float]]], Any, Any]:
    settings = load_settings(database_url=url)
    await asyncio.to_thread(migrate, settings)
    engine = create_engine(url)
    await load_demo(engine)
    factory = create_session_factory(engine)
    filers: list[tuple[Principal, int, tuple[float, float]]] = []
    async with unit_of_work(factory) as session:
        admin = principal_of((await session.execute(select(User).where(User.username == "admin"))).scalar_one())
        workers = list((await session.execute(select(User).where(User.username.like("%-worker")).order_by(User.username))).scalars())
        for n, user in enumerate(workers):
            worker = principal_of(user)
            if worker.community_id is None:
                continue
            for estate in (await registry_queries.managed_during(session, datetime.now(BUSINESS_TZ).date(), community_id=worker.community_id))[:3]:
                point = (39.10 + 0.01 * (n % 10), 117.15 + 0.01 * (estate.id % 10))
                await registry_service.set_boundary(session, admin, estate.id, square(*point))
                filers.append((worker, estate.id, point))
    return filers, engine, factory


async def file_patrol(factory: Any, store: FileBlobStore, limits: PhotoLimits, filers: list[Any], n: int, reused: list[bytes], now: datetime) -> float:
    """One patrol as the phone's outbox sends it: its photo first, then the record; milliseconds for both."""
    worker, estate_id, (latitude, longitude) = filers[n % len(filers)]
    claimed = now - timedelta(minutes=5, seconds=n)
    content = reused[n % len(reused)] if n % 10 == 9 and reused else photo(n, claimed)
    began = time.perf_counter()
    async with unit_of_work(factory) as session:
        received = await attachments.receive_photo(content, "photo.jpg", None, limits)
        [photo_id] = await attachments.keep_photos(session, store, worker, [received])
    body = RecordIn(
        client_id=uuid.uuid4().hex,
        estate_id=estate_id,
        inspected_at=claimed,
        results=[ItemResultIn(item=code, passed=True) for code in ("M01", "C01", "C02", "G01", "G02", "P01", "O01")],
        location=Location(latitude=latitude, longitude=longitude),
        photo_ids=[photo_id],
    )
    async with unit_of_work(factory) as session:
        await service.file_record(session, store, worker, Source.PATROL, body, now=now)
    spent = (time.perf_counter() - began) * 1000
    if len(reused) < 20:
        reused.append(content)
    return spent


def report(label: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"  {label:42} {len(latencies) / (sum(latencies) / 1000):7.1f} patrols/s  p50 {statistics.median(ordered):7.1f} ms  p95 {p95:7.1f} ms")


async def run(url: str, patrols: int) -> None:
    filers, engine, factory = await prepare(url)
    store = FileBlobStore(Path(tempfile.mkdtemp(prefix="supervision-bench-blobs-")))
    limits = PhotoLimits.of(load_settings(database_url=url))
    reused: list[bytes] = []
    figures: dict[bool, list[float]] = {False: [], True: []}
    now = datetime.now(UTC)
    # Patrols alternate between the two paths, so both meet the same database and the same load on the machine.
    for n in range(patrols):
        on = n % 2 == 1
        with checks(on):
            figures[on].append(await file_patrol(factory, store, limits, filers, n, reused, now))
    print(f"database: {url.split(':')[0]}; {patrols} patrols with one 1280×960 photo each, {len(filers)} estates with a boundary, one at a time")
    report("upload + file, without the checks (before)", figures[False])
    report("upload + file, with the checks (after)", figures[True])
    before, after = statistics.median(figures[False]), statistics.median(figures[True])
    print(f"  cost of the checks: {after - before:+.1f} ms per patrol at the median ({(after / before - 1) * 100:+.0f} %)")
    _, fingerprint = inspect_photo(photo(0, now), limits.max_pixels)
    began = time.perf_counter()
    for _ in range(20):
        perceptual_hash(fingerprint)
    print(f"  of which the perceptual hash of one photo, from the copy its judging decoded: {(time.perf_counter() - began) / 20 * 1000:.1f} ms")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patrols", type=int, default=600)
    args = parser.parse_args()
    base = os.environ.get("SUPERVISION_BENCH_DATABASE_URL")
    url = base or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='supervision-bench-')) / 'flags.db'}"
    asyncio.run(run(url, args.patrols))


if __name__ == "__main__":
    main()
