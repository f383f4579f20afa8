"""Request and response bodies of needs, meetings, proposals and the catalogue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from community.needs.rules import Answer, MeetingBody
from foundation.periods import FIRST_YEAR, LAST_YEAR
from foundation.schemas import Id, Strict
from foundation.text import NONBLANK, ONE_LINE, ONE_LINE_NONBLANK, PRINTABLE
from inspections.schemas import ClientId

Title = Annotated[str, msgspec.Meta(min_length=2, max_length=200, pattern=ONE_LINE_NONBLANK)]
Text = Annotated[str, msgspec.Meta(max_length=4000, pattern=PRINTABLE)]
Minutes = Annotated[str, msgspec.Meta(min_length=5, max_length=8000, pattern=NONBLANK, description="会议记录: what was discussed and decided")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=ONE_LINE_NONBLANK)]
People = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Fen = Annotated[int, msgspec.Meta(ge=1, le=2_000_000_000, description="Integer fen (分)")]
Year = Annotated[int, msgspec.Meta(ge=FIRST_YEAR, le=LAST_YEAR)]
AnswerReason = Annotated[str, msgspec.Meta(max_length=2000, pattern=PRINTABLE)]


class NeedIn(Strict):
    client_id: ClientId  # a resend with the same id and body returns the need already recorded (200)
    title: Title
    category: Annotated[Label, msgspec.Meta(description="One of GET /api/community/needs/options categories")]
    households: Annotated[int, msgspec.Meta(ge=1, le=100_000, description="Households concerned")]
    source: Annotated[Label, msgspec.Meta(description="One of GET /api/community/needs/options sources (楼门长, 网格员, 走访, 会议, 来信)")]
    raised_on: date
    description: Text = ""


class NeedOut(msgspec.Struct):
    id: int
    client_id: str | None
    community_id: int
    street_id: int
    title: str
    description: str
    category: str
    households: int
    source: str
    raised_on: date
    state: str
    recorded_at: datetime
    recorded_by: str


class NeedOptionsOut(msgspec.Struct):
    categories: list[str]
    sources: list[str]
    quorum_share: str  # more than this share of members present
    majority_share: str  # more than this share of those present in favour
    answer_working_days: int


class VoteIn(Strict):
    need_id: Id
    in_favour: People
    against: People
    abstained: People = 0


class MeetingIn(Strict):
    client_id: ClientId
    body: MeetingBody
    held_on: date
    place: Title
    members: Annotated[int, msgspec.Meta(ge=1, le=10_000, description="The body's members")]
    present: People
    minutes: Minutes
    votes: Annotated[list[VoteIn], msgspec.Meta(min_length=1, max_length=50)]


class MeetingVoteOut(msgspec.Struct):
    need_id: int
    need_title: str
    in_favour: int
    against: int
    abstained: int
    passed: bool


class MeetingOut(msgspec.Struct):
    id: int
    client_id: str | None
    community_id: int
    body: str
    body_name: str
    held_on: date
    place: str
    members: int
    present: int
    minutes: str
    votes: list[MeetingVoteOut]
    recorded_at: datetime
    recorded_by: str


class ProposalIn(Strict):
    client_id: ClientId
    need_id: Id
    summary: Annotated[str, msgspec.Meta(min_length=5, max_length=4000, pattern=NONBLANK)]
    title: Annotated[str, msgspec.Meta(max_length=200, pattern=ONE_LINE)] = ""  # the need's title when empty
    budget_fen: Fen | None = None


class ProposalAnswerIn(Strict):
    answer: Answer
    reason: AnswerReason = ""  # required to return a proposal
    merge_into_id: Id | None = None  # required to merge


class ProposalOut(msgspec.Struct):
    id: int
    client_id: str | None
    need_id: int
    community_id: int
    community_name: str
    street_id: int
    title: str
    summary: str
    category: str
    households: int
    budget_fen: int | None
    deliberation_meeting_id: int
    approval_meeting_id: int
    state: str
    sent_at: datetime
    sent_by: str
    due_on: date
    due_provisional: bool
    overdue: bool
    answered_at: datetime | None
    answered_by: str | None
    answer_reason: str | None
    merged_into_id: int | None


class CatalogueItemIn(Strict):
    title: Title
    category: Label
    budget_fen: Fen
    street_id: Id | None = None  # empty: bought by the district for every street
    description: Text = ""
    # Proposal ids; an id that is no proposal's is refused as not found (404).
    proposal_ids: Annotated[list[int], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)


class CatalogueIn(Strict):
    year: Year
    note: AnswerReason = ""
    items: Annotated[list[CatalogueItemIn], msgspec.Meta(max_length=200)] = msgspec.field(default_factory=list)


class CatalogueItemOut(msgspec.Struct):
    id: int
    position: int
    title: str
    category: str
    budget_fen: int
    street_id: int | None
    street_name: str | None
    description: str
    proposal_ids: list[int]


class CatalogueOut(msgspec.Struct):
    id: int
    year: int
    version: int
    state: str
    note: str
    total_fen: int
    items: list[CatalogueItemOut]
    created_at: datetime
    created_by: str
    published_at: datetime | None
    published_by: str | None
