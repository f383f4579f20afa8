"""API routes of complaints: the Open311 GeoReport v2 endpoints (no login; POST limited per address and device) and the
social worker's routing (thin: parse, guard, call one use case, shape the answer)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery, JSONBody, Parameter
from litestar.routes import HTTPRoute
from sqlalchemy.ext.asyncio import AsyncSession

from complaints import schemas, service
from complaints.rules import STATE_NAMES, Channel, ComplaintState
from complaints.tables import Complaint
from foundation.access import Principal
from foundation.errors import NotFound, RuleViolation
from foundation.settings import get_settings
from foundation.storage import BlobStore
from foundation.throttle import Limit, admit
from foundation.web.auth import allow
from foundation.web.body import StrictBody
from foundation.web.inputs import check_request_text
from foundation.web.params import RecordId, provide_store
from foundation.web.problems import georeport_responses, problem_responses
from foundation.web.sessions import caller_address, write_transactions
from registry import queries as registry_queries

READ = problem_responses(400, 403, 404)
GEOREPORT_READ = georeport_responses(400, 403, 404)
WRITE = problem_responses(400, 403, 404, 409, 422)
STORE = {"store": Provide(provide_store, sync_to_thread=False)}
TrackingCode = Annotated[str, Parameter(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+(\.json)?$", description="The tracking code the report answered")]
OPEN311_NOTICE = "已受理。请保存查询码，用它查看处理进展和答复。"


# Every report sent, admitted or refused, is counted against this many times the reports a key may file: a resident
# whose photo was refused sends again without losing a report of the hour, and a flood of refused requests is still
# stopped before its files are read (a QR page's attempt also costs its sender a solved challenge, good once).
ATTEMPTS_PER_REPORT = 3


async def admit_attempt(state: State, request: Request[Any, Any, Any], channel: Channel, device: str = "", challenge: str = "") -> None:
    """The shared limiter (foundation/throttle.py) on anonymous reports sent, before anything of them is read: per
    address and device, at ATTEMPTS_PER_REPORT times the reports admitted; and each solved challenge once."""
    rules = service.complaint_rules()
    window = timedelta(minutes=rules.window_minutes)
    address = caller_address(request)
    checks: list[tuple[Limit, str]]
    if channel is Channel.OPEN311:
        checks = [(Limit("complaint-open311-attempt-address", rules.open311_per_address * ATTEMPTS_PER_REPORT, window), address)]
        if device:
            checks.append((Limit("complaint-open311-attempt-device", rules.per_device * ATTEMPTS_PER_REPORT, window), device))
    else:
        checks = [(Limit("complaint-attempt-address", rules.per_address * ATTEMPTS_PER_REPORT, window), address), (Limit("complaint-challenge", 1, timedelta(minutes=rules.pow_minutes)), challenge)]
        if device:
            checks.append((Limit("complaint-attempt-device", rules.per_device * ATTEMPTS_PER_REPORT, window), device))
    await admit(write_transactions(state), get_settings().resolved_secret_key(), checks, zh="提交次数过多，请稍后再试；紧急情况请拨打12345")


def report_admission(state: State, request: Request[Any, Any, Any], channel: Channel, device: str = "") -> Callable[[], Awaitable[None]]:
    """The limiter on reports admitted, per address and per device, for report_complaint to ask once a report has
    passed every check (its photos too). A key not seen within the window is always admitted, so a genuine first
    report goes through."""
    rules = service.complaint_rules()
    window = timedelta(minutes=rules.window_minutes)
    address = caller_address(request)
    checks: list[tuple[Limit, str]]
    if channel is Channel.OPEN311:
        checks = [(Limit("complaint-open311-address", rules.open311_per_address, window), address)]
        if device:
            checks.append((Limit("complaint-open311-device", rules.per_device, window), device))
    else:
        checks = [(Limit("complaint-address", rules.per_address, window), address)]
        if device:
            checks.append((Limit("complaint-device", rules.per_device, window), device))

    async def admit_report() -> None:
        await admit(write_transactions(state), get_settings().resolved_secret_key(), checks, zh="提交次数过多，请稍后再试；紧急情况请拨打12345")

    return admit_report


async def admit_survey(state: State, request: Request[Any, Any, Any], device: str = "") -> None:
    """The shared limiter on survey answers, right or wrong (a code cannot be guessed by trying): per address and per
    device within the complaints' window; a new address or device is always admitted."""
    rules = service.complaint_rules()
    window = timedelta(minutes=rules.window_minutes)
    checks = [(Limit("survey-address", rules.survey.per_address, window), caller_address(request))]
    if device:
        checks.append((Limit("survey-device", rules.survey.per_device, window), device))
    await admit(write_transactions(state), get_settings().resolved_secret_key(), checks, zh="提交次数过多，请稍后再试")


