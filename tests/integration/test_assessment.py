"""The monthly assessment through the API: opinions, vetoes and their review, computing, appeals, locking."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader
from sqlalchemy import select

from assessment import jobs, service
from assessment.rules import Ranked, rank
from assessment.schemas import AppealIn
from assessment.tables import CommitteeOpinion, ContractReviewFlag, EstateScore, ScoreRank, Veto
from foundation.db import unit_of_work
from foundation.errors import RuleViolation
from foundation.periods import Month
from foundation.settings import get_settings
from inspections.tables import Defect
from people.tables import User
from registry.tables import Estate
from tests.integration.evidence import approve_late, principal, record_body, upload
from tests.integration.helpers import assert_problem, audit_count, count, estate_ids_of, waiting_on
from tests.integration.test_pages import page_login

MONTH = str(Month.of_instant(datetime.now(UTC)).previous())  # an ended month: evidence filed late into it is its own
IN_MONTH = datetime.fromisoformat(f"{MONTH}-15T10:00:00+08:00").isoformat()


async def street_of(client, headers) -> int:  # type: ignore[no-untyped-def]
    return (await client.get("/api/auth/me", headers=headers)).json()["street_id"]


async def month_with_evidence(client, as_user, db) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A patrol with one failed item and a street inspection for 树德里's first estate in MONTH; the committee's
    opinion 82 with 76 of 100 satisfied. Returns the estate and its street."""
    worker, specialist, director = await as_user("xbl01-worker"), await as_user("xbl-worker1"), await as_user("xbl01-director")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    patrol = await client.post("/api/patrols", json=record_body(estate, failed={"C02": [await upload(client, worker)]}, inspected_at=IN_MONTH), headers=worker)
    assert patrol.status_code == 201, patrol.text
    inspection = await client.post("/api/street-inspections", json=record_body(estate, failed={"C01": [await upload(client, specialist)]}, passed=("G01",), inspected_at=IN_MONTH), headers=specialist)
    assert inspection.status_code == 201, inspection.text
    # Filed more than 48 hours after IN_MONTH: late, so they count once the street officer approves them.
    assert patrol.json()["late"] and inspection.json()["late"]
    for record in (patrol, inspection):
        await approve_late(client, await as_user("xbl-officer"), record.json()["id"])
    opinion = await client.post("/api/assessment/opinions", json={"client_id": "opinion-82-of-100", "estate_id": estate, "month": MONTH, "rating": 82, "satisfied": 76, "answered": 100}, headers=director)
    assert opinion.status_code == 201, opinion.text
    return estate, await street_of(client, await as_user("xbl-officer"))


async def ranks_from_scratch(db, month: str) -> dict[int, tuple[int, int | None, int | None]]:  # type: ignore[no-untyped-def]
    """Every estate's current score of `month` ranked afresh over the whole district (as the month table did on every
    read before ranks were stored): (score id, rank in street, rank in district) by estate."""
    async with db() as session:
        rows = list((await session.execute(select(EstateScore).where(EstateScore.month == month))).scalars())
    current: dict[int, EstateScore] = {}
    for row in rows:
        if row.estate_id not in current or row.version > current[row.estate_id].version:
            current[row.estate_id] = row
    scored = [Ranked(s.estate_id, str(s.estate_id), s.score_centi, s.vetoed, None) for s in current.values() if s.score_centi is not None]
    district = {r.estate_id: n for n, r in rank(scored)}
    street: dict[int, int] = {}
    for street_id in {s.street_id for s in current.values()}:
        street.update({r.estate_id: n for n, r in rank([r for r in scored if current[r.estate_id].street_id == street_id])})
    return {e: (s.id or 0, street.get(e), district.get(e)) for e, s in current.items()}


async def assert_ranks_stored_right(client, as_user, db, month: str = MONTH) -> None:  # type: ignore[no-untyped-def]
    """The stored ranks, and those the API shows the district, are those of a ranking from scratch."""
    expected = await ranks_from_scratch(db, month)
    async with db() as session:
        stored = {r.estate_id: (r.score_id, r.rank_in_street, r.rank_in_district) for r in (await session.execute(select(ScoreRank).where(ScoreRank.month == month))).scalars()}
    assert stored == expected
    shown = (await client.get(f"/api/assessment/scores?month={month}", headers=await as_user("admin"))).json()
    assert {s["estate_id"]: (s["id"], s["rank_in_street"], s["rank_in_district"]) for s in shown} == expected


