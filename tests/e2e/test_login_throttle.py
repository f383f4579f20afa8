"""Guessing passwords all at once against a real server: attempts made at the same moment count against each other,
so no more than the account's limit are ever checked."""

from __future__ import annotations

import asyncio

import httpx

from foundation.settings import get_settings
from tests.served import Served


async def test_twelve_wrong_passwords_at_once_check_five_and_refuse_the_rest(served: Served) -> None:
    limit = get_settings().login_failures_per_account
    async with httpx.AsyncClient(base_url=served.base_url, timeout=120) as client:
        answers = await asyncio.gather(
            *(client.post("/api/auth/login", json={"username": "xbl05-director", "password": f"guess-{i:04d}"}) for i in range(12))
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [401] * limit + [429] * (12 - limit), [a.text for a in answers]
        assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code == 429)
        # Still waiting afterwards, and another account is not.
        assert (await client.post("/api/auth/login", json={"username": "xbl05-director", "password": "guess-more"})).status_code == 429
        assert (await client.post("/api/auth/login", json={"username": "xbl05-worker", "password": "guess-more"})).status_code == 401
