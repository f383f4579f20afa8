"""Use cases of residents' needs: the committee records needs, holds the 协商议事委员会 and 居民代表大会 meetings
and sends what they approved to its street; the street answers within its working days (the catalogue's use cases
are in catalogue.py). Each function is one use case inside the caller's transaction (flush only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, TypeVar

import msgspec
from sqlalchemy import ColumnElement, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from community.needs import schemas
from community.needs.rules import (
    ANSWER_STATE,
    BODY_NAMES,
    Answer,
    MeetingBody,
    NeedsRules,
    NeedState,
    ProposalState,
    Tally,
    decide_vote,
    is_overdue,
    merge_refusal,
    need_state_after,
    parse_needs_rules,
    tally_problem,
    vote_refusal,
)
from community.needs.tables import Meeting, MeetingVote, Need, Proposal
from foundation.access import Principal, Role, require_role
from foundation.audit import record_change, snapshot
from foundation.calendar.rules import working_days_after
from foundation.calendar.service import working_calendar
from foundation.clock import utc_now
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.notifications import notify, settle
from foundation.paging import PageRequest, fetch_page
from foundation.periods import business_date
from foundation.scoping import in_scope
from foundation.settings import config_dir
from foundation.text import visible as visible_text
from inspections.rules import request_fingerprint
from people.queries import recipients
from registry import queries as registry_queries

DIRECTORS = frozenset({Role.COMMITTEE_DIRECTOR})
STREET = frozenset({Role.STREET_OFFICER})
DISTRICT = frozenset({Role.ADMIN})
# Who reads needs, meetings and proposals: the committee, its street and the district (each within its scope).
READERS = frozenset({Role.COMMITTEE_DIRECTOR, Role.STREET_OFFICER, Role.STREET_WORKER, Role.ADMIN})
LARGEST_KEY = 2**31 - 1  # an integer column's largest value on PostgreSQL

T = TypeVar("T", bound=SQLModel)


@lru_cache(maxsize=1)
def needs_rules() -> NeedsRules:
    """config/needs.toml, read once (the app factory reads it at start, so a wrong file stops the system there)."""
    path = config_dir() / "needs.toml"
    try:
        return parse_needs_rules(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def visible(actor: Principal, table: Any) -> ColumnElement[bool]:
    """Rows of `table` (with street_id and community_id) the actor may read: staff of the district, street or
    community; nobody else."""
    if actor.role not in READERS:
        return false()
    return in_scope(actor, street=table.street_id, community=table.community_id)


def _director_community(actor: Principal, action: str) -> int:
    require_role(actor, DIRECTORS, action)
    if actor.community_id is None:
        raise PermissionDenied(f"{action} is for the director of a community", zh="此操作须由社区居委会主任办理，您的账号未关联社区")
    return actor.community_id


@dataclass(frozen=True)
class Stored:
    """A record made by a use case that accepts client ids: `replayed` when it was made by an earlier request."""

    row: Any
    replayed: bool


async def _earlier(session: AsyncSession, actor: Principal, model: type[T], client_id: str, fingerprint: str, label: str) -> T | None:
    """The record an earlier request with this client id made, or None; the same id with another body (or of
    another user) is refused."""
    row = (await session.execute(select(model).where(col(getattr(model, "client_id")) == client_id))).scalar_one_or_none()
    if row is None:
        return None
    owner = getattr(row, "recorded_by_user_id", None) if hasattr(row, "recorded_by_user_id") else getattr(row, "sent_by_user_id", None)
    if owner != actor.user_id or getattr(row, "fingerprint") != fingerprint:
        raise Conflict(
            f"client id {client_id} was already used for {label} {getattr(row, 'id')} with a different body; a retry sends the same body, a new record needs a new client id",
            zh="该提交编号已用于另一份内容，请刷新页面后重新填写",
            field="client_id",
        )
    return row


def _fingerprint(kind: str, data: msgspec.Struct) -> str:
    return request_fingerprint({"kind": kind, "body": msgspec.to_builtins(data)})


async def _add_once(session: AsyncSession, actor: Principal, model: type[T], row: T, client_id: str, fingerprint: str, label: str) -> Stored:
    """Store `row` unless a simultaneous request with the same client id stored it first (then answer that one)."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        earlier = await _earlier(session, actor, model, client_id, fingerprint, label)
        if earlier is None:
            raise
        return Stored(earlier, replayed=True)
    return Stored(row, replayed=False)


