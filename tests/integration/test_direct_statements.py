"""The statements every filing and every call sends straight to the driver's adapter (foundation.db.Direct) store
and answer exactly what SQLAlchemy's own execution would: the same values bound by the same column types, rows read by
their types, a refused statement failing as SQLAlchemy's error with no value in its message, on SQLite and on
PostgreSQL alike; on SQLite, in the process's write turn as the session's own statements are."""

from __future__ import annotations

import asyncio
from dataclasses import astuple
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from foundation.access import SYSTEM, Role
from foundation.audit import ENTRIES, record_change, verify_chain
from foundation.db import Direct, create_engine, create_session_factory, looking_up, unit_of_work, writing
from foundation.settings import load_settings
from foundation.sqlite_driver import BEGIN_IMMEDIATE_IN_TURN
from inspections.tables import InspectionResult
from people.service import principal_for_token
from people.tables import User
from registry.tables import ManagementMode
from supervision.cli import migrate
from tests.database import fresh_database_url
from tests.integration.evidence import record_body
from tests.integration.helpers import estate_ids_of

_ENTRY = {
    "at": datetime(2026, 11, 3, 1, 2, 3, 456789, tzinfo=UTC),
    "actor_user_id": None,
    "actor": "测试 <direct>",
    "action": "test.direct",
    "entity": "estate",
    "entity_id": "7",
    "before": None,
    "after": {"名称": "树德里", "n": [1, 2.5, True, None]},
    "reason": "对照",
}


async def test_a_direct_insert_stores_what_an_ordinary_one_stores_and_answers_its_rows_by_their_types(db) -> None:
    written = Direct(insert(ENTRIES).returning(ENTRIES.c.id, ENTRIES.c.at, ENTRIES.c.after))
    async with db() as session:
        connection = await session.connection()
        direct = (await written.run_async(session, dict(_ENTRY)))[0]
        ordinary = (await connection.execute(insert(ENTRIES).returning(ENTRIES.c.id, ENTRIES.c.at, ENTRIES.c.after), dict(_ENTRY))).one()
        # RETURNING read as SQLAlchemy reads it: an aware UTC time, the JSON as Python values, named by column.
        assert (direct.at, direct.after) == (ordinary.at, ordinary.after) == (_ENTRY["at"], _ENTRY["after"])
        stored = (await connection.execute(select(*ENTRIES.c).where(ENTRIES.c.id.in_([direct.id, ordinary.id])).order_by(ENTRIES.c.id))).all()
        assert [tuple(row)[1:] for row in stored] == [tuple(_ENTRY.values())] * 2
        # Stored alike, as the database holds them (the time's text on SQLite, its type on PostgreSQL).
        raw = await connection.exec_driver_sql(f"SELECT at, after FROM audit_log WHERE id IN ({direct.id}, {ordinary.id}) ORDER BY id")
        first, second = raw.all()
        assert first == second
        await session.rollback()


async def test_a_direct_statement_given_many_rows_stores_them_all_and_its_own_values_are_bound(db) -> None:
    many = Direct(insert(ENTRIES))
    first_two = Direct(select(ENTRIES.c.entity_id).where(ENTRIES.c.action == "test.direct.many").order_by(ENTRIES.c.id).limit(2))
    async with db() as session:
        await many.run_async(session, [{**_ENTRY, "action": "test.direct.many", "entity_id": str(n)} for n in range(3)])
        assert [row.entity_id for row in await first_two.run_async(session, {})] == ["0", "1"]  # its LIMIT is its own value
        await session.rollback()


async def test_a_refused_direct_statement_fails_as_sqlalchemy_fails_and_names_no_value(client, as_user, db) -> None:
    """A result stored twice for one item of a record breaks its unique key: SQLAlchemy's IntegrityError, whose message
    shows the statement and not the values (they may be personal data, and errors are logged)."""
    worker = await as_user("xbl01-worker")
    filed = await client.post("/api/patrols", json=record_body((await estate_ids_of(db, "XBL01"))[0]), headers=worker)
    assert filed.status_code == 201, filed.text
    results = Direct(insert(InspectionResult))
    secret = "住户电话 13800138000"
    async with db() as session:
        with pytest.raises(IntegrityError) as refused:
            await results.run_async(session, {"record_id": filed.json()["id"], "item_code": filed.json()["results"][0]["item"], "passed": True, "defects": 0, "note": secret})
        assert "13800138000" not in str(refused.value) and "inspection_results" in str(refused.value)
        await session.rollback()


