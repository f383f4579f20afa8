"""Reading calls and bids, with the seal kept here: no bid (nor who bid) is read before its call's deadline by
anyone but the organisation that made it, and every reader of bids goes through `readable_bids`/`readable_bid`.
Also the public record of a call (community.records.ProjectRecord) that the publishing packages read."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community import records
from community.calls.rules import sealed
from community.calls.tables import Award, Bid, Call, CallContract, CallCriterion, CallLot, ConflictDeclaration, PanelMember, Tranche
from community.needs import queries as needs_queries
from foundation.access import Principal, Role
from foundation.clock import BUSINESS_TZ, utc_now
from foundation.errors import NotFound, PermissionDenied
from registry import queries as registry_queries

LIVE_BID = ("submitted",)
OPEN, EVALUATING, PUBLICITY, AWARDED, FAILED = "open", "evaluating", "publicity", "awarded", "failed"


async def call_row(session: AsyncSession, call_id: int, *, hold: bool = False) -> Call:
    query = select(Call).where(col(Call.id) == call_id)
    if hold:
        query = query.with_for_update()
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise NotFound("call", call_id)
    return found


def is_buyer(actor: Principal, call: Call) -> bool:
    """The district's administrators act for every call; a street officer for their street's."""
    if actor.role is Role.ADMIN:
        return True
    return actor.role is Role.STREET_OFFICER and call.street_id is not None and actor.street_id == call.street_id


async def panel_member(session: AsyncSession, actor: Principal, call_id: int) -> PanelMember | None:
    if actor.user_id is None:
        return None
    return await session.get(PanelMember, (call_id, actor.user_id))


async def recused_organisations(session: AsyncSession, actor: Principal, call_id: int) -> set[int]:
    """The organisations whose bids this member may not see or score: those declared, the one the member's account
    belongs to, and those whose staff list names the member."""
    found: set[int] = set()
    if actor.organisation_id is not None:
        found.add(actor.organisation_id)
    if actor.user_id is not None:
        declared = select(col(ConflictDeclaration.organisation_id)).where(
            col(ConflictDeclaration.call_id) == call_id, col(ConflictDeclaration.user_id) == actor.user_id
        )
        found |= set((await session.execute(declared)).scalars())
        found |= await registry_queries.organisations_employing(session, actor.user_id)
    return found


async def _bid_condition(session: AsyncSession, actor: Principal, call: Call, now: datetime) -> ColumnElement[bool]:
    """Which of a call's bids `actor` may read now. An organisation reads its own; anyone else reads nothing before
    the deadline (the condition itself carries the deadline, so no caller can forget it); after it the buyer reads
    all, a panel member those they are not recused from."""
    after_deadline = col(Bid.call_id).in_(select(col(Call.id)).where(col(Call.id) == call.id, col(Call.bid_deadline) <= now))
    if actor.role is Role.SOCIAL_ORG:
        return col(Bid.organisation_id) == actor.organisation_id if actor.organisation_id is not None else false()
    if sealed(now, call.bid_deadline):
        raise PermissionDenied(
            f"bids are sealed until the deadline {call.bid_deadline.astimezone(BUSINESS_TZ).strftime('%Y-%m-%d %H:%M')}: no one reads them before",
            zh="投标截止前，任何人（包括管理员）都不能查看投标文件或投标人名单",
        )
    if is_buyer(actor, call):
        return after_deadline
    if await panel_member(session, actor, call.id) is not None:
        recused = await recused_organisations(session, actor, call.id)
        return and_(after_deadline, col(Bid.organisation_id).not_in(recused) if recused else true())
    raise PermissionDenied("the bids of a call are for its buyer and panel", zh="只有采购方和评审专家可以查看投标")


async def readable_bids(session: AsyncSession, actor: Principal, call: Call, now: datetime, statuses: Sequence[str] = LIVE_BID) -> list[Bid]:
    condition = await _bid_condition(session, actor, call, now)
    query = select(Bid).where(col(Bid.call_id) == call.id, condition, col(Bid.status).in_(list(statuses))).order_by(col(Bid.lot_number), col(Bid.id))
    return list((await session.execute(query)).scalars())


async def readable_bid(session: AsyncSession, actor: Principal, bid_id: int, now: datetime) -> tuple[Bid, Call]:
    bid = await session.get(Bid, bid_id)
    if bid is None:
        raise NotFound("bid", bid_id)
    call = await call_row(session, bid.call_id)
    condition = await _bid_condition(session, actor, call, now)
    found = (await session.execute(select(Bid).where(col(Bid.id) == bid_id, condition))).scalar_one_or_none()
    if found is None:
        raise NotFound("bid", bid_id)
    return found, call


# What has been called and awarded against the items of the catalogue of bought services


@dataclass(frozen=True)
class ItemCall:
    id: int
    number: str
    title: str
    status: str
    budget_fen: int


@dataclass(frozen=True)
class ItemCommitment:
    """What has been called against one catalogue item: its calls, the budget they hold (a failed call holds none)
    and what is awarded (the awards in publicity or standing)."""

    called_fen: int
    awarded_fen: int
    calls: tuple[ItemCall, ...]


async def committed_fen(session: AsyncSession, catalogue_item_id: int) -> int:
    """The budgets of the calls opened against a catalogue item that did not fail."""
    query = select(func.coalesce(func.sum(col(Call.budget_fen)), 0)).where(col(Call.catalogue_item_id) == catalogue_item_id, col(Call.status) != FAILED)
    return int((await session.execute(query)).scalar_one())


async def item_commitments(session: AsyncSession, catalogue_item_ids: Collection[int]) -> dict[int, ItemCommitment]:
    """For the catalogue page: per item, its calls (oldest first), the budget they hold and what is awarded."""
    if not catalogue_item_ids:
        return {}
    calls = (await session.execute(select(Call).where(col(Call.catalogue_item_id).in_(list(catalogue_item_ids))).order_by(col(Call.id)))).scalars().all()
    awarded: dict[int, int] = {}
    if calls:
        rows = await session.execute(
            select(col(Award.call_id), func.sum(col(Award.amount_fen))).where(col(Award.call_id).in_([c.id for c in calls]), col(Award.status) != "cancelled").group_by(col(Award.call_id))
        )
        awarded = {int(call_id): int(total) for call_id, total in rows.all()}
    found: dict[int, ItemCommitment] = {}
    for item_id in catalogue_item_ids:
        mine = [c for c in calls if c.catalogue_item_id == item_id]
        found[item_id] = ItemCommitment(
            called_fen=sum(c.budget_fen for c in mine if c.status != FAILED), awarded_fen=sum(awarded.get(c.id, 0) for c in mine),
            calls=tuple(ItemCall(c.id, c.number, c.title, c.status, c.budget_fen) for c in mine),
        )
    return found


# The public record


def _aware(moment: datetime) -> datetime:
    return moment.astimezone(BUSINESS_TZ)


async def _buyer(session: AsyncSession, call: Call) -> records.Party:
    if call.street_id is None:
        return records.Party(key="district", name="区民政局")
    street = await registry_queries.street(session, call.street_id)
    return records.Party(key=f"street-{call.street_id}", name=f"{street.name}街道办事处" if street else "街道办事处")


def _party(particulars: registry_queries.OrganisationParticulars | None, organisation_id: int) -> records.Party:
    if particulars is None:
        return records.Party(key=f"organisation-{organisation_id}", name="")
    return records.Party(key=f"organisation-{organisation_id}", name=particulars.name, credit_code=particulars.credit_code)


async def project_record(session: AsyncSession, call_id: int) -> records.ProjectRecord | None:
    """Everything publishable about a call; its bids only once the deadline has passed."""
    call = await session.get(Call, call_id)
    if call is None:
        return None
    now = utc_now()
    lots = (await session.execute(select(CallLot).where(col(CallLot.call_id) == call_id).order_by(col(CallLot.number)))).scalars().all()
    criteria = (await session.execute(select(CallCriterion).where(col(CallCriterion.call_id) == call_id).order_by(col(CallCriterion.number)))).scalars().all()
    bids: list[Bid] = []
    if not sealed(now, call.bid_deadline):
        query = select(Bid).where(col(Bid.call_id) == call_id, col(Bid.status).in_(["submitted", "withdrawn", "invalid"]), col(Call.bid_deadline) <= now)
        bids = list((await session.execute(query.join(Call, col(Call.id) == col(Bid.call_id)).order_by(col(Bid.id)))).scalars())
    awards = (await session.execute(select(Award).where(col(Award.call_id) == call_id).order_by(col(Award.id)))).scalars().all()
    contracts = (await session.execute(select(CallContract).where(col(CallContract.call_id) == call_id).order_by(col(CallContract.id)))).scalars().all()
    tranches: dict[int, list[Tranche]] = {}
    if contracts:
        rows = await session.execute(select(Tranche).where(col(Tranche.contract_id).in_([c.id for c in contracts])).order_by(col(Tranche.number)))
        for tranche in rows.scalars():
            tranches.setdefault(tranche.contract_id, []).append(tranche)
    organisations = await registry_queries.organisation_particulars(session, {b.organisation_id for b in bids} | {a.organisation_id for a in awards})
    award_status = {"pending": "pending", "active": "active", "cancelled": "cancelled"}
    by_award = {a.id: a for a in awards}
    return records.ProjectRecord(
        call_id=call.id,
        number=call.number,
        title=call.title,
        description=call.description,
        category=call.category,
        method=call.method,
        method_reason=call.method_reason,
        buyer=await _buyer(session, call),
        budget_fen=call.budget_fen,
        opened_at=_aware(call.opened_at),
        bid_deadline=_aware(call.bid_deadline),
        status=OPEN if call.status == OPEN and sealed(now, call.bid_deadline) else ("closed" if call.status == OPEN else call.status),
        criteria=[records.Criterion(name=c.name, weight=c.weight) for c in criteria],
        lots=[records.Lot(key=str(lot.number), title=lot.title, budget_fen=lot.budget_fen) for lot in lots],
        bids=[
            records.Bid(
                key=str(b.id), bidder=_party(organisations.get(b.organisation_id), b.organisation_id), lot_key=str(b.lot_number),
                amount_fen=b.amount_fen, submitted_at=_aware(b.submitted_at), status="valid" if b.status == "submitted" else b.status,
            )
            for b in bids
        ],
        awards=[
            records.Award(
                key=str(a.id), lot_key=str(a.lot_number), supplier=_party(organisations.get(a.organisation_id), a.organisation_id),
                amount_fen=a.amount_fen, published_at=_aware(a.published_at), publicity_ends_at=_aware(a.publicity_ends_at),
                status=award_status[a.status], score=a.score,
            )
            for a in awards
        ],
        contracts=[
            records.Contract(
                key=c.number, award_key=str(c.award_id), title=f"{call.title}（第{by_award[c.award_id].lot_number}包）" if c.award_id in by_award else call.title,
                amount_fen=c.amount_fen, signed_on=c.signed_on, starts_on=c.starts_on, ends_on=c.ends_on, status="active",
                tranches=[
                    records.Tranche(number=t.number, share=t.share, amount_fen=t.amount_fen, condition=t.condition, due_on=t.payable_on)
                    for t in tranches.get(c.id, [])
                ],
            )
            for c in contracts
        ],
        repeated_from=call.repeated_from_call_id,
        repeats=await _earlier_call(session, call.repeated_from_call_id),
        catalogue_item=await _catalogue_item(session, call.catalogue_item_id),
        updated_at=_aware(call.updated_at),
    )


async def _earlier_call(session: AsyncSession, call_id: int | None) -> records.EarlierCall | None:
    earlier = await session.get(Call, call_id) if call_id is not None else None
    return records.EarlierCall(number=earlier.number, title=earlier.title) if earlier is not None else None


async def _catalogue_item(session: AsyncSession, item_id: int | None) -> records.CatalogueItem | None:
    item = await needs_queries.catalogue_item(session, item_id) if item_id is not None else None
    if item is None:
        return None
    return records.CatalogueItem(key=f"{item.year}-{item.id}", year=item.year, title=item.title, budget_fen=item.budget_fen, proposal_ids=item.proposal_ids)


async def published_call_ids(session: AsyncSession) -> list[int]:
    """Every call published so far (a call is published when it opens)."""
    return list((await session.execute(select(col(Call.id)).order_by(col(Call.id)))).scalars())


# Contracts as the packages that deliver and evaluate them read them


@dataclass(frozen=True)
class TrancheFacts:
    number: int
    share: str
    amount_fen: int
    condition: str
    payable_on: date | None  # None until its condition is met


@dataclass(frozen=True)
class ContractFacts:
    """A signed contract of a call: who delivers it, for whom, when, and its tranches."""

    id: int
    number: str
    call_id: int
    call_number: str
    title: str  # the call's title, with the lot's when the call has several
    category: str
    organisation_id: int
    street_id: int | None  # the buying street (None: the district)
    amount_fen: int
    signed_on: date
    starts_on: date
    ends_on: date
    tranches: tuple[TrancheFacts, ...]


async def contracts(session: AsyncSession, contract_ids: Collection[int] | None = None, call_id: int | None = None) -> list[ContractFacts]:
    """Every contract (or those of `contract_ids`, or of one call), oldest first."""
    query = (
        select(CallContract, Call, col(Award.lot_number))
        .join(Call, col(Call.id) == col(CallContract.call_id))
        .join(Award, col(Award.id) == col(CallContract.award_id))
        .order_by(col(CallContract.id))
    )
    if contract_ids is not None:
        query = query.where(col(CallContract.id).in_(list(contract_ids)))
    if call_id is not None:
        query = query.where(col(CallContract.call_id) == call_id)
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    lots = dict(
        (await session.execute(select(col(CallLot.call_id), func.count()).where(col(CallLot.call_id).in_({call.id for _, call, _ in rows})).group_by(col(CallLot.call_id)))).all()
    )
    tranches: dict[int, list[TrancheFacts]] = {}
    for t in (await session.execute(select(Tranche).where(col(Tranche.contract_id).in_([c.id for c, _, _ in rows])).order_by(col(Tranche.number)))).scalars():
        tranches.setdefault(t.contract_id, []).append(TrancheFacts(t.number, t.share, t.amount_fen, t.condition, t.payable_on))
    return [
        ContractFacts(
            id=c.id, number=c.number, call_id=call.id, call_number=call.number, title=f"{call.title}（第{lot}包）" if lots.get(call.id, 1) > 1 else call.title,
            category=call.category, organisation_id=c.organisation_id, street_id=call.street_id, amount_fen=c.amount_fen, signed_on=c.signed_on,
            starts_on=c.starts_on, ends_on=c.ends_on, tranches=tuple(tranches.get(c.id, [])),
        )
        for c, call, lot in rows
    ]


async def contract(session: AsyncSession, contract_id: int) -> ContractFacts:
    found = await contracts(session, [contract_id])
    if not found:
        raise NotFound("contract", contract_id)
    return found[0]


@dataclass(frozen=True)
class ContractSummary:
    """A signed contract as delivery sees it: what was bought, from whom, for which buyer, for how long."""

    id: int
    number: str
    call_id: int
    title: str  # the call's title and the lot's
    category: str
    street_id: int | None  # the buyer: a street, or the district (None)
    organisation_id: int
    starts_on: date
    ends_on: date


async def contract_summaries(session: AsyncSession, contract_ids: Sequence[int] | None = None) -> list[ContractSummary]:
    """Signed contracts (all, or those with the given ids), oldest first."""
    query = (
        select(CallContract, Call, CallLot)
        .join(Call, col(Call.id) == col(CallContract.call_id))
        .join(Award, col(Award.id) == col(CallContract.award_id))
        .join(CallLot, and_(col(CallLot.call_id) == col(Award.call_id), col(CallLot.number) == col(Award.lot_number)))
        .order_by(col(CallContract.id))
    )
    if contract_ids is not None:
        query = query.where(col(CallContract.id).in_(list(contract_ids)))
    return [
        ContractSummary(
            id=contract.id, number=contract.number, call_id=call.id, title=call.title if lot.title == call.title else f"{call.title}：{lot.title}",
            category=call.category, street_id=call.street_id, organisation_id=contract.organisation_id, starts_on=contract.starts_on, ends_on=contract.ends_on,
        )
        for contract, call, lot in (await session.execute(query)).all()
    ]
