"""Use cases of the district's yearly catalogue of bought services (政府购买服务项目目录): drafts, items that take
up the proposals the streets included or forwarded, publication; a published version never changes, a correction
is the next version. Each function is one use case inside the caller's transaction (flush only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community.needs import schemas
from community.needs.rules import CATALOGUE_STATES, CatalogueState
from community.needs.service import DISTRICT, LARGEST_KEY, needs_rules
from community.needs.tables import Catalogue, CatalogueItem, CatalogueItemProposal, Proposal
from foundation.access import Principal, ScopeKind, require_role
from foundation.audit import record_change, snapshot
from foundation.clock import utc_now
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.notifications import settle
from registry import queries as registry_queries


async def _catalogue(session: AsyncSession, catalogue_id: int, *, hold: bool = False) -> Catalogue:
    query = select(Catalogue).where(col(Catalogue.id) == catalogue_id)
    catalogue = (await session.execute(query.with_for_update() if hold else query)).scalar_one_or_none()
    if catalogue is None:
        raise NotFound("catalogue", catalogue_id)
    return catalogue


def _catalogue_reader(actor: Principal) -> None:
    if not actor.is_staff:
        raise PermissionDenied("the catalogue is read by district, street and community staff", zh="项目目录仅供区、街道和社区工作人员查看")


async def get_catalogue(session: AsyncSession, actor: Principal, catalogue_id: int) -> Catalogue:
    """One version; a draft only for the district (others see what is published)."""
    _catalogue_reader(actor)
    catalogue = await _catalogue(session, catalogue_id)
    if catalogue.state != CatalogueState.PUBLISHED and actor.scope is not ScopeKind.DISTRICT:
        raise NotFound("catalogue", catalogue_id)
    return catalogue


async def list_catalogues(session: AsyncSession, actor: Principal, *, year: int | None = None) -> list[Catalogue]:
    """Every version, newest first; others than the district see published versions only."""
    _catalogue_reader(actor)
    query = select(Catalogue).order_by(col(Catalogue.year).desc(), col(Catalogue.version).desc())
    if year is not None:
        query = query.where(col(Catalogue.year) == year)
    if actor.scope is not ScopeKind.DISTRICT:
        query = query.where(col(Catalogue.state) == CatalogueState.PUBLISHED)
    return list((await session.execute(query)).scalars())


async def _check_items(session: AsyncSession, catalogue_id: int, items: Sequence[schemas.CatalogueItemIn]) -> None:
    """Each item's category, street and proposals: proposals taken up by their street or forwarded to the district,
    of the item's street, and each in one item of the catalogue only."""
    rules = needs_rules()
    taken = set(
        (
            await session.execute(
                select(col(CatalogueItemProposal.proposal_id))
                .join(CatalogueItem, col(CatalogueItem.id) == col(CatalogueItemProposal.item_id))
                .where(col(CatalogueItem.catalogue_id) == catalogue_id)
            )
        ).scalars()
    )
    for n, item in enumerate(items, start=1):
        if item.category not in rules.categories:
            raise RuleViolation(f"item {n}: category must be one of {', '.join(rules.categories)}", zh=f"第 {n} 项：类别须为：{'、'.join(rules.categories)}", field="category")
        if item.street_id is not None and await registry_queries.street(session, item.street_id) is None:
            raise NotFound("street", item.street_id)
        if len(set(item.proposal_ids)) != len(item.proposal_ids):
            raise RuleViolation(f"item {n}: a proposal is listed twice", zh=f"第 {n} 项：同一提案列了两次", field="proposal_ids")
        for proposal_id in item.proposal_ids:
            # The OpenAPI document cannot say that list items are record ids, so an id out of their range is unknown.
            proposal = await session.get(Proposal, proposal_id) if 1 <= proposal_id <= LARGEST_KEY else None
            if proposal is None:
                raise NotFound("proposal", proposal_id)
            if proposal.state not in CATALOGUE_STATES:
                raise RuleViolation(
                    f"item {n}: proposal {proposal_id} is {proposal.state}; an item takes up proposals its street included or forwarded",
                    zh=f"第 {n} 项：提案 #{proposal_id} 未被街道纳入或转报区级，不能列入目录",
                    field="proposal_ids",
                )
            if item.street_id is not None and proposal.street_id != item.street_id:
                raise RuleViolation(f"item {n}: proposal {proposal_id} belongs to another street than the item", zh=f"第 {n} 项：提案 #{proposal_id} 不属于该项目的街道", field="proposal_ids")
            if proposal_id in taken:
                raise RuleViolation(f"item {n}: proposal {proposal_id} is already in another item of this catalogue", zh=f"第 {n} 项：提案 #{proposal_id} 已列入本目录的其他项目", field="proposal_ids")
            taken.add(proposal_id)


async def _add_items(session: AsyncSession, catalogue: Catalogue, items: Sequence[schemas.CatalogueItemIn]) -> None:
    position = (await session.execute(select(func.coalesce(func.max(col(CatalogueItem.position)), 0)).where(col(CatalogueItem.catalogue_id) == catalogue.id))).scalar_one()
    for item in items:
        position += 1
        row = CatalogueItem(
            catalogue_id=catalogue.id, position=position, title=item.title.strip(), category=item.category, budget_fen=item.budget_fen,
            street_id=item.street_id, description=item.description.strip(),
        )
        session.add(row)
        await session.flush()
        session.add_all([CatalogueItemProposal(item_id=row.id, proposal_id=p) for p in item.proposal_ids])
        for proposal_id in item.proposal_ids:  # a forwarded proposal taken up: the district has answered it
            await settle(session, f"proposal-forwarded|{proposal_id}")
    await session.flush()


