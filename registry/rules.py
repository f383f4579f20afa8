"""Pure registry rules: the unified social credit code, the selection vote's outcome, contract terms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction

# GB 32100-2015: the code's alphabet (no I, O, S, V, Z) and the weights of positions 1-17.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code whose first 17 are given."""
    total = sum(CREDIT_CODE_ALPHABET.index(ch) * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def _credit_code_problems(code: str) -> tuple[str, str] | None:
    """Why `code` is not a valid unified social credit code, in English and in Chinese, or None if it is."""
    if len(code) != 18:
        return f"a unified social credit code has 18 characters, this one has {len(code)}", f"应为 18 位，实为 {len(code)} 位"
    bad = "".join(sorted({ch for ch in code if ch not in CREDIT_CODE_ALPHABET}))
    if bad:
        return f"characters not allowed in a unified social credit code: {bad}", f"含有不允许的字符：{bad}（不用 I、O、S、V、Z 及小写字母）"
    if not (code[2:8].isascii() and code[2:8].isdigit()):
        return (
            "characters 3-8 of a unified social credit code are the administrative division code (digits)",
            "第 3 至 8 位为行政区划码，应为数字",
        )
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]}, but the first 17 characters require {expected}", f"校验位为 {code[17]}，按前 17 位应为 {expected}"
    return None


def credit_code_problem(code: str) -> str | None:
    """Why `code` is not a valid unified social credit code (统一社会信用代码), or None if it is."""
    problems = _credit_code_problems(code)
    return problems[0] if problems else None


def credit_code_problem_zh(code: str) -> str | None:
    """The same as `credit_code_problem`, in Chinese for pages and import reports."""
    problems = _credit_code_problems(code)
    return problems[1] if problems else None


class VoteOutcome(StrEnum):
    ELECTED = "elected"  # quorum met and one company has more than half of the ballots cast
    FAILED_QUORUM = "failed_quorum"  # fewer than two thirds of households took part
    TIE = "tie"  # quorum met, two or more companies share the most ballots
    NO_MAJORITY = "no_majority"  # quorum met, the leader has half of the ballots or fewer


@dataclass(frozen=True)
class VoteResult:
    outcome: VoteOutcome
    eligible_households: int
    ballots_cast: int
    tally: Mapping[int, int]
    winner_company_id: int | None

    @property
    def turnout(self) -> Fraction:
        return Fraction(self.ballots_cast, self.eligible_households) if self.eligible_households else Fraction(0)


QUORUM = Fraction(2, 3)
MAJORITY = Fraction(1, 2)


def decide_vote(eligible_households: int, candidate_ids: frozenset[int], choices: list[int | None]) -> VoteResult:
    """The outcome of a selection vote (居民选), by the Civil Code's rule for hiring a property company:
    at least two thirds of households take part, and the winner has more than half of the ballots cast.
    `choices` holds one entry per household ballot: a candidate's id, or None for a blank ballot."""
    if eligible_households <= 0:
        raise ValueError("a vote needs at least one eligible household")
    if len(choices) > eligible_households:
        raise ValueError("more ballots than eligible households")
    tally = {cid: 0 for cid in sorted(candidate_ids)}
    for choice in choices:
        if choice is not None:
            if choice not in tally:
                raise ValueError(f"ballot for company {choice}, which is not a candidate")
            tally[choice] += 1
    cast = len(choices)

    def result(outcome: VoteOutcome, winner: int | None = None) -> VoteResult:
        return VoteResult(outcome, eligible_households, cast, tally, winner)

    if Fraction(cast, eligible_households) < QUORUM:
        return result(VoteOutcome.FAILED_QUORUM)
    top = max(tally.values(), default=0)
    leaders = [cid for cid, n in tally.items() if n == top]
    if top > 0 and len(leaders) > 1:
        return result(VoteOutcome.TIE)
    if top == 0 or Fraction(top, cast) <= MAJORITY:
        return result(VoteOutcome.NO_MAJORITY)
    return result(VoteOutcome.ELECTED, leaders[0])


