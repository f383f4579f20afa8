"""Request and response bodies of delivery: projects and indicators, delegations and answers, teams, residents
served, activities and progress."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from community.calls.schemas import Category, ClientId
from foundation.schemas import Id, Strict
from foundation.text import ONE_LINE_NONBLANK, PRINTABLE

Title = Annotated[str, msgspec.Meta(min_length=2, max_length=200, pattern=ONE_LINE_NONBLANK)]
Place = Annotated[str, msgspec.Meta(min_length=2, max_length=200, pattern=ONE_LINE_NONBLANK)]
PersonName = Annotated[str, msgspec.Meta(min_length=2, max_length=30, pattern=ONE_LINE_NONBLANK, description="The resident's name only: no phone, address or ID number")]


class Kind(StrEnum):
    EXECUTE = "execute"  # 委托执行
    ASSIST = "assist"  # 协助


class Measure(StrEnum):
    SESSIONS = "sessions"  # 场次: each activity counts one
    ATTENDANCES = "attendances"  # 人次: each activity counts its participants


class ConsentBy(StrEnum):
    SELF = "self"  # 本人
    GUARDIAN = "guardian"  # 监护人或家属


class IndicatorIn(Strict):
    name: Annotated[str, msgspec.Meta(min_length=2, max_length=100, pattern=ONE_LINE_NONBLANK)]
    measure: Measure
    target: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


class ProjectIn(Strict):
    """A project to deliver: a signed contract (contract_id), or one the street or district runs itself (title,
    starts_on, ends_on; street_id for the district's administrator acting for a street)."""

    target_group: Category
    indicators: Annotated[list[IndicatorIn], msgspec.Meta(min_length=1, max_length=20)]
    contract_id: Id | None = None
    title: Title | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    street_id: Id | None = None


class IndicatorOut(msgspec.Struct):
    number: int
    name: str
    measure: str
    target: int
    achieved: int
    share: str  # achieved / target as decimal text


class ProjectOut(msgspec.Struct):
    id: int
    title: str
    target_group: str
    contract_id: int | None
    street_id: int | None
    organisation_id: int | None
    starts_on: date
    ends_on: date
    indicators: list[IndicatorOut]


class DelegationIn(Strict):
    community_id: Id
    kind: Kind


class AnswerIn(Strict):
    """The director's answer: accept, or decline with a reason."""

    accept: bool
    reason: Annotated[str, msgspec.Meta(max_length=2000, pattern=PRINTABLE)] = ""


class DelegationOut(msgspec.Struct):
    id: int
    project_id: int
    project_title: str
    community_id: int
    kind: str
    status: str
    delegated_at: datetime
    due_on: date
    answered_at: datetime | None
    decline_reason: str


class MemberIn(Strict):
    user_id: Id
    lead: bool = False


class TeamIn(Strict):
    """The whole team: those not listed any more leave it (with the reason given)."""

    members: Annotated[list[MemberIn], msgspec.Meta(min_length=1, max_length=20)]
    reason: Annotated[str, msgspec.Meta(max_length=2000, pattern=PRINTABLE)] = ""


class MemberOut(msgspec.Struct):
    user_id: int
    display_name: str
    specialism: str | None
    lead: bool
    assigned_at: datetime
    active_account: bool


class BeneficiaryIn(Strict):
    """A resident served, recorded with their (or their guardian's) consent; nothing but the name."""

    name: PersonName
    consent: bool
    consent_by: ConsentBy
    consent_on: date


class BeneficiaryOut(msgspec.Struct):
    id: int
    name: str
    consent_by: str
    consent_on: date


class ActivityVolunteerIn(Strict):
    volunteer_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    minutes: Annotated[int, msgspec.Meta(ge=1, le=720, description="How long the volunteer helped, in minutes")]


class ActivityIn(Strict):
    """An activity, from a phone: the client id makes a resend store it once. Participants are named residents
    (beneficiary_ids) or a head count, one of the two."""

    client_id: ClientId
    delegation_id: Id
    indicator_number: Annotated[int, msgspec.Meta(ge=1, le=20)]
    held_on: date
    place: Place
    head_count: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    # Plain integers: the OpenAPI document drops an item's bounds, so the range is checked as a rule (422), not here.
    beneficiary_ids: Annotated[list[int], msgspec.Meta(max_length=1000, description="Ids of residents recorded for this project, each 1 or more")] = []
    note: Annotated[str, msgspec.Meta(max_length=2000, pattern=PRINTABLE)] = ""
    # Volunteers who helped: members of a volunteer team of the community carrying the project out.
    volunteers: Annotated[list[ActivityVolunteerIn], msgspec.Meta(max_length=100)] = []
    # Photos of the activity the logger uploaded first (POST /api/attachments), at most [activity] max_photos.
    photo_ids: Annotated[list[int], msgspec.Meta(max_length=20, description="Ids of photos you uploaded (POST /api/attachments)")] = []


class ActivityOut(msgspec.Struct):
    id: int
    client_id: str
    delegation_id: int
    project_id: int
    indicator_number: int
    held_on: date
    place: str
    participants: int
    named: int
    volunteers: int  # how many volunteers helped
    volunteer_minutes: int  # their time together
    logged_by: str
    logged_at: datetime
    photo_ids: list[int] = []  # its photos (GET /api/attachments/{id}), for those who may see the project's progress

