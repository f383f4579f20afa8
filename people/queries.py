"""What other packages may ask of people without reading their tables."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import ROLE_NAMES, Principal, Role
from people.tables import User
from registry import queries as registry_queries


async def recipients(
    session: AsyncSession, role: Role, street_id: int | None = None, community_id: int | None = None, company_id: int | None = None, organisation_id: int | None = None
) -> list[int]:
    """The active accounts of `role`, within a street, community, company or organisation when one is given."""
    query = select(col(User.id)).where(col(User.role) == role.value, col(User.active).is_(True))
    if street_id is not None:
        query = query.where(col(User.street_id) == street_id)
    if community_id is not None:
        query = query.where(col(User.community_id) == community_id)
    if company_id is not None:
        query = query.where(col(User.company_id) == company_id)
    if organisation_id is not None:
        query = query.where(col(User.organisation_id) == organisation_id)
    return list((await session.execute(query.order_by(col(User.id)))).scalars())


async def principals_of_roles(session: AsyncSession, roles: Collection[Role]) -> list[Principal]:
    """The principals of the active accounts of `roles` (to ask which of them holds a part of something)."""
    rows = (await session.execute(select(User).where(col(User.role).in_([r.value for r in roles]), col(User.active).is_(True)).order_by(col(User.id)))).scalars()
    return [
        Principal(role=Role(u.role), user_id=u.id, username=u.username, street_id=u.street_id, community_id=u.community_id, company_id=u.company_id, organisation_id=u.organisation_id)
        for u in rows
    ]


@dataclass(frozen=True)
class UserInfo:
    id: int
    display_name: str
    role: Role
    organisation_id: int | None
    active: bool


async def users(session: AsyncSession, ids: Collection[int]) -> dict[int, UserInfo]:
    if not ids:
        return {}
    rows = (await session.execute(select(User).where(col(User.id).in_(list(ids))))).scalars()
    return {u.id: UserInfo(id=u.id, display_name=u.display_name, role=Role(u.role), organisation_id=u.organisation_id, active=u.active) for u in rows}


async def active_users_with_roles(session: AsyncSession, roles: Collection[Role], street_id: int | None = None) -> list[UserInfo]:
    """Active users of the given roles, by name; with `street_id`, those of a street (and those of no street, the
    district's own) only."""
    query = select(User).where(col(User.role).in_([r.value for r in roles]), col(User.active).is_(True))
    if street_id is not None:
        query = query.where((col(User.street_id) == street_id) | col(User.street_id).is_(None))
    rows = (await session.execute(query.order_by(col(User.role), col(User.display_name), col(User.id)))).scalars()
    return [UserInfo(id=u.id, display_name=u.display_name, role=Role(u.role), organisation_id=u.organisation_id, active=u.active) for u in rows]


async def communities_of(session: AsyncSession, ids: Sequence[int]) -> dict[int, int | None]:
    """The community of each user of `ids` (None for those above or outside a community): where their notices go."""
    if not ids:
        return {}
    rows = await session.execute(select(col(User.id), col(User.community_id)).where(col(User.id).in_(list(ids))))
    return {row[0]: row[1] for row in rows}


async def organisation_users(session: AsyncSession, organisation_id: int) -> list[int]:
    """The active accounts of an organisation (its notices go to them)."""
    query = select(col(User.id)).where(col(User.organisation_id) == organisation_id, col(User.active).is_(True)).order_by(col(User.id))
    return list((await session.execute(query)).scalars())


async def principal_named(session: AsyncSession, username: str) -> Principal | None:
    """The principal of an active user, by username (for loaders and jobs acting as a known person)."""
    user = (await session.execute(select(User).where(col(User.username) == username, col(User.active).is_(True)))).scalar_one_or_none()
    if user is None:
        return None
    return Principal(
        role=Role(user.role), user_id=user.id, username=user.username, street_id=user.street_id, community_id=user.community_id,
        company_id=user.company_id, organisation_id=user.organisation_id,
    )
async def organisation_members(session: AsyncSession, organisation_id: int, role: Role = Role.SOCIAL_ORG) -> list[int]:
    """The active users who work for an organisation (e.g. a care provider's staff)."""
    query = select(col(User.id)).where(col(User.role) == role.value, col(User.active).is_(True), col(User.organisation_id) == organisation_id)
    return list((await session.execute(query.order_by(col(User.id)))).scalars())


@dataclass(frozen=True)
class SocialWorker:
    id: int
    display_name: str
    role: Role
    community_id: int | None
    specialism: str | None
    active: bool


async def social_workers(session: AsyncSession, community_id: int | None = None, ids: Collection[int] | None = None) -> list[SocialWorker]:
    """Work-station social workers (社区物业社工, 社区老龄社工) of a community, or those with the given ids whatever
    their role (so a caller can tell who is not one), with their specialism."""
    query = select(User)
    if ids is not None:
        query = query.where(col(User.id).in_(list(ids)))
    else:
        query = query.where(col(User.role).in_([Role.COMMUNITY_WORKER.value, Role.CARE_WORKER.value]), col(User.active).is_(True))
    if community_id is not None:
        query = query.where(col(User.community_id) == community_id)
    rows = (await session.execute(query.order_by(col(User.id)))).scalars()
    return [SocialWorker(id=u.id, display_name=u.display_name, role=Role(u.role), community_id=u.community_id, specialism=u.specialism, active=u.active) for u in rows]


@dataclass(frozen=True)
class UserParticulars:
    """An account as registered (never its password), compared field by field when a spreadsheet names it again."""

    id: int
    username: str
    display_name: str
    role: Role
    street_id: int | None
    community_id: int | None
    company_id: int | None
    organisation_id: int | None
    specialism: str | None


async def users_named(session: AsyncSession, usernames: Collection[str]) -> dict[str, UserParticulars]:
    """The accounts among `usernames`, active or not, by username."""
    ordered = sorted(set(usernames))
    found: dict[str, UserParticulars] = {}
    for start in range(0, len(ordered), 900):  # under SQLite's bound-parameter limit
        for u in (await session.execute(select(User).where(col(User.username).in_(ordered[start : start + 900])))).scalars():
            found[u.username] = UserParticulars(u.id, u.username, u.display_name, Role(u.role), u.street_id, u.community_id, u.company_id, u.organisation_id, u.specialism)
    return found


def post_of(role: Role, street: str | None = None, community: str | None = None, organisation: str | None = None) -> str:
    """A person's post as a reader names it: the role with the unit it serves ('小白楼街道办', '树德里社区居委会主任'),
    a company's or a firm's staff by the company or firm; the role alone for the district's own posts."""
    title = ROLE_NAMES[role]
    if role in (Role.STREET_OFFICER, Role.STREET_WORKER) and street:
        return f"{street.removesuffix('街道')}{title}"
    if role in (Role.COMMUNITY_WORKER, Role.CARE_WORKER, Role.COMMITTEE_DIRECTOR, Role.VOLUNTEER) and community:
        return f"{community.removesuffix('社区')}社区{title.removeprefix('社区')}"
    if role in (Role.COMPANY, Role.INSPECTOR, Role.SOCIAL_ORG) and organisation:
        return organisation
    return title


async def account_names(session: AsyncSession, usernames: Collection[str]) -> dict[str, tuple[str, str]]:
    """The name and post of each account among `usernames` (username → (display name, post with its unit)), active or
    not: how pages and documents name who did something. A name and a post only: nothing else of a person leaves
    here. An account whose name is its username (none given) has an empty name."""
    ordered = sorted(set(usernames))
    rows: list[User] = []
    for start in range(0, len(ordered), 900):  # under SQLite's bound-parameter limit
        rows += (await session.execute(select(User).where(col(User.username).in_(ordered[start : start + 900])))).scalars()
    if not rows:
        return {}
    streets = {s.id: s.name for s in await registry_queries.streets(session)}
    communities = await registry_queries.communities(session, {u.community_id for u in rows if u.community_id is not None})
    companies = await registry_queries.companies(session, {u.company_id for u in rows if u.company_id is not None})
    organisations = await registry_queries.organisations(session, {u.organisation_id for u in rows if u.organisation_id is not None})
    found: dict[str, tuple[str, str]] = {}
    for u in rows:
        community = communities.get(u.community_id) if u.community_id is not None else None
        street_id = u.street_id if u.street_id is not None else (community.street_id if community else None)
        company = companies.get(u.company_id) if u.company_id is not None else None
        organisation = organisations.get(u.organisation_id) if u.organisation_id is not None else None
        unit = company.name if company else organisation.name if organisation else None
        post = post_of(Role(u.role), streets.get(street_id) if street_id is not None else None, community.name if community else None, unit)
        name = u.display_name.strip()
        found[u.username] = ("" if name == u.username else name, post)
    return found


async def active_accounts(session: AsyncSession) -> int:
    """How many accounts can log in."""
    return int((await session.execute(select(func.count()).where(col(User.active).is_(True)))).scalar_one())
