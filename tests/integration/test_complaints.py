"""Residents' complaints: reported on the QR page (proof of work, limits, photos) and through Open311, followed by an
unguessable code, routed by the community's social worker to an order, a mediation or a closure, the resident's
phone kept from the company."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import numpy
import pytest
from litestar import Litestar
from PIL import Image
from sqlalchemy import func, select

from complaints.rules import Channel, solve_challenge
from complaints.service import NewComplaint, complaint_rules, remind_late_first_responses, report_complaint
from complaints.tables import Complaint, ComplaintPhoto
from foundation.errors import InvalidInput
from foundation.notifications import Notification
from foundation.throttle import ThrottleHit
from inspections.tables import Defect
from people.tables import User
from registry.tables import Estate
from tests.integration.evidence import company_user_of, jpeg, upload
from tests.integration.helpers import assert_problem, count, waiting_on
from tests.integration.test_pages import page_login

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "contract" / "open311_georeport_v2.schema.json").read_text(encoding="utf-8"))
PHONE = "13812345678"


def georeport(kind: str) -> Any:
    return jsonschema_rs.Draft7Validator({**SCHEMA, "$ref": f"#/{kind}"})


def assert_georeport_error(response: Any, status: int, *fragments: str) -> str:
    """A refusal as GeoReport v2 answers it: [{"code": status, "description": ...}], the description mentioning each
    fragment; answers the description."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers["content-type"]
    body = response.json()
    georeport("errors").validate(body)
    assert body[0]["code"] == status, body
    for fragment in fragments:
        assert fragment in body[0]["description"], body
    return str(body[0]["description"])


async def worker_estate(db: Any, username: str = "xbl01-worker") -> tuple[int, str]:
    """An estate of the demo worker's community: its id and code (what the QR poster carries)."""
    async with db() as session:
        community = (await session.execute(select(User.community_id).where(User.username == username))).scalar_one()
        estate = (await session.execute(select(Estate).where(Estate.community_id == community, Estate.left_on.is_(None)).order_by(Estate.id))).scalars().first()  # type: ignore[union-attr]
        return estate.id, estate.code


