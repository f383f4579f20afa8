"""The monthly score of an estate, pure: value types in, score, grade and a breakdown of every record that moved
it out. Computed exactly (fractions), rounded half-up to two decimals once, at the end. No I/O, no ORM."""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

import msgspec


class Component(StrEnum):
    STREET_INSPECTION = "street_inspection"
    SPOT_CHECK = "spot_check"
    PATROL = "patrol"
    COMMITTEE = "committee"
    SATISFACTION = "satisfaction"
    COMPLAINTS = "complaints"


COMPONENT_NAMES = {
    Component.STREET_INSPECTION: "街道检查",
    Component.SPOT_CHECK: "第三方抽查",
    Component.PATROL: "日常巡查",
    Component.COMMITTEE: "居委会评价",
    Component.SATISFACTION: "居民满意度",
    Component.COMPLAINTS: "居民投诉",
}


class ScoringRulesError(ValueError):
    """config/scoring.toml is wrong; the message says where."""


@dataclass(frozen=True)
class ScoringRules:
    version: str
    sha256: str
    weights: Mapping[Component, int]
    overdue_factor: int
    twice_overdue_factor: int
    grades: tuple[tuple[str, Decimal], ...]  # (name, lowest score), highest first
    fail_grade: str
    # [complaints]: points off the complaints component per upheld complaint per 100 households, and per late
    # first response (used only when [weights] complaints > 0).
    upheld_points: Fraction = Fraction(0)
    late_points: Fraction = Fraction(0)


def parse_scoring_rules(text: str) -> ScoringRules:
    try:
        raw = tomllib.loads(text)
        weights = {Component(k): int(v) for k, v in raw["weights"].items()}
        weights.setdefault(Component.COMPLAINTS, 0)  # complaints are shown, not scored, unless given a weight
        complaints = raw.get("complaints", {})
        upheld_points, late_points = Fraction(str(complaints.get("upheld_per_100_households", "0"))), Fraction(str(complaints.get("late_first_response", "0")))
        grades = tuple((str(g["name"]), Decimal(str(g["min"]))) for g in raw["grades"])
        rules = ScoringRules(
            version=str(raw["version"]),
            sha256="",
            weights=weights,
            overdue_factor=int(raw["patrol"]["overdue_factor"]),
            twice_overdue_factor=int(raw["patrol"]["twice_overdue_factor"]),
            grades=tuple(sorted(grades, key=lambda g: g[1], reverse=True)),
            fail_grade=str(raw["fail"]["name"]),
            upheld_points=upheld_points,
            late_points=late_points,
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, ArithmeticError) as error:
        raise ScoringRulesError(f"config/scoring.toml: {type(error).__name__}: {error}") from None
    if set(weights) != set(Component) or sum(weights.values()) != 100 or min(weights.values()) < 0:
        raise ScoringRulesError("config/scoring.toml: [weights] needs every component, none negative, adding up to 100")
    if not rules.grades or any(not Decimal(0) < g[1] <= 100 for g in rules.grades):
        raise ScoringRulesError("config/scoring.toml: each grade needs a lowest score between 0 and 100")
    if upheld_points < 0 or late_points < 0:
        raise ScoringRulesError("config/scoring.toml: [complaints] points must not be negative")
    content: dict[str, Any] = {
        "version": rules.version,
        # Complaints without a weight leave the hash as it was before they could be scored.
        "weights": {c.value: w for c, w in sorted(weights.items()) if c is not Component.COMPLAINTS or w > 0},
        "overdue_factor": rules.overdue_factor,
        "twice_overdue_factor": rules.twice_overdue_factor,
        "grades": [[name, str(low)] for name, low in rules.grades],
        "fail_grade": rules.fail_grade,
    }
    if weights[Component.COMPLAINTS] > 0:
        content["complaints"] = {"upheld_per_100_households": str(upheld_points), "late_first_response": str(late_points)}
    return ScoringRules(**{**rules.__dict__, "sha256": hashlib.sha256(canonical(content)).hexdigest()})


def canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def plain(value: Any) -> Any:
    """A value of this module's dataclasses as plain dicts and lists (the same JSON as dataclasses.asdict gives,
    some forty times faster: a city month converts 10,000 inputs and scores)."""
    return msgspec.to_builtins(value)


# Inputs


@dataclass(frozen=True)
class Finding:
    """A failed checklist item of a record, as it stands after amendments and accepted appeals."""

    record_id: int
    item: str
    category: str
    deduction_centi: int  # per defect, hundredths of a point
    count: int = 1
    defect_id: int | None = None
    overdue_level: int = 0  # patrol findings: 0 fixed on time (or not yet due), 1 overdue, 2 twice overdue


@dataclass(frozen=True)
class Visit:
    """One street inspection or spot check of the month with its findings (none when all passed)."""

    record_id: int
    findings: tuple[Finding, ...] = ()
    late_from: str | None = None  # filed after its own month (this month) was locked: assessed here instead


@dataclass(frozen=True)
class Returned:
    """A record of the month returned to its filer for correction and still waiting (config/inspections.toml
    [returns] says what it counts for meanwhile)."""

    record_id: int
    component: str  # the component its source feeds
    counted: bool  # True: it counts as filed while it waits; False: it counts for nothing until corrected


@dataclass(frozen=True)
class Satisfaction:
    satisfied: int
    answered: int


@dataclass(frozen=True)
class ComplaintFacts:
    """The estate's residents' complaints of the month, as the complaints component reads them."""

    households: int
    upheld: int
    late_first_responses: int


@dataclass(frozen=True)
class MonthInputs:
    estate_id: int
    month: str
    categories: Mapping[str, int]  # category code → points (from the checklist version of the records)
    street_inspections: tuple[Visit, ...] = ()
    spot_checks: tuple[Visit, ...] = ()
    patrols_counted: int = 0
    patrol_findings: tuple[Finding, ...] = ()
    committee_opinion: int | None = None  # 0–100
    satisfaction: Satisfaction | None = None
    upheld_veto_ids: tuple[int, ...] = ()
    returned: tuple[Returned, ...] = ()
    complaints: ComplaintFacts | None = None  # read only when the rules give complaints a weight
    satisfaction_by_residents: bool = False  # the satisfaction figure is the residents' own QR answers

    def fingerprint(self) -> str:
        """sha256 of the inputs in canonical order: the same facts in any order give the same fingerprint."""
        return hashlib.sha256(canonical(normalised(self))).hexdigest()


def _finding_key(f: Finding) -> tuple[Any, ...]:
    return (f.record_id, f.item, f.defect_id or 0, f.count, f.overdue_level, f.deduction_centi, f.category)


def normalised(inputs: MonthInputs) -> dict[str, Any]:
    def visits(vs: Sequence[Visit]) -> list[dict[str, Any]]:
        return sorted(
            ({"record_id": v.record_id, "late_from": v.late_from, "findings": [plain(f) for f in sorted(v.findings, key=_finding_key)]} for v in vs),
            key=lambda v: v["record_id"],
        )

    returned: dict[str, Any] = {"returned": [plain(r) for r in sorted(inputs.returned, key=lambda r: r.record_id)]} if inputs.returned else {}
    returned |= {"complaints": plain(inputs.complaints)} if inputs.complaints is not None else {}
    returned |= {"satisfaction_by_residents": True} if inputs.satisfaction_by_residents else {}
    return returned | {
        "estate_id": inputs.estate_id,
        "month": inputs.month,
        "categories": dict(sorted(inputs.categories.items())),
        "street_inspections": visits(inputs.street_inspections),
        "spot_checks": visits(inputs.spot_checks),
        "patrols_counted": inputs.patrols_counted,
        "patrol_findings": [plain(f) for f in sorted(inputs.patrol_findings, key=_finding_key)],
        "committee_opinion": inputs.committee_opinion,
        "satisfaction": plain(inputs.satisfaction) if inputs.satisfaction else None,
        "upheld_veto_ids": sorted(inputs.upheld_veto_ids),
    }


