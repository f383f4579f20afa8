"""The registry's public queries for the packages above it (they ask here instead of reading registry tables):
which estates were managed over a period, which contract and company was in force for each on each day, and the
streets, communities, estates, companies and organisations they name. Answers are frozen values, not table rows;
the `hold_*` calls lock registry rows that the use cases above serialise on."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ScalarSelect, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.db import Direct
from foundation.periods import Month
from registry.rules import ContractTerm, EstateTenure, contract_last_day, in_management
from registry.scope import contract_in_force
from registry.scope import managed_during as managed_in
from registry.tables import (
    Community,
    Company,
    ContractEstate,
    Estate,
    EstateBoundary,
    Organisation,
    OrganisationStaff,
    OrganisationStreet,
    SelectionVote,
    ServiceContract,
    Street,
    VoteCandidate,
    VoteEstate,
    VoteSource,
)
from registry.tables import ManagementMode as ManagementMode  # the kinds the values carry, for the domains above
from registry.tables import OrganisationKind as OrganisationKind
from registry.tables import Standing as Standing

CHUNK = 900  # ids per IN (...) list: under SQLite's bound-parameter limit


K = TypeVar("K", int, str)


def _chunks(keys: Collection[K]) -> Iterable[list[K]]:
    """The distinct keys in order, CHUNK at a time (a bounded IN list on every database)."""
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


@dataclass(frozen=True)
class StreetInfo:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class CommunityInfo:
    id: int
    code: str
    name: str
    street_id: int
    households: int


@dataclass(frozen=True)
class EstateInfo:
    """An estate as the domains above read it, with the street of its community."""

    id: int
    code: str
    name: str
    address: str
    community_id: int
    street_id: int
    floor_area_centi_m2: int
    households: int
    buildings: int
    management_mode: ManagementMode
    entered_on: date
    left_on: date | None

    def managed_on(self, day: date) -> bool:
        """In long-term management on `day`: from its entry to the day before it left."""
        return in_management(self.entered_on, self.left_on, day)


@dataclass(frozen=True)
class CompanyInfo:
    id: int
    name: str
    credit_code: str
    bank_name: str = ""  # the payee's bank (开户行) and account, for payment notices
    bank_account: str = ""


@dataclass(frozen=True)
class OrganisationInfo:
    id: int
    name: str
    kind: OrganisationKind


def _street(row: Street) -> StreetInfo:
    return StreetInfo(id=row.id or 0, code=row.code, name=row.name)


def _community(row: Community) -> CommunityInfo:
    return CommunityInfo(id=row.id or 0, code=row.code, name=row.name, street_id=row.street_id, households=row.households)


def _estate(row: Estate, street_id: int) -> EstateInfo:
    return EstateInfo(
        id=row.id or 0, code=row.code, name=row.name, address=row.address, community_id=row.community_id, street_id=street_id,
        floor_area_centi_m2=row.floor_area_centi_m2, households=row.households, buildings=row.buildings,
        management_mode=ManagementMode(row.management_mode), entered_on=row.entered_on, left_on=row.left_on,
    )


def _estates_with_street() -> Select[Estate, int]:
    return select(Estate, col(Community.street_id)).join(Community, col(Community.id) == col(Estate.community_id))


def community_of_estate(estate_id: Any) -> ScalarSelect[int]:
    """The community of the estate that `estate_id` (a column of another table) names, as a correlated SQL
    expression: for conditions on rows that carry an estate but not its community."""
    return select(col(Estate.community_id)).where(col(Estate.id) == estate_id).scalar_subquery()


def code_of_estate(estate_id: Any) -> ScalarSelect[str]:
    """The code of the estate that `estate_id` (a column of another table) names, as a correlated SQL expression:
    to order another table's rows by estate code."""
    return select(col(Estate.code)).where(col(Estate.id) == estate_id).scalar_subquery()


def street_of_community(community_id: Any) -> ScalarSelect[int]:
    """The street of the community that `community_id` (a column of another table) names, as a correlated SQL
    expression."""
    return select(col(Community.street_id)).where(col(Community.id) == community_id).scalar_subquery()


