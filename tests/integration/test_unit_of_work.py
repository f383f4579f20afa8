"""One transaction per use case, ended in one place: a use case refused half-way stores nothing, a refused form
stores nothing, and reading (any GET, of the API or of a page) never writes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar.routes import HTTPRoute
from sqlalchemy import event, select

from assessment.tables import Veto
from foundation.audit import AuditEntry
from foundation.clock import business_today
from foundation.periods import Month
from inspections.tables import Amendment, DefectEvent
from registry.tables import Community, Company, Estate
from tests.integration.evidence import company_user_of, jpeg, record_body, upload
from tests.integration.helpers import assert_problem, audit_count, count, estate_ids_of
from tests.integration.test_assessment import MONTH, month_with_evidence
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf

WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)

# GET routes of the packages being rebuilt on the programme engine (subsidies/, reports/): the estate report PDF (API
# and page download) is issued (stored) the first time it is asked for. They are checked once that rebuild lands;
# every other GET is checked here.


async def test_an_amendment_refused_half_way_stores_nothing(client, as_user, db) -> None:
    """The amendment is stored and the first item's order withdrawn before the second item's order turns out to be
    closed already: the refusal (409) leaves the record, its orders and the audit log as they were."""
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    failed = {"P01": [await upload(client, worker)], "C01": [await upload(client, worker)]}
    record = (await client.post("/api/patrols", json=record_body(estate, failed=failed, passed=()), headers=worker)).json()
    orders = {(await client.get(f"/api/defects/{i}", headers=worker)).json()["item"]: i for i in record["defect_ids"]}
    _, company_user = await company_user_of(db, estate)
    company = await as_user(company_user)
    fixed = await client.post(f"/api/defects/{orders['C01']}/fix", json={"note": "已清运", "photo_ids": [await upload(client, company)]}, headers=company)
    assert fixed.status_code == 200, fixed.text
    closed = await client.post(f"/api/defects/{orders['C01']}/review", json={"accepted": True, "note": "复查合格"}, headers=worker)
    assert closed.json()["state"] == "closed"
    events_before, audit_before = await count(db, DefectEvent), await audit_count(db)

    correction = {"reason": "误判：复核后两项均合格", "results": [{"item": "P01", "passed": True}, {"item": "C01", "passed": True}]}
    refused = await client.post(f"/api/inspections/{record['id']}/amendments", json=correction, headers=worker)

    assert_problem(refused, 409, "already rectified and closed")
    assert await count(db, Amendment) == 0
    assert (await client.get(f"/api/defects/{orders['P01']}", headers=worker)).json()["state"] == "open"
    assert await count(db, DefectEvent) == events_before and await audit_count(db) == audit_before
    shown = (await client.get(f"/api/inspections/{record['id']}", headers=worker)).json()
    assert shown["amendments"] == [] and all(not r["passed"] for r in shown["effective_results"])


async def test_a_refused_veto_form_stores_nothing_and_the_same_form_corrected_is_stored_once(client, db) -> None:
    await page_login(client, "xbl01-director")
    token = await csrf(client)
    estate = (await estate_ids_of(db, "XBL01"))[0]
    form = {"reason": "gate_unattended", "explanation": "连续三晚门岗无人值守，居民反映强烈", "_csrf_token": token}
    vetoes, audit_before = await count(db, Veto), await audit_count(db)
    refused = await client.post(
        f"/committee/estates/{estate}/veto",
        data=form | {"month": str(Month.of(business_today()).next().next())},
        files={"photo": ("gate.jpg", jpeg(), "image/jpeg")},
    )
    assert refused.status_code == 422 and "尚未开始" in refused.text
    assert await count(db, Veto) == vetoes and await audit_count(db) == audit_before
    accepted = await client.post(
        f"/committee/estates/{estate}/veto", data=form | {"month": str(Month.of(business_today()))}, files={"photo": ("gate.jpg", jpeg(), "image/jpeg")}
    )
    assert accepted.status_code == 200 and "待审核" in accepted.text
    assert await count(db, Veto) == vetoes + 1 and await audit_count(db, "veto.opened") == 1


@contextmanager
def statements_written(app: Any) -> Iterator[list[str]]:
    """The writing SQL statements sent to the database while the block runs, whichever session sends them."""
    written: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if WRITES.match(statement):
            written.append(statement.split("(")[0][:80])

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", seen)
    try:
        yield written
    finally:
        event.remove(app.state.engine.sync_engine, "before_cursor_execute", seen)


async def _path_values(client, as_user, db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A real value for each path parameter name, so the GETs reach their handlers' reading, not only a 404."""
    worker = await as_user("xbl01-worker")
    estate, street = await month_with_evidence(client, as_user, db)
    computed = await client.post(f"/api/assessment/months/{street}/{MONTH}/compute", headers=await as_user("xbl-officer"))
    assert computed.status_code == 200, computed.text
    photo = await upload(client, worker)
    record = (await client.post("/api/patrols", json=record_body(estate, failed={"P01": [photo]}), headers=worker)).json()
    async with db() as session:
        community = (await session.execute(select(Community.id).where(Community.code == "XBL01"))).scalar_one()
        company = (await session.execute(select(Company.id).order_by(Company.id))).scalars().first()
        audit = (await session.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc()))).scalars().first()  # type: ignore[union-attr]
        estate_code = (await session.get(Estate, estate)).code  # type: ignore[union-attr]
    month = MONTH  # computed, so the score pages and documents of the month have something to show
    return {
        "estate_id": str(estate), "record_id": str(record["id"]), "defect_id": str(record["defect_ids"][0]), "attachment_id": str(photo),
        "community_id": str(community), "street_id": str(street), "company_id": str(company), "month": month, "period": month,
        "year": str(business_today().year), "audit_id": str(audit), "code": estate_code, "user_id": "1", "organisation_id": "1",
    }


async def test_no_get_writes_anything(app, client, as_user, db) -> None:
    """Every GET route of the app (API and pages), called with real ids by the administrator, a street officer and
    a community worker, sends no INSERT, UPDATE or DELETE to the database."""
    values = await _path_values(client, as_user, db)
    routes = sorted(
        {route.path for route in app.routes if isinstance(route, HTTPRoute) and "GET" in route.methods}
        - {"/static/{file_path:path}"}
    )
    assert len(routes) > 60  # the walk sees the whole app, not a few routes
    writers: dict[str, list[str]] = {}
    for username in ("admin", "xbl-officer", "xbl01-worker"):
        headers = await as_user(username)
        await page_login(client, username)
        for path in routes:
            url = re.sub(r"\{(\w+):\w+\}", lambda m: values.get(m.group(1), "1"), path)
            with statements_written(app) as written:
                response = await client.get(url, headers=headers if url.startswith("/api/") else {})
            assert response.status_code < 500, f"{url}: {response.status_code} {response.text[:300]}"
            if written:
                writers[f"{username} GET {url}"] = written
    assert not writers, writers

