"""The property subsidy through the API: each day of an estate's month is paid to the company under contract that
day (a contract ended mid-month, a change of company mid-month), a supplementary run pays what became payable and
nothing twice (the database refuses a second payment of an estate-month-contract), the odd fen of a line goes to
the city, and coefficients read as decimal text in the API, the payment notice and the treasury spreadsheet."""

from __future__ import annotations

import io
import math
import re
import subprocess
from datetime import UTC, datetime
from fractions import Fraction

import openpyxl
import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from assessment.tables import CommitteeOpinion
from people.tables import User
from registry.tables import Estate, ServiceContract, Street
from subsidies.engine.tables import PaidLine, ProgrammeLine
from tests.integration.helpers import community_id, estate_ids_of, waiting_on
from tests.integration.test_pages import page_login

QUARTER = "2026-Q2"
MONTHS = ("2026-04", "2026-05", "2026-06")
DAYS = {"2026-04": 30, "2026-05": 31, "2026-06": 30}
# config/RULES.md, "Subsidy: rate cards and coefficients", written out here independently of the code: 0.30 yuan
# per m² and month, coefficient by grade.
RATE_FEN = 30
COEFFICIENT = {"优秀": "1", "良好": "0.95", "合格": "0.85", "不合格": "0.5"}


def fen(area_centi_m2: int, coefficient: str, days: int, days_in_month: int) -> int:
    """area × rate × coefficient × days / days in month, rounded half-up to the fen."""
    exact = Fraction(area_centi_m2, 100) * RATE_FEN * Fraction(coefficient) * Fraction(days, days_in_month)
    return math.floor(exact + Fraction(1, 2))


async def all_lines(client, run_id: int, headers) -> list[dict]:  # type: ignore[no-untyped-def]
    items, page = [], 1
    while True:
        answer = (await client.get(f"/api/subsidies/runs/{run_id}/lines", params={"page": page, "page_size": 200}, headers=headers)).json()
        items += answer["items"]
        if page * answer["page_size"] >= answer["total"]:
            return items
        page += 1


async def pay(client, run: dict, officer, finance, approver) -> dict:  # type: ignore[no-untyped-def]
    """The street confirms, another finance officer than the one who priced the run approves it, finance issues the
    batch. Each step is told to whoever's turn it is, and leaves their list once done."""
    link = f"/subsidies/runs/{run['id']}"

    async def told(headers, title: str) -> bool:  # type: ignore[no-untyped-def]
        return any(n["link"] == link for n in await waiting_on(client, headers, title))

    assert await told(officer, "补贴核算待街道确认")
    assert (await client.post(f"/api/subsidies/runs/{run['id']}/confirm", headers=officer)).status_code == 200
    assert not await told(officer, "补贴核算待街道确认")
    assert await told(approver, "补贴核算待审批") and not await told(finance, "补贴核算待审批")  # not the one who priced it
    assert (await client.post(f"/api/subsidies/runs/{run['id']}/approve", headers=approver)).status_code == 200
    assert not await told(approver, "补贴核算待审批") and await told(finance, "待生成拨付批次")
    batch = await client.post(f"/api/subsidies/runs/{run['id']}/batch", headers=finance)
    assert batch.status_code == 200, batch.text
    assert not await told(finance, "待生成拨付批次")
    return batch.json()


async def elect(client, director, community: int, estates: list[int], company: int, other: int) -> int:  # type: ignore[no-untyped-def]
    """A vote of the estates' households held in May 2026 that elects `company`."""
    vote = await client.post(
        "/api/registry/votes",
        json={"community_id": community, "title": "物业服务企业选聘（改选）", "estate_ids": estates, "candidate_company_ids": [company, other], "opens_on": "2026-05-01", "closes_on": "2026-05-14"},
        headers=director,
    )
    assert vote.status_code == 201, vote.text
    vote = vote.json()
    ballots = [{"household": f"{i // 100 + 1}-1-{i % 100 + 101}", "company_id": company} for i in range(vote["eligible_households"])]
    assert (await client.post(f"/api/registry/votes/{vote['id']}/ballots", json={"ballots": ballots}, headers=director)).status_code == 200
    closed = (await client.post(f"/api/registry/votes/{vote['id']}/close", headers=director)).json()
    assert closed["winner_company_id"] == company
    return vote["id"]


