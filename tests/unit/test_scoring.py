"""The monthly score: a worked example by hand, and the properties every score must have."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.rules import (
    ComplaintFacts,
    Component,
    Finding,
    MonthInputs,
    Returned,
    Satisfaction,
    Visit,
    _fixed,
    canonical,
    parse_scoring_rules,
    plain,
    round_centi,
    score_month,
)
from foundation.settings import PROJECT_ROOT

RULES = parse_scoring_rules((PROJECT_ROOT / "config" / "scoring.toml").read_text())
CATEGORIES = {"management": 15, "cleaning": 30, "gate_patrol": 25, "parking": 10, "order": 10, "fees": 10}


def worked_example(**changes) -> MonthInputs:  # type: ignore[no-untyped-def]
    """The estate's month, as the docstring of the test below computes it by hand."""
    example = MonthInputs(
        estate_id=7,
        month="2026-10",
        categories=CATEGORIES,
        street_inspections=(
            Visit(101, (Finding(101, "C01", "cleaning", 200, defect_id=1), Finding(101, "G02", "gate_patrol", 100, defect_id=2))),
        ),
        spot_checks=(Visit(201, (Finding(201, "C06", "cleaning", 100, count=2, defect_id=3),)),),
        patrols_counted=30,
        patrol_findings=(
            Finding(301, "P01", "parking", 100, defect_id=4, overdue_level=0),
            Finding(302, "C02", "cleaning", 100, defect_id=5, overdue_level=1),
            Finding(303, "G01", "gate_patrol", 200, defect_id=6, overdue_level=2),
        ),
        committee_opinion=82,
        satisfaction=Satisfaction(satisfied=76, answered=100),
    )
    return replace(example, **changes)


def test_the_worked_example_gives_the_hand_computed_score_and_grade() -> None:
    """By hand:
    street inspection: 100 − 2 (C01) − 1 (G02)                 = 97
    spot check:        100 − 2 × 1 (C06, two defects)          = 98
    patrol:            P01 fixed on time 0; C02 overdue −1; G01 twice overdue −2 × 2 = −4 → 100 − 5 = 95
    committee opinion: 82; satisfaction: 76 of 100 answers     = 76
    score = 0.25 × 97 + 0.20 × 98 + 0.15 × 95 + 0.30 × 82 + 0.10 × 76
          = 24.25 + 19.60 + 14.25 + 24.60 + 7.60 = 90.30 → 优秀 (≥ 90)
    Without the spot check the other weights (25 + 15 + 30 + 10 = 80) are re-weighted:
    (25 × 97 + 15 × 95 + 30 × 82 + 10 × 76) / 80 = 7070 / 80 = 88.375 → 88.38 (half-up) → 良好
    With an upheld veto the month is 不合格 whatever the points.
    """
    result = score_month(worked_example(), RULES)
    assert (result.score, result.grade, result.vetoed) == ("90.30", "优秀", False)
    assert {c.component: c.score for c in result.components} == {
        "street_inspection": "97.00", "spot_check": "98.00", "patrol": "95.00", "committee": "82.00", "satisfaction": "76.00",
    }
    by_defect = {line.defect_id: (line.points, line.effect) for line in result.lines if line.defect_id}
    assert by_defect == {
        1: ("-2.00", "-0.5000"), 2: ("-1.00", "-0.2500"), 3: ("-2.00", "-0.4000"), 5: ("-1.00", "-0.1500"), 6: ("-4.00", "-0.6000"),
    }
    assert 4 not in by_defect  # fixed on time: costs nothing

    reweighted = score_month(worked_example(spot_checks=()), RULES)
    assert (reweighted.score, reweighted.grade, reweighted.missing) == ("88.38", "良好", ("spot_check",))

    vetoed = score_month(worked_example(upheld_veto_ids=(9,)), RULES)
    assert (vetoed.score, vetoed.grade, vetoed.vetoed) == ("90.30", "不合格", True)
    assert any("一票否决" in line.note for line in vetoed.lines)


def test_the_fast_conversion_keeps_every_stored_fingerprint_and_breakdown_as_they_were() -> None:
    """Scores stored before keep their inputs hash (a recomputation with the same facts makes no new version) and
    their breakdown: plain() gives the JSON dataclasses.asdict gave."""
    from dataclasses import asdict

    inputs = worked_example(
        returned=(Returned(401, "patrol", True),), complaints=ComplaintFacts(households=170, upheld=2, late_first_responses=1), satisfaction_by_residents=True,
    )
    result = score_month(inputs, RULES)
    assert canonical(plain(result)) == canonical(asdict(result))
    for part in (*inputs.street_inspections, *inputs.patrol_findings, inputs.satisfaction, *inputs.returned, inputs.complaints):
        assert canonical(plain(part)) == canonical(asdict(part))
    assert result.inputs_sha256 == "152c723d956a884685f55ea4171cc0f542dcc26c7a8b7673926d0a6bd88e8d8a"  # as main computed it


