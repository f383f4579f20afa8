"""Rules of the evidence, pure: the checklist, rectification deadlines on China's official calendar, overdue,
spot-check sampling, and the fingerprint that makes a phone's retry harmless. No I/O, no ORM."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import Any

from foundation.calendar.rules import CalendarSource, WorkCalendar, working_day_after
from foundation.clock import BUSINESS_TZ
from foundation.periods import Month
from foundation.ratios import parse_ratio

log = logging.getLogger(__name__)


class Source(StrEnum):
    PATROL = "patrol"  # 社区物业社工日常巡查
    STREET_INSPECTION = "street_inspection"  # 街道专管员定期检查
    SPOT_CHECK = "spot_check"  # 第三方机构暗访抽查


class Severity(StrEnum):
    SAFETY = "safety"  # 安全隐患: 24 hours
    GENERAL = "general"  # 一般问题: 3 working days
    MAJOR_REPAIR = "major_repair"  # 重大维修: 7 working days with a written plan


class DefectState(StrEnum):
    OPEN = "open"  # 待整改
    FIX_REPORTED = "fix_reported"  # 已报整改, awaiting verification
    CLOSED = "closed"  # 验收通过
    WITHDRAWN = "withdrawn"  # 撤销: the finding was corrected by an amendment


class ChecklistError(ValueError):
    """The checklist file is wrong; the message names the entry."""


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    points: int


@dataclass(frozen=True)
class Item:
    code: str
    category: str
    text: str
    deduction_centi: int  # points deducted per defect, in hundredths of a point
    severity: Severity
    veto: bool


@dataclass(frozen=True)
class Checklist:
    version: str
    sha256: str  # of the canonical content below: what a filed record points at
    categories: tuple[Category, ...]
    items: Mapping[str, Item]

    def content(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "categories": [{"code": c.code, "name": c.name, "points": c.points} for c in self.categories],
            "items": [
                {
                    "code": i.code,
                    "category": i.category,
                    "text": i.text,
                    "deduction_centi": i.deduction_centi,
                    "severity": i.severity.value,
                    "veto": i.veto,
                }
                for i in self.items.values()
            ],
        }


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _deduction_centi(raw: object, where: str) -> int:
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ChecklistError(f"{where}: deduction {raw!r} is not a number") from None
    centi = value * 100
    if centi != centi.to_integral_value() or not 0 < centi <= 10_000:
        raise ChecklistError(f"{where}: deduction {raw!r} must be between 0.01 and 100 points, in hundredths")
    return int(centi)


def checklist_from_content(content: Mapping[str, Any]) -> Checklist:
    """A checklist from its parsed TOML (or stored JSON) content, validated."""
    version = content.get("version")
    if not isinstance(version, str) or not version.strip():
        raise ChecklistError("the checklist needs a version, e.g. version = \"2026.1\"")
    categories: list[Category] = []
    for n, raw in enumerate(content.get("categories") or [], start=1):
        try:
            category = Category(code=str(raw["code"]), name=str(raw["name"]), points=int(raw["points"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ChecklistError(f"category {n}: needs code, name and integer points ({error})") from None
        if category.points <= 0 or any(c.code == category.code for c in categories):
            raise ChecklistError(f"category {category.code}: points must be positive and codes unique")
        categories.append(category)
    if not categories:
        raise ChecklistError("the checklist has no categories")
    if sum(c.points for c in categories) != 100:
        raise ChecklistError(f"category points add up to {sum(c.points for c in categories)}, not 100")
    known = {c.code for c in categories}
    items: dict[str, Item] = {}
    for n, raw in enumerate(content.get("items") or [], start=1):
        where = f"item {raw.get('code', n)}"
        try:
            severity = Severity(raw.get("severity", ""))
        except ValueError:
            raise ChecklistError(f"{where}: severity must be one of {', '.join(s.value for s in Severity)}") from None
        deduction = raw["deduction_centi"] if "deduction_centi" in raw else None
        item = Item(
            code=str(raw.get("code", "")),
            category=str(raw.get("category", "")),
            text=str(raw.get("text", "")),
            deduction_centi=int(deduction) if deduction is not None else _deduction_centi(raw.get("deduction"), where),
            severity=severity,
            veto=bool(raw.get("veto", False)),
        )
        if not item.code or not item.text:
            raise ChecklistError(f"{where}: needs a code and a text")
        if item.category not in known:
            raise ChecklistError(f"{where}: category {item.category!r} is not one of {', '.join(sorted(known))}")
        if item.code in items:
            raise ChecklistError(f"{where}: the code is used twice")
        items[item.code] = item
    if not items:
        raise ChecklistError("the checklist has no items")
    draft = Checklist(version=version.strip(), sha256="", categories=tuple(categories), items=items)
    return Checklist(
        version=draft.version,
        sha256=hashlib.sha256(canonical_json(draft.content())).hexdigest(),
        categories=draft.categories,
        items=draft.items,
    )


def parse_checklist(text: str) -> Checklist:
    try:
        content = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ChecklistError(f"the checklist is not valid TOML: {error}") from None
    return checklist_from_content(content)


# The rules of config/inspections.toml


# Perceptual hashes are looked up in this many bands: two hashes within (bands - 1) bits share at least one band.
PHASH_BANDS = 8


@dataclass(frozen=True)
class IntegrityRules:
    """The thresholds of the evidence-integrity flags ([integrity] of config/inspections.toml)."""

    boundary_tolerance_m: int = 100
    exif_tolerance: timedelta = timedelta(hours=2)
    near_duplicate_max_bits: int = 6


@dataclass(frozen=True)
class InspectionRules:
    patrols_counted_per_day: int = 1
    clock_tolerance: timedelta = timedelta(minutes=5)
    late_after: timedelta = timedelta(hours=48)
    safety_hours: int = 24
    general_working_days: int = 3
    major_repair_working_days: int = 7
    monthly_share: Fraction = Fraction(3, 10)
    integrity: IntegrityRules = IntegrityRules()


def parse_inspection_rules(text: str) -> InspectionRules:
    try:
        raw = tomllib.loads(text)
        rect = raw.get("rectification", {})
        rules = InspectionRules(
            patrols_counted_per_day=int(raw["patrols_counted_per_estate_per_day"]),
            clock_tolerance=timedelta(minutes=int(raw["clock_tolerance_minutes"])),
            late_after=timedelta(hours=int(raw["late_after_hours"])),
            safety_hours=int(rect["safety_hours"]),
            general_working_days=int(rect["general_working_days"]),
            major_repair_working_days=int(rect["major_repair_working_days"]),
            monthly_share=parse_ratio(str(raw["spot_checks"]["monthly_share"])),
            integrity=IntegrityRules(
                boundary_tolerance_m=int(raw["integrity"]["boundary_tolerance_m"]),
                exif_tolerance=timedelta(minutes=int(raw["integrity"]["exif_time_tolerance_minutes"])),
                near_duplicate_max_bits=int(raw["integrity"]["near_duplicate_max_bits"]),
            ),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise ChecklistError(f"config/inspections.toml: {type(error).__name__}: {error}") from None
    if rules.patrols_counted_per_day < 1 or not 0 < rules.monthly_share <= 1:
        raise ChecklistError("config/inspections.toml: patrols counted per day >= 1, monthly share in (0, 1]")
    if rules.late_after <= timedelta(0):
        raise ChecklistError("config/inspections.toml: late_after_hours must be at least 1")
    if rules.integrity.boundary_tolerance_m < 0 or rules.integrity.exif_tolerance <= timedelta(0):
        raise ChecklistError("config/inspections.toml: [integrity] boundary_tolerance_m >= 0, exif_time_tolerance_minutes >= 1")
    if not 0 <= rules.integrity.near_duplicate_max_bits < PHASH_BANDS:
        raise ChecklistError(f"config/inspections.toml: [integrity] near_duplicate_max_bits must be 0 to {PHASH_BANDS - 1} (hashes are looked up in {PHASH_BANDS} bands)")
    if min(rules.safety_hours, rules.general_working_days, rules.major_repair_working_days) < 1:
        raise ChecklistError("config/inspections.toml: rectification deadlines must be at least 1")
    return rules


def is_late(claimed_at: datetime, received_at: datetime, rules: InspectionRules) -> bool:
    """A record is *late* (config/RULES.md, "Late evidence") when its claimed time is more than the tolerance before it
    reached the server: it counts only once the street officer approves it."""
    return received_at - claimed_at > rules.late_after


class LateDecision(StrEnum):
    APPROVED = "approved"  # 准予计入
    REJECTED = "rejected"  # 不予计入


def assessed_month(record_month: Month, effective_at: datetime, own_month_locked_at: datetime | None) -> Month:
    """The month a record is assessed in: its own, unless that month was locked before the record took effect
    (was filed, or for a late record was approved); then the first month after it that is not in the past of
    `effective_at`. A locked month never changes."""
    if own_month_locked_at is None or own_month_locked_at >= effective_at:
        return record_month
    return max(record_month.next(), Month.of_instant(effective_at))


@dataclass(frozen=True)
class Deadline:
    at: datetime  # UTC
    provisional: bool  # the official calendar for a year was unknown: Monday to Friday was assumed
    source: CalendarSource | None = None  # the least authoritative calendar of the days counted; None: in hours


def rectification_deadline(raised_at: datetime, severity: Severity, rules: InspectionRules, calendar: WorkCalendar) -> Deadline:
    """Safety: hours after raising. Otherwise: 24:00 Beijing time of the Nth working day after the day raised."""
    if severity is Severity.SAFETY:
        return Deadline(at=(raised_at + timedelta(hours=rules.safety_hours)).astimezone(UTC), provisional=False, source=None)
    wanted = rules.general_working_days if severity is Severity.GENERAL else rules.major_repair_working_days
    found = working_day_after(raised_at.astimezone(BUSINESS_TZ).date(), wanted, calendar)
    end_of_day = datetime.combine(found.day + timedelta(days=1), time(0, 0), tzinfo=BUSINESS_TZ)
    return Deadline(at=end_of_day.astimezone(UTC), provisional=found.provisional, source=found.source)


def overdue_since(deadline: datetime, state: DefectState, fix_reported_at: datetime | None, now: datetime) -> bool:
    """Whether a defect is overdue at `now`: its deadline passed before a fix was reported that was (or may yet be)
    accepted. A fix reported in time and awaiting verification is not overdue; a rejected fix is no fix."""
    if state is DefectState.WITHDRAWN:
        return False
    if state in (DefectState.FIX_REPORTED, DefectState.CLOSED) and fix_reported_at is not None:
        return fix_reported_at > deadline
    return now > deadline


# Spot-check sampling


@dataclass(frozen=True)
class EstateRef:
    id: int
    street_id: int


def draw_spot_checks(
    month: Month,
    seed: str,
    estates: Sequence[EstateRef],
    firms: Sequence[int],
    covered_this_quarter: Iterable[int],
    share: Fraction,
) -> list[tuple[int, int]]:
    """The month's secret assignments as (estate id, firm id), sorted by estate.

    Per street, at least `share` of its estates (rounded up) and enough of those not yet drawn this quarter that
    the rest of the quarter can cover them all: in the quarter's last month, every one left. Firms take the drawn
    estates in turns, in a shuffled order. The same arguments always give the same draw.
    """
    if not firms:
        raise ValueError("no inspection firm to assign spot checks to")
    rng = random.Random(f"{seed}|{month}")
    covered = set(covered_this_quarter)
    by_street: dict[int, list[int]] = defaultdict(list)
    for estate in sorted(estates, key=lambda e: e.id):
        by_street[estate.street_id].append(estate.id)
    drawn: list[int] = []
    for street_id in sorted(by_street):
        ids = by_street[street_id]
        fresh = [i for i in ids if i not in covered]
        seen = [i for i in ids if i in covered]
        rng.shuffle(fresh)
        rng.shuffle(seen)
        must = math.ceil(len(fresh) / month.months_left_in_quarter)
        count = min(len(ids), max(math.ceil(share * len(ids)), must))
        drawn.extend((fresh + seen)[:count])
    order = sorted(set(firms))
    rng.shuffle(order)
    rng.shuffle(drawn)
    return sorted((estate_id, order[n % len(order)]) for n, estate_id in enumerate(drawn))


def request_fingerprint(payload: Mapping[str, Any]) -> str:
    """The sha256 of a request body in canonical form: a retry of the same body has the same fingerprint."""
    return hashlib.sha256(canonical_json(payload)).hexdigest()


# Evidence integrity (config/RULES.md, "Evidence integrity"): reconciling self-report with spot checks, and what a
# record returned for correction counts for while it waits.


class WhileReturned(StrEnum):
    """What a record returned for correction counts for until its filer files the correction."""

    AS_FILED = "as_filed"  # 按原报计入: a return is a question, not a verdict
    NOT_COUNTED = "not_counted"  # 等待更正期间不计入


class ReturnState(StrEnum):
    WAITING = "waiting"  # 待更正
    CORRECTED = "corrected"  # 已更正


@dataclass(frozen=True)
class ReconciliationRules:
    mismatch_deduction_centi: int = 500  # a spot check deducting at least this much in a category the patrols passed
    window_months: int = 6  # the months the street sees (the credibility figure's window)
    while_returned: WhileReturned = WhileReturned.AS_FILED


def parse_reconciliation_rules(text: str) -> ReconciliationRules:
    """The [reconciliation] and [returns] sections of config/inspections.toml."""
    try:
        raw = tomllib.loads(text)
        reconciliation, returns = raw["reconciliation"], raw["returns"]
        points = Decimal(str(reconciliation["mismatch_deduction_points"]))
        rules = ReconciliationRules(
            mismatch_deduction_centi=int(points * 100),
            window_months=int(reconciliation["window_months"]),
            while_returned=WhileReturned(str(returns["counts_while_waiting"])),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, InvalidOperation) as error:
        raise ChecklistError(f"config/inspections.toml: {type(error).__name__}: {error}") from None
    if points * 100 != rules.mismatch_deduction_centi or rules.mismatch_deduction_centi <= 0:
        raise ChecklistError("config/inspections.toml: [reconciliation] mismatch_deduction_points must be above 0, in hundredths")
    if not 1 <= rules.window_months <= 24:
        raise ChecklistError("config/inspections.toml: [reconciliation] window_months must be between 1 and 24")
    return rules


@dataclass(frozen=True)
class CategoryComparison:
    """One checklist category of an estate-month: what the spot check deducted, what the month's patrols found."""

    category: str
    points: int
    spot_check_deduction_centi: int  # after the category's floor at 0 (never more than its points)
    patrols: int  # the month's patrols compared
    patrols_failed: int  # of them, those that found an item of the category failed
    mismatch: bool


