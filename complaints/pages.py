"""Complaint pages: the public report and tracking pages (phone first, no login), the social worker's queue and a
complaint's page with its routing forms and mediation record, and the street's complaint dashboard."""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from complaints import dashboard, schemas, service, survey
from complaints.routes import admit_attempt, admit_survey, report_admission
from complaints.rules import RATING_NAMES, STATE_NAMES, Channel, ComplaintState, make_challenge, pow_refusal
from foundation.access import Principal, Role
from foundation.clock import BUSINESS_TZ, business_today, utc_now
from foundation.errors import DomainError, InvalidInput, RuleViolation
from foundation.periods import Month
from foundation.settings import get_settings
from foundation.storage import BlobStore
from foundation.web.auth import allow
from foundation.web.flash import flashed
from foundation.web.layout import attempt, form_body, form_error, page, refused
from foundation.web.params import provide_store
from foundation.web.problems import status_of
from inspections.config import current_checklist
from inspections.pages import received_photos, uploaded_files
from registry import queries as registry_queries

DEVICE_COOKIE = "complaint_device"
EstateCode = Annotated[str, Parameter(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")]
CodeText = Annotated[str, Parameter(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
OUTCOME_NAMES = {"": "继续调解", "agreed": "达成协议", "failed": "调解不成"}
EVENT_NAMES = {"reported": "居民投诉", "ordered": "转物业企业整改", "mediating": "转入矛盾调处", "meeting": "调解会议", "resolved": "办结", "closed": "结案"}


def _challenge() -> str:
    return make_challenge(get_settings().resolved_secret_key(), int(time.time()), secrets.token_hex(8))


def _device(request: Request[Any, Any, Any]) -> str:
    sent = request.cookies.get(DEVICE_COOKIE, "")
    return sent if 16 <= len(sent) <= 64 and sent.replace("-", "").replace("_", "").isalnum() else ""


async def _report_form(db: AsyncSession, estate_code: str, request: Request[Any, Any, Any], *, refusal: DomainError | None = None, typed: dict[str, str] | None = None) -> Template:
    estate = await registry_queries.estate_by_code(db, estate_code)
    rules = service.complaint_rules()
    response = page(
        "complaint_report.html", None, estate=estate, estate_code=estate_code, services=rules.services, max_photos=rules.max_photos,
        challenge=_challenge(), bits=rules.pow_bits, errors=form_error(refusal) if refusal else {}, typed=typed or {},
    )
    return _public(response, request, refusal)


async def _survey_form(db: AsyncSession, estate_code: str, request: Request[Any, Any, Any], *, refusal: DomainError | None = None, typed: dict[str, str] | None = None) -> Template:
    estate = await registry_queries.estate_by_code(db, estate_code)
    response = page(
        "survey_answer.html", None, estate=estate, estate_code=estate_code, ratings=RATING_NAMES, errors=form_error(refusal) if refusal else {}, typed=typed or {},
        done=request.query_params.get("done") == "1" and not refusal, comment_limit=survey.COMMENT_LIMIT,
    )
    return _public(response, request, refusal)


def _public(response: Template, request: Request[Any, Any, Any], refusal: DomainError | None) -> Template:
    """A public form as a resident's phone gets it: refused, with the status (422: a form to correct) and when to
    try again; the first time, a device id for the per-device limit (random, nothing about the person)."""
    if refusal is not None:
        response.status_code = 422 if isinstance(refusal, InvalidInput) else status_of(refusal)
        if refusal.extra.get("retry_after_seconds"):
            response.headers["Retry-After"] = str(refusal.extra["retry_after_seconds"])
    if not _device(request):
        response.cookies.append(Cookie(key=DEVICE_COOKIE, value=secrets.token_urlsafe(18), max_age=365 * 24 * 3600, httponly=True, samesite="lax", secure=get_settings().cookie_secure))
    return response


class PublicComplaintPages(Controller):
    """No login: a resident reports from the QR code posted at the estate and follows the report by its code."""

    include_in_schema = False
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/report/{estate_code:str}")
    async def report_form(self, estate_code: FromPath[EstateCode], request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Template:
        return await _report_form(db, estate_code, request)

    @post("/report/{estate_code:str}")
    async def send_report(
        self,
        estate_code: FromPath[EstateCode],
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
        db: NamedDependency[AsyncSession],
        store: NamedDependency[BlobStore],
        state: State,
    ) -> Response[Any]:
        typed = {k: str(data.get(k) or "") for k in ("service_code", "place", "description", "phone")}
        rules = service.complaint_rules()
        challenge, nonce = str(data.get("pow_challenge") or ""), str(data.get("pow_nonce") or "")
        try:
            async with attempt(db):
                refusal = pow_refusal(get_settings().resolved_secret_key(), challenge, nonce, rules.pow_bits, int(time.time()), rules.pow_minutes * 60)
                if refusal:
                    raise InvalidInput(refusal, zh="页面尚未准备好或已过期，请稍候再提交（请允许页面运行脚本）", field="_form")
                uploads = uploaded_files(data, "photo")
                if len(uploads) > rules.max_photos:
                    raise RuleViolation(f"a report carries at most {rules.max_photos} photos", zh=f"最多上传 {rules.max_photos} 张照片", field="photo")
                # Every attempt is counted (a flood is stopped before its photos are read); a report counts against
                # the resident's hourly reports only once it is admissible, photos and all.
                await admit_attempt(state, request, Channel.QR, device=_device(request), challenge=challenge)
                photos = await received_photos(state, uploads, store)
                _, code = await service.report_complaint(
                    db, store,
                    service.NewComplaint(channel=Channel.QR, service_code=typed["service_code"], estate_code=estate_code, description=typed["description"], place=typed["place"], phone=typed["phone"]),
                    photos,
                    admit=report_admission(state, request, Channel.QR, device=_device(request)),
                )
        except DomainError as exc:
            return await _report_form(db, estate_code, request, refusal=exc, typed=typed)
        return Redirect(path=f"/track/{code}?new=1")

    @get("/survey/{estate_code:str}")
    async def survey_form(self, estate_code: FromPath[EstateCode], request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Template:
        return await _survey_form(db, estate_code, request)

    @post("/survey/{estate_code:str}")
    async def send_survey(
        self,
        estate_code: FromPath[EstateCode],
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
        db: NamedDependency[AsyncSession],
        state: State,
    ) -> Response[Any]:
        typed = {k: str(data.get(k) or "") for k in ("code", "rating", "comment")}
        try:
            async with attempt(db):
                await admit_survey(state, request, device=_device(request))
                await survey.answer_survey(db, estate_code, typed["code"], typed["rating"], typed["comment"])
        except DomainError as exc:
            return await _survey_form(db, estate_code, request, refusal=exc, typed=typed)
        return Redirect(path=f"/survey/{estate_code}?done=1")

    @get("/track")
    async def track_form(self) -> Template:
        return page("complaint_track_form.html", None, errors={})

    @post("/track")
    async def track_lookup(self, data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Response[Any]:
        code = (data.get("code") or "").strip()
        if not 8 <= len(code) <= 64 or not code.replace("-", "").replace("_", "").isalnum():
            response = page("complaint_track_form.html", None, errors={"code": "查询码有误，请核对后再输入"})
            response.status_code = 422
            return response
        return Redirect(path=f"/track/{code}")

    @get("/track/{code:str}")
    async def track(self, code: FromPath[CodeText], db: NamedDependency[AsyncSession], new: FromQuery[bool] = False) -> Template:
        tracked = await service.tracking(db, code)
        return page("complaint_track.html", None, t=tracked, code=code, new=new)


class ComplaintPages(Controller):
    """The community's social worker (and the director, the street) works complaints here."""

    path = "/complaints"
    include_in_schema = False
    guards = [allow(service.READERS, "reading complaints")]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/")
    async def queue(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], status: FromQuery[ComplaintState | None] = None) -> Template:
        rows = await service.complaint_out(db, principal, await service.list_complaints(db, principal, state=status))
        return page("complaint_queue.html", principal, rows=rows, status=status.value if status else "", state_names={s.value: n for s, n in STATE_NAMES.items()})

    @get("/dashboard", guards=[allow({Role.STREET_OFFICER, Role.STREET_WORKER, Role.COMMITTEE_DIRECTOR, Role.ADMIN}, "reading the complaint dashboard")])
    async def street_dashboard(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], month: FromQuery[str | None] = None) -> Template:
        last = Month.parse(month, field="month") if month else Month.of_instant(utc_now())
        view = await dashboard.street_view(db, principal, last)
        return page("complaint_dashboard.html", principal, view=view, month=str(last))

    @get("/{complaint_id:int}")
    async def detail(self, complaint_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await _detail(db, principal, complaint_id)

    @post("/{complaint_id:int}/order", guards=[allow(service.ROUTERS, "routing complaints")])
    async def order(
        self, complaint_id: FromPath[int], data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
        principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore], state: State,
    ) -> Response[Any]:
        typed = {k: str(data.get(k) or "").strip() for k in ("item", "finding", "answer")}
        try:
            async with attempt(db):
                if not typed["item"]:
                    raise InvalidInput("choose the checklist item at fault", zh="请选择对应的检查项", field="item")
                for key, zh in (("finding", "请写明现场核查情况"), ("answer", "请填写给居民的答复")):
                    if len(typed[key]) < 2:
                        raise InvalidInput(f"write the {key}", zh=zh, field=key)
                photos = await received_photos(state, uploaded_files(data, "photo"), store)
                await service.route_to_order(db, store, principal, complaint_id, form_body(schemas.OrderIn, item=typed["item"], finding=typed["finding"], answer=typed["answer"]), photos)
        except DomainError as exc:
            return await _detail(db, principal, complaint_id, exc=exc, typed=typed)
        return flashed(Redirect(path=f"/complaints/{complaint_id}"), "已转物业企业整改。")

    @post("/{complaint_id:int}/mediation", guards=[allow(service.ROUTERS, "routing complaints")])
    async def mediation(
        self, complaint_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        answer = (data.get("answer") or "").strip()
        try:
            async with attempt(db):
                if len(answer) < 2:
                    raise InvalidInput("write the answer", zh="请填写给居民的答复", field="mediation_answer")
                await service.open_mediation(db, principal, complaint_id, form_body(schemas.MediationIn, answer=answer))
        except DomainError as exc:
            return await _detail(db, principal, complaint_id, exc=exc, typed={"mediation_answer": answer})
        return flashed(Redirect(path=f"/complaints/{complaint_id}"), "已转入矛盾调处。")

    @post("/{complaint_id:int}/meetings", guards=[allow(service.ROUTERS, "recording mediation")])
    async def meeting(
        self, complaint_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        typed = {k: (data.get(k) or "").strip() for k in ("held_at", "attendees", "summary", "outcome", "follow_up", "meeting_answer")}
        try:
            async with attempt(db):
                try:
                    held_at = datetime.fromisoformat(typed["held_at"]).replace(tzinfo=BUSINESS_TZ)
                except ValueError:
                    raise InvalidInput("held_at is a date and time", zh="请填写会议时间", field="held_at") from None
                if typed["outcome"] not in OUTCOME_NAMES:
                    raise InvalidInput("choose the outcome", zh="请选择调解结果", field="outcome")
                for key, zh in (("attendees", "请填写参加人员"), ("summary", "请填写调解经过")):
                    if len(typed[key]) < 2:
                        raise InvalidInput(f"write the {key}", zh=zh, field=key)
                await service.record_meeting(
                    db, principal, complaint_id,
                    form_body(schemas.MediationMeetingIn, held_at=held_at, attendees=typed["attendees"], summary=typed["summary"], outcome=cast(schemas.Outcome, typed["outcome"]), follow_up=typed["follow_up"], answer=typed["meeting_answer"]),
                )
        except DomainError as exc:
            return await _detail(db, principal, complaint_id, exc=exc, typed=typed)
        return flashed(Redirect(path=f"/complaints/{complaint_id}"), "调解会议已记录。")

    @post("/{complaint_id:int}/closure", guards=[allow(service.ROUTERS, "routing complaints")])
    async def closure(
        self, complaint_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        typed = {k: (data.get(k) or "").strip() for k in ("reason", "referred_to", "duplicate_of", "closure_answer")}
        try:
            async with attempt(db):
                if not typed["reason"]:
                    raise InvalidInput("choose the reason", zh="请选择结案原因", field="reason")
                if len(typed["closure_answer"]) < 2:
                    raise InvalidInput("write the answer", zh="请填写给居民的答复", field="closure_answer")
                duplicate = typed["duplicate_of"]
                if duplicate and not (duplicate.isdecimal() and 1 <= int(duplicate) < 2**31):
                    raise InvalidInput("duplicate_of is a complaint number", zh="请填写投诉编号（数字）", field="duplicate_of")
                await service.close_complaint(
                    db, principal, complaint_id,
                    form_body(schemas.ClosureIn, reason=typed["reason"], answer=typed["closure_answer"], referred_to=typed["referred_to"], duplicate_of=int(duplicate) if duplicate else None),
                )
        except DomainError as exc:
            return await _detail(db, principal, complaint_id, exc=exc, typed=typed)
        return flashed(Redirect(path=f"/complaints/{complaint_id}"), "投诉已结案。")


async def _detail(db: AsyncSession, principal: Principal, complaint_id: int, exc: DomainError | None = None, typed: dict[str, str] | None = None) -> Template:
    complaint = await service.get_complaint(db, principal, complaint_id)
    row = (await service.complaint_out(db, principal, [complaint]))[0]
    rules = service.complaint_rules()
    checklist = current_checklist()
    category = rules.service(complaint.service_code)
    items = [i for i in checklist.items.values() if not category or not category.category or i.category == category.category]
    may_route = principal.role in service.ROUTERS and principal.community_id == complaint.community_id
    context: dict[str, Any] = {
        "c": row,
        "items": items,
        "meetings": await service.meetings(db, principal, complaint_id),
        "events": await service.events(db, complaint_id),
        "reasons": rules.reasons,
        "referrals": rules.referrals,
        "typed": typed or {},
        "may_route": may_route and complaint.state == ComplaintState.NEW.value,
        "may_meet": may_route and complaint.state == ComplaintState.MEDIATING.value,
        "outcome_names": OUTCOME_NAMES,
        "event_names": EVENT_NAMES,
    }
    if exc is not None:
        return refused("complaint.html", principal, exc, **context)
    return page("complaint.html", principal, errors={}, **context)


class SurveyCodePages(Controller):
    """The committee director or the community's social worker prints a batch of one-time survey codes for an
    estate-month; the list is shown once (only the codes' digests are kept)."""

    path = "/survey-codes"
    include_in_schema = False
    guards = [allow(survey.ISSUERS, "issuing survey codes")]

    @get("/")
    async def batch_form(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await _batch_form(db, principal)

    @post("/")
    async def issue(
        self, data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Template:
        typed = {k: (data.get(k) or "").strip() for k in ("estate_id", "month", "count")}
        try:
            async with attempt(db):
                if not typed["estate_id"].isdecimal() or not 1 <= int(typed["estate_id"]) < 2**31:
                    raise InvalidInput("choose the estate", zh="请选择小区", field="estate_id")
                month = Month.parse(typed["month"], "month")
                if not typed["count"].isdecimal() or len(typed["count"]) > 6:
                    raise InvalidInput("count is a whole number", zh="请填写调查码数量（整数）", field="count")
                batch = await survey.issue_codes(db, principal, int(typed["estate_id"]), month, int(typed["count"]))
        except DomainError as exc:
            return await _batch_form(db, principal, exc=exc, typed=typed)
        return page("survey_codes_printed.html", principal, batch=batch, survey_path=f"/survey/{batch.estate.code}")


async def _batch_form(db: AsyncSession, principal: Principal, exc: DomainError | None = None, typed: dict[str, str] | None = None) -> Template:
    today = business_today()
    estates = await registry_queries.managed_during(db, today, community_id=principal.community_id)
    this_month = Month.of(today)
    context: dict[str, Any] = {"estates": estates, "months": [this_month, this_month.next()], "typed": typed or {}, "max_batch": service.complaint_rules().survey.max_batch}
    if exc is not None:
        return refused("survey_codes.html", principal, exc, **context)
    return page("survey_codes.html", principal, errors={}, **context)


PAGES = [PublicComplaintPages, ComplaintPages, SurveyCodePages]
