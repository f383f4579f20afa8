"""Use cases for places and parties: streets, communities, estates, companies, organisations, the summary."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from foundation.access import Principal, Role, ScopeKind, require_role
from foundation.audit import record_change, snapshot
from foundation.clock import business_today, utc_now
from foundation.errors import Conflict, InvalidInput, NotFound, RuleViolation, TooLarge
from foundation.paging import PageRequest, fetch_page
from registry import schemas
from registry.boundaries import BoundaryError, Datum, boundary_area_m2, parse_boundary
from registry.queries import contractors_on
from registry.rules import credit_code_problem, credit_code_problem_zh, format_area
from registry.scope import (
    contract_in_force,
    estates_under_contract,
    managed_on,
    visible_communities,
    visible_companies,
    visible_contracts,
    visible_estates,
    visible_organisations,
)
from registry.tables import (
    Community,
    Company,
    Estate,
    EstateBoundary,
    Organisation,
    OrganisationKind,
    OrganisationStaff,
    OrganisationStreet,
    ServiceContract,
    Street,
)

ADMINS = frozenset({Role.ADMIN})


class _Keyed(Protocol):
    id: int


M = TypeVar("M", bound=_Keyed)


async def visible_one(session: AsyncSession, model: type[M], key: int, condition: ColumnElement[bool], label: str) -> M:
    """One record the principal may see, or NotFound (the same answer whether it is missing or out of scope)."""
    record = (await session.execute(select(model).where(col(model.id) == key, condition))).scalar_one_or_none()
    if record is None:
        raise NotFound(label, key)
    return record


async def _ensure_unique(session: AsyncSession, model: type[SQLModel], label: str, **values: Any) -> None:
    for column, value in values.items():
        if (await session.execute(select(getattr(model, column)).where(getattr(model, column) == value))).first():
            raise Conflict(f"a {label} with {column} {value} is already registered", zh=f"“{value}”已被另一条记录登记，不能重复", field=column)


def _apply(record: SQLModel, data: Any, fields: tuple[str, ...]) -> None:
    for name in fields:
        value = getattr(data, name)
        if value is not None:
            setattr(record, name, value)


def _checked_credit_code(code: str) -> str:
    problem = credit_code_problem(code)
    if problem:
        raise InvalidInput(f"credit_code: {problem}", zh=f"统一社会信用代码“{code}”无效：{credit_code_problem_zh(code)}", field="credit_code")
    return code


# Streets


async def list_streets(session: AsyncSession, actor: Principal, paging: PageRequest) -> tuple[list[Street], int]:
    """The district's streets: a directory every logged-in user may read."""
    return await fetch_page(session, select(Street).order_by(col(Street.id)), paging)


async def get_street(session: AsyncSession, actor: Principal, street_id: int) -> Street:
    street = await session.get(Street, street_id)
    if street is None:
        raise NotFound("street", street_id)
    return street


async def create_street(session: AsyncSession, actor: Principal, data: schemas.StreetCreate) -> Street:
    require_role(actor, ADMINS, "registering streets")
    await _ensure_unique(session, Street, "street", code=data.code, name=data.name)
    street = Street(code=data.code, name=data.name)
    session.add(street)
    await session.flush()
    record_change(session, actor, "street.created", "street", street.id, after=snapshot(street))
    await session.flush()
    return street


async def update_street(session: AsyncSession, actor: Principal, street_id: int, data: schemas.StreetUpdate) -> Street:
    require_role(actor, ADMINS, "changing streets")
    street = await get_street(session, actor, street_id)
    before = snapshot(street)
    if data.name is not None and data.name != street.name:
        await _ensure_unique(session, Street, "street", name=data.name)
    _apply(street, data, ("name",))
    record_change(session, actor, "street.updated", "street", street.id, before=before, after=snapshot(street))
    await session.flush()
    return street


# Communities


async def community_rows(session: AsyncSession, communities: list[Community]) -> list[schemas.CommunityOut]:
    names = dict((await session.execute(select(col(Street.id), col(Street.name)))).all())
    return [
        schemas.CommunityOut(
            id=c.id or 0, code=c.code, name=c.name, street_id=c.street_id, street_name=names[c.street_id], households=c.households
        )
        for c in communities
    ]


