"""The one database engine and session factory, the metadata naming convention and shared column types."""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
import threading
import time
import weakref
from collections import deque, namedtuple
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, Unpack

from sqlalchemy import BigInteger, Column, DateTime, Select, TextClause, UpdateBase, bindparam, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, CursorResult, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util.concurrency import await_only, in_greenlet
from sqlmodel import Field, SQLModel

from foundation import sqlite_driver

# Stable constraint names, so Alembic migrations (and SQLite batch mode) can address them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = SQLModel.metadata


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back as an aware UTC datetime, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is expected")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def surrogate_key() -> Any:
    """A table's `id`, declared `id: int = surrogate_key()`: None until the row is flushed, then the key the
    database gave it. Typed `int` because code reads the key of stored rows only; SQLModel's usual `int | None` would
    make every reader narrow it again."""
    return Field(default=None, primary_key=True)


def fen_column(*, default: int | None = None, nullable: bool = False) -> Any:
    """A money column in fen, 64-bit on every database: a district's yearly budget or a quarter's total passes
    2^31 fen (21.5 million yuan), the limit of PostgreSQL's 32-bit INTEGER (SQLite's INTEGER is 64-bit already)."""
    column = Column(BigInteger, nullable=nullable)
    if default is None and not nullable:
        return Field(sa_column=column)
    return Field(default=default, sa_column=column)


# SQLite's busy timeout, in seconds: how long a writer waits for another process's write lock.
SQLITE_BUSY_SECONDS = sqlite_driver.BUSY_MS // 1000


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys and a busy timeout on every connection; explicit BEGIN so savepoints work."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy, not the driver, open transactions
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A transaction that will write takes the write lock at once (BEGIN IMMEDIATE), so that concurrent writers
        # wait for each other (busy timeout) instead of failing when a read lock cannot be upgraded.
        options = connection.get_execution_options()
        if options.get(LOOKUP_OPTION):
            # One read on its own (`looking_up`): outside any transaction, on the loop's thread (foundation.sqlite_driver).
            connection.connection.dbapi_connection.read_next_on_loop()
            return
        immediate = options.get(WRITE_OPTION)
        if not immediate:
            connection.exec_driver_sql("BEGIN")
        elif _WRITE_QUEUE.held_here(connection.engine.url.database):
            connection.exec_driver_sql(sqlite_driver.BEGIN_IMMEDIATE_IN_TURN)  # the whole transaction on the loop
        else:
            connection.exec_driver_sql(sqlite_driver.BEGIN_IMMEDIATE)


class _ProcessTurn:
    """The write turn across processes: each process's holder of the turn on a database also holds an exclusive
    lock on a file beside it (flock) until its transaction ends. Web workers, the scheduler and commands writing the
    same SQLite file then wait for each other in the kernel, woken the moment the lock is free, instead of polling
    SQLite's write lock with the busy timeout's growing sleeps (up to 100 ms a try): under a burst, one worker's
    backlog kept the other's writers waiting for seconds. The wait runs on a thread of its own, never on the event
    loop, and gives up after the busy timeout as SQLite would ("database is locked")."""

    def __init__(self, database: str) -> None:
        self.path = f"{database}.write-turn"
        self.file: Any = None
        self.held = False

    async def take(self) -> None:
        if self.file is None:
            self.file = open(self.path, "ab")  # noqa: SIM115 (kept open: the lock lives on this open file)
        fd = self.file.fileno()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.held = True
            return
        except BlockingIOError:
            pass
        loop = asyncio.get_running_loop()
        taken = loop.create_future()
        threading.Thread(target=_wait_for_lock, args=(fd, loop, taken), name="sqlite-write-turn", daemon=True).start()
        try:
            async with asyncio.timeout(SQLITE_BUSY_SECONDS):
                await taken
        except TimeoutError:
            locked = sqlite3.OperationalError("database is locked (another process held the write turn)")
            raise OperationalError(None, None, locked) from None
        self.held = True

    def give(self) -> None:
        if self.file is not None:
            self.held = False
            fcntl.flock(self.file.fileno(), fcntl.LOCK_UN)


