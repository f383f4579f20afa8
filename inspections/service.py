"""Use cases of the evidence: the checklist, photos, filing patrols, street inspections and spot checks (exactly
once per client id), amendments, and patrol coverage. One transaction each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inspections import defects as defect_service
from inspections import schemas
from inspections.config import current_checklist, inspection_rules
from inspections.photos import inspect_photo
from inspections.rules import Checklist, Source, checklist_from_content, request_fingerprint
from inspections.scope import owner_key, visible_attachments, visible_records
from inspections.storage import BlobStore
from inspections.tables import (
    Amendment,
    Attachment,
    ChecklistVersion,
    Defect,
    InspectionRecord,
    InspectionResult,
    RecordPhoto,
    SpotCheckAssignment,
)
from supervision.core.access import Principal, Role, require_role
from supervision.core.audit import record_change
from supervision.core.clock import utc_now
from supervision.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation, TooLarge
from supervision.core.paging import PageRequest, fetch_page
from supervision.core.periods import Month, business_date
from supervision.registry.scope import contract_in_force, managed_on
from supervision.registry.tables import Community, ContractEstate, Estate, ServiceContract

FILERS: dict[Source, frozenset[Role]] = {
    Source.PATROL: frozenset({Role.COMMUNITY_WORKER}),
    Source.STREET_INSPECTION: frozenset({Role.STREET_WORKER, Role.STREET_OFFICER}),
    Source.SPOT_CHECK: frozenset({Role.INSPECTOR}),
}
ACTION: dict[Source, str] = {
    Source.PATROL: "filing a daily patrol",
    Source.STREET_INSPECTION: "filing a street inspection",
    Source.SPOT_CHECK: "filing a spot check",
}
# Who may correct a filed record besides the person who filed it.
AMENDERS = frozenset({Role.ADMIN, Role.STREET_OFFICER})
# Attempts at a write that lost a race (same client id, same daily number) before giving up.
ATTEMPTS = 4


# The checklist


async def checklist_version_id(session: AsyncSession, checklist: Checklist) -> int:
    """The stored version of `checklist`, stored now if this is its first use."""
    found = (await session.execute(select(ChecklistVersion.id).where(ChecklistVersion.sha256 == checklist.sha256))).scalar()
    if found is not None:
        return found
    row = ChecklistVersion(version=checklist.version, sha256=checklist.sha256, content=checklist.content(), first_used_at=utc_now())
    session.add(row)
    await session.flush()
    return row.id  # type: ignore[return-value]


async def stored_checklists(session: AsyncSession, version_ids: set[int]) -> dict[int, Checklist]:
    rows = (await session.execute(select(ChecklistVersion).where(ChecklistVersion.id.in_(version_ids)))).scalars()  # type: ignore[union-attr]
    return {row.id: checklist_from_content(row.content) for row in rows}  # type: ignore[misc]


def checklist_out(checklist: Checklist) -> schemas.ChecklistOut:
    return schemas.ChecklistOut(
        version=checklist.version,
        sha256=checklist.sha256,
        categories=[schemas.ChecklistCategoryOut(code=c.code, name=c.name, points=c.points) for c in checklist.categories],
        items=[
            schemas.ChecklistItemOut(
                code=i.code,
                category=i.category,
                text=i.text,
                deduction=points_text(i.deduction_centi),
                severity=i.severity,
                veto=i.veto,
            )
            for i in checklist.items.values()
        ],
    )


def points_text(centi: int) -> str:
    whole, rest = divmod(centi, 100)
    return f"{whole}" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")


# Photos


async def upload_photo(
    session: AsyncSession,
    store: BlobStore,
    actor: Principal,
    content: bytes,
    original_name: str,
    claimed_taken_at: datetime | None,
    max_bytes: int,
) -> Attachment:
    """Keep a photo for a record to come (or a fix report). The same photo uploaded again by the same owner is
    the same attachment."""
    if len(content) > max_bytes:
        raise TooLarge(f"the file has {len(content)} bytes; the limit is {max_bytes} bytes ({max_bytes // (1024 * 1024)} MB)")
    if not content:
        raise InvalidInput("the file is empty")
    facts = inspect_photo(content)
    sha256 = store.put(content)
    owner = owner_key(actor)
    for _ in range(ATTEMPTS):
        existing = (
            await session.execute(select(Attachment).where(Attachment.sha256 == sha256, Attachment.owner == owner))
        ).scalar()
        if existing is not None:
            return existing
        attachment = Attachment(
            sha256=sha256,
            owner=owner,
            content_type=facts.content_type,
            size_bytes=len(content),
            original_name=original_name[:200],
            uploaded_at=utc_now(),
            uploaded_by_user_id=actor.user_id,
            uploaded_by=actor.label,
            claimed_taken_at=claimed_taken_at,
            exif_taken_at=facts.exif_taken_at,
            exif_latitude_micro=facts.latitude_micro,
            exif_longitude_micro=facts.longitude_micro,
        )
        session.add(attachment)
        try:
            await session.commit()
            return attachment
        except IntegrityError:
            await session.rollback()
    raise Conflict("the same photo is being uploaded at the same time; retry")


async def get_attachment(session: AsyncSession, actor: Principal, attachment_id: int) -> Attachment:
    found = (
        await session.execute(select(Attachment).where(Attachment.id == attachment_id, visible_attachments(actor)))
    ).scalar()
    if found is None:
        raise NotFound("attachment", attachment_id)
    return found


def attachment_out(a: Attachment) -> schemas.AttachmentOut:
    return schemas.AttachmentOut(
        id=a.id or 0,
        sha256=a.sha256,
        content_type=a.content_type,
        size_bytes=a.size_bytes,
        original_name=a.original_name,
        uploaded_at=a.uploaded_at,
        uploaded_by=a.uploaded_by,
        claimed_taken_at=a.claimed_taken_at,
        exif_taken_at=a.exif_taken_at,
        exif_latitude=None if a.exif_latitude_micro is None else a.exif_latitude_micro / 1_000_000,
        exif_longitude=None if a.exif_longitude_micro is None else a.exif_longitude_micro / 1_000_000,
    )


# Filing


@dataclass(frozen=True)
class Filed:
    record: InspectionRecord
    replayed: bool  # True: this was a retry of a record already filed


def _fingerprint(source: Source, data: schemas.RecordIn) -> str:
    return request_fingerprint({"source": source.value, "body": msgspec.to_builtins(data)})


def _filer_matches(record: InspectionRecord, actor: Principal) -> bool:
    if actor.role is Role.INSPECTOR:
        return record.organisation_id == actor.organisation_id
    return record.filed_by_user_id == actor.user_id


async def _replay(session: AsyncSession, actor: Principal, client_id: str, fingerprint: str) -> InspectionRecord | None:
    record = (await session.execute(select(InspectionRecord).where(InspectionRecord.client_id == client_id))).scalar()
    if record is None:
        return None
    if record.fingerprint != fingerprint or not _filer_matches(record, actor):
        raise Conflict(
            f"client id {client_id} was already used for record {record.id} with a different body; a retry must send "
            "the same body, and a new record needs a new client id"
            if _filer_matches(record, actor)
            else f"client id {client_id} is already used by another record; generate a new one"
        )
    return record


def _check_results(checklist: Checklist, results: list[schemas.ItemResultIn]) -> None:
    seen: set[str] = set()
    for r in results:
        if r.item not in checklist.items:
            raise InvalidInput(f"item {r.item} is not in checklist {checklist.version}; GET /api/checklist lists the items")
        if r.item in seen:
            raise InvalidInput(f"item {r.item} appears twice; give one result per item")
        seen.add(r.item)
        if r.passed and r.defects:
            raise InvalidInput(f"item {r.item} passed, so it cannot have defects")
        if not r.passed and not r.note.strip():
            raise InvalidInput(f"item {r.item} failed: write what is wrong in its note")
        if not r.passed and not r.photo_ids:
            raise InvalidInput(f"item {r.item} failed: attach at least one photo of it (POST /api/attachments)")
    shown = [p for r in results for p in dict.fromkeys(r.photo_ids)]
    if len(shown) != len(set(shown)):
        raise InvalidInput("a photo can show one item only; upload another photo for the other item")


async def _check_photos(session: AsyncSession, actor: Principal, photo_ids: set[int]) -> None:
    if not photo_ids:
        return
    own = set(
        (
            await session.execute(
                select(Attachment.id).where(Attachment.id.in_(photo_ids), Attachment.owner == owner_key(actor))  # type: ignore[union-attr]
            )
        ).scalars()
    )
    missing = sorted(photo_ids - own)
    if missing:
        raise InvalidInput(f"photos {', '.join(map(str, missing))} are not photos you uploaded; upload them first")


async def _estate_for(session: AsyncSession, actor: Principal, source: Source, estate_id: int) -> tuple[Estate, Community]:
    # FOR UPDATE OF the estate: filings for one estate queue up, so the day's numbering has no race (PostgreSQL;
    # SQLite has one writer at a time anyway).
    row = (
        await session.execute(
            select(Estate, Community)
            .join(Community, Community.id == Estate.community_id)
            .where(Estate.id == estate_id)
            .with_for_update(of=Estate)
        )
    ).first()
    if row is None:
        raise NotFound("estate", estate_id)
    estate, community = row
    if source is Source.PATROL and community.id != actor.community_id:
        raise PermissionDenied(f"estate {estate.code} belongs to {community.name}; you patrol only your own community's estates")
    if source is Source.STREET_INSPECTION and community.street_id != actor.street_id:
        raise PermissionDenied(f"estate {estate.code} is not in your street; you inspect only your street's estates")
    return estate, community


async def _assignment_for(session: AsyncSession, actor: Principal, estate: Estate, month: Month) -> SpotCheckAssignment:
    assignment = (
        await session.execute(
            select(SpotCheckAssignment).where(
                SpotCheckAssignment.month == str(month),
                SpotCheckAssignment.estate_id == estate.id,
                SpotCheckAssignment.organisation_id == actor.organisation_id,
            )
        )
    ).scalar()
    if assignment is None:
        raise PermissionDenied(f"estate {estate.code} is not assigned to your firm for {month}; file spot checks only for your assignments")
    taken = (await session.execute(select(InspectionRecord.id).where(InspectionRecord.assignment_id == assignment.id))).scalar()
    if taken is not None:
        raise Conflict(f"the spot check of estate {estate.code} for {month} was already filed as record {taken}")
    return assignment


async def company_on(session: AsyncSession, estate_id: int, day: date) -> int | None:
    return (
        await session.execute(
            select(ServiceContract.company_id)
            .join(ContractEstate, ContractEstate.contract_id == ServiceContract.id)
            .where(ContractEstate.estate_id == estate_id, contract_in_force(day))
        )
    ).scalar()


async def file_record(
    session: AsyncSession,
    store: BlobStore,
    actor: Principal,
    source: Source,
    data: schemas.RecordIn,
    now: datetime | None = None,
) -> Filed:
    """File a patrol, street inspection or spot check once: a retry with the same client id and body returns the
    record first filed; the same client id with another body is a conflict. Failed items become defects."""
    require_role(actor, FILERS[source], ACTION[source])
    fingerprint = _fingerprint(source, data)
    for _ in range(ATTEMPTS):
        now = now or utc_now()
        earlier = await _replay(session, actor, data.client_id, fingerprint)
        if earlier is not None:
            return Filed(earlier, replayed=True)
        try:
            record = await _new_record(session, actor, source, data, fingerprint, now)
            await session.commit()
            return Filed(record, replayed=False)
        except IntegrityError:
            # Another request took this client id or this daily number first: look again.
            await session.rollback()
    raise Conflict("too many simultaneous records for this estate; retry with the same client id")


async def _new_record(
    session: AsyncSession, actor: Principal, source: Source, data: schemas.RecordIn, fingerprint: str, now: datetime
) -> InspectionRecord:
    rules = inspection_rules()
    checklist = current_checklist()
    if data.inspected_at > now + rules.clock_tolerance:
        raise RuleViolation(f"inspected_at {data.inspected_at.isoformat()} is in the future; check the phone's clock")
    _check_results(checklist, data.results)
    estate, community = await _estate_for(session, actor, source, data.estate_id)
    day = business_date(data.inspected_at)
    month = Month.of(day)
    in_management = (await session.execute(select(Estate.id).where(Estate.id == estate.id, managed_on(day)))).scalar()
    if in_management is None:
        raise RuleViolation(f"estate {estate.code} was not under long-term management on {day}")
    assignment = await _assignment_for(session, actor, estate, month) if source is Source.SPOT_CHECK else None
    await _check_photos(session, actor, {p for r in data.results for p in r.photo_ids} | set(data.photo_ids))

    ordinal = 1 + (
        await session.execute(
            select(func.count()).where(
                InspectionRecord.source == source.value, InspectionRecord.estate_id == estate.id, InspectionRecord.business_date == day
            )
        )
    ).scalar_one()
    record = InspectionRecord(
        client_id=data.client_id,
        fingerprint=fingerprint,
        source=source.value,
        estate_id=estate.id,  # type: ignore[arg-type]
        community_id=community.id,  # type: ignore[arg-type]
        street_id=community.street_id,
        company_id=await company_on(session, estate.id, day),  # type: ignore[arg-type]
        organisation_id=actor.organisation_id if source is Source.SPOT_CHECK else None,
        assignment_id=assignment.id if assignment else None,
        checklist_version_id=await checklist_version_id(session, checklist),
        inspected_at=data.inspected_at,
        business_date=day,
        month=str(month),
        daily_ordinal=ordinal,
        counted=source is not Source.PATROL or ordinal <= rules.patrols_counted_per_day,
        latitude_micro=round(data.location.latitude * 1_000_000) if data.location else None,
        longitude_micro=round(data.location.longitude * 1_000_000) if data.location else None,
        note=data.note,
        filed_at=now,
        filed_by_user_id=actor.user_id,
        filed_by=actor.label,
    )
    session.add(record)
    await session.flush()
    results = []
    for r in data.results:
        result = InspectionResult(
            record_id=record.id,  # type: ignore[arg-type]
            item_code=r.item,
            passed=r.passed,
            defects=0 if r.passed else (r.defects or 1),
            note=r.note,
        )
        results.append(result)
        session.add(result)
        for photo in dict.fromkeys(r.photo_ids):
            session.add(RecordPhoto(record_id=record.id, attachment_id=photo, item_code=r.item))  # type: ignore[arg-type]
    per_item = {p for r in data.results for p in r.photo_ids}
    for photo in dict.fromkeys(data.photo_ids):
        if photo not in per_item:
            session.add(RecordPhoto(record_id=record.id, attachment_id=photo))  # type: ignore[arg-type]
    await session.flush()
    raised = await defect_service.raise_defects(session, actor, record, checklist, results, now)
    record_change(
        session,
        actor,
        f"{source.value}.filed",
        "inspection_record",
        record.id,
        after={
            "client_id": record.client_id,
            "estate_id": record.estate_id,
            "inspected_at": record.inspected_at,
            "checklist": checklist.version,
            "failed_items": [r.item_code for r in results if not r.passed],
            "defect_ids": [d.id for d in raised],
            "counted": record.counted,
        },
    )
    return record


# Reading


async def get_record(session: AsyncSession, actor: Principal, record_id: int) -> InspectionRecord:
    found = (
        await session.execute(select(InspectionRecord).where(InspectionRecord.id == record_id, visible_records(actor)))
    ).scalar()
    if found is None:
        raise NotFound("inspection record", record_id)
    return found


def _result_out(item_code: str, passed: bool, defects: int, note: str, photos: list[int], checklist: Checklist) -> schemas.ItemResultOut:
    item = checklist.items.get(item_code)
    return schemas.ItemResultOut(
        item=item_code, text=item.text if item else "", passed=passed, defects=defects, note=note, photo_ids=photos
    )


def effective_results(results: list[InspectionResult], amendments: list[Amendment]) -> dict[str, dict[str, Any]]:
    """The record's results after its amendments, in order: item code → passed, defects, note, photo ids."""
    current: dict[str, dict[str, Any]] = {
        r.item_code: {"passed": r.passed, "defects": r.defects, "note": r.note, "photo_ids": []} for r in results
    }
    for amendment in amendments:
        for change in amendment.changes:
            current[change["item"]] = {k: change[k] for k in ("passed", "defects", "note", "photo_ids")}
    return current