async def list_communities(
    session: AsyncSession, actor: Principal, paging: PageRequest, street_id: int | None = None
) -> tuple[list[Community], int]:
    query = select(Community).where(visible_communities(actor)).order_by(col(Community.id))
    if street_id is not None:
        query = query.where(col(Community.street_id) == street_id)
    return await fetch_page(session, query, paging)


async def visible_street_ids(session: AsyncSession, actor: Principal) -> set[int]:
    """The streets holding a community `actor` can see (every street for the district; one for a director)."""
    return set((await session.execute(select(col(Community.street_id)).where(visible_communities(actor)).distinct())).scalars())


async def get_community(session: AsyncSession, actor: Principal, community_id: int) -> Community:
    return await visible_one(session, Community, community_id, visible_communities(actor), "community")


async def create_community(session: AsyncSession, actor: Principal, data: schemas.CommunityCreate) -> Community:
    require_role(actor, ADMINS, "registering communities")
    await get_street(session, actor, data.street_id)
    await _ensure_unique(session, Community, "community", code=data.code)
    community = Community(code=data.code, name=data.name, street_id=data.street_id, households=data.households)
    session.add(community)
    await session.flush()
    record_change(session, actor, "community.created", "community", community.id, after=snapshot(community))
    await session.flush()
    return community


async def update_community(
    session: AsyncSession, actor: Principal, community_id: int, data: schemas.CommunityUpdate
) -> Community:
    require_role(actor, ADMINS, "changing communities")
    community = await get_community(session, actor, community_id)
    before = snapshot(community)
    _apply(community, data, ("name", "households"))
    record_change(session, actor, "community.updated", "community", community.id, before=before, after=snapshot(community))
    await session.flush()
    return community


# Estates


async def estate_rows(session: AsyncSession, estates: list[Estate]) -> list[schemas.EstateOut]:
    """Estates with their community, street and the contract in force today."""
    if not estates:
        return []
    places = {
        cid: (cname, sid, sname)
        for cid, cname, sid, sname in (
            await session.execute(
                select(col(Community.id), col(Community.name), col(Street.id), col(Street.name))
                .join(Street, col(Street.id) == col(Community.street_id))
                .where(col(Community.id).in_({e.community_id for e in estates}))
            )
        )
    }
    current = {
        estate_id: (term.contract_id, term.company_id)
        for estate_id, term in (await contractors_on(session, [e.id or 0 for e in estates], business_today())).items()
    }
    rows = []
    for e in estates:
        cname, sid, sname = places[e.community_id]
        contract_id, company_id = current.get(e.id, (None, None))
        rows.append(
            schemas.EstateOut(
                id=e.id or 0,
                code=e.code,
                name=e.name,
                address=e.address,
                community_id=e.community_id,
                community_name=cname,
                street_id=sid,
                street_name=sname,
                floor_area_centi_m2=e.floor_area_centi_m2,
                floor_area_m2=format_area(e.floor_area_centi_m2),
                households=e.households,
                buildings=e.buildings,
                management_mode=e.management_mode,
                entered_on=e.entered_on,
                left_on=e.left_on,
                company_id=company_id,
                contract_id=contract_id,
            )
        )
    return rows


async def list_estates(
    session: AsyncSession,
    actor: Principal,
    paging: PageRequest,
    *,
    street_id: int | None = None,
    community_id: int | None = None,
    company_id: int | None = None,
    search: str | None = None,
) -> tuple[list[Estate], int]:
    query = select(Estate).where(visible_estates(actor)).order_by(Estate.code)
    if street_id is not None:
        query = query.where(col(Estate.community_id).in_(select(col(Community.id)).where(col(Community.street_id) == street_id)))
    if community_id is not None:
        query = query.where(col(Estate.community_id) == community_id)
    if company_id is not None:
        query = query.where(col(Estate.id).in_(estates_under_contract(business_today(), company_id)))
    if search:
        pattern = f"%{search}%"
        query = query.where(or_(col(Estate.name).like(pattern), col(Estate.code).like(pattern), col(Estate.address).like(pattern)))
    return await fetch_page(session, query, paging)


async def get_estate(session: AsyncSession, actor: Principal, estate_id: int) -> Estate:
    return await visible_one(session, Estate, estate_id, visible_estates(actor), "estate")


