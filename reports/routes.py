"""Documents: batch pack PDFs, payment notices, estate reports, the treasury spreadsheet, and their verification
(public: anyone holding a printed page scans its QR code or uploads the file)."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, Parameter
from litestar.response import Template
from litestar.types import ControllerRouterHandler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment.queries import ScoreVersion, score_version, score_versions
from foundation.access import Principal, Role
from foundation.clock import BUSINESS_TZ
from foundation.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unavailable
from foundation.periods import MONTH_PATTERN, Month
from foundation.storage import BlobStore
from foundation.web.auth import logged_in
from foundation.web.doors import two_doors
from foundation.web.params import RecordId, provide_store
from foundation.web.problems import problem_responses
from reports import programme_documents, service
from reports.pdf import FontMissing
from subsidies.engine.queries import get_batch
from subsidies.engine.registry import programme
from subsidies.engine.rules import Party
from subsidies.engine.tables import ProgrammeBatch
from subsidies.property.service import PROGRAMME
from subsidies.property.tables import SubsidyLine

READ = problem_responses(400, 403, 404, 503)
PDF = service.PDF
XLSX = service.XLSX
CODE_PATTERN = r"^[0-9a-f]{32}$"
MonthPath = Annotated[str, Parameter(pattern=MONTH_PATTERN, description="A month, e.g. 2026-10")]
CodePath = Annotated[str, Parameter(pattern=CODE_PATTERN, description="The code in the verification address (32 hex digits)")]
T = TypeVar("T")
STORE = {"store": Provide(provide_store, sync_to_thread=False)}


def _file(content: bytes, media_type: str, name: str) -> Response[bytes]:
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private"})


async def _batch(db: NamedDependency[AsyncSession], principal: NamedDependency[Principal], batch_id: int) -> ProgrammeBatch:
    if principal.role not in (Role.FINANCE, Role.ADMIN, Role.COMPANY):
        raise PermissionDenied("batch documents are for finance, administrators and the companies paid", zh="拨付文件仅供财政人员、区管理员和受款单位查看")
    batch = await db.get(ProgrammeBatch, batch_id)
    if batch is None or batch.programme != PROGRAMME:
        raise NotFound("batch", batch_id)
    return batch


async def _rendered(work: Awaitable[T]) -> T:
    """The document made by `work`; without a CJK font to embed, 503 saying which package to install."""
    try:
        return await work
    except FontMissing as missing:
        raise Unavailable(str(missing)) from None


def _batch_documents_missing(batch: ProgrammeBatch) -> Conflict:
    return Conflict(
        f"the documents of batch {batch.number} were not made when it was issued (no CJK font then); make them with POST /api/subsidies/batches/{batch.id}/documents",
        zh="该批次的文件尚未生成，请先生成批次文件",
    )


class BatchDocumentController(Controller):
    """A batch's documents, served as they were issued with the batch; a GET never makes one."""

    path = "/subsidies/batches"
    tags = ["documents"]
    guards = [logged_in]
    dependencies = STORE  # noqa: RUF012

    @get("/{batch_id:int}/summary.pdf", responses=READ, media_type=PDF)
    async def summary(self, batch_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """The batch pack's summary: totals by street and company, approvals, every line (finance, administrators)."""
        if principal.role is Role.COMPANY:
            raise PermissionDenied("a company downloads its own payment notice", zh="物业企业只能下载本企业的拨付通知书")
        batch = await _batch(db, principal, batch_id)
        pdf, _ = await service.served(db, store, "batch_summary", service.batch_subject(batch), _batch_documents_missing(batch))
        return _file(pdf, PDF, f"{batch.number}-summary.pdf")

    @get("/{batch_id:int}/notices/{company_id:int}", responses=READ, media_type=PDF)
    async def notice(self, batch_id: RecordId, company_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """A company's payment notice for the batch: each estate and month with score, grade, coefficient, amount."""
        batch = await _batch(db, principal, batch_id)
        if batch.run_id is None:
            raise NotFound("payment notice of adjustment batch", batch.number)
        if principal.role is Role.COMPANY and principal.company_id != company_id:
            raise NotFound("payment notice of company", company_id)
        paid = (await db.execute(select(col(SubsidyLine.id)).where(col(SubsidyLine.run_id) == batch.run_id, col(SubsidyLine.company_id) == company_id).limit(1))).scalar()
        if paid is None:
            raise NotFound("payment notice of company", company_id)
        pdf, _ = await service.served(db, store, "payment_notice", service.batch_subject(batch, company_id), _batch_documents_missing(batch))
        return _file(pdf, PDF, f"{batch.number}-company-{company_id}.pdf")

    @get("/{batch_id:int}/lines.xlsx", responses=READ, media_type=XLSX)
    async def lines(self, batch_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """The batch's lines for the treasury, with the same totals as the PDF (as issued with the batch, served byte for byte ever after)."""
        if principal.role is Role.COMPANY:
            raise PermissionDenied("the treasury spreadsheet is for finance and administrators", zh="国库明细表仅供财政人员和区管理员下载")
        batch = await _batch(db, principal, batch_id)
        if batch.run_id is None:
            raise NotFound("treasury lines of adjustment batch (see its summary)", batch.number)
        content, _ = await service.served(db, store, "batch_lines", service.batch_subject(batch), _batch_documents_missing(batch))
        return _file(content, XLSX, f"{batch.number}-lines.xlsx")

    @post("/{batch_id:int}/documents", status_code=204, responses=problem_responses(400, 403, 404, 503))
    async def make_batch_documents(self, batch_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> None:
        """Make the batch's documents that could not be made when it was issued (no CJK font then); those made stay as they are."""
        if principal.role not in (Role.FINANCE, Role.ADMIN):
            raise PermissionDenied("batch documents are made by finance and administrators", zh="拨付文件由财政人员或区管理员生成")
        await _rendered(service.make_batch_documents(db, store, await _batch(db, principal, batch_id)))


PayeeKind = Annotated[str, Parameter(pattern=r"^[a-z][a-z_]{0,19}$", description="The kind of payee, e.g. company")]
WRITE_DOCUMENTS = problem_responses(400, 403, 404, 409, 503)


class IssuedDocumentOut(msgspec.Struct):
    code: str
    kind: str
    subject: str
    number: str
    title: str
    total_fen: int | None


async def _programme_batch(db: NamedDependency[AsyncSession], principal: NamedDependency[Principal], batch_id: int, payee: Party | None = None) -> ProgrammeBatch:
    """The batch, for the programme's staff; a company also for its own payment notice."""
    if payee is not None and principal.role is Role.COMPANY:
        batch = await db.get(ProgrammeBatch, batch_id)
        if batch is None or payee != Party("company", principal.company_id or 0):
            raise NotFound("payment notice of", str(payee))
        return batch
    batch, _ = await get_batch(db, principal, batch_id)
    of = programme(batch.programme)
    if principal.role not in of.runs_by | of.reads:
        # A street officer confirms the street's part of a run and reads its lines; the batch's documents cover every
        # street (and, for care, every elder's voucher): they are finance's, as the property subsidy's are.
        raise PermissionDenied(f"the batch documents of {of.code} are for finance and administrators", zh="拨付文件仅供财政人员和区管理员查看")
    return batch


class ProgrammeDocumentController(Controller):
    """Any programme's batch documents: served as they were issued with the batch; a GET never makes one."""

    path = "/programmes/batches"
    tags = ["documents"]
    guards = [logged_in]
    dependencies = STORE  # noqa: RUF012

    @get("/{batch_id:int}/summary.pdf", responses=problem_responses(400, 403, 404, 409), media_type=PDF)
    async def programme_batch_summary(self, batch_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """The batch's summary: totals by holder and payee, the approvals, every line."""
        batch = await _programme_batch(db, principal, batch_id)
        pdf, _ = await programme_documents.kept(db, store, "batch_summary", batch)
        return _file(pdf, PDF, f"{batch.number}-summary.pdf")

    @get("/{batch_id:int}/notices/{payee_kind:str}/{payee_id:int}", responses=problem_responses(400, 403, 404, 409), media_type=PDF)
    async def programme_payment_notice(self, batch_id: RecordId, payee_kind: PayeeKind, payee_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """A payee's payment notice for the batch."""
        payee = Party(payee_kind, payee_id)
        batch = await _programme_batch(db, principal, batch_id, payee)
        pdf, _ = await programme_documents.kept(db, store, "payment_notice", batch, payee)
        return _file(pdf, PDF, f"{batch.number}-{payee_kind}-{payee_id}.pdf")

    @get("/{batch_id:int}/lines.xlsx", responses=problem_responses(400, 403, 404, 409), media_type=XLSX)
    async def programme_batch_lines(self, batch_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """The batch's lines for the treasury (XLSX), with the same totals as the summary."""
        batch = await _programme_batch(db, principal, batch_id)
        content, _ = await programme_documents.kept(db, store, "batch_lines", batch)
        return _file(content, XLSX, f"{batch.number}-lines.xlsx")

    @post("/{batch_id:int}/documents", status_code=200, responses=WRITE_DOCUMENTS)
    async def make_programme_batch_documents(self, batch_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> list[IssuedDocumentOut]:
        """Make the batch's documents not made when it was issued (there was no CJK font then); those made are kept as they are."""
        batch = await _programme_batch(db, principal, batch_id)
        made = await _rendered(programme_documents.make_documents(db, store, batch))
        return [IssuedDocumentOut(code=d.code, kind=d.kind, subject=d.subject, number=d.number, title=d.title, total_fen=d.total_fen) for d in made]


async def _newest_score(db: NamedDependency[AsyncSession], principal: NamedDependency[Principal], estate_id: int, month: str) -> tuple[ScoreVersion, str]:
    """The newest score version of the estate's month within the principal's scope, and the estate's code."""
    newest = (await score_versions(db, principal, estate_id, Month.parse(month)))[0]
    score = await score_version(db, newest.id)
    if score is None:
        raise NotFound("score", newest.id)
    return score, newest.estate_code


class EstateReportController(Controller):
    """An estate's month report: issued by a POST (kept, with its verification code), then served as issued."""

    path = "/assessment/scores"
    tags = ["documents"]
    guards = [logged_in]
    dependencies = STORE  # noqa: RUF012

    @get("/{estate_id:int}/{month:str}/report.pdf", responses=problem_responses(400, 403, 404, 409), media_type=PDF)
    async def report(self, estate_id: RecordId, month: MonthPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """The report of the newest score version, as it was issued (409 until it is: POST to this address issues it)."""
        score, code = await _newest_score(db, principal, estate_id, month)
        missing = Conflict(
            f"the report of {code} {month} (score version {score.version}) is not issued yet; issue it with POST to this address",
            zh="本月考核报告（当前得分版本）尚未生成，请在得分明细页点击“生成并下载本月考核报告”",
        )
        pdf, _ = await service.served(db, store, "estate_report", service.estate_report_subject(score), missing)
        return _file(pdf, PDF, f"report-{code}-{month}-v{score.version}.pdf")

    @post("/{estate_id:int}/{month:str}/report.pdf", status_code=200, responses=problem_responses(400, 403, 404, 503), media_type=PDF)
    async def issue_estate_report(self, estate_id: RecordId, month: MonthPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """Issue the report of the newest score version (once: it is kept, and sent again as it was) and answer it:
        score, components, every line of the breakdown, vetoes."""
        score, code = await _newest_score(db, principal, estate_id, month)
        pdf, _ = await _rendered(service.estate_report(db, store, score))
        return _file(pdf, PDF, f"report-{code}-{month}-v{score.version}.pdf")


@dataclass
class DocumentUpload:
    file: UploadFile


class VerificationOut(msgspec.Struct, omit_defaults=True):
    """What a holder of a copy compares with it (anyone may ask: no breakdown, no payee, nothing the copy lacks)."""

    genuine: bool
    code: str | None = None
    kind: str | None = None
    title: str | None = None
    number: str | None = None
    checksum: str | None = None  # printed on every page
    pages: int | None = None  # printed as "共 N 页"
    total_fen: int | None = None  # the one total printed on the document: a copy with a changed amount shows it
    issuer: str | None = None
    media_type: str | None = None
    issued_at: str | None = None


def _verification(doc: Any) -> VerificationOut:
    if doc is None:
        return VerificationOut(genuine=False)
    return VerificationOut(
        genuine=True, code=doc.code, kind=doc.kind, title=doc.title, number=doc.number, checksum=doc.checksum[:16], pages=doc.pages,
        total_fen=doc.total_fen, issuer=service.ISSUERS.get(doc.kind), media_type=doc.media_type, issued_at=doc.issued_at.astimezone(BUSINESS_TZ).isoformat(),
    )


class VerificationController(Controller):
    tags = ["documents"]

    @get("/verify/{code:str}", include_in_schema=False)
    async def page(self, code: FromPath[str], db: NamedDependency[AsyncSession]) -> Template:
        """The page a scanned QR code opens: whether the system issued this document, and its facts to compare."""
        document = await service.verify(db, code=code) if re.fullmatch(CODE_PATTERN, code) else None
        issued_at = document.issued_at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if document else ""
        context = {"document": document, "code": code, "issued_at": issued_at, "principal": None}
        if document is not None:
            context["issuer"] = service.ISSUERS.get(document.kind, "")
        return Template("verify.html", context=context)

    @get("/api/documents/{code:str}", responses=problem_responses(400, 404))
    async def by_code(self, code: CodePath, db: NamedDependency[AsyncSession]) -> VerificationOut:
        """The facts of an issued document by its code (no login: anyone holding a copy may check it)."""
        document = await service.verify(db, code=code)
        if document is None:
            raise NotFound("document", code)
        return _verification(document)

    @post("/api/documents/verify", status_code=200, responses=problem_responses(400))
    async def by_content(self, data: Annotated[DocumentUpload, Body(media_type=RequestEncodingType.MULTI_PART)], db: NamedDependency[AsyncSession]) -> VerificationOut:
        """Upload a PDF or XLSX: `genuine` only if it is byte for byte a document the system issued (a changed amount
        fails), whenever it was issued."""
        if not isinstance(data.file, UploadFile):
            raise InvalidInput("send the document as the multipart field 'file'", zh="请选择要核验的文件后再提交")
        return _verification(await service.verify(db, content=await data.file.read()))


# The same documents through two doors: /api/... for software (bearer token or API key) and /documents/... for
# pages (the session cookie), under the same role and scope checks.
ROUTES: list[ControllerRouterHandler] = [
    *two_doors(BatchDocumentController, EstateReportController, ProgrammeDocumentController),
    VerificationController,
]
