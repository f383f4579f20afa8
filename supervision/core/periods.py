"""Business periods as explicit values: a month `2026-10`, a quarter `2026-Q4` (Asia/Shanghai dates)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from supervision.core.clock import BUSINESS_TZ

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
QUARTER_PATTERN = r"^[0-9]{4}-Q[1-4]$"
_MONTH = re.compile(MONTH_PATTERN)
_QUARTER = re.compile(QUARTER_PATTERN)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        if not _MONTH.match(text):
            raise ValueError(f"{text!r} is not a month like 2026-10")
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
    def parse(cls, text: str) -> Quarter:
        if not _QUARTER.match(text):
            raise ValueError(f"{text!r} is not a quarter like 2026-Q4")
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
