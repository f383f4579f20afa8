"""Tables of complaints: the complaint (its tracking code kept only as a digest, the resident's phone kept apart from
what the company sees), its photos, what happened to it, and mediation meetings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, surrogate_key


class Complaint(SQLModel, table=True):
    """居民投诉: one report of a resident about an estate's service."""

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_community_state", "community_id", "state"),
        Index("ix_complaints_street_month", "street_id", "month"),
    )

    id: int = surrogate_key()
    # sha256 of the public tracking code (128 random bits): the code itself is shown once, to the resident.
    code_digest: str = Field(max_length=64, unique=True)
    channel: str = Field(sa_column=Column(String(20), nullable=False))
    service_code: str = Field(max_length=40)
    category: str = Field(default="", max_length=40)  # the checklist category of the service ('' for 其他)
    estate_id: int = Field(foreign_key="estates.id", index=True)
    community_id: int = Field(foreign_key="communities.id")
    street_id: int = Field(foreign_key="streets.id")
    company_id: int | None = Field(default=None, foreign_key="companies.id", index=True)  # under contract that day
    place: str = Field(default="", max_length=200)  # building, unit, or where
    latitude_micro: int | None = None
    longitude_micro: int | None = None
    description: str = Field(max_length=2000)
    phone: str = Field(default="", max_length=20)  # personal data: only the community's and street's staff see it
    reported_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    month: str = Field(max_length=7)  # month of the report (Beijing time)
    first_response_due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    resolution_due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    state: str = Field(sa_column=Column(String(20), nullable=False))
    first_response_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    defect_id: int | None = Field(default=None, foreign_key="defects.id", unique=True)  # the rectification order
    upheld: bool = False  # the service was at fault: an order was raised (or a mediation found the company at fault)
    answer: str = Field(default="", max_length=2000)  # 答复: what the resident reads on the tracking page
    closure_reason: str = Field(default="", max_length=60)
    referred_to: str = Field(default="", max_length=60)  # 转办: where a complaint not the service's duty went
    duplicate_of: int | None = Field(default=None, foreign_key="complaints.id")
    # Open311 media_url: a link the caller sent, shown to staff as a reference and never fetched (config/RULES.md).
    media_url: str = Field(default="", max_length=500, sa_column_kwargs={"server_default": ""})


class ComplaintPhoto(SQLModel, table=True):
    __tablename__ = "complaint_photos"

    complaint_id: int = Field(foreign_key="complaints.id", primary_key=True)
    attachment_id: int = Field(foreign_key="attachments.id", primary_key=True, index=True)


class ComplaintEvent(SQLModel, table=True):
    """What happened to a complaint, in order: reported, ordered, mediating, meeting, resolved, closed."""

    __tablename__ = "complaint_events"

    id: int = surrogate_key()
    complaint_id: int = Field(foreign_key="complaints.id", index=True)
    kind: str = Field(max_length=20)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor_user_id: int | None = Field(default=None, foreign_key="users.id")
    actor: str = Field(max_length=200)
    note: str = Field(default="", max_length=2000)


class MediationMeeting(SQLModel, table=True):
    """矛盾调处: one meeting of a complaint's mediation, who attended, what came of it, and the follow-up."""

    __tablename__ = "mediation_meetings"

    id: int = surrogate_key()
    complaint_id: int = Field(foreign_key="complaints.id", index=True)
    held_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    attendees: str = Field(max_length=600)  # 参加人员: names and sides, as the social worker writes them
    summary: str = Field(max_length=2000)  # 经过
    outcome: str = Field(default="", max_length=20)  # '' (to continue), agreed or failed
    follow_up: str = Field(default="", max_length=1000)  # 后续跟进
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    recorded_by: str = Field(max_length=200)


class SurveyCode(SQLModel, table=True):
    """调查码: a one-time code the committee hands to one household for one estate-month's satisfaction survey.
    Only a keyed digest of the code is kept; the code itself is printed once, on the batch's list."""

    __tablename__ = "survey_codes"
    __table_args__ = (Index("ix_survey_codes_estate_month", "estate_id", "month"),)

    id: int = surrogate_key()
    digest: str = Field(max_length=64, unique=True)  # HMAC-SHA256 of the code under the system's secret key
    estate_id: int = Field(foreign_key="estates.id")
    community_id: int = Field(foreign_key="communities.id")
    month: str = Field(max_length=7)
    issued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    issued_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class SurveyAnswer(SQLModel, table=True):
    """One household's answer to the month's satisfaction survey, given through the QR page with its code (nothing
    about the household is kept: the code is the only link, and a code answers once)."""

    __tablename__ = "survey_answers"
    __table_args__ = (Index("ix_survey_answers_estate_month", "estate_id", "month"),)

    id: int = surrogate_key()
    code_id: int = Field(foreign_key="survey_codes.id", unique=True)
    estate_id: int = Field(foreign_key="estates.id")
    month: str = Field(max_length=7)
    rating: str = Field(max_length=20)  # satisfied, fairly_satisfied, dissatisfied
    comment: str = Field(default="", max_length=500)
    answered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