def test_complaints_without_a_weight_leave_the_score_and_the_rules_hash_as_they_were() -> None:
    text = (PROJECT_ROOT / "config" / "scoring.toml").read_text()
    assert RULES.weights[Component.COMPLAINTS] == 0
    before = parse_scoring_rules(text.replace("complaints = 0 ", "# complaints = 0 "))  # a file from before complaints could be scored
    assert before.sha256 == RULES.sha256
    result = score_month(worked_example(complaints=ComplaintFacts(households=300, upheld=3, late_first_responses=2)), RULES)
    assert (result.score, result.grade) == ("90.30", "优秀")
    assert "complaints" not in {c.component for c in result.components} and "complaints" not in result.missing


def test_a_complaints_weight_changes_the_score_by_exactly_its_share() -> None:
    """Weights 25/20/15/20/10/10 (committee gives 10 to complaints); 300 households, 3 upheld, 2 late first responses:
    complaints component = 100 − 3 × 100/300 × 5 − 2 × 2 = 91. Against the same month without any complaint (100),
    the score moves by 0.10 × (100 − 91) = 0.90: 92.10 → 91.20."""
    text = (PROJECT_ROOT / "config" / "scoring.toml").read_text()
    weighted = parse_scoring_rules(text.replace("committee = 30 ", "committee = 20 ").replace("complaints = 0 ", "complaints = 10 "))
    assert weighted.sha256 != RULES.sha256
    quiet = score_month(worked_example(complaints=ComplaintFacts(300, 0, 0)), weighted)
    noisy = score_month(worked_example(complaints=ComplaintFacts(300, 3, 2)), weighted)
    assert (quiet.score, noisy.score) == ("92.10", "91.20")
    assert {c.component: c.score for c in noisy.components}["complaints"] == "91.00"
    assert sorted((line.points, line.effect) for line in noisy.lines if line.component == "complaints") == [("-4.00", "-0.4000"), ("-5.00", "-0.5000")]
    small = score_month(worked_example(complaints=ComplaintFacts(40, 1, 0)), weighted)  # under 100 households counts as 100
    assert {c.component: c.score for c in small.components}["complaints"] == "95.00"


def test_a_category_never_goes_below_zero() -> None:
    heavy = tuple(Finding(101, f"P0{n}", "parking", 500, defect_id=n) for n in range(1, 4))  # 15 points asked of a 10-point category
    result = score_month(MonthInputs(estate_id=1, month="2026-10", categories=CATEGORIES, street_inspections=(Visit(101, heavy),)), RULES)
    assert result.score == "90.00"
    assert [line.points for line in result.lines] == ["-5.00", "-5.00"]


def test_grade_bands_follow_the_sourced_thresholds() -> None:
    grades = {opinion: score_month(MonthInputs(1, "2026-10", CATEGORIES, committee_opinion=opinion), RULES).grade for opinion in (100, 90, 89, 80, 79, 70, 69, 0)}
    assert grades == {100: "优秀", 90: "优秀", 89: "良好", 80: "良好", 79: "合格", 70: "合格", 69: "不合格", 0: "不合格"}


def test_a_month_without_any_data_has_no_score() -> None:
    result = score_month(MonthInputs(1, "2026-10", CATEGORIES), RULES)
    assert result.score is None and result.grade == "未评分" and len(result.missing) == 5


items = st.sampled_from([("C01", "cleaning", 200), ("C03", "cleaning", 50), ("G01", "gate_patrol", 200), ("P01", "parking", 100), ("F01", "fees", 100), ("M02", "management", 50)])


@st.composite
def findings(draw, record_id: int, patrol: bool = False):  # type: ignore[no-untyped-def]
    chosen = draw(st.lists(items, max_size=6))
    return tuple(
        Finding(record_id, code, category, deduction, count=draw(st.integers(1, 3)), defect_id=record_id * 10 + n, overdue_level=draw(st.integers(0, 2)) if patrol else 0)
        for n, (code, category, deduction) in enumerate(chosen)
    )


