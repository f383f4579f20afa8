"""Fixtures: the demo district is built once per session in a migrated database; each test runs inside a
transaction that is rolled back, so tests see the same district and never each other's changes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

# Settings are read once, from the environment: point them at test folders before anything imports them.
_TMP = Path(tempfile.mkdtemp(prefix="supervision-tests-"))
os.environ.setdefault("SUPERVISION_VAR_DIR", str(_TMP / "var"))
os.environ.setdefault("SUPERVISION_SECRET_KEY", "test-secret-key-not-for-production")

import httpx  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from litestar import Litestar  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine  # noqa: E402

from foundation.db import create_engine, create_session_factory  # noqa: E402
from foundation.settings import load_settings  # noqa: E402
from supervision.app import create_app  # noqa: E402
from supervision.demo import DEMO_PASSWORD  # noqa: E402
from tests.database import migrated_demo_database  # noqa: E402

# Property tests check what is computed, not how fast: on a loaded 2-core CI machine one example can take longer
# than Hypothesis's default 200 ms deadline, which would fail a correct rule. Speed is measured in bench/.
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")


@pytest.fixture(scope="session")
def tmp_root() -> Path:
    return _TMP


@pytest.fixture(scope="session")
async def database_url(tmp_root: Path) -> str:
    return await migrated_demo_database(tmp_root, "suite")


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def app(engine: AsyncEngine, database_url: str) -> Litestar:
    return create_app(load_settings(database_url=database_url), engine=engine)


@pytest.fixture
async def connection(engine: AsyncEngine, app: Litestar) -> AsyncIterator[AsyncConnection]:
    """One outer transaction per test; the app's commits become savepoints inside it, and it is rolled back."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        original = app.state.session_factory, app.state.write_session_factory, app.state.lookup
        joined = create_session_factory(connection, join_transaction_mode="create_savepoint")
        app.state.session_factory = app.state.write_session_factory = app.state.lookup = joined
        try:
            yield connection
        finally:
            app.state.session_factory, app.state.write_session_factory, app.state.lookup = original
            await transaction.rollback()


@pytest.fixture
def db(app: Litestar, connection: AsyncConnection):  # type: ignore[no-untyped-def]
    """A session inside the test's transaction, to look at what the API stored."""
    return app.state.session_factory


@pytest.fixture
async def client(app: Litestar, connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """The app called in the test's own event loop (Litestar's AsyncTestClient runs it in a thread with a loop of its
    own, which an asyncpg connection opened in the test's loop cannot be used from)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver.local", follow_redirects=True, headers={"user-agent": "testclient"}
    ) as client:
        yield client


class Login:
    """Log in as demo users and keep their bearer headers."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.cache: dict[str, dict[str, str]] = {}

    async def __call__(self, username: str) -> dict[str, str]:
        if username not in self.cache:
            response = await self.client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            assert response.status_code == 200, response.text
            self.cache[username] = {"Authorization": f"Bearer {response.json()['token']}"}
        return self.cache[username]


@pytest.fixture
def as_user(client: httpx.AsyncClient) -> Login:
    return Login(client)
