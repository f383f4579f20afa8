"""What other packages may read of the volunteers: who is in a community's teams (never their personal data)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community.volunteers.tables import VolunteerTeam, VolunteerTeamMember


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
