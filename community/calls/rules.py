"""The rules of calls, bids, evaluation, award and tranches (config/RULES.md, "Community services"), pure: no I/O,
no ORM. Limits come in as a `CallLimits` read from config/calls.toml; each check returns the problem in words (or
None), and the service turns it into the refusal."""

from __future__ import annotations

import random
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from foundation.calendar.rules import WorkCalendar, working_days_after
from foundation.clock import BUSINESS_TZ
from foundation.text import visible

VENTURE = "venture"  # 公益创投
NEGOTIATION = "negotiation"  # 竞争性谈判
TENDER = "tender"  # 公开招标
METHODS = (VENTURE, NEGOTIATION, TENDER)
METHOD_NAMES = {VENTURE: "公益创投", NEGOTIATION: "竞争性谈判", TENDER: "公开招标"}


@dataclass(frozen=True)
class CallLimits:
    tender_from_fen: int
    negotiation_from_fen: int
    tender_min_days: int
    negotiation_min_working_days: int
    negotiation_min_invited: int
    tender_min_valid_bids: int
    min_valid_bids: int
    panel_min_members: int
    tender_outside_share: Fraction
    trim_from_members: int
    publicity_days: int
    objection_working_days: int
    answer_working_days: int
    tranche_shares: tuple[Fraction, ...]
    tranche_share_texts: tuple[str, ...]
    pass_mark: int


def _share(text: object, where: str) -> Fraction:
    if not isinstance(text, str):
        raise ValueError(f"{where} is a share written as text, e.g. \"0.30\" or \"2/3\"")
    try:
        value = Fraction(Decimal(text)) if "/" not in text else Fraction(text)
    except (InvalidOperation, ValueError, ZeroDivisionError):
        raise ValueError(f"{where}: {text!r} is not a share") from None
    if not 0 < value <= 1:
        raise ValueError(f"{where}: a share is above 0 and at most 1")
    return value


def parse_limits(text: str) -> CallLimits:
    """config/calls.toml as limits; a missing or wrong key is an error naming it."""
    raw = tomllib.loads(text)

    def number(section: str, key: str, minimum: int = 1) -> int:
        value = raw.get(section, {}).get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"config/calls.toml [{section}] {key} is a whole number of at least {minimum}")
        return value

    shares_text = raw.get("tranches", {}).get("shares")
    if not isinstance(shares_text, list) or not shares_text:
        raise ValueError("config/calls.toml [tranches] shares is a list of decimal texts")
    shares = tuple(_share(s, "config/calls.toml [tranches] shares") for s in shares_text)
    if sum(shares) != 1:
        raise ValueError("config/calls.toml [tranches] shares add up to 1")
    limits = CallLimits(
        tender_from_fen=number("methods", "tender_from_fen"),
        negotiation_from_fen=number("methods", "negotiation_from_fen"),
        tender_min_days=number("deadlines", "tender_min_days"),
        negotiation_min_working_days=number("deadlines", "negotiation_min_working_days"),
        negotiation_min_invited=number("deadlines", "negotiation_min_invited"),
        tender_min_valid_bids=number("bids", "tender_min_valid_bids"),
        min_valid_bids=number("bids", "min_valid_bids"),
        panel_min_members=number("panel", "min_members"),
        tender_outside_share=_share(raw.get("panel", {}).get("tender_outside_share"), "config/calls.toml [panel] tender_outside_share"),
        trim_from_members=number("panel", "trim_from_members", 3),
        publicity_days=number("award", "publicity_days"),
        objection_working_days=number("award", "objection_working_days"),
        answer_working_days=number("award", "answer_working_days"),
        tranche_shares=shares,
        tranche_share_texts=tuple(str(s) for s in shares_text),
        pass_mark=number("tranches", "pass_mark"),
    )
    if limits.negotiation_from_fen >= limits.tender_from_fen:
        raise ValueError("config/calls.toml [methods] negotiation_from_fen is below tender_from_fen")
    return limits


# Calls


def method_for_budget(largest_lot_fen: int, limits: CallLimits) -> str:
    """The method the thresholds ask for, judged on the call's largest lot."""
    if largest_lot_fen >= limits.tender_from_fen:
        return TENDER
    if largest_lot_fen >= limits.negotiation_from_fen:
        return NEGOTIATION
    return VENTURE


