"""Use cases of delivery: register a project with its indicators, delegate it to committees, the director's answer,
the team of social workers, the residents served, activities from phones, and unanswered delegations going back to
the street. Each is one transaction (the caller's); services only flush."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community.calls import queries as calls_queries
from community.delivery import queries, rules, schemas
from community.delivery.tables import (
    Activity,
    ActivityParticipant,
    ActivityPhoto,
    ActivityVolunteer,
    Assignment,
    Beneficiary,
    Delegation,
    DeliveryIndicator,
    DeliveryProject,
)
from community.volunteers import queries as volunteer_queries
from community.volunteers import service as volunteer_service
from foundation.access import SYSTEM, Principal, Role, require_role
from foundation.audit import record_change
from foundation.calendar.service import working_calendar
from foundation.clock import BUSINESS_TZ
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.notifications import notify, settle
from foundation.settings import config_dir
from foundation.text import visible
from inspections.attachments import own_photos
from people import queries as people_queries
from registry import queries as registry_queries

BUYERS = frozenset({Role.ADMIN, Role.STREET_OFFICER})
DIRECTORS = frozenset({Role.COMMITTEE_DIRECTOR})
LOGGERS = frozenset({Role.COMMUNITY_WORKER, Role.CARE_WORKER, Role.SOCIAL_ORG})
# Whose record of volunteers' time at an activity counts as approved hours: the community's social workers (the
# approvers of volunteer hours, never the volunteer); the organisation's staff's record waits for their approval.
CREDITORS = frozenset({Role.COMMUNITY_WORKER, Role.CARE_WORKER})


@lru_cache(maxsize=1)
def delivery_limits() -> rules.DeliveryLimits:
    return rules.parse_limits((config_dir() / "delivery.toml").read_text(encoding="utf-8"))


def _refuse(problem: tuple[str, str] | None, field: str | None = None) -> None:
    if problem:
        raise RuleViolation(problem[0], zh=problem[1], field=field)


def _day(moment: datetime) -> str:
    return moment.astimezone(BUSINESS_TZ).date().isoformat()


# Who may act


def is_buyer(actor: Principal, project: DeliveryProject) -> bool:
    """The district's administrators act for every project; a street officer for their street's."""
    if actor.role is Role.ADMIN:
        return True
    return actor.role is Role.STREET_OFFICER and project.street_id is not None and project.street_id == actor.street_id


async def project_row(session: AsyncSession, project_id: int) -> DeliveryProject:
    project = await session.get(DeliveryProject, project_id)
    if project is None:
        raise NotFound("project", project_id)
    return project


async def delegation_row(session: AsyncSession, delegation_id: int, *, hold: bool = False) -> tuple[Delegation, DeliveryProject]:
    query = select(Delegation).where(col(Delegation.id) == delegation_id)
    if hold:
        query = query.with_for_update()
    delegation = (await session.execute(query)).scalar_one_or_none()
    if delegation is None:
        raise NotFound("delegation", delegation_id)
    return delegation, await project_row(session, delegation.project_id)


async def _assigned(session: AsyncSession, delegation_id: int, user_id: int | None) -> bool:
    if user_id is None:
        return False
    query = select(col(Assignment.id)).where(col(Assignment.delegation_id) == delegation_id, col(Assignment.user_id) == user_id, col(Assignment.ended_at).is_(None))
    return (await session.execute(query)).first() is not None


async def _inside(session: AsyncSession, actor: Principal, delegation: Delegation, project: DeliveryProject) -> bool:
    """Inside the community and the project: its director, its assigned social workers, the project's organisation."""
    if actor.role is Role.COMMITTEE_DIRECTOR:
        return actor.community_id == delegation.community_id
    if actor.role is Role.SOCIAL_ORG:
        return project.organisation_id is not None and actor.organisation_id == project.organisation_id
    if actor.role in (Role.COMMUNITY_WORKER, Role.CARE_WORKER):
        return actor.community_id == delegation.community_id and await _assigned(session, delegation.id, actor.user_id)
    return False


async def _buyer_user_ids(session: AsyncSession, project: DeliveryProject) -> list[int]:
    if project.street_id is None:
        return await people_queries.recipients(session, Role.ADMIN)
    return await people_queries.recipients(session, Role.STREET_OFFICER, street_id=project.street_id)


# Projects


