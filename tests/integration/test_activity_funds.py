"""Activity funds (活动经费) told as their users live them: a director claims spending with a receipt, the street
approves it, finance pays it once through the engine, everyone sees the balance; and every refusal: an invoice
claimed twice, a claim beyond the balance (also two racing for the last money), one's own claim, the wrong role or
scope, a lapsed year, bad input, retries. The demo district has this year's funds open; these tests use 南市街道
(NS), whose funds the demo leaves untouched."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import subprocess
import uuid
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import sqlalchemy as sa

from foundation.access import Principal, Role
from foundation.clock import business_today
from foundation.db import create_engine, create_session_factory, writing
from foundation.errors import Conflict, RuleViolation
from foundation.money import yuan
from foundation.notifications import Notification
from people.tables import User
from registry.tables import Community, Street
from subsidies.activity import jobs, service
from subsidies.activity.rules import CODE
from subsidies.activity.schemas import ClaimIn
from subsidies.activity.tables import ActivityClaim, ActivityFund, ActivityReceipt
from subsidies.engine.tables import PaidLine, ProgrammeBatch
from tests.database import migrated_demo_database
from tests.integration.evidence import scan_pdf, scan_png
from tests.integration.helpers import adjust, assert_problem, assert_refused_page, count, link_named
from tests.integration.test_issued_documents import one_digit_changed, verify
from tests.integration.test_pages import page_login
from tests.integration.test_programme_engine import login
from tests.integration.test_role_pages import csrf

YEAR = business_today().year
PNG = scan_png()


def invoice() -> str:
    return f"T{uuid.uuid4().int % 10**15:015d}"


async def receipt(client, headers, content: bytes = PNG) -> int:  # type: ignore[no-untyped-def]
    answer = await client.post("/api/activity/receipts", files={"file": ("receipt.png", content, "image/png")}, headers=headers)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def claim(client, headers, amount_fen: int = 128_050, purpose: str = "文体活动", number: str | None = None, **changes):  # type: ignore[no-untyped-def]
    body = {
        "client_id": uuid.uuid4().hex, "spent_on": str(business_today()), "purpose": purpose, "description": "居民乒乓球比赛奖品及饮用水",
        "amount_fen": amount_fen, "invoice_number": number or invoice(), "receipt_id": await receipt(client, headers), **changes,
    }
    return await client.post("/api/activity/claims", json=body, headers=headers), body


async def fund(client, headers, holder: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    answer = await client.get(f"/api/activity/funds?year={YEAR}&holder={holder}", headers=headers)
    assert answer.status_code == 200, answer.text
    (found,) = answer.json()
    return found  # type: ignore[no-any-return]


def pdf_text(content: bytes, folder: Path) -> str:
    path = folder / "statement.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


async def test_a_director_claims_with_a_receipt_the_street_approves_and_finance_pays_it_once(client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    director, officer, finance = [await login(client, u) for u in ("ns01-director", "ns-officer", "finance")]
    me = (await client.get("/api/auth/me", headers=director)).json()
    holder = f"community:{me['community_id']}"
    before = await fund(client, director, holder)
    assert before["allocated_fen"] == 5_000_000 and before["holder_name"] == "慎益大街社区"

    filed, body = await claim(client, director, 128_050)
    assert filed.status_code == 201, filed.text
    made = filed.json()
    assert made["state"] == "pending" and made["holder"] == holder and made["due_on"] > str(business_today())
    # The amount is held at once; the director, the street and the district see the same balance.
    for who in (director, officer, finance):
        seen = await fund(client, who, holder)
        assert (seen["left_fen"], seen["pending_fen"]) == (before["left_fen"] - 128_050, before["pending_fen"] + 128_050)
    receipt_bytes = await client.get(f"/api/activity/receipts/{made['receipt_id']}", headers=officer)
    assert receipt_bytes.status_code == 200 and receipt_bytes.content == PNG

    approved = await client.post(f"/api/activity/claims/{made['id']}/decision", json={"approve": True}, headers=officer)
    assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text
    assert (await fund(client, director, holder))["approved_fen"] == before["approved_fen"] + 128_050

    # Paid through the engine: the demo paid this month's run already, so finance runs a supplementary one.
    run = await client.post(f"/api/programmes/{CODE}/runs", json={"period": f"{business_today():%Y-%m}", "supplementary": True}, headers=finance)
    assert run.status_code == 201, run.text
    lines = (await client.get(f"/api/programmes/{CODE}/runs/{run.json()['id']}/lines?page_size=200", headers=finance)).json()["items"]
    mine = [line for line in lines if line["key"] == f"claim:{made['id']}"]
    assert len(mine) == 1 and mine[0]["amount_fen"] == 128_050 and mine[0]["payee"] == holder and mine[0]["holder"] == holder
    assert (await client.post(f"/api/programmes/{CODE}/runs/{run.json()['id']}/approvals/approve", headers=await login(client, "finance2"))).status_code == 200
    batch = await client.post(f"/api/programmes/{CODE}/runs/{run.json()['id']}/batch", headers=finance)
    assert batch.status_code == 200, batch.text
    paid = (await client.get(f"/api/activity/claims/{made['id']}", headers=director)).json()
    assert paid["paid_in_batch"] == batch.json()["number"]
    assert (await fund(client, finance, holder))["paid_fen"] == before["paid_fen"] + 128_050
    # Paid once: a supplementary run finds nothing left to pay (it was the month's only approved claim).
    again = await client.post(f"/api/programmes/{CODE}/runs", json={"period": f"{business_today():%Y-%m}", "supplementary": True}, headers=finance)
    assert_problem(again, 422, "nothing of")
    summary = await client.get(f"/api/programmes/batches/{batch.json()['id']}/summary.pdf", headers=finance)
    assert summary.status_code == 200 and "活动经费拨付汇总表" in pdf_text(summary.content, tmp_path)

    # The statement of the year, in Chinese, to the holder (and not to another community's director): the PDF is
    # issued like every document (a code in the verification address, kept bytes, an altered copy refused); the XLSX
    # is a working sheet.
    download = f"/api/activity/statements/{YEAR}/{holder}/statement.pdf"
    # A claim still waiting for the street is listed on the statement but not counted in its approved total.
    waiting, _ = await claim(client, director, 33_300)
    assert waiting.status_code == 201, waiting.text
    assert (await client.get(download, headers=director)).status_code == 409  # not issued for this state yet
    issued = await client.post(f"/api/activity/statements/{YEAR}/{holder}/statement", headers=director)
    assert issued.status_code == 200 and issued.json()["download"] == download, issued.text
    statement = await client.get(download, headers=director)
    assert statement.status_code == 200 and statement.headers["content-type"] == "application/pdf", statement.text
    text = pdf_text(statement.content, tmp_path)
    for fragment in ("慎益大街社区", "年度活动经费收支明细", "年度额度：50,000.00 元", body["invoice_number"], "1,280.50", batch.json()["number"], "已批准", f"/verify/{issued.json()['code']}"):
        assert fragment in text, (fragment, text)
    approved_total = (await fund(client, director, holder))["approved_fen"]
    (total_line,) = [line for line in text.splitlines() if "合计（已批准）" in line]
    assert total_line.split()[-1] == yuan(approved_total), (total_line, approved_total)  # the waiting 333.00 is not in it
    # Its number is the year, the community's registry code and a checksum: no English word, the same for the same state.
    community_code = (await client.get(f"/api/registry/communities/{me['community_id']}", headers=await login(client, "admin"))).json()["code"]
    assert re.fullmatch(rf"HDJF-{YEAR}-{re.escape(community_code)}-[0-9A-F]{{6}}", issued.json()["number"]), issued.json()["number"]
    assert "community" not in issued.json()["number"] and issued.json()["number"] in text
    # The street officer who approved is named by name and post, on the PDF and on the sheet; never by account.
    officer_id = (await client.get("/api/auth/me", headers=officer)).json()["user_id"]
    officer_name = (await client.get(f"/api/users/{officer_id}", headers=await login(client, "admin"))).json()["display_name"]
    assert "街道办" not in officer_name  # a person's name; the post (with its street) is added beside it
    assert f"{officer_name}（南市街道办），" in text and "ns-officer" not in text and "street_officer" not in text, text
    genuine = await verify(client, statement.content)
    assert genuine["genuine"] and genuine["number"] == issued.json()["number"]
    assert await verify(client, one_digit_changed(statement.content)) == {"genuine": False}
    again = await client.post(f"/api/activity/statements/{YEAR}/{holder}/statement", headers=officer)
    assert again.json()["code"] == issued.json()["code"]  # nothing changed: the same document
    assert (await client.get(download, headers=officer)).content == statement.content
    sheet = await client.get(f"/api/activity/statements/{YEAR}/{holder}/statement.xlsx", headers=officer)
    rows = list(openpyxl.load_workbook(io.BytesIO(sheet.content), read_only=True)["收支明细"].iter_rows(values_only=True))
    assert rows[0][:2] == ("经费持有方", "慎益大街社区") and any(r[4] == body["invoice_number"] and r[-1] == 1280.5 for r in rows)
    assert any(str(r[6]).startswith(f"{officer_name}（南市街道办），") for r in rows if r[4] == body["invoice_number"]), rows
    other = await login(client, "ns02-director")
    assert (await client.get(f"/api/activity/statements/{YEAR}/{holder}/statement.pdf", headers=other)).status_code == 404


async def test_an_invoice_is_claimed_once_ever_and_the_refusal_names_the_first_claim(client, db) -> None:  # type: ignore[no-untyped-def]
    first, second = await login(client, "ns01-director"), await login(client, "ns02-director")
    number = invoice()
    filed, _ = await claim(client, first, number=number)
    assert filed.status_code == 201
    claims_before = await count(db, ActivityClaim)
    held_before = (await fund(client, second, f"community:{(await client.get('/api/auth/me', headers=second)).json()['community_id']}"))["left_fen"]
    refused, _ = await claim(client, second, number=number)
    problem = assert_problem(refused, 409, number, "慎益大街社区", str(business_today()))
    assert problem.get("errors") or problem["detail"]
    assert await count(db, ActivityClaim) == claims_before
    me = (await client.get("/api/auth/me", headers=second)).json()
    assert (await fund(client, second, f"community:{me['community_id']}"))["left_fen"] == held_before
    # The database itself refuses a second row with the invoice number.
    async with db() as session:
        row = (await session.execute(sa.select(ActivityClaim).where(ActivityClaim.invoice_number == number))).scalar_one()
        session.add(ActivityClaim(**{**row.model_dump(exclude={"id"}), "client_id": uuid.uuid4().hex, "receipt_id": row.receipt_id}))
        try:
            await session.flush()
            raise AssertionError("a second claim of the invoice was stored")
        except sa.exc.IntegrityError:
            await session.rollback()


async def test_a_claim_beyond_the_balance_is_refused_with_what_is_left_and_holds_nothing(client, db) -> None:  # type: ignore[no-untyped-def]
    director = await login(client, "ns03-director")
    holder = f"community:{(await client.get('/api/auth/me', headers=director)).json()['community_id']}"
    for _ in range(2):
        assert (await claim(client, director, 2_000_000))[0].status_code == 201
    left = (await fund(client, director, holder))["left_fen"]
    assert left == 1_000_000
    claims_before = await count(db, ActivityClaim)
    refused, _ = await claim(client, director, 1_000_001, purpose="节日慰问")
    assert_problem(refused, 422, "10,000.00 yuan left", "10,000.01")
    assert await count(db, ActivityClaim) == claims_before
    assert (await fund(client, director, holder))["left_fen"] == left
    # The exact remainder goes through; then nothing is left.
    assert (await claim(client, director, 1_000_000, purpose="节日慰问"))[0].status_code == 201
    assert (await fund(client, director, holder))["left_fen"] == 0
    # And the database refuses a balance below zero, whoever writes it.
    async with db() as session:
        try:
            await session.execute(sa.update(ActivityFund).where(ActivityFund.holder == holder, ActivityFund.year == YEAR).values(held_fen=ActivityFund.held_fen + 1))
            raise AssertionError("the fund went below zero")
        except sa.exc.IntegrityError as error:
            assert "never_below_zero" in str(error.orig)


async def test_nobody_decides_their_own_claim_and_only_the_right_role_in_scope_decides(client, db) -> None:  # type: ignore[no-untyped-def]
    director, officer, other_officer, finance, admin = [await login(client, u) for u in ("ns04-director", "ns-officer", "xbl-officer", "finance", "admin")]
    community_claim = (await claim(client, director, 300_000, purpose="宣传教育"))[0].json()
    street_claim = (await claim(client, officer, 500_000, purpose="会议培训"))[0].json()
    assert street_claim["holder"].startswith("street:")

    # One's own claim, whatever the role: refused saying so.
    assert_problem(await client.post(f"/api/activity/claims/{street_claim['id']}/decision", json={"approve": True}, headers=officer), 403, "decide_own_activity_claim")
    # The wrong role: finance does not decide a community's claim, a street officer not a street's, a director none.
    assert_problem(await client.post(f"/api/activity/claims/{community_claim['id']}/decision", json={"approve": True}, headers=finance), 403, "street")
    assert_problem(await client.post(f"/api/activity/claims/{community_claim['id']}/decision", json={"approve": True}, headers=director), 403)
    assert_problem(await client.post(f"/api/activity/claims/{street_claim['id']}/decision", json={"approve": True}, headers=admin), 403)
    # Out of scope: another street's officer does not even see it.
    assert_problem(await client.post(f"/api/activity/claims/{community_claim['id']}/decision", json={"approve": True}, headers=other_officer), 404)
    assert (await client.get(f"/api/activity/claims/{community_claim['id']}", headers=other_officer)).status_code == 404
    async with db() as session:
        states = set((await session.execute(sa.select(ActivityClaim.state).where(ActivityClaim.id.in_([community_claim["id"], street_claim["id"]])))).scalars())
    assert states == {"pending"}

    # A refusal needs a reason, and gives the money back to the fund.
    holder = community_claim["holder"]
    held = (await fund(client, director, holder))["left_fen"]
    assert_problem(await client.post(f"/api/activity/claims/{community_claim['id']}/decision", json={"approve": False}, headers=officer), 400, "why")
    refused = await client.post(f"/api/activity/claims/{community_claim['id']}/decision", json={"approve": False, "reason": "展板已由街道统一制作"}, headers=officer)
    assert refused.status_code == 200 and refused.json()["refusal_reason"] == "展板已由街道统一制作"
    assert (await fund(client, director, holder))["left_fen"] == held + 300_000
    assert_problem(await client.post(f"/api/activity/claims/{community_claim['id']}/decision", json={"approve": True}, headers=officer), 409)
    # The district (finance) decides the street's claim.
    decided = await client.post(f"/api/activity/claims/{street_claim['id']}/decision", json={"approve": True}, headers=finance)
    assert decided.status_code == 200 and decided.json()["state"] == "approved"


async def test_a_past_year_lapses_at_its_end_and_takes_no_claim(client, db) -> None:  # type: ignore[no-untyped-def]
    director = await login(client, "ns05-director")
    me = (await client.get("/api/auth/me", headers=director)).json()
    holder, last_year = f"community:{me['community_id']}", YEAR - 1
    async with db() as session:
        street_id = (await session.execute(sa.select(Community.street_id).where(Community.id == me["community_id"]))).scalar_one()
        from foundation.clock import utc_now

        session.add(ActivityFund(year=last_year, holder=holder, street_id=street_id, allocated_fen=5_000_000, held_fen=1_200_000, opened_at=utc_now(), opened_by="test"))
        await session.commit()
        # The year-end job: last year's remainder lapses (recorded), this year's funds are left as they are.
        outcome = await jobs.turn_of_year(session, f"{YEAR}-01-01" if business_today() != date(YEAR, 1, 1) else str(business_today()), utc_now())
        await session.commit()
        assert outcome["lapsed_funds"] >= 1
        lapsed = (await session.execute(sa.select(ActivityFund).where(ActivityFund.year == last_year, ActivityFund.holder == holder))).scalar_one()
        assert (lapsed.lapsed_fen, lapsed.lapsed_at is not None) == (3_800_000, True)
        # Run again: nothing more lapses.
        assert (await jobs.turn_of_year(session, str(business_today()), utc_now()))["lapsed_funds"] == 0
    claims_before = await count(db, ActivityClaim)
    refused, _ = await claim(client, director, 50_000, spent_on=str(date(last_year, 12, 20)))
    assert_problem(refused, 422, "lapsed")
    assert await count(db, ActivityClaim) == claims_before
    # A year not opened is refused too, and an ended year cannot be opened again.
    assert_problem((await claim(client, director, 50_000, spent_on=str(date(last_year - 1, 6, 1))))[0], 422, "not open")
    assert_problem(await client.post(f"/api/activity/years/{last_year}/open", headers=await login(client, "finance")), 422, "ended")


async def test_bad_input_is_a_problem_and_stores_nothing(client, db) -> None:  # type: ignore[no-untyped-def]
    director = await login(client, "ns06-director")
    good = {"client_id": uuid.uuid4().hex, "spent_on": str(business_today()), "purpose": "文体活动", "description": "居民合唱队服装租赁", "amount_fen": 10_000, "invoice_number": invoice(), "receipt_id": await receipt(client, director)}
    claims, receipts = await count(db, ActivityClaim), await count(db, ActivityReceipt)
    for change, status, fragment in (
        ({"amount_fen": "100"}, 400, "amount_fen"),
        ({"amount_fen": 0}, 400, "amount_fen"),
        ({"amount_fen": True}, 400, "amount_fen"),
        ({"unknown": 1}, 400, "unknown"),
        ({"invoice_number": "发票 1"}, 400, "invoice_number"),
        ({"spent_on": "2026-02-30"}, 400, "spent_on"),
        ({"spent_on": str(business_today() + timedelta(days=1))}, 422, "after today"),
        ({"purpose": "吃饭"}, 422, "purpose"),
        ({"description": "奖品"}, 422, "6 characters"),
        ({"amount_fen": 2_000_001}, 422, "at most 20,000.00"),
        ({"receipt_id": 2**31 - 1}, 404, "receipt"),
    ):
        answer = await client.post("/api/activity/claims", json={**good, **change}, headers=director)
        assert_problem(answer, status, fragment)
    # Receipts: not a photo or scan, empty, too large.
    assert_problem(await client.post("/api/activity/receipts", files={"file": ("r.png", b"GIF89a not allowed", "image/png")}, headers=director), 400, "photo or scan")
    assert_problem(await client.post("/api/activity/receipts", files={"file": ("r.png", b"", "image/png")}, headers=director), 400, "empty")
    # A file is what it decodes to, not its first bytes: a web page behind a JPEG's or a PDF's signature, a scan cut short.
    for name, content, kind in (("r.jpg", b"\xff\xd8\xff\xe0<html></html>", "image/jpeg"), ("r.pdf", b"%PDF-1.4\n<html></html>", "application/pdf"), ("r.png", PNG[: len(PNG) // 2], "image/png")):
        refused = await client.post("/api/activity/receipts", files={"file": (name, content, kind)}, headers=director)
        assert_problem(refused, 400, "not a")
        assert "发票" in refused.json()["detail_zh"]
    assert (await client.post("/api/activity/receipts", files={"file": ("r.pdf", scan_pdf(), "application/pdf")}, headers=director)).status_code == 201
    too_large = PNG + b"\x00" * service.fund_rules().receipt_max_bytes
    assert_problem(await client.post("/api/activity/receipts", files={"file": ("r.png", too_large, "image/png")}, headers=director), 413, "limit")
    # Someone who claims nothing: a worker, finance.
    for username in ("ns01-worker", "finance"):
        assert_problem(await client.post("/api/activity/claims", json=good, headers=await login(client, username)), 403)
    assert (await count(db, ActivityClaim), await count(db, ActivityReceipt)) == (claims, receipts + 1)  # the PDF scan kept


async def test_a_retry_files_one_claim_and_a_reused_client_id_is_refused(client, db) -> None:  # type: ignore[no-untyped-def]
    director = await login(client, "ns07-director")
    first, body = await claim(client, director, 66_600, purpose="办公用品", description="打印纸 5 箱及文件夹")
    retry = await client.post("/api/activity/claims", json=body, headers=director)
    assert (first.status_code, retry.status_code) == (201, 200) and retry.json()["id"] == first.json()["id"]
    assert await count(db, ActivityClaim, ActivityClaim.client_id == body["client_id"]) == 1
    holder = first.json()["holder"]
    assert (await fund(client, director, holder))["pending_fen"] >= 66_600
    reused = await client.post("/api/activity/claims", json={**body, "amount_fen": 66_700}, headers=director)
    assert_problem(reused, 409, "client id")


async def test_a_claim_waiting_past_its_deadline_tells_its_approvers_once(client, db) -> None:  # type: ignore[no-untyped-def]
    director = await login(client, "ns08-director")
    made = (await claim(client, director, 99_000, purpose="志愿服务", description="志愿者服务队马甲 20 件"))[0].json()
    from foundation.clock import utc_now

    async with db() as session:
        officer_ids = list((await session.execute(sa.select(User.id).join(Street, Street.id == User.street_id).where(User.role == "street_officer", Street.code == "NS"))).scalars())
        before = (await session.execute(sa.select(sa.func.count()).select_from(Notification).where(Notification.key == f"activity-claim-overdue|{made['id']}|{officer_ids[0]}"))).scalar_one()
        assert before == 0
        mine = sa.select(Notification).where(Notification.key.like(f"activity-claim-overdue|{made['id']}|%"))
        await jobs.remind_overdue_claims(session, made["due_on"], utc_now())
        assert (await session.execute(mine)).scalars().all() == []  # on its last day it is not overdue yet
        late = str(date.fromisoformat(made["due_on"]) + timedelta(days=1))
        told = await jobs.remind_overdue_claims(session, late, utc_now())
        again = await jobs.remind_overdue_claims(session, late, utc_now())
        notices = list((await session.execute(mine)).scalars())
        await session.commit()
    assert told["notices"] >= 1 and again["notices"] == 0
    assert {n.user_id for n in notices} == set(officer_ids) and "超期" in notices[0].title and "慎益大街社区" not in notices[0].title
    assert "志愿服务" in notices[0].body and made["invoice_number"] in notices[0].body
    # Decided by one officer: the reminder leaves every approver's list.
    decided = await client.post(f"/api/activity/claims/{made['id']}/decision", json={"approve": True}, headers=await login(client, "ns-officer"))
    assert decided.status_code == 200, decided.text
    async with db() as session:
        assert (await session.execute(mine.where(Notification.read_at.is_(None)))).scalars().all() == []  # type: ignore[union-attr]


async def test_the_director_claims_on_the_phone_page_and_the_street_approves_on_its_page(client, db) -> None:  # type: ignore[no-untyped-def]
    await page_login(client, "ns09-director")
    home = await client.get("/activity")
    assert home.status_code == 200 and "申请报销" in home.text and "可用余额" in home.text
    token = await csrf(client)
    number = invoice()
    form = {"client_id": uuid.uuid4().hex, "spent_on": str(business_today()), "purpose": "节日慰问", "description": "中秋节慰问独居老人月饼 30 盒", "amount": "1,350.00", "invoice_number": number}
    # Refused in Chinese beside the field, with what was typed kept, and nothing stored.
    wrong = await client.post("/activity/claims", data={**form, "amount": "十元"}, files={"file": ("r.jpg", PNG, "image/jpeg")}, headers={"x-csrftoken": token})
    assert wrong.status_code == 422 and "金额请填写元" in wrong.text and number in wrong.text
    assert await count(db, ActivityClaim, ActivityClaim.invoice_number == number) == 0
    filed = await client.post("/activity/claims", data=form, files={"file": ("r.jpg", PNG, "image/jpeg")}, headers={"x-csrftoken": token})
    assert filed.status_code == 200 and "中秋节慰问独居老人" in filed.text, filed.text[-800:]
    async with db() as session:
        made = (await session.execute(sa.select(ActivityClaim).where(ActivityClaim.invoice_number == number))).scalar_one()
    assert made.amount_fen == 135_000 and made.state == "pending"

    await client.post("/logout", headers={"x-csrftoken": token})
    await page_login(client, "ns-officer")
    desk = await client.get("/activity")
    assert desk.status_code == 200 and f"claim-{made.id}" in desk.text and "待我审批" in desk.text
    token = await csrf(client)
    approved = await client.post(f"/activity/claims/{made.id}/decision", data={"verdict": "approve", "reason": ""}, headers={"x-csrftoken": token})
    assert approved.status_code == 200
    async with db() as session:
        assert (await session.get(ActivityClaim, made.id, populate_existing=True)).state == "approved"  # type: ignore[union-attr]
    # The street's desk issues a holder's statement with its button and gets the PDF.
    statement = await client.post(f"/documents/activity/statements/{made.year}/{made.holder}/statement", headers={"x-csrftoken": token})
    assert statement.status_code == 200 and statement.headers["content-type"] == "application/pdf" and statement.content.startswith(b"%PDF")


async def test_two_claims_racing_for_the_last_money_hold_it_once_and_an_invoice_once(tmp_root) -> None:  # type: ignore[no-untyped-def]
    """Real concurrency, in a database of its own: two directors' sessions at the same moment."""
    url = await migrated_demo_database(tmp_root, "activity_race")
    engine = create_engine(url)
    try:
        factory = create_session_factory(writing(engine))
        async with factory() as session:
            rows = (await session.execute(sa.select(User.id, User.community_id).join(Community, Community.id == User.community_id).where(User.role == "committee_director", Community.code.in_(["NS10", "NS11"])).order_by(Community.code))).all()
        first, second = [Principal(role=Role.COMMITTEE_DIRECTOR, user_id=uid, username=f"director-{cid}", community_id=cid) for uid, cid in rows]

        async def file(who: Principal, amount: int, number: str) -> int | str:
            async with factory() as session:
                upload = await service.upload_receipt(session, _store(tmp_root), who, PNG + uuid.uuid4().bytes)
                data = ClaimIn(client_id=uuid.uuid4().hex, spent_on=business_today(), purpose="文体活动", description="居民运动会奖品和饮用水", amount_fen=amount, invoice_number=number, receipt_id=upload.id)
                try:
                    made, _ = await service.file_claim(session, who, data)
                except (RuleViolation, Conflict) as refused:
                    await session.rollback()
                    return refused.detail
                await session.commit()
                return made.id

        # Bring the first community's fund down to 10,000 yuan, then two claims of 8,000 race for it.
        for _ in range(2):
            assert isinstance(await file(first, 2_000_000, invoice()), int)
        outcome = await asyncio.gather(file(first, 800_000, invoice()), file(first, 800_000, invoice()))
        assert sorted(type(o).__name__ for o in outcome) == ["int", "str"], outcome
        assert any(isinstance(o, str) and "yuan" in o for o in outcome)
        async with factory() as session:
            held = (await session.execute(sa.select(ActivityFund.held_fen).where(ActivityFund.holder == f"community:{first.community_id}", ActivityFund.year == YEAR))).scalar_one()
        assert held == 4_800_000

        # Two communities claim the same invoice at the same moment: one claim, the other refused naming it.
        number = invoice()
        outcome = await asyncio.gather(file(first, 10_000, number), file(second, 10_000, number))
        assert sorted(type(o).__name__ for o in outcome) == ["int", "str"], outcome
        assert any(isinstance(o, str) and number in o and "already claimed" in o for o in outcome)
        async with factory() as session:
            assert (await session.execute(sa.select(sa.func.count()).select_from(ActivityClaim).where(ActivityClaim.invoice_number == number))).scalar_one() == 1
    finally:
        await engine.dispose()


