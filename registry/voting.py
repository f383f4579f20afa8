"""Use cases of the selection vote (居民选): the committee opens it, records household ballots, closes it."""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change, snapshot
from foundation.clock import utc_now
from foundation.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from foundation.paging import PageRequest, fetch_page
from registry import schemas
from registry.rules import VoteOutcome, decide_counted_vote, decide_vote
from registry.scope import visible_votes
from registry.service import get_community, visible_one
from registry.tables import (
    Ballot,
    Community,
    Company,
    Estate,
    ManagementMode,
    SelectionVote,
    VoteCandidate,
    VoteEstate,
    VoteSource,
    VoteStatus,
)

DIRECTORS = frozenset({Role.COMMITTEE_DIRECTOR})
ADMINS = frozenset({Role.ADMIN})
OUTCOMES_ZH = {VoteOutcome.FAILED_QUORUM: "参与表决的户数不足有表决权户数的三分之二", VoteOutcome.NO_MAJORITY: "同意的户数未超过参与表决户数的一半"}


def _ensure_director_of(actor: Principal, community_id: int, action: str) -> None:
    require_role(actor, DIRECTORS, action)
    if actor.community_id != community_id:
        raise PermissionDenied(f"{action} is for the committee of the vote's own community", zh="只有本社区的居委会主任可以办理该表决")


async def vote_rows(session: AsyncSession, votes: list[SelectionVote]) -> list[schemas.VoteOut]:
    """Votes with their estates, candidates and (while open) the running count of ballots."""
    if not votes:
        return []
    ids = [v.id for v in votes]
    estates: dict[int, list[int]] = {i: [] for i in ids}
    for vote_id, estate_id in (
        await session.execute(select(col(VoteEstate.vote_id), col(VoteEstate.estate_id)).where(col(VoteEstate.vote_id).in_(ids)).order_by(col(VoteEstate.estate_id)))
    ):
        estates[vote_id].append(estate_id)
    candidates: dict[int, list[schemas.CandidateOut]] = {i: [] for i in ids}
    for vote_id, company_id, name, received in (
        await session.execute(
            select(col(VoteCandidate.vote_id), col(Company.id), col(Company.name), col(VoteCandidate.ballots_received))
            .join(Company, col(Company.id) == col(VoteCandidate.company_id))
            .where(col(VoteCandidate.vote_id).in_(ids))
            .order_by(col(Company.id))
        )
    ):
        candidates[vote_id].append(schemas.CandidateOut(company_id=company_id, company_name=name, ballots_received=received))
    counts = dict(
        (await session.execute(select(col(Ballot.vote_id), func.count()).where(col(Ballot.vote_id).in_(ids)).group_by(col(Ballot.vote_id)))).all()
    )
    names = dict(
        (await session.execute(select(col(Community.id), col(Community.name)).where(col(Community.id).in_({v.community_id for v in votes})))).all()
    )
    rows = []
    for v in votes:
        cast = v.ballots_cast if v.ballots_cast is not None else counts.get(v.id, 0)
        turnout = f"{cast * 100 / v.eligible_households:.2f}" if v.status == VoteStatus.CLOSED else None
        rows.append(
            schemas.VoteOut(
                id=v.id or 0,
                community_id=v.community_id,
                community_name=names[v.community_id],
                title=v.title,
                estate_ids=estates[v.id],
                candidates=candidates[v.id],
                eligible_households=v.eligible_households,
                opens_on=v.opens_on,
                closes_on=v.closes_on,
                status=v.status,
                opened_at=v.opened_at,
                closed_at=v.closed_at,
                ballots_cast=cast,
                outcome=v.outcome,
                turnout_percent=turnout,
                winner_company_id=v.winner_company_id,
                source=v.source,
                reference=v.reference,
            )
        )
    return rows


async def list_votes(
    session: AsyncSession,
    actor: Principal,
    paging: PageRequest,
    *,
    street_id: int | None = None,
    community_id: int | None = None,
    status: VoteStatus | None = None,
) -> tuple[list[SelectionVote], int]:
    query = select(SelectionVote).where(visible_votes(actor)).order_by(col(SelectionVote.id).desc())
    if street_id is not None:
        query = query.where(col(SelectionVote.community_id).in_(select(col(Community.id)).where(col(Community.street_id) == street_id)))
    if community_id is not None:
        query = query.where(col(SelectionVote.community_id) == community_id)
    if status is not None:
        query = query.where(col(SelectionVote.status) == status)
    return await fetch_page(session, query, paging)


