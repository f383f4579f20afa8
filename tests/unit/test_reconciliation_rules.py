"""Reconciliation of self-report and spot check, pure (config/RULES.md, "Evidence integrity"): a category is a mismatch
exactly when the spot check deducts the threshold or more while the month's patrols, at least one, passed it every
time; the credibility figure is the share of spot-checked estate-months without a mismatch."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foundation.periods import Month
from inspections.rules import (
    ChecklistError,
    InspectionRules,
    WhileReturned,
    compare_categories,
    credibility,
    parse_reconciliation_rules,
    reconciliation_due,
    two_places,
)

CATEGORIES = {"cleaning": 30, "parking": 10}
PASSED_TWICE = [frozenset(), frozenset()]


def mismatches(spot: list[tuple[str, int, int]], patrols: list[frozenset[str]]) -> set[str]:
    return {c.category for c in compare_categories(CATEGORIES, spot, patrols, 500) if c.mismatch}


def test_a_category_deducted_5_points_that_every_patrol_passed_is_a_mismatch() -> None:
    assert mismatches([("cleaning", 100, 5)], PASSED_TWICE) == {"cleaning"}  # exactly the threshold
    assert mismatches([("cleaning", 200, 2), ("cleaning", 50, 2)], PASSED_TWICE) == {"cleaning"}  # 4 + 1 over two items


def test_no_mismatch_under_the_threshold_when_a_patrol_failed_it_or_when_nobody_patrolled() -> None:
    assert mismatches([("cleaning", 100, 4), ("cleaning", 50, 1)], PASSED_TWICE) == set()  # 4.50
    assert mismatches([("cleaning", 200, 3)], [frozenset(), frozenset({"cleaning"})]) == set()
    assert mismatches([("cleaning", 200, 3)], []) == set()
    # A patrol that failed another category still passed this one.
    assert mismatches([("cleaning", 200, 3)], [frozenset({"parking"})]) == {"cleaning"}


def test_the_deduction_stops_at_the_categorys_points() -> None:
    [_, parking] = compare_categories(CATEGORIES, [("parking", 200, 9)], PASSED_TWICE, 500)
    assert (parking.spot_check_deduction_centi, parking.patrols, parking.patrols_failed, parking.mismatch) == (1000, 2, 0, True)


@given(st.integers(min_value=0, max_value=50), st.integers(min_value=0, max_value=50))
def test_credibility_is_the_share_without_a_mismatch(checked: int, extra: int) -> None:
    mismatched = min(extra, checked)
    share = credibility(checked, mismatched)
    assert share is None if checked == 0 else share == Fraction(checked - mismatched, checked)
    if share is not None:
        assert 0 <= two_places(share) <= 1 and abs(two_places(share) - share) <= Fraction(1, 200)


def test_a_month_is_reconciled_once_its_late_tolerance_has_passed() -> None:
    rules = InspectionRules()
    october = Month(2026, 10)
    assert not reconciliation_due(october, datetime(2026, 11, 2, 15, 59, tzinfo=UTC), rules)  # 1 Nov 00:00 Beijing + 48 h = 2 Nov 16:00 UTC
    assert reconciliation_due(october, datetime(2026, 11, 2, 16, 0, tzinfo=UTC), rules)


def test_the_integrity_rules_are_read_from_config_and_refused_when_wrong() -> None:
    text = '[reconciliation]\nmismatch_deduction_points = "5"\nwindow_months = 6\n[returns]\ncounts_while_waiting = "not_counted"\n'
    rules = parse_reconciliation_rules(text)
    assert (rules.mismatch_deduction_centi, rules.window_months, rules.while_returned) == (500, 6, WhileReturned.NOT_COUNTED)
    for wrong in (text.replace('"not_counted"', '"half"'), text.replace('"5"', '"0"'), text.replace('"5"', '"0.001"'), text.replace("= 6", "= 0")):
        with pytest.raises(ChecklistError):
            parse_reconciliation_rules(wrong)