def _store(root: Path):  # type: ignore[no-untyped-def]
    from foundation.storage import FileBlobStore

    return FileBlobStore(root / "race-blobs")


async def test_the_demo_batches_of_the_programmes_are_downloadable_without_making_their_documents_again(client, db) -> None:  # type: ignore[no-untyped-def]
    """The demo issues a batch of activity funds, care vouchers and relief funds as finance does: their documents are
    made with them, so a download answers at once (not 409 until someone POSTs to make them)."""
    finance = await login(client, "finance")
    async with db() as session:
        batches = list((await session.execute(sa.select(ProgrammeBatch).where(ProgrammeBatch.run_id.is_not(None)))).scalars())  # type: ignore[union-attr]
    assert {b.programme for b in batches} >= {CODE, "care", "relief"}, batches
    for batch in batches:
        for document in ("summary.pdf", "lines.xlsx"):
            answer = await client.get(f"/api/programmes/batches/{batch.id}/{document}", headers=finance)
            assert answer.status_code == 200, (batch.programme, document, answer.text)
        # The treasury spreadsheet names each column once: the holder and the payee are not repeated among the
        # programme's own columns.
        sheet = await client.get(f"/api/programmes/batches/{batch.id}/lines.xlsx", headers=finance)
        headers = next(openpyxl.load_workbook(io.BytesIO(sheet.content), read_only=True)["明细"].iter_rows(values_only=True))
        assert len(set(headers)) == len(headers), (batch.programme, headers)