def _wait_for_lock(fd: int, loop: asyncio.AbstractEventLoop, taken: asyncio.Future[None]) -> None:
    """On a thread: wait for the file lock, then tell the loop; a waiter that gave up meanwhile lets it go at once."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError as error:
        failure: OSError | None = error
    else:
        failure = None

    def settle() -> None:
        if taken.done():  # gave up (timed out or cancelled) while this thread waited
            if failure is None:
                fcntl.flock(fd, fcntl.LOCK_UN)
        elif failure is not None:
            taken.set_exception(failure)
        else:
            taken.set_result(None)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop has closed
        if failure is None:
            fcntl.flock(fd, fcntl.LOCK_UN)


class _Turns:
    """One writer at a time, first come first served, except that a session coming back for another transaction
    (the reads after its commit) goes first: its request is nearly done, and should not queue twice."""

    def __init__(self, database: str | None) -> None:
        self.busy = False
        self.holder: asyncio.Task[Any] | None = None  # the task whose transaction has the turn
        self.waiting: deque[asyncio.Future[None]] = deque()
        # Across processes too, for a database in a file (an in-memory one is this process's alone).
        self.across = _ProcessTurn(database) if database and database != ":memory:" and not database.startswith("file:") else None

    async def take(self, again: bool) -> None:
        task = asyncio.current_task()
        if not self.busy and not self.waiting:
            self.busy, self.holder = True, task
            return
        if self.busy and task is not None and self.holder is task:
            # A second writing transaction opened by the task whose transaction has the turn would wait for itself
            # forever, and every later writer of the process behind it: fail at once, naming the mistake.
            raise RuntimeError("a writing transaction waits for the write turn its own task holds; open it before the request's first statement")
        turn = asyncio.get_running_loop().create_future()
        if again:
            self.waiting.appendleft(turn)
        else:
            self.waiting.append(turn)
        try:
            await turn
            self.holder = task
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give()  # handed over just as the request was cancelled: pass it on
            else:
                self.waiting.remove(turn)
            raise

    def give(self) -> None:
        self.holder = None  # the next holder names itself as it resumes
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.busy, self.holder = False, None


# Seconds the running request has waited for the write turn, when someone (foundation.web.admission) counts them: a
# request's own work is its time less these waits.
TURN_WAITS: ContextVar[list[float] | None] = ContextVar("turn_waits", default=None)


class _WriteQueue:
    """The writing transactions of this process on each SQLite database, one at a time. SQLite has one writer at a
    time, and a writer waiting for the lock polls it with growing sleeps (the busy timeout), so this process's
    writers wait their turn here: from their first statement until their transaction ends. A writer waits before
    it takes a connection, so waiting writers never hold the connections readers need, and only the transaction
    waits, not the request around it (parsing, photos, rendering)."""

    def __init__(self) -> None:
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Turns]] = weakref.WeakKeyDictionary()

    def enter(self, session: Session) -> None:
        """Wait for the session's turn if it writes to SQLite and has none (called inside SQLAlchemy's greenlet)."""
        if "write_turn" not in session.info and in_greenlet():
            await_only(self.take(session))

    async def take(self, session: Session) -> None:
        """Wait for the session's turn if it writes to SQLite and has none."""
        bind = session.bind
        if "write_turn" in session.info or bind is None:
            return
        if bind.dialect.name != "sqlite" or not bind.get_execution_options().get(WRITE_OPTION):
            return
        loop = asyncio.get_running_loop()
        database = bind.engine.url.database
        per_loop = self._turns.setdefault(loop, {})
        turns = per_loop.get(str(database))
        if turns is None:
            turns = per_loop[str(database)] = _Turns(database)
        waits, started = TURN_WAITS.get(), time.monotonic()
        await turns.take(again=session.info.get("had_write_turn", False))
        if turns.across is not None:
            try:
                await turns.across.take()
            except BaseException:
                turns.give()
                raise
        if waits is not None:
            waits.append(time.monotonic() - started)
        session.info["write_turn"] = (loop, turns)
        session.info["had_write_turn"] = True

    def held_here(self, database: str | None) -> bool:
        """Whether the running task holds this process's write turn on the database and the turn across processes."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        turns = self._turns.get(loop, {}).get(str(database))
        return turns is not None and turns.across is not None and turns.across.held and turns.holder is asyncio.current_task()

    @staticmethod
    def leave(session: Session) -> None:
        turn = session.info.pop("write_turn", None)
        if turn is None:
            return
        loop, turns = turn
        if turns.across is not None:
            turns.across.give()  # the transaction has ended: another process may write now
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            turns.give()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(turns.give)


_WRITE_QUEUE = _WriteQueue()


class _WritingSession(Session):
    """The session of transactions that write to SQLite: each waits for this process's write queue before it runs."""