# Needs


async def record_need(session: AsyncSession, actor: Principal, data: schemas.NeedIn, now: datetime | None = None) -> Stored:
    """The director records a need of their community with its category, households and source."""
    now = now or utc_now()
    community_id = _director_community(actor, "recording a need")
    fingerprint = _fingerprint("need", data)
    earlier = await _earlier(session, actor, Need, data.client_id, fingerprint, "need")
    if earlier is not None:
        return Stored(earlier, replayed=True)
    rules = needs_rules()
    if data.category not in rules.categories:
        raise RuleViolation(f"category must be one of {', '.join(rules.categories)}", zh=f"需求类别须为：{'、'.join(rules.categories)}", field="category")
    if data.source not in rules.sources:
        raise RuleViolation(f"source must be one of {', '.join(rules.sources)}", zh=f"需求来源须为：{'、'.join(rules.sources)}", field="source")
    if data.raised_on > business_date(now):
        raise RuleViolation(f"raised_on {data.raised_on} is in the future", zh="提出日期不能晚于今天", field="raised_on")
    community = await registry_queries.community(session, community_id)
    if community is None:
        raise NotFound("community", community_id)
    need = Need(
        client_id=data.client_id,
        fingerprint=fingerprint,
        community_id=community_id,
        street_id=community.street_id,
        title=data.title.strip(),
        description=data.description.strip(),
        category=data.category,
        households=data.households,
        source=data.source,
        raised_on=data.raised_on,
        state=NeedState.RECORDED,
        recorded_at=now,
        recorded_by_user_id=actor.user_id,
        recorded_by=actor.label,
    )
    stored = await _add_once(session, actor, Need, need, data.client_id, fingerprint, "need")
    if not stored.replayed:
        record_change(session, actor, "need.recorded", "need", need.id, after=snapshot(need, frozenset({"fingerprint"})))
        await session.flush()
    return stored


async def get_need(session: AsyncSession, actor: Principal, need_id: int, *, hold: bool = False) -> Need:
    query = select(Need).where(col(Need.id) == need_id, visible(actor, Need))
    need = (await session.execute(query.with_for_update() if hold else query)).scalar_one_or_none()
    if need is None:
        raise NotFound("need", need_id)
    return need


async def list_needs(session: AsyncSession, actor: Principal, paging: PageRequest, *, state: NeedState | None = None, community_id: int | None = None) -> tuple[list[Need], int]:
    query = select(Need).where(visible(actor, Need)).order_by(col(Need.id).desc())
    if state is not None:
        query = query.where(col(Need.state) == state)
    if community_id is not None:
        query = query.where(col(Need.community_id) == community_id)
    return await fetch_page(session, query, paging)


# Meetings


