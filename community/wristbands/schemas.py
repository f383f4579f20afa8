"""The wristbands' inputs (from the pages' forms) and what the pages show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

import msgspec

from foundation.schemas import Strict
from foundation.text import ONE_LINE, ONE_LINE_NONBLANK

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=30, pattern=ONE_LINE_NONBLANK)]
Note = Annotated[str, msgspec.Meta(max_length=500)]


class GuardianIn(Strict):
    name: Name
    phone: Annotated[str, msgspec.Meta(min_length=7, max_length=20, pattern=ONE_LINE)]
    relation: Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=ONE_LINE)]


class ElderIn(Strict):
    name: Name
    consent_by: str  # elder or guardian
    consent_on: date
    guardians: list[GuardianIn]
    care_notes: Note = ""


class AlertIn(Strict):
    client_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9-]{8,64}$")]
    message: Annotated[str, msgspec.Meta(max_length=300)] = ""
    latitude: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    longitude: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    accuracy_m: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | None = None


@dataclass(frozen=True)
class FinderView:
    """All a finder's page shows: no name, address or phone of the elder or the guardians."""

    state: str  # printed, bound, revoked
    community_name: str
    office_phone: str
    emergency_phones: str


@dataclass(frozen=True)
class GuardianShown:
    id: int
    position: int
    name: str
    phone: str
    relation: str


@dataclass(frozen=True)
class ElderShown:
    id: int
    name: str
    care_notes: str
    consent_by: str
    consent_on: date
    guardians: list[GuardianShown]
    band_code: str | None
    band_state: str | None
    has_photo: bool


@dataclass(frozen=True)
class CommunityCounts:
    community_id: int
    community_name: str
    elders: int
    bands_issued: int
    bands_active: int
    labels_unused: int
    open_alerts: int


@dataclass(frozen=True)
class ReportShown:
    at: datetime
    message: str
    latitude: float | None
    longitude: float | None
    accuracy_m: int | None
