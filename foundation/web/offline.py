"""The service worker of a page that works with no signal, one script for every such page (static/offline-sw.js),
served under the page's own path so that it may control it, with that page's settings put before it; and the answer
the pages' outbox reads when what it sent is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from litestar import Response

from foundation.errors import DomainError
from foundation.web.problems import status_of

STATIC = Path(__file__).resolve().parent / "static"


def offline_worker(name: str, prefix: str, script: str) -> Response[bytes]:
    """`name`: its caches' names (e.g. patrol → patrol-pages, patrol-static); `prefix`: the pages it keeps (/patrol);
    `script`: the page's own script, kept with the others."""
    settings = json.dumps({"name": name, "prefix": prefix, "script": script})
    body = f"var OFFLINE = {settings};\n".encode() + (STATIC / "offline-sw.js").read_bytes()
    return Response(body, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


def outbox_refusal(exc: DomainError) -> Response[dict[str, Any]]:
    """A refusal as the phone's outbox shows it beside the field: the message in Chinese, the field, the English
    detail for support; the status the API gives."""
    return Response({"message": exc.message_zh, "field": exc.field, "detail": exc.detail}, status_code=status_of(exc))