async def test_the_street_computes_publishes_and_shows_each_score_with_its_breakdown_and_rank(client, as_user, db) -> None:
    estate, street = await month_with_evidence(client, as_user, db)
    officer = await as_user("xbl-officer")
    computed = await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer)
    assert computed.status_code == 200, computed.text
    assert computed.json()["state"] == "computed" and computed.json()["new_versions"] == computed.json()["estates"]
    await assert_ranks_stored_right(client, as_user, db)
    scores = (await client.get(f"/api/assessment/scores?month={MONTH}", headers=officer)).json()
    mine = next(s for s in scores if s["estate_id"] == estate)
    # street inspection 100 − 2 (C01) = 98; patrol: the C02 defect is not yet overdue → 100; committee 82; satisfaction 76
    # (25 × 98 + 15 × 100 + 30 × 82 + 10 × 76) / 80 = 7170 / 80 = 89.625 → 89.63, 良好; no spot check this month.
    assert (mine["score"], mine["grade"], mine["vetoed"]) == ("89.63", "良好", False)
    assert mine["rank_in_street"] >= 1 and mine["rank_in_district"] >= mine["rank_in_street"]
    # The street's estates with no evidence have no score and no rank (not a shared rank of their own).
    unscored = [s for s in scores if s["score"] is None]
    assert unscored and all(s["rank_in_street"] is None and s["rank_in_district"] is None for s in unscored)
    detail = (await client.get(f"/api/assessment/scores/{estate}/{MONTH}", headers=await as_user("xbl01-director"))).json()
    lines = detail[0]["result"]["lines"]
    assert any(line["item"] == "C01" and line["points"] == "-2.00" and line["effect"] == "-0.6250" for line in lines)
    assert detail[0]["result"]["missing"] == ["spot_check"]
    # Recomputing with nothing new makes no new version.
    again = (await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer)).json()
    assert again["new_versions"] == 0
    await assert_ranks_stored_right(client, as_user, db)
    # Scope: another street's officer sees nothing of it; a company sees its own estates only.
    assert [s for s in (await client.get(f"/api/assessment/scores?month={MONTH}", headers=await as_user("xx-officer"))).json() if s["street_id"] == street] == []
    assert_problem(await client.get(f"/api/assessment/scores/{estate}/{MONTH}", headers=await as_user("xx01-director")), 404)
    assert_problem(await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=await as_user("xx-officer")), 403)
    this_month = str(Month.parse(MONTH).next())
    assert_problem(await client.post(f"/api/assessment/months/{street}/{this_month}/compute", headers=officer), 422, "not ended")


async def test_a_veto_blocks_the_lock_until_reviewed_and_an_upheld_veto_fails_the_month(client, as_user, db) -> None:
    estate, street = await month_with_evidence(client, as_user, db)
    director, officer = await as_user("xbl01-director"), await as_user("xbl-officer")
    await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer)
    veto_body = {"estate_id": estate, "month": MONTH, "reason": "gate_unattended", "explanation": "夜间门岗连续三晚无人", "evidence_photo_ids": [await upload(client, director)]}
    assert_problem(await client.post("/api/assessment/vetoes", json=veto_body, headers=await as_user("xbl02-director")), 403, "树德里")
    assert_problem(await client.post("/api/assessment/vetoes", json=veto_body | {"reason": "dislike"}, headers=director), 422, "reason must be one of")
    veto = await client.post("/api/assessment/vetoes", json=veto_body, headers=director)
    assert veto.status_code == 201, veto.text
    assert veto.json()["state"] == "pending" and veto.json()["review_due_on"] > veto.json()["cast_at"][:10]
    # The street's officer is told it waits on them (and the other street's officer is not).
    told = [n for n in await waiting_on(client, officer, "一票否决待审核") if n["link"].endswith(f"veto-{veto.json()['id']}")]
    assert len(told) == 1 and "夜间门岗连续三晚无人" in told[0]["body"] and veto.json()["review_due_on"] in told[0]["body"]
    assert not [n for n in await waiting_on(client, await as_user("xx-officer"), "一票否决待审核") if n["link"].endswith(f"veto-{veto.json()['id']}")]
    # The street's month table says the estate's grade waits on a veto, and of that estate only.
    await page_login(client, "xbl-officer")
    table = (await client.get(f"/assessment?month={MONTH}")).text
    assert table.count('class="veto-pending"') == 1
    client.cookies.clear()

    assert_problem(await client.post(f"/api/assessment/months/{street}/{MONTH}/lock", headers=officer), 422, "pending")
    assert_problem(await client.post(f"/api/assessment/vetoes/{veto.json()['id']}/review", json={"uphold": True, "reason": "核实属实"}, headers=await as_user("xx-officer")), 404)
    reviewed = await client.post(f"/api/assessment/vetoes/{veto.json()['id']}/review", json={"uphold": True, "reason": "经核实，门岗确无人值守"}, headers=officer)
    assert reviewed.status_code == 200 and reviewed.json()["state"] == "upheld"
    assert not [n for n in await waiting_on(client, officer, "一票否决待审核") if n["link"].endswith(f"veto-{veto.json()['id']}")]  # done: no longer waiting
    assert_problem(await client.post(f"/api/assessment/vetoes/{veto.json()['id']}/review", json={"uphold": False, "reason": "再议"}, headers=officer), 409)
    versions = (await client.get(f"/api/assessment/scores/{estate}/{MONTH}", headers=officer)).json()
    assert [(v["version"], v["grade"], v["vetoed"]) for v in versions] == [(2, "不合格", True), (1, "良好", False)]
    # The vetoed estate now ranks after every estate that was not vetoed; the stored ranks followed.
    assert versions[0]["rank_in_street"] == max(r for _, r, _ in (await ranks_from_scratch(db, MONTH)).values() if r is not None)
    assert versions[1]["rank_in_street"] is None  # an older version has no rank of its own
    await assert_ranks_stored_right(client, as_user, db)
    assert versions[0]["score"] == versions[1]["score"]  # the points stand; the grade does not

    locked = await client.post(f"/api/assessment/months/{street}/{MONTH}/lock", headers=officer)
    assert locked.status_code == 200 and locked.json()["state"] == "locked"
    # Each company scored in the month is told its scores are final; once, whoever locks it again.
    company_id = versions[0]["company_id"]
    async with db() as session:
        company_user = (await session.execute(select(User.username).where(User.company_id == company_id))).scalar_one()
    final = await waiting_on(client, await as_user(company_user), "考核已锁定")
    assert len(final) == 1 and "最终结果" in final[0]["body"]
    await assert_ranks_stored_right(client, as_user, db)
    assert_problem(await client.post("/api/assessment/opinions", json={"client_id": "opinion-after-lock", "estate_id": estate, "month": MONTH, "rating": 90}, headers=director), 409, "locked")
    assert_problem(await client.post("/api/assessment/vetoes", json=veto_body, headers=director), 409, "locked")
    assert_problem(await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer), 409, "locked")
    for action in ("veto.opened", "veto.upheld", "month.computed", "month.locked"):
        assert await audit_count(db, action) >= 1, action


