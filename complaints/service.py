"""Use cases of complaints: a resident reports (no account: the tracking code is the only key), the community's social
worker routes it to a rectification order (filed as an on-site patrol finding, so the order has a patrol defect's
deadlines and deductions), a mediation case with its meetings, or a closure with a reason and a referral."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from complaints import schemas
from complaints.rules import (
    STATE_NAMES,
    Channel,
    ComplaintRules,
    ComplaintState,
    MediationOutcome,
    deadlines,
    masked_phone,
    media_url_refusal,
    next_state,
    parse_complaint_rules,
)
from complaints.tables import Complaint, ComplaintEvent, ComplaintPhoto, MediationMeeting
from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.calendar.service import working_calendar
from foundation.clock import utc_now
from foundation.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from foundation.heavy import off_loop
from foundation.notifications import notify, settle
from foundation.periods import Month, business_date
from foundation.scoping import in_scope
from foundation.settings import config_dir, get_settings
from foundation.storage import BlobStore
from foundation.text import visible
from inspections import queries as inspection_queries
from inspections import schemas as inspection_schemas
from inspections import service as inspection_service
from inspections.attachments import ReceivedPhoto, adopt_photos, get_attachment, keep_photos, own_photos, required_store
from inspections.config import current_checklist
from inspections.flag_rules import LocationMissing
from inspections.photos import shareable_copy
from inspections.rules import DefectState, Source
from inspections.scope import shows_attachments
from people import queries as people_queries
from registry import queries as registry_queries
from registry.queries import EstateInfo

# Who reads complaints (within their scope), who routes them, and who sees a resident's phone in full.
READERS = frozenset({Role.COMMUNITY_WORKER, Role.COMMITTEE_DIRECTOR, Role.STREET_WORKER, Role.STREET_OFFICER, Role.ADMIN})
ROUTERS = frozenset({Role.COMMUNITY_WORKER})
PHONE_READERS = frozenset({Role.COMMUNITY_WORKER, Role.COMMITTEE_DIRECTOR})
# Photos of a report are kept under this owner: nobody logs in as it, so only the complaint's readers see them.
RESIDENT = Principal(role=Role.ADMIN, username="resident")
DESCRIPTION_LIMIT = 2000  # as the complaint's columns hold them
PLACE_LIMIT = 200


@dataclass(frozen=True)
class Reporter:
    """The audit log's actor of a report: no account, only the channel it came through."""

    channel: Channel

    @property
    def user_id(self) -> int | None:
        return None

    @property
    def label(self) -> str:
        return f"resident ({self.channel.value})"


@lru_cache(maxsize=1)
def complaint_rules() -> ComplaintRules:
    """config/complaints.toml, read once (the app factory reads it at start, so a wrong file stops the system there)."""
    path = config_dir() / "complaints.toml"
    try:
        return parse_complaint_rules(path.read_text(encoding="utf-8"), frozenset(c.code for c in current_checklist().categories))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def new_tracking_code() -> str:
    """128 random bits, URL-safe: nobody can guess another resident's code, and the code lists nothing else."""
    return secrets.token_urlsafe(16)


def visible_complaints(p: Principal) -> ColumnElement[bool]:
    return in_scope(p, street=Complaint.street_id, community=Complaint.community_id)


@shows_attachments
def _complaint_photos(p: Principal) -> list[Select[Any]]:
    """A report's photos are seen by whoever may read the complaint (never the company: it sees the order's)."""
    if p.role not in READERS:
        return []
    shown = select(col(Complaint.id)).where(visible_complaints(p))
    return [select(col(ComplaintPhoto.attachment_id)).where(col(ComplaintPhoto.complaint_id).in_(shown))]


def _event(session: AsyncSession, complaint: Complaint, kind: str, actor_user_id: int | None, actor: str, at: datetime, note: str = "") -> None:
    session.add(ComplaintEvent(complaint_id=complaint.id, kind=kind, at=at, actor_user_id=actor_user_id, actor=actor, note=note))


