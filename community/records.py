"""A procurement project of the community-service pipeline as the outside world may see it, and the hook through
which its publication is announced.

The calls, bids, awards and contracts live in their own tables (community/calls/); what is published about them
(the Open Contracting releases, the public project pages) is built from these plain records only, so the two sides
meet here and nowhere else. A bid appears in a record only once its call's bid deadline has passed (bids are sealed
until then); personal data never appears (an organisation is named by its name and unified social credit code).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

# The moments a project is published at (each becomes one release; OCDS release tags in brackets).
TENDER = "tender"  # the call is open (tender)
TENDER_UPDATE = "tenderUpdate"  # the call changed: deadline, documents, failed and repeated (tenderUpdate)
AWARD = "award"  # the result is published for its publicity period (award)
AWARD_UPDATE = "awardUpdate"  # the award stands, or is withdrawn after an objection (awardUpdate)
CONTRACT = "contract"  # the contract is signed, with its tranches (contract)
IMPLEMENTATION = "implementation"  # a tranche is paid or an evaluation passed (implementation)
STAGES = (TENDER, TENDER_UPDATE, AWARD, AWARD_UPDATE, CONTRACT, IMPLEMENTATION)

# Call methods (config/RULES.md, the community-service pipeline) and their OCDS procurementMethod.
VENTURE = "venture"  # 公益创投: open to every eligible organisation → open
NEGOTIATION = "negotiation"  # 竞争性谈判: invited suppliers → selective
TENDER_METHOD = "tender"  # 公开招标 → open


@dataclass(frozen=True)
class Party:
    """The buyer (the district or a street) or a bidding social organisation."""

    key: str  # stable: "district", "street-<id>", "organisation-<id>"
    name: str
    credit_code: str = ""  # 统一社会信用代码 of an organisation; "" for a government buyer


@dataclass(frozen=True)
class Criterion:
    name: str
    weight: int  # points out of 100


@dataclass(frozen=True)
class Lot:
    key: str  # stable within the call, e.g. "1"
    title: str
    budget_fen: int


@dataclass(frozen=True)
class Bid:
    key: str  # stable within the call
    bidder: Party
    lot_key: str
    amount_fen: int
    submitted_at: datetime  # aware, Asia/Shanghai
    status: str  # valid, withdrawn, invalid (OCDS bid statistics count the valid ones)


@dataclass(frozen=True)
class Award:
    key: str
    lot_key: str
    supplier: Party
    amount_fen: int
    published_at: datetime  # the publicity (公示) starts
    publicity_ends_at: datetime
    status: str  # pending (in publicity), active (stands), cancelled (withdrawn after an objection)
    score: str = ""  # the aggregated panel score as decimal text, e.g. "87.40"


@dataclass(frozen=True)
class Tranche:
    number: int  # 1, 2, 3
    share: str  # decimal text, e.g. "0.30"
    amount_fen: int
    condition: str  # in Chinese: 签约后 / 中期评估合格后 / 结项评估后
    due_on: date | None = None
    paid_on: date | None = None
    paid_fen: int = 0


@dataclass(frozen=True)
class Evaluation:
    """A third-party evaluation of a contract's delivery (the score only: evaluators and evidence stay inside)."""

    stage: str  # midterm or final
    title: str  # in Chinese: 中期评估 / 结项评估
    evaluated_on: date
    score: str  # decimal text out of 100, e.g. "78.50"
    passed: bool
    due_on: date | None = None


@dataclass(frozen=True)
class Contract:
    key: str
    award_key: str
    title: str
    amount_fen: int
    signed_on: date | None
    starts_on: date | None
    ends_on: date | None
    status: str  # pending, active, terminated (OCDS contract status)
    tranches: Sequence[Tranche] = ()
    evaluations: Sequence[Evaluation] = ()


@dataclass(frozen=True)
class CatalogueItem:
    """The item of the year's catalogue of bought services (目录) a call buys from, and the residents' proposals
    (from their needs) it answers."""

    key: str  # stable, e.g. "2026-7" (year and item id)
    year: int
    title: str
    budget_fen: int
    proposal_ids: Sequence[int] = ()


@dataclass(frozen=True)
class EarlierCall:
    """The failed call (流标) a call repeats."""

    number: str
    title: str


@dataclass(frozen=True)
class ProjectRecord:
    """Everything publishable about one call: the tender, its bids (after the deadline), awards and contracts."""

    call_id: int
    number: str  # the call's number, e.g. "XQ-GY-2026-003"; the OCID is built from it
    title: str
    description: str
    category: str  # the need category in Chinese (养老, 助残, …)
    method: str  # venture, negotiation or tender
    method_reason: str  # why this method, when it departs from the budget thresholds ("" otherwise)
    buyer: Party
    budget_fen: int
    opened_at: datetime  # aware
    bid_deadline: datetime  # aware
    status: str  # open, closed, evaluating, publicity, awarded, failed, cancelled
    criteria: Sequence[Criterion] = ()
    lots: Sequence[Lot] = ()
    bids: Sequence[Bid] = ()  # empty until the bid deadline has passed
    awards: Sequence[Award] = ()
    contracts: Sequence[Contract] = ()
    repeated_from: int | None = None  # the failed call this one repeats
    repeats: EarlierCall | None = None  # that failed call, as its own contracting process names it
    catalogue_item: CatalogueItem | None = None  # the catalogue item the call buys from
    updated_at: datetime | None = None  # the moment the record last changed (the release date)
    extra: dict[str, str] = field(default_factory=dict)  # anything else worth publishing, in Chinese


Publisher = Callable[[AsyncSession, ProjectRecord, str], Awaitable[None]]
_PUBLISHERS: list[Publisher] = []
# A package that keeps part of a project's public record (its evaluations, its paid tranches) completes the record
# the calls package announces, before it is published.
Completer = Callable[[AsyncSession, ProjectRecord], Awaitable[ProjectRecord]]
_COMPLETERS: list[Completer] = []


def contribute(completer: Completer) -> None:
    """A package that holds part of the record asks to complete every announced record; once per process."""
    if completer not in _COMPLETERS:
        _COMPLETERS.append(completer)


async def complete(session: AsyncSession, record: ProjectRecord) -> ProjectRecord:
    """The record with what every contributing package adds to it."""
    for completer in _COMPLETERS:
        record = await completer(session, record)
    return record


def subscribe(publisher: Publisher) -> None:
    """A publishing package (the OCDS releases) asks to hear of every published moment; once per process."""
    if publisher not in _PUBLISHERS:
        _PUBLISHERS.append(publisher)


async def announce(session: AsyncSession, record: ProjectRecord, stage: str) -> None:
    """The calls package announces a published moment (one of STAGES), inside the use case's transaction, so a
    release is stored with the change it reports or not at all."""
    if stage not in STAGES:
        raise ValueError(f"unknown publication stage {stage!r}")
    record = await complete(session, record)
    for publisher in _PUBLISHERS:
        await publisher(session, record, stage)
