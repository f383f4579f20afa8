"""The separation-of-duties table (foundation/duties.py) has no dead row: every row is refused by at least one use
case of the product, found in the code itself; and each row speaks to a person in Chinese."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from foundation.access import Principal, Role
from foundation.duties import SEPARATIONS, Duty, keep_apart, refusal
from foundation.errors import PermissionDenied, SeparationOfDuties

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["registry", "people", "inspections", "complaints", "assessment", "subsidies", "reports", "community", "supervision"]
CHECKS = {"keep_apart", "refusal"}


def enforced_rows() -> dict[Duty, list[str]]:
    """For each row, the product modules that call a check of the table with it (`keep_apart(Duty.X, ...)` or
    `refusal(Duty.X)`)."""
    found: dict[Duty, list[str]] = {}
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CHECKS and node.args):
                    continue
                first = node.args[0]
                if isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name) and first.value.id == "Duty":
                    found.setdefault(Duty[first.attr], []).append(str(path.relative_to(ROOT)))
    return found


def test_every_row_of_the_table_is_enforced_by_a_service() -> None:
    enforced = enforced_rows()
    assert set(SEPARATIONS) == set(Duty)
    assert not set(Duty) - set(enforced), f"rows no service enforces: {sorted(set(Duty) - set(enforced))}"


def test_each_row_has_a_stable_key_and_a_chinese_message_naming_it() -> None:
    for duty, row in SEPARATIONS.items():
        assert row.duty is duty and duty.value == duty.name.lower()
        error = refusal(duty)
        assert isinstance(error, PermissionDenied) and error.rule == duty.value and duty.value in error.detail
        assert row.name_zh in error.message_zh and any("\u4e00" <= ch <= "\u9fff" for ch in row.zh)


def test_only_the_same_person_is_refused_and_the_system_never_matches() -> None:
    officer = Principal(role=Role.STREET_OFFICER, user_id=7, street_id=1)
    keep_apart(Duty.APPROVE_OWN_LATE_RECORD, officer, [8, None])
    with pytest.raises(SeparationOfDuties) as refused:
        keep_apart(Duty.APPROVE_OWN_LATE_RECORD, officer, [8, 7])
    assert refused.value.rule == "approve_own_late_record"
    keep_apart(Duty.APPROVE_OWN_RUN, Principal(role=Role.FINANCE, username="scheduler"), [None])
