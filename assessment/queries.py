"""Reading the assessment within one's scope: scores with ranks and breakdowns, vetoes, appeals, opinions, months;
and the public queries the packages above ask instead of reading assessment tables (current scores, locked months,
pending vetoes, an estate month's opinion and vetoes), answered as frozen values."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment import schemas
from assessment.rules import AUTOMATIC_VETO_REASONS, VETO_REASONS
from assessment.tables import (
    Appeal,
    AppealEvidence,
    AssessmentMonth,
    CommitteeOpinion,
    EstateScore,
    ScoreRank,
    Veto,
    VetoComplaint,
    VetoEvidence,
)
from foundation.access import Principal, ScopeKind
from foundation.errors import NotFound
from foundation.paging import PageRequest, fetch_page
from foundation.periods import Month
from foundation.scoping import in_scope
from inspections.attachments import evidence_photo
from inspections.defects import defect_evidence
from inspections.scope import defect_photo_ids, shows_attachments
from registry import queries as registry_queries
from registry.queries import EstateInfo


def _visible(p: Principal, street: Any, community: Any, company: Any) -> ColumnElement[bool]:
    return in_scope(p, street=street, community=community, company=company)


def _latest_scores(month: Month) -> Select[EstateScore]:
    newest = select(col(EstateScore.estate_id), func.max(col(EstateScore.version)).label("version")).where(col(EstateScore.month) == str(month)).group_by(col(EstateScore.estate_id)).subquery()
    return select(EstateScore).join(newest, and_(newest.c.estate_id == EstateScore.estate_id, newest.c.version == EstateScore.version)).where(col(EstateScore.month) == str(month))


# The public queries of the assessment (for subsidies, reports and whatever pays or reports on scores)

CHUNK = 900  # ids per IN (...) list: under SQLite's bound-parameter limit


@dataclass(frozen=True)
class ScoreVersion:
    """One version of an estate's month score, as the packages above read it (`result`: the breakdown)."""

    id: int
    estate_id: int
    community_id: int
    street_id: int
    company_id: int | None
    month: str
    version: int
    score_centi: int | None
    grade: str
    vetoed: bool
    rules_sha256: str
    inputs_sha256: str
    computed_at: datetime
    reason: str
    result: dict[str, Any]


@dataclass(frozen=True)
class OpinionInfo:
    """The committee's opinion of an estate's month (its latest revision)."""

    id: int
    estate_id: int
    month: str
    revision: int
    rating: int
    satisfied: int | None
    answered: int | None
    given_by: str = ""  # who gave it (an actor label: documents name the person by name and post)


@dataclass(frozen=True)
class VetoInfo:
    id: int
    estate_id: int
    street_id: int
    month: str
    reason_code: str
    explanation: str
    automatic: bool
    state: str
    review_reason: str | None
    cast_by: str = ""  # who cast it and who reviewed it (actor labels)
    reviewed_by: str | None = None


def _score_version(s: EstateScore) -> ScoreVersion:
    return ScoreVersion(
        id=s.id or 0, estate_id=s.estate_id, community_id=s.community_id, street_id=s.street_id, company_id=s.company_id, month=s.month,
        version=s.version, score_centi=s.score_centi, grade=s.grade, vetoed=s.vetoed, rules_sha256=s.rules_sha256,
        inputs_sha256=s.inputs_sha256, computed_at=s.computed_at, reason=s.reason, result=s.result,
    )


async def current_scores(session: AsyncSession, month: Month, estate_ids: Collection[int] | None = None) -> dict[int, ScoreVersion]:
    """The current (newest) version of each estate's score for `month` (of `estate_ids`, or every scored estate), by
    estate. An estate never scored that month is absent."""
    if estate_ids is None:
        return {s.estate_id: _score_version(s) for s in (await session.execute(_latest_scores(month))).scalars()}
    found: dict[int, ScoreVersion] = {}
    ordered = sorted(set(estate_ids))
    for start in range(0, len(ordered), CHUNK):
        part = ordered[start : start + CHUNK]
        found.update({s.estate_id: _score_version(s) for s in (await session.execute(_latest_scores(month).where(col(EstateScore.estate_id).in_(part)))).scalars()})
    return found


async def score_version(session: AsyncSession, score_id: int) -> ScoreVersion | None:
    """One score version by its id (whatever its age), or None."""
    row = await session.get(EstateScore, score_id)
    return _score_version(row) if row else None


