"""Locks held by a live process, released by its death: a PostgreSQL session advisory lock on a connection of its own
(the server frees it when the connection drops), or an exclusive flock on a file beside the SQLite database (the
kernel frees it when the process exits). The scheduler's leader election and each running job use them. And a lock
held by a transaction, for a check-then-insert with no row to lock (see transaction_lock)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

log = logging.getLogger("supervision.locks")


class ProcessLock(Protocol):
    async def try_acquire(self) -> bool: ...
    async def still_held(self) -> bool: ...
    async def release(self) -> None: ...


class AdvisoryLock:
    """A PostgreSQL session advisory lock on a 64-bit key, held on a dedicated connection."""

    def __init__(self, engine: AsyncEngine, key: int) -> None:
        self.engine = engine
        self.key = key
        self.connection: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        if self.connection is None:
            self.connection = await self.engine.connect()
        got = (await self.connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar_one()
        await self.connection.commit()
        if not got:
            await self.release()
        return bool(got)

    async def still_held(self) -> bool:
        try:
            assert self.connection is not None
            held = (
                await self.connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND pid = pg_backend_pid() AND granted"
                        " AND classid::text::bigint = :high AND objid::text::bigint = :low"
                    ),
                    {"high": (self.key >> 32) & 0xFFFFFFFF, "low": self.key & 0xFFFFFFFF},
                )
            ).scalar_one()
            await self.connection.commit()
            return bool(held)
        except Exception:  # the connection is gone: so is the lock
            log.exception("lost the connection of advisory lock %s", self.key)
            self.connection = None
            return False

    async def release(self) -> None:
        if self.connection is None:
            return
        connection, self.connection = self.connection, None
        try:
            # Unlock before the connection goes back to the pool: the pool's reset does not end session locks.
            await connection.execute(text("SELECT pg_advisory_unlock_all()"))
            await connection.commit()
            await connection.close()
        except Exception:  # a broken connection holds nothing; drop it rather than pool it
            log.warning("advisory lock %s: the connection broke while unlocking; discarding it", self.key)
            with contextlib.suppress(Exception):
                await connection.invalidate()


class FileLock:
    """An exclusive flock on a file. `remove=True`: the file is deleted when released (one file per (job, period)
    would otherwise pile up); acquiring checks that the file locked is still the one at the path."""

    def __init__(self, path: Path, *, remove: bool = False) -> None:
        self.path = path
        self.remove = remove
        self.handle: Any = None

    async def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = open(self.path, "a+")  # noqa: SIM115 (held for as long as the lock)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            try:
                same = os.fstat(handle.fileno()).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            handle.close()  # the holder before us removed it as we opened it: lock the new one
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.handle = handle
        return True

    async def still_held(self) -> bool:
        return self.handle is not None

    async def release(self) -> None:
        if self.handle is not None:
            if self.remove:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def lock_key(name: str) -> int:
    """A 64-bit advisory lock key for a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def transaction_lock(session: AsyncSession, name: str) -> None:
    """Until this transaction ends, no other transaction takes the lock of `name`: a check-then-insert with no row
    to lock (at most one open run per quarter, failed logins per account) happens one transaction at a time
    (PostgreSQL: a transaction advisory lock; SQLite has one writer at a time anyway). Take several in one fixed
    order, so that two transactions never wait for each other crosswise."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(name)})


def sqlite_lock_folder(engine: AsyncEngine) -> Path:
    """Where a SQLite database's process locks live: a folder beside the database file."""
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        return Path(tempfile.gettempdir()) / f"supervision-locks-{os.getpid()}"
    path = Path(database).resolve()
    return path.with_name(path.name + ".locks")


def job_run_lock(engine: AsyncEngine, job: str, period: str) -> ProcessLock:
    """The lock a process holds while it runs `job` for `period`: whoever holds it is running it, alive; a run whose
    lock is free was cut off and may be taken over at once."""
    name = f"{job}|{period}"
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, lock_key(f"job-run|{name}"))
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return FileLock(sqlite_lock_folder(engine) / f"job-{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}.lock", remove=True)
