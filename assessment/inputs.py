"""The month's facts of many estates at once, read with a handful of set-based queries (a city's month is 10,000
estates), as the value types the pure scoring takes: the evidence from the inspections' public queries, the
committee's opinion, the upheld vetoes and the defects left out by upheld appeals from the assessment's own tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment.rules import ComplaintFacts, Finding, MonthInputs, Returned, Satisfaction, Visit, overdue_level
from assessment.tables import AssessmentMonth, CommitteeOpinion, ScoreExclusion, Veto
from complaints import queries as complaint_queries
from foundation.periods import Month
from inspections.queries import month_evidence, waiting_returned_records
from inspections.rules import Checklist, Source
from registry import queries as registry_queries

LOCKED = "locked"
CHUNK = 900  # ids per IN (...) list: under SQLite's bound-parameter limit


def chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


async def month_inputs(
    session: AsyncSession, estate_ids: list[int], month: Month, now: datetime, fallback: Checklist, *, with_complaints: bool = False
) -> dict[int, MonthInputs]:
    """Every estate's facts for `month`, as of `now` (overdue levels are judged at `now`); the residents' complaints
    only `with_complaints` (when the rules give them a weight)."""
    locked = {
        (street_id, month_text): locked_at
        for street_id, month_text, locked_at in (
            await session.execute(select(col(AssessmentMonth.street_id), col(AssessmentMonth.month), col(AssessmentMonth.locked_at)).where(col(AssessmentMonth.state) == LOCKED))
        )
    }
    evidence = await month_evidence(session, estate_ids, month, locked)
    excluded = set((await session.execute(select(col(ScoreExclusion.defect_id)))).scalars())

    patrol_findings: dict[int, list[Finding]] = defaultdict(list)
    for defect in evidence.patrol_defects:
        if defect.defect_id in excluded:
            continue
        patrol_findings[defect.estate_id].append(
            Finding(
                record_id=defect.record_id,
                item=defect.item,
                category=defect.category,
                deduction_centi=defect.deduction_centi,
                count=defect.count,
                defect_id=defect.defect_id,
                overdue_level=overdue_level(defect.raised_at, defect.deadline_at, defect.fixed_at, now),
            )
        )
    opinions: dict[int, CommitteeOpinion] = {}
    vetoes: dict[int, list[int]] = defaultdict(list)
    for part in chunks(estate_ids):
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
            await session.execute(select(col(Veto.estate_id), col(Veto.id)).where(col(Veto.estate_id).in_(part), col(Veto.month) == str(month), col(Veto.state) == "upheld"))
        ):
            vetoes[estate_id].append(veto_id)

    visits: dict[int, dict[str, list[Visit]]] = defaultdict(lambda: defaultdict(list))
    categories_of: dict[int, dict[str, int]] = {}
    for visit in evidence.visits:
        categories_of[visit.estate_id] = dict(visit.categories)
        findings = tuple(
            Finding(visit.record_id, f.item, f.category, f.deduction_centi, f.defects, f.defect_id)
            for f in visit.failed
            if f.defect_id is None or f.defect_id not in excluded
        )
        late_from = visit.month if visit.month != str(month) else None
        visits[visit.estate_id][visit.source.value].append(Visit(visit.record_id, findings, late_from))

    returned: dict[int, list[Returned]] = defaultdict(list)
    for r in await waiting_returned_records(session, estate_ids, month):
        returned[r.estate_id].append(Returned(r.record_id, r.source.value, r.counted))
    # The residents' own answers on the QR page are the satisfaction figure from enough households on; below that,
    # the committee's paper figure stands (config/RULES.md, "Residents' complaints": the satisfaction survey).
    by_residents: dict[int, Satisfaction] = {}
    enough = complaint_queries.survey_min_households()
    for part in chunks(estate_ids):
        for estate_id, tally in (await complaint_queries.month_survey(session, part, month)).items():
            if tally.answered >= enough:
                by_residents[estate_id] = Satisfaction(tally.satisfied, tally.answered)
    complaint_facts: dict[int, ComplaintFacts] = {}
    if with_complaints:
        households = {e.id: e.households for e in (await registry_queries.estates(session, estate_ids)).values()}
        counted: dict[int, complaint_queries.ComplaintMonth] = {}
        for part in chunks(estate_ids):
            counted |= await complaint_queries.month_complaints(session, part, month)
        for estate_id in estate_ids:
            line = counted.get(estate_id)
            complaint_facts[estate_id] = ComplaintFacts(households.get(estate_id, 0), line.upheld if line else 0, line.first_responses_late if line else 0)
    default_categories = {c.code: c.points for c in fallback.categories}
    out: dict[int, MonthInputs] = {}
    for estate_id in estate_ids:
        opinion = opinions.get(estate_id)
        out[estate_id] = MonthInputs(
            estate_id=estate_id,
            month=str(month),
            categories=categories_of.get(estate_id, default_categories),
            street_inspections=tuple(visits[estate_id][Source.STREET_INSPECTION.value]),
            spot_checks=tuple(visits[estate_id][Source.SPOT_CHECK.value]),
            patrols_counted=evidence.patrols_counted.get(estate_id, 0),
            patrol_findings=tuple(patrol_findings[estate_id]),
            committee_opinion=opinion.rating if opinion else None,
            satisfaction=by_residents.get(estate_id) or (Satisfaction(opinion.satisfied or 0, opinion.answered) if opinion and opinion.answered else None),
            satisfaction_by_residents=estate_id in by_residents,
            upheld_veto_ids=tuple(sorted(vetoes[estate_id])),
            returned=tuple(returned[estate_id]),
            complaints=complaint_facts.get(estate_id),
        )
    return out