# Output


@dataclass(frozen=True)
class Line:
    """One thing that moved the score: its component, the record behind it, and its effect."""

    component: str
    record_id: int | None
    defect_id: int | None
    item: str | None
    points: str  # effect on the component (0–100 scale), e.g. "-2.00"
    effect: str  # effect on the final score, four decimals, e.g. "-0.5000"
    note: str


@dataclass(frozen=True)
class ComponentScore:
    component: str
    score: str  # two decimals
    weight: int
    effective_weight: str  # after re-weighting for missing components, four decimals
    records: int


@dataclass(frozen=True)
class MonthScore:
    estate_id: int
    month: str
    score: str | None  # two decimals; None when no component had data
    score_centi: int | None
    grade: str
    vetoed: bool
    components: tuple[ComponentScore, ...]
    missing: tuple[str, ...]  # components left out for lack of data
    lines: tuple[Line, ...] = field(default=())
    rules_sha256: str = ""
    inputs_sha256: str = ""

    def to_json(self) -> bytes:
        """Canonical bytes: the same inputs and rules always give the same bytes."""
        return canonical(plain(self))


NO_SCORE = "未评分"
# What a returned record counts for while it waits (config/inspections.toml [returns] counts_while_waiting).
RETURNED_COUNTS = {True: "等待期间按原报计入（配置 inspections.toml [returns]）", False: "等待期间不计入（配置 inspections.toml [returns]）"}


def _fixed(value: Fraction, places: int) -> str:
    """A fraction as a decimal text with `places` (≥ 1) decimals, half-up away from zero (for showing; scores use
    round_centi), in integers: the text Decimal's quantize(ROUND_HALF_UP) gives, "-0.00" for a small negative
    included."""
    scaled, rest = divmod(abs(value.numerator) * 10**places, value.denominator)
    if 2 * rest >= value.denominator:
        scaled += 1
    digits = str(scaled).rjust(places + 1, "0")
    return f"{'-' if value.numerator < 0 else ''}{digits[:-places]}.{digits[-places:]}"


def round_centi(value: Fraction) -> int:
    """Half-up to hundredths, exactly (no float)."""
    hundredfold = value * 100
    whole, rest = divmod(hundredfold.numerator, hundredfold.denominator)
    return whole + (1 if 2 * rest >= hundredfold.denominator else 0)


def _record_score(findings: Sequence[Finding], categories: Mapping[str, int], factor_of: Callable[[Finding], int]) -> tuple[Fraction, list[tuple[Finding, Fraction]]]:
    """100 − deductions, no category below 0: the score (0–100) and each finding's real deduction after floors
    (worked in hundredths of a point, which every deduction is, so exactly)."""
    left = {code: points * 100 for code, points in categories.items()}
    effects: list[tuple[Finding, Fraction]] = []
    taken = 0
    for f in sorted(findings, key=_finding_key):
        available = left.get(f.category, 0)
        real = min(f.deduction_centi * f.count * factor_of(f), available)
        left[f.category] = available - real
        taken += real
        effects.append((f, Fraction(real, 100)))
    return Fraction(10_000 - taken, 100), effects


