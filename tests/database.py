"""Test databases: a fresh SQLite file, or a fresh database on the PostgreSQL server named by
SUPERVISION_TEST_DATABASE_URL (the suite runs on both; see scripts/test.sh)."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from foundation.db import create_engine
from foundation.settings import load_settings
from supervision.cli import migrate
from supervision.demo import load_demo

POSTGRES_URL = os.environ.get("SUPERVISION_TEST_DATABASE_URL", "")


def on_postgres() -> bool:
    return POSTGRES_URL.startswith("postgresql")


async def fresh_database_url(folder: Path, name: str) -> str:
    """The URL of a new, empty database called `name` (a file in `folder` for SQLite)."""
    if not on_postgres():
        return f"sqlite+aiosqlite:///{folder / (name + '.db')}"
    server = make_url(POSTGRES_URL)
    database = f"{server.database}_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{database}"'))
    await admin.dispose()
    return server.set(database=database).render_as_string(hide_password=False)


async def migrated_demo_database(folder: Path, name: str) -> str:
    """A new database, migrated by Alembic and loaded with the demo district."""
    url = await fresh_database_url(folder, name)
    await asyncio.to_thread(migrate, load_settings(database_url=url))
    engine = create_engine(url)
    try:
        await load_demo(engine)
    finally:
        await engine.dispose()
    return url


def driver_trips(monkeypatch: Any) -> list[str]:
    """From now on, every hand-over to aiosqlite's thread, named by its statement (or the call made there)."""
    import aiosqlite

    trips: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object, **kwargs: object) -> object:
        trips.append(str(args[1]) if len(args) > 1 else getattr(fn, "__name__", "call"))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips
