"""Other software's view of the API: a Python client generated from the served OpenAPI document by a maintained
generator (openapi-python-client, offline) files a patrol (201, then 200 for the retry) and downloads a PDF, with
short operation ids as its function names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from foundation.settings import PROJECT_ROOT
from supervision.demo import DEMO_PASSWORD
from tests.served import Served, served_system

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
CONFIG = PROJECT_ROOT / "config" / "openapi-python-client.yaml"

# Run in a process of its own with only the generated package on its path: what a developer's script would do.
STORY = """
import json, sys, uuid
from datetime import datetime, timedelta, timezone

from estate_client import AuthenticatedClient, Client
from estate_client.api.assessment import compute_month, list_scores
from estate_client.api.documents import download_estate_report, issue_estate_report
from estate_client.api.inspections import checklist, file_patrol
from estate_client.api.people import login, me
from estate_client.api.registry import list_estates
from estate_client.models import ItemResultIn, LoginRequest, RecordIn

base, password = sys.argv[1], sys.argv[2]
told = {}


def log_in(username):
    answer = login.sync(client=Client(base_url=base), body=LoginRequest(username=username, password=password))
    return AuthenticatedClient(base_url=base, token=answer.token, timeout=120)


worker = log_in("xbl01-worker")
items = checklist.sync(client=worker).items
estate = list_estates.sync(client=worker).items[0]
patrol = RecordIn(
    client_id=str(uuid.uuid4()),
    estate_id=estate.id,
    inspected_at=datetime.now(timezone(timedelta(hours=8))),
    results=[ItemResultIn(item=item.code, passed=True) for item in items],
)
first = file_patrol.sync_detailed(client=worker, body=patrol)
again = file_patrol.sync_detailed(client=worker, body=patrol)
told["patrol"] = [first.status_code.value, again.status_code.value, first.parsed.id, again.parsed.id, first.parsed.estate_id]

officer = log_in("xbl-officer")
street_id = me.sync(client=officer)["street_id"]
month = sys.argv[3]
told["compute"] = compute_month.sync_detailed(client=officer, street_id=street_id, month=month).status_code.value
score = list_scores.sync(client=officer, month=month)[0]
issue_estate_report.sync(client=officer, estate_id=score.estate_id, month=month)  # a download never makes the report
report = download_estate_report.sync(client=officer, estate_id=score.estate_id, month=month)
told["report"] = [type(report).__name__, report.payload.read(5).decode("latin-1")]
print(json.dumps(told))
"""


@pytest.fixture(scope="module")
def served(tmp_root: Path) -> Iterator[Served]:
    with served_system(tmp_root, "client") as system:
        yield system


@pytest.fixture(scope="module")
def generated(served: Served, tmp_root: Path) -> Path:
    """The client generated from the document the server serves; the folder holds the package estate_client."""
    folder = tmp_root / "generated-client"
    folder.mkdir(exist_ok=True)
    document = folder / "openapi.json"
    document.write_bytes(httpx.get(f"{served.base_url}/schema/openapi.json").content)
    # The generator formats its output with ruff, which sits beside it in the virtual environment; no network.
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(document), "--config", str(CONFIG), "--meta", "none",
         "--output-path", str(folder / "estate_client"), "--overwrite"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # A warning names an operation or model the generator had to leave out of the client.
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    return folder


def test_generated_client_names_operations_by_what_they_do(generated: Path) -> None:
    api = generated / "estate_client" / "api"
    modules = {f"{p.parent.name}/{p.stem}" for p in api.glob("*/*.py") if p.stem != "__init__"}
    assert {"inspections/file_patrol", "registry/list_estates", "documents/download_batch_summary",
            "documents/download_payment_notice", "documents/download_batch_lines", "documents/download_estate_report",
            "inspections/download_attachment"} <= modules
    # The downloads return the bytes (a File), not a string or nothing.
    for name in ("download_batch_summary", "download_payment_notice", "download_batch_lines", "download_estate_report"):
        assert "File(payload=BytesIO(response.content))" in (api / "documents" / f"{name}.py").read_text()
    assert "File(payload=BytesIO(response.content))" in (api / "inspections" / "download_attachment.py").read_text()


def test_generated_client_files_a_patrol_once_and_downloads_a_pdf(generated: Path, served: Served) -> None:
    from foundation.clock import business_today
    from foundation.periods import Month

    last_month = str(Month.of(business_today()).previous())
    run = subprocess.run(
        [sys.executable, "-c", STORY, served.base_url, DEMO_PASSWORD, last_month],
        env={**os.environ, "PYTHONPATH": str(generated)}, cwd=generated, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    told = json.loads(run.stdout.strip().splitlines()[-1])
    created, replayed, first_id, again_id, _ = told["patrol"]
    assert (created, replayed) == (201, 200)
    assert first_id == again_id
    assert told["compute"] == 200
    assert told["report"] == ["File", "%PDF-"]