async def record_meeting(session: AsyncSession, actor: Principal, data: schemas.MeetingIn, now: datetime | None = None) -> Stored:
    """The director records a meeting of the 协商议事委员会 or the 居民代表大会 with its attendance, minutes and
    its vote on each need. Without a quorum nothing is voted (refused with the reason); a vote without a majority
    is kept and leaves the need where it was; a passed vote moves the need on."""
    now = now or utc_now()
    community_id = _director_community(actor, "recording a meeting")
    fingerprint = _fingerprint("meeting", data)
    earlier = await _earlier(session, actor, Meeting, data.client_id, fingerprint, "meeting")
    if earlier is not None:
        return Stored(earlier, replayed=True)
    need_ids = [v.need_id for v in data.votes]
    if len(set(need_ids)) != len(need_ids):
        raise RuleViolation("votes: a need is listed twice; one vote per need", zh="同一需求在本次会议中只能表决一次", field="votes")
    if data.held_on > business_date(now):
        raise RuleViolation(f"held_on {data.held_on} is in the future", zh="会议日期不能晚于今天", field="held_on")
    rules = needs_rules()
    needs: list[Need] = []
    for vote in data.votes:
        need = await get_need(session, actor, vote.need_id, hold=True)
        if need.community_id != community_id:
            raise NotFound("need of your community", vote.need_id)
        refusal = vote_refusal(NeedState(need.state), data.body)
        if refusal is not None:
            # Voting out of order breaks the rule (422); voting again on what was decided contradicts the record (409).
            error = RuleViolation if need.state == NeedState.RECORDED else Conflict
            raise error(f"need {need.id}: {refusal[0]}", zh=f"需求 #{need.id}：{refusal[1]}", field="votes")
        if data.held_on < need.raised_on:
            raise RuleViolation(f"need {need.id} was raised on {need.raised_on}, after the meeting", zh=f"需求 #{need.id} 提出于 {need.raised_on}，晚于会议日期", field="held_on")
        needs.append(need)
    results = []
    for vote in data.votes:
        tally = Tally(data.members, data.present, vote.in_favour, vote.against, vote.abstained)
        problem = tally_problem(tally)
        if problem is not None:
            raise RuleViolation(f"need {vote.need_id}: {problem[0]}", zh=problem[1], field="present")
        result = decide_vote(tally, rules)
        if not result.quorum:
            raise RuleViolation(result.reason + "; the meeting may not vote", zh=result.reason_zh, field="present")
        results.append(result)
    community = await registry_queries.community(session, community_id)
    if community is None:
        raise NotFound("community", community_id)
    meeting = Meeting(
        client_id=data.client_id,
        fingerprint=fingerprint,
        community_id=community_id,
        street_id=community.street_id,
        body=data.body,
        held_on=data.held_on,
        place=data.place.strip(),
        members=data.members,
        present=data.present,
        minutes=data.minutes.strip(),
        recorded_at=now,
        recorded_by_user_id=actor.user_id,
        recorded_by=actor.label,
    )
    stored = await _add_once(session, actor, Meeting, meeting, data.client_id, fingerprint, "meeting")
    if stored.replayed:
        return stored
    outcomes = {}
    for need, vote, result in zip(needs, data.votes, results, strict=True):
        session.add(MeetingVote(meeting_id=meeting.id, need_id=need.id, in_favour=vote.in_favour, against=vote.against, abstained=vote.abstained, passed=result.passed))
        before = need.state
        need.state = need_state_after(NeedState(need.state), data.body, result.passed)
        outcomes[str(need.id)] = {"passed": result.passed, "reason": result.reason, "state": {"before": before, "after": need.state}}
    record_change(session, actor, "meeting.recorded", "meeting", meeting.id, after=snapshot(meeting, frozenset({"fingerprint", "minutes"})) | {"votes": outcomes})
    await session.flush()
    return stored


async def get_meeting(session: AsyncSession, actor: Principal, meeting_id: int) -> Meeting:
    meeting = (await session.execute(select(Meeting).where(col(Meeting.id) == meeting_id, visible(actor, Meeting)))).scalar_one_or_none()
    if meeting is None:
        raise NotFound("meeting", meeting_id)
    return meeting


async def list_meetings(session: AsyncSession, actor: Principal, paging: PageRequest, *, need_id: int | None = None) -> tuple[list[Meeting], int]:
    query = select(Meeting).where(visible(actor, Meeting)).order_by(col(Meeting.held_on).desc(), col(Meeting.id).desc())
    if need_id is not None:
        query = query.where(col(Meeting.id).in_(select(col(MeetingVote.meeting_id)).where(col(MeetingVote.need_id) == need_id)))
    return await fetch_page(session, query, paging)


