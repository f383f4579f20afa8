"""Delivery's tables: projects with their indicators, delegations to committees and their answers, the social
workers' assignments, residents served (with consent), and activities with their participants."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, String, Text
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, surrogate_key


class DeliveryProject(SQLModel, table=True):
    """A project to deliver: an awarded call's contract, or one the street (or district: street_id empty) runs
    itself (contract_id empty)."""

    __tablename__ = "delivery_projects"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="project_ends_after_start"),)

    id: int = surrogate_key()
    contract_id: int | None = Field(default=None, foreign_key="call_contracts.id", unique=True)
    street_id: int | None = Field(default=None, foreign_key="streets.id", index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisations.id", index=True)
    title: str = Field(max_length=200)
    target_group: str = Field(max_length=20)  # the need category it serves (养老, 助残, …)
    starts_on: date
    ends_on: date
    created_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DeliveryIndicator(SQLModel, table=True):
    """An output the project promises: a number of sessions or of attendances."""

    __tablename__ = "delivery_indicators"
    __table_args__ = (CheckConstraint("target > 0", name="indicator_target_positive"),)

    project_id: int = Field(foreign_key="delivery_projects.id", primary_key=True)
    number: int = Field(primary_key=True)
    name: str = Field(max_length=100)
    measure: str = Field(sa_column=Column(String(20), nullable=False))  # sessions, attendances
    target: int


class Delegation(SQLModel, table=True):
    """A project delegated to one committee, to carry it out or to assist; answered once, within its deadline. One
    live (pending or accepted) delegation per project and community (`live_key`)."""

    __tablename__ = "delivery_delegations"

    id: int = surrogate_key()
    project_id: int = Field(foreign_key="delivery_projects.id", index=True)
    community_id: int = Field(foreign_key="communities.id", index=True)
    kind: str = Field(sa_column=Column(String(20), nullable=False))  # execute, assist
    status: str = Field(sa_column=Column(String(20), nullable=False))  # pending, accepted, declined, expired
    live_key: str | None = Field(default=None, max_length=40, unique=True)
    delegated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    delegated_by: str = Field(max_length=200)
    due_on: date
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    answered_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    decline_reason: str = Field(default="", max_length=2000)
    returned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))  # unanswered by its deadline


class Assignment(SQLModel, table=True):
    """A work-station social worker on a delegated project's team; ended when reassigned. One current assignment
    per person and delegation (`live_key`), one current lead per delegation (`lead_key`)."""

    __tablename__ = "delivery_assignments"

    id: int = surrogate_key()
    delegation_id: int = Field(foreign_key="delivery_delegations.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    lead: bool
    live_key: str | None = Field(default=None, max_length=40, unique=True)
    lead_key: str | None = Field(default=None, max_length=40, unique=True)
    assigned_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    assigned_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    end_reason: str = Field(default="", max_length=2000)


class Beneficiary(SQLModel, table=True):
    """A resident served by a project in one community, recorded with their consent and nothing more than a name
    (minimum personal data); seen only inside that community and that project."""

    __tablename__ = "delivery_beneficiaries"

    id: int = surrogate_key()
    project_id: int = Field(foreign_key="delivery_projects.id", index=True)
    community_id: int = Field(foreign_key="communities.id", index=True)
    name: str = Field(max_length=30)
    consent_by: str = Field(max_length=20)  # self, guardian
    consent_on: date
    recorded_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Activity(SQLModel, table=True):
    """An activity held for a project in one community, counted towards one indicator."""

    __tablename__ = "delivery_activities"
    __table_args__ = (CheckConstraint("participants > 0", name="activity_has_participants"),)

    id: int = surrogate_key()
    client_id: str = Field(max_length=36, unique=True)  # the phone's id of this submission: a retry stores one
    delegation_id: int = Field(foreign_key="delivery_delegations.id", index=True)
    project_id: int = Field(foreign_key="delivery_projects.id", index=True)
    community_id: int = Field(foreign_key="communities.id")
    indicator_number: int
    held_on: date
    place: str = Field(max_length=200)
    head_count: int | None = None  # given as a head count; else the named residents are the participants
    participants: int
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    logged_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    logged_by: str = Field(max_length=200)
    logged_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ActivityVolunteer(SQLModel, table=True):
    """A volunteer who helped at an activity, and for how long: a member of a volunteer team of the activity's
    community (community/volunteers)."""

    __tablename__ = "delivery_activity_volunteers"
    __table_args__ = (CheckConstraint("minutes > 0 AND minutes <= 720", name="activity_volunteer_minutes"),)

    activity_id: int = Field(foreign_key="delivery_activities.id", primary_key=True)
    volunteer_id: int = Field(foreign_key="volunteers.id", primary_key=True, index=True)
    minutes: int


class ActivityPhoto(SQLModel, table=True):
    """A photo of an activity, uploaded from the phone that logged it (inspections' attachments: the same checks,
    store and display copy); shown to those who may see the project's progress page."""

    __tablename__ = "delivery_activity_photos"

    activity_id: int = Field(foreign_key="delivery_activities.id", primary_key=True)
    attachment_id: int = Field(foreign_key="attachments.id", primary_key=True, index=True)


class ActivityParticipant(SQLModel, table=True):
    __tablename__ = "delivery_activity_participants"

    activity_id: int = Field(foreign_key="delivery_activities.id", primary_key=True)
    beneficiary_id: int = Field(foreign_key="delivery_beneficiaries.id", primary_key=True, index=True)
