"""The wristbands' tables: elders and their guardians (names, phones and notes sealed: foundation.sealing), the
consent, printed labels (the token kept only as a digest), binding, revocation, every scan, and finders' alerts
with each report a finder sent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, surrogate_key


class WristbandElder(SQLModel, table=True):
    """An elder registered at a home visit, with consent: only what finding them again needs."""

    __tablename__ = "wristband_elders"
    __table_args__ = (CheckConstraint("consent_by IN ('elder', 'guardian')", name="consent_by_known"),)

    id: int = surrogate_key()
    community_id: int = Field(foreign_key="communities.id", index=True)
    street_id: int = Field(foreign_key="streets.id")
    name_sealed: str = Field(max_length=400)
    care_notes_sealed: str = Field(default="", max_length=4000)
    photo_sha256: str | None = Field(default=None, max_length=64)  # sealed bytes in the blob store, for guardians
    consent_by: str = Field(sa_column=Column(String(10), nullable=False))
    consent_on: date
    consent_form_sha256: str = Field(max_length=64)  # the signed form's scan, sealed bytes in the blob store
    registered_by: str = Field(max_length=200)
    registered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class WristbandGuardian(SQLModel, table=True):
    """One of the elder's one to three guardian contacts; `link_digest` finds the guardian's own view by its link."""

    __tablename__ = "wristband_guardians"
    __table_args__ = (UniqueConstraint("elder_id", "position"), CheckConstraint("position BETWEEN 1 AND 3", name="position_range"))

    id: int = surrogate_key()
    elder_id: int = Field(foreign_key="wristband_elders.id", index=True)
    position: int
    name_sealed: str = Field(max_length=400)
    phone_sealed: str = Field(max_length=400)
    phone_tail: str = Field(max_length=4)
    relation: str = Field(max_length=20)
    link_digest: str = Field(max_length=64, unique=True)
    link_sealed: str = Field(max_length=200)  # the link itself, sealed: each alert's SMS carries it again


class WristbandSheet(SQLModel, table=True):
    """A print run of labels for a community (its PDF is an issued document)."""

    __tablename__ = "wristband_sheets"

    id: int = surrogate_key()
    community_id: int = Field(foreign_key="communities.id", index=True)
    labels: int
    printed_by: str = Field(max_length=200)
    printed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class WristbandLabel(SQLModel, table=True):
    """A printed label: an opaque random token (kept here only as its digest) and a short code read out on the
    phone; printed → bound to one elder → revoked (lost, damaged, elder withdrawn). Never bound twice."""

    __tablename__ = "wristband_labels"
    __table_args__ = (
        CheckConstraint("state IN ('printed', 'bound', 'revoked')", name="state_known"),
        CheckConstraint("(state = 'printed') = (elder_id IS NULL)", name="bound_to_an_elder"),
        Index("ix_wristband_labels_community_state", "community_id", "state"),
    )

    id: int = surrogate_key()
    community_id: int = Field(foreign_key="communities.id")
    sheet_id: int | None = Field(default=None, foreign_key="wristband_sheets.id", index=True)
    token_digest: str = Field(max_length=64, unique=True)
    short_code: str = Field(max_length=16, unique=True)
    state: str = Field(default="printed", sa_column=Column(String(10), nullable=False))
    elder_id: int | None = Field(default=None, foreign_key="wristband_elders.id", index=True)
    bound_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    bound_by: str | None = Field(default=None, max_length=200)
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_by: str | None = Field(default=None, max_length=200)
    revoke_reason: str | None = Field(default=None, max_length=20)


class WristbandScan(SQLModel, table=True):
    """A finder's phone opened the band's page: when, and what the band was then (no address, no device)."""

    __tablename__ = "wristband_scans"

    id: int = surrogate_key()
    label_id: int = Field(foreign_key="wristband_labels.id", index=True)
    elder_id: int | None = Field(default=None, foreign_key="wristband_elders.id", index=True)
    label_state: str = Field(max_length=10)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class WristbandAlert(SQLModel, table=True):
    """A finder asked for the guardians: raised → acknowledged → found. One open alert per elder: later reports join
    it, so the guardians are told once per alert."""

    __tablename__ = "wristband_alerts"
    __table_args__ = (
        CheckConstraint("state IN ('raised', 'acknowledged', 'found')", name="state_known"),
        Index("ix_wristband_alerts_community_state", "community_id", "state"),
    )

    id: int = surrogate_key()
    label_id: int = Field(foreign_key="wristband_labels.id", index=True)
    elder_id: int = Field(foreign_key="wristband_elders.id", index=True)
    community_id: int = Field(foreign_key="communities.id")
    state: str = Field(default="raised", sa_column=Column(String(14), nullable=False))
    raised_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    acknowledged_by: str | None = Field(default=None, max_length=200)
    found_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    found_by: str | None = Field(default=None, max_length=200)
    found_note: str | None = Field(default=None, max_length=500)


class WristbandAlertReport(SQLModel, table=True):
    """What one finder sent: an optional message and an optional place (the finder's browser shared it)."""

    __tablename__ = "wristband_alert_reports"

    id: int = surrogate_key()
    alert_id: int = Field(foreign_key="wristband_alerts.id", index=True)
    client_id: str = Field(max_length=64, unique=True)  # the form's own id: sending it twice stores one report
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    message: str = Field(default="", max_length=300)
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: int | None = None
