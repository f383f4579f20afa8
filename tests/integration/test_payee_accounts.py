"""The bank accounts the programmes' payees are paid into: recorded by the administrator only (audited), listed for
finance with the missing ones first, refused input changing nothing, and the finance desk counting the missing."""

from __future__ import annotations

from typing import Any

from tests.integration.helpers import assert_problem, audit_count
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf


def entry(payees: list[dict[str, Any]], kind: str, payee_id: int) -> dict[str, Any]:
    return next(p for p in payees if (p["kind"], p["id"]) == (kind, payee_id))


async def test_only_the_administrator_records_a_payee_s_account_and_a_refused_one_changes_nothing(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    admin, finance = await as_user("admin"), await as_user("finance")
    listed = await client.get("/api/payee-accounts", headers=finance)
    assert listed.status_code == 200, listed.text
    # The demo's care providers are paid by the elderly-care programme (its batch was issued with the demo).
    provider = next(p for p in listed.json() if p["kind"] == "organisation" and "居家养老服务中心" in p["name"])
    assert provider["programmes"] == ["居家养老服务券"], provider
    path = f"/api/payee-accounts/organisation/{provider['id']}"

    # Nobody but the administrator records an account; only finance and the administrator read them.
    for username in ("finance", "xbl-officer", "org01", "xbl01-director"):
        assert (await client.put(path, json={"bank_name": "天津银行和平支行", "bank_account": "6217 0000 1111 2222"}, headers=await as_user(username))).status_code == 403
    for username in ("xbl-officer", "xbl01-worker", "org01", "inspector1"):
        assert (await client.get("/api/payee-accounts", headers=await as_user(username))).status_code == 403
    # Refused input: a clear problem, nothing stored.
    before = await audit_count(db, "payee_account.recorded")
    assert_problem(await client.put(path, json={"bank_name": "天津银行和平支行", "bank_account": "12ab34"}, headers=admin), 400, "bank_account")
    assert_problem(await client.put(path, json={"bank_name": "", "bank_account": "6217 0000 1111 2222"}, headers=admin), 422, "together")
    assert_problem(await client.put(path, json={"bank_name": "天津银行\x07和平支行", "bank_account": "6217 0000 1111 2222"}, headers=admin), 422, "control character")
    for not_one_line in ("天津银行\n和平支行", "天津银行\u2028和平支行", "天津银行\u200b和平支行"):
        assert_problem(await client.put(path, json={"bank_name": not_one_line, "bank_account": "6217 0000 1111 2222"}, headers=admin), 400, "one line")
    assert_problem(await client.put("/api/payee-accounts/organisation/999999", json={"bank_name": "天津银行", "bank_account": "6217000011112222"}, headers=admin), 404)
    assert (await client.put("/api/payee-accounts/company/1", json={"bank_name": "天津银行", "bank_account": "6217000011112222"}, headers=admin)).status_code == 400
    unchanged = entry((await client.get("/api/payee-accounts", headers=finance)).json(), "organisation", provider["id"])
    assert unchanged == provider and await audit_count(db, "payee_account.recorded") == before

    # Recorded (spaces as a passbook groups them, kept in one form), audited with what it was before.
    recorded = await client.put(path, json={"bank_name": " 中国农业银行天津和平支行 ", "bank_account": "6228  4800 0212 3456 789"}, headers=admin)
    assert recorded.status_code == 200, recorded.text
    assert (recorded.json()["bank_name"], recorded.json()["bank_account"], recorded.json()["name"]) == ("中国农业银行天津和平支行", "6228 4800 0212 3456 789", provider["name"])
    assert await audit_count(db, "payee_account.recorded") == before + 1
    log = (await client.get("/api/audit?entity=payee&action=payee_account.recorded", headers=admin)).json()
    newest = log["items"][0]
    assert newest["entity_id"] == f"organisation:{provider['id']}" and newest["after"]["bank_account"] == "6228 4800 0212 3456 789"
    assert newest["before"] == ({"bank_name": provider["bank_name"], "bank_account": provider["bank_account"]} if provider["bank_account"] else None)
    # The same again changes nothing and logs nothing; both empty removes it, and the payee is listed first.
    again = await client.put(path, json={"bank_name": "中国农业银行天津和平支行", "bank_account": "6228 4800 0212 3456 789"}, headers=admin)
    assert again.status_code == 200 and await audit_count(db, "payee_account.recorded") == before + 1
    removed = await client.put(path, json={"bank_name": "", "bank_account": ""}, headers=admin)
    assert removed.status_code == 200 and removed.json()["bank_account"] is None
    assert await audit_count(db, "payee_account.removed") == 1
    first = (await client.get("/api/payee-accounts", headers=finance)).json()[0]
    assert first["bank_account"] is None
    # A space typed on a Chinese keyboard (full-width) or pasted (no-break) is part of the name as written.
    spaced = await client.put(path, json={"bank_name": "中国农业银行　天津和平支行\u00a0营业部", "bank_account": "6228 4800 0212 3456 789"}, headers=admin)
    assert spaced.status_code == 200, spaced.text
    assert spaced.json()["bank_name"] == "中国农业银行　天津和平支行\u00a0营业部"


async def test_finance_sees_the_payees_without_an_account_and_the_administrator_records_one_on_its_page(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    admin = await as_user("admin")
    payee = next(p for p in (await client.get("/api/payee-accounts", headers=admin)).json() if p["kind"] == "community")
    assert (await client.put(f"/api/payee-accounts/community/{payee['id']}", json={"bank_name": "", "bank_account": ""}, headers=admin)).status_code == 200
    missing = sum(p["bank_account"] is None for p in (await client.get("/api/payee-accounts", headers=admin)).json())

    await page_login(client, "finance")
    desk = (await client.get("/programmes")).text
    assert f"{missing} 个收款方未登记开户银行和账号" in desk and 'href="/programmes/payees"' in desk
    listing = await client.get("/programmes/payees")
    assert listing.status_code == 200 and f"{missing} 个收款方未登记账户" in listing.text and payee["name"] in listing.text
    assert 'action="/programmes/payees/' not in listing.text  # finance reads; the administrator records
    form = {"bank_name": "天津银行和平支行", "bank_account": "0101 0200 3000 4000", "_csrf_token": await csrf(client)}
    assert (await client.post(f"/programmes/payees/community/{payee['id']}", data=form)).status_code == 403
    client.cookies.clear()
    await page_login(client, "xbl-officer")
    assert (await client.get("/programmes/payees")).status_code == 403
    client.cookies.clear()

    await page_login(client, "admin")
    refused = await client.post(f"/programmes/payees/community/{payee['id']}", data=form | {"bank_account": "abc", "_csrf_token": await csrf(client)})
    assert refused.status_code == 422 and "银行账号须为" in refused.text and 'value="abc"' in refused.text
    assert entry((await client.get("/api/payee-accounts", headers=admin)).json(), "community", payee["id"])["bank_account"] is None
    saved = await client.post(f"/programmes/payees/community/{payee['id']}", data=form | {"_csrf_token": await csrf(client)})
    assert saved.status_code == 200 and "收款账户已保存" in saved.text and "0101 0200 3000 4000" in saved.text, saved.text[-1500:]
    assert f"{missing - 1} 个收款方未登记账户" in saved.text or (missing == 1 and "均已登记账户" in saved.text)
    client.cookies.clear()
