"""SQLite through aiosqlite with one trip to the driver's thread per statement.

aiosqlite runs each call on its connection's own thread, and SQLAlchemy's adapter makes four such calls for every
statement: open a cursor, execute, fetch the rows, close the cursor. Each call is a hand-over between the event loop
and that thread (a queue put, a wake-up, a callback scheduled back on the loop), and under load the hand-overs, not
SQLite, were most of a request's database time: a patrol's nineteen statements made seventy-six of them. This cursor
does the four steps in one call on the driver's thread and keeps the rows, the description, the row count and the
last row id it read there. Everything else (the connection, transactions, errors, server-side cursors) is
SQLAlchemy's aiosqlite adapter unchanged."""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

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
        async with self._adapt_connection._execute_mutex:
            raw = self._connection._conn  # the sqlite3 connection, used only on the driver's thread below
            rows, self._description, self._rowcount, self._lastrowid = await self._connection._execute(
                _run, raw, operation, () if parameters is None else parameters, many
            )
            self._rows = collections.deque(rows)

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
    __slots__ = ()
    _cursor_cls = OneTripCursor


class _Driver(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's adapter does: a forgotten connection never holds up exit
        return _Connection(self, await_(connection))


def driver() -> Any:
    """The DBAPI module to give `create_async_engine(..., module=...)` for a sqlite+aiosqlite URL."""
    return _Driver(aiosqlite, sqlite3)
