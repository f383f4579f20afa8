"""Calls for community services, told as their users live them: the district opens a call, social organisations
bid (sealed until the deadline), the panel declares, scores and signs, the award is published, objected to,
answered, stands, and its contract's tranches are paid by the money engine. Moments in the past are made through
the use cases with their own `now` (a call that closed last week); everything else goes through the API."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select

from community.calls import queries, schemas, service
from community.calls.tables import Award, Bid, BidDocument, Call, Objection, PanelMember, Score
from community.ocds.config import publication_rules
from community.ocds.rules import ocid_of
from foundation.access import Principal
from foundation.clock import BUSINESS_TZ, utc_now
from foundation.storage import FileBlobStore
from people import queries as people_queries
from people.tables import User
from tests.integration.evidence import jpeg, scan_pdf
from tests.integration.helpers import assert_problem, assert_refused_page, link_named, todo_count
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf

T = TypeVar("T")
CRITERIA = [{"name": "项目设计", "weight": 40}, {"name": "执行能力", "weight": 40}, {"name": "财务合规", "weight": 20}]
POINTS = [{"criterion_number": 1, "points": 30}, {"criterion_number": 2, "points": 35}, {"criterion_number": 3, "points": 15}]
PANEL = ["expert1", "expert2", "expert3", "xbl-worker1", "xbl-worker2"]


async def principal(db: Any, username: str) -> Principal:
    async with db() as session:
        found = await people_queries.principal_named(session, username)
    assert found is not None
    return found


async def act(db: Any, use_case: Callable[..., Awaitable[T]], *args: Any) -> T:
    """A use case in a transaction of its own (committed to the test's savepoint)."""
    async with db() as session:
        result = await use_case(session, *args)
        await session.commit()
        return result


def store(app: Any) -> FileBlobStore:
    blob_store: FileBlobStore = app.state.blob_store
    return blob_store


def call_body(deadline: datetime, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "社区老年人助餐服务", "category": "养老", "method": "venture", "bid_deadline": deadline.isoformat(),
        "lots": [{"title": "助餐", "budget_fen": 5_000_000}], "criteria": CRITERIA,
    }
    return body | extra


PLAN = scan_pdf("plan-A")


def bid_body(client_id: str, amount: int = 4_800_000, document: bytes = PLAN) -> dict[str, Any]:
    return {
        "client_id": client_id, "lot_number": 1, "plan": "每周五天为高龄老人送餐", "team": "社工2名，志愿者10名", "amount_fen": amount,
        "documents": [{"name": "方案.pdf", "content": base64.b64encode(document).decode()}],
    }


async def past_call(db: Any, app: Any, bidders: list[str], method: str = "venture", days_ago: int = 2, budget: int = 5_000_000) -> int:
    """A district call that opened weeks ago, bid by `bidders` before its deadline `days_ago` days ago."""
    admin = await principal(db, "admin")
    deadline = utc_now() - timedelta(days=days_ago)
    opened = deadline - timedelta(days=25)
    data = schemas.CallCreate(
        title="社区邻里互助服务", category=schemas.Category.OTHER, method=schemas.Method(method), bid_deadline=deadline,
        lots=[schemas.LotIn(title="互助服务", budget_fen=budget)], criteria=[schemas.CriterionIn(name=c["name"], weight=c["weight"]) for c in CRITERIA],  # type: ignore[arg-type]
    )
    call = await act(db, service.open_call, admin, data, opened)
    for n, username in enumerate(bidders):
        bidder = await principal(db, username)
        bid = schemas.BidIn(client_id=f"past-{call.id}-{username}", lot_number=1, plan="服务方案", team="社工3名", amount_fen=budget - 100_000 * (n + 1))
        await act(db, service.submit_bid, bidder, store(app), call.id, bid, opened + timedelta(days=1))
    return call.id


async def count(db: Any, model: Any, *conditions: Any) -> int:
    async with db() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*conditions))).scalar_one())


# Social organisations


