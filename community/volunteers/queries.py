"""What other packages may read of the volunteers: who is in a community's teams (never their personal data)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community.volunteers.tables import Volunteer, VolunteerTeam, VolunteerTeamMember
from foundation.access import Principal, Role
from people import queries as people_queries

# Who may see a volunteer's name beside a project activity: the community's own staff.
ROSTER_READERS = frozenset({Role.COMMUNITY_WORKER, Role.CARE_WORKER, Role.COMMITTEE_DIRECTOR})


async def team_members(session: AsyncSession, community_id: int, volunteer_ids: Collection[int]) -> set[int]:
    """Those of `volunteer_ids` who are members of a volunteer team of `community_id`."""
    if not volunteer_ids:
        return set()
    query = (
        select(col(VolunteerTeamMember.volunteer_id))
        .join(VolunteerTeam, col(VolunteerTeam.id) == col(VolunteerTeamMember.team_id))
        .where(col(VolunteerTeam.community_id) == community_id, col(VolunteerTeamMember.volunteer_id).in_(list(volunteer_ids)))
    )
    return {int(v) for v in (await session.execute(query)).scalars()}


async def team_roster(session: AsyncSession, actor: Principal, community_id: int) -> list[tuple[int, str]]:
    """The volunteers of `community_id`'s teams (id, real name), for its own staff only (personal data: nobody else
    gets a name), by name."""
    if actor.role not in ROSTER_READERS or actor.community_id != community_id:
        return []
    query = (
        select(col(Volunteer.id), col(Volunteer.real_name))
        .join(VolunteerTeamMember, col(VolunteerTeamMember.volunteer_id) == col(Volunteer.id))
        .join(VolunteerTeam, col(VolunteerTeam.id) == col(VolunteerTeamMember.team_id))
        .where(col(VolunteerTeam.community_id) == community_id)
        .distinct()
        .order_by(col(Volunteer.real_name))
    )
    return [(int(i), str(name)) for i, name in await session.execute(query)]


@dataclass(frozen=True)
class VolunteerParticulars:
    """A registered volunteer as the spreadsheet import compares it (personal data: for their community's staff)."""

    id: int
    username: str
    community_id: int
    real_name: str
    phone: str
    skills: tuple[str, ...]
    checked: bool


async def volunteers_named(session: AsyncSession, usernames: Collection[str]) -> dict[str, VolunteerParticulars]:
    """The registered volunteers among the accounts `usernames`, by username."""
    accounts = {u.id: name for name, u in (await people_queries.users_named(session, list(usernames))).items()}
    if not accounts:
        return {}
    rows = (await session.execute(select(Volunteer).where(col(Volunteer.user_id).in_(list(accounts))))).scalars()
    return {
        accounts[v.user_id]: VolunteerParticulars(
            v.id, accounts[v.user_id], v.community_id, v.real_name, v.phone, tuple(s for s in v.skills.split("、") if s), v.checked_at is not None
        )
        for v in rows
    }
