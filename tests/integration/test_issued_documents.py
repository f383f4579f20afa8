"""Issued documents are records: a batch's summary, its payment notices and treasury spreadsheet, and an estate's
month report are kept as first issued and served byte for byte ever after, whatever the registry, the rate cards or
the scores become; a copy with one changed digit is refused; codes cannot be guessed, and the public page shows only
what a holder compares."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import subprocess
from datetime import UTC, datetime

import openpyxl
import pytest
from pypdf import PdfReader
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from foundation.db import create_engine, create_session_factory
from foundation.money import yuan
from foundation.periods import Month, last_ended_quarter
from inspections.config import current_checklist
from people.tables import User
from reports import service
from reports.pdf import FONT
from reports.tables import IssuedDocument
from tests.database import fresh_database_url
from tests.generated import generate_month
from tests.integration.evidence import upload
from tests.integration.helpers import adjust, estate_ids_of, pdf_text, roomiest
from tests.integration.test_assessment import MONTH, month_with_evidence
from tests.integration.test_pages import page_login

QUARTER = last_ended_quarter(datetime.now(UTC))
PDF, XLSX = "application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def street_of(client, headers) -> int:  # type: ignore[no-untyped-def]
    return (await client.get("/api/auth/me", headers=headers)).json()["street_id"]


async def paid_batch(client, as_user, db) -> tuple[dict, list[dict]]:  # type: ignore[no-untyped-def]
    """小白楼 assesses and locks the last ended quarter on generated evidence; finance prices it, the street confirms,
    finance approves and pays. Returns the batch and the run's lines."""
    for n, month in enumerate(QUARTER.months):
        await generate_month(db, month, seed=n + 1)
    officer, finance = await as_user("xbl-officer"), await as_user("finance")
    street = await street_of(client, officer)
    for month in QUARTER.months:
        assert (await client.post(f"/api/assessment/months/{street}/{month}/compute", headers=officer)).status_code == 200
        locked = await client.post(f"/api/assessment/months/{street}/{month}/lock", headers=officer)
        assert locked.status_code == 200, locked.text
    run = await client.post("/api/subsidies/runs", json={"quarter": str(QUARTER)}, headers=finance)
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    assert (await client.post(f"/api/subsidies/runs/{run_id}/confirm", headers=officer)).status_code == 200
    assert (await client.post(f"/api/subsidies/runs/{run_id}/approve", headers=await as_user("finance2"))).status_code == 200
    batch = await client.post(f"/api/subsidies/runs/{run_id}/batch", headers=finance)
    assert batch.status_code == 200, batch.text
    lines = (await client.get(f"/api/subsidies/runs/{run_id}/lines", params={"page_size": 200}, headers=finance)).json()["items"]
    assert lines
    return batch.json(), lines


async def download(client, path: str, headers: dict[str, str], media_type: str) -> bytes:  # type: ignore[no-untyped-def]
    answer = await client.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(media_type)
    return answer.content


async def issue_report(client, path: str, headers: dict[str, str]) -> bytes:  # type: ignore[no-untyped-def]
    """An estate's month report is issued by a POST (a download never makes one) and answered as issued."""
    answer = await client.post(path, headers=headers)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(PDF), answer.text
    return answer.content


async def verify(client, content: bytes) -> dict:  # type: ignore[no-untyped-def]
    answer = await client.post("/api/documents/verify", files={"file": ("copy", content, "application/octet-stream")})
    assert answer.status_code == 200, answer.text
    return answer.json()


def one_digit_changed(content: bytes) -> bytes:
    """The same bytes with one ASCII digit (the last one) changed to another digit."""
    at = max(i for i, byte in enumerate(content) if 0x30 <= byte <= 0x39)
    changed = bytearray(content)
    changed[at] = 0x30 + (content[at] - 0x30 + 1) % 10
    return bytes(changed)


def sheet_rows(content: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(content))["明细"].iter_rows(values_only=True))