async def managed_during(
    session: AsyncSession, first: date | Month, last: date | None = None, *, street_id: int | None = None, community_id: int | None = None
) -> list[EstateInfo]:
    """The estates in long-term management on at least one day of `first`..`last` (a month: of its days; `last`
    left out: on the day `first`), of one street or community when asked, by code. `EstateInfo.managed_on(day)`
    tells the days apart."""
    if isinstance(first, Month):
        month = first
        first, last = month.first_day, month.last_day
    query = _estates_with_street().where(managed_in(first, first if last is None else last))
    if street_id is not None:
        query = query.where(col(Community.street_id) == street_id)
    if community_id is not None:
        query = query.where(col(Estate.community_id) == community_id)
    return [_estate(row, sid) for row, sid in (await session.execute(query.order_by(col(Estate.code))))]


async def estates(session: AsyncSession, ids: Collection[int]) -> dict[int, EstateInfo]:
    """The estates of `ids` that exist, by id."""
    found: dict[int, EstateInfo] = {}
    for part in _chunks(ids):
        for row, sid in (await session.execute(_estates_with_street().where(col(Estate.id).in_(part)))):
            found[row.id or 0] = _estate(row, sid)
    return found


# The look-ups of one estate that every filing makes, built once: building a statement costs more Python than
# running it.
_ESTATE = _estates_with_street().where(col(Estate.id) == bindparam("estate_id"))
_BOUNDARY = select(col(EstateBoundary.geometry)).where(col(EstateBoundary.estate_id) == bindparam("estate_id"))
_CONTRACT_OF_ESTATE = (
    select(ServiceContract)
    .join(ContractEstate, col(ServiceContract.id) == col(ContractEstate.contract_id))
    .where(col(ContractEstate.estate_id) == bindparam("estate_id"), contract_in_force(bindparam("day")))
)


async def estate(session: AsyncSession, estate_id: int) -> EstateInfo | None:
    """One estate, or None."""
    row = (await session.execute(_ESTATE, {"estate_id": estate_id})).first()
    return _estate(*row) if row else None


# One estate as a filing reads it, by columns (no table row built), its row held, with the company of the contract in
# force on the day (contracts of an estate never overlap) and whatever else the caller's statement asks of it.
_ESTATE_COLUMNS = (
    col(Estate.id), col(Estate.code), col(Estate.name), col(Estate.address), col(Estate.community_id), col(Community.street_id),
    col(Estate.floor_area_centi_m2), col(Estate.households), col(Estate.buildings), col(Estate.management_mode),
    col(Estate.entered_on), col(Estate.left_on),
)  # fmt: skip
_CONTRACTOR_ON_DAY = (
    select(col(ServiceContract.company_id))
    .join(ContractEstate, col(ServiceContract.id) == col(ContractEstate.contract_id))
    .where(col(ContractEstate.estate_id) == col(Estate.id), contract_in_force(bindparam("day")))
    .limit(1)
    .scalar_subquery()
)


# The estate's id in an `estate_on_day_held` statement: what the caller's own columns correlate on.
ESTATE_ID = col(Estate.id)
# A column the caller of `estate_on_day_held` may ask for: the estate's boundary (GeoJSON, as `estate_boundary`).
ESTATE_BOUNDARY = select(col(EstateBoundary.geometry)).where(col(EstateBoundary.estate_id) == col(Estate.id)).scalar_subquery()


def estate_on_day_held(*also: Any) -> Direct:
    """The statement `estate_on_day` runs, with the caller's columns `also` (correlated on `estates.id`) after the
    estate's and its contractor's: built once by the caller, run with `estate_id` and `day` (and the caller's own
    parameters)."""
    return Direct(
        select(*_ESTATE_COLUMNS, _CONTRACTOR_ON_DAY, *also)
        .join(Community, col(Community.id) == col(Estate.community_id))
        .where(col(Estate.id) == bindparam("estate_id"))
        .with_for_update(of=Estate)
    )


@dataclass(frozen=True)
class EstateOnDay:
    """An estate, the company whose contract was in force for it on the day (None: no contract), and the values of
    the caller's own columns."""

    estate: EstateInfo
    company_id: int | None
    also: tuple[Any, ...]


