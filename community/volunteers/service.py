"""Use cases of volunteers: the community's staff register volunteers and open their accounts, form teams, post
needs and pair volunteers with households; a volunteer signs up (the last place goes to exactly one), logs their own
hours and asks for a certificate; the team's leader or the community's social worker approves or rejects the hours.
Each function is one use case inside the caller's transaction (flush only). Real names and phones never reach the
audit log, a notification or a log line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community.calls.queries import project_record
from community.volunteers import schemas
from community.volunteers.rules import (
    HoursState,
    VolunteerRules,
    activity_credit,
    approval_due,
    day_refusal,
    hours_refusal,
    may_decide,
    parse_volunteer_rules,
    signup_refusal,
)
from community.volunteers.tables import (
    Volunteer,
    VolunteerHours,
    VolunteerNeed,
    VolunteerPairing,
    VolunteerSignup,
    VolunteerTeam,
    VolunteerTeamMember,
)
from foundation.access import Principal, Role, require_role
from foundation.audit import record_change, snapshot
from foundation.clock import utc_now
from foundation.db import rows_changed
from foundation.duties import Duty, keep_apart
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.notifications import notify, settle
from foundation.periods import business_date
from foundation.process_locks import transaction_lock
from foundation.settings import config_dir
from foundation.text import visible
from people import service as people
from people.queries import recipients, users
from registry import queries as registry_queries

# The community's social workers decide hours (with each team's leader); with the director they run the registry.
SOCIAL_WORKERS = frozenset({Role.COMMUNITY_WORKER, Role.CARE_WORKER})
ORGANISERS = frozenset({*SOCIAL_WORKERS, Role.COMMITTEE_DIRECTOR})
VOLUNTEERS = frozenset({Role.VOLUNTEER})
PERSONAL = frozenset({"real_name", "phone"})  # never in an audit entry
HOUSEHOLD = frozenset({"household"})  # a paired household's address: never in an audit entry either


@lru_cache(maxsize=1)
def volunteer_rules() -> VolunteerRules:
    """config/volunteers.toml, read once (the app factory reads it at start, so a wrong file stops the system there)."""
    path = config_dir() / "volunteers.toml"
    try:
        return parse_volunteer_rules(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def _organiser_community(actor: Principal, action: str) -> int:
    require_role(actor, ORGANISERS, action)
    if actor.community_id is None:
        raise PermissionDenied(f"{action} is for the staff of a community", zh="此操作须由社区工作人员办理，您的账号未关联社区")
    return actor.community_id


async def own_volunteer(session: AsyncSession, actor: Principal) -> Volunteer:
    """The volunteer record of the volunteer acting."""
    require_role(actor, VOLUNTEERS, "this")
    row = (await session.execute(select(Volunteer).where(col(Volunteer.user_id) == actor.user_id))).scalar_one_or_none()
    if row is None:
        raise NotFound("volunteer record of user", actor.user_id)
    return row


async def _volunteer_in(session: AsyncSession, volunteer_id: int, community_id: int) -> Volunteer:
    row = await session.get(Volunteer, volunteer_id)
    if row is None or row.community_id != community_id:
        raise NotFound("volunteer", volunteer_id)
    return row


# ---- the registry -------------------------------------------------------------------------------------------------


async def register_volunteer(
    session: AsyncSession, actor: Principal, data: schemas.VolunteerIn, *, password_hash: str | None = None, checked_in_person: bool = True
) -> Volunteer:
    """Register a volunteer of the actor's community (real name checked in person) and open their account. A
    volunteer does not register themselves: the real name must be checked, and the phone page is then theirs. A
    volunteer moved in from a spreadsheet (`checked_in_person=False`) waits for the social worker's check
    (`check_volunteer`) before signing up for anything."""
    community_id = _organiser_community(actor, "registering volunteers")
    community = await registry_queries.community(session, community_id)
    if community is None:
        raise NotFound("community", community_id)
    unknown = sorted(set(data.skills) - set(volunteer_rules().skills))
    if unknown:
        raise RuleViolation(f"unknown skills {unknown}; choose from GET /api/volunteers/options", zh="请从列表中选择技能", field="skills")
    user = await people.create_volunteer_user(session, actor, data.username, data.password, community_id, password_hash=password_hash)
    row = Volunteer(
        user_id=user.id, community_id=community_id, street_id=community.street_id, real_name=data.real_name.strip(), phone=data.phone,
        skills="、".join(dict.fromkeys(data.skills)), registered_at=utc_now(), registered_by=actor.label,
        checked_at=utc_now() if checked_in_person else None, checked_by=actor.label if checked_in_person else None,
    )
    session.add(row)
    await session.flush()
    record_change(session, actor, "volunteer.registered", "volunteer", row.id, after=snapshot(row, PERSONAL))
    return row


async def check_volunteer(session: AsyncSession, actor: Principal, volunteer_id: int, data: schemas.VolunteerCheckIn) -> Volunteer:
    """实名核验: the community's social worker meets a volunteer who moved in from a spreadsheet, checks their real
    name, and gives them their first password; from then on they sign up and log hours."""
    require_role(actor, SOCIAL_WORKERS, "checking a volunteer's real name")
    community_id = _organiser_community(actor, "checking a volunteer's real name")
    volunteer = await _volunteer_in(session, volunteer_id, community_id)
    if volunteer.checked_at is not None:
        raise Conflict(f"volunteer {volunteer_id} was checked already", zh="该志愿者已完成实名核验")
    await people.give_volunteer_first_password(session, actor, volunteer.user_id, data.password)
    volunteer.checked_at, volunteer.checked_by = utc_now(), actor.label
    record_change(session, actor, "volunteer.checked", "volunteer", volunteer.id, after={"checked_by": actor.label})
    await session.flush()
    return volunteer


def _ensure_checked(volunteer: Volunteer) -> None:
    if volunteer.checked_at is None:
        raise RuleViolation(
            "your real name has not been checked in person yet; ask your community's social worker",
            zh="您的实名信息尚未经社区社工当面核验，核验后才能报名和登记服务时长",
        )


async def readable_volunteers(session: AsyncSession, actor: Principal) -> list[Volunteer]:
    """Volunteers with their personal data, for those who may see it: the community's staff see their community's,
    a team leader their team's, a volunteer themselves."""
    if actor.role in ORGANISERS and actor.community_id is not None:
        query = select(Volunteer).where(col(Volunteer.community_id) == actor.community_id)
    elif actor.role is Role.VOLUNTEER:
        led = select(col(VolunteerTeamMember.volunteer_id)).join(VolunteerTeam, col(VolunteerTeam.id) == col(VolunteerTeamMember.team_id)).where(col(VolunteerTeam.leader_user_id) == actor.user_id)
        query = select(Volunteer).where((col(Volunteer.user_id) == actor.user_id) | col(Volunteer.id).in_(led))
    else:
        raise PermissionDenied("volunteers' personal data is shown only to their community's staff and team leaders", zh="志愿者个人信息仅本社区社工和队长可见")
    return list((await session.execute(query.order_by(col(Volunteer.id)))).scalars())


