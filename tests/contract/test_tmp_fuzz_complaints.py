"""Schemathesis fuzzes every operation of the OpenAPI document against the served app (a real server process on
a fresh demo database): no server errors, and every answer matches what the document promises."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from foundation.periods import FIRST_YEAR, LAST_YEAR
from tests.served import Served, served_system

# Dates and times inside the supported years (foundation/periods.py): what the API accepts as a date. A date outside
# them is refused with 400 by every body and parameter, which tests/integration/test_bad_input.py proves; generated
# data that the schema calls valid stays inside them, so a 400 here is a real mismatch between document and server.
DAYS = st.dates(min_value=date(FIRST_YEAR, 1, 1), max_value=date(LAST_YEAR, 12, 31))
schemathesis.openapi.format("date", DAYS.map(date.isoformat))
schemathesis.openapi.format(
    "date-time",
    st.datetimes(min_value=datetime(FIRST_YEAR, 1, 2), max_value=datetime(LAST_YEAR, 12, 30), timezones=st.just(UTC)).map(datetime.isoformat),
)

EXAMPLES = int(os.environ.get("SUPERVISION_FUZZ_EXAMPLES", "25"))
# Each operation is called as these users, so the district's, a committee's and a patrol worker's routes are reached.
FUZZ_USERS = ("admin", "xbl01-director", "xbl01-worker")


@pytest.fixture(scope="module")
def served(tmp_root: Path) -> Iterator[Served]:
    with served_system(tmp_root, "contract") as system:
        yield system


@pytest.fixture(scope="module")
def headers(served: Served) -> dict[str, dict[str, str]]:
    return {username: served.bearer(username) for username in FUZZ_USERS}


@pytest.fixture(scope="module")
def api_schema(served: Served):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_url(f"{served.base_url}/schema/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex="open311|complaints")


@schema.parametrize()
# No shrinking: a failure is reported as found, so a failing run stays within CI's time.
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
def test_every_operation_answers_as_documented_and_never_fails(case, headers) -> None:  # type: ignore[no-untyped-def]
    for username in FUZZ_USERS:
        case.call_and_validate(headers=headers[username])