def resident(app: Litestar, address: str = "203.0.113.10") -> httpx.AsyncClient:
    """A phone of its own: its own cookies (device) and calling address."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local", follow_redirects=False, headers={"user-agent": "phone"})


async def report_on_page(
    phone_client: httpx.AsyncClient, estate_code: str, *, solve: bool = True, photos: int = 0, description: str = "3号楼楼道垃圾三天没人清", photo: Callable[[], bytes] = jpeg
) -> httpx.Response:
    form = await phone_client.get(f"/report/{estate_code}")
    assert form.status_code == 200, form.text
    challenge = re.search(r'name="pow_challenge" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    data = {
        "_csrf_token": token, "service_code": "cleaning", "place": "3号楼2单元", "description": description, "phone": PHONE,
        "pow_challenge": challenge, "pow_nonce": solve_challenge(challenge, complaint_rules().pow_bits) if solve else "0",
    }
    files = [("photo", (f"p{i}.jpg", photo(), "image/jpeg")) for i in range(photos)] or [("photo", ("", b"", "application/octet-stream"))]
    return await phone_client.post(f"/report/{estate_code}", data=data, files=files)


async def new_complaint(db: Any, estate_code: str, **overrides: Any) -> tuple[int, str]:
    """A complaint reported through the use case itself (for routing tests): its id and tracking code."""
    from foundation.storage import FileBlobStore

    async with db() as session:
        fields = {"channel": Channel.OPEN311, "service_code": "cleaning", "estate_code": estate_code, "description": "楼道堆放杂物", "phone": PHONE} | overrides
        complaint, code = await report_complaint(session, FileBlobStore(Path("/tmp/unused-complaint-store")), NewComplaint(**fields))
        await session.commit()
        return complaint.id, code


async def test_a_resident_reports_on_the_qr_page_with_a_photo_and_follows_it_by_code(app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient, as_user: Any) -> None:
    _, code = await worker_estate(db)
    async with resident(app) as phone:
        sent = await report_on_page(phone, code, photos=1)
        assert sent.status_code == 302, sent.text
        tracking = sent.headers["location"]
        page = await phone.get(tracking)
    assert page.status_code == 200
    assert "待处理" in page.text and "已收到您的反映" in page.text
    tracking_code = tracking.split("/track/")[1].split("?")[0]
    assert len(tracking_code) >= 22  # 128 random bits
    async with db() as session:
        complaint = (await session.execute(select(Complaint).order_by(Complaint.id.desc()))).scalars().first()  # type: ignore[union-attr]
        assert complaint.code_digest != tracking_code and tracking_code not in complaint.code_digest  # only its digest is kept
        assert await count(db, ComplaintPhoto, ComplaintPhoto.complaint_id == complaint.id) == 1
        told = (await session.execute(select(Notification).where(Notification.link == f"/complaints/{complaint.id}"))).scalars().all()
    assert told, "the community's social worker is told of a new complaint"
    # The worker sees it in her queue with the phone in full and the photo.
    worker = await as_user("xbl01-worker")
    queue = await client.get("/api/complaints", headers=worker)
    mine = next(c for c in queue.json() if c["id"] == complaint.id)
    assert mine["phone"] == PHONE and len(mine["photo_ids"]) == 1
    photo = await client.get(f"/api/attachments/{mine['photo_ids'][0]}", headers=worker)
    assert photo.status_code == 200


async def test_a_form_without_its_solved_challenge_is_refused_and_nothing_is_stored(app: Litestar, connection: Any, db: Any) -> None:
    _, code = await worker_estate(db)
    before = await count(db, Complaint)
    async with resident(app) as phone:
        sent = await report_on_page(phone, code, solve=False)
    assert sent.status_code == 422
    assert "页面尚未准备好" in sent.text
    assert await count(db, Complaint) == before


async def test_a_flood_from_one_phone_is_refused_while_another_residents_first_report_goes_through(app: Litestar, connection: Any, db: Any) -> None:
    _, code = await worker_estate(db)
    rules = complaint_rules()
    async with resident(app, "198.51.100.20") as flooder:
        for n in range(rules.per_device):
            assert (await report_on_page(flooder, code, description=f"第{n}次反映")).status_code == 302
        refused = await report_on_page(flooder, code, description="再来一次")
        assert refused.status_code == 429
        assert "提交次数过多" in refused.text and int(refused.headers["retry-after"]) > 0
    stored = await count(db, Complaint)
    async with resident(app, "198.51.100.21") as bomber:
        # A photo bomb: more photos than a report carries is refused before anything is kept.
        bomb = await report_on_page(bomber, code, photos=rules.max_photos + 1)
        assert bomb.status_code == 422 and f"最多上传 {rules.max_photos} 张照片" in bomb.text
    assert await count(db, Complaint) == stored
    async with resident(app, "203.0.113.77") as neighbour:
        first = await report_on_page(neighbour, code, description="路灯不亮")
    assert first.status_code == 302
    assert await count(db, Complaint) == stored + 1
    # The limiter counted keyed digests, never the addresses themselves.
    async with db() as session:
        digests = list((await session.execute(select(ThrottleHit.key_digest).where(ThrottleHit.scope.startswith("complaint")))).scalars())  # type: ignore[attr-defined]
    assert digests and all("198.51.100.20" not in d for d in digests)


def not_a_photo() -> bytes:
    return b"\xff\xd8\xff\xe0 not a photo at all"


async def test_reports_refused_for_a_bad_photo_do_not_use_up_the_residents_reports_but_a_flood_of_them_is_stopped(app: Litestar, connection: Any, db: Any) -> None:
    _, code = await worker_estate(db)
    rules = complaint_rules()
    async with resident(app, "198.51.100.30") as phone:
        for _ in range(rules.per_device):
            refused = await report_on_page(phone, code, photos=1, photo=not_a_photo)
            assert refused.status_code == 422 and "无法识别该照片" in refused.text, refused.text[-1000:]
        sent = await report_on_page(phone, code, photos=1)
        assert sent.status_code == 302, sent.text[-1000:]
    before = await count(db, Complaint)
    async with resident(app, "198.51.100.31") as flooder:
        answers = [(await report_on_page(flooder, code, photos=1, photo=not_a_photo)).status_code for _ in range(rules.per_device * 3 + 1)]
    assert set(answers[:-1]) == {422} and answers[-1] == 429
    assert await count(db, Complaint) == before


async def test_a_solved_challenge_is_good_for_one_report_only(app: Litestar, connection: Any, db: Any) -> None:
    _, code = await worker_estate(db)
    async with resident(app, "203.0.113.90") as phone:
        form = await phone.get(f"/report/{code}")
        challenge = re.search(r'name="pow_challenge" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        data = {"_csrf_token": token, "service_code": "parking", "description": "车辆堵住消防通道", "pow_challenge": challenge, "pow_nonce": solve_challenge(challenge, complaint_rules().pow_bits)}
        empty = [("photo", ("", b"", "application/octet-stream"))]
        assert (await phone.post(f"/report/{code}", data=data, files=empty)).status_code == 302
        assert (await phone.post(f"/report/{code}", data=data, files=empty)).status_code == 429


async def test_open311_services_requests_and_their_json_follow_georeport_v2(app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient) -> None:
    _, code = await worker_estate(db)
    services = await client.get("/api/open311/v2/services.json")
    assert services.status_code == 200
    georeport("services").validate(services.json())
    codes = {s["service_code"]: s for s in services.json()}
    assert codes["cleaning"]["keywords"] == "cleaning" and "other" in codes  # mapped to checklist categories, and 其他

    created = await client.post(
        "/api/open311/v2/requests.json",
        data={"service_code": "cleaning", "address_id": code, "description": "垃圾桶满溢无人清运", "lat": "39.1201", "long": "117.2001", "phone": PHONE, "first_name": "张", "email": "a@example.org"},
    )
    assert created.status_code == 201, created.text
    georeport("created").validate(created.json())
    request_id = created.json()[0]["service_request_id"]

    listed = await client.get("/api/open311/v2/requests.json", params={"service_request_id": request_id})
    assert listed.status_code == 200
    georeport("requests").validate(listed.json())
    (one,) = listed.json()
    assert one["status"] == "open" and one["service_code"] == "cleaning" and one["address_id"] == code and one["lat"] == pytest.approx(39.1201)
    assert PHONE not in listed.text and "张" not in listed.text and "example.org" not in listed.text
    single = await client.get(f"/api/open311/v2/requests/{request_id}.json")
    assert single.status_code == 200 and single.json() == listed.json()

    assert "media_url" not in one  # no photo: no media_url

    # GeoReport v2's POST is form-encoded: JSON is refused saying so, in both languages, without echoing the body.
    complaints = await count(db, Complaint)
    as_json = await client.post("/api/open311/v2/requests.json", json={"service_code": "cleaning", "address_id": code, "description": "楼道灯坏了"})
    assert_georeport_error(as_json, 415, "表单格式")
    assert "service_code" not in as_json.text and "楼道灯坏了" not in as_json.text
    assert await count(db, Complaint) == complaints

    # A client that sends the form's text as UTF-8 bytes, not %-escaped (curl -d): stored as it was written, not
    # read byte by byte as Latin-1; bytes that are not UTF-8 are refused and store nothing.
    raw = await client.post(
        "/api/open311/v2/requests.json", content=f"jurisdiction_id=heping&service_code=cleaning&address_id={code}&description=楼道垃圾三天没清运".encode(),
        headers={"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert raw.status_code == 201, raw.text
    async with db() as session:
        assert (await session.execute(select(Complaint.description).order_by(Complaint.id.desc()).limit(1))).scalar_one() == "楼道垃圾三天没清运"
    before = await count(db, Complaint)
    latin = await client.post(
        "/api/open311/v2/requests.json", content=f"service_code=cleaning&address_id={code}&description=".encode() + "楼道".encode("gb18030"),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_georeport_error(latin, 400, "UTF-8")
    assert await count(db, Complaint) == before

    # media_url sent: kept as a reference for the staff, never fetched; anything but an http(s) URL is refused.
    linked = await client.post(
        "/api/open311/v2/requests.json",
        data={"service_code": "cleaning", "address_id": code, "description": "楼道灯坏了", "media_url": "https://photos.example.org/a/1.jpg", "device_id": "app-1"},
    )
    assert linked.status_code == 201, linked.text
    async with db() as session:
        assert (await session.execute(select(Complaint.media_url).order_by(Complaint.id.desc()).limit(1))).scalar_one() == "https://photos.example.org/a/1.jpg"
    for bad in ("file:///etc/passwd", "http://user:pw@10.0.0.1/x", "javascript:alert(1)", "https://" + "a" * 500):
        refused = await client.post("/api/open311/v2/requests.json", data={"service_code": "cleaning", "address_id": code, "description": "楼道灯坏了", "media_url": bad})
        assert refused.status_code in (400, 422), (bad, refused.text)
    # A request with a photo: GET answers media_url, the public display copy (no EXIF), and that address only.
    async with resident(app, "203.0.113.31") as phone:
        sent = await report_on_page(phone, code, photos=1)
    tracking = sent.headers["location"].split("/track/")[1].split("?")[0]
    with_photo = (await client.get("/api/open311/v2/requests.json", params={"service_request_id": tracking})).json()
    georeport("requests").validate(with_photo)
    media_url = with_photo[0]["media_url"]
    assert media_url.startswith("http://testserver.local/api/open311/v2/media/") and tracking not in media_url
    photo = await client.get(media_url)
    assert photo.status_code == 200 and photo.headers["content-type"].startswith("image/") and b"Exif" not in photo.content[:4096]
    assert (await client.get(media_url[:-1] + ("0" if media_url[-1] != "0" else "1"))).status_code == 404

    # No listing of other residents' requests: without ids it is refused, and an unknown id finds nothing.
    assert_georeport_error(await client.get("/api/open311/v2/requests.json"), 400)
    assert (await client.get("/api/open311/v2/requests.json", params={"service_request_id": "A" * 22})).json() == []
    assert_georeport_error(await client.get(f"/api/open311/v2/requests/{'B' * 22}.json"), 404)
    # Bad input: a 4xx naming what to change, nothing stored.
    before = await count(db, Complaint)
    assert_georeport_error(await client.post("/api/open311/v2/requests.json", data={"service_code": "cleaning", "address_id": "NOPE", "description": "楼道很脏"}), 422, "找不到该小区")
    assert_georeport_error(await client.post("/api/open311/v2/requests.json", data={"service_code": "noise", "address_id": code, "description": "很吵很吵"}), 422, "投诉类别")
    assert (await client.post("/api/open311/v2/requests.json", data={"service_code": "cleaning", "address_id": code, "description": "坐标错", "lat": "95"})).status_code == 422
    assert await count(db, Complaint) == before


async def test_a_tracking_code_shows_only_its_own_complaint_and_cannot_be_guessed(app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient) -> None:
    _, code = await worker_estate(db)
    _, first = await new_complaint(db, code, description="一号投诉内容")
    _, second = await new_complaint(db, code, description="二号投诉内容")
    assert first != second and len(first) >= 22
    page = await client.get(f"/track/{first}")
    assert page.status_code == 200 and "二号投诉内容" not in page.text and PHONE not in page.text
    # A code one character off, or made up, finds nothing (the same answer as a code that never existed).
    wrong = first[:-1] + ("A" if first[-1] != "A" else "B")
    assert (await client.get(f"/track/{wrong}")).status_code == 404
    assert (await client.get("/track/AAAAAAAAAAAAAAAAAAAAAA")).status_code == 404


async def test_the_worker_turns_a_complaint_into_an_order_the_company_fixes_it_and_tracking_shows_it_done(
    app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient, as_user: Any
) -> None:
    estate_id, code = await worker_estate(db)
    complaint_id, tracking = await new_complaint(db, code)
    worker = await as_user("xbl01-worker")
    photo = await upload(client, worker)
    ordered = await client.post(f"/api/complaints/{complaint_id}/order", json={"item": "C01", "finding": "现场核实：楼道垃圾未清", "answer": "已转物业企业限期整改", "photo_ids": [photo]}, headers=worker)
    assert ordered.status_code == 200, ordered.text
    assert ordered.json()["state"] == "ordered" and ordered.json()["first_response_at"]
    defect_id = ordered.json()["defect_id"]
    # The order is a patrol defect of the item: the same severity, deduction and deadline rule as any patrol finding.
    patrol = await client.post("/api/patrols", json={"client_id": "complaint-compare-0001", "estate_id": estate_id, "inspected_at": datetime.now(UTC).isoformat(),
                                                     "results": [{"item": "C01", "passed": False, "note": "对照", "photo_ids": [await upload(client, worker)]}]}, headers=worker)
    assert patrol.status_code == 201, patrol.text
    async with db() as session:
        order = await session.get(Defect, defect_id)
        compare = (await session.execute(select(Defect).where(Defect.record_id == patrol.json()["id"]))).scalar_one()
    assert order is not None and order.source == "patrol" and order.estate_id == estate_id
    assert (order.severity, order.deduction_centi, order.deadline_at.date()) == (compare.severity, compare.deduction_centi, compare.deadline_at.date())
    assert "已转物业企业整改" in (await client.get(f"/track/{tracking}")).text

    # The company sees the order, never the resident's phone; complaints themselves are not theirs to read.
    _, company_user = await company_user_of(db, estate_id)
    company = await as_user(company_user)
    seen = await client.get(f"/api/defects/{defect_id}", headers=company)
    assert seen.status_code == 200 and PHONE not in seen.text
    assert (await client.get("/api/complaints", headers=company)).status_code == 403
    assert (await client.get(f"/api/complaints/{complaint_id}", headers=company)).status_code == 403
    order_page = await client.get(f"/defects/{defect_id}", headers=company)
    assert PHONE not in order_page.text

    fixed = await client.post(f"/api/defects/{defect_id}/fix", json={"note": "已清运", "photo_ids": [await upload(client, company)]}, headers=company)
    assert fixed.status_code == 200, fixed.text
    accepted = await client.post(f"/api/defects/{defect_id}/review", json={"accepted": True, "note": "复查已清理"}, headers=worker)
    assert accepted.status_code == 200, accepted.text
    done = await client.get(f"/track/{tracking}")
    assert "已办结" in done.text and "物业企业已整改" in done.text
    assert (await client.get(f"/api/complaints/{complaint_id}", headers=worker)).json()["state"] == "resolved"
    # Routed once: a second routing is refused and changes nothing.
    again = await client.post(f"/api/complaints/{complaint_id}/closure", json={"reason": "重复投诉", "answer": "重复", "duplicate_of": 1}, headers=worker)
    assert again.status_code == 409


async def test_an_order_without_any_photo_takes_over_the_residents_photo(app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient, as_user: Any) -> None:
    _, code = await worker_estate(db)
    async with resident(app, "203.0.113.120") as phone:
        assert (await report_on_page(phone, code, photos=1)).status_code == 302
    async with db() as session:
        complaint = (await session.execute(select(Complaint).order_by(Complaint.id.desc()))).scalars().first()  # type: ignore[union-attr]
    worker = await as_user("xbl01-worker")
    ordered = await client.post(f"/api/complaints/{complaint.id}/order", json={"item": "C01", "finding": "属实", "answer": "已转整改"}, headers=worker)
    assert ordered.status_code == 200, ordered.text
    _, code2 = await worker_estate(db)
    # Without the resident's photo and without one of her own, the worker is asked for one.
    bare_id, _ = await new_complaint(db, code2)
    assert_problem(await client.post(f"/api/complaints/{bare_id}/order", json={"item": "C01", "finding": "属实", "answer": "已转整改"}, headers=worker), 422, "photo")


async def test_a_mediation_records_its_meetings_and_ends_in_an_agreement(app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient, as_user: Any) -> None:
    _, code = await worker_estate(db)
    complaint_id, tracking = await new_complaint(db, code, service_code="other", description="楼上漏水，与物业协商不成")
    worker = await as_user("xbl01-worker")
    opened = await client.post(f"/api/complaints/{complaint_id}/mediation", json={"answer": "社区将组织双方调解"}, headers=worker)
    assert opened.status_code == 200 and opened.json()["state"] == "mediating"
    link = f"/complaints/{complaint_id}"

    async def mediations_waiting(username: str) -> int:  # the demo's own mediations wait on their directors too
        return sum(1 for n in await waiting_on(client, await as_user(username), "新的矛盾调处案件") if n["link"] == link)

    assert await mediations_waiting("xbl01-director") == 1 and await mediations_waiting("xbl02-director") == 0
    held = datetime.now(UTC).isoformat()
    first = await client.post(f"/api/complaints/{complaint_id}/meetings", json={"held_at": held, "attendees": "居民张某、物业经理李某、社工", "summary": "双方陈述", "follow_up": "三日内物业查明漏点"}, headers=worker)
    assert first.status_code == 201, first.text
    ended = await client.post(
        f"/api/complaints/{complaint_id}/meetings",
        json={"held_at": held, "attendees": "居民张某、物业经理李某", "summary": "物业同意维修", "outcome": "agreed", "answer": "双方达成协议：物业一周内维修"},
        headers=worker,
    )
    assert ended.status_code == 201, ended.text
    meetings = (await client.get(f"/api/complaints/{complaint_id}/meetings", headers=worker)).json()
    assert [m["outcome"] for m in meetings] == ["", "agreed"]
    assert await mediations_waiting("xbl01-director") == 0  # the mediation ended: it no longer waits on the director
    page = await client.get(f"/track/{tracking}")
    assert "已办结" in page.text and "双方达成协议" in page.text
    # A meeting after the case ended is refused.
    assert (await client.post(f"/api/complaints/{complaint_id}/meetings", json={"held_at": held, "attendees": "某某", "summary": "再谈"}, headers=worker)).status_code == 409
    # The committee director reads the mediation record.
    await page_login(client, "xbl01-director")
    seen = await client.get(f"/complaints/{complaint_id}")
    assert seen.status_code == 200 and "调解记录" in seen.text and "物业同意维修" in seen.text and "居民张某、物业经理李某、社工" in seen.text


async def test_the_worker_closes_a_complaint_from_her_queue_page(app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient) -> None:
    _, code = await worker_estate(db)
    complaint_id, tracking = await new_complaint(db, code, description="小区门口占道经营")
    await page_login(client, "xbl01-worker")
    queue = await client.get("/complaints")
    assert queue.status_code == 200 and f"/complaints/{complaint_id}" in queue.text and "待处理" in queue.text
    detail = await client.get(f"/complaints/{complaint_id}")
    assert PHONE in detail.text and "转物业企业整改" in detail.text and "转入矛盾调处" in detail.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', detail.text).group(1)  # type: ignore[union-attr]
    # A refused form comes back with the reason beside the field, and nothing changes.
    refused = await client.post(f"/complaints/{complaint_id}/closure", data={"_csrf_token": token, "reason": "不属于物业服务范围", "closure_answer": "已转城管"})
    assert refused.status_code == 422 and "请选择转办单位" in refused.text
    closed = await client.post(f"/complaints/{complaint_id}/closure", data={"_csrf_token": token, "reason": "不属于物业服务范围", "referred_to": "街道综合执法", "closure_answer": "已转街道综合执法处理"})
    assert closed.status_code == 200 and "已结案" in closed.text
    assert "已转街道综合执法处理" in (await client.get(f"/track/{tracking}")).text


async def test_a_complaint_not_the_services_duty_is_closed_with_its_referral(app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient, as_user: Any) -> None:
    _, code = await worker_estate(db)
    complaint_id, tracking = await new_complaint(db, code, service_code="other", description="自来水水压低")
    worker = await as_user("xbl01-worker")
    before = await count(db, Complaint, Complaint.state == "closed")
    assert_problem(await client.post(f"/api/complaints/{complaint_id}/closure", json={"reason": "不属于物业服务范围", "answer": "请联系供水单位"}, headers=worker), 422, "referred")
    assert_problem(await client.post(f"/api/complaints/{complaint_id}/closure", json={"reason": "说不清", "answer": "无法处理"}, headers=worker), 422, "reason")
    assert await count(db, Complaint, Complaint.state == "closed") == before
    closed = await client.post(f"/api/complaints/{complaint_id}/closure", json={"reason": "不属于物业服务范围", "referred_to": "12345政务服务便民热线", "answer": "已转12345，由供水单位处理"}, headers=worker)
    assert closed.status_code == 200 and closed.json()["state"] == "closed" and closed.json()["referred_to"] == "12345政务服务便民热线"
    page = await client.get(f"/track/{tracking}")
    assert "已结案" in page.text and "已转12345" in page.text
    # A duplicate names the complaint it repeats, of the same community.
    dup_id, _ = await new_complaint(db, code, service_code="other", description="自来水水压低（再次）")
    assert_problem(await client.post(f"/api/complaints/{dup_id}/closure", json={"reason": "重复投诉", "answer": "重复"}, headers=worker), 422, "repeats")
    ok = await client.post(f"/api/complaints/{dup_id}/closure", json={"reason": "重复投诉", "answer": "与前一投诉合并处理", "duplicate_of": complaint_id}, headers=worker)
    assert ok.status_code == 200, ok.text


async def test_only_the_communitys_staff_read_a_phone_in_full_and_others_route_nothing(app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient, as_user: Any) -> None:
    _, code = await worker_estate(db)
    complaint_id, _ = await new_complaint(db, code)
    director = (await client.get(f"/api/complaints/{complaint_id}", headers=await as_user("xbl01-director"))).json()
    officer = (await client.get(f"/api/complaints/{complaint_id}", headers=await as_user("xbl-officer"))).json()
    assert director["phone"] == PHONE and officer["phone"] == "138****5678"
    refused = await client.post(f"/api/complaints/{complaint_id}/mediation", json={"answer": "调解"}, headers=await as_user("xbl-officer"))
    assert refused.status_code == 403


async def test_deadlines_count_working_days_and_a_late_first_response_is_reminded(app: Litestar, connection: Any, db: Any) -> None:
    from foundation.storage import FileBlobStore

    _, code = await worker_estate(db)
    reported = datetime(2026, 9, 30, 10, 0, tzinfo=UTC)  # the day before the National Day holidays
    async with db() as session:
        complaint, _ = await report_complaint(session, FileBlobStore(Path("/tmp/unused-complaint-store")), NewComplaint(Channel.QR, "cleaning", code, "国庆前投诉"), now=reported)
        # One working day: 10-01..10-07 are holidays, 10-08 (Thursday) the first working day after; due at its end.
        assert complaint.first_response_due_at == datetime(2026, 10, 8, 16, 0, tzinfo=UTC)
        # Ten working days: 10-08, 09, 10 (make-up Saturday), 12..16, 19, 20.
        assert complaint.resolution_due_at == datetime(2026, 10, 20, 16, 0, tzinfo=UTC)
        told = await remind_late_first_responses(session, now=datetime(2026, 10, 9, 1, 0, tzinfo=UTC))
        again = await remind_late_first_responses(session, now=datetime(2026, 10, 9, 2, 0, tzinfo=UTC))
        await session.commit()
    assert told >= 1 and again == 0


async def test_the_street_sees_volumes_per_estate_a_chart_and_a_cluster_of_complaints(app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient) -> None:
    _, code = await worker_estate(db)
    ids = [(await new_complaint(db, code, description=f"垃圾没有清运（第{n}次）"))[0] for n in range(3)]
    await page_login(client, "xbl-officer")
    page = await client.get("/complaints/dashboard")
    assert page.status_code == 200
    assert "疑似群体投诉" in page.text and all(f"/complaints/{i}" in page.text for i in ids)
    assert '<svg class="bars"' in page.text and "不计入得分" in page.text
    assert (await client.get("/complaints/dashboard", params={"month": "2026-13"})).status_code in (400, 422)


async def test_the_committee_director_turns_a_cluster_into_a_mass_complaint_veto_with_the_complaints_as_evidence(
    app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient, as_user: Any
) -> None:
    from assessment.tables import Veto, VetoComplaint

    estate_id, code = await worker_estate(db)
    ids = sorted([(await new_complaint(db, code, description=f"垃圾没有清运（第{n}次）"))[0] for n in range(3)])
    await page_login(client, "xbl01-director")
    dashboard = await client.get("/complaints/dashboard")
    assert dashboard.status_code == 200 and 'action="/committee/vetoes/from-complaints"' in dashboard.text
    form = re.search(r'<form method="post" action="/committee/vetoes/from-complaints".*?</form>', dashboard.text, re.S).group(0)  # type: ignore[union-attr]
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))
    # The demo's own cluster at this estate a few days ago runs on into these three: one cluster.
    assert set(ids) <= {int(i) for i in fields["complaint_ids"].split(",")} and fields["estate_id"] == str(estate_id)
    ids = [int(i) for i in fields["complaint_ids"].split(",")]
    # Another community's director is refused and nothing is stored.
    async with resident(app, "192.0.2.9") as other:
        await page_login(other, "xbl02-director")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', (await other.get("/committee")).text).group(1)  # type: ignore[union-attr]
        refused = await other.post("/committee/vetoes/from-complaints", data=fields | {"_csrf_token": token, "explanation": "三件投诉都反映垃圾长期不清运"})
    assert refused.status_code in (403, 404), refused.text
    api = await client.post(
        "/api/assessment/vetoes", headers=await as_user("xbl02-director"),
        json={"estate_id": estate_id, "month": fields["month"], "reason": "mass_complaint", "explanation": "三件投诉都反映垃圾长期不清运", "complaint_ids": ids},
    )
    assert_problem(api, 403)
    # Complaints are evidence of a mass complaint only.
    wrong = await client.post(
        "/api/assessment/vetoes", headers=await as_user("xbl01-director"),
        json={"estate_id": estate_id, "month": fields["month"], "reason": "gate_unattended", "explanation": "三件投诉都反映垃圾长期不清运", "complaint_ids": ids},
    )
    assert_problem(wrong, 422)
    assert await count(db, Veto) == 0
    # The director's own cluster becomes a pending case of the street, the complaints its evidence.
    sent = await client.post("/committee/vetoes/from-complaints", data=fields | {"explanation": "三件投诉都反映垃圾长期不清运，物业企业未处理"}, follow_redirects=False)
    assert sent.status_code == 302, re.findall(r"form-error[^>]*>([^<]+)", sent.text)
    assert sent.headers["location"].startswith(f"/committee/estates/{estate_id}")
    async with db() as session:
        veto = (await session.execute(select(Veto))).scalar_one()
        linked = sorted((await session.execute(select(VetoComplaint.complaint_id).where(VetoComplaint.veto_id == veto.id))).scalars())
    assert (veto.reason_code, veto.state, linked) == ("mass_complaint", "pending", ids)
    cases = (await client.get("/api/assessment/vetoes", headers=await as_user("xbl-officer"))).json()["items"]
    assert [c["complaint_ids"] for c in cases if c["id"] == veto.id] == [ids]


async def test_a_report_too_long_or_with_a_phone_that_is_no_phone_is_refused_as_typed_and_stores_nothing(db: Any) -> None:
    """Nothing a resident typed is cut or dropped without a word: a place or description past its limit and a phone
    with letters or more digits than any phone number has are refused, naming the field."""
    before = await count(db, Complaint)
    _, estate_code = await worker_estate(db)
    cases = [
        ({"place": "楼" * 201}, "place", "位置最多 200 字"),
        ({"description": "漏" * 2001}, "description", "问题描述最多 2000 字"),
        ({"phone": "call me maybe"}, "phone", "电话号码只填数字"),
        ({"phone": "9" * 20}, "phone", "5 至 15 位数字"),
        ({"phone": "1" * 5000}, "phone", "电话号码只填数字"),
    ]
    for overrides, field, zh in cases:
        with pytest.raises(InvalidInput) as refused:
            await new_complaint(db, estate_code, **overrides)
        assert refused.value.field == field and zh in refused.value.message_zh, overrides
    assert await count(db, Complaint) == before
    await new_complaint(db, estate_code, phone="+86 22-2345 6789")  # a phone written with a + and dashes is a phone
    assert await count(db, Complaint) == before + 1


_seeds = iter(range(1, 1_000_000))


def phone_photo_4mb() -> bytes:
    """A photo as a phone's camera writes it, about 4 MB (noise does not compress), different every call."""
    pixels = numpy.random.default_rng(next(_seeds)).integers(0, 256, (1400, 1800, 3), dtype=numpy.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=97)
    assert 3_500_000 < len(out.getvalue()) < 10 * 1024 * 1024, len(out.getvalue())
    return out.getvalue()