async def create_catalogue(session: AsyncSession, actor: Principal, data: schemas.CatalogueIn, now: datetime | None = None) -> Catalogue:
    """The district starts the next version of a year's catalogue, as a draft (a correction of a published one is
    such a version: the published one stays as it was)."""
    now = now or utc_now()
    require_role(actor, DISTRICT, "drafting the catalogue")
    versions = (await session.execute(select(Catalogue).where(col(Catalogue.year) == data.year).with_for_update())).scalars().all()
    draft = next((c for c in versions if c.state == CatalogueState.DRAFT), None)
    if draft is not None:
        raise Conflict(f"version {draft.version} of {data.year} is still a draft (catalogue {draft.id}); publish or complete it first", zh=f"{data.year} 年目录第 {draft.version} 版尚未发布，请先完成该草稿")
    catalogue = Catalogue(
        year=data.year, version=1 + max((c.version for c in versions), default=0), state=CatalogueState.DRAFT, note=data.note.strip(), created_at=now, created_by=actor.label
    )
    session.add(catalogue)
    await session.flush()
    await _check_items(session, catalogue.id, data.items)
    await _add_items(session, catalogue, data.items)
    record_change(session, actor, "catalogue.drafted", "catalogue", catalogue.id, after=snapshot(catalogue) | {"items": len(data.items)})
    await session.flush()
    return catalogue


async def add_catalogue_item(session: AsyncSession, actor: Principal, catalogue_id: int, item: schemas.CatalogueItemIn) -> Catalogue:
    """Add an item to a draft; a published catalogue does not change."""
    require_role(actor, DISTRICT, "changing the catalogue")
    catalogue = await _catalogue(session, catalogue_id, hold=True)
    if catalogue.state != CatalogueState.DRAFT:
        raise Conflict(
            f"catalogue {catalogue.year} version {catalogue.version} is published and does not change; a correction is a new version (POST /api/community/catalogues)",
            zh=f"{catalogue.year} 年目录第 {catalogue.version} 版已发布，不能修改；如需更正，请新建下一版",
        )
    await _check_items(session, catalogue_id, [item])
    await _add_items(session, catalogue, [item])
    record_change(session, actor, "catalogue.item_added", "catalogue", catalogue.id, after={"title": item.title, "category": item.category, "budget_fen": item.budget_fen, "street_id": item.street_id, "proposal_ids": item.proposal_ids})
    await session.flush()
    return catalogue


async def publish_catalogue(session: AsyncSession, actor: Principal, catalogue_id: int, now: datetime | None = None) -> Catalogue:
    """Publish a draft: from now on it is the year's catalogue and never changes."""
    now = now or utc_now()
    require_role(actor, DISTRICT, "publishing the catalogue")
    catalogue = await _catalogue(session, catalogue_id, hold=True)
    if catalogue.state != CatalogueState.DRAFT:
        raise Conflict(f"catalogue {catalogue_id} is already published", zh="该目录已发布")
    if not (await session.execute(select(func.count()).select_from(CatalogueItem).where(col(CatalogueItem.catalogue_id) == catalogue_id))).scalar_one():
        raise RuleViolation("a catalogue needs at least one item to be published", zh="目录至少要有一个项目才能发布")
    before = snapshot(catalogue)
    catalogue.state = CatalogueState.PUBLISHED
    catalogue.published_at = now
    catalogue.published_by = actor.label
    record_change(session, actor, "catalogue.published", "catalogue", catalogue.id, before=before, after=snapshot(catalogue))
    await session.flush()
    return catalogue


async def catalogue_out(session: AsyncSession, catalogue: Catalogue) -> schemas.CatalogueOut:
    items = (await session.execute(select(CatalogueItem).where(col(CatalogueItem.catalogue_id) == catalogue.id).order_by(col(CatalogueItem.position)))).scalars().all()
    links: dict[int, list[int]] = {i.id: [] for i in items}
    if items:
        for item_id, proposal_id in (
            await session.execute(
                select(col(CatalogueItemProposal.item_id), col(CatalogueItemProposal.proposal_id)).where(col(CatalogueItemProposal.item_id).in_(list(links))).order_by(col(CatalogueItemProposal.proposal_id))
            )
        ):
            links[item_id].append(proposal_id)
    streets = {s.id: s.name for s in await registry_queries.streets(session)}
    return schemas.CatalogueOut(
        id=catalogue.id, year=catalogue.year, version=catalogue.version, state=catalogue.state, note=catalogue.note, total_fen=sum(i.budget_fen for i in items),
        items=[
            schemas.CatalogueItemOut(
                id=i.id, position=i.position, title=i.title, category=i.category, budget_fen=i.budget_fen, street_id=i.street_id,
                street_name=streets.get(i.street_id) if i.street_id is not None else None, description=i.description, proposal_ids=links[i.id],
            )
            for i in items
        ],
        created_at=catalogue.created_at, created_by=catalogue.created_by, published_at=catalogue.published_at, published_by=catalogue.published_by,
    )
