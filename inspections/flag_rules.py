"""Evidence-integrity flags, pure (config/RULES.md, "Evidence integrity"): what each check looks at and when it
raises a flag on a filed record. A flag never refuses a filing: it is shown to the street with its evidence. No
I/O, no ORM."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from foundation.clock import BUSINESS_TZ
from inspections.rules import PHASH_BANDS, IntegrityRules
from registry.boundaries import metres_outside


class FlagKind(StrEnum):
    LOCATION_MISSING = "location_missing"  # 未提供位置
    OUTSIDE_BOUNDARY = "outside_boundary"  # 位置在区片边界外
    EXIF_TIME_FAR = "exif_time_far"  # 照片拍摄时间与检查时间不符
    PHOTO_REUSED = "photo_reused"  # 照片（或近似照片）已用于其他记录


class FlagClearance(StrEnum):
    """Why a flag stopped being true after it was raised (the flag stays, marked cleared)."""

    BOUNDARY_CHANGED = "boundary_changed"  # the new boundary holds the position (within the tolerance)
    BOUNDARY_REMOVED = "boundary_removed"  # the estate has no boundary any more: nothing to measure
    REMEASURED = "remeasured"  # the new boundary still leaves it outside, by another distance: a new flag says it


class LocationMissing(StrEnum):
    """Why a record came without a position, as the phone said (or `not_sent` when it said nothing)."""

    REFUSED = "refused"  # the person refused the browser's permission
    UNAVAILABLE = "unavailable"  # no fix: no GPS signal, a timeout, or a browser without geolocation
    NOT_SENT = "not_sent"


class PhotoMatch(StrEnum):
    IDENTICAL = "identical"  # the same bytes (sha256)
    SIMILAR = "similar"  # the same picture by its perceptual hash


@dataclass(frozen=True)
class Position:
    latitude: float
    longitude: float


def location_flag(position: Position | None, missing: LocationMissing | None) -> dict[str, Any] | None:
    """The evidence of a location-missing flag, or None when the record has a position."""
    if position is not None:
        return None
    return {"reason": (missing or LocationMissing.NOT_SENT).value}


def boundary_flag(position: Position | None, boundary: Mapping[str, Any] | None, rules: IntegrityRules) -> dict[str, Any] | None:
    """The evidence of an outside-the-boundary flag: the position more than the tolerance outside the estate's
    boundary. No position or no boundary: nothing to measure."""
    if position is None or boundary is None:
        return None
    distance = metres_outside(boundary, position.latitude, position.longitude)
    if distance <= rules.boundary_tolerance_m:
        return None
    return {
        "distance_m": round(distance),
        "tolerance_m": rules.boundary_tolerance_m,
        "latitude": position.latitude,
        "longitude": position.longitude,
    }


def exif_instant(text: str | None) -> datetime | None:
    """A photo's EXIF time ("2026:10:12 09:31:05", the camera's clock, no zone) read as Beijing time; None when the
    photo has none or it is not a time."""
    if not text:
        return None
    try:
        return datetime.strptime(text.strip()[:19], "%Y:%m:%d %H:%M:%S").replace(tzinfo=BUSINESS_TZ)
    except ValueError:
        return None


def exif_time_flag(exif_taken_at: str | None, claimed: datetime, rules: IntegrityRules) -> dict[str, Any] | None:
    """The evidence of an EXIF-time flag: the photo's own time more than the tolerance from the record's claimed
    time. A photo without an EXIF time is not judged."""
    taken = exif_instant(exif_taken_at)
    if taken is None:
        return None
    gap = abs(taken - claimed)
    if gap <= rules.exif_tolerance:
        return None
    return {
        "exif_taken_at": exif_taken_at,
        "minutes_apart": int(gap / timedelta(minutes=1)),
        "tolerance_minutes": int(rules.exif_tolerance / timedelta(minutes=1)),
    }


def hash_bands(phash: str) -> list[tuple[int, int]]:
    """A 64-bit perceptual hash (16 hex digits) cut into PHASH_BANDS bands of 8 bits, as (band, value): two hashes
    at most PHASH_BANDS - 1 bits apart share at least one band (pigeonhole), so a lookup by band finds them all."""
    value = int(phash, 16)
    width = 64 // PHASH_BANDS
    return [(band, (value >> (band * width)) & ((1 << width) - 1)) for band in range(PHASH_BANDS)]


def hash_distance(first: str, second: str) -> int:
    """Bits in which two perceptual hashes differ."""
    return (int(first, 16) ^ int(second, 16)).bit_count()


@dataclass(frozen=True)
class FiledBy:
    """Who filed a record, and where and when: a photo on another record is reuse when any of these differs."""

    estate_id: int
    business_day: str
    user_id: int | None
    organisation_id: int | None


def reuse_differences(this: FiledBy, other: FiledBy) -> list[str]:
    """What sets another record using the same photo apart: another estate, another day, another filer. None of
    them (a second patrol of the same estate the same day by the same person) is not reuse."""
    differs = []
    if other.estate_id != this.estate_id:
        differs.append("estate")
    if other.business_day != this.business_day:
        differs.append("day")
    if (other.user_id, other.organisation_id) != (this.user_id, this.organisation_id):
        differs.append("filer")
    return differs
