"""A call buys from an item of the year's catalogue of bought services (目录): it names the item, its budget fits
what is left of the item's, the catalogue page shows what has been called and awarded against each item, and the
project's releases name the item and the proposals behind it. A call opened on its page may have several lots.
And every notice that waits on someone is settled once what it waits on is done."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from community.calls import schemas, service
from community.calls.tables import Bid, Call, CallLot
from community.ocds.validation import package_problems
from foundation.clock import business_today, utc_now
from foundation.errors import RuleViolation
from foundation.notifications import Notification
from tests.integration.helpers import assert_problem
from tests.integration.test_calls import CRITERIA, PANEL, _score_and_sign, act, call_body, count, past_call, principal, store
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf


async def published_catalogue(client: Any, admin: dict[str, str], street_id: int) -> dict[str, int]:
    """A new version of this year's catalogue, published: a district item of 100,000 yuan and a street's of 30,000."""
    items = [
        {"title": "全区独居老人探访（测试）", "category": "养老", "budget_fen": 10_000_000},
        {"title": "街道青少年托管（测试）", "category": "青少年", "budget_fen": 3_000_000, "street_id": street_id},
    ]
    draft = await client.post("/api/community/catalogues", json={"year": business_today().year, "items": items}, headers=admin)
    assert draft.status_code == 201, draft.text
    assert (await client.post(f"/api/community/catalogues/{draft.json()['id']}/publish", headers=admin)).status_code == 200
    made = draft.json()["items"]
    return {"district": made[0]["id"], "street": made[1]["id"]}


async def test_a_call_buys_from_a_catalogue_item_within_what_is_left_of_its_budget(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    admin = await as_user("admin")
    officer = await principal(db, "xbl-officer")
    assert officer.street_id is not None
    items = await published_catalogue(client, admin, officer.street_id)
    deadline = utc_now() + timedelta(days=5)

    def body(budget: int, item: int) -> dict[str, Any]:
        return call_body(deadline, lots=[{"title": "探访", "budget_fen": budget}], catalogue_item_id=item)

    first = await client.post("/api/calls", json=body(6_000_000, items["district"]), headers=admin)
    assert first.status_code == 201, first.text
    assert first.json()["catalogue_item_id"] == items["district"]
    calls = await count(db, Call)
    # 40,000 yuan are left of the item: one fen more is refused, and nothing is stored.
    assert_problem(await client.post("/api/calls", json=body(4_000_001, items["district"]), headers=admin), 422, "left of its catalogue item", "4000000")
    # The street's item is bought by the street, not the district; the district's not by a street officer.
    assert_problem(await client.post("/api/calls", json=body(1_000_000, items["street"]), headers=admin), 422, "catalogue item")
    officer_headers = await as_user("xbl-officer")
    assert_problem(await client.post("/api/calls", json=body(1_000_000, items["district"]), headers=officer_headers), 422, "catalogue item")
    # An item of no published catalogue of this year: unknown, or of a draft.
    assert_problem(await client.post("/api/calls", json=body(1_000_000, 987_654), headers=admin), 422, "catalogue")
    draft = await client.post("/api/community/catalogues", json={"year": business_today().year, "items": [{"title": "草稿项目", "category": "养老", "budget_fen": 5_000_000}]}, headers=admin)
    assert_problem(await client.post("/api/calls", json=body(1_000_000, draft.json()["items"][0]["id"]), headers=admin), 422, "in force")
    assert await count(db, Call) == calls
    # What is left fits exactly; the street's officer calls against the street's item.
    assert (await client.post("/api/calls", json=body(4_000_000, items["district"]), headers=admin)).status_code == 201
    assert (await client.post("/api/calls", json=body(3_000_000, items["street"]), headers=officer_headers)).status_code == 201

    # The catalogue page shows, per item, the calls against it, what they hold and what is left (nothing).
    await page_login(client, "admin")
    shown = await client.get("/community/catalogues")
    row = shown.text.split(f'id="catalogue-item-{items["district"]}"', 1)[1].split("</tr>", 1)[0]
    assert first.json()["number"] in row and "100,000.00" in row and "0.00" in row and "投标中" in row


async def test_a_failed_call_frees_its_budget_and_its_repetition_keeps_the_item(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    admin_headers = await as_user("admin")
    items = await published_catalogue(client, admin_headers, (await principal(db, "xbl-officer")).street_id or 0)
    admin = await principal(db, "admin")
    now = utc_now()
    data = schemas.CallCreate(
        title="独居老人探访", category=schemas.Category.ELDERLY, method=schemas.Method.VENTURE, bid_deadline=now + timedelta(hours=1),
        lots=[schemas.LotIn(title="探访", budget_fen=10_000_000)], criteria=[schemas.CriterionIn(name=str(c["name"]), weight=int(str(c["weight"]))) for c in CRITERIA],
        catalogue_item_id=items["district"],
    )
    failed = await act(db, service.open_call, admin, data, now)
    assert_problem(await client.post("/api/calls", json=call_body(now + timedelta(days=5), lots=[{"title": "探访", "budget_fen": 100}], catalogue_item_id=items["district"]), headers=admin_headers), 422, "left")
    # No bid came: the call fails, the buyer is asked to call again, and the item's budget is free again.
    closed = await act(db, service.close_bidding, admin, failed.id, now + timedelta(hours=1, minutes=1))
    assert closed.status == "failed"
    assert await count(db, Notification, col(Notification.key).like(f"call-failed:{failed.id}|%"), col(Notification.read_at).is_(None)) >= 1
    repeated = await client.post(f"/api/calls/{failed.id}/repeat", json={"bid_deadline": (now + timedelta(days=3)).isoformat()}, headers=admin_headers)
    assert repeated.status_code == 201 and repeated.json()["catalogue_item_id"] == items["district"]
    assert await count(db, Notification, col(Notification.key).like(f"call-failed:{failed.id}|%"), col(Notification.read_at).is_(None)) == 0
    # The repeat's release names the catalogue item and follows on from the failed process.
    number = repeated.json()["number"]
    package = (await client.get(f"/api/ocds/releases/ocds-hpdemo-{number}")).json()
    assert package_problems(package) == []
    release = package["releases"][-1]
    assert release["planning"]["budget"]["project"] == "全区独居老人探访（测试）"
    assert release["relatedProcesses"][0]["relationship"] == ["unsuccessfulProcess"]
    assert release["relatedProcesses"][0]["identifier"] == f"ocds-hpdemo-{failed.number}"


async def test_a_call_opened_on_its_page_has_several_lots_each_with_its_budget(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    admin = await as_user("admin")
    items = await published_catalogue(client, admin, (await principal(db, "xbl-officer")).street_id or 0)
    await page_login(client, "admin")
    shown = await client.get("/community/calls")
    assert "全区独居老人探访（测试）（养老，剩余 100,000.00 元）" in shown.text
    token = await csrf(client)
    deadline = (utc_now() + timedelta(days=5)).astimezone().strftime("%Y-%m-%dT%H:%M")
    form = {
        "title": "独居老人探访与助餐", "category": "养老", "method": "venture", "bid_deadline": deadline, "catalogue_item_id": str(items["district"]),
        "lots": "探访服务 60000\n助餐服务 30000.50", "criteria": "项目设计 40\n执行能力 40\n财务合规 20",
    }
    calls = await count(db, Call)
    over = await client.post("/community/calls", data=form | {"lots": "探访服务 60000\n助餐服务 40000.01"}, headers={"x-csrftoken": token}, follow_redirects=False)
    assert over.status_code == 422 and "剩余预算" in over.text
    bad = await client.post("/community/calls", data=form | {"lots": "探访服务 六万"}, headers={"x-csrftoken": token}, follow_redirects=False)
    assert bad.status_code == 422 and "请填写金额" in bad.text
    assert await count(db, Call) == calls
    opened = await client.post("/community/calls", data=form, headers={"x-csrftoken": token}, follow_redirects=False)
    assert opened.status_code in (302, 303), opened.text
    call_id = int(opened.headers["location"].rsplit("/", 1)[-1])
    async with db() as session:
        lots = (await session.execute(select(CallLot).where(col(CallLot.call_id) == call_id).order_by(col(CallLot.number)))).scalars().all()
        call = await session.get(Call, call_id)
    assert [(lot.title, lot.budget_fen) for lot in lots] == [("探访服务", 6_000_000), ("助餐服务", 3_000_050)]
    assert call is not None and call.budget_fen == 9_000_050 and call.catalogue_item_id == items["district"]
    page = await client.get(f"/community/calls/{call_id}")
    assert "第2包 助餐服务：30,000.50 元" in page.text and "全区独居老人探访（测试）" in page.text
    # An organisation bids for the second lot on the call's page, within that lot's budget.
    await page_login(client, "org01")
    token = await csrf(client)
    bid = {"client_id": "page-lot-2-bid-01", "lot_number": "2", "amount": "30000.51", "plan": "每日午餐配送", "team": "社工2名"}
    over = await client.post(f"/community/calls/{call_id}/bid", data=bid, headers={"x-csrftoken": token}, follow_redirects=False)
    assert over.status_code == 422 and "报价超过该包预算" in over.text
    made = await client.post(f"/community/calls/{call_id}/bid", data=bid | {"amount": "29000"}, headers={"x-csrftoken": token}, follow_redirects=False)
    assert made.status_code in (302, 303), made.text
    async with db() as session:
        bids = (await session.execute(select(Bid).where(col(Bid.call_id) == call_id))).scalars().all()
    assert [(b.lot_number, b.amount_fen) for b in bids] == [(2, 2_900_000)]


async def test_each_lot_is_bid_for_and_awarded_on_its_own(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    admin = await principal(db, "admin")
    deadline = utc_now() - timedelta(days=2)
    opened = deadline - timedelta(days=25)
    data = schemas.CallCreate(
        title="社区探访与助餐", category=schemas.Category.ELDERLY, method=schemas.Method.VENTURE, bid_deadline=deadline,
        lots=[schemas.LotIn(title="探访", budget_fen=5_000_000), schemas.LotIn(title="助餐", budget_fen=2_000_000)],
        criteria=[schemas.CriterionIn(name=str(c["name"]), weight=int(str(c["weight"]))) for c in CRITERIA],
    )
    call = await act(db, service.open_call, admin, data, opened)
    for username, lot, amount in (("org01", 1, 4_900_000), ("org02", 1, 4_700_000), ("org01", 2, 1_950_000), ("org03", 2, 1_800_000)):
        body = schemas.BidIn(client_id=f"lots-{call.id}-{username}-{lot}", lot_number=lot, plan="服务方案", team="社工3名", amount_fen=amount)
        await act(db, service.submit_bid, await principal(db, username), store(app), call.id, body, opened + timedelta(days=1))
    # A bid above its own lot's budget is refused, though the call's budget would hold it.
    try:
        too_much = schemas.BidIn(client_id=f"lots-{call.id}-org04-2", lot_number=2, plan="服务方案", team="社工3名", amount_fen=2_000_001)
        await act(db, service.submit_bid, await principal(db, "org04"), store(app), call.id, too_much, opened + timedelta(days=1))
        raise AssertionError("a bid above its lot's budget was taken")
    except RuleViolation as refused:
        assert "lot's budget" in str(refused)
    headers = await as_user("admin")
    ids = [(await client.get("/api/auth/me", headers=await as_user(u))).json()["user_id"] for u in PANEL]
    await client.put(f"/api/calls/{call.id}/panel", json={"user_ids": ids}, headers=headers)
    await client.post(f"/api/calls/{call.id}/close-bidding", headers=headers)
    await _score_and_sign(client, as_user, call.id, PANEL)
    awards = await client.post(f"/api/calls/{call.id}/close-evaluation", headers=headers)
    assert awards.status_code == 200, awards.text
    # Equal scores: in each lot the lower price wins, and each lot has its own award.
    assert [(a["lot_number"], a["organisation_name"] != "", a["amount_fen"]) for a in awards.json()] == [(1, True, 4_700_000), (2, True, 1_800_000)]


async def test_each_notice_that_waits_on_someone_is_settled_once_it_is_done(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    admin = await as_user("admin")

    async def waiting(key: str) -> int:
        return await count(db, Notification, col(Notification.key).like(f"{key}|%"), col(Notification.read_at).is_(None))

    call_id = await past_call(db, app, ["org01", "org02"])
    ids = {u: (await client.get("/api/auth/me", headers=await as_user(u))).json()["user_id"] for u in PANEL}
    await client.put(f"/api/calls/{call_id}/panel", json={"user_ids": list(ids.values())}, headers=admin)
    assert await waiting(f"panel-named:{call_id}") == len(PANEL)
    await client.post(f"/api/calls/{call_id}/close-bidding", headers=admin)
    assert await waiting(f"panel-score:{call_id}") == len(PANEL)
    # One member signs: their notices are settled, the others' still wait.
    await _score_and_sign(client, as_user, call_id, PANEL[:1])
    assert await waiting(f"panel-score:{call_id}") == len(PANEL) - 1 and await waiting(f"panel-named:{call_id}") == len(PANEL) - 1
    assert await waiting(f"evaluation-to-close:{call_id}") == 0
    await _score_and_sign(client, as_user, call_id, PANEL[1:])
    assert await waiting(f"panel-score:{call_id}") == 0
    # Everyone has signed: the buyer is asked to close the evaluation, and that is settled when it is closed.
    assert await waiting(f"evaluation-to-close:{call_id}") >= 1
    award = (await client.post(f"/api/calls/{call_id}/close-evaluation", headers=admin)).json()[0]
    assert await waiting(f"evaluation-to-close:{call_id}") == 0
    objection = (await client.post(f"/api/awards/{award['id']}/objections", json={"text": "我方认为评分有误，请复核"}, headers=await as_user("org01"))).json()
    assert await waiting(f"objection:{objection['id']}") >= 1
    assert (await client.post(f"/api/objections/{objection['id']}/answer", json={"answer": "经复核评分无误，质疑不成立", "upheld": False}, headers=admin)).status_code == 200
    assert await waiting(f"objection:{objection['id']}") == 0


async def test_a_proposal_answered_by_the_street_no_longer_waits_on_it(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    waiting_proposals = (await client.get("/api/community/proposals", params={"state": "waiting"}, headers=await as_user("admin"))).json()["items"]
    assert waiting_proposals, "the demo district has a proposal waiting on its street"
    proposal = waiting_proposals[0]
    streets = {s["id"]: s["code"] for s in (await client.get("/api/registry/streets", headers=await as_user("admin"))).json()["items"]}
    officer = await as_user(f"{streets[proposal['street_id']].lower()}-officer")
    key = f"proposal-waiting|{proposal['id']}|%"
    assert await count(db, Notification, col(Notification.key).like(key), col(Notification.read_at).is_(None)) >= 1
    answered = await client.post(f"/api/community/proposals/{proposal['id']}/answer", json={"answer": "include"}, headers=officer)
    assert answered.status_code == 200, answered.text
    assert await count(db, Notification, col(Notification.key).like(key), col(Notification.read_at).is_(None)) == 0
