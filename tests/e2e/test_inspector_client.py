"""A third-party firm's software: our Python client and `supervision spotcheck submit`, against the served system."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from foundation.periods import Month
from inspections.client import InspectorApiError, InspectorClient, submit_file
from tests.integration.evidence import jpeg
from tests.served import Served

MONTH = str(Month.of_instant(datetime.now(UTC)))


class LosesFirstAnswer(httpx.BaseTransport):
    """Delivers every request, but loses the server's answer to the first spot check: the client must retry."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path == "/api/spot-checks" and self.lost == 0:
            response.read()
            self.lost += 1
            raise httpx.ReadError("connection reset after the request was sent", request=request)
        return response


@pytest.fixture(scope="module")
def firm_key(served: Served) -> dict[str, object]:
    admin = served.bearer("admin")
    drawn = httpx.post(f"{served.base_url}/api/spot-checks/draws", json={"month": MONTH}, headers=admin)
    assert drawn.status_code in (201, 409), drawn.text
    me = httpx.get(f"{served.base_url}/api/auth/me", headers=served.bearer("inspector1")).json()
    issued = httpx.post(f"{served.base_url}/api/api-keys", json={"organisation_id": me["organisation_id"], "label": "client test"}, headers=admin)
    assert issued.status_code == 201, issued.text
    return {"key": issued.json()["key"], "organisation_id": me["organisation_id"]}


def records_with_client_id(served: Served, client_id: str) -> int:
    answer = httpx.get(f"{served.base_url}/api/inspections?source=spot_check&page_size=200", headers=served.bearer("admin")).json()
    ids = [r["id"] for r in answer["items"]]
    return sum(httpx.get(f"{served.base_url}/api/inspections/{i}", headers=served.bearer("admin")).json()["client_id"] == client_id for i in ids)


def test_the_client_fetches_assignments_and_a_lost_answer_does_not_file_twice(served: Served, firm_key) -> None:
    transport = LosesFirstAnswer()
    with InspectorClient(served.base_url, str(firm_key["key"]), transport=transport, backoff=0.05) as client:
        assignments = client.assignments(month=MONTH, pending=True)
        assert assignments and {a["organisation_id"] for a in assignments} == {firm_key["organisation_id"]}
        assert "G01" in {i["code"] for i in client.checklist()["items"]}
        photo = client.upload_photo(jpeg(), filename="gate.jpg")
        record = {
            "estate_id": assignments[0]["estate_id"],
            "inspected_at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
            "results": [{"item": "G01", "passed": False, "note": "门岗无人值守", "photo_ids": [photo["id"]]}],
        }
        filed = client.file_spot_check(record)
    assert transport.lost == 1
    assert filed["estate_id"] == assignments[0]["estate_id"] and len(filed["defect_ids"]) == 1
    assert records_with_client_id(served, record["client_id"]) == 1


def test_a_spot_check_outside_the_firms_assignments_is_refused_with_the_servers_reason(served: Served, firm_key) -> None:
    admin = served.bearer("admin")
    draw = httpx.get(f"{served.base_url}/api/spot-checks/draws/{MONTH}", headers=admin).json()
    foreign = next(a for a in draw["assignments"] if a["organisation_id"] != firm_key["organisation_id"])
    with InspectorClient(served.base_url, str(firm_key["key"])) as client, pytest.raises(InspectorApiError) as refused:
        client.file_spot_check(
            {"estate_id": foreign["estate_id"], "inspected_at": datetime.now(UTC).isoformat(), "results": [{"item": "C01", "passed": True}]}
        )
    assert refused.value.status == 403 and "not assigned to your firm" in refused.value.problem["detail"]


def test_the_cli_submits_a_json_file_with_photos_and_a_second_submit_files_nothing_new(served: Served, firm_key, tmp_path: Path) -> None:
    with InspectorClient(served.base_url, str(firm_key["key"])) as client:
        pending = client.assignments(month=MONTH, pending=True)
    (tmp_path / "stairs.jpg").write_bytes(jpeg())
    spec = {
        "estate_code": pending[-1]["estate_code"],
        "inspected_at": (datetime.now(UTC) - timedelta(minutes=10)).astimezone().isoformat(),
        "note": "暗访抽查",
        "results": [
            {"item": "C02", "passed": False, "note": "楼梯未清扫", "photos": ["stairs.jpg"]},
            {"item": "G01", "passed": True},
        ],
    }
    path = tmp_path / "check.json"
    path.write_text(json.dumps(spec, ensure_ascii=False))
    command = [sys.executable, "-m", "supervision.cli", "spotcheck", "submit", str(path), "--url", served.base_url]
    env = {**os.environ, "SUPERVISION_API_KEY": str(firm_key["key"])}
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert first.stdout.split()[:4] == second.stdout.split()[:4]  # "filed spot check <same id> ..."
    assert "defect" in first.stdout
    with InspectorClient(served.base_url, str(firm_key["key"])) as client:
        assert submit_file(client, path)["id"] == int(first.stdout.split()[3])
        assert len(client.assignments(month=MONTH, pending=True)) == len(pending) - 1
    missing_key = subprocess.run(command, env={k: v for k, v in env.items() if k != "SUPERVISION_API_KEY"}, capture_output=True, text=True, timeout=60)
    assert missing_key.returncode == 2 and "API key" in missing_key.stderr
