"""Elderly home care's pages, a second door to the same services: the social worker's desk (who was served this
month and who not, enrolment with the refusal in Chinese beside the field and the ID number never echoed), the
provider's phone page and its outbox (a visit sent twice is stored once; CSRF needed), redemption, and the runs page
where each street confirms and finance approves and issues the batch."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from foundation.clock import business_today
from foundation.errors import Unavailable
from foundation.periods import Month
from subsidies.care.tables import CareElder, CareVisit, CareVoucher
from subsidies.engine.tables import ProgrammeBatch
from tests.integration.helpers import count
from tests.integration.test_care import enrolment, id_number
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf

THIS = Month.of(business_today())


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/care", {"xbl01-care"}), ("/care/visits", {"xbl-care"}), ("/care/runs", {"finance", "xbl-officer", "admin"})],
)
async def test_each_care_page_opens_for_its_roles_only(client, path, allowed) -> None:  # type: ignore[no-untyped-def]
    for username in ("xbl01-care", "xbl-care", "finance", "xbl-officer", "xbl01-worker", "company01"):
        await page_login(client, username)
        answer = await client.get(path)
        assert answer.status_code == (200 if username in allowed else 403), (username, path, answer.status_code)
        await client.post("/logout", data={"_csrf_token": await csrf(client)})


async def test_the_social_workers_desk_shows_who_was_served_and_enrols_with_refusals_in_chinese(client, db) -> None:  # type: ignore[no-untyped-def]
    await page_login(client, "xbl01-care")
    desk = await client.get("/care")
    assert desk.status_code == 200 and "本月服务情况" in desk.text and "树德里" in desk.text
    assert 'data-served="no"' in desk.text and "✗ 未达标" in desk.text  # this month is young: some elders are not served yet
    last = await client.get(f"/care?month={THIS.previous()}")
    assert 'data-served="yes"' in last.text and "✓ 已兑付" in last.text
    provider = re.search(r'<option value="(\d+)"[^>]*>天津市和平区', desk.text)
    assert provider is not None
    form = {k: str(v) for k, v in enrolment(int(provider.group(1)), 31, birth=__import__("datetime").date(1970, 1, 1)).items()}
    elders = await count(db, CareElder)
    refused = await client.post("/care/enrol", data={**form, "_csrf_token": await csrf(client)})
    assert refused.status_code == 422 and "须年满 60 周岁" in refused.text and 'value="树德里3号楼2门201室"' in refused.text
    assert form["id_number"] not in refused.text and await count(db, CareElder) == elders
    good = {k: str(v) for k, v in enrolment(int(provider.group(1)), 32).items()}
    assert (await client.post("/care/enrol", data=good)).status_code == 403  # no CSRF token
    enrolled = await client.post("/care/enrol", data={**good, "_csrf_token": await csrf(client)})
    assert enrolled.status_code == 200 and "张桂兰" in enrolled.text and good["id_number"] not in enrolled.text
    assert await count(db, CareElder) == elders + 1


async def test_the_providers_phone_page_stores_a_visit_sent_twice_once_and_redeems_at_the_minimum(client, db) -> None:  # type: ignore[no-untyped-def]
    await page_login(client, "xbl01-care")
    desk = await client.get("/care")
    provider = int(re.search(r'<option value="(\d+)"[^>]*>天津市和平区', desk.text).group(1))  # type: ignore[union-attr]
    await client.post("/care/enrol", data={**{k: str(v) for k, v in enrolment(provider, 41).items()}, "_csrf_token": await csrf(client)})
    async with db() as session:
        elder_id, code = (await session.execute(select(CareVoucher.elder_id, CareVoucher.code).join(CareElder, CareElder.id == CareVoucher.elder_id).where(CareElder.id_number_tail == id_number(__import__("datetime").date(1946, 3, 8), 41)[-4:], CareVoucher.month == str(THIS)))).one()
    await client.post("/logout", data={"_csrf_token": await csrf(client)})
    await page_login(client, "xbl-care")
    phone = await client.get("/care/visits")
    assert phone.status_code == 200 and 'class="phone"' in phone.text and "/static/care-visits.js" in phone.text
    assert f'data-elder-id="{elder_id}"' in phone.text, elder_id
    token = await csrf(client)
    body = {"client_id": "page-visit-0001", "elder_id": elder_id, "visit_date": business_today().isoformat(), "minutes": 120, "service": "cleaning", "confirmed_by": "elder"}
    assert (await client.post("/care/visits/records", json=body)).status_code == 403  # no CSRF token
    first = await client.post("/care/visits/records", json=body, headers={"x-csrftoken": token})
    again = await client.post("/care/visits/records", json=body, headers={"x-csrftoken": token})
    assert (first.status_code, again.status_code) == (201, 200) and again.json() == {"id": first.json()["id"], "replayed": True}
    assert await count(db, CareVisit, CareVisit.client_id == "page-visit-0001") == 1
    refused = await client.post("/care/visits/records", json={**body, "client_id": "page-visit-0002", "minutes": 5}, headers={"x-csrftoken": token})
    assert refused.status_code == 422 and refused.json()["field"] == "minutes" and "分钟" in refused.json()["message"]
    short = await client.post(f"/care/visits/vouchers/{code}/redeem", data={"_csrf_token": token})
    assert short.status_code == 422 and "本月最低服务量" in short.text
    for n in range(3):
        await client.post("/care/visits/records", json={**body, "client_id": f"page-visit-1{n:03d}"}, headers={"x-csrftoken": token})
    redeemed = await client.post(f"/care/visits/vouchers/{code}/redeem", data={"_csrf_token": token})
    assert redeemed.status_code == 200 and "已兑付" in redeemed.text
    async with db() as session:
        assert (await session.execute(select(func.count()).select_from(CareVoucher).where(CareVoucher.code == code, CareVoucher.redeemed_at.is_not(None)))).scalar_one() == 1
    month_end = await client.post("/care/visits/redeem-month", data={"_csrf_token": await csrf(client)})
    assert month_end.status_code == 200 and "已兑付" in month_end.text


async def test_the_runs_page_lets_each_street_confirm_and_finance_approve_and_issue(client) -> None:  # type: ignore[no-untyped-def]
    await page_login(client, "finance")
    runs = await client.get("/care/runs")
    assert runs.status_code == 200 and "已签发拨付批次" in runs.text and "草稿" in runs.text and "汇总表 PDF" in runs.text
    draft = re.search(r'<tr id="run-(\d+)">\s*<td>#\d+</td>\s*<td>[^<]+</td>\s*<td>草稿', runs.text)
    assert draft is not None
    run_id = draft.group(1)
    early = await client.post(f"/care/runs/{run_id}/approvals/approve", data={"_csrf_token": await csrf(client)})
    assert early.status_code == 409 and "当前状态下不能进行" in early.text
    await client.post("/logout", data={"_csrf_token": await csrf(client)})
    for street in ("ns", "qyc", "nym", "xbl", "wdd", "xx"):
        await page_login(client, f"{street}-officer")
        confirmed = await client.post(f"/care/runs/{run_id}/approvals/confirm", data={"_csrf_token": await csrf(client)})
        assert confirmed.status_code == 200, confirmed.text
        await client.post("/logout", data={"_csrf_token": await csrf(client)})
    # finance started the demo's run: finance2 approves it (separation of duties), then finance issues its batch.
    await page_login(client, "finance")
    own = await client.post(f"/care/runs/{run_id}/approvals/approve", data={"_csrf_token": await csrf(client)})
    assert own.status_code == 403 and "职责分离" in own.text
    await client.post("/logout", data={"_csrf_token": await csrf(client)})
    await page_login(client, "finance2")
    assert (await client.post(f"/care/runs/{run_id}/approvals/approve", data={"_csrf_token": await csrf(client)})).status_code == 200
    await client.post("/logout", data={"_csrf_token": await csrf(client)})
    await page_login(client, "finance")
    issued = await client.post(f"/care/runs/{run_id}/batch", data={"_csrf_token": await csrf(client)})
    assert issued.status_code == 200 and f"JJYL-{THIS.previous()}-001" in issued.text
    link = re.search(r'href="(/documents/programmes/batches/\d+/summary.pdf)"', issued.text.split(f"JJYL-{THIS.previous()}-001")[1])
    assert link is not None
    pdf = await client.get(link.group(1))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"


async def test_a_batch_refused_half_way_is_not_shown_as_issued_on_the_page_that_says_so(app, client, db) -> None:  # type: ignore[no-untyped-def]
    """Issuing writes the batch, then makes its documents: when that second step is refused, the page shown again
    reads the run as it stands (approved, no batch), not the batch the refusal undoes."""
    await page_login(client, "finance")
    runs = await client.get("/care/runs")
    draft = re.search(r'<tr id="run-(\d+)">\s*<td>#\d+</td>\s*<td>[^<]+</td>\s*<td>草稿', runs.text)
    assert draft is not None
    run_id = int(draft.group(1))
    await client.post("/logout", data={"_csrf_token": await csrf(client)})
    for street in ("ns", "qyc", "nym", "xbl", "wdd", "xx"):
        await page_login(client, f"{street}-officer")
        await client.post(f"/care/runs/{run_id}/approvals/confirm", data={"_csrf_token": await csrf(client)})
        await client.post("/logout", data={"_csrf_token": await csrf(client)})
    await page_login(client, "finance2")
    assert (await client.post(f"/care/runs/{run_id}/approvals/approve", data={"_csrf_token": await csrf(client)})).status_code == 200
    await client.post("/logout", data={"_csrf_token": await csrf(client)})
    await page_login(client, "finance")
    batches = await count(db, ProgrammeBatch)

    async def refused_documents(*_: object) -> None:
        raise Unavailable("the document store does not answer", zh="文件存储暂不可用，请稍后再试")

    made = app.state.make_programme_batch_documents
    app.state.make_programme_batch_documents = refused_documents
    try:
        refused = await client.post(f"/care/runs/{run_id}/batch", data={"_csrf_token": await csrf(client)})
    finally:
        app.state.make_programme_batch_documents = made
    assert refused.status_code == 503 and "文件存储暂不可用" in refused.text
    row = re.search(rf'<tr id="run-{run_id}">(.*?)</tr>', refused.text, re.S)
    assert row is not None and "已审批" in row.group(1) and "已签发拨付批次" not in row.group(1) and "JJYL-" not in row.group(1), row.group(1) if row else refused.text
    assert await count(db, ProgrammeBatch) == batches
    issued = await client.post(f"/care/runs/{run_id}/batch", data={"_csrf_token": await csrf(client)})
    assert issued.status_code == 200 and f"JJYL-{THIS.previous()}-001" in issued.text


async def test_the_demos_paid_batch_has_its_documents_and_making_them_again_from_the_runs_page_keeps_them(client, db) -> None:  # type: ignore[no-untyped-def]
    from subsidies.engine.tables import ProgrammeBatch, ProgrammeRun

    async with db() as session:
        run_id, batch_id = (
            await session.execute(select(ProgrammeRun.id, ProgrammeBatch.id).join(ProgrammeBatch, ProgrammeBatch.run_id == ProgrammeRun.id).where(ProgrammeRun.programme == "care"))
        ).one()
    await page_login(client, "finance")
    # The demo loader issues its batch as finance does: with its documents, downloadable at once.
    issued = await client.get(f"/documents/programmes/batches/{batch_id}/summary.pdf")
    assert issued.status_code == 200 and issued.headers["content-type"] == "application/pdf", issued.text
    made = await client.post(f"/care/runs/{run_id}/documents", data={"_csrf_token": await csrf(client)})
    assert made.status_code == 200, made.text
    pdf = await client.get(f"/documents/programmes/batches/{batch_id}/summary.pdf")
    assert pdf.status_code == 200 and pdf.content == issued.content  # those made stay as they are
    await client.post("/logout", data={"_csrf_token": await csrf(client)})
    await page_login(client, "xbl-care")
    assert (await client.post(f"/care/runs/{run_id}/documents", data={"_csrf_token": await csrf(client)})).status_code == 403
