"""Elderly home care's tables: elders (the ID number sealed, its digest for finding the same person again), their
enrolments, the providers' contracts per street, the monthly vouchers (one per elder and month, a code each, paid
once) and the visits logged from phones (a client id each, so a retry stores one visit)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, surrogate_key


class CareElder(SQLModel, table=True):
    """An elder known to the community's elderly-care social worker: only what serving and paying needs."""

    __tablename__ = "care_elders"
    __table_args__ = (CheckConstraint("sex IN ('F', 'M')", name="sex_known"),)

    id: int = surrogate_key()
    community_id: int = Field(foreign_key="communities.id", index=True)
    street_id: int = Field(foreign_key="streets.id", index=True)
    name: str = Field(max_length=30)
    sex: str = Field(sa_column=Column(String(1), nullable=False))
    birth_date: date
    address: str = Field(max_length=120)  # within the community: building, unit, room
    phone: str = Field(max_length=20)  # the elder's or the family's
    category: str = Field(max_length=20)
    id_number_sealed: str = Field(max_length=200)  # foundation.sealing: opened only for the community's care worker
    id_number_digest: str = Field(max_length=64, unique=True)  # the same person is registered once
    id_number_tail: str = Field(max_length=4)  # what a masked ID number shows
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(max_length=200)


class CareEnrolment(SQLModel, table=True):
    """An elder enrolled with a provider from a day, with consent; stopped (moved, in hospital, died) on a day."""

    __tablename__ = "care_enrolments"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        Index("ix_care_enrolments_community_ends", "community_id", "ends_on"),
    )

    id: int = surrogate_key()
    elder_id: int = Field(foreign_key="care_elders.id", index=True)
    community_id: int = Field(foreign_key="communities.id")
    street_id: int = Field(foreign_key="streets.id")
    provider_id: int = Field(foreign_key="organisations.id", index=True)
    category: str = Field(max_length=20)
    starts_on: date
    ends_on: date | None = None
    stop_reason: str | None = Field(default=None, max_length=20)
    consent_by: str = Field(max_length=10)  # elder or guardian
    consent_on: date
    enrolled_by: str = Field(max_length=200)
    enrolled_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    stopped_by: str | None = Field(default=None, max_length=200)
    stopped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class CareContract(SQLModel, table=True):
    """A provider (a social organisation) under contract to serve a street's elders from one day to another."""

    __tablename__ = "care_contracts"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ends_after_start"), Index("ix_care_contracts_street_provider", "street_id", "provider_id"))

    id: int = surrogate_key()
    number: str = Field(max_length=40, unique=True)
    provider_id: int = Field(foreign_key="organisations.id")
    street_id: int = Field(foreign_key="streets.id")
    starts_on: date
    ends_on: date
    signed_by: str = Field(max_length=200)
    signed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CareVoucher(SQLModel, table=True):
    """An elder's voucher for a month: one per elder and month, a unique code, redeemed at most once."""

    __tablename__ = "care_vouchers"
    __table_args__ = (
        UniqueConstraint("elder_id", "month"),
        Index("ix_care_vouchers_month_community", "month", "community_id"),
        Index("ix_care_vouchers_month_provider", "month", "provider_id"),
        CheckConstraint("(redeemed_at IS NULL) = (redeemed_by IS NULL)", name="redeemed_by_someone"),
    )

    id: int = surrogate_key()
    code: str = Field(max_length=20, unique=True)
    month: str = Field(max_length=7)
    elder_id: int = Field(foreign_key="care_elders.id")
    enrolment_id: int = Field(foreign_key="care_enrolments.id", index=True)
    community_id: int = Field(foreign_key="communities.id")
    street_id: int = Field(foreign_key="streets.id")
    provider_id: int = Field(foreign_key="organisations.id")
    amount_fen: int
    issued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    redeemed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    redeemed_by: str | None = Field(default=None, max_length=200)
    redeemed_visits: int | None = None
    redeemed_minutes: int | None = None


class CareVisit(SQLModel, table=True):
    """A visit logged from the provider's phone: day, minutes, service, who confirmed it. Never edited."""

    __tablename__ = "care_visits"
    __table_args__ = (
        CheckConstraint("minutes > 0", name="minutes_positive"),
        Index("ix_care_visits_elder_month", "elder_id", "month"),
        Index("ix_care_visits_provider_month", "provider_id", "month"),
    )

    id: int = surrogate_key()
    client_id: str = Field(max_length=64, unique=True)
    fingerprint: str = Field(max_length=64)
    elder_id: int = Field(foreign_key="care_elders.id")
    enrolment_id: int = Field(foreign_key="care_enrolments.id")
    provider_id: int = Field(foreign_key="organisations.id")
    month: str = Field(max_length=7)
    visit_date: date
    minutes: int
    service: str = Field(max_length=20)
    confirmed_by: str = Field(max_length=10)  # elder or family
    note: str = Field(default="", max_length=500)
    photo_ids: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    filed_by: str = Field(max_length=200)
    filed_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    filed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
