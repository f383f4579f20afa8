"""A page is a second door to the API's rules, never a way around them: a form's fields become the API's body
through foundation.web.layout.form_body, which checks the body's limits (lengths, ranges, formats) as the API does.
Building the body by calling its class skips those checks (msgspec checks them on decoding only): an appeal page
once stored a two-character reason the API refuses."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("assessment", "community", "complaints", "inspections", "registry", "subsidies", "supervision", "people")
# A page whose body cannot be the API's, and why; its use case checks what the body's checks would.
ALLOWED = {
    ("inspections/pages.py", "FixReportIn"): "its photos arrive as files, which photo_ids (ids uploaded before, at least one) cannot carry",
}


def direct_bodies(source: str, allowed: frozenset[str] = frozenset()) -> list[int]:
    """Lines that call `schemas.Something(...)` where Something is a request body (…In, …Create, …Update)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "schemas"
            and node.func.attr.endswith(("In", "Create", "Update"))
            and node.func.attr not in allowed
        ):
            found.append(node.lineno)
    return found


def test_no_page_builds_an_api_body_without_its_checks() -> None:
    offending = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*pages.py")):
            name = path.relative_to(ROOT).as_posix()
            allowed = frozenset(kind for (file, kind) in ALLOWED if file == name)
            offending += [f"{name}:{line}" for line in direct_bodies(path.read_text(encoding="utf-8"), allowed)]
    assert offending == []


def test_the_check_sees_a_body_built_directly_and_not_one_checked() -> None:
    assert direct_bodies("body = schemas.AppealIn(reason='错了')\n") == [1]
    assert direct_bodies("body = form_body(schemas.AppealIn, reason='错了')\n") == []


def test_form_body_refuses_as_the_api_does_naming_the_field_in_chinese() -> None:
    from datetime import UTC, datetime

    import pytest

    from complaints import schemas
    from foundation.errors import InvalidInput
    from foundation.web.layout import form_body

    meeting = {"held_at": datetime(2026, 11, 20, 9, 30, tzinfo=UTC), "attendees": "双方当事人、居委会主任", "summary": "就楼道堆物达成一致，三日内清理"}
    assert form_body(schemas.MediationMeetingIn, **meeting).attendees == "双方当事人、居委会主任"
    for change, field, zh in [
        ({"attendees": "我"}, "attendees", "至少 2 个字"),
        ({"follow_up": "跟" * 1001}, "follow_up", "最多 1000 个字"),
        ({"held_at": datetime(9999, 12, 31, tzinfo=UTC)}, "held_at", "超出范围"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            form_body(schemas.MediationMeetingIn, **(meeting | change))
        assert refused.value.field == field and zh in refused.value.message_zh, change