async def open_appeal_windows(session: AsyncSession, month: Month, today: date) -> dict[int, date | None]:
    """The streets whose `month` is published and not locked with its appeal window still open on `today` (street →
    last day to appeal; None when no window was set): where a company may still appeal a score of that month."""
    query = select(AssessmentMonth).where(col(AssessmentMonth.month) == str(month), col(AssessmentMonth.state) == "computed")
    return {m.street_id: m.appeal_until for m in (await session.execute(query)).scalars() if m.appeal_until is None or today <= m.appeal_until}


async def locked_streets(session: AsyncSession, month: Month) -> set[int]:
    """The streets that locked `month`: nothing of their month changes any more."""
    query = select(col(AssessmentMonth.street_id)).where(col(AssessmentMonth.month) == str(month), col(AssessmentMonth.state) == "locked")
    return set((await session.execute(query)).scalars())


async def locked_months(session: AsyncSession, street_id: int) -> set[str]:
    """The months a street locked ("2026-10"): their evidence stays as it was judged."""
    query = select(col(AssessmentMonth.month)).where(col(AssessmentMonth.street_id) == street_id, col(AssessmentMonth.state) == "locked")
    return set((await session.execute(query)).scalars())


async def street_month_counts(session: AsyncSession, street_id: int, month: Month) -> tuple[int, int]:
    """(estates with a current score of the street's month, of them scored): an estate without any evidence that
    month has a row without a score."""
    rows = list((await session.execute(_latest_scores(month).where(col(EstateScore.street_id) == street_id))).scalars())
    return len(rows), sum(1 for s in rows if s.score_centi is not None)


async def pending_veto_estates(session: AsyncSession, month: Month) -> set[int]:
    """The estates with a veto of `month` still waiting for the street's review."""
    query = select(col(Veto.estate_id)).where(col(Veto.month) == str(month), col(Veto.state) == "pending")
    return set((await session.execute(query)).scalars())


async def opinion_of(session: AsyncSession, estate_id: int, month: Month) -> OpinionInfo | None:
    """The committee's opinion of the estate's month, its latest revision, or None."""
    query = select(CommitteeOpinion).where(col(CommitteeOpinion.estate_id) == estate_id, col(CommitteeOpinion.month) == str(month)).order_by(col(CommitteeOpinion.revision).desc())
    o = (await session.execute(query)).scalars().first()
    return OpinionInfo(o.id or 0, o.estate_id, o.month, o.revision, o.rating, o.satisfied, o.answered, o.given_by) if o else None


async def vetoes_of(session: AsyncSession, estate_id: int, month: Month) -> list[VetoInfo]:
    """Every veto case of the estate's month, in the order they were opened."""
    query = select(Veto).where(col(Veto.estate_id) == estate_id, col(Veto.month) == str(month)).order_by(col(Veto.id))
    return [
        VetoInfo(v.id or 0, v.estate_id, v.street_id, v.month, v.reason_code, v.explanation, v.automatic, v.state, v.review_reason, v.cast_by, v.reviewed_by)
        for v in (await session.execute(query)).scalars()
    ]


def _month_table(
    actor: Principal, month: Month, street_id: int | None, community_id: int | None, company_id: int | None
) -> Select[EstateScore, int | None, int | None]:
    """The current scores of a month within the actor's scope, with their stored ranks, in the table's order:
    by rank in the district (unscored last), then by estate code."""
    query = (
        select(EstateScore, col(ScoreRank.rank_in_street), col(ScoreRank.rank_in_district))
        .join(ScoreRank, col(ScoreRank.score_id) == col(EstateScore.id))
        .where(col(ScoreRank.month) == str(month), _visible(actor, EstateScore.street_id, EstateScore.community_id, EstateScore.company_id))
        .order_by(col(ScoreRank.rank_in_district).is_(None), col(ScoreRank.rank_in_district), registry_queries.code_of_estate(EstateScore.estate_id))
    )
    if street_id:
        query = query.where(col(ScoreRank.street_id) == street_id)
    if community_id:
        query = query.where(col(EstateScore.community_id) == community_id)
    if company_id:
        query = query.where(col(EstateScore.company_id) == company_id)
    return query