@event.listens_for(_WritingSession, "do_orm_execute")
def _turn_before_execute(state: ORMExecuteState) -> None:
    _WRITE_QUEUE.enter(state.session)


@event.listens_for(_WritingSession, "before_flush")
def _turn_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    _WRITE_QUEUE.enter(session)


def take_write_turn(session: Session) -> None:
    """Wait for this process's SQLite write queue, as an ORM statement or a flush does, before a write sent through
    the session's connection itself (the audit log's, at the commit)."""
    if isinstance(session, _WritingSession):
        _WRITE_QUEUE.enter(session)


async def connection_in_turn(session: AsyncSession) -> AsyncConnection:
    """The session's connection for statements sent through it directly (`Direct`), in the write queue's turn first
    when the session writes to SQLite, as its ORM statements would be: the transaction never begins outside it."""
    if isinstance(session.sync_session, _WritingSession):
        await _WRITE_QUEUE.take(session.sync_session)
    return await session.connection()


@event.listens_for(_WritingSession, "after_transaction_end")
def _turn_after_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        _WRITE_QUEUE.leave(session)


WRITE_OPTION = "sqlite_immediate"


def writing(engine: AsyncEngine) -> AsyncEngine:
    """The engine for transactions that write: on SQLite they begin IMMEDIATE; elsewhere it is the engine itself."""
    return engine.execution_options(**{WRITE_OPTION: True}) if engine.dialect.name == "sqlite" else engine


LOOKUP_OPTION = "sqlite_no_begin"


