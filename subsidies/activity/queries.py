"""Reading activity funds: balances per holder and year as each role sees them, claims with the batch that paid
them, and a holder's statement of a year (what the documents above read)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import col

from foundation.access import Principal, Role
from foundation.errors import NotFound
from foundation.paging import PageRequest, fetch_page
from registry import queries as registry
from subsidies.activity import rules, schemas
from subsidies.activity.rules import COMMUNITY, PENDING, STREET
from subsidies.activity.tables import ActivityClaim, ActivityFund
from subsidies.engine import queries as engine
from subsidies.engine.rules import Party


async def holder_names(session: AsyncSession, holders: Sequence[str]) -> dict[str, str]:
    parties = [rules.parse_holder(h) for h in set(holders)]
    streets = {s.id: s.name for s in await registry.streets(session)}
    communities = await registry.communities(session, [p.id for p in parties if p.kind == COMMUNITY])
    names = {}
    for p in parties:
        if p.kind == STREET:
            names[str(p)] = f"{streets.get(p.id, p.id)}街道"
        else:
            found = communities.get(p.id)
            names[str(p)] = f"{found.name}社区" if found else str(p)
    return names


def _scope(principal: Principal, holder_col: Mapped[str], street_col: Mapped[int]) -> ColumnElement[bool]:
    """Which funds and claims a principal sees: the district all, a street officer the street's, a director the
    community's, anyone else none."""
    match principal.role:
        case Role.FINANCE | Role.ADMIN:
            return true()
        case Role.STREET_OFFICER:
            return street_col == (principal.street_id or 0)
        case Role.COMMITTEE_DIRECTOR:
            return holder_col == str(Party(COMMUNITY, principal.community_id or 0))
    return false()


async def funds(session: AsyncSession, principal: Principal, year: int, holder: str | None = None) -> list[schemas.FundOut]:
    """The funds of a year the principal sees (a director: the community's; a street officer: the street's and its
    communities'; the district: all), each with what waits, what was approved, paid, lapsed and what is left."""
    query = select(ActivityFund).where(col(ActivityFund.year) == year, _scope(principal, col(ActivityFund.holder), col(ActivityFund.street_id)))
    if holder is not None:
        query = query.where(col(ActivityFund.holder) == holder)
    rows = list((await session.execute(query.order_by(col(ActivityFund.street_id), col(ActivityFund.holder)))).scalars())
    sums: dict[tuple[str, str], int] = {}
    if rows:
        grouped = await session.execute(
            select(col(ActivityClaim.holder), col(ActivityClaim.state), func.sum(col(ActivityClaim.amount_fen)))
            .where(col(ActivityClaim.year) == year, col(ActivityClaim.holder).in_([r.holder for r in rows]))
            .group_by(col(ActivityClaim.holder), col(ActivityClaim.state))
        )
        sums = {(str(h), str(s)): int(total) for h, s, total in grouped}
    spent = await engine.budget_spent(session, rules.CODE, year)
    names = await holder_names(session, [r.holder for r in rows])
    # Streets first, then their communities (street:… sorts after community:…).
    rows.sort(key=lambda r: (r.street_id, not r.holder.startswith(STREET), names[r.holder]))
    return [
        schemas.FundOut(
            year=r.year, holder=r.holder, holder_name=names[r.holder], street_id=r.street_id, allocated_fen=r.allocated_fen, pending_fen=sums.get((r.holder, PENDING), 0),
            # Approved, net of what corrections recovered since (the fund holds what its claims wait for or were
            # approved at, less what was recovered): the columns add up to the allocation.
            approved_fen=r.held_fen - sums.get((r.holder, PENDING), 0), paid_fen=spent.get(r.holder, 0), lapsed_fen=r.lapsed_fen,
            left_fen=r.allocated_fen - r.held_fen - r.lapsed_fen, lapsed=r.lapsed_at is not None,
        )
        for r in rows
    ]


async def claim_outs(session: AsyncSession, claims: Sequence[ActivityClaim]) -> list[schemas.ClaimOut]:
    paid = await engine.paid_in(session, rules.CODE, [f"claim:{c.id}" for c in claims])
    names = await holder_names(session, [c.holder for c in claims])
    return [
        schemas.ClaimOut(
            id=c.id, holder=c.holder, holder_name=names[c.holder], year=c.year, spent_on=c.spent_on, purpose=c.purpose, description=c.description, amount_fen=c.amount_fen,
            invoice_number=c.invoice_number, receipt_id=c.receipt_id, state=c.state, claimed_at=c.claimed_at, claimed_by=c.claimed_by, due_on=c.due_on,
            decided_at=c.decided_at, decided_by=c.decided_by, refusal_reason=c.refusal_reason, paid_in_batch=paid[f"claim:{c.id}"][0] if f"claim:{c.id}" in paid else None,
        )
        for c in claims
    ]


async def claims(session: AsyncSession, principal: Principal, paging: PageRequest, year: int | None = None, state: str | None = None, holder: str | None = None) -> tuple[list[schemas.ClaimOut], int]:
    """The claims the principal sees, newest first."""
    query = select(ActivityClaim).where(_scope(principal, col(ActivityClaim.holder), col(ActivityClaim.street_id)))
    if year is not None:
        query = query.where(col(ActivityClaim.year) == year)
    if state is not None:
        query = query.where(col(ActivityClaim.state) == state)
    if holder is not None:
        query = query.where(col(ActivityClaim.holder) == holder)
    rows, total = await fetch_page(session, query.order_by(col(ActivityClaim.id).desc()), paging)
    return await claim_outs(session, rows), total


async def awaiting(session: AsyncSession, principal: Principal) -> list[schemas.ClaimOut]:
    """The claims waiting for this principal's decision: a street officer's communities', finance's streets'."""
    query = select(ActivityClaim).where(col(ActivityClaim.state) == PENDING)
    if principal.role is Role.STREET_OFFICER:
        query = query.where(col(ActivityClaim.street_id) == (principal.street_id or 0), col(ActivityClaim.holder).like(f"{COMMUNITY}:%"))
    elif principal.role is rules.DISTRICT_APPROVER:
        query = query.where(col(ActivityClaim.holder).like(f"{STREET}:%"))
    else:
        return []
    return await claim_outs(session, list((await session.execute(query.order_by(col(ActivityClaim.due_on), col(ActivityClaim.id)))).scalars()))


@dataclass(frozen=True)
class Statement:
    """A holder's year: the fund and every claim, oldest first."""

    fund: schemas.FundOut
    claims: list[schemas.ClaimOut]


async def statement(session: AsyncSession, principal: Principal, year: int, holder: str) -> Statement:
    rules.parse_holder(holder)
    found = await funds(session, principal, year, holder)
    if not found:
        raise NotFound("activity fund", f"{holder} {year}")
    rows = list((await session.execute(select(ActivityClaim).where(col(ActivityClaim.year) == year, col(ActivityClaim.holder) == holder).order_by(col(ActivityClaim.id)))).scalars())
    return Statement(found[0], await claim_outs(session, rows))
