"""Reading filed evidence: a record as filed beside its amendments, lists within scope, and patrol coverage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal
from foundation.errors import NotFound, RuleViolation
from foundation.paging import PageRequest, fetch_page
from foundation.periods import Month
from inspections import returns, schemas
from inspections.checklists import stored_checklists
from inspections.rules import Checklist, LateDecision, Source
from inspections.scope import visible_records
from inspections.tables import Amendment, Defect, InspectionRecord, InspectionResult, LateRecordDecision, RecordPhoto
from registry import queries as registry_queries

# Reading


async def get_record(session: AsyncSession, actor: Principal, record_id: int) -> InspectionRecord:
    found = (
        await session.execute(select(InspectionRecord).where(col(InspectionRecord.id) == record_id, visible_records(actor)))
    ).scalar()
    if found is None:
        raise NotFound("inspection record", record_id)
    return found


def _result_out(item_code: str, passed: bool, defects: int, note: str, photos: list[int], checklist: Checklist) -> schemas.ItemResultOut:
    item = checklist.items.get(item_code)
    return schemas.ItemResultOut(
        item=item_code, text=item.text if item else "", passed=passed, defects=defects, note=note, photo_ids=photos
    )


class ResultFields(Protocol):
    """A stored result as effective_results reads it: the table's row, or a row of these columns."""

    @property
    def item_code(self) -> str: ...
    @property
    def passed(self) -> bool: ...
    @property
    def defects(self) -> int: ...
    @property
    def note(self) -> str: ...


class AmendmentFields(Protocol):
    @property
    def changes(self) -> list[dict[str, Any]]: ...


def effective_results(results: Iterable[ResultFields], amendments: Iterable[AmendmentFields]) -> dict[str, dict[str, Any]]:
    """The record's results after its amendments, in order: item code → passed, defects, note, photo ids."""
    current: dict[str, dict[str, Any]] = {
        r.item_code: {"passed": r.passed, "defects": r.defects, "note": r.note, "photo_ids": []} for r in results
    }
    for amendment in amendments:
        for change in amendment.changes:
            current[change["item"]] = {k: change[k] for k in ("passed", "defects", "note", "photo_ids")}
    return current


async def finding_notes(session: AsyncSession, record_ids: Iterable[int]) -> dict[tuple[int, str], str]:
    """The fault written on each failed item of the records, as the record stands after its amendments:
    (record id, item code) → the inspector's note (items without a note are absent). What a page lists as an
    item's problem (问题), with the checklist's standard as the secondary line."""
    found: dict[tuple[int, str], str] = {}
    ordered = sorted(set(record_ids))
    for start in range(0, len(ordered), 900):  # ids per IN (...) list: under SQLite's bound-parameter limit
        part = ordered[start : start + 900]
        results: dict[int, list[InspectionResult]] = defaultdict(list)
        for r in (await session.execute(select(InspectionResult).where(col(InspectionResult.record_id).in_(part)).order_by(col(InspectionResult.id)))).scalars():
            results[r.record_id].append(r)
        amendments: dict[int, list[Amendment]] = defaultdict(list)
        for a in (await session.execute(select(Amendment).where(col(Amendment.record_id).in_(part)).order_by(col(Amendment.id)))).scalars():
            amendments[a.record_id].append(a)
        for record_id in part:
            for item, result in effective_results(results[record_id], amendments[record_id]).items():
                note = str(result.get("note") or "").strip()
                if note and not result.get("passed"):
                    found[(record_id, item)] = note
    return found