async def create_project(session: AsyncSession, actor: Principal, data: schemas.ProjectIn, now: datetime) -> DeliveryProject:
    """A signed contract to deliver (its buyer registers it), or a project the street or district runs itself, with
    the indicators its outputs count against."""
    require_role(actor, BUYERS, "registering a project to deliver")
    if data.contract_id is not None:
        if data.title is not None or data.starts_on is not None or data.ends_on is not None or data.street_id is not None:
            raise RuleViolation("a contracted project takes its title, term and buyer from the contract", field="contract_id", zh="合同项目的名称、期限和采购方以合同为准，请勿另填")
        found = await calls_queries.contract_summaries(session, [data.contract_id])
        if not found:
            raise NotFound("contract", data.contract_id)
        contract = found[0]
        if actor.role is Role.STREET_OFFICER and contract.street_id != actor.street_id:
            raise PermissionDenied("a street officer registers their own street's contracts", zh="只能登记本街道签订的合同项目")
        if (await session.execute(select(col(DeliveryProject.id)).where(col(DeliveryProject.contract_id) == contract.id))).first():
            raise Conflict(f"contract {contract.number} is registered for delivery already", zh=f"合同 {contract.number} 已登记为服务项目")
        project = DeliveryProject(
            contract_id=contract.id, street_id=contract.street_id, organisation_id=contract.organisation_id, title=contract.title,
            target_group=data.target_group.value, starts_on=contract.starts_on, ends_on=contract.ends_on, created_by_user_id=actor.user_id, created_at=now,
        )
    else:
        if data.title is None or data.starts_on is None or data.ends_on is None:
            raise RuleViolation("a project the street runs itself needs its title, start and end", field="title", zh="自办项目须填写名称和起止日期")
        if data.ends_on < data.starts_on:
            raise RuleViolation("the project ends on or after it starts", field="ends_on", zh="结束日期不能早于开始日期")
        street_id = data.street_id
        if actor.role is Role.STREET_OFFICER:
            if street_id not in (None, actor.street_id):
                raise PermissionDenied("a street officer registers projects of their own street", zh="只能登记本街道的项目")
            street_id = actor.street_id
        elif street_id is not None and await registry_queries.street(session, street_id) is None:
            raise NotFound("street", street_id)
        project = DeliveryProject(
            street_id=street_id, title=data.title.strip(), target_group=data.target_group.value, starts_on=data.starts_on, ends_on=data.ends_on,
            created_by_user_id=actor.user_id, created_at=now,
        )
    if len({i.name.strip() for i in data.indicators}) != len(data.indicators):
        raise RuleViolation("each indicator is named once", field="indicators", zh="指标名称不能重复")
    session.add(project)
    await session.flush()
    session.add_all(
        DeliveryIndicator(project_id=project.id, number=n, name=i.name.strip(), measure=i.measure.value, target=i.target) for n, i in enumerate(data.indicators, 1)
    )
    record_change(session, actor, "delivery_project.registered", "delivery_project", project.id, after={"contract_id": project.contract_id, "indicators": len(data.indicators)})
    await session.flush()
    return project


async def indicators_of(session: AsyncSession, project_id: int) -> list[DeliveryIndicator]:
    query = select(DeliveryIndicator).where(col(DeliveryIndicator.project_id) == project_id).order_by(col(DeliveryIndicator.number))
    return list((await session.execute(query)).scalars())


async def project_out(session: AsyncSession, project: DeliveryProject) -> schemas.ProjectOut:
    """The project with the progress of each indicator: what its activities add up to."""
    indicators = await indicators_of(session, project.id)
    outputs = (await session.execute(select(col(Activity.indicator_number), col(Activity.participants)).where(col(Activity.project_id) == project.id))).all()
    progress = {p.number: p for p in rules.progress([(i.number, i.measure, i.target) for i in indicators], [rules.Output(n, c) for n, c in outputs])}
    return schemas.ProjectOut(
        id=project.id, title=project.title, target_group=project.target_group, contract_id=project.contract_id, street_id=project.street_id,
        organisation_id=project.organisation_id, starts_on=project.starts_on, ends_on=project.ends_on,
        indicators=[
            schemas.IndicatorOut(number=i.number, name=i.name, measure=i.measure, target=i.target, achieved=progress[i.number].achieved, share=progress[i.number].share)
            for i in indicators
        ],
    )