async def test_every_issued_document_is_served_as_issued_after_renames_new_rate_cards_and_new_scores(client, as_user, db) -> None:
    async with db() as session:  # what the demo district issued already (relief letters, programme batches, certificates)
        issued_before = (await session.execute(select(func.coalesce(func.max(IssuedDocument.id), 0)))).scalar_one()
    batch, lines = await paid_batch(client, as_user, db)
    finance, admin, officer = await as_user("finance"), await as_user("admin"), await as_user("xbl-officer")
    line = roomiest(lines)  # a vetoed month's line cannot be corrected to pay, nor one past the best coefficient
    estate, company, month = line["estate_id"], line["company_id"], line["month"]
    body = {"client_id": "docs-adjustment-1", "reason": "面积复核", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"] + 3_000}]}
    proposal = await client.post(f"/api/subsidies/batches/{batch['id']}/adjustments", json=body, headers=finance)
    assert proposal.status_code == 202, proposal.text
    adjustment = await client.post(f"/api/subsidies/adjustments/{proposal.json()['id']}/approve", headers=await as_user("finance2"))
    assert adjustment.status_code == 201, adjustment.text
    paths = {
        "batch_summary": (f"/api/subsidies/batches/{batch['id']}/summary.pdf", finance, PDF),
        "adjustment_summary": (f"/api/subsidies/batches/{adjustment.json()['id']}/summary.pdf", finance, PDF),
        "payment_notice": (f"/api/subsidies/batches/{batch['id']}/notices/{company}", finance, PDF),
        "batch_lines": (f"/api/subsidies/batches/{batch['id']}/lines.xlsx", finance, XLSX),
        "estate_report": (f"/api/assessment/scores/{estate}/{month}/report.pdf", officer, PDF),
    }
    await issue_report(client, paths["estate_report"][0], officer)
    first = {kind: await download(client, *where) for kind, where in paths.items()}
    estate_name = (await client.get(f"/api/registry/estates/{estate}", headers=admin)).json()["name"]
    company_name = (await client.get(f"/api/registry/companies/{company}", headers=admin)).json()["name"]
    assert company_name in pdf_text(first["payment_notice"]) and estate_name in pdf_text(first["payment_notice"])
    assert any(estate_name in row for row in sheet_rows(first["batch_lines"]))

    # The registry renames the estate and the company, a new rate card starts, and the street's next month is scored.
    renamed = await client.patch(f"/api/registry/estates/{estate}", json={"name": "改名后的区片"}, headers=admin)
    assert renamed.status_code == 200, renamed.text
    assert (await client.patch(f"/api/registry/companies/{company}", json={"name": "改名后的物业公司"}, headers=admin)).status_code == 200
    next_month = Month.of_instant(datetime.now(UTC)).next().first_day
    card = {"valid_from": next_month.isoformat(), "rate_fen_per_m2_month": 45, "city_share": "0.6", "coefficients": {"优秀": "1", "良好": "0.9", "合格": "0.8", "不合格": "0.4"}}
    added = await client.post("/api/subsidies/rate-cards", json=card, headers=admin)
    assert added.status_code == 201, added.text

    for kind, where in paths.items():
        again = await download(client, *where)
        assert again == first[kind], f"{kind} changed after the renames"
        genuine = await verify(client, again)
        assert genuine["genuine"] is True and genuine["kind"] == kind.replace("adjustment_", "batch_"), (kind, genuine)
        assert genuine["number"].startswith(batch["number"]) or kind == "estate_report"
        assert await verify(client, one_digit_changed(again)) == {"genuine": False}, kind
    assert "改名后" not in pdf_text(first["payment_notice"]) and estate_name in pdf_text(first["payment_notice"])
    assert not any("改名后的区片" in row for row in sheet_rows(first["batch_lines"]))
    async with db() as session:
        # Every document issued here (the demo's own documents aside).
        kept = list((await session.execute(select(IssuedDocument).where(IssuedDocument.id > issued_before).order_by(IssuedDocument.id))).scalars())
    assert {row.kind for row in kept} == {"batch_summary", "payment_notice", "batch_lines", "estate_report"} and all(row.kept for row in kept)
    assert {hashlib.sha256(content).hexdigest() for content in first.values()} <= {row.pdf_sha256 for row in kept}
    companies = {line["company_id"] for line in lines}
    assert sum(row.kind == "payment_notice" for row in kept) == len(companies)  # every company's notice, made at issue


async def test_a_batch_carries_the_names_it_was_issued_with_even_when_first_downloaded_after_a_rename(client, as_user, db) -> None:
    batch, lines = await paid_batch(client, as_user, db)
    finance, admin = await as_user("finance"), await as_user("admin")
    estate, company = lines[0]["estate_id"], lines[0]["company_id"]
    estate_name = (await client.get(f"/api/registry/estates/{estate}", headers=admin)).json()["name"]
    company_name = (await client.get(f"/api/registry/companies/{company}", headers=admin)).json()["name"]
    assert (await client.patch(f"/api/registry/estates/{estate}", json={"name": "改名后的区片"}, headers=admin)).status_code == 200
    assert (await client.patch(f"/api/registry/companies/{company}", json={"name": "改名后的物业公司"}, headers=admin)).status_code == 200
    notice = pdf_text(await download(client, f"/api/subsidies/batches/{batch['id']}/notices/{company}", finance, PDF))
    summary = pdf_text(await download(client, f"/api/subsidies/batches/{batch['id']}/summary.pdf", finance, PDF))
    sheet = sheet_rows(await download(client, f"/api/subsidies/batches/{batch['id']}/lines.xlsx", finance, XLSX))
    assert estate_name in notice and company_name in notice and "改名后" not in notice
    assert estate_name in summary and company_name in summary and "改名后" not in summary
    assert any(estate_name in row and company_name in row for row in sheet) and not any("改名后的区片" in row for row in sheet)


async def test_a_new_score_version_gets_its_own_report_and_the_earlier_report_stays_genuine(client, as_user, db) -> None:
    month = QUARTER.months[-1]
    await generate_month(db, month, seed=11)
    officer, director = await as_user("xbl-officer"), await as_user("xbl01-director")
    street = await street_of(client, officer)
    estate = (await estate_ids_of(db, "XBL01"))[0]
    assert (await client.post(f"/api/assessment/months/{street}/{month}/compute", headers=officer)).status_code == 200
    path = f"/api/assessment/scores/{estate}/{month}/report.pdf"
    assert (await client.get(path, headers=officer)).status_code == 409  # not issued yet: a download makes nothing
    first = await issue_report(client, path, officer)
    assert await download(client, path, officer, PDF) == first
    assert "第 1 版" in pdf_text(first)
    opinion = await client.post("/api/assessment/opinions", json={"client_id": f"opinion-{estate}-{month}-41", "estate_id": estate, "month": str(month), "rating": 41}, headers=director)
    assert opinion.status_code == 201, opinion.text
    assert (await client.post(f"/api/assessment/months/{street}/{month}/compute", headers=officer)).status_code == 200
    second = await issue_report(client, path, officer)
    assert "第 2 版" in pdf_text(second) and second != first
    assert await download(client, path, officer, PDF) == second
    earlier, newer = await verify(client, first), await verify(client, second)
    assert earlier["genuine"] and newer["genuine"] and earlier["code"] != newer["code"]
    assert await verify(client, one_digit_changed(first)) == {"genuine": False}


async def test_document_codes_cannot_be_guessed_and_the_public_page_shows_only_what_a_holder_compares(client, as_user, db) -> None:
    batch, lines = await paid_batch(client, as_user, db)
    finance, admin = await as_user("finance"), await as_user("admin")
    company = lines[0]["company_id"]
    notice = await download(client, f"/api/subsidies/batches/{batch['id']}/notices/{company}", finance, PDF)
    summary = await download(client, f"/api/subsidies/batches/{batch['id']}/summary.pdf", finance, PDF)
    code = (await verify(client, notice))["code"]
    assert re.fullmatch(r"[0-9a-f]{32}", code) and code != (await verify(client, summary))["code"]
    assert f"/verify/{code}" in pdf_text(notice)

    # The address the old scheme gave this notice (sha256 of kind and subject) opens nothing.
    guessed = hashlib.sha256(f"payment_notice|batch:{batch['id']}/company:{company}".encode()).hexdigest()
    for attempt in (guessed[:16], guessed[:32]):
        assert (await client.get(f"/api/documents/{attempt}")).status_code in (400, 404)
        assert "查无此文件" in (await client.get(f"/verify/{attempt}")).text

    # Anonymous: the facts printed on the paper, nothing of the payee or the breakdown.
    pages = len(PdfReader(io.BytesIO(notice)).pages)
    facts = (await client.get(f"/api/documents/{code}")).json()
    own = [line for line in lines if line["company_id"] == company]
    total = sum(line["amount_fen"] for line in own)
    assert facts["genuine"] and facts["number"] == batch["number"] and facts["pages"] == pages and facts["total_fen"] == total
    assert facts["issuer"] == "区财政" and "subject" not in facts
    page = (await client.get(f"/verify/{code}")).text
    company_name = (await client.get(f"/api/registry/companies/{company}", headers=admin)).json()["name"]
    estate_name = (await client.get(f"/api/registry/estates/{own[0]['estate_id']}", headers=admin)).json()["name"]
    assert "本系统签发过此文件" in page and batch["number"] in page and f"共 {pages} 页" in page and yuan(total) in page
    assert facts["checksum"] in page and f"第 1 页 / 共 {pages} 页" in pdf_text(notice)
    assert company_name not in page and estate_name not in page and "市级" not in page


async def test_names_that_look_like_formulas_stay_text_in_the_treasury_spreadsheet(client, as_user, db) -> None:
    batch_estates = await estate_ids_of(db, "XBL01")
    admin = await as_user("admin")
    names = ['=HYPERLINK("http://example.com","点此")', "+86 10 1234", "-2+3", "@SUM(A1:A2)"]
    for estate, name in zip(batch_estates, names, strict=False):
        assert (await client.patch(f"/api/registry/estates/{estate}", json={"name": name}, headers=admin)).status_code == 200
    batch, _ = await paid_batch(client, as_user, db)
    content = await download(client, f"/api/subsidies/batches/{batch['id']}/lines.xlsx", await as_user("finance"), XLSX)
    sheet = openpyxl.load_workbook(io.BytesIO(content))["明细"]
    cells = {cell.value: cell.data_type for row in sheet.iter_rows(min_row=2) for cell in row if cell.value in names}
    assert cells == {name: "s" for name in names[: len(batch_estates)]}
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


async def test_documents_issued_before_codes_were_random_get_new_codes_and_stay_verifiable(tmp_root) -> None:
    from alembic import command
    from alembic.config import Config

    from foundation.settings import PROJECT_ROOT

    url = await fresh_database_url(tmp_root, "legacy_codes")
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    await asyncio.to_thread(command.upgrade, config, "0008")
    old_code = hashlib.sha256(b"payment_notice|batch:1/company:3").hexdigest()[:16]
    copy = b"%PDF-1.4 a notice issued before 0010"
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO issued_documents (code, kind, subject, number, title, total_fen, checksum, pdf_sha256, issued_at) "
                    "VALUES (:code, 'payment_notice', 'batch:1/company:3', 'HPBT-2026-Q3-001', '拨付通知书', 1200, :sum, :sha, :at)"
                ),
                {"code": old_code, "sum": "c" * 64, "sha": hashlib.sha256(copy).hexdigest(), "at": datetime(2026, 10, 9, 2, 0)},
            )
        await asyncio.to_thread(command.upgrade, config, "head")
        factory = create_session_factory(engine)
        async with factory() as session:
            legacy = (await session.execute(select(IssuedDocument))).scalar_one()
            assert re.fullmatch(r"[0-9a-f]{32}", legacy.code) and not legacy.code.startswith(old_code)
            assert legacy.kept is False and legacy.media_type == PDF
            assert await service.verify(session, content=copy) == legacy  # a holder of the old copy can still check it
            assert await service.verify(session, code=old_code) is None
            # Its subject can be issued anew and kept beside it, once.
            row = {"kind": "payment_notice", "subject": "batch:1/company:3", "number": "HPBT-2026-Q3-001", "title": "拨付通知书", "checksum": "d" * 64, "issued_at": datetime.now(UTC)}
            session.add(IssuedDocument(code=service.new_document_code(), pdf_sha256="e" * 64, **row))
            await session.commit()
            session.add(IssuedDocument(code=service.new_document_code(), pdf_sha256="f" * 64, **row))
            with pytest.raises(IntegrityError):
                await session.commit()
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError, match="append-only"):
                await connection.execute(text("UPDATE issued_documents SET total_fen = 1"))
    finally:
        await engine.dispose()


