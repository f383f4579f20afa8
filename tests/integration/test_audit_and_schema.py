"""The audit log records every change and can never be rewritten; the schema comes only from migrations."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from foundation.db import create_engine
from foundation.settings import load_settings
from registry.tables import Street
from supervision.cli import migrate
from supervision.demo import load_demo
from tests.database import fresh_database_url
from tests.integration.helpers import assert_problem, count


async def test_administrators_read_the_log_others_are_refused(client, as_user) -> None:
    admin = await as_user("admin")
    await client.post("/api/registry/streets", json={"code": "AU1", "name": "审计街"}, headers=admin)
    log = (await client.get("/api/audit?entity=street&action=street.created", headers=admin)).json()
    newest = log["items"][0]
    assert newest["after"]["name"] == "审计街" and newest["actor"] == "admin (admin)" and newest["at"]
    for username in ["finance", "xbl-officer", "xbl01-director", "company01"]:
        assert_problem(await client.get("/api/audit", headers=await as_user(username)), 403)


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"])
async def test_the_database_refuses_to_rewrite_the_audit_log(connection, statement: str) -> None:
    savepoint = await connection.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        await connection.execute(text(statement))
    await savepoint.rollback()


async def test_loading_the_demo_twice_adds_nothing(engine, db) -> None:
    streets = await count(db, Street)
    report = await load_demo(engine)
    assert report.loaded is False and await count(db, Street) == streets


async def test_migrations_go_down_and_up_again_cleanly(tmp_root) -> None:
    from alembic import command
    from alembic.config import Config

    from foundation.settings import PROJECT_ROOT

    url = await fresh_database_url(tmp_root, "roundtrip")
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "base")
    await asyncio.to_thread(migrate, load_settings(database_url=url))
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        from alembic.script import ScriptDirectory

        assert version == ScriptDirectory.from_config(config).get_current_head()
    finally:
        await engine.dispose()


async def test_unknown_addresses_answer_with_a_problem_document(client) -> None:
    assert_problem(await client.get("/api/no-such-thing"), 404, "/api/no-such-thing")


async def test_health_says_which_database_answers(client, engine) -> None:
    body = (await client.get("/health")).json()
    assert body == {"status": "ok", "database": engine.dialect.name, "database_answers": True, "blob_store": "file", "blob_store_answers": True}


# Operation ids other software's generated clients are written against: changing one breaks their code.
PINNED_OPERATION_IDS = {
    ("post", "/api/auth/login"): "login",
    ("get", "/api/checklist"): "checklist",
    ("post", "/api/patrols"): "filePatrol",
    ("post", "/api/spot-checks"): "fileSpotCheck",
    ("get", "/api/spot-checks/assignments"): "listSpotCheckAssignments",
    ("get", "/api/registry/estates"): "listEstates",
    ("get", "/api/registry/summary"): "registrySummary",
    ("get", "/api/subsidies/runs"): "listRuns",
    ("get", "/api/subsidies/runs/{run_id}"): "getRun",
    ("get", "/api/jobs/{name}/runs"): "listJobRuns",
    ("post", "/api/jobs/{name}/run"): "runJob",
    ("get", "/api/subsidies/batches/{batch_id}/summary.pdf"): "downloadBatchSummary",
    ("get", "/api/subsidies/batches/{batch_id}/notices/{company_id}"): "downloadPaymentNotice",
    ("get", "/api/subsidies/batches/{batch_id}/lines.xlsx"): "downloadBatchLines",
    ("get", "/api/assessment/scores/{estate_id}/{month}/report.pdf"): "downloadEstateReport",
    ("get", "/api/attachments/{attachment_id}"): "downloadAttachment",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def operations(document: dict) -> dict[tuple[str, str], dict]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "patch", "delete")
    }


async def test_operation_ids_are_short_unique_and_stable(client, app) -> None:
    from foundation.web.openapi import OPERATION_IDS, handler_key

    document = (await client.get("/schema/openapi.json")).json()
    ids = [operation["operationId"] for operation in operations(document).values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    # camelCase words of the handler, never the path spelled out (api_patrols_file_patrol, ApiPatrolsFilePatrol).
    assert all(re.fullmatch(r"[a-z][a-zA-Z0-9]{1,40}", i) and not i.startswith("api") for i in ids), ids
    assert {key: operations(document)[key]["operationId"] for key in PINNED_OPERATION_IDS} == PINNED_OPERATION_IDS
    # Every explicit id still names a handler of the app (a renamed handler would silently lose its id).
    handlers = {handler_key(h) for route in app.routes for h in getattr(route, "route_handlers", [])}
    assert set(OPERATION_IDS) <= handlers, set(OPERATION_IDS) - handlers


async def test_every_schema_of_the_document_has_a_plain_name_its_references_find(client) -> None:
    """Two packages naming a struct alike (VoteOut, ContractIn) make the document name them after their modules and
    its references miss them, so generated clients drop those answers: names stay unique and every $ref resolves."""
    document = (await client.get("/schema/openapi.json")).json()
    names = set(document["components"]["schemas"])
    qualified = sorted(name for name in names if re.match(r"^[a-z][a-z0-9]*_", name))  # e.g. subsidies_relief_routes_DocumentUpload
    assert not qualified, qualified
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document)))
    assert refs <= names, sorted(refs - names)


async def test_downloads_are_declared_as_binary_with_their_media_type(client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    declared = {
        key: operation["responses"]["200"]["content"]
        for key, operation in operations(document).items()
        if key in PINNED_OPERATION_IDS and PINNED_OPERATION_IDS[key].startswith("download")
    }
    expected_media = {"downloadBatchSummary": "application/pdf", "downloadPaymentNotice": "application/pdf",
                      "downloadEstateReport": "application/pdf", "downloadBatchLines": XLSX, "downloadAttachment": "image/*"}
    for key, content in declared.items():
        media = expected_media[PINNED_OPERATION_IDS[key]]
        assert list(content) == [media], (key, content)
        assert content[media]["schema"]["type"] == "string" and content[media]["schema"]["format"] == "binary", key
    # No success answer anywhere is a bare string of unknown kind: it is JSON, text, or declared binary.
    for key, operation in operations(document).items():
        for status, response in operation["responses"].items():
            for media, body in (response.get("content") or {}).items():
                if status.startswith("2") and "json" not in media and not media.startswith("text/"):
                    assert body["schema"].get("format") == "binary", (key, media)


async def test_a_retried_patrol_is_documented_as_200_with_the_record(client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    responses = operations(document)[("post", "/api/patrols")]["responses"]
    assert responses["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/RecordOut"}
    assert responses["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/RecordOut"}
