"""When every database connection is taken, a request waits the pool's time and is then told to retry (503 with
Retry-After), in the problem format, instead of failing with a bare 500; a connection the server dropped is replaced
without failing a request."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from foundation import db
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


async def test_a_connection_dropped_by_the_server_while_idle_is_replaced_without_an_error(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL restarted, or a proxy cut idle connections: the pool's connection is dead. Connections idle past
    # PING_AFTER_IDLE_SECONDS are pinged before use and replaced; a busy pool's connections are not (no round trip).
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("SQLite has no server to drop a connection")
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            first = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with engine.connect() as connection:  # back in the pool a moment ago: the same connection, not pinged
            assert (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one() == first
        killer = create_engine(database_url)
        try:
            async with killer.connect() as connection:
                assert (await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})).scalar_one()
        finally:
            await killer.dispose()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # as if it had been idle for a while
        async with engine.connect() as connection:
            again = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again != first
    finally:
        await engine.dispose()
