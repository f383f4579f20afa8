"""Delivery of community-service projects, told as its users live it: the street registers a project with its
indicators and delegates it to committees; a director accepts, or declines with a reason, within five working days
(late, for another community or twice: refused); unanswered delegations go back to the street; the director assigns
the community's social workers, one leading; social workers and the organisation's staff log activities from a phone
(a resend stores one), which add up against the indicators; residents served are recorded with consent and seen only
inside the community and the project."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from community.delivery import jobs, schemas, service
from community.delivery.tables import Activity, ActivityVolunteer, Beneficiary, Delegation
from community.volunteers.tables import VolunteerHours, VolunteerTeam, VolunteerTeamMember
from foundation.clock import BUSINESS_TZ, business_today, utc_now
from foundation.jobs import run_job
from foundation.notifications import Notification
from people import queries as people_queries
from tests.integration.evidence import jpeg, upload
from tests.integration.helpers import assert_problem, community_id, count, waiting_on
from tests.integration.test_calls import act, principal
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf
from tests.integration.test_volunteers import log, new_volunteer, team_of

INDICATORS = [{"name": "入户探访", "measure": "attendances", "target": 100}, {"name": "健康讲座", "measure": "sessions", "target": 4}]


def project_body(**extra: Any) -> dict[str, Any]:
    today = business_today()
    body: dict[str, Any] = {
        "title": "高龄独居老人探访", "target_group": "养老", "starts_on": (today - timedelta(days=30)).isoformat(),
        "ends_on": (today + timedelta(days=300)).isoformat(), "indicators": INDICATORS,
    }
    return body | extra


async def street_project(client: Any, as_user: Any, **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/delivery/projects", json=project_body(**extra), headers=await as_user("xbl-officer"))
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()
    return project


async def delegated(client: Any, as_user: Any, db: Any, community: str, kind: str = "execute", **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    project = await street_project(client, as_user, **extra)
    response = await client.post(
        f"/api/delivery/projects/{project['id']}/delegations", json={"community_id": await community_id(db, community), "kind": kind}, headers=await as_user("xbl-officer")
    )
    assert response.status_code == 201, response.text
    return project, response.json()


async def accepted(client: Any, as_user: Any, db: Any, community: str, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    project, delegation = await delegated(client, as_user, db, community, **extra)
    response = await client.post(f"/api/delivery/delegations/{delegation['id']}/answer", json={"accept": True}, headers=await as_user(f"{community.lower()}-director"))
    assert response.status_code == 200, response.text
    return project, response.json()


async def set_specialism(client: Any, as_user: Any, db: Any, username: str, specialism: str) -> int:
    user_id = (await principal(db, username)).user_id
    response = await client.patch(f"/api/users/{user_id}", json={"specialism": specialism}, headers=await as_user("admin"))
    assert response.status_code == 200, response.text
    assert response.json()["specialism"] == specialism
    return user_id or 0


async def staffed(client: Any, as_user: Any, db: Any, community: str = "XBL04", **extra: Any) -> tuple[dict[str, Any], dict[str, Any], int]:
    """An accepted delegation whose team is led by the community's elderly-care social worker."""
    project, delegation = await accepted(client, as_user, db, community, **extra)
    lead = await set_specialism(client, as_user, db, f"{community.lower()}-care", "老龄社工")
    response = await client.put(
        f"/api/delivery/delegations/{delegation['id']}/team", json={"members": [{"user_id": lead, "lead": True}]}, headers=await as_user(f"{community.lower()}-director")
    )
    assert response.status_code == 200, response.text
    return project, delegation, lead


def activity(delegation_id: int, client_id: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"client_id": client_id, "delegation_id": delegation_id, "indicator_number": 1, "held_on": business_today().isoformat(), "place": "社区活动室", "head_count": 25}
    return body | extra