async def record_detail(session: AsyncSession, record: InspectionRecord) -> schemas.RecordOut:
    results = list(
        (await session.execute(select(InspectionResult).where(InspectionResult.record_id == record.id).order_by(InspectionResult.id))).scalars()
    )
    photos = list((await session.execute(select(RecordPhoto).where(RecordPhoto.record_id == record.id))).scalars())
    amendments = list(
        (await session.execute(select(Amendment).where(Amendment.record_id == record.id).order_by(Amendment.id))).scalars()
    )
    defect_ids = list(
        (await session.execute(select(Defect.id).where(Defect.record_id == record.id).order_by(Defect.id))).scalars()
    )
    estate_name = (await session.execute(select(Estate.name).where(Estate.id == record.estate_id))).scalar_one()
    checklist = (await stored_checklists(session, {record.checklist_version_id}))[record.checklist_version_id]
    photos_of = {r.item_code: sorted(p.attachment_id for p in photos if p.item_code == r.item_code) for r in results}
    effective = effective_results(results, amendments)
    for code in effective:
        if code in photos_of and effective[code]["photo_ids"] == []:
            effective[code]["photo_ids"] = photos_of[code]
    return schemas.RecordOut(
        id=record.id or 0,
        client_id=record.client_id,
        source=Source(record.source),
        estate_id=record.estate_id,
        estate_name=estate_name,
        community_id=record.community_id,
        street_id=record.street_id,
        company_id=record.company_id,
        organisation_id=record.organisation_id,
        checklist_version=checklist.version,
        checklist_sha256=checklist.sha256,
        inspected_at=record.inspected_at,
        business_date=record.business_date,
        counted=record.counted,
        latitude=None if record.latitude_micro is None else record.latitude_micro / 1_000_000,
        longitude=None if record.longitude_micro is None else record.longitude_micro / 1_000_000,
        note=record.note,
        filed_at=record.filed_at,
        filed_by=record.filed_by,
        results=[_result_out(r.item_code, r.passed, r.defects, r.note, photos_of[r.item_code], checklist) for r in results],
        photo_ids=sorted(p.attachment_id for p in photos if p.item_code is None),
        amendments=[
            schemas.AmendmentOut(id=a.id or 0, reason=a.reason, changes=a.changes, amended_at=a.amended_at, amended_by=a.amended_by)
            for a in amendments
        ],
        effective_results=[
            _result_out(code, v["passed"], v["defects"], v["note"], v["photo_ids"], checklist) for code, v in effective.items()
        ],
        defect_ids=defect_ids,
    )