async def test_the_breakdown_page_issues_the_month_report_and_a_download_before_it_writes_nothing(client, as_user, db) -> None:
    from foundation.clock import business_today
    from tests.integration.test_bad_input import page_login

    month = Month.of(business_today()).previous()
    officer = await as_user("xbl-officer")
    assert (await client.post(f"/api/assessment/months/{await street_of(client, officer)}/{month}/compute", headers=officer)).status_code == 200
    estate = (await estate_ids_of(db, "XBL01"))[0]
    await page_login(client, "xbl01-director")
    page = await client.get(f"/assessment/scores/{estate}/{month}")
    action = f"/documents/assessment/scores/{estate}/{month}/report.pdf"
    assert page.status_code == 200 and f'action="{action}"' in page.text
    # A download before the report is issued says how to issue it and writes nothing.
    before = await client.get(f"/api/assessment/scores/{estate}/{month}/report.pdf", headers=officer)
    assert before.status_code == 409 and "POST" in before.json()["detail"]
    assert (await client.get(action)).status_code == 409
    async with db() as session:
        assert (await session.execute(select(IssuedDocument).where(IssuedDocument.kind == "estate_report"))).first() is None
    # The page's button issues it and answers the PDF; from then on a download serves the same bytes.
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    issued = await client.post(action, data={"_csrf_token": token})
    assert issued.status_code == 200 and issued.headers["content-type"].startswith(PDF), issued.text[:300]
    assert "月度考核报告" in pdf_text(issued.content)
    assert await download(client, action, {}, PDF) == issued.content
    assert (await client.post(action, data={"_csrf_token": token})).content == issued.content  # issued once


