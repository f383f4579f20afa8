"""The SQLite write turn (foundation.db): a writing transaction opened by the task whose own transaction has the
turn would wait for itself forever, and every later writer of the process behind it (a resident's report did so
once): it fails at once instead; another task still waits its turn and gets it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from foundation.db import create_engine, create_session_factory, writing


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
