"""Phones retry and colleagues file at the same moment: against a real server, concurrent filings stay exactly-once."""

from __future__ import annotations

import asyncio

import httpx

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
