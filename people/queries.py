"""What other packages may ask of people without reading their tables."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Role
from people.tables import User


async def recipients(session: AsyncSession, role: Role, street_id: int | None = None, community_id: int | None = None) -> list[int]:
    query = select(col(User.id)).where(col(User.role) == role.value, col(User.active).is_(True))
    if street_id is not None:
        query = query.where(col(User.street_id) == street_id)
    if community_id is not None:
        query = query.where(col(User.community_id) == community_id)
    return list((await session.execute(query.order_by(col(User.id)))).scalars())


async def organisation_members(session: AsyncSession, organisation_id: int, role: Role = Role.SOCIAL_ORG) -> list[int]:
    """The active users who work for an organisation (e.g. a care provider's staff)."""
    query = select(col(User.id)).where(col(User.role) == role.value, col(User.active).is_(True), col(User.organisation_id) == organisation_id)
    return list((await session.execute(query.order_by(col(User.id)))).scalars())
