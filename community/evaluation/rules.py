"""The rules of third-party project evaluation (config/RULES.md, "Project evaluation"), pure: the six weighted
criteria, the beneficiaries' survey score, the total and its pass, when each evaluation may be filed and falls due,
which tranche each evaluation releases, the ties that disqualify an evaluation firm, and the year a failed final
evaluation bars. No I/O, no ORM."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

MIDTERM = "midterm"  # 中期评估
FINAL = "final"  # 结项评估
STAGES = (MIDTERM, FINAL)
STAGE_NAMES = {MIDTERM: "中期评估", FINAL: "结项评估"}
SIGNING = "signing"
SATISFACTION = "satisfaction"
CHANNELS = {"paper": "纸质问卷", "phone": "电话回访"}
SURVEY_QUESTIONS = (("overall", "总体满意度"), ("attitude", "服务态度"), ("effect", "服务效果"))


@dataclass(frozen=True)
class Criterion:
    code: str
    name: str  # in Chinese, as pages and releases show it
    weight: int  # points out of 100


@dataclass(frozen=True)
class EvaluationRules:
    criteria: tuple[Criterion, ...]
    min_surveys: int
    final_opens_days_before_end: int
    remind_days_before: int
    pass_mark: int  # config/calls.toml [tranches] pass_mark

    @property
    def scored(self) -> tuple[Criterion, ...]:
        """The criteria the evaluator scores (all but the survey's)."""
        return tuple(c for c in self.criteria if c.code != SATISFACTION)

    def sha256(self) -> str:
        text = ";".join(f"{c.code}={c.weight}" for c in self.criteria) + f";pass={self.pass_mark};surveys={self.min_surveys}"
        return hashlib.sha256(text.encode()).hexdigest()


def parse_rules(text: str, pass_mark: int) -> EvaluationRules:
    """config/evaluation.toml, checked: six or more distinct criteria whose weights add up to 100, one of them the
    beneficiaries' satisfaction."""
    raw = tomllib.loads(text)
    criteria = []
    for entry in raw.get("criteria", []):
        code, name, weight = entry.get("code"), entry.get("name"), entry.get("weight")
        if not isinstance(code, str) or not isinstance(name, str) or not name or isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
            raise ValueError("config/evaluation.toml [[criteria]] each has a code, a name and a positive whole weight")
        criteria.append(Criterion(code, name, weight))
    codes = [c.code for c in criteria]
    if len(set(codes)) != len(codes) or SATISFACTION not in codes:
        raise ValueError(f"config/evaluation.toml [[criteria]] codes are distinct and one of them is {SATISFACTION!r}")
    if sum(c.weight for c in criteria) != 100:
        raise ValueError("config/evaluation.toml [[criteria]] weights add up to 100")

    def number(section: str, key: str, minimum: int) -> int:
        value = raw.get(section, {}).get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"config/evaluation.toml [{section}] {key} is a whole number of at least {minimum}")
        return value

    return EvaluationRules(
        criteria=tuple(criteria),
        min_surveys=number("surveys", "min_surveys", 1),
        final_opens_days_before_end=number("due", "final_opens_days_before_end", 0),
        remind_days_before=number("due", "remind_days_before", 0),
        pass_mark=pass_mark,
    )


# Scores


def survey_points(answers: Sequence[Sequence[int]]) -> Fraction:
    """The beneficiaries' satisfaction on 0–100: each answer 1–5 counts (answer − 1) × 25, averaged over each
    survey's answers and then over the surveys, exactly."""
    if not answers:
        raise ValueError("no survey to score")
    per_survey = [Fraction(sum((a - 1) * 25 for a in survey), len(survey)) for survey in answers]
    return sum(per_survey, Fraction(0)) / len(per_survey)


def points_problem(points: Mapping[str, int], rules: EvaluationRules) -> str | None:
    """Each criterion the evaluator scores, once, 0–100; the satisfaction criterion comes from the surveys."""
    expected = {c.code for c in rules.scored}
    if SATISFACTION in points:
        return "the beneficiaries' satisfaction is scored by their surveys, not by the evaluator"
    missing, unknown = sorted(expected - set(points)), sorted(set(points) - expected)
    if missing or unknown:
        return f"score each criterion once: missing {', '.join(missing) or 'none'}, unknown {', '.join(unknown) or 'none'}"
    outside = sorted(code for code, value in points.items() if not 0 <= value <= 100)
    if outside:
        return f"points are 0–100: {', '.join(outside)}"
    return None


