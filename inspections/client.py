"""The Python client for third-party inspection firms: fetch the month's assignments, upload photos, file spot
checks. Retries on a bad connection or a busy server are safe: a spot check carries its client id, so the server
files it once however often it is sent, and a photo is stored by its content.

    from inspections.client import InspectorClient
    with InspectorClient("https://supervision.example", api_key="...") as client:
        for assignment in client.assignments(month="2026-10", pending=True):
            ...
        photo = client.upload_photo("stairs.jpg")
        client.file_spot_check({"estate_id": 12, "inspected_at": "2026-10-12T09:30:00+08:00", "results": [...]})
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

RETRY_STATUSES = frozenset({429, 502, 503, 504})


class InspectorApiError(Exception):
    """The server refused the request; `problem` is its RFC 9457 problem document."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")


class InspectorClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.retries = retries
        self.backoff = backoff
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"X-API-Key": api_key, "User-Agent": "supervision-inspector-client/1"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> InspectorClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send, retrying connection failures and 429/502/503/504 with growing pauses; raise on any other error."""
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
            else:
                if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                    break
            time.sleep(self.backoff * 2**attempt)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.reason_phrase, "detail": response.text[:500]}
            raise InspectorApiError(response.status_code, problem)
        return response

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The JSON object an endpoint answers (every endpoint this client calls answers one)."""
        body: dict[str, Any] = self._request(method, path, **kwargs).json()
        return body

    def checklist(self) -> dict[str, Any]:
        return self._object("GET", "/api/checklist")

    def assignments(self, month: str | None = None, pending: bool = False) -> list[dict[str, Any]]:
        """Every assignment of the firm (of one month, or only those not filed yet), all pages."""
        return list(self._pages("/api/spot-checks/assignments", {"month": month, "pending": str(pending).lower()}))

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            query = {k: v for k, v in params.items() if v is not None} | {"page": page, "page_size": 200}
            body = self._request("GET", path, params=query).json()
            yield from body["items"]
            if page * body["page_size"] >= body["total"]:
                return
            page += 1

    def upload_photo(self, photo: str | Path | bytes, filename: str | None = None, taken_at: str | None = None) -> dict[str, Any]:
        """Upload a photo; returns its attachment (use its `id` in `photo_ids`). The same photo again is the same
        attachment."""
        if isinstance(photo, str | Path):
            filename = filename or Path(photo).name
            photo = Path(photo).read_bytes()
        data = {"taken_at": taken_at} if taken_at else {}
        files = {"file": (filename or "photo.jpg", photo, "application/octet-stream")}
        return self._object("POST", "/api/attachments", files=files, data=data)

    def file_spot_check(self, record: dict[str, Any]) -> dict[str, Any]:
        """File a spot check. A `client_id` is added to `record` if it has none, so calling again with the same
        dict after a failure cannot file it twice."""
        record.setdefault("client_id", str(uuid.uuid4()))
        return self._object("POST", "/api/spot-checks", json=record)


def submit_file(client: InspectorClient, path: Path) -> dict[str, Any]:
    """File the spot check described by a JSON file (see `supervision spotcheck submit --help`): photos named in
    it are uploaded first, relative to the file; an `estate_code` is looked up in the firm's assignments. Without
    a `client_id`, one is made from the file's content, so submitting the same file again files nothing new."""
    raw = path.read_bytes()
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(spec, dict) or "results" not in spec or "inspected_at" not in spec:
        raise ValueError(f"{path} needs at least inspected_at, results and estate_id or estate_code")
    record: dict[str, Any] = {k: v for k, v in spec.items() if k not in ("estate_code", "results")}
    record.setdefault("client_id", "file-" + hashlib.sha256(raw).hexdigest()[:48])
    if "estate_id" not in record:
        code = spec.get("estate_code")
        month = str(spec["inspected_at"])[:7]
        matches = [a for a in client.assignments(month=month) if a["estate_code"] == code]
        if not matches:
            raise ValueError(f"estate {code!r} is not among your firm's assignments for {month}")
        record["estate_id"] = matches[0]["estate_id"]
    results = []
    for result in spec["results"]:
        result = dict(result)
        photos = result.pop("photos", [])
        ids = list(result.get("photo_ids", []))
        for name in photos:
            ids.append(client.upload_photo(path.parent / name)["id"])
        if ids:
            result["photo_ids"] = ids
        results.append(result)
    record["results"] = results
    return client.file_spot_check(record)
