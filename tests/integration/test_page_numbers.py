"""Numbers typed into a page's address (a page number, a filter's id, a record's id) larger than anything stored are
refused or shown as an empty page, in Chinese: never a fault. Both databases: SQLite cannot bind an integer past 2^63,
PostgreSQL's integer columns stop at 2^31."""

from __future__ import annotations

import pytest

from tests.integration.test_pages import page_login

HUGE = "9" * 20


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("xbl-officer", "/defects?page_no=" + HUGE[:19]),
        ("xbl-officer", "/assessment?page_no=9223372036854775807"),
        ("admin", "/registry/estates?page_no=" + HUGE),
        ("admin", "/users?page_no=" + HUGE),
        ("admin", "/audit?page_no=" + HUGE),
        ("xbl01-worker", "/notifications?page_no=" + HUGE),
        ("xbl01-worker", "/me/actions?page_no=" + HUGE),
    ],
)
async def test_a_page_number_past_the_last_page_shows_an_empty_page(client, username, path) -> None:
    await page_login(client, username)
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text[:300]
    assert "下一页" not in answer.text  # nothing lies beyond it


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("xbl-officer", f"/defects?company_id={HUGE}"),
        ("xbl-officer", f"/defects?estate_id={HUGE}"),
        ("xbl-officer", f"/assessment?community_id={HUGE}"),
        ("xbl-officer", "/assessment?company_id=4294967296"),
        ("admin", f"/users/{HUGE}"),
        ("admin", "/users/4294967296"),
        ("xbl-officer", f"/records/{HUGE}"),
        ("xbl-officer", f"/defects/{HUGE}"),
    ],
)
async def test_an_id_larger_than_any_record_is_refused_in_chinese(client, username, path) -> None:
    await page_login(client, username)
    answer = await client.get(path)
    assert answer.status_code in (400, 404), (answer.status_code, answer.text[:300])
    assert answer.headers["content-type"].startswith("text/html")
    assert "超出" in answer.text or "不存在" in answer.text
