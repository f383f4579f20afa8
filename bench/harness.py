"""What the benchmarks share: a server process served on a free loopback port for the length of a block, the
percentile they print, and a page login (cookie session) for the pages they time."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from supervision.demo import DEMO_PASSWORD
from tests.served import free_port

CHECKOUT = Path(__file__).resolve().parent.parent


@contextmanager
def serving(command: list[str], env: dict[str, str], log: Path, cwd: Path = CHECKOUT) -> Iterator[str]:
    """Run `command --port N` (our server or the floor app) until it answers, yield its base URL, stop it after."""
    port = free_port()
    with open(log, "w") as out:
        server = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    httpx.get(f"{base}/health", timeout=1)  # any answer means it listens
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError(f"server did not start; see {log}") from None
                    time.sleep(0.1)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def page_login(client: httpx.AsyncClient, username: str) -> None:
    """Log in through the login form, as a browser does (the client keeps the session cookie)."""
    form = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    answer = await client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "_csrf_token": token})
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"page login of {username}: {answer.status_code} {answer.text[:200]}")
