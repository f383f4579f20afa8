"""The district records a year of China's official holidays; deadlines use it before the config file and the
library, and say which source they came from."""

from __future__ import annotations

from datetime import date

from foundation.calendar.rules import CalendarSource, working_day_after
from foundation.calendar.service import working_calendar
from foundation.calendar.tables import CalendarYearRecord
from tests.integration.evidence import record_body, upload
from tests.integration.helpers import assert_problem, audit_count, count, estate_ids_of

# A made-up arrangement for the test only, not the State Council's.
YEAR = {"year": 2031, "holidays": ["2031-01-01", "2031-01-02", "2031-01-03"], "workdays": ["2031-01-05"], "source": "测试用通知（非真实安排）"}


async def test_an_administrator_records_a_year_and_deadlines_use_it(client, as_user, db) -> None:
    admin = await as_user("admin")
    assert_problem(await client.post("/api/calendar/years", json=YEAR, headers=await as_user("xbl-officer")), 403)
    assert_problem(await client.post("/api/calendar/years", json=YEAR | {"workdays": ["2031-01-06"]}, headers=admin), 422, "weekday")
    assert_problem(await client.post("/api/calendar/years", json=YEAR | {"holidays": ["2032-01-01"]}, headers=admin), 422, "not in 2031")
    assert_problem(await client.post("/api/calendar/years", json=YEAR | {"source": "   "}, headers=admin), 400)
    assert await count(db, CalendarYearRecord) == 0
    recorded = await client.post("/api/calendar/years", json=YEAR, headers=admin)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["source"] == "district" and recorded.json()["workdays"] == ["2031-01-05"]
    assert await audit_count(db, "calendar_year.recorded") == 1
    years = (await client.get("/api/calendar/years", headers=await as_user("xbl01-worker"))).json()
    sources = {y["year"]: y["source"] for y in years["years"]}
    assert sources[2031] == "district" and sources[2026] == "config"
    async with db() as session:
        calendar = await working_calendar(session)
    # 1–3 Jan 2031 off, Saturday 4 Jan a weekend, Sunday 5 Jan a make-up working day.
    found = working_day_after(date(2031, 1, 1), 1, calendar)
    assert found.day == date(2031, 1, 5) and found.source is CalendarSource.DISTRICT and not found.provisional
    # Recorded again: the newest record is used, the first kept.
    again = await client.post("/api/calendar/years", json=YEAR | {"workdays": []}, headers=admin)
    assert again.status_code == 201
    async with db() as session:
        calendar = await working_calendar(session)
    assert working_day_after(date(2031, 1, 1), 1, calendar).day == date(2031, 1, 6)
    assert await count(db, CalendarYearRecord) == 2


async def test_each_rectification_order_says_where_its_deadline_came_from(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    filed = (await client.post("/api/patrols", json=record_body(estate, failed={"C02": [await upload(client, worker)]}), headers=worker)).json()
    defect = (await client.get(f"/api/defects/{filed['defect_ids'][0]}", headers=worker)).json()
    assert defect["deadline_source"] in {"district", "config", "library", "fallback"}
    assert (defect["deadline_source"] == "fallback") == defect["deadline_provisional"]
    from tests.integration.test_pages import page_login

    await page_login(client, "xbl01-worker")
    assert "工作日依据：" in (await client.get(f"/defects/{defect['id']}")).text


async def test_a_whole_number_written_with_a_decimal_point_is_the_same_number_and_text_is_not(client, as_user, db) -> None:
    # JSON Schema (and so the OpenAPI document) counts 2031.0 as the integer 2031; "2031" stays text, refused.
    admin = await as_user("admin")
    assert_problem(await client.post("/api/calendar/years", json=YEAR | {"year": "2031"}, headers=admin), 400, "Expected `int`, got `str`")
    assert await count(db, CalendarYearRecord) == 0
    recorded = await client.post("/api/calendar/years", json=YEAR | {"year": 2031.0}, headers=admin)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["year"] == 2031
