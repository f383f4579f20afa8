"""The request's unit of work, and the short write transactions a route may open beside it.

Every request that asks for `db` gets one session, and its transaction ends in one place, just before the answer
starts (`end_request_transaction`, a before-send hook): committed when a request that may write is answered with
success (2xx, 3xx), rolled back otherwise: an error, a refused form shown again with 4xx, and every GET, HEAD or
OPTIONS (reading never stores anything). So a client never sees a success for something not stored, and a use case
failing half-way stores nothing. Use cases flush, never commit.

`write_transactions` are short transactions a route opens itself, apart from `db`: each queues like any writing
transaction (on SQLite, this process's writers take turns: foundation.db), and holds nothing between them, so a
route can do slow work that needs no database (checking a password) without keeping writers waiting."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, cast

from litestar import Request
from litestar.datastructures import State
from litestar.types import Message, Scope
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.db import unit_of_work

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OPEN = "supervision.request_session"  # the scope key under which a request's open session waits for its answer


def _entries(scope: Scope) -> dict[str, Any]:
    """An ASGI scope is a plain dict; Litestar's `Scope` type lists only the keys of the ASGI spec, not ours."""
    return cast("dict[str, Any]", scope)


async def provide_db(state: State, request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    """The request's session. Requests that may write get the writing factory (on SQLite their transactions take
    the write lock at once, queued behind this process's other writing transactions: see foundation.db)."""
    writes = request.method not in READ_ONLY_METHODS
    session = (state.write_session_factory if writes else state.session_factory)()
    _entries(request.scope)[_OPEN] = (session, writes)
    try:
        yield session
    except BaseException:
        # The handler failed or was cancelled: roll back now (the error's answer, if one is sent, finds nothing open).
        _entries(request.scope).pop(_OPEN, None)
        await session.close()
        raise


async def end_request_transaction(message: Message, scope: Scope) -> None:
    """Before-send hook: end the request's transaction as its answer starts (see the module docstring)."""
    if message["type"] != "http.response.start":
        return
    held = _entries(scope).pop(_OPEN, None)
    if held is None:
        return
    session, writes = held
    try:
        if writes and 200 <= message["status"] < 400:
            await session.commit()
        else:
            await session.rollback()
    finally:
        await session.close()


def write_transactions(state: State) -> Any:
    """`async with write_transactions(state)() as session:` one write transaction, committed when the block ends."""
    return lambda: unit_of_work(state.write_session_factory)


def caller_address(request: Request[Any, Any, Any]) -> str:
    """The address a request comes from, as the server sees it (behind a proxy: the proxy's)."""
    return request.client.host if request.client else "unknown"