def page_images(content: bytes, tmp_path, name: str) -> list:  # type: ignore[no-untyped-def]
    """Every page of a PDF rendered to a PNG by poppler (what a printer or a viewer shows); the files."""
    (tmp_path / f"{name}.pdf").write_bytes(content)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)], check=True, capture_output=True)
    pages = sorted(tmp_path.glob(f"{name}*.png"))
    assert pages and all(p.stat().st_size > 1000 for p in pages), pages
    return pages


def official_elements(text: str, issuer: str) -> None:
    """The elements of an official document, in the order one is written: signature lines, the issuing authority,
    the date written below it (落款) and the seal area."""
    for element in ("经办", "复核", "审批", "（盖章）", issuer):
        assert element in text, (element, text[-600:])
    written = re.search(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text[text.index(issuer):])
    assert written is not None, text[-400:]


async def test_the_batch_documents_are_official_documents_and_the_sheet_has_numbers_filters_and_the_payees_account(client, as_user, db, tmp_path) -> None:
    async with db() as session:  # people named by their names, as a district's real accounts are
        await session.execute(update(User).where(User.username == "finance").values(display_name="李明"))
        await session.execute(update(User).where(User.username == "xbl-officer").values(display_name="王芳"))
        await session.commit()
    batch, lines = await paid_batch(client, as_user, db)
    finance, admin = await as_user("finance"), await as_user("admin")
    company = lines[0]["company_id"]
    payee = (await client.get(f"/api/registry/companies/{company}", headers=admin)).json()
    assert payee["bank_name"] and payee["bank_account"]  # the demo's companies have their accounts
    summary = await download(client, f"/api/subsidies/batches/{batch['id']}/summary.pdf", finance, PDF)
    notice = await download(client, f"/api/subsidies/batches/{batch['id']}/notices/{company}", finance, PDF)
    page_images(summary, tmp_path, "summary")
    page_images(notice, tmp_path, "notice")
    text = pdf_text(summary)
    official_elements(text, "天津市和平区财政局")
    # Who priced, confirmed and issued it by name and post, and the one who priced it on the 经办 line; never an
    # account and its role key.
    assert "经办：李明（区财政）" in text and "王芳（小白楼街道办）" in text and "(finance)" not in text and "(street_officer)" not in text
    first_page = PdfReader(io.BytesIO(summary)).pages[0].extract_text()
    assert batch["checksum"] not in first_page.split("按街道汇总")[0]  # not in the header any more
    assert batch["checksum"] in text.replace("\n", "")  # but still printed, after the content, for whoever checks
    assert "标准（元/㎡·月）" in text.replace("\n", "") or "标准（元/" in text
    big = max(lines, key=lambda line: line["area_centi_m2"])
    assert big["area_centi_m2"] >= 100_000  # an estate of more than 1,000 m²: its area has a thousands separator
    assert service.area_text(big["area_centi_m2"]) in text and "," in service.area_text(big["area_centi_m2"])
    # A vetoed line reads 否决 where the points would be, beside 不合格: never points beside a grade they did not earn.
    score = next(c for c in service.LINE_COLUMNS if c.title == "得分")
    assert pdfmetrics.stringWidth("否决", FONT, 8.5) <= score.width * mm - 6 and "（否决）" not in text
    vetoed = [line for line in lines if line["vetoed"]]
    assert text.count("否决") >= len(vetoed)
    notice_text = pdf_text(notice)
    official_elements(notice_text, "天津市和平区财政局")
    assert "经办：李明（区财政）" in notice_text and "(finance)" not in notice_text
    assert f"{payee['name']}：" in notice_text and "请注意查收" in notice_text.replace("\n", "")
    assert payee["bank_name"] in notice_text and payee["bank_account"] in notice_text
    sheet = openpyxl.load_workbook(io.BytesIO(await download(client, f"/api/subsidies/batches/{batch['id']}/lines.xlsx", finance, XLSX)))["明细"]
    headers = [c.value for c in sheet[1]]
    coefficient = sheet.cell(row=2, column=headers.index("系数") + 1)
    assert coefficient.data_type == "n" and isinstance(coefficient.value, int | float) and coefficient.number_format == "0.00"
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:")
    row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[headers.index("物业企业")] == payee["name"])
    assert (row[headers.index("开户银行")], row[headers.index("银行账号")]) == (payee["bank_name"], payee["bank_account"])


