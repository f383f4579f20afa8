"""Adjustments as two people make them: one finance officer proposes the correction of an issued batch, another
approves it, and only the approval issues the adjustment batch (separation of duties: an adjustment pays or recovers
money outside the run's approvals, so nobody does it alone). The programme (the property subsidy or a programme of
the engine) supplies how its corrections are checked and how its adjustment batch is issued."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.clock import utc_now
from foundation.duties import Duty, keep_apart
from foundation.errors import Conflict, NotFound, PermissionDenied
from foundation.money import yuan
from people.queries import principals_of_roles
from people.waiting import done, waits
from subsidies.engine.schemas import AdjustmentProposalOut, CorrectionOut
from subsidies.engine.tables import AdjustmentProposal, ProgrammeBatch

PROPOSED = "proposed"
ISSUED = "issued"
WITHDRAWN = "withdrawn"  # by its proposer, before anyone approved it
STEP = "adjustment-approve"  # the waiting step of a proposal (people.waiting)

Corrections = list[tuple[int, int]]
# (session, batch id, corrections) → what the corrections would pay (+) or recover (-) now, in fen; refuses what
# cannot be issued (lines of another batch, nothing to correct, more than the programme's rules allow).
Check = Callable[[AsyncSession, int, Corrections], Awaitable[int]]
# (session, actor, batch id, client id, reason, corrections) → the adjustment batch, issued once per client id.
Issue = Callable[[AsyncSession, Principal, int, str, str, Corrections], Awaitable[Any]]


def corrections_of(proposal: AdjustmentProposal) -> Corrections:
    return [(int(line_id), int(amount)) for line_id, amount in json.loads(proposal.corrections)]


def _same(proposal: AdjustmentProposal, batch_id: int, reason: str, corrections: Corrections) -> bool:
    return proposal.batch_id == batch_id and proposal.reason == reason and corrections_of(proposal) == corrections


async def _by_client_id(session: AsyncSession, programme: str, client_id: str) -> AdjustmentProposal | None:
    query = select(AdjustmentProposal).where(col(AdjustmentProposal.programme) == programme, col(AdjustmentProposal.client_id) == client_id)
    return (await session.execute(query)).scalar()


async def propose(
    session: AsyncSession,
    actor: Principal,
    programme: str,
    roles: frozenset[Role],
    batch_id: int,
    client_id: str,
    reason: str,
    corrections: Corrections,
    check: Check,
    title: str,
    link: str,
) -> AdjustmentProposal:
    """Propose a correction of batch `batch_id`: checked now as it would be issued, stored, and put before the
    programme's other officers (`roles`), one of whom approves it. A retry with the same client id and the same
    proposal returns it; the same client id with another proposal is refused."""
    require_role(actor, roles, "proposing an adjustment")
    earlier = await _by_client_id(session, programme, client_id)
    if earlier is not None:
        if not _same(earlier, batch_id, reason, corrections):
            raise Conflict(
                f"client id {client_id} was already used for adjustment proposal {earlier.id} with other content; a new proposal needs a new client id",
                zh="该请求编号已用于另一项更正申请，请刷新页面后重新提交",
            )
        return earlier
    # The adjustment batch a proposal issues carries its client id, which no batch of any programme may share: a
    # proposal whose id is taken could never be issued.
    if (await session.execute(select(col(ProgrammeBatch.id)).where(col(ProgrammeBatch.client_id) == client_id))).first() is not None:
        raise Conflict(f"client id {client_id} is already used by an adjustment batch; a new proposal needs a new client id", zh="该请求编号已被使用，请刷新页面后重新提交")
    delta = await check(session, batch_id, corrections)
    proposal = AdjustmentProposal(
        programme=programme, batch_id=batch_id, client_id=client_id, reason=reason, corrections=json.dumps(corrections), delta_fen=delta,
        state=PROPOSED, proposed_at=utc_now(), proposed_by_user_id=actor.user_id, proposed_by=actor.label,
    )
    try:
        async with session.begin_nested():  # a double click at the same moment: one proposal
            session.add(proposal)
    except IntegrityError:
        raced = await _by_client_id(session, programme, client_id)
        if raced is not None and _same(raced, batch_id, reason, corrections):
            return raced
        raise Conflict(f"client id {client_id} is already used; a new proposal needs a new client id", zh="该请求编号已被使用，请刷新页面后重新提交") from None
    record_change(
        session, actor, "adjustment.proposed", "adjustment_proposal", proposal.id,
        after={"programme": programme, "batch_id": batch_id, "corrections": corrections, "delta_fen": delta}, reason=reason,
    )
    await session.flush()
    approvers = [p.user_id for p in await principals_of_roles(session, roles) if p.user_id is not None and p.user_id != actor.user_id]
    direction = "补发" if delta >= 0 else "追回"
    await waits(session, STEP, proposal.id, approvers, f"{title}更正待审批", f"{actor.label}提出更正（{len(corrections)} 条，{direction} {yuan(abs(delta))} 元）：{reason}", link)
    return proposal


async def get_proposal(session: AsyncSession, programme: str, proposal_id: int, *, hold: bool = False) -> AdjustmentProposal:
    """A proposal of the programme; `hold` locks its row until the transaction ends (an approval and a withdrawal at
    the same moment: one of them finds the other's outcome)."""
    proposal = await session.get(AdjustmentProposal, proposal_id, with_for_update=hold, populate_existing=hold)
    if proposal is None or proposal.programme != programme:
        raise NotFound("adjustment proposal", proposal_id)
    return proposal


async def approve(session: AsyncSession, actor: Principal, programme: str, roles: frozenset[Role], proposal_id: int, issue: Issue) -> tuple[AdjustmentProposal, Any]:
    """Approve a proposal, which issues its adjustment batch (once: a retry or a colleague at the same moment gets the
    same batch). Whoever proposed it does not approve it."""
    require_role(actor, roles, "approving an adjustment")
    proposal = await get_proposal(session, programme, proposal_id, hold=True)
    keep_apart(Duty.APPROVE_OWN_ADJUSTMENT, actor, [proposal.proposed_by_user_id])
    if proposal.state == WITHDRAWN:
        raise Conflict(f"adjustment proposal {proposal.id} was withdrawn by {proposal.proposed_by}; nothing is issued", zh="该更正已由提出人撤回，不能审批")
    batch = await issue(session, actor, proposal.batch_id, proposal.client_id, proposal.reason, corrections_of(proposal))
    if proposal.state != ISSUED:
        proposal.state, proposal.issued_batch_id, proposal.approved_at, proposal.approved_by = ISSUED, batch.id, utc_now(), actor.label
        record_change(session, actor, "adjustment.approved", "adjustment_proposal", proposal.id, after={"batch_id": batch.id, "number": batch.number})
        await session.flush()
        await done(session, STEP, proposal.id)
    return proposal, batch


async def withdraw(session: AsyncSession, actor: Principal, programme: str, roles: frozenset[Role], proposal_id: int) -> AdjustmentProposal:
    """The proposer takes back a correction nobody has approved yet: it leaves the approvers' lists and can no longer
    be approved (a new correction is a new proposal). Withdrawing it again changes nothing."""
    require_role(actor, roles, "withdrawing an adjustment")
    proposal = await get_proposal(session, programme, proposal_id, hold=True)
    if actor.user_id is None or proposal.proposed_by_user_id != actor.user_id:
        raise PermissionDenied(f"adjustment proposal {proposal.id} was proposed by {proposal.proposed_by}; only its proposer withdraws it", zh="只有提出更正的人可以撤回")
    if proposal.state == WITHDRAWN:
        return proposal
    if proposal.state == ISSUED:
        raise Conflict(
            f"adjustment proposal {proposal.id} was approved by {proposal.approved_by} and issued as batch {proposal.issued_batch_id}; correct that batch with a new proposal",
            zh="该更正已审批并签发调整批次，不能撤回；如需再更正，请另行提出",
        )
    proposal.state = WITHDRAWN
    record_change(session, actor, "adjustment.withdrawn", "adjustment_proposal", proposal.id, before={"state": PROPOSED}, after={"state": WITHDRAWN})
    await session.flush()
    await done(session, STEP, proposal.id)
    return proposal


async def pending(session: AsyncSession, programme: str) -> list[AdjustmentProposal]:
    """The programme's proposals waiting for approval, oldest first."""
    query = select(AdjustmentProposal).where(col(AdjustmentProposal.programme) == programme, col(AdjustmentProposal.state) == PROPOSED).order_by(col(AdjustmentProposal.id))
    return list((await session.execute(query)).scalars())


async def proposal_behind(session: AsyncSession, code: str, batch_id: int | None) -> AdjustmentProposal | None:
    """The approved proposal an adjustment batch of a programme (the property subsidy's too) was issued for, or None
    (a batch issued before corrections were proposed)."""
    query = select(AdjustmentProposal).where(col(AdjustmentProposal.programme) == code, col(AdjustmentProposal.issued_batch_id) == batch_id)
    return (await session.execute(query)).scalar()


def proposal_out(proposal: AdjustmentProposal) -> AdjustmentProposalOut:
    return AdjustmentProposalOut(
        id=proposal.id, programme=proposal.programme, batch_id=proposal.batch_id, client_id=proposal.client_id, reason=proposal.reason,
        corrections=[CorrectionOut(line_id, amount) for line_id, amount in corrections_of(proposal)], delta_fen=proposal.delta_fen, state=proposal.state,
        proposed_at=proposal.proposed_at, proposed_by=proposal.proposed_by, issued_batch_id=proposal.issued_batch_id, approved_at=proposal.approved_at,
        approved_by=proposal.approved_by,
    )