def _check_estate_dates(estate: Estate) -> None:
    if estate.left_on is not None and estate.left_on < estate.entered_on:
        raise RuleViolation(
            f"left_on ({estate.left_on}) is before entered_on ({estate.entered_on}): an estate leaves after it entered",
            zh=f"退出日期（{estate.left_on}）早于进入长效管理日期（{estate.entered_on}）", field="left_on",
        )


async def create_estate(session: AsyncSession, actor: Principal, data: schemas.EstateCreate) -> Estate:
    require_role(actor, ADMINS, "registering estates")
    await get_community(session, actor, data.community_id)
    await _ensure_unique(session, Estate, "estate", code=data.code)
    estate = Estate(
        code=data.code,
        name=data.name,
        address=data.address,
        community_id=data.community_id,
        floor_area_centi_m2=data.floor_area_centi_m2,
        households=data.households,
        buildings=data.buildings,
        management_mode=data.management_mode,
        entered_on=data.entered_on,
        left_on=data.left_on,
    )
    _check_estate_dates(estate)
    session.add(estate)
    await session.flush()
    record_change(session, actor, "estate.created", "estate", estate.id, after=snapshot(estate))
    await session.flush()
    return estate


# Boundaries

# What runs in the same transaction when an estate's boundary is set, changed or removed (estate id, when): the
# composition root names it (the evidence-integrity flags of the packages above re-evaluate the estate's records).
BoundaryListener = Callable[[AsyncSession, int, datetime], Awaitable[object]]
_boundary_listeners: list[BoundaryListener] = []


def on_boundary_change(listener: BoundaryListener) -> None:
    """The composition root names what re-evaluates an estate's records when its boundary changes (once: naming it
    again replaces it)."""
    _boundary_listeners[:] = [listener]


async def _boundary_changed(session: AsyncSession, estate_id: int) -> None:
    for listener in _boundary_listeners:
        await listener(session, estate_id, utc_now())


def boundary_out(estate_id: int, boundary: EstateBoundary | None) -> schemas.BoundaryOut:
    if boundary is None:
        return schemas.BoundaryOut(estate_id=estate_id, geometry=None, vertices=None, area_m2=None, set_at=None, set_by=None)
    return schemas.BoundaryOut(
        estate_id=estate_id, geometry=boundary.geometry, vertices=boundary.vertices, area_m2=boundary.area_m2, set_at=boundary.set_at, set_by=boundary.set_by
    )


async def get_boundary(session: AsyncSession, actor: Principal, estate_id: int) -> EstateBoundary | None:
    """The boundary of an estate the actor may see (None: none recorded)."""
    await get_estate(session, actor, estate_id)
    return await session.get(EstateBoundary, estate_id)


# A boundary file: one estate's outline is a few kilobytes; a map export of a whole district is refused.
MAX_BOUNDARY_FILE_BYTES = 2 * 1024 * 1024


def geojson_document(content: bytes) -> object:
    """A boundary file's GeoJSON, read as JSON (UTF-8); a file that is not one is refused, saying so."""
    if len(content) > MAX_BOUNDARY_FILE_BYTES:
        raise TooLarge(f"the boundary file has more than {MAX_BOUNDARY_FILE_BYTES} bytes; one estate's outline needs a few kilobytes", zh="边界文件过大（上限 2 MB），请只导出本区片的边界", field="boundary")
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInput(f"the boundary file is not GeoJSON (JSON in UTF-8): {error}", zh="文件不是 GeoJSON（UTF-8 编码的 JSON）", field="boundary") from None
    except RecursionError:  # arrays nested thousands deep: no outline is
        raise InvalidInput("the boundary file nests its arrays too deep to be an outline", zh="文件不是有效的区片边界（嵌套层数过多）", field="boundary") from None