async def _request_out(db: AsyncSession, complaint: Complaint, code: str, base_url: str) -> schemas.Open311Request:
    state, resolved_at = await service.effective_state(db, complaint)
    estate = (await registry_queries.estates(db, [complaint.estate_id]))[complaint.estate_id]
    tracked = await service.tracking(db, code)
    return schemas.Open311Request(
        service_request_id=code,
        status="open" if state in (ComplaintState.NEW, ComplaintState.ORDERED, ComplaintState.MEDIATING) else "closed",
        status_notes=f"{STATE_NAMES[state]}。{tracked.answer}".strip("。") if tracked.answer else STATE_NAMES[state],
        service_name=tracked.service_name,
        service_code=complaint.service_code,
        description=complaint.description,
        agency_responsible="社区物业管理专职社工",
        service_notice=OPEN311_NOTICE,
        requested_datetime=complaint.reported_at,
        updated_datetime=tracked.updated_at,
        expected_datetime=complaint.resolution_due_at,
        address=estate.address,
        address_id=estate.code,
        lat=complaint.latitude_micro / 1_000_000 if complaint.latitude_micro is not None else None,
        long=complaint.longitude_micro / 1_000_000 if complaint.longitude_micro is not None else None,
        media_url=f"{base_url.rstrip('/')}/api/open311/v2/media/{complaint.id}/{service.media_signature(complaint)}" if await service.first_photo(db, complaint.id) else "",
    )


def _coordinate(text: str, field: str, bound: float) -> float | None:
    if not text:
        return None
    value = float(text)
    if not -bound <= value <= bound:
        raise RuleViolation(f"{field} must be between -{bound:g} and {bound:g}", zh="位置坐标有误", field=field)
    return value


async def _allow_every_method(request: Request[Any, Any, Any]) -> Response[None] | None:
    """OPTIONS lists every method of the path: Litestar's automatic answer lists only the methods of the handlers
    registered before it was made (POST, and not GET, of requests.json). A controller's hook replaces the app's, so
    it runs the app's check of the request's text first."""
    if request.method != "OPTIONS":
        await check_request_text(request)
        return None
    handler = request.scope.get("route_handler")
    methods = next((set(r.methods) for r in request.app.routes if isinstance(r, HTTPRoute) and handler in r.route_handlers), {"OPTIONS"})
    return Response(None, status_code=204, headers={"Allow": ", ".join(sorted(methods | {"OPTIONS"}))})


class Open311Controller(Controller):
    """GeoReport v2 (https://wiki.open311.org/GeoReport_v2): services, requests POST and GET. No login: a request's id
    is the resident's tracking code, and a GET answers only the requests whose codes it names."""

    path = "/api/open311/v2"
    tags = ["open311"]
    security = [{}]  # noqa: RUF012

    @get("/services.json", responses=GEOREPORT_READ)
    async def open311_services(self) -> list[schemas.Open311Service]:
        """The services (complaint categories), each mapped to a category of the supervision checklist (config/complaints.toml)."""
        return [
            schemas.Open311Service(
                service_code=s.code, service_name=s.name, description=f"居民投诉：{s.name}", metadata=False, type="realtime",
                keywords=s.category, group="物业服务",
            )
            for s in service.complaint_rules().services
        ]

    @post("/requests.json", dependencies=STORE, responses=georeport_responses(400, 404, 413, 415, 422, 429), status_code=201)
    async def open311_create_request(
        self,
        data: Annotated[schemas.Open311RequestIn, Body(media_type=RequestEncodingType.URL_ENCODED)],
        request: Request[Any, Any, Any],
        state: State,
        db: NamedDependency[AsyncSession],
        store: NamedDependency[BlobStore],
    ) -> list[schemas.Open311Created]:
        """File a request (form-encoded, as GeoReport v2 sends it). `address_id` is the estate's code; the answer's
        `service_request_id` is the tracking code, the only way to read the request back. Limited per calling
        address and `device_id` (429 with Retry-After past the limit)."""
        latitude = _coordinate(data.lat, "lat", 90)
        longitude = _coordinate(data.long, "long", 180)
        await admit_attempt(state, request, Channel.OPEN311, device=data.device_id)
        _, code = await service.report_complaint(
            db, store,
            service.NewComplaint(
                channel=Channel.OPEN311, service_code=data.service_code, estate_code=data.address_id, description=data.description,
                place=data.address_string, phone=data.phone, latitude=latitude, longitude=longitude, media_url=data.media_url,
            ),
            admit=report_admission(state, request, Channel.OPEN311, device=data.device_id),
        )
        return [schemas.Open311Created(service_request_id=code, service_notice=OPEN311_NOTICE)]

    @get("/requests.json", responses=GEOREPORT_READ)
    async def open311_requests(
        self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], service_request_id: Annotated[str, Parameter(min_length=8, max_length=660, pattern=r"^[A-Za-z0-9_\-]+(,[A-Za-z0-9_\-]+){0,9}$")]
    ) -> list[schemas.Open311Request]:
        """The requests whose ids (tracking codes, up to 10, comma-separated) are given; listing requests by date or
        area is not offered, since a request belongs to the resident who holds its code."""
        found = []
        for code in dict.fromkeys(service_request_id.split(",")):
            try:
                complaint = await service.by_code(db, code)
            except NotFound:
                continue
            found.append(await _request_out(db, complaint, code, str(request.base_url)))
        return found

    @get("/requests/{request_id:str}", responses=GEOREPORT_READ)
    async def open311_request(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], request_id: TrackingCode) -> list[schemas.Open311Request]:
        """One request by its id (`/requests/<id>.json`, as GeoReport v2 writes it)."""
        code = request_id.removesuffix(".json")
        return [await _request_out(db, await service.by_code(db, code), code, str(request.base_url))]

    # The photo's own type (JPEG, PNG or WebP, judged by content at upload): declared as the range image/*.
    @get("/media/{complaint_id:int}/{signature:str}", dependencies=STORE, responses=GEOREPORT_READ, media_type="image/*")
    async def open311_media(
        self, complaint_id: RecordId, signature: Annotated[str, Parameter(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")],
        db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore], state: State,
    ) -> Response[bytes]:
        """A request's `media_url`: the display copy of the resident's first photo, scaled and without EXIF (no
        location), at the signed address GET requests answered; any other address is 404."""
        content, media_type = await service.public_photo(db, store, complaint_id, signature, state.settings.photo_display_max_side)
        return Response(content, media_type=media_type, headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})