@st.composite
def months(draw):  # type: ignore[no-untyped-def]
    visits = lambda base: tuple(Visit(base + n, draw(findings(base + n))) for n in range(draw(st.integers(0, 3))))  # noqa: E731
    answered = draw(st.integers(0, 300))
    return MonthInputs(
        estate_id=1,
        month="2026-10",
        categories=CATEGORIES,
        street_inspections=visits(100),
        spot_checks=visits(200),
        patrols_counted=draw(st.integers(0, 31)),
        patrol_findings=draw(findings(300, patrol=True)),
        committee_opinion=draw(st.none() | st.integers(0, 100)),
        satisfaction=None if answered == 0 else Satisfaction(draw(st.integers(0, answered)), answered),
        upheld_veto_ids=draw(st.sampled_from([(), (5,)])),
    )


@settings(max_examples=300, deadline=None)
@given(month=months())
def test_a_score_is_within_0_and_100_and_recomputes_byte_identically(month: MonthInputs) -> None:
    result = score_month(month, RULES)
    assert result.score_centi is None or 0 <= result.score_centi <= 10_000
    assert result.to_json() == score_month(month, RULES).to_json()


@settings(max_examples=300, deadline=None)
@given(month=months(), extra=items, where=st.sampled_from(["street", "spot", "patrol"]))
def test_adding_a_defect_never_raises_the_score(month: MonthInputs, extra, where: str) -> None:
    before = score_month(month, RULES)
    code, category, deduction = extra
    if where == "patrol":
        changed = replace(month, patrols_counted=max(month.patrols_counted, 1), patrol_findings=(*month.patrol_findings, Finding(999, code, category, deduction, overdue_level=1)))
        before = score_month(replace(month, patrols_counted=max(month.patrols_counted, 1)), RULES)
    else:
        field = "street_inspections" if where == "street" else "spot_checks"
        visits = getattr(month, field) or (Visit(998),)
        first = visits[0]
        changed = replace(month, **{field: (Visit(first.record_id, (*first.findings, Finding(first.record_id, code, category, deduction))), *visits[1:]) })
        before = score_month(replace(month, **{field: visits}), RULES)
    after = score_month(changed, RULES)
    assert after.score_centi is not None and before.score_centi is not None
    assert after.score_centi <= before.score_centi


@settings(max_examples=200, deadline=None)
@given(month=months(), seed=st.integers())
def test_the_order_of_records_never_changes_the_result(month: MonthInputs, seed: int) -> None:
    rng = random.Random(seed)

    def shuffled(values):  # type: ignore[no-untyped-def]
        values = list(values)
        rng.shuffle(values)
        return tuple(values)

    reordered = replace(
        month,
        street_inspections=shuffled(Visit(v.record_id, shuffled(v.findings)) for v in month.street_inspections),
        spot_checks=shuffled(Visit(v.record_id, shuffled(v.findings)) for v in month.spot_checks),
        patrol_findings=shuffled(month.patrol_findings),
    )
    assert score_month(reordered, RULES).to_json() == score_month(month, RULES).to_json()


@settings(max_examples=200, deadline=None)
@given(month=months(), dropped=st.sampled_from([c for c in Component if c is not Component.COMPLAINTS]))
def test_dropping_a_component_reweights_the_rest_to_the_same_total(month: MonthInputs, dropped: Component) -> None:
    without = {
        Component.STREET_INSPECTION: {"street_inspections": ()},
        Component.SPOT_CHECK: {"spot_checks": ()},
        Component.PATROL: {"patrols_counted": 0, "patrol_findings": ()},
        Component.COMMITTEE: {"committee_opinion": None},
        Component.SATISFACTION: {"satisfaction": None},
    }[dropped]
    result = score_month(replace(month, **without), RULES)
    assert dropped.value in result.missing
    if result.score_centi is None:
        return
    present = {Component(c.component): Fraction(c.score) for c in result.components}
    total = sum(RULES.weights[c] for c in present)
    assert sum(Fraction(RULES.weights[c], total) for c in present) == 1
    # The score is the re-weighted mean of the components left (their shown scores are rounded, hence the slack).
    mean = sum(Fraction(RULES.weights[c], total) * s for c, s in present.items())
    assert abs(round_centi(mean) - result.score_centi) <= 1


@settings(max_examples=3000, deadline=None)
@given(st.fractions(max_denominator=10**7) | st.builds(lambda n, places: Fraction(2 * n + 1, 2 * 10**places), st.integers(-(10**9), 10**9), st.sampled_from((2, 4))), st.sampled_from((2, 4)))
def test_a_shown_figure_is_the_text_decimal_half_up_gives(value: Fraction, places: int) -> None:
    """The breakdown's figures (points 2 places, effects 4) are worked in integers; they read as Decimal's half-up
    quantize reads them, halves (away from zero) and small negatives ("-0.00") included, so stored breakdowns keep
    their bytes."""
    with localcontext() as context:
        context.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        expected = str(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    assert _fixed(value, places) == expected