async def set_boundary(session: AsyncSession, actor: Principal, estate_id: int, document: object, datum: Datum = Datum.WGS84) -> EstateBoundary:
    """Record (or replace) an estate's boundary from GeoJSON: a Polygon or MultiPolygon, or a Feature (or a
    FeatureCollection of one) holding it, as a file gives it. A bad outline is refused with what is wrong, and
    nothing is stored."""
    require_role(actor, ADMINS, "setting estates' boundaries")
    estate = await get_estate(session, actor, estate_id)
    try:
        geometry = parse_boundary(document, datum)
    except BoundaryError as error:
        # The body's shape was right (or the file was JSON): what it draws is not an estate's outline.
        raise RuleViolation(f"boundary: {error}", zh=error.zh, field="boundary") from None
    boundary = await session.get(EstateBoundary, estate_id)
    before = None if boundary is None else {"vertices": boundary.vertices, "area_m2": boundary.area_m2, "geometry": boundary.geometry}
    vertices = sum(len(ring) for polygon in ([geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]) for ring in polygon)
    if boundary is None:
        boundary = EstateBoundary(estate_id=estate.id or 0, geometry=geometry, vertices=0, area_m2=0, set_at=utc_now(), set_by=actor.label)
        session.add(boundary)
    boundary.geometry, boundary.vertices, boundary.area_m2 = geometry, vertices, boundary_area_m2(geometry)
    boundary.set_at, boundary.set_by_user_id, boundary.set_by = utc_now(), actor.user_id, actor.label
    await session.flush()
    record_change(
        session, actor, "estate.boundary_set", "estate", estate.id, before=before, after={"vertices": boundary.vertices, "area_m2": boundary.area_m2, "geometry": geometry}
    )
    await _boundary_changed(session, estate.id or 0)
    return boundary


async def clear_boundary(session: AsyncSession, actor: Principal, estate_id: int) -> None:
    """Remove an estate's boundary: its patrols are no longer measured against one (the standing outside-the-boundary
    flags of its records in unlocked months are cleared, saying so)."""
    require_role(actor, ADMINS, "removing estates' boundaries")
    estate = await get_estate(session, actor, estate_id)
    boundary = await session.get(EstateBoundary, estate_id)
    if boundary is None:
        raise NotFound("boundary of estate", estate_id)
    record_change(session, actor, "estate.boundary_removed", "estate", estate.id, before={"vertices": boundary.vertices, "area_m2": boundary.area_m2, "geometry": boundary.geometry})
    await session.delete(boundary)
    await session.flush()
    await _boundary_changed(session, estate.id or 0)


ESTATE_FIELDS = ("name", "address", "floor_area_centi_m2", "households", "buildings", "management_mode", "entered_on", "left_on")


async def update_estate(session: AsyncSession, actor: Principal, estate_id: int, data: schemas.EstateUpdate) -> Estate:
    """Change an estate's registered facts. The floor area earns money, so changing it needs a reason."""
    require_role(actor, ADMINS, "changing estates")
    estate = await get_estate(session, actor, estate_id)
    before = snapshot(estate)
    if data.floor_area_centi_m2 is not None and data.floor_area_centi_m2 != estate.floor_area_centi_m2 and not data.reason:
        raise RuleViolation("reason: changing the floor area changes the subsidy; say why (e.g. the survey it comes from)", zh="修改面积会改变补贴金额，请填写修改原因（如依据的测量报告）")
    _apply(estate, data, ESTATE_FIELDS)
    _check_estate_dates(estate)
    record_change(session, actor, "estate.updated", "estate", estate.id, before=before, after=snapshot(estate), reason=data.reason)
    await session.flush()
    return estate


# Companies and organisations


async def list_companies(
    session: AsyncSession, actor: Principal, paging: PageRequest, search: str | None = None
) -> tuple[list[Company], int]:
    query = select(Company).where(visible_companies(actor)).order_by(col(Company.id))
    if search:
        query = query.where(or_(col(Company.name).like(f"%{search}%"), col(Company.credit_code) == search))
    return await fetch_page(session, query, paging)


async def get_company(session: AsyncSession, actor: Principal, company_id: int) -> Company:
    return await visible_one(session, Company, company_id, visible_companies(actor), "company")


def _bank_complete(company: Company) -> None:
    """A payee's bank and account go together: a payment cannot be made to one without the other."""
    if bool(company.bank_name) != bool(company.bank_account):
        raise RuleViolation(
            "bank_name and bank_account go together: give both (or neither)", zh="开户银行和银行账号须同时填写", field="bank_account" if company.bank_name else "bank_name"
        )


async def create_company(session: AsyncSession, actor: Principal, data: schemas.CompanyCreate) -> Company:
    require_role(actor, ADMINS, "registering companies")
    _checked_credit_code(data.credit_code)
    await _ensure_unique(session, Company, "company", credit_code=data.credit_code, name=data.name)
    company = Company(
        name=data.name,
        credit_code=data.credit_code,
        legal_representative=data.legal_representative or "",
        phone=data.phone,
        address=data.address,
        bank_name=data.bank_name.strip(),
        bank_account=" ".join(data.bank_account.split()),
    )
    _bank_complete(company)
    session.add(company)
    await session.flush()
    record_change(session, actor, "company.created", "company", company.id, after=snapshot(company))
    await session.flush()
    return company


