"""Evidence pages: the social worker's phone patrol (with its offline outbox), rectification orders for everyone
who works them, photos, and the patrol coverage heat map. A second door to the same services as the API."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role
from foundation.clock import business_today
from foundation.errors import DomainError, InvalidInput, NotFound
from foundation.paging import PageRequest
from foundation.periods import Month
from foundation.storage import BlobStore
from foundation.web.auth import allow, logged_in
from foundation.web.flash import flashed
from foundation.web.layout import attempt, chosen_id, form_body, page, page_request, pages_of, read_verdict, refused
from foundation.web.offline import offline_worker, outbox_refusal
from foundation.web.params import provide_store
from inspections import attachments, defects, records, returns, schemas, service, spot_checks
from inspections.config import current_checklist
from inspections.integrity_pages import PAGES as INTEGRITY_PAGES
from inspections.integrity_pages import record_page
from inspections.photos import PhotoLimits
from inspections.rules import Source
from inspections.tables import InspectionRecord
from registry import queries as registry_queries
from registry import service as registry

SEVERITY_NAMES = {"safety": "安全隐患", "general": "一般问题", "major_repair": "重大维修"}
STATE_NAMES = {"open": "待整改", "fix_reported": "已报整改", "closed": "验收通过", "withdrawn": "已撤销", "overdue": "已逾期"}
# Where a deadline's working days came from (inspections.rules.CalendarSource).
CALENDAR_SOURCE_NAMES = {"district": "区里登记的法定节假日安排", "config": "配置文件中的法定节假日安排", "library": "节假日日历库", "fallback": "按周一至周五推算"}
SOURCE_NAMES = {"patrol": "日常巡查", "street_inspection": "街道检查", "spot_check": "第三方抽查"}
DEFECT_VIEWERS = {Role.COMMUNITY_WORKER, Role.COMMITTEE_DIRECTOR, Role.STREET_OFFICER, Role.STREET_WORKER, Role.ADMIN, Role.COMPANY, Role.INSPECTOR}
COVERAGE_VIEWERS = {Role.COMMUNITY_WORKER, Role.COMMITTEE_DIRECTOR, Role.STREET_OFFICER, Role.STREET_WORKER, Role.ADMIN}
PAGE_SIZE = 50


@dataclass
class PhotoForm:
    file: UploadFile


def uploaded_files(data: dict[str, Any], field: str) -> list[UploadFile]:
    """The files a form's file input sent (none, one or several; an empty input sends a nameless part)."""
    sent = data.get(field)
    return [f for f in (sent if isinstance(sent, list) else [sent]) if isinstance(f, UploadFile) and f.filename]


async def received_photos(state: State, uploads: list[UploadFile], store: BlobStore) -> list[attachments.ReceivedPhoto]:
    """A form's photos read, checked and written ahead (staged), not stored: the use case stores them once it has
    checked the rest (a refusal drops them)."""
    limits = PhotoLimits.of(state.settings)
    return [await attachments.receive_photo(await u.read(limits.max_bytes + 1), u.filename or "", None, limits, store) for u in uploads]


async def outbox_photo(db: AsyncSession, store: BlobStore, principal: Principal, state: State, file: object, field: str) -> Response[dict[str, Any]]:
    """A photo a phone's outbox sends before what shows it, checked and stored as patrol photos are (the same photo
    again is the same attachment): its id, or the refusal beside `field`."""
    try:
        async with attempt(db):
            if not isinstance(file, UploadFile):
                raise InvalidInput("send the photo as the multipart field 'file'", zh="请选择照片", field=field)
            limits = PhotoLimits.of(state.settings)
            content = await file.read(limits.max_bytes + 1)
            attachment = await attachments.upload_photo(db, store, principal, content, file.filename or "", None, limits)
    except DomainError as exc:
        return outbox_refusal(exc)
    return Response({"id": attachment.id}, status_code=201)