async def project_for(session: AsyncSession, actor: Principal, project_id: int) -> DeliveryProject:
    """A project its buyer, its organisation, and the committees it was delegated to may read."""
    project = await project_row(session, project_id)
    if is_buyer(actor, project) or (actor.role is Role.SOCIAL_ORG and actor.organisation_id is not None and actor.organisation_id == project.organisation_id):
        return project
    if actor.community_id is not None:
        query = select(col(Delegation.id)).where(col(Delegation.project_id) == project_id, col(Delegation.community_id) == actor.community_id)
        if (await session.execute(query)).first():
            return project
    raise NotFound("project", project_id)


async def list_projects(session: AsyncSession, actor: Principal) -> list[DeliveryProject]:
    """The projects the actor buys, runs (its organisation) or was delegated (its community), newest first."""
    query = select(DeliveryProject).order_by(col(DeliveryProject.id).desc())
    if actor.role is Role.ADMIN:
        pass
    elif actor.role is Role.STREET_OFFICER:
        query = query.where(col(DeliveryProject.street_id) == actor.street_id)
    elif actor.role is Role.SOCIAL_ORG:
        query = query.where(col(DeliveryProject.organisation_id) == actor.organisation_id)
    elif actor.community_id is not None:
        query = query.where(col(DeliveryProject.id).in_(select(col(Delegation.project_id)).where(col(Delegation.community_id) == actor.community_id)))
    else:
        return []
    return list((await session.execute(query)).scalars())


async def unregistered_contracts(session: AsyncSession, actor: Principal) -> list[calls_queries.ContractSummary]:
    """Signed contracts of the actor's buying not yet registered for delivery."""
    registered = set((await session.execute(select(col(DeliveryProject.contract_id)).where(col(DeliveryProject.contract_id).is_not(None)))).scalars())
    return [
        c for c in await calls_queries.contract_summaries(session)
        if c.id not in registered and (actor.role is Role.ADMIN or (actor.role is Role.STREET_OFFICER and c.street_id == actor.street_id))
    ]


# Delegations


async def delegate(session: AsyncSession, actor: Principal, project_id: int, data: schemas.DelegationIn, now: datetime) -> Delegation:
    """Delegate a project to a committee, to carry it out or to assist; its director answers within the deadline."""
    project = await project_row(session, project_id)
    require_role(actor, BUYERS, "delegating a project")
    if not is_buyer(actor, project):
        raise PermissionDenied("a project is delegated by its buyer", zh="该项目不属于您的街道")
    community = await registry_queries.community(session, data.community_id)
    if community is None:
        raise NotFound("community", data.community_id)
    if project.street_id is not None and community.street_id != project.street_id:
        raise RuleViolation("a street's project is delegated to a community of that street", field="community_id", zh="街道项目只能委托给本街道的社区")
    declined = select(col(Delegation.id)).where(col(Delegation.project_id) == project.id, col(Delegation.community_id) == community.id, col(Delegation.status) == rules.DECLINED)
    if (await session.execute(declined)).first():
        raise RuleViolation(f"the committee of {community.name} declined this project: delegate it elsewhere", field="community_id", zh=f"{community.name}社区已拒绝该项目，请委托其他社区")
    live_key = f"{project.id}-{community.id}"
    if (await session.execute(select(col(Delegation.id)).where(col(Delegation.live_key) == live_key))).first():
        raise Conflict(f"the project is delegated to {community.name} already", zh=f"该项目已委托给{community.name}社区")
    today = now.astimezone(BUSINESS_TZ).date()
    delegation = Delegation(
        project_id=project.id, community_id=community.id, kind=data.kind.value, status=rules.PENDING, live_key=live_key, delegated_at=now,
        delegated_by=actor.label, due_on=rules.answer_due(today, await working_calendar(session), delivery_limits()),
    )
    session.add(delegation)
    await session.flush()
    record_change(session, actor, "delegation.made", "delegation", delegation.id, after={"project_id": project.id, "community_id": community.id, "kind": delegation.kind, "due_on": delegation.due_on})
    directors = await people_queries.recipients(session, Role.COMMITTEE_DIRECTOR, community_id=community.id)
    await notify(
        session, f"delegation:{delegation.id}", directors, f"项目委托待答复：{project.title}",
        f"{rules.KINDS[delegation.kind]}。请在 {delegation.due_on.isoformat()} 前接受或拒绝（拒绝须说明理由）。", "/community/delivery/desk",
    )
    return delegation


