"""The one rule for periods and dates (years 2000-2100, real months, quarters and days) and for text (no control
characters), as pure functions: what the API, the pages and the CLI all apply."""

from __future__ import annotations

import re
from datetime import date

import pytest

from foundation.errors import InvalidInput, NotOneLine
from foundation.one_line import check_one_line
from foundation.periods import (
    DATE_PATTERN,
    FIRST_YEAR,
    LAST_YEAR,
    MONTH_PATTERN,
    PERIOD_PATTERN,
    QUARTER_PATTERN,
    Month,
    PeriodError,
    Quarter,
    check_day,
    parse_day,
    parse_instant,
    parse_period,
    period_zh,
)
from foundation.text import NONBLANK, ONE_LINE, ONE_LINE_NONBLANK, PRINTABLE, clean_file_name, first_control_character, first_line_break
from registry.schemas import OrganisationCreate


def test_the_patterns_clients_see_accept_exactly_the_supported_years() -> None:
    for year in range(0, 10_000):
        inside = FIRST_YEAR <= year <= LAST_YEAR
        assert bool(re.match(MONTH_PATTERN, f"{year:04d}-06")) is inside, year
        assert bool(re.match(QUARTER_PATTERN, f"{year:04d}-Q2")) is inside, year
        assert bool(re.match(DATE_PATTERN, f"{year:04d}-06-30")) is inside, year
        assert bool(re.match(PERIOD_PATTERN, f"{year:04d}-06-30T23")) is inside, year


@pytest.mark.parametrize("text", ["0000-01", "9999-12", "1999-12", "2101-01", "2026-13", "2026-00", "2026-1", "２０２６-10", "2026-10\n"])
def test_a_month_outside_the_calendar_or_the_years_is_refused_saying_what_a_month_is(text) -> None:
    with pytest.raises(PeriodError) as refused:
        Month.parse(text, "month")
    assert "2026-10" in refused.value.detail and "2000" in refused.value.detail and refused.value.field == "month"
    assert "2000 至 2100" in refused.value.message_zh


@pytest.mark.parametrize("text", ["9999-Q4", "0000-Q1", "2026-Q5", "2026-Q0", "2026-q4", "2026-4"])
def test_a_quarter_outside_q1_q4_or_the_years_is_refused(text) -> None:
    with pytest.raises(PeriodError):
        Quarter.parse(text)


def test_the_last_supported_month_and_quarter_still_have_a_next_month() -> None:
    assert Month.parse("2100-12").last_day == date(2100, 12, 31)
    assert [str(m) for m in Quarter.parse("2100-Q4").months] == ["2100-10", "2100-11", "2100-12"]


@pytest.mark.parametrize("text", ["2026-02-30", "2026-04-31", "2025-02-29", "0000-01-01", "9999-12-31", "2026-1-5", "20261005"])
def test_a_day_that_is_not_in_the_calendar_or_the_years_is_refused(text) -> None:
    with pytest.raises(PeriodError):
        parse_day(text)


def test_a_leap_day_is_a_day() -> None:
    assert parse_day("2028-02-29") == date(2028, 2, 29)
    assert check_day(date(2000, 1, 1)) == date(2000, 1, 1)
    with pytest.raises(PeriodError):
        check_day(date(9999, 12, 31), "body.ends_on")


@pytest.mark.parametrize("text", ["9999-12-31T23:00:00+08:00", "0001-01-01T00:00:00+00:00", "2026-10-12T09:30:00", "yesterday"])
def test_an_instant_needs_its_offset_and_a_supported_year(text) -> None:
    with pytest.raises(PeriodError):
        parse_instant(text, "taken_at")


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("hour", "2026-10-12T14", ["2026-02-30T10", "2026-10-12T24", "2026-10-12"]),
        ("day", "2026-10-12", ["2026-02-30", "2026-10", "0000-01-01"]),
        ("month", "2026-10", ["2026-13", "2026-10-12", "2026-Q4"]),
        ("quarter", "2026-Q4", ["9999-Q4", "2026-10", "2026-13"]),
    ],
)
def test_a_job_period_must_be_of_its_jobs_kind_and_in_the_calendar(kind, good, bad) -> None:
    assert parse_period(good, kind) == good
    for text in bad:
        with pytest.raises(PeriodError):
            parse_period(text, kind)


def test_a_period_error_is_bad_input_to_the_web_edge_and_a_value_error_to_callers_that_fall_back() -> None:
    assert issubclass(PeriodError, InvalidInput) and issubclass(PeriodError, ValueError)


@pytest.mark.parametrize("code", [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
def test_every_c0_control_character_but_tab_and_line_breaks_is_found(code) -> None:
    assert first_control_character(f"ok{chr(code)}ok") == chr(code)


def test_tabs_line_breaks_and_chinese_are_text() -> None:
    assert first_control_character("楼道\t堆物\r\n已提醒 ✓") is None


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("sta\x00irs\x07.jpg", "stairs.jpg"),
        ("C:\\Users\\张\\楼道.jpg", "楼道.jpg"),
        ("../../etc/passwd", "passwd"),
        ("line\r\nbreak.png", "linebreak.png"),
        ("line\u2028break\u0085.png", "linebreak.png"),
        ("\x00\x1b", "photo"),
        ("x" * 300 + ".jpg", "x" * 200),
    ],
)
def test_a_file_name_is_cleaned_not_refused(sent, kept) -> None:
    assert clean_file_name(sent) == kept


