"""The residents' satisfaction survey through the QR route: the committee prints one-time codes, residents answer on
the phone page without an account, once per code, and enough answers become the estate-month's satisfaction figure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import select

from assessment import service as assessment_service
from complaints import survey
from complaints.rules import normalised_survey_code
from complaints.service import complaint_rules
from complaints.tables import SurveyAnswer, SurveyCode
from foundation.clock import business_today
from foundation.db import unit_of_work
from foundation.periods import Month
from registry.tables import Estate
from tests.integration.evidence import principal
from tests.integration.helpers import count
from tests.integration.test_complaints import resident, worker_estate
from tests.integration.test_pages import page_login


async def answer(phone: httpx.AsyncClient, estate_code: str, code: str, rating: str = "satisfied") -> httpx.Response:
    form = await phone.get(f"/survey/{estate_code}")
    assert form.status_code == 200 and "满意度调查" in form.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    return await phone.post(f"/survey/{estate_code}", data={"_csrf_token": token, "code": code, "rating": rating, "comment": ""})


async def issue(db: Any, username: str, estate_id: int, month: Month, n: int) -> list[str]:
    async with unit_of_work(db) as session:
        return (await survey.issue_codes(session, await principal(db, username), estate_id, month, n)).codes


async def test_residents_answers_with_printed_codes_become_the_estates_satisfaction_figure(app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient, as_user: Any) -> None:
    estate_id, estate_code = await worker_estate(db)
    month = Month.of(business_today())
    enough = complaint_rules().survey.min_households
    # The committee director prints a batch on the page; only the codes' digests are kept.
    await page_login(client, "xbl01-director")
    form = await client.get("/survey-codes")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    printed = await client.post("/survey-codes", data={"_csrf_token": token, "estate_id": str(estate_id), "month": str(month), "count": str(enough + 2)})
    assert printed.status_code == 200, printed.text
    codes = re.findall(r'<strong class="code">([A-Z0-9]{5}-[A-Z0-9]{5})</strong>', printed.text)
    assert len(codes) == enough + 2
    async with db() as session:
        digests = set((await session.execute(select(SurveyCode.digest).where(SurveyCode.estate_id == estate_id))).scalars())
    assert len(digests) == enough + 2 and not any(normalised_survey_code(c) in digests or c in digests for c in codes)

    street = (await principal(db, "xbl-officer")).street_id
    after_month = datetime.combine(month.next().first_day, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    officer = await as_user("xbl-officer")

    async def satisfaction() -> tuple[str | None, list[str]]:
        async with unit_of_work(db) as session:
            await assessment_service.compute_month(session, await principal(db, "xbl-officer"), street, month, now=after_month)
        score = (await client.get(f"/api/assessment/scores/{estate_id}/{month}", headers=officer)).json()[0]["result"]  # newest version first
        figure = next((c["score"] for c in score["components"] if c["component"] == "satisfaction"), None)
        return figure, [line["note"] for line in score["lines"] if line["component"] == "satisfaction"]

    # Residents answer on their phones (lower case and spaces as typed are fine): one fewer than enough ...
    ratings = ["satisfied"] * (enough - 3) + ["fairly_satisfied", "dissatisfied"]
    for n, rating in enumerate(ratings):
        async with resident(app, f"203.0.113.{100 + n}") as phone:
            sent = await answer(phone, estate_code, codes[n].lower().replace("-", " "), rating)
            assert sent.status_code == 302, sent.text
            assert "已收到您的评价" in (await phone.get(sent.headers["location"])).text
    figure, _ = await satisfaction()
    assert figure is None  # too few households: the committee's paper figure (none given) stands
    # ... then enough: the QR answers are the month's figure, 满意 and 基本满意 counted satisfied.
    async with resident(app, "203.0.113.200") as phone:
        assert (await answer(phone, estate_code, codes[enough - 1], "dissatisfied")).status_code == 302
    figure, notes = await satisfaction()
    satisfied = enough - 2
    assert figure == f"{100 * satisfied / enough:.2f}"
    assert notes == [f"居民扫码答卷 满意 {satisfied}/{enough}"]


async def test_a_reused_code_another_estates_or_months_code_is_refused_in_chinese_and_stores_nothing(app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient, as_user: Any) -> None:
    estate_id, estate_code = await worker_estate(db)
    async with db() as session:
        community = (await session.execute(select(Estate.community_id).where(Estate.id == estate_id))).scalar_one()
        other_estate = (await session.execute(select(Estate.id).where(Estate.community_id == community, Estate.id != estate_id, Estate.left_on.is_(None)).order_by(Estate.id))).scalars().first()  # type: ignore[union-attr]
    month = Month.of(business_today())
    [code] = await issue(db, "xbl01-worker", estate_id, month, 1)
    [neighbours] = await issue(db, "xbl01-director", other_estate, month, 1)
    [next_months] = await issue(db, "xbl01-director", estate_id, month.next(), 1)
    async with resident(app, "198.51.100.40") as phone:
        assert (await answer(phone, estate_code, code)).status_code == 302
    stored = await count(db, SurveyAnswer)
    async with resident(app, "198.51.100.41") as phone:
        again = await answer(phone, estate_code, code, "dissatisfied")
        assert again.status_code == 409 and "该调查码已经使用过" in again.text
        other = await answer(phone, estate_code, neighbours)
        assert other.status_code == 422 and "不是本小区的" in other.text
        early = await answer(phone, estate_code, next_months)
        assert early.status_code == 422 and f"{month.next().year}年{month.next().month}月的调查" in early.text
        wrong = await answer(phone, estate_code, "ABCDE-FGHJK")
        assert wrong.status_code == 422 and "调查码不正确" in wrong.text
    assert await count(db, SurveyAnswer) == stored
    async with db() as session:
        unused = (await session.execute(select(SurveyCode.used_at).where(SurveyCode.month == str(month.next())))).scalars().all()
    assert unused == [None]
    # Tries from one phone are limited like the complaint form; another resident's first answer still goes through.
    limit = complaint_rules().survey.per_device
    async with resident(app, "198.51.100.42") as guesser:
        for _ in range(limit):
            await answer(guesser, estate_code, "ABCDE-FGHJK")
        throttled = await answer(guesser, estate_code, neighbours)
        assert throttled.status_code == 429 and "提交次数过多" in throttled.text
    # Another community's director cannot print codes for this estate.
    async with unit_of_work(db) as session:
        try:
            await survey.issue_codes(session, await principal(db, "xbl02-director"), estate_id, month, 1)
        except Exception as refused:  # noqa: BLE001
            assert "本社区" in getattr(refused, "zh", "") or "community" in str(refused)
        else:
            raise AssertionError("another community's director printed codes")
    await page_login(client, "xbl02-director")
    form = await client.get("/survey-codes")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    refused_page = await client.post("/survey-codes", data={"_csrf_token": token, "estate_id": str(estate_id), "month": str(month), "count": "3"})
    assert refused_page.status_code == 403 and "只能为本社区的小区发放调查码" in refused_page.text
    assert await count(db, SurveyCode, SurveyCode.estate_id == estate_id) == 2


async def test_complaints_move_the_computed_score_only_when_scoring_gives_them_a_weight(
    app: Litestar, connection: Any, db: Any, client: httpx.AsyncClient, as_user: Any, monkeypatch: Any
) -> None:
    from fractions import Fraction

    from assessment.rules import parse_scoring_rules, round_centi
    from foundation.settings import PROJECT_ROOT
    from tests.integration.evidence import upload
    from tests.integration.test_complaints import new_complaint

    estate_id, estate_code = await worker_estate(db)
    month = Month.of(business_today())
    worker, director, officer = await as_user("xbl01-worker"), await as_user("xbl01-director"), await as_user("xbl-officer")
    given = await client.post("/api/assessment/opinions", headers=director, json={"client_id": "complaint-weight-1", "estate_id": estate_id, "month": str(month), "rating": 90})
    assert given.status_code == 201, given.text
    complaint_id, _ = await new_complaint(db, estate_code)
    ordered = await client.post(
        f"/api/complaints/{complaint_id}/order", headers=worker,
        json={"item": "C01", "finding": "楼道垃圾未清运", "answer": "已通知物业企业整改", "photo_ids": [await upload(client, worker)]},
    )
    assert ordered.status_code == 200, ordered.text
    street = (await principal(db, "xbl-officer")).street_id
    after_month = datetime.combine(month.next().first_day, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    text = (PROJECT_ROOT / "config" / "scoring.toml").read_text(encoding="utf-8")

    async def computed(rules_text: str) -> dict[str, Any]:
        rules = parse_scoring_rules(rules_text)
        monkeypatch.setattr(assessment_service, "scoring_rules", lambda: rules)
        async with unit_of_work(db) as session:
            await assessment_service.compute_month(session, await principal(db, "xbl-officer"), street, month, now=after_month)
        return (await client.get(f"/api/assessment/scores/{estate_id}/{month}", headers=officer)).json()[0]["result"]  # type: ignore[no-any-return]

    unweighted = await computed(text)
    assert "complaints" not in {c["component"] for c in unweighted["components"]}
    before = await computed(text.replace("complaints = 0 ", "# complaints = 0 "))  # the rules as they were before
    assert before["score"] == unweighted["score"] and before["rules_sha256"] == unweighted["rules_sha256"]

    weighted = await computed(text.replace("committee = 30 ", "committee = 20 ").replace("complaints = 0 ", "complaints = 10 "))
    async with db() as session:
        households = (await session.execute(select(Estate.households).where(Estate.id == estate_id))).scalar_one()
    expected = 100 - Fraction(100, max(households, 100)) * Fraction(5)  # one upheld complaint, answered in time
    components = {c["component"]: c for c in weighted["components"]}
    assert Fraction(components["complaints"]["score"]) == Fraction(round_centi(expected), 100)
    # The score is the weighted mean of its components, complaints at their weight (shown scores are rounded: slack).
    total = sum(c["weight"] for c in components.values())
    assert abs(round_centi(sum(Fraction(c["score"]) * c["weight"] for c in components.values()) / total) - round(Fraction(weighted["score"]) * 100)) <= 1
    assert weighted["score"] != unweighted["score"]
    assert any(line["component"] == "complaints" and "查实投诉 1 件" in line["note"] for line in weighted["lines"])