def method_problem(method: str, largest_lot_fen: int, reason: str, limits: CallLimits) -> str | None:
    expected = method_for_budget(largest_lot_fen, limits)
    if method != expected and not visible(reason):
        return (
            f"a largest lot of {largest_lot_fen} fen asks for {expected} ({METHOD_NAMES[expected]}); "
            f"give method_reason to use {method} ({METHOD_NAMES[method]}) instead"
        )
    return None


def weights_problem(weights: Sequence[int]) -> str | None:
    if sum(weights) != 100:
        return f"criteria weights add up to 100; these add up to {sum(weights)}"
    return None


def deadline_problem(method: str, opened_at: datetime, deadline: datetime, calendar: WorkCalendar, limits: CallLimits) -> str | None:
    """A public tender's bids are due at least `tender_min_days` after the call opens; a negotiation's at least
    `negotiation_min_working_days` working days after; any call's after it opens."""
    if deadline <= opened_at:
        return "the bid deadline comes after the call opens"
    if method == TENDER and deadline < opened_at + timedelta(days=limits.tender_min_days):
        return f"a public tender gives at least {limits.tender_min_days} days from the call to the bid deadline"
    if method == NEGOTIATION:
        opened_day = opened_at.astimezone(BUSINESS_TZ).date()
        earliest, _ = working_days_after(opened_day, limits.negotiation_min_working_days, calendar)
        if deadline.astimezone(BUSINESS_TZ).date() < earliest:
            return (
                f"a competitive negotiation gives at least {limits.negotiation_min_working_days} working days: "
                f"the bid deadline is on {earliest.isoformat()} or later"
            )
    return None


def invitations_problem(method: str, invited: int, limits: CallLimits) -> str | None:
    if method == NEGOTIATION and invited < limits.negotiation_min_invited:
        return f"a competitive negotiation invites at least {limits.negotiation_min_invited} organisations; {invited} invited"
    if method != NEGOTIATION and invited:
        return "only a competitive negotiation invites organisations; other calls are open to every eligible organisation"
    return None


def sealed(now: datetime, deadline: datetime) -> bool:
    """Bids are sealed (no one reads them, nor who bid) until the bid deadline."""
    return now < deadline


def enough_bids(method: str, valid_bids: int, limits: CallLimits) -> bool:
    return valid_bids >= (limits.tender_min_valid_bids if method == TENDER else limits.min_valid_bids)


# Evaluation


def panel_problem(method: str, outside: Sequence[bool], limits: CallLimits) -> str | None:
    """At least `panel_min_members`, an odd number, and for a public tender an outside share of at least
    `tender_outside_share`."""
    size = len(outside)
    if size < limits.panel_min_members:
        return f"a panel has at least {limits.panel_min_members} members; this one has {size}"
    if size % 2 == 0:
        return f"a panel has an odd number of members; this one has {size}"
    if method == TENDER and Fraction(sum(outside), size) < limits.tender_outside_share:
        return f"a public tender's panel is at least {limits.tender_outside_share} outside experts; {sum(outside)} of {size} are"
    return None


def score_problem(points: Mapping[int, int], weights: Mapping[int, int]) -> str | None:
    """Every criterion scored once, each between 0 and its weight."""
    if set(points) != set(weights):
        missing = sorted(set(weights) - set(points))
        unknown = sorted(set(points) - set(weights))
        return f"score every criterion once: missing {missing}, unknown {unknown}"
    for key, value in points.items():
        if not 0 <= value <= weights[key]:
            return f"criterion {key} is scored from 0 to {weights[key]}; {value} given"
    return None


def aggregate(totals: Sequence[int], limits: CallLimits) -> Fraction:
    """A bid's score: the mean of its members' totals, the highest and lowest dropped with `trim_from_members` or
    more totals."""
    if not totals:
        return Fraction(0)
    ordered = sorted(totals)
    if len(ordered) >= limits.trim_from_members:
        ordered = ordered[1:-1]
    return Fraction(sum(ordered), len(ordered))


def score_text(score: Fraction) -> str:
    """A score as decimal text with two places, rounded half-up."""
    hundredths = (score * 100).numerator * 2 // (score * 100).denominator
    rounded = (hundredths + 1) // 2
    return f"{rounded // 100}.{rounded % 100:02d}"


@dataclass(frozen=True)
class Ranked:
    bid_id: int
    score: Fraction
    amount_fen: int
    drawn: bool = False  # placed by the seeded lot, the score and price being equal