def total(points: Mapping[str, Fraction], rules: EvaluationRules) -> Fraction:
    """The weighted total out of 100, exactly: Σ weight × points / 100."""
    return sum((Fraction(c.weight) * points[c.code] / 100 for c in rules.criteria), Fraction(0))


def score_text(score: Fraction) -> str:
    """Two decimals, half-up (87.125 → "87.13"), rounded once for showing; the pass is judged on the exact value."""
    hundredths = score * 100
    whole = (hundredths.numerator * 2 + hundredths.denominator) // (2 * hundredths.denominator)
    return f"{whole // 100}.{whole % 100:02d}"


def passes(score: Fraction, rules: EvaluationRules) -> bool:
    return score >= rules.pass_mark


# When


def midterm_due(starts_on: date, ends_on: date) -> date:
    """The mid-term falls due half-way through the contract."""
    return starts_on + timedelta(days=(ends_on - starts_on).days // 2)


def final_opens(ends_on: date, rules: EvaluationRules) -> date:
    return ends_on - timedelta(days=rules.final_opens_days_before_end)


def due_on(stage: str, starts_on: date, ends_on: date) -> date:
    return midterm_due(starts_on, ends_on) if stage == MIDTERM else ends_on


def stage_problem(stage: str, today: date, starts_on: date, ends_on: date, midterm_filed: bool, rules: EvaluationRules) -> str | None:
    """A mid-term is filed once the contract has begun; the final after the mid-term, from its opening day."""
    if stage == MIDTERM and today < starts_on:
        return f"the contract starts on {starts_on.isoformat()}; its mid-term evaluation comes after"
    if stage == FINAL:
        if not midterm_filed:
            return "the final evaluation follows the mid-term evaluation; file the mid-term first"
        if today < final_opens(ends_on, rules):
            return f"the final evaluation is filed from {final_opens(ends_on, rules).isoformat()} ({rules.final_opens_days_before_end} days before the contract ends)"
    return None


def reminder_due(stage: str, today: date, starts_on: date, ends_on: date, rules: EvaluationRules) -> bool:
    return today >= due_on(stage, starts_on, ends_on) - timedelta(days=rules.remind_days_before)


# Tranches


def tranche_gate(number: int, count: int) -> str:
    """What makes a tranche payable: the first the signing, the last the final evaluation, any other the mid-term."""
    if number == 1:
        return SIGNING
    return FINAL if number == count else MIDTERM


def released_by(stage: str, count: int) -> list[int]:
    """The tranches a passed evaluation of `stage` makes payable."""
    return [n for n in range(1, count + 1) if tranche_gate(n, count) == stage]


def barred_year(final_on: date) -> int:
    """A failed final evaluation bars the organisation from the calls opened in the next calendar year."""
    return final_on.year + 1


# Independence


@dataclass(frozen=True)
class OrganisationFacts:
    """What ties two organisations together: the facts the panel compares between bids, the organisation code inside
    the unified social credit code, and their staff (names and linked accounts)."""

    legal_representative: str
    phone: str
    address: str
    credit_code: str
    staff_names: frozenset[str]
    staff_accounts: frozenset[int]


RELATION_NAMES = {
    "legal_representative": "同一法定代表人",
    "phone": "联系电话相同",
    "address": "地址相同",
    "credit_code": "统一社会信用代码中的组织机构代码相同",
    "staff": "有共同的工作人员",
    "evaluator_on_staff": "评估人员是该机构的工作人员",
}


def _same(a: str, b: str) -> bool:
    return bool(a.strip()) and "".join(a.split()).upper() == "".join(b.split()).upper()


def relations(firm: OrganisationFacts, organisation: OrganisationFacts, evaluator_user_id: int | None) -> list[str]:
    """The ties (RELATION_NAMES keys) between an evaluation firm (and its evaluator) and the organisation whose project
    it would evaluate; any tie disqualifies the firm."""
    found = []
    if _same(firm.legal_representative, organisation.legal_representative):
        found.append("legal_representative")
    if _same(firm.phone, organisation.phone):
        found.append("phone")
    if _same(firm.address, organisation.address):
        found.append("address")
    if len(firm.credit_code) == 18 and len(organisation.credit_code) == 18 and firm.credit_code[8:17] == organisation.credit_code[8:17]:
        found.append("credit_code")
    if firm.staff_names & organisation.staff_names or firm.staff_accounts & organisation.staff_accounts:
        found.append("staff")
    if evaluator_user_id is not None and evaluator_user_id in organisation.staff_accounts:
        found.append("evaluator_on_staff")
    return found
