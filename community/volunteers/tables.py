"""Tables of volunteers: the registry (real name and phone: personal data, never in the audit log), teams and their
members, needs with a sign-up count the database keeps within the number wanted, sign-ups, self-logged hours (the
database refuses a decision by the volunteer themselves) and one-to-one pairings with a household."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, surrogate_key


class Volunteer(SQLModel, table=True):
    """志愿者: one registered person of a community, signing in with their own account (role volunteer)."""

    __tablename__ = "volunteers"
    __table_args__ = (Index("ix_volunteers_community_id", "community_id"),)

    id: int = surrogate_key()
    user_id: int = Field(foreign_key="users.id", unique=True)
    community_id: int = Field(foreign_key="communities.id")
    street_id: int = Field(foreign_key="streets.id")
    real_name: str = Field(max_length=40)  # personal data: shown to the community's staff, the team leader, the volunteer
    phone: str = Field(max_length=20)  # personal data, as above
    skills: str = Field(default="", max_length=400)  # the chosen skills, joined by "、"
    registered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    registered_by: str = Field(max_length=200)
    # The real-name check in person (实名核验) by the community's social worker: at registration, or later for a
    # volunteer who moved in from a spreadsheet; until then the volunteer signs up for nothing and logs no hours.
    checked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    checked_by: str | None = Field(default=None, max_length=200)


class VolunteerTeam(SQLModel, table=True):
    """志愿服务队: a community's team, led by one of its volunteers or by the community's social worker."""

    __tablename__ = "volunteer_teams"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: int = surrogate_key()
    community_id: int = Field(foreign_key="communities.id", index=True)
    street_id: int = Field(foreign_key="streets.id")
    name: str = Field(max_length=60)
    leader_user_id: int = Field(foreign_key="users.id", index=True)  # a member volunteer's account or a social worker's
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(max_length=200)


class VolunteerTeamMember(SQLModel, table=True):
    __tablename__ = "volunteer_team_members"

    team_id: int = Field(foreign_key="volunteer_teams.id", primary_key=True)
    volunteer_id: int = Field(foreign_key="volunteers.id", primary_key=True, index=True)
    joined_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VolunteerNeed(SQLModel, table=True):
    """志愿需求: a day's service asking for a number of volunteers. `taken` counts the sign-ups; the CHECK keeps it
    within `wanted`, so two volunteers taking the last place cannot both have it."""

    __tablename__ = "volunteer_needs"
    __table_args__ = (
        CheckConstraint("wanted >= 1 AND taken >= 0 AND taken <= wanted", name="taken_within_wanted"),
        CheckConstraint("minutes >= 1", name="minutes_positive"),
        Index("ix_volunteer_needs_community_held_on", "community_id", "held_on"),
    )

    id: int = surrogate_key()
    community_id: int = Field(foreign_key="communities.id")
    street_id: int = Field(foreign_key="streets.id")
    team_id: int | None = Field(default=None, foreign_key="volunteer_teams.id")  # hours of this need go to this team
    call_id: int | None = Field(default=None, foreign_key="calls.id")  # the contracted project it serves, if any
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    place: str = Field(max_length=200)
    held_on: date
    starts_at: time
    minutes: int
    wanted: int
    taken: int = 0
    pairing: bool = False  # 一对一包户: each volunteer who signs up is paired with a household
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(max_length=200)


class VolunteerSignup(SQLModel, table=True):
    __tablename__ = "volunteer_signups"
    __table_args__ = (UniqueConstraint("need_id", "volunteer_id"),)

    id: int = surrogate_key()
    need_id: int = Field(foreign_key="volunteer_needs.id", index=True)
    volunteer_id: int = Field(foreign_key="volunteers.id", index=True)
    signed_up_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class VolunteerHours(SQLModel, table=True):
    """Hours a volunteer logged for themselves, waiting for the team leader's or social worker's answer. The
    volunteer's account is copied here so the database itself refuses a decision by that account."""

    __tablename__ = "volunteer_hours"
    __table_args__ = (
        CheckConstraint("minutes >= 1", name="minutes_positive"),
        CheckConstraint("state IN ('waiting', 'approved', 'rejected')", name="state_known"),
        CheckConstraint("decided_by_user_id IS NULL OR decided_by_user_id <> volunteer_user_id", name="not_decided_by_volunteer"),
        CheckConstraint("state <> 'rejected' OR reason IS NOT NULL", name="rejection_has_reason"),
        Index("ix_volunteer_hours_team_state", "team_id", "state"),
        UniqueConstraint("activity_id", "volunteer_id", name="uq_volunteer_hours_activity_id_volunteer_id"),
    )

    id: int = surrogate_key()
    client_id: str = Field(max_length=64, unique=True)  # a phone's retry carries the same one
    volunteer_id: int = Field(foreign_key="volunteers.id", index=True)
    volunteer_user_id: int = Field(foreign_key="users.id")
    community_id: int = Field(foreign_key="communities.id")
    team_id: int = Field(foreign_key="volunteer_teams.id")
    need_id: int | None = Field(default=None, foreign_key="volunteer_needs.id")
    served_on: date
    minutes: int
    activity: str = Field(max_length=400)
    state: str = Field(sa_column=Column(String(10), nullable=False))
    logged_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_on: date  # the approver's last day to answer
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    decided_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    decided_by: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=500)
    # The project activity (community/delivery) whose record credited this time; None when the volunteer logged it.
    activity_id: int | None = None


class VolunteerPairing(SQLModel, table=True):
    """一对一包户: a volunteer paired with one household (named by its address only). While it lasts, neither the
    volunteer nor the household has another pairing (partial unique indexes)."""

    __tablename__ = "volunteer_pairings"
    __table_args__ = (
        Index("uq_volunteer_pairings_volunteer_active", "volunteer_id", unique=True, sqlite_where=text("ended_on IS NULL"), postgresql_where=text("ended_on IS NULL")),
        Index("uq_volunteer_pairings_household_active", "community_id", "household", unique=True, sqlite_where=text("ended_on IS NULL"), postgresql_where=text("ended_on IS NULL")),
    )

    id: int = surrogate_key()
    volunteer_id: int = Field(foreign_key="volunteers.id")
    community_id: int = Field(foreign_key="communities.id")
    need_id: int | None = Field(default=None, foreign_key="volunteer_needs.id")
    household: str = Field(max_length=100)  # the address, e.g. "5号楼2门301室": no name, no phone
    started_on: date
    ended_on: date | None = None
    paired_by: str = Field(max_length=200)
