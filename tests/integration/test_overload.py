"""When every database connection is taken, a request waits the pool's time and is then told to retry (503 with
Retry-After), in the problem format, instead of failing with a bare 500."""

from __future__ import annotations

import httpx

from foundation.db import create_engine
from foundation.settings import load_settings
from supervision.app import create_app
from supervision.demo import DEMO_PASSWORD
from tests.integration.helpers import assert_problem


async def test_a_request_finding_every_connection_taken_is_told_to_retry(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    app = create_app(load_settings(database_url=database_url), engine=engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            login = await client.post("/api/auth/login", json={"username": "admin", "password": DEMO_PASSWORD})
            assert login.status_code == 200, login.text
            bearer = {"Authorization": f"Bearer {login.json()['token']}"}
            assert (await client.get("/api/registry/summary", headers=bearer)).status_code == 200
            async with engine.connect():  # the pool's only connection, held
                busy = await client.get("/api/registry/summary", headers=bearer)
            assert_problem(busy, 503, "retry")
            assert busy.headers["retry-after"]
            assert (await client.get("/api/registry/summary", headers=bearer)).status_code == 200
    finally:
        await engine.dispose()