async def test_a_company_appeals_its_own_score_within_the_window_and_an_upheld_appeal_recomputes_it(client, as_user, db) -> None:
    estate, street = await month_with_evidence(client, as_user, db)
    officer = await as_user("xbl-officer")
    await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer)
    company_id = (await client.get(f"/api/assessment/scores/{estate}/{MONTH}", headers=officer)).json()[0]["company_id"]
    async with db() as session:
        defect_id = (await session.execute(select(Defect.id).where(Defect.estate_id == estate, Defect.source == "street_inspection"))).scalar_one()
        company_user = (await session.execute(select(User.username).where(User.company_id == company_id))).scalar_one()
    company = await as_user(company_user)
    body = {"estate_id": estate, "month": MONTH, "reason": "检查当日垃圾已清运，有照片为证", "defect_id": defect_id}
    assert_problem(await client.post("/api/assessment/appeals", json=body | {"estate_id": (await estate_ids_of(db, "XX01"))[0]}, headers=company), 404)
    appeal = await client.post("/api/assessment/appeals", json=body, headers=company)
    assert appeal.status_code == 201, appeal.text
    assert [n["link"] for n in await waiting_on(client, officer, "申诉待答复")] == [f"/assessment/appeals#appeal-{appeal.json()['id']}"]
    assert_problem(await client.post(f"/api/assessment/months/{street}/{MONTH}/lock", headers=officer), 422, "appeal")
    answered = await client.post(f"/api/assessment/appeals/{appeal.json()['id']}/answer", json={"uphold": True, "reason": "照片证实已清运"}, headers=officer)
    assert answered.status_code == 200 and answered.json()["state"] == "upheld"
    assert await waiting_on(client, officer, "申诉待答复") == []
    versions = (await client.get(f"/api/assessment/scores/{estate}/{MONTH}", headers=company)).json()
    assert [v["score"] for v in versions] == ["90.25", "89.63"]  # (25 × 100 + 15 × 100 + 30 × 82 + 10 × 76) / 80 = 90.25
    assert versions[0]["grade"] == "优秀" and "appeal" in versions[0]["reason"]
    await assert_ranks_stored_right(client, as_user, db)
    assert await audit_count(db, "appeal.upheld") == 1

    # Out of the window: refused.
    async with unit_of_work(db) as session:
        late = datetime.now(UTC) + timedelta(days=30)
        try:
            await service.file_appeal(session, await principal(db, company_user), AppealIn(estate_id=estate, month=MONTH, reason="补充申诉理由"), now=late)
        except RuleViolation as refused:
            assert "window" in refused.detail
        else:
            raise AssertionError("an appeal after the window was accepted")


async def test_two_upheld_vetoes_within_twelve_months_flag_the_contract(client, as_user, db) -> None:
    estate, street = await month_with_evidence(client, as_user, db)
    director, officer = await as_user("xbl01-director"), await as_user("xbl-officer")
    earlier = str(Month.parse(MONTH).previous())
    for month in (earlier, MONTH):
        veto = await client.post(
            "/api/assessment/vetoes",
            json={"estate_id": estate, "month": month, "reason": "refused_rectification", "explanation": "多次通知拒不整改", "evidence_photo_ids": [await upload(client, director)]},
            headers=director,
        )
        await client.post(f"/api/assessment/vetoes/{veto.json()['id']}/review", json={"uphold": True, "reason": "核实属实"}, headers=officer)
    async with db() as session:
        flags = (await session.execute(select(ContractReviewFlag))).scalars().all()
        contract = (await session.execute(select(Veto.contract_id).where(Veto.estate_id == estate))).scalars().first()
    assert [f.contract_id for f in flags] == [contract]


