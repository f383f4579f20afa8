"""What each principal may see of the registry, as SQL conditions (one place, used by every query)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BindParameter, ColumnElement, Select, and_, false, or_, select, true
from sqlmodel import col

from foundation.access import Principal, Role, ScopeKind
from registry.tables import Community, Company, ContractEstate, Estate, Organisation, SelectionVote, ServiceContract, VoteCandidate


def _street_communities(street_id: int | None) -> Select[int]:
    return select(col(Community.id)).where(col(Community.street_id) == street_id)


def _company_estates(company_id: int | None) -> Select[int]:
    return (
        select(col(ContractEstate.estate_id))
        .join(ServiceContract, col(ServiceContract.id) == col(ContractEstate.contract_id))
        .where(col(ServiceContract.company_id) == company_id)
    )


def visible_communities(p: Principal) -> ColumnElement[bool]:
    match p.scope:
        case ScopeKind.DISTRICT:
            return true()
        case ScopeKind.STREET:
            return col(Community.street_id) == p.street_id
        case ScopeKind.COMMUNITY:
            return col(Community.id) == p.community_id
        case ScopeKind.COMPANY:
            return col(Community.id).in_(select(col(Estate.community_id)).where(col(Estate.id).in_(_company_estates(p.company_id))))
        case _:
            return false()


def visible_estates(p: Principal) -> ColumnElement[bool]:
    """Staff see the estates of their district, street or community; a company the estates it has contracts for."""
    match p.scope:
        case ScopeKind.DISTRICT:
            return true()
        case ScopeKind.STREET:
            return col(Estate.community_id).in_(_street_communities(p.street_id))
        case ScopeKind.COMMUNITY:
            return col(Estate.community_id) == p.community_id
        case ScopeKind.COMPANY:
            return col(Estate.id).in_(_company_estates(p.company_id))
        case _:
            return false()


def visible_votes(p: Principal) -> ColumnElement[bool]:
    """A company sees the votes it stood in."""
    match p.scope:
        case ScopeKind.DISTRICT:
            return true()
        case ScopeKind.STREET:
            return col(SelectionVote.community_id).in_(_street_communities(p.street_id))
        case ScopeKind.COMMUNITY:
            return col(SelectionVote.community_id) == p.community_id
        case ScopeKind.COMPANY:
            return col(SelectionVote.id).in_(select(col(VoteCandidate.vote_id)).where(col(VoteCandidate.company_id) == p.company_id))
        case _:
            return false()


def visible_contracts(p: Principal) -> ColumnElement[bool]:
    match p.scope:
        case ScopeKind.DISTRICT:
            return true()
        case ScopeKind.STREET:
            return col(ServiceContract.community_id).in_(_street_communities(p.street_id))
        case ScopeKind.COMMUNITY:
            return col(ServiceContract.community_id) == p.community_id
        case ScopeKind.COMPANY:
            return col(ServiceContract.company_id) == p.company_id
        case _:
            return false()


def visible_companies(p: Principal) -> ColumnElement[bool]:
    """Staff choose among all companies; a company sees itself."""
    if p.is_staff:
        return true()
    if p.role is Role.COMPANY:
        return col(Company.id) == p.company_id
    return false()


def visible_organisations(p: Principal) -> ColumnElement[bool]:
    if p.is_staff:
        return true()
    if p.scope is ScopeKind.ORGANISATION:
        return col(Organisation.id) == p.organisation_id
    return false()


def contract_in_force(day: date | BindParameter[date]) -> ColumnElement[bool]:
    """A contract is in force on `day` from its start to its end or its early termination, both inclusive."""
    return and_(
        col(ServiceContract.starts_on) <= day,
        col(ServiceContract.ends_on) >= day,
        or_(col(ServiceContract.terminated_on).is_(None), col(ServiceContract.terminated_on) >= day),
    )


def estates_under_contract(day: date, company_id: int | None = None) -> Select[int]:
    """The ids of the estates with a contract in force on `day` (of one company when asked), for `IN (...)`."""
    query = select(col(ContractEstate.estate_id)).join(ServiceContract, col(ServiceContract.id) == col(ContractEstate.contract_id)).where(contract_in_force(day))
    return query if company_id is None else query.where(col(ServiceContract.company_id) == company_id)


def managed_on(day: date) -> ColumnElement[bool]:
    """An estate is in long-term management on `day` from its entry to the day before it left."""
    return managed_during(day, day)


def managed_during(first: date, last: date) -> ColumnElement[bool]:
    """An estate in long-term management on at least one day of `first`..`last` (both inclusive)."""
    return and_(col(Estate.entered_on) <= last, or_(col(Estate.left_on).is_(None), col(Estate.left_on) > first))
