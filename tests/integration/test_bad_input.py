"""Bad input on every door: a body that is not UTF-8, control characters in any text, periods and dates outside the
calendar or the supported years, photos that unpack into too many pixels. Each is a 4xx a person can act on (a
problem document, or a Chinese page) and stores nothing."""

from __future__ import annotations

import asyncio
import io
import os
import re
import struct
import subprocess
import sys
from functools import cache
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from assessment.tables import Appeal, CommitteeOpinion, Veto
from foundation.audit import AuditEntry
from foundation.jobs import JobRun
from inspections.tables import Attachment, InspectionRecord
from people.tables import AuthToken
from registry.tables import ServiceContract
from subsidies.engine.tables import ProgrammeRun
from subsidies.property.tables import RateCardRow
from supervision.demo import DEMO_PASSWORD
from tests.integration.evidence import jpeg, record_body
from tests.integration.helpers import assert_problem, count, estate_ids_of

# Every kind of user, so that each operation is reached by someone its guard lets in.
USERS = ("admin", "finance", "xbl-officer", "xbl01-director", "xbl01-worker", "company01", "inspector1", "org01", "xbl01-care", "xbl-care", "evaluator1", "xbl01-vol1")
CONTROL_CHARACTERS = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x1b", "\x1f", "\x7f"]
STORED = (Attachment, InspectionRecord, CommitteeOpinion, Veto, Appeal, JobRun, ServiceContract, RateCardRow, ProgrammeRun, AuditEntry, AuthToken)


async def stored(db: Any) -> dict[str, int]:
    return {model.__name__: await count(db, model) for model in STORED}


def operations(app: Any, *, json_body: bool) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of the OpenAPI document, those with a JSON body or those without."""
    found = []
    for path, item in app.openapi_schema.to_schema()["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            has_json = "application/json" in (operation.get("requestBody") or {}).get("content", {})
            if has_json == json_body:
                found.append((method.upper(), path, operation))
    return found


def concrete(path: str) -> str:
    """A path with its parameters filled: ids 1, names and codes a plain word, months and quarters valid."""
    path = re.sub(r"\{[a-z_]*id\}", "1", path)
    return path.replace("{month}", "2026-10").replace("{quarter}", "2026-Q3").replace("{name}", "inspections.mark_overdue").replace("{code}", "abc")


async def headers_of(as_user: Any) -> list[dict[str, str]]:
    return [{}] + [await as_user(name) for name in USERS]


def png(width: int, height: int) -> bytes:
    """A one-bit PNG: a few kilobytes however many pixels it unpacks into."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


@cache
def bomb(width: int, height: int) -> bytes:
    return png(width, height)


def multipart(filename: bytes, content: bytes, **fields: str) -> tuple[bytes, str]:
    """A multipart body written byte by byte (HTTP clients escape control characters in file names; attackers do not)."""
    boundary = "----badinput7d9a"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode() for name, value in fields.items()
    ]
    parts.append(
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\nContent-Type: image/png\r\n\r\n'
        + content + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def page_form_token(client: Any, path: str) -> str:
    page = await client.get(path)
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


async def page_login(client: Any, username: str) -> None:
    token = await page_form_token(client, "/login")
    response = await client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "next": "/", "_csrf_token": token}, follow_redirects=False)
    assert response.status_code in (302, 303), response.text


# 11. Bodies that are not UTF-8


