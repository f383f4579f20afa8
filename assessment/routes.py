"""API routes of the monthly assessment (thin: parse, guard, call one use case, shape the answer)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from assessment import queries, schemas, service
from assessment.rules import AUTOMATIC_VETO_REASONS, VETO_REASONS
from foundation.access import Principal, Role
from foundation.paging import Page, PageRequest
from foundation.periods import MONTH_PATTERN, Month
from foundation.settings import get_settings
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.params import OptionalId, RecordId
from foundation.web.problems import problem_responses

READ = problem_responses(400, 403, 404)
WRITE = problem_responses(400, 403, 404, 409, 422)
MonthPath = Annotated[str, Parameter(pattern=MONTH_PATTERN, description="A month, e.g. 2026-10")]
MonthQuery = Annotated[str | None, Parameter(pattern=MONTH_PATTERN, description="A month, e.g. 2026-10")]


def _month(text: str | None) -> Month | None:
    return Month.parse(text) if text else None


class AssessmentController(Controller):
    path = "/api/assessment"
    tags = ["assessment"]
    guards = [logged_in]

    @get("/veto-reasons", responses=READ)
    async def veto_reasons(self) -> list[schemas.VetoReasonOut]:
        """The reasons a director may give for a veto, and those the rules open by themselves."""
        return [schemas.VetoReasonOut(code=c, text=t, automatic=False) for c, t in VETO_REASONS.items()] + [
            schemas.VetoReasonOut(code=c, text=t, automatic=True) for c, t in AUTOMATIC_VETO_REASONS.items()
        ]

    @post("/opinions", dto=StrictBody[schemas.OpinionIn], return_dto=None, guards=[allow(service.DIRECTORS, "giving opinions")], responses=WRITE, status_code=201)
    async def give_opinion(self, data: JSONBody[schemas.OpinionIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[schemas.OpinionOut]:
        """The committee director's monthly rating of the company's service for an estate, with the residents'
        satisfaction survey. Giving it again for the same month (with a new `client_id`) makes a new revision; the
        latest counts. Sending the same body with the same `client_id` again (a retry) returns the opinion already
        given with 200 and stores nothing; the same `client_id` with another body is refused with 409."""
        given = await service.give_opinion(db, principal, data)
        return Response(queries.opinion_out(given.opinion), status_code=200 if given.replayed else 201)

    @get("/opinions", responses=READ)
    async def opinions(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], month: MonthQuery = None, estate_id: OptionalId = None) -> Page[schemas.OpinionOut]:
        rows, total = await queries.list_opinions(db, principal, paging, month=_month(month), estate_id=estate_id)
        return Page(rows, total, paging.page, paging.page_size)

    @post("/vetoes", dto=StrictBody[schemas.VetoIn], return_dto=None, guards=[allow(service.DIRECTORS, "casting a veto")], responses=WRITE)
    async def cast_veto(self, data: JSONBody[schemas.VetoIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VetoOut:
        """一票否决: the director vetoes an estate's month with a listed reason, a written explanation and photos.
        The street reviews it within 5 working days; while pending, the estate is held out of subsidy runs."""
        return (await queries.veto_rows(db, [await service.cast_veto(db, principal, data)]))[0]

    @get("/vetoes", responses=READ)
    async def vetoes(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], month: MonthQuery = None, veto_state: Annotated[Literal["pending", "upheld", "overturned"] | None, QueryParameter(name="state")] = None
    ) -> Page[schemas.VetoOut]:
        rows, total = await queries.list_vetoes(db, principal, paging, month=_month(month), state=veto_state)
        return Page(rows, total, paging.page, paging.page_size)

    @get("/vetoes/{veto_id:int}", responses=READ)
    async def veto(self, veto_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VetoOut:
        return (await queries.veto_rows(db, [await service.get_veto(db, principal, veto_id)]))[0]

    @post("/vetoes/{veto_id:int}/review", dto=StrictBody[schemas.VetoReviewIn], return_dto=None, status_code=200, guards=[allow(service.STREET, "reviewing vetoes")], responses=WRITE)
    async def review_veto(self, veto_id: RecordId, data: JSONBody[schemas.VetoReviewIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VetoOut:
        """The street upholds (the month is 不合格, coefficient 0) or overturns a pending veto, with a reason."""
        return (await queries.veto_rows(db, [await service.review_veto(db, principal, veto_id, data)]))[0]

    @post("/vetoes/review", dto=StrictBody[schemas.VetoBatchReviewIn], return_dto=None, status_code=200, guards=[allow(service.STREET, "reviewing vetoes")], responses=WRITE)
    async def review_vetoes(self, data: JSONBody[schemas.VetoBatchReviewIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.VetoOut]:
        """Several pending vetoes upheld or overturned with one reason, all or nothing: each is reviewed as by the
        single review (scope, separation of duties, state, its own audit entry); if any is refused, none is decided
        and the 409 names every veto refused with its reason. Each published month touched is recomputed once."""
        decided = await service.review_vetoes(db, principal, data.veto_ids, schemas.VetoReviewIn(uphold=data.uphold, reason=data.reason))
        return await queries.veto_rows(db, decided)

    @get("/months/{street_id:int}/{month:str}", responses=READ)
    async def month_state(self, street_id: RecordId, month: MonthPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.MonthOut:
        """A street's month: open, computed (published; appeal window) or locked; pending vetoes and appeals."""
        return await queries.month_out(db, principal, street_id, Month.parse(month))

    @post("/months/{street_id:int}/{month:str}/compute", status_code=200, guards=[allow(service.COMPUTERS, "computing scores")], responses=WRITE)
    async def compute(self, street_id: RecordId, month: MonthPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ComputeOut:
        """Compute and publish (or recompute) the street's scores of an ended month; changed scores become new versions."""
        return await service.compute_month(db, principal, street_id, Month.parse(month))

    @post("/months/{street_id:int}/{month:str}/lock", status_code=200, guards=[allow(service.STREET, "locking a month")], responses=WRITE)
    async def lock(self, street_id: RecordId, month: MonthPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.MonthOut:
        """Lock the month after a last recomputation: refused while a veto or an appeal of it is pending."""
        await service.lock_month(db, principal, street_id, Month.parse(month))
        return await queries.month_out(db, principal, street_id, Month.parse(month))

    @get("/scores", responses=READ)
    async def scores(
        self,
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        month: MonthPath,
        street_id: OptionalId = None,
        community_id: OptionalId = None,
        company_id: OptionalId = None,
        page: Annotated[int | None, Parameter(ge=1, le=100_000, description="Page number, from 1; without page and page_size every score comes in one list")] = None,
        page_size: Annotated[int | None, Parameter(ge=1, le=1000, description="Scores per page; default: the month table's page size")] = None,
    ) -> list[schemas.ScoreOut]:
        """Every estate's current score for a month within your scope, with grade and rank in its street and the
        district (ranked: vetoed after the rest, then by score; ties share a rank), ordered by rank in the district
        (unscored last) and estate code; with `page`, one page of that list."""
        paging = PageRequest(page or 1, page_size or get_settings().month_table_page_size) if page or page_size else None
        return await queries.month_scores(db, principal, Month.parse(month), street_id=street_id, community_id=community_id, company_id=company_id, paging=paging)

    @get("/scores/{estate_id:int}/{month:str}", responses=READ)
    async def score(self, estate_id: RecordId, month: MonthPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.ScoreOut]:
        """Every version of one estate's month score, newest first, each with the breakdown of every record that
        added or took away points."""
        return await queries.score_versions(db, principal, estate_id, Month.parse(month))

    @post("/appeals", dto=StrictBody[schemas.AppealIn], return_dto=None, guards=[allow({Role.COMPANY}, "appealing a score")], responses=WRITE)
    async def file_appeal(self, data: JSONBody[schemas.AppealIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.AppealOut:
        """A company appeals its estate's published score within the window (5 working days after publication)."""
        return (await queries.appeal_rows(db, [await service.file_appeal(db, principal, data)]))[0]

    @get("/appeals", responses=READ)
    async def appeals(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], month: MonthQuery = None, appeal_state: Annotated[Literal["pending", "upheld", "rejected"] | None, QueryParameter(name="state")] = None
    ) -> Page[schemas.AppealOut]:
        rows, total = await queries.list_appeals(db, principal, paging, month=_month(month), state=appeal_state)
        return Page(rows, total, paging.page, paging.page_size)

    @post("/appeals/{appeal_id:int}/answer", dto=StrictBody[schemas.AppealAnswerIn], return_dto=None, status_code=200, guards=[allow(service.APPEAL_ANSWERERS, "answering appeals")], responses=WRITE)
    async def answer_appeal(self, appeal_id: RecordId, data: JSONBody[schemas.AppealAnswerIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.AppealOut:
        """Uphold (the contested finding leaves the score, which is recomputed as a new version) or reject, with a reason."""
        return (await queries.appeal_rows(db, [await service.answer_appeal(db, principal, appeal_id, data)]))[0]


ROUTES = [AssessmentController]
