"""What the packages above (the monthly assessment) read of complaints: per estate and month, how many were
reported and upheld and how fast they were answered, and the residents' own satisfaction survey answers."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from complaints.rules import COUNTED_SATISFIED, median, minutes_between
from complaints.service import complaint_rules
from complaints.tables import Complaint, SurveyAnswer
from foundation.periods import Month


@dataclass(frozen=True)
class ComplaintMonth:
    """An estate's complaints reported in a month: 居民投诉 lines of the month's breakdown."""

    estate_id: int
    reported: int
    upheld: int  # turned into a rectification order: the service was at fault
    first_responses_late: int  # answered after the first-response deadline, or not yet answered past it
    median_first_response_minutes: int | None


async def month_complaints(session: AsyncSession, estate_ids: Collection[int], month: Month) -> dict[int, ComplaintMonth]:
    """Per estate of `estate_ids` with any complaint reported in `month`."""
    if not estate_ids:
        return {}
    rows = (
        await session.execute(
            select(Complaint).where(col(Complaint.estate_id).in_(list(estate_ids)), col(Complaint.month) == str(month)).order_by(col(Complaint.id))
        )
    ).scalars()
    grouped: dict[int, list[Complaint]] = {}
    for row in rows:
        grouped.setdefault(row.estate_id, []).append(row)
    found = {}
    for estate_id, complaints in grouped.items():
        responses = [m for c in complaints if (m := minutes_between(c.reported_at, c.first_response_at)) is not None]
        found[estate_id] = ComplaintMonth(
            estate_id=estate_id,
            reported=len(complaints),
            upheld=sum(1 for c in complaints if c.upheld),
            first_responses_late=sum(1 for c in complaints if c.first_response_at is not None and c.first_response_at > c.first_response_due_at),
            median_first_response_minutes=median(responses),
        )
    return found


@dataclass(frozen=True)
class SurveyMonth:
    """The households that answered an estate-month's satisfaction survey on the QR page, and how many were
    satisfied (满意 or 基本满意)."""

    estate_id: int
    satisfied: int
    answered: int


def survey_min_households() -> int:
    """From this many QR answers on, they are the estate-month's satisfaction figure (config/complaints.toml [survey])."""
    return complaint_rules().survey.min_households


async def month_survey(session: AsyncSession, estate_ids: Collection[int], month: Month) -> dict[int, SurveyMonth]:
    """Per estate of `estate_ids` with any QR answer for `month`."""
    if not estate_ids:
        return {}
    counted: dict[int, list[int]] = {}
    rows = await session.execute(
        select(col(SurveyAnswer.estate_id), col(SurveyAnswer.rating), func.count())
        .where(col(SurveyAnswer.estate_id).in_(list(estate_ids)), col(SurveyAnswer.month) == str(month))
        .group_by(col(SurveyAnswer.estate_id), col(SurveyAnswer.rating))
    )
    for estate_id, rating, n in rows:
        tally = counted.setdefault(estate_id, [0, 0])
        tally[1] += n
        if rating in {r.value for r in COUNTED_SATISFIED}:
            tally[0] += n
    return {estate_id: SurveyMonth(estate_id, satisfied, answered) for estate_id, (satisfied, answered) in counted.items()}


@dataclass(frozen=True)
class ComplaintEvidence:
    """A complaint as a veto case's evidence (no personal data: the phone stays with the complaint)."""

    id: int
    estate_id: int
    service_code: str
    month: str
    reported_at: datetime
    description: str


def cluster_size() -> int:
    """The fewest complaints of one kind at one estate within days that make a cluster (config/complaints.toml)."""
    return complaint_rules().cluster_count


async def complaints_as_evidence(session: AsyncSession, complaint_ids: Collection[int]) -> dict[int, ComplaintEvidence]:
    """The complaints of `complaint_ids` that exist, by id."""
    if not complaint_ids:
        return {}
    rows = (await session.execute(select(Complaint).where(col(Complaint.id).in_(list(complaint_ids))))).scalars()
    return {c.id: ComplaintEvidence(c.id, c.estate_id, c.service_code, c.month, c.reported_at, c.description) for c in rows}
