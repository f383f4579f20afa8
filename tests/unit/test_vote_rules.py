"""The selection vote's outcome follows the Civil Code's rule: two thirds take part, the winner has more than half."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.rules import VoteOutcome, contract_last_day, contract_state, decide_counted_vote, decide_vote, terms_overlap

A, B, C = 1, 2, 3
CANDIDATES = frozenset({A, B, C})


def test_exactly_two_thirds_taking_part_is_a_quorum_one_fewer_is_not() -> None:
    # 30 households: 20 ballots is exactly 2/3.
    assert decide_vote(30, CANDIDATES, [A] * 20).outcome is VoteOutcome.ELECTED
    result = decide_vote(30, CANDIDATES, [A] * 19)
    assert result.outcome is VoteOutcome.FAILED_QUORUM and result.winner_company_id is None


def test_the_winner_needs_more_than_half_of_ballots_cast_blank_ballots_included() -> None:
    # 20 cast: 10 for A is exactly half, not more.
    assert decide_vote(30, CANDIDATES, [A] * 10 + [B] * 5 + [None] * 5).outcome is VoteOutcome.NO_MAJORITY
    result = decide_vote(30, CANDIDATES, [A] * 11 + [B] * 4 + [None] * 5)
    assert result.outcome is VoteOutcome.ELECTED and result.winner_company_id == A
    assert result.tally == {A: 11, B: 4, C: 0}


def test_a_tie_at_the_top_is_its_own_outcome() -> None:
    result = decide_vote(24, CANDIDATES, [A] * 8 + [B] * 8 + [C] * 2)
    assert result.outcome is VoteOutcome.TIE and result.winner_company_id is None


def test_all_blank_ballots_elect_nobody() -> None:
    assert decide_vote(3, CANDIDATES, [None] * 3).outcome is VoteOutcome.NO_MAJORITY


def test_impossible_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        decide_vote(2, CANDIDATES, [A, A, A])
    with pytest.raises(ValueError):
        decide_vote(5, CANDIDATES, [99])
    with pytest.raises(ValueError):
        decide_vote(0, CANDIDATES, [])


ballots = st.lists(st.sampled_from([A, B, C, None]), max_size=60)


@given(extra=st.integers(min_value=0, max_value=60), choices=ballots)
def test_an_elected_company_always_has_quorum_and_a_strict_majority(extra: int, choices: list[int | None]) -> None:
    eligible = max(1, len(choices) + extra)
    result = decide_vote(eligible, CANDIDATES, choices)
    assert sum(result.tally.values()) + choices.count(None) == len(choices)
    if result.outcome is VoteOutcome.ELECTED:
        assert 3 * len(choices) >= 2 * eligible
        assert 2 * result.tally[result.winner_company_id] > len(choices)  # type: ignore[index]
    else:
        assert result.winner_company_id is None


@given(choices=ballots)
def test_the_order_of_ballots_never_changes_the_outcome(choices: list[int | None]) -> None:
    eligible = max(1, len(choices))
    assert decide_vote(eligible, CANDIDATES, choices) == decide_vote(eligible, CANDIDATES, list(reversed(choices)))


def test_contract_terms_overlap_when_they_share_a_day() -> None:
    assert terms_overlap(date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31), date(2027, 12, 31))
    assert not terms_overlap(date(2026, 1, 1), date(2026, 12, 31), date(2027, 1, 1), date(2027, 12, 31))


def test_a_terminated_contract_ends_on_its_termination_day() -> None:
    assert contract_last_day(date(2028, 12, 31), date(2026, 6, 30)) == date(2026, 6, 30)
    start, end = date(2026, 1, 1), date(2028, 12, 31)
    assert contract_state(start, end, None, date(2025, 12, 31)) == "signed"
    assert contract_state(start, end, None, date(2026, 1, 1)) == "active"
    assert contract_state(start, end, date(2026, 6, 30), date(2026, 6, 30)) == "active"
    assert contract_state(start, end, date(2026, 6, 30), date(2026, 7, 1)) == "terminated"
    assert contract_state(start, end, None, date(2029, 1, 1)) == "expired"


@given(eligible=st.integers(min_value=1, max_value=300), data=st.data())
def test_a_vote_counted_on_paper_is_decided_exactly_as_the_same_ballots_counted_here(eligible: int, data: st.DataObject) -> None:
    """纸质表决: the count sheet's figures (households taking part, those choosing the company) give the outcome the
    same household ballots would give: the others' ballots are for nobody or for another company that did not win."""
    cast = data.draw(st.integers(min_value=0, max_value=eligible))
    chose = data.draw(st.integers(min_value=0, max_value=cast))
    here = decide_vote(eligible, frozenset({A}), [A] * chose + [None] * (cast - chose)).outcome
    assert decide_counted_vote(eligible, cast, chose) is here


def test_a_count_sheet_with_impossible_figures_is_refused() -> None:
    assert decide_counted_vote(30, 20, 11) is VoteOutcome.ELECTED and decide_counted_vote(30, 20, 10) is VoteOutcome.NO_MAJORITY
    assert decide_counted_vote(30, 19, 19) is VoteOutcome.FAILED_QUORUM
    for eligible, cast, chose in ((0, 0, 0), (30, 31, 20), (30, 20, 21), (30, 20, -1)):
        with pytest.raises(ValueError):
            decide_counted_vote(eligible, cast, chose)
