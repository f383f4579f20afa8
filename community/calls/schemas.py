"""Request and response bodies of calls, bids, the panel, awards, objections and contracts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from foundation.schemas import Id, Reason, Strict
from foundation.text import NONBLANK, ONE_LINE_NONBLANK, PRINTABLE

Title = Annotated[str, msgspec.Meta(min_length=2, max_length=200, pattern=ONE_LINE_NONBLANK)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000, pattern=NONBLANK)]
Description = Annotated[str, msgspec.Meta(max_length=20_000, pattern=PRINTABLE)]
Fen = Annotated[int, msgspec.Meta(ge=1, le=2_000_000_000, description="Money in fen (分), at most 20,000,000 yuan")]
Instant = Annotated[datetime, msgspec.Meta(tz=True, description="With its UTC offset, e.g. 2026-12-20T17:00:00+08:00")]
ClientId = Annotated[
    str,
    msgspec.Meta(min_length=8, max_length=36, pattern=r"^[A-Za-z0-9_\-]+$", description="Made by the client for this submission; a retry sends the same one."),
]
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
BASE64_MAX = (MAX_DOCUMENT_BYTES + 2) // 3 * 4
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$"


class Method(StrEnum):
    VENTURE = "venture"  # 公益创投
    NEGOTIATION = "negotiation"  # 竞争性谈判
    TENDER = "tender"  # 公开招标


class Category(StrEnum):
    ELDERLY = "养老"
    DISABILITY = "助残"
    YOUTH = "青少年"
    HARDSHIP = "帮困"
    CULTURE = "文体"
    ENVIRONMENT = "环境"
    MEDIATION = "矛盾调解"
    OTHER = "其他"


class LotIn(Strict):
    title: Title
    budget_fen: Fen


class CriterionIn(Strict):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE_NONBLANK)]
    weight: Annotated[int, msgspec.Meta(ge=1, le=100)]


class CallCreate(Strict):
    """A call: the district opens one for the district (street_id left out) or a street officer for their street."""

    title: Title
    category: Category
    method: Method
    bid_deadline: Instant
    lots: Annotated[list[LotIn], msgspec.Meta(min_length=1, max_length=200)]
    criteria: Annotated[list[CriterionIn], msgspec.Meta(min_length=1, max_length=20)]
    description: Description = ""
    method_reason: Annotated[str, msgspec.Meta(max_length=2000, pattern=PRINTABLE)] = ""
    street_id: Id | None = None
    invited_organisation_ids: Annotated[list[Id], msgspec.Meta(max_length=50)] = []
    catalogue_item_id: Annotated[Id | None, msgspec.Meta(description="The item of this year's published catalogue of bought services (目录) the call buys from; the call's budget must fit what is left of the item's")] = None


class RepeatIn(Strict):
    bid_deadline: Instant


class LotOut(msgspec.Struct):
    number: int
    title: str
    budget_fen: int


class CriterionOut(msgspec.Struct):
    number: int
    name: str
    weight: int


class CallOut(msgspec.Struct):
    id: int
    number: str
    title: str
    description: str
    category: str
    method: str
    method_reason: str
    street_id: int | None
    catalogue_item_id: int | None
    budget_fen: int
    opened_at: datetime
    bid_deadline: datetime
    status: str
    sealed: bool  # bids cannot be read (nor who bid) until the deadline
    lots: list[LotOut]
    criteria: list[CriterionOut]
    invited_organisation_ids: list[int]
    repeated_from_call_id: int | None
    repeated_by_call_id: int | None
    draw_seed: int | None


class DocumentIn(Strict):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE_NONBLANK)]
    content: Annotated[str, msgspec.Meta(min_length=4, max_length=BASE64_MAX, pattern=BASE64, description="The file, base64-encoded (at most 2 MiB)")]
    content_type: (
        Annotated[
            str,
            msgspec.Meta(
                min_length=3, max_length=100, pattern=r"^[a-z0-9.+-]+/[a-z0-9.+-]+$",
                description="Optional: the file's type is judged by its content (PDF, Word .docx, Excel .xlsx, JPEG or PNG, and it must open); a type given here must match it",
            ),
        ]
        | None
    ) = None


class BidIn(Strict):
    """A bid for one lot; submitting again for the same lot replaces the earlier bid until the deadline."""

    client_id: ClientId
    lot_number: Annotated[int, msgspec.Meta(ge=1, le=200)]
    plan: LongText
    team: LongText
    amount_fen: Fen
    documents: Annotated[list[DocumentIn], msgspec.Meta(max_length=10)] = []


class DocumentOut(msgspec.Struct):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str


class BidOut(msgspec.Struct):
    id: int
    call_id: int
    lot_number: int
    organisation_id: int
    organisation_name: str
    plan: str
    team: str
    amount_fen: int
    status: str
    submitted_at: datetime
    replaces_bid_id: int | None
    documents: list[DocumentOut]


class BidSummary(msgspec.Struct):
    """A bid as the panel and the buyer list them after the deadline (recused members do not see it)."""

    id: int
    lot_number: int
    organisation_id: int
    organisation_name: str
    amount_fen: int
    status: str
    submitted_at: datetime


class PanelIn(Strict):
    user_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=25)]


class PanelMemberOut(msgspec.Struct):
    user_id: int
    display_name: str
    outside: bool
    declared: bool
    signed: bool


class DeclarationIn(Strict):
    """The organisations the member has a conflict of interest with (empty: none)."""

    conflicted_organisation_ids: Annotated[list[Id], msgspec.Meta(max_length=50)] = []
    reason: Annotated[str, msgspec.Meta(max_length=2000, pattern=PRINTABLE)] = ""


class CriterionPoints(Strict):
    criterion_number: Annotated[int, msgspec.Meta(ge=1, le=20)]
    points: Annotated[int, msgspec.Meta(ge=0, le=100)]


class ScoreIn(Strict):
    points: Annotated[list[CriterionPoints], msgspec.Meta(min_length=1, max_length=20)]


class PanelScoreOut(msgspec.Struct):
    bid_id: int
    total: int


class SignalOut(msgspec.Struct):
    bid_ids: list[int]
    kind: str
    description: str


class RankedOut(msgspec.Struct):
    bid_id: int
    organisation_name: str
    lot_number: int
    score: str
    amount_fen: int
    rank: int
    drawn: bool


class AwardOut(msgspec.Struct):
    id: int
    call_id: int
    lot_number: int
    bid_id: int
    organisation_id: int
    organisation_name: str
    amount_fen: int
    score: str
    status: str
    published_at: datetime
    publicity_ends_at: datetime
    objection_deadline: date
    stood_at: datetime | None


class ObjectionIn(Strict):
    text: Reason


class ObjectionAnswerIn(Strict):
    answer: Reason
    upheld: bool


class ObjectionOut(msgspec.Struct):
    id: int
    award_id: int
    organisation_id: int
    text: str
    objected_at: datetime
    answer_due_on: date
    answer: str | None
    upheld: bool | None
    answered_at: datetime | None


class CallContractIn(Strict):
    signed_on: date
    starts_on: date
    ends_on: date


class TrancheOut(msgspec.Struct):
    number: int
    share: str
    amount_fen: int
    condition: str
    payable_on: date | None


class CallContractOut(msgspec.Struct):
    id: int
    number: str
    award_id: int
    call_id: int
    organisation_id: int
    amount_fen: int
    signed_on: date
    starts_on: date
    ends_on: date
    tranches: list[TrancheOut]