async def list_records(
    session: AsyncSession,
    actor: Principal,
    paging: PageRequest,
    *,
    source: Source | None = None,
    estate_id: int | None = None,
    community_id: int | None = None,
    street_id: int | None = None,
    month: Month | None = None,
) -> tuple[list[schemas.RecordSummary], int]:
    query = select(InspectionRecord).where(visible_records(actor)).order_by(InspectionRecord.inspected_at.desc(), InspectionRecord.id.desc())  # type: ignore[attr-defined,union-attr]
    for column, value in (
        (InspectionRecord.source, source.value if source else None),
        (InspectionRecord.estate_id, estate_id),
        (InspectionRecord.community_id, community_id),
        (InspectionRecord.street_id, street_id),
        (InspectionRecord.month, str(month) if month else None),
    ):
        if value is not None:
            query = query.where(column == value)
    records, total = await fetch_page(session, query, paging)
    ids = [r.id for r in records]
    names = dict((await session.execute(select(Estate.id, Estate.name).where(Estate.id.in_({r.estate_id for r in records})))).tuples().all())  # type: ignore[union-attr]
    failed = dict(
        (
            await session.execute(
                select(InspectionResult.record_id, func.count())
                .where(InspectionResult.record_id.in_(ids), InspectionResult.passed.is_(False))  # type: ignore[union-attr,attr-defined]
                .group_by(InspectionResult.record_id)
            )
        ).tuples().all()
    )
    amended = set((await session.execute(select(Amendment.record_id).where(Amendment.record_id.in_(ids)))).scalars())  # type: ignore[union-attr]
    return [
        schemas.RecordSummary(
            id=r.id or 0,
            source=Source(r.source),
            estate_id=r.estate_id,
            estate_name=names.get(r.estate_id, ""),
            community_id=r.community_id,
            street_id=r.street_id,
            inspected_at=r.inspected_at,
            business_date=r.business_date,
            counted=r.counted,
            failed_items=failed.get(r.id, 0),
            amended=r.id in amended,
            filed_by=r.filed_by,
        )
        for r in records
    ], total


