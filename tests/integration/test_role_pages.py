"""The pages for every role are a second door to the same services: the same role and scope refusals as the API,
CSRF on every form, refusals in Chinese beside the field with what was typed kept, and nothing written on a refusal."""

from __future__ import annotations

import io
import re
import uuid
from datetime import datetime, time

import pytest
from PIL import Image
from sqlalchemy import func, select, update
from sqlmodel import col

from assessment.tables import AssessmentMonth, CommitteeOpinion, EstateScore, Veto
from foundation.clock import BUSINESS_TZ, business_today
from foundation.db import unit_of_work
from foundation.periods import Month, period_zh
from inspections.tables import Attachment, Defect, InspectionRecord
from people.service import principal_of
from people.tables import User
from subsidies.engine.tables import ProgrammeRun
from supervision.todo import tasks_of
from tests.generated import generate_month
from tests.integration.evidence import approve_late, record_body, upload
from tests.integration.helpers import count, estate_ids_of
from tests.integration.test_pages import page_login

LAST_MONTH = str(Month.of(business_today()).previous())
PAGES_BY_ROLE = {
    "/patrol": {"xbl01-worker"},
    "/committee": {"xbl01-director"},
    "/assessment": {"xbl-officer", "xbl-worker1", "admin", "company01", "xbl01-director"},
    "/assessment/vetoes": {"xbl-officer", "xbl-worker1", "admin"},
    "/assessment/appeals": {"xbl-officer", "xbl-worker1", "admin", "company01"},
    "/defects": {"xbl01-worker", "xbl01-director", "xbl-officer", "xbl-worker1", "admin", "company01", "inspector1"},
    "/coverage": {"xbl01-worker", "xbl01-director", "xbl-officer", "xbl-worker1", "admin"},
    "/subsidies/runs": {"finance", "admin", "xbl-officer"},
    "/spot-checks": {"inspector1", "admin"},
}
USERS = ("xbl01-worker", "xbl01-director", "xbl-officer", "xbl-worker1", "admin", "company01", "inspector1", "finance")


