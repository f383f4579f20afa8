"""Rectification: the company answers its own defects with a photo, the community verifies, overdue is counted."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from foundation.access import SYSTEM
from foundation.db import unit_of_work
from foundation.paging import PageRequest
from foundation.periods import Month
from inspections import defects as defect_service
from inspections.tables import Defect, YellowCard
from tests.integration.evidence import company_user_of, other_company_user, principal, record_body, upload
from tests.integration.helpers import assert_problem, count, estate_ids_of, waiting_on


async def file_defects(client, as_user, db, community: str, items: tuple[str, ...]) -> tuple[list[int], int]:
    worker = await as_user(f"{community.lower()}-worker")
    estate = (await estate_ids_of(db, community))[0]
    failed = {item: [await upload(client, worker)] for item in items}
    record = await client.post("/api/patrols", json=record_body(estate, failed=failed, passed=()), headers=worker)
    assert record.status_code == 201, record.text
    return record.json()["defect_ids"], estate


async def test_the_company_reports_a_fix_with_a_photo_and_the_worker_accepts_or_rejects_it(client, as_user, db) -> None:
    [defect_id], estate = await file_defects(client, as_user, db, "XBL01", ("C01",))
    company_id, company_user = await company_user_of(db, estate)
    company = await as_user(company_user)
    worker = await as_user("xbl01-worker")

    listed = (await client.get("/api/defects?state=open", headers=company)).json()
    assert [d["id"] for d in listed["items"]] == [defect_id]
    assert_problem(await client.post(f"/api/defects/{defect_id}/fix", json={"note": "已清运", "photo_ids": []}, headers=company), 400)
    fix_photo = await upload(client, company)
    fixed = await client.post(f"/api/defects/{defect_id}/fix", json={"note": "已清运", "photo_ids": [fix_photo]}, headers=company)
    assert fixed.status_code == 200 and fixed.json()["state"] == "fix_reported"
    # The community's worker, who found it, is told the fix waits on them; the street's worker is not.
    assert [n["link"] for n in await waiting_on(client, worker, "整改待验收")] == [f"/defects/{defect_id}"]
    assert await waiting_on(client, await as_user("xbl-worker1"), "整改待验收") == []
    assert_problem(await client.post(f"/api/defects/{defect_id}/fix", json={"note": "再报", "photo_ids": [fix_photo]}, headers=company), 409)
    # The worker sees the fix photo now that it is on a defect of their community.
    assert (await client.get(f"/api/attachments/{fix_photo}", headers=worker)).status_code == 200

    rejected = await client.post(f"/api/defects/{defect_id}/review", json={"accepted": False, "note": "仍有垃圾堆放"}, headers=worker)
    assert rejected.json()["state"] == "open" and rejected.json()["fix_reported_at"] is None
    assert await waiting_on(client, worker, "整改待验收") == []  # done (rejected): no longer waiting
    await client.post(f"/api/defects/{defect_id}/fix", json={"note": "已彻底清运", "photo_ids": [fix_photo]}, headers=company)
    assert ["已彻底清运" in n["body"] for n in await waiting_on(client, worker, "整改待验收")] == [True]  # reported again: told again
    accepted = (await client.post(f"/api/defects/{defect_id}/review", json={"accepted": True, "note": "复查合格"}, headers=worker)).json()
    assert await waiting_on(client, worker, "整改待验收") == []
    assert accepted["state"] == "closed" and not accepted["overdue"]
    assert [e["kind"] for e in accepted["events"]] == ["raised", "fix_reported", "rejected", "fix_reported", "accepted"]
    assert accepted["events"][1]["photo_ids"] == [fix_photo]


async def test_a_company_sees_and_answers_only_its_own_defects(client, as_user, db) -> None:
    [defect_id], estate = await file_defects(client, as_user, db, "XBL01", ("C02",))
    company_id, _ = await company_user_of(db, estate)
    stranger = await as_user(await other_company_user(db, company_id))
    assert_problem(await client.get(f"/api/defects/{defect_id}", headers=stranger), 404)
    assert (await client.get("/api/defects", headers=stranger)).json()["total"] == 0
    photo = await upload(client, stranger)
    assert_problem(await client.post(f"/api/defects/{defect_id}/fix", json={"note": "已整改", "photo_ids": [photo]}, headers=stranger), 404)
    # Only companies report fixes; only those who can see the defect verify it.
    assert_problem(await client.post(f"/api/defects/{defect_id}/fix", json={"note": "已整改", "photo_ids": [photo]}, headers=await as_user("xbl01-worker")), 403)
    assert_problem(await client.post(f"/api/defects/{defect_id}/review", json={"accepted": True, "note": "合格"}, headers=await as_user("xx01-worker")), 404)
    assert_problem(await client.post(f"/api/defects/{defect_id}/review", json={"accepted": True, "note": "合格"}, headers=await as_user("xbl01-worker")), 409, "open")


async def test_the_street_sees_open_overdue_and_closed_defects_of_its_street(client, as_user, db) -> None:
    ids, _ = await file_defects(client, as_user, db, "XBL01", ("C01", "C02"))
    await file_defects(client, as_user, db, "XX01", ("C03",))
    officer = await as_user("xbl-officer")
    assert {d["id"] for d in (await client.get("/api/defects?state=open", headers=officer)).json()["items"]} == set(ids)
    assert (await client.get("/api/defects?state=overdue", headers=officer)).json()["total"] == 0
    async with db() as session:
        later = (await session.get(Defect, ids[0])).deadline_at + timedelta(minutes=1)
        overdue, total = await defect_service.list_defects(session, await principal(db, "xbl-officer"), PageRequest(), state="overdue", now=later)
    assert total == 2 and {d.id for d in overdue} == set(ids) and all(d.overdue for d in overdue)


async def test_overdue_marking_counts_per_company_and_month_gives_a_yellow_card_and_flags_the_third(client, as_user, db) -> None:
    ids, estate = await file_defects(client, as_user, db, "XBL01", ("C01", "C02", "C03", "C04"))
    company_id, company_user = await company_user_of(db, estate)
    async with db() as session:
        deadline = (await session.get(Defect, ids[0])).deadline_at
    # The company fixes the fourth in time: it never becomes overdue.
    company = await as_user(company_user)
    photo = await upload(client, company)
    await client.post(f"/api/defects/{ids[3]}/fix", json={"note": "已整改", "photo_ids": [photo]}, headers=company)

    async with unit_of_work(db) as session:
        marked = await defect_service.mark_overdue(session, SYSTEM, now=deadline + timedelta(hours=1))
    assert marked.marked == 3 and marked.yellow_cards == 1 and marked.third_overdue_defect_ids == [ids[2]]
    async with unit_of_work(db) as session:
        again = await defect_service.mark_overdue(session, SYSTEM, now=deadline + timedelta(hours=2))
    assert again.marked == 0
    assert await count(db, YellowCard, YellowCard.company_id == company_id) == 1
    async with db() as session:
        ordinals = (await session.execute(select(Defect.overdue_ordinal).where(Defect.id.in_(ids)).order_by(Defect.id))).scalars().all()
    assert list(ordinals) == [1, 2, 3, None]
    month = str(Month.of_instant(deadline))
    summary = (await client.get(f"/api/defects/overdue-by-company?month={month}", headers=await as_user("xbl-officer"))).json()
    assert [(s["company_id"], s["overdue"], s["yellow_card"]) for s in summary] == [(company_id, 3, True)]
    assert (await client.get(f"/api/defects/overdue-by-company?month={month}", headers=await as_user("xx-officer"))).json() == []
    assert_problem(await client.post("/api/defects/overdue-marking", headers=await as_user("xbl-officer")), 403)


async def test_the_order_list_page_filters_by_estate_and_by_overdue(client, as_user, db) -> None:
    from tests.integration.test_pages import page_login

    ids, estate = await file_defects(client, as_user, db, "XBL01", ("C01", "C02"))
    worker = await as_user("xbl01-worker")
    other = (await estate_ids_of(db, "XBL01"))[1]
    filed = await client.post("/api/patrols", json=record_body(other, failed={"C03": [await upload(client, worker)]}, passed=()), headers=worker)
    [other_id] = filed.json()["defect_ids"]
    async with unit_of_work(db) as session:  # the first order's deadline has passed and it is still open
        first = await session.get(Defect, ids[0])
        first.deadline_at = first.raised_at - timedelta(minutes=1)
    await page_login(client, "xbl-officer")
    every = (await client.get("/defects")).text
    assert all(f'id="defect-{i}"' in every for i in (*ids, other_id))
    assert f'<option value="{estate}"' in every and f'<option value="{other}"' in every
    of_other = (await client.get(f"/defects?estate_id={other}")).text
    assert f'id="defect-{other_id}"' in of_other and not any(f'id="defect-{i}"' in of_other for i in ids)
    assert re.search(rf'<option value="{other}" selected', of_other)
    overdue = (await client.get("/defects?overdue=1")).text
    assert f'id="defect-{ids[0]}"' in overdue and f'id="defect-{ids[1]}"' not in overdue and f'id="defect-{other_id}"' not in overdue
    assert re.search(r'id="overdue"[^>]*checked', overdue)
    assert f'id="defect-{ids[0]}"' not in (await client.get(f"/defects?overdue=1&estate_id={other}")).text


async def test_the_order_list_filters_by_company_and_item_and_shows_the_fault_found(client, as_user, db) -> None:
    """The 问题 column says what was found (the note written on the item), the standard below it; the list filters by
    company and by checklist item, and the pages keep the filters."""
    from tests.integration.test_pages import page_login

    ids, estate = await file_defects(client, as_user, db, "XBL01", ("C01", "C02"))
    company_id, _ = await company_user_of(db, estate)
    other_id = other_estate = other_company = None
    for community in ("XBL02", "XBL03", "XBL04", "XBL05", "XBL06", "XBL07", "XBL08"):  # an order of another company
        candidate = (await estate_ids_of(db, community))[0]
        if (await company_user_of(db, candidate))[0] != company_id:
            worker = await as_user(f"{community.lower()}-worker")
            filed = await client.post("/api/patrols", json=record_body(candidate, failed={"C01": [await upload(client, worker)]}, passed=()), headers=worker)
            [other_id], other_estate, other_company = filed.json()["defect_ids"], candidate, (await company_user_of(db, candidate))[0]
            break
    assert other_id and other_estate, "the demo street has estates of two companies"
    await page_login(client, "xbl-officer")
    every = (await client.get("/defects")).text
    row = re.search(rf'<tr id="defect-{ids[0]}">.*?</tr>', every, re.S)
    assert row and '<strong class="fault">C01 不合格</strong>' in row.group(0) and "检查项：" in row.group(0)
    assert f'<option value="{company_id}"' in every and f'<option value="{other_company}"' in every
    assert '<option value="C01"' in every and '<option value="C02"' in every
    of_other = (await client.get(f"/defects?company_id={other_company}")).text
    assert f'id="defect-{other_id}"' in of_other and not any(f'id="defect-{i}"' in of_other for i in ids)
    assert re.search(rf'<option value="{other_company}" selected', of_other)
    of_c02 = (await client.get("/defects?item=C02")).text
    assert f'id="defect-{ids[1]}"' in of_c02 and f'id="defect-{ids[0]}"' not in of_c02 and f'id="defect-{other_id}"' not in of_c02
    assert re.search(r'<option value="C02" selected', of_c02)
    both = (await client.get(f"/defects?item=C01&company_id={company_id}")).text
    assert f'id="defect-{ids[0]}"' in both and f'id="defect-{other_id}"' not in both
    # An item that is no checklist item of the orders filters nothing (not an error, not an empty list).
    assert f'id="defect-{ids[0]}"' in (await client.get("/defects?item=ZZ99")).text
    # The order's page and the API say the fault found too.
    assert '<strong class="fault">C02 不合格</strong>' in (await client.get(f"/defects/{ids[1]}")).text
    listed = (await client.get("/api/defects?state=open", headers=await as_user("xbl-officer"))).json()["items"]
    assert {d["id"]: d["fault"] for d in listed if d["id"] in ids} == {ids[0]: "C01 不合格", ids[1]: "C02 不合格"}
