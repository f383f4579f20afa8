"""What other packages may read of delivery: the committees a contracted project was delegated to, and the photos of
its activities (for the evidence's visibility rule)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community.delivery.rules import ACCEPTED
from community.delivery.tables import Activity, ActivityPhoto, Delegation, DeliveryProject
from foundation.access import Principal, Role
from inspections.scope import shows_attachments


async def delegated_communities(session: AsyncSession, contract_id: int) -> set[int]:
    """The communities whose committee accepted the delegation (to carry out or to assist) of the project registered
    for `contract_id`: those that work on it, and so collect its beneficiaries' surveys."""
    query = (
        select(col(Delegation.community_id))
        .join(DeliveryProject, col(DeliveryProject.id) == col(Delegation.project_id))
        .where(col(DeliveryProject.contract_id) == contract_id, col(Delegation.status) == ACCEPTED)
    )
    return {int(c) for c in (await session.execute(query)).scalars()}


# Who sees an activity's photos: the project's buyer (the district's administrators, the street's officers), its
# organisation's staff, and the staff (director, social workers) of a community it was delegated to; nobody else (a
# photo may show residents).
PHOTO_READERS = frozenset({Role.ADMIN, Role.STREET_OFFICER, Role.SOCIAL_ORG, Role.COMMITTEE_DIRECTOR, Role.COMMUNITY_WORKER, Role.CARE_WORKER})


def projects_with_photos_for(p: Principal) -> Select[Any] | None:
    """The ids of the projects whose activity photos `p` may see, or None for none."""
    if p.role not in PHOTO_READERS:
        return None
    query = select(col(DeliveryProject.id))
    if p.role is Role.ADMIN:
        return query
    if p.role is Role.STREET_OFFICER:
        return query.where(col(DeliveryProject.street_id) == p.street_id) if p.street_id is not None else None
    if p.role is Role.SOCIAL_ORG:
        return query.where(col(DeliveryProject.organisation_id) == p.organisation_id) if p.organisation_id is not None else None
    if p.community_id is None:
        return None
    return select(col(Delegation.project_id)).where(col(Delegation.community_id) == p.community_id)


@shows_attachments
def _activity_photos(p: Principal) -> list[Select[Any]]:
    projects = projects_with_photos_for(p)
    if projects is None:
        return []
    return [select(col(ActivityPhoto.attachment_id)).join(Activity, col(Activity.id) == col(ActivityPhoto.activity_id)).where(col(Activity.project_id).in_(projects))]