# Reporting


@dataclass(frozen=True)
class NewComplaint:
    channel: Channel
    service_code: str
    estate_code: str
    description: str
    place: str = ""
    phone: str = ""
    latitude: float | None = None
    longitude: float | None = None
    media_url: str = ""


async def report_complaint(
    session: AsyncSession, store: BlobStore | None, data: NewComplaint, photos: Sequence[ReceivedPhoto] = (), now: datetime | None = None,
    admit: Callable[[], Awaitable[None]] | None = None,
) -> tuple[Complaint, str]:
    """A resident's report; answers the complaint and its tracking code (shown once: only its digest is kept). The
    community's social workers are told at once. `admit` (the limiter on reports) is asked once the report is known
    to be admissible, before anything is written: a report refused for its content never counts against its sender."""
    now = now or utc_now()
    rules = complaint_rules()
    service = rules.service(data.service_code)
    if service is None:
        raise RuleViolation(
            f"service code {data.service_code!r} is unknown; GET /api/open311/v2/services.json lists them",
            zh="请选择投诉类别", field="service_code",
        )
    description, place, typed_phone = data.description.strip(), data.place.strip(), data.phone.strip()
    if len(description) < 2:
        raise InvalidInput("describe the problem in a few words", zh="请写明遇到的问题", field="description")
    if len(description) > DESCRIPTION_LIMIT:
        raise InvalidInput(f"the description is at most {DESCRIPTION_LIMIT} characters", zh=f"问题描述最多 {DESCRIPTION_LIMIT} 字", field="description")
    if len(place) > PLACE_LIMIT:
        raise InvalidInput(f"the place is at most {PLACE_LIMIT} characters", zh=f"位置最多 {PLACE_LIMIT} 字", field="place")
    # A phone is digits (a leading +, spaces, dashes and brackets allowed), 5 to 15 of them (E.164's longest):
    # anything else is refused as typed, never silently dropped.
    if typed_phone and (len(typed_phone) > 30 or any(ch not in "0123456789+-() " for ch in typed_phone)):
        raise InvalidInput("the phone number holds only digits, +, -, brackets and spaces", zh="电话号码只填数字，如 13812345678 或 022-23456789", field="phone")
    if len(photos) > rules.max_photos:
        raise RuleViolation(f"a report carries at most {rules.max_photos} photos", zh=f"最多上传 {rules.max_photos} 张照片", field="photo")
    phone = "".join(ch for ch in typed_phone if ch in "0123456789+")
    if phone and not 5 <= len(phone.lstrip("+")) <= 15:
        raise InvalidInput("the phone number has 5 to 15 digits", zh="电话号码应为 5 至 15 位数字", field="phone")
    media_url = data.media_url.strip()
    if media_url and (refusal := media_url_refusal(media_url)):
        raise RuleViolation(refusal, zh="图片链接应为以 http:// 或 https:// 开头的网址", field="media_url")
    if admit is not None:
        # Asked before this use case's first statement: on SQLite the request's transaction holds this process's
        # write turn from its first statement, and the limiter's own short transaction would wait behind it forever.
        await admit()
    estate = await registry_queries.estate_by_code(session, data.estate_code.strip())
    if estate is None:
        raise RuleViolation(f"no estate has the code {data.estate_code!r} (address_id: the estate's code, printed on its QR poster)", zh="找不到该小区，请扫描小区张贴的二维码", field="address_id" if data.channel is Channel.OPEN311 else "estate")
    day = business_date(now)
    if not estate.managed_on(day):
        raise RuleViolation(f"estate {estate.code} is not under quasi-property management", zh=f"{estate.name}目前不在准物业管理范围内，请拨打12345", field="estate")
    contractor = await registry_queries.contractor_on(session, estate.id, day)
    due = deadlines(now, rules, await working_calendar(session))
    code = new_tracking_code()
    complaint = Complaint(
        code_digest=code_digest(code),
        channel=data.channel.value,
        service_code=service.code,
        category=service.category,
        estate_id=estate.id,
        community_id=estate.community_id,
        street_id=estate.street_id,
        company_id=contractor.company_id if contractor else None,
        place=place,
        latitude_micro=round(data.latitude * 1_000_000) if data.latitude is not None else None,
        longitude_micro=round(data.longitude * 1_000_000) if data.longitude is not None else None,
        description=description,
        phone=phone,
        reported_at=now,
        month=str(Month.of(day)),
        first_response_due_at=due.first_response_at.astimezone(UTC),
        resolution_due_at=due.resolution_at.astimezone(UTC),
        state=ComplaintState.NEW.value,
        media_url=media_url,
    )
    session.add(complaint)
    await session.flush()
    for attachment_id in await keep_photos(session, required_store(store), RESIDENT, photos) if photos else []:
        session.add(ComplaintPhoto(complaint_id=complaint.id, attachment_id=attachment_id))
    reporter = Reporter(data.channel)
    _event(session, complaint, "reported", None, reporter.label, now)
    # The audit keeps what was reported, never the phone.
    record_change(session, reporter, "complaint.reported", "complaint", complaint.id, after={"estate_id": estate.id, "service_code": service.code, "photos": len(photos)})
    workers = await people_queries.recipients(session, Role.COMMUNITY_WORKER, community_id=estate.community_id)
    await notify(
        session, f"complaint.reported|{complaint.id}", workers, f"新的居民投诉：{estate.name}",
        f"{service.name}：{description[:80]}（请于 {(due.first_response_at - timedelta(days=1)).strftime('%m月%d日')} 当天结束前首次响应）", f"/complaints/{complaint.id}",
    )
    return complaint, code