async def get_vote(session: AsyncSession, actor: Principal, vote_id: int) -> SelectionVote:
    return await visible_one(session, SelectionVote, vote_id, visible_votes(actor), "vote")


async def _vote_for_change(session: AsyncSession, actor: Principal, vote_id: int, action: str) -> SelectionVote:
    """The vote, locked against concurrent changes (PostgreSQL row lock; SQLite serialises writers)."""
    vote = (
        await session.execute(select(SelectionVote).where(col(SelectionVote.id) == vote_id, visible_votes(actor)).with_for_update())
    ).scalar_one_or_none()
    if vote is None:
        raise NotFound("vote", vote_id)
    _ensure_director_of(actor, vote.community_id, action)
    if vote.status != VoteStatus.OPEN:
        raise Conflict(f"vote {vote_id} is closed ({vote.outcome}); open a new vote instead", zh="该表决已结束，请发起新的表决")
    return vote


async def open_vote(session: AsyncSession, actor: Principal, data: schemas.VoteCreate) -> SelectionVote:
    """The committee opens a vote for one or more of its estates between candidate companies."""
    _ensure_director_of(actor, data.community_id, "opening a selection vote")
    await get_community(session, actor, data.community_id)
    if len(set(data.estate_ids)) != len(data.estate_ids):
        raise RuleViolation("estate_ids: an estate is listed twice", zh="片区重复")
    if len(set(data.candidate_company_ids)) != len(data.candidate_company_ids):
        raise RuleViolation("candidate_company_ids: a company is listed twice", zh="候选物业企业重复")
    if data.closes_on < data.opens_on:
        raise RuleViolation(f"closes_on ({data.closes_on}) is before opens_on ({data.opens_on})", zh=f"截止日期 {data.closes_on} 早于开始日期 {data.opens_on}")
    estates = (await session.execute(select(Estate).where(col(Estate.id).in_(data.estate_ids)))).scalars().all()
    found = {e.id: e for e in estates}
    for estate_id in data.estate_ids:
        estate = found.get(estate_id)
        if estate is None or estate.community_id != data.community_id:
            raise NotFound("estate of this community", estate_id)
        if estate.management_mode != ManagementMode.COMPANY:
            raise RuleViolation(f"estate {estate.code} is not managed by a company ({estate.management_mode}); no vote to hold", zh=f"片区 {estate.code} 不是由物业企业管理，无需选聘")
        if estate.left_on is not None and estate.left_on <= data.opens_on:
            raise RuleViolation(f"estate {estate.code} left long-term management on {estate.left_on}", zh=f"片区 {estate.code} 已于 {estate.left_on} 退出长效管理")
    companies = set((await session.execute(select(col(Company.id)).where(col(Company.id).in_(data.candidate_company_ids)))).scalars())
    for company_id in data.candidate_company_ids:
        if company_id not in companies:
            raise NotFound("company", company_id)
    busy = (
        await session.execute(
            select(col(VoteEstate.estate_id), col(SelectionVote.id))
            .join(SelectionVote, col(SelectionVote.id) == col(VoteEstate.vote_id))
            .where(col(VoteEstate.estate_id).in_(data.estate_ids), col(SelectionVote.status) == VoteStatus.OPEN)
        )
    ).first()
    if busy:
        raise Conflict(f"estate {found[busy[0]].code} is already in open vote {busy[1]}; close that vote first", zh=f"片区 {found[busy[0]].code} 正在另一次表决中，请先结束该表决")
    eligible = sum(e.households for e in estates)
    if eligible <= 0:
        raise RuleViolation("the estates have no registered households; register households before a vote", zh="所选片区未登记户数，请先登记户数再发起表决")
    vote = SelectionVote(
        community_id=data.community_id,
        title=data.title,
        eligible_households=eligible,
        opens_on=data.opens_on,
        closes_on=data.closes_on,
        status=VoteStatus.OPEN,
        opened_by_user_id=actor.user_id,
        opened_at=utc_now(),
    )
    session.add(vote)
    await session.flush()
    session.add_all([VoteEstate(vote_id=vote.id, estate_id=e) for e in data.estate_ids])
    session.add_all([VoteCandidate(vote_id=vote.id, company_id=c) for c in data.candidate_company_ids])
    record_change(
        session,
        actor,
        "vote.opened",
        "vote",
        vote.id,
        after=snapshot(vote) | {"estate_ids": data.estate_ids, "candidate_company_ids": data.candidate_company_ids},
    )
    await session.flush()
    return vote