async def month_scores(
    session: AsyncSession,
    actor: Principal,
    month: Month,
    *,
    street_id: int | None = None,
    community_id: int | None = None,
    company_id: int | None = None,
    paging: PageRequest | None = None,
) -> list[schemas.ScoreOut]:
    """The current score of every estate in scope for a month (one page of them when `paging` is given), with its
    rank in its street and in the district as stored when the month was computed (ranks are over every published
    estate, whoever asks; an unscored estate has none)."""
    query = _month_table(actor, month, street_id, community_id, company_id)
    if paging is not None:
        query = query.limit(paging.page_size).offset(paging.offset)
    rows = (await session.execute(query)).all()
    estates = await registry_queries.estates(session, {s.estate_id for s, _, _ in rows})
    return [score_out(s, estates[s.estate_id], in_street, in_district, detail=False) for s, in_street, in_district in rows]


async def count_month_scores(
    session: AsyncSession, actor: Principal, month: Month, *, street_id: int | None = None, community_id: int | None = None, company_id: int | None = None
) -> int:
    """How many rows month_scores lists without paging."""
    query = _month_table(actor, month, street_id, community_id, company_id).order_by(None)
    return int((await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one())


async def month_companies(session: AsyncSession, actor: Principal, month: Month) -> set[int]:
    """The companies of the month's current scores within scope (the month table's company filter)."""
    query = _month_table(actor, month, None, None, None).order_by(None).subquery()
    return {c for c in (await session.execute(select(query.c.company_id).distinct())).scalars() if c is not None}


def score_out(s: EstateScore, estate: EstateInfo, street_rank: int | None, district_rank: int | None, *, detail: bool) -> schemas.ScoreOut:
    return schemas.ScoreOut(
        id=s.id or 0,
        estate_id=s.estate_id,
        estate_code=estate.code,
        estate_name=estate.name,
        community_id=s.community_id,
        street_id=s.street_id,
        company_id=s.company_id,
        month=s.month,
        version=s.version,
        score=None if s.score_centi is None else f"{s.score_centi // 100}.{s.score_centi % 100:02d}",
        grade=s.grade,
        vetoed=s.vetoed,
        rules_sha256=s.rules_sha256,
        inputs_sha256=s.inputs_sha256,
        computed_at=s.computed_at,
        reason=s.reason,
        rank_in_street=street_rank,
        rank_in_district=district_rank,
        result=s.result if detail else None,
    )


async def score_versions(session: AsyncSession, actor: Principal, estate_id: int, month: Month) -> list[schemas.ScoreOut]:
    """Every version of an estate's month score, newest first, each with its full breakdown."""
    rows = list(
        (
            await session.execute(
                select(EstateScore)
                .where(col(EstateScore.estate_id) == estate_id, col(EstateScore.month) == str(month), _visible(actor, EstateScore.street_id, EstateScore.community_id, EstateScore.company_id))
                .order_by(col(EstateScore.version).desc())
            )
        ).scalars()
    )
    if not rows:
        raise NotFound("score of estate", f"{estate_id} for {month}")
    estate = (await registry_queries.estates(session, [estate_id]))[estate_id]
    stored = (
        await session.execute(
            select(col(ScoreRank.score_id), col(ScoreRank.rank_in_street), col(ScoreRank.rank_in_district)).where(col(ScoreRank.estate_id) == estate_id, col(ScoreRank.month) == str(month))
        )
    ).first()
    street_rank, district_rank = (stored[1], stored[2]) if stored is not None and stored[0] == rows[0].id else (None, None)
    return [score_out(s, estate, street_rank if n == 0 else None, district_rank if n == 0 else None, detail=True) for n, s in enumerate(rows)]


def _visible_vetoes(p: Principal) -> ColumnElement[bool]:
    return _visible(p, Veto.street_id, Veto.community_id, Veto.company_id)


def _visible_appeals(p: Principal) -> ColumnElement[bool]:
    return _visible(p, Appeal.street_id, registry_queries.community_of_estate(Appeal.estate_id), Appeal.company_id)


@shows_attachments
def case_photos(p: Principal) -> list[Select[Any]]:
    """Whoever may see a veto sees its photos, and for an automatic case its defect's photos; whoever may see an
    appeal sees its photos and those of the defect it contests (the attachment rule of inspections.scope follows
    these)."""
    vetoed = select(col(VetoEvidence.attachment_id)).join(Veto, col(Veto.id) == VetoEvidence.veto_id).where(_visible_vetoes(p))
    automatic = select(col(Veto.source_defect_id)).where(col(Veto.source_defect_id).is_not(None), _visible_vetoes(p))
    appealed = select(col(AppealEvidence.attachment_id)).join(Appeal, col(Appeal.id) == AppealEvidence.appeal_id).where(_visible_appeals(p))
    contested = select(col(Appeal.defect_id)).where(col(Appeal.defect_id).is_not(None), _visible_appeals(p))
    return [vetoed, *defect_photo_ids(automatic), appealed, *defect_photo_ids(contested)]


async def _photos_of_cases(session: AsyncSession, case_column: Any, attachment_column: Any, case_ids: list[int]) -> dict[int, list[int]]:
    """The photos attached to each case (veto or appeal), by case id, in upload order."""
    attached: dict[int, list[int]] = {}
    if case_ids:
        for case_id, attachment_id in (await session.execute(select(case_column, attachment_column).where(case_column.in_(case_ids)))):
            attached.setdefault(case_id, []).append(attachment_id)
    return {case_id: sorted(ids) for case_id, ids in attached.items()}


async def veto_rows(session: AsyncSession, vetoes: list[Veto]) -> list[schemas.VetoOut]:
    evidence = await _photos_of_cases(session, VetoEvidence.veto_id, VetoEvidence.attachment_id, [v.id or 0 for v in vetoes])
    defects = await defect_evidence(session, [v.source_defect_id for v in vetoes if v.source_defect_id is not None])
    complaints: dict[int, list[int]] = {}
    if vetoes:
        for veto_id, complaint_id in await session.execute(
            select(col(VetoComplaint.veto_id), col(VetoComplaint.complaint_id)).where(col(VetoComplaint.veto_id).in_([v.id or 0 for v in vetoes])).order_by(col(VetoComplaint.complaint_id))
        ):
            complaints.setdefault(veto_id, []).append(complaint_id)
    reasons = VETO_REASONS | AUTOMATIC_VETO_REASONS
    out = []
    for v in vetoes:
        own = evidence.get(v.id or 0, [])
        source = defects.get(v.source_defect_id) if v.source_defect_id is not None else None
        out.append(
            schemas.VetoOut(
                id=v.id or 0, estate_id=v.estate_id, community_id=v.community_id, street_id=v.street_id, company_id=v.company_id, month=v.month,
                reason=v.reason_code, reason_text=reasons.get(v.reason_code, v.reason_code), explanation=v.explanation, automatic=v.automatic,
                source_defect_id=v.source_defect_id, state=v.state, cast_at=v.cast_at, cast_by=v.cast_by, review_due_on=v.review_due_on,
                review_reason=v.review_reason, reviewed_at=v.reviewed_at, reviewed_by=v.reviewed_by, evidence_photo_ids=own, complaint_ids=complaints.get(v.id or 0, []),
                evidence=[evidence_photo(a, "veto") for a in own] + (source.photos if source else []),
                source_defect=source,
            )
        )
    return out


async def list_vetoes(session: AsyncSession, actor: Principal, paging: PageRequest, *, month: Month | None, state: str | None) -> tuple[list[schemas.VetoOut], int]:
    query = select(Veto).where(_visible_vetoes(actor)).order_by(col(Veto.id).desc())
    if month:
        query = query.where(col(Veto.month) == str(month))
    if state:
        query = query.where(col(Veto.state) == state)
    rows, total = await fetch_page(session, query, paging)
    return await veto_rows(session, rows), total


async def appeal_rows(session: AsyncSession, appeals: list[Appeal]) -> list[schemas.AppealOut]:
    attached = await _photos_of_cases(session, AppealEvidence.appeal_id, AppealEvidence.attachment_id, [a.id or 0 for a in appeals])
    defects = await defect_evidence(session, [a.defect_id for a in appeals if a.defect_id is not None])
    out = []
    for a in appeals:
        own = attached.get(a.id or 0, [])
        defect = defects.get(a.defect_id) if a.defect_id is not None else None
        out.append(
            schemas.AppealOut(
                id=a.id or 0, estate_id=a.estate_id, street_id=a.street_id, company_id=a.company_id, month=a.month, defect_id=a.defect_id, reason=a.reason,
                state=a.state, filed_at=a.filed_at, filed_by=a.filed_by, answer=a.answer, answered_at=a.answered_at, answered_by=a.answered_by,
                defect=defect, evidence_photo_ids=own, evidence=[evidence_photo(p, "appeal") for p in own] + (defect.photos if defect else []),
            )
        )
    return out


async def list_appeals(session: AsyncSession, actor: Principal, paging: PageRequest, *, month: Month | None, state: str | None) -> tuple[list[schemas.AppealOut], int]:
    query = select(Appeal).where(_visible_appeals(actor)).order_by(col(Appeal.id).desc())
    if month:
        query = query.where(col(Appeal.month) == str(month))
    if state:
        query = query.where(col(Appeal.state) == state)
    rows, total = await fetch_page(session, query, paging)
    return await appeal_rows(session, rows), total


async def list_opinions(session: AsyncSession, actor: Principal, paging: PageRequest, *, month: Month | None, estate_id: int | None) -> tuple[list[schemas.OpinionOut], int]:
    street_of = registry_queries.street_of_community(CommitteeOpinion.community_id)
    # A company reads the rating in its score's breakdown, not the committee's opinion records.
    visible = _visible(actor, street_of, CommitteeOpinion.community_id, None)
    query = select(CommitteeOpinion).where(visible).order_by(col(CommitteeOpinion.id).desc())
    if month:
        query = query.where(col(CommitteeOpinion.month) == str(month))
    if estate_id:
        query = query.where(col(CommitteeOpinion.estate_id) == estate_id)
    rows, total = await fetch_page(session, query, paging)
    return [opinion_out(o) for o in rows], total


def opinion_out(o: CommitteeOpinion) -> schemas.OpinionOut:
    return schemas.OpinionOut(
        id=o.id or 0, client_id=o.client_id, estate_id=o.estate_id, month=o.month, revision=o.revision, rating=o.rating,
        satisfied=o.satisfied, answered=o.answered, note=o.note, given_at=o.given_at, given_by=o.given_by,
    )


async def month_out(session: AsyncSession, actor: Principal, street_id: int, month: Month) -> schemas.MonthOut:
    if not (actor.scope is ScopeKind.DISTRICT or actor.street_id == street_id):
        raise NotFound("assessment month of street", street_id)
    state = (await session.execute(select(AssessmentMonth).where(col(AssessmentMonth.street_id) == street_id, col(AssessmentMonth.month) == str(month)))).scalar()
    vetoes = (await session.execute(select(func.count()).where(col(Veto.street_id) == street_id, col(Veto.month) == str(month), col(Veto.state) == "pending"))).scalar_one()
    appeals = (await session.execute(select(func.count()).where(col(Appeal.street_id) == street_id, col(Appeal.month) == str(month), col(Appeal.state) == "pending"))).scalar_one()
    return schemas.MonthOut(
        street_id=street_id, month=str(month), state=state.state if state else "open", published_at=state.published_at if state else None,
        appeal_until=state.appeal_until if state else None, computed_at=state.computed_at if state else None,
        locked_at=state.locked_at if state else None, locked_by=state.locked_by if state else None, pending_vetoes=vetoes, pending_appeals=appeals,
    )


async def score_history(session: AsyncSession, actor: Principal, months: list[Month], estate_ids: Collection[int] | None = None) -> dict[int, dict[str, int | None]]:
    """Each visible estate's current score (in hundredths, None when unscored or vetoed) per month: the trend line
    (of `estate_ids` only when given: the estates of one page of the month table)."""
    newest = (
        select(col(EstateScore.estate_id), col(EstateScore.month), func.max(col(EstateScore.version)).label("version"))
        .where(col(EstateScore.month).in_([str(m) for m in months]))
        .where(col(EstateScore.estate_id).in_(sorted(estate_ids)) if estate_ids is not None else true())
        .group_by(col(EstateScore.estate_id), col(EstateScore.month))
        .subquery()
    )
    rows = await session.execute(
        select(col(EstateScore.estate_id), col(EstateScore.month), col(EstateScore.score_centi), col(EstateScore.vetoed))
        .join(newest, and_(newest.c.estate_id == EstateScore.estate_id, newest.c.month == EstateScore.month, newest.c.version == EstateScore.version))
        .where(_visible(actor, EstateScore.street_id, EstateScore.community_id, EstateScore.company_id))
    )
    history: dict[int, dict[str, int | None]] = {}
    for estate_id, month, score_centi, vetoed in rows.all():
        history.setdefault(estate_id, {})[month] = None if vetoed else score_centi
    return history