async def test_a_third_overdue_rectification_opens_an_automatic_veto_case(client, as_user, db) -> None:
    estate, street = await month_with_evidence(client, as_user, db)
    worker = await as_user("xbl01-worker")
    patrol = record_body(estate, failed={code: [await upload(client, worker)] for code in ("C03", "C04", "C05")}, passed=(), inspected_at=IN_MONTH)
    filed = (await client.post("/api/patrols", json=patrol, headers=worker)).json()
    defect_ids = filed["defect_ids"]
    await approve_late(client, await as_user("xbl-officer"), filed["id"])
    from foundation.access import SYSTEM
    from inspections import defects as defect_service

    async with unit_of_work(db) as session:
        deadline = (await session.get(Defect, defect_ids[0])).deadline_at
        marked = await defect_service.mark_overdue(session, SYSTEM, now=deadline + timedelta(hours=1))
    assert len(marked.third_overdue_defect_ids) >= 1
    overdue_month = str(Month.of_instant(deadline))
    if Month.parse(overdue_month) >= Month.of_instant(datetime.now(UTC)):
        async with unit_of_work(db) as session:
            await service.open_automatic_vetoes(session, await principal(db, "xbl-officer"), street, Month.parse(overdue_month))
            await session.commit()
    else:
        await client.post(f"/api/assessment/months/{street}/{overdue_month}/compute", headers=await as_user("xbl-officer"))
    assert await count(db, Veto, Veto.automatic.is_(True), Veto.reason_code == "third_overdue") == 1


async def test_evidence_filed_after_its_month_was_locked_counts_in_the_next_month_and_says_so(client, as_user, db) -> None:
    estate, street = await month_with_evidence(client, as_user, db)
    officer, specialist = await as_user("xbl-officer"), await as_user("xbl-worker1")
    await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer)
    assert (await client.post(f"/api/assessment/months/{street}/{MONTH}/lock", headers=officer)).status_code == 200
    late = record_body(estate, failed={"G02": [await upload(client, specialist)]}, passed=("G01",), inspected_at=IN_MONTH)
    late_id = (await client.post("/api/street-inspections", json=late, headers=specialist)).json()["id"]
    locked = (await client.get(f"/api/assessment/scores/{estate}/{MONTH}", headers=officer)).json()
    assert len(locked) == 1  # the locked month did not change
    next_month = Month.parse(MONTH).next()
    month_end = datetime.combine(next_month.next().first_day, datetime.min.time(), tzinfo=UTC)
    # Late (filed more than 48 hours after its claimed time) and not yet approved: it counts nowhere.
    async with unit_of_work(db) as session:
        await service.compute_month(session, await principal(db, "xbl-officer"), street, next_month, now=month_end)
    [pending] = (await client.get(f"/api/assessment/scores/{estate}/{next_month}", headers=officer)).json()
    assert not any(line["record_id"] == late_id for line in pending["result"]["lines"])
    await approve_late(client, officer, late_id)
    async with unit_of_work(db) as session:
        await service.compute_month(session, await principal(db, "xbl-officer"), street, next_month, now=month_end)
    assert len((await client.get(f"/api/assessment/scores/{estate}/{MONTH}", headers=officer)).json()) == 1  # still unchanged
    score = (await client.get(f"/api/assessment/scores/{estate}/{next_month}", headers=officer)).json()[0]
    notes = [line["note"] for line in score["result"]["lines"] if line["record_id"] == late_id]
    assert notes and all(f"原属 {MONTH}" in note for note in notes)
    assert any(line["item"] == "G02" and line["points"] == "-1.00" for line in score["result"]["lines"])
    await assert_ranks_stored_right(client, as_user, db, str(next_month))