async def test_a_report_with_three_phone_photos_is_taken_and_a_larger_request_says_the_limit(app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient, as_user: Any) -> None:
    _, code = await worker_estate(db)
    async with resident(app, "203.0.113.41") as phone:
        sent = await report_on_page(phone, code, photos=3, photo=phone_photo_4mb)
        assert sent.status_code == 302, sent.text[-1500:]
    async with db() as session:
        assert (await session.execute(select(func.count()).select_from(ComplaintPhoto))).scalar_one() >= 3
    # Past the limit: the page and the API say what the limit is and what to do, in Chinese too.
    limit_mb = app.request_max_body_size // (1024 * 1024)
    too_much = b"\xff" * (app.request_max_body_size + 1)
    async with resident(app, "203.0.113.42") as phone:
        form = await phone.get(f"/report/{code}")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        refused = await phone.post(f"/report/{code}", data={"_csrf_token": token}, files={"photo": ("big.jpg", too_much, "image/jpeg")})
    assert refused.status_code == 413 and f"超过 {limit_mb} MB 上限" in refused.text and "压缩" in refused.text, refused.text[-1500:]
    worker = await as_user("xbl01-worker")
    problem = assert_problem(await client.post("/api/attachments", files={"file": ("big.jpg", too_much, "image/jpeg")}, headers=worker), 413, f"{limit_mb} MB")
    assert f"超过 {limit_mb} MB 上限" in problem["detail_zh"]
