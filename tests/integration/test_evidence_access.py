"""Who may store and who may see uploaded evidence: a refused form stores nothing, every API key owns its uploads,
and whoever decides a case (a veto, an appeal, a rectification) opens all of its evidence."""

from __future__ import annotations

import gc
import hashlib
import uuid

from sqlalchemy import select

from assessment import service
from foundation.clock import business_today
from foundation.db import unit_of_work
from foundation.periods import Month
from inspections.tables import Attachment
from registry.rules import credit_code_check_char
from tests.integration.evidence import company_user_of, jpeg, other_company_user, principal, record_body, upload
from tests.integration.helpers import assert_problem, count, estate_ids_of
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf

THIS_MONTH = str(Month.of(business_today()))
LAST_MONTH = str(Month.of(business_today()).previous())


def blob_kept(app, content: bytes) -> bool:  # type: ignore[no-untyped-def]
    sha256 = hashlib.sha256(content).hexdigest()
    return (app.state.blob_store.root / sha256[:2] / sha256[2:4] / sha256).exists()


async def nothing_stored(app, db, content: bytes, attachments_before: int) -> None:  # type: ignore[no-untyped-def]
    assert await count(db, Attachment) == attachments_before
    assert await count(db, Attachment, Attachment.sha256 == hashlib.sha256(content).hexdigest()) == 0
    assert not blob_kept(app, content)
    gc.collect()  # the refused request's received photos are dropped: what was written ahead goes with them
    staging = app.state.blob_store.root / "staging"
    assert not staging.exists() or not any(staging.iterdir())


async def patrol_defect(client, as_user, db, item: str = "C01") -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """A defect raised today by 树德里's worker on its first estate; returns it, the estate and the finding photo."""
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    photo = await upload(client, worker)
    filed = await client.post("/api/patrols", json=record_body(estate, failed={item: [photo]}, passed=()), headers=worker)
    assert filed.status_code == 201, filed.text
    return filed.json()["defect_ids"][0], estate, photo


# 7. A refused form stores nothing


async def test_a_veto_refused_for_another_communitys_estate_keeps_no_photo(app, client, db) -> None:
    await page_login(client, "xbl01-director")
    token = await csrf(client)
    other = (await estate_ids_of(db, "XX01"))[0]
    photo, before = jpeg(), await count(db, Attachment)
    refused = await client.post(
        f"/committee/estates/{other}/veto",
        data={"month": THIS_MONTH, "reason": "gate_unattended", "explanation": "连续三晚门岗无人值守，居民反映强烈", "_csrf_token": token},
        files={"photo": ("gate.jpg", photo, "image/jpeg")},
    )
    assert refused.status_code == 404 and "该记录不存在，或不在您的管辖范围内" in refused.text
    await nothing_stored(app, db, photo, before)


async def test_a_veto_refused_for_a_month_not_begun_keeps_no_photo(app, client, db) -> None:
    await page_login(client, "xbl01-director")
    token = await csrf(client)
    estate = (await estate_ids_of(db, "XBL01"))[0]
    photo, before = jpeg(), await count(db, Attachment)
    refused = await client.post(
        f"/committee/estates/{estate}/veto",
        data={"month": str(Month.of(business_today()).next().next()), "reason": "gate_unattended", "explanation": "连续三晚门岗无人值守，居民反映强烈", "_csrf_token": token},
        files={"photo": ("gate.jpg", photo, "image/jpeg")},
    )
    assert refused.status_code == 422 and "尚未开始" in refused.text
    await nothing_stored(app, db, photo, before)
    # The same form for this month is accepted, and then the photo is kept with the veto.
    accepted = await client.post(
        f"/committee/estates/{estate}/veto",
        data={"month": THIS_MONTH, "reason": "gate_unattended", "explanation": "连续三晚门岗无人值守，居民反映强烈", "_csrf_token": token},
        files={"photo": ("gate.jpg", photo, "image/jpeg")},
    )
    assert accepted.status_code == 200 and "待审核" in accepted.text
    assert blob_kept(app, photo) and await count(db, Attachment) == before + 1


