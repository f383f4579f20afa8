"""Business dates are in Asia/Shanghai; timestamps in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def utc_now() -> datetime:
    return datetime.now(UTC)


def business_today() -> date:
    return datetime.now(BUSINESS_TZ).date()
