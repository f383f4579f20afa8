"""Volunteers: the registry and who sees a volunteer's personal data, needs that close when full or past (the last
place goes to exactly one of two volunteers racing for it), self-logged hours approved by the team's leader or the
community's social worker and never by the volunteer, the reminder of late answers, one-to-one pairing, and the
certificate of approved hours issued and verified like every other document."""

from __future__ import annotations

import asyncio
import re
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from community.volunteers import jobs, schemas, service
from community.volunteers.tables import Volunteer, VolunteerHours, VolunteerNeed, VolunteerSignup, VolunteerTeam
from foundation.access import SYSTEM, Principal, Role
from foundation.audit import AuditEntry
from foundation.clock import business_today, utc_now
from foundation.db import create_engine, create_session_factory, unit_of_work, writing
from foundation.errors import RuleViolation
from foundation.notifications import Notification
from foundation.settings import load_settings
from people import service as people
from people.schemas import UserCreate
from people.tables import User
from registry import schemas as registry_schemas
from registry import service as registry_service
from supervision.cli import migrate
from tests.database import fresh_database_url
from tests.integration.helpers import assert_problem, count, todo_count
from tests.integration.test_issued_documents import one_digit_changed, verify
from tests.integration.test_pages import page_login
from tests.integration.test_programme_engine import login
from tests.integration.test_role_pages import csrf


def phone() -> str:
    return f"138{uuid.uuid4().int % 10**8:08d}"


async def register(client, headers, username: str | None = None, **changes):  # type: ignore[no-untyped-def]
    body = {"real_name": "韩秀云", "phone": phone(), "username": username or f"v{uuid.uuid4().hex[:10]}", "password": "demo-pass-2026", "skills": ["理发"], **changes}
    answer = await client.post("/api/volunteers", json=body, headers=headers)
    return answer, body


async def new_volunteer(client, headers) -> tuple[dict, dict[str, str]]:  # type: ignore[no-untyped-def,type-arg]
    answer, body = await register(client, headers)
    assert answer.status_code == 201, answer.text
    return answer.json(), await login(client, body["username"])


