"""Use cases of filing evidence: patrols, street inspections and spot checks (exactly once per client id), and
amendments. One transaction each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inspections import defects as defect_service
from inspections import schemas
from inspections.attachments import ATTEMPTS, own_photos
from inspections.checklists import checklist_version_id, stored_checklists
from inspections.config import current_checklist, inspection_rules
from inspections.records import detail_of, effective_results, get_record
from inspections.rules import Checklist, Source, is_late, request_fingerprint
from inspections.storage import BlobStore
from inspections.tables import Amendment, InspectionRecord, InspectionResult, RecordPhoto, SpotCheckAssignment
from supervision.core.access import Principal, Role, require_role
from supervision.core.audit import record_change
from supervision.core.clock import utc_now
from supervision.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
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



# Filing


@dataclass(frozen=True)
class Filed:
    record: InspectionRecord
    replayed: bool  # True: this was a retry of a record already filed
    # A new record as the API shows it, from the rows just written (nothing to read back); None for a retry.
    detail: schemas.RecordOut | None = None


def _fingerprint(source: Source, data: schemas.RecordIn) -> str:
    return request_fingerprint({"source": source.value, "body": msgspec.to_builtins(data)})


def _filer_matches(record: InspectionRecord, actor: Principal) -> bool:
    if actor.role is Role.INSPECTOR:
        return record.organisation_id == actor.organisation_id
    return actor.user_id is not None and record.filed_by_user_id == actor.user_id


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
            raise InvalidInput(f"item {r.item} is not in checklist {checklist.version}; GET /api/checklist lists the items", zh=f"检查项 {r.item} 不在现行检查表中，请刷新页面", field=f"item-{r.item}")
        if r.item in seen:
            raise InvalidInput(f"item {r.item} appears twice; give one result per item", zh=f"检查项 {r.item} 重复填写", field=f"item-{r.item}")
        seen.add(r.item)
        if r.passed and r.defects:
            raise InvalidInput(f"item {r.item} passed, so it cannot have defects", zh=f"检查项 {r.item} 已判合格，不能有问题数", field=f"item-{r.item}")
        if not r.passed and not r.note.strip():
            raise InvalidInput(f"item {r.item} failed: write what is wrong in its note", zh="不合格项请写明问题", field=f"item-{r.item}")
        if not r.passed and not r.photo_ids:
            raise InvalidInput(f"item {r.item} failed: attach at least one photo of it (POST /api/attachments)", zh="不合格项请至少拍一张照片", field=f"item-{r.item}")
    shown = [p for r in results for p in dict.fromkeys(r.photo_ids)]
    if len(shown) != len(set(shown)):
        raise InvalidInput("a photo can show one item only; upload another photo for the other item", zh="一张照片只能用于一个检查项")


async def _check_photos(session: AsyncSession, actor: Principal, photo_ids: set[int]) -> None:
    await own_photos(session, actor, photo_ids, zh="照片未上传成功，请重新选择照片", field=None)


async def _estate_for(session: AsyncSession, actor: Principal, source: Source, estate_id: int, day: date) -> tuple[Estate, Community, bool]:
    """The estate, its community, and whether it was under management on `day` (read at once: one statement)."""
    # FOR UPDATE OF the estate: filings for one estate queue up, so the day's numbering has no race (PostgreSQL;
    # SQLite has one writer at a time anyway).
    row = (
        await session.execute(
            select(Estate, Community, managed_on(day).label("managed"))
            .join(Community, Community.id == Estate.community_id)
            .where(Estate.id == estate_id)
            .with_for_update(of=Estate)
        )
    ).first()
    if row is None:
        raise NotFound("estate", estate_id)
    estate, community, managed = row
    if source is Source.PATROL and community.id != actor.community_id:
        raise PermissionDenied(f"estate {estate.code} belongs to {community.name}; you patrol only your own community's estates")
    if source is Source.STREET_INSPECTION and community.street_id != actor.street_id:
        raise PermissionDenied(f"estate {estate.code} is not in your street; you inspect only your street's estates")
    return estate, community, bool(managed)


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
            record, detail = await _new_record(session, actor, source, data, fingerprint, now)
            await session.commit()
            return Filed(record, replayed=False, detail=detail)
        except IntegrityError:
            # Another request took this client id or this daily number first: look again.
            await session.rollback()
    raise Conflict("too many simultaneous records for this estate; retry with the same client id")


async def _new_record(
    session: AsyncSession, actor: Principal, source: Source, data: schemas.RecordIn, fingerprint: str, now: datetime
) -> tuple[InspectionRecord, schemas.RecordOut]:
    rules = inspection_rules()
    checklist = current_checklist()
    if data.inspected_at > now + rules.clock_tolerance:
        raise RuleViolation(f"inspected_at {data.inspected_at.isoformat()} is in the future; check the phone's clock", zh="检查时间晚于现在，请核对手机时间", field="inspected_at")
    _check_results(checklist, data.results)
    day = business_date(data.inspected_at)
    estate, community, in_management = await _estate_for(session, actor, source, data.estate_id, day)
    month = Month.of(day)
    if not in_management:
        raise RuleViolation(f"estate {estate.code} was not under long-term management on {day}", zh=f"{estate.name}在{day}不在长效管理范围内")
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
        late=is_late(data.inspected_at, now, rules),
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
    photos = []
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
        photos += [RecordPhoto(record_id=record.id, attachment_id=photo, item_code=r.item) for photo in dict.fromkeys(r.photo_ids)]  # type: ignore[arg-type]
    per_item = {p for r in data.results for p in r.photo_ids}
    photos += [RecordPhoto(record_id=record.id, attachment_id=photo) for photo in dict.fromkeys(data.photo_ids) if photo not in per_item]  # type: ignore[arg-type]
    session.add_all(photos)
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
            "late": record.late,
        },
    )
    return record, detail_of(record, estate.name, checklist, results, photos, [], [d.id for d in raised], None)  # type: ignore[misc]



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
