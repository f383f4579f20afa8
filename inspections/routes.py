"""API routes of the evidence (thin: parse, guard, call one use case, shape the answer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromQuery, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.errors import InvalidInput
from foundation.paging import Page, PageRequest
from foundation.periods import MONTH_PATTERN, Month, parse_instant
from foundation.storage import BlobStore
from foundation.web.admission import USUALLY_SLOW
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.params import OptionalId, RecordId, provide_store
from foundation.web.problems import problem_responses
from inspections import attachments, checklists, defects, flags, late, reconciliation, records, returns, schemas, service, spot_checks
from inspections.config import current_checklist
from inspections.flag_rules import FlagKind
from inspections.photos import PhotoLimits
from inspections.rules import Source

READ = problem_responses(400, 403, 404)
FILE = problem_responses(400, 403, 404, 409, 422)
# Filing answers 201 for a new record and 200 for a retry of one already filed (same client_id and body).
FILED = {
    **FILE,
    200: ResponseSpec(
        data_container=schemas.RecordOut,
        description="A retry: the record already filed with this client_id; nothing new was stored",
        generate_examples=False,
    ),
}
MonthParam = Annotated[str | None, Parameter(pattern=MONTH_PATTERN, description="A month, e.g. 2026-10")]
MonthPath = Annotated[str, Parameter(pattern=MONTH_PATTERN, description="A month, e.g. 2026-10")]
DefectStateParam = Literal["open", "fix_reported", "closed", "withdrawn", "overdue"]


def month_of(text: str | None) -> Month | None:
    return Month.parse(text) if text else None


async def _file(db: AsyncSession, store: BlobStore, principal: Principal, source: Source, data: schemas.RecordIn) -> Response[schemas.RecordOut]:
    filed = await service.file_record(db, store, principal, source, data)
    detail = filed.detail or await records.record_detail(db, filed.record)
    # 201 for a new record; 200 for a retry that found the record it had already filed.
    return Response(detail, status_code=200 if filed.replayed else 201)


class FilingController(Controller):
    """Filing evidence. Every body carries a client-generated `client_id`: sending the same body again (a phone
    retrying on a bad signal) returns the record already filed with 200 and stores nothing new; the same id with a
    different body is refused with 409."""

    tags = ["inspections"]
    guards = [logged_in]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @post("/api/patrols", dto=StrictBody[schemas.RecordIn], return_dto=None, guards=[allow(service.FILERS[Source.PATROL], service.ACTION[Source.PATROL])], responses=FILED)
    async def file_patrol(self, data: JSONBody[schemas.RecordIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[schemas.RecordOut]:
        """A community property social worker's daily patrol of an estate of their own community."""
        return await _file(db, store, principal, Source.PATROL, data)

    @post(
        "/api/street-inspections",
        dto=StrictBody[schemas.RecordIn],
        return_dto=None,
        guards=[allow(service.FILERS[Source.STREET_INSPECTION], service.ACTION[Source.STREET_INSPECTION])],
        responses=FILED,
    )
    async def file_street_inspection(self, data: JSONBody[schemas.RecordIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[schemas.RecordOut]:
        """A street property specialist's periodic inspection of an estate of their street."""
        return await _file(db, store, principal, Source.STREET_INSPECTION, data)

    @post("/api/spot-checks", dto=StrictBody[schemas.RecordIn], return_dto=None, guards=[allow(service.FILERS[Source.SPOT_CHECK], service.ACTION[Source.SPOT_CHECK])], responses=FILED)
    async def file_spot_check(self, data: JSONBody[schemas.RecordIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[schemas.RecordOut]:
        """A third-party firm's unannounced spot check of an estate assigned to it for the month."""
        return await _file(db, store, principal, Source.SPOT_CHECK, data)


class RecordController(Controller):
    path = "/api/inspections"
    tags = ["inspections"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def list_records(
        self,
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        paging: NamedDependency[PageRequest],
        source: FromQuery[Source | None] = None,
        estate_id: OptionalId = None,
        community_id: OptionalId = None,
        street_id: OptionalId = None,
        month: MonthParam = None,
    ) -> Page[schemas.RecordSummary]:
        """Filed patrols, street inspections and spot checks within your scope, newest first."""
        rows, total = await records.list_records(
            db, principal, paging, source=source, estate_id=estate_id, community_id=community_id, street_id=street_id, month=month_of(month)
        )
        return Page(rows, total, paging.page, paging.page_size)

    @get("/{record_id:int}", responses=READ)
    async def get_record(self, record_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.RecordOut:
        """A record as filed, its amendments beside it, the results in effect after them, and its defects."""
        return await records.record_detail(db, await records.get_record(db, principal, record_id))

    @post("/{record_id:int}/amendments", dto=StrictBody[schemas.AmendmentIn], return_dto=None, responses=FILE)
    async def amend_record(self, record_id: RecordId, data: JSONBody[schemas.AmendmentIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.RecordOut:
        """Correct a filed record with a reason (by whoever filed it, the street officer or an administrator). The
        original is never changed; a result turned to passed withdraws its defect, one turned to failed raises one."""
        return await records.record_detail(db, await service.amend_record(db, principal, record_id, data))


class ChecklistController(Controller):
    path = "/api/checklist"
    tags = ["inspections"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def checklist(self) -> schemas.ChecklistOut:
        """The checklist in force: categories with their points, items with deduction, severity and veto mark."""
        return checklists.checklist_out(current_checklist())


@dataclass
class PhotoUpload:
    file: UploadFile
    taken_at: str | None = None  # when the client says the photo was taken, ISO 8601 with offset


class AttachmentController(Controller):
    path = "/api/attachments"
    tags = ["inspections"]
    guards = [logged_in]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @post("/", responses=problem_responses(400, 403, 409, 413), opt=USUALLY_SLOW)
    async def upload(
        self,
        data: Annotated[PhotoUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        store: NamedDependency[BlobStore],
        state: State,
    ) -> schemas.AttachmentOut:
        """Upload a photo (JPEG, PNG or WebP, judged by content; at most the configured size) before filing the
        record or fix report that shows it. Its EXIF time and location are read and kept beside what you claim."""
        if not isinstance(data.file, UploadFile):
            raise InvalidInput("send the photo as the multipart field 'file'", zh="请选择要上传的照片")
        claimed = parse_instant(data.taken_at, "taken_at") if data.taken_at else None
        limits = PhotoLimits.of(state.settings)
        content = await data.file.read(limits.max_bytes + 1)
        attachment = await attachments.upload_photo(db, store, principal, content, data.file.filename or "", claimed, limits)
        return attachments.attachment_out(attachment)

    @get("/{attachment_id:int}/info", responses=READ)
    async def info(self, attachment_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.AttachmentOut:
        return attachments.attachment_out(await attachments.get_attachment(db, principal, attachment_id))

    # The photo's own type (JPEG, PNG or WebP, judged by content at upload): declared as the range image/*.
    @get("/{attachment_id:int}", responses=READ, media_type="image/*")
    async def content(
        self,
        attachment_id: RecordId,
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        store: NamedDependency[BlobStore],
        state: State,
        original: Annotated[bool, Parameter(description="the photo as uploaded (the filed evidence, with its EXIF) instead of its display copy")] = False,
    ) -> Response[bytes]:
        """The photo, to those who uploaded it or may see a record, rectification order, veto or appeal that shows
        it: a copy scaled to the configured longest side (photo_display_max_side), or with original=true the bytes as uploaded."""
        attachment = await attachments.get_attachment(db, principal, attachment_id)
        return Response(
            await attachments.photo_content(store, attachment, state.settings.photo_display_max_side, original=original),
            media_type=attachment.content_type,
            headers={"Cache-Control": "private, max-age=86400", "ETag": f'"{attachment.sha256}{"" if original else "-display"}"', "X-Content-Type-Options": "nosniff"},
        )


class DefectController(Controller):
    path = "/api/defects"
    tags = ["inspections"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def list_defects(
        self,
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        paging: NamedDependency[PageRequest],
        state_filter: Annotated[DefectStateParam | None, QueryParameter(name="state")] = None,
        estate_id: OptionalId = None,
        community_id: OptionalId = None,
        street_id: OptionalId = None,
        company_id: OptionalId = None,
        month: MonthParam = None,
        source: FromQuery[Source | None] = None,
    ) -> Page[schemas.DefectOut]:
        """Defects (rectification orders) within your scope, by deadline. `state=overdue` lists those whose
        deadline passed without a fix in time, at the moment you ask."""
        rows, total = await defects.list_defects(
            db,
            principal,
            paging,
            state=state_filter,
            estate_id=estate_id,
            community_id=community_id,
            street_id=street_id,
            company_id=company_id,
            month=month_of(month),
            source=source,
        )
        return Page(rows, total, paging.page, paging.page_size)

    @get("/{defect_id:int}", responses=READ)
    async def get_defect(self, defect_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.DefectOut:
        return (await defects.defect_rows(db, [await defects.get_defect(db, principal, defect_id)]))[0]

    @post("/{defect_id:int}/fix", dto=StrictBody[schemas.FixReportIn], return_dto=None, status_code=200, guards=[allow({Role.COMPANY}, "reporting a rectification")], responses=FILE)
    async def report_fix(self, defect_id: RecordId, data: JSONBody[schemas.FixReportIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.DefectOut:
        """The company reports the defect rectified, with at least one photo of the fix."""
        return (await defects.defect_rows(db, [await defects.report_fix(db, principal, defect_id, data)]))[0]

    @post("/{defect_id:int}/review", dto=StrictBody[schemas.FixReviewIn], return_dto=None, status_code=200, guards=[allow(defects.REVIEWERS, "verifying a rectification")], responses=FILE)
    async def review_fix(self, defect_id: RecordId, data: JSONBody[schemas.FixReviewIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.DefectOut:
        """Accept a reported fix (closed) or reject it (open again, same deadline), with a note."""
        return (await defects.defect_rows(db, [await defects.review_fix(db, principal, defect_id, data)]))[0]

    @post("/overdue-marking", status_code=200, guards=[allow({Role.ADMIN}, "marking overdue rectifications")], responses=problem_responses(403, 409))
    async def mark_overdue(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.OverdueMarked:
        """Mark the defects whose deadline has passed (the scheduler does this hourly); harmless to repeat."""
        return await defects.mark_overdue(db, principal)

    @get("/overdue-by-company", responses=READ)
    async def overdue_by_company(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], month: MonthPath) -> list[schemas.CompanyOverdueOut]:
        """Overdue rectifications per company in a month, with yellow cards (the second overdue of a month)."""
        return await defects.overdue_by_company(db, principal, Month.parse(month))


class SpotCheckController(Controller):
    path = "/api/spot-checks"
    tags = ["inspections"]
    guards = [logged_in]

    @post("/draws", dto=StrictBody[schemas.DrawIn], return_dto=None, guards=[allow(spot_checks.DRAWERS, "drawing spot checks")], responses=FILE)
    async def draw(self, data: JSONBody[schemas.DrawIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.DrawOut:
        """Draw a month's spot checks (the scheduler does it on the 1st): per street at least the configured share,
        and every estate at least once a quarter. The seed is stored, so the draw can be repeated by an auditor."""
        month = Month.parse(data.month)
        await spot_checks.draw_month(db, principal, month, data.seed)
        return await spot_checks.get_draw(db, principal, month)

    @get("/draws/{month:str}", guards=[allow(spot_checks.DRAWERS, "reading a spot-check draw")], responses=READ)
    async def get_draw(self, month: MonthPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.DrawOut:
        return await spot_checks.get_draw(db, principal, Month.parse(month))

    @get("/assignments", guards=[allow({Role.INSPECTOR, Role.ADMIN}, "reading spot-check assignments")], responses=READ)
    async def assignments(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], month: MonthParam = None, pending: FromQuery[bool] = False
    ) -> Page[schemas.AssignmentOut]:
        """Your firm's secret assignments (all of them for a district administrator); `pending=true` for those
        whose result is not filed yet."""
        rows, total = await spot_checks.list_assignments(db, principal, paging, month_of(month), pending)
        return Page(rows, total, paging.page, paging.page_size)


class CoverageController(Controller):
    path = "/api/patrols/coverage"
    tags = ["inspections"]
    guards = [logged_in]

    @get("/", responses=problem_responses(400, 403, 404, 422))
    async def coverage(
        self,
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        community_id: RecordId,
        date_from: FromQuery[date],
        date_to: FromQuery[date],
    ) -> schemas.CoverageOut:
        """For each day, the community's estates under management that had no patrol."""
        return await records.patrol_coverage(db, principal, community_id, date_from, date_to)


class LateRecordController(Controller):
    """Late evidence: a record filed more than the tolerance (config/inspections.toml, 48 hours) after its claimed
    time counts only once the street officer of its street approves it with a reason."""

    path = "/api/inspections"
    tags = ["inspections"]
    guards = [logged_in]

    @get("/late", guards=[allow(late.READERS, "reviewing late records")], responses=READ)
    async def list_late_records(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], pending: FromQuery[bool | None] = None) -> Page[schemas.LateRecordOut]:
        """Late records of your street (the district's for an administrator), newest first; `pending=true`: those
        still waiting for a decision."""
        rows, total = await late.list_late_records(db, principal, paging, pending=pending)
        return Page(rows, total, paging.page, paging.page_size)

    @post(
        "/{record_id:int}/late-decision",
        dto=StrictBody[schemas.LateDecisionIn],
        return_dto=None,
        guards=[allow(late.DECIDERS, "approving or rejecting a late record")],
        responses=FILE,
    )
    async def decide_late_record(self, record_id: RecordId, data: JSONBody[schemas.LateDecisionIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.LateDecisionOut:
        """Approve (it counts; in the first open month when its own is locked) or reject (it never counts; its open
        orders are withdrawn) a late record of your street, with a reason. Decided once: a second decision is 409."""
        return await late.decide_late_record(db, principal, record_id, data)


class FlagController(Controller):
    """Evidence-integrity flags (config/RULES.md, "Evidence integrity"): raised on a record as it is filed, never
    refusing it, for the street to look into."""

    path = "/api/inspections/flags"
    tags = ["inspections"]
    guards = [logged_in]

    @get("/", guards=[allow(flags.READERS, "reading evidence-integrity flags")], responses=READ)
    async def list_flags(
        self,
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        paging: NamedDependency[PageRequest],
        kind: FromQuery[FlagKind | None] = None,
        estate_id: OptionalId = None,
        street_id: OptionalId = None,
        month: MonthParam = None,
        record_id: OptionalId = None,
        include_cleared: FromQuery[bool] = False,
    ) -> Page[schemas.FlagOut]:
        """Flags on the records of your street (the district's for an administrator), newest first, by kind,
        estate, street, month (of the record) or record, each with its evidence. Standing flags only, unless
        `include_cleared`: a cleared flag (its input changed, e.g. the estate's boundary) says when and why."""
        rows, total = await flags.list_flags(
            db, principal, paging, kind=kind, estate_id=estate_id, street_id=street_id, month=month_of(month), record_id=record_id, include_cleared=include_cleared
        )
        return Page(rows, total, paging.page, paging.page_size)


class ReturnController(Controller):
    """Returned for correction (退回更正): the street officer (its street's patrols and street inspections) or the
    committee director (its community's patrols) returns a record to its filer with a reason; the filer answers with a
    correction, an amendment kept beside the record as filed. While it waits the record counts as
    config/inspections.toml [returns] says."""

    path = "/api/inspections"
    tags = ["inspections"]
    guards = [logged_in]

    @post("/{record_id:int}/return", dto=StrictBody[schemas.RecordReturnIn], return_dto=None, guards=[allow(returns.RETURNERS, "returning a record for correction")], responses=FILE)
    async def return_record(self, record_id: RecordId, data: JSONBody[schemas.RecordReturnIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.RecordReturnOut:
        """Return a record of your scope to its filer with a reason; a record waits on one return at a time (409)."""
        row = await returns.return_record(db, principal, record_id, data)
        return (await returns.return_rows(db, [row]))[0]

    @post("/{record_id:int}/correction", dto=StrictBody[schemas.AmendmentIn], return_dto=None, responses=FILE)
    async def correct_record(self, record_id: RecordId, data: JSONBody[schemas.AmendmentIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.RecordOut:
        """The filer's correction of their own record returned to them (403 for anyone else's record, 409 for a
        record not waiting on a return); it closes the return."""
        return await records.record_detail(db, await service.correct_record(db, principal, record_id, data))

    @get("/returns", responses=READ)
    async def list_returns(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], waiting: FromQuery[bool | None] = None) -> Page[schemas.RecordReturnOut]:
        """Returns of your street or community, and of your own records: waiting ones first, with how long they have
        waited; `waiting=true` only those waiting."""
        rows, total = await returns.list_returns(db, principal, paging, waiting=waiting)
        return Page(rows, total, paging.page, paging.page_size)


class IntegrityController(Controller):
    """Reconciliation of self-report and spot check (config/RULES.md, "Evidence integrity"): per spot-checked
    estate-month, a category the spot check deducted at least the threshold for while the month's patrols passed it
    every time is a mismatch; evidence for the street, it changes no score by itself."""

    path = "/api/integrity"
    tags = ["inspections"]
    guards = [logged_in]

    @get("/summary", guards=[allow(reconciliation.READERS, "reading the reconciliation of spot checks with patrols")], responses=READ)
    async def integrity_summary(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.IntegritySummaryOut:
        """Per social worker and per estate over the last months (config/inspections.toml [reconciliation]):
        spot-checked estate-months, mismatches, and the credibility figure (share without a mismatch)."""
        return await reconciliation.integrity_summary(db, principal)

    @get("/mismatches", guards=[allow(reconciliation.READERS, "reading the reconciliation of spot checks with patrols")], responses=READ)
    async def list_mismatches(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], estate_id: OptionalId = None, user_id: OptionalId = None
    ) -> Page[schemas.MismatchOut]:
        """Mismatches of your street (the district's for an administrator) over the window, newest month first; of
        one estate, or of the estate-months a social worker's patrols were compared in."""
        rows, total = await reconciliation.list_mismatches(db, principal, paging, estate_id=estate_id, user_id=user_id)
        return Page(rows, total, paging.page, paging.page_size)

    @get("/mismatches/{mismatch_id:int}", guards=[allow(reconciliation.READERS, "reading the reconciliation of spot checks with patrols")], responses=READ)
    async def get_mismatch(self, mismatch_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.MismatchDetailOut:
        """A mismatch with every category of its estate-month, the spot check's findings and photos, and the patrols."""
        return await reconciliation.mismatch_detail(db, principal, mismatch_id)

    @post("/reconciliations", dto=StrictBody[schemas.ReconcileIn], return_dto=None, status_code=200, guards=[allow(reconciliation.RUNNERS, "reconciling spot checks with patrols")], responses=problem_responses(400, 403, 422))
    async def reconcile_spot_checks(self, data: JSONBody[schemas.ReconcileIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ReconciledOut:
        """Reconcile a month now (the daily job does it once the month's patrols are all in: its end plus the late
        tolerance); estate-months reconciled before are left as they are, so repeating it changes nothing."""
        return await reconciliation.reconcile_month(db, principal, Month.parse(data.month))


ROUTES = [
    ReturnController,
    IntegrityController,
    FilingController,
    FlagController,
    LateRecordController,
    RecordController,
    ChecklistController,
    AttachmentController,
    DefectController,
    SpotCheckController,
    CoverageController,
]
