"""The registry of streets, communities, estates, companies and organisations: reading within scope, changing by the district."""

from __future__ import annotations

from sqlalchemy import select

from foundation.audit import AuditEntry
from registry.tables import Company, Estate
from tests.integration.helpers import assert_problem, audit_count, community_id, count, estate_ids_of


def make_code(first17: str) -> str:
    from registry.rules import credit_code_check_char

    return first17 + credit_code_check_char(first17)


async def test_the_demo_district_adds_up_to_the_published_totals(client, as_user) -> None:
    summary = (await client.get("/api/registry/summary", headers=await as_user("admin"))).json()
    assert (summary["streets"], summary["communities"], summary["estates"]) == (6, 64, 323)
    assert summary["floor_area_centi_m2"] == 384_440_000 and summary["floor_area_m2"] == "3844400.00"
    assert summary["active_contracts"] == 64 and summary["estates_under_contract"] == 323


async def test_the_summary_counts_only_what_the_caller_may_see(client, as_user, db) -> None:
    summary = (await client.get("/api/registry/summary", headers=await as_user("xbl01-worker"))).json()
    assert summary["communities"] == 1 and summary["streets"] == 1 and summary["estates"] == len(await estate_ids_of(db, "XBL01"))
    street = (await client.get("/api/registry/summary", headers=await as_user("xbl-officer"))).json()
    assert street["communities"] == 11 and street["streets"] == 1


async def test_the_named_communities_sit_in_their_streets(client, as_user) -> None:
    rows = (await client.get("/api/registry/communities?page_size=100", headers=await as_user("admin"))).json()["items"]
    street_of = {r["name"]: r["street_name"] for r in rows}
    assert street_of["树德里"] == "小白楼" and street_of["长春道"] == "小白楼" and street_of["朝阳里"] == "新兴"
    assert len(rows) == 64


async def test_a_community_worker_sees_only_their_own_communitys_estates(client, as_user, db) -> None:
    shude = await as_user("xbl01-worker")
    listed = (await client.get("/api/registry/estates?page_size=200", headers=shude)).json()
    assert {e["community_name"] for e in listed["items"]} == {"树德里"}
    chaoyang_estate = (await estate_ids_of(db, "XX01"))[0]
    assert_problem(await client.get(f"/api/registry/estates/{chaoyang_estate}", headers=shude), 404)
    other = await community_id(db, "XX01")
    assert (await client.get(f"/api/registry/estates?community_id={other}", headers=shude)).json()["total"] == 0
    assert_problem(await client.get(f"/api/registry/communities/{other}", headers=shude), 404)


async def test_a_street_sees_its_own_communities_only(client, as_user, db) -> None:
    headers = await as_user("xbl-officer")
    rows = (await client.get("/api/registry/estates?page_size=200", headers=headers)).json()["items"]
    assert {e["street_name"] for e in rows} == {"小白楼"}
    assert_problem(await client.get(f"/api/registry/estates/{(await estate_ids_of(db, 'XX01'))[0]}", headers=headers), 404)


async def test_a_company_sees_only_itself_and_the_estates_it_has_contracts_for(client, as_user) -> None:
    headers = await as_user("company01")
    companies = (await client.get("/api/registry/companies", headers=headers)).json()
    assert companies["total"] == 1
    mine = companies["items"][0]["id"]
    estates = (await client.get("/api/registry/estates?page_size=200", headers=headers)).json()["items"]
    assert estates and all(e["company_id"] == mine for e in estates)
    other_company = mine % 24 + 1
    assert_problem(await client.get(f"/api/registry/companies/{other_company}", headers=headers), 404)
    contracts = (await client.get("/api/registry/contracts?page_size=200", headers=headers)).json()["items"]
    assert contracts and all(c["company_id"] == mine for c in contracts)


