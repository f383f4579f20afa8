"""Flash messages: the one way a page action confirms itself. The form's handler answers with a redirect carrying a
signed one-shot cookie (`flashed(Redirect(...), "否决已维持。")`); the next full page shows it at the top of the
layout (base.html, role=status) and the answer that showed it deletes the cookie, so a reload does not repeat it.
Signed so nobody can plant a message in someone else's browser."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Response
from litestar.types import Message, Scope

from foundation.settings import get_settings

FLASH_COOKIE = "supervision_flash"
FLASH_SECONDS = 120  # long enough for a slow phone to follow the redirect, short enough not to surprise later
_SHOWN = "supervision_flash_shown"  # scope key: this answer's page showed the flash, so the answer deletes it

Level = Literal["success", "error"]
R = TypeVar("R", bound=Response[Any])


@dataclass(frozen=True)
class Flash:
    level: Level
    text: str


def _signature(body: str) -> str:
    key = hashlib.sha256(b"supervision-flash|" + get_settings().resolved_secret_key().encode()).digest()
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]


def encode_flash(text: str, level: Level = "success") -> str:
    body = base64.urlsafe_b64encode(json.dumps({"l": level, "t": text}, ensure_ascii=False).encode()).decode().rstrip("=")
    return f"{body}.{_signature(body)}"


def decode_flash(value: str | None) -> Flash | None:
    """The message a cookie carries, or None when there is none or it was not signed by this system."""
    if not value or "." not in value:
        return None
    body, _, signature = value.rpartition(".")
    if not hmac.compare_digest(signature, _signature(body)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("l") not in ("success", "error") or not isinstance(data.get("t"), str):
        return None
    return Flash(level=data["l"], text=data["t"][:300])


def flashed(response: R, text: str, level: Level = "success") -> R:
    """The response (a redirect after a form) with a message for the page it leads to."""
    response.set_cookie(FLASH_COOKIE, encode_flash(text, level), httponly=True, samesite="lax", max_age=FLASH_SECONDS, path="/")
    return response


def register_flash(engine: JinjaTemplateEngine) -> None:
    """`{% set f = flash() %}` in the layout: the message waiting for this browser, marked as shown."""

    def template_flash(context: Mapping[str, Any]) -> Flash | None:
        request = context["request"]
        message = decode_flash(request.cookies.get(FLASH_COOKIE))
        if request.cookies.get(FLASH_COOKIE) is not None:
            cast("dict[str, Any]", request.scope)[_SHOWN] = True
        return message

    engine.register_template_callable("flash", template_flash)


def forget_shown_flash() -> Callable[[Message, Scope], Awaitable[None]]:
    """A before-send hook: the answer whose page showed the flash (or found a bad one) deletes the cookie; behind
    HTTPS (`cookie_secure`) every flash cookie is marked Secure, like the session's."""
    deletion = f"{FLASH_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax".encode()
    prefix = f"{FLASH_COOKIE}=".encode()

    async def forget(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers") or [])
        if cast("dict[str, Any]", scope).get(_SHOWN):
            headers.append((b"set-cookie", deletion))
        if scope["app"].state.settings.cookie_secure:
            headers = [
                (name, value + b"; Secure") if name.lower() == b"set-cookie" and value.startswith(prefix) and b"; secure" not in value.lower() else (name, value)
                for name, value in headers
            ]
        message["headers"] = headers

    return forget