async def test_an_adjustment_of_a_programme_batch_is_shown_under_its_batch_on_the_runs_page(client, db) -> None:  # type: ignore[no-untyped-def]
    """Care vouchers and relief funds: finance corrects a line of the demo's batch; the runs page lists the adjustment
    batch under the batch with its number, total, reason and summary, and that summary downloads."""
    finance = await login(client, "finance")
    adjusted = {}
    for code in ("care", "relief"):
        async with db() as session:
            batch = (await session.execute(sa.select(ProgrammeBatch).where(ProgrammeBatch.programme == code, ProgrammeBatch.run_id.is_not(None)))).scalars().first()  # type: ignore[union-attr]
        assert batch is not None, code
        lines = (await client.get(f"/api/programmes/{code}/runs/{batch.run_id}/lines?page_size=5", headers=finance)).json()["items"]
        body = {"client_id": f"page-adjustment-{code}", "reason": f"{code}复核更正", "corrections": [{"line_id": lines[0]["id"], "amount_fen": lines[0]["amount_fen"] - 1_000}]}
        answer = await adjust(client, f"/api/programmes/{code}", batch.id or 0, body, finance, await login(client, "finance2"))
        adjusted[code] = answer.json()
    await page_login(client, "finance")
    for code, path in (("care", "/care/runs"), ("relief", "/relief/runs")):
        shown = await client.get(path)
        assert shown.status_code == 200, shown.text
        adjustment = adjusted[code]
        for fragment in (f"调整批次 {adjustment['number']}", f"{code}复核更正", "-10.00", f"/documents/programmes/batches/{adjustment['id']}/summary.pdf"):
            assert fragment in shown.text, (code, fragment)
        summary = await client.get(f"/documents/programmes/batches/{adjustment['id']}/summary.pdf")
        assert summary.status_code == 200 and summary.content.startswith(b"%PDF"), summary.text