async def update_company(session: AsyncSession, actor: Principal, company_id: int, data: schemas.CompanyUpdate) -> Company:
    require_role(actor, ADMINS, "changing companies")
    company = await get_company(session, actor, company_id)
    before = snapshot(company)
    if data.name is not None and data.name != company.name:
        await _ensure_unique(session, Company, "company", name=data.name)
    _apply(company, data, ("name", "legal_representative", "phone", "address", "bank_name", "bank_account"))
    company.bank_name, company.bank_account = company.bank_name.strip(), " ".join(company.bank_account.split())
    _bank_complete(company)
    record_change(session, actor, "company.updated", "company", company.id, before=before, after=snapshot(company))
    await session.flush()
    return company


async def list_organisations(
    session: AsyncSession, actor: Principal, paging: PageRequest, kind: str | None = None
) -> tuple[list[Organisation], int]:
    query = select(Organisation).where(visible_organisations(actor)).order_by(col(Organisation.id))
    if kind is not None:
        query = query.where(col(Organisation.kind) == kind)
    return await fetch_page(session, query, paging)


async def get_organisation(session: AsyncSession, actor: Principal, organisation_id: int) -> Organisation:
    return await visible_one(session, Organisation, organisation_id, visible_organisations(actor), "organisation")


def _social_particulars(kind: OrganisationKind, data: schemas.OrganisationCreate | schemas.OrganisationUpdate, standing: object) -> None:
    """A social organisation says whether it is registered (登记) or filed (备案); a firm has no standing, streets
    or legal representative here."""
    if kind is OrganisationKind.SOCIAL_ORG:
        if standing is None:
            raise RuleViolation("a social organisation is registered (登记) or filed (备案): give standing", field="standing", zh="社会组织须注明登记或备案")
    elif standing is not None or data.street_ids:
        raise RuleViolation("only a social organisation has a standing and streets it serves", zh="只有社会组织需要填写登记类型和服务街道", field="standing")


async def _replace_streets_and_staff(
    session: AsyncSession, organisation: Organisation, street_ids: list[int] | None, staff: list[schemas.StaffIn] | None
) -> None:
    if street_ids is not None:
        wanted = sorted(set(street_ids))
        known = set((await session.execute(select(col(Street.id)).where(col(Street.id).in_(wanted)))).scalars())
        if missing := [i for i in wanted if i not in known]:
            raise NotFound("street", missing[0])
        for row in (await session.execute(select(OrganisationStreet).where(col(OrganisationStreet.organisation_id) == organisation.id))).scalars():
            await session.delete(row)
        await session.flush()
        session.add_all(OrganisationStreet(organisation_id=organisation.id, street_id=i) for i in wanted)
    if staff is not None:
        names = [member.name.strip() for member in staff]
        if len(set(names)) != len(names):
            raise RuleViolation("staff: each member is listed once (by name)", zh="工作人员姓名重复，每人只列一次", field="staff")
        for member_row in (await session.execute(select(OrganisationStaff).where(col(OrganisationStaff.organisation_id) == organisation.id))).scalars():
            await session.delete(member_row)
        await session.flush()
        try:
            async with session.begin_nested():
                session.add_all(
                    OrganisationStaff(organisation_id=organisation.id, name=m.name.strip(), position=m.position, user_id=m.user_id) for m in staff
                )
                await session.flush()
        except IntegrityError:
            raise NotFound("user", ", ".join(str(m.user_id) for m in staff if m.user_id is not None)) from None
    await session.flush()


async def organisation_out(session: AsyncSession, organisation: Organisation) -> schemas.OrganisationOut:
    streets = (
        await session.execute(
            select(col(OrganisationStreet.street_id)).where(col(OrganisationStreet.organisation_id) == organisation.id).order_by(col(OrganisationStreet.street_id))
        )
    ).scalars()
    return schemas.OrganisationOut(
        id=organisation.id, name=organisation.name, kind=OrganisationKind(organisation.kind), credit_code=organisation.credit_code,
        phone=organisation.phone, standing=organisation.standing, legal_representative=organisation.legal_representative,
        address=organisation.address, street_ids=list(streets),
    )