async def meeting_rows(session: AsyncSession, meetings: Sequence[Meeting]) -> list[schemas.MeetingOut]:
    ids = [m.id for m in meetings]
    votes: dict[int, list[schemas.MeetingVoteOut]] = {i: [] for i in ids}
    if ids:
        for vote, title in (
            await session.execute(
                select(MeetingVote, col(Need.title)).join(Need, col(Need.id) == col(MeetingVote.need_id)).where(col(MeetingVote.meeting_id).in_(ids)).order_by(col(MeetingVote.id))
            )
        ):
            votes[vote.meeting_id].append(schemas.MeetingVoteOut(vote.need_id, title, vote.in_favour, vote.against, vote.abstained, vote.passed))
    return [
        schemas.MeetingOut(
            id=m.id, client_id=m.client_id, community_id=m.community_id, body=m.body, body_name=BODY_NAMES[MeetingBody(m.body)], held_on=m.held_on,
            place=m.place, members=m.members, present=m.present, minutes=m.minutes, votes=votes[m.id], recorded_at=m.recorded_at, recorded_by=m.recorded_by,
        )
        for m in meetings
    ]


# Proposals


async def _passed_meeting(session: AsyncSession, need_id: int, body: MeetingBody) -> int:
    """The latest meeting of `body` that passed the need."""
    meeting_id = (
        await session.execute(
            select(col(Meeting.id))
            .join(MeetingVote, col(MeetingVote.meeting_id) == col(Meeting.id))
            .where(col(MeetingVote.need_id) == need_id, col(MeetingVote.passed).is_(True), col(Meeting.body) == body)
            .order_by(col(Meeting.held_on).desc(), col(Meeting.id).desc())
        )
    ).scalar()
    if meeting_id is None:
        raise RuleViolation(f"need {need_id} has no passed vote of the {body.value} body", zh=f"需求 #{need_id} 没有{BODY_NAMES[body]}的通过表决")
    return int(meeting_id)


async def send_proposal(session: AsyncSession, actor: Principal, data: schemas.ProposalIn, now: datetime | None = None) -> Stored:
    """The director sends a need that the 协商议事委员会 deliberated and the 居民代表大会 approved to the street,
    which answers within the configured working days; the street's officers are told."""
    now = now or utc_now()
    community_id = _director_community(actor, "sending a proposal")
    fingerprint = _fingerprint("proposal", data)
    earlier = await _earlier(session, actor, Proposal, data.client_id, fingerprint, "proposal")
    if earlier is not None:
        return Stored(earlier, replayed=True)
    need = await get_need(session, actor, data.need_id, hold=True)
    if need.community_id != community_id:
        raise NotFound("need of your community", data.need_id)
    if need.state != NeedState.APPROVED:
        if need.state == NeedState.PROPOSED:
            raise Conflict(f"need {need.id} was already sent to the street", zh="该需求已报送街道")
        raise RuleViolation(
            f"need {need.id} is {need.state}: a proposal needs the consultation committee's deliberation and the residents' assembly's approval",
            zh="需求须先经协商议事委员会协商、再经居民代表大会表决通过，方可报送街道",
            field="need_id",
        )
    deliberation = await _passed_meeting(session, need.id, MeetingBody.DELIBERATION)
    approval = await _passed_meeting(session, need.id, MeetingBody.ASSEMBLY)
    due_on, provisional = working_days_after(business_date(now), needs_rules().answer_working_days, await working_calendar(session))
    proposal = Proposal(
        client_id=data.client_id,
        fingerprint=fingerprint,
        need_id=need.id,
        community_id=need.community_id,
        street_id=need.street_id,
        title=data.title.strip() or need.title,
        summary=data.summary.strip(),
        budget_fen=data.budget_fen,
        deliberation_meeting_id=deliberation,
        approval_meeting_id=approval,
        state=ProposalState.WAITING,
        sent_at=now,
        sent_by_user_id=actor.user_id,
        sent_by=actor.label,
        due_on=due_on,
        due_provisional=provisional,
    )
    stored = await _add_once(session, actor, Proposal, proposal, data.client_id, fingerprint, "proposal")
    if stored.replayed:
        return stored
    need.state = NeedState.PROPOSED
    record_change(session, actor, "proposal.sent", "proposal", proposal.id, after=snapshot(proposal, frozenset({"fingerprint"})))
    community = await registry_queries.community(session, need.community_id)
    await notify(
        session, f"proposal-waiting|{proposal.id}", await recipients(session, Role.STREET_OFFICER, street_id=need.street_id),
        f"社区提案待答复：{proposal.title}", f"{community.name if community else ''}社区报送的提案，请在 {due_on} 前答复（纳入、合并、退回或转报区级）。",
        f"/community/proposals#proposal-{proposal.id}",
    )
    await session.flush()
    return stored


