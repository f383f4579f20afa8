"""Request and response bodies of elderly home care's API. An elder's ID number comes in once, at enrolment, and goes
out only masked, except to the community's elderly-care social worker who asks for it on purpose."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from foundation.schemas import Id, Strict
from foundation.text import ONE_LINE_NONBLANK

ClientId = Annotated[str, msgspec.Meta(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", description="Generated on the phone; a retry sends the same one")]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=r"^[a-z][a-z0-9_]*$")]


class EnrolmentIn(Strict):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=30, pattern=ONE_LINE_NONBLANK)]
    sex: Literal["F", "M"]
    # A birth date is the one date before the supported years (foundation.periods) that a body may carry: text,
    # checked by the use case.
    birth_date: Annotated[str, msgspec.Meta(pattern=r"^(19[0-9]{2}|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", description="The elder's birth date, e.g. 1946-03-08")]
    address: Annotated[str, msgspec.Meta(min_length=2, max_length=120, pattern=ONE_LINE_NONBLANK, description="Within the community: building, unit, room")]
    phone: Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9][0-9 \-]{6,18}$", description="The elder's or the family's")]
    category: Code
    id_number: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{17}[0-9Xx]$", description="Resident ID number (18 characters); stored sealed")]
    provider_id: Id
    starts_on: date
    consent_by: Literal["elder", "guardian"]
    consent_on: date


class StopIn(Strict):
    ends_on: date
    reason: Literal["moved", "hospital", "died", "declined"]


class CareContractIn(Strict):
    number: Annotated[str, msgspec.Meta(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9\-]+$")]
    provider_id: Id
    street_id: Id
    starts_on: date
    ends_on: date


class VisitIn(Strict):
    client_id: ClientId
    elder_id: Id
    visit_date: date
    minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)]
    service: Code
    confirmed_by: Literal["elder", "family"]
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""
    photo_ids: Annotated[list[Id], msgspec.Meta(max_length=5)] = msgspec.field(default_factory=list)


class ElderOut(msgspec.Struct):
    id: int
    name: str
    sex: str
    birth_date: date
    address: str
    phone: str
    category: str
    community_id: int
    id_number: str  # masked: its last four characters


class IdNumberOut(msgspec.Struct):
    elder_id: int
    id_number: str


class EnrolmentOut(msgspec.Struct):
    id: int
    elder: ElderOut
    provider_id: int
    starts_on: date
    ends_on: date | None
    stop_reason: str | None
    consent_by: str
    consent_on: date
    voucher_code: str | None  # this month's, when issued


class CareContractOut(msgspec.Struct):
    id: int
    number: str
    provider_id: int
    street_id: int
    starts_on: date
    ends_on: date


class VisitOut(msgspec.Struct):
    id: int
    client_id: str
    elder_id: int
    month: str
    visit_date: date
    minutes: int
    service: str
    confirmed_by: str
    photo_ids: list[int]
    filed_at: datetime
    replayed: bool


class VoucherOut(msgspec.Struct):
    code: str
    month: str
    elder_id: int
    elder_name: str
    community_id: int
    provider_id: int
    amount_fen: int
    visits: int
    minutes: int
    minimum_met: bool
    redeemed_at: datetime | None


class VouchersIssuedOut(msgspec.Struct):
    month: str
    issued: int




class RefusedVoucherOut(msgspec.Struct):
    code: str
    reason: str  # in Chinese, as the provider's page shows it
    detail: str


class MonthRedemptionOut(msgspec.Struct):
    month: str
    redeemed: list[str]
    refused: list[RefusedVoucherOut]
