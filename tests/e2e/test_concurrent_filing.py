"""Phones retry and colleagues file at the same moment: against a real server, concurrent filings stay exactly-once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx

from foundation.clock import business_today
from foundation.db import create_engine, create_session_factory
from foundation.periods import Month, Quarter, last_ended_quarter
from tests.generated import generate_month
from tests.integration.evidence import record_body
from tests.served import Served


async def estates_of(client: httpx.AsyncClient, headers: dict[str, str]) -> list[int]:
    return [e["id"] for e in (await client.get("/api/registry/estates", headers=headers)).json()["items"]]


async def test_the_same_patrol_sent_ten_times_at_once_is_filed_once(served: Served) -> None:
    worker = served.bearer("xbl02-worker")
    async with httpx.AsyncClient(base_url=served.base_url, timeout=60) as client:
        estate = (await estates_of(client, worker))[0]
        body = record_body(estate)
        answers = await asyncio.gather(*(client.post("/api/patrols", json=body, headers=worker) for _ in range(10)))
        assert sorted(a.status_code for a in answers) == [200] * 9 + [201], [a.text for a in answers if a.status_code >= 300]
        assert len({a.json()["id"] for a in answers}) == 1
        listed = (await client.get(f"/api/inspections?estate_id={estate}&source=patrol", headers=worker)).json()
        assert sum(r["id"] == answers[0].json()["id"] for r in listed["items"]) == 1


async def test_patrols_of_one_estate_filed_at_once_are_all_kept_and_one_counts(served: Served) -> None:
    worker = served.bearer("xbl03-worker")
    async with httpx.AsyncClient(base_url=served.base_url, timeout=60) as client:
        estate = (await estates_of(client, worker))[0]
        bodies = [record_body(estate) for _ in range(8)]
        answers = await asyncio.gather(*(client.post("/api/patrols", json=b, headers=worker) for b in bodies))
        assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers if a.status_code != 201]
        days = {a.json()["business_date"] for a in answers}
        counted = [a.json()["counted"] for a in answers]
        assert counted.count(True) == len(days)  # one counted patrol per estate and day


async def test_twenty_identical_opinions_at_once_are_one_revision_and_twenty_different_ones_are_twenty(served: Served) -> None:
    director = served.bearer("xbl04-director")
    month = str(Month.of(business_today()).previous())
    async with httpx.AsyncClient(base_url=served.base_url, timeout=60) as client:
        estates = await estates_of(client, director)
        same = {"client_id": f"same-opinion-{uuid.uuid4().hex}", "estate_id": estates[0], "month": month, "rating": 85, "satisfied": 30, "answered": 40}
        answers = await asyncio.gather(*(client.post("/api/assessment/opinions", json=same, headers=director) for _ in range(20)))
        assert sorted(a.status_code for a in answers) == [200] * 19 + [201], [a.text for a in answers if a.status_code >= 300]
        assert {(a.json()["id"], a.json()["revision"]) for a in answers} == {(answers[0].json()["id"], 1)}

        different = [same | {"client_id": f"opinion-{uuid.uuid4().hex}", "estate_id": estates[1], "rating": 60 + i} for i in range(20)]
        answers = await asyncio.gather(*(client.post("/api/assessment/opinions", json=b, headers=director) for b in different))
        assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers if a.status_code != 201]
        assert sorted(a.json()["revision"] for a in answers) == list(range(1, 21))
        listed = (await client.get(f"/api/assessment/opinions?estate_id={estates[1]}&month={month}&page_size=50", headers=director)).json()
        assert listed["total"] == 20 and sorted(o["rating"] for o in listed["items"]) == list(range(60, 80))


async def test_two_finance_officers_starting_the_same_quarter_at_once_make_one_run(served: Served) -> None:
    finance, officer = served.bearer("finance"), served.bearer("xbl-officer")
    ended = last_ended_quarter(datetime.now(UTC))
    # The quarter before the last ended one, which no other story prices; a run needs something payable in it, so
    # 小白楼 files and locks its first month (the other months and streets are held out).
    quarter = Quarter(ended.year, ended.number - 1) if ended.number > 1 else Quarter(ended.year - 1, 4)
    month = quarter.months[0]
    engine = create_engine(served.database_url)
    await generate_month(create_session_factory(engine), month, seed=month.month)
    await engine.dispose()
    async with httpx.AsyncClient(base_url=served.base_url, timeout=120) as client:
        street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
        for step in ("compute", "lock"):
            done = await client.post(f"/api/assessment/months/{street}/{month}/{step}", headers=officer)
            assert done.status_code == 200, done.text
        answers = await asyncio.gather(*(client.post("/api/subsidies/runs", json={"quarter": str(quarter)}, headers=finance) for _ in range(4)))
        assert sorted(a.status_code for a in answers) == [201, 409, 409, 409], [a.text for a in answers]
        runs = (await client.get("/api/subsidies/runs?page_size=200", headers=finance)).json()["items"]
        assert sum(r["quarter"] == str(quarter) for r in runs) == 1
