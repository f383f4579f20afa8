"""Spot checks: a stored, repeatable, secret monthly draw; a firm files only its own assignments. Photos."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from fractions import Fraction

from sqlalchemy import select

from foundation.periods import Month
from foundation.settings import get_settings
from inspections.rules import EstateRef, draw_spot_checks
from inspections.tables import InspectionRecord, SpotCheckAssignment
from registry.tables import Community, Estate
from tests.integration.evidence import jpeg, record_body, upload
from tests.integration.helpers import assert_problem, count

MONTH = str(Month.of_instant(datetime.now(UTC)))


async def draw(client, as_user, seed: str = "audit-seed-1") -> dict:
    answer = await client.post("/api/spot-checks/draws", json={"month": MONTH, "seed": seed}, headers=await as_user("admin"))
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_the_draw_is_stratified_stored_with_its_seed_and_repeatable(client, as_user, db) -> None:
    result = await draw(client, as_user)
    assert result["seed"] == "audit-seed-1" and result["estates_in_management"] == 323
    async with db() as session:
        streets = dict((await session.execute(select(Estate.id, Community.street_id).join(Community))).all())
    per_street = Counter(streets[a["estate_id"]] for a in result["assignments"])
    sizes = Counter(streets.values())
    assert set(per_street) == set(sizes)
    assert all(per_street[s] >= math.ceil(Fraction(3, 10) * sizes[s]) for s in sizes)
    # An auditor repeats the draw from the stored seed and gets the same assignments.
    estates = [EstateRef(id=e, street_id=s) for e, s in streets.items()]
    firms = sorted({a["organisation_id"] for a in result["assignments"]})
    assert len(firms) == 3
    again = draw_spot_checks(Month.parse(MONTH), "audit-seed-1", estates, firms, set(), Fraction(3, 10))
    assert again == sorted((a["estate_id"], a["organisation_id"]) for a in result["assignments"])
    assert_problem(await client.post("/api/spot-checks/draws", json={"month": MONTH}, headers=await as_user("admin")), 409, "already drawn")
    assert_problem(await client.post("/api/spot-checks/draws", json={"month": MONTH}, headers=await as_user("xbl-officer")), 403)


async def test_assignments_are_secret_to_the_firm_and_the_district(client, as_user, db) -> None:
    result = await draw(client, as_user)
    mine = (await client.get(f"/api/spot-checks/assignments?month={MONTH}&page_size=200", headers=await as_user("inspector1"))).json()
    assert mine["total"] > 0 and len({a["organisation_id"] for a in mine["items"]}) == 1
    assert mine["total"] < len(result["assignments"])
    for outsider in ("xbl-officer", "xbl01-director", "xbl01-worker", "company01", "finance"):
        assert_problem(await client.get("/api/spot-checks/assignments", headers=await as_user(outsider)), 403)
    assert_problem(await client.get(f"/api/spot-checks/draws/{MONTH}", headers=await as_user("inspector1")), 403)


async def test_a_firm_files_spot_checks_only_for_its_own_assignments_and_once(client, as_user, db) -> None:
    result = await draw(client, as_user)
    firm_x = await as_user("inspector1")
    listed = (await client.get(f"/api/spot-checks/assignments?month={MONTH}", headers=firm_x)).json()
    mine = listed["items"]
    my_firm = mine[0]["organisation_id"]
    others = [a for a in result["assignments"] if a["organisation_id"] != my_firm]
    assert_problem(await client.post("/api/spot-checks", json=record_body(others[0]["estate_id"]), headers=firm_x), 403, "not assigned to your firm")
    photo = await upload(client, firm_x)
    filed = await client.post("/api/spot-checks", json=record_body(mine[0]["estate_id"], failed={"G02": [photo]}), headers=firm_x)
    assert filed.status_code == 201, filed.text
    assert filed.json()["source"] == "spot_check" and filed.json()["organisation_id"] == my_firm
    assert_problem(await client.post("/api/spot-checks", json=record_body(mine[0]["estate_id"]), headers=firm_x), 409, "already filed")
    pending = (await client.get(f"/api/spot-checks/assignments?month={MONTH}&pending=true", headers=firm_x)).json()
    assert pending["total"] == listed["total"] - 1
    # Once filed, the result is evidence the street sees like any other record.
    estate = mine[0]["estate_id"]
    async with db() as session:
        street_code = (await session.execute(select(Community.code).join(Estate).where(Estate.id == estate))).scalar_one()
    officer = await as_user(f"{street_code[:-2].lower()}-officer")
    assert (await client.get(f"/api/inspections/{filed.json()['id']}", headers=officer)).status_code == 200
    assert await count(db, InspectionRecord, InspectionRecord.source == "spot_check") == 1
    assert await count(db, SpotCheckAssignment) == len(result["assignments"])


async def test_an_api_key_files_for_its_firm(client, as_user, db) -> None:
    await draw(client, as_user)
    admin = await as_user("admin")
    firm = (await client.get("/api/auth/me", headers=await as_user("inspector2"))).json()["organisation_id"]
    issued = (await client.post("/api/api-keys", json={"organisation_id": firm, "label": "firm software"}, headers=admin)).json()
    key = {"X-API-Key": issued["key"]}
    mine = (await client.get(f"/api/spot-checks/assignments?month={MONTH}", headers=key)).json()["items"]
    assert mine and all(a["organisation_id"] == firm for a in mine)
    filed = await client.post("/api/spot-checks", json=record_body(mine[0]["estate_id"]), headers=key)
    assert filed.status_code == 201, filed.text


async def test_photos_are_checked_by_content_size_limited_and_private_until_attached(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    fake = await client.post("/api/attachments", files={"file": ("photo.jpg", b"%PDF-1.4 not a photo", "image/jpeg")}, headers=worker)
    assert_problem(fake, 400, "not a readable JPEG")
    limit = get_settings().attachment_max_bytes
    huge = await client.post("/api/attachments", files={"file": ("big.jpg", b"\xff" * (limit + 10), "image/jpeg")}, headers=worker)
    assert_problem(huge, 413, str(limit))
    content = jpeg()
    photo = await upload(client, worker, content)
    assert await upload(client, worker, content) == photo  # the same photo again is the same attachment
    assert (await client.get(f"/api/attachments/{photo}", headers=worker)).content == content
    for outsider in ("xbl-officer", "xbl02-worker", "inspector1", "company01"):
        assert_problem(await client.get(f"/api/attachments/{photo}", headers=await as_user(outsider)), 404)
    estate = (await client.get("/api/registry/estates", headers=worker)).json()["items"][0]["id"]
    await client.post("/api/patrols", json=record_body(estate, failed={"O01": [photo]}), headers=worker)
    shown = await client.get(f"/api/attachments/{photo}", headers=await as_user("xbl-officer"))
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg" and shown.content == content
    assert_problem(await client.get(f"/api/attachments/{photo}", headers=await as_user("xbl02-worker")), 404)

