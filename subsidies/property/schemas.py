"""Request and response bodies of the subsidy API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from foundation.periods import QUARTER_PATTERN
from foundation.schemas import Strict
from foundation.text import NONBLANK

QuarterText = Annotated[str, msgspec.Meta(pattern=QUARTER_PATTERN, description="A quarter, e.g. 2026-Q3")]
Coefficient = Annotated[
    str, msgspec.Meta(max_length=12, description="Decimal text between 0 and 1 with at most 4 decimals, e.g. 0.95 (as the API answers it; not 19/20 or 95%)")
]


class RateCardIn(Strict):
    valid_from: date
    rate_fen_per_m2_month: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    city_share: Coefficient
    coefficients: dict[str, Coefficient]  # 优秀, 良好, 合格, 不合格


class RateCardOut(msgspec.Struct):
    valid_from: date
    rate_fen_per_m2_month: int
    city_share: str  # decimal text, e.g. 0.5
    coefficients: dict[str, str]  # grade → decimal text, e.g. 0.95
    source: str  # config or api


class RunIn(Strict):
    quarter: QuarterText
    supplementary: bool = False


class StreetTotal(msgspec.Struct):
    street_id: int
    street_name: str
    lines: int
    total_fen: int
    confirmed_at: datetime | None
    confirmed_by: str | None


class CompanyTotal(msgspec.Struct):
    company_id: int
    company_name: str
    lines: int
    total_fen: int
    city_fen: int
    district_fen: int


class HeldOutOut(msgspec.Struct):
    estate_id: int
    estate_code: str
    street_id: int
    month: str
    reason: str


class RunOut(msgspec.Struct):
    id: int
    quarter: str
    supplementary: bool
    state: str
    cards_sha256: str
    created_at: datetime
    created_by: str
    computed_at: datetime
    approved_at: datetime | None
    approved_by: str | None
    lines: int
    total_fen: int
    city_fen: int
    district_fen: int
    streets: list[StreetTotal]
    companies: list[CompanyTotal]
    held_out: list[HeldOutOut]
    batch_number: str | None


class LineOut(msgspec.Struct):
    id: int
    estate_id: int
    estate_code: str
    estate_name: str
    street_id: int
    company_id: int
    month: str
    score: str | None
    grade: str
    vetoed: bool
    coefficient: str  # decimal text as applied, e.g. 0.95; 0 for an upheld veto
    area_centi_m2: int
    days: int  # the days of the month this contract served the estate
    days_in_month: int
    amount_fen: int
    city_fen: int
    district_fen: int
    contract_id: int  # a month served by two companies has a line for each contract


class BatchOut(msgspec.Struct):
    id: int
    number: str
    run_id: int | None
    quarter: str | None
    corrects_batch_id: int | None  # an adjustment batch: the batch it corrects
    reason: str | None
    total_fen: int
    city_fen: int
    district_fen: int
    lines: int
    checksum: str
    issued_at: datetime
    issued_by: str


class LedgerRow(msgspec.Struct):
    company_id: int
    company_name: str
    quarter: str
    city_fen: int
    district_fen: int
    total_fen: int


class Reconciliation(msgspec.Struct):
    quarter: str
    batches_total_fen: int
    ledger_total_fen: int
    balanced: bool
    companies: list[LedgerRow]


class CorrectionIn(Strict):
    line_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    amount_fen: Annotated[int, msgspec.Meta(ge=0, le=10**12, description="What the line should have paid, in fen")]


class AdjustmentIn(Strict):
    client_id: Annotated[str, msgspec.Meta(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", description="A retry sends the same one")]
    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=2000, pattern=NONBLANK)]
    corrections: Annotated[list[CorrectionIn], msgspec.Meta(min_length=1, max_length=10_000)]
