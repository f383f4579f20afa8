"""The month's facts of many estates at once, read with a handful of set-based queries (a city's month is 10,000
estates), as the value types the pure scoring takes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment.rules import Finding, MonthInputs, Satisfaction, Visit, overdue_level
from assessment.tables import AssessmentMonth, CommitteeOpinion, ScoreExclusion, Veto
from foundation.keys import key_column, key_of
from foundation.periods import Month
from inspections.checklists import stored_checklists
from inspections.late import counting_records
from inspections.records import effective_results
from inspections.rules import Checklist, DefectState, Source, assessed_month
from inspections.tables import Amendment, Defect, InspectionRecord, InspectionResult, LateRecordDecision

LOCKED = "locked"
CHUNK = 900  # ids per IN (...) list: under SQLite's bound-parameter limit


def chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


async def _carried_records(session: AsyncSession, estate_ids: list[int], month: Month) -> list[InspectionRecord]:
    """Records of an earlier month that count in `month`: their own month was locked before they took effect
    (were filed; for a late record, were approved), so they count in the first month after it (a late record never
    changes a locked month: config/RULES.md, "Late evidence")."""
    records: list[InspectionRecord] = []
    for part in chunks(estate_ids):
        rows = (
            await session.execute(
                select(InspectionRecord, col(AssessmentMonth.locked_at), col(LateRecordDecision.decided_at))
                .join(
                    AssessmentMonth,
                    and_(col(AssessmentMonth.street_id) == InspectionRecord.street_id, col(AssessmentMonth.month) == InspectionRecord.month),
                )
                .outerjoin(LateRecordDecision, col(LateRecordDecision.record_id) == InspectionRecord.id)
                .where(
                    col(InspectionRecord.estate_id).in_(part),
                    col(InspectionRecord.month) < str(month),
                    col(AssessmentMonth.state) == LOCKED,
                    counting_records(),
                )
            )
        )
        for record, locked_at, approved_at in rows:
            took_effect = approved_at if record.late else record.filed_at
            if assessed_month(Month.parse(record.month), took_effect, locked_at) == month:
                records.append(record)
    return records


async def _visit_records(session: AsyncSession, estate_ids: list[int], month: Month, carried: list[InspectionRecord]) -> list[InspectionRecord]:
    """Street inspections and spot checks assessed in `month`: those of the month that count, and those carried
    over from a locked month (they say so)."""
    sources = (Source.STREET_INSPECTION.value, Source.SPOT_CHECK.value)
    records: list[InspectionRecord] = []
    for part in chunks(estate_ids):
        records += (
            await session.execute(
                select(InspectionRecord).where(col(InspectionRecord.estate_id).in_(part), col(InspectionRecord.source).in_(sources), col(InspectionRecord.month) == str(month), counting_records())
            )
        ).scalars()
    return records + [r for r in carried if r.source in sources]


async def month_inputs(session: AsyncSession, estate_ids: list[int], month: Month, now: datetime, fallback: Checklist) -> dict[int, MonthInputs]:
    """Every estate's facts for `month`, as of `now` (overdue levels are judged at `now`)."""
    carried = await _carried_records(session, estate_ids, month)
    carried_patrols = [r for r in carried if r.source == Source.PATROL.value]
    records = await _visit_records(session, estate_ids, month, carried)
    record_ids = [key_of(r) for r in records]
    results: dict[int, list[InspectionResult]] = defaultdict(list)
    amendments: dict[int, list[Amendment]] = defaultdict(list)
    defect_of: dict[tuple[int, str], int] = {}
    for part in chunks(record_ids):
        for row in (await session.execute(select(InspectionResult).where(col(InspectionResult.record_id).in_(part)))).scalars():
            results[row.record_id].append(row)
        for amendment in (await session.execute(select(Amendment).where(col(Amendment.record_id).in_(part)).order_by(col(Amendment.id)))).scalars():
            amendments[amendment.record_id].append(amendment)
        for raised_id, record_id, item_code in (
            await session.execute(
                select(key_column(Defect.id), col(Defect.record_id), col(Defect.item_code)).where(col(Defect.record_id).in_(part), col(Defect.state) != DefectState.WITHDRAWN.value)
            )
        ):
            defect_of[(record_id, item_code)] = raised_id
    excluded = set((await session.execute(select(col(ScoreExclusion.defect_id)))).scalars())
    checklists = await stored_checklists(session, {r.checklist_version_id for r in records}) if records else {}

    patrol_findings: dict[int, list[Finding]] = defaultdict(list)
    patrols_counted: dict[int, int] = {}
    opinions: dict[int, CommitteeOpinion] = {}
    vetoes: dict[int, list[int]] = defaultdict(list)
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
        defects = (
            await session.execute(
                select(Defect, col(InspectionRecord.checklist_version_id))
                .join(InspectionRecord, col(InspectionRecord.id) == Defect.record_id)
                .where(col(Defect.estate_id).in_(part), col(Defect.source) == Source.PATROL.value, col(Defect.month) == str(month), col(Defect.state) != DefectState.WITHDRAWN.value, counting_records())
            )
        ).all()
        carried_ids = [r.id for r in carried_patrols if r.estate_id in set(part)]
        if carried_ids:
            defects = [*defects, *(
                await session.execute(
                    select(Defect, col(InspectionRecord.checklist_version_id))
                    .join(InspectionRecord, col(InspectionRecord.id) == Defect.record_id)
                    .where(col(Defect.record_id).in_(carried_ids), col(Defect.state) != DefectState.WITHDRAWN.value)
                )
            ).all()]
        missing_versions = {v for _, v in defects} - set(checklists)
        if missing_versions:
            checklists.update(await stored_checklists(session, missing_versions))
        for defect, version_id in defects:
            if defect.id in excluded:
                continue
            item = checklists[version_id].items.get(defect.item_code)
            fixed_at = defect.fix_reported_at if defect.state in (DefectState.FIX_REPORTED.value, DefectState.CLOSED.value) else None
            patrol_findings[defect.estate_id].append(
                Finding(
                    record_id=defect.record_id,
                    item=defect.item_code,
                    category=item.category if item else "",
                    deduction_centi=defect.deduction_centi,
                    count=defect.defect_count,
                    defect_id=defect.id,
                    overdue_level=overdue_level(defect.raised_at, defect.deadline_at, fixed_at, now),
                )
            )
        latest = (
            select(col(CommitteeOpinion.estate_id), func.max(col(CommitteeOpinion.revision)).label("revision"))
            .where(col(CommitteeOpinion.estate_id).in_(part), col(CommitteeOpinion.month) == str(month))
            .group_by(col(CommitteeOpinion.estate_id))
            .subquery()
        )
        for latest_opinion in (
            await session.execute(
                select(CommitteeOpinion).join(latest, and_(latest.c.estate_id == CommitteeOpinion.estate_id, latest.c.revision == CommitteeOpinion.revision)).where(col(CommitteeOpinion.month) == str(month))
            )
        ).scalars():
            opinions[latest_opinion.estate_id] = latest_opinion
        for estate_id, veto_id in (
            await session.execute(select(col(Veto.estate_id), key_column(Veto.id)).where(col(Veto.estate_id).in_(part), col(Veto.month) == str(month), col(Veto.state) == "upheld"))
        ):
            vetoes[estate_id].append(veto_id)

    visits: dict[int, dict[str, list[Visit]]] = defaultdict(lambda: defaultdict(list))
    categories_of: dict[int, dict[str, int]] = {}
    for record in records:
        checklist = checklists[record.checklist_version_id]
        categories_of[record.estate_id] = {c.code: c.points for c in checklist.categories}
        findings = []
        for code, result in effective_results(results[key_of(record)], amendments[key_of(record)]).items():
            defect_id = defect_of.get((key_of(record), code))
            item = checklist.items.get(code)
            if result["passed"] or item is None or (defect_id is not None and defect_id in excluded):
                continue
            findings.append(Finding(key_of(record), code, item.category, item.deduction_centi, result["defects"], defect_id))
        late_from = record.month if record.month != str(month) else None
        visits[record.estate_id][record.source].append(Visit(key_of(record), tuple(findings), late_from))

    default_categories = {c.code: c.points for c in fallback.categories}
    out: dict[int, MonthInputs] = {}
    for record in carried_patrols:
        if record.counted:
            patrols_counted[record.estate_id] = patrols_counted.get(record.estate_id, 0) + 1
    for estate_id in estate_ids:
        opinion = opinions.get(estate_id)
        out[estate_id] = MonthInputs(
            estate_id=estate_id,
            month=str(month),
            categories=categories_of.get(estate_id, default_categories),
            street_inspections=tuple(visits[estate_id][Source.STREET_INSPECTION.value]),
            spot_checks=tuple(visits[estate_id][Source.SPOT_CHECK.value]),
            patrols_counted=patrols_counted.get(estate_id, 0),
            patrol_findings=tuple(patrol_findings[estate_id]),
            committee_opinion=opinion.rating if opinion else None,
            satisfaction=Satisfaction(opinion.satisfied or 0, opinion.answered) if opinion and opinion.answered else None,
            upheld_veto_ids=tuple(sorted(vetoes[estate_id])),
        )
    return out