async def by_code(session: AsyncSession, code: str) -> Complaint:
    """The complaint of a tracking code, or not found (the same answer for a code that never existed)."""
    found = (await session.execute(select(Complaint).where(col(Complaint.code_digest) == code_digest(code.strip())))).scalar()
    if found is None:
        raise NotFound("complaint", "with this tracking code")
    return found


async def effective_state(session: AsyncSession, complaint: Complaint) -> tuple[ComplaintState, datetime | None]:
    """The complaint's state as the resident and the staff read it: an order counts as resolved once the company's
    fix is verified (the order is closed), whenever that happened; with when it was resolved."""
    state = ComplaintState(complaint.state)
    if state is ComplaintState.ORDERED and complaint.defect_id is not None:
        order = await inspection_queries.defect(session, complaint.defect_id)
        if order is not None and order.state is DefectState.CLOSED:
            return ComplaintState.RESOLVED, order.closed_at
    return state, complaint.resolved_at


async def tracking(session: AsyncSession, code: str) -> schemas.TrackingOut:
    complaint = await by_code(session, code)
    state, resolved_at = await effective_state(session, complaint)
    last = (await session.execute(select(col(ComplaintEvent.at)).where(col(ComplaintEvent.complaint_id) == complaint.id).order_by(col(ComplaintEvent.at).desc()).limit(1))).scalar()
    answer = complaint.answer
    if state is ComplaintState.RESOLVED and complaint.state == ComplaintState.ORDERED.value:
        answer = (answer + "\n" if answer else "") + "物业企业已整改，社区物业社工已验收通过。"
    updated = max(d for d in (last, resolved_at, complaint.reported_at) if d is not None)
    return schemas.TrackingOut(
        state=state.value, state_name=STATE_NAMES[state], service_name=service_name(complaint.service_code),
        reported_at=complaint.reported_at, answer=answer, updated_at=updated,
    )


# The public display copy of a request's first photo (Open311 media_url): its address is signed with the system's
# secret and the complaint's code digest, so it reveals neither the tracking code nor any other complaint's photo.