def compare_categories(
    categories: Mapping[str, int],
    spot_check_failed: Iterable[tuple[str, int, int]],
    patrol_failed_categories: Sequence[frozenset[str]],
    threshold_centi: int,
) -> tuple[CategoryComparison, ...]:
    """Per category (in the checklist's order): the spot check's deduction (`spot_check_failed`: category, deduction
    per defect, defects of each failed item) and how many of the month's patrols (each given as the categories it
    found failed) failed it. A mismatch: the spot check deducts `threshold_centi` or more while the month's patrols
    — at least one — passed it every time."""
    deducted: dict[str, int] = defaultdict(int)
    for category, deduction_centi, defects in spot_check_failed:
        deducted[category] += deduction_centi * defects
    out = []
    for code, points in categories.items():
        deduction = min(deducted.get(code, 0), points * 100)
        failed = sum(1 for found in patrol_failed_categories if code in found)
        patrols = len(patrol_failed_categories)
        out.append(CategoryComparison(code, points, deduction, patrols, failed, deduction >= threshold_centi and patrols > 0 and failed == 0))
    return tuple(out)


def credibility(checked: int, mismatched: int) -> Fraction | None:
    """The share of spot-checked estate-months without a mismatch (None: none was spot-checked)."""
    return None if checked == 0 else Fraction(checked - mismatched, checked)


def two_places(share: Fraction) -> Fraction:
    """A share rounded half-up to hundredths (the credibility figure as shown: "0.67")."""
    whole, rest = divmod(share.numerator * 100, share.denominator)
    return Fraction(whole + (1 if 2 * rest >= share.denominator else 0), 100)


def reconciliation_due(month: Month, now: datetime, rules: InspectionRules) -> bool:
    """A month is reconciled once every patrol of it is in: its end (Beijing time) plus the late tolerance, after
    which any record of it is late (and counts only once approved)."""
    end = datetime.combine(month.next().first_day, time(0), BUSINESS_TZ)
    return now >= end + rules.late_after
