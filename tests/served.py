"""The system as a user runs it: `supervision migrate`, `demo` and `serve` in a real server process, on a database
of its own. The contract fuzzing and the browser tests talk to it over HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from supervision.demo import DEMO_PASSWORD
from tests.database import fresh_database_url


@dataclass(frozen=True)
class Served:
    base_url: str
    database_url: str

    def bearer(self, username: str) -> dict[str, str]:
        answer = httpx.post(f"{self.base_url}/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['token']}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_system(
    folder: Path, name: str, *, settings: Mapping[str, str] | None = None, demo: bool = True, port: int | None = None
) -> Iterator[Served]:
    """Serve a freshly migrated demo district (`demo=False`: an empty one), with `settings` (SUPERVISION_* variables)
    on top of the tests' own, on `port` or a free one; on exit, stop it and fail if the server logged a traceback."""
    url = asyncio.run(fresh_database_url(folder, name))
    # Deprecations are errors in the served process too, as in the test run (pyproject.toml's filterwarnings).
    env = {**os.environ, "SUPERVISION_DATABASE_URL": url, "SUPERVISION_LOG_LEVEL": "WARNING", "PYTHONWARNINGS": "error::DeprecationWarning,error::PendingDeprecationWarning"}
    env.update(settings or {})
    cli = [sys.executable, "-m", "supervision.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    if demo:
        subprocess.run([*cli, "demo"], env=env, check=True, capture_output=True)
    port = port or free_port()
    log_path = folder / f"{name}-server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120  # a loaded CI machine (both suites side by side) starts slowly
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"the server did not start; see {log_path}")
                time.sleep(0.1)
            yield Served(base_url=base, database_url=url)
        finally:
            server.terminate()
            server.wait(timeout=60)  # its web workers finish what they answer, then stop
    server_log = log_path.read_text()
    assert "Traceback" not in server_log, server_log[-4000:]