async def estate_on_day(session: AsyncSession, statement: Direct, estate_id: int, day: date, **parameters: Any) -> EstateOnDay | None:
    """One round trip for what filing evidence reads of an estate (see `estate_on_day_held`), its row locked until
    the transaction ends (FOR UPDATE; SQLite has one writer at a time anyway); None when there is no such estate."""
    rows = await statement.run_async(session, {"estate_id": estate_id, "day": day, **parameters})
    if not rows:
        return None
    row = rows[0]
    width = len(_ESTATE_COLUMNS)
    fields = list(row[:width])  # in the order of EstateInfo's fields
    fields[9] = ManagementMode(fields[9])
    return EstateOnDay(EstateInfo(*fields), row[width], tuple(row[width + 1 :]))


async def estate_by_code(session: AsyncSession, code: str) -> EstateInfo | None:
    """One estate by its code (printed on the estate's QR posters), or None."""
    row = (await session.execute(_estates_with_street().where(col(Estate.code) == code))).first()
    return _estate(*row) if row else None


async def estate_boundary(session: AsyncSession, estate_id: int) -> dict[str, Any] | None:
    """The estate's boundary as GeoJSON (a Polygon or MultiPolygon in WGS 84, checked when it was set), or None."""
    found: dict[str, Any] | None = (await session.execute(_BOUNDARY, {"estate_id": estate_id})).scalar()
    return found


def _term(contract: ServiceContract) -> ContractTerm:
    return ContractTerm(contract.id or 0, contract.company_id, contract.starts_on, contract_last_day(contract.ends_on, contract.terminated_on))


async def contractors_on(session: AsyncSession, estate_ids: Collection[int], day: date) -> dict[int, ContractTerm]:
    """The contract (and so the company) in force on `day` for each estate of `estate_ids` that had one, by estate
    (at most one: contracts of an estate never overlap). Whether the estate was managed that day is not asked."""
    found: dict[int, ContractTerm] = {}
    for part in _chunks(estate_ids):
        rows = await session.execute(
            select(col(ContractEstate.estate_id), ServiceContract)
            .join(ServiceContract, col(ServiceContract.id) == col(ContractEstate.contract_id))
            .where(col(ContractEstate.estate_id).in_(part), contract_in_force(day))
        )
        for estate_id, contract in rows:
            found[estate_id] = _term(contract)
    return found


async def contractor_on(session: AsyncSession, estate_id: int, day: date) -> ContractTerm | None:
    """The contract (and its company) in force for the estate on `day`, or None."""
    contract = (await session.execute(_CONTRACT_OF_ESTATE, {"estate_id": estate_id, "day": day})).scalar()
    return _term(contract) if contract else None


async def streets(session: AsyncSession) -> list[StreetInfo]:
    """Every street, by id."""
    return [_street(s) for s in (await session.execute(select(Street).order_by(col(Street.id)))).scalars()]


async def street(session: AsyncSession, street_id: int | None) -> StreetInfo | None:
    row = await session.get(Street, street_id) if street_id is not None else None
    return _street(row) if row else None


async def hold_street(session: AsyncSession, street_id: int) -> None:
    """Lock the street's row until the transaction ends, FOR NO KEY UPDATE (rows that merely reference the street
    are not held up; SQLite has one writer at a time anyway): the mutex of the street's month in the domains above."""
    await session.execute(select(col(Street.id)).where(col(Street.id) == street_id).with_for_update(key_share=True))


async def communities(session: AsyncSession, ids: Collection[int] | None = None, *, street_id: int | None = None) -> dict[int, CommunityInfo]:
    """The communities of `ids` (or all), of one street when asked, by id."""
    query = select(Community).order_by(col(Community.id))
    if street_id is not None:
        query = query.where(col(Community.street_id) == street_id)
    if ids is None:
        return {c.id or 0: _community(c) for c in (await session.execute(query)).scalars()}
    found: dict[int, CommunityInfo] = {}
    for part in _chunks(ids):
        found.update({c.id or 0: _community(c) for c in (await session.execute(query.where(col(Community.id).in_(part)))).scalars()})
    return found


async def community(session: AsyncSession, community_id: int | None) -> CommunityInfo | None:
    row = await session.get(Community, community_id) if community_id is not None else None
    return _community(row) if row else None


