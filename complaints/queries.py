"""What the packages above (the monthly assessment) read of complaints: per estate and month, how many were
reported and upheld and how fast they were answered."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from complaints.rules import median, minutes_between
from complaints.tables import Complaint
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
