"""What the web app tells its operators about each request: an id (the caller's X-Request-Id when it is a sane
token, else a new one) echoed in the answer's X-Request-Id and put on every log line of the request, one access
line (method, route template, status, milliseconds: never the query string or a body), and, when metrics are on,
the request counted by method, route template and status with its latency in a histogram.

Counts are kept per worker process and summed at scrape: each worker writes its counts to
`<var_dir>/metrics/worker-<pid>.json` at most a second after a request (whole files, by rename), and /metrics adds
every worker's file to the answering worker's live counts, so a scrape through the shared port sees every worker.
`supervision serve` empties the folder as it starts; files of workers that died stay, so counters never go back."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from foundation.logs import REQUEST_ID

log = logging.getLogger("supervision.requests")
REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Seconds: from a cached page (a few ms) to a batch's PDF pack (seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FLUSH_SECONDS = 1.0


class RequestMetrics:
    """This process's request counts and latency histograms, and the sum over every worker's at scrape time."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        # (method, route) -> per-bucket counts (not cumulative; the last is above every bucket), then sum and count
        self.latency: dict[tuple[str, str], list[float]] = {}
        self._flush_due: asyncio.TimerHandle | None = None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, str(status))] += 1
        counts = self.latency.setdefault((method, route), [0.0] * (len(LATENCY_BUCKETS) + 3))
        index = next((i for i, bound in enumerate(LATENCY_BUCKETS) if seconds <= bound), len(LATENCY_BUCKETS))
        counts[index] += 1
        counts[-2] += seconds
        counts[-1] += 1
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self.folder is None or self._flush_due is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_due = loop.call_later(FLUSH_SECONDS, self.flush)

    def _own_file(self) -> Path | None:
        return None if self.folder is None else self.folder / f"worker-{os.getpid()}.json"

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": [[*key, value] for key, value in self.requests.items()],
            "latency": [[*key, values] for key, values in self.latency.items()],
        }

    def flush(self) -> None:
        """Write this process's counts for the other workers' scrapes (a whole file, by rename)."""
        self._flush_due = None
        path = self._own_file()
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)  # emptied by a `supervision serve` starting beside us
        draft = path.with_suffix(".tmp")
        draft.write_text(json.dumps(self.snapshot()))
        os.replace(draft, path)

    def merged(self) -> tuple[dict[tuple[str, str, str], int], dict[tuple[str, str], list[float]]]:
        """Every worker's counts: this one's live, the others' as last written."""
        requests: dict[tuple[str, str, str], int] = defaultdict(int, self.requests)
        latency = {key: list(values) for key, values in self.latency.items()}
        own = self._own_file()
        for path in sorted(self.folder.glob("worker-*.json")) if self.folder is not None else []:
            if path == own:
                continue
            try:
                other = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # a worker's file that vanished while read: counted at the next scrape
            for method, route, status, value in other["requests"]:
                requests[(method, route, status)] += int(value)
            for method, route, values in other["latency"]:
                mine = latency.setdefault((method, route), [0.0] * len(values))
                for i, value in enumerate(values):
                    mine[i] += value
        return requests, latency

    def render(self) -> list[str]:
        requests, latency = self.merged()
        lines = [
            "# HELP supervision_http_requests_total Requests answered, by method, route template and status.",
            "# TYPE supervision_http_requests_total counter",
        ]
        for (method, route, status), value in sorted(requests.items()):
            lines.append(f"supervision_http_requests_total{labels(method=method, route=route, status=status)} {value}")
        lines += [
            "# HELP supervision_http_request_duration_seconds Time from a request's arrival to the end of its answer.",
            "# TYPE supervision_http_request_duration_seconds histogram",
        ]
        for (method, route), values in sorted(latency.items()):
            cumulative = 0.0
            for bound, count in zip((*LATENCY_BUCKETS, None), values[: len(LATENCY_BUCKETS) + 1], strict=True):
                cumulative += count
                le = "+Inf" if bound is None else repr(bound)
                lines.append(f"supervision_http_request_duration_seconds_bucket{labels(method=method, route=route, le=le)} {cumulative:g}")
            lines.append(f"supervision_http_request_duration_seconds_sum{labels(method=method, route=route)} {values[-2]:.6f}")
            lines.append(f"supervision_http_request_duration_seconds_count{labels(method=method, route=route)} {values[-1]:g}")
        return lines


def labels(**values: str) -> str:
    """Prometheus label set, values escaped as its text format asks."""
    escaped = (f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34)).replace(chr(10), chr(92) + "n")}"' for key, value in values.items())
    return "{" + ",".join(escaped) + "}"


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestTelemetry:
    """ASGI wrapper around the whole app (404s of unknown addresses included): request id, access line, metrics."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        token = REQUEST_ID.set(request_id)
        status = 500  # what the server sends when the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = str(scope.get("path_template") or "unmatched")
            method = str(scope.get("method", "?"))
            log.info("%s %s %s %.1fms", method, route, status, seconds * 1000, extra={"method": method, "route": route, "status": status, "duration_ms": round(seconds * 1000, 1)})
            if self.metrics is not None:
                self.metrics.observe(method, route, status, seconds)
            REQUEST_ID.reset(token)