class PatrolPages(Controller):
    """The property social worker's phone: today's estates, the checklist, the outbox that survives no signal."""

    path = "/patrol"
    include_in_schema = False
    guards = [allow(service.FILERS[Source.PATROL], service.ACTION[Source.PATROL])]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/")
    async def today(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        today = business_today()
        estates = await registry_queries.managed_during(db, today, community_id=principal.community_id)
        patrols = dict(
            (
                await db.execute(
                    select(col(InspectionRecord.estate_id), func.count())
                    .where(
                        col(InspectionRecord.community_id) == principal.community_id,
                        col(InspectionRecord.source) == Source.PATROL.value,
                        col(InspectionRecord.business_date) == today,
                    )
                    .group_by(col(InspectionRecord.estate_id))
                )
            ).all()
        )
        open_defects = await defects.open_orders_by_estate(db, principal.community_id)
        community = await registry_queries.community(db, principal.community_id)
        return page(
            "patrol_today.html",
            principal,
            today=today,
            community=community,
            estates=estates,
            patrols=patrols,
            open_defects=open_defects,
            done=sum(1 for e in estates if patrols.get(e.id)),
            returned=(await returns.list_returns(db, principal, PageRequest(1, 50), waiting=True))[0],
        )

    @get("/estates/{estate_id:int}")
    async def checklist_form(self, estate_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        estate = await registry.get_estate(db, principal, estate_id)
        today = business_today()
        filed_today = (
            await db.execute(
                select(func.count()).where(
                    col(InspectionRecord.estate_id) == estate_id, col(InspectionRecord.source) == Source.PATROL.value, col(InspectionRecord.business_date) == today
                )
            )
        ).scalar_one()
        checklist = current_checklist()
        return page(
            "patrol_form.html",
            principal,
            estate=estate,
            filed_today=filed_today,
            checklist=checklist,
            items_by_category={c.code: [i for i in checklist.items.values() if i.category == c.code] for c in checklist.categories},
            severity_names=SEVERITY_NAMES,
        )

    @post("/photos", status_code=201)
    async def upload_photo(
        self,
        data: Annotated[PhotoForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        store: NamedDependency[BlobStore],
        state: State,
    ) -> Response[dict[str, Any]]:
        """The outbox sends each photo first (the same photo again is the same attachment), then the record."""
        return await outbox_photo(db, store, principal, state, data.file, "file")

    @post("/records", dto=None)
    async def file_patrol(self, data: JSONBody[schemas.RecordIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[dict[str, Any]]:
        """The outbox's send: the same use case as POST /api/patrols; a resend with the same client id is a 200."""
        try:
            async with attempt(db):
                filed = await service.file_record(db, store, principal, Source.PATROL, data)
        except DomainError as exc:
            return outbox_refusal(exc)
        record = filed.record
        return Response(
            {"id": record.id, "estate_id": record.estate_id, "counted": record.counted, "replayed": filed.replayed},
            status_code=200 if filed.replayed else 201,
        )


class PatrolServiceWorker(Controller):
    """The patrol pages' service worker (registered with the scope /patrol, so it controls those pages only)."""

    include_in_schema = False

    @get("/patrol-sw.js", media_type="text/javascript")
    async def script(self) -> Response[bytes]:
        return offline_worker("patrol", "/patrol", "/static/patrol.js")


class DefectPages(Controller):
    """Rectification orders (整改单): the company reports fixes, community and street workers verify them."""

    path = "/defects"
    include_in_schema = False
    guards = [allow(DEFECT_VIEWERS, "reading rectification orders")]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/")
    async def orders(
        self,
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        state_filter: Annotated[str, QueryParameter(name="state")] = "active",
        page_no: FromQuery[int] = 1,
        estate: Annotated[str | None, QueryParameter(name="estate_id")] = None,
        overdue_filter: Annotated[str | None, QueryParameter(name="overdue")] = None,
        company: Annotated[str | None, QueryParameter(name="company_id")] = None,
        item_filter: Annotated[str | None, QueryParameter(name="item")] = None,
    ) -> Template:
        """The orders in scope, filtered by state, estate, company, checklist item and overdue; most urgent first.
        The choices are those of the orders one may see; a filter with one choice is left out."""
        estate_id = chosen_id(estate)
        company_id = chosen_id(company)
        overdue = overdue_filter in ("1", "true", "on")
        paging = page_request(page_no, PAGE_SIZE)
        state = state_filter if state_filter in ("active", "open", "fix_reported", "closed", "overdue") else "active"
        items = await defects.items_with_orders(db, principal)
        item = item_filter if item_filter in items else None
        rows, total = await defects.list_defects(db, principal, paging, state=state, estate_id=estate_id, company_id=company_id, item_code=item, overdue=overdue)
        estate_names = {i: e.name for i, e in (await registry_queries.estates(db, await defects.estates_with_orders(db, principal))).items()}
        company_names = {i: c.name for i, c in (await registry_queries.companies(db, await defects.companies_with_orders(db, principal))).items()}
        chosen = (("state", state), ("estate_id", estate_id), ("company_id", company_id), ("item", item), ("overdue", 1 if overdue else None))
        return page(
            "defects.html",
            principal,
            defects=rows,
            total=total,
            paging=paging,
            pages=pages_of(total, paging),
            state=state,
            extra="".join(f"&{key}={value}" for key, value in chosen if value),
            estate_id=estate_id,
            estate_names=estate_names,
            company_id=company_id,
            company_names=company_names,
            item=item,
            items=items,
            overdue=overdue,
            state_names=STATE_NAMES,
            calendar_source_names=CALENDAR_SOURCE_NAMES,
            severity_names=SEVERITY_NAMES,
            source_names=SOURCE_NAMES,
            may_review=principal.role in defects.REVIEWERS,
        )

    @get("/{defect_id:int}")
    async def order(self, defect_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await _order_page(db, principal, defect_id)

    @post("/{defect_id:int}/fix", guards=[allow({Role.COMPANY}, "reporting a rectification")])
    async def report_fix(
        self,
        defect_id: FromPath[int],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        store: NamedDependency[BlobStore],
        state: State,
    ) -> Response[Any]:
        note = str(data.get("note") or "").strip()
        uploads = uploaded_files(data, "photo")
        try:
            async with attempt(db):
                photos = await received_photos(state, uploads, store)
                await defects.report_fix(db, principal, defect_id, schemas.FixReportIn(note=note, photo_ids=[]), store=store, photos=photos)
        except DomainError as exc:
            return await _order_page(db, principal, defect_id, exc=exc, typed={"note": note})
        return flashed(Redirect(path=f"/defects/{defect_id}"), "整改情况已上报，等待社工验收。")

    @post("/{defect_id:int}/review", guards=[allow(defects.REVIEWERS, "verifying a rectification")])
    async def review_fix(
        self,
        defect_id: FromPath[int],
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
    ) -> Response[Any]:
        try:
            async with attempt(db):
                accepted, note = read_verdict(data, "accept", "reject", "请选择验收通过或退回", "请填写验收意见", reason_key="note")
                await defects.review_fix(db, principal, defect_id, form_body(schemas.FixReviewIn, accepted=accepted, note=note))
        except DomainError as exc:
            return await _order_page(db, principal, defect_id, exc=exc, typed={"note": data.get("note") or ""})
        return flashed(Redirect(path=f"/defects/{defect_id}"), "整改已验收通过。" if accepted else "验收退回：整改单回到待整改，物业企业须重新整改。")


async def _order_page(db: AsyncSession, principal: Principal, defect_id: int, exc: DomainError | None = None, typed: dict[str, str] | None = None) -> Template:
    defect = await defects.get_defect(db, principal, defect_id)
    row = (await defects.defect_rows(db, [defect]))[0]
    record = await records.record_detail(db, await records.get_record(db, principal, defect.record_id))
    item = next((r for r in record.effective_results if r.item == row.item), None)
    context: dict[str, Any] = {
        "d": row,
        "record": record,
        "item": item,
        "typed": typed or {},
        "state_names": STATE_NAMES,
        "severity_names": SEVERITY_NAMES,
        "source_names": SOURCE_NAMES,
        "calendar_source_names": CALENDAR_SOURCE_NAMES,
        "may_fix": principal.role is Role.COMPANY and row.state == "open",
        "may_review": principal.role in defects.REVIEWERS and row.state == "fix_reported",
        # The company contests a deduction on the score's breakdown (the appeal form), once the month has ended.
        "scored_month": scored if principal.role is Role.COMPANY and (scored := Month.of_instant(record.inspected_at)) < Month.of(business_today()) else None,
    }
    if exc is not None:
        return refused("defect.html", principal, exc, **context)
    return page("defect.html", principal, errors={}, **context)


class RecordPages(Controller):
    include_in_schema = False
    guards = [logged_in]

    @get("/records/{record_id:int}")
    async def record(self, record_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        """A filed record as filed, with its amendments and the results in effect, every photo, its evidence-integrity
        flags and its returns."""
        return await record_page(db, principal, record_id)


class PhotoPages(Controller):
    """Photos for pages, under the same rule as the API: the uploader, or whoever may see a record, order, veto or
    appeal showing it."""

    include_in_schema = False
    guards = [logged_in]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/photos/{attachment_id:int}")
    async def photo(self, attachment_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore], state: State, original: FromQuery[bool] = False) -> Response[bytes]:
        """The display copy; ?original=true the photo as filed."""
        attachment = await attachments.get_attachment(db, principal, attachment_id)
        return Response(
            await attachments.photo_content(store, attachment, state.settings.photo_display_max_side, original=original),
            media_type=attachment.content_type,
            headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"},
        )


@dataclass(frozen=True)
class HeatCell:
    day: date
    estates: int
    patrolled: int
    today: date

    @property
    def shade(self) -> str:
        """full / part / none for a day that has passed; `today` while today's patrols may still come (complete
        already reads full); `due` for a day still ahead: neither is 无人巡查."""
        if self.day > self.today:
            return "due"
        if self.estates == 0:
            return "off"
        if self.patrolled >= self.estates:
            return "full"
        if self.day == self.today:
            return "today"
        return "none" if self.patrolled == 0 else "part"

    @property
    def shown(self) -> str:
        return "未到" if self.shade == "due" else f"{self.patrolled}/{self.estates}"

    @property
    def told(self) -> str:
        meaning = {"due": "未到", "off": "无在管区片", "full": "全部巡查", "today": "今日巡查进行中", "none": "无人巡查", "part": "部分巡查"}[self.shade]
        return f"{self.day}：{meaning}" + ("" if self.shade == "due" else f"，{self.patrolled}/{self.estates}")


class CoveragePages(Controller):
    include_in_schema = False
    guards = [allow(COVERAGE_VIEWERS, "reading patrol coverage")]

    @get("/coverage")
    async def heat_map(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], month: FromQuery[str | None] = None, community: Annotated[str | None, QueryParameter(name="community_id")] = None) -> Template:
        """Patrolled estates per community per day of a month: a calendar heat map (shade and number)."""
        today = business_today()
        wanted = Month.parse(month, "month") if month else Month.of(today)
        first = date(wanted.year, wanted.month, 1)
        last = min(date(wanted.year, wanted.month, calendar.monthrange(wanted.year, wanted.month)[1]), today)
        community_id = chosen_id(community)
        communities, _ = await registry.list_communities(db, principal, PageRequest(1, 500), None)
        if community_id is not None:
            communities = [c for c in communities if c.id == community_id]
            if not communities:
                raise NotFound("community", community_id)
        month_end = date(wanted.year, wanted.month, calendar.monthrange(wanted.year, wanted.month)[1])
        ahead = [last + timedelta(days=i) for i in range(1, (month_end - last).days + 1)] if last >= first else []
        rows = []
        if last >= first:
            shown = await records.communities_coverage(db, [(c.id or 0, c.name, c.street_id) for c in communities], first, last)
            for c, coverage in zip(communities, shown, strict=True):
                cells = [HeatCell(d.day, d.estates, d.patrolled, today) for d in coverage.days]
                rows.append((c, cells + [HeatCell(d, 0, 0, today) for d in ahead], coverage))
        days = [first + timedelta(days=i) for i in range((month_end - first).days + 1)] if last >= first else []
        return page(
            "coverage.html",
            principal,
            month=wanted,
            previous=wanted.previous(),
            following=wanted.next() if wanted < Month.of(today) else None,
            days=days,
            rows=rows,
            community_id=community_id,
            today=today,
        )


class SpotCheckPages(Controller):
    """A third-party firm's desk: the estates drawn for it this month, which it has filed and which wait."""

    path = "/spot-checks"
    include_in_schema = False
    guards = [allow({Role.INSPECTOR, Role.ADMIN}, "spot-check assignments")]

    @get("/")
    async def assignments(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], month: FromQuery[str | None] = None) -> Template:
        today = business_today()
        wanted = Month.parse(month, "month") if month else Month.of(today)
        rows, _ = await spot_checks.list_assignments(db, principal, PageRequest(1, 500), wanted, pending_only=False)
        return page(
            "spot_checks.html",
            principal,
            month=str(wanted),
            previous=wanted.previous(),
            following=wanted.next() if wanted < Month.of(today) else None,
            rows=rows,
            filed=sum(1 for r in rows if r.filed_record_id),
            # A month's spot checks are filed within the month (the to-do's due day; a later record is late evidence).
            due=wanted.last_day,
            today=today,
        )


PAGES = [PatrolPages, PatrolServiceWorker, DefectPages, RecordPages, PhotoPages, CoveragePages, SpotCheckPages, *INTEGRITY_PAGES]