async def test_director_accepts_a_delegation_within_five_working_days_and_the_street_is_told(client, as_user, db) -> None:
    project, delegation = await delegated(client, as_user, db, "XBL04", kind="assist")
    assert delegation["status"] == "pending" and delegation["kind"] == "assist"
    assert delegation["due_on"] > business_today().isoformat()
    listed = (await client.get("/api/delivery/delegations", headers=await as_user("xbl04-director"))).json()
    assert [d["id"] for d in listed if d["project_id"] == project["id"]] == [delegation["id"]]
    # The delegation waits on the director of XBL04 (told), not on another community's.
    assert [n["title"] for n in await waiting_on(client, await as_user("xbl04-director"), "项目委托待答复")] == [f"项目委托待答复：{project['title']}"]
    assert await waiting_on(client, await as_user("xbl05-director"), "项目委托待答复") == []
    answer = await client.post(f"/api/delivery/delegations/{delegation['id']}/answer", json={"accept": True}, headers=await as_user("xbl04-director"))
    assert answer.status_code == 200 and answer.json()["status"] == "accepted"
    assert await waiting_on(client, await as_user("xbl04-director"), "项目委托待答复") == []  # answered: no longer waiting
    officer = (await principal(db, "xbl-officer")).user_id
    assert await count(db, Notification, Notification.user_id == officer, Notification.title.like("%已接受委托%"))


async def test_a_decline_needs_a_reason_and_the_project_is_delegated_elsewhere(client, as_user, db) -> None:
    project, delegation = await delegated(client, as_user, db, "XBL04")
    director = await as_user("xbl04-director")
    refused = await client.post(f"/api/delivery/delegations/{delegation['id']}/answer", json={"accept": False, "reason": " "}, headers=director)
    assert_problem(refused, 422, "reason")
    async with db() as session:
        assert (await session.get(Delegation, delegation["id"])).status == "pending"
    declined = await client.post(f"/api/delivery/delegations/{delegation['id']}/answer", json={"accept": False, "reason": "社工人手不足"}, headers=director)
    assert declined.status_code == 200 and declined.json()["decline_reason"] == "社工人手不足"
    officer = await as_user("xbl-officer")
    again = await client.post(f"/api/delivery/projects/{project['id']}/delegations", json={"community_id": await community_id(db, "XBL04"), "kind": "execute"}, headers=officer)
    assert_problem(again, 422, "declined")
    elsewhere = await client.post(f"/api/delivery/projects/{project['id']}/delegations", json={"community_id": await community_id(db, "XBL05"), "kind": "execute"}, headers=officer)
    assert elsewhere.status_code == 201 and elsewhere.json()["status"] == "pending"


async def test_an_answer_after_the_deadline_for_another_community_or_twice_is_refused(client, as_user, db) -> None:
    officer = await principal(db, "xbl-officer")
    project = await street_project(client, as_user)
    two_weeks_ago = utc_now() - timedelta(days=14)
    late = await act(db, service.delegate, officer, project["id"], schemas.DelegationIn(community_id=await community_id(db, "XBL04"), kind=schemas.Kind.EXECUTE), two_weeks_ago)
    after_deadline = await client.post(f"/api/delivery/delegations/{late.id}/answer", json={"accept": True}, headers=await as_user("xbl04-director"))
    assert_problem(after_deadline, 422, "was due by")
    _, delegation = await delegated(client, as_user, db, "XBL05")
    other = await client.post(f"/api/delivery/delegations/{delegation['id']}/answer", json={"accept": True}, headers=await as_user("xbl04-director"))
    assert_problem(other, 403)
    first = await client.post(f"/api/delivery/delegations/{delegation['id']}/answer", json={"accept": True}, headers=await as_user("xbl05-director"))
    assert first.status_code == 200
    twice = await client.post(f"/api/delivery/delegations/{delegation['id']}/answer", json={"accept": False, "reason": "改变主意"}, headers=await as_user("xbl05-director"))
    assert_problem(twice, 409, "answered already")
    async with db() as session:
        assert (await session.get(Delegation, late.id)).status == "pending"
        assert (await session.get(Delegation, delegation["id"])).status == "accepted"


async def test_unanswered_delegations_go_back_to_the_street_at_their_deadline(client, as_user, db) -> None:
    officer = await principal(db, "xbl-officer")
    project = await street_project(client, as_user)
    late = await act(db, service.delegate, officer, project["id"], schemas.DelegationIn(community_id=await community_id(db, "XBL04"), kind=schemas.Kind.ASSIST), utc_now() - timedelta(days=14))
    on_time = await act(db, service.delegate, officer, project["id"], schemas.DelegationIn(community_id=await community_id(db, "XBL05"), kind=schemas.Kind.ASSIST), utc_now())
    # The job works each day from 00:30 Beijing time: between midnight and then, run it at 00:31 of the same day.
    now = max(utc_now(), datetime.combine(business_today(), time(0, 31), BUSINESS_TZ).astimezone(UTC))
    job = next(j for j in jobs.JOBS if j.name == "community.return_unanswered_delegations")
    run = await run_job(db, job, job.period_for(now), now)
    assert run.state == "done" and run.result and run.result["returned"] >= 1
    async with db() as session:
        assert (await session.get(Delegation, late.id)).status == "expired"
        assert (await session.get(Delegation, on_time.id)).status == "pending"
    assert await count(db, Notification, Notification.user_id == officer.user_id, Notification.key == f"delegation-expired:{late.id}|{officer.user_id}")
    redelegated = await client.post(f"/api/delivery/projects/{project['id']}/delegations", json={"community_id": await community_id(db, "XBL04"), "kind": "assist"}, headers=await as_user("xbl-officer"))
    assert redelegated.status_code == 201, redelegated.text