async def test_the_estate_report_pdf_shows_the_breakdown_and_the_photos_behind_it(client, as_user, db, tmp_root) -> None:
    import subprocess

    from inspections.tables import Attachment

    estate, street = await month_with_evidence(client, as_user, db)
    await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=await as_user("xbl-officer"))
    report = await client.post(f"/api/assessment/scores/{estate}/{MONTH}/report.pdf", headers=await as_user("xbl01-director"))
    assert report.status_code == 200 and report.headers["content-type"] == "application/pdf"
    path = tmp_root / "estate-report.pdf"
    path.write_bytes(report.content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    async with db() as session:
        shas = (await session.execute(select(Attachment.sha256))).scalars().all()
    assert "月度考核报告" in text and "89.63" in text and "良好" in text and "C01" in text
    async with db() as session:  # who gave the committee's opinion: the person by name and post
        director = (await session.execute(select(User.display_name).where(User.username == "xbl01-director"))).scalar_one()
    assert f"{director}（树德里社区居委会主任）" in "".join(text.split()) and "xbl01-director" not in text
    # Each deduction names the fault found (the note written on the failed item), with the item it was found on.
    assert "C01不合格（C01生活垃圾日产日清）" in "".join(text.split())
    # The photos behind the deductions are in it as pictures under their record, not as hashes.
    assert shas and not any(sha[:12] in text for sha in shas) and "记录 #" in text
    assert [image for page in PdfReader(io.BytesIO(report.content)).pages for image in page.images]
    assert (await client.post(f"/api/assessment/scores/{estate}/{MONTH}/report.pdf", headers=await as_user("xx01-director"))).status_code == 404


async def test_a_resent_opinion_is_given_once_and_a_reused_client_id_is_refused(client, as_user, db) -> None:
    director = await as_user("xbl01-director")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    audited = await audit_count(db, "opinion.given")
    body = {"client_id": "phone-opinion-0001", "estate_id": estate, "month": MONTH, "rating": 88, "satisfied": 40, "answered": 50}
    first = await client.post("/api/assessment/opinions", json=body, headers=director)
    assert first.status_code == 201, first.text
    again = await client.post("/api/assessment/opinions", json=body, headers=director)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.json()["revision"] == 1 and again.json()["client_id"] == "phone-opinion-0001"
    assert_problem(await client.post("/api/assessment/opinions", json=body | {"rating": 60}, headers=director), 409, "different body")
    other_director = await as_user("xbl02-director")
    other_estate = (await estate_ids_of(db, "XBL02"))[0]
    assert_problem(await client.post("/api/assessment/opinions", json=body | {"estate_id": other_estate}, headers=other_director), 409, "already used")
    second = await client.post("/api/assessment/opinions", json=body | {"client_id": "phone-opinion-0002", "rating": 70}, headers=director)
    assert second.status_code == 201 and second.json()["revision"] == 2
    assert await count(db, CommitteeOpinion, CommitteeOpinion.estate_id == estate, CommitteeOpinion.month == MONTH) == 2
    assert await audit_count(db, "opinion.given") == audited + 2


async def test_a_month_without_any_evidence_cannot_be_locked_and_the_desk_confirms_what_a_lock_locks(client, as_user, db) -> None:
    from tests.integration.test_role_pages import csrf

    officer = await as_user("xbl-officer")
    street = await street_of(client, officer)
    assert (await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer)).status_code == 200
    computed = await audit_count(db, "month.computed")
    # Nothing filed for the month: the lock is refused, in English and Chinese, saying what to do; nothing is kept.
    body = assert_problem(await client.post(f"/api/assessment/months/{street}/{MONTH}/lock", headers=officer), 422, "no evidence", "compute it again")
    assert "不能锁定" in body["detail_zh"] and "请先录入本月证据" in body["detail_zh"]
    assert (await client.get(f"/api/assessment/months/{street}/{MONTH}", headers=officer)).json()["state"] == "computed"
    assert await audit_count(db, "month.computed") == computed and await audit_count(db, "month.locked") == 0
    await page_login(client, "xbl-officer")
    token = await csrf(client)
    confirm = await client.get(f"/assessment/lock/{MONTH}")
    assert confirm.status_code == 200 and "都没有任何考核证据" in confirm.text and 'id="lock-scored">0<' in confirm.text
    assert re.search(r'id="confirm-lock"[^>]*disabled', confirm.text)
    refused = await client.post(f"/assessment/months/{MONTH}/lock", data={"confirmed": "yes", "_csrf_token": token})
    assert refused.status_code == 422 and "不能锁定" in refused.text
    assert await audit_count(db, "month.locked") == 0
    # The month's desk says the same, by the same rule: its lock button is off, with the reason beside it.
    desk = (await client.get(f"/assessment?month={MONTH}")).text
    assert re.search(r'id="lock"[^>]*disabled', desk) and "都没有任何考核证据" in desk[desk.index('id="blockers"') :]

    # With evidence: the desk's lock button first shows what will be locked; only the confirmation locks.
    estate, _ = await month_with_evidence(client, as_user, db)
    assert (await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer)).status_code == 200
    shown = await client.post(f"/assessment/months/{MONTH}/lock", data={"_csrf_token": token})
    assert shown.status_code == 200 and f"确认锁定 {MONTH} 月度考核" in shown.text
    # It says what a lock does: the scores become final for the subsidy, later evidence goes to the next open month.
    effect = re.search(r'<ul id="lock-effect">.*?</ul>', shown.text, re.S)
    assert effect and "最终结果，作为核拨补贴的依据" in effect.group(0) and "计入下一个未锁定的月份" in effect.group(0)
    assert not re.search(r'id="confirm-lock"[^>]*disabled', shown.text)
    found = {key: int(value) for key, value in re.findall(r'id="lock-(estates|scored|vetoes)">(\d+)<', shown.text)}
    assert found["scored"] == 1 and found["vetoes"] == 0 and found["estates"] > 1, found
    assert (await client.get(f"/api/assessment/months/{street}/{MONTH}", headers=officer)).json()["state"] == "computed"
    locked = await client.post(f"/assessment/months/{MONTH}/lock", data={"confirmed": "yes", "_csrf_token": token})
    assert locked.status_code == 200 and f"{MONTH} 月度考核已锁定" in locked.text
    assert (await client.get(f"/api/assessment/months/{street}/{MONTH}", headers=officer)).json()["state"] == "locked"
    assert estate


