"""Complaint rules without a database: the proof of work, the routes a complaint may take, clusters, the rules file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaints.rules import (
    ComplaintState,
    clusters,
    make_challenge,
    median,
    next_state,
    parse_complaint_rules,
    pow_refusal,
    solve_challenge,
)

CONFIG = (Path(__file__).resolve().parents[2] / "config" / "complaints.toml").read_text(encoding="utf-8")
CATEGORIES = frozenset({"management", "cleaning", "gate_patrol", "parking", "order", "fees"})
SECRET = "unit-secret"


def test_a_solved_challenge_is_accepted_and_an_unsolved_forged_or_stale_one_is_not() -> None:
    now = 1_800_000_000
    challenge = make_challenge(SECRET, now, "ab12")
    nonce = solve_challenge(challenge, 12)
    assert pow_refusal(SECRET, challenge, nonce, 12, now + 5, 3600) is None
    unsolved = next(str(n) for n in range(1000) if pow_refusal(SECRET, challenge, str(n), 12, now, 3600) is not None)
    assert "not solved" in (pow_refusal(SECRET, challenge, unsolved, 12, now, 3600) or "")
    forged = make_challenge("another-server", now, "ab12")
    assert "not issued by this server" in (pow_refusal(SECRET, forged, solve_challenge(forged, 12), 12, now, 3600) or "")
    assert "too long ago" in (pow_refusal(SECRET, challenge, nonce, 12, now + 3601, 3600) or "")
    assert "malformed" in (pow_refusal(SECRET, "junk", "1", 12, now, 3600) or "")


def test_a_complaint_is_routed_once_and_each_route_ends_where_it_should() -> None:
    new = ComplaintState.NEW
    assert all(next_state(new, s) for s in (ComplaintState.ORDERED, ComplaintState.MEDIATING, ComplaintState.CLOSED))
    assert not next_state(new, ComplaintState.RESOLVED)
    assert next_state(ComplaintState.ORDERED, ComplaintState.RESOLVED) and not next_state(ComplaintState.ORDERED, ComplaintState.CLOSED)
    assert next_state(ComplaintState.MEDIATING, ComplaintState.CLOSED)
    assert not any(next_state(ComplaintState.CLOSED, s) for s in ComplaintState)
    assert not any(next_state(ComplaintState.RESOLVED, s) for s in ComplaintState)


def test_many_complaints_of_one_kind_at_one_estate_within_days_are_a_cluster() -> None:
    t = datetime(2026, 11, 2, tzinfo=UTC)
    reports = [(1, 10, "cleaning", t), (2, 10, "cleaning", t + timedelta(days=2)), (3, 10, "cleaning", t + timedelta(days=6)),
               (4, 10, "parking", t), (5, 11, "cleaning", t), (6, 10, "cleaning", t + timedelta(days=30))]
    (found,) = clusters(reports, 3, 7)
    assert (found.estate_id, found.service_code, found.complaint_ids) == (10, "cleaning", (1, 2, 3))
    assert clusters(reports, 4, 7) == []


@given(st.lists(st.tuples(st.integers(1, 3), st.sampled_from(["a", "b"]), st.integers(0, 40)), max_size=30))
def test_clusters_do_not_depend_on_the_order_of_reports(raw: list[tuple[int, str, int]]) -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    reports = [(i, estate, code, t + timedelta(days=day)) for i, (estate, code, day) in enumerate(raw)]
    assert clusters(reports, 3, 7) == clusters(list(reversed(reports)), 3, 7)
    for c in clusters(reports, 3, 7):
        assert len(c.complaint_ids) >= 3 and c.last_at - c.first_at <= timedelta(days=7)


def test_the_median_of_minutes() -> None:
    assert median([]) is None and median([5]) == 5 and median([1, 9, 4]) == 4 and median([1, 2, 3, 10]) == 2


def test_the_rules_file_is_read_and_a_service_must_map_to_a_checklist_category() -> None:
    rules = parse_complaint_rules(CONFIG, CATEGORIES)
    assert rules.service("cleaning") is not None and rules.service("other").category == ""  # type: ignore[union-attr]
    assert rules.first_response_days <= rules.resolution_days
    with pytest.raises(ValueError, match="category 'cleaning'"):
        parse_complaint_rules(CONFIG, CATEGORIES - {"cleaning"})
    with pytest.raises(ValueError, match="pow_bits"):
        parse_complaint_rules(CONFIG.replace("pow_bits = 14", "pow_bits = 40"), CATEGORIES)
    with pytest.raises(ValueError, match="first response"):
        parse_complaint_rules(CONFIG.replace("first_response_working_days = 1", "first_response_working_days = 20"), CATEGORIES)
