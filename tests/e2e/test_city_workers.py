"""The system as a city runs it: several web server processes on one database, as if on several machines. On
PostgreSQL each has its own var folder (no shared disk) and keeps photos in the database's blob store; on SQLite they
share the machine's var folder and its file store. Whatever one process stored or signed, another serves or accepts."""

from __future__ import annotations

import re
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from supervision.demo import DEMO_PASSWORD
from tests.database import on_postgres
from tests.integration.evidence import jpeg
from tests.served import migrated_demo, served_environment, server_process

CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def city_database(tmp_root: Path) -> str:
    return migrated_demo(tmp_root, "city")


@pytest.fixture(scope="module")
def two_servers(tmp_root: Path, city_database: str) -> Iterator[tuple[str, str]]:
    """Server A with two worker processes and /metrics on, server B with one worker, one database."""
    url = city_database
    shared = tmp_root / "city-var"
    settings = {"blob_store": "postgresql"} if on_postgres() else {}
    env_a = served_environment(url, var_dir=str(tmp_root / "city-var-a" if on_postgres() else shared), metrics_enabled="true", **settings)
    env_b = served_environment(url, var_dir=str(tmp_root / "city-var-b" if on_postgres() else shared), **settings)
    with server_process(env_a, tmp_root / "city-a.log", "--workers", "2") as (a, _), server_process(env_b, tmp_root / "city-b.log", "--workers", "1") as (b, _):
        yield a, b


def bearer(base: str, username: str) -> dict[str, str]:
    answer = httpx.post(f"{base}/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_a_photo_uploaded_to_one_server_is_served_by_the_other(two_servers: tuple[str, str]) -> None:
    a, b = two_servers
    photo = jpeg()
    worker = bearer(a, "xbl01-worker")
    uploaded = httpx.post(f"{a}/api/attachments", headers=worker, files={"file": ("patrol.jpg", photo, "image/jpeg")}, timeout=30)
    assert uploaded.status_code == 201, uploaded.text
    photo_id = uploaded.json()["id"]
    # The login made on A is valid on B, and B serves the bytes A stored, as uploaded and as a display copy.
    served = httpx.get(f"{b}/api/attachments/{photo_id}", params={"original": "true"}, headers=worker, timeout=30)
    assert served.status_code == 200 and served.content == photo
    assert httpx.get(f"{b}/api/attachments/{photo_id}", headers=worker, timeout=30).status_code == 200
    health = httpx.get(f"{b}/health").json()
    assert health["blob_store"] == ("postgresql" if on_postgres() else "file") and health["blob_store_answers"] is True


def test_a_page_form_from_one_server_is_accepted_by_the_other(two_servers: tuple[str, str]) -> None:
    a, b = two_servers
    with httpx.Client(base_url=a) as on_a, httpx.Client(base_url=b) as on_b:
        form = on_a.get("/login")
        token = CSRF_INPUT.search(form.text)
        assert token is not None, form.text[:500]
        on_b.cookies.update(on_a.cookies)
        logged_in = on_b.post("/login", data={"username": "xbl-officer", "password": DEMO_PASSWORD, "_csrf_token": token.group(1)})
        assert logged_in.status_code in (302, 303), logged_in.text[:500]
        # The page session B opened is honoured by A.
        on_a.cookies.update(on_b.cookies)
        home = on_a.get("/")
        assert home.status_code == 200 and 'data-user="xbl-officer"' in home.text


def test_metrics_count_the_requests_every_worker_answered(two_servers: tuple[str, str]) -> None:
    a, _ = two_servers
    asked = 24
    for street in range(1, asked + 1):
        # A new connection each time, so both worker processes of A take some.
        with httpx.Client() as client:
            assert client.get(f"{a}/api/registry/streets/{street}").status_code == 401
    wanted = 'supervision_http_requests_total{method="GET",route="/api/registry/streets/{street_id}",status="401"} ' + str(asked)
    deadline = time.monotonic() + 10
    while True:
        metrics = httpx.get(f"{a}/metrics")
        if wanted in metrics.text or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert wanted in metrics.text, metrics.text[:3000]
    assert 'supervision_http_request_duration_seconds_count{method="GET",route="/api/registry/streets/{street_id}"} ' + str(asked) in metrics.text
    assert "supervision_late_records_waiting " in metrics.text and "# TYPE supervision_job_runs gauge" in metrics.text
    assert re.fullmatch(r"[0-9a-f]{32}", metrics.headers["x-request-id"])
    assert httpx.get(f"{a}/health", headers={"X-Request-Id": "proxy-42.a"}).headers["x-request-id"] == "proxy-42.a"


def test_stopping_a_server_finishes_the_request_it_has_begun(tmp_root: Path, city_database: str) -> None:
    """SIGTERM while a phone is still sending its request: the request is answered, then the server stops."""
    env = served_environment(city_database, var_dir=str(tmp_root / "shutdown-var"))
    with server_process(env, tmp_root / "shutdown.log", "--workers", "2") as (base, server):
        port = int(base.rsplit(":", 1)[1])
        body = b'{"username": "xbl01-worker", "password": "' + DEMO_PASSWORD.encode() + b'"}'
        with socket.create_connection(("127.0.0.1", port), timeout=30) as phone:
            phone.sendall(
                b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body[:10]
            )
            time.sleep(1)  # the worker has the request's head and waits for the rest of its body
            server.send_signal(signal.SIGTERM)
            time.sleep(1)
            phone.sendall(body[10:])
            answer = b""
            while chunk := phone.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        assert b'"token"' in answer
        assert server.wait(timeout=60) == 0
        # A new connection after the stop is refused: the server is gone.
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{base}/health", timeout=2)