async def answer(session: AsyncSession, actor: Principal, delegation_id: int, data: schemas.AnswerIn, now: datetime) -> Delegation:
    """The director of the delegated community accepts, or declines with a reason (the project goes back to the
    street to be delegated elsewhere), once and by the deadline."""
    require_role(actor, DIRECTORS, "answering a delegation")
    delegation, project = await delegation_row(session, delegation_id, hold=True)
    if actor.community_id != delegation.community_id:
        raise PermissionDenied("a delegation is answered by the director of the community it went to", zh="只能答复委托给本社区的项目")
    if delegation.status in (rules.ACCEPTED, rules.DECLINED):
        raise Conflict(f"this delegation was answered already ({delegation.status})", zh="该委托已答复过")
    late = rules.answer_problem(now.astimezone(BUSINESS_TZ).date(), delegation.due_on) if delegation.status == rules.PENDING else f"the answer was due by {delegation.due_on.isoformat()}"
    if late:
        raise RuleViolation(late, zh=f"答复期限为 {delegation.due_on.isoformat()}，已逾期，项目退回街道重新委托")
    reason = visible(data.reason)
    if not data.accept and len(reason) < 2:
        raise RuleViolation("declining needs a reason", field="reason", zh="拒绝委托须说明理由")
    delegation.status = rules.ACCEPTED if data.accept else rules.DECLINED
    delegation.answered_at, delegation.answered_by_user_id = now, actor.user_id
    if not data.accept:
        delegation.decline_reason, delegation.live_key = reason, None
    record_change(session, actor, f"delegation.{delegation.status}", "delegation", delegation.id, reason=reason or None)
    await settle(session, f"delegation:{delegation.id}")  # answered: no longer waits on the community's director
    community = await registry_queries.community(session, delegation.community_id)
    name = community.name if community else ""
    title = f"{name}社区已接受委托：{project.title}" if data.accept else f"{name}社区拒绝委托，项目退回待重新委托：{project.title}"
    await notify(session, f"delegation-answered:{delegation.id}", await _buyer_user_ids(session, project), title, reason or "请安排后续工作。", "/community/delivery")
    await session.flush()
    return delegation


async def return_unanswered(session: AsyncSession, now: datetime) -> int:
    """Delegations still unanswered after their deadline go back to the street (the street is told once)."""
    today = now.astimezone(BUSINESS_TZ).date()
    overdue = (await session.execute(select(Delegation).where(col(Delegation.status) == rules.PENDING, col(Delegation.due_on) < today).with_for_update())).scalars().all()
    for delegation in overdue:
        project = await project_row(session, delegation.project_id)
        delegation.status, delegation.live_key, delegation.returned_at = rules.EXPIRED, None, now
        record_change(session, SYSTEM, "delegation.expired", "delegation", delegation.id, after={"due_on": delegation.due_on})
        await settle(session, f"delegation:{delegation.id}")  # back to the street: the director can no longer answer it
        community = await registry_queries.community(session, delegation.community_id)
        await notify(
            session, f"delegation-expired:{delegation.id}", await _buyer_user_ids(session, project), f"委托逾期未答复，已退回：{project.title}",
            f"{community.name if community else ''}社区未在 {delegation.due_on.isoformat()} 前答复，请重新委托。", "/community/delivery",
        )
    await session.flush()
    return len(overdue)


async def delegations_for(session: AsyncSession, actor: Principal, project_id: int | None = None) -> list[Delegation]:
    """A director sees their community's delegations; a buyer those of their projects; an organisation its projects'."""
    query = select(Delegation).join(DeliveryProject, col(DeliveryProject.id) == col(Delegation.project_id)).order_by(col(Delegation.id).desc())
    if project_id is not None:
        query = query.where(col(Delegation.project_id) == project_id)
    if actor.role is Role.ADMIN:
        pass
    elif actor.role is Role.STREET_OFFICER:
        query = query.where(col(DeliveryProject.street_id) == actor.street_id)
    elif actor.role is Role.SOCIAL_ORG:
        query = query.where(col(DeliveryProject.organisation_id) == actor.organisation_id)
    elif actor.community_id is not None:
        query = query.where(col(Delegation.community_id) == actor.community_id)
    else:
        return []
    return list((await session.execute(query)).scalars())