async def test_the_month_report_shows_items_with_their_text_photo_thumbnails_and_who_issues_it(client, as_user, db, tmp_path) -> None:
    estate, street = await month_with_evidence(client, as_user, db)
    officer, director = await as_user("xbl-officer"), await as_user("xbl01-director")
    assert (await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer)).status_code == 200
    veto = {"estate_id": estate, "month": MONTH, "reason": "gate_unattended", "explanation": "夜间门岗连续三晚无人", "evidence_photo_ids": [await upload(client, director)]}
    assert (await client.post("/api/assessment/vetoes", json=veto, headers=director)).status_code == 201
    report = await issue_report(client, f"/api/assessment/scores/{estate}/{MONTH}/report.pdf", officer)
    page_images(report, tmp_path, "report")
    text = pdf_text(report).replace("\n", "")
    official_elements(text, "小白楼街道办事处")
    items = current_checklist().items
    assert f"C01 {items['C01'].text}" in text  # the street inspection's failed item, with its text
    assert "待审核" in text and "待复核" not in text  # the veto waits, in the web's words
    assert "sha256" not in text
    images = [image for page in PdfReader(io.BytesIO(report)).pages for image in page.images]
    assert images and all(len(image.data) < 20_000 for image in images)  # thumbnails (both tests' photos are one picture)
    assert "记录 #" in text and text.count(items["C01"].text) >= 2  # the photos under their record and item, with its text


