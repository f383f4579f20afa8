"""SQLite through aiosqlite with one trip to the driver's thread per statement.

aiosqlite runs each call on its connection's own thread, and SQLAlchemy's adapter makes four such calls for every
statement: open a cursor, execute, fetch the rows, close the cursor. Each call is a hand-over between the event loop
and that thread (a queue put, a wake-up, a callback scheduled back on the loop), and under load the hand-overs, not
SQLite, were most of a request's database time: a patrol's nineteen statements made seventy-six of them. This cursor
does the four steps in one call on the driver's thread and keeps the rows, the description, the row count and the
last row id it read there.

Once a transaction holds SQLite's write lock (its BEGIN IMMEDIATE returned), its statements run on the event loop's
own thread instead, without a hand-over at all. A writer holds the lock for the whole database: every hand-over
inside it waited behind whatever else the event loop had to do (other requests' parsing, authentication, rendering),
and that wait, not SQLite, stretched each writing transaction (a patrol's held the lock for ~11 ms, of which SQLite
worked well under one), so every other writer queued behind it. Inside the lock no statement waits for another
connection (WAL: readers never block the writer), so none can stall the loop on a busy timeout. When foundation.db
begins the transaction in the write turn it holds across processes (BEGIN_IMMEDIATE_IN_TURN), no process that takes
turns holds SQLite's lock, so the BEGIN, and the COMMIT or ROLLBACK that ends it, run on the loop's thread too: the
whole transaction is one stretch of the loop's time, held by no other request's work. Such a BEGIN is tried without
waiting; if someone else (a tool outside the system) holds the lock, it waits on the driver's thread as any other.
Reading transactions are unchanged: a long report's query never runs on the loop. The one exception is a lookup
(foundation.db.looking_up: the login token behind every call): one read by an index, outside any transaction, which
runs on the loop's thread too (see `_Connection.read_next_on_loop`). Everything else (the connection,
errors, server-side cursors) is SQLAlchemy's aiosqlite adapter unchanged."""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_cursor, AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> tuple[list[Any], Any, int, int | None]:
    """On the driver's thread: one statement from cursor to close."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return rows, description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


T = TypeVar("T")

BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"  # how foundation.db begins a transaction that writes
BEGIN_IMMEDIATE_IN_TURN = "BEGIN IMMEDIATE /* in the write turn */"  # ... in the write turn held across processes


# How long a connection waits for another's write lock (foundation.db sets it on every connection), in ms.
BUSY_MS = 10_000


def _at_once(connection: sqlite3.Connection, call: Callable[[], T]) -> T | None:
    """`call` on the connection without waiting for any lock: None if SQLite answers that the database is busy."""
    connection.execute("PRAGMA busy_timeout=0")
    try:
        return call()
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            return None
        raise
    finally:
        connection.execute(f"PRAGMA busy_timeout={BUSY_MS}")


def _begin_at_once(connection: sqlite3.Connection) -> bool:
    """BEGIN IMMEDIATE without waiting for the lock: False if someone else holds it."""
    return _at_once(connection, lambda: connection.execute(BEGIN_IMMEDIATE)) is not None


def _read_at_once(connection: sqlite3.Connection, operation: str, parameters: Any) -> tuple[list[Any], Any, int, int | None] | None:
    """A lookup's one read on the loop's own thread, without waiting for any lock: None if SQLite answers busy (then
    it runs on the driver's thread as any other statement)."""
    return _at_once(connection, lambda: _run(connection, operation, parameters, False))


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statement goes to the driver's thread once (see the module's docstring)."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: Any) -> None:  # no aiosqlite cursor: `_run` opens and closes its own
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        return None  # the statement's cursor is closed already; its rows are kept here

    def close(self) -> None:
        self._rows.clear()

    async def _send(self, operation: Any, parameters: Any, many: bool) -> None:
        adapt = cast("_Connection", self._adapt_connection)
        raw = self._connection._conn  # the sqlite3 connection
        arguments = () if parameters is None else parameters
        if adapt._holds_write_lock:  # see the module's docstring: no hand-over inside the write lock
            rows, self._description, self._rowcount, self._lastrowid = _run(raw, operation, arguments, many)
            self._rows = collections.deque(rows)
            return
        if adapt._reads_on_loop:
            adapt._reads_on_loop = False  # one statement only
            found = _read_at_once(raw, operation, arguments)
            if found is not None:
                rows, self._description, self._rowcount, self._lastrowid = found
                self._rows = collections.deque(rows)
                return
        if operation == BEGIN_IMMEDIATE_IN_TURN:
            if _begin_at_once(raw):
                self._description, self._rowcount, self._lastrowid = None, -1, None
                self._rows = collections.deque()
                adapt._holds_write_lock = adapt._ends_on_loop = True
                return
            operation = BEGIN_IMMEDIATE
        async with adapt._execute_mutex:
            rows, self._description, self._rowcount, self._lastrowid = await self._connection._execute(_run, raw, operation, arguments, many)
            self._rows = collections.deque(rows)
        if operation == BEGIN_IMMEDIATE:
            adapt._holds_write_lock = True

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            await_(self._send(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            await_(self._send(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_ends_on_loop", "_holds_write_lock", "_reads_on_loop")
    _cursor_cls = OneTripCursor
    _holds_write_lock: bool  # inside a BEGIN IMMEDIATE: statements on the loop's thread
    _ends_on_loop: bool  # ... begun in the write turn across processes: its COMMIT or ROLLBACK too
    _reads_on_loop: bool  # the next statement is a lookup's one indexed read, outside any transaction: on the loop's thread

    def read_next_on_loop(self) -> None:
        """The next statement is one short read by an index outside any transaction (foundation.db.looking_up: who
        is behind a login token, on every call): it runs on the loop's own thread, as a statement inside the write
        lock does. The hand-over to the driver's thread and back cost more than the read; in WAL mode a read waits
        for no writer, and if SQLite answers busy all the same, the read goes to the driver's thread after all."""
        self._reads_on_loop = True

    def _end(self, end: str) -> None:
        on_loop = self._ends_on_loop
        self._reads_on_loop = False
        self._holds_write_lock = self._ends_on_loop = False  # the lock ends with the transaction, whether or not the end succeeds
        if not on_loop:
            getattr(super(), end)()
            return
        try:
            getattr(self._connection._conn, end)()
        except Exception as error:
            self._handle_exception(error)

    def commit(self) -> None:
        self._end("commit")

    def rollback(self) -> None:
        try:
            idle = not self._holds_write_lock and not self._connection._conn.in_transaction
        except ValueError:  # aiosqlite's connection is closed: let the adapter answer as it does
            idle = False
        if idle:
            self._reads_on_loop = False
            return  # nothing to undo (a connection reset as it goes back to the pool): no trip to the thread
        self._end("rollback")


class _Driver(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        # Used by the driver's thread, and by the loop's thread inside the write lock: never by both at once.
        kw["check_same_thread"] = False
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's adapter does: a forgotten connection never holds up exit
        adapted = _Connection(self, await_(connection))
        adapted._holds_write_lock = adapted._ends_on_loop = adapted._reads_on_loop = False
        return adapted


def driver() -> Any:
    """The DBAPI module to give `create_async_engine(..., module=...)` for a sqlite+aiosqlite URL."""
    return _Driver(aiosqlite, sqlite3)


def speaks_directly(dbapi_connection: Any) -> bool:
    """Whether a pooled connection is this driver's, whose cursor takes a statement straight from foundation.db's
    `Direct` (`OneTripCursor._send`)."""
    return isinstance(dbapi_connection, _Connection)