def media_signature(complaint: Complaint) -> str:
    key = get_settings().resolved_secret_key().encode()
    return hmac.new(key, f"complaint-media|{complaint.id}|{complaint.code_digest}".encode(), hashlib.sha256).hexdigest()[:32]


async def first_photo(session: AsyncSession, complaint_id: int) -> int | None:
    return (await session.execute(select(col(ComplaintPhoto.attachment_id)).where(col(ComplaintPhoto.complaint_id) == complaint_id).order_by(col(ComplaintPhoto.attachment_id)).limit(1))).scalar()


async def public_photo(session: AsyncSession, store: BlobStore, complaint_id: int, signature: str, display_side: int) -> tuple[bytes, str]:
    """The display copy (without EXIF) of a complaint's first photo, for the signed address GET requests gave."""
    complaint = await session.get(Complaint, complaint_id)
    photo = await first_photo(session, complaint_id) if complaint is not None and hmac.compare_digest(signature, media_signature(complaint)) else None
    if photo is None:
        raise NotFound("photo", complaint_id)
    attachment = await get_attachment(session, RESIDENT, photo)
    content = await asyncio.to_thread(store.get, attachment.sha256)
    copy = await off_loop(shareable_copy, content, display_side)
    if copy is None:
        raise NotFound("photo", complaint_id)
    return copy, attachment.content_type


def service_name(code: str) -> str:
    service = complaint_rules().service(code)
    return service.name if service else code


# Reading (staff)


async def get_complaint(session: AsyncSession, actor: Principal, complaint_id: int) -> Complaint:
    require_role(actor, READERS, "reading complaints")
    found = (await session.execute(select(Complaint).where(col(Complaint.id) == complaint_id, visible_complaints(actor)))).scalar()
    if found is None:
        raise NotFound("complaint", complaint_id)
    return found


async def list_complaints(session: AsyncSession, actor: Principal, *, state: ComplaintState | None = None, limit: int = 200) -> list[Complaint]:
    """The queue: complaints in the actor's scope, those waiting for a first response first, then by deadline."""
    require_role(actor, READERS, "reading complaints")
    query = select(Complaint).where(visible_complaints(actor))
    if state is not None:
        query = query.where(col(Complaint.state) == state.value)
    query = query.order_by(col(Complaint.state) != ComplaintState.NEW.value, col(Complaint.first_response_due_at), col(Complaint.id)).limit(limit)
    return list((await session.execute(query)).scalars())


async def complaint_out(session: AsyncSession, actor: Principal, rows: Sequence[Complaint], now: datetime | None = None) -> list[schemas.ComplaintOut]:
    now = now or utc_now()
    estates = await registry_queries.estates(session, {r.estate_id for r in rows})
    photos: dict[int, list[int]] = {}
    if rows:
        shown = select(col(ComplaintPhoto.complaint_id), col(ComplaintPhoto.attachment_id)).where(col(ComplaintPhoto.complaint_id).in_([r.id for r in rows]))
        for complaint_id, attachment_id in (await session.execute(shown)).all():
            photos.setdefault(complaint_id, []).append(attachment_id)
    out = []
    for r in rows:
        state, resolved_at = await effective_state(session, r)
        estate = estates.get(r.estate_id)
        out.append(
            schemas.ComplaintOut(
                id=r.id, channel=r.channel, service_code=r.service_code, service_name=service_name(r.service_code), estate_id=r.estate_id,
                estate_name=estate.name if estate else str(r.estate_id), community_id=r.community_id, place=r.place, description=r.description,
                phone=r.phone if actor.role in PHONE_READERS else (masked_phone(r.phone) if r.phone else ""),
                reported_at=r.reported_at, state=state.value, state_name=STATE_NAMES[state],
                first_response_due_at=r.first_response_due_at, resolution_due_at=r.resolution_due_at,
                first_response_at=r.first_response_at, resolved_at=resolved_at,
                first_response_late=(r.first_response_at or now) > r.first_response_due_at,
                resolution_late=(resolved_at or now) > r.resolution_due_at,
                defect_id=r.defect_id, answer=r.answer, closure_reason=r.closure_reason, referred_to=r.referred_to, photo_ids=photos.get(r.id, []),
                media_url=r.media_url,
            )
        )
    return out


