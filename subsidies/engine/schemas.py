"""Request and response bodies of the engine's API (any programme)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from foundation.schemas import Strict
from foundation.text import NONBLANK


class ProgrammeRunIn(Strict):
    period: Annotated[str, msgspec.Meta(min_length=4, max_length=10, description="The programme's period, e.g. 2026-Q3, 2026-05 or 2026")]
    supplementary: bool = False


class ProgrammeApprovalOut(msgspec.Struct):
    step: str
    holder: str
    approved_at: datetime
    approved_by: str
    total_fen: int


class ProgrammeRunOut(msgspec.Struct):
    id: int
    programme: str
    period: str
    supplementary: bool
    state: str
    rules_sha256: str
    created_at: datetime
    created_by: str
    computed_at: datetime
    lines: int
    total_fen: int
    city_fen: int
    district_fen: int
    approvals: list[ProgrammeApprovalOut]
    batch_id: int | None
    batch_number: str | None


class ProgrammeLineOut(msgspec.Struct):
    id: int
    key: str
    payee: str
    holder: str
    beneficiary: str
    period: str
    amount_fen: int
    city_fen: int
    district_fen: int
    reason: str
    evidence: str
    rules_sha256: str


class ProgrammeBatchOut(msgspec.Struct):
    id: int
    programme: str
    number: str
    run_id: int | None
    period: str | None
    corrects_batch_id: int | None
    reason: str | None
    total_fen: int
    city_fen: int
    district_fen: int
    lines: int
    checksum: str
    issued_at: datetime
    issued_by: str


class ProgrammeBudgetIn(Strict):
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    amount_fen: Annotated[int, msgspec.Meta(ge=0, le=10**13)]
    holder: Annotated[str, msgspec.Meta(max_length=40, description='"" for the whole programme, else e.g. "community:7"')] = ""


class ProgrammeBudgetOut(msgspec.Struct):
    programme: str
    year: int
    holder: str
    amount_fen: int
    spent_fen: int
    left_fen: int


class ProgrammeCorrectionIn(Strict):
    line_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    amount_fen: Annotated[int, msgspec.Meta(ge=0, le=10**12, description="What the line should have paid, in fen")]


class ProgrammeAdjustmentIn(Strict):
    client_id: Annotated[str, msgspec.Meta(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", description="A retry sends the same one")]
    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=2000, pattern=NONBLANK)]
    corrections: Annotated[list[ProgrammeCorrectionIn], msgspec.Meta(min_length=1, max_length=10_000)]


class CorrectionOut(msgspec.Struct):
    line_id: int
    amount_fen: int  # what the line should have paid in all


class AdjustmentProposalOut(msgspec.Struct):
    """A correction of an issued batch as proposed; once another officer approves it, `issued_batch_id` is its
    adjustment batch."""

    id: int
    programme: str
    batch_id: int
    client_id: str
    reason: str
    corrections: list[CorrectionOut]
    delta_fen: int  # what it pays (+) or recovers (-) as proposed
    state: str  # proposed, issued
    proposed_at: datetime
    proposed_by: str
    issued_batch_id: int | None
    approved_at: datetime | None
    approved_by: str | None



class PayeeAccountIn(Strict):
    """A payee's bank and account; both empty removes the account."""

    bank_name: Annotated[str, msgspec.Meta(max_length=100, description="开户银行, e.g. 中国工商银行天津和平支行")]
    bank_account: Annotated[str, msgspec.Meta(max_length=40, pattern=r"^$|^[0-9][0-9 ]{6,38}[0-9]$", description="银行账号: 8 to 40 digits, spaces between groups allowed")]


class PayeeAccountOut(msgspec.Struct):
    kind: str  # organisation, community or street
    id: int
    name: str
    programmes: list[str]  # the programmes whose lines pay it (empty for an account recorded before any line)
    bank_name: str | None  # None: no account recorded (its payment notices say so)
    bank_account: str | None
    recorded_at: datetime | None
    recorded_by: str | None