async def record_detail(session: AsyncSession, record: InspectionRecord) -> schemas.RecordOut:
    results = list(
        (await session.execute(select(InspectionResult).where(col(InspectionResult.record_id) == record.id).order_by(col(InspectionResult.id)))).scalars()
    )
    photos = list((await session.execute(select(RecordPhoto).where(col(RecordPhoto.record_id) == record.id))).scalars())
    amendments = list(
        (await session.execute(select(Amendment).where(col(Amendment.record_id) == record.id).order_by(col(Amendment.id)))).scalars()
    )
    defect_ids = list(
        (await session.execute(select(col(Defect.id)).where(col(Defect.record_id) == record.id).order_by(col(Defect.id)))).scalars()
    )
    estate_name = (await registry_queries.estates(session, [record.estate_id]))[record.estate_id].name
    decision = (await session.execute(select(LateRecordDecision).where(col(LateRecordDecision.record_id) == record.id))).scalar()
    checklist = (await stored_checklists(session, {record.checklist_version_id}))[record.checklist_version_id]
    return detail_of(
        record, results=results, photos=photos, amendments=amendments, defect_ids=defect_ids, estate_name=estate_name,
        decision=decision, checklist=checklist, returned=await returns.record_returns(session, record.id or 0),
    )  # fmt: skip


def filed_detail(
    record: InspectionRecord, *, results: Sequence[ResultFields], photos: list[RecordPhoto], defect_ids: list[int], estate_name: str, checklist: Checklist
) -> schemas.RecordOut:
    """The answer to a filing, from what the filing itself just stored (a new record has no amendment, late decision
    or return yet): the same answer a later read gives, without reading back what was written a moment ago."""
    return detail_of(
        record, results=results, photos=photos, amendments=[], defect_ids=sorted(defect_ids), estate_name=estate_name, decision=None,
        checklist=checklist, returned=[],
    )  # fmt: skip


def detail_of(
    record: InspectionRecord,
    *,
    results: Sequence[ResultFields],
    photos: list[RecordPhoto],
    amendments: list[Amendment],
    defect_ids: list[int],
    estate_name: str,
    decision: LateRecordDecision | None,
    checklist: Checklist,
    returned: list[schemas.RecordReturnOut],
) -> schemas.RecordOut:
    # The results as filed show the photos filed with them; an amendment's photos are its own (in its changes).
    filed = [p for p in photos if p.amendment_id is None]
    photos_of = {r.item_code: sorted(p.attachment_id for p in filed if p.item_code == r.item_code) for r in results}
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
        late=record.late,
        late_decision=None
        if decision is None
        else schemas.LateDecisionOut(decision=LateDecision(decision.decision), reason=decision.reason, decided_at=decision.decided_at, decided_by=decision.decided_by),
        latitude=None if record.latitude_micro is None else record.latitude_micro / 1_000_000,
        longitude=None if record.longitude_micro is None else record.longitude_micro / 1_000_000,
        note=record.note,
        filed_at=record.filed_at,
        filed_by=record.filed_by,
        results=[_result_out(r.item_code, r.passed, r.defects, r.note, photos_of[r.item_code], checklist) for r in results],
        photo_ids=sorted(p.attachment_id for p in filed if p.item_code is None),
        amendments=[
            schemas.AmendmentOut(id=a.id or 0, reason=a.reason, changes=a.changes, amended_at=a.amended_at, amended_by=a.amended_by)
            for a in amendments
        ],
        effective_results=[
            _result_out(code, v["passed"], v["defects"], v["note"], v["photo_ids"], checklist) for code, v in effective.items()
        ],
        defect_ids=defect_ids,
        returns=returned,
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
    query = select(InspectionRecord).where(visible_records(actor)).order_by(col(InspectionRecord.inspected_at).desc(), col(InspectionRecord.id).desc())
    for column, value in (
        (InspectionRecord.source, source.value if source else None),
        (InspectionRecord.estate_id, estate_id),
        (InspectionRecord.community_id, community_id),
        (InspectionRecord.street_id, street_id),
        (InspectionRecord.month, str(month) if month else None),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    records, total = await fetch_page(session, query, paging)
    return await record_summaries(session, list(records)), total


async def record_summaries(session: AsyncSession, records: list[InspectionRecord]) -> list[schemas.RecordSummary]:
    """Records as lists show them: the estate's name, the items failed as filed, amended or not, the late decision."""
    ids = [r.id for r in records]
    names = {i: e.name for i, e in (await registry_queries.estates(session, {r.estate_id for r in records})).items()}
    failed = dict(
        (
            await session.execute(
                select(col(InspectionResult.record_id), func.count())
                .where(col(InspectionResult.record_id).in_(ids), col(InspectionResult.passed).is_(False))
                .group_by(col(InspectionResult.record_id))
            )
        ).all()
    )
    amended = set((await session.execute(select(col(Amendment.record_id)).where(col(Amendment.record_id).in_(ids)))).scalars())
    decided = dict((await session.execute(select(col(LateRecordDecision.record_id), col(LateRecordDecision.decision)).where(col(LateRecordDecision.record_id).in_(ids)))).all())
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
            late=r.late,
            late_decision=LateDecision(decided[r.id]) if r.id in decided else None,
            failed_items=failed.get(r.id, 0),
            amended=r.id in amended,
            filed_by=r.filed_by,
        )
        for r in records
    ]



