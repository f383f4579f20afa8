"""Every action the packages record in the audit log reads in Chinese on a person's own-actions page."""

from __future__ import annotations

import re
from pathlib import Path

from supervision.pages import action_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("registry", "people", "inspections", "complaints", "assessment", "subsidies", "reports", "community", "supervision", "foundation")
LITERAL = re.compile(r'record_change\(\s*\w+,\s*[\w().]+,\s*"([a-z_]+\.[a-z_]+)"')
# Actions whose verb is a state or step, as recorded (f-strings in the services).
DYNAMIC = [
    "veto.upheld", "veto.overturned", "appeal.upheld", "appeal.rejected", "delegation.accepted", "delegation.declined", "delegation.expired",
    "proposal.include", "proposal.merge", "proposal.return", "volunteer_hours.approved", "volunteer_hours.rejected",
    "programme_run.approve", "programme_run.confirm",
    *[f"relief_application.{level}_{verdict}" for level in ("community", "street", "district") for verdict in ("approve", "return", "refuse")],
]


def recorded_actions() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_recorded_action_reads_in_chinese() -> None:
    actions = recorded_actions()
    assert len(actions) > 60, sorted(actions)  # the scan finds what the services record
    english = {action: action_name(action) for action in sorted(actions | set(DYNAMIC)) if re.search(r"[A-Za-z]", action_name(action))}
    assert english == {}


def test_a_level_and_verdict_read_as_the_review_they_are() -> None:
    assert action_name("relief_application.street_approve") == "救助申请：街道审核通过"
    assert action_name("patrol.filed") == "提交日常巡查"
