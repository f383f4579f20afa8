"""Residents' needs, the "3456" consultation, proposals answered by the street and the district's catalogue, through
the API on a real database: every rule and refusal as the people using it would notice it."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from community.needs import queries as needs_queries
from community.needs import schemas, service
from community.needs.tables import Catalogue, Meeting, MeetingVote, Need, Proposal
from foundation.access import Principal, Role
from foundation.calendar.rules import working_days_after
from foundation.calendar.service import working_calendar
from foundation.clock import BUSINESS_TZ, business_today
from foundation.db import unit_of_work
from foundation.notifications import Notification
from people.tables import User
from tests.integration.helpers import assert_problem, audit_count, community_id, count


def need_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": uuid.uuid4().hex,
        "title": "独居老人助餐服务",
        "category": "养老",
        "households": 42,
        "source": "楼门长",
        "raised_on": str(business_today() - timedelta(days=20)),
        "description": "3号楼至9号楼独居老人午餐无人照应，希望设助餐点。",
    }
    return body | overrides


def meeting_body(need_id: int, body: str = "deliberation", *, members: int = 11, present: int = 9, in_favour: int = 7, against: int = 1, abstained: int = 1, **overrides: Any) -> dict[str, Any]:
    return {
        "client_id": uuid.uuid4().hex,
        "body": body,
        "held_on": str(business_today() - timedelta(days=5 if body == "deliberation" else 2)),
        "place": "树德里社区议事厅",
        "members": members,
        "present": present,
        "minutes": "讨论助餐点的场地和送餐范围，同意提交表决。",
        "votes": [{"need_id": need_id, "in_favour": in_favour, "against": against, "abstained": abstained}],
    } | overrides


async def record_need(client, as_user, director: str = "xbl01-director", **overrides: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await client.post("/api/community/needs", json=need_body(**overrides), headers=await as_user(director))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def approved_need(client, as_user, director: str = "xbl01-director") -> int:  # type: ignore[no-untyped-def]
    need_id = int((await record_need(client, as_user, director))["id"])
    headers = await as_user(director)
    for body in ("deliberation", "assembly"):
        members = 11 if body == "deliberation" else 41
        response = await client.post("/api/community/meetings", json=meeting_body(need_id, body, members=members, present=members - 2, in_favour=members - 4, against=2, abstained=0), headers=headers)
        assert response.status_code == 201, response.text
    return need_id


async def sent_proposal(client, as_user, director: str = "xbl01-director") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    need_id = await approved_need(client, as_user, director)
    response = await client.post(
        "/api/community/proposals", json={"client_id": uuid.uuid4().hex, "need_id": need_id, "summary": "申请纳入政府购买服务项目。"}, headers=await as_user(director)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def user_id(db, username: str) -> int:  # type: ignore[no-untyped-def]
    async with db() as session:
        return int((await session.execute(select(User.id).where(User.username == username))).scalar_one())


async def notices(db, username: str, prefix: str) -> list[Notification]:  # type: ignore[no-untyped-def]
    uid = await user_id(db, username)
    async with db() as session:
        return list((await session.execute(select(Notification).where(Notification.user_id == uid, Notification.key.startswith(prefix)))).scalars())


async def test_a_need_deliberated_and_approved_goes_to_the_street_with_its_due_day(client, as_user, db) -> None:
    need = await record_need(client, as_user)
    assert need["state"] == "recorded" and need["community_id"] == await community_id(db, "XBL01")
    headers = await as_user("xbl01-director")
    deliberation = await client.post("/api/community/meetings", json=meeting_body(need["id"]), headers=headers)
    assert deliberation.status_code == 201, deliberation.text
    assert deliberation.json()["body_name"] == "协商议事委员会" and deliberation.json()["votes"][0]["passed"] is True
    assert (await client.get(f"/api/community/needs/{need['id']}", headers=headers)).json()["state"] == "deliberated"
    assembly = await client.post("/api/community/meetings", json=meeting_body(need["id"], "assembly", members=41, present=30, in_favour=25, against=3, abstained=2), headers=headers)
    assert assembly.status_code == 201, assembly.text
    assert (await client.get(f"/api/community/needs/{need['id']}", headers=headers)).json()["state"] == "approved"

    sent = await client.post("/api/community/proposals", json={"client_id": uuid.uuid4().hex, "need_id": need["id"], "summary": "申请纳入政府购买服务项目。", "budget_fen": 12_000_000}, headers=headers)
    assert sent.status_code == 201, sent.text
    proposal = sent.json()
    async with db() as session:
        expected_due, _ = working_days_after(business_today(), 10, await working_calendar(session))
    assert proposal["due_on"] == str(expected_due) and proposal["state"] == "waiting" and proposal["overdue"] is False
    assert proposal["deliberation_meeting_id"] == deliberation.json()["id"] and proposal["approval_meeting_id"] == assembly.json()["id"]
    assert (await client.get(f"/api/community/needs/{need['id']}", headers=headers)).json()["state"] == "proposed"
    # The street's officer is told; everything is in the audit log.
    waiting = await notices(db, "xbl-officer", f"proposal-waiting|{proposal['id']}|")
    assert len(waiting) == 1 and str(expected_due) in waiting[0].body
    assert await audit_count(db, "proposal.sent") >= 1 and await audit_count(db, "meeting.recorded") >= 2
    # Sending it again is refused: it is already with the street.
    again = await client.post("/api/community/proposals", json={"client_id": uuid.uuid4().hex, "need_id": need["id"], "summary": "再次报送。"}, headers=headers)
    assert_problem(again, 409, "already sent")


async def test_a_retry_with_the_same_client_id_records_one_need_and_one_meeting(client, as_user, db) -> None:
    headers = await as_user("xbl01-director")
    body = need_body()
    before = await count(db, Need)
    first = await client.post("/api/community/needs", json=body, headers=headers)
    second = await client.post("/api/community/needs", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200) and first.json()["id"] == second.json()["id"]
    assert await count(db, Need) == before + 1
    assert_problem(await client.post("/api/community/needs", json=body | {"households": 43}, headers=headers), 409, "client id")

    meeting = meeting_body(first.json()["id"])
    meetings = await count(db, Meeting)
    assert (await client.post("/api/community/meetings", json=meeting, headers=headers)).status_code == 201
    assert (await client.post("/api/community/meetings", json=meeting, headers=headers)).status_code == 200
    assert await count(db, Meeting) == meetings + 1


@pytest.mark.parametrize(("members", "present"), [(11, 5), (10, 5), (9, 0)])
async def test_a_meeting_without_more_than_half_its_members_may_not_vote(client, as_user, db, members, present) -> None:
    need = await record_need(client, as_user)
    before = (await count(db, Meeting), await count(db, MeetingVote), await audit_count(db, "meeting.recorded"))
    response = await client.post("/api/community/meetings", json=meeting_body(need["id"], members=members, present=present, in_favour=present, against=0, abstained=0), headers=await as_user("xbl01-director"))
    assert_problem(response, 422, "no quorum", f"{present} of {members} members present")
    assert (await count(db, Meeting), await count(db, MeetingVote), await audit_count(db, "meeting.recorded")) == before
    assert (await client.get(f"/api/community/needs/{need['id']}", headers=await as_user("xbl01-director"))).json()["state"] == "recorded"


async def test_a_vote_without_a_majority_of_those_present_is_kept_but_does_not_move_the_need(client, as_user) -> None:
    need = await record_need(client, as_user)
    headers = await as_user("xbl01-director")
    # 10 present, 5 in favour: half is not more than half.
    response = await client.post("/api/community/meetings", json=meeting_body(need["id"], members=12, present=10, in_favour=5, against=3, abstained=2), headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["votes"][0]["passed"] is False
    assert (await client.get(f"/api/community/needs/{need['id']}", headers=headers)).json()["state"] == "recorded"
    # Not deliberated: the assembly may not vote on it, and it cannot be sent to the street.
    assert_problem(await client.post("/api/community/meetings", json=meeting_body(need["id"], "assembly", members=41, present=30, in_favour=25, against=5, abstained=0), headers=headers), 422, "not been deliberated")
    refused = await client.post("/api/community/proposals", json={"client_id": uuid.uuid4().hex, "need_id": need["id"], "summary": "申请纳入政府购买服务项目。"}, headers=headers)
    assert_problem(refused, 422, "deliberation", "approval")
    # A second deliberation may pass it; a third is refused as already decided.
    assert (await client.post("/api/community/meetings", json=meeting_body(need["id"], members=12, present=10, in_favour=6, against=4, abstained=0), headers=headers)).json()["votes"][0]["passed"] is True
    assert_problem(await client.post("/api/community/meetings", json=meeting_body(need["id"]), headers=headers), 409, "already deliberated")


async def test_a_director_works_only_on_the_needs_of_their_own_community(client, as_user, db) -> None:
    need = await record_need(client, as_user, "xbl01-director")
    other = await as_user("xbl02-director")
    assert_problem(await client.get(f"/api/community/needs/{need['id']}", headers=other), 404)
    before = await count(db, Meeting)
    assert_problem(await client.post("/api/community/meetings", json=meeting_body(need["id"]), headers=other), 404, f"need {need['id']}")
    assert await count(db, Meeting) == before
    assert need["id"] not in [n["id"] for n in (await client.get("/api/community/needs?page_size=200", headers=other)).json()["items"]]
    # The street sees the needs of its communities; another street does not.
    assert need["id"] in [n["id"] for n in (await client.get("/api/community/needs?page_size=200", headers=await as_user("xbl-officer"))).json()["items"]]
    assert_problem(await client.get(f"/api/community/needs/{need['id']}", headers=await as_user("xx-officer")), 404)
    approved = await approved_need(client, as_user, "xbl01-director")
    assert_problem(await client.post("/api/community/proposals", json={"client_id": uuid.uuid4().hex, "need_id": approved, "summary": "替别的社区报送。"}, headers=other), 404)


async def test_each_step_is_for_its_own_role(client, as_user, db) -> None:
    before = await count(db, Need)
    assert_problem(await client.post("/api/community/needs", json=need_body(), headers=await as_user("xbl-officer")), 403, "committee_director")
    assert_problem(await client.post("/api/community/needs", json=need_body(), headers=await as_user("xbl01-worker")), 403)
    assert await count(db, Need) == before
    proposal = await sent_proposal(client, as_user)
    for username in ("xbl01-director", "admin", "xbl-worker1"):
        assert_problem(await client.post(f"/api/community/proposals/{proposal['id']}/answer", json={"answer": "include"}, headers=await as_user(username)), 403, "street_officer")
    assert_problem(await client.post("/api/community/catalogues", json={"year": 2027}, headers=await as_user("xbl-officer")), 403, "admin")
    assert_problem(await client.get("/api/community/needs", headers=await as_user("company01")), 403)
    # An officer of another street does not see the proposal at all.
    assert_problem(await client.post(f"/api/community/proposals/{proposal['id']}/answer", json={"answer": "include"}, headers=await as_user("xx-officer")), 404)


async def test_the_street_answers_a_proposal_once(client, as_user, db) -> None:
    proposal = await sent_proposal(client, as_user)
    officer = await as_user("xbl-officer")
    included = await client.post(f"/api/community/proposals/{proposal['id']}/answer", json={"answer": "include"}, headers=officer)
    assert included.status_code == 200, included.text
    assert included.json()["state"] == "included" and included.json()["answered_by"].startswith("xbl-officer")
    again = await client.post(f"/api/community/proposals/{proposal['id']}/answer", json={"answer": "return", "reason": "改变主意"}, headers=officer)
    assert_problem(again, 409, "already answered")
    assert (await client.get(f"/api/community/proposals/{proposal['id']}", headers=officer)).json()["state"] == "included"
    assert await audit_count(db, "proposal.include") >= 1


async def test_a_proposal_merges_only_with_one_of_the_same_street(client, as_user, db) -> None:
    ours = await sent_proposal(client, as_user, "xbl01-director")
    neighbour = await sent_proposal(client, as_user, "xbl02-director")
    elsewhere = await sent_proposal(client, as_user, "xx01-director")
    officer = await as_user("xbl-officer")
    refused = await client.post(f"/api/community/proposals/{neighbour['id']}/answer", json={"answer": "merge", "merge_into_id": elsewhere["id"]}, headers=officer)
    assert_problem(refused, 422, "another street")
    assert_problem(await client.post(f"/api/community/proposals/{neighbour['id']}/answer", json={"answer": "merge"}, headers=officer), 422, "merge_into_id")
    assert_problem(await client.post(f"/api/community/proposals/{neighbour['id']}/answer", json={"answer": "merge", "merge_into_id": neighbour["id"]}, headers=officer), 422, "itself")
    async with db() as session:
        assert (await session.get(Proposal, neighbour["id"])).state == "waiting"  # type: ignore[union-attr]
    merged = await client.post(f"/api/community/proposals/{neighbour['id']}/answer", json={"answer": "merge", "merge_into_id": ours["id"]}, headers=officer)
    assert merged.status_code == 200, merged.text
    assert merged.json()["state"] == "merged" and merged.json()["merged_into_id"] == ours["id"]


async def test_a_returned_proposal_goes_back_to_the_director_with_the_reason(client, as_user, db) -> None:
    proposal = await sent_proposal(client, as_user)
    officer = await as_user("xbl-officer")
    assert_problem(await client.post(f"/api/community/proposals/{proposal['id']}/answer", json={"answer": "return"}, headers=officer), 422, "reason")
    returned = await client.post(f"/api/community/proposals/{proposal['id']}/answer", json={"answer": "return", "reason": "请补充服务对象名单的统计口径"}, headers=officer)
    assert returned.status_code == 200 and returned.json()["answer_reason"] == "请补充服务对象名单的统计口径"
    told = await notices(db, "xbl01-director", f"proposal-returned|{proposal['id']}|")
    assert len(told) == 1 and "统计口径" in told[0].body
    # The need is approved again and may be sent anew, amended.
    director = await as_user("xbl01-director")
    assert (await client.get(f"/api/community/needs/{proposal['need_id']}", headers=director)).json()["state"] == "approved"
    resent = await client.post("/api/community/proposals", json={"client_id": uuid.uuid4().hex, "need_id": proposal["need_id"], "summary": "已补充统计口径：独居老人 42 户。"}, headers=director)
    assert resent.status_code == 201 and resent.json()["id"] != proposal["id"]


async def test_a_proposal_left_unanswered_past_its_due_day_shows_overdue_and_the_street_is_told(client, as_user, db) -> None:
    need_id = await approved_need(client, as_user)
    director_id = await user_id(db, "xbl01-director")
    sent_at = datetime.combine(business_today() - timedelta(days=40), time(10), tzinfo=BUSINESS_TZ)
    director = Principal(role=Role.COMMITTEE_DIRECTOR, user_id=director_id, username="xbl01-director", community_id=await community_id(db, "XBL01"))
    async with unit_of_work(db) as session:
        proposal = (await service.send_proposal(session, director, schemas.ProposalIn(client_id=uuid.uuid4().hex, need_id=need_id, summary="四十天前报送的提案。"), now=sent_at)).row
        proposal_id = proposal.id
    officer = await as_user("xbl-officer")
    shown = (await client.get(f"/api/community/proposals/{proposal_id}", headers=officer)).json()
    assert shown["overdue"] is True and shown["state"] == "waiting"
    assert proposal_id in [p["id"] for p in (await client.get("/api/community/proposals?overdue=true&page_size=200", headers=officer)).json()["items"]]
    async with unit_of_work(db) as session:
        await service.notify_overdue_proposals(session, datetime.now(BUSINESS_TZ))
    async with unit_of_work(db) as session:
        await service.notify_overdue_proposals(session, datetime.now(BUSINESS_TZ))  # told once
    assert len(await notices(db, "xbl-officer", f"proposal-overdue|{proposal_id}|")) == 1
    assert len(await notices(db, "admin", f"proposal-overdue|{proposal_id}|")) == 1
    # Answered late, it is no longer overdue.
    answered = await client.post(f"/api/community/proposals/{proposal_id}/answer", json={"answer": "forward"}, headers=officer)
    assert answered.json()["overdue"] is False and answered.json()["state"] == "forwarded"


async def test_a_published_catalogue_does_not_change_and_a_correction_is_a_new_version(client, as_user, db) -> None:
    proposal = await sent_proposal(client, as_user)
    waiting = await sent_proposal(client, as_user, "xbl02-director")
    officer, admin = await as_user("xbl-officer"), await as_user("admin")
    assert (await client.post(f"/api/community/proposals/{proposal['id']}/answer", json={"answer": "include"}, headers=officer)).status_code == 200
    street_id = proposal["street_id"]
    year = 2031
    item = {"title": "小白楼街道助餐服务", "category": "养老", "budget_fen": 30_000_000, "street_id": street_id, "proposal_ids": [proposal["id"]]}
    # A proposal the street has not taken up cannot be in the catalogue.
    refused = await client.post("/api/community/catalogues", json={"year": year, "items": [item | {"proposal_ids": [waiting["id"]]}]}, headers=admin)
    assert_problem(refused, 422, "included or forwarded")
    for unknown in (0, 2**40):
        assert_problem(await client.post("/api/community/catalogues", json={"year": year, "items": [item | {"proposal_ids": [unknown]}]}, headers=admin), 404, "proposal")
    assert await count(db, Catalogue, Catalogue.year == year) == 0
    draft = await client.post("/api/community/catalogues", json={"year": year, "note": "第一版", "items": [item]}, headers=admin)
    assert draft.status_code == 201, draft.text
    catalogue = draft.json()
    assert catalogue["state"] == "draft" and catalogue["version"] == 1 and catalogue["total_fen"] == 30_000_000
    async with db() as session:
        assert await needs_queries.catalogue_items(session, year) == []  # nothing in force before it is published
    # Drafts are the district's: the street does not see them yet.
    assert_problem(await client.get(f"/api/community/catalogues/{catalogue['id']}", headers=officer), 404)
    more = await client.post(f"/api/community/catalogues/{catalogue['id']}/items", json={"title": "全区困难家庭帮扶", "category": "帮困", "budget_fen": 50_000_000}, headers=admin)
    assert more.status_code == 200 and [i["position"] for i in more.json()["items"]] == [1, 2]
    published = await client.post(f"/api/community/catalogues/{catalogue['id']}/publish", headers=admin)
    assert published.status_code == 200 and published.json()["state"] == "published"
    # Published: no item is added, it is not published again, and the database refuses a change as well.
    changed = await client.post(f"/api/community/catalogues/{catalogue['id']}/items", json={"title": "补加的项目", "category": "文体", "budget_fen": 1_000_000}, headers=admin)
    assert_problem(changed, 409, "published", "new version")
    assert_problem(await client.post(f"/api/community/catalogues/{catalogue['id']}/publish", headers=admin), 409)
    with pytest.raises((IntegrityError, DBAPIError)):
        async with unit_of_work(db) as session:
            await session.execute(text("UPDATE service_catalogues SET note = 'changed' WHERE id = :id"), {"id": catalogue["id"]})
    async with db() as session:
        items = await needs_queries.catalogue_items(session, year)
    assert [(i.title, i.budget_fen, i.buyer, i.street_id, i.proposal_ids) for i in items] == [
        ("小白楼街道助餐服务", 30_000_000, "street", street_id, (proposal["id"],)),
        ("全区困难家庭帮扶", 50_000_000, "district", None, ()),
    ]
    # The correction: version 2, the first one unchanged; the catalogue in force is the latest published.
    correction = await client.post("/api/community/catalogues", json={"year": year, "note": "更正预算", "items": [item | {"budget_fen": 32_000_000}]}, headers=admin)
    assert correction.status_code == 201 and correction.json()["version"] == 2
    assert_problem(await client.post("/api/community/catalogues", json={"year": year}, headers=admin), 409, "draft")
    async with db() as session:
        assert [i.budget_fen for i in await needs_queries.catalogue_items(session, year)] == [30_000_000, 50_000_000]
    assert (await client.post(f"/api/community/catalogues/{correction.json()['id']}/publish", headers=admin)).status_code == 200
    async with db() as session:
        assert [i.budget_fen for i in await needs_queries.catalogue_items(session, year)] == [32_000_000]
    versions = (await client.get(f"/api/community/catalogues?year={year}", headers=officer)).json()
    assert [(c["version"], c["total_fen"]) for c in versions] == [(2, 32_000_000), (1, 80_000_000)]


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/api/community/needs", need_body(households="42"), 400, "households"),
        ("/api/community/needs", need_body(households=0), 400, "households"),
        ("/api/community/needs", need_body(category="修路"), 422, "category"),
        ("/api/community/needs", need_body(source="微信群"), 422, "source"),
        ("/api/community/needs", need_body(phone="13800000000"), 400, "phone"),
        ("/api/community/needs", need_body(raised_on=str(business_today() + timedelta(days=3))), 422, "future"),
        ("/api/community/needs", need_body(title=" "), 400, "title"),
    ],
)
async def test_bad_needs_are_refused_with_a_problem_and_nothing_is_stored(client, as_user, db, path, body, status, fragment) -> None:
    before = (await count(db, Need), await audit_count(db, "need.recorded"))
    assert_problem(await client.post(path, json=body, headers=await as_user("xbl01-director")), status, fragment)
    assert (await count(db, Need), await audit_count(db, "need.recorded")) == before


@pytest.mark.parametrize(
    ("change", "status", "fragment"),
    [
        ({"present": 12}, 422, "more than the 11 members"),
        ({"in_favour": 9, "against": 1}, 422, "votes were cast"),
        ({"body": "committee"}, 400, "body"),
        ({"members": 0}, 400, "members"),
        ({"held_on": str(business_today() + timedelta(days=1))}, 422, "future"),
        ({"votes": []}, 400, "votes"),
    ],
)
async def test_bad_meetings_are_refused_and_nothing_is_stored(client, as_user, db, change, status, fragment) -> None:
    need = await record_need(client, as_user)
    body = meeting_body(need["id"])
    if "in_favour" in change:
        body["votes"][0] |= change
    else:
        body |= change
    before = (await count(db, Meeting), await count(db, MeetingVote))
    assert_problem(await client.post("/api/community/meetings", json=body, headers=await as_user("xbl01-director")), status, fragment)
    assert (await count(db, Meeting), await count(db, MeetingVote)) == before


async def test_the_demo_year_has_needs_meetings_proposals_and_a_published_catalogue(client, as_user, db) -> None:
    officer = await as_user("wdd-officer")
    proposals = (await client.get("/api/community/proposals?page_size=200", headers=officer)).json()["items"]
    assert {"included", "merged", "returned", "forwarded"} <= {p["state"] for p in proposals}
    catalogue = (await client.get("/api/community/catalogues?year=2026", headers=officer)).json()
    assert [c["state"] for c in catalogue] == ["published"] and len(catalogue[0]["items"]) == 5
    async with db() as session:
        items = await needs_queries.catalogue_items(session, 2026)
        assert {i.buyer for i in items} == {"street", "district"} and all(i.budget_fen > 0 for i in items)
    meetings = (await client.get("/api/community/meetings?page_size=200", headers=await as_user("wdd02-director"))).json()["items"]
    assert any(not v["passed"] for m in meetings for v in m["votes"])  # the assembly that first said no


async def test_pages_of_the_director_street_and_district(client, db) -> None:
    from tests.integration.test_pages import page_login
    from tests.integration.test_role_pages import csrf

    await page_login(client, "wdd01-director")
    page = await client.get("/community/needs")
    assert page.status_code == 200 and "登记需求" in page.text and "独居老人助餐服务" in page.text
    token = await csrf(client)
    before = await count(db, Need)
    refused = await client.post("/community/needs", data={"_csrf_token": token, "client_id": uuid.uuid4().hex, "title": "楼道照明", "category": "环境", "households": "abc", "source": "走访", "raised_on": str(business_today())})
    assert refused.status_code == 422 and "涉及户数填写有误" in refused.text and "楼道照明" in refused.text
    assert await count(db, Need) == before
    meeting = await client.get("/community/meetings")
    assert meeting.status_code == 200 and "出席人数须超过成员半数" in meeting.text
    assert (await client.get("/community/proposals")).status_code == 200
    assert (await client.get("/community/catalogues")).status_code == 200
    await client.post("/logout", data={"_csrf_token": await csrf(client)})
    await page_login(client, "xx-officer")
    proposals = await client.get("/community/proposals")
    assert proposals.status_code == 200 and "楼前小广场照明改善" in proposals.text and "提交答复" in proposals.text
    assert "已超期" in proposals.text and "青少年暑期公益实践" not in proposals.text
    assert (await client.post("/community/needs", data={"_csrf_token": await csrf(client), "title": "x"})).status_code == 403