async def get_proposal(session: AsyncSession, actor: Principal, proposal_id: int, *, hold: bool = False) -> Proposal:
    query = select(Proposal).where(col(Proposal.id) == proposal_id, visible(actor, Proposal))
    proposal = (await session.execute(query.with_for_update() if hold else query)).scalar_one_or_none()
    if proposal is None:
        raise NotFound("proposal", proposal_id)
    return proposal


async def list_proposals(
    session: AsyncSession, actor: Principal, paging: PageRequest, *, state: ProposalState | None = None, overdue_on: date | None = None
) -> tuple[list[Proposal], int]:
    """Proposals in scope, newest first; `overdue_on` (a day) keeps those waiting past their due day."""
    query = select(Proposal).where(visible(actor, Proposal)).order_by(col(Proposal.id).desc())
    if state is not None:
        query = query.where(col(Proposal.state) == state)
    if overdue_on is not None:
        query = query.where(col(Proposal.state) == ProposalState.WAITING, col(Proposal.due_on) < overdue_on)
    return await fetch_page(session, query, paging)


async def answer_proposal(session: AsyncSession, actor: Principal, proposal_id: int, data: schemas.ProposalAnswerIn, now: datetime | None = None) -> Proposal:
    """The street officer answers a proposal of their street once: include, merge with another proposal of the
    street, return to the committee with a reason, or forward to the district."""
    now = now or utc_now()
    require_role(actor, STREET, "answering a proposal")
    proposal = await get_proposal(session, actor, proposal_id, hold=True)
    if proposal.street_id != actor.street_id:
        raise PermissionDenied("a proposal is answered by its own street", zh="只能答复本街道社区报送的建议")
    if proposal.state != ProposalState.WAITING:
        raise Conflict(
            f"proposal {proposal_id} was already answered ({proposal.state}) by {proposal.answered_by}; an answer is given once",
            zh=f"该提案已答复（{proposal.state}），不能再次答复",
        )
    reason = visible_text(data.reason)
    if data.answer is Answer.RETURN and len(reason) < 2:
        raise RuleViolation("a returned proposal needs the reason, for the committee", zh="退回提案须写明理由", field="reason")
    if data.answer is Answer.MERGE:
        if data.merge_into_id is None:
            raise RuleViolation("merge needs merge_into_id: the proposal to merge into", zh="合并须选择要并入的提案", field="merge_into_id")
        target = await session.get(Proposal, data.merge_into_id, with_for_update=True)
        if target is None:
            raise NotFound("proposal", data.merge_into_id)
        refusal = merge_refusal(proposal_id, proposal.street_id, target.id, target.street_id, ProposalState(target.state))
        if refusal is not None:
            raise RuleViolation(refusal[0], zh=refusal[1], field="merge_into_id")
        proposal.merged_into_id = target.id
    elif data.merge_into_id is not None:
        raise RuleViolation("merge_into_id is only for a merge", zh="只有合并时才选择要并入的提案", field="merge_into_id")
    before = snapshot(proposal, frozenset({"fingerprint"}))
    proposal.state = ANSWER_STATE[data.answer]
    proposal.answered_at = now
    proposal.answered_by_user_id = actor.user_id
    proposal.answered_by = actor.label
    proposal.answer_reason = reason or None
    if data.answer is Answer.RETURN:
        need = await session.get(Need, proposal.need_id, with_for_update=True)
        if need is not None:
            need.state = NeedState.APPROVED  # the committee may send it again, amended
        await notify(
            session, f"proposal-returned|{proposal.id}", await recipients(session, Role.COMMITTEE_DIRECTOR, community_id=proposal.community_id),
            f"提案被街道退回：{proposal.title}", f"退回理由：{reason}", f"/community/needs#need-{proposal.need_id}",
        )
    elif data.answer is Answer.FORWARD:
        await notify(
            session, f"proposal-forwarded|{proposal.id}", await recipients(session, Role.ADMIN),
            f"街道转报区级的提案：{proposal.title}", "请在编制年度政府购买服务项目目录时考虑该提案。", "/community/catalogues",
        )
    record_change(session, actor, f"proposal.{data.answer.value}", "proposal", proposal.id, before=before, after=snapshot(proposal, frozenset({"fingerprint"})), reason=reason or None)
    for waiting in ("proposal-waiting", "proposal-overdue"):  # the street has answered: nothing waits on it now
        await settle(session, f"{waiting}|{proposal.id}")
    await session.flush()
    return proposal