async def companies(session: AsyncSession, ids: Collection[int] | None) -> dict[int, CompanyInfo]:
    """The companies of `ids` that exist (every company when `ids` is None), by id."""
    found: dict[int, CompanyInfo] = {}
    query = select(Company).order_by(col(Company.id))
    for part in [None] if ids is None else _chunks(ids):
        for c in (await session.execute(query if part is None else query.where(col(Company.id).in_(part)))).scalars():
            found[c.id or 0] = CompanyInfo(id=c.id or 0, name=c.name, credit_code=c.credit_code, bank_name=c.bank_name, bank_account=c.bank_account)
    return found


async def company(session: AsyncSession, company_id: int | None) -> CompanyInfo | None:
    return (await companies(session, [company_id])).get(company_id) if company_id is not None else None


async def hold_companies(session: AsyncSession, ids: Collection[int]) -> None:
    """Lock the companies' rows (in id order, so two holders cannot deadlock) until the transaction ends, FOR NO KEY
    UPDATE: the mutex of what the domains above number per company."""
    if ids:
        await session.execute(select(col(Company.id)).where(col(Company.id).in_(sorted(set(ids)))).order_by(col(Company.id)).with_for_update(key_share=True))


async def organisation(session: AsyncSession, organisation_id: int | None) -> OrganisationInfo | None:
    row = await session.get(Organisation, organisation_id) if organisation_id is not None else None
    return OrganisationInfo(id=row.id or 0, name=row.name, kind=OrganisationKind(row.kind)) if row else None


@dataclass(frozen=True)
class OrganisationParticulars:
    """A social organisation as a call sees it: who it is, its standing, the streets it serves, and the facts the
    panel compares between bids (legal representative, phone, address)."""

    id: int
    name: str
    kind: OrganisationKind
    credit_code: str
    standing: str | None
    legal_representative: str
    phone: str
    address: str
    street_ids: frozenset[int]


async def organisation_particulars(session: AsyncSession, ids: Collection[int]) -> dict[int, OrganisationParticulars]:
    if not ids:
        return {}
    rows = (await session.execute(select(Organisation).where(col(Organisation.id).in_(list(ids))))).scalars().all()
    served: dict[int, set[int]] = {}
    for organisation_id, street_id in (
        await session.execute(select(col(OrganisationStreet.organisation_id), col(OrganisationStreet.street_id)).where(col(OrganisationStreet.organisation_id).in_(list(ids))))
    ).all():
        served.setdefault(organisation_id, set()).add(street_id)
    return {
        r.id: OrganisationParticulars(
            id=r.id, name=r.name, kind=OrganisationKind(r.kind), credit_code=r.credit_code, standing=r.standing,
            legal_representative=r.legal_representative, phone=r.phone, address=r.address, street_ids=frozenset(served.get(r.id, set())),
        )
        for r in rows
    }


async def social_organisations(session: AsyncSession) -> list[OrganisationParticulars]:
    ids = list((await session.execute(select(col(Organisation.id)).where(col(Organisation.kind) == OrganisationKind.SOCIAL_ORG.value))).scalars())
    found = await organisation_particulars(session, ids)
    return [found[i] for i in sorted(found)]


async def organisations_employing(session: AsyncSession, user_id: int) -> set[int]:
    """The organisations whose staff list names this user's account."""
    query = select(col(OrganisationStaff.organisation_id)).where(col(OrganisationStaff.user_id) == user_id)
    return set((await session.execute(query)).scalars())


async def staff_of(session: AsyncSession, organisation_ids: Collection[int]) -> dict[int, tuple[frozenset[str], frozenset[int]]]:
    """Each organisation's staff: the names on its list and the accounts linked to them (for ties between organisations)."""
    names: dict[int, set[str]] = {i: set() for i in organisation_ids}
    accounts: dict[int, set[int]] = {i: set() for i in organisation_ids}
    if organisation_ids:
        query = select(col(OrganisationStaff.organisation_id), col(OrganisationStaff.name), col(OrganisationStaff.user_id)).where(
            col(OrganisationStaff.organisation_id).in_(list(organisation_ids))
        )
        for organisation_id, name, user_id in (await session.execute(query)).all():
            names[organisation_id].add("".join(name.split()))
            if user_id is not None:
                accounts[organisation_id].add(user_id)
    return {i: (frozenset(names[i]), frozenset(accounts[i])) for i in organisation_ids}


