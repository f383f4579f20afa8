"""Delivery's pure rules: the answer deadline in working days, who may lead a team, participants given one way, and
progress adding up per indicator."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from community.delivery import rules
from community.delivery.service import delivery_limits


class WeekdaysOnly:
    def is_workday(self, day: date) -> bool:
        return day.weekday() < 5


def test_a_committee_answers_by_the_fifth_working_day_after_the_delegation() -> None:
    limits = delivery_limits()
    due = rules.answer_due(date(2026, 11, 20), WeekdaysOnly(), limits)  # a Friday: the next five working days end on Friday
    assert due == date(2026, 11, 27)
    assert rules.answer_problem(date(2026, 11, 27), due) is None
    assert rules.answer_problem(date(2026, 11, 28), due) is not None


def test_a_team_has_exactly_one_lead_with_the_specialism_its_target_group_asks_for() -> None:
    limits = delivery_limits()
    elder = rules.Member(1, lead=True, specialism="老龄社工")
    general = rules.Member(2, lead=False, specialism="综合社工")
    assert rules.team_problem([elder, general], "养老", limits) is None
    assert rules.team_problem([rules.Member(1, False, "老龄社工"), general], "养老", limits) is not None
    assert rules.team_problem([elder, rules.Member(2, True, "综合社工")], "养老", limits) is not None
    assert rules.team_problem([rules.Member(2, True, "综合社工")], "养老", limits) is not None
    assert rules.team_problem([rules.Member(2, True, None)], "文体", limits) is None  # any social worker leads a festival
    assert rules.team_problem([elder, elder], "养老", limits) is not None


def test_participants_are_named_residents_or_a_head_count_never_both_nor_neither() -> None:
    limits = delivery_limits()
    assert rules.participants_problem(20, [], limits) is None
    assert rules.participants_problem(None, [1, 2], limits) is None
    assert rules.participants_problem(20, [1], limits) is not None
    assert rules.participants_problem(None, [], limits) is not None
    assert rules.participants_problem(None, [1, 1], limits) is not None
    assert rules.participants_problem(None, [0], limits) is not None and rules.participants_problem(None, [2**31], limits) is not None
    assert rules.participants_problem(limits.max_head_count + 1, [], limits) is not None


@given(st.lists(st.tuples(st.integers(1, 3), st.integers(1, 500)), max_size=40))
def test_progress_counts_sessions_and_attendances_in_any_order(outputs: list[tuple[int, int]]) -> None:
    indicators = [(1, rules.SESSIONS, 10), (2, rules.ATTENDANCES, 300)]
    done = [rules.Output(n, p) for n, p in outputs]
    progress = rules.progress(indicators, done)
    assert progress == rules.progress(indicators, list(reversed(done)))
    assert progress[0].achieved == sum(1 for n, _ in outputs if n == 1)
    assert progress[1].achieved == sum(p for n, p in outputs if n == 2)  # indicator 3 is not the project's: not counted
    assert all(0 <= p.achieved - Fraction(p.share) * p.target < Fraction(p.target, 10_000) for p in progress)  # rounded down, never up
