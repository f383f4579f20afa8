"""Evidence integrity (config/RULES.md, "Evidence integrity"): a spot-checked estate-month reconciled with the month's
patrols records a mismatch exactly when the spot check deducts 5 points or more in a category the patrols passed every
time; the street reads mismatches and credibility on its integrity desk; a record returned for correction comes back
as an amendment beside the original, with its audit trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from assessment import service as assessment_service
from foundation.audit import AuditEntry
from foundation.clock import BUSINESS_TZ
from foundation.db import unit_of_work
from foundation.periods import Month
from inspections.tables import Amendment, InspectionResult, Mismatch, Reconciliation, RecordReturn, SpotCheckAssignment
from people.tables import User
from registry.tables import Community, Estate, Street
from supervision.todo import tasks_of
from tests.integration.evidence import approve_late, principal, record_body, upload
from tests.integration.helpers import assert_problem, audit_count, count, estate_ids_of, waiting_on

# Two months back: over, and past the late tolerance after its end whatever day the suite runs.
MONTH = Month.of_instant(datetime.now(UTC)).previous().previous()


def on_day(day: int) -> str:
    return datetime.fromisoformat(f"{MONTH}-{day:02d}T10:00:00+08:00").isoformat()


def result(item: str, photo: int | None = None, defects: int = 1) -> dict[str, Any]:
    if photo is None:
        return {"item": item, "passed": True}
    return {"item": item, "passed": False, "defects": defects, "note": f"{item} 不合格", "photo_ids": [photo]}


async def _assignments(client: Any, as_user: Any, db: Any) -> list[tuple[int, str, str]]:
    """The month's spot checks drawn, and two of 小白楼's: (estate, its community's worker, the firm's inspector)."""
    drawn = await client.post("/api/spot-checks/draws", json={"month": str(MONTH), "seed": "integrity"}, headers=await as_user("admin"))
    assert drawn.status_code in (201, 409), drawn.text
    async with db() as session:
        rows = (
            await session.execute(
                select(SpotCheckAssignment.estate_id, Community.code, SpotCheckAssignment.organisation_id)
                .join(Estate, Estate.id == SpotCheckAssignment.estate_id)
                .join(Community, Community.id == Estate.community_id)
                .join(Street, Street.id == Community.street_id)
                .where(SpotCheckAssignment.month == str(MONTH), Street.code == "XBL")
                .order_by(SpotCheckAssignment.estate_id)
                .limit(2)
            )
        ).all()
        out = []
        for estate, code, organisation in rows:
            inspector = (await session.execute(select(User.username).where(User.organisation_id == organisation).order_by(User.id))).scalars().first()
            out.append((estate, f"{code.lower()}-worker", inspector))
    assert len(out) == 2
    return out


async def _file(client: Any, officer: dict[str, str], headers: dict[str, str], path: str, estate: int, day: int, results: list[dict[str, Any]]) -> int:
    """File a record of MONTH (late by now) and have the street officer approve it, so it counts."""
    body = {"client_id": str(uuid.uuid4()), "estate_id": estate, "inspected_at": on_day(day), "results": results}
    filed = await client.post(path, json=body, headers=headers)
    assert filed.status_code == 201, filed.text
    await approve_late(client, officer, filed.json()["id"])
    return int(filed.json()["id"])


async def reconciled_month(client: Any, as_user: Any, db: Any, *, by_job: bool = False) -> dict[str, Any]:
    """Estate A: two patrols that passed cleaning and gate duty, one that failed parking; its spot check deducts 5.00
    for cleaning (C02 ×5 at 1 point), 4.00 for gate duty (G02 ×4) and 6.00 for parking (P02 ×3 at 2 points).
    Estate B: a spot check deducting 6.00 for cleaning and no patrol at all. Both reconciled."""
    officer = await as_user("xbl-officer")
    (estate_a, worker_a, firm_a), (estate_b, _worker_b, firm_b) = await _assignments(client, as_user, db)
    worker = await as_user(worker_a)
    patrols = [
        await _file(client, officer, worker, "/api/patrols", estate_a, 3, [result("C01"), result("C02"), result("G02")]),
        await _file(client, officer, worker, "/api/patrols", estate_a, 9, [result("C01"), result("G02"), result("P01", await upload(client, worker))]),
    ]
    firm = await as_user(firm_a)
    check_a = await _file(
        client, officer, firm, "/api/spot-checks", estate_a, 15,
        [result("C01"), result("C02", await upload(client, firm), 5), result("G02", await upload(client, firm), 4), result("P02", await upload(client, firm), 3)],
    )
    firm = await as_user(firm_b)
    check_b = await _file(client, officer, firm, "/api/spot-checks", estate_b, 16, [result("C01", await upload(client, firm), 3)])
    if by_job:  # the nightly job, run for yesterday: it reconciles every month of the window whose patrols are in
        yesterday = (datetime.now(BUSINESS_TZ).date() - timedelta(days=1)).isoformat()
        ran = await client.post(f"/api/jobs/inspections.reconcile_spot_checks/run?period={yesterday}", headers=await as_user("admin"))
        assert ran.status_code == 200 and ran.json()["state"] == "done", ran.text
        assert ran.json()["result"]["mismatches_by_month"] == {str(MONTH): 1}
    else:
        answer = await client.post("/api/integrity/reconciliations", json={"month": str(MONTH)}, headers=await as_user("admin"))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"month": str(MONTH), "reconciled": 2, "mismatches": 1}
    return {"estate_a": estate_a, "estate_b": estate_b, "worker": worker_a, "patrols": patrols, "check_a": check_a, "check_b": check_b}


async def test_a_mismatch_is_recorded_exactly_when_the_spot_check_deducts_5_in_a_category_every_patrol_passed(client, as_user, db) -> None:
    case = await reconciled_month(client, as_user, db, by_job=True)
    async with db() as session:
        [mismatch] = (await session.execute(select(Mismatch))).scalars().all()
        reconciliations = {r.estate_id: r for r in (await session.execute(select(Reconciliation))).scalars()}
    # Cleaning: 5.00 deducted (the threshold itself), both patrols passed it — a mismatch, with its figures.
    assert (mismatch.estate_id, mismatch.category, mismatch.spot_check_deduction_centi, mismatch.threshold_centi) == (case["estate_a"], "cleaning", 500, 500)
    assert (mismatch.patrols, mismatch.patrol_days, mismatch.spot_check_record_id) == (2, 2, case["check_a"])
    # Gate duty at 4.00 (under the threshold) and parking at 6.00 (a patrol found it failed) are not mismatches.
    figures = {c["category"]: c for c in reconciliations[case["estate_a"]].comparisons}
    assert (figures["gate_patrol"]["spot_check_deduction_centi"], figures["gate_patrol"]["mismatch"]) == (400, False)
    assert (figures["parking"]["spot_check_deduction_centi"], figures["parking"]["patrols_failed"], figures["parking"]["mismatch"]) == (600, 1, False)
    # Estate B: 6.00 for cleaning but no patrol to compare with — reconciled, no mismatch.
    assert reconciliations[case["estate_b"]].patrol_record_ids == [] and reconciliations[case["estate_b"]].mismatches == 0
    # Reconciling again changes nothing: each estate-month is reconciled once, as it was then.
    again = await client.post("/api/integrity/reconciliations", json={"month": str(MONTH)}, headers=await as_user("admin"))
    assert again.json() == {"month": str(MONTH), "reconciled": 0, "mismatches": 0}
    assert await count(db, Mismatch) == 1 and await count(db, Reconciliation) == 2
    assert await audit_count(db, "spot_check.reconciled") == 2
    # A month whose patrols may still arrive is refused.
    this_month = str(Month.of_instant(datetime.now(UTC)))
    assert_problem(await client.post("/api/integrity/reconciliations", json={"month": this_month}, headers=await as_user("admin")), 422, "may still arrive")
    # The mismatch changes no score by itself: the spot check's deductions are the same with or without it.
    officer = await as_user("xbl-officer")
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    assert (await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=officer)).status_code == 200
    [score] = (await client.get(f"/api/assessment/scores/{case['estate_a']}/{MONTH}", headers=officer)).json()
    spot = next(c for c in score["result"]["components"] if c["component"] == "spot_check")
    assert spot["score"] == "85.00"  # 100 − 5 − 4 − 6, nothing for the mismatch
    # The mismatch shows in the breakdown and on the records it concerns, for the street.
    from tests.integration.test_pages import page_login

    await page_login(client, "xbl-officer")
    breakdown = (await client.get(f"/assessment/scores/{case['estate_a']}/{MONTH}")).text
    assert "对账不符（证据，本身不改变分数）" in breakdown and f"/integrity/mismatches/{mismatch.id}" in breakdown and "扣 5.00 分" in breakdown
    for record in (case["check_a"], *case["patrols"]):
        assert f"/integrity/mismatches/{mismatch.id}" in (await client.get(f"/records/{record}")).text
    assert "对账不符" not in (await client.get(f"/records/{case['check_b']}")).text
    await page_login(client, case["worker"])
    assert "对账不符" not in (await client.get(f"/records/{case['patrols'][0]}")).text


async def test_the_street_sees_mismatches_and_credibility_down_to_the_records_and_photos(client, as_user, db) -> None:
    case = await reconciled_month(client, as_user, db)
    officer = await as_user("xbl-officer")
    summary = (await client.get("/api/integrity/summary", headers=officer)).json()
    assert str(MONTH) in summary["months"] and len(summary["months"]) == 6 and summary["threshold"] == "5.00"
    [worker] = [w for w in summary["social_workers"] if w["checked"]]
    assert (worker["checked"], worker["mismatched"], worker["credibility"]) == (1, 1, "0")
    estates = {e["id"]: e for e in summary["estates"]}
    assert (estates[case["estate_a"]]["mismatched"], estates[case["estate_a"]]["credibility"]) == (1, "0")
    assert (estates[case["estate_b"]]["checked"], estates[case["estate_b"]]["credibility"]) == (1, "1")
    [row] = (await client.get("/api/integrity/mismatches", headers=officer)).json()["items"]
    assert row["spot_check_deduction"] == "5.00" and row["category_name"] == "清扫保洁" and row["social_workers"] == [worker["name"]]
    assert (await client.get(f"/api/integrity/mismatches?user_id={worker['id']}", headers=officer)).json()["total"] == 1
    detail = (await client.get(f"/api/integrity/mismatches/{row['id']}", headers=officer)).json()
    assert [p["id"] for p in detail["patrols"]] == case["patrols"] and detail["spot_check"]["id"] == case["check_a"]
    [finding] = detail["findings"]
    assert finding["item"] == "C02" and finding["defects"] == 5 and finding["photo_ids"]
    photo = await client.get(f"/api/attachments/{finding['photo_ids'][0]}", headers=officer)
    assert photo.status_code == 200 and photo.headers["content-type"].startswith("image/")
    # Another street's officer sees none of it; a social worker may not read the desk.
    other = await as_user("ns-officer")
    assert (await client.get("/api/integrity/mismatches", headers=other)).json()["total"] == 0
    assert_problem(await client.get(f"/api/integrity/mismatches/{row['id']}", headers=other), 404)
    assert_problem(await client.get("/api/integrity/summary", headers=await as_user(case["worker"])), 403)

    # The desk page, in Chinese, with the figures; and the mismatch page down to the photos.
    from tests.integration.test_pages import page_login

    await page_login(client, "xbl-officer")
    desk = (await client.get("/integrity")).text
    assert "证据诚信" in desk and "对账不符（1）" in desk and f'id="mismatch-{row["id"]}"' in desk and "清扫保洁（30 分）" in desk
    assert f"<td>{worker['name']}</td><td>1</td><td>1</td><td>0</td>" in desk
    assert "补报记录待审批（0）" in desk and "退回更正（等待中 0，共 0）" in desk
    page = (await client.get(f"/integrity/mismatches/{row['id']}")).text
    assert "扣 <strong>5.00</strong> 分" in page and f'/photos/{finding["photo_ids"][0]}' in page
    assert all(f'href="/records/{p}"' in page for p in case["patrols"])


async def test_a_returned_record_is_corrected_by_its_filer_and_both_versions_stay(client, as_user, db) -> None:
    worker, director = await as_user("xbl01-worker"), await as_user("xbl01-director")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    filed = (await client.post("/api/patrols", json=record_body(estate), headers=worker)).json()
    record = filed["id"]
    returned = await client.post(f"/api/inspections/{record}/return", json={"reason": "C01 与照片不符，请核实"}, headers=director)
    assert returned.status_code == 201, returned.text
    assert returned.json()["state"] == "waiting" and returned.json()["counts_while_waiting"] == "as_filed"
    # Both sides see it waiting: the filer in their list and on the record, the director too.
    mine = (await client.get("/api/inspections/returns?waiting=true", headers=worker)).json()["items"]
    assert [r["record_id"] for r in mine] == [record] and mine[0]["reason"] == "C01 与照片不符，请核实"
    assert (await client.get("/api/inspections/returns?waiting=true", headers=director)).json()["total"] == 1
    assert (await client.get(f"/api/inspections/{record}", headers=worker)).json()["returns"][0]["state"] == "waiting"
    # The filer is told (nobody else), and the notice leaves once the record is corrected.
    assert [n["link"] for n in await waiting_on(client, worker, "被退回更正")] == [f"/records/{record}"]
    assert await waiting_on(client, await as_user("xbl02-worker"), "被退回更正") == [] and await waiting_on(client, director, "被退回更正") == []
    # The filer's to-do says a record waits on them and opens it; the director (who returned it) has nothing to do.
    filer = await principal(db, "xbl01-worker")
    async with db() as session:
        [line] = [t for t in await tasks_of(session, filer) if t.title == "被退回待更正的记录"]
        assert line.count == 1 and line.link == f"/records/{record}" and line.note.startswith("最早于 ")
        assert not [t for t in await tasks_of(session, await principal(db, "xbl01-director")) if t.title == "被退回待更正的记录"]
    # One return waits at a time.
    assert_problem(await client.post(f"/api/inspections/{record}/return", json={"reason": "再次退回"}, headers=await as_user("xbl-officer")), 409, "already returned")
    # Somebody else's correction is refused; so is nothing at all being changed.
    correction = {"reason": "复核后 C01 不合格", "results": [{"item": "C01", "passed": False, "note": "楼道有堆物", "photo_ids": [await upload(client, worker)]}]}
    assert_problem(await client.post(f"/api/inspections/{record}/correction", json=correction, headers=director), 403, "only its filer")
    assert_problem(await client.post(f"/api/inspections/{record}/correction", json=correction, headers=await as_user("xbl-officer")), 403)
    assert await count(db, Amendment, Amendment.record_id == record) == 0
    corrected = await client.post(f"/api/inspections/{record}/correction", json=correction, headers=worker)
    assert corrected.status_code == 201, corrected.text
    assert await waiting_on(client, worker, "被退回更正") == []
    body = corrected.json()
    # Both versions: the record as filed (C01 passed), the amendment beside it, the results in effect after it.
    assert next(r for r in body["results"] if r["item"] == "C01")["passed"] is True
    assert next(r for r in body["effective_results"] if r["item"] == "C01")["passed"] is False
    [amendment] = body["amendments"]
    [closed] = body["returns"]
    assert closed["state"] == "corrected" and closed["amendment_id"] == amendment["id"] and closed["corrected_at"]
    async with db() as session:
        stored = (await session.execute(select(InspectionResult).where(InspectionResult.record_id == record, InspectionResult.item_code == "C01"))).scalar_one()
        actions = list((await session.execute(select(AuditEntry.action).where(AuditEntry.entity_id == str(record)).order_by(AuditEntry.id))).scalars())
    assert stored.passed is True  # the filing itself never changes
    async with db() as session:
        assert not [t for t in await tasks_of(session, filer) if t.title == "被退回待更正的记录"]  # corrected: off the list
    assert actions[-3:] == ["inspection_record.returned", "inspection_record.amended", "inspection_record.corrected"]
    # A record not (or no longer) returned takes no correction.
    assert_problem(await client.post(f"/api/inspections/{record}/correction", json=correction, headers=worker), 409, "not waiting on a return")
    assert await count(db, Amendment, Amendment.record_id == record) == 1
    assert (await client.get("/api/inspections/returns?waiting=true", headers=worker)).json()["total"] == 0


async def test_returning_is_refused_out_of_scope(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    patrol = (await client.post("/api/patrols", json=record_body(estate), headers=worker)).json()["id"]
    inspection = (await client.post("/api/street-inspections", json=record_body(estate), headers=await as_user("xbl-worker1"))).json()["id"]
    reason = {"reason": "请核实"}
    # Another community's director and another street's officer do not see the record.
    assert_problem(await client.post(f"/api/inspections/{patrol}/return", json=reason, headers=await as_user("xbl02-director")), 404)
    assert_problem(await client.post(f"/api/inspections/{patrol}/return", json=reason, headers=await as_user("ns-officer")), 404)
    # A social worker, a company or a firm may not return records.
    for username in ("xbl01-worker", "xbl-worker1", "inspector1"):
        assert_problem(await client.post(f"/api/inspections/{patrol}/return", json=reason, headers=await as_user(username)), 403)
    # The director returns the community's patrols only, not the street's inspections.
    assert_problem(await client.post(f"/api/inspections/{inspection}/return", json=reason, headers=await as_user("xbl01-director")), 403, "outside what you may return")
    assert_problem(await client.post(f"/api/inspections/{patrol}/return", json={"reason": " "}, headers=await as_user("xbl-officer")), 400)
    assert await count(db, RecordReturn) == 0
    # A record not returned takes no correction.
    correction = {"reason": "更正", "results": [{"item": "C01", "passed": True, "note": "已核实"}]}
    assert_problem(await client.post(f"/api/inspections/{patrol}/correction", json=correction, headers=worker), 409, "not waiting on a return")
    # The street officer returns the street inspection.
    assert (await client.post(f"/api/inspections/{inspection}/return", json=reason, headers=await as_user("xbl-officer"))).status_code == 201


async def test_the_breakdown_says_what_a_waiting_returned_record_counts_for(client, as_user, db) -> None:
    specialist, officer = await as_user("xbl-worker1"), await as_user("xbl-officer")
    estate = (await estate_ids_of(db, "XBL01"))[2]
    filed = (await client.post("/api/street-inspections", json=record_body(estate, failed={"G02": [await upload(client, specialist)]}, passed=("G01",)), headers=specialist)).json()
    assert (await client.post(f"/api/inspections/{filed['id']}/return", json={"reason": "问题数请核实"}, headers=officer)).status_code == 201
    month = Month.parse(str(Month.of_instant(datetime.fromisoformat(filed["inspected_at"]))))
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    month_end = datetime.combine(month.next().first_day, datetime.min.time(), tzinfo=UTC)
    async with unit_of_work(db) as session:
        await assessment_service.compute_month(session, await principal(db, "xbl-officer"), street, month, now=month_end)
    [score] = (await client.get(f"/api/assessment/scores/{estate}/{month}", headers=officer)).json()
    lines = [line for line in score["result"]["lines"] if line["record_id"] == filed["id"]]
    assert any(line["item"] == "G02" and line["points"] == "-1.00" for line in lines)  # counted as filed meanwhile
    assert any("已退回更正" in line["note"] and "等待期间按原报计入" in line["note"] for line in lines)
    from tests.integration.test_pages import page_login

    await page_login(client, "xbl-officer")
    breakdown = (await client.get(f"/assessment/scores/{estate}/{month}")).text
    assert "已退回更正" in breakdown and "等待期间按原报计入" in breakdown


async def test_the_return_and_the_correction_are_made_from_the_record_page_and_show_on_both_sides(client, as_user, db) -> None:
    from tests.integration.test_pages import page_login
    from tests.integration.test_role_pages import csrf

    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[1]
    record = (await client.post("/api/patrols", json=record_body(estate), headers=worker)).json()["id"]
    await page_login(client, "xbl01-director")
    token = await csrf(client)
    assert 'id="return-form"' in (await client.get(f"/records/{record}")).text
    blank = await client.post(f"/records/{record}/return", data={"reason": "", "_csrf_token": token})
    assert blank.status_code == 422 and "请写明退回原因" in blank.text
    done = await client.post(f"/records/{record}/return", data={"reason": "G01 照片看不清，请补拍", "_csrf_token": token})
    assert done.status_code == 200 and "待提交人更正，已等待 0 天 0 小时" in done.text and "等待更正期间按原报计入考核" in done.text
    assert 'id="return-form"' not in done.text  # one return at a time

    await page_login(client, "xbl01-worker")
    token = await csrf(client)
    phone = (await client.get("/patrol")).text
    assert "退回待更正（1）" in phone and "G01 照片看不清，请补拍" in phone
    page = (await client.get(f"/records/{record}")).text
    assert 'id="correction-form"' in page
    fields = {"reason": "已复核，C01 合格、G01 合格", "_csrf_token": token, "passed-C01": "yes", "passed-G01": "yes", "note-G01": "已补拍核实"}
    corrected = await client.post(f"/records/{record}/correction", data=fields)
    assert corrected.status_code == 200, corrected.text
    assert "已于" in corrected.text and "原记录与更正并存" in corrected.text and "已复核，C01 合格、G01 合格" in corrected.text
    assert await count(db, Amendment, Amendment.record_id == record) == 1

    await page_login(client, "xbl-officer")
    desk = (await client.get("/integrity")).text
    assert "退回更正（等待中 0，共 1）" in desk and "G01 照片看不清，请补拍" in desk and "已更正" in desk


async def test_when_config_says_so_a_waiting_returned_record_counts_for_nothing_until_corrected(client, as_user, db, monkeypatch) -> None:
    from inspections import late, queries
    from inspections.rules import ReconciliationRules, WhileReturned

    not_counted = ReconciliationRules(while_returned=WhileReturned.NOT_COUNTED)
    monkeypatch.setattr(late, "reconciliation_rules", lambda: not_counted)
    monkeypatch.setattr(queries, "reconciliation_rules", lambda: not_counted)
    specialist, officer = await as_user("xbl-worker1"), await as_user("xbl-officer")
    estate = (await estate_ids_of(db, "XBL01"))[3]
    filed = (await client.post("/api/street-inspections", json=record_body(estate, failed={"G02": [await upload(client, specialist)]}, passed=("G01",)), headers=specialist)).json()
    assert (await client.post(f"/api/inspections/{filed['id']}/return", json={"reason": "问题数请核实"}, headers=officer)).status_code == 201
    month = Month.of_instant(datetime.fromisoformat(filed["inspected_at"]))
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    month_end = datetime.combine(month.next().first_day, datetime.min.time(), tzinfo=UTC)
    async with unit_of_work(db) as session:
        await assessment_service.compute_month(session, await principal(db, "xbl-officer"), street, month, now=month_end)
    [score] = (await client.get(f"/api/assessment/scores/{estate}/{month}", headers=officer)).json()
    assert "street_inspection" in score["result"]["missing"]  # its only street inspection waits: it does not count
    [line] = [line for line in score["result"]["lines"] if line["record_id"] == filed["id"]]
    assert "等待期间不计入" in line["note"] and line["effect"] == "0.0000"
