"""The SQLite write turn (foundation.db): a writing transaction opened by the task whose own transaction has the
turn would wait for itself forever, and every later writer of the process behind it (a resident's report did so
once): it fails at once instead; another task still waits its turn and gets it. Across processes the turn is a lock
file: another process's turn is waited for off the event loop and given up on after the busy timeout; inside the
turn a transaction runs on the loop's thread, and a lock held by a tool outside the system is waited for off it."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import foundation.db
from foundation.db import create_engine, create_session_factory, writing
from tests.database import driver_trips


async def test_a_task_waiting_for_its_own_write_turn_fails_at_once_and_others_still_take_turns(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turn.db'}")
    factory = create_session_factory(writing(engine))
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
        async with factory() as first:
            await first.execute(text("INSERT INTO t (n) VALUES (1)"))  # this task's transaction has the turn
            async with factory() as second:
                with pytest.raises(RuntimeError, match="its own task holds"):
                    async with asyncio.timeout(5):  # in this task (wait_for would run it in another)
                        await second.execute(text("INSERT INTO t (n) VALUES (2)"))

            async def other_task() -> None:
                async with factory() as third:
                    await third.execute(text("INSERT INTO t (n) VALUES (3)"))
                    await third.commit()

            waiting = asyncio.create_task(other_task())
            await asyncio.sleep(0.05)
            assert not waiting.done()  # another task waits its turn
            await first.commit()
            await asyncio.wait_for(waiting, timeout=5)
            # After its commit the same session takes the turn again (the reads after it): no refusal.
            assert (await first.execute(text("SELECT count(*) FROM t"))).scalar_one() == 2
    finally:
        await engine.dispose()


# Across processes: another process holding the write turn (the lock file beside the database) is waited for off the
# event loop, without SQLite's polling sleeps, and given up on after the busy timeout as SQLite would.

_HOLD = """
import fcntl, sys
held = open(sys.argv[1], "ab")
fcntl.flock(held.fileno(), fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


Database = tuple[Path, async_sessionmaker[AsyncSession]]


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite file with a table `t`, and its writing sessions."""
    path = tmp_path / "turn.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
    yield path, create_session_factory(writing(engine))
    await engine.dispose()


async def _write(factory: async_sessionmaker[AsyncSession], n: int) -> None:
    async with factory() as session:
        await session.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
        await session.commit()


@contextmanager
def _another_process_holding(database: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the database's write turn until its stdin is closed."""
    other = subprocess.Popen([sys.executable, "-c", _HOLD, f"{database}.write-turn"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        yield other
    finally:
        other.kill()
        other.wait()


async def _waits_off_the_loop(writer: asyncio.Task[None]) -> None:
    started = time.monotonic()
    await asyncio.sleep(0.2)
    assert time.monotonic() - started < 0.3  # the loop is free while the writer waits
    assert not writer.done()


async def test_a_writer_waits_for_another_process_turn_off_the_loop_and_goes_the_moment_it_ends(database: Database) -> None:
    path, factory = database
    with _another_process_holding(path) as other:
        writer = asyncio.create_task(_write(factory, 1))
        await _waits_off_the_loop(writer)
        assert other.stdin is not None
        other.stdin.close()  # the other process's transaction ends
        released = time.monotonic()
        await asyncio.wait_for(writer, timeout=5)
        assert time.monotonic() - released < 0.5  # woken at once, not after a polling sleep


async def test_a_writer_gives_up_on_another_process_turn_after_the_busy_timeout_as_database_is_locked(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(foundation.db, "SQLITE_BUSY_SECONDS", 0.3)
    path, factory = database
    with _another_process_holding(path) as other:
        with pytest.raises(OperationalError, match="database is locked"):
            await _write(factory, 1)
        assert other.stdin is not None
        other.stdin.close()
        other.wait(timeout=5)
    # The thread that went on waiting let the lock go when it got it: the next writer gets the turn.
    await asyncio.wait_for(_write(factory, 2), timeout=5)
    async with factory() as session:
        assert (await session.execute(text("SELECT n FROM t"))).scalars().all() == [2]


async def test_in_the_turn_a_transaction_runs_on_the_loop_thread_and_waits_off_it_for_a_lock_held_outside(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    path, factory = database
    trips = driver_trips(monkeypatch)
    async with factory() as session:
        await session.execute(text("INSERT INTO t (n) VALUES (1)"))
        await session.execute(text("UPDATE t SET n = n + 1"))
        await session.commit()
        assert trips == []  # BEGIN IMMEDIATE, the statements and COMMIT: no hand-over to the driver's thread
    # A tool outside the system (no turns) holds SQLite's write lock: the BEGIN does not wait on the loop.
    outside = sqlite3.connect(path, isolation_level=None)
    outside.execute("BEGIN IMMEDIATE")
    writer = asyncio.create_task(_write(factory, 3))
    await _waits_off_the_loop(writer)
    outside.execute("COMMIT")
    outside.close()
    await asyncio.wait_for(writer, timeout=5)
    assert "BEGIN IMMEDIATE" in trips  # it waited on the driver's thread
    async with factory() as session:
        assert (await session.execute(text("SELECT n FROM t ORDER BY id"))).scalars().all() == [2, 3]