async def volunteer_out(session: AsyncSession, rows: Sequence[Volunteer]) -> list[schemas.VolunteerOut]:
    ids = [v.id for v in rows]
    teams: dict[int, list[int]] = {i: [] for i in ids}
    minutes: dict[int, int] = dict.fromkeys(ids, 0)
    if ids:
        for team_id, volunteer_id in await session.execute(select(col(VolunteerTeamMember.team_id), col(VolunteerTeamMember.volunteer_id)).where(col(VolunteerTeamMember.volunteer_id).in_(ids)).order_by(col(VolunteerTeamMember.team_id))):
            teams[volunteer_id].append(team_id)
        for volunteer_id, total in await session.execute(
            select(col(VolunteerHours.volunteer_id), func.sum(col(VolunteerHours.minutes))).where(col(VolunteerHours.volunteer_id).in_(ids), col(VolunteerHours.state) == HoursState.APPROVED).group_by(col(VolunteerHours.volunteer_id))
        ):
            minutes[volunteer_id] = int(total or 0)
    return [
        schemas.VolunteerOut(id=v.id, user_id=v.user_id, community_id=v.community_id, real_name=v.real_name, phone=v.phone, skills=[s for s in v.skills.split("、") if s], teams=teams[v.id], approved_minutes=minutes[v.id], checked=v.checked_at is not None)
        for v in rows
    ]


# ---- teams --------------------------------------------------------------------------------------------------------


async def _add_members(session: AsyncSession, team: VolunteerTeam, volunteer_ids: Sequence[int]) -> None:
    present = set((await session.execute(select(col(VolunteerTeamMember.volunteer_id)).where(col(VolunteerTeamMember.team_id) == team.id))).scalars())
    for volunteer_id in dict.fromkeys(volunteer_ids):
        await _volunteer_in(session, volunteer_id, team.community_id)
        if volunteer_id not in present:
            session.add(VolunteerTeamMember(team_id=team.id, volunteer_id=volunteer_id, joined_at=utc_now()))
    await session.flush()


