"""The SQLite driver (foundation.sqlite_driver): each statement is one hand-over to aiosqlite's thread, none inside
the write lock (BEGIN IMMEDIATE to COMMIT or ROLLBACK), and what a statement answers (rows, description, row
counts, the last row id, errors) is what SQLAlchemy's own aiosqlite adapter answers."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from foundation import sqlite_driver
from foundation.db import create_engine, looking_up, writing
from tests.database import driver_trips


async def test_a_statement_is_one_hand_over_to_the_driver_thread_and_answers_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, n INTEGER)"))
        trips = driver_trips(monkeypatch)
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 0"))  # the transaction's BEGIN is a statement of its own
            trips.clear()
            await connection.execute(text("SELECT 1"))
            assert len(trips) == 1  # SQLAlchemy's adapter takes four: cursor, execute, fetch, close
            inserted = await connection.execute(text("INSERT INTO t (name, n) VALUES (:name, :n)"), [{"name": "a", "n": 1}, {"name": "b", "n": 2}, {"name": "c", "n": 3}])
            assert inserted.rowcount == 3
            one = await connection.execute(text("INSERT INTO t (name, n) VALUES ('d', 4)"))
            assert one.lastrowid == 4
            returned = await connection.execute(text("INSERT INTO t (name, n) VALUES ('e', 5) RETURNING id, name"))
            assert returned.one() == (5, "e")
            changed = await connection.execute(text("UPDATE t SET n = n + 10 WHERE n >= :least"), {"least": 3})
            assert changed.rowcount == 3
            rows = await connection.execute(text("SELECT name, n FROM t ORDER BY id"))
            assert list(rows.keys()) == ["name", "n"]
            assert rows.all() == [("a", 1), ("b", 2), ("c", 13), ("d", 14), ("e", 15)]
            empty = await connection.execute(text("SELECT name FROM t WHERE n > 100"))
            assert list(empty.keys()) == ["name"] and empty.all() == []
            await connection.commit()
            with pytest.raises(IntegrityError):
                await connection.execute(text("INSERT INTO t (name, n) VALUES ('a', 0)"))
            await connection.rollback()
            assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 5
    finally:
        await engine.dispose()


async def test_inside_the_write_lock_statements_make_no_hand_over_and_answer_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    writer = writing(engine)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, n INTEGER)"))
        trips = driver_trips(monkeypatch)
        async with writer.connect() as connection:
            await connection.execute(text("INSERT INTO t (name, n) VALUES ('a', 1)"))
            assert trips == ["BEGIN IMMEDIATE"]  # the lock is taken on the driver's thread (it may wait); nothing else
            assert (await connection.execute(text("INSERT INTO t (name, n) VALUES ('b', 2)"))).lastrowid == 2
            assert (await connection.execute(text("INSERT INTO t (name, n) VALUES ('c', 3) RETURNING id, name"))).one() == (3, "c")
            assert (await connection.execute(text("UPDATE t SET n = n + 10 WHERE n >= 2"))).rowcount == 2
            savepoint = await connection.begin_nested()
            with pytest.raises(IntegrityError):
                await connection.execute(text("INSERT INTO t (name, n) VALUES ('a', 0)"))
            await savepoint.rollback()  # the error left the transaction and the lock as they were
            assert (await connection.execute(text("SELECT name, n FROM t ORDER BY id"))).all() == [("a", 1), ("b", 12), ("c", 13)]
            assert trips == ["BEGIN IMMEDIATE"]
            await connection.commit()  # COMMIT syncs to disk: on the driver's thread
            assert len(trips) == 2
            # The next transaction begins on the thread again, and a rolled-back one ends there too.
            await connection.execute(text("INSERT INTO t (name, n) VALUES ('d', 4)"))
            await connection.rollback()
            assert len(trips) == 4
        async with engine.connect() as reader:  # a reading transaction keeps its hand-overs (a long query never blocks the loop)
            trips.clear()
            assert (await reader.execute(text("SELECT count(*) FROM t"))).scalar_one() == 3
            assert len(trips) == 2  # BEGIN, SELECT
    finally:
        await engine.dispose()


async def test_a_lookup_is_one_read_on_the_loop_and_waits_for_no_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Who is behind a token is read on every call: one read, no BEGIN or ROLLBACK around it, no hand-over to the
    driver's thread; a writer holding the lock (uncommitted) does not hold it up, and it reads what is committed."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    lookup, writer = looking_up(engine), writing(engine)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
            await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        async with engine.connect() as first, engine.connect() as second:  # two connections in the pool
            await first.execute(text("SELECT 1"))
            await second.execute(text("SELECT 1"))
        trips = driver_trips(monkeypatch)
        async with writer.connect() as writing_connection:
            await writing_connection.execute(text("INSERT INTO t (name) VALUES ('b')"))  # holds the write lock
            trips.clear()
            async with lookup.connect() as connection:
                assert (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all() == ["a"]
            assert trips == []  # no BEGIN, no hand-over for the read, no ROLLBACK after it
            await writing_connection.commit()
        async with lookup.connect() as connection:  # the next lookup on the same pooled connection: the same
            trips.clear()
            assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 2
            assert trips == []
        async with engine.connect() as reader:  # the connection back in the pool reads as any other again
            trips.clear()
            assert (await reader.execute(text("SELECT count(*) FROM t"))).scalar_one() == 2
            assert len(trips) == 2  # BEGIN, SELECT
    finally:
        await engine.dispose()



async def test_a_lookup_that_finds_the_database_busy_reads_on_the_driver_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read can find SQLite busy (e.g. while another process recovers the write-ahead log): the lookup never
    waits on the loop; it goes to the driver's thread, which waits for the lock as any read does, and answers. (A
    busy answer cannot be provoked at will in WAL mode, so SQLite's answer on the loop is made busy here.)"""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    lookup = looking_up(engine)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
            await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        loop_thread = threading.get_ident()
        original = sqlite_driver._run

        def busy_on_the_loop(connection: sqlite3.Connection, operation: str, parameters: object, many: bool) -> object:
            if threading.get_ident() == loop_thread:
                raise sqlite3.OperationalError("database is locked")
            return original(connection, operation, parameters, many)

        monkeypatch.setattr(sqlite_driver, "_run", busy_on_the_loop)
        trips = driver_trips(monkeypatch)
        async with lookup.connect() as connection:
            assert (await connection.execute(text("SELECT name FROM t"))).scalars().all() == ["a"]
        assert trips == ["SELECT name FROM t"]
    finally:
        await engine.dispose()