def score_month(inputs: MonthInputs, rules: ScoringRules) -> MonthScore:
    """The month's score of one estate, with the breakdown of every record and fact that moved it."""
    present: dict[Component, tuple[Fraction, int]] = {}
    late_records: list[tuple[Component, int, str]] = []
    pending_lines: list[tuple[Component, Fraction, Finding | None, str, int]] = []  # component, component points, finding, note, n records

    for component, visits in ((Component.STREET_INSPECTION, inputs.street_inspections), (Component.SPOT_CHECK, inputs.spot_checks)):
        if not visits:
            continue
        scores = []
        for visit in sorted(visits, key=lambda v: v.record_id):
            score, effects = _record_score(visit.findings, inputs.categories, lambda f: 1)
            scores.append(score)
            late = f"（补录：原属 {visit.late_from}，该月已锁定）" if visit.late_from else ""
            for finding, real in effects:
                pending_lines.append((component, -real, finding, _finding_note(finding, real, 1) + late, len(visits)))
            if visit.late_from:
                late_records.append((component, visit.record_id, late))
        present[component] = (sum(scores, Fraction(0)) / len(scores), len(visits))

    if inputs.patrols_counted:
        factors = {0: 0, 1: rules.overdue_factor, 2: rules.twice_overdue_factor}
        score, effects = _record_score(inputs.patrol_findings, inputs.categories, lambda f: factors[min(f.overdue_level, 2)])
        present[Component.PATROL] = (score, inputs.patrols_counted)
        for finding, real in effects:
            pending_lines.append((Component.PATROL, -real, finding, _finding_note(finding, real, factors[min(finding.overdue_level, 2)]), 1))

    if inputs.committee_opinion is not None:
        present[Component.COMMITTEE] = (Fraction(inputs.committee_opinion), 1)
        pending_lines.append((Component.COMMITTEE, Fraction(inputs.committee_opinion) - 100, None, f"居委会评价 {inputs.committee_opinion} 分", 1))
    if inputs.satisfaction is not None and inputs.satisfaction.answered > 0:
        share = Fraction(100 * inputs.satisfaction.satisfied, inputs.satisfaction.answered)
        present[Component.SATISFACTION] = (share, 1)
        pending_lines.append(
            (Component.SATISFACTION, share - 100, None, f"{'居民扫码答卷 ' if inputs.satisfaction_by_residents else ''}满意 {inputs.satisfaction.satisfied}/{inputs.satisfaction.answered}", 1)
        )

    if rules.weights[Component.COMPLAINTS] > 0 and inputs.complaints is not None and present:
        facts = inputs.complaints
        upheld_off = Fraction(facts.upheld * 100, max(facts.households, 100)) * rules.upheld_points
        late_off = facts.late_first_responses * rules.late_points
        present[Component.COMPLAINTS] = (max(Fraction(0), 100 - upheld_off - late_off), 1)
        if upheld_off:
            pending_lines.append((Component.COMPLAINTS, -min(upheld_off, Fraction(100)), None, f"查实投诉 {facts.upheld} 件（{max(facts.households, 100)} 户计）", 1))
        if late_off:
            pending_lines.append((Component.COMPLAINTS, -min(late_off, max(Fraction(0), 100 - upheld_off)), None, f"首次响应超时 {facts.late_first_responses} 件", 1))

    total_weight = sum(rules.weights[c] for c in present if rules.weights[c] > 0)
    weights = {c: Fraction(rules.weights[c], total_weight) for c in present} if total_weight else {}
    # Complaints without a weight are shown on their own lines, not listed as a component left out.
    missing = tuple(c.value for c in Component if (c not in present or rules.weights[c] == 0) and (c is not Component.COMPLAINTS or rules.weights[c] > 0))
    vetoed = bool(inputs.upheld_veto_ids)
    lines = [
        Line(
            component=c.value,
            record_id=f.record_id if f else None,
            defect_id=f.defect_id if f else None,
            item=f.item if f else None,
            points=_fixed(points, 2),
            effect=_fixed(points / n * weights.get(c, Fraction(0)), 4),
            note=note,
        )
        for c, points, f, note, n in pending_lines
        if points != 0 and c in weights
    ]
    lines += [Line(c.value, record_id, None, None, "0.00", "0.0000", f"记录 #{record_id}{note}") for c, record_id, note in late_records]
    lines += [
        Line(r.component, r.record_id, None, None, "0.00", "0.0000", f"记录 #{r.record_id} 已退回更正，等待提交人更正：{RETURNED_COUNTS[r.counted]}")
        for r in sorted(inputs.returned, key=lambda r: r.record_id)
    ]
    lines += [Line("veto", None, None, None, "0.00", "0.0000", f"一票否决 #{veto_id} 维持：本月不合格") for veto_id in sorted(inputs.upheld_veto_ids)]
    components = tuple(
        ComponentScore(component=c.value, score=_fixed(s, 2), weight=rules.weights[c], effective_weight=_fixed(weights[c], 4), records=n)
        for c, (s, n) in sorted(present.items(), key=lambda kv: list(Component).index(kv[0]))
        if c in weights
    )
    if not weights:
        score_centi = None
        grade = NO_SCORE
    else:
        score_centi = round_centi(sum((s * weights[c] for c, (s, _) in present.items() if c in weights), Fraction(0)))
        grade = grade_of(score_centi, rules)
    if vetoed:
        grade = rules.fail_grade
    return MonthScore(
        estate_id=inputs.estate_id,
        month=inputs.month,
        score=None if score_centi is None else f"{score_centi // 100}.{score_centi % 100:02d}",
        score_centi=score_centi,
        grade=grade,
        vetoed=vetoed,
        components=components,
        missing=missing,
        lines=tuple(lines),
        rules_sha256=rules.sha256,
        inputs_sha256=inputs.fingerprint(),
    )