async def delegation_outs(session: AsyncSession, delegations: list[Delegation]) -> list[schemas.DelegationOut]:
    titles = dict((await session.execute(select(col(DeliveryProject.id), col(DeliveryProject.title)).where(col(DeliveryProject.id).in_({d.project_id for d in delegations})))).all())
    return [
        schemas.DelegationOut(
            id=d.id, project_id=d.project_id, project_title=titles.get(d.project_id, ""), community_id=d.community_id, kind=d.kind, status=d.status,
            delegated_at=d.delegated_at, due_on=d.due_on, answered_at=d.answered_at, decline_reason=d.decline_reason,
        )
        for d in delegations
    ]


# Teams


async def set_team(session: AsyncSession, actor: Principal, delegation_id: int, data: schemas.TeamIn, now: datetime) -> list[schemas.MemberOut]:
    """The director names the project's social workers of the work station, one leading (a lead with the specialism
    the target group asks for); those left out leave the team, with the reason given."""
    require_role(actor, DIRECTORS, "assigning social workers")
    delegation, project = await delegation_row(session, delegation_id, hold=True)
    if actor.community_id != delegation.community_id:
        raise PermissionDenied("a team is assigned by the director of the delegated community", zh="只能为委托给本社区的项目安排社工")
    if delegation.status != rules.ACCEPTED:
        raise RuleViolation("social workers are assigned once the delegation is accepted", zh="接受委托后才能安排社工")
    workers = {w.id: w for w in await people_queries.social_workers(session, ids=[m.user_id for m in data.members])}
    for member in data.members:
        worker = workers.get(member.user_id)
        if worker is None:
            raise NotFound("user", member.user_id)
        if worker.role not in (Role.COMMUNITY_WORKER, Role.CARE_WORKER):
            raise RuleViolation(f"{worker.display_name} is not a work-station social worker", field="members", zh=f"{worker.display_name}不是社区工作站社工")
        if worker.community_id != delegation.community_id:
            raise RuleViolation(f"{worker.display_name} is a social worker of another community", field="members", zh=f"{worker.display_name}是其他社区的社工，不能安排")
        if not worker.active:
            raise RuleViolation(f"{worker.display_name} has left (account inactive)", field="members", zh=f"{worker.display_name}已离岗，不能安排")
    _refuse(rules.team_problem([rules.Member(m.user_id, m.lead, workers[m.user_id].specialism) for m in data.members], project.target_group, delivery_limits()), "members")
    current = {a.user_id: a for a in await _current_team(session, delegation.id)}
    wanted = {m.user_id: m.lead for m in data.members}
    reason = visible(data.reason) or "调整项目社工"
    for assignment in current.values():  # release the lead and those leaving before the new ones take the keys
        if assignment.user_id not in wanted or assignment.lead != wanted[assignment.user_id]:
            assignment.ended_at, assignment.end_reason, assignment.live_key, assignment.lead_key = now, reason, None, None
    await session.flush()
    added = []
    for user_id, lead in wanted.items():
        kept = current.get(user_id)
        if kept is not None and kept.lead == lead:
            continue
        session.add(
            Assignment(
                delegation_id=delegation.id, user_id=user_id, lead=lead, live_key=f"{delegation.id}-{user_id}", lead_key=str(delegation.id) if lead else None,
                assigned_at=now, assigned_by_user_id=actor.user_id,
            )
        )
        if kept is None:
            added.append(user_id)
    await session.flush()
    record_change(session, actor, "delegation.team_assigned", "delegation", delegation.id, after={"members": sorted(wanted), "lead": next(u for u, lead in wanted.items() if lead)}, reason=reason)
    await notify(session, f"assigned:{delegation.id}:{now.timestamp():.0f}", added, f"您已被安排参与项目：{project.title}", "请在手机上记录项目活动。", "/community/delivery/log")
    return await team(session, actor, delegation.id)


async def _current_team(session: AsyncSession, delegation_id: int) -> list[Assignment]:
    query = select(Assignment).where(col(Assignment.delegation_id) == delegation_id, col(Assignment.ended_at).is_(None)).order_by(col(Assignment.lead).desc(), col(Assignment.id))
    return list((await session.execute(query)).scalars())