async def meetings(session: AsyncSession, actor: Principal, complaint_id: int) -> list[schemas.MediationMeetingOut]:
    await get_complaint(session, actor, complaint_id)
    rows = (await session.execute(select(MediationMeeting).where(col(MediationMeeting.complaint_id) == complaint_id).order_by(col(MediationMeeting.held_at), col(MediationMeeting.id)))).scalars()
    return [schemas.MediationMeetingOut(id=m.id, held_at=m.held_at, attendees=m.attendees, summary=m.summary, outcome=m.outcome, follow_up=m.follow_up, recorded_by=m.recorded_by) for m in rows]


async def events(session: AsyncSession, complaint_id: int) -> list[ComplaintEvent]:
    """What happened to a complaint, in order (the caller has checked it may read the complaint)."""
    return list((await session.execute(select(ComplaintEvent).where(col(ComplaintEvent.complaint_id) == complaint_id).order_by(col(ComplaintEvent.at), col(ComplaintEvent.id)))).scalars())


# Routing


async def _routable(session: AsyncSession, actor: Principal, complaint_id: int, wanted: ComplaintState, action: str) -> Complaint:
    require_role(actor, ROUTERS, action)
    complaint = await get_complaint(session, actor, complaint_id)
    if complaint.community_id != actor.community_id:
        raise PermissionDenied(f"{action} is for the social worker of the complaint's community", zh="该投诉由其所在社区的物业社工处理")
    current = ComplaintState(complaint.state)
    if not next_state(current, wanted):
        raise Conflict(f"complaint {complaint.id} is {current.value}; it cannot become {wanted.value}", zh=f"该投诉已{STATE_NAMES[current]}，不能再这样处理")
    return complaint


async def _answered(complaint: Complaint, actor: Principal, kind: str, now: datetime, session: AsyncSession, note: str = "") -> None:
    if complaint.first_response_at is None:
        complaint.first_response_at = now
    _event(session, complaint, kind, actor.user_id, actor.label, now, note)
    # Answered (whoever of the community did it): the notices of a new complaint and of its late first response leave
    # everyone's list; a mediation closed leaves the director's.
    for waiting in ("complaint.reported", "complaint.late", *(("complaint.mediating",) if kind == "closed" else ())):
        await settle(session, f"{waiting}|{complaint.id}")