async def test_a_second_adjustment_shows_what_was_paid_before_it_and_the_street_totals_carry_both_shares(client, as_user, db) -> None:
    batch, lines = await paid_batch(client, as_user, db)
    finance = await as_user("finance")
    # The street totals of the summary carry the city's and the district's shares, which add up to the amount.
    summary = pdf_text(await download(client, f"/api/subsidies/batches/{batch['id']}/summary.pdf", finance, PDF))
    streets = summary.split("按街道汇总")[1].split("按企业汇总")[0]
    assert "市级（元）" in streets and "区级（元）" in streets, streets
    city, district = sum(line["city_fen"] for line in lines), sum(line["district_fen"] for line in lines)
    assert f"{yuan(city)} {yuan(district)} {yuan(city + district)}" in " ".join(streets.split()), streets
    # Two adjustments of the same line: the second one's 原金额 is what the line paid with the first (not its
    # original amount), so that 原金额 + 差额 = 应付 on its row. (A vetoed month's line cannot be corrected to pay.)
    line = roomiest(lines)
    amounts, numbers = [], []
    for n, corrected in enumerate((line["amount_fen"] + 3_000, line["amount_fen"] + 2_000)):
        body = {"client_id": f"docs-twice-{n}", "reason": "面积复核", "corrections": [{"line_id": line["id"], "amount_fen": corrected}]}
        adjusted = await adjust(client, "/api/subsidies", batch["id"], body, finance, await as_user("finance2"))
        amounts.append(pdf_text(await download(client, f"/api/subsidies/batches/{adjusted.json()['id']}/summary.pdf", finance, PDF)))
        numbers.append((adjusted.json()["id"], adjusted.json()["number"]))
    second = amounts[1].replace("\n", " ")
    expected = f"{yuan(line['amount_fen'] + 3_000)} {yuan(line['amount_fen'] + 2_000)} {yuan(-1_000)}"
    assert expected in second, (expected, second)
    # Both adjustments are on the run's page, under its batch: number, total, reason and their summaries.
    await page_login(client, "finance")
    shown = await client.get(f"/subsidies/runs/{batch['run_id']}")
    assert shown.status_code == 200, shown.text
    for ident, number in numbers:
        assert f"调整批次 {number}" in shown.text and f"/documents/subsidies/batches/{ident}/summary.pdf" in shown.text, number
    assert "面积复核" in shown.text and "30.00" in shown.text and "-10.00" in shown.text