async def test_lists_are_paged_and_filtered_by_street_and_community(client, as_user, db) -> None:
    admin = await as_user("admin")
    page1 = (await client.get("/api/registry/estates?page=1&page_size=100", headers=admin)).json()
    page4 = (await client.get("/api/registry/estates?page=4&page_size=100", headers=admin)).json()
    assert page1["total"] == 323 and len(page1["items"]) == 100 and len(page4["items"]) == 23
    xbl = (await client.get("/api/registry/streets", headers=admin)).json()["items"]
    xbl_id = next(s["id"] for s in xbl if s["name"] == "小白楼")
    by_street = (await client.get(f"/api/registry/estates?street_id={xbl_id}&page_size=200", headers=admin)).json()
    assert by_street["total"] > 0 and {e["street_name"] for e in by_street["items"]} == {"小白楼"}
    shude = await community_id(db, "XBL01")
    by_community = (await client.get(f"/api/registry/estates?community_id={shude}", headers=admin)).json()
    assert by_community["total"] == len(await estate_ids_of(db, "XBL01"))
    searched = (await client.get("/api/registry/estates?q=树德里", headers=admin)).json()
    assert searched["total"] == by_community["total"]
    assert_problem(await client.get("/api/registry/estates?page_size=201", headers=admin), 400, "page_size")
    assert_problem(await client.get("/api/registry/estates?page=0", headers=admin), 400)


