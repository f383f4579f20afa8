"""Text read as one line (names and titles of estates, companies, people, calls; a company's bank) refuses a line
break wherever it is typed: the API answers 422 naming the field and the character, a page says in Chinese that
the field is one line, and nothing is stored. Every space people type stays (the full-width 　 of a Chinese
keyboard, a no-break space), and text that is many lines by nature (a description, a reason) keeps its breaks."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from community.calls.tables import Call
from community.needs.tables import Meeting
from community.volunteers.tables import Volunteer, VolunteerNeed
from community.wristbands.tables import WristbandElder
from foundation.audit import AuditEntry
from foundation.clock import utc_now
from people.tables import User
from registry.tables import Company
from subsidies.care.tables import CareEnrolment
from subsidies.relief.tables import ReliefApplication
from tests.integration.evidence import scan_png
from tests.integration.helpers import assert_problem, count, estate_ids_of
from tests.integration.test_calls import call_body
from tests.integration.test_pages import page_login
from tests.integration.test_relief_funds import REASON, document
from tests.integration.test_role_pages import csrf
from tests.integration.test_volunteers import phone

BREAKS = {"LF": "\n", "CRLF": "\r\n", "U+2028": "\u2028"}
FULL_WIDTH = "中国　银行"  # U+3000 between the words, as a Chinese keyboard types it
STORED = (AuditEntry, Company, User, Volunteer, Call, ReliefApplication, VolunteerNeed, Meeting, CareEnrolment, WristbandElder)


async def stored(db: Any) -> dict[str, int]:
    return {model.__name__: await count(db, model) for model in STORED}


@dataclass(frozen=True)
class Field:
    """A one-line field of an operation: who sends it, where, the body around a value, and the field as named."""

    user: str
    method: str
    path: str
    body: Callable[[Any, dict[str, str], str], Awaitable[dict[str, Any]]]
    field: str  # as the problem names it
    answer: Callable[[dict[str, Any]], Any]  # the stored value, read from the operation's answer


async def _estate_name(client: Any, headers: dict[str, str], value: str) -> dict[str, Any]:
    return {"name": value}


async def _bank(client: Any, headers: dict[str, str], value: str) -> dict[str, Any]:
    return {"bank_name": value, "bank_account": "6217 0000 1111 2222"}


async def _user(client: Any, headers: dict[str, str], value: str) -> dict[str, Any]:
    return {"username": f"u-{uuid.uuid4().hex[:10]}", "display_name": value, "password": "long-enough-1", "role": "finance"}


async def _volunteer(client: Any, headers: dict[str, str], value: str) -> dict[str, Any]:
    return {"real_name": value, "phone": phone(), "username": f"v{uuid.uuid4().hex[:10]}", "password": "demo-pass-2026", "skills": ["理发"]}


async def _call(client: Any, headers: dict[str, str], value: str) -> dict[str, Any]:
    return call_body(utc_now() + timedelta(days=5), title=value)


async def _lot(client: Any, headers: dict[str, str], value: str) -> dict[str, Any]:
    return call_body(utc_now() + timedelta(days=5), lots=[{"title": value, "budget_fen": 5_000_000}])


async def _relief(client: Any, headers: dict[str, str], value: str) -> dict[str, Any]:
    return {
        "client_id": uuid.uuid4().hex, "fund": "warmth", "applicant_name": value, "applicant_phone": "13902221234", "household_size": 3,
        "amount_fen": 300_000, "reason": REASON, "document_ids": [await document(client, headers)],
    }


FIELDS = {
    "estate name": Field("admin", "PATCH", "/api/registry/estates/{estate}", _estate_name, "body.name", lambda a: a["name"]),
    "company name": Field("admin", "PATCH", "/api/registry/companies/1", _estate_name, "body.name", lambda a: a["name"]),
    "company bank_name": Field("admin", "PATCH", "/api/registry/companies/1", _bank, "body.bank_name", lambda a: a["bank_name"]),
    "user display_name": Field("admin", "POST", "/api/users", _user, "body.display_name", lambda a: a["display_name"]),
    "volunteer real_name": Field("xbl01-worker", "POST", "/api/volunteers", _volunteer, "body.real_name", lambda a: a["real_name"]),
    "call title": Field("admin", "POST", "/api/calls", _call, "body.title", lambda a: a["title"]),
    "call lot title": Field("admin", "POST", "/api/calls", _lot, "body.lots[0].title", lambda a: a["lots"][0]["title"]),
    "relief applicant_name": Field("ns01-care", "POST", "/api/relief/applications", _relief, "body.applicant_name", lambda a: a["applicant_name"]),
}


async def send(client: Any, as_user: Any, db: Any, field: Field, value: str) -> tuple[Any, dict[str, int], dict[str, int]]:
    """The operation sent with `value` in the field: its answer, and what was stored before and after it."""
    headers = await as_user(field.user)
    path = field.path.format(estate=(await estate_ids_of(db, "XBL01"))[0])
    body = await field.body(client, headers, value)  # made first: a relief application's document is stored before
    before = await stored(db)
    answer = await client.request(field.method, path, json=body, headers=headers)
    return answer, before, await stored(db)


@pytest.mark.parametrize("line_break", list(BREAKS.values()), ids=list(BREAKS))
@pytest.mark.parametrize("name", list(FIELDS))
async def test_a_line_break_in_a_one_line_field_is_refused_naming_the_field_and_nothing_is_stored(client, as_user, db, name, line_break) -> None:
    field = FIELDS[name]
    answer, before, after = await send(client, as_user, db, field, f"中国{line_break}银行")
    body = assert_problem(answer, 422, field.field, "one line", f"U+{ord(line_break[0]):04X}")
    assert [error["field"] for error in body["errors"]] == [field.field]
    assert "一行文字" in body["detail_zh"]
    assert after == before


@pytest.mark.parametrize("name", ["estate name", "call lot title", "relief applicant_name"])
async def test_a_name_ending_in_a_line_feed_is_refused_too(client, as_user, db, name) -> None:
    """Python's `$` matches before a final line feed, so the field's pattern alone would let this one through."""
    field = FIELDS[name]
    answer, before, after = await send(client, as_user, db, field, "中国银行\n")
    assert_problem(answer, 422, field.field, "one line", "U+000A")
    assert after == before


@pytest.mark.parametrize("name", list(FIELDS))
async def test_a_full_width_space_in_a_one_line_field_is_kept(client, as_user, db, name) -> None:
    field = FIELDS[name]
    answer, _, _ = await send(client, as_user, db, field, FULL_WIDTH)
    assert answer.status_code in (200, 201), answer.text
    assert field.answer(answer.json()) == FULL_WIDTH


@pytest.mark.parametrize("blank", ["\u200b\u200b", "\u200b\u200d\ufeff", "\u3000 \u200b"], ids=["zero-width", "joiners", "spaces-and-zero-width"])
@pytest.mark.parametrize("name", ["estate name", "user display_name", "call title", "relief applicant_name", "volunteer real_name"])
async def test_a_name_of_invisible_characters_alone_is_blank_and_refused(client, as_user, db, name, blank) -> None:
    """A zero-width space shows nothing: an elder, a call or an applicant named by it has no name on any page,
    document or OCDS release."""
    field = FIELDS[name]
    answer, before, after = await send(client, as_user, db, field, blank)
    assert_problem(answer, 400, "not blank")
    assert after == before


async def test_an_address_or_phone_may_be_left_empty_but_not_filled_with_spaces(client, as_user, db) -> None:
    admin = await as_user("admin")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    for body in ({"address": "   "}, {"address": "\u200b"}):
        assert_problem(await client.patch(f"/api/registry/estates/{estate}", json=body, headers=admin), 400, "not spaces")
    assert_problem(await client.patch("/api/registry/companies/1", json={"phone": "\u3000"}, headers=admin), 400, "not spaces")
    assert (await client.patch("/api/registry/companies/1", json={"phone": ""}, headers=admin)).json()["phone"] == ""


async def test_a_no_break_space_in_a_company_name_is_kept(client, as_user) -> None:
    answer = await client.patch("/api/registry/companies/1", json={"name": "安居物业\u00a0服务有限公司"}, headers=await as_user("admin"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "安居物业\u00a0服务有限公司"


async def test_text_of_many_lines_keeps_its_line_breaks(client, as_user, db) -> None:
    admin, care = await as_user("admin"), await as_user("ns01-care")
    call = await client.post("/api/calls", json=call_body(utc_now() + timedelta(days=5), description="服务内容：\n一、助餐\r\n二、助浴\u2028三、助医"), headers=admin)
    assert call.status_code == 201, call.text
    assert call.json()["description"] == "服务内容：\n一、助餐\r\n二、助浴\u2028三、助医"
    application = await client.post("/api/relief/applications", json=await _relief(client, care, "刘淑珍") | {"reason": f"{REASON}\n老伴住院两个月。"}, headers=care)
    assert application.status_code == 201, application.text
    async with db() as session:
        kept = (await session.execute(select(ReliefApplication.reason).where(ReliefApplication.id == application.json()["id"]))).scalar_one()
    assert kept == f"{REASON}\n老伴住院两个月。"


async def test_a_search_with_a_line_break_is_refused_naming_the_parameter(client, as_user) -> None:
    admin = await as_user("admin")
    body = assert_problem(await client.get("/api/registry/estates", params={"q": "树德\n里"}, headers=admin), 422, "q is one line", "U+000A")
    assert [error["field"] for error in body["errors"]] == ["q"]
    assert (await client.get("/api/registry/estates", params={"q": "树德　里"}, headers=admin)).status_code == 200


# Pages: the same rule, said in Chinese beside the field; the form comes back and nothing is stored.


async def test_a_page_refuses_a_bank_name_of_two_lines_in_chinese_and_keeps_a_full_width_space(client, db) -> None:
    await page_login(client, "admin")
    async with db() as session:
        kept = (await session.execute(select(Company.bank_name).where(Company.id == 1))).scalar_one()
    before = await stored(db)
    form = {"_csrf_token": await csrf(client), "bank_name": "中国\r\n银行", "bank_account": "6217 0000 1111 2222"}
    refused = await client.post("/registry/companies/1/bank", data=form)
    assert refused.status_code == 422 and "此项为一行文字" in refused.text, refused.text
    assert await stored(db) == before
    async with db() as session:
        assert (await session.execute(select(Company.bank_name).where(Company.id == 1))).scalar_one() == kept
    saved = await client.post("/registry/companies/1/bank", data=form | {"bank_name": FULL_WIDTH})
    assert saved.status_code == 200, saved.text
    async with db() as session:
        assert (await session.execute(select(Company.bank_name).where(Company.id == 1))).scalar_one() == FULL_WIDTH


CONSENT = scan_png()


@pytest.mark.parametrize(
    ("user", "path", "form", "shown_at"),
    [
        ("admin", "/users/new", {"username": "two-lines", "display_name": "新\u2028社工", "password": "long-enough-1", "role": "finance", "unit": ""}, "display_name"),
        ("xbl01-worker", "/volunteers/register", {"real_name": "韩\n秀云", "phone": "13812345678", "username": "two-lines", "password": "demo-pass-2026", "skills": ""}, None),
        ("xbl01-worker", "/volunteers/needs", {"title": "助老理发", "place": "社区\r\n活动室", "starts_at": "09:00", "held_on": "2026-12-01", "minutes": "60", "wanted": "2", "team_id": "1"}, None),
        ("xbl01-director", "/community/meetings", {"body": "deliberation", "place": "社区\n会议室", "members": "7", "present": "7", "minutes": "讨论并表决。", "need_id": "1", "in_favour": "7", "against": "0"}, "meeting-place"),
        ("xbl01-care", "/care/enrol", {"name": "李\t桂兰", "address": "3-2-101", "phone": "13800000000"}, 'id="name"'),
        ("xbl01-care", "/wristbands/register", {"name": "李桂兰", "consent_by": "elder", "consent_on": "2026-11-20", "guardian1_name": "王\u2028芳", "guardian1_phone": "13912345678"}, "guardian"),
    ],
    ids=["user display_name", "volunteer real_name", "volunteer need place", "meeting place", "elder's name (care)", "guardian's name (wristband)"],
)
async def test_a_page_refuses_a_name_of_two_lines_in_chinese_beside_the_field(client, db, user, path, form, shown_at: str | None) -> None:
    await page_login(client, user)
    before = await stored(db)
    files = {"consent_form": ("form.png", CONSENT, "image/png")} if path == "/wristbands/register" else None
    refused = await client.post(path, data=form | {"_csrf_token": await csrf(client)}, files=files)
    assert refused.status_code == 422, refused.text
    message = refused.text.index("此项为一行文字，不能含换行、制表符等控制字符")
    # Beside the field it was typed in (after it in the form); the volunteer desk says its forms' refusals at its top.
    assert shown_at is None or shown_at in refused.text[:message], refused.text
    assert await stored(db) == before