async def sign(client, director, vote_id: int, estate: int, number: str, starts_on: str) -> dict:  # type: ignore[no-untyped-def]
    contract = await client.post(
        "/api/registry/contracts",
        json={"vote_id": vote_id, "contract_number": number, "estate_ids": [estate], "signed_on": "2026-05-15", "starts_on": starts_on, "ends_on": "2028-12-31"},
        headers=director,
    )
    assert contract.status_code == 201, contract.text
    return contract.json()


async def test_each_day_is_paid_to_the_company_under_contract_that_day_once_ever(client, as_user, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin, finance, officer, director = [await as_user(u) for u in ("admin", "finance", "xbl-officer", "xbl01-director")]
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    shude = await community_id(db, "XBL01")
    left, changed, later, *rest = await estate_ids_of(db, "XBL01")
    async with db() as session:
        old = (await session.execute(select(ServiceContract).where(ServiceContract.contract_number == "HPWY-2025-XBL01"))).scalar_one()
        areas = dict((await session.execute(select(Estate.id, Estate.floor_area_centi_m2).where(Estate.community_id == shude))).all())
    new_company = 1 if old.company_id != 1 else 2

    # The committee ends the contract on 05-19 (its last day); one estate leaves long-term management on 05-20; for
    # another the residents chose a new company, under contract from 05-20.
    ended = await client.post(f"/api/registry/contracts/{old.id}/terminate", json={"terminated_on": "2026-05-19", "reason": "合同双方协商提前终止"}, headers=director)
    assert ended.status_code == 200, ended.text
    assert (await client.patch(f"/api/registry/estates/{left}", json={"left_on": "2026-05-20"}, headers=admin)).status_code == 200
    vote_id = await elect(client, director, shude, [changed, later], new_company, old.company_id)
    successor = await sign(client, director, vote_id, changed, "HPWY-2026-XBL01-B", "2026-05-20")

    # The committee's opinion is the months' evidence (92: 优秀, 85: 良好, 75: 合格); the street computes and locks.
    ratings = {left: 92, changed: 85, later: 75}
    async with db() as session:
        for month in MONTHS:
            for estate, rating in ratings.items():
                session.add(CommitteeOpinion(estate_id=estate, community_id=shude, month=month, revision=1, rating=rating, given_at=datetime.now(UTC), given_by="xbl01-director"))
        await session.commit()
    for month in MONTHS:
        assert (await client.post(f"/api/assessment/months/{street}/{month}/compute", headers=officer)).status_code == 200
        assert (await client.post(f"/api/assessment/months/{street}/{month}/lock", headers=officer)).status_code == 200

    # Each month's score belongs to the company that served the estate last in it (A in May for the estate that
    # left on 05-20, where a month-end lookup found nobody), so that company sees and can appeal it.
    owners = {}
    for month in MONTHS[1:]:
        for score in (await client.get(f"/api/assessment/scores?month={month}&street_id={street}", headers=officer)).json():
            owners[(score["estate_id"], month)] = score["company_id"]
    assert owners[(left, "2026-05")] == owners[(later, "2026-05")] == old.company_id
    assert owners[(changed, "2026-05")] == owners[(changed, "2026-06")] == new_company and owners[(later, "2026-06")] is None

    run = await client.post("/api/subsidies/runs", json={"quarter": QUARTER}, headers=finance)
    assert run.status_code == 201, run.text
    run = run.json()
    lines = [line for line in await all_lines(client, run["id"], finance) if line["estate_id"] in ratings]
    got = sorted((line["estate_id"], line["month"], line["company_id"], line["contract_id"], line["days"]) for line in lines)
    a, b = old.company_id, new_company
    assert got == sorted([
        (left, "2026-04", a, old.id, 30), (left, "2026-05", a, old.id, 19),  # nothing after it left
        (changed, "2026-04", a, old.id, 30), (changed, "2026-05", a, old.id, 19), (changed, "2026-05", b, successor["id"], 12), (changed, "2026-06", b, successor["id"], 30),
        (later, "2026-04", a, old.id, 30), (later, "2026-05", a, old.id, 19),
    ])
    for line in lines:
        assert line["grade"] == {92: "优秀", 85: "良好", 75: "合格"}[ratings[line["estate_id"]]]
        assert line["coefficient"] == COEFFICIENT[line["grade"]] and line["days_in_month"] == DAYS[line["month"]]
        assert line["amount_fen"] == fen(areas[line["estate_id"]], line["coefficient"], line["days"], line["days_in_month"])
        assert line["city_fen"] == math.floor(Fraction(line["amount_fen"], 2) + Fraction(1, 2)) and line["city_fen"] + line["district_fen"] == line["amount_fen"]
    # Held out only what cannot be paid: June of the estates with no contract on any day; the rest of 树德里 has no
    # committee opinion, so no score, in April and May.
    held = {(h["estate_id"], h["month"]): h["reason"] for h in run["held_out"] if h["estate_id"] in areas}
    assert held == {(later, "2026-06"): "no_contract"} | {(e, m): "no_score" for e in rest for m in MONTHS[:2]} | {(e, "2026-06"): "no_contract" for e in rest}
    assert not {(e, m) for e, m in held if e in (left, changed)}

    first = await pay(client, run, officer, finance, await as_user("finance2"))
    assert first["lines"] == run["lines"] and first["total_fen"] == run["total_fen"]

    # The company's payment notice and the treasury spreadsheet show the coefficient as people write it.
    async with db() as session:
        username = (await session.execute(select(User.username).where(User.company_id == b))).scalar_one()
    company = await as_user(username)
    notice = await client.get(f"/api/subsidies/batches/{first['id']}/notices/{b}", headers=company)
    assert notice.status_code == 200, notice.text
    (tmp_path / "notice.pdf").write_bytes(notice.content)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "notice.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    assert "0.95" in text and "12/31" in text and "19/20" not in text
    sheet = await client.get(f"/api/subsidies/batches/{first['id']}/lines.xlsx", headers=finance)
    rows = list(openpyxl.load_workbook(io.BytesIO(sheet.content), read_only=True)["明细"].iter_rows(values_only=True))
    column = list(rows[0]).index("系数")
    coefficients = {row[column] for row in rows[1:-1]}
    # A number a spreadsheet can add up (shown as 0.95), never a fraction or text.
    assert 0.95 in coefficients and all(isinstance(c, (int, float)) for c in coefficients), coefficients

    # The new company's contract for the third estate is registered late (from 06-20): a supplementary run pays
    # those 11 days, and nothing already paid.
    late = await sign(client, director, vote_id, later, "HPWY-2026-XBL01-C", "2026-06-20")
    extra = await client.post("/api/subsidies/runs", json={"quarter": QUARTER, "supplementary": True}, headers=finance)
    assert extra.status_code == 201, extra.text
    extra = extra.json()
    added = [(line["estate_id"], line["month"], line["contract_id"], line["days"], line["amount_fen"]) for line in await all_lines(client, extra["id"], finance)]
    assert added == [(later, "2026-06", late["id"], 11, fen(areas[later], "0.85", 11, 30))]
    assert (later, "2026-06") not in {(h["estate_id"], h["month"]) for h in extra["held_out"]}
    await pay(client, extra, officer, finance, await as_user("finance2"))
    # Nothing is left to pay: a third run would have nothing to approve, so it is refused and nothing is stored.
    runs_before = (await client.get("/api/subsidies/runs", headers=finance)).json()["total"]
    again = await client.post("/api/subsidies/runs", json={"quarter": QUARTER, "supplementary": True}, headers=finance)
    assert again.status_code == 422 and again.headers["content-type"].startswith("application/problem+json"), again.text
    assert again.json()["detail"].startswith(f"nothing of {QUARTER} is payable")
    assert (await client.get("/api/subsidies/runs", headers=finance)).json()["total"] == runs_before

    # The database pays an estate's month once per contract: two companies in May, each once, never twice (a line
    # of the draft run priced again would be refused by the primary key).
    async with db() as session:
        paid = list((await session.execute(select(PaidLine).where(PaidLine.programme == "property", PaidLine.line_key.startswith(f"estate:{changed}:2026-05:")))).scalars())  # type: ignore[attr-defined]
        assert sorted(int(p.line_key.rpartition(":")[2]) for p in paid) == sorted([old.id, successor["id"]])
        twice = paid[0]
        original = await session.get(ProgrammeLine, twice.line_id)
        copy = ProgrammeLine(**(original.model_dump(exclude={"id"}) | {"run_id": extra["id"]}))
        session.add(copy)
        await session.flush()
        savepoint = await session.begin_nested()
        with pytest.raises(IntegrityError, match="(?i)programme_paid_lines|pk_programme_paid"):
            await session.execute(insert(PaidLine).values(programme="property", line_key=twice.line_key, batch_id=twice.batch_id, line_id=copy.id))
        await savepoint.rollback()

    # The finance desk lists every street, those with nothing payable too (only 小白楼 locked its months), and groups
    # what was held out by reason, each estate by its name, collapsed; the quarter reads as people write it.
    async with db() as session:  # the officer who confirmed is named by name and post (people.names)
        await session.execute(update(User).where(User.username == "xbl-officer").values(display_name="王芳"))
        await session.commit()
    await page_login(client, "finance")
    shown = (await client.get(f"/subsidies/runs/{run['id']}")).text
    assert "王芳（小白楼街道办）" in shown and "(street_officer)" not in shown
    assert "补贴核算 #" in shown and "2026年第二季度" in shown
    async with db() as session:
        street_names = list((await session.execute(select(Street.name).order_by(Street.id))).scalars())
        other_estate = (await session.execute(select(Estate.name).where(Estate.id == rest[0]))).scalar_one()
    assert all(f"<td>{name}</td>" in shown for name in street_names), street_names
    assert shown.count("无可拨付的区片月") == len(street_names) - 1
    # Each street with nothing payable says why, with the months, so finance knows whom to ask and about what.
    async with db() as session:
        other_street = (await session.execute(select(Street.id).where(Street.code == "NS"))).scalar_one()
    row = re.search(rf'<tr id="street-{other_street}">(.*?)</tr>', shown, re.S).group(1)
    assert "该月考核未锁定（2026年4月、2026年5月、2026年6月）" in row and "个区片月" in row and "无可拨付的区片月" in row, row
    assert '<details class="card" id="held-month_not_locked">' in shown and "<strong>该月考核未锁定</strong>" in shown
    assert '<details class="card" id="held-no_score">' in shown and other_estate in shown
    # The runs list leads to the batch by its number; an issued batch reads as issued, not as money received.
    runs_page = (await client.get("/subsidies/runs")).text
    assert f'<a href="/subsidies/runs/{run["id"]}#batch">{first["number"]}</a>' in runs_page
    assert "已签发拨付批次" in runs_page and "已拨付" not in runs_page
    assert "签发。" in shown and "不记录银行到账" in shown and "已拨付" not in shown

    # The company paid finds its payment notice from its own page (补贴拨付 in its menu).
    await page_login(client, username)
    payments = (await client.get("/subsidies/payments")).text
    notice_link = f"/documents/subsidies/batches/{first['id']}/notices/{b}"
    assert 'href="/subsidies/payments"' in payments and first["number"] in payments and f'href="{notice_link}"' in payments
    assert (await client.get(notice_link)).content.startswith(b"%PDF")
    assert "批次签发时间" in payments and "拨付时间" not in payments
    # Its home and its month's scores lead there too, beside the appeal.
    home = (await client.get("/")).text
    assert 'id="company-links"' in home and 'href="/subsidies/payments"' in home.split('id="company-links"')[1].split("</p>")[0]
    month_page = (await client.get("/assessment", params={"month": "2026-06"})).text
    assert 'href="/subsidies/payments"' in month_page.split('id="company-help"')[1].split("</section>")[0]

