"""What the benchmarks share: a server process served on a free loopback port for the length of a block, the
percentile they print, and a page login (cookie session) for the pages they time."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col

from foundation.access import Principal, Role
from people.queries import principal_named
from people.tables import User
from supervision.demo import DEMO_PASSWORD
from tests.served import free_port

CHECKOUT = Path(__file__).resolve().parent.parent


class Served(str):
    """A served process's base URL, knowing the process (`cpu_seconds` reads what it has spent)."""

    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the server process has used so far, all its threads."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(command: list[str], env: dict[str, str], log: Path, cwd: Path = CHECKOUT) -> Iterator[Served]:
    """Run `command --port N` (our server or the floor app) until it answers, yield its base URL, stop it after."""
    port = free_port()
    with open(log, "w") as out:
        server = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        base = Served(f"http://127.0.0.1:{port}")
        base.pid = server.pid
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


async def demo_account(session: Any, *, username: str | None = None, role: Role | None = None, **scope: int) -> Principal:
    """A demo account acting as itself (its user id in the audit log, as the separation of duties needs): by username,
    or the first of a role in a street, community or organisation (street_id=3, organisation_id=7)."""
    if username is None:
        query = select(col(User.username)).where(col(User.role) == (role.value if role else None), col(User.active).is_(True))
        for column, value in scope.items():
            query = query.where(getattr(User, column) == value)
        username = (await session.execute(query.order_by(col(User.id)).limit(1))).scalar_one()
    found = await principal_named(session, username)
    if found is None:
        raise LookupError(f"no active demo account {username}")
    return found