async def test_a_json_body_that_is_not_utf8_is_refused_on_every_route_and_stores_nothing(client, as_user, app, db) -> None:
    everyone = await headers_of(as_user)
    before = await stored(db)
    answers: dict[str, set[int]] = {}
    for headers in everyone:
        for method, path, _ in operations(app, json_body=True):
            response = await client.request(method, concrete(path), content=b'{"name": "caf\xe9 \xff"}', headers={**headers, "content-type": "application/json"})
            assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text}"
            assert response.headers["content-type"].startswith("application/problem+json"), f"{method} {path}"
            if response.status_code == 400:
                assert "not valid UTF-8" in response.json()["detail"], f"{method} {path}: {response.text}"
            answers.setdefault(f"{method} {path}", set()).add(response.status_code)
    refused_as_not_utf8 = [operation for operation, statuses in answers.items() if 400 in statuses]
    # Every operation with a JSON body is reached by a user it lets in, who is told the body is not UTF-8.
    assert sorted(refused_as_not_utf8) == sorted(answers), {k: v for k, v in answers.items() if 400 not in v}
    assert await stored(db) == before


async def test_a_json_route_sent_no_body_says_so_on_every_route_and_stores_nothing(client, as_user, app, db) -> None:
    """An empty POST is told that the body is missing (not Litestar's inner parameter name, 'data')."""
    headers = await as_user("xbl-officer")
    before = await stored(db)
    told = 0
    for method, path, _ in operations(app, json_body=True):
        response = await client.request(method, concrete(path), content=b"", headers={**headers, "content-type": "application/json"})
        assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text}"
        assert "'data'" not in response.text, f"{method} {path}: {response.text}"
        told += response.status_code == 400 and "no body" in response.json()["detail"]
    assert told > 10  # every route the officer is let into says so (the rest refuse the officer first)
    assert await stored(db) == before


async def test_an_anonymous_login_that_is_not_utf8_is_refused(client) -> None:
    response = await client.post("/api/auth/login", content=b'{"username": "adm\xc3in", "password": "x"}', headers={"content-type": "application/json"})
    body = assert_problem(response, 400, "not valid UTF-8")
    assert body["errors"][0]["field"] == "body"


DEEP_JSON = b"[" * 500 + b"]" * 500


async def test_json_nested_past_any_document_is_refused_on_every_route_without_a_traceback(client, as_user, app, db, caplog) -> None:
    officer = await as_user("xbl-officer")
    before = await stored(db)
    anonymous = await client.post("/api/auth/login", content=DEEP_JSON, headers={"content-type": "application/json"})
    body = assert_problem(anonymous, 400, "levels deep")
    assert "嵌套" in body["detail_zh"]
    for method, path, _ in operations(app, json_body=True):
        response = await client.request(method, concrete(path), content=b'{"a": ' + DEEP_JSON + b"}", headers={**officer, "content-type": "application/json"})
        assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text}"
    assert "RecursionError" not in caplog.text and "Traceback" not in caplog.text
    assert await stored(db) == before