async def test_the_director_assigns_a_team_of_the_communitys_social_workers_with_one_lead(client, as_user, db) -> None:
    _, delegation = await accepted(client, as_user, db, "XBL04")
    director = await as_user("xbl04-director")
    team_url = f"/api/delivery/delegations/{delegation['id']}/team"
    care = (await principal(db, "xbl04-care")).user_id
    worker = (await principal(db, "xbl04-worker")).user_id
    outsider = (await principal(db, "xbl05-care")).user_id
    no_lead = await client.put(team_url, json={"members": [{"user_id": care}, {"user_id": worker}]}, headers=director)
    assert_problem(no_lead, 422, "leading")
    no_specialism = await client.put(team_url, json={"members": [{"user_id": care, "lead": True}]}, headers=director)
    assert_problem(no_specialism, 422, "老龄社工")
    await set_specialism(client, as_user, db, "xbl04-care", "老龄社工")
    other_community = await client.put(team_url, json={"members": [{"user_id": care, "lead": True}, {"user_id": outsider}]}, headers=director)
    assert_problem(other_community, 422, "another community")
    assert (await client.get(team_url, headers=director)).json() == []
    team = await client.put(team_url, json={"members": [{"user_id": care, "lead": True}, {"user_id": worker}]}, headers=director)
    assert team.status_code == 200, team.text
    assert [(m["user_id"], m["lead"]) for m in team.json()] == [(care, True), (worker, False)]
    # The social worker leaves; the director reassigns the project without them.
    await client.patch(f"/api/users/{worker}", json={"active": False}, headers=await as_user("admin"))
    assert [m["active_account"] for m in (await client.get(team_url, headers=director)).json()] == [True, False]
    reassigned = await client.put(team_url, json={"members": [{"user_id": care, "lead": True}], "reason": "社工离职"}, headers=director)
    assert [m["user_id"] for m in reassigned.json()] == [care]
    not_accepted = await delegated(client, as_user, db, "XBL04")
    early = await client.put(f"/api/delivery/delegations/{not_accepted[1]['id']}/team", json={"members": [{"user_id": care, "lead": True}]}, headers=director)
    assert_problem(early, 422, "accepted")


async def test_a_specialism_is_one_of_the_listed_and_only_a_social_workers(client, as_user, db) -> None:
    admin = await as_user("admin")
    care = (await principal(db, "xbl04-care")).user_id
    director = (await principal(db, "xbl04-director")).user_id
    assert_problem(await client.patch(f"/api/users/{care}", json={"specialism": "厨师"}, headers=admin), 422, "specialism")
    assert_problem(await client.patch(f"/api/users/{director}", json={"specialism": "老龄社工"}, headers=admin), 422, "social worker")
    async with db() as session:
        workers = await people_queries.social_workers(session, ids=[care or 0])
    assert workers[0].specialism is None


