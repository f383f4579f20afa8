"""Steps that wait on someone tell them in-app (people/waiting.py) and leave their list once done, whoever did it:
the steps not covered beside their own use case's tests (a new rectification order for the company, the spot-check
assignments for the firm, a resident's complaint for the community, the opinion reminder for the director)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from assessment.jobs import opinion_deadline, remind_opinions
from foundation.clock import BUSINESS_TZ, business_today
from foundation.periods import Month
from inspections.tables import SpotCheckAssignment
from registry.tables import Estate
from tests.integration.evidence import company_user_of, other_company_user, record_body, upload
from tests.integration.helpers import estate_ids_of, waiting_on
from tests.integration.test_complaints import new_complaint, worker_estate
from tests.integration.test_spot_checks import MONTH, draw


async def test_a_new_order_tells_the_company_under_contract_and_leaves_when_it_reports_the_fix(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    filed = await client.post("/api/patrols", json=record_body(estate, failed={"G04": [await upload(client, worker)]}, passed=()), headers=worker)
    [order] = filed.json()["defect_ids"]
    company_id, company_user = await company_user_of(db, estate)
    company = await as_user(company_user)
    [told] = await waiting_on(client, company, "新的整改单")
    assert told["link"] == f"/defects/{order}" and "G04" in told["body"] and "前整改" in told["body"]
    # Another company, the worker who found it and the street are not told.
    for outsider in (await as_user(await other_company_user(db, company_id)), worker, await as_user("xbl-officer")):
        assert await waiting_on(client, outsider, "整改单") == []

    photo = await upload(client, company)
    await client.post(f"/api/defects/{order}/fix", json={"note": "已清理消防通道", "photo_ids": [photo]}, headers=company)
    assert await waiting_on(client, company, "整改单") == []  # answered: no longer waiting on the company
    await client.post(f"/api/defects/{order}/review", json={"accepted": False, "note": "通道仍有杂物"}, headers=worker)
    [again] = await waiting_on(client, company, "整改验收退回")  # open again: its turn once more, with the reason
    assert again["link"] == f"/defects/{order}" and "通道仍有杂物" in again["body"]
    await client.post(f"/api/defects/{order}/fix", json={"note": "杂物已全部清走", "photo_ids": [photo]}, headers=company)
    assert await waiting_on(client, company, "整改") == []
    await client.post(f"/api/defects/{order}/review", json={"accepted": True, "note": "复查合格"}, headers=worker)
    assert await waiting_on(client, company, "整改") == []


async def test_a_withdrawn_order_no_longer_waits_on_the_company(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    record = (await client.post("/api/patrols", json=record_body(estate, failed={"C01": [await upload(client, worker)]}, passed=()), headers=worker)).json()
    company = await as_user((await company_user_of(db, estate))[1])
    assert len(await waiting_on(client, company, "新的整改单")) == 1
    amended = await client.post(
        f"/api/inspections/{record['id']}/amendments", json={"reason": "误报，现场复核无垃圾", "results": [{"item": "C01", "passed": True}]}, headers=worker
    )
    assert amended.status_code in (200, 201), amended.text
    assert await waiting_on(client, company, "整改单") == []


async def test_the_draw_tells_each_firm_of_its_own_assignments_and_the_notice_leaves_once_all_are_filed(client, as_user, db) -> None:
    result = await draw(client, as_user)
    firm = (await client.get("/api/auth/me", headers=await as_user("inspector1"))).json()["organisation_id"]
    mine = [a for a in result["assignments"] if a["organisation_id"] == firm]
    [told] = await waiting_on(client, await as_user("inspector1"), "暗访抽查任务")
    assert f"{len(mine)} 个区片" in told["title"] and told["link"] == f"/spot-checks?month={MONTH}"
    async with db() as session:  # the notice names no estate: assignments are secret
        names = (await session.execute(select(Estate.name).where(Estate.id.in_([a["estate_id"] for a in mine])))).scalars().all()  # type: ignore[attr-defined]
    assert not any(name in told["body"] for name in names)
    theirs = [a for a in result["assignments"] if a["organisation_id"] == (await client.get("/api/auth/me", headers=await as_user("inspector2"))).json()["organisation_id"]]
    [other] = await waiting_on(client, await as_user("inspector2"), "暗访抽查任务")
    assert f"{len(theirs)} 个区片" in other["title"]  # each firm its own count
    for outsider in ("xbl-officer", "xbl01-worker", "company01", "admin"):
        assert await waiting_on(client, await as_user(outsider), "暗访抽查任务") == []

    inspector = await as_user("inspector1")
    for assignment in mine[:-1]:
        assert (await client.post("/api/spot-checks", json=record_body(assignment["estate_id"]), headers=inspector)).status_code == 201
    assert len(await waiting_on(client, inspector, "暗访抽查任务")) == 1  # one still to do
    assert (await client.post("/api/spot-checks", json=record_body(mine[-1]["estate_id"]), headers=inspector)).status_code == 201
    assert await waiting_on(client, inspector, "暗访抽查任务") == []
    assert len(await waiting_on(client, await as_user("inspector2"), "暗访抽查任务")) == 1  # the other firm's still waits
    async with db() as session:
        assert len((await session.execute(select(SpotCheckAssignment.id).where(SpotCheckAssignment.organisation_id == firm))).all()) == len(mine)


async def test_a_complaint_tells_its_communitys_social_worker_and_leaves_once_answered(app: Any, connection: Any, db: Any, client: Any, as_user: Any) -> None:
    _, code = await worker_estate(db)
    complaint_id, _ = await new_complaint(db, code, service_code="other", description="楼下路灯不亮")
    worker = await as_user("xbl01-worker")
    link = f"/complaints/{complaint_id}"

    async def told(headers: dict[str, str]) -> int:  # the demo's own complaints wait on their workers too
        return sum(1 for n in await waiting_on(client, headers, "新的居民投诉") if n["link"] == link)

    assert await told(worker) == 1 and await told(await as_user("xbl02-worker")) == 0
    closed = await client.post(
        f"/api/complaints/{complaint_id}/closure", json={"reason": "不属于物业服务范围", "referred_to": "12345政务服务便民热线", "answer": "已转12345"}, headers=worker
    )
    assert closed.status_code == 200, closed.text
    assert await told(worker) == 0


async def test_the_opinion_reminder_leaves_the_director_once_every_estate_has_its_opinion(client, as_user, db) -> None:
    month = Month.of(business_today()).previous()
    deadline = opinion_deadline(month)
    morning = datetime.combine(deadline, datetime.min.time(), tzinfo=BUSINESS_TZ) + timedelta(hours=9)
    async with db() as session:
        await remind_opinions(session, morning.strftime("%Y-%m-%d"), morning)
        await session.commit()
    director = await as_user("xbl01-director")
    [told] = await waiting_on(client, director, "居委会评价")
    assert str(month) in told["title"] and len(await waiting_on(client, await as_user("xbl02-director"), "居委会评价")) == 1
    estates = await estate_ids_of(db, "XBL01")
    for n, estate in enumerate(estates):
        body: dict[str, Any] = {"client_id": f"reminded-{estate}", "estate_id": estate, "month": str(month), "rating": 85}
        assert (await client.post("/api/assessment/opinions", json=body, headers=director)).status_code == 201
        if n < len(estates) - 1:
            assert len(await waiting_on(client, director, "居委会评价")) == 1  # estates still without one
    assert await waiting_on(client, director, "居委会评价") == []
    assert len(await waiting_on(client, await as_user("xbl02-director"), "居委会评价")) == 1  # not theirs
