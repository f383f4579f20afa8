"""What operators see of each request: an id in the answer and on its log lines (JSON when asked for)."""

from __future__ import annotations

import io
import json
import logging

from foundation.logs import JsonFormatter, RequestIdFilter


async def test_every_answer_carries_a_request_id_that_its_log_lines_carry_too(client) -> None:  # type: ignore[no-untyped-def]
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    requests_log = logging.getLogger("supervision.requests")
    requests_log.addHandler(handler)
    level = requests_log.level
    requests_log.setLevel(logging.INFO)
    try:
        mine = await client.get("/health", headers={"X-Request-Id": "proxy-7f3a"})
        theirs = await client.get("/api/registry/streets/999999", headers={"X-Request-Id": "not sane; " * 10})
    finally:
        requests_log.removeHandler(handler)
        requests_log.setLevel(level)
    assert mine.headers["x-request-id"] == "proxy-7f3a"
    generated = theirs.headers["x-request-id"]
    assert len(generated) == 32 and generated != "proxy-7f3a"
    logged = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [(e["request_id"], e["route"], e["status"]) for e in logged] == [("proxy-7f3a", "/health", 200), (generated, "/api/registry/streets/{street_id}", 401)]
    assert all(e["level"] == "INFO" and e["logger"] == "supervision.requests" and e["duration_ms"] >= 0 for e in logged)
