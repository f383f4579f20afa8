"""Use cases of the service contract (社区签): signed by the committee with a vote's winner, terminated with a reason."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change, snapshot
from foundation.clock import business_today, utc_now
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.paging import PageRequest, fetch_page
from registry import schemas
from registry.rules import VoteOutcome, contract_last_day, contract_state, terms_overlap
from registry.scope import contract_in_force, visible_contracts
from registry.service import visible_one
from registry.tables import (
    Community,
    Company,
    ContractEstate,
    Estate,
    ManagementMode,
    SelectionVote,
    ServiceContract,
    VoteEstate,
    VoteSource,
    VoteStatus,
)

DIRECTORS = frozenset({Role.COMMITTEE_DIRECTOR})
ADMINS = frozenset({Role.ADMIN})


async def contract_rows(session: AsyncSession, contracts: list[ServiceContract]) -> list[schemas.ContractOut]:
    if not contracts:
        return []
    ids = [c.id for c in contracts]
    estates: dict[int, list[int]] = {i: [] for i in ids}
    for contract_id, estate_id in (
        await session.execute(
            select(col(ContractEstate.contract_id), col(ContractEstate.estate_id))
            .where(col(ContractEstate.contract_id).in_(ids))
            .order_by(col(ContractEstate.estate_id))
        )
    ):
        estates[contract_id].append(estate_id)
    companies = dict(
        (await session.execute(select(col(Company.id), col(Company.name)).where(col(Company.id).in_({c.company_id for c in contracts})))).all()
    )
    communities = dict(
        (await session.execute(select(col(Community.id), col(Community.name)).where(col(Community.id).in_({c.community_id for c in contracts})))).all()
    )
    today = business_today()
    return [
        schemas.ContractOut(
            id=c.id or 0,
            contract_number=c.contract_number,
            community_id=c.community_id,
            community_name=communities[c.community_id],
            company_id=c.company_id,
            company_name=companies[c.company_id],
            vote_id=c.vote_id,
            estate_ids=estates[c.id],
            signed_on=c.signed_on,
            starts_on=c.starts_on,
            ends_on=c.ends_on,
            signed_by_user_id=c.signed_by_user_id,
            state=contract_state(c.starts_on, c.ends_on, c.terminated_on, today),
            terminated_on=c.terminated_on,
            termination_reason=c.termination_reason,
        )
        for c in contracts
    ]


async def list_contracts(
    session: AsyncSession,
    actor: Principal,
    paging: PageRequest,
    *,
    street_id: int | None = None,
    community_id: int | None = None,
    company_id: int | None = None,
    estate_id: int | None = None,
    in_force_on: date | None = None,
) -> tuple[list[ServiceContract], int]:
    query = select(ServiceContract).where(visible_contracts(actor)).order_by(col(ServiceContract.id))
    if street_id is not None:
        query = query.where(col(ServiceContract.community_id).in_(select(col(Community.id)).where(col(Community.street_id) == street_id)))
    if community_id is not None:
        query = query.where(col(ServiceContract.community_id) == community_id)
    if company_id is not None:
        query = query.where(col(ServiceContract.company_id) == company_id)
    if estate_id is not None:
        query = query.where(col(ServiceContract.id).in_(select(col(ContractEstate.contract_id)).where(col(ContractEstate.estate_id) == estate_id)))
    if in_force_on is not None:
        query = query.where(contract_in_force(in_force_on))
    return await fetch_page(session, query, paging)


async def get_contract(session: AsyncSession, actor: Principal, contract_id: int) -> ServiceContract:
    return await visible_one(session, ServiceContract, contract_id, visible_contracts(actor), "contract")


async def sign_contract(session: AsyncSession, actor: Principal, data: schemas.ContractCreate) -> ServiceContract:
    """The committee signs with the winner of a valid vote, for some or all of the vote's estates.
    An estate has at most one contract in force on any day."""
    require_role(actor, DIRECTORS, "signing a service contract")
    vote = await session.get(SelectionVote, data.vote_id)
    if vote is None or vote.community_id != actor.community_id:
        raise NotFound("vote of your community", data.vote_id)
    return await _sign(session, actor, vote, data, signed_by_user_id=actor.user_id)


async def register_paper_contract(session: AsyncSession, actor: Principal, data: schemas.ContractCreate) -> ServiceContract:
    """Register a contract the committee signed on paper before the district moved in, resting on the paper vote
    (纸质表决) recorded for it (registry/voting.py `record_paper_vote`). The district administrator registers it;
    every rule of a contract signed here applies (the vote's winner and estates, the dates, one contract in force per
    estate). Nobody in this system signed it, so it names no signer."""
    require_role(actor, ADMINS, "registering a contract signed on paper")
    vote = await session.get(SelectionVote, data.vote_id)
    if vote is None or vote.source != VoteSource.PAPER:
        raise NotFound("paper vote", data.vote_id)
    return await _sign(session, actor, vote, data, signed_by_user_id=None)


async def _sign(
    session: AsyncSession, actor: Principal, vote: SelectionVote, data: schemas.ContractCreate, *, signed_by_user_id: int | None
) -> ServiceContract:
    if vote.status != VoteStatus.CLOSED or vote.outcome != VoteOutcome.ELECTED or vote.winner_company_id is None:
        raise RuleViolation(
            f"vote {vote.id} has no valid result ({vote.outcome or 'still open'}): a contract needs an elected company",
            zh="该次表决没有选出物业企业，不能据此签订合同", field="vote_id",
        )
    if data.ends_on < data.starts_on:
        raise RuleViolation(f"ends_on ({data.ends_on}) is before starts_on ({data.starts_on})", zh=f"结束日期 {data.ends_on} 早于开始日期 {data.starts_on}", field="ends_on")
    if data.signed_on < vote.opens_on:
        raise RuleViolation(
            f"signed_on ({data.signed_on}) is before the vote opened ({vote.opens_on})", zh=f"签订日期 {data.signed_on} 早于表决日期 {vote.opens_on}", field="signed_on"
        )
    vote_estates = set((await session.execute(select(col(VoteEstate.estate_id)).where(col(VoteEstate.vote_id) == vote.id))).scalars())
    estate_ids = sorted(set(data.estate_ids)) if data.estate_ids else sorted(vote_estates)
    if data.estate_ids and len(set(data.estate_ids)) != len(data.estate_ids):
        raise RuleViolation("estate_ids: an estate is listed twice", zh="片区重复", field="estate_ids")
    outside = [e for e in estate_ids if e not in vote_estates]
    if outside:
        raise RuleViolation(
            f"estates {outside} were not in vote {vote.id}: residents did not choose for them", zh="合同中有片区未参加该次表决", field="estate_ids"
        )
    if (await session.execute(select(col(ServiceContract.id)).where(col(ServiceContract.contract_number) == data.contract_number))).first():
        raise Conflict(f"contract number {data.contract_number} is already registered", zh=f"合同编号“{data.contract_number}”已登记", field="contract_number")
    # Lock the estates (PostgreSQL) so two signings for one estate cannot both pass the overlap check.
    estates = (await session.execute(select(Estate).where(col(Estate.id).in_(estate_ids)).order_by(col(Estate.id)).with_for_update())).scalars().all()
    for estate in estates:
        if estate.management_mode != ManagementMode.COMPANY:
            raise RuleViolation(
                f"estate {estate.code} is not managed by a company ({estate.management_mode})", zh=f"片区 {estate.code} 不是由物业企业管理", field="estate_ids"
            )
        if estate.left_on is not None and estate.left_on <= data.starts_on:
            raise RuleViolation(
                f"estate {estate.code} left long-term management on {estate.left_on}",
                zh=f"片区 {estate.code} 已于 {estate.left_on} 退出长效管理", field="estate_ids",
            )
    codes = {e.id: e.code for e in estates}
    existing = (
        await session.execute(
            select(col(ContractEstate.estate_id), ServiceContract)
            .join(ServiceContract, col(ServiceContract.id) == col(ContractEstate.contract_id))
            .where(col(ContractEstate.estate_id).in_(estate_ids))
        )
    )
    for estate_id, other in existing:
        last = contract_last_day(other.ends_on, other.terminated_on)
        if terms_overlap(data.starts_on, data.ends_on, other.starts_on, last):
            raise ContractOverlap(codes[estate_id], other.contract_number, other.starts_on, last)
    contract = ServiceContract(
        contract_number=data.contract_number,
        community_id=vote.community_id,
        company_id=vote.winner_company_id,
        vote_id=vote.id,
        signed_on=data.signed_on,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        signed_by_user_id=signed_by_user_id,
        created_at=utc_now(),
    )
    session.add(contract)
    await session.flush()
    session.add_all([ContractEstate(contract_id=contract.id, estate_id=e) for e in estate_ids])
    record_change(session, actor, "contract.signed", "contract", contract.id, after=snapshot(contract) | {"estate_ids": estate_ids})
    await session.flush()
    return contract


class ContractOverlap(Conflict):
    """A contract's term overlaps another contract of one of its estates (one contract in force per estate per day);
    `other` names the contract already registered."""

    def __init__(self, estate_code: str, other: str, first: date, last: date) -> None:
        super().__init__(
            f"estate {estate_code} is already under contract {other} from {first} to {last}; terms may not overlap",
            zh=f"片区 {estate_code} 在 {first} 至 {last} 已有合同 {other}，合同期限不能重叠", field="starts_on",
        )
        self.other = other


async def terminate_contract(
    session: AsyncSession, actor: Principal, contract_id: int, data: schemas.ContractTerminate
) -> ServiceContract:
    """End a contract early; `terminated_on` is its last day in force. The reason is kept with it."""
    require_role(actor, DIRECTORS, "terminating a service contract")
    contract = await get_contract(session, actor, contract_id)
    if contract.community_id != actor.community_id:
        raise PermissionDenied("terminating a contract is for the committee that signed it", zh="只有签订该合同的社区居委会可以终止合同")
    if contract.terminated_on is not None:
        raise Conflict(f"contract {contract.contract_number} was already terminated on {contract.terminated_on}", zh=f"合同 {contract.contract_number} 已于 {contract.terminated_on} 终止")
    if not contract.starts_on <= data.terminated_on <= contract.ends_on:
        raise RuleViolation(
            f"terminated_on ({data.terminated_on}) must fall within the term {contract.starts_on} to {contract.ends_on}", zh=f"终止日期须在合同期限 {contract.starts_on} 至 {contract.ends_on} 之内"
        )
    before = snapshot(contract)
    contract.terminated_on = data.terminated_on
    contract.termination_reason = data.reason
    contract.terminated_by_user_id = actor.user_id
    record_change(
        session, actor, "contract.terminated", "contract", contract.id, before=before, after=snapshot(contract), reason=data.reason
    )
    await session.flush()
    return contract
