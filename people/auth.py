"""Who is calling: bearer tokens and API keys for the API, a session cookie for pages."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from foundation.access import Principal
from foundation.errors import NotAuthenticated
from foundation.web.auth import API_KEY_HEADER, SESSION_COOKIE
from people.service import principal_for_api_key, principal_for_token


class CredentialsMiddleware(AbstractAuthenticationMiddleware):
    """Resolves the caller into `request.user` (a Principal, or None when anonymous); refusing is the guards' job.
    The API takes `Authorization: Bearer <token>` or `X-API-Key`; pages take the session cookie only, so a
    cookie can never authorise an API call (which is why the API needs no CSRF token)."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        path = connection.scope["path"]
        state = connection.app.state
        # A token is one read: outside any transaction (foundation.db.looking_up), on a bare connection (no ORM
        # session is needed for one row of columns: about a quarter of the read's time on every call).
        lookup = state.lookup
        principal: Principal | None = None
        if path.startswith("/api/"):
            header = connection.headers.get("authorization", "")
            key = connection.headers.get(API_KEY_HEADER.lower(), "")
            if header.lower().startswith("bearer "):
                async with lookup() as reader:
                    principal = await principal_for_token(reader, header[7:].strip(), "api")
            elif key:
                async with state.session_factory() as session:  # the key, then its organisation
                    principal = await principal_for_api_key(session, key.strip())
            if header.lower().startswith("bearer ") or key:
                if principal is None:
                    raise NotAuthenticated("the token or API key is invalid, expired or revoked; log in again", zh="登录已失效，请重新登录")
        else:
            cookie = connection.cookies.get(SESSION_COOKIE)
            if cookie:
                async with lookup() as reader:
                    principal = await principal_for_token(reader, cookie, "page")
        return AuthenticationResult(user=principal, auth=None)
