"""Short write transactions a route opens itself, apart from the request's own session (`db`): each queues like any
writing transaction (on SQLite, this process's writers take turns: foundation.db), and holds nothing between
them, so a route can do slow work that needs no database (checking a password) without keeping writers waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession


def write_transactions(state: State) -> Any:
    """`async with write_transactions(state)() as session:` one write transaction."""

    @asynccontextmanager
    async def transaction() -> AsyncIterator[AsyncSession]:
        async with state.write_session_factory() as session:
            yield session

    return transaction


def caller_address(request: Request[Any, Any, Any]) -> str:
    """The address a request comes from, as the server sees it (behind a proxy: the proxy's)."""
    return request.client.host if request.client else "unknown"