async def test_statements_watched_by_a_listener_go_through_sqlalchemy_so_the_listener_sees_them(db, engine) -> None:
    seen: list[str] = []

    def watch(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    written = Direct(insert(ENTRIES))
    event.listen(engine.sync_engine, "before_cursor_execute", watch)
    try:
        async with db() as session:
            await written.run_async(session, dict(_ENTRY))
            await session.rollback()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", watch)
    assert any(s.startswith("INSERT INTO audit_log") for s in seen)


async def test_the_estate_a_filing_reads_comes_back_typed_on_either_path(db) -> None:
    """The estate read that opens every filing goes direct on SQLite: its dates, its mode and its boundary come back
    as Python values, the same as an ordinary read gives them."""
    from inspections.service import _ESTATE_TO_FILE_ON
    from registry import queries as registry_queries

    estate_id = (await estate_ids_of(db, "XBL01"))[0]
    parameters = {"client_id": "none", "source": "patrol", "sha256": "none"}
    async with db() as session:
        direct = await registry_queries.estate_on_day(session, _ESTATE_TO_FILE_ON, estate_id, date(2026, 11, 3), **parameters)
        ordinary = (await session.execute(_ESTATE_TO_FILE_ON.statement, {"estate_id": estate_id, "day": date(2026, 11, 3), **parameters})).one()
        assert direct is not None and direct.estate.id == estate_id
        width = len(astuple(direct.estate))
        expected = list(ordinary[:width])
        expected[9] = ManagementMode(expected[9])
        assert astuple(direct.estate) == tuple(expected) and isinstance(direct.estate.entered_on, date)
        assert (direct.company_id, *direct.also) == tuple(ordinary[width:])
        await session.rollback()


async def test_a_direct_statement_waits_for_the_write_turn_as_the_sessions_own_statements_do(engine) -> None:
    """On SQLite one writer at a time: a writing session's direct statement begins its transaction only once it holds
    the process's write turn (its BEGIN is the one sent in the turn), never beside it; on PostgreSQL writers run side by
    side and there is no turn."""
    factory = create_session_factory(writing(engine))
    async with factory() as session:
        await Direct(select(ENTRIES.c.id).limit(1)).run_async(session, {})
        in_turn = "write_turn" in session.sync_session.info
        if engine.dialect.name == "sqlite":
            driver = (await session.connection()).sync_connection.connection.dbapi_connection
            assert driver._ends_on_loop  # begun by BEGIN IMMEDIATE in the turn, the whole transaction on the loop
        await session.rollback()
    assert in_turn is (engine.dialect.name == "sqlite")


async def test_a_transaction_that_only_records_an_audit_entry_begins_in_the_write_turn(tmp_root) -> None:  # type: ignore[no-untyped-def]
    """A use case that writes nothing but its audit entry begins its transaction at the commit: on SQLite it begins
    there in the write turn (begun outside it, it would hold SQLite's lock while waiting for the turn another writer
    holds, and both would wait for each other), and the entry is sealed on the chain either way."""
    url = await fresh_database_url(tmp_root, "audit_only")
    await asyncio.to_thread(migrate, load_settings(database_url=url))
    engine = create_engine(url)
    begun: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("BEGIN"):
            begun.append(statement)

    try:
        event.listen(engine.sync_engine, "before_cursor_execute", seen)
        try:
            async with unit_of_work(create_session_factory(writing(engine))) as session:
                record_change(session, SYSTEM, "test.audit_only", "estate", 1, after={"说明": "只有审计记录"})
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", seen)
        async with engine.connect() as connection:
            report = await connection.run_sync(verify_chain)
    finally:
        await engine.dispose()
    assert report.broken_entry_id is None and report.checked == report.head_seq >= 1, report
    if engine.dialect.name == "sqlite":
        assert begun == [BEGIN_IMMEDIATE_IN_TURN], begun


async def test_the_token_behind_every_call_is_read_directly_on_a_bare_connection(client, as_user, connection, engine) -> None:
    """Every API call's token is looked up by a direct statement on a connection of its own (no session, no BEGIN on
    SQLite, no transaction on PostgreSQL): the worker behind a live token, nobody behind an unknown one."""
    token = (await as_user("xbl01-worker"))["Authorization"].removeprefix("Bearer ")
    principal = await principal_for_token(connection, token, "api")  # the test's connection holds the new token
    assert principal is not None and principal.username == "xbl01-worker" and principal.role is Role.COMMUNITY_WORKER
    assert await principal_for_token(connection, token, "page") is None  # an API token never opens a page
    async with looking_up(engine).connect() as bare:
        assert not bare.in_transaction()
        rows = await Direct(select(col(User.username)).where(col(User.username) == bindparam("name"))).run_async(bare, {"name": "admin"})
        assert [row.username for row in rows] == ["admin"]
        driver = bare.sync_connection.connection.dbapi_connection
        # No BEGIN was sent: SQLite's connection is in no transaction, PostgreSQL's adapter opened none (autocommit).
        assert not (driver._connection._conn.in_transaction if engine.dialect.name == "sqlite" else driver._transaction)
        assert await principal_for_token(bare, "not-a-token", "api") is None