async def create_team(session: AsyncSession, actor: Principal, data: schemas.VolunteerTeamIn) -> VolunteerTeam:
    """A team of the actor's community, led by one of its volunteers (who becomes a member) or by the actor."""
    community_id = _organiser_community(actor, "forming volunteer teams")
    community = await registry_queries.community(session, community_id)
    if community is None:
        raise NotFound("community", community_id)
    if (await session.execute(select(col(VolunteerTeam.id)).where(col(VolunteerTeam.community_id) == community_id, col(VolunteerTeam.name) == data.name))).first():
        raise Conflict(f"the community already has a team named {data.name}", zh="本社区已有同名的志愿服务队", field="name")
    members = list(data.member_ids)
    if data.leader_volunteer_id is not None:
        leader = await _volunteer_in(session, data.leader_volunteer_id, community_id)
        leader_user_id = leader.user_id
        members.insert(0, leader.id)
    else:
        require_role(actor, SOCIAL_WORKERS, "leading a team")
        assert actor.user_id is not None
        leader_user_id = actor.user_id
    team = VolunteerTeam(community_id=community_id, street_id=community.street_id, name=data.name, leader_user_id=leader_user_id, created_at=utc_now(), created_by=actor.label)
    session.add(team)
    await session.flush()
    await _add_members(session, team, members)
    record_change(session, actor, "volunteer_team.created", "volunteer_team", team.id, after=snapshot(team) | {"member_ids": sorted(set(members))})
    return team


async def add_members(session: AsyncSession, actor: Principal, team_id: int, data: schemas.VolunteerMembersIn) -> VolunteerTeam:
    team = await _team_of_community(session, team_id, _organiser_community(actor, "changing volunteer teams"))
    await _add_members(session, team, data.volunteer_ids)
    record_change(session, actor, "volunteer_team.members_added", "volunteer_team", team.id, after={"volunteer_ids": sorted(set(data.volunteer_ids))})
    return team


async def _team_of_community(session: AsyncSession, team_id: int, community_id: int | None) -> VolunteerTeam:
    team = await session.get(VolunteerTeam, team_id)
    if team is None or team.community_id != community_id:
        raise NotFound("volunteer team", team_id)
    return team


async def teams_of(session: AsyncSession, actor: Principal) -> list[VolunteerTeam]:
    """The teams of the actor's community (staff, volunteers)."""
    require_role(actor, ORGANISERS | VOLUNTEERS, "reading volunteer teams")
    return list((await session.execute(select(VolunteerTeam).where(col(VolunteerTeam.community_id) == actor.community_id).order_by(col(VolunteerTeam.id)))).scalars())


async def team_out(session: AsyncSession, actor: Principal, teams: Sequence[VolunteerTeam]) -> list[schemas.VolunteerTeamOut]:
    ids = [t.id for t in teams]
    members: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        for team_id, volunteer_id in await session.execute(select(col(VolunteerTeamMember.team_id), col(VolunteerTeamMember.volunteer_id)).where(col(VolunteerTeamMember.team_id).in_(ids)).order_by(col(VolunteerTeamMember.volunteer_id))):
            members[team_id].append(volunteer_id)
    leaders = {t.leader_user_id for t in teams}
    accounts = await users(session, leaders)
    volunteer_leaders = {v.user_id: v.real_name for v in (await session.execute(select(Volunteer).where(col(Volunteer.user_id).in_(list(leaders))))).scalars()} if leaders else {}
    sees_names = actor.role in ORGANISERS

    def leader_name(user_id: int) -> str:
        if user_id in volunteer_leaders:
            return volunteer_leaders[user_id] if sees_names or user_id == actor.user_id else "志愿者队长"
        return accounts[user_id].display_name if user_id in accounts else ""

    return [schemas.VolunteerTeamOut(id=t.id, community_id=t.community_id, name=t.name, leader_user_id=t.leader_user_id, leader=leader_name(t.leader_user_id), member_ids=members[t.id]) for t in teams]


async def teams_of_volunteer(session: AsyncSession, volunteer_id: int) -> list[VolunteerTeam]:
    query = select(VolunteerTeam).join(VolunteerTeamMember, col(VolunteerTeamMember.team_id) == col(VolunteerTeam.id)).where(col(VolunteerTeamMember.volunteer_id) == volunteer_id)
    return list((await session.execute(query.order_by(col(VolunteerTeam.id)))).scalars())


# ---- needs and sign-ups -------------------------------------------------------------------------------------------