def test_periods_read_as_a_chinese_reader_writes_them() -> None:
    assert period_zh("2026-Q3") == "2026年第三季度" and period_zh("2027-Q1") == "2027年第一季度"
    assert period_zh("2026-10") == "2026年10月" and period_zh("2026-03") == "2026年3月"
    assert period_zh("2026-10-05") == "2026年10月5日"
    assert period_zh("2026") == "2026" and period_zh("2026-Q5") == "2026-Q5"  # not a period it knows: as given


def test_people_read_by_name_and_post_found_anywhere_in_a_page_once() -> None:
    from dataclasses import dataclass

    import msgspec

    from foundation.access import Role
    from foundation.web.filters import accounts_shown, person_named
    from people.queries import post_of

    names: dict[str, str | tuple[str, str]] = {"xbl-officer": "王芳", "finance": "区财政局", "xbl01-director": "树德里社区居委会主任"}
    assert person_named("xbl-officer (street_officer)", names) == "王芳（街道办）"
    # The post as people.queries gives it, with the unit the person serves; an account named by its username: its post.
    names |= {"xbl-worker1": ("王丽", post_of(Role.STREET_WORKER, street="小白楼")), "x.chen": ("x.chen", "区级管理员")}
    names |= {"xbl01-worker": ("李洋", post_of(Role.COMMUNITY_WORKER, street="小白楼", community="树德里")), "company01": ("张明", post_of(Role.COMPANY, organisation="天津市惠民物业服务有限公司"))}
    assert person_named("xbl-worker1 (street_worker)", names) == "王丽（小白楼街道物业社工/专管员）"
    assert person_named("xbl01-worker (community_worker)", names) == "李洋（树德里社区物业社工）"
    assert person_named("company01 (company)", names) == "张明（天津市惠民物业服务有限公司）"
    assert person_named("x.chen (admin)", names) == "区级管理员"
    assert post_of(Role.STREET_OFFICER, street="小白楼街道") == "小白楼街道办" and post_of(Role.COMMITTEE_DIRECTOR, community="树德里社区") == "树德里社区居委会主任"
    assert post_of(Role.FINANCE, street="小白楼") == "区财政" and post_of(Role.STREET_OFFICER) == "街道办"
    assert person_named("finance (finance)", names) == "区财政局"  # an account named after its post: once
    assert person_named("xbl01-director (committee_director)", names) == "树德里社区居委会主任"
    assert person_named("gone (street_worker)", names) == "街道物业社工/专管员"  # unknown account: its post
    assert person_named("system", names) == "系统" and person_named("王大爷", names) == "王大爷"
    assert person_named("someone (not_a_role)", names) == "someone (not_a_role)"
    # Who acts without an account is named in Chinese too (the audit log page shows every kind of actor).
    assert person_named("resident (qr)", names) == "居民（扫码反映）" and person_named("resident (open311)", names) == "居民（城市服务平台）"
    assert person_named("scheduler (finance)", names) == "系统定时任务" and person_named("anonymous (10.0.0.7)", names) == "未登录的访问者"
    assert person_named("system (admin)", names) == "系统"  # a job or command run as the system, not an administrator
    assert person_named("apikey:ab12cd (inspector)", names) == "第三方机构的接口密钥（ab12cd）"

    class Row(msgspec.Struct):
        confirmed_by: str | None

    @dataclass(frozen=True)
    class Card:
        rows: list[Row]
        note: str

    context = {"me": None, "run": Card([Row("xbl-officer (street_officer)"), Row(None)], "说明 (不是账号)"), "pairs": [("finance (finance)", 3)]}
    assert accounts_shown(context) == {"xbl-officer", "finance"}


LINE_BREAKS = ["\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("character", LINE_BREAKS, ids=lambda c: f"U+{ord(c):04X}")
def test_one_line_text_refuses_every_line_break_and_tab_that_notes_may_hold(character) -> None:
    for pattern in (ONE_LINE, ONE_LINE_NONBLANK):
        assert not re.search(pattern, f"中国{character}银行"), pattern
    assert first_line_break(f"中国{character}银行") == character
    # Notes keep them (U+000B and U+000C are control characters everywhere).
    assert bool(re.search(PRINTABLE, f"中国{character}银行")) is (character not in "\x0b\x0c")


@pytest.mark.parametrize("name", ["中国　银行", "中国\u00a0银行", "天津银行 和平支行", "A-1"])
def test_one_line_text_keeps_every_space_people_type(name) -> None:
    assert re.search(ONE_LINE, name) and re.search(ONE_LINE_NONBLANK, name) and first_line_break(name) is None


def test_a_one_line_name_is_not_blank_as_a_name_is_not() -> None:
    for blank in ("", " ", "\u3000\u3000", "\u00a0"):
        assert bool(re.search(ONE_LINE_NONBLANK, blank)) is bool(re.search(NONBLANK, blank)) is False
        assert re.search(ONE_LINE, blank)


def test_a_final_line_feed_passes_the_pattern_and_is_refused_by_the_schema_s_field() -> None:
    """Python's `$` matches before a final line feed: the pattern alone lets "name\n" through."""
    assert re.search(ONE_LINE_NONBLANK, "树德里\n")
    with pytest.raises(NotOneLine) as refused:
        check_one_line({"name": "树德里", "staff": [{"name": "王"}, {"name": "李\n"}]}, OrganisationCreate, "body")
    assert refused.value.field == "body.staff[1].name" and "U+000A" in refused.value.detail
    with pytest.raises(NotOneLine) as on_a_page:
        check_one_line({"staff": [{"name": "李\u2028四"}]}, OrganisationCreate, beside_field=True)
    assert on_a_page.value.field == "staff" and on_a_page.value.message_zh.startswith("此项为一行文字")
    check_one_line({"name": "树德里　一片", "address": "南京路 1 号", "staff": [{"name": "王", "position": "经理"}]}, OrganisationCreate, "body")