def looking_up(engine: AsyncEngine) -> AsyncEngine:
    """The engine for a connection that runs one read and nothing else (who is behind a login token, on every call):
    no transaction around it, so the read is the only round trip, without a BEGIN before it and a ROLLBACK after
    (on SQLite each is a hand-over to the driver's thread; on PostgreSQL a trip to the server). One statement reads
    one snapshot either way; a connection that reads twice or writes must not use it."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{LOOKUP_OPTION: True})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def create_engine(database_url: str, workers: int = 1, **kwargs: Any) -> AsyncEngine:
    """The engine for a database URL: SQLite gets its pragmas and its folder created. `workers`: how many web worker
    processes share the database's connections (PostgreSQL's pool is shared out among them)."""
    url = make_url(database_url)
    # A statement's values (names, ID numbers, phones, locations) never go into an error's message, and so never into
    # the log with it.
    kwargs.setdefault("hide_parameters", True)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        if url.get_driver_name() == "aiosqlite":
            kwargs.setdefault("module", sqlite_driver.driver())  # one trip to the driver's thread per statement
        engine = create_async_engine(url, **kwargs)
        _prepare_sqlite(engine)
        return engine
    # SQLAlchemy's `pool_pre_ping` is a round trip to the server before every use of a connection (two per request);
    # idle connections only are pinged instead (`_ping_when_idle`), unless the caller asks for it.
    ping_every_checkout = kwargs.setdefault("pool_pre_ping", False)
    # A request holds a connection for its authentication and then for its use case: under a burst of a few
    # hundred requests, 20 connections ran out and requests failed after the pool's 30 s wait. 50 stays well
    # inside PostgreSQL's default max_connections (100), beside a scheduler and the command line. Several web workers
    # share 80 (with 25 each, two workers under the mixed-load burst answered 503 after the pool's wait).
    share = 50 if workers == 1 else max(10, 80 // workers)
    kwargs.setdefault("pool_size", share * 2 // 5)
    kwargs.setdefault("max_overflow", share - share * 2 // 5)
    engine = create_async_engine(url, **kwargs)
    if not ping_every_checkout:
        _ping_when_idle(engine)
    return engine


# A PostgreSQL connection back in the pool for less than this is taken from it without a ping: it answered a moment
# ago. One idle longer (the server may have restarted, a proxy may have cut it) is pinged first and replaced if dead.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a connection taken from the pool after `PING_AFTER_IDLE_SECONDS` there; one that does not answer is
    dropped and the pool gives another (SQLAlchemy's "disconnect handling, pessimistic", for idle connections)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure: the pool drops this connection and checks out another (or a new one)
            raise DisconnectionError(f"an idle connection did not answer a ping: {error}") from error


async def rows_changed(session: AsyncSession, statement: UpdateBase) -> int:
    """Run an UPDATE or DELETE and answer how many rows it matched. AsyncSession.execute is typed to answer a plain
    Result; for these statements it is a CursorResult, which has the count."""
    result = await session.execute(statement)
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(statement).__name__} answered {type(result).__name__}, which does not count rows")
    return result.rowcount


def every_column_bound(table: Any) -> dict[str, Any]:
    """The VALUES of a one-row INSERT of `table` given every column but its surrogate key by name, each bound with
    its column's type (for a statement built once that an INSERT's own parameters cannot fill: one inside a WITH)."""
    return {c.name: bindparam(c.name, type_=c.type) for c in table.c if c.name != "id"}


# The drivers whose adapters `Direct` speaks to (SQLAlchemy's own, for SQLite and PostgreSQL).
_DIRECT_DRIVERS = frozenset({"aiosqlite", "asyncpg"})


class _Prepared(NamedTuple):
    """A statement compiled for one database and one set of parameter names, with what binding needs."""

    sql: str
    binds: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # each placeholder's parameter and its type's processor
    constants: dict[str, Any]  # the statement's own bound values (a literal in its WHERE)
    results: tuple[Callable[[Any], Any] | None, ...]  # each RETURNING column's processor
    row: Callable[..., Any] | None  # a named row of the RETURNING columns


class Direct:
    """A statement that every filing runs, sent to the database driver's adapter directly: SQLAlchemy's execution
    (an execution context, a result object, events), several times the work SQLite does for such a statement, is
    left out. It is compiled once per database and set of parameter names, binds values with its columns' own types
    as SQLAlchemy would, and answers the rows of a SELECT or of an explicit RETURNING, processed by their types and
    named by their columns (a textual statement answers none). The driver's adapter still begins the transaction;
    a failure goes through SQLAlchemy's own handling (its error classes, parameters hidden, a lost connection
    invalidated). Whenever someone watches the engine's statements (an `echo`, a test counting them), or on a
    driver it does not know, it is an ordinary execution."""

    def __init__(self, statement: Select[Unpack[tuple[Any, ...]]] | UpdateBase | TextClause) -> None:
        if not isinstance(statement, Select | UpdateBase | TextClause):
            raise TypeError(f"{type(statement).__name__}: give a SELECT, an INSERT, UPDATE or DELETE, or a textual statement")
        self.statement = statement
        # The columns it answers: a SELECT's, or those its RETURNING asks for (a textual statement answers none).
        self._answers: list[Any] = list(statement.selected_columns if isinstance(statement, Select) else statement.exported_columns if isinstance(statement, UpdateBase) else ())
        self._prepared: dict[tuple[str, str, bool, tuple[str, ...]], _Prepared] = {}

    def _prepare(self, dialect: Any, keys: tuple[str, ...], many: bool) -> _Prepared:
        statement, rows_of = self.statement, self._answers
        if many and rows_of:
            raise ValueError("a statement given many rows answers none: RETURNING needs SQLAlchemy's own executemany")
        # No RETURNING of SQLAlchemy's own (the key of a one-row INSERT on PostgreSQL): only what the statement asks.
        compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=many or not rows_of)
        if compiled.post_compile_params or compiled.literal_execute_params or compiled.escaped_bind_names:
            raise ValueError("a statement whose values are rendered at execution (IN lists, literal values, escaped names) cannot go direct")
        names = tuple(compiled.positiontup or ())
        constants = {}
        for name in names:
            if name in keys:
                continue
            bound = compiled.binds[name]
            if bound.callable is not None or bound.required or bound.value is None:
                # A column default or a value the statement does not carry: an ordinary execution would fill it.
                raise ValueError(f"{name} is not given and the statement has no value of its own for it")
            constants[name] = bound.value
        binds = tuple((name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names)
        results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in rows_of)
        row = namedtuple("Row", [c.key for c in rows_of], rename=True) if rows_of else None  # noqa: PYI024
        return _Prepared(compiled.string, binds, constants, results, row)

    def _ordinary(self, connection: Connection, parameters: Any) -> list[Any]:
        result = connection.execute(self.statement, parameters)
        return list(result.all()) if result.returns_rows and self._answers else []

    def _plan(self, connection: Connection, parameters: Any) -> tuple[_Prepared, Any, bool] | None:
        """The prepared statement, the driver's parameters and whether they are many rows; None: run it ordinarily."""
        dialect = connection.dialect
        if dialect.driver not in _DIRECT_DRIVERS or connection.engine.echo or connection.dispatch.before_cursor_execute or connection.dispatch.after_cursor_execute:
            return None
        if dialect.driver == "aiosqlite" and not sqlite_driver.speaks_directly(connection.connection.dbapi_connection):
            return None
        many = isinstance(parameters, list)
        rows = parameters if many else [parameters]
        keys = tuple(rows[0])
        key = (dialect.name, dialect.driver, many, keys)
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared[key] = self._prepare(dialect, keys, many)
        values = []
        for row in rows:
            given = prepared.constants | row if prepared.constants else row
            try:
                values.append(tuple(given[name] if process is None else process(given[name]) for name, process in prepared.binds))
            except KeyError as missing:
                raise ValueError(f"a row of the statement's parameters lacks {missing}: every row gives the same names") from None
        return prepared, values if many else values[0], many

    def _answer(self, prepared: _Prepared, rows: Any) -> list[Any]:
        if prepared.row is None:
            return []
        return [prepared.row(*(value if process is None else process(value) for value, process in zip(row, prepared.results, strict=True))) for row in rows]

    @staticmethod
    def _cursor(connection: Connection) -> Any:
        cursor: Any = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        if connection.dialect.driver == "asyncpg":
            # As SQLAlchemy's execution does: a statement prepared before a change of the schema is prepared again.
            cursor._invalidate_schema_cache_asof = connection.dialect._invalidate_schema_cache_asof  # type: ignore[attr-defined]
        return cursor

    @staticmethod
    def _failed(connection: Connection, error: BaseException, prepared: _Prepared, values: Any, cursor: Any) -> None:
        """SQLAlchemy's handling of a failed statement (in its greenlet): raises its error for it."""
        dialect = connection.dialect
        if dialect.driver == "asyncpg" and isinstance(error, dialect.loaded_dbapi.InvalidCachedStatementError | dialect.loaded_dbapi.InternalServerError):
            dialect._invalidate_schema_cache()  # type: ignore[attr-defined]
        connection._handle_dbapi_exception(error, prepared.sql, values, cursor, None)

    def run(self, connection: Connection, parameters: dict[str, Any] | list[dict[str, Any]]) -> list[Any]:
        """Run it on a connection inside its transaction (in SQLAlchemy's greenlet: a session hook, `run_sync`);
        its rows, or none. No rows given: nothing runs."""
        if parameters == []:
            return []
        plan = self._plan(connection, parameters)
        if plan is None:
            return self._ordinary(connection, parameters)
        prepared, values, many = plan
        cursor = self._cursor(connection)
        try:
            (cursor.executemany if many else cursor.execute)(prepared.sql, values)
            return self._answer(prepared, cursor.fetchall())
        except connection.dialect.loaded_dbapi.Error as error:
            self._failed(connection, error, prepared, values, cursor)
            raise

    async def run_async(self, on: AsyncSession | AsyncConnection, parameters: dict[str, Any] | list[dict[str, Any]]) -> list[Any]:
        """`run` on a session's connection (in the write queue's turn, as the session's own statements are) or on a
        connection, from the request's own code (no trip into SQLAlchemy's greenlet). No rows given: nothing runs."""
        if parameters == []:
            return []
        if isinstance(on, AsyncConnection):
            connection = on
            if not connection.in_transaction():
                await connection.begin()  # as a first statement would (a look-up's connection sends no BEGIN)
        else:
            connection = await connection_in_turn(on)
        sync = connection.sync_connection
        assert sync is not None  # an AsyncConnection in use has its synchronous one
        plan = self._plan(sync, parameters)
        if plan is None:
            return await connection.run_sync(self._ordinary, parameters)
        prepared, values, many = plan
        cursor = self._cursor(sync)
        try:
            if sync.dialect.driver == "aiosqlite":
                await cursor._send(prepared.sql, values, many)
            elif many:
                await cursor._executemany(prepared.sql, values)  # asyncpg's adapter: it begins the transaction if need be
            else:
                await cursor._prepare_and_execute(prepared.sql, values)
            return self._answer(prepared, cursor.fetchall())
        except Exception as error:
            # SQLAlchemy's handling may close the connection, which it does in its greenlet.
            await connection.run_sync(self._failed, error, prepared, values, cursor)
            raise