async def test_the_administrator_registers_an_estate_and_it_is_audited(client, as_user, db) -> None:
    admin = await as_user("admin")
    shude = await community_id(db, "XBL01")
    before = await audit_count(db, "estate.created")
    body = {
        "code": "HP-TEST-1",
        "name": "测试旧楼区",
        "address": "天津市和平区测试路1号",
        "community_id": shude,
        "floor_area_centi_m2": 1234567,
        "management_mode": "company",
        "entered_on": "2026-01-01",
        "households": 120,
        "buildings": 4,
    }
    created = await client.post("/api/registry/estates", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["floor_area_m2"] == "12345.67" and created.json()["community_name"] == "树德里"
    assert await audit_count(db, "estate.created") == before + 1
    assert_problem(await client.post("/api/registry/estates", json=body, headers=admin), 409, "HP-TEST-1")


async def test_wrong_types_are_refused_not_coerced_and_nothing_is_stored(client, as_user, db) -> None:
    admin = await as_user("admin")
    shude = await community_id(db, "XBL01")
    good = {
        "code": "HP-TEST-2",
        "name": "类型测试",
        "address": "地址",
        "community_id": shude,
        "floor_area_centi_m2": 100000,
        "management_mode": "company",
        "entered_on": "2026-01-01",
    }
    before = await count(db, Estate)
    for bad in [
        {"floor_area_centi_m2": "100000"},
        {"floor_area_centi_m2": 1000.5},
        {"floor_area_centi_m2": True},
        {"community_id": str(shude)},
        {"management_mode": "warlord"},
        {"entered_on": "yesterday"},
        {"floor_area_centi_m2": 0},
        {"name": "   "},
        {"unexpected": 1},
    ]:
        assert_problem(await client.post("/api/registry/estates", json={**good, **bad}, headers=admin), 400)
    # A control character is refused by the edge's one rule for text, naming the field.
    assert_problem(await client.post("/api/registry/estates", json={**good, "name": "bad\u0000name"}, headers=admin), 422, "body.name")
    assert_problem(await client.post("/api/registry/estates", json={**good, "community_id": 999999}, headers=admin), 404, "community")
    assert_problem(
        await client.post("/api/registry/estates", json={**good, "left_on": "2025-01-01"}, headers=admin), 422, "left_on"
    )
    assert await count(db, Estate) == before


async def test_changing_an_estates_floor_area_needs_a_reason_which_is_audited(client, as_user, db) -> None:
    admin = await as_user("admin")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    assert_problem(await client.patch(f"/api/registry/estates/{estate}", json={"floor_area_centi_m2": 999999}, headers=admin), 422, "reason")
    changed = await client.patch(
        f"/api/registry/estates/{estate}", json={"floor_area_centi_m2": 999999, "reason": "2026年复测面积"}, headers=admin
    )
    assert changed.status_code == 200 and changed.json()["floor_area_centi_m2"] == 999999
    async with db() as session:
        entry = (await session.execute(select(AuditEntry).where(AuditEntry.action == "estate.updated").order_by(AuditEntry.id.desc()))).scalars().first()
    assert entry.reason == "2026年复测面积" and entry.after["floor_area_centi_m2"] == 999999
    assert entry.before["floor_area_centi_m2"] != 999999 and entry.actor.startswith("admin")


async def test_only_the_district_administrator_changes_the_registry(client, as_user, db) -> None:
    estate = (await estate_ids_of(db, "XBL01"))[0]
    for username in ["xbl01-worker", "xbl01-director", "xbl-officer", "finance", "company01", "inspector1"]:
        headers = await as_user(username)
        assert_problem(await client.patch(f"/api/registry/estates/{estate}", json={"name": "改名"}, headers=headers), 403)
        assert_problem(await client.post("/api/registry/streets", json={"code": "X9", "name": "新街"}, headers=headers), 403)
        assert_problem(
            await client.post("/api/registry/companies", json={"name": "某公司", "credit_code": make_code("91120101MA05K1XL7")}, headers=headers),
            403,
        )


async def test_a_company_needs_a_valid_and_unique_credit_code(client, as_user, db) -> None:
    admin = await as_user("admin")
    code = make_code("91120101MA05K1XL7")
    bad_check = code[:17] + ("0" if code[17] != "0" else "1")
    assert_problem(await client.post("/api/registry/companies", json={"name": "甲物业", "credit_code": bad_check}, headers=admin), 400, "check character")
    created = await client.post("/api/registry/companies", json={"name": "甲物业", "credit_code": code}, headers=admin)
    assert created.status_code == 201
    before = await count(db, Company)
    assert_problem(await client.post("/api/registry/companies", json={"name": "乙物业", "credit_code": code}, headers=admin), 409, code)
    assert await count(db, Company) == before


async def test_streets_and_communities_are_registered_and_renamed(client, as_user) -> None:
    admin = await as_user("admin")
    street = await client.post("/api/registry/streets", json={"code": "T1", "name": "测试街"}, headers=admin)
    assert street.status_code == 201
    community = await client.post(
        "/api/registry/communities", json={"code": "T101", "name": "测试社区", "street_id": street.json()["id"], "households": 1500}, headers=admin
    )
    assert community.status_code == 201 and community.json()["street_name"] == "测试街"
    renamed = await client.patch(f"/api/registry/streets/{street.json()['id']}", json={"name": "测试街道"}, headers=admin)
    assert renamed.json()["name"] == "测试街道"
    assert_problem(await client.patch(f"/api/registry/streets/{street.json()['id']}", json={"name": "南市"}, headers=admin), 409)
    assert_problem(await client.get("/api/registry/streets/2147483647", headers=admin), 404)
    assert_problem(await client.get("/api/registry/streets/2147483648", headers=admin), 400)


async def test_a_companys_payee_account_is_kept_both_fields_together_and_set_on_the_companies_page(client, as_user, db) -> None:
    from tests.integration.test_pages import page_login
    from tests.integration.test_role_pages import csrf

    admin = await as_user("admin")
    company = (await client.get("/api/registry/companies", headers=admin)).json()["items"][0]
    path = f"/api/registry/companies/{company['id']}"
    both = {"bank_name": "中国银行天津和平支行", "bank_account": "2710 0000 1234 5678"}
    answer = await client.patch(path, json=both, headers=admin)
    assert answer.status_code == 200 and (answer.json()["bank_name"], answer.json()["bank_account"]) == (both["bank_name"], both["bank_account"]), answer.text
    assert_problem(await client.patch(path, json={"bank_account": "12ab34"}, headers=admin), 400)
    assert_problem(await client.patch(path, json={"bank_name": "", "bank_account": "2710000012345678"}, headers=admin), 422, "together")
    assert (await client.get(path, headers=admin)).json()["bank_account"] == both["bank_account"]  # nothing stored
    # The administrator's form on the companies page; a refused account comes back with the reason in Chinese.
    client.cookies.clear()
    await page_login(client, "admin")
    form = {"bank_name": "天津银行和平支行", "bank_account": "0101 0200 3000 4000", "_csrf_token": await csrf(client)}
    saved = await client.post(f"/registry/companies/{company['id']}/bank", data=form)  # redirected to the list
    assert saved.status_code == 200 and "收款账户已保存" in saved.text and "0101 0200 3000 4000" in saved.text, saved.text[-2000:]
    refused = await client.post(f"/registry/companies/{company['id']}/bank", data=form | {"bank_account": "abc", "_csrf_token": await csrf(client)})
    assert refused.status_code == 422 and "银行账号须为" in refused.text
    client.cookies.clear()