async def post_need(session: AsyncSession, actor: Principal, data: schemas.VolunteerNeedIn, today: date | None = None) -> VolunteerNeed:
    """志愿需求: a day's service of the actor's community asking for volunteers, for one of its teams, optionally
    for a contracted community-service project (and asking for one-to-one pairing)."""
    community_id = _organiser_community(actor, "posting volunteer needs")
    rules = volunteer_rules()
    today = today or business_date(utc_now())
    team = await _team_of_community(session, data.team_id, community_id)
    if data.held_on < today:
        raise RuleViolation("a need is posted for today or a later day", zh="服务日期不能早于今天", field="held_on")
    if data.wanted > rules.max_wanted:
        raise RuleViolation(f"a need asks for at most {rules.max_wanted} volunteers", zh=f"每项需求最多招募 {rules.max_wanted} 人", field="wanted")
    if data.minutes > rules.need_max_minutes:
        raise RuleViolation(f"a need lasts at most {rules.need_max_minutes} minutes", zh=f"每项需求的时长最多 {rules.need_max_minutes} 分钟", field="minutes")
    if data.call_id is not None:
        project = await project_record(session, data.call_id)
        if project is None or not project.contracts:
            raise RuleViolation(f"call {data.call_id} is not a contracted project", zh="所选项目尚未签订合同", field="call_id")
    community = await registry_queries.community(session, community_id)
    assert community is not None
    need = VolunteerNeed(
        community_id=community_id, street_id=community.street_id, team_id=team.id, call_id=data.call_id, title=data.title, description=data.description,
        place=data.place, held_on=data.held_on, starts_at=time.fromisoformat(data.starts_at), minutes=data.minutes, wanted=data.wanted, pairing=data.pairing,
        created_at=utc_now(), created_by=actor.label,
    )
    session.add(need)
    await session.flush()
    record_change(session, actor, "volunteer_need.posted", "volunteer_need", need.id, after=snapshot(need))
    return need


async def needs_of(session: AsyncSession, actor: Principal, *, from_day: date | None = None) -> list[VolunteerNeed]:
    require_role(actor, ORGANISERS | VOLUNTEERS, "reading volunteer needs")
    query = select(VolunteerNeed).where(col(VolunteerNeed.community_id) == actor.community_id)
    if from_day is not None:
        query = query.where(col(VolunteerNeed.held_on) >= from_day)
    return list((await session.execute(query.order_by(col(VolunteerNeed.held_on), col(VolunteerNeed.starts_at), col(VolunteerNeed.id)))).scalars())


def need_out(need: VolunteerNeed, today: date) -> schemas.VolunteerNeedOut:
    return schemas.VolunteerNeedOut(
        id=need.id, community_id=need.community_id, team_id=need.team_id, call_id=need.call_id, title=need.title, place=need.place, held_on=need.held_on,
        starts_at=need.starts_at.strftime("%H:%M"), minutes=need.minutes, wanted=need.wanted, taken=need.taken, pairing=need.pairing,
        open=signup_refusal(need.held_on, need.taken, need.wanted, today) is None, description=need.description,
    )


SIGNUP_REFUSALS = {
    "past": ("the need's day has passed: sign-up is closed", "该需求的服务日期已过，报名已截止"),
    "full": ("the need is full: every place is taken", "名额已满，报名已截止"),
}


async def sign_up(session: AsyncSession, actor: Principal, need_id: int, today: date | None = None) -> VolunteerSignup:
    """A volunteer takes a place. The count is raised by one conditional UPDATE (taken < wanted, day not past), so of
    two volunteers taking the last place at once exactly one gets it; the CHECK on the table holds it too."""
    volunteer = await own_volunteer(session, actor)
    _ensure_checked(volunteer)
    today = today or business_date(utc_now())
    need = await session.get(VolunteerNeed, need_id)
    if need is None or need.community_id != volunteer.community_id:
        raise NotFound("volunteer need", need_id)
    if (await session.execute(select(col(VolunteerSignup.id)).where(col(VolunteerSignup.need_id) == need_id, col(VolunteerSignup.volunteer_id) == volunteer.id))).first():
        raise Conflict("you have signed up for this need already", zh="您已报名该需求")
    taken = await rows_changed(
        session,
        update(VolunteerNeed)
        .where(col(VolunteerNeed.id) == need_id, col(VolunteerNeed.taken) < col(VolunteerNeed.wanted), col(VolunteerNeed.held_on) >= today)
        .values(taken=col(VolunteerNeed.taken) + 1)
        .execution_options(synchronize_session=False),
    )
    if not taken:
        await session.refresh(need)
        english, chinese = SIGNUP_REFUSALS[signup_refusal(need.held_on, need.taken, need.wanted, today) or "full"]
        raise RuleViolation(english, zh=chinese)
    row = VolunteerSignup(need_id=need_id, volunteer_id=volunteer.id, signed_up_at=utc_now())
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same volunteer's other request signed up at the same moment
        raise Conflict("you have signed up for this need already", zh="您已报名该需求") from None
    await session.refresh(need)
    record_change(session, actor, "volunteer_need.signed_up", "volunteer_need", need_id, after={"volunteer_id": volunteer.id, "taken": need.taken})
    return row


