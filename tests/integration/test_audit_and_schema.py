"""The audit log records every change and can never be rewritten; the schema comes only from migrations."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from supervision.cli import migrate
from supervision.core.db import create_engine
from supervision.core.settings import load_settings
from supervision.demo import load_demo
from supervision.registry.tables import Street
from tests.database import fresh_database_url
from tests.integration.helpers import assert_problem, count


async def test_administrators_read_the_log_others_are_refused(client, as_user) -> None:
    admin = await as_user("admin")
    await client.post("/api/registry/streets", json={"code": "AU1", "name": "审计街"}, headers=admin)
    log = (await client.get("/api/audit?entity=street&action=street.created", headers=admin)).json()
    newest = log["items"][0]
    assert newest["after"]["name"] == "审计街" and newest["actor"] == "admin (admin)" and newest["at"]
    for username in ["finance", "xbl-officer", "xbl01-director", "company01"]:
        assert_problem(await client.get("/api/audit", headers=await as_user(username)), 403)


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"])
async def test_the_database_refuses_to_rewrite_the_audit_log(connection, statement: str) -> None:
    savepoint = await connection.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        await connection.execute(text(statement))
    await savepoint.rollback()


async def test_loading_the_demo_twice_adds_nothing(engine, db) -> None:
    streets = await count(db, Street)
    report = await load_demo(engine)
    assert report.loaded is False and await count(db, Street) == streets


async def test_migrations_go_down_and_up_again_cleanly(tmp_root) -> None:
    from alembic import command
    from alembic.config import Config

    from supervision.core.settings import PROJECT_ROOT

    url = await fresh_database_url(tmp_root, "roundtrip")
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "base")
    await asyncio.to_thread(migrate, load_settings(database_url=url))
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        from alembic.script import ScriptDirectory

        assert version == ScriptDirectory.from_config(config).get_current_head()
    finally:
        await engine.dispose()


async def test_unknown_addresses_answer_with_a_problem_document(client) -> None:
    assert_problem(await client.get("/api/no-such-thing"), 404, "/api/no-such-thing")


async def test_health_says_which_database_answers(client, engine) -> None:
    body = (await client.get("/health")).json()
    assert body == {"status": "ok", "database": engine.dialect.name}
