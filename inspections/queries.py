"""The evidence, as the packages above ask for it instead of reading inspection tables: a month's evidence of many
estates at once (what the assessment scores), the days an estate was patrolled, the defects that open a veto by
themselves, one defect, the photos of records. Answers are frozen values."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from foundation.periods import Month
from inspections.checklists import stored_checklists
from inspections.config import current_checklist, reconciliation_rules
from inspections.flag_rules import FlagKind
from inspections.late import counting_records
from inspections.records import AmendmentFields, ResultFields, effective_results
from inspections.records import finding_notes as finding_notes  # the packages above read it here
from inspections.returns import waiting_returns
from inspections.rules import Checklist, DefectState, Source, WhileReturned, assessed_month
from inspections.tables import (
    Amendment,
    Attachment,
    Defect,
    InspectionRecord,
    InspectionResult,
    LateRecordDecision,
    Mismatch,
    Reconciliation,
    RecordFlag,
    RecordFlagClearance,
    RecordPhoto,
)

CHUNK = 900  # ids per IN (...) list: under SQLite's bound-parameter limit


def chunks(ids: Collection[int]) -> Iterable[list[int]]:
    ordered = list(ids)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


@dataclass(frozen=True)
class DefectInfo:
    """A finding (defect) as the packages above read it."""

    id: int
    record_id: int
    estate_id: int
    street_id: int
    company_id: int | None
    source: Source
    item_code: str
    veto_item: bool
    state: DefectState
    deadline_at: datetime | None = None
    closed_at: datetime | None = None


def _defect(d: Defect) -> DefectInfo:
    return DefectInfo(
        id=d.id or 0, record_id=d.record_id, estate_id=d.estate_id, street_id=d.street_id, company_id=d.company_id,
        source=Source(d.source), item_code=d.item_code, veto_item=d.veto_item, state=DefectState(d.state),
        deadline_at=d.deadline_at, closed_at=d.closed_at,
    )


async def defect(session: AsyncSession, defect_id: int) -> DefectInfo | None:
    row = await session.get(Defect, defect_id)
    return _defect(row) if row else None


async def record_filer(session: AsyncSession, record_id: int) -> int | None:
    """The user who filed a record (None: a firm's API key, a complaint, or no such record)."""
    return (await session.execute(select(col(InspectionRecord.filed_by_user_id)).where(col(InspectionRecord.id) == record_id))).scalar()


async def defects_of_record(session: AsyncSession, record_id: int) -> list[DefectInfo]:
    """The defects (rectification orders) a record raised, in order (a complaint turned into an order reads its own)."""
    rows = await session.execute(select(Defect).where(col(Defect.record_id) == record_id).order_by(col(Defect.id)))
    return [_defect(row) for row in rows.scalars()]


async def defects(session: AsyncSession, ids: Collection[int]) -> dict[int, DefectInfo]:
    """The defects of `ids` that exist, by id."""
    found: dict[int, DefectInfo] = {}
    for part in chunks(ids):
        for row in (await session.execute(select(Defect).where(col(Defect.id).in_(part)))).scalars():
            found[row.id or 0] = _defect(row)
    return found


async def veto_triggers(session: AsyncSession, street_id: int, month: Month, *, leaving_out: Collection[int] = ()) -> list[DefectInfo]:
    """The defects of a street that open a veto case of `month` by themselves (RULES.md): a defect on a veto-marked
    item found by the street's own inspection in the month, and a company's third overdue rectification of the
    month; withdrawn ones, those of records that do not count and those of `leaving_out` (already taken) aside.
    By id."""
    query = select(Defect).where(
        col(Defect.street_id) == street_id,
        col(Defect.state) != DefectState.WITHDRAWN.value,
        col(Defect.record_id).in_(select(col(InspectionRecord.id)).where(counting_records())),
        (
            (col(Defect.veto_item).is_(True) & (col(Defect.source) == Source.STREET_INSPECTION.value) & (col(Defect.month) == str(month)))
            | ((col(Defect.overdue_ordinal) == 3) & (col(Defect.overdue_month) == str(month)))
        ),
    )
    taken = set(leaving_out)
    return [_defect(d) for d in (await session.execute(query.order_by(col(Defect.id)))).scalars() if d.id not in taken]


async def patrol_days(
    session: AsyncSession, first: date, last: date, *, community_id: int | None = None, estate_id: int | None = None
) -> dict[int, set[date]]:
    """The days of `first`..`last` each estate (of one community or one estate) had a patrol filed, by estate."""
    query = select(col(InspectionRecord.estate_id), col(InspectionRecord.business_date)).where(
        col(InspectionRecord.source) == Source.PATROL.value, col(InspectionRecord.business_date) >= first, col(InspectionRecord.business_date) <= last
    )
    if community_id is not None:
        query = query.where(col(InspectionRecord.community_id) == community_id)
    if estate_id is not None:
        query = query.where(col(InspectionRecord.estate_id) == estate_id)
    days: dict[int, set[date]] = {}
    for estate, day in (await session.execute(query.distinct())):
        days.setdefault(estate, set()).add(day)
    return days


async def record_photo_digests(session: AsyncSession, record_ids: Collection[int]) -> dict[tuple[int, str], list[str]]:
    """The sha256 of the photos of each (record, checklist item) of `record_ids` (item "" for a photo of the whole
    record), in upload order."""
    photos: dict[tuple[int, str], list[str]] = {}
    for part in chunks(sorted(set(record_ids))):
        rows = await session.execute(
            select(col(RecordPhoto.record_id), col(RecordPhoto.item_code), col(Attachment.sha256))
            .join(Attachment, col(Attachment.id) == col(RecordPhoto.attachment_id))
            .where(col(RecordPhoto.record_id).in_(part))
            .order_by(col(RecordPhoto.attachment_id))
        )
        for record_id, item, sha in rows:
            photos.setdefault((record_id, item or ""), []).append(sha)
    return photos


# A month's evidence of many estates, read with a handful of set-based queries (a city's month is 10,000 estates)


@dataclass(frozen=True)
class FailedItem:
    """A checklist item a visit found failed, as it stands after the record's amendments."""

    item: str
    category: str
    deduction_centi: int  # per defect, from the checklist version of the record
    defects: int
    defect_id: int | None  # the rectification order it raised (None: none, or withdrawn)


@dataclass(frozen=True)
class VisitEvidence:
    """A street inspection or spot check assessed in the month, with the categories of its checklist version."""

    record_id: int
    estate_id: int
    source: Source
    month: str  # its own month: an earlier one when carried over from a month locked before it took effect
    categories: Mapping[str, int]  # category code → points
    failed: tuple[FailedItem, ...]


@dataclass(frozen=True)
class PatrolDefect:
    """A defect a counting patrol raised, assessed in the month, with what its overdue level is judged by."""

    defect_id: int
    record_id: int
    estate_id: int
    item: str
    category: str  # "" when the item is not in the checklist version of its record
    deduction_centi: int
    count: int
    raised_at: datetime
    deadline_at: datetime
    fixed_at: datetime | None  # when the fix was reported (fixed or awaiting verification)


@dataclass(frozen=True)
class MonthEvidence:
    visits: tuple[VisitEvidence, ...]
    patrols_counted: Mapping[int, int]  # estate → counting patrols (at most the configured number per day)
    patrol_defects: tuple[PatrolDefect, ...]


@dataclass(frozen=True, slots=True)
class _Record:
    """The columns of a record the month's evidence reads (a city's month reads tens of thousands: rows, not
    mapped objects)."""

    id: int
    estate_id: int
    source: str
    month: str
    checklist_version_id: int
    counted: bool


_RECORD_COLUMNS = (
    col(InspectionRecord.id), col(InspectionRecord.estate_id), col(InspectionRecord.source), col(InspectionRecord.month),
    col(InspectionRecord.checklist_version_id), col(InspectionRecord.counted),
)  # fmt: skip


async def _carried_records(session: AsyncSession, estate_ids: list[int], month: Month, locked: Mapping[tuple[int, str], datetime | None]) -> list[_Record]:
    """Records of an earlier month that count in `month`: their own month was locked (`locked`: (street, month) →
    when) before they took effect (were filed; for a late record, were approved), so they count in the first month
    after it (RULES.md: a late record never changes a locked month)."""
    months = sorted({m for _, m in locked if m < str(month)})
    records: list[_Record] = []
    if not months:
        return records
    for part in chunks(estate_ids):
        rows = await session.execute(
            select(*_RECORD_COLUMNS, col(InspectionRecord.street_id), col(InspectionRecord.late), col(InspectionRecord.filed_at), col(LateRecordDecision.decided_at))
            .outerjoin(LateRecordDecision, col(LateRecordDecision.record_id) == col(InspectionRecord.id))
            .where(col(InspectionRecord.estate_id).in_(part), col(InspectionRecord.month).in_(months), counting_records())
        )
        for *fields, street_id, late, filed_at, approved_at in rows:
            record = _Record(*fields)
            if (street_id, record.month) not in locked:
                continue
            took_effect = approved_at if late else filed_at
            if assessed_month(Month.parse(record.month), took_effect, locked[(street_id, record.month)]) == month:
                records.append(record)
    return records


async def _visit_records(session: AsyncSession, estate_ids: list[int], month: Month, carried: list[_Record]) -> list[_Record]:
    """Street inspections and spot checks assessed in `month`: those of the month that count, and those carried
    over from a locked month."""
    sources = (Source.STREET_INSPECTION.value, Source.SPOT_CHECK.value)
    records: list[_Record] = []
    for part in chunks(estate_ids):
        rows = await session.execute(
            select(*_RECORD_COLUMNS).where(
                col(InspectionRecord.estate_id).in_(part), col(InspectionRecord.source).in_(sources), col(InspectionRecord.month) == str(month), counting_records()
            )
        )
        records += (_Record(*row) for row in rows)
    return records + [r for r in carried if r.source in sources]


async def month_evidence(session: AsyncSession, estate_ids: list[int], month: Month, locked: Mapping[tuple[int, str], datetime | None]) -> MonthEvidence:
    """The evidence of `estate_ids` assessed in `month`: its counting visits and patrols, and those of earlier
    months carried into it because their month was locked (`locked`: every locked (street, month) → when it was
    locked) before they took effect."""
    carried = await _carried_records(session, estate_ids, month, locked)
    carried_patrols = [r for r in carried if r.source == Source.PATROL.value]
    records = await _visit_records(session, estate_ids, month, carried)
    results: dict[int, list[ResultFields]] = defaultdict(list)
    amendments: dict[int, list[AmendmentFields]] = defaultdict(list)
    defect_of: dict[tuple[int, str], int] = {}
    result_columns = (col(InspectionResult.record_id), col(InspectionResult.item_code), col(InspectionResult.passed), col(InspectionResult.defects), col(InspectionResult.note))
    for part in chunks([r.id for r in records]):
        # Only the failed results: a passed item costs nothing unless an amendment fails it, and an amendment carries
        # the item's whole outcome (a city month's visits hold some 800,000 results, nearly all passed).
        for result in await session.execute(select(*result_columns).where(col(InspectionResult.record_id).in_(part), col(InspectionResult.passed).is_(False))):
            results[result.record_id].append(result)
        for amendment in await session.execute(
            select(col(Amendment.record_id), col(Amendment.changes)).where(col(Amendment.record_id).in_(part)).order_by(col(Amendment.id))
        ):
            amendments[amendment.record_id].append(amendment)
        for defect_id, record_id, item in (
            await session.execute(
                select(col(Defect.id), col(Defect.record_id), col(Defect.item_code)).where(col(Defect.record_id).in_(part), col(Defect.state) != DefectState.WITHDRAWN.value)
            )
        ):
            defect_of[(record_id, item)] = defect_id or 0
    checklists: dict[int, Checklist] = await stored_checklists(session, {r.checklist_version_id for r in records}) if records else {}

    patrols_counted: dict[int, int] = {}
    patrol_defects: list[PatrolDefect] = []
    defect_columns = (
        col(Defect.id), col(Defect.record_id), col(Defect.estate_id), col(Defect.item_code), col(Defect.deduction_centi), col(Defect.defect_count),
        col(Defect.raised_at), col(Defect.deadline_at), col(Defect.fix_reported_at), col(Defect.state), col(InspectionRecord.checklist_version_id),
    )  # fmt: skip
    for part in chunks(estate_ids):
        patrols_counted.update(
            (
                await session.execute(
                    select(col(InspectionRecord.estate_id), func.count())
                    .where(
                        col(InspectionRecord.estate_id).in_(part),
                        col(InspectionRecord.source) == Source.PATROL.value,
                        col(InspectionRecord.month) == str(month),
                        col(InspectionRecord.counted).is_(True),
                        counting_records(),
                    )
                    .group_by(col(InspectionRecord.estate_id))
                )
            ).all()
        )
        defects = list(
            await session.execute(
                select(*defect_columns)
                .join(InspectionRecord, col(InspectionRecord.id) == col(Defect.record_id))
                .where(
                    col(Defect.estate_id).in_(part), col(Defect.source) == Source.PATROL.value, col(Defect.month) == str(month),
                    col(Defect.state) != DefectState.WITHDRAWN.value, counting_records(),
                )
            )
        )
        carried_ids = [r.id for r in carried_patrols if r.estate_id in set(part)]
        if carried_ids:
            defects += await session.execute(
                select(*defect_columns)
                .join(InspectionRecord, col(InspectionRecord.id) == col(Defect.record_id))
                .where(col(Defect.record_id).in_(carried_ids), col(Defect.state) != DefectState.WITHDRAWN.value)
            )
        missing_versions = {d.checklist_version_id for d in defects} - set(checklists)
        if missing_versions:
            checklists.update(await stored_checklists(session, missing_versions))
        for d in defects:
            listed = checklists[d.checklist_version_id].items.get(d.item_code)
            patrol_defects.append(
                PatrolDefect(
                    defect_id=d.id, record_id=d.record_id, estate_id=d.estate_id, item=d.item_code,
                    category=listed.category if listed else "", deduction_centi=d.deduction_centi, count=d.defect_count,
                    raised_at=d.raised_at, deadline_at=d.deadline_at,
                    fixed_at=d.fix_reported_at if d.state in (DefectState.FIX_REPORTED.value, DefectState.CLOSED.value) else None,
                )
            )
    for record in carried_patrols:
        if record.counted:
            patrols_counted[record.estate_id] = patrols_counted.get(record.estate_id, 0) + 1

    visits = []
    for record in records:
        checklist = checklists[record.checklist_version_id]
        failed = []
        for code, outcome in effective_results(results[record.id], amendments[record.id]).items():
            listed = checklist.items.get(code)
            if outcome["passed"] or listed is None:
                continue
            failed.append(FailedItem(code, listed.category, listed.deduction_centi, outcome["defects"], defect_of.get((record.id, code))))
        visits.append(
            VisitEvidence(
                record_id=record.id, estate_id=record.estate_id, source=Source(record.source), month=record.month,
                categories={c.code: c.points for c in checklist.categories}, failed=tuple(failed),
            )
        )
    return MonthEvidence(visits=tuple(visits), patrols_counted=patrols_counted, patrol_defects=tuple(patrol_defects))


# Evidence-integrity flags (config/RULES.md, "Evidence integrity")


def standing_flag() -> ColumnElement[bool]:
    """A flag not cleared: still true as far as the system knows (a cleared one is kept, with when and why)."""
    cleared = aliased(RecordFlagClearance)  # its own name: a query may join the clearances as well
    return ~exists().where(col(cleared.flag_id) == col(RecordFlag.id))


@dataclass(frozen=True)
class FlagInfo:
    """A flag on a record as the street's integrity desk reads it; `evidence` as stored (see inspections/flags.py and
    FlagOut for its fields by kind)."""

    id: int
    kind: FlagKind
    record_id: int
    source: Source
    estate_id: int
    community_id: int
    street_id: int
    month: str
    inspected_at: datetime
    filed_by_user_id: int | None
    organisation_id: int | None
    filed_by: str
    attachment_id: int | None
    other_record_id: int | None
    evidence: Mapping[str, object]
    raised_at: datetime


async def street_flags(
    session: AsyncSession, street_id: int, month: Month, *, kind: FlagKind | None = None, community_id: int | None = None
) -> list[FlagInfo]:
    """The flags on the records of a street's month (of one kind or community when asked), by record then flag."""
    query = (
        select(RecordFlag, InspectionRecord)
        .join(InspectionRecord, col(InspectionRecord.id) == col(RecordFlag.record_id))
        .where(col(RecordFlag.street_id) == street_id, col(RecordFlag.month) == str(month), standing_flag())
        .order_by(col(RecordFlag.record_id), col(RecordFlag.id))
    )
    if kind is not None:
        query = query.where(col(RecordFlag.kind) == kind.value)
    if community_id is not None:
        query = query.where(col(RecordFlag.community_id) == community_id)
    return [
        FlagInfo(
            id=flag.id or 0, kind=FlagKind(flag.kind), record_id=flag.record_id, source=Source(flag.source), estate_id=flag.estate_id,
            community_id=flag.community_id, street_id=flag.street_id, month=flag.month, inspected_at=record.inspected_at,
            filed_by_user_id=record.filed_by_user_id, organisation_id=record.organisation_id, filed_by=record.filed_by,
            attachment_id=flag.attachment_id, other_record_id=flag.other_record_id, evidence=dict(flag.evidence), raised_at=flag.raised_at,
        )
        for flag, record in await session.execute(query)
    ]


async def street_flag_counts(session: AsyncSession, street_id: int, month: Month) -> dict[FlagKind, int]:
    """How many flags of each kind a street's month has (kinds without one are left out)."""
    rows = await session.execute(
        select(col(RecordFlag.kind), func.count())
        .where(col(RecordFlag.street_id) == street_id, col(RecordFlag.month) == str(month), standing_flag())
        .group_by(col(RecordFlag.kind))
    )
    return {FlagKind(kind): int(n) for kind, n in rows}
@dataclass(frozen=True)
class ReturnedRecord:
    """A record returned to its filer for correction, still waiting; `counted`: whether it counts as filed meanwhile
    (config/inspections.toml [returns])."""

    record_id: int
    estate_id: int
    source: Source
    counted: bool


async def waiting_returned_records(session: AsyncSession, estate_ids: Collection[int], month: Month) -> list[ReturnedRecord]:
    """The records of `estate_ids` of `month` that wait on a return, by id."""
    counted = reconciliation_rules().while_returned is WhileReturned.AS_FILED
    out: list[ReturnedRecord] = []
    for part in chunks(sorted(set(estate_ids))):
        rows = await session.execute(
            select(col(InspectionRecord.id), col(InspectionRecord.estate_id), col(InspectionRecord.source))
            .where(col(InspectionRecord.estate_id).in_(part), col(InspectionRecord.month) == str(month), waiting_returns())
            .order_by(col(InspectionRecord.id))
        )
        out += [ReturnedRecord(record_id, estate_id, Source(source), counted) for record_id, estate_id, source in rows]
    return out


@dataclass(frozen=True)
class MismatchInfo:
    """A mismatch of a spot-checked estate-month (config/RULES.md, "Evidence integrity"): evidence, no score effect."""

    id: int
    estate_id: int
    month: str
    category: str
    category_name: str
    spot_check_record_id: int
    spot_check_deduction: str  # points, two decimals
    patrols: int
    patrol_record_ids: tuple[int, ...]


async def mismatches_of(session: AsyncSession, estate_id: int, month: str) -> list[MismatchInfo]:
    """The mismatches recorded for one estate-month, by category."""
    rows = await session.execute(
        select(Mismatch, col(Reconciliation.patrol_record_ids))
        .join(Reconciliation, col(Reconciliation.id) == col(Mismatch.reconciliation_id))
        .where(col(Mismatch.estate_id) == estate_id, col(Mismatch.month) == month)
        .order_by(col(Mismatch.category))
    )
    names = {c.code: c.name for c in current_checklist().categories}
    return [
        MismatchInfo(
            id=m.id or 0, estate_id=m.estate_id, month=m.month, category=m.category, category_name=names.get(m.category, m.category),
            spot_check_record_id=m.spot_check_record_id, spot_check_deduction=f"{m.spot_check_deduction_centi // 100}.{m.spot_check_deduction_centi % 100:02d}",
            patrols=m.patrols, patrol_record_ids=tuple(patrols),
        )
        for m, patrols in rows
    ]


async def late_records_waiting(session: AsyncSession) -> int:
    """How many late records of the whole district wait for their street officer's decision (the /metrics gauge)."""
    decided = select(col(LateRecordDecision.record_id))
    waiting = select(func.count()).select_from(InspectionRecord).where(col(InspectionRecord.late).is_(True), col(InspectionRecord.id).not_in(decided))
    return int((await session.execute(waiting)).scalar_one())


async def streets_with_records(session: AsyncSession, month: Month) -> set[int]:
    """The streets with any record filed for `month` (a patrol, an inspection or a spot check)."""
    query = select(col(InspectionRecord.street_id)).where(col(InspectionRecord.month) == str(month)).distinct()
    return set((await session.execute(query)).scalars())
