"""Elderly home care through the API, on the demo district (a provider per street, an elderly-care social worker per
community, elders enrolled two months ago with their visits, the month before last paid, last month's run drafted):
enrolment and its refusals, the ID number readable only by the community's social worker, visits sent again by an
offline phone stored once, each reason a voucher is not redeemed, the month's run paying each voucher once, the jobs."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from foundation.clock import BUSINESS_TZ, business_today, utc_now
from foundation.notifications import Notification
from foundation.periods import Month
from subsidies.care import jobs, rules
from subsidies.care.tables import CareElder, CareEnrolment, CareVisit, CareVoucher
from subsidies.engine.tables import PaidLine, ProgrammeRun
from tests.integration.helpers import assert_problem, count

THIS = Month.of(business_today())
LAST = THIS.previous()
BEFORE_LAST = LAST.previous()


def id_number(birth: date, order: int) -> str:
    first17 = f"120102{birth:%Y%m%d}{order:03d}"  # another district's code than the demo's elders
    return first17 + rules.id_check_char(first17)


async def me(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    return dict((await client.get("/api/auth/me", headers=headers)).json())


async def provider_of(client: Any, as_user: Any, username: str = "xbl-care") -> tuple[dict[str, str], int]:
    headers = await as_user(username)
    return headers, int((await me(client, headers))["organisation_id"])


def enrolment(provider: int, order: int = 1, **changes: Any) -> dict[str, Any]:
    birth = changes.pop("birth", date(1946, 3, 8))
    body = {
        "name": "张桂兰", "sex": "F", "birth_date": birth.isoformat(), "address": "树德里3号楼2门201室", "phone": "13912345678", "category": "dibao",
        "id_number": id_number(birth, order), "provider_id": provider, "starts_on": business_today().isoformat(), "consent_by": "elder", "consent_on": business_today().isoformat(),
    }
    body.update(changes)
    return body


def visit(elder_id: int, client_id: str, minutes: int = 60, day: date | None = None, **changes: Any) -> dict[str, Any]:
    return {"client_id": client_id, "elder_id": elder_id, "visit_date": (day or business_today()).isoformat(), "minutes": minutes, "service": "meal", "confirmed_by": "family", **changes}


async def enrolled(client: Any, as_user: Any, order: int = 1) -> tuple[int, str]:
    """A new elder of 树德里 enrolled today with 小白楼's provider: (elder id, this month's voucher code)."""
    _, provider_id = await provider_of(client, as_user)
    answer = await client.post("/api/care/enrolments", json=enrolment(provider_id, order), headers=await as_user("xbl01-care"))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return body["elder"]["id"], body["voucher_code"]


async def test_a_social_worker_enrols_an_elder_whose_id_number_is_sealed_and_shown_only_to_them(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    _, provider_id = await provider_of(client, as_user)
    body = enrolment(provider_id)
    answer = await client.post("/api/care/enrolments", json=body, headers=await as_user("xbl01-care"))
    assert answer.status_code == 201, answer.text
    out = answer.json()
    number = body["id_number"]
    assert out["elder"]["id_number"] == "*" * 14 + number[-4:] and number not in answer.text
    assert out["voucher_code"].startswith(f"YL{THIS.year:04d}{THIS.month:02d}-")
    elder_id = out["elder"]["id"]
    async with db() as session:
        row = await session.get_one(CareElder, elder_id)
        assert number not in row.id_number_sealed and number not in row.id_number_digest
        audit = [json.dumps(e.after, ensure_ascii=False) + (e.reason or "") for e in (await session.execute(select(AuditEntry).where(AuditEntry.entity.like("care_%")))).scalars()]
    assert audit and not any(number in entry or "张桂兰" in entry for entry in audit)

    # The community's elderly-care social worker reads it on purpose (audited); nobody else can.
    full = await client.post(f"/api/care/elders/{elder_id}/id-number", headers=await as_user("xbl01-care"))
    assert full.status_code == 200 and full.json()["id_number"] == number
    assert await count(db, AuditEntry, AuditEntry.action == "care_elder.id_number_read") == 1
    assert_problem(await client.post(f"/api/care/elders/{elder_id}/id-number", headers=await as_user("xbl02-care")), 404)
    for other in ("xbl-care", "xbl01-director", "xbl01-worker", "admin", "finance", "xbl-officer"):
        refused = await client.post(f"/api/care/elders/{elder_id}/id-number", headers=await as_user(other))
        assert refused.status_code == 403 and number not in refused.text, other
    # The provider sees the elder it serves, masked; the street sees the voucher with the name masked.
    served = (await client.get("/api/care/elders", headers=await as_user("xbl-care"))).json()
    mine = next(e for e in served if e["id"] == elder_id)
    assert mine["name"] == "张桂兰" and mine["id_number"] == out["elder"]["id_number"]
    street = (await client.get(f"/api/care/months/{THIS}/vouchers", headers=await as_user("xbl-officer"))).json()
    assert next(v for v in street if v["elder_id"] == elder_id)["elder_name"] == "张*兰" and number not in json.dumps(street)


@pytest.mark.parametrize(
    ("changes", "status", "fragment"),
    [
        ({"birth": date(1970, 5, 5)}, 422, "enrolment is from 60"),
        ({"category": "aged80", "birth": date(1950, 5, 5)}, 422, "from 80"),
        ({"category": "wealthy"}, 422, "category"),
        ({"birth_date": "1946-03-09"}, 422, "birth date differs"),
        ({"id_number": "120102194603080011"}, 422, "ID number is not valid"),
        ({"starts_on": (business_today() - timedelta(days=40)).isoformat()}, 422, "starts this month"),
        ({"consent_on": (business_today() + timedelta(days=1)).isoformat()}, 422, "consent"),
        ({"sex": "X"}, 400, ""),
        ({"phone": "call me"}, 400, ""),
        ({"provider_id": "1"}, 400, ""),
        ({"extra": "field"}, 400, ""),
    ],
)
async def test_an_enrolment_the_rules_or_the_shape_refuse_stores_nothing(client, as_user, db, changes, status, fragment) -> None:  # type: ignore[no-untyped-def]
    _, provider_id = await provider_of(client, as_user)
    elders, enrolments = await count(db, CareElder), await count(db, CareEnrolment)
    answer = await client.post("/api/care/enrolments", json=enrolment(provider_id, **changes), headers=await as_user("xbl01-care"))
    assert_problem(answer, status, fragment)
    assert (await count(db, CareElder), await count(db, CareEnrolment)) == (elders, enrolments)


async def test_enrolment_is_the_community_social_workers_with_a_provider_under_contract_for_the_street(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    _, provider_id = await provider_of(client, as_user)
    _, other_street_provider = await provider_of(client, as_user, "ns-care")
    for username in ("xbl01-worker", "xbl01-director", "xbl-care", "xbl-officer", "finance"):
        assert_problem(await client.post("/api/care/enrolments", json=enrolment(provider_id), headers=await as_user(username)), 403)
    assert_problem(await client.post("/api/care/enrolments", json=enrolment(other_street_provider), headers=await as_user("xbl01-care")), 422, "no contract")
    assert await count(db, CareElder, CareElder.id_number_digest != "") == await count(db, CareElder)
    # The same person twice: refused, in the same community or another.
    assert (await client.post("/api/care/enrolments", json=enrolment(provider_id, 7), headers=await as_user("xbl01-care"))).status_code == 201
    assert_problem(await client.post("/api/care/enrolments", json=enrolment(provider_id, 7), headers=await as_user("xbl01-care")), 409, "already enrolled")
    assert_problem(await client.post("/api/care/enrolments", json=enrolment(provider_id, 7), headers=await as_user("xbl02-care")), 409, "another community")


async def test_a_stopped_enrolment_takes_no_more_visits_and_is_stopped_once(client, as_user) -> None:  # type: ignore[no-untyped-def]
    elder_id, _ = await enrolled(client, as_user)
    listed = (await client.get("/api/care/enrolments", headers=await as_user("xbl01-care"))).json()
    enrolment_id = next(e["id"] for e in listed if e["elder"]["id"] == elder_id)
    stop = {"ends_on": business_today().isoformat(), "reason": "hospital"}
    assert_problem(await client.post(f"/api/care/enrolments/{enrolment_id}/stop", json=stop, headers=await as_user("xbl02-care")), 404)
    assert_problem(await client.post(f"/api/care/enrolments/{enrolment_id}/stop", json=stop, headers=await as_user("xbl-care")), 403)
    assert_problem(await client.post(f"/api/care/enrolments/{enrolment_id}/stop", json={**stop, "reason": "bored"}, headers=await as_user("xbl01-care")), 400)
    assert_problem(await client.post(f"/api/care/enrolments/{enrolment_id}/stop", json={**stop, "ends_on": (business_today() - timedelta(days=1)).isoformat()}, headers=await as_user("xbl01-care")), 422)
    stopped = await client.post(f"/api/care/enrolments/{enrolment_id}/stop", json=stop, headers=await as_user("xbl01-care"))
    assert stopped.status_code == 200 and stopped.json()["ends_on"] == business_today().isoformat() and stopped.json()["stop_reason"] == "hospital", stopped.text
    assert_problem(await client.post(f"/api/care/enrolments/{enrolment_id}/stop", json=stop, headers=await as_user("xbl01-care")), 409, "already stopped")
    provider, _ = await provider_of(client, as_user)
    if business_today() > THIS.first_day:  # the day before the stop is before the enrolment started, so only later days can show the refusal
        return
    tomorrow = visit(elder_id, "after-stop-0001", day=business_today() + timedelta(days=1))
    assert_problem(await client.post("/api/care/visits", json=tomorrow, headers=provider), 422)


async def test_an_offline_phone_sending_a_visit_again_stores_it_once(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    elder_id, _ = await enrolled(client, as_user)
    provider, _ = await provider_of(client, as_user)
    body = visit(elder_id, "phone-visit-0001")
    first = await client.post("/api/care/visits", json=body, headers=provider)
    again = await client.post("/api/care/visits", json=body, headers=provider)
    assert first.status_code == 201 and again.status_code == 200, (first.text, again.text)
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    assert await count(db, CareVisit, CareVisit.client_id == "phone-visit-0001") == 1
    # The same client id with other content is refused; a visit the rules refuse stores nothing.
    assert_problem(await client.post("/api/care/visits", json={**body, "minutes": 90}, headers=provider), 409, "other content")
    before = await count(db, CareVisit)
    assert_problem(await client.post("/api/care/visits", json=visit(elder_id, "phone-visit-0002", minutes=5), headers=provider), 422, "minutes")
    assert_problem(await client.post("/api/care/visits", json=visit(elder_id, "phone-visit-0003", day=business_today() + timedelta(days=1)), headers=provider), 422, "future")
    assert_problem(await client.post("/api/care/visits", json=visit(elder_id, "phone-visit-0004", service="massage"), headers=provider), 422, "service")
    assert_problem(await client.post("/api/care/visits", json=visit(elder_id, "phone-visit-0005", minutes="60"), headers=provider), 400)
    assert_problem(await client.post("/api/care/visits", json=visit(elder_id, "short"), headers=provider), 400)
    assert_problem(await client.post("/api/care/visits", json=visit(elder_id, "phone-visit-0006", confirmed_by="nobody"), headers=provider), 400)
    # Only the elder's own provider logs visits, and only providers do.
    assert_problem(await client.post("/api/care/visits", json=visit(elder_id, "phone-visit-0007"), headers=await as_user("ns-care")), 404)
    assert_problem(await client.post("/api/care/visits", json=visit(elder_id, "phone-visit-0008"), headers=await as_user("xbl01-care")), 403)
    assert await count(db, CareVisit) == before


async def test_a_voucher_is_redeemed_once_only_by_its_provider_only_with_the_minimum_only_in_its_month(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    elder_id, code = await enrolled(client, as_user)
    provider, _ = await provider_of(client, as_user)
    for n in range(3):
        assert (await client.post("/api/care/visits", json=visit(elder_id, f"redeem-visit-{n:04d}"), headers=provider)).status_code == 201
    short = assert_problem(await client.post(f"/api/care/vouchers/{code}/redeem", headers=provider), 422, "minimum service is 4 confirmed visits or 480 minutes", "logged 3 visits, 180 minutes")
    assert "3 次" in short["detail"] or short["status"] == 422
    assert (await client.post("/api/care/visits", json=visit(elder_id, "redeem-visit-0003"), headers=provider)).status_code == 201
    assert_problem(await client.post(f"/api/care/vouchers/{code}/redeem", headers=await as_user("ns-care")), 403, "own provider")
    assert_problem(await client.post(f"/api/care/vouchers/{code}/redeem", headers=await as_user("xbl01-care")), 403)
    redeemed = await client.post(f"/api/care/vouchers/{code}/redeem", headers=provider)
    assert redeemed.status_code == 200 and redeemed.json()["redeemed_at"] and redeemed.json()["visits"] == 4, redeemed.text
    assert_problem(await client.post(f"/api/care/vouchers/{code}/redeem", headers=provider), 409, "already redeemed")
    assert_problem(await client.post("/api/care/vouchers/YL200001-NOSUCHXX/redeem", headers=provider), 404)
    assert_problem(await client.post("/api/care/vouchers/not a code/redeem", headers=provider), 400)
    # Last month's voucher that never met its minimum expired with its month, whoever asks.
    async with db() as session:
        provider_id = int((await me(client, provider))["organisation_id"])
        lapsed = (
            await session.execute(select(CareVoucher.code).where(CareVoucher.month == str(LAST), CareVoucher.provider_id == provider_id, CareVoucher.redeemed_at.is_(None)).limit(1))
        ).scalar_one()
    assert_problem(await client.post(f"/api/care/vouchers/{lapsed}/redeem", headers=provider), 422, f"expired with {LAST}")
    month_end = (await client.post(f"/api/care/months/{LAST}/redeem", headers=provider)).json()
    assert month_end["redeemed"] == [] and lapsed in {r["code"] for r in month_end["refused"]} and all("过期" in r["reason"] for r in month_end["refused"])


async def test_the_month_run_pays_each_redeemed_voucher_once_to_its_provider(client, as_user, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    finance = await as_user("finance")
    async with db() as session:
        run_id = (await session.execute(select(ProgrammeRun.id).where(ProgrammeRun.programme == "care", ProgrammeRun.period == str(LAST)))).scalar_one()
        redeemed = (await session.execute(select(func.count()).select_from(CareVoucher).where(CareVoucher.month == str(LAST), CareVoucher.redeemed_at.is_not(None)))).scalar_one()
        streets = (await session.execute(select(func.count(func.distinct(CareVoucher.street_id))).where(CareVoucher.month == str(LAST), CareVoucher.redeemed_at.is_not(None)))).scalar_one()
    run = (await client.get(f"/api/programmes/care/runs/{run_id}", headers=finance)).json()
    assert run["state"] == "draft" and run["lines"] == redeemed and run["total_fen"] == redeemed * 30_000 and run["district_fen"] == run["total_fen"]
    lines = (await client.get(f"/api/programmes/care/runs/{run_id}/lines?page_size=200", headers=finance)).json()["items"]
    assert all(line["key"].startswith("care:YL") and line["payee"].startswith("organisation:") and line["beneficiary"].startswith("elder:") for line in lines)
    assert streets == 6
    # A street officer, who confirms the street's part, reads the street's lines only.
    officer = await as_user("ns-officer")
    street_id = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    own = (await client.get(f"/api/programmes/care/runs/{run_id}/lines?page_size=200", headers=officer)).json()
    assert own["total"] == sum(1 for line in lines if line["holder"] == f"street:{street_id}") > 0
    assert {line["holder"] for line in own["items"]} == {f"street:{street_id}"}
    for street in ("ns", "qyc", "nym", "xbl", "wdd", "xx"):
        confirmed = await client.post(f"/api/programmes/care/runs/{run_id}/approvals/confirm", headers=await as_user(f"{street}-officer"))
        assert confirmed.status_code == 200, confirmed.text
    # The demo's `finance` started the run: approving it is someone else's (finance2), and finance may not.
    assert_problem(await client.post(f"/api/programmes/care/runs/{run_id}/approvals/approve", headers=finance), 403)
    assert (await client.post(f"/api/programmes/care/runs/{run_id}/approvals/approve", headers=await as_user("finance2"))).status_code == 200
    batch = await client.post(f"/api/programmes/care/runs/{run_id}/batch", headers=finance)
    assert batch.status_code == 200 and batch.json()["total_fen"] == redeemed * 30_000, batch.text
    # The batch's documents cover every street and elder: finance's, not a street officer's (who read their lines).
    for document in ("summary.pdf", "lines.xlsx"):
        assert_problem(await client.get(f"/api/programmes/batches/{batch.json()['id']}/{document}", headers=officer), 403)
    summary = await client.get(f"/api/programmes/batches/{batch.json()['id']}/summary.pdf", headers=finance)
    assert summary.status_code == 200 and summary.headers["content-type"] == "application/pdf"
    from tests.integration.test_programme_engine import pdf_text

    text = pdf_text(summary.content, tmp_path)
    assert "居家养老服务券拨付汇总表" in text and "居家养老服务中心" in text and "街道确认" in text
    async with db() as session:
        names = list((await session.execute(select(CareElder.name).limit(50))).scalars())
    # No ID number (18 characters, not inside the hexadecimal checksums the documents print); elders masked.
    assert not re.search(r"(?<![0-9a-fA-F])\d{17}[\dX](?![0-9a-fA-F])", text) and not any(name in text for name in names)
    # Each voucher once, ever: a supplementary run of either paid month has nothing left to pay.
    for month in (LAST, BEFORE_LAST):
        again = await client.post("/api/programmes/care/runs", json={"period": str(month), "supplementary": True}, headers=finance)
        assert_problem(again, 422, "nothing of")
    assert await count(db, PaidLine, PaidLine.programme == "care", PaidLine.line_key.like(f"care:YL{LAST.year:04d}{LAST.month:02d}-%")) == redeemed
    # This month is not over: no run yet.
    assert_problem(await client.post("/api/programmes/care/runs", json={"period": str(THIS)}, headers=finance), 422, "has not ended")


async def test_the_jobs_issue_vouchers_once_remind_once_and_draft_the_run_once(app, db) -> None:  # type: ignore[no-untyped-def]
    now = utc_now()
    async with db() as session:
        enrolled_now = (await session.execute(select(func.count()).select_from(CareEnrolment).where(CareEnrolment.ends_on.is_(None)))).scalar_one()
        next_month = THIS.next()
        first = await jobs.issue_month_vouchers(session, str(next_month), now)
        second = await jobs.issue_month_vouchers(session, str(next_month), now)
        assert first == {"issued": enrolled_now} and second == {"issued": 0}
        codes = list((await session.execute(select(CareVoucher.code).where(CareVoucher.month == str(next_month)))).scalars())
        assert len(codes) == len(set(codes)) == enrolled_now
        reminded = await jobs.remind_unserved(session, str(THIS), now)
        await session.flush()
        again = await jobs.remind_unserved(session, str(THIS), now)
        assert reminded["elders_short"] > 0 and reminded["notified"] > 0 and again["notified"] == 0
        notices = (await session.execute(select(func.count()).select_from(Notification).where(Notification.key.like(f"care-remind|{THIS}|%")))).scalar_one()
        assert notices == reminded["notified"]
        assert await jobs.draft_month_run(session, str(LAST), now) == {"already_started": True}
        await session.rollback()
    reminder = next(j for j in jobs.JOBS if j.name == "care.remind_unserved")
    day = datetime(THIS.year, THIS.month, 19, 12, tzinfo=BUSINESS_TZ)
    assert not reminder.due(str(THIS), day) and reminder.due(str(THIS), day + timedelta(days=1)) and not reminder.due(str(LAST), day)
