"""Who is calling: bearer tokens and API keys for the API, a session cookie for pages; guards by role."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from supervision.core.access import Principal, Role, require_role
from supervision.core.errors import NotAuthenticated
from supervision.people.service import principal_for_api_key, principal_for_token

SESSION_COOKIE = "supervision_session"
API_KEY_HEADER = "X-API-Key"


class CredentialsMiddleware(AbstractAuthenticationMiddleware):
    """Resolves the caller into `request.user` (a Principal, or None when anonymous); refusing is the guards' job.
    The API takes `Authorization: Bearer <token>` or `X-API-Key`; pages take the session cookie only, so a
    cookie can never authorise an API call (which is why the API needs no CSRF token)."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        path = connection.scope["path"]
        factory = connection.app.state.session_factory
        principal: Principal | None = None
        if path.startswith("/api/"):
            header = connection.headers.get("authorization", "")
            key = connection.headers.get(API_KEY_HEADER.lower(), "")
            if header.lower().startswith("bearer ") or key:
                async with factory() as session:
                    if header.lower().startswith("bearer "):
                        principal = await principal_for_token(session, header[7:].strip(), "api")
                    else:
                        principal = await principal_for_api_key(session, key.strip())
                if principal is None:
                    raise NotAuthenticated("the token or API key is invalid, expired or revoked; log in again")
        else:
            cookie = connection.cookies.get(SESSION_COOKIE)
            if cookie:
                async with factory() as session:
                    principal = await principal_for_token(session, cookie, "page")
        return AuthenticationResult(user=principal, auth=None)


def logged_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: any logged-in principal."""
    if connection.scope.get("user") is None:
        raise NotAuthenticated("log in first: POST /api/auth/login, then send Authorization: Bearer <token>")


def allow(roles: Iterable[Role], action: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """Guard: only principals with one of `roles` (the same role set the service enforces)."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        logged_in(connection, handler)
        require_role(connection.scope["user"], allowed, action)

    return guard


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Dependency: the logged-in principal (the guards have made sure there is one)."""
    user = request.scope.get("user")
    if user is None:
        raise NotAuthenticated("log in first")
    return user
