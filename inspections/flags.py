"""Evidence-integrity flags (config/RULES.md, "Evidence integrity"): the checks run on a record as it is filed, in
the filing's transaction (they flag, they never refuse), and the flags as the street reads them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role
from foundation.paging import PageRequest
from foundation.periods import Month
from inspections import schemas
from inspections.config import inspection_rules
from inspections.flag_rules import (
    FiledBy,
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
from inspections.rules import Source
from inspections.scope import visible_records
from inspections.tables import Attachment, InspectionRecord, PhotoHashBand, RecordFlag, RecordPhoto
from registry import queries as registry_queries

# Who reads flags: the street (its officer and workers) and the district. The filer does not see them.
READERS = frozenset({Role.ADMIN, Role.STREET_OFFICER, Role.STREET_WORKER})
# Other records listed as the evidence of one reused photo.
MAX_REUSES_SHOWN = 10


def _filed_by(record: InspectionRecord) -> FiledBy:
    return FiledBy(record.estate_id, record.business_date.isoformat(), record.filed_by_user_id, record.organisation_id)


async def check_record(
    session: AsyncSession, record: InspectionRecord, photo_ids: Sequence[int], location_missing: LocationMissing | None, now: datetime
) -> list[RecordFlag]:
    """Run every check on a record just filed (its photos stored) and store a flag for each finding, with its
    evidence. Nothing here refuses the filing."""
    rules = inspection_rules().integrity
    findings: list[tuple[FlagKind, int | None, int | None, dict[str, Any]]] = []
    position = (
        None
        if record.latitude_micro is None or record.longitude_micro is None
        else Position(record.latitude_micro / 1_000_000, record.longitude_micro / 1_000_000)
    )
    missing = location_flag(position, location_missing)
    if missing is not None:
        findings.append((FlagKind.LOCATION_MISSING, None, None, missing))
    outside = boundary_flag(position, await registry_queries.estate_boundary(session, record.estate_id), rules)
    if outside is not None:
        findings.append((FlagKind.OUTSIDE_BOUNDARY, None, None, outside))
    photos = list((await session.execute(select(Attachment).where(col(Attachment.id).in_(set(photo_ids))).order_by(col(Attachment.id)))).scalars()) if photo_ids else []
    for photo in photos:
        gap = exif_time_flag(photo.exif_taken_at, record.inspected_at, rules)
        if gap is not None:
            findings.append((FlagKind.EXIF_TIME_FAR, photo.id, None, gap))
    for photo_id, reuses in (await _reuses(session, record, photos, rules.near_duplicate_max_bits)).items():
        findings.append((FlagKind.PHOTO_REUSED, photo_id, reuses[0]["record_id"], {"reused_on": reuses[:MAX_REUSES_SHOWN], "reuses": len(reuses)}))
    flags = [
        RecordFlag(
            record_id=record.id or 0,
            kind=kind.value,
            source=record.source,
            estate_id=record.estate_id,
            community_id=record.community_id,
            street_id=record.street_id,
            month=record.month,
            attachment_id=attachment_id,
            other_record_id=other_record_id,
            evidence=evidence,
            raised_at=now,
        )
        for kind, attachment_id, other_record_id, evidence in findings
    ]
    session.add_all(flags)
    if flags:
        await session.flush()
    return flags


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


def _flags_query(actor: Principal) -> Select[RecordFlag, InspectionRecord]:
    return (
        select(RecordFlag, InspectionRecord)
        .join(InspectionRecord, col(InspectionRecord.id) == col(RecordFlag.record_id))
        .where(visible_records(actor))
        .order_by(col(RecordFlag.raised_at).desc(), col(RecordFlag.id).desc())
    )


async def flag_rows(session: AsyncSession, rows: Sequence[tuple[RecordFlag, InspectionRecord]]) -> list[schemas.FlagOut]:
    names = {i: e.name for i, e in (await registry_queries.estates(session, {f.estate_id for f, _ in rows})).items()}
    out = []
    for flag, record in rows:
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
) -> tuple[list[schemas.FlagOut], int]:
    """Flags on the records within the actor's scope, newest first, by kind, estate, street, month or record."""
    query = _flags_query(actor)
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
    rows = [(flag, record) for flag, record in await session.execute(query.limit(paging.page_size).offset(paging.offset))]
    return await flag_rows(session, rows), int(total)


async def record_flags(session: AsyncSession, actor: Principal, record_id: int) -> list[schemas.FlagOut]:
    """The flags of one record (empty for those who do not read flags)."""
    if actor.role not in READERS:
        return []
    rows = [(flag, record) for flag, record in await session.execute(_flags_query(actor).where(col(RecordFlag.record_id) == record_id))]
    return await flag_rows(session, rows)