async def team(session: AsyncSession, actor: Principal, delegation_id: int) -> list[schemas.MemberOut]:
    delegation, project = await delegation_row(session, delegation_id)
    if not (is_buyer(actor, project) or await _inside(session, actor, delegation, project)):
        raise NotFound("delegation", delegation_id)
    assignments = await _current_team(session, delegation_id)
    workers = {w.id: w for w in await people_queries.social_workers(session, ids=[a.user_id for a in assignments])}
    return [
        schemas.MemberOut(
            user_id=a.user_id, display_name=workers[a.user_id].display_name, specialism=workers[a.user_id].specialism, lead=a.lead,
            assigned_at=a.assigned_at, active_account=workers[a.user_id].active,
        )
        for a in assignments
    ]


# Residents served and activities


async def _inside_or_refuse(session: AsyncSession, actor: Principal, delegation_id: int, *, hold: bool = False) -> tuple[Delegation, DeliveryProject]:
    delegation, project = await delegation_row(session, delegation_id, hold=hold)
    if not await _inside(session, actor, delegation, project):
        raise PermissionDenied("only the community's director, the project's social workers and its organisation work on it", zh="只有本社区主任、项目社工和承接机构可以操作")
    return delegation, project


async def record_beneficiary(session: AsyncSession, actor: Principal, delegation_id: int, data: schemas.BeneficiaryIn, now: datetime) -> Beneficiary:
    """A resident served, recorded only with their consent (or their guardian's) and only by name."""
    delegation, project = await _inside_or_refuse(session, actor, delegation_id)
    if delegation.status != rules.ACCEPTED:
        raise RuleViolation("residents are recorded for an accepted delegation", zh="接受委托后才能登记服务对象")
    if not data.consent:
        raise RuleViolation("a resident is recorded only with their consent", field="consent", zh="须经本人或监护人同意后才能登记服务对象")
    if data.consent_on > now.astimezone(BUSINESS_TZ).date():
        raise RuleViolation("the consent is recorded once given, not before", field="consent_on", zh="同意日期不能晚于今天")
    beneficiary = Beneficiary(
        project_id=project.id, community_id=delegation.community_id, name=data.name.strip(), consent_by=data.consent_by.value, consent_on=data.consent_on,
        recorded_by_user_id=actor.user_id, recorded_at=now,
    )
    session.add(beneficiary)
    await session.flush()
    record_change(session, actor, "beneficiary.recorded", "beneficiary", beneficiary.id, after={"project_id": project.id, "community_id": delegation.community_id})
    return beneficiary


async def beneficiaries(session: AsyncSession, actor: Principal, delegation_id: int) -> list[Beneficiary]:
    delegation, project = await _inside_or_refuse(session, actor, delegation_id)
    query = select(Beneficiary).where(col(Beneficiary.project_id) == project.id, col(Beneficiary.community_id) == delegation.community_id).order_by(col(Beneficiary.id))
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True)
class Logged:
    activity: Activity
    named: int
    replayed: bool
    volunteers: int = 0
    volunteer_minutes: int = 0
    photo_ids: list[int] = field(default_factory=list)


