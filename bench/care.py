"""Benchmark: a district month of elderly home care (5,000 elders, 20,000 visits by default) through the use cases:
the month's vouchers, the visits as the providers' phones send them (each provider's visits of a day in one send),
month-end redemption by each provider, and the month's run priced on the engine; beside the floor measured in the
same run on the same database: the same number of visit rows bulk-inserted into a bare table and summed per elder.
Prints seconds per step; asserts nothing.

The elders and their enrolments are written straight into the tables (bulk inserts, not the API), on top of the demo
district (its providers, contracts and users).

    .venv/bin/python bench/care.py [--elders 5000] [--visits-per-elder 4]
    SUPERVISION_BENCH_DATABASE_URL=postgresql+asyncpg://... (an empty database) .venv/bin/python bench/care.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from sqlalchemy import select, text  # noqa: E402

from bench.harness import demo_account  # noqa: E402
from foundation.access import Role  # noqa: E402
from foundation.clock import business_today, utc_now  # noqa: E402
from foundation.db import create_engine, create_session_factory, unit_of_work  # noqa: E402
from foundation.periods import Month  # noqa: E402
from foundation.settings import load_settings  # noqa: E402
from registry.tables import Community  # noqa: E402
from subsidies.care import schemas, service  # noqa: E402
from subsidies.care.programme import CODE  # noqa: E402
from subsidies.care.tables import CareContract, CareElder, CareEnrolment  # noqa: E402
from subsidies.engine import service as engine  # noqa: E402
from subsidies.engine.tables import ProgrammeRun  # noqa: E402
from supervision.cli import migrate  # noqa: E402
from supervision.demo import load_demo  # noqa: E402


async def main(elders: int, per_elder: int) -> None:
    url = os.environ.get("SUPERVISION_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='bench-care-')}/bench.db"
    await asyncio.to_thread(migrate, load_settings(database_url=url))
    db_engine = create_engine(url)
    factory = create_session_factory(db_engine)
    await load_demo(db_engine)
    month = Month.of(business_today()).previous()
    async with unit_of_work(factory) as session:
        communities = list((await session.execute(select(Community.id, Community.street_id).order_by(Community.id))).all())
        provider_of = dict((await session.execute(select(CareContract.street_id, CareContract.provider_id))).all())
        now = utc_now()
        rows = []
        for n in range(elders):
            community, street = communities[n % len(communities)]
            rows.append(
                CareElder(
                    community_id=community, street_id=street, name=f"老人{n}", sex="FM"[n % 2], birth_date=date(1940, 1, 1), address="1号楼1门101室", phone="13900000000",
                    category="dibao", id_number_sealed="s1:bench", id_number_digest=f"bench-{n:08d}", id_number_tail="0000", created_at=now, created_by="bench",
                )
            )
        session.add_all(rows)
        await session.flush()
        session.add_all(
            CareEnrolment(
                elder_id=e.id, community_id=e.community_id, street_id=e.street_id, provider_id=provider_of[e.street_id], category="dibao", starts_on=month.first_day,
                consent_by="elder", consent_on=month.first_day, enrolled_by="bench", enrolled_at=now,
            )
            for e in rows
        )
        elder_ids = [(e.id, provider_of[e.street_id]) for e in rows]
    async with factory() as session:
        providers = {p: await demo_account(session, role=Role.SOCIAL_ORG, organisation_id=p) for p in set(provider_of.values())}
        finance = await demo_account(session, username="finance")
    visits: dict[tuple[int, date], list[schemas.VisitIn]] = {}
    for elder_id, provider in elder_ids:
        for k in range(per_elder):
            day = date(month.year, month.month, 1 + (elder_id * 7 + k * 6) % month.days)
            visits.setdefault((provider, day), []).append(
                schemas.VisitIn(client_id=f"bench-{elder_id}-{k}", elder_id=elder_id, visit_date=day, minutes=60 + 30 * (k % 3), service="meal", confirmed_by="family")
            )
    total_visits = sum(len(v) for v in visits.values())
    label = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"{label}: a month of home care, {elders} elders, {total_visits} visits ({len(visits)} daily sends)")

    timings: list[tuple[str, float]] = []
    started = time.perf_counter()
    async with unit_of_work(factory) as session:
        issued = await service.issue_vouchers(session, month)
    timings.append((f"vouchers issued ({issued})", time.perf_counter() - started))
    started = time.perf_counter()
    for (provider, day), batch in sorted(visits.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        async with unit_of_work(factory) as session:
            await service.log_visits(session, providers[provider], batch, today=day)
    timings.append(("visits logged", time.perf_counter() - started))
    started = time.perf_counter()
    redeemed = 0
    for principal in providers.values():
        async with unit_of_work(factory) as session:
            redeemed += len((await service.redeem_month(session, principal, month, today=month.last_day))[0])
    timings.append((f"vouchers redeemed ({redeemed})", time.perf_counter() - started))
    started = time.perf_counter()
    async with unit_of_work(factory) as session:
        run_id = (await session.execute(select(ProgrammeRun.id).where(ProgrammeRun.programme == CODE, ProgrammeRun.period == str(month), ProgrammeRun.state == "draft"))).scalar()
    async with factory() as session:
        run = await engine.recompute_run(session, finance, run_id) if run_id else await engine.start_run(session, finance, CODE, str(month))
    timings.append((f"run priced (run {run.id})", time.perf_counter() - started))

    started = time.perf_counter()
    async with unit_of_work(factory) as session:
        await session.execute(text("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, elder_id INTEGER NOT NULL, day DATE NOT NULL, minutes INTEGER NOT NULL)"))
        flat = [{"id": i, "elder_id": v.elder_id, "day": v.visit_date, "minutes": v.minutes} for i, v in enumerate((v for b in visits.values() for v in b), start=1)]
        await session.execute(text("INSERT INTO bench_floor (id, elder_id, day, minutes) VALUES (:id, :elder_id, :day, :minutes)"), flat)
        await session.execute(text("SELECT elder_id, count(*), sum(minutes) FROM bench_floor GROUP BY elder_id"))
    floor = time.perf_counter() - started
    for step, seconds in timings:
        print(f"  {step:<34} {seconds:8.2f} s")
    print(f"  {'the month, all steps':<34} {sum(s for _, s in timings):8.2f} s")
    print(f"  {'floor: bulk insert + sum per elder':<34} {floor:8.2f} s")
    await db_engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--elders", type=int, default=5000)
    parser.add_argument("--visits-per-elder", type=int, default=4)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.elders, arguments.visits_per_elder))
