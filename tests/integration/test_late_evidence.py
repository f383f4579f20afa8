"""Late evidence (config/RULES.md, "Late evidence"): a record whose claimed time is more than 48 hours before it reaches
the server is filed as late, counts only once the street officer of its street approves it with a reason, and
never changes a locked month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from foundation.periods import Month
from inspections.tables import InspectionRecord, LateRecordDecision
from tests.integration.evidence import approve_late, recent, record_body, upload
from tests.integration.helpers import assert_problem, audit_count, count, estate_ids_of, waiting_on

MONTHS_AGO = (datetime.now(UTC) - timedelta(days=95)).isoformat()


async def test_a_back_dated_patrol_is_filed_as_late_and_waits_for_the_street_officer(client, as_user, db) -> None:
    worker, officer = await as_user("xbl01-worker"), await as_user("xbl-officer")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    body = record_body(estate, failed={"C02": [await upload(client, worker)]}, inspected_at=MONTHS_AGO)
    filed = await client.post("/api/patrols", json=body, headers=worker)
    assert filed.status_code == 201, filed.text
    assert filed.json()["late"] is True and filed.json()["late_decision"] is None
    # A retry with the same client id replays the record: no second one.
    again = await client.post("/api/patrols", json=body, headers=worker)
    assert again.status_code == 200 and again.json()["id"] == filed.json()["id"]
    assert await count(db, InspectionRecord, InspectionRecord.client_id == body["client_id"]) == 1
    # One filed within the tolerance is not late.
    on_time = await client.post("/api/patrols", json=record_body(estate, inspected_at=recent(47)), headers=worker)
    assert on_time.status_code == 201 and on_time.json()["late"] is False
    # The street officer sees it waiting.
    listed = (await client.get("/api/inspections/late?pending=true", headers=officer)).json()
    [row] = [r for r in listed["items"] if r["id"] == filed.json()["id"]]
    assert row["hours_late"] >= 95 * 24 and row["decision"] is None and row["failed_items"] == 1
    assert not any(r["id"] == on_time.json()["id"] for r in listed["items"])
    # And is told so, with a link to where it decides; the record filed on time tells nobody.
    told = await waiting_on(client, officer, "补报记录待审批")
    assert [n["link"] for n in told] == ["/assessment#late-records"] and f"记录 #{filed.json()['id']}" in told[0]["body"]


async def test_only_the_street_officer_of_that_street_decides_once_with_a_reason(client, as_user, db) -> None:
    worker, officer = await as_user("xbl01-worker"), await as_user("xbl-officer")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    record_id = (await client.post("/api/patrols", json=record_body(estate, inspected_at=MONTHS_AGO), headers=worker)).json()["id"]
    decide = f"/api/inspections/{record_id}/late-decision"
    approve = {"approve": True, "reason": "补录：当日手机故障，已电话核实"}
    # Another street's officer: not found (the record is not theirs to see); a worker or director: not allowed.
    assert_problem(await client.post(decide, json=approve, headers=await as_user("ns-officer")), 404)
    assert not any(r["id"] == record_id for r in (await client.get("/api/inspections/late", headers=await as_user("ns-officer"))).json()["items"])
    for role_user in ("xbl01-worker", "xbl-worker1", "xbl01-director", "company01"):
        assert_problem(await client.post(decide, json=approve, headers=await as_user(role_user)), 403)
    assert_problem(await client.get("/api/inspections/late", headers=worker), 403)
    # A reason is required.
    assert_problem(await client.post(decide, json={"approve": True, "reason": " "}, headers=officer), 400)
    assert await count(db, LateRecordDecision) == 0
    assert len(await waiting_on(client, officer, "补报记录待审批")) == 1
    answer = await client.post(decide, json=approve, headers=officer)
    assert answer.status_code == 201, answer.text
    assert await waiting_on(client, officer, "补报记录待审批") == []  # decided: no longer waiting
    assert answer.json()["decision"] == "approved" and answer.json()["reason"] == approve["reason"]
    # Decided once: a second decision (either way) is refused and names the first.
    second = assert_problem(await client.post(decide, json={"approve": False, "reason": "改为不予计入"}, headers=officer), 409, "already approved")
    assert "小白楼" in second["detail"] or "approved by" in second["detail"]
    assert await count(db, LateRecordDecision, LateRecordDecision.record_id == record_id) == 1
    assert await audit_count(db, "late_record.approved") == 1
    # The filing itself is as filed; the decision shows beside it.
    shown = (await client.get(f"/api/inspections/{record_id}", headers=officer)).json()
    assert shown["late"] is True and shown["late_decision"]["decision"] == "approved" and shown["late_decision"]["decided_by"]
    # A record filed on time needs no approval.
    on_time = (await client.post("/api/patrols", json=record_body(estate), headers=worker)).json()["id"]
    assert_problem(await client.post(f"/api/inspections/{on_time}/late-decision", json=approve, headers=officer), 409, "on time")


async def test_a_rejected_late_record_never_counts_and_its_orders_are_withdrawn(client, as_user, db) -> None:
    worker, officer = await as_user("xbl01-worker"), await as_user("xbl-officer")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    filed = (await client.post("/api/patrols", json=record_body(estate, failed={"C03": [await upload(client, worker)]}, inspected_at=MONTHS_AGO), headers=worker)).json()
    [defect_id] = filed["defect_ids"]
    answer = await client.post(f"/api/inspections/{filed['id']}/late-decision", json={"approve": False, "reason": "照片与日期不符，不予计入"}, headers=officer)
    assert answer.status_code == 201 and answer.json()["decision"] == "rejected"
    defect = (await client.get(f"/api/defects/{defect_id}", headers=officer)).json()
    assert defect["state"] == "withdrawn" and "rejected" in defect["events"][-1]["note"]
    assert await audit_count(db, "late_record.rejected") == 1
    assert (await client.get("/api/inspections/late?pending=true", headers=officer)).json()["total"] == 0


async def test_late_street_inspections_and_spot_checks_are_late_too(client, as_user, db) -> None:
    specialist = await as_user("xbl-worker1")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    inspection = await client.post("/api/street-inspections", json=record_body(estate, inspected_at=MONTHS_AGO), headers=specialist)
    assert inspection.status_code == 201 and inspection.json()["late"] is True
    # A spot check of an assignment, filed three days after the visit.
    claimed = datetime.now(UTC) - timedelta(hours=72)
    month = str(Month.of_instant(claimed))
    assert (await client.post("/api/spot-checks/draws", json={"month": month, "seed": "late-seed"}, headers=await as_user("admin"))).status_code == 201
    firm = await as_user("inspector1")
    mine = (await client.get(f"/api/spot-checks/assignments?month={month}", headers=firm)).json()["items"]
    check = await client.post("/api/spot-checks", json=record_body(mine[0]["estate_id"], inspected_at=claimed.isoformat()), headers=firm)
    assert check.status_code == 201, check.text
    assert check.json()["late"] is True
    async with db() as session:
        late_sources = set((await session.execute(select(InspectionRecord.source).where(InspectionRecord.late.is_(True)))).scalars())
    assert late_sources == {"street_inspection", "spot_check"}
    listed = (await client.get("/api/inspections/late?pending=true", headers=await as_user("admin"))).json()
    assert {inspection.json()["id"], check.json()["id"]} <= {r["id"] for r in listed["items"]}


async def test_a_pending_late_veto_item_opens_no_automatic_veto(client, as_user, db) -> None:
    from assessment.tables import Veto

    specialist, officer = await as_user("xbl-worker1"), await as_user("xbl-officer")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    last_month = Month.of_instant(datetime.now(UTC)).previous()
    from inspections.config import current_checklist

    veto_item = next(i.code for i in current_checklist().items.values() if i.veto)
    claimed = datetime.fromisoformat(f"{last_month}-10T10:00:00+08:00").isoformat()
    filed = (await client.post("/api/street-inspections", json=record_body(estate, failed={veto_item: [await upload(client, specialist)]}, passed=(), inspected_at=claimed), headers=specialist)).json()
    assert filed["late"]
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    assert (await client.post(f"/api/assessment/months/{street}/{last_month}/compute", headers=officer)).status_code == 200
    assert await count(db, Veto, Veto.automatic.is_(True)) == 0
    await approve_late(client, officer, filed["id"])
    assert (await client.post(f"/api/assessment/months/{street}/{last_month}/compute", headers=officer)).status_code == 200
    assert await count(db, Veto, Veto.automatic.is_(True)) == 1


async def test_the_street_desk_lists_late_records_and_the_officer_decides_there(client, as_user, db) -> None:
    from tests.integration.test_pages import page_login
    from tests.integration.test_role_pages import csrf

    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    record_id = (await client.post("/api/patrols", json=record_body(estate, inspected_at=MONTHS_AGO), headers=worker)).json()["id"]
    decide = f"/assessment/late/{record_id}/decide"
    await page_login(client, "xbl01-worker")
    assert "待街道办审批，审批前不参与考核" in (await client.get(f"/records/{record_id}")).text

    await page_login(client, "ns-officer")
    token = await csrf(client)
    desk = await client.get("/assessment")
    assert "补报记录待审批（0）" in desk.text and f"late-{record_id}" not in desk.text
    refused = await client.post(decide, data={"verdict": "approve", "reason": "核实", "_csrf_token": token})
    assert refused.status_code == 404 and "该记录不存在，或不在您的管辖范围内" in refused.text
    await page_login(client, "xbl-worker1")
    token = await csrf(client)
    assert "补报记录待审批" not in (await client.get("/assessment")).text
    assert (await client.post(decide, data={"verdict": "approve", "reason": "核实", "_csrf_token": token})).status_code == 403

    await page_login(client, "xbl-officer")
    token = await csrf(client)
    desk = await client.get("/assessment")
    assert "补报记录待审批（1）" in desk.text and f'id="late-{record_id}"' in desk.text and "准予计入" in desk.text and "不予计入" in desk.text
    blank = await client.post(decide, data={"verdict": "approve", "reason": "", "_csrf_token": token})
    assert blank.status_code == 422 and "请写明审批理由" in blank.text
    assert await count(db, LateRecordDecision) == 0
    done = await client.post(decide, data={"verdict": "approve", "reason": "当日无信号，电话核实属实", "_csrf_token": token})
    assert done.status_code == 200 and "补报记录待审批（0）" in done.text
    again = await client.post(decide, data={"verdict": "reject", "reason": "再审", "_csrf_token": token})
    assert again.status_code == 409 and "不能再次审批" in again.text
    async with db() as session:
        [decision] = (await session.execute(select(LateRecordDecision).where(LateRecordDecision.record_id == record_id))).scalars().all()
    assert decision.decision == "approved" and decision.reason == "当日无信号，电话核实属实"
    assert "街道办准予计入" in (await client.get(f"/records/{record_id}")).text


async def test_a_late_patrol_counts_in_its_month_only_once_approved(client, as_user, db) -> None:
    worker, officer, director = await as_user("xbl01-worker"), await as_user("xbl-officer"), await as_user("xbl01-director")
    estate = (await estate_ids_of(db, "XBL01"))[1]
    last_month = Month.of_instant(datetime.now(UTC)).previous()
    claimed = datetime.fromisoformat(f"{last_month}-12T09:00:00+08:00").isoformat()
    filed = (await client.post("/api/patrols", json=record_body(estate, inspected_at=claimed), headers=worker)).json()
    assert filed["late"]
    opinion = {"client_id": f"opinion-{estate}-{last_month}", "estate_id": estate, "month": str(last_month), "rating": 90}
    assert (await client.post("/api/assessment/opinions", json=opinion, headers=director)).status_code == 201
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    compute = f"/api/assessment/months/{street}/{last_month}/compute"
    assert (await client.post(compute, headers=officer)).status_code == 200
    before = (await client.get(f"/api/assessment/scores/{estate}/{last_month}", headers=officer)).json()[0]
    assert "patrol" in before["result"]["missing"]  # the late patrol does not count yet
    await approve_late(client, officer, filed["id"])
    assert (await client.post(compute, headers=officer)).status_code == 200
    after = (await client.get(f"/api/assessment/scores/{estate}/{last_month}", headers=officer)).json()[0]
    assert "patrol" not in after["result"]["missing"]
