"""A quarter of the demo district's evidence, assessed and locked by the streets, priced, confirmed, approved and
paid, against the served system: the money is right to the fen, and paid once."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import httpx
import openpyxl
import pytest
from sqlalchemy.exc import IntegrityError

from foundation.db import create_engine, create_session_factory
from foundation.money import yuan
from foundation.periods import Quarter, last_ended_quarter, period_zh
from subsidies.engine.tables import PaidLine
from tests.generated import generate_month
from tests.integration.helpers import roomiest
from tests.served import Served

# config/RULES.md, "Subsidy: rate cards and coefficients", written out here independently of the code under test.
RATE_FEN = Decimal(30)
COEFFICIENT = {"优秀": Decimal("1"), "良好": Decimal("0.95"), "合格": Decimal("0.85"), "不合格": Decimal("0.5")}
STREETS = ("ns", "qyc", "nym", "xbl", "wdd", "xx")


async def all_items(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[dict]:
    items, page = [], 1
    while True:
        answer = (await client.get(path, params={"page": page, "page_size": 200}, headers=headers)).json()
        items += answer["items"]
        if page * answer["page_size"] >= answer["total"]:
            return items
        page += 1


@pytest.fixture(scope="module")
def quarter(served: Served) -> Quarter:
    quarter = last_ended_quarter(datetime.now(UTC))

    async def generate() -> None:
        engine = create_engine(served.database_url)
        for month in quarter.months:
            await generate_month(create_session_factory(engine), month, seed=month.month)
        await engine.dispose()

    asyncio.run(generate())
    return quarter


async def test_a_quarter_is_priced_to_the_fen_confirmed_approved_and_paid_exactly_once(served: Served, quarter: Quarter) -> None:
    officers = {street: served.bearer(f"{street}-officer") for street in STREETS}
    finance = served.bearer("finance")
    async with httpx.AsyncClient(base_url=served.base_url, timeout=120) as client:
        street_ids = {street: (await client.get("/api/auth/me", headers=h)).json()["street_id"] for street, h in officers.items()}
        for month in quarter.months:
            for street, headers in officers.items():
                computed = await client.post(f"/api/assessment/months/{street_ids[street]}/{month}/compute", headers=headers)
                assert computed.status_code == 200, computed.text
                if street == "xx" and month == quarter.months[-1]:
                    continue  # 新兴 leaves its last month open: its estates are held out of the run
                locked = await client.post(f"/api/assessment/months/{street_ids[street]}/{month}/lock", headers=headers)
                assert locked.status_code == 200, locked.text

        run = await client.post("/api/subsidies/runs", json={"quarter": str(quarter)}, headers=finance)
        assert run.status_code == 201, run.text
        run = run.json()
        held = {(h["month"], h["reason"]) for h in run["held_out"]}
        assert held == {(str(quarter.months[-1]), "month_not_locked")}
        xx_estates = (await client.get(f"/api/registry/estates?street_id={street_ids['xx']}", headers=officers["xx"])).json()["total"]
        assert len(run["held_out"]) == xx_estates

        # The run's total, recomputed here from config/RULES.md, "Subsidy: the line": area × rate × coefficient
        # (0 for an upheld veto), per line.
        admin = served.bearer("admin")
        areas = {e["id"]: Decimal(e["floor_area_centi_m2"]) / 100 for e in await all_items(client, "/api/registry/estates", admin)}
        expected = Decimal(0)
        for month in quarter.months:
            for score in (await client.get(f"/api/assessment/scores?month={month}", headers=admin)).json():
                if month == quarter.months[-1] and score["street_id"] == street_ids["xx"]:
                    continue
                coefficient = Decimal(0) if score["vetoed"] else COEFFICIENT[score["grade"]]
                expected += (areas[score["estate_id"]] * RATE_FEN * coefficient).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        assert run["total_fen"] == int(expected)
        assert run["city_fen"] + run["district_fen"] == run["total_fen"]
        assert sum(c["total_fen"] for c in run["companies"]) == sum(s["total_fen"] for s in run["streets"]) == run["total_fen"]

        # Approval waits for every street; an approved run cannot change.
        assert (await client.post(f"/api/subsidies/runs/{run['id']}/approve", headers=finance)).status_code == 409
        for street, headers in officers.items():
            confirmed = await client.post(f"/api/subsidies/runs/{run['id']}/confirm", headers=headers)
            assert confirmed.status_code == 200, confirmed.text
        # finance started the run; finance2 approves it (separation of duties).
        assert (await client.post(f"/api/subsidies/runs/{run['id']}/approve", headers=finance)).status_code == 403
        approved = await client.post(f"/api/subsidies/runs/{run['id']}/approve", headers=served.bearer("finance2"))
        assert approved.status_code == 200 and approved.json()["state"] == "approved"
        assert (await client.post(f"/api/subsidies/runs/{run['id']}/recompute", headers=finance)).status_code == 409

        # Two finance officers (or a double click) at the same moment, and a retry: one batch.
        first, second = await asyncio.gather(*(client.post(f"/api/subsidies/runs/{run['id']}/batch", headers=finance) for _ in range(2)))
        retry = await client.post(f"/api/subsidies/runs/{run['id']}/batch", headers=finance)
        assert {first.status_code, second.status_code, retry.status_code} == {200}, (first.text, second.text)
        assert first.json()["id"] == second.json()["id"] == retry.json()["id"]
        assert first.json()["total_fen"] == run["total_fen"] and len(first.json()["checksum"]) == 64
        ledger = (await client.get(f"/api/subsidies/ledger/{quarter}", headers=finance)).json()
        assert ledger["balanced"] and ledger["ledger_total_fen"] == run["total_fen"]

        # 新兴 locks its last month; a supplementary run pays exactly what was held out, nothing twice.
        await client.post(f"/api/assessment/months/{street_ids['xx']}/{quarter.months[-1]}/lock", headers=officers["xx"])
        assert (await client.post("/api/subsidies/runs", json={"quarter": str(quarter)}, headers=finance)).status_code == 409
        extra = (await client.post("/api/subsidies/runs", json={"quarter": str(quarter), "supplementary": True}, headers=finance)).json()
        assert extra["held_out"] == [] and {s["street_id"] for s in extra["streets"]} == {street_ids["xx"]}
        assert extra["lines"] == len(run["held_out"])

        # A company reads its own lines only; a street officer its street's part.
        lines = await all_items(client, f"/api/subsidies/runs/{run['id']}/lines", officers["xbl"])
        assert lines and {line["street_id"] for line in lines} == {street_ids["xbl"]}
        company = served.bearer("company01")
        own = await all_items(client, f"/api/subsidies/runs/{run['id']}/lines", company)
        me = (await client.get("/api/auth/me", headers=company)).json()
        assert {line["company_id"] for line in own} <= {me["company_id"]}
        assert (await client.post(f"/api/subsidies/runs/{run['id']}/batch", headers=company)).status_code == 403

    # The database itself refuses to pay an estate-month under one contract twice (another line, the same key).
    engine = create_engine(served.database_url)
    async with create_session_factory(engine)() as session:
        paid = (await session.execute(PaidLine.__table__.select().where(PaidLine.programme == "property").limit(1))).first()  # type: ignore[attr-defined]
        other = (await session.execute(PaidLine.__table__.select().where(PaidLine.programme == "property", PaidLine.line_id != paid.line_id).limit(1))).first()  # type: ignore[attr-defined]
        session.add(PaidLine(programme="property", line_key=paid.line_key, batch_id=paid.batch_id, line_id=other.line_id))
        with pytest.raises(IntegrityError, match="(?i)programme_paid_lines|pk_programme_paid"):
            await session.commit()
    await engine.dispose()


def pdf_text(content: bytes, folder) -> str:  # type: ignore[no-untyped-def]
    path = folder / "doc.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


async def test_the_batch_pack_reads_right_renders_whole_and_verifies(served: Served, quarter: Quarter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    finance = served.bearer("finance")
    async with httpx.AsyncClient(base_url=served.base_url, timeout=120) as client:
        runs = (await client.get("/api/subsidies/runs", headers=finance)).json()["items"]
        run = next(r for r in runs if r["quarter"] == str(quarter) and not r["supplementary"])
        batch = (await client.post(f"/api/subsidies/runs/{run['id']}/batch", headers=finance)).json()

        first = await client.get(f"/api/subsidies/batches/{batch['id']}/summary.pdf", headers=finance)
        again = await client.get(f"/api/subsidies/batches/{batch['id']}/summary.pdf", headers=finance)
        assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
        assert first.content == again.content  # the same batch renders byte-identical
        text = pdf_text(first.content, tmp_path)
        assert "旧楼区准物业管理补贴拨付汇总表" in text and batch["number"] in text and "小白楼" in text
        assert yuan(batch["total_fen"]) in text and "区财政审批" in text and period_zh(str(quarter)) in text  # 2026年第三季度
        pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(tmp_path / "doc.pdf")], capture_output=True, text=True).stdout).group(1))
        assert pages > 1 and f"共 {pages} 页" in text and text.count(batch["number"]) >= pages
        fonts = subprocess.run(["pdffonts", str(tmp_path / "doc.pdf")], capture_output=True, text=True).stdout
        assert re.search(r"WenQuanYi\S*\s+TrueType\s+\S+\s+yes", fonts), fonts
        subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "2", str(tmp_path / "doc.pdf"), str(tmp_path / "page")], check=True, capture_output=True)
        page_one = next(tmp_path.glob("page-*1.png"))
        assert page_one.stat().st_size > 5_000
        # The QR code in the corner of the page reads back as the document's verification address, on the port the
        # system was started on (public_base_url left empty follows it).
        scanned = subprocess.run(["zbarimg", "--quiet", "--raw", str(page_one)], capture_output=True, text=True).stdout.strip()
        assert re.fullmatch(re.escape(served.base_url) + r"/verify/[0-9a-f]{32}", scanned), (scanned, served.base_url)

        # Verification: the issued file is genuine; one byte changed is not; the QR page says which.
        genuine = (await client.post("/api/documents/verify", files={"file": ("a.pdf", first.content, "application/pdf")})).json()
        assert genuine["genuine"] and genuine["number"] == batch["number"] and genuine["total_fen"] == batch["total_fen"]
        forged = bytearray(first.content)
        forged[len(forged) // 2] ^= 0x01
        assert (await client.post("/api/documents/verify", files={"file": ("a.pdf", bytes(forged), "application/pdf")})).json() == {"genuine": False}
        assert scanned.endswith(genuine["code"])
        page = await client.get(f"/verify/{genuine['code']}")
        assert "本系统签发过此文件" in page.text and yuan(batch["total_fen"]) in page.text
        assert "查无此文件" in (await client.get("/verify/0000000000000000")).text

        # A company's notice: its own, not another's.
        paid = {c["company_id"] for c in run["companies"]}
        for n in range(1, 25):
            company = served.bearer(f"company{n:02d}")
            me = (await client.get("/api/auth/me", headers=company)).json()
            if me["company_id"] in paid:
                break
        notice = await client.get(f"/api/subsidies/batches/{batch['id']}/notices/{me['company_id']}", headers=company)
        assert notice.status_code == 200 and "拨付通知书" in pdf_text(notice.content, tmp_path)
        other = next(c for c in run["companies"] if c["company_id"] != me["company_id"])
        assert (await client.get(f"/api/subsidies/batches/{batch['id']}/notices/{other['company_id']}", headers=company)).status_code == 404
        assert (await client.get(f"/api/subsidies/batches/{batch['id']}/summary.pdf", headers=company)).status_code == 403

        # The treasury spreadsheet has the same lines and totals.
        sheet = await client.get(f"/api/subsidies/batches/{batch['id']}/lines.xlsx", headers=finance)
        rows = list(openpyxl.load_workbook(io.BytesIO(sheet.content), read_only=True)["明细"].iter_rows(values_only=True))
        assert len(rows) == batch["lines"] + 2 and rows[-1][0] == "合计"
        assert round(rows[-1][-3] * 100) == batch["total_fen"] and round(sum(r[-3] for r in rows[1:-1]) * 100) == batch["total_fen"]

        # An estate's month report, for its committee.
        director = served.bearer("xbl01-director")
        estate = (await client.get("/api/registry/estates", headers=director)).json()["items"][0]["id"]
        report = await client.post(f"/api/assessment/scores/{estate}/{quarter.months[0]}/report.pdf", headers=director)
        assert report.status_code == 200 and "月度考核报告" in pdf_text(report.content, tmp_path)


async def test_a_correction_is_an_adjustment_batch_referencing_the_original_which_never_changes(served: Served, quarter: Quarter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    finance = served.bearer("finance")
    async with httpx.AsyncClient(base_url=served.base_url, timeout=120) as client:
        runs = (await client.get("/api/subsidies/runs", headers=finance)).json()["items"]
        run = next(r for r in runs if r["quarter"] == str(quarter) and not r["supplementary"])
        batch = (await client.post(f"/api/subsidies/runs/{run['id']}/batch", headers=finance)).json()
        before = (await client.get(f"/api/subsidies/ledger/{quarter}", headers=finance)).json()
        line = roomiest((await client.get(f"/api/subsidies/runs/{run['id']}/lines?page_size=200", headers=finance)).json()["items"])
        body = {"client_id": "adjust-0001-retry", "reason": "面积复核：少计 100 平方米", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"] + 3_000}]}
        # One finance officer proposes (a retry answers the same proposal); nothing is paid until another approves.
        proposed, again = [await client.post(f"/api/subsidies/batches/{batch['id']}/adjustments", json=body, headers=finance) for _ in range(2)]
        assert proposed.status_code == 202 and again.status_code == 202, proposed.text
        proposal = proposed.json()
        assert again.json()["id"] == proposal["id"] and proposal["state"] == "proposed" and proposal["delta_fen"] == 3_000
        assert (await client.get(f"/api/subsidies/ledger/{quarter}", headers=finance)).json() == before
        changed = await client.post(f"/api/subsidies/batches/{batch['id']}/adjustments", json=body | {"reason": "面积复核：另一说明"}, headers=finance)
        assert changed.status_code == 409 and "client id" in changed.json()["detail"]
        own = await client.post(f"/api/subsidies/adjustments/{proposal['id']}/approve", headers=finance)
        assert own.status_code == 403 and own.json()["rule"] == "approve_own_adjustment", own.text
        assert [p["id"] for p in (await client.get("/api/subsidies/adjustments", headers=finance)).json()] == [proposal["id"]]
        first, retry = [await client.post(f"/api/subsidies/adjustments/{proposal['id']}/approve", headers=served.bearer("finance2")) for _ in range(2)]
        assert first.status_code == 201, first.text
        assert retry.json()["id"] == first.json()["id"] and first.json()["total_fen"] == 3_000
        assert first.json()["corrects_batch_id"] == batch["id"] and first.json()["number"] == batch["number"] + "-ADJ01"
        assert (await client.get("/api/subsidies/adjustments", headers=finance)).json() == []
        # The original batch is as it was; the ledger carries the difference and still balances.
        assert (await client.get(f"/api/subsidies/batches/{batch['id']}", headers=finance)).json() == batch
        after = (await client.get(f"/api/subsidies/ledger/{quarter}", headers=finance)).json()
        assert after["balanced"] and after["ledger_total_fen"] == before["ledger_total_fen"] + 3_000
        same = body | {"client_id": "adjust-0002-again"}
        refused = await client.post(f"/api/subsidies/batches/{batch['id']}/adjustments", json=same, headers=finance)
        assert refused.status_code == 422 and "nothing to correct" in refused.json()["detail"]
        summary = await client.get(f"/api/subsidies/batches/{first.json()['id']}/summary.pdf", headers=finance)
        text = pdf_text(summary.content, tmp_path)
        assert "调整批次" in text and batch["number"] in text and "30.00" in text
        assert (await client.post(f"/api/subsidies/batches/{batch['id']}/adjustments", json=body, headers=served.bearer("xbl-officer"))).status_code == 403
