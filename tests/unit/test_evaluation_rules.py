"""The rules of third-party project evaluation as pure functions (config/RULES.md, "Project evaluation")."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from community.evaluation import rules

CONFIG = Path(__file__).resolve().parents[2] / "config"
RULES = rules.parse_rules((CONFIG / "evaluation.toml").read_text(encoding="utf-8"), pass_mark=60)
FIRM = rules.OrganisationFacts("周志远", "022-23001234", "天津市和平区大沽北路1号", "52120101MJA000001X", frozenset({"刘丽娟"}), frozenset({41}))
CODES = [c.code for c in RULES.criteria]


def organisation(**changes: object) -> rules.OrganisationFacts:
    base: dict[str, object] = {
        "legal_representative": "王建华", "phone": "022-27775555", "address": "天津市和平区南京路9号", "credit_code": "52120101MJB999999Y",
        "staff_names": frozenset({"张海涛"}), "staff_accounts": frozenset({7}),
    }
    return rules.OrganisationFacts(**(base | changes))  # type: ignore[arg-type]


def test_the_six_criteria_weigh_as_the_district_set_them() -> None:
    assert [(c.name, c.weight) for c in RULES.criteria] == [("需求契合", 15), ("项目设计", 20), ("执行与产出", 25), ("项目成效", 20), ("受益人满意", 10), ("财务合规", 10)]
    assert rules.SATISFACTION not in [c.code for c in RULES.scored]


def test_weights_that_do_not_add_up_to_100_are_refused() -> None:
    text = (CONFIG / "evaluation.toml").read_text(encoding="utf-8").replace("weight = 25", "weight = 30")
    with pytest.raises(ValueError, match="add up to 100"):
        rules.parse_rules(text, 60)


def test_the_total_is_exact_and_shown_half_up_once() -> None:
    points = {"needs_fit": Fraction(80), "design": Fraction(70), "delivery": Fraction(90), "outcomes": Fraction(60), "satisfaction": Fraction(100), "finance": Fraction(100)}
    assert rules.total(points, RULES) == Fraction(161, 2)
    assert rules.score_text(Fraction(87125, 1000)) == "87.13"
    assert rules.score_text(Fraction(179, 3)) == "59.67"
    assert not rules.passes(Fraction(5999, 100), RULES) and rules.passes(Fraction(60), RULES)


def test_the_survey_score_averages_each_answer_from_0_to_100() -> None:
    assert rules.survey_points([(5, 5, 5)]) == 100
    assert rules.survey_points([(1, 1, 1), (5, 5, 5)]) == 50
    assert rules.survey_points([(2, 1, 2)]) == Fraction(50, 3)


def test_the_evaluator_scores_every_criterion_but_satisfaction_once() -> None:
    scored = {c.code: 70 for c in RULES.scored}
    assert rules.points_problem(scored, RULES) is None
    assert rules.points_problem(scored | {"satisfaction": 90}, RULES) is not None
    assert rules.points_problem({k: v for k, v in scored.items() if k != "design"}, RULES) is not None
    assert rules.points_problem(scored | {"design": 101}, RULES) is not None


@given(st.lists(st.integers(0, 100), min_size=6, max_size=6), st.integers(0, 5), st.integers(1, 100))
def test_the_total_stays_within_0_and_100_and_never_falls_when_a_criterion_rises(points: list[int], which: int, rise: int) -> None:
    exact = {code: Fraction(p) for code, p in zip(CODES, points, strict=True)}
    score = rules.total(exact, RULES)
    assert 0 <= score <= 100
    raised = exact | {CODES[which]: min(Fraction(100), exact[CODES[which]] + rise)}
    assert rules.total(raised, RULES) >= score


def test_a_passed_mid_term_releases_the_middle_tranches_and_the_final_the_last() -> None:
    assert [rules.tranche_gate(n, 3) for n in (1, 2, 3)] == [rules.SIGNING, rules.MIDTERM, rules.FINAL]
    assert rules.released_by(rules.MIDTERM, 3) == [2] and rules.released_by(rules.FINAL, 3) == [3]
    assert rules.released_by(rules.MIDTERM, 4) == [2, 3]


def test_the_final_follows_the_mid_term_and_opens_near_the_end() -> None:
    starts, ends = date(2026, 7, 1), date(2027, 6, 30)
    assert rules.midterm_due(starts, ends) == date(2026, 12, 30)
    assert rules.stage_problem(rules.MIDTERM, date(2026, 6, 30), starts, ends, False, RULES) is not None
    assert rules.stage_problem(rules.MIDTERM, date(2026, 7, 1), starts, ends, False, RULES) is None
    assert rules.stage_problem(rules.FINAL, date(2027, 6, 30), starts, ends, False, RULES) is not None
    assert rules.stage_problem(rules.FINAL, date(2027, 5, 30), starts, ends, True, RULES) is not None
    assert rules.stage_problem(rules.FINAL, date(2027, 5, 31), starts, ends, True, RULES) is None


def test_a_failed_final_bars_the_next_calendar_year() -> None:
    assert rules.barred_year(date(2027, 12, 31)) == 2028


def test_an_unrelated_firm_has_no_tie() -> None:
    assert rules.relations(FIRM, organisation(), evaluator_user_id=41) == []


@pytest.mark.parametrize(
    ("changes", "evaluator", "tie"),
    [
        ({"legal_representative": " 周 志远"}, None, "legal_representative"),
        ({"phone": "022-23001234"}, None, "phone"),
        ({"address": "天津市和平区大沽北路1号"}, None, "address"),
        ({"credit_code": "52120101MJA000001Z"}, None, "credit_code"),  # the same organisation code under another check character
        ({"staff_names": frozenset({"刘丽娟"})}, None, "staff"),
        ({"staff_accounts": frozenset({41})}, None, "staff"),
        ({"staff_accounts": frozenset({99})}, 99, "evaluator_on_staff"),
    ],
)
def test_a_firm_tied_to_the_organisation_is_named_by_its_tie(changes: dict[str, object], evaluator: int | None, tie: str) -> None:
    assert tie in rules.relations(FIRM, organisation(**changes), evaluator)


def test_blank_particulars_tie_nobody() -> None:
    blank = rules.OrganisationFacts("", "", "", "", frozenset(), frozenset())
    assert rules.relations(blank, blank, None) == []