async def test_a_proposed_correction_waits_on_the_runs_page_for_another_officer_who_approves_it_there(client, db) -> None:  # type: ignore[no-untyped-def]
    finance = await login(client, "finance")
    async with db() as session:
        batch = (await session.execute(sa.select(ProgrammeBatch).where(ProgrammeBatch.programme == "relief", ProgrammeBatch.run_id.is_not(None)))).scalars().first()  # type: ignore[union-attr]
    assert batch is not None
    line = (await client.get(f"/api/programmes/relief/runs/{batch.run_id}/lines?page_size=1", headers=finance)).json()["items"][0]
    body = {"client_id": "page-proposal-relief", "reason": "金额复核追回", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"] - 500}]}
    proposal = (await client.post(f"/api/programmes/relief/batches/{batch.id}/adjustments", json=body, headers=finance)).json()
    await page_login(client, "finance")
    shown = (await client.get("/relief/runs")).text
    assert f'id="proposal-{proposal["id"]}"' in shown and "金额复核追回" in shown and "追回 5.00 元" in shown and "须由其他财政人员审批" in shown
    assert f"/relief/runs/adjustments/{proposal['id']}/approve" not in shown
    await page_login(client, "finance2")
    shown = (await client.get("/relief/runs")).text
    assert f"/relief/runs/adjustments/{proposal['id']}/approve" in shown
    approved = await client.post(f"/relief/runs/adjustments/{proposal['id']}/approve", data={"_csrf_token": await csrf(client)}, follow_redirects=False)
    assert approved.status_code == 303, approved.text
    shown = (await client.get("/relief/runs")).text
    assert f"调整批次 {batch.number}-ADJ01" in shown and f'id="proposal-{proposal["id"]}"' not in shown and "-5.00" in shown


async def test_finance_runs_the_month_s_approved_claims_on_the_activity_runs_page_and_another_officer_checks_it(client, db) -> None:  # type: ignore[no-untyped-def]
    """The demo paid this month's first claims; the claims approved since wait. Finance starts the month's run on the
    page (a supplementary one: the month was run already), may not check its own run, another finance officer checks
    it, and the batch is issued there with its documents. A director or a street officer has no such page."""
    month = f"{business_today():%Y-%m}"
    async def approved_unpaid() -> int:
        async with db() as session:
            paid = sa.select(PaidLine.line_key).where(PaidLine.programme == CODE)
            unpaid = sa.select(sa.func.coalesce(sa.func.sum(ActivityClaim.amount_fen), 0)).where(ActivityClaim.state == "approved", ("claim:" + sa.cast(ActivityClaim.id, sa.String)).not_in(paid))
            return int((await session.execute(unpaid)).scalar_one())

    waiting = await approved_unpaid()
    assert waiting > 0  # the demo's claims approved after its run
    for username in ("ns09-director", "ns-officer"):
        await page_login(client, username)
        assert (await client.get("/activity/runs")).status_code == 403
        client.cookies.clear()

    await page_login(client, "finance")
    assert 'href="/activity/runs"' in (await client.get("/activity")).text
    started = await client.post("/activity/runs/start", data={"period": month, "_csrf_token": await csrf(client)})
    assert started.status_code == 200 and "活动经费核算已发起" in started.text, started.text[-1500:]
    run = re.findall(r'<tr id="run-(\d+)">\s*<td>#\d+（补充）</td>', started.text)
    assert run, started.text[-2500:]
    run_id = int(run[0])
    row = started.text[started.text.index(f"run-{run_id}") :].split("</tr>")[0]
    assert yuan(waiting) in row and "本人发起的核算，须由其他财政人员审核" in row, row
    assert f"/activity/runs/{run_id}/approvals/approve" not in started.text
    # Started again while it is open: refused, in Chinese, and no second run.
    again = await client.post("/activity/runs/start", data={"period": month, "_csrf_token": await csrf(client)})
    assert again.status_code == 409 and "已有一个未拨付的核算" in again.text
    client.cookies.clear()

    await page_login(client, "finance2")
    checked = await client.post(f"/activity/runs/{run_id}/approvals/approve", data={"_csrf_token": await csrf(client)})
    assert checked.status_code == 200 and "审批意见已保存" in checked.text and f"/activity/runs/{run_id}/batch" in checked.text
    issued = await client.post(f"/activity/runs/{run_id}/batch", data={"_csrf_token": await csrf(client)})
    assert issued.status_code == 200 and "拨付批次已生成" in issued.text, issued.text[-1500:]
    async with db() as session:
        batch = (await session.execute(sa.select(ProgrammeBatch).where(ProgrammeBatch.run_id == run_id))).scalar_one()
    assert await approved_unpaid() == 0 and batch.total_fen == waiting and f"批次 {batch.number}" in issued.text
    summary = await client.get(f"/documents/programmes/batches/{batch.id}/summary.pdf")
    assert summary.status_code == 200 and summary.content.startswith(b"%PDF")


async def test_the_proposer_withdraws_a_correction_nobody_approved_and_then_nobody_can_approve_it(client, db) -> None:  # type: ignore[no-untyped-def]
    """A relief correction proposed by mistake: only its proposer withdraws it (on the API or the runs page), it
    leaves the approvers' list and can no longer be approved; an approved one cannot be withdrawn."""
    finance, finance2 = await login(client, "finance"), await login(client, "finance2")
    async with db() as session:
        batch = (await session.execute(sa.select(ProgrammeBatch).where(ProgrammeBatch.programme == "relief", ProgrammeBatch.run_id.is_not(None)))).scalars().first()  # type: ignore[union-attr]
        adjustments_before = (await session.execute(sa.select(sa.func.count()).select_from(ProgrammeBatch).where(ProgrammeBatch.programme == "relief"))).scalar_one()
    assert batch is not None
    line = (await client.get(f"/api/programmes/relief/runs/{batch.run_id}/lines?page_size=1", headers=finance)).json()["items"][0]
    body = {"client_id": "withdrawn-relief-1", "reason": "误提更正", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"] - 300}]}
    proposed = await client.post(f"/api/programmes/relief/batches/{batch.id}/adjustments", json=body, headers=finance)
    assert proposed.status_code == 202, proposed.text
    proposal = proposed.json()
    api = f"/api/programmes/relief/adjustments/{proposal['id']}"
    assert_problem(await client.post(f"{api}/withdraw", headers=finance2), 403, "proposer")  # not theirs
    assert (await client.post(f"{api}/withdraw", headers=await login(client, "xbl-officer"))).status_code == 403
    withdrawn = await client.post(f"{api}/withdraw", headers=finance)
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn", withdrawn.text
    again = await client.post(f"{api}/withdraw", headers=finance)
    assert again.status_code == 200 and again.json() == withdrawn.json()
    assert proposal["id"] not in [p["id"] for p in (await client.get("/api/programmes/relief/adjustments", headers=finance2)).json()]
    assert_problem(await client.post(f"{api}/approve", headers=finance2), 409, "withdrawn")
    async with db() as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(ProgrammeBatch).where(ProgrammeBatch.programme == "relief"))).scalar_one() == adjustments_before

    # On the runs page: the proposer's own proposal has its withdraw button; the colleague's page has none.
    second = (await client.post(f"/api/programmes/relief/batches/{batch.id}/adjustments", json=body | {"client_id": "withdrawn-relief-2"}, headers=finance)).json()
    await page_login(client, "finance2")
    assert f"/relief/runs/adjustments/{second['id']}/withdraw" not in (await client.get("/relief/runs")).text
    client.cookies.clear()
    await page_login(client, "finance")
    shown = (await client.get("/relief/runs")).text
    assert f"/relief/runs/adjustments/{second['id']}/withdraw" in shown
    taken_back = await client.post(f"/relief/runs/adjustments/{second['id']}/withdraw", data={"_csrf_token": await csrf(client)})
    assert taken_back.status_code == 200 and "更正已撤回" in taken_back.text and f'id="proposal-{second["id"]}"' not in taken_back.text
    client.cookies.clear()

    # An approved correction stays: it was issued.
    third = (await client.post(f"/api/programmes/relief/batches/{batch.id}/adjustments", json=body | {"client_id": "withdrawn-relief-3"}, headers=finance)).json()
    assert (await client.post(f"/api/programmes/relief/adjustments/{third['id']}/approve", headers=finance2)).status_code == 201
    assert_problem(await client.post(f"/api/programmes/relief/adjustments/{third['id']}/withdraw", headers=finance), 409, "issued")



