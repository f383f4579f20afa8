"""Daily patrols and street inspections: filed once per client id, only in one's own scope, never edited."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from inspections.tables import Amendment, InspectionRecord, InspectionResult
from tests.integration.evidence import jpeg, record_body, upload
from tests.integration.helpers import assert_problem, audit_count, count, estate_ids_of
from tests.integration.test_pages import page_login


async def test_filing_the_same_patrol_five_times_stores_one_and_a_changed_body_is_refused(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    body = record_body(estate, note="早班巡查")
    answers = [await client.post("/api/patrols", json=body, headers=worker) for _ in range(5)]
    assert [a.status_code for a in answers] == [201, 200, 200, 200, 200]
    assert len({a.json()["id"] for a in answers}) == 1
    assert await count(db, InspectionRecord, InspectionRecord.client_id == body["client_id"]) == 1
    assert await audit_count(db, "patrol.filed") == 1

    changed = body | {"note": "晚班巡查"}
    assert_problem(await client.post("/api/patrols", json=changed, headers=worker), 409, body["client_id"], "different body")
    assert_problem(await client.post("/api/patrols", json=body | {"estate_id": estate + 1}, headers=worker), 409)
    assert await count(db, InspectionRecord) == 1
    # Another worker cannot take over someone's client id either.
    other = await as_user("xbl02-worker")
    other_estate = (await estate_ids_of(db, "XBL02"))[0]
    assert_problem(await client.post("/api/patrols", json=body | {"estate_id": other_estate}, headers=other), 409, "another record")


async def test_a_patrol_outside_ones_community_in_the_future_or_off_the_checklist_is_refused(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    chaoyangli = (await estate_ids_of(db, "XX01"))[0]
    own = (await estate_ids_of(db, "XBL01"))[0]
    assert_problem(await client.post("/api/patrols", json=record_body(chaoyangli), headers=worker), 403, "朝阳里")
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    assert_problem(await client.post("/api/patrols", json=record_body(own, inspected_at=future), headers=worker), 422, "future")
    assert_problem(await client.post("/api/patrols", json=record_body(own, passed=("Z99",)), headers=worker), 422, "Z99")
    assert_problem(await client.post("/api/patrols", json=record_body(own, passed=("C01", "C01")), headers=worker), 422, "twice")
    no_photo = record_body(own, failed={"C02": []})
    assert_problem(await client.post("/api/patrols", json=no_photo, headers=worker), 422, "photo")
    naive = record_body(own, inspected_at="2026-11-20T09:00:00")
    assert_problem(await client.post("/api/patrols", json=naive, headers=worker), 400)
    assert_problem(await client.post("/api/patrols", json=record_body(own) | {"extra": 1}, headers=worker), 400)
    # Only community workers patrol; a street officer files inspections, a company files nothing.
    assert_problem(await client.post("/api/patrols", json=record_body(own), headers=await as_user("xbl-officer")), 403)
    assert_problem(await client.post("/api/street-inspections", json=record_body(own), headers=worker), 403)
    assert await count(db, InspectionRecord) == 0


async def test_a_photo_of_someone_else_cannot_be_attached(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    someone = await upload(client, await as_user("xbl02-worker"))
    estate = (await estate_ids_of(db, "XBL01"))[0]
    assert_problem(await client.post("/api/patrols", json=record_body(estate, failed={"C02": [someone]}), headers=worker), 400, str(someone))


async def test_only_the_configured_number_of_patrols_a_day_counts(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    first = await client.post("/api/patrols", json=record_body(estate), headers=worker)
    second = await client.post("/api/patrols", json=record_body(estate, inspected_at=first.json()["inspected_at"]), headers=worker)
    assert first.json()["counted"] is True and second.json()["counted"] is False
    listed = (await client.get(f"/api/inspections?estate_id={estate}", headers=worker)).json()
    assert listed["total"] == 2 and sorted(r["counted"] for r in listed["items"]) == [False, True]


async def test_a_failed_item_becomes_a_defect_for_the_company_with_the_photo_and_the_checklist_version(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    photo = await upload(client, worker, jpeg(gps=(39.12, 117.2), taken="2026:11:20 09:31:05"), taken_at="2026-11-20T09:31:00+08:00")
    filed = await client.post("/api/patrols", json=record_body(estate, failed={"C06": [photo]}, location={"latitude": 39.1201, "longitude": 117.2003}), headers=worker)
    assert filed.status_code == 201, filed.text
    record = filed.json()
    assert record["checklist_version"] == "2026.1" and len(record["checklist_sha256"]) == 64
    assert record["latitude"] == pytest.approx(39.1201)
    failed = next(r for r in record["results"] if not r["passed"])
    assert failed["item"] == "C06" and failed["text"] == "楼道内无乱涂乱画、无小广告" and failed["photo_ids"] == [photo] and failed["defects"] == 1
    [defect_id] = record["defect_ids"]
    defect = (await client.get(f"/api/defects/{defect_id}", headers=worker)).json()
    assert defect["severity"] == "general" and defect["state"] == "open" and defect["deduction"] == "1" and not defect["overdue"]
    assert defect["company_id"] == record["company_id"] is not None
    info = (await client.get(f"/api/attachments/{photo}/info", headers=worker)).json()
    assert info["exif_taken_at"] == "2026:11:20 09:31:05" and info["exif_latitude"] == pytest.approx(39.12)
    assert info["claimed_taken_at"].startswith("2026-11-20T01:31:00")


async def test_the_answer_to_a_new_patrol_is_the_record_as_it_is_read_back(client, as_user, db) -> None:
    # The filing answer is made from the rows just written, not read back: it must say exactly what a later read says
    # (times in UTC whatever offset the phone wrote, photos per item and of the whole visit, defects, the retry's 200).
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    first, second, third, visit = [await upload(client, worker) for _ in range(4)]
    shanghai = (datetime.now(UTC) - timedelta(hours=1)).astimezone(timezone(timedelta(hours=8))).isoformat()
    body = record_body(estate, failed={"G02": [second, first], "C06": [third]}, inspected_at=shanghai, note="早班巡查")
    body["results"][-1]["defects"] = 3
    body["photo_ids"] = [visit, first]
    filed = await client.post("/api/patrols", json=body, headers=worker)
    assert filed.status_code == 201, filed.text
    answer = filed.json()
    assert answer["inspected_at"].endswith(("Z", "+00:00")) and len(answer["defect_ids"]) == 2 and answer["photo_ids"] == [visit]
    read = await client.get(f"/api/inspections/{answer['id']}", headers=worker)
    assert read.status_code == 200 and read.json() == answer
    retry = await client.post("/api/patrols", json=body, headers=worker)
    assert retry.status_code == 200 and retry.json() == answer


async def test_a_street_specialist_inspects_estates_of_the_street_only(client, as_user, db) -> None:
    specialist = await as_user("xbl-worker1")
    own = (await estate_ids_of(db, "XBL02"))[0]
    elsewhere = (await estate_ids_of(db, "XX01"))[0]
    filed = await client.post("/api/street-inspections", json=record_body(own), headers=specialist)
    assert filed.status_code == 201 and filed.json()["source"] == "street_inspection"
    assert_problem(await client.post("/api/street-inspections", json=record_body(elsewhere), headers=specialist), 403, "street")


async def test_records_are_read_within_scope_only(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    record_id = (await client.post("/api/patrols", json=record_body(estate), headers=worker)).json()["id"]
    assert (await client.get(f"/api/inspections/{record_id}", headers=await as_user("xbl-officer"))).status_code == 200
    assert_problem(await client.get(f"/api/inspections/{record_id}", headers=await as_user("xx01-worker")), 404)
    assert_problem(await client.get(f"/api/inspections/{record_id}", headers=await as_user("inspector1")), 404)
    assert (await client.get("/api/inspections", headers=await as_user("xx01-worker"))).json()["total"] == 0


async def test_an_amendment_stands_beside_the_original_and_withdraws_the_defect_it_corrects(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    photo = await upload(client, worker)
    record = (await client.post("/api/patrols", json=record_body(estate, failed={"P01": [photo]}), headers=worker)).json()
    correction = {"reason": "误判：车辆为临时装卸", "results": [{"item": "P01", "passed": True}]}
    assert_problem(await client.post(f"/api/inspections/{record['id']}/amendments", json=correction, headers=await as_user("xbl02-worker")), 404)
    assert_problem(await client.post(f"/api/inspections/{record['id']}/amendments", json=correction, headers=await as_user("xbl01-director")), 403)
    amended = await client.post(f"/api/inspections/{record['id']}/amendments", json=correction, headers=worker)
    assert amended.status_code == 201, amended.text
    body = amended.json()
    assert next(r for r in body["results"] if r["item"] == "P01")["passed"] is False  # as filed
    assert next(r for r in body["effective_results"] if r["item"] == "P01")["passed"] is True
    assert body["amendments"][0]["reason"] == "误判：车辆为临时装卸"
    defect = (await client.get(f"/api/defects/{record['defect_ids'][0]}", headers=worker)).json()
    assert defect["state"] == "withdrawn" and [e["kind"] for e in defect["events"]] == ["raised", "withdrawn"]
    assert_problem(await client.post(f"/api/inspections/{record['id']}/amendments", json=correction, headers=worker), 422, "changes nothing")
    assert await count(db, Amendment) == 1 and await count(db, InspectionResult, InspectionResult.passed.is_(False)) == 1
    assert await audit_count(db, "inspection_record.amended") == 1


async def test_a_photo_an_amendment_adds_stays_with_the_amendment_and_the_results_as_filed_never_change(client, as_user, db) -> None:
    """A passed item amended to failed with a photo: the record's results as filed still show no photo for it (filed
    evidence never changes); the amendment and the effective results carry the photo."""
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    filed_photo = await upload(client, worker)
    filed = await client.post("/api/patrols", json=record_body(estate, failed={"C01": [filed_photo]}, passed=("M01", "G01")), headers=worker)
    assert filed.status_code == 201, filed.text
    record = filed.json()
    as_filed = (await client.get(f"/api/inspections/{record['id']}", headers=worker)).json()
    added = await upload(client, worker)
    correction = {"reason": "补充发现问题", "results": [{"item": "M01", "passed": False, "defects": 2, "note": "公示缺失", "photo_ids": [added]}]}
    amended = await client.post(f"/api/inspections/{record['id']}/amendments", json=correction, headers=worker)
    assert amended.status_code == 201, amended.text
    again = (await client.get(f"/api/inspections/{record['id']}", headers=worker)).json()
    assert again["results"] == as_filed["results"] and again["photo_ids"] == as_filed["photo_ids"], (again["results"], as_filed["results"])
    effective = {r["item"]: r for r in again["effective_results"]}
    assert effective["M01"]["photo_ids"] == [added] and effective["C01"]["photo_ids"] == [filed_photo]


@pytest.mark.parametrize("note", ["\u200b", "\u200b\u200b", "\ufeff", "\u3000\u200b "], ids=["zero-width", "two", "bom", "spaces"])
async def test_a_failed_item_s_note_of_invisible_characters_says_nothing_and_is_refused(client, as_user, db, note) -> None:
    """A failed item raises a rectification order that must say what is wrong: a note the company cannot read is
    refused, and nothing (record, order) is stored."""
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    photo = await upload(client, worker)
    body = record_body(estate, failed={"M03": [photo]})
    body["results"][-1]["note"] = note
    before = await count(db, InspectionRecord)
    refused = await client.post("/api/patrols", json=body, headers=worker)
    assert_problem(refused, 422, "write what is wrong")
    assert refused.json()["detail_zh"] == "不合格项请写明问题"
    assert await count(db, InspectionRecord) == before


async def test_the_database_refuses_to_edit_or_delete_filed_evidence(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    record_id = (await client.post("/api/patrols", json=record_body(estate), headers=worker)).json()["id"]
    for statement in (
        f"UPDATE inspection_records SET note = 'changed' WHERE id = {record_id}",
        f"DELETE FROM inspection_results WHERE record_id = {record_id}",
    ):
        async with db() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                async with session.begin_nested():
                    await session.execute(text(statement))


async def test_patrol_coverage_shows_the_estates_missed_each_day(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estates = await estate_ids_of(db, "XBL01")
    filed = (await client.post("/api/patrols", json=record_body(estates[0]), headers=worker)).json()
    day = filed["business_date"]
    coverage = (await client.get(f"/api/patrols/coverage?community_id={filed['community_id']}&date_from={day}&date_to={day}", headers=await as_user("xbl-officer"))).json()
    [today] = coverage["days"]
    assert today["estates"] == len(estates) and today["patrolled"] == 1
    assert estates[0] not in {e["id"] for e in today["missing"]} and len(today["missing"]) == len(estates) - 1
    assert_problem(await client.get(f"/api/patrols/coverage?community_id={filed['community_id']}&date_from={day}&date_to={day}", headers=await as_user("xx01-worker")), 404)
    # The heat map: today is still under way (not 无人巡查), the days ahead are 未到, and the colours have a legend.
    from tests.integration.test_pages import page_login

    await page_login(client, "xbl-officer")
    heat = (await client.get("/coverage")).text
    # Each colour of the legend has a mark that reads without colour too (a count, bold, a hatch, a word).
    legend = heat[heat.index('id="legend"') : heat.index("</p>", heat.index('id="legend"'))]
    assert all(text in legend for text in ("绿：全部巡查（如 5/5）", "红：无人巡查（0/5，粗体）", "黄色斜纹：部分巡查", "今日进行中（标“进行中”", "白：未到（标“未到”，不计）"))
    today_cells = re.findall(rf'<td class="(\w+)" title="{day}：', heat)
    assert today_cells and set(today_cells) <= {"today", "full"}, today_cells
    # Today is not over: its cells say 进行中 (not 无人巡查, not a gap), and its column says 今日.
    assert all(re.search(rf'<td class="today" title="{day}：今日巡查进行中，\d+/\d+"><small>进行中</small><br>\d+/\d+</td>', heat) for cell in today_cells if cell == "today")
    assert f'aria-label="{int(day[-2:])}日（今日）"' in heat and f'title="{day}：无人巡查' not in heat
    month_end = (date.fromisoformat(day).replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    ahead = (month_end - date.fromisoformat(day)).days
    assert len(re.findall(r'<td class="due" title="[^"]*">未到</td>', heat)) == ahead * len(today_cells)



async def test_the_heat_map_reads_the_patrols_of_every_community_in_one_query(client, as_user, db, engine) -> None:
    """The district's heat map: each community's cell counts its own patrolled estates, and the patrols of every
    community and day come from one query (not one per community or per day)."""
    worker = await as_user("xbl01-worker")
    estates = await estate_ids_of(db, "XBL01")
    day = (await client.post("/api/patrols", json=record_body(estates[0]), headers=worker)).json()["business_date"]
    await page_login(client, "admin")
    seen: list[str] = []

    def read(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", read)
    try:
        page = await client.get(f"/coverage?month={day[:7]}")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", read)
    assert page.status_code == 200
    # 树德里's cell of the day: one of its estates patrolled (today's cell says the day is still under way)
    assert re.search(rf'title="{day}：(今日巡查进行中|部分巡查)，1/{len(estates)}"', page.text)
    assert page.text.count("<tr><th scope=\"row\" class=\"name\">") > 10  # every community of the district has its row
    assert sum("FROM inspection_records" in statement for statement in seen) == 1


async def test_one_photo_cannot_show_two_items(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    photo = await upload(client, worker)
    estate = (await estate_ids_of(db, "XBL01"))[0]
    body = record_body(estate, failed={"C01": [photo], "C02": [photo]}, passed=())
    assert_problem(await client.post("/api/patrols", json=body, headers=worker), 422, "one item only")
    assert await count(db, InspectionRecord) == 0


async def test_a_patrol_of_the_whole_checklist_costs_the_database_no_more_round_trips_than_one_of_two_items(app, client, as_user, db) -> None:
    """A phone files the whole checklist (seven items or more) every morning: its results go in as one statement, so
    a long patrol holds the database (SQLite's one writer) no longer than a short one."""
    worker = await as_user("xbl01-worker")
    estates = await estate_ids_of(db, "XBL01")
    await client.post("/api/patrols", json=record_body(estates[0]), headers=worker)  # first use of the checklist stored
    engine = app.state.engine.sync_engine
    sent: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    counts = []
    for estate, items in ((estates[1], ("C01", "G01")), (estates[2], ("M01", "C01", "C02", "G01", "G02", "P01", "O01"))):
        sent.clear()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            answer = await client.post("/api/patrols", json=record_body(estate, passed=items), headers=worker)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert answer.status_code == 201, answer.text
        assert [r["item"] for r in answer.json()["results"]] == list(items)
        counts.append(len(sent))
    assert counts[1] == counts[0], counts
    async with db() as session:
        stored = (await session.execute(select(InspectionResult.item_code).join(InspectionRecord).where(InspectionRecord.estate_id == estates[2]))).scalars().all()
    assert sorted(stored) == sorted(("M01", "C01", "C02", "G01", "G02", "P01", "O01"))