async def team_of(client, headers, **changes) -> dict:  # type: ignore[no-untyped-def,type-arg]
    answer = await client.post("/api/volunteers/teams", json={"name": f"测试服务队{uuid.uuid4().hex[:6]}", **changes}, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def need_of(client, headers, team_id: int, **changes) -> dict:  # type: ignore[no-untyped-def,type-arg]
    body = {"title": "社区环境清洁", "place": "社区广场", "held_on": str(business_today()), "starts_at": "09:00", "minutes": 120, "wanted": 3, "team_id": team_id, **changes}
    answer = await client.post("/api/volunteers/needs", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def log(client, headers, **changes):  # type: ignore[no-untyped-def]
    body = {"client_id": uuid.uuid4().hex, "served_on": str(business_today()), "minutes": 90, "activity": "清理楼道杂物", **changes}
    return await client.post("/api/volunteers/hours", json=body, headers=headers), body


async def test_the_social_worker_registers_a_volunteer_whose_phone_only_the_community_and_the_volunteer_see(client, db) -> None:  # type: ignore[no-untyped-def]
    worker = await login(client, "xbl01-worker")
    answer, body = await register(client, worker, real_name="郑春华")
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["real_name"] == "郑春华" and made["phone"] == body["phone"] and made["skills"] == ["理发"]

    # The volunteer signs in with the account opened for them and sees their own record, no one else's.
    me = await login(client, body["username"])
    mine = (await client.get("/api/volunteers", headers=me)).json()
    assert [v["id"] for v in mine] == [made["id"]]
    # Staff of another community see none of them; a street officer is refused personal data outright.
    others = (await client.get("/api/volunteers", headers=await login(client, "xbl02-worker"))).json()
    assert made["id"] not in {v["id"] for v in others} and body["phone"] not in str(others)
    assert_problem(await client.get("/api/volunteers", headers=await login(client, "xbl-officer")), 403)
    # The real name and the phone are never written to the audit log.
    async with db() as session:
        entries = [str(e.after) + str(e.before) for e in (await session.execute(sa.select(AuditEntry).where(AuditEntry.entity == "volunteer", AuditEntry.entity_id == str(made["id"])))).scalars()]
    assert entries and not any(body["phone"] in e or "郑春华" in e for e in entries)


async def test_registration_is_refused_for_other_roles_bad_input_and_a_taken_username_and_stores_nothing(client, db) -> None:  # type: ignore[no-untyped-def]
    worker = await login(client, "xbl01-worker")
    before = await count(db, Volunteer)
    assert_problem((await register(client, await login(client, "xbl-officer")))[0], 403)
    assert_problem((await register(client, worker, phone="0221234"))[0], 400)
    assert_problem((await register(client, worker, skills=["开挖掘机"]))[0], 422, "unknown skills")
    assert_problem((await register(client, worker, username="xbl01-director"))[0], 409, "taken")
    assert_problem((await register(client, worker, extra="x"))[0], 400)
    assert await count(db, Volunteer) == before


async def test_a_need_takes_sign_ups_until_it_is_full_and_never_for_a_past_day(client, db) -> None:  # type: ignore[no-untyped-def]
    worker = await login(client, "xbl01-worker")
    team = await team_of(client, worker)
    need = await need_of(client, worker, team["id"], wanted=1)
    (_, first), (_, second) = await new_volunteer(client, worker), await new_volunteer(client, worker)
    taken = await client.post(f"/api/volunteers/needs/{need['id']}/signups", headers=first)
    assert taken.status_code == 201, taken.text
    assert_problem(await client.post(f"/api/volunteers/needs/{need['id']}/signups", headers=first), 409, "already")
    assert_problem(await client.post(f"/api/volunteers/needs/{need['id']}/signups", headers=second), 422, "full")
    listed = {n["id"]: n for n in (await client.get("/api/volunteers/needs", headers=second)).json()}
    assert listed[need["id"]]["taken"] == 1 and listed[need["id"]]["open"] is False
    # A need of a past day (the demo's) takes nobody; a need is not posted for a past day either.
    async with db() as session:
        past = (await session.execute(sa.select(VolunteerNeed.id).where(VolunteerNeed.held_on < business_today(), VolunteerNeed.community_id == listed[need["id"]]["community_id"]))).scalars().first()
    assert_problem(await client.post(f"/api/volunteers/needs/{past}/signups", headers=second), 422, "passed")
    late = await client.post("/api/volunteers/needs", json={"title": "补登", "place": "广场", "held_on": str(business_today() - timedelta(days=1)), "starts_at": "09:00", "minutes": 60, "wanted": 2, "team_id": team["id"]}, headers=worker)
    assert_problem(late, 422, "today or a later day")
    # A volunteer of another community does not see the need at all.
    _, stranger = await new_volunteer(client, await login(client, "xbl02-worker"))
    assert_problem(await client.post(f"/api/volunteers/needs/{need['id']}/signups", headers=stranger), 404)
    assert await count(db, VolunteerSignup, VolunteerSignup.need_id == need["id"]) == 1


async def _race_community(factory) -> tuple[Principal, list[Principal], int]:  # type: ignore[no-untyped-def]
    """A street, a community, its social worker, three volunteers and a team, made through the use cases."""
    async with unit_of_work(factory) as session:
        street = await registry_service.create_street(session, SYSTEM, registry_schemas.StreetCreate(code="RACE", name="赛跑"))
        community = await registry_service.create_community(session, SYSTEM, registry_schemas.CommunityCreate(code="RACE01", name="赛跑", street_id=street.id, households=100))
        made = await people.create_user(session, SYSTEM, UserCreate(username="race-worker", display_name="社工", password="race-pass-2026", role=Role.COMMUNITY_WORKER, community_id=community.id), password_hash="unused")
        worker = people.principal_of(made)
        volunteers = [
            await service.register_volunteer(session, worker, schemas.VolunteerIn(real_name=f"赛跑{n}", phone=phone(), username=f"race-vol{n}", password="race-pass-2026"), password_hash="unused")
            for n in range(3)
        ]
        team = await service.create_team(session, worker, schemas.VolunteerTeamIn(name="赛跑队", member_ids=[v.id for v in volunteers]))
        accounts = [Principal(role=Role.VOLUNTEER, user_id=v.user_id, username=f"race-vol{n}", street_id=street.id, community_id=community.id) for n, v in enumerate(volunteers)]
        return worker, accounts, team.id


async def test_two_volunteers_taking_the_last_place_at_the_same_moment_one_gets_it(tmp_root) -> None:  # type: ignore[no-untyped-def]
    """Real concurrency, in a database of its own: two volunteers' sessions at once, several times over."""
    url = await fresh_database_url(tmp_root, "volunteer_race")
    await asyncio.to_thread(migrate, load_settings(database_url=url))
    engine = create_engine(url)
    try:
        factory = create_session_factory(writing(engine))
        worker, (early, first, second), team_id = await _race_community(factory)

        async def take(who: Principal, need_id: int) -> str:
            async with factory() as session:
                try:
                    await service.sign_up(session, who, need_id)
                except RuleViolation as refused:
                    await session.rollback()
                    return refused.detail
                await session.commit()
                return "taken"

        for round_ in range(5):
            async with unit_of_work(factory) as session:
                need_id = (await service.post_need(session, worker, schemas.VolunteerNeedIn(title=f"最后一个名额 {round_}", place="广场", held_on=business_today(), starts_at="09:00", minutes=60, wanted=2, team_id=team_id))).id
            async with unit_of_work(factory) as session:  # one place gone already: the last one is raced for
                await service.sign_up(session, early, need_id)
            outcome = await asyncio.gather(take(first, need_id), take(second, need_id))
            assert sorted(outcome) == ["taken", "the need is full: every place is taken"], outcome
            async with factory() as session:
                held = (await session.execute(sa.select(VolunteerNeed.taken).where(VolunteerNeed.id == need_id))).scalar_one()
                signed = (await session.execute(sa.select(sa.func.count()).select_from(VolunteerSignup).where(VolunteerSignup.need_id == need_id))).scalar_one()
            assert held == signed == 2
        # The database holds the count itself: a write beyond the number wanted is refused by its CHECK.
        async with factory() as session:
            try:
                await session.execute(sa.update(VolunteerNeed).where(VolunteerNeed.id == need_id).values(taken=3))
                raise AssertionError("the CHECK let a need be over-signed")
            except IntegrityError:
                await session.rollback()
    finally:
        await engine.dispose()


async def test_hours_are_decided_by_the_leader_or_the_social_worker_never_by_the_volunteer_themselves(client, db) -> None:  # type: ignore[no-untyped-def]
    worker = await login(client, "xbl01-worker")
    leader_record, leader = await new_volunteer(client, worker)
    member_record, member = await new_volunteer(client, worker)
    team = await team_of(client, worker, leader_volunteer_id=leader_record["id"], member_ids=[member_record["id"]])
    own, _ = await log(client, leader, team_id=team["id"])
    theirs, _ = await log(client, member, team_id=team["id"])
    assert own.status_code == theirs.status_code == 201, own.text
    own, theirs = own.json(), theirs.json()
    assert own["state"] == "waiting" and own["due_on"] == str(business_today() + timedelta(days=7))

    # The leader may not approve their own hours (separation of duties), and does not even see them queued.
    assert_problem(await client.post(f"/api/volunteers/hours/{own['id']}/decision", json={"verdict": "approve"}, headers=leader), 403, "approve_own_volunteer_hours")
    queue = {h["id"] for h in (await client.get("/api/volunteers/approvals", headers=leader)).json()}
    assert theirs["id"] in queue and own["id"] not in queue
    # A member who leads nothing decides nothing; a rejection needs a reason.
    assert_problem(await client.post(f"/api/volunteers/hours/{own['id']}/decision", json={"verdict": "approve"}, headers=member), 403, "leader")
    assert_problem(await client.post(f"/api/volunteers/hours/{theirs['id']}/decision", json={"verdict": "reject"}, headers=leader), 422, "reason")
    rejected = await client.post(f"/api/volunteers/hours/{theirs['id']}/decision", json={"verdict": "reject", "reason": "当天未签到"}, headers=leader)
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    assert_problem(await client.post(f"/api/volunteers/hours/{theirs['id']}/decision", json={"verdict": "approve"}, headers=worker), 409)
    # The social worker approves the leader's hours; each volunteer sees the answer and the reason.
    approved = await client.post(f"/api/volunteers/hours/{own['id']}/decision", json={"verdict": "approve"}, headers=worker)
    assert approved.status_code == 200 and approved.json()["state"] == "approved" and approved.json()["decided_by"].startswith("xbl01-worker")
    seen = {h["id"]: h for h in (await client.get("/api/volunteers/hours", headers=member)).json()}
    assert seen[theirs["id"]]["state"] == "rejected" and seen[theirs["id"]]["reason"] == "当天未签到"
    # Another community's social worker cannot reach these hours.
    _, other_own = await log(client, member, team_id=team["id"])
    waiting = (await client.get("/api/volunteers/hours", headers=member)).json()[0]
    assert_problem(await client.post(f"/api/volunteers/hours/{waiting['id']}/decision", json={"verdict": "approve"}, headers=await login(client, "xbl02-worker")), 404)
    # The database refuses a decision by the volunteer's own account even if a use case forgot the rule.
    async with db() as session:
        row = await session.get(VolunteerHours, waiting["id"])
        assert row is not None
        try:
            async with session.begin_nested():
                await session.execute(sa.update(VolunteerHours).where(VolunteerHours.id == row.id).values(state="approved", decided_by_user_id=row.volunteer_user_id, decided_by="self"))
            raise AssertionError("the CHECK let a volunteer approve their own hours")
        except IntegrityError:
            pass


async def test_logged_hours_are_refused_when_impossible_and_a_retry_logs_once(client, db) -> None:  # type: ignore[no-untyped-def]
    worker = await login(client, "xbl01-worker")
    record, me = await new_volunteer(client, worker)
    team = await team_of(client, worker, member_ids=[record["id"]])
    other_team = await team_of(client, worker)
    need = await need_of(client, worker, team["id"])
    before = await count(db, VolunteerHours)
    assert_problem((await log(client, me, team_id=team["id"], served_on=str(business_today() + timedelta(days=1))))[0], 422, "after the service")
    assert_problem((await log(client, me, team_id=team["id"], served_on=str(business_today() - timedelta(days=31))))[0], 422, "within 30 days")
    assert_problem((await log(client, me, team_id=team["id"], minutes=721))[0], 422, "720")
    assert_problem((await log(client, me, team_id=other_team["id"]))[0], 422, "team you belong to")
    assert_problem((await log(client, me, need_id=need["id"]))[0], 422, "signed up")
    assert_problem((await log(client, me))[0], 422, "need or the team")
    assert_problem((await log(client, me, minutes="90", team_id=team["id"]))[0], 400)
    assert_problem((await log(client, worker, team_id=team["id"]))[0], 403)
    assert await count(db, VolunteerHours) == before
    first, body = await log(client, me, team_id=team["id"])
    again = await client.post("/api/volunteers/hours", json=body, headers=me)
    assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert_problem(await client.post("/api/volunteers/hours", json={**body, "minutes": 30}, headers=me), 409, "client id")
    assert await count(db, VolunteerHours) == before + 1


async def test_a_day_holds_at_most_one_day_s_service_however_many_entries_log_it(client, db) -> None:  # type: ignore[no-untyped-def]
    """Three entries of 12 hours for one day were each taken and approved: the day's total is what is capped (720
    minutes, config/volunteers.toml), counting entries waiting and approved, not rejected ones; another day is
    free."""
    worker = await login(client, "xbl01-worker")
    record, me = await new_volunteer(client, worker)
    team = await team_of(client, worker, member_ids=[record["id"]])
    day = str(business_today() - timedelta(days=1))
    first, _ = await log(client, me, team_id=team["id"], served_on=day, minutes=600)
    assert first.status_code == 201, first.text
    before = await count(db, VolunteerHours)
    refused, _ = await log(client, me, team_id=team["id"], served_on=day, minutes=121)
    assert_problem(refused, 422, "at most 120 more")
    assert "每天最多登记" in refused.json()["detail_zh"], refused.json()
    assert await count(db, VolunteerHours) == before
    assert (await log(client, me, team_id=team["id"], served_on=day, minutes=120))[0].status_code == 201
    assert_problem((await log(client, me, team_id=team["id"], served_on=day, minutes=1))[0], 422, "at most 0 more")
    rejected = await client.post(f"/api/volunteers/hours/{first.json()['id']}/decision", json={"verdict": "reject", "reason": "当天未签到"}, headers=worker)
    assert rejected.status_code == 200, rejected.text
    assert (await log(client, me, team_id=team["id"], served_on=day, minutes=600))[0].status_code == 201  # the rejected entry no longer counts
    assert (await log(client, me, team_id=team["id"], served_on=str(business_today()), minutes=720))[0].status_code == 201


async def test_hours_waiting_past_seven_days_remind_the_leader_and_the_social_workers_once(client, db) -> None:  # type: ignore[no-untyped-def]
    async with db() as session:
        late = (await session.execute(sa.select(VolunteerHours).where(VolunteerHours.state == "waiting", VolunteerHours.due_on < business_today()).order_by(VolunteerHours.id))).scalars().first()
        assert late is not None, "the demo has hours waiting past their answer day"
        leader = (await session.execute(sa.select(VolunteerTeam.leader_user_id).where(VolunteerTeam.id == late.team_id))).scalar_one()
        worker = (await session.execute(sa.select(User.id).where(User.role == "community_worker", User.community_id == late.community_id))).scalar_one()
        real_name = (await session.execute(sa.select(Volunteer.real_name).where(Volunteer.id == late.volunteer_id))).scalar_one()
        told = await jobs.remind_hours_approvers(session, str(business_today()), utc_now())
        again = await jobs.remind_hours_approvers(session, str(business_today()), utc_now())
        notices = list((await session.execute(sa.select(Notification).where(Notification.key.like(f"volunteer-hours-late|{late.id}|%")))).scalars())
        in_time = list((await session.execute(sa.select(VolunteerHours.id).where(VolunteerHours.state == "waiting", VolunteerHours.due_on >= business_today()))).scalars())
        told_keys = {"|".join(k.split("|")[:2]) for k in (await session.execute(sa.select(Notification.key).where(Notification.key.like("volunteer-hours-late|%")))).scalars()}
        await session.commit()
    not_yet = told_keys & {f"volunteer-hours-late|{i}" for i in in_time}
    assert in_time, "the demo has hours still within their answer days"
    assert told["notified"] >= 2 and again["notified"] == 0 and not_yet == set()
    assert {leader, worker} <= {n.user_id for n in notices} and late.volunteer_user_id not in {n.user_id for n in notices}
    assert "超期" in notices[0].title and real_name not in notices[0].body
    # Decided by one approver: the reminder leaves every approver's list (the leader's and the social workers').
    async with db() as session:
        username = (await session.execute(sa.select(User.username).where(User.id == worker))).scalar_one()
    headers = await login(client, username)
    decided = await client.post(f"/api/volunteers/hours/{late.id}/decision", json={"verdict": "approve"}, headers=headers)
    assert decided.status_code == 200, decided.text
    async with db() as session:
        unread = (await session.execute(sa.select(Notification.id).where(Notification.key.like(f"volunteer-hours-late|{late.id}|%"), Notification.read_at.is_(None)))).all()
    assert unread == []


async def test_one_volunteer_one_household_and_only_where_a_need_asks_for_it(client, db) -> None:  # type: ignore[no-untyped-def]
    worker = await login(client, "xbl01-worker")
    (first, first_login), (second, _) = await new_volunteer(client, worker), await new_volunteer(client, worker)
    team = await team_of(client, worker)
    plain = await need_of(client, worker, team["id"])
    paired_need = await need_of(client, worker, team["id"], pairing=True, held_on=str(business_today() + timedelta(days=2)))
    household = f"{uuid.uuid4().int % 90 + 10}号楼1门101室"
    assert_problem(await client.post("/api/volunteers/pairings", json={"volunteer_id": first["id"], "household": household, "need_id": plain["id"]}, headers=worker), 422, "does not ask")
    assert_problem(await client.post("/api/volunteers/pairings", json={"volunteer_id": first["id"], "household": household, "need_id": paired_need["id"]}, headers=worker), 422, "signed up")
    assert (await client.post(f"/api/volunteers/needs/{paired_need['id']}/signups", headers=first_login)).status_code == 201
    made = await client.post("/api/volunteers/pairings", json={"volunteer_id": first["id"], "household": household, "need_id": paired_need["id"]}, headers=worker)
    assert made.status_code == 201, made.text
    assert_problem(await client.post("/api/volunteers/pairings", json={"volunteer_id": first["id"], "household": "99号楼9门909室"}, headers=worker), 409, "volunteer is paired")
    assert_problem(await client.post("/api/volunteers/pairings", json={"volunteer_id": second["id"], "household": household}, headers=worker), 409, "household has a volunteer")
    assert (await client.post(f"/api/volunteers/pairings/{made.json()['id']}/end", headers=worker)).status_code == 200
    assert (await client.post("/api/volunteers/pairings", json={"volunteer_id": second["id"], "household": household}, headers=worker)).status_code == 201
    mine = (await client.get("/api/volunteers/pairings", headers=first_login)).json()
    assert [p["household"] for p in mine] == [household] and mine[0]["ended_on"] == str(business_today())
    # The household's address is personal data: the audit log records the pairing, never where the household lives.
    async with db() as session:
        logged = [str(e.after) + str(e.before) for e in (await session.execute(sa.select(AuditEntry).where(AuditEntry.entity == "volunteer_pairing"))).scalars()]
    assert len(logged) >= 3 and not [entry for entry in logged if household in entry]


def _text(content: bytes, folder: Path) -> str:
    path = folder / "certificate.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


async def test_a_certificate_of_approved_hours_is_issued_once_served_as_issued_and_a_forged_copy_is_refused(client, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    worker = await login(client, "xbl01-worker")
    record, me = await new_volunteer(client, worker)
    team = await team_of(client, worker, member_ids=[record["id"]])
    assert_problem(await client.post("/api/volunteers/me/certificate", headers=me), 422, "no approved hours")
    assert_problem(await client.get("/api/volunteers/me/certificate.pdf", headers=me), 409)
    for minutes in (90, 150):
        logged = (await log(client, me, team_id=team["id"], minutes=minutes))[0].json()
        assert (await client.post(f"/api/volunteers/hours/{logged['id']}/decision", json={"verdict": "approve"}, headers=worker)).status_code == 200
    waiting = (await log(client, me, team_id=team["id"], minutes=45))[0]
    assert waiting.status_code == 201

    issued = await client.post("/api/volunteers/me/certificate", headers=me)
    assert issued.status_code == 200, issued.text
    facts = issued.json()
    assert facts["approved_minutes"] == 240 and facts["title"] == "志愿服务时长证明"
    first = (await client.get(facts["download"], headers=me)).content
    text = _text(first, tmp_path)
    assert "志愿服务时长证明" in text and "韩秀云" in text and "4.0 小时" in text and f"/verify/{facts['code']}" in text
    assert "树德里社区物业社工" in text and "xbl01-worker" not in text, text  # the reviewer by name and post on one line, never by account
    # Asked again with no new approval: the same document, byte for byte; a changed byte is refused.
    again = await client.post("/api/volunteers/me/certificate", headers=me)
    assert again.json()["code"] == facts["code"] and (await client.get(facts["download"], headers=me)).content == first
    genuine = await verify(client, first)
    assert genuine["genuine"] is True and genuine["kind"] == "volunteer_hours" and genuine["issuer"] == "社区居委会" and genuine["number"] == facts["number"]
    assert await verify(client, one_digit_changed(first)) == {"genuine": False}
    # A new approval makes the next certificate; the earlier one stays genuine.
    assert (await client.post(f"/api/volunteers/hours/{waiting.json()['id']}/decision", json={"verdict": "approve"}, headers=worker)).status_code == 200
    assert_problem(await client.get(facts["download"], headers=me), 409)
    newer = await client.post("/api/volunteers/me/certificate", headers=me)
    assert newer.json()["code"] != facts["code"] and newer.json()["approved_minutes"] == 285
    assert (await verify(client, first))["genuine"] is True
    # Only the volunteer asks for their own certificate.
    assert_problem(await client.post("/api/volunteers/me/certificate", headers=worker), 403)


async def test_the_volunteer_signs_up_and_logs_hours_on_the_phone_page_and_the_social_worker_approves_on_the_queue(client, db) -> None:  # type: ignore[no-untyped-def]
    worker = await login(client, "xbl01-worker")
    answer, body = await register(client, worker, real_name="范丽萍")
    record = answer.json()
    team = await team_of(client, worker, member_ids=[record["id"]])
    need = await need_of(client, worker, team["id"], title="为独居老人送午餐")

    await page_login(client, body["username"])
    home = await client.get("/volunteer")
    assert home.status_code == 200 and "为独居老人送午餐" in home.text and "范丽萍" in home.text
    token = await csrf(client)
    signed = await client.post(f"/volunteer/needs/{need['id']}/signup", headers={"x-csrftoken": token})
    assert signed.status_code == 200 and "已报名" in signed.text
    # The volunteer's home now lists the service they signed up for, the next one named, where it is done.
    home = (await client.get("/")).text
    assert todo_count(home, "我报名的志愿服务") >= 1
    line = next(li for li in home.split("<li ") if '<span class="todo-title">我报名的志愿服务</span>' in li).split("</li>")[0]
    assert "下一场：为独居老人送午餐" in line and 'href="/volunteer"' in line and re.search(r'data-due="\d{4}-\d{2}-\d{2}"', line), line
    form = {"client_id": uuid.uuid4().hex, "target": f"need:{need['id']}", "served_on": str(business_today()), "minutes": "120", "activity": "送午餐 6 份"}
    wrong = await client.post("/volunteer/hours", data={**form, "minutes": "900"}, headers={"x-csrftoken": token})
    assert wrong.status_code == 422 and "720 分钟" in wrong.text and "送午餐 6 份" in wrong.text
    logged = await client.post("/volunteer/hours", data=form, headers={"x-csrftoken": token})
    assert logged.status_code == 200 and "待审核" in logged.text
    await client.post("/logout", headers={"x-csrftoken": token})

    await page_login(client, "xbl01-worker")
    queue = await client.get("/volunteers/approvals")
    async with db() as session:
        hours = (await session.execute(sa.select(VolunteerHours).where(VolunteerHours.client_id == form["client_id"]))).scalar_one()
    assert queue.status_code == 200 and f'data-hours="{hours.id}"' in queue.text and "范丽萍" in queue.text
    token = await csrf(client)
    refused = await client.post(f"/volunteers/approvals/{hours.id}", data={"verdict": "reject", "reason": ""}, headers={"x-csrftoken": token})
    assert refused.status_code == 422 and "写明理由" in refused.text
    done = await client.post(f"/volunteers/approvals/{hours.id}", data={"verdict": "approve", "reason": ""}, headers={"x-csrftoken": token})
    assert done.status_code == 200 and f'data-hours="{hours.id}"' not in done.text
    desk = await client.get("/volunteers")
    assert desk.status_code == 200 and "范丽萍" in desk.text and body["phone"] in desk.text