# Amendments


async def amend_record(
    session: AsyncSession, actor: Principal, record_id: int, data: schemas.AmendmentIn, now: datetime | None = None
) -> InspectionRecord:
    """Correct a filed record: the original stays as filed, the amendment is kept beside it with its reason. A
    result turned from failed to passed withdraws its open defect; one turned to failed raises a new defect."""
    now = now or utc_now()
    record = await get_record(session, actor, record_id)
    if not (_filer_matches(record, actor) or actor.role in AMENDERS):
        raise PermissionDenied("only the person (or firm) who filed a record, the street officer or an administrator may amend it")
    checklist = (await stored_checklists(session, {record.checklist_version_id}))[record.checklist_version_id]
    _check_results(checklist, data.results)
    await _check_photos(session, actor, {p for r in data.results for p in r.photo_ids})
    results = list((await session.execute(select(InspectionResult).where(InspectionResult.record_id == record.id))).scalars())
    earlier = list((await session.execute(select(Amendment).where(Amendment.record_id == record.id).order_by(Amendment.id))).scalars())
    before = effective_results(results, earlier)
    changes = [
        {"item": r.item, "passed": r.passed, "defects": 0 if r.passed else (r.defects or 1), "note": r.note, "photo_ids": list(r.photo_ids)}
        for r in data.results
    ]
    if all(before.get(c["item"], {}).get("passed") == c["passed"] and before[c["item"]]["defects"] == c["defects"] and before[c["item"]]["note"] == c["note"] for c in changes):
        raise InvalidInput("the amendment changes nothing: every result is as the record already says")
    amendment = Amendment(
        record_id=record.id,  # type: ignore[arg-type]
        reason=data.reason,
        changes=changes,
        amended_at=now,
        amended_by_user_id=actor.user_id,
        amended_by=actor.label,
    )
    session.add(amendment)
    await session.flush()
    for photo in {p for r in data.results for p in r.photo_ids}:
        exists = (
            await session.execute(select(RecordPhoto).where(RecordPhoto.record_id == record.id, RecordPhoto.attachment_id == photo))
        ).scalar()
        if exists is None:
            item = next(r.item for r in data.results if photo in r.photo_ids)
            session.add(RecordPhoto(record_id=record.id, attachment_id=photo, item_code=item))  # type: ignore[arg-type]
    await defect_service.apply_amendment(session, actor, record, amendment, checklist, before, changes, now)
    record_change(
        session, actor, "inspection_record.amended", "inspection_record", record.id, before={"results": before}, after={"changes": changes}, reason=data.reason
    )
    await session.commit()
    return record


