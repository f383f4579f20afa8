"""Evidence-integrity flags (config/RULES.md, "Evidence integrity"): the checks run whenever their inputs change, in
the transaction that changes them (they flag, they never refuse): on a record as it is filed, on the photos an
amendment adds, and on an estate's records when its boundary is set, changed or removed; and the flags as the
street reads them. A flag no longer true is cleared (when and why), never deleted."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role
from foundation.clock import BUSINESS_TZ
from foundation.db import Direct
from foundation.paging import PageRequest
from foundation.periods import Month
from inspections import schemas
from inspections.config import inspection_rules
from inspections.flag_rules import (
    FiledBy,
    FlagClearance,
    FlagKind,
    LocationMissing,
    PhotoMatch,
    Position,
    boundary_flag,
    exif_time_flag,
    hash_bands,
    hash_distance,
    location_flag,
    reuse_differences,
)
from inspections.queries import standing_flag
from inspections.rules import Source
from inspections.scope import visible_records
from inspections.tables import Attachment, InspectionRecord, PhotoHashBand, RecordFlag, RecordFlagClearance, RecordPhoto
from registry import queries as registry_queries

# Who reads flags: the street (its officer and workers) and the district. The filer does not see them.
READERS = frozenset({Role.ADMIN, Role.STREET_OFFICER, Role.STREET_WORKER})
# Other records listed as the evidence of one reused photo.
MAX_REUSES_SHOWN = 10


def _filed_by(record: InspectionRecord) -> FiledBy:
    return FiledBy(record.estate_id, record.business_date.isoformat(), record.filed_by_user_id, record.organisation_id)


def _position(record: InspectionRecord) -> Position | None:
    if record.latitude_micro is None or record.longitude_micro is None:
        return None
    return Position(record.latitude_micro / 1_000_000, record.longitude_micro / 1_000_000)


Finding = tuple[FlagKind, int | None, int | None, dict[str, Any]]  # kind, photo, other record, evidence


_NEW_FLAGS = Direct(insert(RecordFlag))


async def _raise(session: AsyncSession, record: InspectionRecord, findings: Sequence[Finding], now: datetime) -> int:
    """Store a flag for each finding (one INSERT for them all: nothing here needs their ids); how many."""
    if findings:
        await _NEW_FLAGS.run_async(  # a plain INSERT: the ORM's bulk path costs more here
            session,
            [
                {
                    "record_id": record.id or 0, "kind": kind.value, "source": record.source, "estate_id": record.estate_id,
                    "community_id": record.community_id, "street_id": record.street_id, "month": record.month,
                    "attachment_id": attachment_id, "other_record_id": other_record_id, "evidence": evidence, "raised_at": now,
                }
                for kind, attachment_id, other_record_id, evidence in findings
            ],
        )  # fmt: skip
    return len(findings)


async def _photo_findings(session: AsyncSession, record: InspectionRecord, photo_ids: Sequence[int]) -> list[Finding]:
    """The EXIF-time and reuse checks on photos of a record."""
    rules = inspection_rules().integrity
    findings: list[Finding] = []
    photos = list((await session.execute(select(Attachment).where(col(Attachment.id).in_(set(photo_ids))).order_by(col(Attachment.id)))).scalars()) if photo_ids else []
    for photo in photos:
        gap = exif_time_flag(photo.exif_taken_at, record.inspected_at, rules)
        if gap is not None:
            findings.append((FlagKind.EXIF_TIME_FAR, photo.id, None, gap))
    for photo_id, reuses in (await _reuses(session, record, photos, rules.near_duplicate_max_bits)).items():
        findings.append((FlagKind.PHOTO_REUSED, photo_id, reuses[0]["record_id"], {"reused_on": reuses[:MAX_REUSES_SHOWN], "reuses": len(reuses)}))
    return findings


def place_findings(record: InspectionRecord, location_missing: LocationMissing | None, boundary: dict[str, Any] | None) -> list[Finding]:
    """The checks of where a record was filed (no position, and why; outside the estate's boundary, GeoJSON or
    None), which need nothing stored: a filing may store their flags with the record itself."""
    findings: list[Finding] = []
    position = _position(record)
    missing = location_flag(position, location_missing)
    if missing is not None:
        findings.append((FlagKind.LOCATION_MISSING, None, None, missing))
    outside = boundary_flag(position, boundary, inspection_rules().integrity) if position is not None else None
    if outside is not None:
        findings.append((FlagKind.OUTSIDE_BOUNDARY, None, None, outside))
    return findings


async def check_record(session: AsyncSession, record: InspectionRecord, photo_ids: Sequence[int], place: Sequence[Finding], now: datetime) -> int:
    """Run the photo checks on a record just filed (its photos stored) and store a flag for each finding, and for
    each finding of `place_findings` not stored with the record, with its evidence; how many flags. Nothing here
    refuses the filing."""
    return await _raise(session, record, [*place, *await _photo_findings(session, record, photo_ids)], now)


async def check_added_photos(session: AsyncSession, record: InspectionRecord, photo_ids: Sequence[int], now: datetime) -> int:
    """Run the photo checks (EXIF time, reuse) on photos an amendment adds to a filed record (stored as its photos
    already): flagged as they would have been at filing. A photo that already has a standing flag of a kind gets no
    second one."""
    if not photo_ids:
        return 0
    standing = {
        (kind, attachment)
        for kind, attachment in await session.execute(
            select(col(RecordFlag.kind), col(RecordFlag.attachment_id)).where(col(RecordFlag.record_id) == record.id, col(RecordFlag.attachment_id).in_(set(photo_ids)), standing_flag())
        )
    }
    findings = [f for f in await _photo_findings(session, record, photo_ids) if (f[0].value, f[1]) not in standing]
    return await _raise(session, record, findings, now)


def _clearance_reason(cause: FlagClearance, now: datetime, distance_m: int | None) -> str:
    day = now.astimezone(BUSINESS_TZ).date().isoformat()
    if cause is FlagClearance.BOUNDARY_REMOVED:
        return f"{day} 区片边界已删除，不再测量"
    if cause is FlagClearance.REMEASURED:
        return f"{day} 区片边界已变更，按新边界重新测量为边界外 {distance_m} 米"
    return f"{day} 区片边界已变更，该位置在新边界内或允许范围内"


async def recheck_boundary(session: AsyncSession, estate_id: int, locked_months: Collection[str], now: datetime) -> tuple[int, int]:
    """Re-evaluate the outside-the-boundary flag of an estate's records after its boundary was set, changed or
    removed, for records of months not in `locked_months` (a locked month's evidence stays as it was judged):
    a position now outside by more than the tolerance is flagged (once: a standing flag of the same distance stays),
    a standing flag no longer true is cleared with when and why. Returns (flags raised, flags cleared)."""
    rules = inspection_rules().integrity
    boundary = await registry_queries.estate_boundary(session, estate_id)
    records = [
        r
        for r in (await session.execute(select(InspectionRecord).where(col(InspectionRecord.estate_id) == estate_id).order_by(col(InspectionRecord.id)))).scalars()
        if r.month not in locked_months
    ]
    if not records:
        return 0, 0
    standing: dict[int, RecordFlag] = {}
    for part in (records[i : i + 500] for i in range(0, len(records), 500)):
        for found in (
            await session.execute(
                select(RecordFlag).where(
                    col(RecordFlag.record_id).in_([r.id for r in part]), col(RecordFlag.kind) == FlagKind.OUTSIDE_BOUNDARY.value, standing_flag()
                )
            )
        ).scalars():
            standing[found.record_id] = found
    raised = cleared = 0
    for record in records:
        outside = boundary_flag(_position(record), boundary, rules)
        flag = standing.get(record.id or 0)
        if flag is not None and outside is not None and flag.evidence.get("distance_m") == outside["distance_m"]:
            continue
        if flag is not None:
            cause = FlagClearance.BOUNDARY_REMOVED if boundary is None else FlagClearance.REMEASURED if outside is not None else FlagClearance.BOUNDARY_CHANGED
            session.add(
                RecordFlagClearance(
                    flag_id=flag.id or 0, cause=cause.value, reason=_clearance_reason(cause, now, None if outside is None else outside["distance_m"]), cleared_at=now
                )
            )
            cleared += 1
        if outside is not None:
            raised += await _raise(session, record, [(FlagKind.OUTSIDE_BOUNDARY, None, None, outside)], now)
    if cleared:
        await session.flush()
    return raised, cleared


async def _reuses(session: AsyncSession, record: InspectionRecord, photos: list[Attachment], max_bits: int) -> dict[int, list[dict[str, Any]]]:
    """For each photo of the record, the other records showing the same bytes or a picture within `max_bits` of
    its perceptual hash, where another estate, day or filer sets them apart; earliest first."""
    if not photos:
        return {}
    by_sha = {p.sha256: p for p in photos}
    candidates: dict[int, tuple[int, str, str | None]] = {}  # attachment id -> (this record's photo, sha256, phash)
    for other_id, sha in await session.execute(select(col(Attachment.id), col(Attachment.sha256)).where(col(Attachment.sha256).in_(list(by_sha)))):
        candidates[other_id] = (by_sha[sha].id or 0, sha, None)
    bands = {(band, value): p for p in photos if p.phash for band, value in hash_bands(p.phash)}
    if bands:
        near = await session.execute(
            select(col(PhotoHashBand.attachment_id), col(PhotoHashBand.band), col(PhotoHashBand.value), col(Attachment.sha256), col(Attachment.phash))
            .join(Attachment, col(Attachment.id) == col(PhotoHashBand.attachment_id))
            .where(tuple_(col(PhotoHashBand.band), col(PhotoHashBand.value)).in_(list(bands)))
        )
        for other_id, band, value, sha, phash in near:
            mine = bands[(band, value)]
            if other_id not in candidates and phash and mine.phash and hash_distance(mine.phash, phash) <= max_bits:
                candidates[other_id] = (mine.id or 0, sha, phash)
    if not candidates:
        return {}
    shown = await session.execute(
        select(col(RecordPhoto.attachment_id), InspectionRecord)
        .join(InspectionRecord, col(InspectionRecord.id) == col(RecordPhoto.record_id))
        .where(col(RecordPhoto.attachment_id).in_(list(candidates)), col(InspectionRecord.id) != record.id)
        .order_by(col(InspectionRecord.filed_at), col(InspectionRecord.id))
    )
    mine_by_id = {p.id: p for p in photos}
    this = _filed_by(record)
    found: dict[int, list[dict[str, Any]]] = {}
    for other_attachment, other in shown:
        photo_id, sha, phash = candidates[other_attachment]
        differs = reuse_differences(this, _filed_by(other))
        if not differs:
            continue
        mine = mine_by_id[photo_id]
        identical = sha == mine.sha256
        found.setdefault(photo_id, []).append(
            {
                "record_id": other.id,
                "estate_id": other.estate_id,
                "business_date": other.business_date.isoformat(),
                "attachment_id": other_attachment,
                "match": (PhotoMatch.IDENTICAL if identical else PhotoMatch.SIMILAR).value,
                "distance_bits": 0 if identical or not (phash and mine.phash) else hash_distance(mine.phash, phash),
                "differs": differs,
            }
        )
    return found


# Reading


def _flags_query(actor: Principal) -> Select[RecordFlag, InspectionRecord, RecordFlagClearance]:
    return (
        select(RecordFlag, InspectionRecord, RecordFlagClearance)
        .join(InspectionRecord, col(InspectionRecord.id) == col(RecordFlag.record_id))
        .outerjoin(RecordFlagClearance, col(RecordFlagClearance.flag_id) == col(RecordFlag.id))
        .where(visible_records(actor))
        .order_by(col(RecordFlag.raised_at).desc(), col(RecordFlag.id).desc())
    )


async def flag_rows(session: AsyncSession, rows: Sequence[tuple[RecordFlag, InspectionRecord, RecordFlagClearance | None]]) -> list[schemas.FlagOut]:
    names = {i: e.name for i, e in (await registry_queries.estates(session, {f.estate_id for f, _, _ in rows})).items()}
    out = []
    for flag, record, clearance in rows:
        e = flag.evidence
        out.append(
            schemas.FlagOut(
                id=flag.id or 0,
                kind=FlagKind(flag.kind),
                record_id=flag.record_id,
                record_url=f"/api/inspections/{flag.record_id}",
                record_page_url=f"/records/{flag.record_id}",
                source=Source(flag.source),
                estate_id=flag.estate_id,
                estate_name=names.get(flag.estate_id, ""),
                community_id=flag.community_id,
                street_id=flag.street_id,
                month=flag.month,
                inspected_at=record.inspected_at,
                filed_by=record.filed_by,
                raised_at=flag.raised_at,
                cleared_at=None if clearance is None else clearance.cleared_at,
                cleared_reason=None if clearance is None else clearance.reason,
                location_missing=LocationMissing(e["reason"]) if "reason" in e else None,
                latitude=e.get("latitude"),
                longitude=e.get("longitude"),
                distance_m=e.get("distance_m"),
                tolerance_m=e.get("tolerance_m"),
                attachment_id=flag.attachment_id,
                photo_url=None if flag.attachment_id is None else f"/photos/{flag.attachment_id}",
                exif_taken_at=e.get("exif_taken_at"),
                minutes_apart=e.get("minutes_apart"),
                tolerance_minutes=e.get("tolerance_minutes"),
                reused_on=[
                    schemas.PhotoReuseOut(
                        record_id=r["record_id"],
                        record_page_url=f"/records/{r['record_id']}",
                        estate_id=r["estate_id"],
                        business_date=r["business_date"],
                        attachment_id=r["attachment_id"],
                        match=PhotoMatch(r["match"]),
                        distance_bits=r["distance_bits"],
                        differs=list(r["differs"]),
                    )
                    for r in e.get("reused_on", [])
                ],
            )
        )
    return out


async def list_flags(
    session: AsyncSession,
    actor: Principal,
    paging: PageRequest,
    *,
    kind: FlagKind | None = None,
    estate_id: int | None = None,
    street_id: int | None = None,
    month: Month | None = None,
    record_id: int | None = None,
    include_cleared: bool = False,
) -> tuple[list[schemas.FlagOut], int]:
    """Flags on the records within the actor's scope, newest first, by kind, estate, street, month or record; the
    standing ones only unless `include_cleared`."""
    query = _flags_query(actor)
    if not include_cleared:
        query = query.where(standing_flag())
    for column, value in (
        (RecordFlag.kind, kind.value if kind else None),
        (RecordFlag.estate_id, estate_id),
        (RecordFlag.street_id, street_id),
        (RecordFlag.month, str(month) if month else None),
        (RecordFlag.record_id, record_id),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    total = (await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one()
    rows = [(flag, record, clearance) for flag, record, clearance in await session.execute(query.limit(paging.page_size).offset(paging.offset))]
    return await flag_rows(session, rows), int(total)


async def record_flags(session: AsyncSession, actor: Principal, record_id: int) -> list[schemas.FlagOut]:
    """The flags of one record, cleared ones too (empty for those who do not read flags)."""
    if actor.role not in READERS:
        return []
    rows = [(flag, record, clearance) for flag, record, clearance in await session.execute(_flags_query(actor).where(col(RecordFlag.record_id) == record_id))]
    return await flag_rows(session, rows)