async def test_a_refused_fix_report_keeps_no_photo(app, client, as_user, db) -> None:
    defect_id, estate, _ = await patrol_defect(client, as_user, db)
    company_id, company_user = await company_user_of(db, estate)

    await page_login(client, await other_company_user(db, company_id))
    token = await csrf(client)
    photo, before = jpeg(), await count(db, Attachment)
    refused = await client.post(f"/defects/{defect_id}/fix", data={"note": "已整改", "_csrf_token": token}, files={"photo": ("fix.jpg", photo, "image/jpeg")})
    assert refused.status_code == 404
    await nothing_stored(app, db, photo, before)

    await page_login(client, company_user)
    token = await csrf(client)
    refused = await client.post(f"/defects/{defect_id}/fix", data={"note": "", "_csrf_token": token}, files={"photo": ("fix.jpg", photo, "image/jpeg")})
    assert refused.status_code == 422 and "请写明整改情况" in refused.text
    await nothing_stored(app, db, photo, before)
    reported = await client.post(f"/defects/{defect_id}/fix", data={"note": "已清运", "_csrf_token": token}, files={"photo": ("fix.jpg", photo, "image/jpeg")})
    assert reported.status_code == 200 and blob_kept(app, photo) and await count(db, Attachment) == before + 1
    again = jpeg()
    refused = await client.post(f"/defects/{defect_id}/fix", data={"note": "再报一次", "_csrf_token": token}, files={"photo": ("fix2.jpg", again, "image/jpeg")})
    assert refused.status_code == 409 and "不是待整改状态" in refused.text
    await nothing_stored(app, db, again, before + 1)


# 8. Every API key owns its uploads