def decide_counted_vote(eligible_households: int, ballots_cast: int, for_winner: int) -> VoteOutcome:
    """The outcome of a vote held on paper and counted there (纸质表决): the same rule as `decide_vote`, from the
    figures on the count sheet: households with a vote, households that took part, and those that chose the company.
    Raises ValueError for figures that cannot be (more taking part than have a vote, more choosing than took part)."""
    if eligible_households <= 0:
        raise ValueError("a vote needs at least one eligible household")
    if not 0 <= for_winner <= ballots_cast <= eligible_households:
        raise ValueError("the figures must satisfy 0 <= for the company <= taking part <= eligible")
    if Fraction(ballots_cast, eligible_households) < QUORUM:
        return VoteOutcome.FAILED_QUORUM
    if for_winner == 0 or Fraction(for_winner, ballots_cast) <= MAJORITY:
        return VoteOutcome.NO_MAJORITY
    return VoteOutcome.ELECTED


def terms_overlap(a_first: date, a_last: date, b_first: date, b_last: date) -> bool:
    """Whether two inclusive date ranges share at least one day."""
    return a_first <= b_last and b_first <= a_last


def contract_last_day(ends_on: date, terminated_on: date | None) -> date:
    """The last day a contract is in force: its end, or the termination day if it was terminated early."""
    return min(ends_on, terminated_on) if terminated_on else ends_on


def in_management(entered_on: date, left_on: date | None, day: date) -> bool:
    """An estate is in long-term management from the day it entered to the day before it left."""
    return entered_on <= day and (left_on is None or day < left_on)


@dataclass(frozen=True)
class ContractTerm:
    """A service contract of an estate: who manages it from `first` to `last` (the end, or the termination day)."""

    contract_id: int
    company_id: int
    first: date
    last: date

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class EstateTenure:
    """An estate's place in long-term management over a period: when it was managed (from `entered_on` to the day
    before `left_on`) and the contracts in force for it. Terms never overlap (one contract per estate per day)."""

    estate_id: int
    community_id: int
    street_id: int
    floor_area_centi_m2: int
    entered_on: date
    left_on: date | None
    contracts: tuple[ContractTerm, ...]

    def managed_on(self, day: date) -> bool:
        return in_management(self.entered_on, self.left_on, day)

    def contract_on(self, day: date) -> ContractTerm | None:
        """The contract (and so the company) in force for the estate on `day` while it is managed, or None."""
        if not self.managed_on(day):
            return None
        return next((c for c in self.contracts if c.covers(day)), None)

    def last_contract(self, first: date, last: date) -> ContractTerm | None:
        """The contract in force on the latest day of `first`..`last` that had one (who served the estate last in
        the period: a month's score and veto belong to it, also when the contract ended before the month did)."""
        day = last
        while day >= first:
            contract = self.contract_on(day)
            if contract is not None:
                return contract
            day -= timedelta(days=1)
        return None

    def contracts_by_day(self, first: date, last: date) -> dict[date, ContractTerm | None]:
        """Each day of `first`..`last` with the contract in force on it (None: not managed, or no contract)."""
        days: dict[date, ContractTerm | None] = {}
        day = first
        while day <= last:
            days[day] = self.contract_on(day)
            day += timedelta(days=1)
        return days


def contract_state(starts_on: date, ends_on: date, terminated_on: date | None, today: date) -> str:
    """signed (not yet started), active, terminated or expired, as of `today`."""
    if terminated_on is not None and terminated_on < today:
        return "terminated"
    if today < starts_on:
        return "signed"
    if today > contract_last_day(ends_on, terminated_on):
        return "expired"
    return "active"


def format_area(centi_m2: int) -> str:
    """A floor area held in 0.01 m² as a decimal string of m²."""
    return f"{centi_m2 // 100}.{centi_m2 % 100:02d}"