async def proposal_rows(session: AsyncSession, proposals: Sequence[Proposal], today: date) -> list[schemas.ProposalOut]:
    needs = {n.id: n for n in (await session.execute(select(Need).where(col(Need.id).in_({p.need_id for p in proposals})))).scalars()} if proposals else {}
    names = {c.id: c.name for c in (await registry_queries.communities(session, {p.community_id for p in proposals})).values()} if proposals else {}
    return [
        schemas.ProposalOut(
            id=p.id, client_id=p.client_id, need_id=p.need_id, community_id=p.community_id, community_name=names.get(p.community_id, ""), street_id=p.street_id,
            title=p.title, summary=p.summary, category=needs[p.need_id].category, households=needs[p.need_id].households, budget_fen=p.budget_fen,
            deliberation_meeting_id=p.deliberation_meeting_id, approval_meeting_id=p.approval_meeting_id, state=p.state, sent_at=p.sent_at, sent_by=p.sent_by,
            due_on=p.due_on, due_provisional=p.due_provisional, overdue=is_overdue(ProposalState(p.state), p.due_on, today), answered_at=p.answered_at,
            answered_by=p.answered_by, answer_reason=p.answer_reason, merged_into_id=p.merged_into_id,
        )
        for p in proposals
    ]


async def notify_overdue_proposals(session: AsyncSession, now: datetime) -> int:
    """Tell the street officers (and the district) of every proposal still unanswered past its due day; once per
    proposal (the notice key)."""
    today = business_date(now)
    late = (await session.execute(select(Proposal).where(col(Proposal.state) == ProposalState.WAITING, col(Proposal.due_on) < today).order_by(col(Proposal.id)))).scalars().all()
    admins = await recipients(session, Role.ADMIN)
    told = 0
    for p in late:
        officers = await recipients(session, Role.STREET_OFFICER, street_id=p.street_id)
        told += await notify(
            session, f"proposal-overdue|{p.id}", officers + admins, f"提案已超期未答复：{p.title}",
            f"答复期限为 {p.due_on}，街道尚未答复。", f"/community/proposals#proposal-{p.id}",
        )
    return told


def need_out(n: Need) -> schemas.NeedOut:
    return schemas.NeedOut(
        id=n.id, client_id=n.client_id, community_id=n.community_id, street_id=n.street_id, title=n.title, description=n.description, category=n.category,
        households=n.households, source=n.source, raised_on=n.raised_on, state=n.state, recorded_at=n.recorded_at, recorded_by=n.recorded_by,
    )
