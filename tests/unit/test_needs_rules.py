"""The pure rules of needs and consultation: quorum and majority as "more than" the configured share, a tally that
cannot be true, the order of the two bodies, overdue proposals, merges within a street, and the rules file."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from community.needs.rules import (
    MeetingBody,
    NeedState,
    ProposalState,
    Tally,
    decide_vote,
    is_overdue,
    merge_refusal,
    need_state_after,
    parse_needs_rules,
    tally_problem,
    vote_refusal,
)
from foundation.settings import config_dir

RULES = parse_needs_rules((config_dir() / "needs.toml").read_text(encoding="utf-8"))


def test_the_configured_rules_are_those_of_the_district() -> None:
    assert RULES.categories == ("养老", "助残", "青少年", "帮困", "文体", "环境", "矛盾调解", "其他")
    assert RULES.sources == ("楼门长", "网格员", "走访", "会议", "来信")
    assert (RULES.quorum_share, RULES.majority_share, RULES.answer_working_days) == (Fraction(1, 2), Fraction(1, 2), 10)


@pytest.mark.parametrize(("members", "present", "quorum"), [(11, 6, True), (11, 5, False), (10, 5, False), (10, 6, True), (1, 1, True), (2, 1, False)])
def test_quorum_is_more_than_half_of_the_members(members: int, present: int, quorum: bool) -> None:
    result = decide_vote(Tally(members, present, present, 0, 0), RULES)
    assert result.quorum is quorum
    if not quorum:
        assert not result.passed and "no quorum" in result.reason and "出席人数不足" in result.reason_zh


@pytest.mark.parametrize(("present", "in_favour", "passed"), [(10, 5, False), (10, 6, True), (9, 5, True), (9, 4, False), (7, 4, True)])
def test_a_motion_passes_with_more_than_half_of_those_present(present: int, in_favour: int, passed: bool) -> None:
    assert decide_vote(Tally(12, present, in_favour, present - in_favour, 0), RULES).passed is passed


@given(st.integers(1, 500), st.data())
def test_passing_needs_a_quorum_and_a_strict_majority_whatever_the_counts(members: int, data: st.DataObject) -> None:
    present = data.draw(st.integers(0, members))
    in_favour = data.draw(st.integers(0, present))
    result = decide_vote(Tally(members, present, in_favour, present - in_favour, 0), RULES)
    assert result.quorum is (2 * present > members)
    assert result.passed is (2 * present > members and 2 * in_favour > present)
    # One more vote in favour never turns a passed motion into a failed one.
    if result.passed and in_favour < present:
        assert decide_vote(Tally(members, present, in_favour + 1, present - in_favour - 1, 0), RULES).passed


def test_a_tally_that_cannot_be_true_is_named() -> None:
    assert tally_problem(Tally(11, 12, 6, 0, 0)) is not None
    assert tally_problem(Tally(11, 9, 6, 3, 1)) is not None  # 10 votes from 9 people
    assert tally_problem(Tally(0, 0, 0, 0, 0)) is not None
    assert tally_problem(Tally(11, 9, 6, 2, 1)) is None
    assert tally_problem(Tally(11, 9, 5, 1, 0)) is None  # some present did not vote


def test_the_consultation_committee_deliberates_then_the_assembly_approves() -> None:
    assert vote_refusal(NeedState.RECORDED, MeetingBody.DELIBERATION) is None
    assert vote_refusal(NeedState.RECORDED, MeetingBody.ASSEMBLY) is not None
    assert vote_refusal(NeedState.DELIBERATED, MeetingBody.ASSEMBLY) is None
    assert vote_refusal(NeedState.DELIBERATED, MeetingBody.DELIBERATION) is not None
    assert vote_refusal(NeedState.APPROVED, MeetingBody.ASSEMBLY) is not None
    assert need_state_after(NeedState.RECORDED, MeetingBody.DELIBERATION, True) is NeedState.DELIBERATED
    assert need_state_after(NeedState.DELIBERATED, MeetingBody.ASSEMBLY, True) is NeedState.APPROVED
    assert need_state_after(NeedState.DELIBERATED, MeetingBody.ASSEMBLY, False) is NeedState.DELIBERATED


def test_a_proposal_is_overdue_only_while_waiting_after_its_due_day() -> None:
    due = date(2026, 11, 13)
    assert not is_overdue(ProposalState.WAITING, due, due)
    assert is_overdue(ProposalState.WAITING, due, date(2026, 11, 14))
    assert not is_overdue(ProposalState.INCLUDED, due, date(2026, 12, 31))


def test_a_merge_stays_within_the_street_and_joins_a_live_proposal() -> None:
    assert merge_refusal(1, 4, 2, 4, ProposalState.INCLUDED) is None
    assert merge_refusal(1, 4, 1, 4, ProposalState.WAITING) is not None
    assert "another street" in (merge_refusal(1, 4, 2, 6, ProposalState.WAITING) or ("", ""))[0]
    assert merge_refusal(1, 4, 2, 4, ProposalState.RETURNED) is not None
    assert merge_refusal(1, 4, 2, 4, ProposalState.MERGED) is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('quorum_share = "0.5"', 'quorum_share = "1.5"'), "quorum_share"),
        (('majority_share = "0.5"', "majority_share = 0.5"), "majority_share"),
        (("working_days = 10", "working_days = 0"), "working_days"),
        (('"来信"]', '"来信", "来信"]'), "sources"),
        (("[street_answer]\n", "[street_answers]\n"), "street_answer"),
    ],
)
def test_a_wrong_rules_file_is_refused_naming_the_key(change: tuple[str, str], message: str) -> None:
    text = (config_dir() / "needs.toml").read_text(encoding="utf-8")
    assert change[0] in text
    with pytest.raises(ValueError, match=message):
        parse_needs_rules(text.replace(*change))
