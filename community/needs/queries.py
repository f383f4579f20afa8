"""What other packages (the calls, first) may ask of the needs pipeline without reading its tables: the items of
a year's published catalogue of bought services. Answers are frozen values, not table rows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community.needs.rules import CatalogueState
from community.needs.tables import Catalogue, CatalogueItem, CatalogueItemProposal

DISTRICT_BUYER = "district"
STREET_BUYER = "street"


@dataclass(frozen=True)
class CatalogueItemInfo:
    """A service the district buys in a year, as a call names it."""

    id: int
    year: int
    catalogue_version: int
    title: str
    category: str  # the need category in Chinese (养老, 助残, …)
    budget_fen: int
    buyer: str  # "street" (street_id set) or "district"
    street_id: int | None
    proposal_ids: tuple[int, ...]  # the residents' proposals the item answers


async def published_version(session: AsyncSession, year: int) -> int | None:
    """The version number of the year's catalogue in force (the latest published), or None."""
    version = (
        await session.execute(
            select(col(Catalogue.version)).where(col(Catalogue.year) == year, col(Catalogue.state) == CatalogueState.PUBLISHED).order_by(col(Catalogue.version).desc())
        )
    ).scalar()
    return int(version) if version is not None else None


async def catalogue_items(session: AsyncSession, year: int) -> list[CatalogueItemInfo]:
    """The items of the year's catalogue in force (its latest published version), in their order; [] before one is
    published."""
    catalogue = (
        await session.execute(
            select(Catalogue).where(col(Catalogue.year) == year, col(Catalogue.state) == CatalogueState.PUBLISHED).order_by(col(Catalogue.version).desc())
        )
    ).scalars().first()
    if catalogue is None:
        return []
    items = (await session.execute(select(CatalogueItem).where(col(CatalogueItem.catalogue_id) == catalogue.id).order_by(col(CatalogueItem.position)))).scalars().all()
    links: dict[int, list[int]] = {i.id: [] for i in items}
    if links:
        for item_id, proposal_id in await session.execute(
            select(col(CatalogueItemProposal.item_id), col(CatalogueItemProposal.proposal_id)).where(col(CatalogueItemProposal.item_id).in_(list(links))).order_by(col(CatalogueItemProposal.proposal_id))
        ):
            links[item_id].append(proposal_id)
    return [
        CatalogueItemInfo(
            id=i.id, year=catalogue.year, catalogue_version=catalogue.version, title=i.title, category=i.category, budget_fen=i.budget_fen,
            buyer=STREET_BUYER if i.street_id is not None else DISTRICT_BUYER, street_id=i.street_id, proposal_ids=tuple(links[i.id]),
        )
        for i in items
    ]


async def catalogue_item(session: AsyncSession, item_id: int, *, hold: bool = False) -> CatalogueItemInfo | None:
    """One item of a published catalogue (of any version), or None (unknown, or still a draft). `hold` locks the
    item's row until the transaction ends, so two calls opened at once against it are weighed one after the other."""
    catalogue_id = (await session.execute(select(col(CatalogueItem.catalogue_id)).where(col(CatalogueItem.id) == item_id))).scalar()
    if catalogue_id is None:
        return None
    catalogue = await session.get(Catalogue, catalogue_id)
    if catalogue is None or catalogue.state != CatalogueState.PUBLISHED:
        return None
    item = await session.get(CatalogueItem, item_id, with_for_update=hold)
    if item is None:
        return None
    proposal_ids = tuple((await session.execute(select(col(CatalogueItemProposal.proposal_id)).where(col(CatalogueItemProposal.item_id) == item_id).order_by(col(CatalogueItemProposal.proposal_id)))).scalars())
    return CatalogueItemInfo(
        id=item.id, year=catalogue.year, catalogue_version=catalogue.version, title=item.title, category=item.category, budget_fen=item.budget_fen,
        buyer=STREET_BUYER if item.street_id is not None else DISTRICT_BUYER, street_id=item.street_id, proposal_ids=proposal_ids,
    )
