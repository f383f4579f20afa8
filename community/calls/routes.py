"""API routes of calls, bids, the panel, awards, objections and contracts (thin: parse, guard, one use case)."""

from __future__ import annotations

from litestar import Controller, Response, Router, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from community.calls import programme, schemas, service
from community.calls.queries import call_row
from community.calls.service import BUYERS, OFFICIAL_PANEL_ROLES
from foundation.access import Principal, Role
from foundation.clock import utc_now
from foundation.storage import BlobStore
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.doors import two_doors
from foundation.web.params import RecordId, provide_store
from foundation.web.problems import problem_responses
from foundation.web.uploads import uploaded_file

READ = problem_responses(400, 403, 404)
WRITE = problem_responses(400, 403, 404, 409, 422)
BUYER = [allow(BUYERS, "running a call")]
ORGANISATION = [allow({Role.SOCIAL_ORG}, "bidding and objecting")]
PANEL = [allow({Role.PANEL_MEMBER, *OFFICIAL_PANEL_ROLES}, "evaluating")]
programme.register_tranches()


class CallController(Controller):
    """Calls (公益创投 / 竞争性谈判 / 公开招标), their bids (sealed until the deadline) and their evaluation."""

    path = "/api/calls"
    tags = ["calls"]
    guards = [logged_in]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @post("/", dto=StrictBody[schemas.CallCreate], return_dto=None, guards=BUYER, responses=WRITE)
    async def open_call(self, data: JSONBody[schemas.CallCreate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CallOut:
        now = utc_now()
        return await service.call_out(db, await service.open_call(db, principal, data, now), now)

    @get("/", responses=READ)
    async def list_calls(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.CallOut]:
        """Calls, newest first; an organisation sees those it may bid for and those it bid in."""
        now = utc_now()
        return [await service.call_out(db, c, now) for c in await service.list_calls(db, principal)]

    @get("/{call_id:int}", responses=READ)
    async def get_call(self, call_id: RecordId, db: NamedDependency[AsyncSession]) -> schemas.CallOut:
        return await service.call_out(db, await call_row(db, call_id), utc_now())

    @post("/{call_id:int}/repeat", dto=StrictBody[schemas.RepeatIn], return_dto=None, guards=BUYER, responses=WRITE)
    async def repeat_call(self, call_id: RecordId, data: JSONBody[schemas.RepeatIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CallOut:
        """Open a failed call again with a new deadline (a new call linked to the failed one)."""
        now = utc_now()
        return await service.call_out(db, await service.repeat_call(db, principal, call_id, data, now), now)

    @post("/{call_id:int}/bids", dto=StrictBody[schemas.BidIn], return_dto=None, guards=ORGANISATION, responses=WRITE)
    async def submit_bid(
        self, call_id: RecordId, data: JSONBody[schemas.BidIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]
    ) -> Response[schemas.BidOut]:
        """Submit (or replace) the organisation's bid for a lot before the deadline; a retry with the same client_id
        answers 200 with the bid already stored."""
        bid, replayed = await service.submit_bid(db, principal, store, call_id, data, utc_now())
        return Response(await service.bid_out(db, bid), status_code=200 if replayed else 201)

    @get("/{call_id:int}/bids", responses=READ)
    async def list_bids(self, call_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.BidSummary]:
        """The bids, after the deadline, to the buyer and the panel (less those a member is recused from); an
        organisation sees its own. Before the deadline: 403 for everyone else."""
        return await service.bid_summaries(db, principal, call_id, utc_now())

    @post("/{call_id:int}/close-bidding", status_code=200, guards=BUYER, responses=WRITE)
    async def close_bidding(self, call_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CallOut:
        """After the deadline: to evaluation, or failed with too few valid bids."""
        now = utc_now()
        return await service.call_out(db, await service.close_bidding(db, principal, call_id, now), now)

    @put("/{call_id:int}/panel", dto=StrictBody[schemas.PanelIn], return_dto=None, guards=BUYER, responses=WRITE)
    async def assign_call_panel(self, call_id: RecordId, data: JSONBody[schemas.PanelIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.PanelMemberOut]:
        await service.assign_panel(db, principal, call_id, data)
        return await service.panel(db, principal, call_id)

    @get("/{call_id:int}/panel", responses=READ)
    async def get_call_panel(self, call_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.PanelMemberOut]:
        return await service.panel(db, principal, call_id)

    @post("/{call_id:int}/declaration", dto=StrictBody[schemas.DeclarationIn], return_dto=None, status_code=200, guards=PANEL, responses=WRITE)
    async def declare_conflicts(self, call_id: RecordId, data: JSONBody[schemas.DeclarationIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.PanelMemberOut:
        """A member's declaration of conflicts of interest (an empty list: none)."""
        member = await service.declare(db, principal, call_id, data, utc_now())
        return next(m for m in await service.panel(db, principal, call_id) if m.user_id == member.user_id)

    @post("/{call_id:int}/sign-off", status_code=200, guards=PANEL, responses=WRITE)
    async def sign_off(self, call_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.PanelMemberOut:
        member = await service.sign_off(db, principal, call_id, utc_now())
        return next(m for m in await service.panel(db, principal, call_id) if m.user_id == member.user_id)

    @get("/{call_id:int}/ranking", responses=READ)
    async def call_ranking(self, call_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.RankedOut]:
        return await service.ranking(db, principal, call_id, utc_now())

    @get("/{call_id:int}/signals", responses=READ)
    async def collusion_signals(self, call_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.SignalOut]:
        """Signs of collusion among the bids the caller may see (shared legal representative, phone, address,
        identical document)."""
        return await service.signals(db, principal, call_id, utc_now())

    @post("/{call_id:int}/close-evaluation", status_code=200, guards=BUYER, responses=WRITE)
    async def close_evaluation(self, call_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.AwardOut]:
        """Every member has signed: the best bid of each lot is awarded and published (公示)."""
        await service.close_evaluation(db, principal, call_id, utc_now())
        return await service.awards_of(db, call_id)

    @get("/{call_id:int}/objections", responses=READ)
    async def list_objections(self, call_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.ObjectionOut]:
        return await service.objections_of(db, principal, call_id)


class PublicAwardController(Controller):
    """The award publicity (公示), readable without logging in."""

    path = "/api/public/calls"
    tags = ["calls"]

    @get("/{call_id:int}/awards", responses=READ)
    async def public_awards(self, call_id: RecordId, db: NamedDependency[AsyncSession]) -> list[schemas.AwardOut]:
        await call_row(db, call_id)
        return await service.awards_of(db, call_id)


class BidController(Controller):
    path = "/api/bids"
    tags = ["calls"]
    guards = [logged_in]

    @get("/{bid_id:int}", responses=READ)
    async def get_bid(self, bid_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.BidOut:
        """A bid's content: its organisation at any time; the buyer and the panel (unless recused) after the deadline."""
        return await service.bid_for(db, principal, bid_id, utc_now())

    @post("/{bid_id:int}/withdraw", status_code=200, guards=ORGANISATION, responses=WRITE)
    async def withdraw_bid(self, bid_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.BidOut:
        return await service.bid_out(db, await service.withdraw_bid(db, principal, bid_id, utc_now()))

    @post("/{bid_id:int}/scores", dto=StrictBody[schemas.ScoreIn], return_dto=None, status_code=200, guards=PANEL, responses=WRITE)
    async def score_bid(self, bid_id: RecordId, data: JSONBody[schemas.ScoreIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.PanelScoreOut:
        """A member's points for every criterion of a bid (again before signing: replaced)."""
        return await service.score_bid(db, principal, bid_id, data, utc_now())


class AwardController(Controller):
    path = "/api/awards"
    tags = ["calls"]
    guards = [logged_in]

    @post("/{award_id:int}/objections", dto=StrictBody[schemas.ObjectionIn], return_dto=None, guards=ORGANISATION, responses=WRITE)
    async def object_to_award(self, award_id: RecordId, data: JSONBody[schemas.ObjectionIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ObjectionOut:
        """A bidder's objection (质疑) within the objection period."""
        objection = await service.object_to_award(db, principal, award_id, data, utc_now())
        return next(o for o in await service.objections_of(db, principal, (await service.awards_call_id(db, award_id))) if o.id == objection.id)

    @post("/{award_id:int}/confirm", status_code=200, guards=BUYER, responses=WRITE)
    async def confirm_award(self, award_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.AwardOut:
        """The award stands: its publicity has ended and no objection is unanswered."""
        award = await service.confirm_award(db, principal, award_id, utc_now())
        return next(a for a in await service.awards_of(db, award.call_id) if a.id == award.id)

    @post("/{award_id:int}/contract", dto=StrictBody[schemas.CallContractIn], return_dto=None, guards=BUYER, responses=WRITE)
    async def sign_call_contract(self, award_id: RecordId, data: JSONBody[schemas.CallContractIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CallContractOut:
        """The contract on a standing award, with its tranches (the first payable on signing)."""
        return await service.contract_out(db, await service.sign_contract(db, principal, award_id, data, utc_now()))


class ObjectionController(Controller):
    path = "/api/objections"
    tags = ["calls"]
    guards = [logged_in]

    @post("/{objection_id:int}/answer", dto=StrictBody[schemas.ObjectionAnswerIn], return_dto=None, status_code=200, guards=BUYER, responses=WRITE)
    async def answer_objection(self, objection_id: RecordId, data: JSONBody[schemas.ObjectionAnswerIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ObjectionOut:
        """The buyer's written answer; upheld, the award is withdrawn and the lot evaluated again."""
        objection = await service.answer_objection(db, principal, objection_id, data, utc_now())
        return next(o for o in await service.objections_of(db, principal, await service.awards_call_id(db, objection.award_id)) if o.id == objection.id)


class BidDocumentController(Controller):
    """A bid's document through two doors under the same checks: /api/bids/documents/{id} for software (a bearer
    token or API key) and /documents/bids/documents/{id} for the bid's page (the session cookie)."""

    path = "/bids/documents"
    tags = ["calls"]
    guards = [logged_in]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/{document_id:int}", responses=READ, media_type="application/octet-stream")
    async def bid_document(
        self, document_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]
    ) -> Response[bytes]:
        """A document of a bid, to those who may read the bid."""
        document, content = await service.document_content(db, principal, store, document_id, utc_now())
        return uploaded_file(content, document.content_type, document.name)


ROUTES: list[Router | type[Controller]] = [
    CallController, PublicAwardController, BidController, AwardController, ObjectionController,
    *two_doors(BidDocumentController),
]
