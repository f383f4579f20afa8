"""API routes of residents' needs, consultation meetings, proposals and the catalogue (thin: parse, guard, call
one use case, shape the answer)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from community.needs import catalogue as catalogue_service
from community.needs import schemas, service
from community.needs.rules import NeedState, ProposalState
from foundation.access import Principal
from foundation.clock import business_today
from foundation.paging import Page, PageRequest
from foundation.periods import FIRST_YEAR, LAST_YEAR
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.params import OptionalId, RecordId
from foundation.web.problems import problem_responses

READ = problem_responses(400, 403, 404)
WRITE = problem_responses(400, 403, 404, 409, 422)
NeedStateQuery = Annotated[Literal["recorded", "deliberated", "approved", "proposed"] | None, QueryParameter(name="state")]
ProposalStateQuery = Annotated[Literal["waiting", "included", "merged", "returned", "forwarded"] | None, QueryParameter(name="state")]
YearQuery = Annotated[int | None, Parameter(ge=FIRST_YEAR, le=LAST_YEAR, description="A calendar year")]


class NeedsController(Controller):
    path = "/api/community"
    tags = ["community"]
    guards = [logged_in]

    @get("/needs/options", responses=READ)
    async def options(self) -> schemas.NeedOptionsOut:
        """The need categories and sources, and the consultation limits in force (config/needs.toml)."""
        rules = service.needs_rules()
        return schemas.NeedOptionsOut(
            categories=list(rules.categories), sources=list(rules.sources), quorum_share=str(float(rules.quorum_share)),
            majority_share=str(float(rules.majority_share)), answer_working_days=rules.answer_working_days,
        )

    @post("/needs", dto=StrictBody[schemas.NeedIn], return_dto=None, guards=[allow(service.DIRECTORS, "recording needs")], responses=WRITE, status_code=201)
    async def record_need(self, data: JSONBody[schemas.NeedIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[schemas.NeedOut]:
        """民生需求: the committee director records a need of their community. The same body with the same
        `client_id` again (a retry) answers 200 with the need already recorded; the same id with another body, 409."""
        stored = await service.record_need(db, principal, data)
        return Response(service.need_out(stored.row), status_code=200 if stored.replayed else 201)

    @get("/needs", responses=READ, guards=[allow(service.READERS, "reading needs")])
    async def needs(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], need_state: NeedStateQuery = None, community_id: OptionalId = None
    ) -> Page[schemas.NeedOut]:
        rows, total = await service.list_needs(db, principal, paging, state=NeedState(need_state) if need_state else None, community_id=community_id)
        return Page([service.need_out(n) for n in rows], total, paging.page, paging.page_size)

    @get("/needs/{need_id:int}", responses=READ, guards=[allow(service.READERS, "reading needs")])
    async def need(self, need_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.NeedOut:
        return service.need_out(await service.get_need(db, principal, need_id))

    @post("/meetings", dto=StrictBody[schemas.MeetingIn], return_dto=None, guards=[allow(service.DIRECTORS, "recording meetings")], responses=WRITE, status_code=201)
    async def record_meeting(self, data: JSONBody[schemas.MeetingIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[schemas.MeetingOut]:
        """A meeting of the 协商议事委员会 (deliberation) or the 居民代表大会 (assembly) with its attendance,
        minutes and its vote on each need. Refused (422, nothing stored) without a quorum: more than half the members
        present. A need passes with more than half of those present in favour: deliberated, then approved."""
        stored = await service.record_meeting(db, principal, data)
        return Response((await service.meeting_rows(db, [stored.row]))[0], status_code=200 if stored.replayed else 201)

    @get("/meetings", responses=READ, guards=[allow(service.READERS, "reading meetings")])
    async def meetings(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], need_id: OptionalId = None) -> Page[schemas.MeetingOut]:
        rows, total = await service.list_meetings(db, principal, paging, need_id=need_id)
        return Page(await service.meeting_rows(db, rows), total, paging.page, paging.page_size)

    @get("/meetings/{meeting_id:int}", responses=READ, guards=[allow(service.READERS, "reading meetings")])
    async def meeting(self, meeting_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.MeetingOut:
        return (await service.meeting_rows(db, [await service.get_meeting(db, principal, meeting_id)]))[0]

    @post("/proposals", dto=StrictBody[schemas.ProposalIn], return_dto=None, guards=[allow(service.DIRECTORS, "sending proposals")], responses=WRITE, status_code=201)
    async def send_proposal(self, data: JSONBody[schemas.ProposalIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[schemas.ProposalOut]:
        """逐层递交: send an approved need to the street, which answers within 10 working days (the due day is on
        the official calendar). A retry with the same `client_id` and body answers 200 with the proposal sent."""
        stored = await service.send_proposal(db, principal, data)
        return Response((await service.proposal_rows(db, [stored.row], business_today()))[0], status_code=200 if stored.replayed else 201)

    @get("/proposals", responses=READ, guards=[allow(service.READERS, "reading proposals")])
    async def proposals(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], proposal_state: ProposalStateQuery = None, overdue: FromQuery[bool] = False
    ) -> Page[schemas.ProposalOut]:
        """Proposals in your scope; `overdue=true` keeps those the street has not answered by their due day."""
        today = business_today()
        rows, total = await service.list_proposals(db, principal, paging, state=ProposalState(proposal_state) if proposal_state else None, overdue_on=today if overdue else None)
        return Page(await service.proposal_rows(db, rows, today), total, paging.page, paging.page_size)

    @get("/proposals/{proposal_id:int}", responses=READ, guards=[allow(service.READERS, "reading proposals")])
    async def proposal(self, proposal_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ProposalOut:
        return (await service.proposal_rows(db, [await service.get_proposal(db, principal, proposal_id)], business_today()))[0]

    @post("/proposals/{proposal_id:int}/answer", dto=StrictBody[schemas.ProposalAnswerIn], return_dto=None, status_code=200, guards=[allow(service.STREET, "answering proposals")], responses=WRITE)
    async def answer(self, proposal_id: RecordId, data: JSONBody[schemas.ProposalAnswerIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ProposalOut:
        """The street officer answers a proposal of their street, once: include, merge (with `merge_into_id`, a
        proposal of the same street), return (with a `reason`, back to the committee) or forward to the district."""
        proposal = await service.answer_proposal(db, principal, proposal_id, data)
        return (await service.proposal_rows(db, [proposal], business_today()))[0]

    @get("/catalogues", responses=READ)
    async def catalogues(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], year: YearQuery = None) -> list[schemas.CatalogueOut]:
        """政府购买服务项目目录: every version, newest first (drafts only for the district)."""
        return [await catalogue_service.catalogue_out(db, c) for c in await catalogue_service.list_catalogues(db, principal, year=year)]

    @post("/catalogues", dto=StrictBody[schemas.CatalogueIn], return_dto=None, status_code=201, guards=[allow(service.DISTRICT, "drafting the catalogue")], responses=WRITE)
    async def draft_catalogue(self, data: JSONBody[schemas.CatalogueIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CatalogueOut:
        """Start the next version of a year's catalogue as a draft, with its items (title, category, budget in fen,
        the street or the whole district, the proposals it takes up). A correction of a published version is this."""
        return await catalogue_service.catalogue_out(db, await catalogue_service.create_catalogue(db, principal, data))

    @get("/catalogues/{catalogue_id:int}", responses=READ)
    async def catalogue(self, catalogue_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CatalogueOut:
        return await catalogue_service.catalogue_out(db, await catalogue_service.get_catalogue(db, principal, catalogue_id))

    @post("/catalogues/{catalogue_id:int}/items", dto=StrictBody[schemas.CatalogueItemIn], return_dto=None, status_code=200, guards=[allow(service.DISTRICT, "changing the catalogue")], responses=WRITE)
    async def add_item(self, catalogue_id: RecordId, data: JSONBody[schemas.CatalogueItemIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CatalogueOut:
        """Add an item to a draft. A published catalogue does not change (409): a correction is a new version."""
        return await catalogue_service.catalogue_out(db, await catalogue_service.add_catalogue_item(db, principal, catalogue_id, data))

    @post("/catalogues/{catalogue_id:int}/publish", status_code=200, guards=[allow(service.DISTRICT, "publishing the catalogue")], responses=WRITE)
    async def publish(self, catalogue_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CatalogueOut:
        """Publish the draft: it becomes the year's catalogue in force and never changes."""
        return await catalogue_service.catalogue_out(db, await catalogue_service.publish_catalogue(db, principal, catalogue_id))


ROUTES = [NeedsController]
