"""API of activity funds (thin: parse, guard, one use case, shape the answer). Paying approved claims goes through
the engine's API: /api/programmes/activity_funds/..."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec
from litestar import Controller, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.clock import business_today
from foundation.errors import InvalidInput
from foundation.paging import Page, PageRequest
from foundation.storage import BlobStore
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.doors import two_doors
from foundation.web.params import RecordId, provide_store
from foundation.web.problems import problem_responses
from foundation.web.uploads import stored_document
from subsidies.activity import queries, schemas, service

READ = problem_responses(400, 403, 404)
WRITE = problem_responses(400, 403, 404, 409, 422)
UPLOAD = problem_responses(400, 403, 413)
CLAIMERS = allow({Role.COMMITTEE_DIRECTOR, Role.STREET_OFFICER}, "claiming activity funds")
READERS = allow({Role.COMMITTEE_DIRECTOR, Role.STREET_OFFICER, Role.FINANCE, Role.ADMIN}, "activity funds")
YearPath = Annotated[int, Parameter(ge=2000, le=2100, description="A calendar year")]
YearQuery = Annotated[int | None, Parameter(ge=2000, le=2100, description="A calendar year")]
StateQuery = Annotated[str | None, QueryParameter(name="state", pattern=r"^(pending|approved|refused)$", description="pending, approved or refused")]
HolderQuery = Annotated[str | None, Parameter(pattern=r"^(community|street):[1-9][0-9]{0,9}$", description="community:<id> or street:<id>")]


class LapsedOut(msgspec.Struct):
    year: int
    lapsed: int  # funds whose remainder lapsed now


@dataclass
class ReceiptUpload:
    file: UploadFile


class ActivityController(Controller):
    path = "/api/activity"
    tags = ["activity funds"]
    guards = [logged_in]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @post("/years/{year:int}/open", status_code=200, guards=[allow(service.OPENERS, "opening a year's activity funds")], responses=WRITE)
    async def open_activity_year(self, year: YearPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.YearOpenedOut:
        """Open a year's funds for every community and street from config/activity.toml (each also the engine's
        budget of its holder); sending it again opens nothing more."""
        made, total = await service.open_year(db, principal, year)
        return schemas.YearOpenedOut(year=year, opened=made, funds=total)

    @post("/years/{year:int}/lapse", status_code=200, guards=[allow(service.OPENERS, "lapsing a year's activity funds")], responses=WRITE)
    async def lapse_activity_year(self, year: YearPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> LapsedOut:
        """What is left of an ended year's funds lapses (the year-end job does this on 1 January)."""
        return LapsedOut(year=year, lapsed=await service.lapse_year(db, principal, year))

    @get("/funds", guards=[READERS], responses=READ)
    async def activity_funds(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], year: YearQuery = None, holder: HolderQuery = None) -> list[schemas.FundOut]:
        """The balances the caller sees (a director: the community's; a street officer: the street's and its
        communities'; the district: all), in fen: allocated, waiting, approved, paid, lapsed, left."""
        return await queries.funds(db, principal, year or business_today().year, holder)

    @post("/receipts", guards=[CLAIMERS], responses=UPLOAD)
    async def upload_activity_receipt(self, data: Annotated[ReceiptUpload, Body(media_type=RequestEncodingType.MULTI_PART)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> schemas.ReceiptOut:
        """Upload the receipt's photo or scan (JPEG, PNG or PDF, judged by content; at most the configured size)
        before filing the claim that shows it."""
        if not isinstance(data.file, UploadFile):
            raise InvalidInput("send the receipt as the multipart field 'file'", zh="请选择发票或收据文件后再提交", field="file")
        content = await data.file.read(service.fund_rules().receipt_max_bytes + 1)
        receipt = await service.upload_receipt(db, store, principal, content)
        return schemas.ReceiptOut(id=receipt.id, sha256=receipt.sha256, content_type=receipt.content_type, size_bytes=receipt.size_bytes)

    @post("/claims", dto=StrictBody[schemas.ClaimIn], return_dto=None, guards=[CLAIMERS], responses=WRITE)
    async def file_activity_claim(self, data: JSONBody[schemas.ClaimIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[schemas.ClaimOut]:
        """Claim spending from your fund with its receipt (201); its amount is held from the balance at once. A
        retry with the same client_id answers the claim already filed (200); an invoice number claimed before, by
        anyone, is refused (409) naming who claimed it and when."""
        claim, created = await service.file_claim(db, principal, data)
        return Response((await queries.claim_outs(db, [claim]))[0], status_code=201 if created else 200)

    @get("/claims", guards=[READERS], responses=READ)
    async def activity_claims(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], year: YearQuery = None, claim_state: StateQuery = None, holder: HolderQuery = None
    ) -> Page[schemas.ClaimOut]:
        """The claims you see, newest first."""
        rows, total = await queries.claims(db, principal, paging, year, claim_state, holder)
        return Page(rows, total, paging.page, paging.page_size)

    @get("/claims/{claim_id:int}", guards=[READERS], responses=READ)
    async def activity_claim(self, claim_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ClaimOut:
        return (await queries.claim_outs(db, [await service.claim_for(db, principal, claim_id)]))[0]

    @post("/claims/{claim_id:int}/decision", status_code=200, dto=StrictBody[schemas.DecisionIn], return_dto=None, guards=[allow({Role.STREET_OFFICER, Role.FINANCE}, "deciding activity claims")], responses=WRITE)
    async def decide_activity_claim(self, claim_id: RecordId, data: JSONBody[schemas.DecisionIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ClaimOut:
        """Approve or refuse (with the reason) a claim: the street decides its communities' claims, district
        finance the streets'; nobody decides a claim they filed."""
        claim = await service.decide_claim(db, principal, claim_id, data.approve, data.reason)
        return (await queries.claim_outs(db, [claim]))[0]


class ActivityReceiptController(Controller):
    """A claim's receipt through two doors under the same checks: /api/activity/receipts/{id} for software (a bearer
    token or API key) and /documents/activity/receipts/{id} for the approvers' page (the session cookie)."""

    path = "/activity/receipts"
    tags = ["activity funds"]
    guards = [READERS]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    # The receipt's own type (JPEG, PNG or PDF, judged by content at upload): declared as any type.
    @get("/{receipt_id:int}", responses=READ, media_type="*/*")
    async def activity_receipt(self, receipt_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """The receipt as uploaded, to those who see its fund."""
        receipt = await service.receipt_for(db, principal, receipt_id)
        return await stored_document(store, receipt.sha256, receipt.content_type)


ROUTES: list[Router | type[Controller]] = [
    ActivityController,
    *two_doors(ActivityReceiptController),
]