async def evaluation_firms(session: AsyncSession) -> list[int]:
    """The ids of the registered third-party evaluation firms."""
    query = select(col(Organisation.id)).where(col(Organisation.kind) == OrganisationKind.EVALUATION_FIRM.value).order_by(col(Organisation.id))
    return [i for i in (await session.execute(query)).scalars() if i is not None]


async def inspection_firms(session: AsyncSession) -> list[int]:
    """The ids of the registered third-party inspection firms."""
    query = select(col(Organisation.id)).where(col(Organisation.kind) == OrganisationKind.INSPECTION_FIRM.value).order_by(col(Organisation.id))
    return [i for i in (await session.execute(query)).scalars() if i is not None]


async def estate_tenures(session: AsyncSession, first: date, last: date, estate_ids: Collection[int] | None = None) -> list[EstateTenure]:
    """Every estate in long-term management on at least one day of `first`..`last` (or only those of
    `estate_ids`), by id, each with the contracts in force for it on at least one day of the period;
    `EstateTenure.contract_on(day)` answers which contract and company served it on a given day."""
    estates = _estates_with_street().where(managed_in(first, last))
    if estate_ids is not None:
        estates = estates.where(col(Estate.id).in_(list(estate_ids)))
    rows = (await session.execute(estates.order_by(col(Estate.id)))).all()
    if not rows:
        return []
    terms: dict[int, list[ContractTerm]] = {}
    contracts = (
        select(col(ContractEstate.estate_id), ServiceContract)
        .join(ServiceContract, col(ServiceContract.id) == col(ContractEstate.contract_id))
        .where(col(ServiceContract.starts_on) <= last, col(ServiceContract.ends_on) >= first)
        .order_by(col(ServiceContract.starts_on), col(ServiceContract.id))
    )
    if estate_ids is not None:
        contracts = contracts.where(col(ContractEstate.estate_id).in_(list(estate_ids)))
    for estate_id, contract in (await session.execute(contracts)):
        end = contract_last_day(contract.ends_on, contract.terminated_on)
        if end >= first and end >= contract.starts_on:
            terms.setdefault(estate_id, []).append(ContractTerm(contract.id, contract.company_id, contract.starts_on, end))
    return [
        EstateTenure(
            estate_id=estate.id,
            community_id=estate.community_id,
            street_id=street_id,
            floor_area_centi_m2=estate.floor_area_centi_m2,
            entered_on=estate.entered_on,
            left_on=estate.left_on,
            contracts=tuple(terms.get(estate.id, ())),
        )
        for estate, street_id in rows
    ]


async def organisations(session: AsyncSession, ids: Collection[int] | None = None, kind: OrganisationKind | None = None) -> dict[int, OrganisationInfo]:
    """Organisations by id (all of a kind when `ids` is None)."""
    query = select(Organisation).order_by(col(Organisation.id))
    if kind is not None:
        query = query.where(col(Organisation.kind) == kind.value)
    found: dict[int, OrganisationInfo] = {}
    chunks = [None] if ids is None else list(_chunks(ids))
    for chunk in chunks:
        rows = (await session.execute(query if chunk is None else query.where(col(Organisation.id).in_(chunk)))).scalars()
        found |= {row.id or 0: OrganisationInfo(id=row.id or 0, name=row.name, kind=OrganisationKind(row.kind)) for row in rows}
    return found


@dataclass(frozen=True)
class CompanyParticulars:
    """A property company as registered, compared field by field when a spreadsheet names it again."""

    id: int
    name: str
    credit_code: str
    legal_representative: str
    phone: str
    address: str
    bank_name: str = ""
    bank_account: str = ""


async def companies_by_credit_code(session: AsyncSession, codes: Collection[str]) -> dict[str, CompanyParticulars]:
    """The registered companies among `codes` (unified social credit codes), by code."""
    found: dict[str, CompanyParticulars] = {}
    for chunk in _chunks(codes):
        for c in (await session.execute(select(Company).where(col(Company.credit_code).in_(chunk)))).scalars():
            found[c.credit_code] = CompanyParticulars(c.id or 0, c.name, c.credit_code, c.legal_representative, c.phone, c.address, c.bank_name, c.bank_account)
    return found