# Patrol coverage

COVERAGE_MAX_DAYS = 62


def _coverage_range(date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise RuleViolation("date_to is before date_from", zh="结束日期早于开始日期")
    if (date_to - date_from).days >= COVERAGE_MAX_DAYS:
        raise RuleViolation(f"ask for at most {COVERAGE_MAX_DAYS} days at a time", zh=f"一次最多查询 {COVERAGE_MAX_DAYS} 天")


async def patrol_coverage(
    session: AsyncSession, actor: Principal, community_id: int, date_from: date, date_to: date
) -> schemas.CoverageOut:
    """For each day, the community's estates under management that had no counted patrol."""
    _coverage_range(date_from, date_to)
    community = await registry_queries.community(session, community_id)
    if community is None or not actor.sees_community(community.id, community.street_id):
        raise NotFound("community", community_id)
    return (await communities_coverage(session, [(community.id, community.name, community.street_id)], date_from, date_to))[0]


async def communities_coverage(
    session: AsyncSession, communities: list[tuple[int, str, int]], date_from: date, date_to: date
) -> list[schemas.CoverageOut]:
    """Patrol coverage of several communities ((id, name, street id), already checked to be in the reader's scope)
    at once, in their order: one query for the estates under management and one for the days each was patrolled,
    whatever the number of communities and days (the heat map of a street or of the district)."""
    _coverage_range(date_from, date_to)
    if not communities:
        return []
    wanted = {c[0] for c in communities}
    streets = {c[2] for c in communities}
    one_community = next(iter(wanted)) if len(wanted) == 1 else None
    one_street = next(iter(streets)) if len(streets) == 1 and one_community is None else None
    managed = await registry_queries.managed_during(session, date_from, date_to, street_id=one_street, community_id=one_community)
    estates_of: dict[int, list[registry_queries.EstateInfo]] = {}
    for e in managed:
        if e.community_id in wanted:
            estates_of.setdefault(e.community_id, []).append(e)
    patrols = select(col(InspectionRecord.estate_id), col(InspectionRecord.business_date)).distinct().where(
        col(InspectionRecord.source) == Source.PATROL.value,
        col(InspectionRecord.business_date) >= date_from,
        col(InspectionRecord.business_date) <= date_to,
    )
    # One street (or one community): by those; the district: every patrol of the days (no list of ids to bind).
    if one_community is not None:
        patrols = patrols.where(col(InspectionRecord.community_id) == one_community)
    elif one_street is not None:
        patrols = patrols.where(col(InspectionRecord.community_id).in_(sorted(wanted)))
    patrolled = {(estate_id, day) for estate_id, day in await session.execute(patrols)}
    out = []
    for community_id, name, _ in communities:
        estates = estates_of.get(community_id, [])
        days = []
        day = date_from
        while day <= date_to:
            on_duty = [e for e in estates if e.managed_on(day)]
            missing = [e for e in on_duty if (e.id, day) not in patrolled]
            days.append(
                schemas.CoverageDay(
                    day=day,
                    estates=len(on_duty),
                    patrolled=len(on_duty) - len(missing),
                    missing=[schemas.CoverageEstate(id=e.id, code=e.code, name=e.name) for e in missing],
                )
            )
            day += timedelta(days=1)
        out.append(schemas.CoverageOut(community_id=community_id, community_name=name, date_from=date_from, date_to=date_to, days=days))
    return out
