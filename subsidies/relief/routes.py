"""API of relief funds (thin: parse, guard, one use case, shape the answer). Paying approved cases goes through the
engine's API: /api/programmes/relief/...; the decision letters are the documents package's (/api/relief/...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, Router, get, post
from litestar.datastructures import State, UploadFile
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
from subsidies.relief import queries, rules, schemas, service
from subsidies.relief.tables import ReliefApplication

READ = problem_responses(400, 403, 404)
WRITE = problem_responses(400, 403, 404, 409, 422)
UPLOAD = problem_responses(400, 403, 413)
FILERS = allow(set(rules.FILERS), "filing relief applications")
READERS = allow({*rules.FILERS, Role.STREET_OFFICER, Role.ADMIN, Role.FINANCE}, "relief funds")
REVIEWERS = allow(set(rules.LEVEL_ROLES.values()), "reviewing relief applications")
YearPath = Annotated[int, Parameter(ge=2000, le=2100, description="A calendar year")]
YearQuery = Annotated[int | None, Parameter(ge=2000, le=2100, description="A calendar year")]
StateQuery = Annotated[str | None, QueryParameter(name="state", pattern=r"^(community|street|district|approved|refused|returned)$", description="The application's state")]
FundQuery = Annotated[str | None, Parameter(pattern=r"^[a-z][a-z0-9_]{0,19}$", description="A fund's key")]


@dataclass
class ReliefDocumentUpload:
    file: UploadFile


async def issue_letter(state: State, db: AsyncSession, application: ReliefApplication) -> None:
    """A decided application's letter is issued as it is decided, by whoever the app factory names (the documents
    package sits above this one)."""
    make = getattr(state, "make_relief_letter", None)
    if make is not None and application.state in (rules.APPROVED, rules.REFUSED):
        await make(db, application.id)


class ReliefController(Controller):
    path = "/api/relief"
    tags = ["relief funds"]
    guards = [logged_in]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @post("/years/{year:int}/open", status_code=200, guards=[allow(service.OPENERS, "opening a year's relief funds")], responses=WRITE)
    async def open_relief_year(self, year: YearPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ReliefYearOpenedOut:
        """Open a year's four funds from config/relief.toml (each also the engine's budget of the fund); sending it
        again opens nothing more."""
        made, total = await service.open_year(db, principal, year)
        return schemas.ReliefYearOpenedOut(year=year, opened=made, funds=total)

    @get("/funds", guards=[READERS], responses=READ)
    async def relief_funds(self, db: NamedDependency[AsyncSession], year: YearQuery = None) -> list[schemas.ReliefFundOut]:
        """Each fund's year in fen: budget, the cap per case, asked by applications under review, approved, paid,
        left."""
        return await queries.funds(db, year or business_today().year)

    @post("/documents", guards=[FILERS], responses=UPLOAD)
    async def upload_relief_document(self, data: Annotated[ReliefDocumentUpload, Body(media_type=RequestEncodingType.MULTI_PART)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> schemas.ReliefDocumentOut:
        """Upload a supporting document (JPEG, PNG or PDF, judged by content; at most the configured size) before
        filing the application that carries it."""
        if not isinstance(data.file, UploadFile):
            raise InvalidInput("send the document as the multipart field 'file'", zh="请选择证明材料文件后再提交", field="file")
        content = await data.file.read(service.relief_rules().document_max_bytes + 1)
        document = await service.upload_document(db, store, principal, content)
        return schemas.ReliefDocumentOut(id=document.id, sha256=document.sha256, content_type=document.content_type, size_bytes=document.size_bytes)

    @post("/applications", dto=StrictBody[schemas.ApplicationIn], return_dto=None, guards=[FILERS], responses=WRITE)
    async def file_relief_application(self, data: JSONBody[schemas.ApplicationIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[schemas.ApplicationOut]:
        """File a resident household's application for your community (201): a fund, the amount within its cap per
        case (422 above it), the reason and the supporting documents uploaded before. A retry with the same
        client_id answers the application already filed (200)."""
        application, created = await service.file_application(db, principal, data)
        return Response((await queries.application_outs(db, principal, [application]))[0], status_code=201 if created else 200)

    @get("/applications", guards=[READERS], responses=READ)
    async def relief_applications(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], application_state: StateQuery = None, fund: FundQuery = None, year: YearQuery = None
    ) -> Page[schemas.ApplicationOut]:
        """The applications you see (your community's, your street's, the district's), newest first."""
        rows, total = await queries.applications(db, principal, paging, application_state, fund, year)
        return Page(rows, total, paging.page, paging.page_size)

    @get("/queue", guards=[READERS], responses=READ)
    async def relief_queue(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.ApplicationOut]:
        """What waits for you: the level you review (oldest deadline first) or, for the community's staff, the
        applications returned to complete."""
        return await queries.queue(db, principal)

    @get("/applications/{application_id:int}", guards=[READERS], responses=READ)
    async def relief_application(self, application_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ApplicationOut:
        return (await queries.application_outs(db, principal, [await service.application_for(db, principal, application_id)]))[0]

    @post("/applications/{application_id:int}/reviews", status_code=200, dto=StrictBody[schemas.ReviewIn], return_dto=None, guards=[REVIEWERS], responses=WRITE)
    async def review_relief_application(self, application_id: RecordId, data: JSONBody[schemas.ReviewIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> schemas.ApplicationOut:
        """Give your level's verdict with its reason: the community's committee director checks (社区初审), the
        street's officer reviews (街道审核), the district's civil affairs administrator approves (区审批); approve
        moves it up, return sends it back to the community, refuse ends it. A level is given at its turn, once, by
        someone who neither filed the application nor reviewed it at another level. The district's approval takes
        the amount from the fund (422 when the fund has less left)."""
        application = await service.review(db, principal, application_id, data.level, data.verdict, data.reason)
        await issue_letter(state, db, application)
        return (await queries.application_outs(db, principal, [application]))[0]

    @post("/applications/{application_id:int}/resubmission", status_code=200, dto=StrictBody[schemas.ResubmissionIn], return_dto=None, guards=[FILERS], responses=WRITE)
    async def resubmit_relief_application(self, application_id: RecordId, data: JSONBody[schemas.ResubmissionIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ApplicationOut:
        """Send a returned application again, saying what was completed (with further documents): the three levels
        review it anew."""
        application = await service.resubmit(db, principal, application_id, data)
        return (await queries.application_outs(db, principal, [application]))[0]


class ReliefDocumentController(Controller):
    """A supporting document through two doors under the same checks: /api/relief/documents/{id} for software (a
    bearer token or API key) and /documents/relief/documents/{id} for the reviewers' page (the session cookie)."""

    path = "/relief/documents"
    tags = ["relief funds"]
    guards = [READERS]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    # The document's own type (JPEG, PNG or PDF, judged by content at upload): declared as any type.
    @get("/{document_id:int}", responses=READ, media_type="*/*")
    async def relief_document(self, document_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """A supporting document as uploaded, to those who see its application."""
        document = await service.document_for(db, principal, document_id)
        return await stored_document(store, document.sha256, document.content_type)


ROUTES: list[Router | type[Controller]] = [
    ReliefController,
    *two_doors(ReliefDocumentController),
]
