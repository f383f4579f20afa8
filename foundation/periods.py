"""Business periods as explicit values: a month `2026-10`, a quarter `2026-Q4` (Asia/Shanghai dates).

Every period and date that enters from outside (API, pages, CLI, job runs) is read here, the one rule: a year from
FIRST_YEAR to LAST_YEAR, months 01-12, quarters Q1-Q4, days that exist in the calendar."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from foundation.clock import BUSINESS_TZ
from foundation.errors import InvalidInput

# The years the system works in: the scheme is recorded from 2000 on, and no record, deadline or run is planned
# past 2100. Dates outside are typing mistakes (0000, 9999) that would overflow the calendar arithmetic.
FIRST_YEAR = 2000
LAST_YEAR = 2100
_YEAR = r"(20[0-9]{2}|2100)"  # FIRST_YEAR..LAST_YEAR, for the OpenAPI document and clients (a unit test keeps them equal)
MONTH_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])$"
QUARTER_PATTERN = rf"^{_YEAR}-Q[1-4]$"
DATE_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
HOUR_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3])$"
# Any period a scheduled job works on: an hour, a day, a month or a quarter.
PERIOD_PATTERN = rf"^{_YEAR}-(Q[1-4]|(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]))?)?)$"
_MONTH = re.compile(MONTH_PATTERN)
_QUARTER = re.compile(QUARTER_PATTERN)
_DATE = re.compile(DATE_PATTERN)
_HOUR = re.compile(HOUR_PATTERN)
YEARS_ZH = f"年份须在 {FIRST_YEAR} 至 {LAST_YEAR} 之间"


class PeriodError(InvalidInput, ValueError):
    """A month, quarter, date or period that is malformed, not in the calendar, or outside the supported years.
    A ValueError too, so callers that parse and fall back keep working; unhandled, the web edge answers 400."""

    title = "Invalid period or date"
    title_zh = "日期或期间有误"


def _years(field: str | None) -> str:
    return f"{field + ': ' if field else ''}years {FIRST_YEAR} to {LAST_YEAR}"


def supported_year(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


def check_day(day: date, field: str | None = None) -> date:
    """A date (or the date of a time) inside the supported years; PeriodError otherwise."""
    if not supported_year(day.year):
        raise PeriodError(
            f"{field or 'the date'} {day.isoformat()} is outside the supported {_years(None)}",
            zh=f"日期 {day.isoformat()} 超出范围：{YEARS_ZH}",
            field=field,
        )
    return day


def parse_day(text: str, field: str | None = None) -> date:
    """A calendar date written 2026-10-12 that exists (not 2026-02-30) inside the supported years."""
    name = field or "the date"
    if not _DATE.fullmatch(text):
        raise PeriodError(f"{name} {text!r} is not a date like 2026-10-12 ({_years(None)})", zh=f"日期“{text}”有误，须形如 2026-10-12，{YEARS_ZH}", field=field)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{name} {text!r} is not a day of the calendar", zh=f"日期“{text}”不存在，请检查月份的天数", field=field) from None


def parse_instant(text: str, field: str | None = None) -> datetime:
    """An ISO 8601 time with its UTC offset (2026-10-12T09:30:00+08:00) inside the supported years."""
    name = field or "the time"
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{name} must be an ISO 8601 time with its offset, e.g. 2026-10-12T09:30:00+08:00", zh="时间有误，须形如 2026-10-12T09:30:00+08:00", field=field) from None
    if instant.tzinfo is None:
        raise PeriodError(f"{name} needs its UTC offset, e.g. +08:00", zh="时间须带时区，例如 +08:00", field=field)
    check_day(instant.date(), field)
    return instant


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str, field: str | None = None) -> Month:
        if not _MONTH.fullmatch(text):
            raise PeriodError(f"{field or 'the month'} {text!r} is not a month like 2026-10 ({_years(None)}, months 01-12)", zh=f"月份“{text}”有误，须形如 2026-10，{YEARS_ZH}", field=field)
        return cls(int(text[:4]), int(text[5:]))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def of_instant(cls, instant: datetime) -> Month:
        return cls.of(instant.astimezone(BUSINESS_TZ).date())

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    @property
    def days(self) -> int:
        return self.last_day.day

    @property
    def quarter(self) -> Quarter:
        return Quarter(self.year, (self.month - 1) // 3 + 1)

    @property
    def months_left_in_quarter(self) -> int:
        """This month and those after it in its quarter: 3 for January, 1 for March."""
        return 3 - (self.month - 1) % 3

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str, field: str | None = None) -> Quarter:
        if not _QUARTER.fullmatch(text):
            raise PeriodError(f"{field or 'the quarter'} {text!r} is not a quarter like 2026-Q4 ({_years(None)}, Q1-Q4)", zh=f"季度“{text}”有误，须形如 2026-Q4，{YEARS_ZH}", field=field)
        return cls(int(text[:4]), int(text[-1]))

    def __str__(self) -> str:
        return f"{self.year:04d}-Q{self.number}"

    @property
    def months(self) -> tuple[Month, Month, Month]:
        first = 3 * (self.number - 1) + 1
        return (Month(self.year, first), Month(self.year, first + 1), Month(self.year, first + 2))


def business_date(instant: datetime) -> date:
    """The Beijing-time calendar date of a UTC instant."""
    return instant.astimezone(BUSINESS_TZ).date()


def last_ended_quarter(instant: datetime) -> Quarter:
    """The latest quarter wholly over at `instant` (Beijing time)."""
    month = Month.of_instant(instant)
    return Month(month.year, 3 * (month.quarter.number - 1) + 1).previous().quarter


PERIOD_KINDS = ("hour", "day", "month", "quarter")
_EXAMPLES = {"hour": "2026-10-12T14", "day": "2026-10-12", "month": "2026-10", "quarter": "2026-Q4"}
_KIND_ZH = {"hour": "小时", "day": "日期", "month": "月份", "quarter": "季度"}


def parse_period(text: str, kind: str, field: str | None = "period") -> str:
    """A scheduled job's period of the kind it works on (an hour 2026-10-12T14, a day, a month or a quarter),
    checked like every other period; returned as given."""
    if kind == "quarter":
        Quarter.parse(text, field)
    elif kind == "month":
        Month.parse(text, field)
    elif kind == "day":
        parse_day(text, field)
    elif kind == "hour":
        if not _HOUR.fullmatch(text):
            raise PeriodError(f"{field} {text!r} is not an hour like {_EXAMPLES['hour']} ({_years(None)})", zh=f"时段“{text}”有误，须形如 {_EXAMPLES['hour']}，{YEARS_ZH}", field=field)
        parse_day(text[:10], field)
    else:
        raise ValueError(f"unknown kind of period {kind!r}")
    return text


_QUARTER_ZH = ("", "第一季度", "第二季度", "第三季度", "第四季度")


def period_zh(text: str) -> str:
    """A period as a Chinese reader writes it: 2026-Q3 → 2026年第三季度, 2026-10 → 2026年10月, 2026-10-12 →
    2026年10月12日; anything else (a year, an hour) as given."""
    if _QUARTER.fullmatch(text):
        return f"{text[:4]}年{_QUARTER_ZH[int(text[-1])]}"
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return f"{text[:4]}年{int(text[5:7])}月"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return f"{text[:4]}年{int(text[5:7])}月{int(text[8:10])}日"
    return text


def period_example(kind: str) -> str:
    return f"a {kind} like {_EXAMPLES[kind]}"


def period_kind_zh(kind: str) -> str:
    return _KIND_ZH[kind]
