"""The evidence rules: checklist, deadlines on China's official calendar, overdue, spot-check sampling."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.calendar.rules import (
    CalendarSource,
    CalendarYear,
    CalendarYearError,
    OfficialCalendar,
    calendar_year,
    parse_calendar_year,
    working_day_after,
)
from foundation.clock import BUSINESS_TZ
from foundation.periods import Month
from foundation.settings import PROJECT_ROOT
from inspections.rules import (
    ChecklistError,
    DefectState,
    EstateRef,
    InspectionRules,
    Severity,
    assessed_month,
    draw_spot_checks,
    is_late,
    overdue_since,
    parse_checklist,
    parse_inspection_rules,
    rectification_deadline,
)

RULES = InspectionRules()
CALENDAR = OfficialCalendar()


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=BUSINESS_TZ)


def test_the_shipped_checklist_has_rules_categories_and_a_stable_hash() -> None:
    text = (PROJECT_ROOT / "config" / "checklist.toml").read_text()
    checklist = parse_checklist(text)
    assert {c.name: c.points for c in checklist.categories} == {
        "综合管理": 15, "清扫保洁": 30, "门岗值勤和巡视": 25, "车辆停放秩序": 10, "社区综合治理": 10, "服务费收缴率": 10,
    }
    assert checklist.items["C03"].deduction_centi == 50 and checklist.items["G01"].veto
    assert parse_checklist(text).sha256 == checklist.sha256
    assert parse_checklist(text.replace('deduction = "0.5"', 'deduction = "1"', 1)).sha256 != checklist.sha256


def test_the_shipped_inspection_rules_are_the_defaults_of_rules_md() -> None:
    rules = parse_inspection_rules((PROJECT_ROOT / "config" / "inspections.toml").read_text())
    assert rules == InspectionRules()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('severity = "general"', 'severity = "urgent"'), "severity must be one of"),
        (('category = "cleaning"', 'category = "gardening"'), "is not one of"),
        (("points = 30", "points = 31"), "add up to 101"),
        (('deduction = "0.5"', 'deduction = "0.333"'), "hundredths"),
        (('code = "C02"', 'code = "C01"'), "used twice"),
    ],
)
def test_a_wrong_checklist_is_refused_naming_the_entry(change: tuple[str, str], message: str) -> None:
    text = (PROJECT_ROOT / "config" / "checklist.toml").read_text().replace(*change, 1)
    with pytest.raises(ChecklistError, match=message):
        parse_checklist(text)


def test_a_general_defect_raised_before_national_day_2025_is_due_after_the_holiday_counting_the_make_up_saturday() -> None:
    # 2025: holiday 1-8 October; Sunday 28 September and Saturday 11 October are make-up working days.
    deadline = rectification_deadline(beijing(2025, 9, 30, 16, 0), Severity.GENERAL, RULES, CALENDAR)
    assert deadline.at == beijing(2025, 10, 12, 0, 0).astimezone(UTC)  # end of Saturday 11 October
    assert not deadline.provisional


def test_a_general_defect_raised_before_national_day_2026_is_due_on_the_make_up_saturday() -> None:
    # 2026: holiday 1-7 October; Saturday 10 October is a make-up working day.
    deadline = rectification_deadline(beijing(2026, 9, 30, 10, 0), Severity.GENERAL, RULES, CALENDAR)
    assert deadline.at == beijing(2026, 10, 11, 0, 0).astimezone(UTC)
    major = rectification_deadline(beijing(2026, 9, 30, 10, 0), Severity.MAJOR_REPAIR, RULES, CALENDAR)
    assert major.at == beijing(2026, 10, 16, 0, 0).astimezone(UTC)  # 8, 9, 10, 12, 13, 14, 15 October


def test_a_safety_defect_is_due_24_hours_later_holiday_or_not() -> None:
    raised = beijing(2026, 10, 1, 9, 15)
    assert rectification_deadline(raised, Severity.SAFETY, RULES, CALENDAR).at == (raised + timedelta(hours=24)).astimezone(UTC)


def test_a_year_the_calendar_does_not_know_falls_back_to_weekdays_and_says_so() -> None:
    deadline = rectification_deadline(beijing(2027, 1, 7, 10, 0), Severity.GENERAL, RULES, CALENDAR)  # a Thursday
    assert deadline.provisional
    assert deadline.at == beijing(2027, 1, 13, 0, 0).astimezone(UTC)  # Fri 8, Mon 11, Tue 12


def test_overdue_depends_on_when_the_accepted_or_pending_fix_was_reported() -> None:
    deadline = datetime(2026, 10, 10, tzinfo=UTC)
    before, after = deadline - timedelta(hours=1), deadline + timedelta(hours=1)
    assert not overdue_since(deadline, DefectState.OPEN, None, before)
    assert overdue_since(deadline, DefectState.OPEN, None, after)
    assert not overdue_since(deadline, DefectState.FIX_REPORTED, before, after + timedelta(days=3))
    assert overdue_since(deadline, DefectState.CLOSED, after, after)
    assert not overdue_since(deadline, DefectState.WITHDRAWN, None, after)


def test_months_and_quarters() -> None:
    assert str(Month.parse("2026-12").next()) == "2027-01" and str(Month.parse("2026-01").previous()) == "2025-12"
    assert Month.parse("2026-02").days == 28 and Month.parse("2028-02").days == 29
    assert [m.months_left_in_quarter for m in Month.parse("2026-10").quarter.months] == [3, 2, 1]
    assert str(Month.of(date(2026, 11, 25)).quarter) == "2026-Q4"
    with pytest.raises(ValueError):
        Month.parse("2026-13")


districts = st.lists(st.integers(min_value=1, max_value=25), min_size=1, max_size=6).map(
    lambda sizes: [EstateRef(id=1000 * s + n, street_id=s) for s, size in enumerate(sizes, start=1) for n in range(size)]
)
firms = st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=4, unique=True)
seeds = st.text(alphabet="abcdef0123456789", min_size=1, max_size=32)
shares = st.sampled_from([Fraction(3, 10), Fraction(1, 10), Fraction(1, 2), Fraction(1)])


@settings(max_examples=200, deadline=None)
@given(estates=districts, firm_ids=firms, seed=seeds, share=shares)
def test_sampling_is_repeatable_stratified_and_covers_every_estate_each_quarter(estates, firm_ids, seed, share) -> None:
    covered: set[int] = set()
    for month in Month.parse("2026-10").quarter.months:
        draw = draw_spot_checks(month, seed, estates, firm_ids, covered, share)
        assert draw == draw_spot_checks(month, seed, list(reversed(estates)), firm_ids, covered, share)
        drawn = [estate_id for estate_id, _ in draw]
        assert len(drawn) == len(set(drawn)) and {firm for _, firm in draw} <= set(firm_ids)
        for street in {e.street_id for e in estates}:
            in_street = [e.id for e in estates if e.street_id == street]
            assert len(set(drawn) & set(in_street)) >= math.ceil(share * len(in_street))
        covered |= set(drawn)
    assert covered == {e.id for e in estates}


def test_another_seed_gives_another_draw() -> None:
    estates = [EstateRef(id=n, street_id=n % 6) for n in range(1, 324)]
    month = Month.parse("2026-11")
    assert draw_spot_checks(month, "a", estates, [1, 2, 3], set(), Fraction(3, 10)) != draw_spot_checks(
        month, "b", estates, [1, 2, 3], set(), Fraction(3, 10)
    )


# The calendar's sources: the district's record, the config file, the library, Monday to Friday


def recorded_2027() -> CalendarYear:
    # A made-up arrangement for the test only (the State Council's 2027 one is not used here): 1–3 January off,
    # Sunday 10 January a make-up working day.
    return calendar_year(2027, [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)], [date(2027, 1, 10)], "test notice")


def test_a_deadline_across_the_year_end_uses_the_recorded_year_and_says_so() -> None:
    raised = beijing(2026, 12, 30, 10, 0)  # a Wednesday; 31 Dec is a working day (library), 1 Jan 2027 off
    without = rectification_deadline(raised, Severity.GENERAL, RULES, OfficialCalendar())
    assert without.provisional and without.source is CalendarSource.FALLBACK
    # Monday to Friday assumed: 31 Dec, 1 Jan, 4 Jan → ends at 24:00 of 4 January
    assert without.at == beijing(2027, 1, 5, 0, 0).astimezone(UTC)
    recorded = rectification_deadline(raised, Severity.GENERAL, RULES, OfficialCalendar(district={2027: recorded_2027()}))
    # 31 Dec (library), 1–3 Jan off (recorded), 4 and 5 Jan → ends at 24:00 of 5 January
    assert not recorded.provisional and recorded.at == beijing(2027, 1, 6, 0, 0).astimezone(UTC)
    assert recorded.source is CalendarSource.LIBRARY  # the least authoritative source consulted: 31 Dec
    inside = working_day_after(date(2027, 1, 7), 2, OfficialCalendar(district={2027: recorded_2027()}))
    assert inside.day == date(2027, 1, 10) and inside.source is CalendarSource.DISTRICT  # Fri 8, Sun 10 (make-up)
    config = working_day_after(date(2027, 1, 7), 2, OfficialCalendar(config={2027: recorded_2027()}))
    assert config.day == date(2027, 1, 10) and config.source is CalendarSource.CONFIG
    # The district's record wins over the config file of the same year.
    other = calendar_year(2027, [date(2027, 1, 8)], [], "district correction")
    both = working_day_after(date(2027, 1, 7), 1, OfficialCalendar(district={2027: other}, config={2027: recorded_2027()}))
    assert both.day == date(2027, 1, 11) and both.source is CalendarSource.DISTRICT


def test_the_shipped_config_year_agrees_with_the_library_and_a_wrong_year_is_refused() -> None:
    from pathlib import Path

    shipped = parse_calendar_year((Path(__file__).parents[2] / "config" / "calendar" / "2026.toml").read_text(encoding="utf-8"), "2026.toml")
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert shipped.is_workday(day) == OfficialCalendar().is_workday(day), day
        day += timedelta(days=1)
    assert "gov.cn" in shipped.source
    for holidays, workdays, source, message in (
        ([date(2028, 1, 1)], [], "x notice", "not in 2027"),
        ([date(2027, 1, 1)], [date(2027, 1, 1)], "x notice", "both"),
        ([date(2027, 1, 1)], [], " ", "source"),
    ):
        try:
            calendar_year(2027, holidays, workdays, source)
        except CalendarYearError as error:
            assert message in str(error)
        else:
            raise AssertionError(f"accepted {holidays} {workdays} {source!r}")


def test_a_record_is_late_only_past_the_tolerance() -> None:
    received = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert not is_late(received - timedelta(hours=48), received, RULES)
    assert is_late(received - timedelta(hours=48, seconds=1), received, RULES)
    assert RULES.late_after == timedelta(hours=48)


def test_a_record_counts_in_its_own_month_unless_that_was_locked_before_it_took_effect() -> None:
    october = Month.parse("2026-10")
    locked = datetime(2026, 11, 3, tzinfo=UTC)
    assert assessed_month(october, datetime(2026, 11, 2, tzinfo=UTC), locked) == october
    assert assessed_month(october, datetime(2026, 11, 20, tzinfo=UTC), locked) == Month.parse("2026-11")
    assert assessed_month(october, datetime(2027, 2, 20, tzinfo=UTC), locked) == Month.parse("2027-02")
    assert assessed_month(october, datetime(2027, 2, 20, tzinfo=UTC), None) == october


def test_demo_notes_match_their_items_and_the_demo_month_has_a_few_automatic_vetoes_per_street() -> None:
    from inspections.config import current_checklist
    from supervision import demo_evidence

    checklist = current_checklist()
    assert set(demo_evidence.ITEM_NOTES) == set(checklist.items)  # every item has its own notes, no note of a stray code
    notes = [note for item_notes in demo_evidence.ITEM_NOTES.values() for note in item_notes]
    assert len(notes) == len(set(notes))  # a note belongs to one item (no gate-duty item with "垃圾未及时清运")
    assert "垃圾未及时清运" in demo_evidence.ITEM_NOTES["C01"]

    # A note names what its item is about: it shares a word (two characters) with the item's own text, so a
    # gate-duty item (主出入口24小时有人值守) cannot carry "垃圾未及时清运"; the company's fix note likewise.
    def words(text: str) -> set[str]:
        return {text[i : i + 2] for i in range(len(text) - 1)}

    assert set(demo_evidence.FIX_NOTES) == set(checklist.items)
    for code, item in checklist.items.items():
        for note in (*demo_evidence.ITEM_NOTES[code], demo_evidence.FIX_NOTES[code]):
            assert words(note) & words(item.text), f"{code} {item.text}: {note}"
    assert not words("垃圾未及时清运") & words(checklist.items["G01"].text)
    # Automatic vetoes come from veto-marked items failed in the street's two inspections of each estate: the largest
    # demo street (55 estates) expects a few a month, not two dozen.
    veto_items = sum(1 for item in checklist.items.values() if item.veto)
    assert 55 * 2 * veto_items * demo_evidence.VETO_ITEM_FAILURE_RATE <= 5