async def update_vote(session: AsyncSession, actor: Principal, vote_id: int, data: schemas.VoteUpdate) -> SelectionVote:
    """Only the title and the closing day of an open vote may change."""
    vote = await _vote_for_change(session, actor, vote_id, "changing a selection vote")
    before = snapshot(vote)
    if data.closes_on is not None:
        if data.closes_on < vote.opens_on:
            raise RuleViolation(f"closes_on ({data.closes_on}) is before opens_on ({vote.opens_on})", zh=f"截止日期 {data.closes_on} 早于开始日期 {vote.opens_on}")
        vote.closes_on = data.closes_on
    if data.title is not None:
        vote.title = data.title
    record_change(session, actor, "vote.updated", "vote", vote.id, before=before, after=snapshot(vote))
    await session.flush()
    return vote


async def record_ballots(
    session: AsyncSession, actor: Principal, vote_id: int, data: schemas.BallotsIn
) -> schemas.BallotsRecorded:
    """Store household ballots. A household votes once: resending the same ballot is harmless (a retry),
    a different choice for a household that already voted is refused. All or nothing."""
    vote = await _vote_for_change(session, actor, vote_id, "recording ballots")
    households = [b.household.strip() for b in data.ballots]
    if any(not h for h in households):
        raise InvalidInput("household: a ballot needs the household it comes from (e.g. 3-2-101)", zh="请填写投票的户号（如 3-2-101）")
    seen: set[str] = set()
    for h in households:
        if h in seen:
            raise RuleViolation(f"household {h} appears twice in this batch: one ballot per household", zh=f"户号 {h} 在本批中重复，每户只投一票")
        seen.add(h)
    candidates = set((await session.execute(select(col(VoteCandidate.company_id)).where(col(VoteCandidate.vote_id) == vote_id))).scalars())
    for b in data.ballots:
        if b.company_id is not None and b.company_id not in candidates:
            raise RuleViolation(f"household {b.household}: company {b.company_id} is not a candidate in vote {vote_id}", zh=f"户号 {b.household} 所选企业不是本次表决的候选企业")
    existing = dict(
        (
            await session.execute(
                select(col(Ballot.household), col(Ballot.company_id)).where(col(Ballot.vote_id) == vote_id, col(Ballot.household).in_(households))
            )
        ).all()
    )
    changed = [b.household for b in data.ballots if b.household.strip() in existing and existing[b.household.strip()] != b.company_id]
    if changed:
        raise Conflict(f"these households already voted differently: {', '.join(changed[:10])}; a household votes once", zh=f"以下户已投过不同的票：{'、'.join(changed[:10])}；每户只能投一票")
    new = [b for b in data.ballots if b.household.strip() not in existing]
    cast_before = (await session.execute(select(func.count()).select_from(Ballot).where(col(Ballot.vote_id) == vote_id))).scalar_one()
    if cast_before + len(new) > vote.eligible_households:
        raise RuleViolation(
            f"{cast_before + len(new)} ballots would exceed the {vote.eligible_households} eligible households of this vote", zh=f"投票户数将超过本次表决有表决权的 {vote.eligible_households} 户"
        )
    if new:
        now = utc_now()
        await session.execute(
            insert(Ballot),
            [
                {
                    "vote_id": vote_id,
                    "household": b.household.strip(),
                    "company_id": b.company_id,
                    "recorded_at": now,
                    "recorded_by_user_id": actor.user_id,
                }
                for b in new
            ],
        )
        record_change(
            session, actor, "vote.ballots_recorded", "vote", vote_id, after={"ballots": len(new), "cast": cast_before + len(new)}
        )
    await session.flush()
    return schemas.BallotsRecorded(
        recorded=len(new),
        already_recorded=len(data.ballots) - len(new),
        ballots_cast=cast_before + len(new),
        eligible_households=vote.eligible_households,
    )


async def close_vote(session: AsyncSession, actor: Principal, vote_id: int) -> SelectionVote:
    """Count the ballots and fix the outcome: elected, failed quorum, tie or no majority."""
    vote = await _vote_for_change(session, actor, vote_id, "closing a selection vote")
    candidates = frozenset((await session.execute(select(col(VoteCandidate.company_id)).where(col(VoteCandidate.vote_id) == vote_id))).scalars())
    choices = list((await session.execute(select(col(Ballot.company_id)).where(col(Ballot.vote_id) == vote_id))).scalars())
    result = decide_vote(vote.eligible_households, candidates, choices)
    before = snapshot(vote)
    vote.status = VoteStatus.CLOSED
    vote.closed_at = utc_now()
    vote.closed_by_user_id = actor.user_id
    vote.outcome = result.outcome.value
    vote.ballots_cast = result.ballots_cast
    vote.winner_company_id = result.winner_company_id
    for candidate in (await session.execute(select(VoteCandidate).where(col(VoteCandidate.vote_id) == vote_id))).scalars():
        candidate.ballots_received = result.tally[candidate.company_id]
    record_change(
        session,
        actor,
        "vote.closed",
        "vote",
        vote.id,
        before=before,
        after=snapshot(vote) | {"tally": {str(k): v for k, v in result.tally.items()}},
    )
    await session.flush()
    return vote