async def csrf(client) -> str:  # type: ignore[no-untyped-def]
    home = await client.get("/")
    return re.search(r'name="_csrf_token" value="([^"]+)"', home.text).group(1)


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (uuid.uuid4().int % 255, 90, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("username", USERS)
async def test_each_role_opens_its_own_pages_and_is_refused_the_others(client, username) -> None:
    await page_login(client, username)
    for path, allowed in PAGES_BY_ROLE.items():
        response = await client.get(path)
        if username in allowed:
            assert response.status_code == 200, (path, response.text[-500:])
        else:
            assert response.status_code == 403, (path, username)
            assert "您无权进行此操作" in response.text


async def test_an_inspection_firm_lands_on_its_assignments_and_sees_only_its_own(client, as_user) -> None:
    month = str(Month.of(business_today()))
    drawn = await client.post("/api/spot-checks/draws", json={"month": month}, headers=await as_user("admin"))
    assert drawn.status_code in (200, 201, 409), drawn.text  # the scheduler may have drawn the month already
    mine = (await client.get(f"/api/spot-checks/assignments?month={month}&page_size=200", headers=await as_user("inspector1"))).json()["items"]
    everyone = (await client.get(f"/api/spot-checks/assignments?month={month}&page_size=200", headers=await as_user("admin"))).json()["items"]
    assert mine and len(mine) < len(everyone)
    await page_login(client, "inspector1")
    home = await client.get("/")
    assert 'href="/spot-checks"' in home.text and "查看本月抽查任务" in home.text
    # Its to-do list counts what it has still to submit; a firm has no registry figures, so no row of zeros.
    pending = (await client.get("/api/spot-checks/assignments?pending=true&page_size=200", headers=await as_user("inspector1"))).json()["total"]
    assert pending and re.search(rf'抽查任务待提交结果</span>\s*<span class="todo-count" aria-label="{pending} 项">', home.text)
    assert "概况" not in home.text
    desk = await client.get("/spot-checks")
    assert desk.status_code == 200 and f'<dd id="assigned">{len(mine)}</dd>' in desk.text
    # By when: the month's last day, on the page and on each assignment still to file.
    due = Month.of(business_today()).last_day
    assert f'<dd id="due">{due.month}月{due.day}日</dd>' in desk.text and f"待提交（{due.month}月{due.day}日前）" in desk.text
    assert all(f'{a["estate_code"]} {a["estate_name"]}' in desk.text for a in mine)
    others = [a for a in everyone if a["organisation_id"] != mine[0]["organisation_id"]]
    assert others and not any(f'{a["estate_code"]} {a["estate_name"]}' in desk.text for a in others)  # secret from other firms


@pytest.mark.parametrize(
    ("username", "first", "link"),
    [
        ("xbl01-vol1", "志愿时长待审核", "/volunteers/approvals"),  # the team's leader: the team's hours, by their deadline
        ("xbl01-vol2", "还缺人的志愿需求", "/volunteer"),
        ("xbl01-care", "志愿时长待审核", "/volunteers/approvals"),
        ("evaluator1", "项目评估待完成", "/community/evaluation"),
    ],
)
async def test_the_community_roles_homes_list_what_waits_on_them_most_urgent_first(client, username, first, link) -> None:
    await page_login(client, username)
    home = (await client.get("/")).text
    titles = re.findall(r'<span class="todo-title">([^<]+)</span>', home)
    assert titles and titles[0] == first, titles
    first_line = home[home.index('<ol class="todo"') :].split("</li>")[0]
    assert f'href="{link}' in first_line and re.search(r'data-due="\d{4}-\d{2}-\d{2}"', first_line), first_line  # where it is done, and by when
    assert re.search(r"\d+月\d+日|今天到期", first_line), first_line


async def test_anonymous_visitors_are_sent_to_log_in_from_every_page(client) -> None:
    for path in PAGES_BY_ROLE:
        response = await client.get(path, follow_redirects=False)
        assert response.status_code in (302, 303) and response.headers["location"] == f"/login?next={path}"


async def test_a_patrol_sent_twice_by_the_outbox_is_filed_once(client, db) -> None:
    await page_login(client, "xbl01-worker")
    token = await csrf(client)
    estate = (await estate_ids_of(db, "XBL01"))[0]
    body = {
        "client_id": uuid.uuid4().hex,
        "estate_id": estate,
        "inspected_at": datetime.now(BUSINESS_TZ).isoformat(),
        "results": [{"item": "M01", "passed": True}],
    }
    first = await client.post("/patrol/records", json=body, headers={"x-csrftoken": token})
    again = await client.post("/patrol/records", json=body, headers={"x-csrftoken": token})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and again.json()["replayed"] is True
    assert await count(db, InspectionRecord, InspectionRecord.client_id == body["client_id"]) == 1


async def test_the_outbox_is_refused_without_its_csrf_token_and_for_another_communitys_estate(client, db) -> None:
    await page_login(client, "xbl01-worker")
    token = await csrf(client)
    other = (await estate_ids_of(db, "XX01"))[0]
    body = {"client_id": uuid.uuid4().hex, "estate_id": other, "inspected_at": datetime.now(BUSINESS_TZ).isoformat(), "results": [{"item": "M01", "passed": True}]}
    assert (await client.post("/patrol/records", json=body)).status_code == 403
    refused = await client.post("/patrol/records", json=body, headers={"x-csrftoken": token})
    # The phone's outbox shows the reason in Chinese: the estate is another community's.
    assert refused.status_code == 403 and refused.json()["message"].endswith("不属于本社区，只能巡查本社区的区片")
    failed = {**body, "estate_id": (await estate_ids_of(db, "XBL01"))[0], "results": [{"item": "M01", "passed": False, "note": "", "photo_ids": []}]}
    refused = await client.post("/patrol/records", json=failed, headers={"x-csrftoken": token})
    assert refused.status_code == 422 and refused.json() == {"message": "不合格项请写明问题", "field": "item-M01", "detail": refused.json()["detail"]}
    assert await count(db, InspectionRecord, InspectionRecord.client_id == body["client_id"]) == 0


async def test_a_photo_that_is_not_a_photo_is_refused_in_chinese_and_stored_nowhere(client, db) -> None:
    await page_login(client, "xbl01-worker")
    token = await csrf(client)
    before = await count(db, Attachment)
    refused = await client.post("/patrol/photos", files={"file": ("x.jpg", b"not a picture", "image/jpeg")}, headers={"x-csrftoken": token})
    assert refused.status_code == 400 and refused.json()["message"].startswith("无法识别该照片")
    assert await count(db, Attachment) == before


async def test_the_opinion_form_refuses_a_bad_rating_beside_the_field_keeping_what_was_typed(client, db, as_user) -> None:
    await page_login(client, "xbl01-director")
    token = await csrf(client)
    estate = (await estate_ids_of(db, "XBL01"))[0]
    form = {"month": LAST_MONTH, "rating": "九十", "satisfied": "40", "answered": "50", "note": "楼道整洁", "_csrf_token": token}
    refused = await client.post(f"/committee/estates/{estate}/opinion", data=form)
    assert refused.status_code == 422
    assert "评价分应为 0 到 100 的整数" in refused.text and 'value="九十"' in refused.text and "楼道整洁" in refused.text
    form["rating"], form["satisfied"] = "90", "60"  # more satisfied than answered: the service's rule, in Chinese
    refused = await client.post(f"/committee/estates/{estate}/opinion", data=form)
    assert refused.status_code == 422 and "满意户数不能多于答卷户数" in refused.text
    assert await count(db, CommitteeOpinion, CommitteeOpinion.estate_id == estate, CommitteeOpinion.month == LAST_MONTH) == 0
    without_token = {k: v for k, v in form.items() if k != "_csrf_token"} | {"satisfied": "40"}
    assert (await client.post(f"/committee/estates/{estate}/opinion", data=without_token)).status_code == 403
    form["satisfied"] = "40"
    accepted = await client.post(f"/committee/estates/{estate}/opinion", data=form)
    assert accepted.status_code == 200 and "已填：90 分，满意 40/50" in accepted.text
    async with db() as session:  # who gave it, by name and post
        director = (await session.execute(select(User.display_name).where(User.username == "xbl01-director"))).scalar_one()
    assert f"（第 1 次，{director}（树德里社区居委会主任），" in accepted.text
    # The last opinion given is filled back in, to be corrected rather than typed again.
    assert 'name="rating" inputmode="numeric" value="90"' in accepted.text and 'value="40"' in accepted.text and ">楼道整洁</textarea>" in accepted.text
    assert "提交修改后的意见" in accepted.text

    # On a published month the form says, before sending, what a new opinion changes (and what it does not yet).
    officer = await as_user("xbl-officer")
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    assert (await client.post(f"/api/assessment/months/{street}/{LAST_MONTH}/compute", headers=officer)).status_code == 200
    published = (await client.get(f"/committee/estates/{estate}?month={LAST_MONTH}")).text
    effect = re.search(r'<p class="blockers" id="opinion-effect"[^>]*>(.*?)</p>', published, re.S).group(1)
    assert "公布" in effect and "将取代第 1 次" in effect and "权重 30" in effect and "已公布的得分不会马上改变" in effect and "锁定前会自动重算" in effect
    # The confirmation says it again: what the new opinion replaces, and when it counts.
    token = re.search(r'name="_csrf_token" value="([^"]+)"', published).group(1)
    client_id = re.search(r'name="client_id" value="([^"]+)"', published).group(1)
    second = await client.post(f"/committee/estates/{estate}/opinion", data=form | {"rating": "70", "client_id": client_id, "_csrf_token": token})
    saved = re.search(r'<p class="flash flash-[a-z]+" role="status">(.*?)</p>', second.text, re.S).group(1)
    assert "第 2 次，取代第 1 次" in saved and f"{period_zh(LAST_MONTH)}的得分已公布" in saved and "重新计分" in saved, saved
    # On a locked month it says that nothing changes any more, and offers no form to send.
    async with db() as session:
        await session.execute(update(AssessmentMonth).where(AssessmentMonth.street_id == street, AssessmentMonth.month == LAST_MONTH).values(state="locked", locked_at=datetime.now(BUSINESS_TZ)))
        await session.commit()
    locked = (await client.get(f"/committee/estates/{estate}?month={LAST_MONTH}")).text
    assert "锁定，得分和补贴不再改变，意见不能再提交或修改" in locked and f'action="/committee/estates/{estate}/opinion"' not in locked
    other = (await estate_ids_of(db, "XX01"))[0]
    assert (await client.post(f"/committee/estates/{other}/opinion", data=form)).status_code == 404


async def test_only_the_estates_own_street_reviews_a_veto_cast_from_the_committee_page(client, db) -> None:
    await page_login(client, "xbl01-director")
    token = await csrf(client)
    estate = (await estate_ids_of(db, "XBL01"))[0]
    cast = await client.post(
        f"/committee/estates/{estate}/veto",
        data={"month": LAST_MONTH, "reason": "gate_unattended", "explanation": "连续三晚门岗无人值守，居民反映强烈", "_csrf_token": token},
        files={"photo": ("gate.jpg", jpeg(), "image/jpeg")},
    )
    assert cast.status_code == 200 and "待审核" in cast.text
    async with db() as session:
        veto_id = (await session.execute(select(Veto.id).where(Veto.estate_id == estate, Veto.month == LAST_MONTH))).scalar_one()

    await page_login(client, "ns-officer")
    token = await csrf(client)
    refused = await client.post(f"/assessment/vetoes/{veto_id}/review", data={"verdict": "uphold", "reason": "维持", "_csrf_token": token})
    assert refused.status_code == 404 and "该记录不存在，或不在您的管辖范围内" in refused.text
    await page_login(client, "xbl-worker1")
    token = await csrf(client)
    assert (await client.post(f"/assessment/vetoes/{veto_id}/review", data={"verdict": "uphold", "reason": "维持", "_csrf_token": token})).status_code == 403

    await page_login(client, "xbl-officer")
    token = await csrf(client)
    refused = await client.post(f"/assessment/vetoes/{veto_id}/review", data={"verdict": "uphold", "reason": "", "_csrf_token": token})
    assert refused.status_code == 422 and "请写明审核理由" in refused.text
    async with db() as session:
        assert (await session.get(Veto, veto_id)).state == "pending"
    upheld = await client.post(f"/assessment/vetoes/{veto_id}/review", data={"verdict": "uphold", "reason": "经核实属实", "_csrf_token": token})
    assert upheld.status_code == 200
    async with db() as session:
        assert (await session.get(Veto, veto_id)).state == "upheld"


async def test_run_steps_are_refused_to_the_wrong_role_on_the_page_as_in_the_api(client, db) -> None:
    await page_login(client, "xbl-officer")
    token = await csrf(client)
    for step in ("approve", "batch", "recompute"):
        response = await client.post(f"/subsidies/runs/999999/{step}", data={"_csrf_token": token})
        assert response.status_code in (403, 404)
    await page_login(client, "finance")
    token = await csrf(client)
    refused = await client.post("/subsidies/runs", data={"quarter": "2026Q9", "_csrf_token": token})
    assert refused.status_code == 422 and "须形如 2026-Q4" in refused.text and 'value="2026Q9"' in refused.text
    future = await client.post("/subsidies/runs", data={"quarter": "2030-Q1", "_csrf_token": token})
    assert future.status_code == 422 and "尚未结束" in future.text
    # A quarter no street has locked a month of would be a run with nothing to approve: refused, nothing stored.
    before = await count(db, ProgrammeRun)
    nothing = await client.post("/subsidies/runs", data={"quarter": "2025-Q1", "_csrf_token": token})
    assert nothing.status_code == 422 and "2025年第一季度还没有任何街道锁定月度考核" in nothing.text and 'value="2025-Q1"' in nothing.text
    assert await count(db, ProgrammeRun) == before


async def test_notifications_show_with_a_badge_and_are_marked_read_in_place(client, db) -> None:
    from foundation.notifications import Notification, notify

    async with unit_of_work(db) as session:
        officer = (await session.execute(select(User.id).where(User.username == "xbl-officer"))).scalar_one()
        # The demo district has told the officer of a few things already (a declined delegation, reviews due, ...).
        unread = (await session.execute(select(func.count()).select_from(Notification).where(Notification.user_id == officer, col(Notification.read_at).is_(None)))).scalar_one()
        key = f"test|{uuid.uuid4().hex}"
        await notify(session, key, [officer], "一票否决 #1 须在 2026-12-01 前复核", "区片 1：门岗无人", "/assessment/vetoes#veto-1")
        await session.commit()
    await page_login(client, "xbl-officer")
    assert f"{unread + 1} 条未读" in (await client.get("/notifications/unread")).text
    listing = await client.get("/notifications")
    assert "一票否决 #1 须在 2026-12-01 前复核" in listing.text and 'href="/assessment/vetoes#veto-1"' in listing.text
    async with db() as session:
        notification_id = (await session.execute(select(Notification.id).where(Notification.user_id == officer, col(Notification.key).startswith(key)))).scalar_one()
    row = await client.post(f"/notifications/{notification_id}/read", headers={"HX-Request": "true", "x-csrftoken": await csrf(client)})
    assert row.status_code == 200 and "已读" in row.text and "<html" not in row.text
    badge = (await client.get("/notifications/unread")).text
    assert (f"{unread} 条未读" in badge) if unread else badge == ""
    await page_login(client, "xbl01-worker")
    assert (await client.post(f"/notifications/{notification_id}/read", headers={"x-csrftoken": await csrf(client)})).status_code == 404


async def test_a_score_breakdown_opens_for_its_director_and_company_and_for_no_one_elses(client, db, as_user) -> None:
    from registry.tables import ContractEstate, ServiceContract

    await generate_month(db, Month.parse(LAST_MONTH), seed=3)  # a month of evidence: findings against companies
    officer = await as_user("xbl-officer")
    me = (await client.get("/api/auth/me", headers=officer)).json()
    assert (await client.post(f"/api/assessment/months/{me['street_id']}/{LAST_MONTH}/compute", headers=officer)).status_code == 200
    estate = (await estate_ids_of(db, "XBL01"))[0]
    async with db() as session:
        company = (
            await session.execute(
                select(User.username)
                .join(ServiceContract, ServiceContract.company_id == User.company_id)
                .join(ContractEstate, ContractEstate.contract_id == ServiceContract.id)
                .where(ContractEstate.estate_id == estate)
            )
        ).scalar()
    path = f"/assessment/scores/{estate}/{LAST_MONTH}"
    for username, status in (("xbl01-director", 200), (company, 200), ("xbl-officer", 200), ("xx01-director", 404), ("company24" if company != "company24" else "company23", 404)):
        await page_login(client, username)
        response = await client.get(path)
        assert response.status_code == status, (username, response.text[-400:])
        if status == 200:
            assert "各项得分" in response.text
            assert ("提交申诉" in response.text) == (username == company)

    # The company finds the appeal form from wherever it is shown a score or a deduction: the 申诉 page says the form
    # is on the breakdown and lists the scores still open to appeal; the breakdown opened for one deduction (the
    # link on the company's rectification order) has it chosen in the form.
    await page_login(client, company)
    appeals = (await client.get("/assessment/appeals")).text
    assert "在该区片该月的<strong>得分明细页</strong>提交申诉" in appeals and f'href="{path}#appeal"' in appeals
    assert "申诉是物业企业对已公布得分提出的异议，由街道办审核答复" in appeals  # what an appeal is
    # The month's scores, where the company reads its grades, lead to it too, row by row while the window is open.
    scores = (await client.get("/assessment", params={"month": LAST_MONTH})).text
    assert f'<a class="appeal-link" href="{path}#appeal">有异议：查看扣分并申诉' in scores
    assert "申诉</strong>是贵公司对已公布得分提出的异议" in scores.split('id="company-help"')[1].split("</section>")[0]
    month = Month.parse(LAST_MONTH)
    start, end = (datetime.combine(m.first_day, time(), tzinfo=BUSINESS_TZ) for m in (month, month.next()))
    async with db() as session:  # a finding of the month on one of the company's scored estates
        company_id = (await session.execute(select(User.company_id).where(User.username == company))).scalar_one()
        found = (
            await session.execute(
                select(Defect.id, Defect.estate_id).join(InspectionRecord, InspectionRecord.id == Defect.record_id)
                .join(EstateScore, (EstateScore.estate_id == Defect.estate_id) & (EstateScore.month == LAST_MONTH))
                .where(EstateScore.company_id == company_id, InspectionRecord.inspected_at >= start, InspectionRecord.inspected_at < end)
                .order_by(Defect.id)
            )
        ).first()
    assert found is not None  # the generated month has findings on the company's estates
    defect = found[0]
    # A rectification order of an ended month (a street inspection filed late for it and approved) links the company
    # to that month's breakdown with the deduction chosen.
    specialist = await as_user("xbl-worker1")
    in_month = datetime.combine(month.first_day.replace(day=10), time(10), tzinfo=BUSINESS_TZ).isoformat()
    filed = await client.post("/api/street-inspections", json=record_body(estate, failed={"C01": [await upload(client, specialist)]}, passed=("G01",), inspected_at=in_month), headers=specialist)
    assert filed.status_code == 201, filed.text
    await approve_late(client, officer, filed.json()["id"])
    async with db() as session:
        order_id = (await session.execute(select(Defect.id).where(Defect.record_id == filed.json()["id"]))).scalar_one()
    order = await client.get(f"/defects/{order_id}")
    contest = f'href="/assessment/scores/{estate}/{LAST_MONTH}?defect_id={order_id}#appeal"'
    assert order.status_code == 200 and 'id="contest"' in order.text and contest in order.text, order.text[-800:]
    chosen = (await client.get(f"/assessment/scores/{found[1]}/{LAST_MONTH}?defect_id={defect}")).text
    assert f'<option value="{defect}" selected>' in chosen
    await page_login(client, "xbl-officer")  # the street does not appeal its own findings: no such link for it
    assert 'id="contest"' not in (await client.get(f"/defects/{order_id}")).text


async def test_my_actions_read_in_chinese_also_the_reasons_the_system_wrote(client, db) -> None:
    await page_login(client, "xbl-officer")
    computed = await client.post(f"/assessment/months/{LAST_MONTH}/compute", headers={"x-csrftoken": await csrf(client)}, follow_redirects=False)
    assert computed.status_code in (302, 303), computed.text[-400:]
    shown = await client.get("/me/actions")
    assert shown.status_code == 200 and "街道重新计算" in shown.text
    assert "computed from" not in shown.text and "month.computed" not in shown.text
    # Whose actions they are: the person by name and by the post with its unit, never the account.
    async with db() as session:
        name = (await session.execute(select(User.display_name).where(User.username == "xbl-officer"))).scalar_one()
    assert name not in ("", "xbl-officer") and "街道办" not in name  # the demo's people have names, not posts
    assert f"操作人：{name}（小白楼街道办）" in shown.text and "xbl-officer" not in shown.text.split('id="actor"')[1].split("</p>")[0]


@pytest.mark.parametrize(("username", "community_filter", "street_filter"), [("xbl01-director", False, False), ("xbl-officer", True, False), ("admin", True, True)])
async def test_a_filter_is_offered_only_where_there_is_more_than_one_thing_to_choose(client, username, community_filter, street_filter) -> None:
    """A director sees one community: a community (or street) choice with one entry would filter nothing."""
    await page_login(client, username)
    month = await client.get("/assessment", params={"month": LAST_MONTH})
    assert month.status_code == 200
    assert ('id="f-community"' in month.text) is community_filter
    estates = await client.get("/registry/estates")
    if estates.status_code == 200:
        assert ('id="community_id"' in estates.text) is community_filter
        assert ('id="street_id"' in estates.text) is street_filter
        assert 'id="q"' in estates.text  # the search box always stays


async def test_the_street_officer_is_told_to_compute_last_month_then_to_lock_it_and_then_nothing(client, db, as_user) -> None:
    """The month line of the officer's to-do follows the month: to compute while open, to lock once published (with
    the appeal window), gone once locked."""
    officer = await as_user("xbl-officer")
    me = (await client.get("/api/auth/me", headers=officer)).json()
    month_api = f"/api/assessment/months/{me['street_id']}/{LAST_MONTH}"
    async with db() as session:
        who = principal_of((await session.execute(select(User).where(User.username == "xbl-officer"))).scalar_one())

    async def month_line() -> list[tuple[str, int, str, str]]:
        async with db() as session:
            return [(t.title, t.count, t.link, t.note) for t in await tasks_of(session, who) if t.title.startswith(period_zh(LAST_MONTH)) or t.title == "月度考核待锁定"]

    await generate_month(db, Month.parse(LAST_MONTH), seed=5)  # a month of evidence, not computed yet
    assert (await client.get(month_api, headers=officer)).json()["state"] == "open"
    [(title, count_, link, note)] = await month_line()
    assert (title, count_, link) == (f"{period_zh(LAST_MONTH)}考核待计算", 1, f"/assessment?month={LAST_MONTH}") and "截止后可计算并公布" in note
    assert (await client.post(f"{month_api}/compute", headers=officer)).status_code == 200
    assert (await client.get(month_api, headers=officer)).json()["state"] == "computed"
    [(title, count_, link, note)] = await month_line()
    assert (title, count_, link) == (f"{period_zh(LAST_MONTH)}考核待锁定", 1, f"/assessment?month={LAST_MONTH}") and note.startswith("已公布")
    # Once the month's pending vetoes are reviewed (each on its own, as the street does) the month locks and the line goes.
    pending = (await client.get("/api/assessment/vetoes", params={"month": LAST_MONTH, "state": "pending", "page_size": 200}, headers=officer)).json()["items"]
    for veto in pending:
        reviewed = await client.post(f"/api/assessment/vetoes/{veto['id']}/review", json={"uphold": True, "reason": "已核实"}, headers=officer)
        assert reviewed.status_code == 200, reviewed.text
    locked = await client.post(f"{month_api}/lock", headers=officer)
    assert locked.status_code == 200 and locked.json()["state"] == "locked", locked.text
    assert await month_line() == []


async def test_the_committee_estate_page_counts_only_days_that_are_over_and_shows_today_on_its_own(client, db, as_user) -> None:
    """Today is under way: it is not listed as a day without a patrol, and the page says whether it is patrolled yet."""
    estate = (await estate_ids_of(db, "XBL01"))[0]
    today = business_today()
    await page_login(client, "xbl01-director")

    def days_without(page: str) -> str:
        return re.search(r'<p class="muted" id="days-without-patrol">未巡查的日期：(.*?)</p>', page, re.S).group(1)

    before = (await client.get(f"/committee/estates/{estate}?month={Month.of(today)}")).text
    assert f"今日（{today.day}日）：尚未巡查（当天未结束，不计入未巡查）" in before
    if today.day > 1:  # every day before today is over and was not patrolled
        assert days_without(before).split("、") == [f"{d}日" for d in range(1, today.day)]
        assert f"（0 / {today.day - 1} 天，不含今日）" in before
    worker = await as_user("xbl01-worker")
    body = record_body(estate) | {"inspected_at": datetime.now(BUSINESS_TZ).isoformat()}
    assert (await client.post("/api/patrols", json=body, headers=worker)).status_code == 201
    after = (await client.get(f"/committee/estates/{estate}?month={Month.of(today)}")).text
    assert f"今日（{today.day}日）：已巡查" in after and days_without(after) == days_without(before)


async def test_a_pending_veto_is_a_link_to_the_review_desk_only_for_those_who_may_open_it(client, db, as_user) -> None:
    """"否决待审核" on the month's table: the street follows it to the review desk; the company and the director read
    it as a note (it once linked them to /assessment/vetoes, which answers them 403)."""
    from registry.tables import ContractEstate, ServiceContract

    estate = (await estate_ids_of(db, "XBL01"))[0]
    async with db() as session:
        company = (
            await session.execute(
                select(User.username).join(ServiceContract, ServiceContract.company_id == User.company_id)
                .join(ContractEstate, ContractEstate.contract_id == ServiceContract.id).where(ContractEstate.estate_id == estate)
            )
        ).scalar()
    assert company is not None
    await page_login(client, "xbl01-director")
    cast = await client.post(
        f"/committee/estates/{estate}/veto",
        data={"month": LAST_MONTH, "reason": "gate_unattended", "explanation": "连续三晚门岗无人值守，居民反映强烈", "_csrf_token": await csrf(client)},
        files={"photo": ("gate.jpg", jpeg(), "image/jpeg")},
    )
    assert cast.status_code == 200 and "待审核" in cast.text
    officer = await as_user("xbl-officer")
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    assert (await client.post(f"/api/assessment/months/{street}/{LAST_MONTH}/compute", headers=officer)).status_code == 200

    for username in (company, "xbl01-director", "xbl-officer"):
        await page_login(client, username)
        scores = await client.get("/assessment", params={"month": LAST_MONTH})
        assert scores.status_code == 200 and "否决待审核" in scores.text, username
        linked = 'href="/assessment/vetoes"' in scores.text
        assert linked is (username == "xbl-officer"), username
        if linked:
            assert (await client.get("/assessment/vetoes")).status_code == 200
        else:
            assert (await client.get("/assessment/vetoes")).status_code == 403  # the door the link would have opened onto