async def test_the_officer_reviews_several_vetoes_at_once_all_or_nothing(client, as_user, db) -> None:
    from tests.integration.test_role_pages import csrf

    _, street = await month_with_evidence(client, as_user, db)
    director, officer = await as_user("xbl01-director"), await as_user("xbl-officer")
    assert (await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer)).status_code == 200
    estates = (await estate_ids_of(db, "XBL01"))[:3]
    ids = []
    for estate in estates:
        veto = await client.post(
            "/api/assessment/vetoes",
            json={"estate_id": estate, "month": MONTH, "reason": "refused_rectification", "explanation": "多次通知拒不整改", "evidence_photo_ids": [await upload(client, director)]},
            headers=director,
        )
        assert veto.status_code == 201, veto.text
        ids.append(veto.json()["id"])
    # A veto of another street: not the officer's to review (scope is checked per veto).
    elsewhere_director = await as_user("xx01-director")
    elsewhere = await client.post(
        "/api/assessment/vetoes",
        json={"estate_id": (await estate_ids_of(db, "XX01"))[0], "month": MONTH, "reason": "refused_rectification", "explanation": "多次通知拒不整改", "evidence_photo_ids": [await upload(client, elsewhere_director)]},
        headers=elsewhere_director,
    )
    assert elsewhere.status_code == 201, elsewhere.text
    foreign = elsewhere.json()["id"]
    # The third is reviewed meanwhile (another officer's desk, by the API).
    assert (await client.post(f"/api/assessment/vetoes/{ids[2]}/review", json={"uphold": False, "reason": "误报"}, headers=officer)).status_code == 200
    async with db() as session:
        named = {e.id: e.name for e in (await session.execute(select(Estate).where(Estate.id.in_(estates)))).scalars()}
    names = {v: named[e] for v, e in zip(ids, estates, strict=True)}
    await page_login(client, "xbl-officer")
    token = await csrf(client)
    desk = await client.get("/assessment/vetoes")
    assert 'id="batch"' in desk.text and all(f'name="veto_id" value="{i}"' in desk.text for i in ids[:2])
    # Below the last card, the way back to the batch form (its reason and buttons are at the top of a long list).
    assert re.search(r'<p class="batch-return" id="batch-return"><a href="#batch-review">[^<]*共 2 项待审核', desk.text)
    upheld = await audit_count(db, "veto.upheld")

    async def states() -> dict[int, tuple[str, str | None]]:
        async with db() as session:
            return {v.id: (v.state, v.review_reason) for v in (await session.execute(select(Veto).where(Veto.id.in_([*ids, foreign])))).scalars()}

    before = await states()
    # Nothing ticked, or no reason: refused in Chinese, what was ticked stays ticked, nothing stored.
    none = await client.post("/assessment/vetoes/review", data={"verdict": "uphold", "reason": "核实", "_csrf_token": token})
    assert none.status_code == 422 and "请先勾选要审核的一票否决" in none.text
    blank = await client.post("/assessment/vetoes/review", data={"veto_id": [str(ids[0])], "verdict": "uphold", "reason": " ", "_csrf_token": token})
    assert blank.status_code == 422 and "请写明审核理由" in blank.text and re.search(rf'value="{ids[0]}"[^>]*checked', blank.text)
    # One of the ticked already reviewed, one of another street: none is decided, each refused one is named with
    # its reason, the ticks stay and the refused card says why.
    mixed = await client.post("/assessment/vetoes/review", data={"veto_id": [str(i) for i in (*ids, foreign)], "verdict": "uphold", "reason": "经街道核实，拒不整改属实", "_csrf_token": token})
    assert mixed.status_code == 409, mixed.text
    assert "本次未审核任何一项" in mixed.text and f"{names[ids[2]]} #{ids[2]}：该否决已被审核过" in mixed.text and f"#{foreign}：" in mixed.text
    assert all(re.search(rf'value="{i}"[^>]*checked', mixed.text) for i in ids[:2])
    assert f'id="batch-refused-{ids[0]}"' not in mixed.text
    assert await states() == before and await audit_count(db, "veto.upheld") == upheld
    # The API's batch: the same rule, answered as a problem naming each refused veto; nothing decided.
    body = {"veto_ids": [ids[0], ids[2]], "uphold": True, "reason": "经街道核实"}
    problem = assert_problem(await client.post("/api/assessment/vetoes/review", json=body, headers=officer), 409, f"veto {ids[2]}", "nothing was decided")
    assert f"#{ids[2]}：该否决已被审核过" in problem["detail_zh"]
    assert_problem(await client.post("/api/assessment/vetoes/review", json=body | {"veto_ids": []}, headers=officer), 400)
    assert_problem(await client.post("/api/assessment/vetoes/review", json=body | {"veto_ids": [ids[0]]}, headers=director), 403)
    assert await states() == before and await audit_count(db, "veto.upheld") == upheld
    # The two left ticked: both decided with the one reason, each audited on its own, the month recomputed once.
    done = await client.post("/assessment/vetoes/review", data={"veto_id": [str(i) for i in ids[:2]], "verdict": "uphold", "reason": "经街道核实，拒不整改属实", "_csrf_token": token})
    assert done.status_code == 200
    flash = re.search(r'class="flash[^"]*"[^>]*>([^<]+)<', done.text)
    assert flash, done.text
    assert "已维持 2 项一票否决" in flash.group(1) and names[ids[0]] in flash.group(1) and names[ids[1]] in flash.group(1)
    assert await states() == before | {ids[0]: ("upheld", "经街道核实，拒不整改属实"), ids[1]: ("upheld", "经街道核实，拒不整改属实")}
    assert await audit_count(db, "veto.upheld") == upheld + 2
    latest = (await client.get(f"/api/assessment/scores/{estates[0]}/{MONTH}", headers=officer)).json()[0]
    assert latest["vetoed"] and latest["reason"] == "vetoes reviewed together"
    assert "批量审核一票否决后重算" in (await client.get(f"/assessment/scores/{estates[1]}/{MONTH}")).text


