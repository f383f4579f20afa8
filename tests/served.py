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


CLI = [sys.executable, "-m", "supervision.cli"]


def served_environment(url: str, **settings: str) -> dict[str, str]:
    """The environment of a served process: the database, quiet logs, and deprecations as errors, as in the test
    run (pyproject.toml's filterwarnings); `settings` are more SUPERVISION_<KEY> values."""
    extra = {f"SUPERVISION_{key.upper()}": value for key, value in settings.items()}
    return {**os.environ, "SUPERVISION_DATABASE_URL": url, "SUPERVISION_LOG_LEVEL": "WARNING", "PYTHONWARNINGS": "error::DeprecationWarning,error::PendingDeprecationWarning", **extra}


@contextmanager
def server_process(env: dict[str, str], log_path: Path, *arguments: str, port: int | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`supervision serve` on `port` or a free one with `env`, answering /health; on exit, stop it (SIGTERM: its web
    workers finish what they answer, then stop) and fail if it logged a traceback."""
    port = port or free_port()
    with open(log_path, "w") as log:
        server = subprocess.Popen([*CLI, "serve", "--port", str(port), *arguments], env=env, stdout=log, stderr=subprocess.STDOUT)
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
            yield base, server
        finally:
            server.terminate()
            server.wait(timeout=60)
    server_log = log_path.read_text()
    assert "Traceback" not in server_log, server_log[-4000:]


def migrated_demo(folder: Path, name: str, *, demo: bool = True) -> str:
    """A fresh database, migrated and (`demo`) loaded with the demo district by the command line, as a user does."""
    url = asyncio.run(fresh_database_url(folder, name))
    env = served_environment(url)
    subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True)
    if demo:
        subprocess.run([*CLI, "demo"], env=env, check=True, capture_output=True)
    return url


@contextmanager
def served_system(
    folder: Path, name: str, *, settings: Mapping[str, str] | None = None, demo: bool = True, port: int | None = None
) -> Iterator[Served]:
    """Serve a freshly migrated demo district (`demo=False`: an empty one), with `settings` (SUPERVISION_* variables)
    on top of the tests' own, on `port` or a free one; on exit, stop it and fail if the server logged a traceback."""
    url = migrated_demo(folder, name, demo=demo)
    env = {**served_environment(url), **(settings or {})}
    with server_process(env, folder / f"{name}-server.log", port=port) as (base, _):
        yield Served(base_url=base, database_url=url)
