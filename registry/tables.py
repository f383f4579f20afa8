"""Registry tables: streets, communities, estates, companies, organisations, votes, ballots, contracts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, surrogate_key


class ManagementMode(StrEnum):
    COMPANY = "company"  # 物业企业
    OWNER_UNIT = "owner_unit"  # 产权单位
    SELF_MANAGED = "self_managed"  # 居民自治


class OrganisationKind(StrEnum):
    INSPECTION_FIRM = "inspection_firm"  # 第三方巡查机构
    SOCIAL_ORG = "social_org"  # 社会组织
    EVALUATION_FIRM = "evaluation_firm"  # 第三方评估机构 (its users sit on evaluation panels)


class Standing(StrEnum):
    """How a social organisation exists in law."""

    REGISTERED = "registered"  # 登记: registered with the civil affairs bureau
    FILED = "filed"  # 备案: a community organisation filed with its street


class VoteStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class VoteSource(StrEnum):
    """How a vote's ballots were counted."""

    BALLOTS = "ballots"  # household ballots recorded in this system
    PAPER = "paper"  # held and counted on paper before the district moved in; its count sheet is archived (纸质表决)


class Street(SQLModel, table=True):
    __tablename__ = "streets"

    id: int = surrogate_key()
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=50, unique=True)


class Community(SQLModel, table=True):
    __tablename__ = "communities"
    __table_args__ = (CheckConstraint("households >= 0", name="households_not_negative"),)

    id: int = surrogate_key()
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=50)
    street_id: int = Field(foreign_key="streets.id", index=True)
    households: int = 0


class Estate(SQLModel, table=True):
    """An old-estate area (旧楼区片) under quasi-property management."""

    __tablename__ = "estates"
    __table_args__ = (
        CheckConstraint("floor_area_centi_m2 > 0", name="floor_area_positive"),
        CheckConstraint("households >= 0", name="households_not_negative"),
        CheckConstraint("buildings >= 0", name="buildings_not_negative"),
        CheckConstraint("left_on IS NULL OR left_on >= entered_on", name="left_after_entered"),
    )

    id: int = surrogate_key()
    code: str = Field(max_length=30, unique=True)
    name: str = Field(max_length=100)
    address: str = Field(max_length=200)
    community_id: int = Field(foreign_key="communities.id", index=True)
    floor_area_centi_m2: int  # managed floor area in 0.01 m²
    households: int = 0
    buildings: int = 0
    management_mode: ManagementMode = Field(sa_column=Column(String(20), nullable=False))
    entered_on: date  # entered long-term management
    left_on: date | None = None  # left long-term management


class Company(SQLModel, table=True):
    """A property service company (物业企业)."""

    __tablename__ = "companies"

    id: int = surrogate_key()
    name: str = Field(max_length=100, unique=True)
    credit_code: str = Field(max_length=18, unique=True)
    legal_representative: str = Field(default="", max_length=50)
    phone: str = Field(default="", max_length=30)
    address: str = Field(default="", max_length=200)
    # The payee's account, printed on payment notices and the batch's spreadsheet (empty until the company gives it).
    bank_name: str = Field(default="", max_length=100)  # 开户行
    bank_account: str = Field(default="", max_length=40)  # 账号


class Organisation(SQLModel, table=True):
    """A third-party inspection firm or a social organisation."""

    __tablename__ = "organisations"

    id: int = surrogate_key()
    name: str = Field(max_length=100, unique=True)
    kind: OrganisationKind = Field(sa_column=Column(String(20), nullable=False))
    credit_code: str = Field(max_length=18, unique=True)
    phone: str = Field(default="", max_length=30)
    # A social organisation's particulars (empty for an inspection or evaluation firm).
    standing: Standing | None = Field(default=None, sa_column=Column(String(20)))
    legal_representative: str = Field(default="", max_length=50)
    address: str = Field(default="", max_length=200)


class OrganisationStreet(SQLModel, table=True):
    """A street a social organisation serves."""

    __tablename__ = "organisation_streets"

    organisation_id: int = Field(foreign_key="organisations.id", primary_key=True)
    street_id: int = Field(foreign_key="streets.id", primary_key=True, index=True)


class OrganisationStaff(SQLModel, table=True):
    """A member of an organisation's staff; `user_id` links one who also has an account (a panel member who works
    for a bidder is recused from its bid)."""

    __tablename__ = "organisation_staff"
    __table_args__ = (UniqueConstraint("organisation_id", "name", name="uq_organisation_staff_organisation_id_name"),)

    id: int = surrogate_key()
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    name: str = Field(max_length=50)
    position: str = Field(default="", max_length=50)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)