def rank(bids: Iterable[tuple[int, Fraction, int]], seed: int) -> list[Ranked]:
    """Bids (id, score, amount) best first: the higher score, then the lower price, then a lot drawn with `seed`
    (the draw is reproducible from the recorded seed; bids are drawn in id order so the seed alone decides)."""
    groups: dict[tuple[Fraction, int], list[int]] = {}
    for bid_id, score, amount in bids:
        groups.setdefault((score, amount), []).append(bid_id)
    draw = random.Random(seed)
    ranked: list[Ranked] = []
    for (score, amount) in sorted(groups, key=lambda k: (-k[0], k[1])):
        ids = sorted(groups[(score, amount)])
        if len(ids) > 1:
            draw.shuffle(ids)
        ranked.extend(Ranked(i, score, amount, drawn=len(ids) > 1) for i in ids)
    return ranked


@dataclass(frozen=True)
class BidderFacts:
    bid_id: int
    legal_representative: str
    phone: str
    address: str
    document_hashes: frozenset[str]


SIGNAL_NAMES = {"legal_representative": "法定代表人相同", "phone": "联系电话相同", "address": "地址相同", "document": "文件内容相同"}


def collusion_signals(bids: Sequence[BidderFacts]) -> list[tuple[int, int, str]]:
    """Pairs of bids (lower id first) sharing a legal representative, a phone, an address, or a document (by hash)."""
    found: list[tuple[int, int, str]] = []
    ordered = sorted(bids, key=lambda b: b.bid_id)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            for kind, left, right in (
                ("legal_representative", a.legal_representative, b.legal_representative),
                ("phone", a.phone, b.phone),
                ("address", a.address, b.address),
            ):
                if left.strip() and left.strip() == right.strip():
                    found.append((a.bid_id, b.bid_id, kind))
            if a.document_hashes & b.document_hashes:
                found.append((a.bid_id, b.bid_id, "document"))
    return found


# Award


def publicity_ends(published_at: datetime, limits: CallLimits) -> datetime:
    return published_at + timedelta(days=limits.publicity_days)


def objection_deadline(published_at: datetime, calendar: WorkCalendar, limits: CallLimits) -> date:
    """The last day a bidder may object: the `objection_working_days`-th working day after publication."""
    return working_days_after(published_at.astimezone(BUSINESS_TZ).date(), limits.objection_working_days, calendar)[0]


def answer_due(objected_at: datetime, calendar: WorkCalendar, limits: CallLimits) -> date:
    return working_days_after(objected_at.astimezone(BUSINESS_TZ).date(), limits.answer_working_days, calendar)[0]


def award_stand_problem(now: datetime, publicity_end: datetime, open_objections: int) -> str | None:
    """The award stands once its publicity has ended with no objection left unanswered."""
    if now < publicity_end:
        return f"the award's publicity runs until {publicity_end.astimezone(BUSINESS_TZ).strftime('%Y-%m-%d %H:%M')}"
    if open_objections:
        return f"{open_objections} objection(s) are still unanswered"
    return None


# Tranches


def tranche_amounts(amount_fen: int, shares: Sequence[Fraction]) -> list[int]:
    """Each tranche's fen: the amount × its share rounded half-up, the last taking what is left, so they add up."""
    amounts: list[int] = []
    for share in shares[:-1]:
        exact = amount_fen * share
        amounts.append((exact.numerator * 2 + exact.denominator) // (2 * exact.denominator))
    amounts.append(amount_fen - sum(amounts))
    return amounts


TRANCHE_CONDITIONS = ("签约后", "中期评估合格后", "结项评估后")


def tranche_condition(number: int, count: int) -> str:
    if number == 1:
        return TRANCHE_CONDITIONS[0]
    return TRANCHE_CONDITIONS[2] if number == count else TRANCHE_CONDITIONS[1]


def catalogue_budget_problem(budget_fen: int, item_budget_fen: int, committed_fen: int) -> str | None:
    """A call fits what is left of its catalogue item's budget: the item's budget less the budgets of the calls
    already opened against it that did not fail (a failed call's budget is free again for its repetition)."""
    left = item_budget_fen - committed_fen
    if budget_fen > left:
        return f"the call's budget of {budget_fen} fen is above what is left of its catalogue item ({left} fen of {item_budget_fen})"
    return None
