"""Request and response bodies of volunteers, teams, needs, sign-ups, hours, pairings and certificates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from foundation.schemas import Id, Strict
from foundation.text import NONBLANK, ONE_LINE_NONBLANK, PRINTABLE
from people.schemas import Password, Username

ClientId = Annotated[str, msgspec.Meta(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", description="Generated on the phone; a retry sends the same one")]
RealName = Annotated[str, msgspec.Meta(min_length=2, max_length=40, pattern=ONE_LINE_NONBLANK, description="实名: the volunteer's real name")]
Phone = Annotated[str, msgspec.Meta(pattern=r"^1[3-9][0-9]{9}$", description="A mainland mobile number, 11 digits")]
Skill = Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=ONE_LINE_NONBLANK, description="One of GET /api/volunteers/options skills")]
Title = Annotated[str, msgspec.Meta(min_length=2, max_length=200, pattern=ONE_LINE_NONBLANK)]
Place = Annotated[str, msgspec.Meta(min_length=2, max_length=200, pattern=ONE_LINE_NONBLANK)]
TeamName = Annotated[str, msgspec.Meta(min_length=2, max_length=60, pattern=ONE_LINE_NONBLANK)]
Text = Annotated[str, msgspec.Meta(max_length=2000, pattern=PRINTABLE)]
Activity = Annotated[str, msgspec.Meta(min_length=2, max_length=400, pattern=NONBLANK, description="What was done")]
Household = Annotated[str, msgspec.Meta(min_length=2, max_length=100, pattern=ONE_LINE_NONBLANK, description="The household's address only, e.g. 5号楼2门301室")]
DecisionReason = Annotated[str, msgspec.Meta(max_length=500, pattern=PRINTABLE, description="Required when rejecting")]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=1440)]
Wanted = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
StartTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Beijing time of day, HH:MM, e.g. 09:00")]


class VolunteerOptionsOut(msgspec.Struct):
    skills: list[str]
    approval_days: int
    max_minutes: int
    log_within_days: int


class VolunteerIn(Strict):
    """The community's staff register a volunteer they have met (real name checked) and open their account."""

    real_name: RealName
    phone: Phone
    username: Username
    password: Password  # the first password, given to the volunteer in person
    skills: Annotated[list[Skill], msgspec.Meta(max_length=10)] = []


class VolunteerOut(msgspec.Struct):
    id: int
    user_id: int
    community_id: int
    real_name: str
    phone: str
    skills: list[str]
    teams: list[int]
    approved_minutes: int
    checked: bool  # real name checked in person by the community's social worker (an imported volunteer waits for it)


class VolunteerCheckIn(Strict):
    """The community's social worker met the imported volunteer and checked their real name; the volunteer's first
    password, given in person."""

    password: Password


class VolunteerTeamIn(Strict):
    name: TeamName
    leader_volunteer_id: Id | None = None  # a volunteer of the community leads it; none: the social worker registering it
    member_ids: Annotated[list[Id], msgspec.Meta(max_length=200)] = []


class VolunteerTeamOut(msgspec.Struct):
    id: int
    community_id: int
    name: str
    leader_user_id: int
    leader: str  # a volunteer leader's real name (for those who may see it) or the social worker's display name
    member_ids: list[int]


class VolunteerMembersIn(Strict):
    volunteer_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=200)]


class VolunteerNeedIn(Strict):
    title: Title
    place: Place
    held_on: date
    starts_at: StartTime
    minutes: Minutes
    wanted: Wanted
    team_id: Id
    call_id: Id | None = None  # the contracted community-service project (call) it serves
    pairing: bool = False  # 一对一包户: pair each volunteer signing up with a household
    description: Text = ""


class VolunteerNeedOut(msgspec.Struct):
    id: int
    community_id: int
    team_id: int | None
    call_id: int | None
    title: str
    place: str
    held_on: date
    starts_at: str  # HH:MM, Beijing time
    minutes: int
    wanted: int
    taken: int
    pairing: bool
    open: bool  # takes sign-ups now (not past, not full)
    description: str


class VolunteerSignupOut(msgspec.Struct):
    id: int
    need_id: int
    volunteer_id: int
    signed_up_at: datetime


class VolunteerHoursIn(Strict):
    client_id: ClientId
    served_on: date
    minutes: Minutes
    activity: Activity
    team_id: Id | None = None  # the team the hours were served with (one of the volunteer's); or
    need_id: Id | None = None  # the need they signed up for (its team)


class HoursDecisionIn(Strict):
    verdict: Literal["approve", "reject"]
    reason: DecisionReason = ""


class VolunteerHoursOut(msgspec.Struct):
    id: int
    client_id: str
    volunteer_id: int
    team_id: int
    need_id: int | None
    served_on: date
    minutes: int
    activity: str
    state: str
    logged_at: datetime
    due_on: date
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None
    activity_id: int | None = None  # the project activity whose record credited this time; None: logged by the volunteer


class VolunteerPairingIn(Strict):
    volunteer_id: Id
    household: Household
    need_id: Id | None = None


class VolunteerPairingOut(msgspec.Struct):
    id: int
    volunteer_id: int
    community_id: int
    need_id: int | None
    household: str
    started_on: date
    ended_on: date | None


class VolunteerCertificateOut(msgspec.Struct):
    code: str
    number: str
    title: str
    approved_minutes: int
    download: str  # the address that serves the same bytes again