class SelectionVote(SQLModel, table=True):
    """A residents' vote to choose a property company (居民选), organised by the committee."""

    __tablename__ = "selection_votes"
    __table_args__ = (
        CheckConstraint("eligible_households > 0", name="has_households"),
        CheckConstraint("closes_on >= opens_on", name="closes_after_opening"),
        # A paper vote's archive number names one vote (an index: added to a table with rows referring to it, which
        # SQLite could not rebuild for a constraint).
        Index("uq_selection_votes_reference", "reference", unique=True),
    )

    id: int = surrogate_key()
    community_id: int = Field(foreign_key="communities.id", index=True)
    title: str = Field(max_length=200)
    eligible_households: int
    opens_on: date
    closes_on: date
    status: VoteStatus = Field(sa_column=Column(String(10), nullable=False))
    opened_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    closed_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    outcome: str | None = Field(default=None, max_length=20)
    ballots_cast: int | None = None
    winner_company_id: int | None = Field(default=None, foreign_key="companies.id")
    source: VoteSource = Field(default=VoteSource.BALLOTS, sa_column=Column(String(10), nullable=False, server_default=VoteSource.BALLOTS.value))
    reference: str | None = Field(default=None, max_length=40)  # a paper vote's archive number (档案编号)


class VoteEstate(SQLModel, table=True):
    __tablename__ = "vote_estates"

    vote_id: int = Field(foreign_key="selection_votes.id", primary_key=True)
    estate_id: int = Field(foreign_key="estates.id", primary_key=True, index=True)


class VoteCandidate(SQLModel, table=True):
    __tablename__ = "vote_candidates"

    vote_id: int = Field(foreign_key="selection_votes.id", primary_key=True)
    company_id: int = Field(foreign_key="companies.id", primary_key=True, index=True)
    ballots_received: int | None = None  # filled when the vote closes


class Ballot(SQLModel, table=True):
    """One household's ballot; a household votes once (unique per vote)."""

    __tablename__ = "ballots"
    __table_args__ = (
        UniqueConstraint("vote_id", "household"),
        # A ballot names a candidate of its own vote, or nobody (blank ballot).
        ForeignKeyConstraint(
            ["vote_id", "company_id"],
            ["vote_candidates.vote_id", "vote_candidates.company_id"],
            name="fk_ballots_candidate",
        ),
    )

    id: int = surrogate_key()
    vote_id: int = Field(foreign_key="selection_votes.id")
    household: str = Field(max_length=50)  # e.g. building-unit-room "3-2-101"
    company_id: int | None = None
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_by_user_id: int | None = Field(default=None, foreign_key="users.id")


class ServiceContract(SQLModel, table=True):
    """A service contract signed by the committee with the winner of a valid vote (社区签)."""

    __tablename__ = "service_contracts"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint(
            "terminated_on IS NULL OR (terminated_on >= starts_on AND terminated_on <= ends_on)",
            name="terminated_within_term",
        ),
        Index("ix_service_contracts_company_id", "company_id"),
    )

    id: int = surrogate_key()
    contract_number: str = Field(max_length=40, unique=True)
    community_id: int = Field(foreign_key="communities.id", index=True)
    company_id: int = Field(foreign_key="companies.id")
    vote_id: int = Field(foreign_key="selection_votes.id")
    signed_on: date
    starts_on: date
    ends_on: date
    signed_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    terminated_on: date | None = None  # last day in force when terminated early
    termination_reason: str | None = Field(default=None, max_length=2000)
    terminated_by_user_id: int | None = Field(default=None, foreign_key="users.id")


class ContractEstate(SQLModel, table=True):
    __tablename__ = "contract_estates"

    contract_id: int = Field(foreign_key="service_contracts.id", primary_key=True)
    estate_id: int = Field(foreign_key="estates.id", primary_key=True, index=True)


class EstateBoundary(SQLModel, table=True):
    """An estate's outline: a GeoJSON Polygon or MultiPolygon in WGS 84 longitude/latitude, checked by
    registry/boundaries.py, set (or replaced) by the district administrator. A patrol's position is measured against
    it (config/RULES.md, "Evidence integrity"). Kept beside the estate so that reading estates never loads it."""

    __tablename__ = "estate_boundaries"

    estate_id: int = Field(foreign_key="estates.id", primary_key=True)
    geometry: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    vertices: int
    area_m2: int
    set_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    set_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    set_by: str = Field(max_length=200)