async def test_a_form_sent_to_a_json_operation_is_refused_naming_the_type_it_reads(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    before = await stored(db)
    body, content_type = multipart(b"x.png", b"not read", username="admin", password="x")
    login = await client.post("/api/auth/login", content=body, headers={"content-type": content_type})
    problem = assert_problem(login, 415, "application/json")
    assert "JSON" in problem["detail_zh"]
    patrol = await client.post("/api/patrols", content=body, headers={**worker, "content-type": content_type})
    assert_problem(patrol, 415, "application/json")
    urlencoded = await client.post("/api/patrols", data={"estate_id": "1"}, headers=worker)
    assert_problem(urlencoded, 415, "application/json")
    assert await stored(db) == before


@pytest.mark.parametrize("path", ["/patrol/records", "/community/delivery/log/records"])
async def test_a_page_outbox_sent_a_form_with_a_file_answers_at_once(client, db, path) -> None:
    await page_login(client, "xbl01-worker" if path.startswith("/patrol") else "xbl01-care")
    token = await page_form_token(client, "/patrol/" if path.startswith("/patrol") else "/community/delivery/log")
    before = await stored(db)
    body, content_type = multipart(b"photo.jpg", jpeg(), _csrf_token=token)
    response = await asyncio.wait_for(client.post(path, content=body, headers={"content-type": content_type, "x-csrftoken": token}), timeout=15)
    assert response.status_code == 415, response.text
    assert await stored(db) == before


async def test_a_page_form_that_is_not_utf8_is_refused_in_chinese(client) -> None:
    token = await page_form_token(client, "/login")
    response = await client.post(
        "/login", content=b"username=adm%FFin&password=x&_csrf_token=" + token.encode(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= response.status_code < 500, response.text
    assert "登录" in response.text or "有误" in response.text


# 15. Control characters


@pytest.mark.parametrize("character", CONTROL_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
async def test_a_control_character_in_the_api_login_is_refused_naming_the_field(client, db, character) -> None:
    before = await stored(db)
    response = await client.post("/api/auth/login", json={"username": f"admin{character}", "password": DEMO_PASSWORD})
    body = assert_problem(response, 422, "body.username", f"U+{ord(character):04X}")
    assert body["errors"] == [{"field": "body.username", "message": body["detail"]}]
    assert await stored(db) == before


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f"], ids=lambda c: f"U+{ord(c):04X}")
async def test_a_control_character_in_the_page_login_form_is_refused_in_chinese(client, db, character) -> None:
    before = await stored(db)
    token = await page_form_token(client, "/login")
    response = await client.post("/login", data={"username": f"x{character}y", "password": "secret", "next": "/", "_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 422, response.text
    assert "控制字符" in response.text and "username" in response.text
    assert await stored(db) == before


async def test_tabs_and_line_breaks_stay_allowed_in_notes(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    response = await client.post("/api/patrols", json=record_body(estate, note="楼道\t堆物\r\n已提醒"), headers=worker)
    assert response.status_code == 201, response.text


async def test_a_control_character_anywhere_in_a_json_body_is_refused_on_every_route(client, as_user, app, db) -> None:
    everyone = await headers_of(as_user)
    before = await stored(db)
    answers: dict[str, set[int]] = {}
    for headers in everyone:
        for method, path, _ in operations(app, json_body=True):
            response = await client.request(method, concrete(path), json={"items": [{"note": "a\x00b"}]}, headers=headers)
            assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text}"
            if response.status_code == 422:
                assert "body.items[0].note" in response.json()["detail"], response.text
            answers.setdefault(f"{method} {path}", set()).add(response.status_code)
    assert all(422 in statuses for statuses in answers.values()), {k: v for k, v in answers.items() if 422 not in v}
    assert await stored(db) == before


async def test_a_control_character_in_any_query_or_path_parameter_is_refused(client, as_user, app, db) -> None:
    admin = await as_user("admin")
    before = await stored(db)
    for method, path, _ in operations(app, json_body=False):
        response = await client.request(method, concrete(path), params={"q": "x\x00y"}, headers=admin)
        assert response.status_code in (401, 403, 404, 405, 422), f"{method} {path}: {response.status_code} {response.text}"
        if response.status_code == 422 and path.startswith("/api/open311/v2/"):  # GeoReport's own error list there
            assert response.headers["content-type"].startswith("application/json") and response.json()[0]["code"] == 422, response.text
            assert "U+0000" in response.json()[0]["description"], response.text
        elif response.status_code == 422:
            assert_problem(response, 422, "q holds the control character U+0000")
    for path in ("/api/documents/ab%00cd", "/verify/ab%00cd", "/api/jobs/x%07y/runs"):
        response = await client.get(path, headers=admin)
        assert response.status_code == 422, f"{path}: {response.status_code} {response.text}"
    assert await stored(db) == before


async def test_an_uploaded_file_name_keeps_no_control_characters(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    body, content_type = multipart(b"sta\x00irs\x07\x1b[31m.png", png(64, 48))
    response = await client.post("/api/attachments", content=body, headers={**worker, "content-type": content_type})
    assert response.status_code == 201, response.text
    assert response.json()["original_name"] == "stairs[31m.png"
    async with db() as session:
        assert (await session.get(Attachment, response.json()["id"])).original_name == "stairs[31m.png"


async def test_a_control_character_in_an_upload_form_field_is_refused(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    before = await stored(db)
    body, content_type = multipart(b"a.png", png(64, 48), taken_at="2026-10-12T09:30:00\x00+08:00")
    response = await client.post("/api/attachments", content=body, headers={**worker, "content-type": content_type})
    assert_problem(response, 422, "taken_at", "U+0000")
    assert await stored(db) == before


async def test_a_control_character_in_a_page_form_stores_nothing(client, db) -> None:
    await page_login(client, "xbl01-director")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    before = await stored(db)
    token = await page_form_token(client, f"/committee/estates/{estate}")
    response = await client.post(
        f"/committee/estates/{estate}/opinion", data={"rating": "90", "note": "好\x00", "_csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 422 and "控制字符" in response.text, response.text
    assert await stored(db) == before


# 13. Periods and dates

BAD_MONTHS = ["0000-01", "9999-12", "1999-12", "2101-01", "2026-13", "2026-00", "2026-1"]
BAD_QUARTERS = ["9999-Q4", "0000-Q1", "2101-Q1", "2026-Q5", "2026-Q0"]


@pytest.mark.parametrize("month", BAD_MONTHS)
async def test_every_month_route_refuses_a_month_outside_the_calendar_or_the_supported_years(client, as_user, db, month) -> None:
    admin, officer = await as_user("admin"), await as_user("xbl-officer")
    director, company = await as_user("xbl01-director"), await as_user("company01")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    before = await stored(db)
    calls = [
        ("GET", f"/api/assessment/months/{street}/{month}", admin, None),
        ("POST", f"/api/assessment/months/{street}/{month}/compute", officer, None),
        ("POST", f"/api/assessment/months/{street}/{month}/lock", officer, None),
        ("GET", f"/api/assessment/scores?month={month}", admin, None),
        ("GET", f"/api/assessment/scores/{estate}/{month}", admin, None),
        ("GET", f"/api/assessment/opinions?month={month}", admin, None),
        ("GET", f"/api/assessment/vetoes?month={month}", admin, None),
        ("POST", "/api/assessment/opinions", director, {"client_id": "opinion-of-a-bad-month", "estate_id": estate, "month": month, "rating": 90}),
        ("POST", "/api/assessment/vetoes", director, {"estate_id": estate, "month": month, "reason": "x", "explanation": "long enough text", "evidence_photo_ids": [1]}),
        ("POST", "/api/assessment/appeals", company, {"estate_id": estate, "month": month, "reason": "wrong score"}),
        ("GET", f"/api/assessment/scores/{estate}/{month}/report.pdf", admin, None),
        ("GET", f"/api/assessment/appeals?month={month}", admin, None),
        ("GET", f"/api/defects/overdue-by-company?month={month}", admin, None),
        ("GET", f"/api/defects?month={month}", admin, None),
        ("POST", "/api/spot-checks/draws", admin, {"month": month}),
        ("GET", f"/api/spot-checks/draws/{month}", admin, None),
        ("GET", f"/api/spot-checks/assignments?month={month}", admin, None),
        ("GET", f"/api/inspections?month={month}", admin, None),
        ("POST", f"/api/jobs/inspections.draw_spot_checks/run?period={month}", admin, None),
        ("POST", f"/api/jobs/assessment.compute_last_month/run?period={month}", admin, None),
    ]
    for method, path, headers, body in calls:
        response = await client.request(method, path, json=body, headers=headers)
        detail = assert_problem(response, 400)["detail"]
        assert ("month" in detail or "period" in detail) and "2026-10" in detail and "2000" in detail, f"{method} {path}: {detail}"
    assert await stored(db) == before


@pytest.mark.parametrize("quarter", BAD_QUARTERS)
async def test_every_quarter_route_refuses_a_quarter_outside_the_supported_years(client, as_user, db, quarter) -> None:
    finance, admin = await as_user("finance"), await as_user("admin")
    before = await stored(db)
    for method, path, body in [
        ("POST", "/api/subsidies/runs", {"quarter": quarter}),
        ("GET", f"/api/subsidies/ledger/{quarter}", None),
        ("POST", f"/api/jobs/subsidies.prepare_quarter_run/run?period={quarter}", None),
    ]:
        response = await client.request(method, path, json=body, headers=finance if "jobs" not in path else admin)
        detail = assert_problem(response, 400)["detail"]
        assert ("quarter" in detail or "period" in detail) and "2026-Q4" in detail and "2000" in detail, f"{method} {path}: {detail}"
    assert await stored(db) == before


@pytest.mark.parametrize(
    ("job", "period"),
    [
        ("subsidies.prepare_quarter_run", "2026-13"),
        ("subsidies.prepare_quarter_run", "2026-10"),
        ("assessment.compute_last_month", "2026-Q4"),
        ("inspections.evening_coverage", "2026-02-30"),
        ("inspections.evening_coverage", "0000-01-01"),
        ("assessment.remind_opinions", "2026-10"),
        ("inspections.mark_overdue", "2026-02-29T10"),
        ("inspections.mark_overdue", "2026-10-12"),
    ],
)
async def test_a_job_run_for_a_period_its_job_does_not_work_on_is_refused_and_not_recorded(client, as_user, db, job, period) -> None:
    response = await client.post(f"/api/jobs/{job}/run", params={"period": period}, headers=await as_user("admin"))
    detail = assert_problem(response, 400)["detail"]
    assert "period" in detail and ("2000" in detail or "calendar" in detail), detail
    assert await count(db, JobRun) == 0


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/subsidies/rate-cards", {"valid_from": "9999-12-31"}, "body.valid_from"),
        ("/api/registry/contracts", {"ends_on": "9999-12-31"}, "body.ends_on"),
        ("/api/patrols", {"inspected_at": "9999-12-31T10:00:00+08:00"}, "body.inspected_at"),
        ("/api/patrols", {"inspected_at": "0001-01-01T10:00:00+08:00"}, "body.inspected_at"),
    ],
)
async def test_a_date_in_a_body_outside_the_supported_years_is_refused(client, as_user, db, path, body, field) -> None:
    estate = (await estate_ids_of(db, "XBL01"))[0]
    headers = await as_user({"/api/patrols": "xbl01-worker", "/api/subsidies/rate-cards": "admin", "/api/registry/contracts": "xbl01-director"}[path])
    full = {
        "/api/patrols": record_body(estate),
        "/api/subsidies/rate-cards": {"valid_from": "2027-01-01", "rate_fen_per_m2_month": 100, "city_share": "0.5", "coefficients": {"优秀": "1"}},
        "/api/registry/contracts": {"vote_id": 1, "contract_number": "HT-9999", "signed_on": "2026-01-01", "starts_on": "2026-01-01", "ends_on": "2026-12-31"},
    }[path] | body
    before = await stored(db)
    response = await client.post(path, json=full, headers=headers)
    assert response.status_code == 400, response.text
    assert field in response.text and "2000" in response.text
    assert await stored(db) == before


@pytest.mark.parametrize(("path", "query"), [("/api/registry/contracts", "in_force_on=9999-12-31"), ("/api/patrols/coverage", "community_id=1&date_from=0001-01-01&date_to=2026-10-01")])
async def test_a_date_parameter_outside_the_supported_years_is_refused(client, as_user, path, query) -> None:
    response = await client.get(f"{path}?{query}", headers=await as_user("admin"))
    assert_problem(response, 400, "2000")


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "2026-13"])
async def test_month_pages_refuse_a_month_outside_the_calendar_in_chinese_and_store_nothing(client, db, month) -> None:
    await page_login(client, "xbl01-director")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    page = await client.get(f"/committee/estates/{estate}?month={month}")
    assert page.status_code == 400 and "月份" in page.text and "2000" in page.text, page.text
    token = await page_form_token(client, f"/committee/estates/{estate}")
    before = await stored(db)
    response = await client.post(f"/committee/estates/{estate}/opinion", data={"month": month, "rating": "90", "_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 400 and "月份" in response.text, response.text
    assert await stored(db) == before


async def test_the_street_desk_does_not_compute_another_month_than_the_one_asked(client, db) -> None:
    await page_login(client, "xbl-officer")
    token = await page_form_token(client, "/assessment")
    before = await stored(db)
    response = await client.post("/assessment/months/0000-01/compute", data={"_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 400 and "月份" in response.text, response.text
    assert await stored(db) == before
    assert (await client.get("/coverage?month=2026-13")).status_code == 400


async def test_the_quarter_form_of_a_subsidy_run_names_the_supported_years(client, db) -> None:
    await page_login(client, "finance")
    token = await page_form_token(client, "/subsidies/runs")
    response = await client.post("/subsidies/runs", data={"quarter": "9999-Q4", "_csrf_token": token}, follow_redirects=False)
    assert response.status_code in (400, 422) and "2000 至 2100" in response.text, response.text
    assert await count(db, ProgrammeRun, ProgrammeRun.programme == "property") == 0


# 12. Photos that unpack into too many pixels


@pytest.mark.parametrize(("width", "height"), [(8000, 5100), (10000, 10000), (20000, 20000)], ids=["41MP", "100MP-pillow-warns", "400MP-bomb"])
async def test_a_photo_with_too_many_pixels_is_refused_before_it_is_decoded(client, as_user, db, tmp_root, width, height) -> None:
    content = bomb(width, height)
    assert len(content) < 1_000_000  # small on the wire: only its header says what it would unpack into
    worker = await as_user("xbl01-worker")
    before = await stored(db)
    response = await client.post("/api/attachments", files={"file": ("big.png", content, "image/png")}, headers=worker)
    body = assert_problem(response, 413, "40 megapixels")
    assert body["errors"][0]["field"] == "file"
    assert await stored(db) == before


async def test_a_page_upload_of_a_bomb_is_refused_in_chinese(client, db) -> None:
    await page_login(client, "xbl01-worker")
    token = await page_form_token(client, "/patrol/")
    response = await client.post("/patrol/photos", files={"file": ("bomb.png", bomb(20000, 20000), "image/png")}, data={"_csrf_token": token})
    assert response.status_code == 413, response.text
    assert "像素" in response.text
    assert await count(db, Attachment) == 0


async def test_a_large_phone_photo_is_kept_whole_and_shown_scaled_down(client, as_user, db) -> None:
    original = io.BytesIO()
    Image.new("RGB", (4032, 3024), (120, 90, 60)).save(original, "JPEG", quality=90)
    worker = await as_user("xbl01-worker")
    response = await client.post("/api/attachments", files={"file": ("phone.jpg", original.getvalue(), "image/jpeg")}, headers=worker)
    assert response.status_code == 201, response.text
    photo = response.json()["id"]
    shown = await client.get(f"/api/attachments/{photo}", headers=worker)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(shown.content)).size == (2048, 1536)
    whole = await client.get(f"/api/attachments/{photo}", params={"original": "true"}, headers=worker)
    assert whole.content == original.getvalue()
    await page_login(client, "xbl01-worker")
    assert Image.open(io.BytesIO((await client.get(f"/photos/{photo}")).content)).size == (2048, 1536)
    assert (await client.get(f"/photos/{photo}?original=true")).content == original.getvalue()
    small = jpeg()
    small_id = (await client.post("/api/attachments", files={"file": ("s.jpg", small, "image/jpeg")}, headers=worker)).json()["id"]
    assert (await client.get(f"/api/attachments/{small_id}", headers=worker)).content == small
    async with db() as session:
        assert (await session.execute(select(Attachment.size_bytes).where(Attachment.id == photo))).scalar_one() == len(original.getvalue())


def broken_exif_jpeg(tag: int) -> bytes:
    """A 64×48 JPEG whose EXIF holds one pointer (0x8769 EXIF or 0x8825 GPS) stored as a signed long of -100."""
    plain = jpeg()
    tiff = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 1) + struct.pack("<HHIi", tag, 9, 1, -100) + struct.pack("<I", 0)
    payload = b"Exif\0\0" + tiff
    return plain[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + plain[2:]


def camera_mpo() -> bytes:
    """A camera JPEG carrying a preview picture (Multi-Picture Format): Pillow opens it as MPO."""
    main, preview = Image.new("RGB", (64, 48), (200, 10, 10)), Image.new("RGB", (32, 24), (200, 10, 10))
    buffer = io.BytesIO()
    main.save(buffer, "MPO", save_all=True, append_images=[preview])
    return buffer.getvalue()


@pytest.mark.parametrize("tag", [0x8769, 0x8825], ids=["exif-pointer", "gps-pointer"])
async def test_a_photo_with_an_unreadable_exif_block_is_kept_without_its_time_or_place(client, as_user, db, tag) -> None:
    worker = await as_user("xbl01-worker")
    response = await client.post("/api/attachments", files={"file": ("camera.jpg", broken_exif_jpeg(tag), "image/jpeg")}, headers=worker)
    assert response.status_code == 201, response.text
    async with db() as session:
        kept = await session.get_one(Attachment, response.json()["id"])
    assert kept.content_type == "image/jpeg" and kept.exif_taken_at is None and kept.exif_latitude_micro is None
    await page_login(client, "xbl01-worker")
    token = await page_form_token(client, "/patrol/")
    page = await client.post("/patrol/photos", files={"file": ("camera.jpg", broken_exif_jpeg(tag), "image/jpeg")}, data={"_csrf_token": token})
    assert page.status_code < 400, page.text


async def test_a_camera_jpeg_with_a_preview_picture_is_kept_as_a_jpeg(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    response = await client.post("/api/attachments", files={"file": ("camera.jpg", camera_mpo(), "image/jpeg")}, headers=worker)
    assert response.status_code == 201, response.text
    shown = await client.get(f"/api/attachments/{response.json()['id']}", headers=worker)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"


def _truncated_photos() -> list[bytes]:
    whole = io.BytesIO()
    Image.effect_mandelbrot((640, 480), (-2, -1.5, 1, 1.5), 100).convert("RGB").save(whole, "JPEG")
    content = whole.getvalue()
    return [content[: len(content) // 3], content[:400] + b"\0" * (len(content) - 400)]


@pytest.mark.parametrize("index", [0, 1], ids=["first-third", "header-then-zeros"])
async def test_a_photo_cut_short_is_refused_and_stores_nothing(client, as_user, db, index) -> None:
    worker = await as_user("xbl01-worker")
    before = await stored(db)
    response = await client.post("/api/attachments", files={"file": ("cut.jpg", _truncated_photos()[index], "image/jpeg")}, headers=worker)
    body = assert_problem(response, 400, "not a readable")
    assert "无法识别该照片" in body["detail_zh"]
    assert await stored(db) == before


@pytest.mark.parametrize(
    ("job", "period"), [("subsidies.prepare_quarter_run", "2026-13"), ("subsidies.prepare_quarter_run", "9999-Q4"), ("inspections.evening_coverage", "2026-02-30")]
)
async def test_the_cli_refuses_a_period_that_is_not_one_and_records_no_run(database_url, db, job, period) -> None:
    environment = {**os.environ, "SUPERVISION_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "supervision.cli", "jobs", "run", job, "--period", period]
    result = await asyncio.to_thread(subprocess.run, command, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert period in result.stderr and ("2000" in result.stderr or "calendar" in result.stderr), result.stderr
    assert await count(db, JobRun) == 0