async def test_a_month_refused_on_a_runs_page_stays_in_the_form_as_typed(client) -> None:  # type: ignore[no-untyped-def]
    await page_login(client, "finance")
    for runs in ("/activity/runs", "/relief/runs", "/care/runs"):
        refused = await client.post(f"{runs}/start", data={"period": "2026-13", "_csrf_token": await csrf(client)})
        assert refused.status_code == 422 and "月份“2026-13”有误" in refused.text, refused.text[-1500:]
        assert 'name="period" value="2026-13"' in refused.text
        assert 'name="period" value="2026-13"' not in (await client.get(runs)).text  # a fresh page offers the default month
    client.cookies.clear()


async def test_finance_opens_a_claims_receipt_from_its_desk_and_no_one_outside_the_funds_scope_does(client, db) -> None:  # type: ignore[no-untyped-def]
    """The "查看发票" link on the approver's page opens the receipt in the browser (it once led to the API, which
    answered a logged-in page an English 401); the same checks as the API refuse it, in Chinese, to the others."""
    await page_login(client, "finance")
    desk = await client.get("/activity")
    assert desk.status_code == 200 and "待我审批" in desk.text
    address = link_named(desk.text, "查看发票")
    async with db() as session:
        receipt = await session.get(ActivityReceipt, int(address.rsplit("/", 1)[1]))
    assert receipt is not None and receipt.holder.startswith("street:")  # finance decides the streets' claims
    opened = await client.get(address)
    assert opened.status_code == 200 and opened.headers["content-type"].startswith(receipt.content_type)
    assert hashlib.sha256(opened.content).hexdigest() == receipt.sha256 and len(opened.content) == receipt.size_bytes

    # A community's director sees its own community's fund only (not its street's); a company no activity funds.
    await page_login(client, "xbl01-director")
    assert_refused_page(await client.get(address), 404)
    await page_login(client, "company01")
    assert_refused_page(await client.get(address), 403)
    client.cookies.clear()
    assert (await client.get(address, follow_redirects=False)).headers["location"].startswith("/login")
