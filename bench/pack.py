"""Benchmark: build a disbursement batch's PDF pack (the summary with every line, and one payment notice per
company) for the demo district through the whole pipeline, and for 10,000 estates from lines made in memory,
beside ReportLab drawing the same number of table rows with no logic (the floor). Prints time and peak memory
of the process that builds; asserts nothing.

    .venv/bin/python bench/pack.py [--city-estates 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.platypus import SimpleDocTemplate, Table  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.harness import demo_account  # noqa: E402
from foundation.access import Role  # noqa: E402
from foundation.money import yuan  # noqa: E402
from foundation.periods import last_ended_quarter  # noqa: E402
from reports.pdf import Column, Document, TableBlock, register_font, render  # noqa: E402

LINE_COLUMNS = (
    Column("区片", 52), Column("月份", 15), Column("得分", 13, True), Column("等级", 12), Column("系数", 12, True),
    Column("面积（㎡）", 24, True), Column("天数", 11, True), Column("金额（元）", 26, True),
)


async def district_batch(url: str) -> int:
    """Migrate, load the demo, generate a quarter of evidence, assess and lock it, run, confirm, approve, issue."""
    from assessment import service as assessment
    from foundation.db import create_engine, create_session_factory, unit_of_work
    from foundation.settings import load_settings
    from registry.tables import Street
    from subsidies.property import service as subsidies
    from supervision.cli import migrate
    from supervision.demo import load_demo
    from tests.generated import generate_month

    await asyncio.to_thread(migrate, load_settings(database_url=url))
    engine = create_engine(url)
    await load_demo(engine)
    factory = create_session_factory(engine)
    quarter = last_ended_quarter(datetime.now(UTC))
    for month in quarter.months:
        await generate_month(factory, month, seed=month.month)
    async with factory() as session:
        streets = list((await session.execute(select(Street.id))).scalars())
        officers = {s: await demo_account(session, role=Role.STREET_OFFICER, street_id=s) for s in streets}
        finance, reviewer = await demo_account(session, username="finance"), await demo_account(session, username="finance2")
    for month in quarter.months:
        for street, officer in officers.items():
            async with unit_of_work(factory) as session:
                await assessment.compute_month(session, officer, street, month)
                await assessment.lock_month(session, officer, street, month)
    async with unit_of_work(factory) as session:
        run = await subsidies.start_run(session, finance, quarter, False)
        for officer in officers.values():
            await subsidies.confirm_street(session, officer, run.id)  # type: ignore[arg-type]
        await subsidies.approve_run(session, reviewer, run.id)  # type: ignore[arg-type]
        batch = await subsidies.issue_batch(session, finance, run.id)  # type: ignore[arg-type]
    await engine.dispose()
    return batch.id  # type: ignore[return-value]


async def build_district_pack(url: str, batch_id: int) -> dict[str, float]:
    from foundation.db import create_engine, create_session_factory, unit_of_work
    from foundation.storage import FileBlobStore
    from reports import service as reports
    from subsidies.engine.tables import ProgrammeBatch
    from subsidies.property.tables import SubsidyLine

    engine = create_engine(url)
    factory = create_session_factory(engine)
    store = FileBlobStore(Path(tempfile.mkdtemp(prefix="pack-documents-")))
    started = time.perf_counter()
    async with unit_of_work(factory) as session:
        batch = await session.get(ProgrammeBatch, batch_id)
        pdf, _ = await reports.batch_summary(session, store, batch)  # type: ignore[arg-type]
        size = len(pdf)
        companies = sorted(set((await session.execute(select(SubsidyLine.company_id).where(SubsidyLine.run_id == batch.run_id))).scalars()))  # type: ignore[union-attr]
        for company in companies:
            notice, _ = await reports.payment_notice(session, store, batch, company)  # type: ignore[arg-type]
            size += len(notice)
        lines = batch.lines  # type: ignore[union-attr]
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return {"seconds": elapsed, "lines": lines, "documents": 1 + len(companies), "bytes": size}


def synthetic_pack(estates: int) -> dict[str, float]:
    """The same documents from lines made in memory (no database): 3 months a estate, 200 companies."""
    rng = random.Random(1)
    grades = ("优秀", "良好", "合格", "不合格")
    lines = []
    for n in range(estates):
        for month in ("2026-07", "2026-08", "2026-09"):
            amount = rng.randint(100_000, 900_000)
            lines.append((n % 200, [f"CITY-{n:05d} 城区旧楼区{n:05d}", month, f"{rng.randint(6000, 9900) / 100:.2f}", rng.choice(grades), "0.95", "12,000.00", "31/31", yuan(amount)], amount))
    started = time.perf_counter()
    size = 0
    total = sum(a for _, _, a in lines)
    summary = Document("旧楼区准物业管理补贴拨付汇总表", "HPBT-BENCH-001", "0" * 64, "http://127.0.0.1:8000/verify/0000000000000000",
                       facts=[("拨付总额", yuan(total))], tables=[TableBlock("明细", LINE_COLUMNS, [row for _, row, _ in lines], ["合计", "", "", "", "", "", "", yuan(total)])])
    size += len(render(summary))
    for company in range(200):
        own = [(row, a) for c, row, a in lines if c == company]
        notice = Document("旧楼区准物业管理补贴拨付通知书", "HPBT-BENCH-001", "0" * 64, "http://127.0.0.1:8000/verify/0000000000000000",
                          tables=[TableBlock("明细", LINE_COLUMNS, [row for row, _ in own], ["合计", "", "", "", "", "", "", yuan(sum(a for _, a in own))])])
        size += len(render(notice))
    return {"seconds": time.perf_counter() - started, "lines": len(lines), "documents": 201, "bytes": size}


def floor(rows: int) -> dict[str, float]:
    """ReportLab drawing `rows` table rows of the same width with no logic: no font, no paragraphs, no footer."""
    data = [["CITY-00001 estate", "2026-07", "91.20", "A", "0.95", "12,000.00", "31/31", "1,234.56"] for _ in range(rows)]
    started = time.perf_counter()
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4).build([Table(data, repeatRows=1)])
    return {"seconds": time.perf_counter() - started, "lines": rows, "documents": 1, "bytes": len(buffer.getvalue())}


def child(kind: str, argument: str) -> None:
    register_font(os.environ.get("SUPERVISION_PDF_FONT_PATH", ""))
    if kind == "district":
        url, batch_id = argument.rsplit("|", 1)
        figures = asyncio.run(build_district_pack(url, int(batch_id)))
    elif kind == "city":
        figures = synthetic_pack(int(argument))
    else:
        figures = floor(int(argument))
    figures["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def measure(label: str, kind: str, argument: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, argument], capture_output=True, text=True, check=True, cwd=BENCH.parent)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{label:48} {figures['seconds']:7.2f} s  {int(figures['lines']):6d} lines  {int(figures['documents']):4d} PDFs  "
          f"{figures['bytes'] / 1e6:6.1f} MB  peak {figures['peak_mib']:.0f} MiB")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city-estates", type=int, default=10_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    os.environ.setdefault("SUPERVISION_LOG_LEVEL", "WARNING")
    url = os.environ.get("SUPERVISION_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='supervision-bench-')) / 'pack.db'}"
    print(f"database: {url.split(':')[0]}; preparing a quarter of the demo district (generate, assess, lock, run, approve, issue) ...")
    batch_id = asyncio.run(district_batch(url))
    district = measure("district pack (323 estates, whole pipeline)", "district", f"{url}|{batch_id}")
    measure("floor: ReportLab, same rows, no logic", "floor", str(int(district["lines"])))
    city = measure(f"city pack ({args.city_estates} estates, lines in memory)", "city", str(args.city_estates))
    measure("floor: ReportLab, same rows, no logic", "floor", str(int(city["lines"])))


if __name__ == "__main__":
    main()