# Patrol coverage

COVERAGE_MAX_DAYS = 62


async def patrol_coverage(
    session: AsyncSession, actor: Principal, community_id: int, date_from: date, date_to: date
) -> schemas.CoverageOut:
    """For each day, the community's estates under management that had no counted patrol."""
    if date_to < date_from:
        raise InvalidInput("date_to is before date_from")
    if (date_to - date_from).days >= COVERAGE_MAX_DAYS:
        raise InvalidInput(f"ask for at most {COVERAGE_MAX_DAYS} days at a time")
    community = (await session.execute(select(Community).where(Community.id == community_id))).scalar()
    if community is None or not actor.sees_community(community.id, community.street_id):  # type: ignore[arg-type]
        raise NotFound("community", community_id)
    estates = list((await session.execute(select(Estate).where(Estate.community_id == community_id).order_by(Estate.code))).scalars())
    patrolled = set(
        (
            await session.execute(
                select(InspectionRecord.estate_id, InspectionRecord.business_date).where(
                    InspectionRecord.community_id == community_id,
                    InspectionRecord.source == Source.PATROL.value,
                    InspectionRecord.business_date >= date_from,
                    InspectionRecord.business_date <= date_to,
                )
            )
        ).tuples()
    )
    days = []
    day = date_from
    while day <= date_to:
        managed = [e for e in estates if e.entered_on <= day and (e.left_on is None or e.left_on > day)]
        missing = [e for e in managed if (e.id, day) not in patrolled]
        days.append(
            schemas.CoverageDay(
                day=day,
                estates=len(managed),
                patrolled=len(managed) - len(missing),
                missing=[schemas.CoverageEstate(id=e.id or 0, code=e.code, name=e.name) for e in missing],
            )
        )
        day += timedelta(days=1)
    return schemas.CoverageOut(
        community_id=community.id or 0, community_name=community.name, date_from=date_from, date_to=date_to, days=days
    )