async def test_the_breakdown_shows_the_fault_found_weights_in_one_unit_and_the_rules_by_version(client, as_user, db) -> None:
    estate, street = await month_with_evidence(client, as_user, db)
    assert (await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=await as_user("xbl-officer"))).status_code == 200
    await page_login(client, "xbl-officer")
    shown = await client.get(f"/assessment/scores/{estate}/{MONTH}")
    assert shown.status_code == 200
    lines = shown.text[shown.text.index('id="lines"') :]
    # The C01 line says what the inspector found (the item's note), with the standard it failed below it.
    assert "<strong>C01 不合格</strong>" in lines and "检查项：" in lines
    # Weights as percentages, two decimals each: 25 of 100, and 25 of the 80 present (no spot check) = 31.25 %.
    assert ">25.00%<" in shown.text and ">31.25%<" in shown.text and ">0.3125<" not in shown.text
    assert not re.search(r">\d+%<", shown.text)  # no whole-number percentage beside the two-decimal ones
    # Points with two decimals throughout the lines (the effect on the total too, not "-0.0781"); the 说明 column
    # counts the faults instead of naming the item by its code; no file names of the configuration.
    assert re.findall(r'class="num"[^>]*>(-?\d+\.\d+)<', lines) and all(re.fullmatch(r"-?\d+\.\d\d", v) for v in re.findall(r'class="num"[^>]*>(-?\d+\.\d+)<', lines))
    assert "C01 ×" not in lines and "1 处" in lines and "config/" not in shown.text
    # The rules by their version; the checksums only inside the folded 核验信息.
    assert "考核规则 2026.1 版" in shown.text
    details = re.search(r'<details[^>]*id="fingerprints".*?</details>', shown.text, re.S)
    checksums = [(await client.get(f"/api/assessment/scores/{estate}/{MONTH}", headers=await as_user("xbl-officer"))).json()[0][key][:12] for key in ("rules_sha256", "inputs_sha256")]
    assert details and all(c in details.group(0) and c not in shown.text.replace(details.group(0), "") for c in checksums)


