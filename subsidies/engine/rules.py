"""The money rules every programme shares, pure: rounding to the fen, the split between the two payers, the
approval steps of a run, the line keys a batch pays once, a batch's checksum and a budget's remainder. No I/O, no
ORM."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from foundation.access import Role

PAYERS = ("city", "district")
ROUNDINGS = ("half_up", "half_even", "down", "up")
DRAFT = "draft"
DISBURSED = "disbursed"


class ProgrammeRuleError(ValueError):
    """A programme's configuration is wrong; the message says where."""


@dataclass(frozen=True)
class PayerSplit:
    """RULES.md "Money: rounding between payers": the `rounded` payer's share is the line × its share, rounded to
    the fen by `rounding`; the other payer pays the rest, so the two always add up to the line."""

    rounded: str  # city or district
    rounding: str  # half_up, half_even, down or up

    def __post_init__(self) -> None:
        if self.rounded not in PAYERS or self.rounding not in ROUNDINGS:
            raise ProgrammeRuleError(f"[payers] rounded is one of {', '.join(PAYERS)} and rounding one of {', '.join(ROUNDINGS)}")


def round_fen(value: Fraction, rounding: str) -> int:
    """An exact amount of fen to a whole fen; a negative amount (a recovery) rounds like its size, so a correction
    and its reversal round alike."""
    sign = -1 if value < 0 else 1
    size = abs(value)
    whole, rest = divmod(size.numerator, size.denominator)
    if rest:
        twice = 2 * rest
        up = {
            "half_up": twice >= size.denominator,
            "half_even": twice > size.denominator or (twice == size.denominator and whole % 2 == 1),
            "down": False,
            "up": True,
        }[rounding]
        whole += 1 if up else 0
    return sign * whole


def half_up(value: Fraction) -> int:
    """Round half-up to a whole number (of fen), exactly."""
    return round_fen(value, "half_up")


def split_between_payers(amount_fen: int, city_share: Fraction, split: PayerSplit) -> tuple[int, int]:
    """(city, district) fen of a line (or of a correction) of `amount_fen`: the rounded payer's share is the amount ×
    its share, rounded once; the other pays the rest."""
    share = city_share if split.rounded == "city" else 1 - city_share
    rounded = round_fen(amount_fen * share, split.rounding)
    return (rounded, amount_fen - rounded) if split.rounded == "city" else (amount_fen - rounded, rounded)


def check_corrected_lines(ids: Sequence[int], found: Collection[int], batch_number: str) -> None:
    """An adjustment names each line once, and only lines of the batch it corrects."""
    if len(set(ids)) != len(ids):
        raise CorrectionError("each line is corrected once per adjustment", "同一条目在一次更正中只能出现一次")
    missing = sorted(set(ids) - set(found))
    if missing:
        listed = ", ".join(map(str, missing))
        raise CorrectionError(f"lines {listed} are not lines of batch {batch_number}", f"条目 {listed} 不属于批次 {batch_number}")


def correction(corrected_fen: int, amount_fen: int, city_fen: int, earlier_delta_fen: int, earlier_city_fen: int, city_share: Fraction, split: PayerSplit) -> tuple[int, int, int]:
    """(delta, city, district) fen of correcting a line that was priced `amount_fen` (`city_fen` of it the city's)
    and corrected by `earlier_delta_fen` (`earlier_city_fen`) so far, to pay `corrected_fen` in all. The split is
    taken of what the line pays in all and the correction books the difference from what each payer paid, so that
    however many corrections a line has, its shares are the rule's split of its amount (a correction split on its
    own would give the rounded payer the odd fen every time)."""
    delta = corrected_fen - amount_fen - earlier_delta_fen
    if delta == 0:
        raise CorrectionError(f"the line already pays {corrected_fen} fen; nothing to correct", "该条目已按此金额支付，无需更正")
    city_in_all, _ = split_between_payers(corrected_fen, city_share, split)
    city = city_in_all - city_fen - earlier_city_fen
    return delta, city, delta - city


class CorrectionError(ValueError):
    """A correction that cannot be issued, in English and in Chinese."""

    def __init__(self, detail: str, zh: str) -> None:
        super().__init__(detail)
        self.zh = zh