async def route_to_order(
    session: AsyncSession, store: BlobStore, actor: Principal, complaint_id: int, data: schemas.OrderIn, photos: Sequence[ReceivedPhoto] = (), now: datetime | None = None
) -> Complaint:
    """The company's duty: the social worker files what she found on site as a patrol finding of the item at fault,
    which raises the rectification order with the deadline and deduction of any patrol defect. Her own photos show
    it; without any, the resident's photos are taken over as hers (the same bytes, her upload)."""
    now = now or utc_now()
    complaint = await _routable(session, actor, complaint_id, ComplaintState.ORDERED, "turning a complaint into an order")
    checklist = current_checklist()
    item = checklist.items.get(data.item)
    if item is None:
        raise RuleViolation(f"item {data.item} is not in checklist {checklist.version}", zh="请选择检查表中的检查项", field="item")
    photo_ids = list(dict.fromkeys(data.photo_ids))
    try:
        await own_photos(session, actor, photo_ids, zh="照片未上传成功，请重新选择照片")
    except InvalidInput as refused:
        raise RuleViolation(refused.detail, zh=refused.zh, field="photo_ids") from None
    if photos:
        photo_ids += await keep_photos(session, store, actor, photos)
    if not photo_ids:
        resident_photos = list((await session.execute(select(col(ComplaintPhoto.attachment_id)).where(col(ComplaintPhoto.complaint_id) == complaint.id))).scalars())
        photo_ids = await adopt_photos(session, actor, resident_photos)
    if not photo_ids:
        raise RuleViolation("the resident sent no photo: take one on site", zh="居民未上传照片，请拍一张现场照片", field="photo")
    filed = await inspection_service.file_record(
        session, store, actor, Source.PATROL,
        inspection_schemas.RecordIn(
            client_id=f"complaint-{complaint.id}-order",
            estate_id=complaint.estate_id,
            inspected_at=now,
            results=[inspection_schemas.ItemResultIn(item=item.code, passed=False, defects=1, note=data.finding, photo_ids=photo_ids)],
            note=f"居民投诉现场核查（投诉编号 {complaint.id}）",
            location_missing=LocationMissing.NOT_SENT,
        ),
        now=now,
    )
    orders = await inspection_queries.defects_of_record(session, filed.record.id)
    if not orders:
        raise Conflict(f"complaint {complaint.id}'s finding raised no order", zh="现场核查未生成整改单，请重试")
    complaint.defect_id = orders[0].id
    complaint.state = ComplaintState.ORDERED.value
    complaint.upheld = True
    complaint.answer = data.answer
    await _answered(complaint, actor, "ordered", now, session, f"整改单 {orders[0].id}")
    record_change(session, actor, "complaint.ordered", "complaint", complaint.id, after={"defect_id": orders[0].id, "item": item.code})
    await session.flush()
    return complaint


async def open_mediation(session: AsyncSession, actor: Principal, complaint_id: int, data: schemas.MediationIn, now: datetime | None = None) -> Complaint:
    now = now or utc_now()
    complaint = await _routable(session, actor, complaint_id, ComplaintState.MEDIATING, "opening a mediation")
    complaint.state = ComplaintState.MEDIATING.value
    complaint.answer = data.answer
    await _answered(complaint, actor, "mediating", now, session)
    record_change(session, actor, "complaint.mediating", "complaint", complaint.id)
    directors = await people_queries.recipients(session, Role.COMMITTEE_DIRECTOR, community_id=complaint.community_id)
    await notify(session, f"complaint.mediating|{complaint.id}", directors, "新的矛盾调处案件", data.answer[:120], f"/complaints/{complaint.id}")
    await session.flush()
    return complaint


async def record_meeting(session: AsyncSession, actor: Principal, complaint_id: int, data: schemas.MediationMeetingIn, now: datetime | None = None) -> MediationMeeting:
    """A mediation meeting: who attended, what was said, and, when it ends the case, the agreement or the failure
    (a failed mediation is closed, referred as the answer says)."""
    now = now or utc_now()
    require_role(actor, ROUTERS, "recording a mediation meeting")
    complaint = await get_complaint(session, actor, complaint_id)
    if complaint.state != ComplaintState.MEDIATING.value or complaint.community_id != actor.community_id:
        raise Conflict(f"complaint {complaint.id} is not in mediation", zh="该投诉不在调解中")
    if data.held_at > now + timedelta(minutes=10):
        raise RuleViolation("a meeting is recorded after it is held", zh="会议时间不能晚于现在", field="held_at")
    if data.held_at < complaint.reported_at:
        raise RuleViolation("the meeting was held before the complaint was reported", zh="会议时间早于投诉时间", field="held_at")
    if data.outcome and len(visible(data.answer)) < 2:
        raise RuleViolation("write the answer the resident reads when the mediation ends", zh="调解结束时请填写给居民的答复", field="answer")
    meeting = MediationMeeting(
        complaint_id=complaint.id, held_at=data.held_at.astimezone(UTC), attendees=data.attendees, summary=data.summary, outcome=data.outcome,
        follow_up=data.follow_up, recorded_at=now, recorded_by_user_id=actor.user_id, recorded_by=actor.label,
    )
    session.add(meeting)
    _event(session, complaint, "meeting", actor.user_id, actor.label, now)
    if data.outcome:
        outcome = MediationOutcome(data.outcome)
        complaint.state = (ComplaintState.RESOLVED if outcome is MediationOutcome.AGREED else ComplaintState.CLOSED).value
        complaint.resolved_at = now
        complaint.answer = data.answer
        if outcome is MediationOutcome.FAILED:
            complaint.closure_reason = "调解不成"
        _event(session, complaint, "resolved" if outcome is MediationOutcome.AGREED else "closed", actor.user_id, actor.label, now, outcome.value)
        await settle(session, f"complaint.mediating|{complaint.id}")  # the mediation ended: no longer waits on the director
    record_change(session, actor, "complaint.meeting", "complaint", complaint.id, after={"outcome": data.outcome})
    await session.flush()
    return meeting