async def signed_up_need_ids(session: AsyncSession, volunteer_id: int) -> set[int]:
    return set((await session.execute(select(col(VolunteerSignup.need_id)).where(col(VolunteerSignup.volunteer_id) == volunteer_id))).scalars())


# ---- hours --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Logged:
    row: VolunteerHours
    replayed: bool


async def log_hours(session: AsyncSession, actor: Principal, data: schemas.VolunteerHoursIn, today: date | None = None) -> Logged:
    """A volunteer logs their own hours, for a need they signed up for (its team) or with one of their teams; they
    wait for the leader's or the social worker's answer. A retry with the same client id stores nothing new."""
    volunteer = await own_volunteer(session, actor)
    _ensure_checked(volunteer)
    rules = volunteer_rules()
    today = today or business_date(utc_now())
    # The day's entries one after the other (their total is capped below), a phone's retry included: the retry
    # waits for the first request and then finds what it stored.
    await transaction_lock(session, f"volunteer-day|{volunteer.id}|{data.served_on}")
    earlier = (await session.execute(select(VolunteerHours).where(col(VolunteerHours.client_id) == data.client_id))).scalar_one_or_none()
    if earlier is not None:
        if earlier.volunteer_id != volunteer.id or (earlier.served_on, earlier.minutes, earlier.activity, earlier.need_id) != (data.served_on, data.minutes, data.activity, data.need_id):
            raise Conflict(f"client id {data.client_id} was already used for other hours", zh="该提交编号已用于另一条记录，请刷新页面后重新填写", field="client_id")
        return Logged(earlier, True)
    refusal = hours_refusal(data.served_on, data.minutes, today, rules)
    if refusal:
        raise RuleViolation(refusal[0], zh=refusal[1], field="served_on" if "minutes" not in refusal[0] else "minutes")
    team_id = data.team_id
    if data.need_id is not None:
        need = await session.get(VolunteerNeed, data.need_id)
        if need is None or need.community_id != volunteer.community_id:
            raise NotFound("volunteer need", data.need_id)
        if data.need_id not in await signed_up_need_ids(session, volunteer.id):
            raise RuleViolation("hours of a need are logged by the volunteers who signed up for it", zh="您未报名该需求，不能登记其服务时长", field="need_id")
        if data.served_on != need.held_on:
            raise RuleViolation(f"the need was held on {need.held_on}", zh=f"该需求的服务日期为 {need.held_on}", field="served_on")
        if team_id is not None and team_id != need.team_id:
            raise RuleViolation("the hours of a need go to the need's team", zh="需求的服务时长记入该需求所属的服务队", field="team_id")
        team_id = need.team_id
    elif team_id is None:
        raise RuleViolation("name the need or the team the hours were served with", zh="请选择服务的需求或服务队", field="team_id")
    elif team_id not in {t.id for t in await teams_of_volunteer(session, volunteer.id)}:
        raise RuleViolation("hours are logged with a team you belong to", zh="您不是该服务队的队员", field="team_id")
    assert team_id is not None
    credited = select(col(VolunteerHours.id)).where(
        col(VolunteerHours.volunteer_id) == volunteer.id, col(VolunteerHours.served_on) == data.served_on, col(VolunteerHours.activity_id).is_not(None)
    )
    if (await session.execute(credited)).first() is not None:
        raise RuleViolation(
            f"your time on {data.served_on} was recorded with a project activity by its social worker; a day's service is recorded once",
            zh=f"您 {data.served_on} 的服务时长已由社工在项目活动记录中登记，同一天的服务只登记一次；如有出入请联系社工更正", field="served_on",
        )
    logged = (
        await session.execute(
            select(func.coalesce(func.sum(col(VolunteerHours.minutes)), 0)).where(
                col(VolunteerHours.volunteer_id) == volunteer.id, col(VolunteerHours.served_on) == data.served_on, col(VolunteerHours.state) != HoursState.REJECTED
            )
        )
    ).scalar_one()
    refusal = day_refusal(data.served_on, int(logged), data.minutes, rules)
    if refusal:
        raise RuleViolation(refusal[0], zh=refusal[1], field="minutes")
    row = VolunteerHours(
        client_id=data.client_id, volunteer_id=volunteer.id, volunteer_user_id=volunteer.user_id, community_id=volunteer.community_id, team_id=team_id,
        need_id=data.need_id, served_on=data.served_on, minutes=data.minutes, activity=data.activity, state=HoursState.WAITING, logged_at=utc_now(),
        due_on=approval_due(today, rules),
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the phone's retry crossed the first request
        again = (await session.execute(select(VolunteerHours).where(col(VolunteerHours.client_id) == data.client_id))).scalar_one()
        return Logged(again, True)
    record_change(session, actor, "volunteer_hours.logged", "volunteer_hours", row.id, after=snapshot(row))
    return Logged(row, False)


async def credit_activity(
    session: AsyncSession, actor: Principal, *, activity_id: int, community_id: int, served_on: date, what: str, minutes: Mapping[int, int],
    earlier: Mapping[int, int], approved: bool, now: datetime,
) -> int:
    """A project activity's record of the volunteers who helped (community/delivery) becomes their hours, once per
    activity and volunteer: approved at once when the community's social worker recorded it (someone other than the
    volunteer, whose task it is to approve), else waiting for the team leader's or social worker's answer. The day
    counts once (rules.activity_credit, with `earlier`: each volunteer's minutes at the other activities of that day):
    the volunteer's own hours of that day still waiting are closed as recorded by the activity once its entry is
    approved (now, or when decide_hours approves it), and their approved ones are not added twice. Answers the
    number of entries made."""
    rules = volunteer_rules()
    made = 0
    for volunteer_id, served in sorted(minutes.items()):
        volunteer = await session.get(Volunteer, volunteer_id)
        if volunteer is None:
            raise NotFound("volunteer", volunteer_id)
        team_id = (
            await session.execute(
                select(func.min(VolunteerTeamMember.team_id))
                .join(VolunteerTeam, col(VolunteerTeam.id) == col(VolunteerTeamMember.team_id))
                .where(col(VolunteerTeamMember.volunteer_id) == volunteer_id, col(VolunteerTeam.community_id) == community_id)
            )
        ).scalar_one_or_none()
        if team_id is None:
            raise RuleViolation(f"volunteer {volunteer_id} is not in a volunteer team of the community", field="volunteers", zh="参与活动的志愿者须是本社区志愿服务队的队员")
        same_day = await _same_day(session, volunteer_id, served_on)
        if approved:
            _close_own_waiting(session, actor, same_day, activity_id, now)
        approved_own = sum(h.minutes for h in same_day if h.activity_id is None and h.state == HoursState.APPROVED)
        credit = activity_credit(approved_own, earlier.get(volunteer_id, 0), served, rules.max_minutes)
        if credit <= 0:
            continue
        row = VolunteerHours(
            client_id=f"activity-{activity_id}-{volunteer_id}", volunteer_id=volunteer_id, volunteer_user_id=volunteer.user_id, community_id=community_id, team_id=int(team_id),
            served_on=served_on, minutes=credit, activity=what[:400], state=HoursState.APPROVED if approved else HoursState.WAITING, logged_at=now,
            due_on=approval_due(business_date(now), rules), activity_id=activity_id,
            decided_at=now if approved else None, decided_by_user_id=actor.user_id if approved else None, decided_by=actor.label if approved else None,
        )
        session.add(row)
        await session.flush()
        record_change(session, actor, f"volunteer_hours.credited_{row.state}", "volunteer_hours", row.id, after=snapshot(row))
        made += 1
    return made


def _close_own_waiting(session: AsyncSession, actor: Principal, same_day: list[VolunteerHours], activity_id: int, now: datetime) -> None:
    """The volunteer's own hours of a day still waiting, closed once an activity's approved hours cover that day."""
    for own in same_day:
        if own.activity_id is None and own.state == HoursState.WAITING:
            before = snapshot(own)
            own.state, own.decided_at, own.decided_by_user_id, own.decided_by = HoursState.REJECTED, now, actor.user_id, actor.label
            own.reason = f"同一天的服务已由项目活动记录登记（活动 #{activity_id}），不重复计入"
            record_change(session, actor, "volunteer_hours.rejected", "volunteer_hours", own.id, before=before, after=snapshot(own), reason=own.reason)


async def _same_day(session: AsyncSession, volunteer_id: int, served_on: date) -> list[VolunteerHours]:
    query = select(VolunteerHours).where(col(VolunteerHours.volunteer_id) == volunteer_id, col(VolunteerHours.served_on) == served_on)
    return list((await session.execute(query.order_by(col(VolunteerHours.id)))).scalars())


async def _is_leader(session: AsyncSession, actor: Principal, team_id: int) -> bool:
    team = await session.get(VolunteerTeam, team_id)
    return team is not None and actor.user_id is not None and team.leader_user_id == actor.user_id


async def decide_hours(session: AsyncSession, actor: Principal, hours_id: int, data: schemas.HoursDecisionIn) -> VolunteerHours:
    """The team's leader or the community's social worker approves hours, or rejects them with a reason. Never the
    volunteer themselves (refused here, and by the database)."""
    require_role(actor, SOCIAL_WORKERS | VOLUNTEERS, "deciding volunteer hours")
    row = await session.get(VolunteerHours, hours_id)
    if row is None or row.community_id != actor.community_id:
        raise NotFound("volunteer hours", hours_id)
    keep_apart(Duty.APPROVE_OWN_VOLUNTEER_HOURS, actor, [row.volunteer_user_id])
    refusal = may_decide(await _is_leader(session, actor, row.team_id), actor.role in SOCIAL_WORKERS)
    if refusal:
        raise PermissionDenied(refusal[0], zh=refusal[1])
    if row.state != HoursState.WAITING:
        raise Conflict(f"these hours were already {row.state}", zh="该记录已审核")
    reason = visible(data.reason)
    if data.verdict == "reject" and len(reason) < 2:
        raise RuleViolation("a rejection needs a reason saying why", zh="不通过时请写明理由", field="reason")
    same_day = await _same_day(session, row.volunteer_id, row.served_on)
    if data.verdict == "approve" and row.activity_id is None and any(h.activity_id is not None and h.state == HoursState.WAITING for h in same_day):
        # The day counts once: the activity's record of that day is decided first (approved, it closes this one).
        raise Conflict(
            "an activity's record of the same day is waiting: decide it first",
            zh="该志愿者当天已有项目活动记录的时长待审核：请先审核那条记录（通过后本条不再重复计入）",
        )
    before = snapshot(row)
    changed = await rows_changed(
        session,
        update(VolunteerHours)
        .where(col(VolunteerHours.id) == hours_id, col(VolunteerHours.state) == HoursState.WAITING)
        .values(
            state=HoursState.APPROVED if data.verdict == "approve" else HoursState.REJECTED, decided_at=utc_now(), decided_by_user_id=actor.user_id,
            decided_by=actor.label, reason=reason or None,
        )
        .execution_options(synchronize_session=False),
    )
    if not changed:
        raise Conflict("these hours were decided a moment ago", zh="该记录已审核")
    await session.refresh(row)
    record_change(session, actor, f"volunteer_hours.{row.state}", "volunteer_hours", row.id, before=before, after=snapshot(row), reason=row.reason)
    await settle(session, f"volunteer-hours-late|{row.id}")  # decided: the reminder leaves every approver's list
    if row.activity_id is not None and row.state == HoursState.APPROVED:
        _close_own_waiting(session, actor, [h for h in same_day if h.id != row.id], row.activity_id, utc_now())
        for own in same_day:
            if own.state == HoursState.REJECTED:
                await settle(session, f"volunteer-hours-late|{own.id}")
    return row


async def own_hours(session: AsyncSession, actor: Principal) -> list[VolunteerHours]:
    volunteer = await own_volunteer(session, actor)
    return list((await session.execute(select(VolunteerHours).where(col(VolunteerHours.volunteer_id) == volunteer.id).order_by(col(VolunteerHours.served_on).desc(), col(VolunteerHours.id).desc()))).scalars())


async def approval_queue(session: AsyncSession, actor: Principal) -> list[VolunteerHours]:
    """Hours waiting for the actor's answer: a social worker's whole community, a leader's own teams; never the
    actor's own hours."""
    require_role(actor, SOCIAL_WORKERS | VOLUNTEERS, "the approval queue")
    query = select(VolunteerHours).where(col(VolunteerHours.community_id) == actor.community_id, col(VolunteerHours.state) == HoursState.WAITING, col(VolunteerHours.volunteer_user_id) != actor.user_id)
    if actor.role is Role.VOLUNTEER:
        query = query.where(col(VolunteerHours.team_id).in_(select(col(VolunteerTeam.id)).where(col(VolunteerTeam.leader_user_id) == actor.user_id)))
    return list((await session.execute(query.order_by(col(VolunteerHours.due_on), col(VolunteerHours.id)))).scalars())


async def leads_a_team(session: AsyncSession, actor: Principal) -> bool:
    return actor.user_id is not None and (await session.execute(select(col(VolunteerTeam.id)).where(col(VolunteerTeam.leader_user_id) == actor.user_id))).first() is not None


async def names_for(session: AsyncSession, actor: Principal, volunteer_ids: set[int]) -> dict[int, str]:
    """Real names the actor may see (their community's staff; a leader for their team's members)."""
    readable = {v.id: v.real_name for v in await readable_volunteers(session, actor)}
    return {i: readable.get(i, f"志愿者 #{i}") for i in volunteer_ids}


def hours_out(row: VolunteerHours) -> schemas.VolunteerHoursOut:
    return schemas.VolunteerHoursOut(
        id=row.id, client_id=row.client_id, volunteer_id=row.volunteer_id, team_id=row.team_id, need_id=row.need_id, served_on=row.served_on, minutes=row.minutes,
        activity=row.activity, state=row.state, logged_at=row.logged_at, due_on=row.due_on, decided_at=row.decided_at, decided_by=row.decided_by, reason=row.reason,
        activity_id=row.activity_id,
    )


async def remind_late_approvals(session: AsyncSession, today: date) -> int:
    """Hours waiting past their answer day (as of `today`): the team's leader and the community's social workers are
    told, once per entry. The notice names no volunteer."""
    late = (await session.execute(select(VolunteerHours).where(col(VolunteerHours.state) == HoursState.WAITING, col(VolunteerHours.due_on) < today).order_by(col(VolunteerHours.id)))).scalars().all()
    told = 0
    for row in late:
        team = await session.get_one(VolunteerTeam, row.team_id)
        approvers = {team.leader_user_id}
        for role in SOCIAL_WORKERS:
            approvers |= set(await recipients(session, role, community_id=row.community_id))
        approvers.discard(row.volunteer_user_id)
        told += await notify(
            session, f"volunteer-hours-late|{row.id}", sorted(approvers), "志愿服务时长待审核已超期",
            f"{team.name}有一条 {row.served_on} 的服务时长记录（{row.minutes} 分钟）应在 {row.due_on} 前审核，已超期，请尽快审核。", "/volunteers/approvals",
        )
    await session.flush()
    return told


# ---- pairing ------------------------------------------------------------------------------------------------------


async def pair(session: AsyncSession, actor: Principal, data: schemas.VolunteerPairingIn, today: date | None = None) -> VolunteerPairing:
    """一对一包户: the community's staff pair a volunteer with one household; while it lasts neither has another."""
    community_id = _organiser_community(actor, "pairing volunteers with households")
    volunteer = await _volunteer_in(session, data.volunteer_id, community_id)
    _ensure_checked(volunteer)
    if data.need_id is not None:
        need = await session.get(VolunteerNeed, data.need_id)
        if need is None or need.community_id != community_id:
            raise NotFound("volunteer need", data.need_id)
        if not need.pairing:
            raise RuleViolation("this need does not ask for one-to-one pairing", zh="该需求不要求一对一包户", field="need_id")
        if data.need_id not in await signed_up_need_ids(session, volunteer.id):
            raise RuleViolation("a need's pairing is for a volunteer who signed up for it", zh="该志愿者未报名此需求", field="volunteer_id")
    household = " ".join(data.household.split())
    active = (
        await session.execute(
            select(VolunteerPairing).where(
                col(VolunteerPairing.ended_on).is_(None),
                (col(VolunteerPairing.volunteer_id) == volunteer.id) | ((col(VolunteerPairing.community_id) == community_id) & (col(VolunteerPairing.household) == household)),
            )
        )
    ).scalars().first()
    if active is not None:
        raise Conflict(
            "one volunteer, one household: " + ("the volunteer is paired already" if active.volunteer_id == volunteer.id else "the household has a volunteer already"),
            zh="一对一包户：" + ("该志愿者已结对一户" if active.volunteer_id == volunteer.id else "该户已有结对志愿者"),
        )
    row = VolunteerPairing(volunteer_id=volunteer.id, community_id=community_id, need_id=data.need_id, household=household, started_on=today or business_date(utc_now()), paired_by=actor.label)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict("one volunteer, one household: paired a moment ago", zh="一对一包户：刚刚已有结对，请刷新") from None
    record_change(session, actor, "volunteer.paired", "volunteer_pairing", row.id, after=snapshot(row, HOUSEHOLD))
    return row


async def end_pairing(session: AsyncSession, actor: Principal, pairing_id: int, today: date | None = None) -> VolunteerPairing:
    community_id = _organiser_community(actor, "ending pairings")
    row = await session.get(VolunteerPairing, pairing_id)
    if row is None or row.community_id != community_id:
        raise NotFound("pairing", pairing_id)
    if row.ended_on is not None:
        raise Conflict("the pairing has ended already", zh="该结对已结束")
    row.ended_on = today or business_date(utc_now())
    await session.flush()
    record_change(session, actor, "volunteer.pairing_ended", "volunteer_pairing", row.id, after=snapshot(row, HOUSEHOLD))
    return row


async def pairings_of(session: AsyncSession, actor: Principal) -> list[VolunteerPairing]:
    if actor.role is Role.VOLUNTEER:
        volunteer = await own_volunteer(session, actor)
        query = select(VolunteerPairing).where(col(VolunteerPairing.volunteer_id) == volunteer.id)
    else:
        query = select(VolunteerPairing).where(col(VolunteerPairing.community_id) == _organiser_community(actor, "reading pairings"))
    return list((await session.execute(query.order_by(col(VolunteerPairing.id)))).scalars())


def pairing_out(row: VolunteerPairing) -> schemas.VolunteerPairingOut:
    return schemas.VolunteerPairingOut(id=row.id, volunteer_id=row.volunteer_id, community_id=row.community_id, need_id=row.need_id, household=row.household, started_on=row.started_on, ended_on=row.ended_on)