async def organisations_by_credit_code(session: AsyncSession, codes: Collection[str]) -> dict[str, OrganisationParticulars]:
    """The registered organisations (of any kind) among `codes`, by unified social credit code."""
    ids: list[int] = []
    for chunk in _chunks(codes):
        ids += [i for i in (await session.execute(select(col(Organisation.id)).where(col(Organisation.credit_code).in_(chunk)))).scalars() if i]
    return {o.credit_code: o for o in (await organisation_particulars(session, ids)).values()}


async def estates_by_code(session: AsyncSession, codes: Collection[str]) -> dict[str, EstateInfo]:
    """The registered estates among `codes`, by code."""
    found: dict[str, EstateInfo] = {}
    for chunk in _chunks(codes):
        for row, street_id in (await session.execute(_estates_with_street().where(col(Estate.code).in_(chunk)))).all():
            found[row.code] = _estate(row, street_id)
    return found


@dataclass(frozen=True)
class ContractParticulars:
    """A service contract as registered, compared field by field when a spreadsheet names it again."""

    id: int
    contract_number: str
    community_id: int
    company_id: int
    vote_id: int
    estate_ids: frozenset[int]
    signed_on: date
    starts_on: date
    ends_on: date


async def contracts_by_number(session: AsyncSession, numbers: Collection[str]) -> dict[str, ContractParticulars]:
    """The registered service contracts among `numbers`, by contract number."""
    rows: list[ServiceContract] = []
    for keys in _chunks(numbers):
        rows += (await session.execute(select(ServiceContract).where(col(ServiceContract.contract_number).in_(keys)))).scalars()
    estates: dict[int, set[int]] = {c.id: set() for c in rows}
    for chunk in _chunks(estates):
        for contract_id, estate_id in await session.execute(select(col(ContractEstate.contract_id), col(ContractEstate.estate_id)).where(col(ContractEstate.contract_id).in_(chunk))):
            estates[contract_id].add(estate_id)
    return {
        c.contract_number: ContractParticulars(
            c.id or 0, c.contract_number, c.community_id, c.company_id, c.vote_id, frozenset(estates[c.id]), c.signed_on, c.starts_on, c.ends_on
        )
        for c in rows
    }


@dataclass(frozen=True)
class PaperVoteParticulars:
    """A vote recorded from its paper count sheet (纸质表决), by its archive number."""

    id: int
    reference: str
    community_id: int
    company_id: int
    estate_ids: frozenset[int]
    voted_on: date
    households_voting: int
    households_for_company: int


async def paper_votes_by_reference(session: AsyncSession, references: Collection[str]) -> dict[str, PaperVoteParticulars]:
    """The paper votes recorded among `references` (archive numbers), by reference."""
    rows: list[SelectionVote] = []
    for keys in _chunks(references):
        rows += (
            await session.execute(
                select(SelectionVote).where(col(SelectionVote.source) == VoteSource.PAPER, col(SelectionVote.reference).in_(keys))
            )
        ).scalars()
    estates: dict[int, set[int]] = {v.id: set() for v in rows}
    received: dict[int, int] = {}
    for chunk in _chunks(estates):
        for vote_id, estate_id in await session.execute(select(col(VoteEstate.vote_id), col(VoteEstate.estate_id)).where(col(VoteEstate.vote_id).in_(chunk))):
            estates[vote_id].add(estate_id)
        for vote_id, company_id, ballots in await session.execute(
            select(col(VoteCandidate.vote_id), col(VoteCandidate.company_id), col(VoteCandidate.ballots_received)).where(col(VoteCandidate.vote_id).in_(chunk))
        ):
            received[vote_id] = ballots or 0
    return {
        v.reference: PaperVoteParticulars(
            v.id or 0, v.reference, v.community_id, v.winner_company_id or 0, frozenset(estates[v.id]), v.opens_on, v.ballots_cast or 0, received.get(v.id, 0)
        )
        for v in rows
        if v.reference is not None
    }