class InsertUnlessTaken:
    """An INSERT that stores nothing when a unique key of its row is taken already (ON CONFLICT DO NOTHING, on
    SQLite and PostgreSQL alike), instead of failing: the caller learns it from an empty RETURNING and looks again.
    A failed statement spoils a PostgreSQL transaction, so a use case that checks and then inserts (and may lose
    the race to a concurrent writer) would otherwise need a savepoint, two more round trips, around every attempt.
    Built once (both dialects' statements); `for_session` picks the one of the session's database."""

    def __init__(self, table: Any, *returning: Any) -> None:
        self._statements = {
            "sqlite": sqlite_insert(table).on_conflict_do_nothing().returning(*returning),
            "postgresql": postgresql_insert(table).on_conflict_do_nothing().returning(*returning),
        }

    def for_session(self, session: AsyncSession) -> Any:
        return self.for_dialect(session.get_bind().dialect.name)

    def for_dialect(self, name: str) -> Any:
        return self._statements[name]


def create_session_factory(bind: Any, **kwargs: Any) -> async_sessionmaker[AsyncSession]:
    if isinstance(bind, AsyncEngine) and bind.dialect.name == "sqlite" and bind.get_execution_options().get(WRITE_OPTION):
        kwargs.setdefault("sync_session_class", _WritingSession)
    return async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False, **kwargs)


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One use case's transaction outside a request (a scheduled job, a command, the demo loader): committed when the
    block ends, rolled back when it raises, so a use case failing half-way stores nothing. Use cases themselves never
    commit: they flush, and whoever opened the unit of work (this, or the request's: foundation.web.sessions) ends it."""
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