def grade_of(score_centi: int, rules: ScoringRules) -> str:
    for name, lowest in rules.grades:
        if Decimal(score_centi) / 100 >= lowest:
            return name
    return rules.fail_grade


def _finding_note(f: Finding, real: Fraction, factor: int) -> str:
    nominal = Fraction(f.deduction_centi * f.count * factor, 100)
    text = f"{f.item} ×{f.count}"
    if f.overdue_level == 1:
        text += " 逾期整改"
    elif f.overdue_level >= 2:
        text += " 二次逾期（双倍扣分）"
    elif factor == 0:
        text += " 按期整改，不扣分"
    if real < nominal:
        text += f"（该类扣至 0，实扣 {_fixed(real, 2)}）"
    return text


def overdue_level(raised_at: datetime, deadline: datetime, fixed_at: datetime | None, now: datetime) -> int:
    """0: fixed on time (or not yet due); 1: overdue; 2: twice overdue, when the fix came (or has still not come)
    more than one whole rectification period after the deadline. `fixed_at`: when the fix that stands (accepted
    or awaiting verification) was reported."""
    end = fixed_at if fixed_at is not None else now
    if end <= deadline:
        return 0
    return 2 if end - deadline > deadline - raised_at else 1


# The reasons a committee director may give for a veto (sourced from several cities' schemes; config/RULES.md, "Vetoes").
VETO_REASONS: dict[str, str] = {
    "safety_accident": "因服务原因发生重大安全事故",
    "facility_damage_unreported": "公共设施严重损坏未及时报修",
    "gate_unattended": "门岗长时间无人值守或值守人员睡岗",
    "mass_complaint": "因服务原因引发群体性投诉或事件",
    "refused_rectification": "拒不整改",
    "falsified_records": "伪造巡查记录、照片或台账",
    "shared_income_misuse": "挪用公共收益",
    "annual_satisfaction_below_80": "年度满意度低于80%",
}
AUTOMATIC_VETO_REASONS: dict[str, str] = {
    "veto_item_defect": "一票否决项问题经街道确认",
    "third_overdue": "当月第三次逾期整改",
}


@dataclass(frozen=True)
class Ranked:
    estate_id: int
    code: str
    score_centi: int | None
    vetoed: bool
    committee_opinion: int | None


def rank(rows: Sequence[Ranked]) -> list[tuple[int, Ranked]]:
    """Competition ranking (1, 2, 2, 4): unscored months last; vetoed months after every month that was not;
    then higher score first. Equal on those, the same rank; listed by higher committee opinion, then estate code."""

    def standing(r: Ranked) -> tuple[int, int, int]:
        return (r.score_centi is None, r.vetoed, -(r.score_centi or 0))

    ordered = sorted(rows, key=lambda r: (*standing(r), -(r.committee_opinion or 0), r.code))
    ranked: list[tuple[int, Ranked]] = []
    for n, row in enumerate(ordered, start=1):
        same = ranked and standing(ranked[-1][1]) == standing(row)
        ranked.append((ranked[-1][0] if same else n, row))
    return ranked
