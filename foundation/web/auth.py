"""Guards by role and the principal dependency; the credentials themselves are resolved by people.auth."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from foundation.access import Principal, Role, require_role
from foundation.errors import NotAuthenticated

SESSION_COOKIE = "supervision_session"
API_KEY_HEADER = "X-API-Key"


# Guards are coroutines: Litestar runs a plain-function guard in a worker thread, a hand-over per guard per request
# for what is a dictionary look-up.


def _require_login(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    if connection.scope.get("user") is None:
        raise NotAuthenticated("log in first: POST /api/auth/login, then send Authorization: Bearer <token>")


async def logged_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: any logged-in principal."""
    _require_login(connection)


def allow(roles: Iterable[Role], action: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Coroutine[Any, Any, None]]:
    """Guard: only principals with one of `roles` (the same role set the service enforces)."""
    allowed = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        _require_login(connection)
        require_role(connection.scope["user"], allowed, action)

    return guard


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Dependency: the logged-in principal (the guards have made sure there is one)."""
    user: Principal | None = request.scope.get("user")
    if user is None:
        raise NotAuthenticated("log in first")
    return user
