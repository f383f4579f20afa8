"""Request and response bodies of the calendar API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from foundation.calendar.rules import CalendarSource
from foundation.periods import FIRST_YEAR, LAST_YEAR
from foundation.schemas import Strict
from foundation.text import NONBLANK


class CalendarYearIn(Strict):
    year: Annotated[int, msgspec.Meta(ge=FIRST_YEAR, le=LAST_YEAR)]
    holidays: Annotated[list[date], msgspec.Meta(min_length=1, max_length=366, description="Every day off of the holiday periods, weekends inside them included")]
    source: Annotated[str, msgspec.Meta(min_length=4, max_length=500, pattern=NONBLANK, description="The published notice, e.g. its title and address on gov.cn")]
    workdays: Annotated[list[date], msgspec.Meta(max_length=60, description="Saturdays and Sundays that are make-up working days (调休上班)")] = msgspec.field(default_factory=list)


class CalendarYearOut(msgspec.Struct):
    year: int
    source: CalendarSource  # district or config
    published_by: str  # the notice the arrangement was copied from
    holidays: list[date]
    workdays: list[date]
    recorded_at: datetime | None
    recorded_by: str | None


class CalendarOut(msgspec.Struct):
    years: list[CalendarYearOut]  # recorded by the district or shipped in config/calendar/
    library_years: list[int]  # of last year to three years ahead, those the chinesecalendar package knows
