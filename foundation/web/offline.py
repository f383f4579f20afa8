"""The service worker of a page that works with no signal, one script for every such page (static/offline-sw.js),
served under the page's own path so that it may control it, with that page's settings put before it."""

from __future__ import annotations

import json
from pathlib import Path

from litestar import Response

STATIC = Path(__file__).resolve().parent / "static"


def offline_worker(name: str, prefix: str, script: str) -> Response[bytes]:
    """`name`: its caches' names (e.g. patrol → patrol-pages, patrol-static); `prefix`: the pages it keeps (/patrol);
    `script`: the page's own script, kept with the others."""
    settings = json.dumps({"name": name, "prefix": prefix, "script": script})
    body = f"var OFFLINE = {settings};\n".encode() + (STATIC / "offline-sw.js").read_bytes()
    return Response(body, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