async def test_a_social_organisation_is_registered_with_a_valid_credit_code_its_standing_and_streets(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    admin = await as_user("admin")
    streets = (await client.get("/api/registry/streets", headers=admin)).json()["items"]
    before = await count(db, Call)
    body = {
        "name": "天津市和平区新芽社会工作服务中心", "kind": "social_org", "credit_code": "52120101MJ0000000X", "standing": "registered",
        "legal_representative": "周新", "address": "天津市和平区南京路1号", "street_ids": [streets[0]["id"]],
        "staff": [{"name": "周新", "position": "主任"}, {"name": "吴青", "position": "社工"}],
    }
    bad = await client.post("/api/registry/organisations", json=body, headers=admin)
    assert_problem(bad, 400, "credit_code")
    from registry.rules import credit_code_check_char

    good_code = "52120101MJ0000000" + credit_code_check_char("52120101MJ0000000")
    assert_problem(await client.post("/api/registry/organisations", json=body | {"credit_code": good_code, "standing": None}, headers=admin), 422, "standing")
    created = await client.post("/api/registry/organisations", json=body | {"credit_code": good_code}, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["standing"] == "registered" and created.json()["street_ids"] == [streets[0]["id"]]
    organisation = created.json()["id"]
    staff = await client.get(f"/api/registry/organisations/{organisation}/staff", headers=admin)
    assert [s["name"] for s in staff.json()] == ["周新", "吴青"]
    # Staff names are personal data: another organisation does not see them, and only the administrator registers.
    assert (await client.get(f"/api/registry/organisations/{organisation}/staff", headers=await as_user("org02"))).status_code == 404
    assert (await client.post("/api/registry/organisations", json=body, headers=await as_user("xbl-officer"))).status_code == 403
    assert await count(db, Call) == before


# Sealed bids


async def test_no_one_reads_a_bid_or_who_bid_before_the_deadline_whatever_their_role(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    admin = await as_user("admin")
    deadline = utc_now() + timedelta(days=10)
    opened = await client.post("/api/calls", json=call_body(deadline), headers=admin)
    assert opened.status_code == 201, opened.text
    call_id = opened.json()["id"]
    expert_ids = []
    for username in PANEL:
        expert_ids.append((await client.get("/api/auth/me", headers=await as_user(username))).json()["user_id"])
    assert (await client.put(f"/api/calls/{call_id}/panel", json={"user_ids": expert_ids}, headers=admin)).status_code == 200

    # The open call waits on the organisations that may bid: it is on org01's to-do list until org01 has bid.
    await page_login(client, "org01")
    waiting = todo_count((await client.get("/")).text, "可投标的公益项目")
    assert waiting >= 1
    org01 = await as_user("org01")
    first = await client.post(f"/api/calls/{call_id}/bids", json=bid_body("sealed-org01-0001"), headers=org01)
    assert first.status_code == 201, first.text
    assert todo_count((await client.get("/")).text, "可投标的公益项目") == waiting - 1
    client.cookies.clear()
    retry = await client.post(f"/api/calls/{call_id}/bids", json=bid_body("sealed-org01-0001"), headers=org01)
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    assert await count(db, Bid, Bid.call_id == call_id) == 1
    assert_problem(await client.post(f"/api/calls/{call_id}/bids", json=bid_body("sealed-org01-0001", amount=4_000_000), headers=org01), 409, "client_id")
    bid_id = first.json()["id"]
    document_id = first.json()["documents"][0]["id"]
    # The organisation reads its own bid.
    assert (await client.get(f"/api/bids/{bid_id}", headers=org01)).json()["plan"] == "每周五天为高龄老人送餐"
    # Its document comes back as a download in a sandbox, never as a page of this site.
    own = await client.get(f"/api/bids/documents/{document_id}", headers=org01)
    assert own.status_code == 200 and own.content == PLAN and own.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in own.headers["content-security-policy"]

    for username in ("admin", "xbl-officer", "finance", "expert1", "xbl-worker1", "xbl01-director", "inspector1", "org02"):
        headers = await as_user(username)
        listing = await client.get(f"/api/calls/{call_id}/bids", headers=headers)
        if username == "org02":
            assert listing.status_code == 200 and listing.json() == []  # its own bids only: none
        else:
            assert_problem(listing, 403)
        assert (await client.get(f"/api/bids/{bid_id}", headers=headers)).status_code in (403, 404), username
        assert (await client.get(f"/api/bids/documents/{document_id}", headers=headers)).status_code in (403, 404), username
        signals = await client.get(f"/api/calls/{call_id}/signals", headers=headers)
        assert signals.status_code == 403 or (username == "org02" and signals.json() == []), username
        assert (await client.get(f"/api/calls/{call_id}/ranking", headers=headers)).status_code == 403, username
        call = (await client.get(f"/api/calls/{call_id}", headers=headers)).json()
        assert call["sealed"] is True and "bids" not in call
    # The pages keep the seal too (logged in with the form, as a person is).
    for username in ("admin", "xbl-officer", "expert1", "org02"):
        await page_login(client, username)
        shown = await client.get(f"/community/calls/{call_id}")
        assert shown.status_code == 200 and "48,000.00" not in shown.text and "每周五天" not in shown.text, username
        assert "密封" in shown.text or username == "org02"
        if username == "expert1":
            panel_page = await client.get(f"/community/panel/{call_id}")
            assert panel_page.status_code == 200 and "投标截止后才能看到投标人" in panel_page.text
        # The bid's page and its document's page door answer them what the API does.
        assert_refused_page(await client.get(f"/community/bids/{bid_id}"), 404 if username == "org02" else 403)
        assert_refused_page(await client.get(f"/documents/bids/documents/{document_id}"), 404 if username == "org02" else 403)
    await page_login(client, "org01")
    own = await client.get(f"/community/calls/{call_id}")
    assert "48,000.00" in own.text and "撤回" in own.text
    assert "每周五天为高龄老人送餐" in (await client.get(f"/community/bids/{bid_id}")).text
    assert (await client.get(f"/documents/bids/documents/{document_id}")).content == PLAN
    async with db() as session:
        record = await queries.project_record(session, call_id)
    assert record is not None and list(record.bids) == [] and record.status == "open"


async def test_a_bid_after_the_deadline_is_refused_and_nothing_is_stored(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    call_id = await past_call(db, app, ["org01"])
    late = await client.post(f"/api/calls/{call_id}/bids", json=bid_body("late-org02-00001"), headers=await as_user("org02"))
    assert_problem(late, 422, "deadline")
    assert await count(db, Bid, Bid.call_id == call_id) == 1
    # Nor is a bid withdrawn after it.
    bid = (await client.get(f"/api/calls/{call_id}/bids", headers=await as_user("org01"))).json()[0]
    assert_problem(await client.post(f"/api/bids/{bid['id']}/withdraw", headers=await as_user("org01")), 422, "deadline")


async def test_a_bid_s_files_are_judged_by_what_they_are_and_a_file_that_does_not_open_stores_nothing(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    """A bid's attachments must open as what their content says they are (PDF, Word, Excel, JPEG, PNG), whatever
    their name or the type the client claims; the first one that does not refuses the whole bid, and nothing of it is
    kept (no bid, no document, no stored file)."""
    import hashlib
    import io

    from openpyxl import Workbook

    call_id = (await client.post("/api/calls", json=call_body(utc_now() + timedelta(days=5)), headers=await as_user("admin"))).json()["id"]
    org02 = await as_user("org02")

    def with_files(client_id: str, *files: tuple[str, bytes, str | None]) -> dict[str, Any]:
        body = bid_body(client_id)
        body["documents"] = [{"name": name, "content": base64.b64encode(content).decode()} | ({"content_type": claimed} if claimed else {}) for name, content, claimed in files]
        return body

    web_page = b"%PDF-1.4\n<html><script>alert(1)</script></html>"
    refusals = [
        ([("方案.pdf", PLAN, None), ("预算.pdf", web_page, None)], "PDF"),  # a PDF's first bytes, then a web page
        ([("方案.pdf", b"<html>plan</html>", None)], "PDF"),  # no known kind at all
        ([("方案.docx", b"PK\x03\x04" + b"\0" * 40, None)], "Word"),  # a zip's first bytes, no package behind them
        ([("照片.jpg", jpeg()[:200], None)], "JPEG"),  # a photo cut short
        ([("方案.pdf", jpeg(), "application/pdf")], "application/pdf"),  # a photo claimed to be a PDF
    ]
    for n, (files, named) in enumerate(refusals):
        refused = await client.post(f"/api/calls/{call_id}/bids", json=with_files(f"judged-org02-{n:03}", *files), headers=org02)
        assert_problem(refused, 400, named)
        assert refused.json()["errors"][0]["field"] == "documents", refused.json()
        with pytest.raises(FileNotFoundError):  # the file refused was not stored
            store(app).get(hashlib.sha256(files[-1][1]).hexdigest())
    assert await count(db, Bid, Bid.call_id == call_id) == 0

    sheet = io.BytesIO()
    book = Workbook()
    book.active.append(["项目", "金额（元）"])
    book.save(sheet)
    accepted = await client.post(f"/api/calls/{call_id}/bids", json=with_files("judged-org02-ok1", ("方案.pdf", PLAN, None), ("预算表", sheet.getvalue(), None), ("现场.jpg", jpeg(), "image/jpeg")), headers=org02)
    assert accepted.status_code == 201, accepted.text
    kinds = [(d["name"], d["content_type"]) for d in accepted.json()["documents"]]
    assert kinds == [("方案.pdf", "application/pdf"), ("预算表", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("现场.jpg", "image/jpeg")]


def damaged_docx(damage: str) -> bytes:
    """A Word package whose main part does not unpack: its deflated data broken, its LZMA data broken, or marked
    encrypted (as a password-protected file saved by an old tool)."""
    import io
    import struct
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_LZMA if damage == "lzma" else zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", b"<w:document/>" * 500)
    data = bytearray(buffer.getvalue())
    local = data.find(b"PK\x03\x04", 1)  # the main part's local header
    name_length, extra_length = struct.unpack("<HH", data[local + 26 : local + 30])
    start = local + 30 + name_length + extra_length
    if damage == "deflate":
        data[start] = 0xFF  # a deflate block of the reserved type
    elif damage == "lzma":
        data[start + 9 : start + 40] = bytes(b ^ 0xFF for b in data[start + 9 : start + 40])
    else:
        central = data.find(b"PK\x01\x02")
        while central != -1:  # the encryption flag on every entry of the central directory
            data[central + 8] |= 1
            central = data.find(b"PK\x01\x02", central + 1)
    return bytes(data)


async def test_a_word_file_whose_content_does_not_unpack_is_refused_as_unreadable_not_a_fault(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    call_id = (await client.post("/api/calls", json=call_body(utc_now() + timedelta(days=5)), headers=await as_user("admin"))).json()["id"]
    org02 = await as_user("org02")
    for n, damage in enumerate(("deflate", "lzma", "encrypted")):
        body = bid_body(f"damaged-docx-{n}") | {"documents": [{"name": "方案.docx", "content": base64.b64encode(damaged_docx(damage)).decode()}]}
        refused = await client.post(f"/api/calls/{call_id}/bids", json=body, headers=org02)
        assert_problem(refused, 400, "Word")
        assert "Word" in refused.json()["detail_zh"]
    assert await count(db, Bid, Bid.call_id == call_id) == 0
async def test_a_bid_is_replaced_or_withdrawn_before_the_deadline_and_one_stays_live(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    call_id = (await client.post("/api/calls", json=call_body(utc_now() + timedelta(days=5)), headers=await as_user("admin"))).json()["id"]
    org03 = await as_user("org03")
    first = (await client.post(f"/api/calls/{call_id}/bids", json=bid_body("replace-org03-01"), headers=org03)).json()
    second = await client.post(f"/api/calls/{call_id}/bids", json=bid_body("replace-org03-02", amount=4_500_000), headers=org03)
    assert second.status_code == 201 and second.json()["replaces_bid_id"] == first["id"]
    assert [b["id"] for b in (await client.get(f"/api/calls/{call_id}/bids", headers=org03)).json()] == [second.json()["id"]]
    assert (await client.get(f"/api/bids/{first['id']}", headers=org03)).json()["status"] == "replaced"
    withdrawn = await client.post(f"/api/bids/{second.json()['id']}/withdraw", headers=org03)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    # Above the lot's budget, or another organisation withdrawing it: refused.
    assert_problem(await client.post(f"/api/calls/{call_id}/bids", json=bid_body("replace-org03-03", amount=5_000_001), headers=org03), 422, "budget")
    assert (await client.post(f"/api/bids/{first['id']}/withdraw", headers=await as_user("org04"))).status_code == 404
    # An organisation's API key bids for it like its account.
    org05 = (await client.get("/api/auth/me", headers=await as_user("org05"))).json()["organisation_id"]
    issued = await client.post("/api/api-keys", json={"organisation_id": org05, "label": "投标系统"}, headers=await as_user("admin"))
    assert issued.status_code == 201, issued.text
    by_key = await client.post(f"/api/calls/{call_id}/bids", json=bid_body("apikey-org05-01"), headers={"X-API-Key": issued.json()["key"]})
    assert by_key.status_code == 201 and by_key.json()["organisation_id"] == org05, by_key.text


async def test_bad_input_is_a_problem_and_stores_nothing(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    admin = await as_user("admin")
    before = await count(db, Call)
    deadline = utc_now() + timedelta(days=30)
    assert_problem(await client.post("/api/calls", json=call_body(deadline, lots=[{"title": "x", "budget_fen": "100"}]), headers=admin), 400)
    assert_problem(await client.post("/api/calls", json=call_body(deadline, criteria=[{"name": "设计", "weight": 90}]), headers=admin), 422, "100")
    assert_problem(await client.post("/api/calls", json=call_body(deadline, unknown=1), headers=admin), 400)
    assert_problem(await client.post("/api/calls", json=call_body(deadline.replace(tzinfo=None)) | {"bid_deadline": "2026-12-01T10:00:00"}, headers=admin), 400)
    # The method follows the budget unless a reason is given; a tender gives 20 days, a negotiation invites three.
    big = [{"title": "调解", "budget_fen": 150_000_000}]
    assert_problem(await client.post("/api/calls", json=call_body(deadline, lots=big), headers=admin), 422, "tender")
    assert_problem(await client.post("/api/calls", json=call_body(utc_now() + timedelta(days=19), lots=big, method="tender"), headers=admin), 422, "20 days")
    negotiation = call_body(deadline, lots=[{"title": "助餐", "budget_fen": 30_000_000}], method="negotiation", invited_organisation_ids=[1])
    assert_problem(await client.post("/api/calls", json=negotiation, headers=admin), 422, "invites at least 3")
    assert await count(db, Call) == before
    reasoned = await client.post("/api/calls", json=call_body(deadline, lots=big, method_reason="区政府常务会议决定采用公益创投"), headers=admin)
    assert reasoned.status_code == 201 and reasoned.json()["method_reason"]
    # Wrong role or scope.
    assert (await client.post("/api/calls", json=call_body(deadline), headers=await as_user("finance"))).status_code == 403
    assert (await client.post("/api/calls", json=call_body(deadline), headers=await as_user("org01"))).status_code == 403
    other_street = (await client.get("/api/auth/me", headers=await as_user("ns-officer"))).json()["street_id"]
    assert (await client.post("/api/calls", json=call_body(deadline, street_id=other_street), headers=await as_user("xbl-officer"))).status_code == 403


# Failed and repeated tenders


async def test_a_public_tender_with_two_valid_bids_fails_and_is_repeated_as_a_linked_call(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    call_id = await past_call(db, app, ["org04", "org07"], method="tender", budget=120_000_000)
    admin = await as_user("admin")
    assert (await client.post(f"/api/calls/{call_id}/close-bidding", headers=await as_user("xbl-officer"))).status_code == 403
    closed = await client.post(f"/api/calls/{call_id}/close-bidding", headers=admin)
    assert closed.status_code == 200 and closed.json()["status"] == "failed", closed.text
    short = await client.post(f"/api/calls/{call_id}/repeat", json={"bid_deadline": (utc_now() + timedelta(days=19)).isoformat()}, headers=admin)
    assert_problem(short, 422, "20 days")
    repeated = await client.post(f"/api/calls/{call_id}/repeat", json={"bid_deadline": (utc_now() + timedelta(days=21)).isoformat()}, headers=admin)
    assert repeated.status_code == 201 and repeated.json()["repeated_from_call_id"] == call_id and repeated.json()["method"] == "tender"
    assert (await client.get(f"/api/calls/{call_id}", headers=admin)).json()["repeated_by_call_id"] == repeated.json()["id"]
    assert (await client.post(f"/api/calls/{call_id}/repeat", json={"bid_deadline": (utc_now() + timedelta(days=22)).isoformat()}, headers=admin)).status_code == 409


# The panel


async def test_a_panel_is_five_or_more_odd_and_mostly_outside_for_a_tender(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    admin = await as_user("admin")
    ids = {u: (await client.get("/api/auth/me", headers=await as_user(u))).json()["user_id"] for u in [*PANEL, "expert4", "expert5", "org01", "finance"]}
    call_id = (await client.post("/api/calls", json=call_body(utc_now() + timedelta(days=5)), headers=admin)).json()["id"]
    assert_problem(await client.put(f"/api/calls/{call_id}/panel", json={"user_ids": [ids[u] for u in PANEL[:4]]}, headers=admin), 422, "at least 5")
    six = [ids[u] for u in [*PANEL, "expert4"]]
    assert_problem(await client.put(f"/api/calls/{call_id}/panel", json={"user_ids": six}, headers=admin), 422, "odd")
    with_bidder = [ids[u] for u in ["expert1", "expert2", "expert3", "expert4", "org01"]]
    assert_problem(await client.put(f"/api/calls/{call_id}/panel", json={"user_ids": with_bidder}, headers=admin), 422, "cannot sit on a panel")
    tender = await past_call(db, app, [], method="tender", budget=120_000_000, days_ago=-30)
    assert_problem(await client.put(f"/api/calls/{tender}/panel", json={"user_ids": [ids[u] for u in PANEL]}, headers=admin), 422, "outside")
    mostly_outside = [ids[u] for u in ["expert1", "expert2", "expert3", "expert4", "xbl-worker1"]]
    assert (await client.put(f"/api/calls/{tender}/panel", json={"user_ids": mostly_outside}, headers=admin)).status_code == 200
    assert (await client.put(f"/api/calls/{tender}/panel", json={"user_ids": mostly_outside}, headers=await as_user("expert1"))).status_code == 403


async def test_a_member_cannot_see_or_score_the_bid_of_an_organisation_they_declared_or_work_for(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    admin = await as_user("admin")
    call_id = await past_call(db, app, ["org01", "org02", "org03"])
    ids = {u: (await client.get("/api/auth/me", headers=await as_user(u))).json()["user_id"] for u in PANEL}
    organisations = {b.organisation_id: b.id for b in await _bids(db, call_id)}
    org01_id, org02_id = (await client.get("/api/auth/me", headers=await as_user("org01"))).json()["organisation_id"], (await client.get("/api/auth/me", headers=await as_user("org02"))).json()["organisation_id"]
    # expert1 is on org02's staff list.
    staff = await client.patch(f"/api/registry/organisations/{org02_id}", json={"staff": [{"name": "评审专家1", "position": "理事", "user_id": ids["expert1"]}]}, headers=admin)
    assert staff.status_code == 200, staff.text
    assert (await client.put(f"/api/calls/{call_id}/panel", json={"user_ids": list(ids.values())}, headers=admin)).status_code == 200
    assert (await client.post(f"/api/calls/{call_id}/close-bidding", headers=admin)).json()["status"] == "evaluating"

    expert1, expert2 = await as_user("expert1"), await as_user("expert2")
    assert_problem(await client.post(f"/api/bids/{organisations[org01_id]}/scores", json={"points": POINTS}, headers=expert1), 422, "declare")
    assert (await client.post(f"/api/calls/{call_id}/declaration", json={}, headers=expert1)).status_code == 200
    declared = await client.post(f"/api/calls/{call_id}/declaration", json={"conflicted_organisation_ids": [org01_id], "reason": "曾任该机构顾问"}, headers=expert2)
    assert declared.status_code == 200, declared.text
    assert {b["organisation_id"] for b in (await client.get(f"/api/calls/{call_id}/bids", headers=expert1)).json()} == set(organisations) - {org02_id}
    assert {b["organisation_id"] for b in (await client.get(f"/api/calls/{call_id}/bids", headers=expert2)).json()} == set(organisations) - {org01_id}
    assert (await client.get(f"/api/bids/{organisations[org02_id]}", headers=expert1)).status_code == 404
    # Asked to score it anyway, the member is told the recusal rule (foundation/duties.py).
    assert_problem(await client.post(f"/api/bids/{organisations[org02_id]}/scores", json={"points": POINTS}, headers=expert1), 403, "score_own_organisation_bid")
    assert_problem(await client.post(f"/api/bids/{organisations[org01_id]}/scores", json={"points": POINTS}, headers=expert2), 403, "score_own_organisation_bid")
    assert await count(db, Score, Score.call_id == call_id) == 0
    # Scoring what they may see: every criterion, within its weight.
    too_many = [{"criterion_number": 1, "points": 41}, *POINTS[1:]]
    assert_problem(await client.post(f"/api/bids/{organisations[org01_id]}/scores", json={"points": too_many}, headers=expert1), 422, "from 0 to 40")
    assert (await client.post(f"/api/bids/{organisations[org01_id]}/scores", json={"points": POINTS}, headers=expert1)).json()["total"] == 80
    assert_problem(await client.post(f"/api/calls/{call_id}/sign-off", headers=expert1), 422, "score bid")
    # Not on the panel: refused.
    assert (await client.post(f"/api/calls/{call_id}/declaration", json={}, headers=await as_user("expert6"))).status_code == 403
    assert (await client.post(f"/api/bids/{organisations[org01_id]}/scores", json={"points": POINTS}, headers=await as_user("org03"))).status_code == 403


async def _bids(db: Any, call_id: int) -> list[Bid]:
    async with db() as session:
        return list((await session.execute(select(Bid).where(Bid.call_id == call_id, Bid.status == "submitted"))).scalars())


async def _score_and_sign(client: Any, as_user: Any, call_id: int, panel: list[str], points: dict[str, list[dict[str, int]]] | None = None) -> None:
    task = "评审待完成（申报利益冲突、评分、签字）"
    for n, username in enumerate(panel):
        if n == 0:  # the evaluation waits on each member: on their to-do list until they have signed
            await page_login(client, username)
            waiting = todo_count((await client.get("/")).text, task)
            assert waiting >= 1
        headers = await as_user(username)
        assert (await client.post(f"/api/calls/{call_id}/declaration", json={}, headers=headers)).status_code == 200
        for bid in (await client.get(f"/api/calls/{call_id}/bids", headers=headers)).json():
            given = (points or {}).get(bid["organisation_name"], POINTS)
            assert (await client.post(f"/api/bids/{bid['id']}/scores", json={"points": given}, headers=headers)).status_code == 200
        assert (await client.post(f"/api/calls/{call_id}/sign-off", headers=headers)).json()["signed"] is True
        if n == 0:
            assert todo_count((await client.get("/")).text, task) == waiting - 1
            client.cookies.clear()


# Award, objections, contract


async def test_the_award_is_published_objected_answered_and_stands_only_after_publicity_with_no_open_objection(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    admin = await as_user("admin")
    call_id = await past_call(db, app, ["org01", "org02"])
    ids = [(await client.get("/api/auth/me", headers=await as_user(u))).json()["user_id"] for u in PANEL]
    await client.put(f"/api/calls/{call_id}/panel", json={"user_ids": ids}, headers=admin)
    await client.post(f"/api/calls/{call_id}/close-bidding", headers=admin)
    assert_problem(await client.post(f"/api/calls/{call_id}/close-evaluation", headers=admin), 422, "signed")
    await _score_and_sign(client, as_user, call_id, PANEL)
    assert (await client.post(f"/api/calls/{call_id}/close-evaluation", headers=await as_user("expert1"))).status_code == 403
    awards = await client.post(f"/api/calls/{call_id}/close-evaluation", headers=admin)
    assert awards.status_code == 200, awards.text
    award = awards.json()[0]
    # Equal scores: the lower price wins (org02 offered 100,000 fen less).
    org02 = (await client.get("/api/auth/me", headers=await as_user("org02"))).json()["organisation_id"]
    assert award["organisation_id"] == org02
    assert award["status"] == "pending" and award["score"] == "80.00"
    # The publicity is public: no login.
    public = await client.get(f"/api/public/calls/{call_id}/awards")
    assert public.status_code == 200 and public.json()[0]["id"] == award["id"]
    page = await client.get(f"/public/calls/{call_id}")
    assert page.status_code == 200 and "公示" in page.text and award["organisation_name"] in page.text

    # Before the publicity ends: refused.
    assert_problem(await client.post(f"/api/awards/{award['id']}/confirm", headers=admin), 422, "publicity")
    # Only the call's buyer confirms the award and signs its contract: the winning bidder is refused by role, a
    # street's officer (a buyer of their own street's calls, not of the district's) by scope.
    terms = {"signed_on": "2026-12-01", "starts_on": "2026-12-01", "ends_on": "2027-11-30"}
    for who in ("org02", "xbl-officer"):
        headers = await as_user(who)
        assert (await client.post(f"/api/awards/{award['id']}/confirm", headers=headers)).status_code == 403, who
        assert (await client.post(f"/api/awards/{award['id']}/contract", json=terms, headers=headers)).status_code == 403, who
    # A bidder objects; one who did not bid may not.
    assert (await client.post(f"/api/awards/{award['id']}/objections", json={"text": "评分有误"}, headers=await as_user("org09"))).status_code == 403
    objection = await client.post(f"/api/awards/{award['id']}/objections", json={"text": "我方认为评分有误，请复核"}, headers=await as_user("org01"))
    assert objection.status_code == 201, objection.text
    again = assert_problem(await client.post(f"/api/awards/{award['id']}/objections", json={"text": "再次质疑"}, headers=await as_user("org01")), 409, "already objected")
    assert again["detail_zh"] == "本机构已对该中标结果提出过质疑"
    # On the page the organisation that objected is told so instead of being offered the form again; a second
    # objection sent anyway is refused with the reason, not with "refresh the page".
    objecting = f'action="/community/awards/{award["id"]}/object"'
    await page_login(client, "org01")
    shown = await client.get(f"/community/calls/{call_id}")
    assert shown.status_code == 200 and objecting not in shown.text and "本机构已对该中标结果提出质疑" in shown.text
    refused = await client.post(f"/community/awards/{award['id']}/object", data={"text": "再次质疑"}, headers={"x-csrftoken": await csrf(client)})
    assert refused.status_code == 409 and "本机构已对该中标结果提出过质疑" in refused.text and "刷新页面" not in refused.text
    await page_login(client, "org02")  # a bidder that has not objected still may
    assert objecting in (await client.get(f"/community/calls/{call_id}")).text
    client.cookies.clear()
    # After the publicity, with the objection open: still refused.
    after = utc_now() + timedelta(days=3, hours=1)
    admin_p = await principal(db, "admin")
    try:
        await act(db, service.confirm_award, admin_p, award["id"], after)
        raise AssertionError("the award stood with an open objection")
    except Exception as error:  # noqa: BLE001
        assert "unanswered" in str(error)
    assert (await client.post(f"/api/objections/{objection.json()['id']}/answer", json={"answer": "经复核评分无误", "upheld": False}, headers=await as_user("xbl-officer"))).status_code == 403
    answered = await client.post(f"/api/objections/{objection.json()['id']}/answer", json={"answer": "经复核评分无误，质疑不成立", "upheld": False}, headers=admin)
    assert answered.status_code == 200 and answered.json()["upheld"] is False
    stood = await act(db, service.confirm_award, admin_p, award["id"], after)
    assert stood.status == "active"
    async with db() as session:
        record = await queries.project_record(session, call_id)
    assert record is not None and [a.status for a in record.awards] == ["active"] and len(record.bids) == 2
    # The contract: 30/40/30, the first payable on signing.
    contract = await act(
        db, service.sign_contract, admin_p, award["id"],
        schemas.CallContractIn(signed_on=after.astimezone(BUSINESS_TZ).date(), starts_on=after.astimezone(BUSINESS_TZ).date(), ends_on=after.astimezone(BUSINESS_TZ).date() + timedelta(days=365)),
        after,
    )
    async with db() as session:
        out = await service.contract_out(session, contract)
    amount = award["amount_fen"]
    assert [t.share for t in out.tranches] == ["0.30", "0.40", "0.30"] and sum(t.amount_fen for t in out.tranches) == amount
    assert out.tranches[0].payable_on == contract.signed_on and out.tranches[1].payable_on is None


async def _first_award(client: Any, as_user: Any, db: Any, app: Any) -> tuple[int, dict[str, Any]]:
    """A call of three bids, evaluated by the whole panel and closed: its id and its first award, in publicity."""
    admin = await as_user("admin")
    call_id = await past_call(db, app, ["org01", "org02", "org03"])
    ids = [(await client.get("/api/auth/me", headers=await as_user(u))).json()["user_id"] for u in PANEL]
    await client.put(f"/api/calls/{call_id}/panel", json={"user_ids": ids}, headers=admin)
    await client.post(f"/api/calls/{call_id}/close-bidding", headers=admin)
    await _score_and_sign(client, as_user, call_id, PANEL)
    return call_id, (await client.post(f"/api/calls/{call_id}/close-evaluation", headers=admin)).json()[0]


async def test_an_upheld_objection_withdraws_the_award_and_the_lot_goes_to_the_next_bid(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    admin = await as_user("admin")
    call_id, first = await _first_award(client, as_user, db, app)
    objection = (await client.post(f"/api/awards/{first['id']}/objections", json={"text": "中标人资质证书已过期"}, headers=await as_user("org01"))).json()
    upheld = await client.post(f"/api/objections/{objection['id']}/answer", json={"answer": "经核实资质已过期，质疑成立", "upheld": True}, headers=admin)
    assert upheld.status_code == 200
    assert (await client.get(f"/api/calls/{call_id}", headers=admin)).json()["status"] == "evaluating"
    second = (await client.post(f"/api/calls/{call_id}/close-evaluation", headers=admin)).json()
    assert [a["status"] for a in second] == ["cancelled", "pending"] and second[1]["bid_id"] != first["bid_id"]
    assert await count(db, Award, Award.call_id == call_id) == 2 and await count(db, Objection) >= 1


async def test_an_objection_to_an_award_already_withdrawn_is_answered_and_leaves_the_new_award_in_its_publicity(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    """Two bidders object to the same award; the first objection is upheld, the lot goes to the next bid. The second
    objection, to the withdrawn award, still gets its written answer, upheld or not, and the call stays in the new
    award's publicity (it was sent back to evaluation, where nothing was left to award and nothing could move it)."""
    admin = await as_user("admin")
    call_id, first = await _first_award(client, as_user, db, app)
    bidders = {b.id: b for b in await _bids(db, call_id)}
    objectors = [u for u in ("org01", "org02", "org03") if (await client.get("/api/auth/me", headers=await as_user(u))).json()["organisation_id"] != bidders[first["bid_id"]].organisation_id]
    objections = [(await client.post(f"/api/awards/{first['id']}/objections", json={"text": "中标人资质证书已过期"}, headers=await as_user(u))).json() for u in objectors]
    assert (await client.post(f"/api/objections/{objections[0]['id']}/answer", json={"answer": "经核实资质已过期，质疑成立", "upheld": True}, headers=admin)).status_code == 200
    second = (await client.post(f"/api/calls/{call_id}/close-evaluation", headers=admin)).json()
    assert [a["status"] for a in second] == ["cancelled", "pending"], second
    late = await client.post(f"/api/objections/{objections[1]['id']}/answer", json={"answer": "该中标结果已因其他质疑成立而撤销", "upheld": True}, headers=admin)
    assert late.status_code == 200 and late.json()["upheld"] is True, late.text
    assert (await client.get(f"/api/calls/{call_id}", headers=admin)).json()["status"] == "publicity"
    async with db() as session:
        statuses = sorted((await session.execute(select(Award.status).where(Award.call_id == call_id))).scalars())
        number = (await session.execute(select(Call.number).where(Call.id == call_id))).scalar_one()
    assert statuses == ["cancelled", "pending"]
    # The public record: the withdrawn award's publicity was not met; the new award's is under way.
    record = (await client.get(f"/api/ocds/records/{ocid_of(publication_rules(), number)}")).json()["records"][0]["compiledRelease"]
    publicity = {m["id"]: m["status"] for m in record["tender"]["milestones"] if m["id"].startswith("publicity-")}
    assert sorted(publicity.values()) == ["notMet", "scheduled"], publicity


async def test_the_ranking_counts_only_signed_scores_so_no_one_sees_a_member_s_scores_before_they_sign(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    """A member who has signed reads the ranking, and the buyer reads it while the panel scores: a colleague's
    scores, still theirs to change, are not in it until that colleague signs."""
    admin = await as_user("admin")
    call_id = await past_call(db, app, ["org01", "org02", "org03"])
    ids = [(await client.get("/api/auth/me", headers=await as_user(u))).json()["user_id"] for u in PANEL]
    await client.put(f"/api/calls/{call_id}/panel", json={"user_ids": ids}, headers=admin)
    await client.post(f"/api/calls/{call_id}/close-bidding", headers=admin)
    await page_login(client, "admin")
    assert "调整评审委员会" in (await client.get(f"/community/calls/{call_id}")).text
    client.cookies.clear()
    await _score_and_sign(client, as_user, call_id, PANEL[:1])
    await page_login(client, "admin")  # scoring has begun: the panel is fixed, and its form is gone
    assert "调整评审委员会" not in (await client.get(f"/community/calls/{call_id}")).text
    client.cookies.clear()
    signed = await as_user(PANEL[0])
    before = {r["bid_id"]: r["score"] for r in (await client.get(f"/api/calls/{call_id}/ranking", headers=signed)).json()}
    assert before and set(before.values()) != {"0.00"}, before
    colleague = await as_user(PANEL[1])
    assert (await client.post(f"/api/calls/{call_id}/declaration", json={}, headers=colleague)).status_code == 200
    for bid in (await client.get(f"/api/calls/{call_id}/bids", headers=colleague)).json():
        zero = [{**p, "points": 0} for p in POINTS]
        assert (await client.post(f"/api/bids/{bid['id']}/scores", json={"points": zero}, headers=colleague)).status_code == 200
    for reader in (signed, admin):
        assert {r["bid_id"]: r["score"] for r in (await client.get(f"/api/calls/{call_id}/ranking", headers=reader)).json()} == before
    assert (await client.post(f"/api/calls/{call_id}/sign-off", headers=colleague)).json()["signed"] is True
    assert {r["bid_id"]: r["score"] for r in (await client.get(f"/api/calls/{call_id}/ranking", headers=signed)).json()} != before


# The demo's calls: signals, a seven-member panel, the engine paying the first tranches


async def test_the_panel_sees_collusion_signals_and_seven_members_lose_the_extremes(client, as_user) -> None:  # type: ignore[no-untyped-def]
    admin = await as_user("admin")
    calls = {c["number"]: c for c in (await client.get("/api/calls", headers=admin)).json()}
    tender = next(c for c in calls.values() if c["method"] == "tender" and c["repeated_from_call_id"])
    signals = (await client.get(f"/api/calls/{tender['id']}/signals", headers=admin)).json()
    assert any(s["kind"] == "legal_representative" and s["description"] == "法定代表人相同" for s in signals)
    panel = (await client.get(f"/api/calls/{tender['id']}/panel", headers=admin)).json()
    assert len(panel) == 7 and sum(m["outside"] for m in panel) == 5 and all(m["signed"] for m in panel)
    ranking = (await client.get(f"/api/calls/{tender['id']}/ranking", headers=admin)).json()
    assert [r["rank"] for r in ranking] == [1, 2, 3, 4]
    assert tender["draw_seed"] is not None and tender["status"] == "publicity"
    # The organisations see open calls they may bid for: a filed organisation no tender, an uninvited one no negotiation.
    filed = {c["method"] for c in (await client.get("/api/calls", headers=await as_user("org22"))).json()}
    assert "negotiation" not in filed


async def test_the_first_tranches_are_paid_by_the_money_engine_once(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    """The demo pays each contract's first tranche (due at signing) as finance would: a run approved and its batch
    issued with its documents; each tranche is one paid line, and nothing is left to pay again."""
    from subsidies.engine.tables import PaidLine

    finance = await as_user("finance")
    admin = await as_user("admin")
    venture = next(c for c in (await client.get("/api/calls", headers=admin)).json() if c["method"] == "venture" and c["status"] == "awarded")
    awards = (await client.get(f"/api/public/calls/{venture['id']}/awards")).json()
    contracts = [c for c in (await client.get("/api/evaluation/contracts", headers=finance)).json() if c["call_id"] == venture["id"]]
    assert len(contracts) == len(awards) and awards
    firsts = [c["tranches"][0] for c in contracts]
    assert all(t["paid_batch_number"] and t["paid_batch_number"].startswith("GMFW-") for t in firsts)
    assert sum(t["amount_fen"] for t in firsts) == sum(a["amount_fen"] * 3 // 10 + (1 if a["amount_fen"] * 3 % 10 >= 5 else 0) for a in awards)
    for c in contracts:
        assert await count(db, PaidLine, PaidLine.line_key == f"tranche:{c['contract_id']}:1") == 1
        assert_problem(await client.post(f"/api/evaluation/contracts/{c['contract_id']}/tranches/1/payment", headers=finance), 409, "paid in batch")
    month = contracts[0]["tranches"][0]["payable_on"][:7]
    again = await client.post("/api/programmes/community_tranches/runs", json={"period": month, "supplementary": True}, headers=finance)
    assert_problem(again, 422, "nothing of")  # each tranche once, ever: a supplementary run has nothing left to pay
    # The batch's documents were issued with it: finance downloads its summary.
    await page_login(client, "finance")
    summary = await client.get(f"/documents/programmes/batches/{firsts[0]['paid_batch_id']}/summary.pdf")
    assert summary.status_code == 200 and summary.content.startswith(b"%PDF")


async def test_reminders_reach_whoever_the_call_waits_on_once(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    from community.calls.jobs import remind
    from foundation.notifications import Notification

    waiting = await past_call(db, app, ["org01"])
    closing = (await client.post("/api/calls", json=call_body(utc_now() + timedelta(hours=12)), headers=await as_user("admin"))).json()["id"]
    later = utc_now() + timedelta(days=4)  # the demo tender's publicity has ended by then
    for _ in range(2):
        async with db() as session:
            await remind(session, "2026-11-26T10", later - timedelta(days=4))
    assert await count(db, Notification, Notification.key.like(f"call-to-open:{waiting}|%")) >= 1  # type: ignore[attr-defined]
    # Every social organisation may bid in a district venture call: each account is told once it closes soon.
    organisations = await count(db, Notification, Notification.key.like(f"call-closing:{closing}|%"))  # type: ignore[attr-defined]
    assert organisations >= 24
    async with db() as session:
        await remind(session, "2026-11-30T10", later)
    assert await count(db, Notification, Notification.key.like("award-to-confirm:%")) >= 1  # type: ignore[attr-defined]
    assert await count(db, Notification, Notification.key.like(f"call-closing:{closing}|%")) == organisations  # type: ignore[attr-defined]


async def test_the_buyer_names_the_panel_on_the_call_page_and_cannot_name_themself(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    call_id = await past_call(db, app, ["org01"], days_ago=-5)
    ids = {u: (await client.get("/api/auth/me", headers=await as_user(u))).json()["user_id"] for u in [*PANEL, "admin"]}
    await page_login(client, "admin")
    shown = await client.get(f"/community/calls/{call_id}")
    assert shown.status_code == 200 and "组建评审委员会" in shown.text and "采购人回避" in shown.text
    assert f'value="{ids["admin"]}" disabled' in shown.text  # the buyer's own box cannot be ticked
    token = await csrf(client)
    form = f"/community/calls/{call_id}/panel"
    nothing = await client.post(form, data={}, headers={"x-csrftoken": token})
    assert nothing.status_code == 422 and "请勾选评审委员" in nothing.text
    too_few = await client.post(form, data={"user_ids": [str(ids[u]) for u in PANEL[:3]]}, headers={"x-csrftoken": token})
    assert too_few.status_code == 422 and "评审委员会人数或外部专家比例不符合要求" in too_few.text
    own = await client.post(form, data={"user_ids": [str(ids[u]) for u in [*PANEL[:4], "admin"]]}, headers={"x-csrftoken": token})
    assert own.status_code == 403 and "采购人回避" in own.text
    async with db() as session:
        assert await service.panel(session, await principal(db, "admin"), call_id) == []  # nothing stored by the refusals
    named = await client.post(form, data={"user_ids": [str(ids[u]) for u in PANEL]}, headers={"x-csrftoken": token})
    assert named.status_code == 200 and "已申报" not in named.text
    async with db() as session:
        panel = await service.panel(session, await principal(db, "admin"), call_id)
    assert sorted(m.user_id for m in panel) == sorted(ids[u] for u in PANEL)
    again = await client.get(f"/community/calls/{call_id}")
    assert all(f'value="{ids[u]}" checked' in again.text for u in PANEL)


async def test_a_panel_member_reads_each_bid_and_its_documents_from_the_panel_page_and_no_outsider_does(client, db) -> None:  # type: ignore[no-untyped-def]
    """The panel page's "方案" link opens the bid (plan, team, its documents) in the browser: it once led to the API,
    which answered a logged-in page an English 401. The same checks as the API refuse it, in Chinese, to an expert
    not on the panel and to an organisation that is not the bidder."""
    async with db() as session:  # the demo's call under evaluation where expert1 has declared
        call_id = (
            await session.execute(
                select(PanelMember.call_id).join(User, User.id == PanelMember.user_id)
                .where(User.username == "expert1", PanelMember.declared_at.is_not(None))  # type: ignore[union-attr]
                .order_by(PanelMember.call_id)
            )
        ).scalars().first()
        assert call_id is not None
        outsider = (
            await session.execute(
                select(User.username).where(User.username.like("expert%"), User.id.not_in(select(PanelMember.user_id).where(PanelMember.call_id == call_id))).order_by(User.username)  # type: ignore[attr-defined]
            )
        ).scalars().first()
    await page_login(client, "expert1")
    panel = await client.get(f"/community/panel/{call_id}")
    assert panel.status_code == 200 and "评分" in panel.text
    plans = re.findall(r'<a href="([^"]+)">方案</a>', panel.text)
    assert plans and not [a for a in plans if a.startswith("/api/")], plans
    shown = await client.get(plans[0])
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("text/html")
    async with db() as session:
        bid = await session.get(Bid, int(plans[0].rsplit("/", 1)[1]))
        assert bid is not None
        documents = (await session.execute(select(BidDocument).where(BidDocument.bid_id == bid.id))).scalars().all()
    assert bid.plan in shown.text and bid.team in shown.text and f"{bid.amount_fen // 100:,}" in shown.text
    assert documents and 'href="/community/panel/' in shown.text  # back to the scoring
    document = documents[0]
    address = link_named(shown.text, document.name)
    opened = await client.get(address)
    assert opened.status_code == 200 and opened.headers["content-type"] == document.content_type
    assert opened.headers["content-disposition"].startswith("attachment;") and "sandbox" in opened.headers["content-security-policy"]
    assert hashlib.sha256(opened.content).hexdigest() == document.sha256

    assert outsider is not None
    await page_login(client, outsider)  # an expert, not on this call's panel
    assert_refused_page(await client.get(plans[0]), 403, "只有采购方和评审专家可以查看投标")
    assert_refused_page(await client.get(address), 403)
    async with db() as session:
        other_org = (
            await session.execute(select(User.username).where(User.username.like("org%"), User.organisation_id != bid.organisation_id).order_by(User.username))  # type: ignore[attr-defined]
        ).scalars().first()
    assert other_org is not None
    await page_login(client, other_org)  # an organisation reads its own bids only
    assert_refused_page(await client.get(plans[0]), 404)
    assert_refused_page(await client.get(address), 404)