Open311Controller.before_request = _allow_every_method


class ComplaintController(Controller):
    path = "/api/complaints"
    tags = ["complaints"]
    guards = [allow(service.READERS, "reading complaints")]

    @get("/", responses=READ)
    async def list_complaints(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], status: FromQuery[ComplaintState | None] = None) -> list[schemas.ComplaintOut]:
        """Complaints in the caller's scope: those waiting for a first response first, then by deadline."""
        return await service.complaint_out(db, principal, await service.list_complaints(db, principal, state=status))

    @get("/{complaint_id:int}", responses=READ)
    async def get_complaint(self, complaint_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ComplaintOut:
        return (await service.complaint_out(db, principal, [await service.get_complaint(db, principal, complaint_id)]))[0]

    @get("/{complaint_id:int}/meetings", responses=READ)
    async def complaint_meetings(self, complaint_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.MediationMeetingOut]:
        return await service.meetings(db, principal, complaint_id)

    @post("/{complaint_id:int}/order", dto=StrictBody[schemas.OrderIn], return_dto=None, dependencies=STORE, guards=[allow(service.ROUTERS, "routing complaints")], responses=WRITE, status_code=200)
    async def order_complaint(
        self, complaint_id: RecordId, data: JSONBody[schemas.OrderIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]
    ) -> schemas.ComplaintOut:
        """The company's duty: a rectification order (a patrol finding of the item at fault, same deadline and deduction)."""
        complaint = await service.route_to_order(db, store, principal, complaint_id, data)
        return (await service.complaint_out(db, principal, [complaint]))[0]

    @post("/{complaint_id:int}/mediation", dto=StrictBody[schemas.MediationIn], return_dto=None, guards=[allow(service.ROUTERS, "routing complaints")], responses=WRITE, status_code=200)
    async def mediate_complaint(self, complaint_id: RecordId, data: JSONBody[schemas.MediationIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ComplaintOut:
        complaint = await service.open_mediation(db, principal, complaint_id, data)
        return (await service.complaint_out(db, principal, [complaint]))[0]

    @post("/{complaint_id:int}/meetings", dto=StrictBody[schemas.MediationMeetingIn], return_dto=None, guards=[allow(service.ROUTERS, "recording mediation")], responses=WRITE, status_code=201)
    async def record_mediation_meeting(self, complaint_id: RecordId, data: JSONBody[schemas.MediationMeetingIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.MediationMeetingOut:
        meeting = await service.record_meeting(db, principal, complaint_id, data)
        return schemas.MediationMeetingOut(id=meeting.id, held_at=meeting.held_at, attendees=meeting.attendees, summary=meeting.summary, outcome=meeting.outcome, follow_up=meeting.follow_up, recorded_by=meeting.recorded_by)

    @post("/{complaint_id:int}/closure", dto=StrictBody[schemas.ClosureIn], return_dto=None, guards=[allow(service.ROUTERS, "routing complaints")], responses=WRITE, status_code=200)
    async def close_complaint(self, complaint_id: RecordId, data: JSONBody[schemas.ClosureIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ComplaintOut:
        complaint = await service.close_complaint(db, principal, complaint_id, data)
        return (await service.complaint_out(db, principal, [complaint]))[0]


ROUTES = [Open311Controller, ComplaintController]