async def test_activities_from_a_phone_add_up_against_the_indicators_once_each(client, as_user, db) -> None:
    project, delegation, _ = await staffed(client, as_user, db)
    care = await as_user("xbl04-care")
    first = await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-delivery-0001"), headers=care)
    assert first.status_code == 201, first.text
    resent = await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-delivery-0001"), headers=care)
    assert resent.status_code == 200 and resent.json()["id"] == first.json()["id"]
    talk = await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-delivery-0002", indicator_number=2, head_count=40), headers=care)
    assert talk.status_code == 201
    progress = (await client.get(f"/api/delivery/projects/{project['id']}", headers=await as_user("xbl-officer"))).json()["indicators"]
    assert [(i["achieved"], i["target"], i["share"]) for i in progress] == [(25, 100, "0.25"), (1, 4, "0.25")]
    # The project's organisation-less street project: the director does not log, and a social worker off the team neither.
    assert_problem(await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-delivery-0003"), headers=await as_user("xbl04-worker")), 403)
    assert_problem(await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-delivery-0004"), headers=await as_user("xbl04-director")), 403)
    assert await count(db, Activity, Activity.delegation_id == delegation["id"]) == 2


async def test_an_activitys_participants_are_named_consenting_residents_or_a_head_count(client, as_user, db) -> None:
    project, delegation, _ = await staffed(client, as_user, db)
    care = await as_user("xbl04-care")
    residents_url = f"/api/delivery/delegations/{delegation['id']}/beneficiaries"
    today = business_today().isoformat()
    no_consent = await client.post(residents_url, json={"name": "王桂兰", "consent": False, "consent_by": "self", "consent_on": today}, headers=care)
    assert_problem(no_consent, 422, "consent")
    assert await count(db, Beneficiary, Beneficiary.project_id == project["id"]) == 0
    ids = []
    for name in ("王桂兰", "李秀英"):
        recorded = await client.post(residents_url, json={"name": name, "consent": True, "consent_by": "guardian", "consent_on": today}, headers=care)
        assert recorded.status_code == 201, recorded.text
        ids.append(recorded.json()["id"])
    both = await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-named-0001", beneficiary_ids=ids), headers=care)
    assert_problem(both, 422, "not both")
    neither = activity(delegation["id"], "act-named-0002")
    del neither["head_count"]
    assert_problem(await client.post("/api/delivery/activities", json=neither, headers=care), 422, "participants")
    async with db() as session:
        stranger = (await session.execute(select(Beneficiary.id).where(Beneficiary.community_id != await community_id(db, "XBL04")))).scalars().first()
    foreign = await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-named-0003", head_count=None, beneficiary_ids=[stranger]), headers=care)
    assert_problem(foreign, 422, "recorded for this project")
    assert_problem(await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-named-0005", head_count=None, beneficiary_ids=[-5]), headers=care), 422, "record id")
    named = await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-named-0004", head_count=None, beneficiary_ids=ids), headers=care)
    assert named.status_code == 201 and named.json()["participants"] == 2 and named.json()["named"] == 2
    assert [n["name"] for n in (await client.get(residents_url, headers=await as_user("xbl04-director"))).json()] == ["王桂兰", "李秀英"]
    # Never shown outside the community and the project: not to the street, not to another community's director.
    assert_problem(await client.get(residents_url, headers=await as_user("xbl-officer")), 403)
    assert_problem(await client.get(residents_url, headers=await as_user("xbl05-director")), 403)
    page = await client.get(f"/api/delivery/projects/{project['id']}", headers=await as_user("xbl-officer"))
    assert "王桂兰" not in page.text


async def test_the_organisations_staff_log_activities_of_its_contracted_project(client, as_user, db) -> None:
    """The demo's meal service (a street's contract) is delegated to 树德里; its organisation logs an activity too."""
    async with db() as session:
        delegation = (await session.execute(select(Delegation).where(Delegation.status == "accepted", Delegation.kind == "execute").order_by(Delegation.id))).scalars().first()
        project = await service.project_row(session, delegation.project_id)
    assert project.contract_id is not None and project.organisation_id is not None
    staff = [u for u in [f"org{n:02d}" for n in range(1, 25)] if (await principal(db, u)).organisation_id == project.organisation_id][0]
    progress_url = f"/api/delivery/projects/{project.id}"
    before = (await client.get(progress_url, headers=await as_user("xbl-officer"))).json()["indicators"][0]["achieved"]
    logged = await client.post("/api/delivery/activities", json=activity(delegation.id, "act-org-000001", head_count=30), headers=await as_user(staff))
    assert logged.status_code == 201, logged.text
    after = (await client.get(progress_url, headers=await as_user(staff))).json()["indicators"][0]["achieved"]
    assert after == before + 30
    other = next(u for u in ("org20", "org21", "org22") if u != staff)
    assert_problem(await client.post("/api/delivery/activities", json=activity(delegation.id, "act-org-000002"), headers=await as_user(other)), 403)


async def test_the_pages_in_chinese_street_desk_phone_log_and_progress(client, as_user, db) -> None:
    """The street sees its projects and answers; the director declines on the desk (a reason is asked for in
    Chinese); the social worker's phone log and the progress page show the indicators, the residents only inside."""
    project, delegation = await delegated(client, as_user, db, "XBL04")
    await page_login(client, "xbl-officer")
    street = await client.get("/community/delivery")
    assert street.status_code == 200 and "项目委托" in street.text and project["title"] in street.text and "小白楼街道居家养老助餐服务" in street.text
    assert "王桂兰" not in (await client.get(f"/community/delivery/projects/{project['id']}")).text
    await client.post("/logout", data={"_csrf_token": await csrf(client)})
    await page_login(client, "xbl04-director")
    desk = await client.get("/community/delivery/desk")
    assert desk.status_code == 200 and f"delegation-{delegation['id']}" in desk.text and "待答复" in desk.text
    refused = await client.post(f"/community/delivery/desk/{delegation['id']}/answer", data={"verdict": "decline", "reason": "", "_csrf_token": await csrf(client)})
    assert refused.status_code == 422 and "拒绝委托须说明理由" in refused.text
    declined = await client.post(f"/community/delivery/desk/{delegation['id']}/answer", data={"verdict": "decline", "reason": "人手不足", "_csrf_token": await csrf(client)})
    assert declined.status_code == 200 and "已拒绝" in declined.text
    await client.post("/logout", data={"_csrf_token": await csrf(client)})
    await page_login(client, "xbl01-care")
    log = await client.get("/community/delivery/log")
    assert log.status_code == 200 and "保存活动记录" in log.text and "助餐送餐服务" in log.text and "王桂兰" in log.text


async def test_volunteers_at_an_activity_are_members_of_a_volunteer_team_of_its_community(client, as_user, db) -> None:
    _, delegation, _ = await staffed(client, as_user, db, "XBL01")
    care = await as_user("xbl01-care")

    async def team_member_of(code: str) -> int:
        async with db() as session:
            query = (
                select(VolunteerTeamMember.volunteer_id)
                .join(VolunteerTeam, VolunteerTeam.id == VolunteerTeamMember.team_id)
                .where(VolunteerTeam.community_id == await community_id(db, code))
                .order_by(VolunteerTeamMember.volunteer_id)
            )
            return int((await session.execute(query)).scalars().first() or 0)

    member, stranger = await team_member_of("XBL01"), await team_member_of("XBL02")
    assert member and stranger
    outside = activity(delegation["id"], "act-volunteer-0001", volunteers=[{"volunteer_id": member, "minutes": 90}, {"volunteer_id": stranger, "minutes": 90}])
    assert_problem(await client.post("/api/delivery/activities", json=outside, headers=care), 422, "volunteer team")
    twice = activity(delegation["id"], "act-volunteer-0002", volunteers=[{"volunteer_id": member, "minutes": 60}, {"volunteer_id": member, "minutes": 30}])
    assert_problem(await client.post("/api/delivery/activities", json=twice, headers=care), 422, "listed once")
    assert await count(db, Activity, Activity.delegation_id == delegation["id"]) == 0
    helped = await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-volunteer-0003", volunteers=[{"volunteer_id": member, "minutes": 90}]), headers=care)
    assert helped.status_code == 201, helped.text
    assert (helped.json()["volunteers"], helped.json()["volunteer_minutes"]) == (1, 90)
    listed = (await client.get(f"/api/delivery/delegations/{delegation['id']}/activities", headers=care)).json()
    assert [(a["volunteers"], a["volunteer_minutes"]) for a in listed] == [(1, 90)]
    assert await count(db, ActivityVolunteer, ActivityVolunteer.activity_id == helped.json()["id"]) == 1
    # The phone page offers the community's team volunteers to the social worker, and shows who helped.
    client.cookies.clear()
    await page_login(client, "xbl01-care")
    log_page = (await client.get("/community/delivery/log")).text
    assert f'data-volunteer-id="{member}"' in log_page
    assert f'data-volunteer-id="{stranger}"' not in log_page
    assert "志愿者 1 人" in log_page


async def test_a_volunteers_time_at_an_activity_becomes_approved_hours_counted_once_on_the_certificate(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    """The social worker's record of volunteers at an activity is their hours, approved (she approves hours; the
    volunteer never does), once per activity; a day counts once whatever the order of the two records."""
    _, delegation, _ = await staffed(client, as_user, db, "XBL01")
    care, worker = await as_user("xbl01-care"), await as_user("xbl01-worker")
    first, me = await new_volunteer(client, worker)
    second, other = await new_volunteer(client, worker)
    third, late = await new_volunteer(client, worker)
    team = await team_of(client, worker, member_ids=[first["id"], second["id"], third["id"]])

    # The first volunteer helped at an activity: 90 minutes, approved at once; a resend stores nothing new.
    body = activity(delegation["id"], "act-hours-000001", volunteers=[{"volunteer_id": first["id"], "minutes": 90}])
    assert (await client.post("/api/delivery/activities", json=body, headers=care)).status_code == 201
    assert (await client.post("/api/delivery/activities", json=body, headers=care)).status_code == 200
    mine = (await client.get("/api/volunteers/hours", headers=me)).json()
    assert [(h["minutes"], h["state"], h["activity_id"] is not None) for h in mine] == [(90, "approved", True)]
    # The volunteer cannot log the same day again themselves: the day is recorded.
    assert_problem((await log(client, me, team_id=team["id"], minutes=90))[0], 422, "recorded with a project activity")

    # The second had logged 60 minutes themselves, approved; two activities that day (90 and 30 minutes) add only
    # what exceeds them: the day counts max(60, 120) = 120 minutes, not 180.
    own = (await log(client, other, team_id=team["id"], minutes=60))[0].json()
    assert (await client.post(f"/api/volunteers/hours/{own['id']}/decision", json={"verdict": "approve"}, headers=worker)).status_code == 200
    for n, minutes in ((2, 90), (3, 30)):
        sent = await client.post("/api/delivery/activities", json=activity(delegation["id"], f"act-hours-00000{n}", volunteers=[{"volunteer_id": second["id"], "minutes": minutes}]), headers=care)
        assert sent.status_code == 201, sent.text
    theirs = (await client.get("/api/volunteers/hours", headers=other)).json()
    assert sorted(h["minutes"] for h in theirs) == [30, 30, 60] and all(h["state"] == "approved" for h in theirs)

    # The third's own entry of that day still waiting is closed by the activity's record, with the reason.
    waiting = (await log(client, late, team_id=team["id"], minutes=120))[0].json()
    assert (await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-hours-000004", volunteers=[{"volunteer_id": third["id"], "minutes": 45}]), headers=care)).status_code == 201
    entries = {h["id"]: h for h in (await client.get("/api/volunteers/hours", headers=late)).json()}
    assert entries[waiting["id"]]["state"] == "rejected" and "项目活动" in entries[waiting["id"]]["reason"]
    assert [h["minutes"] for h in entries.values() if h["state"] == "approved"] == [45]

    # The certificate lists every approved entry once: 60 + 30 + 30 minutes.
    issued = await client.post("/api/volunteers/me/certificate", headers=other)
    assert issued.status_code == 200, issued.text
    assert issued.json()["approved_minutes"] == 120
    async with db() as session:
        credited = (await session.execute(select(VolunteerHours).where(VolunteerHours.volunteer_id == first["id"]))).scalars().all()
    assert [(h.minutes, h.decided_by_user_id != h.volunteer_user_id) for h in credited] == [(90, True)]


async def own_day_and_organisations_record(client, as_user, db, client_id: str):  # type: ignore[no-untyped-def]
    """A volunteer who logged 60 minutes of a day themselves, and the organisation's staff then recording 100 minutes
    of theirs at an activity that day: (the social worker, the volunteer, their own entry, the organisation's entry)."""
    async with db() as session:
        delegation = (await session.execute(select(Delegation).where(Delegation.status == "accepted", Delegation.kind == "execute").order_by(Delegation.id))).scalars().first()
        project = await service.project_row(session, delegation.project_id)
    staff = [u for u in [f"org{n:02d}" for n in range(1, 25)] if (await principal(db, u)).organisation_id == project.organisation_id][0]
    worker = await as_user("xbl01-worker")
    record, me = await new_volunteer(client, worker)
    team = await team_of(client, worker, member_ids=[record["id"]])
    own, _ = await log(client, me, minutes=60, team_id=team["id"])
    assert own.status_code == 201, own.text
    body = activity(delegation.id, client_id, volunteers=[{"volunteer_id": record["id"], "minutes": 100}])
    assert (await client.post("/api/delivery/activities", json=body, headers=await as_user(staff))).status_code == 201
    (entry,) = [e for e in (await client.get("/api/volunteers/hours", headers=me)).json() if e["id"] != own.json()["id"]]
    return worker, me, own.json(), entry


async def test_the_organisations_record_of_volunteers_waits_for_the_community_to_approve(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    # The volunteer had logged the day themselves; the organisation's record of it waits, and so does theirs.
    worker, me, own_entry, entry = await own_day_and_organisations_record(client, as_user, db, "act-org-hours-01")
    entries = {e["id"]: e for e in (await client.get("/api/volunteers/hours", headers=me)).json()}
    assert (entry["minutes"], entry["state"]) == (100, "waiting") and entries[own_entry["id"]]["state"] == "waiting"
    assert_problem(await client.post("/api/volunteers/me/certificate", headers=me), 422, "no approved hours")
    # The day counts once: their own entry is not approved while the activity's record of the day waits.
    assert_problem(await client.post(f"/api/volunteers/hours/{own_entry['id']}/decision", json={"verdict": "approve"}, headers=worker), 409, "decide it first")
    assert (await client.post(f"/api/volunteers/hours/{entry['id']}/decision", json={"verdict": "approve"}, headers=worker)).status_code == 200
    states = {e["id"]: e["state"] for e in (await client.get("/api/volunteers/hours", headers=me)).json()}
    assert states == {entry["id"]: "approved", own_entry["id"]: "rejected"}
    assert (await client.post("/api/volunteers/me/certificate", headers=me)).json()["approved_minutes"] == 100


async def test_a_rejected_organisation_record_leaves_the_volunteers_own_hours_to_be_decided(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    worker, me, own_entry, entry = await own_day_and_organisations_record(client, as_user, db, "act-org-hours-02")
    refused = await client.post(f"/api/volunteers/hours/{entry['id']}/decision", json={"verdict": "reject", "reason": "该志愿者当天未到场"}, headers=worker)
    assert refused.status_code == 200
    # The volunteer's own 60 minutes were never closed: they are decided on their own and reach the certificate.
    assert (await client.post(f"/api/volunteers/hours/{own_entry['id']}/decision", json={"verdict": "approve"}, headers=worker)).status_code == 200
    assert (await client.post("/api/volunteers/me/certificate", headers=me)).json()["approved_minutes"] == 60


async def test_activity_photos_are_the_loggers_uploads_shown_to_the_project_only(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    project, delegation, _ = await staffed(client, as_user, db, "XBL04")
    care = await as_user("xbl04-care")
    photo = await upload(client, care)
    someone_elses = await upload(client, await as_user("xbl04-worker"))
    # A photo the logger did not upload, an unknown id or too many photos: refused, nothing stored.
    assert_problem(await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-photo-0001", photo_ids=[someone_elses]), headers=care), 400, "not photos you uploaded")
    assert_problem(await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-photo-0002", photo_ids=[2**31]), headers=care), 422, "photo")
    assert_problem(await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-photo-0003", photo_ids=list(range(1, 8))), headers=care), 422, "at most 6")
    assert await count(db, Activity, Activity.delegation_id == delegation["id"]) == 0
    # Not a photo at all: the phone's upload is refused with a Chinese reason.
    await page_login(client, "xbl04-care")
    bad = await client.post("/community/delivery/log/photos", files={"file": ("x.jpg", b"not a photo", "image/jpeg")}, headers={"x-csrftoken": await csrf(client)})
    assert bad.status_code in (400, 413, 422) and bad.json()["message"]
    from_phone = await client.post("/community/delivery/log/photos", files={"file": ("p.jpg", jpeg(), "image/jpeg")}, headers={"x-csrftoken": await csrf(client)})
    assert from_phone.status_code == 201, from_phone.text
    client.cookies.clear()

    logged = await client.post("/api/delivery/activities", json=activity(delegation["id"], "act-photo-0004", photo_ids=[photo]), headers=care)
    assert logged.status_code == 201 and logged.json()["photo_ids"] == [photo]
    # The street's officer (the buyer) and the community's director see it; another community's staff and a
    # volunteer do not.
    for who in ("xbl-officer", "xbl04-director"):
        assert (await client.get(f"/api/attachments/{photo}", headers=await as_user(who))).status_code == 200, who
    for who in ("xbl01-director", "xbl01-vol1"):
        assert (await client.get(f"/api/attachments/{photo}", headers=await as_user(who))).status_code == 404, who
    await page_login(client, "xbl-officer")
    shown = await client.get(f"/community/delivery/projects/{project['id']}")
    assert shown.status_code == 200 and "活动照片" in shown.text and f"/photos/{photo}" in shown.text