async def log_activity(session: AsyncSession, actor: Principal, data: schemas.ActivityIn, now: datetime) -> Logged:
    """An activity of a project, from the phone of one of its social workers or of its organisation's staff; the
    same client id again answers the activity already stored."""
    require_role(actor, LOGGERS, "logging a project activity")
    stored = (await session.execute(select(Activity).where(col(Activity.client_id) == data.client_id))).scalar_one_or_none()
    if stored is not None:
        if stored.logged_by_user_id != actor.user_id or stored.delegation_id != data.delegation_id:
            raise Conflict("this client id was used for another activity", zh="该提交编号已用于另一条活动记录，请刷新页面后重新填写")
        return await logged(session, stored, replayed=True)
    delegation, project = await _inside_or_refuse(session, actor, data.delegation_id)
    if delegation.status != rules.ACCEPTED:
        raise RuleViolation("activities are logged for an accepted delegation", field="delegation_id", zh="该委托尚未接受，不能记录活动")
    indicator = await session.get(DeliveryIndicator, (project.id, data.indicator_number))
    if indicator is None:
        raise RuleViolation(f"the project has no indicator {data.indicator_number}", field="indicator_number", zh="请选择项目的指标")
    today = now.astimezone(BUSINESS_TZ).date()
    if data.held_on > today:
        raise RuleViolation("an activity is logged once held, not before", field="held_on", zh="活动日期不能晚于今天")
    if data.held_on < project.starts_on:
        raise RuleViolation(f"the project starts on {project.starts_on.isoformat()}", field="held_on", zh=f"活动日期不能早于项目开始日期 {project.starts_on.isoformat()}")
    named = list(data.beneficiary_ids)
    _refuse(rules.participants_problem(data.head_count, named, delivery_limits()), "head_count")
    if named:
        query = select(func.count()).select_from(Beneficiary).where(
            col(Beneficiary.id).in_(named), col(Beneficiary.project_id) == project.id, col(Beneficiary.community_id) == delegation.community_id
        )
        if int((await session.execute(query)).scalar_one()) != len(named):
            raise RuleViolation("a named participant is a resident recorded for this project in this community", field="beneficiary_ids", zh="参与居民须是本社区本项目已登记（经同意）的服务对象")
    helped = {v.volunteer_id: v.minutes for v in data.volunteers}
    if len(helped) != len(data.volunteers):
        raise RuleViolation("each volunteer is listed once, with all their minutes", field="volunteers", zh="每名志愿者只列一次，服务时长合并填写")
    outsiders = set(helped) - await volunteer_queries.team_members(session, delegation.community_id, helped)
    if outsiders:
        raise RuleViolation(
            f"volunteers {sorted(outsiders)} are not in a volunteer team of the community carrying the project out", field="volunteers",
            zh="参与活动的志愿者须是本社区志愿服务队的队员",
        )
    photo_ids = list(dict.fromkeys(data.photo_ids))
    _refuse(rules.photos_problem(photo_ids, delivery_limits()), "photo_ids")
    await own_photos(session, actor, photo_ids, zh="活动照片未上传成功，请重新选择照片", field="photo_ids")
    activity = Activity(
        client_id=data.client_id, delegation_id=delegation.id, project_id=project.id, community_id=delegation.community_id, indicator_number=indicator.number,
        held_on=data.held_on, place=data.place.strip(), head_count=data.head_count, participants=data.head_count or len(named), note=data.note.strip(),
        logged_by_user_id=actor.user_id, logged_by=actor.label, logged_at=now,
    )
    try:
        async with session.begin_nested():  # a phone's resend racing its first send: the loser answers the stored one
            session.add(activity)
            await session.flush()
            session.add_all(ActivityParticipant(activity_id=activity.id, beneficiary_id=b) for b in named)
            session.add_all(ActivityVolunteer(activity_id=activity.id, volunteer_id=v, minutes=m) for v, m in helped.items())
            session.add_all(ActivityPhoto(activity_id=activity.id, attachment_id=p) for p in photo_ids)
            await session.flush()
    except IntegrityError:
        raced = (await session.execute(select(Activity).where(col(Activity.client_id) == data.client_id))).scalar_one_or_none()
        if raced is None or raced.logged_by_user_id != actor.user_id:
            raise Conflict("this client id was used for another activity", zh="该提交编号已用于另一条活动记录，请刷新页面后重新填写") from None
        return await logged(session, raced, replayed=True)
    record_change(
        session, actor, "activity.logged", "activity", activity.id,
        after={"delegation_id": delegation.id, "indicator": indicator.number, "participants": activity.participants, "volunteers": len(helped), "photos": len(photo_ids)},
    )
    if helped:
        await volunteer_service.credit_activity(
            session, actor, activity_id=activity.id, community_id=delegation.community_id, served_on=activity.held_on, what=f"项目活动：{project.title}（{activity.place}）",
            minutes=helped, earlier=await _earlier_minutes(session, activity, list(helped)), approved=actor.role in CREDITORS, now=now,
        )
    await session.flush()
    return Logged(activity, len(named), replayed=False, volunteers=len(helped), volunteer_minutes=sum(helped.values()), photo_ids=photo_ids)


async def _earlier_minutes(session: AsyncSession, activity: Activity, volunteer_ids: list[int]) -> dict[int, int]:
    """Each volunteer's minutes at the other activities held the same day (the day counts once)."""
    query = (
        select(col(ActivityVolunteer.volunteer_id), func.sum(ActivityVolunteer.minutes))
        .join(Activity, col(Activity.id) == col(ActivityVolunteer.activity_id))
        .where(col(ActivityVolunteer.volunteer_id).in_(volunteer_ids), col(Activity.held_on) == activity.held_on, col(Activity.id) != activity.id)
        .group_by(col(ActivityVolunteer.volunteer_id))
    )
    return {int(v): int(m) for v, m in (await session.execute(query)).all()}