async def test_ranks_follow_every_street_computed_and_the_month_table_pages_through_the_district(client, as_user, db) -> None:
    """A second street's computation moves the first street's district ranks; the scheduled job ranks the district
    once after every street; the API and the month table page through the district in rank order."""
    estate, street = await month_with_evidence(client, as_user, db)
    assert (await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=await as_user("xbl-officer"))).status_code == 200
    await assert_ranks_stored_right(client, as_user, db)
    # Evidence in another street: a patrol with a failed item makes its estate scored, ranked in the district.
    worker = await as_user("xx01-worker")
    other = (await estate_ids_of(db, "XX01"))[0]
    filed = await client.post("/api/patrols", json=record_body(other, failed={"C02": [await upload(client, worker)]}, inspected_at=IN_MONTH), headers=worker)
    await approve_late(client, await as_user("xx-officer"), filed.json()["id"])
    async with unit_of_work(db) as session:
        done = await jobs.compute_last_month(session, MONTH, datetime.now(UTC))
    assert done["ranks_written"] >= 1
    await assert_ranks_stored_right(client, as_user, db)
    every = (await client.get(f"/api/assessment/scores?month={MONTH}", headers=await as_user("admin"))).json()
    assert [s["rank_in_district"] for s in every if s["rank_in_district"] is not None] == sorted(s["rank_in_district"] for s in every if s["rank_in_district"] is not None)
    paged = [
        s["estate_id"]
        for n in (1, 2, 3)
        for s in (await client.get(f"/api/assessment/scores?month={MONTH}&page={n}&page_size=2", headers=await as_user("admin"))).json()
    ]
    assert paged == [s["estate_id"] for s in every[:6]]
    assert_problem(await client.get(f"/api/assessment/scores?month={MONTH}&page=0", headers=await as_user("admin")), 400)
    # The month table: a page of the district at a time, with links to the others.
    await page_login(client, "admin")
    first = (await client.get(f"/assessment?month={MONTH}")).text
    assert f"共 {len(every)} 个区片" in first and "下一页" in first and f"page_no=2&amp;month={MONTH}" in first
    size = get_settings().month_table_page_size
    last_page = -(-len(every) // size)
    last = (await client.get(f"/assessment?month={MONTH}&page_no={last_page}")).text
    assert "上一页" in last and "下一页" not in last
    shown = '<small class="muted">{}</small>'.format
    assert shown(every[(last_page - 1) * size]["estate_code"]) in last and shown(every[0]["estate_code"]) not in last
    assert shown(every[0]["estate_code"]) in first


async def test_the_migration_ranks_the_scores_an_earlier_release_computed(tmp_root) -> None:  # type: ignore[no-untyped-def]
    """Scores stored before ranks were (two streets, ties, a vetoed month, an unscored one, a second version) get
    the ranks of a ranking from scratch when the database is upgraded."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import insert, text

    from foundation.db import create_engine, create_session_factory
    from foundation.settings import PROJECT_ROOT
    from tests.database import migrated_demo_database

    url = await migrated_demo_database(tmp_root, "ranks_upgrade")
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    await asyncio.to_thread(command.downgrade, config, "0045-1")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            estates = (
                await connection.execute(text("SELECT e.id, e.community_id, c.street_id FROM estates e JOIN communities c ON c.id = e.community_id ORDER BY c.street_id, e.id"))
            ).all()
            two_streets = [e for e in estates if e[2] == estates[0][2]][:5] + [e for e in estates if e[2] != estates[0][2]][:4]
            scores = [(9000, False), (9000, False), (9550, True), (None, False), (8000, False), (8000, False), (8800, False), (8800, True), (None, True)]
            rows = [
                {
                    "estate_id": estate_id, "community_id": community_id, "street_id": street_id, "company_id": None, "month": MONTH, "version": 1,
                    "rules_sha256": "r" * 64, "inputs_sha256": "i" * 64, "score_centi": score, "grade": "良好", "vetoed": vetoed, "result": {},
                    "computed_at": datetime.now(UTC), "reason": "first computation",
                }
                for (estate_id, community_id, street_id), (score, vetoed) in zip(two_streets, scores, strict=True)
            ]
            # The first estate's second version (lower) is the current one.
            rows.append(rows[0] | {"version": 2, "score_centi": 6000, "inputs_sha256": "j" * 64, "reason": "appeal 1 upheld"})
            await connection.execute(insert(EstateScore), rows)
        await asyncio.to_thread(command.upgrade, config, "head")
        factory = create_session_factory(engine)
        expected = await ranks_from_scratch(factory, MONTH)
        async with factory() as session:
            stored = {r.estate_id: (r.score_id, r.rank_in_street, r.rank_in_district) for r in (await session.execute(select(ScoreRank).where(ScoreRank.month == MONTH))).scalars()}
        assert stored == expected and len(stored) == 9
        rank_of = {n: stored[e[0]][1:] for n, e in enumerate(two_streets)}
        # Street one: 90.00, 80.00, 60.00 (the first estate's current version), then the vetoed 95.50; one unscored.
        # Street two: 88.00, 80.00, then the vetoed 88.00. The district: 80.00 of both streets tie at 3.
        assert [rank_of[n] for n in range(9)] == [(3, 5), (1, 1), (4, 6), (None, None), (2, 3), (2, 3), (1, 2), (3, 7), (None, None)]
    finally:
        await engine.dispose()


async def test_an_amended_street_inspection_counts_as_amended_and_the_ranks_follow(client, as_user, db) -> None:
    """A street inspection returned and corrected by its filer: the item it failed now passes and one it passed now
    fails; the recomputed score reads the results in effect, and the stored ranks follow the new version."""
    estate, street = await month_with_evidence(client, as_user, db)
    officer, specialist = await as_user("xbl-officer"), await as_user("xbl-worker1")
    await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer)
    async with db() as session:
        record = (await session.execute(select(Defect.record_id).where(Defect.estate_id == estate, Defect.source == "street_inspection"))).scalar_one()
    returned = await client.post(f"/api/inspections/{record}/return", json={"reason": "C01 与照片不符，请核实"}, headers=officer)
    assert returned.status_code == 201, returned.text
    correction = {
        "reason": "复核后 C01 合格、G01 不合格",
        "results": [{"item": "C01", "passed": True, "note": "", "photo_ids": []}, {"item": "G01", "passed": False, "note": "门岗无人", "photo_ids": [await upload(client, specialist)]}],
    }
    corrected = await client.post(f"/api/inspections/{record}/correction", json=correction, headers=specialist)
    assert corrected.status_code == 201, corrected.text
    assert (await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer)).json()["new_versions"] >= 1
    [newest, first] = (await client.get(f"/api/assessment/scores/{estate}/{MONTH}", headers=officer)).json()
    lines = {(line["component"], line["item"]) for line in newest["result"]["lines"]}
    assert ("street_inspection", "G01") in lines and ("street_inspection", "C01") not in lines
    assert ("street_inspection", "C01") in {(line["component"], line["item"]) for line in first["result"]["lines"]}
    await assert_ranks_stored_right(client, as_user, db)
