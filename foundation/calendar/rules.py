"""China's official working-day calendar, pure: a year's holidays and make-up working days (调休), the calendar
that consults the district's records, the dated config files and the chinesecalendar package in that order, and
counting working days. Loading the years is service.py's job."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

log = logging.getLogger(__name__)


class CalendarSource(StrEnum):
    """Where a deadline's working days came from, from the most to the least authoritative."""

    DISTRICT = "district"  # recorded by the district's administrator (POST /api/calendar/years)
    CONFIG = "config"  # a dated file config/calendar/<year>.toml
    LIBRARY = "library"  # the chinesecalendar package
    FALLBACK = "fallback"  # nobody knew the year: Monday to Friday assumed (provisional)


SOURCE_ORDER = (CalendarSource.DISTRICT, CalendarSource.CONFIG, CalendarSource.LIBRARY, CalendarSource.FALLBACK)


class WorkCalendar(Protocol):
    def is_workday(self, day: date) -> bool:
        """Whether `day` is a working day; raises LookupError when the calendar does not know the year."""
        ...


class CalendarYearError(ValueError):
    """A year's holiday arrangement is wrong; the message names the day."""


@dataclass(frozen=True)
class CalendarYear:
    """One year of the State Council's arrangement: every day off of the holiday periods (weekends inside them
    included) and the make-up working days (调休上班) that fall on a Saturday or Sunday."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str  # the published notice it was copied from, e.g. 国办发明电〔2025〕7号

    def is_workday(self, day: date) -> bool:
        if day.year != self.year:
            raise LookupError(f"{day} is not in {self.year}")
        if day in self.holidays:
            return False
        return day in self.workdays or day.weekday() < 5


def calendar_year(year: int, holidays: Iterable[date], workdays: Iterable[date], source: str) -> CalendarYear:
    """A year's arrangement, checked: days of that year, none both off and working, a cited source."""
    holidays, workdays = frozenset(holidays), frozenset(workdays)
    if not 1949 < year < 2200:
        raise CalendarYearError(f"year {year} is out of range")
    for day in sorted(holidays | workdays):
        if day.year != year:
            raise CalendarYearError(f"{day} is not in {year}")
    both = sorted(holidays & workdays)
    if both:
        raise CalendarYearError(f"{both[0]} is listed both as a holiday and as a make-up working day")
    if not holidays:
        raise CalendarYearError(f"{year}: list the holidays (days off) of the year")
    if not source.strip():
        raise CalendarYearError(f"{year}: say where the arrangement was published (source)")
    return CalendarYear(year=year, holidays=holidays, workdays=workdays, source=source.strip())


def parse_calendar_year(text: str, where: str) -> CalendarYear:
    """A config/calendar/<year>.toml file: year, source, holidays = [dates], workdays = [dates]."""
    try:
        raw = tomllib.loads(text)
        year = int(raw["year"])
        holidays = [d if isinstance(d, date) else date.fromisoformat(str(d)) for d in raw["holidays"]]
        workdays = [d if isinstance(d, date) else date.fromisoformat(str(d)) for d in raw.get("workdays", [])]
        return calendar_year(year, holidays, workdays, str(raw["source"]))
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise CalendarYearError(f"{where}: {type(error).__name__}: {error}") from None


class OfficialCalendar:
    """China's official calendar with its make-up working days (调休): the years the district recorded, then the
    dated files of config/calendar/, then the `chinesecalendar` package. Pure once built: the caller loads the
    years (foundation/calendar/service.py)."""

    def __init__(self, district: Mapping[int, CalendarYear] | None = None, config: Mapping[int, CalendarYear] | None = None) -> None:
        self.district = dict(district or {})
        self.config = dict(config or {})

    def workday_and_source(self, day: date) -> tuple[bool, CalendarSource]:
        """Whether `day` is a working day and who said so; raises LookupError when nobody knows its year."""
        if day.year in self.district:
            return self.district[day.year].is_workday(day), CalendarSource.DISTRICT
        if day.year in self.config:
            return self.config[day.year].is_workday(day), CalendarSource.CONFIG
        import chinese_calendar

        try:
            return bool(chinese_calendar.is_workday(day)), CalendarSource.LIBRARY
        except NotImplementedError as error:
            raise LookupError(str(error)) from None

    def is_workday(self, day: date) -> bool:
        return self.workday_and_source(day)[0]


@dataclass(frozen=True)
class WorkingDay:
    day: date
    source: CalendarSource  # the least authoritative source of the days counted to reach it

    @property
    def provisional(self) -> bool:
        return self.source is CalendarSource.FALLBACK


def working_day_after(start: date, wanted: int, calendar: WorkCalendar) -> WorkingDay:
    """The `wanted`-th working day after `start` (not counted), with the least authoritative source consulted on
    the way (a year nobody knows is counted Monday to Friday: `fallback`, provisional)."""
    day = start
    weakest = 0
    counted = 0
    while counted < wanted:
        day += timedelta(days=1)
        try:
            if isinstance(calendar, OfficialCalendar):
                working, source = calendar.workday_and_source(day)
            else:
                working, source = calendar.is_workday(day), CalendarSource.LIBRARY
        except LookupError:
            working, source = day.weekday() < 5, CalendarSource.FALLBACK
        weakest = max(weakest, SOURCE_ORDER.index(source))
        counted += working
    if SOURCE_ORDER[weakest] is CalendarSource.FALLBACK:
        log.warning("official calendar unknown around %s: Monday to Friday assumed; record the year (POST /api/calendar/years)", day)
    return WorkingDay(day, SOURCE_ORDER[weakest])


def working_days_after(start: date, wanted: int, calendar: WorkCalendar) -> tuple[date, bool]:
    """The `wanted`-th working day after `start` (not counted), and whether a year unknown to the official calendar
    made it provisional (Monday to Friday assumed)."""
    found = working_day_after(start, wanted, calendar)
    return found.day, found.provisional
