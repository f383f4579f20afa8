"""Security headers on every answer (pages, API, static files, documents, errors) and the per-request nonce that
lets a page carry an inline script under a strict Content-Security-Policy."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast
from urllib.parse import urlsplit

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.types import Message, Scope

from foundation.settings import Settings

NONCE_KEY = "supervision_csp_nonce"


def csp_nonce(scope: Scope | dict[str, Any]) -> str:
    """The request's nonce: made once per request, the same in the page and in its Content-Security-Policy."""
    # An ASGI scope is a plain dict; Litestar's Scope type names only the ASGI keys, not the one we add.
    entries = cast("dict[str, Any]", scope)
    nonce: str | None = entries.get(NONCE_KEY)
    if nonce is None:
        nonce = entries[NONCE_KEY] = secrets.token_urlsafe(18)
    return nonce


def content_security_policy(nonce: str, form_targets: tuple[str, ...] = ()) -> str:
    """Everything from our own origin; scripts also by the request's nonce; no inline style, no plugin, no frame
    around our pages, forms only to us (pages, scripts and styles are all served by this system) and to
    `form_targets` (the single sign-on provider, which the sign-in form's answer redirects to)."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            " ".join(["form-action 'self'", *form_targets]),
            "frame-ancestors 'none'",
        ]
    )


def security_headers(settings: Settings) -> Callable[[Message, Scope], Awaitable[None]]:
    """A before-send hook of the app: it sees every response start, whichever handler, error mapper or static file
    router made it. A header a route set itself (e.g. an attachment's nosniff) is kept as it is."""
    fixed: list[tuple[bytes, bytes]] = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if settings.cookie_secure:
        # Served through HTTPS (the operator says so): browsers keep to HTTPS for a year.
        fixed.append((b"strict-transport-security", b"max-age=31536000"))

    issuer = urlsplit(settings.oidc_issuer)
    form_targets = (f"{issuer.scheme}://{issuer.netloc}",) if settings.oidc_issuer else ()

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers") or [])
        present = {bytes(name).lower() for name, _ in headers}
        policy = (b"content-security-policy", content_security_policy(csp_nonce(scope), form_targets).encode())
        headers += [(name, value) for name, value in [*fixed, policy] if name not in present]
        message["headers"] = headers

    return add_headers


def register_csp_nonce(engine: JinjaTemplateEngine) -> None:
    """`{{ csp_nonce() }}` in a template: the nonce an inline <script nonce="..."> needs."""

    def template_nonce(context: Mapping[str, Any]) -> str:
        return csp_nonce(context["request"].scope)

    engine.register_template_callable("csp_nonce", template_nonce)