async def logged(session: AsyncSession, activity: Activity, replayed: bool = False) -> Logged:
    """An activity as stored, with its named participants and its volunteers counted."""
    count, minutes = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(ActivityVolunteer.minutes), 0)).where(col(ActivityVolunteer.activity_id) == activity.id)
        )
    ).one()
    photos = (await photos_of(session, [activity.id])).get(activity.id, [])
    return Logged(activity, await _named(session, activity.id), replayed=replayed, volunteers=int(count), volunteer_minutes=int(minutes), photo_ids=photos)


async def photos_of(session: AsyncSession, activity_ids: list[int]) -> dict[int, list[int]]:
    """The photos of each activity (attachment ids), in upload order."""
    found: dict[int, list[int]] = {}
    if activity_ids:
        query = select(col(ActivityPhoto.activity_id), col(ActivityPhoto.attachment_id)).where(col(ActivityPhoto.activity_id).in_(activity_ids)).order_by(col(ActivityPhoto.attachment_id))
        for activity_id, attachment_id in (await session.execute(query)).all():
            found.setdefault(int(activity_id), []).append(int(attachment_id))
    return found


async def _named(session: AsyncSession, activity_id: int) -> int:
    query = select(func.count()).select_from(ActivityParticipant).where(col(ActivityParticipant.activity_id) == activity_id)
    return int((await session.execute(query)).scalar_one())


def activity_out(logged: Logged) -> schemas.ActivityOut:
    a = logged.activity
    return schemas.ActivityOut(
        id=a.id, client_id=a.client_id, delegation_id=a.delegation_id, project_id=a.project_id, indicator_number=a.indicator_number, held_on=a.held_on,
        place=a.place, participants=a.participants, named=logged.named, volunteers=logged.volunteers, volunteer_minutes=logged.volunteer_minutes,
        logged_by=a.logged_by, logged_at=a.logged_at, photo_ids=logged.photo_ids,
    )


async def activities(session: AsyncSession, actor: Principal, delegation_id: int) -> list[Activity]:
    delegation, project = await delegation_row(session, delegation_id)
    if not (is_buyer(actor, project) or await _inside(session, actor, delegation, project)):
        raise NotFound("delegation", delegation_id)
    query = select(Activity).where(col(Activity.delegation_id) == delegation_id).order_by(col(Activity.held_on).desc(), col(Activity.id).desc())
    return list((await session.execute(query)).scalars())


async def my_delegations(session: AsyncSession, actor: Principal) -> list[Delegation]:
    """The accepted delegations the actor logs activities for: those they are assigned to, or their organisation's."""
    query = select(Delegation).where(col(Delegation.status) == rules.ACCEPTED).order_by(col(Delegation.id))
    if actor.role is Role.SOCIAL_ORG:
        query = query.join(DeliveryProject, col(DeliveryProject.id) == col(Delegation.project_id)).where(col(DeliveryProject.organisation_id) == actor.organisation_id)
    else:
        assigned = select(col(Assignment.delegation_id)).where(col(Assignment.user_id) == actor.user_id, col(Assignment.ended_at).is_(None))
        query = query.where(col(Delegation.id).in_(assigned), col(Delegation.community_id) == actor.community_id)
    return list((await session.execute(query)).scalars())


async def activities_with_photos(session: AsyncSession, actor: Principal, project: DeliveryProject, limit: int = 20) -> list[tuple[Activity, list[int]]]:
    """The project's latest activities that have photos, with them, for those who may see its photos (queries.
    PHOTO_READERS inside the project); nobody else gets any."""
    visible = queries.projects_with_photos_for(actor)
    if visible is None:
        return []
    query = (
        select(Activity)
        .where(col(Activity.project_id) == project.id, col(Activity.project_id).in_(visible), col(Activity.id).in_(select(col(ActivityPhoto.activity_id))))
        .order_by(col(Activity.held_on).desc(), col(Activity.id).desc())
        .limit(limit)
    )
    rows = list((await session.execute(query)).scalars())
    photos = await photos_of(session, [a.id for a in rows])
    return [(a, photos.get(a.id, [])) for a in rows]