@dataclass(frozen=True, order=True)
class Party:
    """Someone a line is about: a payee (company, provider, community), a holder (the street or community whose
    budget and approval the line falls under), a beneficiary (estate, elder, resident). `kind` names the registry
    the id belongs to."""

    kind: str
    id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Step:
    """One approval of a run. A step `per_holder` is given once by each holder with lines in the run (e.g. every
    street confirms its part); otherwise once for the whole run (e.g. finance approves). When every approval of the
    step is in, the run is in `state_after`."""

    name: str
    roles: frozenset[Role]
    state_after: str
    per_holder: bool = False
    zh: str = ""


def check_steps(steps: Sequence[Step]) -> None:
    if not steps:
        raise ProgrammeRuleError("a programme needs at least one approval step before a batch is issued")
    names = [s.name for s in steps]
    states = [s.state_after for s in steps]
    if len(set(names)) != len(names) or len(set(states)) != len(states) or {DRAFT, DISBURSED} & set(states):
        raise ProgrammeRuleError("approval steps have distinct names and distinct states, neither draft nor disbursed")


def state_before(steps: Sequence[Step], step: Step) -> str:
    """The state a run is in when `step` may be given: draft for the first step, else the previous step's."""
    index = list(steps).index(step)
    return DRAFT if index == 0 else steps[index - 1].state_after


def step_done(step: Step, holders_with_lines: Collection[str], approved_holders: Collection[str]) -> bool:
    """Whether every approval of the step is in (per holder: each holder with lines; else the one for the run)."""
    if step.per_holder:
        return set(approved_holders) >= set(holders_with_lines)
    return "" in approved_holders


@dataclass(frozen=True)
class LineDraft:
    """A line a programme priced: what `payee` is paid, for `beneficiary`, in `period`, and why. `key` is what the
    programme pays at most once, ever (e.g. an estate's month under one contract, a voucher, an invoice). When
    `city_fen` is None, the engine splits the amount by the programme's city share."""

    key: str
    payee: Party
    holder: Party
    beneficiary: Party
    period: str
    amount_fen: int
    reason: str
    evidence: str  # what the line rests on, e.g. "score:40" or "claim:7"
    city_fen: int | None = None


@dataclass(frozen=True)
class PricedLine:
    draft: LineDraft
    city_fen: int
    district_fen: int


def price_lines(drafts: Iterable[LineDraft], city_share: Fraction, split: PayerSplit, paid: Collection[str]) -> list[PricedLine]:
    """The drafts not paid yet, each split between the payers; a key twice in one run is the programme's mistake."""
    seen: set[str] = set()
    priced = []
    for draft in drafts:
        if draft.key in seen:
            raise ProgrammeRuleError(f"line key {draft.key} priced twice in one run")
        seen.add(draft.key)
        if draft.key in paid:
            continue
        if draft.amount_fen < 0:
            raise ProgrammeRuleError(f"line {draft.key}: a line pays a sum of zero or more (corrections are adjustments)")
        if draft.city_fen is None:
            city, district = split_between_payers(draft.amount_fen, city_share, split)
        else:
            city, district = draft.city_fen, draft.amount_fen - draft.city_fen
        priced.append(PricedLine(draft, city, district))
    return priced


def batch_checksum(number: str, lines: Iterable[tuple[str, str, int, int, int]]) -> str:
    """sha256 of a batch's canonical content: its number and each (line key, payee, amount, city, district)."""
    content: list[object] = [number, *sorted([list(line) for line in lines])]
    return hashlib.sha256(json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def budget_year(period: str) -> int:
    """The calendar year a period's money comes out of ("2026-05", "2026-Q2" and "2026" are all of 2026)."""
    return int(period[:4])


@dataclass(frozen=True)
class Draw:
    """What a batch takes out of one budget (programme, year, holder; holder "" for the programme's whole budget)."""

    year: int
    holder: str
    amount_fen: int


def budget_draws(lines: Iterable[tuple[str, str, int]], per_holder: bool) -> list[Draw]:
    """The sums a batch draws, per year and (for budgets per holder) per holder, from (period, holder, amount)."""
    sums: dict[tuple[int, str], int] = {}
    for period, holder, amount in lines:
        key = (budget_year(period), holder if per_holder else "")
        sums[key] = sums.get(key, 0) + amount
    return [Draw(year, holder, amount) for (year, holder), amount in sorted(sums.items())]


def short_of(draws: Sequence[Draw], remaining: Mapping[tuple[int, str], int]) -> list[tuple[Draw, int]]:
    """The draws a budget cannot cover, each with what is left of it (a missing budget has nothing left)."""
    return [(d, remaining.get((d.year, d.holder), 0)) for d in draws if d.amount_fen > remaining.get((d.year, d.holder), 0)]
