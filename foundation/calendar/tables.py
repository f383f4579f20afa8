"""The years of the official calendar the district recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, surrogate_key


class CalendarYearRecord(SQLModel, table=True):
    """A year of China's official holidays and make-up working days as the district recorded it; the newest row of
    a year is the one in force, the earlier ones kept."""

    __tablename__ = "calendar_years"

    id: int = surrogate_key()
    year: int = Field(index=True)
    holidays: list[str] = Field(sa_column=Column(JSON, nullable=False))  # ISO dates
    workdays: list[str] = Field(sa_column=Column(JSON, nullable=False))  # ISO dates
    source: str = Field(max_length=500)
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    recorded_by: str = Field(max_length=200)