async def record_paper_vote(session: AsyncSession, actor: Principal, data: schemas.PaperVoteIn) -> SelectionVote:
    """Record a vote the residents held on paper before the district moved in (纸质表决), from its archived count
    sheet, as a closed vote with its archive number. Only the district administrator records one (moving the paper
    archive in); the households with a vote are the estates' registered households, and the figures must make a
    valid vote by the same rule as a vote counted here (`decide_counted_vote`): a failed paper vote carries no
    contract and stays in the paper archive."""
    require_role(actor, ADMINS, "recording a paper vote")
    community = await get_community(session, actor, data.community_id)
    if len(set(data.estate_ids)) != len(data.estate_ids):
        raise RuleViolation("estate_ids: an estate is listed twice", zh="片区重复", field="estate_ids")
    if (await session.execute(select(col(SelectionVote.id)).where(col(SelectionVote.reference) == data.reference))).first():
        raise Conflict(f"a vote with archive number {data.reference} is already recorded", zh=f"档案编号为“{data.reference}”的表决已登记", field="reference")
    estates = {e.id: e for e in (await session.execute(select(Estate).where(col(Estate.id).in_(data.estate_ids)))).scalars()}
    for estate_id in data.estate_ids:
        estate = estates.get(estate_id)
        if estate is None or estate.community_id != community.id:
            raise NotFound("estate of this community", estate_id)
        if estate.management_mode != ManagementMode.COMPANY:
            raise RuleViolation(
                f"estate {estate.code} is not managed by a company ({estate.management_mode}); no vote to hold",
                zh=f"片区 {estate.code} 不是由物业企业管理，无需选聘", field="estate_ids",
            )
    if await session.get(Company, data.company_id) is None:
        raise NotFound("company", data.company_id)
    eligible = sum(e.households for e in estates.values())
    if eligible <= 0:
        raise RuleViolation(
            "the estates have no registered households; register households before a vote",
            zh="片区未登记户数，无法核对表决是否有效（请先登记片区户数）", field="estate_ids",
        )
    if data.households_voting > eligible:
        raise RuleViolation(
            f"{data.households_voting} households voting is more than the {eligible} the estates have",
            zh=f"参与表决户数 {data.households_voting} 超过片区登记的 {eligible} 户", field="households_voting",
        )
    if data.households_for_company > data.households_voting:
        raise RuleViolation(
            f"{data.households_for_company} households for the company is more than the {data.households_voting} voting",
            zh=f"同意户数 {data.households_for_company} 超过参与表决户数 {data.households_voting}", field="households_for_company",
        )
    outcome = decide_counted_vote(eligible, data.households_voting, data.households_for_company)
    if outcome is not VoteOutcome.ELECTED:
        raise RuleViolation(
            f"the paper vote is not valid ({outcome}): {data.households_voting} of {eligible} households took part, "
            f"{data.households_for_company} chose the company",
            zh=f"表决无效：{OUTCOMES_ZH[outcome]}（有表决权 {eligible} 户，参与 {data.households_voting} 户，同意 {data.households_for_company} 户）",
            field="households_for_company" if outcome is VoteOutcome.NO_MAJORITY else "households_voting",
        )
    now = utc_now()
    vote = SelectionVote(
        community_id=community.id, title=f"纸质表决 {data.reference}", eligible_households=eligible, opens_on=data.voted_on, closes_on=data.voted_on,
        status=VoteStatus.CLOSED, opened_by_user_id=actor.user_id, opened_at=now, closed_by_user_id=actor.user_id, closed_at=now,
        outcome=outcome.value, ballots_cast=data.households_voting, winner_company_id=data.company_id, source=VoteSource.PAPER, reference=data.reference,
    )
    session.add(vote)
    await session.flush()
    session.add_all([VoteEstate(vote_id=vote.id, estate_id=e) for e in data.estate_ids])
    session.add(VoteCandidate(vote_id=vote.id, company_id=data.company_id, ballots_received=data.households_for_company))
    record_change(session, actor, "vote.paper_recorded", "vote", vote.id, after=snapshot(vote) | {"estate_ids": data.estate_ids})
    await session.flush()
    return vote