async def close_complaint(session: AsyncSession, actor: Principal, complaint_id: int, data: schemas.ClosureIn, now: datetime | None = None) -> Complaint:
    """Closed without an order: a duplicate (of another complaint of the community), not the service's duty
    (referred, e.g. to 12345), not confirmed on site, or withdrawn."""
    now = now or utc_now()
    rules = complaint_rules()
    complaint = await _routable(session, actor, complaint_id, ComplaintState.CLOSED, "closing a complaint")
    if data.reason not in rules.reasons:
        raise RuleViolation(f"reason must be one of: {', '.join(rules.reasons)}", zh="请选择结案原因", field="reason")
    if data.referred_to and data.referred_to not in rules.referrals:
        raise RuleViolation(f"referred_to must be one of: {', '.join(rules.referrals)}", zh="请选择转办单位", field="referred_to")
    if data.reason == "不属于物业服务范围" and not data.referred_to:
        raise RuleViolation("a complaint that is not the service's duty is referred: say where", zh="不属于物业服务范围的投诉请选择转办单位", field="referred_to")
    if data.reason == "重复投诉":
        if data.duplicate_of is None or data.duplicate_of == complaint.id:
            raise RuleViolation("name the complaint this one repeats", zh="请填写重复的投诉编号", field="duplicate_of")
        original = (await session.execute(select(Complaint).where(col(Complaint.id) == data.duplicate_of, col(Complaint.community_id) == complaint.community_id))).scalar()
        if original is None:
            raise RuleViolation(f"complaint {data.duplicate_of} is not a complaint of your community", zh="重复的投诉编号不是本社区的投诉", field="duplicate_of")
        complaint.duplicate_of = original.id
    complaint.state = ComplaintState.CLOSED.value
    complaint.closure_reason = data.reason
    complaint.referred_to = data.referred_to
    complaint.answer = data.answer
    complaint.resolved_at = now
    await _answered(complaint, actor, "closed", now, session, data.reason)
    record_change(session, actor, "complaint.closed", "complaint", complaint.id, after={"reason": data.reason, "referred_to": data.referred_to})
    await session.flush()
    return complaint


async def remind_late_first_responses(session: AsyncSession, now: datetime | None = None) -> int:
    """Tell the community's social workers (and its director) of complaints past their first-response deadline,
    once per complaint."""
    now = now or utc_now()
    late = (await session.execute(select(Complaint).where(col(Complaint.state) == ComplaintState.NEW.value, col(Complaint.first_response_due_at) < now))).scalars()
    told = 0
    for complaint in late:
        users = await people_queries.recipients(session, Role.COMMUNITY_WORKER, community_id=complaint.community_id)
        users += await people_queries.recipients(session, Role.COMMITTEE_DIRECTOR, community_id=complaint.community_id)
        told += await notify(session, f"complaint.late|{complaint.id}", users, "居民投诉超过首次响应时限", f"投诉编号 {complaint.id} 尚未响应", f"/complaints/{complaint.id}")
    await session.flush()
    return told


def estate_info(estates: dict[int, EstateInfo], estate_id: int) -> str:
    estate = estates.get(estate_id)
    return estate.name if estate else str(estate_id)