async def organisation_key(client, admin, kind: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    body = "52120101" + uuid.uuid4().hex[:9].upper()
    organisation = {"name": f"测试组织{uuid.uuid4().hex[:6]}", "kind": kind, "credit_code": body + credit_code_check_char(body)}
    if kind == "social_org":  # a social organisation says how it exists in law
        organisation["standing"] = "registered"
    created = await client.post("/api/registry/organisations", json=organisation, headers=admin)
    assert created.status_code == 201, created.text
    issued = await client.post("/api/api-keys", json={"organisation_id": created.json()["id"], "label": "software"}, headers=admin)
    assert issued.status_code == 201, issued.text
    return {"X-API-Key": issued.json()["key"]}


async def test_each_social_organisations_key_owns_its_uploads(client, as_user, db) -> None:
    admin = await as_user("admin")
    first, second = await organisation_key(client, admin, "social_org"), await organisation_key(client, admin, "social_org")
    content = jpeg()
    photo = await upload(client, first, content)
    assert (await client.get(f"/api/attachments/{photo}", headers=first)).content == content
    assert_problem(await client.get(f"/api/attachments/{photo}", headers=second), 404)
    assert_problem(await client.get(f"/api/attachments/{photo}/info", headers=second), 404)
    # The same photo sent with the other key is that key's own attachment.
    assert await upload(client, second, content) != photo
    async with db() as session:
        owners = set((await session.execute(select(Attachment.owner).where(Attachment.sha256 == hashlib.sha256(content).hexdigest()))).scalars())
    assert len(owners) == 2 and not any(o.startswith("user:") for o in owners)
    # Keys act for no user: they file nothing, read no assignment and no record of anyone's.
    estate = (await estate_ids_of(db, "XBL01"))[0]
    assert_problem(await client.post("/api/spot-checks", json=record_body(estate, failed={"C01": [photo]}, passed=()), headers=first), 403)
    assert_problem(await client.get("/api/spot-checks/assignments", headers=first), 403)
    assert (await client.get("/api/inspections", headers=first)).json()["total"] == 0


async def test_a_firms_photos_stay_with_the_firm(client, as_user, db) -> None:
    admin = await as_user("admin")
    firm_key, other_firm_key = await organisation_key(client, admin, "inspection_firm"), await organisation_key(client, admin, "inspection_firm")
    social_key = await organisation_key(client, admin, "social_org")
    photo = await upload(client, firm_key)
    for outsider in (other_firm_key, social_key, await as_user("inspector1"), await as_user("xbl01-worker")):
        assert_problem(await client.get(f"/api/attachments/{photo}", headers=outsider), 404)


# 9. Whoever decides a case sees all of its evidence


async def test_the_street_and_the_administrator_open_the_photos_of_a_directors_veto(client, as_user, db) -> None:
    director = await as_user("xbl01-director")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    photo = await upload(client, director)
    cast = await client.post(
        "/api/assessment/vetoes",
        json={"estate_id": estate, "month": THIS_MONTH, "reason": "gate_unattended", "explanation": "连续三晚门岗无人值守", "evidence_photo_ids": [photo]},
        headers=director,
    )
    assert cast.status_code == 201, cast.text
    veto_id = cast.json()["id"]
    _, company_user = await company_user_of(db, estate)
    for reader in ("xbl-officer", "admin", company_user):
        headers = await as_user(reader)
        veto = (await client.get(f"/api/assessment/vetoes/{veto_id}", headers=headers)).json()
        assert veto["evidence"] == [{"attachment_id": photo, "shown_on": "veto", "url": f"/api/attachments/{photo}", "page_url": f"/photos/{photo}"}]
        shown = await client.get(veto["evidence"][0]["url"], headers=headers)
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg", reader
    for outsider in ("ns-officer", "xbl02-director", "inspector1", await other_company_user(db, (await company_user_of(db, estate))[0])):
        assert_problem(await client.get(f"/api/attachments/{photo}", headers=await as_user(outsider)), 404)

    await page_login(client, "xbl-officer")
    desk = await client.get("/assessment/vetoes")
    assert f'src="/photos/{photo}"' in desk.text and "否决证据照片" in desk.text
    assert (await client.get(f"/photos/{photo}")).status_code == 200
    await page_login(client, "ns-officer")
    assert (await client.get(f"/photos/{photo}")).status_code == 404


async def test_an_automatic_veto_links_its_defect_the_record_that_found_it_and_their_photos(client, as_user, db) -> None:
    specialist = await as_user("xbl-worker1")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    finding = await upload(client, specialist)
    filed = await client.post("/api/street-inspections", json=record_body(estate, failed={"M03": [finding]}, passed=()), headers=specialist)
    assert filed.status_code == 201, filed.text
    record_id, [defect_id] = filed.json()["id"], filed.json()["defect_ids"]
    _, company_user = await company_user_of(db, estate)
    company = await as_user(company_user)
    fix = await upload(client, company)
    assert (await client.post(f"/api/defects/{defect_id}/fix", json={"note": "台账已补齐", "photo_ids": [fix]}, headers=company)).status_code == 200
    officer = await principal(db, "xbl-officer")
    async with unit_of_work(db) as session:
        [veto] = await service.open_automatic_vetoes(session, officer, officer.street_id, Month.parse(THIS_MONTH))
        await session.commit()

    headers = await as_user("xbl-officer")
    out = (await client.get(f"/api/assessment/vetoes/{veto.id}", headers=headers)).json()
    assert out["automatic"] and out["source_defect"]["defect_id"] == defect_id
    assert out["source_defect"]["url"] == f"/api/defects/{defect_id}" and out["source_defect"]["record_url"] == f"/api/inspections/{record_id}"
    assert [(e["attachment_id"], e["shown_on"]) for e in out["evidence"]] == [(finding, "finding"), (fix, "fix")]
    for e in out["evidence"]:
        assert (await client.get(e["url"], headers=await as_user("admin"))).status_code == 200
    await page_login(client, "xbl-officer")
    desk = await client.get("/assessment/vetoes")
    assert f'href="/defects/{defect_id}"' in desk.text and f'href="/records/{record_id}"' in desk.text
    assert f'src="/photos/{finding}"' in desk.text and f'src="/photos/{fix}"' in desk.text
    assert (await client.get(f"/photos/{fix}")).status_code == 200


async def test_the_street_answering_an_appeal_sees_what_the_company_attached_and_the_contested_finding(app, client, as_user, db) -> None:
    defect_id, estate, finding = await patrol_defect(client, as_user, db, "C02")
    company_id, company_user = await company_user_of(db, estate)
    company = await as_user(company_user)
    fix = await upload(client, company)
    assert (await client.post(f"/api/defects/{defect_id}/fix", json={"note": "已清理", "photo_ids": [fix]}, headers=company)).status_code == 200
    officer = await as_user("xbl-officer")
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    computed = await client.post(f"/api/assessment/months/{street}/{LAST_MONTH}/compute", headers=officer)
    assert computed.status_code in (200, 201), computed.text

    form = {"estate_id": str(estate), "month": LAST_MONTH, "reason": "该问题当天已整改完毕，见照片", "defect_id": str(defect_id)}
    stranger = await other_company_user(db, company_id)
    await page_login(client, stranger)
    photo, before = jpeg(), await count(db, Attachment)
    refused = await client.post("/assessment/appeals", data=form | {"_csrf_token": await csrf(client)}, files={"photo": ("proof.jpg", photo, "image/jpeg")})
    assert refused.status_code == 404
    await nothing_stored(app, db, photo, before)
    await page_login(client, company_user)
    filed = await client.post("/assessment/appeals", data=form | {"_csrf_token": await csrf(client)}, files={"photo": ("proof.jpg", photo, "image/jpeg")})
    assert filed.status_code == 200, filed.text
    assert blob_kept(app, photo) and await count(db, Attachment) == before + 1

    out = (await client.get("/api/assessment/appeals", headers=officer)).json()["items"]
    [row] = [a for a in out if a["defect_id"] == defect_id]
    [attached] = row["evidence_photo_ids"]
    assert row["defect"]["defect_id"] == defect_id and row["defect"]["record_page_url"].startswith("/records/")
    assert [(p["attachment_id"], p["shown_on"]) for p in row["evidence"]] == [(attached, "appeal"), (finding, "finding"), (fix, "fix")]
    assert (await client.get(f"/api/attachments/{attached}", headers=officer)).content == photo
    await page_login(client, "xbl-officer")
    desk = await client.get("/assessment/appeals")
    for shown in (attached, finding, fix):
        assert f'src="/photos/{shown}"' in desk.text
    assert "申诉证据照片" in desk.text and (await client.get(f"/photos/{attached}")).status_code == 200
    for outsider in (stranger, "ns-officer", "xbl02-director"):
        assert_problem(await client.get(f"/api/attachments/{attached}", headers=await as_user(outsider)), 404)


async def test_whoever_verifies_a_fix_opens_its_photos(client, as_user, db) -> None:
    defect_id, estate, _ = await patrol_defect(client, as_user, db, "C03")
    _, company_user = await company_user_of(db, estate)
    company = await as_user(company_user)
    fix = await upload(client, company)
    assert (await client.post(f"/api/defects/{defect_id}/fix", json={"note": "已修复", "photo_ids": [fix]}, headers=company)).status_code == 200
    for verifier in ("xbl01-worker", "xbl-worker1", "xbl-officer", "admin"):
        assert (await client.get(f"/api/attachments/{fix}", headers=await as_user(verifier))).status_code == 200, verifier
    await page_login(client, "xbl01-worker")
    order = await client.get(f"/defects/{defect_id}")
    assert f'src="/photos/{fix}"' in order.text and (await client.get(f"/photos/{fix}")).status_code == 200


async def test_the_appeal_page_holds_an_appeal_to_the_apis_limits_and_refuses_numbers_out_of_range(app, client, as_user, db) -> None:
    """The page is a second door to the same rule: a reason the API refuses as too short is refused here too, in
    Chinese beside the field, with nothing stored; an estate or finding number no record can have is no fault."""
    from assessment.tables import Appeal

    defect_id, estate, _ = await patrol_defect(client, as_user, db, "C02")
    _, company_user = await company_user_of(db, estate)
    officer = await as_user("xbl-officer")
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    assert (await client.post(f"/api/assessment/months/{street}/{LAST_MONTH}/compute", headers=officer)).status_code in (200, 201)
    await page_login(client, company_user)
    token = await csrf(client)
    form = {"estate_id": str(estate), "month": LAST_MONTH, "defect_id": str(defect_id), "_csrf_token": token}
    photo, attachments, appeals = jpeg(), await count(db, Attachment), await count(db, Appeal)
    short = await client.post("/assessment/appeals", data=form | {"reason": "错了"}, files={"photo": ("proof.jpg", photo, "image/jpeg")})
    assert short.status_code == 422 and "至少 5 个字" in short.text
    await nothing_stored(app, db, photo, attachments)
    huge_estate = await client.post("/assessment/appeals", data=form | {"reason": "该问题当天已整改完毕", "estate_id": "9" * 20})
    assert huge_estate.status_code == 400 and "超出范围" in huge_estate.text
    huge_finding = await client.post("/assessment/appeals", data=form | {"reason": "该问题当天已整改完毕", "defect_id": "9" * 20})
    assert huge_finding.status_code == 422 and "数值须不大于" in huge_finding.text
    assert await count(db, Appeal) == appeals


async def test_a_volunteer_and_the_care_worker_read_no_patrol_evidence_of_their_own_community(client, as_user, db) -> None:
    """Scoped to the community like its staff, but no part of the estates' supervision: no record (with the worker's
    name), no order and no finding photo, by the API or the pages."""
    defect_id, _, photo = await patrol_defect(client, as_user, db)
    record_id = (await client.get(f"/api/defects/{defect_id}", headers=await as_user("xbl01-worker"))).json()["record_id"]
    for username in ("xbl01-vol1", "xbl01-care"):
        headers = await as_user(username)
        listed = await client.get("/api/inspections", headers=headers)
        assert listed.status_code in (200, 403) and (listed.status_code == 403 or listed.json()["items"] == []), username
        for path in (f"/api/inspections/{record_id}", f"/api/defects/{defect_id}", f"/api/attachments/{photo}"):
            assert (await client.get(path, headers=headers)).status_code in (403, 404), (username, path)
        await page_login(client, username)
        for path in (f"/records/{record_id}", f"/photos/{photo}"):
            assert (await client.get(path)).status_code in (403, 404), (username, path)