async def organisation_staff(session: AsyncSession, actor: Principal, organisation_id: int) -> list[schemas.StaffOut]:
    """The staff of an organisation: for the district's administrators and the organisation itself (names are
    personal data)."""
    if actor.role not in ADMINS and actor.organisation_id != organisation_id:
        raise NotFound("organisation", organisation_id)
    await get_organisation(session, actor, organisation_id)
    rows = (
        await session.execute(select(OrganisationStaff).where(col(OrganisationStaff.organisation_id) == organisation_id).order_by(col(OrganisationStaff.id)))
    ).scalars()
    return [schemas.StaffOut(id=r.id, name=r.name, position=r.position, user_id=r.user_id) for r in rows]


async def create_organisation(session: AsyncSession, actor: Principal, data: schemas.OrganisationCreate) -> Organisation:
    require_role(actor, ADMINS, "registering organisations")
    _checked_credit_code(data.credit_code)
    _social_particulars(data.kind, data, data.standing)
    await _ensure_unique(session, Organisation, "organisation", credit_code=data.credit_code, name=data.name)
    organisation = Organisation(
        name=data.name, kind=data.kind, credit_code=data.credit_code, phone=data.phone, standing=data.standing,
        legal_representative=data.legal_representative or "", address=data.address,
    )
    session.add(organisation)
    await session.flush()
    await _replace_streets_and_staff(session, organisation, data.street_ids, data.staff)
    record_change(
        session, actor, "organisation.created", "organisation", organisation.id,
        after=snapshot(organisation) | {"street_ids": sorted(set(data.street_ids)), "staff": len(data.staff)},
    )
    await session.flush()
    return organisation


async def update_organisation(
    session: AsyncSession, actor: Principal, organisation_id: int, data: schemas.OrganisationUpdate
) -> Organisation:
    require_role(actor, ADMINS, "changing organisations")
    organisation = await get_organisation(session, actor, organisation_id)
    _social_particulars(OrganisationKind(organisation.kind), data, organisation.standing)
    before = snapshot(organisation)
    if data.name is not None and data.name != organisation.name:
        await _ensure_unique(session, Organisation, "organisation", name=data.name)
    _apply(organisation, data, ("name", "phone", "legal_representative", "address"))
    await _replace_streets_and_staff(session, organisation, data.street_ids, data.staff)
    record_change(
        session, actor, "organisation.updated", "organisation", organisation.id, before=before, after=snapshot(organisation)
    )
    await session.flush()
    return organisation


# Summary


async def registry_summary(session: AsyncSession, actor: Principal) -> schemas.RegistrySummary:
    """Counts and total managed floor area within what the principal may see, as of today."""
    today = business_today()
    communities = (await session.execute(select(func.count()).select_from(Community).where(visible_communities(actor)))).scalar_one()
    # The district sees every street; others the streets of the communities they see (an officer: theirs).
    seen_streets = select(col(Community.street_id)).where(visible_communities(actor))
    street_scope = true() if actor.scope is ScopeKind.DISTRICT else col(Street.id).in_(seen_streets)
    streets = (await session.execute(select(func.count()).select_from(Street).where(street_scope))).scalar_one()
    estates, area, households = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Estate.floor_area_centi_m2), 0), func.coalesce(func.sum(Estate.households), 0))
            .where(visible_estates(actor), managed_on(today))
        )
    ).one()
    companies = (await session.execute(select(func.count()).select_from(Company).where(visible_companies(actor)))).scalar_one()
    active_contracts = (
        await session.execute(
            select(func.count()).select_from(ServiceContract).where(visible_contracts(actor), contract_in_force(today))
        )
    ).scalar_one()
    under_contract = (
        await session.execute(
            select(func.count()).select_from(Estate).where(visible_estates(actor), col(Estate.id).in_(estates_under_contract(today)))
        )
    ).scalar_one()
    return schemas.RegistrySummary(
        streets=int(streets),
        communities=int(communities),
        estates=int(estates),
        companies=int(companies),
        active_contracts=int(active_contracts),
        estates_under_contract=int(under_contract),
        floor_area_centi_m2=int(area),
        floor_area_m2=format_area(int(area)),
        households=int(households),
    )
