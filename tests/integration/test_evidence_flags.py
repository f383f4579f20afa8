"""Evidence-integrity flags (config/RULES.md, "Evidence integrity"): a record is always filed, and flagged for the street
when it has no location, was filed from outside its estate's boundary, shows a photo whose EXIF time is far from the
claimed time, or shows a photo (or a near-duplicate of it) already on another record. Estates' boundaries are GeoJSON
set by the administrator through the API or from a file, refused with a problem saying what is wrong (400 for a body
or file of the wrong shape, 422 for an outline that is not an estate's polygon) and nothing stored."""

from __future__ import annotations

import io
import json
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from foundation.clock import BUSINESS_TZ
from inspections.flags import recheck_boundary
from inspections.tables import InspectionRecord, RecordFlag
from registry.boundaries import wgs84_to_gcj02
from registry.tables import EstateBoundary
from tests.integration.evidence import record_body, upload
from tests.integration.helpers import assert_problem, count, estate_ids_of
from tests.integration.test_pages import page_login

# A square of about 170 m × 220 m around a point of 小白楼 (WGS 84), and positions inside and beyond it.
CENTRE_LAT, CENTRE_LON = 39.1180, 117.2050
HALF = 0.001
SQUARE = {
    "type": "Polygon",
    "coordinates": [[
        [CENTRE_LON - HALF, CENTRE_LAT - HALF], [CENTRE_LON + HALF, CENTRE_LAT - HALF], [CENTRE_LON + HALF, CENTRE_LAT + HALF],
        [CENTRE_LON - HALF, CENTRE_LAT + HALF], [CENTRE_LON - HALF, CENTRE_LAT - HALF],
    ]],
}
INSIDE = {"latitude": CENTRE_LAT, "longitude": CENTRE_LON}
# 0.0045° of latitude north of the northern edge: about 500 m outside; 0.0004°: about 45 m, within the 100 m tolerance.
FAR_OUTSIDE = {"latitude": CENTRE_LAT + HALF + 0.0045, "longitude": CENTRE_LON}
JUST_OUTSIDE = {"latitude": CENTRE_LAT + HALF + 0.0004, "longitude": CENTRE_LON}


def textured(seed: int, *, size: tuple[int, int] = (320, 240), quality: int = 90, taken: datetime | None = None) -> bytes:
    """A photo with a picture in it (a random pattern of blocks, the same for the same seed), as a camera would
    write it: JPEG, with its EXIF time (Beijing time, no zone) when given."""
    rng = random.Random(seed)
    small = Image.new("L", (16, 12))
    small.putdata([rng.randrange(256) for _ in range(16 * 12)])
    image = small.resize(size, Image.Resampling.BICUBIC).convert("RGB")
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken.astimezone(BUSINESS_TZ).strftime("%Y:%m:%d %H:%M:%S")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, exif=exif)
    return buffer.getvalue()


async def page_as(client: Any, username: str, path: str) -> str:
    """A page as the user sees it in a browser (logged in through the form), then logged out again."""
    client.cookies.clear()
    await page_login(client, username)
    try:
        answer = await client.get(path)
        assert answer.status_code == 200, answer.text
        return str(answer.text)
    finally:
        client.cookies.clear()


async def _set_square(client: Any, as_user: Any, estate_id: int) -> None:
    answer = await client.put(f"/api/registry/estates/{estate_id}/boundary", json={"geometry": SQUARE}, headers=await as_user("admin"))
    assert answer.status_code == 200, answer.text


async def _file(client: Any, headers: dict[str, str], estate_id: int, **extra: Any) -> int:
    answer = await client.post("/api/patrols", json=record_body(estate_id, **extra), headers=headers)
    assert answer.status_code == 201, answer.text  # a flag never refuses the filing
    return int(answer.json()["id"])


async def _flags(client: Any, as_user: Any, record_id: int) -> list[dict[str, Any]]:
    answer = await client.get(f"/api/inspections/flags?record_id={record_id}", headers=await as_user("xbl-officer"))
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def test_a_patrol_inside_the_boundary_with_its_own_fresh_photos_raises_no_flag(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    await _set_square(client, as_user, estate)
    first = await upload(client, worker, textured(1, taken=datetime.now(UTC) - timedelta(minutes=30)))
    record = await _file(client, worker, estate, location=INSIDE, photo_ids=[first])
    # A second visit the next hour with a different photo, and one just outside but within the tolerance.
    second = await upload(client, worker, textured(2, taken=datetime.now(UTC) - timedelta(minutes=70)))
    near = await _file(client, worker, (await estate_ids_of(db, "XBL01"))[0], location=JUST_OUTSIDE, photo_ids=[second])
    assert await _flags(client, as_user, record) == []
    assert await _flags(client, as_user, near) == []
    assert await count(db, RecordFlag) == 0


async def test_a_patrol_without_a_location_is_filed_and_flagged_with_the_reason(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    refused = await _file(client, worker, estate, location_missing="refused")
    silent = await _file(client, worker, estate)
    [flag] = await _flags(client, as_user, refused)
    assert flag["kind"] == "location_missing" and flag["location_missing"] == "refused"
    assert flag["record_page_url"] == f"/records/{refused}" and flag["estate_id"] == estate
    [flag] = await _flags(client, as_user, silent)
    assert flag["kind"] == "location_missing" and flag["location_missing"] == "not_sent"
    # The record's page shows it to the street, not to the social worker who filed it.
    assert_problem(await client.get("/api/inspections/flags", headers=worker), 403)
    page = await page_as(client, "xbl-officer", f"/records/{refused}")
    assert "未提供位置" in page and "拒绝了手机定位授权" in page
    assert "核查提示" not in await page_as(client, "xbl01-worker", f"/records/{refused}")
    # The street's integrity desk lists both, newest first, with how many of each kind.
    desk = await page_as(client, "xbl-officer", "/integrity")
    assert desk.index(f"#{silent}</a>") < desk.index(f"#{refused}</a>") and "未提供位置 2 条" in desk


async def test_a_patrol_filed_far_outside_the_boundary_is_flagged_with_the_distance(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    await _set_square(client, as_user, estate)
    record = await _file(client, worker, estate, location=FAR_OUTSIDE)
    [flag] = await _flags(client, as_user, record)
    assert flag["kind"] == "outside_boundary" and flag["tolerance_m"] == 100
    assert 490 <= flag["distance_m"] <= 510, flag  # 0.0045° of latitude is about 500 m
    # Without a boundary nothing is measured: the same position on an estate with none raises no flag.
    other = (await estate_ids_of(db, "XBL01"))[1]
    assert await _flags(client, as_user, await _file(client, worker, other, location=FAR_OUTSIDE)) == []
    assert f"边界外 {flag['distance_m']} 米" in await page_as(client, "xbl-officer", f"/records/{record}")


async def test_a_photo_taken_hours_before_the_claimed_time_is_flagged(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    old = await upload(client, worker, textured(3, taken=datetime.now(UTC) - timedelta(hours=6)))
    fresh = await upload(client, worker, textured(4, taken=datetime.now(UTC) - timedelta(minutes=50)))
    record = await _file(client, worker, estate, location=INSIDE, photo_ids=[old, fresh])
    [flag] = await _flags(client, as_user, record)
    assert flag["kind"] == "exif_time_far" and flag["attachment_id"] == old
    assert 290 <= flag["minutes_apart"] <= 310 and flag["tolerance_minutes"] == 120
    page = await page_as(client, "xbl-officer", f"/records/{record}")
    assert f"照片 #{old}" in page and "拍摄时间" in page


async def test_the_same_photo_or_a_near_copy_on_another_record_is_flagged(client, as_user, db) -> None:
    worker, neighbour = await as_user("xbl01-worker"), await as_user("xbl02-worker")
    mine, theirs = (await estate_ids_of(db, "XBL01"))[0], (await estate_ids_of(db, "XBL02"))[0]
    taken = datetime.now(UTC) - timedelta(minutes=20)
    original = textured(5, taken=taken)
    first_at = datetime.now(UTC) - timedelta(hours=1)
    first = await _file(client, worker, mine, location=INSIDE, photo_ids=[await upload(client, worker, original)], inspected_at=first_at.isoformat())
    assert await _flags(client, as_user, first) == []
    # Another filer, another estate, the same bytes.
    same = await upload(client, neighbour, original)
    copied = await _file(client, neighbour, theirs, photo_ids=[same], location=INSIDE)
    [flag] = [f for f in await _flags(client, as_user, copied) if f["kind"] == "photo_reused"]
    [reuse] = flag["reused_on"]
    assert flag["attachment_id"] == same and reuse["record_id"] == first and reuse["match"] == "identical"
    assert set(reuse["differs"]) == {"estate", "filer"} and reuse["record_page_url"] == f"/records/{first}"
    # The same picture, smaller and compressed again: a near-duplicate by its perceptual hash.
    resized = await upload(client, worker, textured(5, size=(200, 150), quality=60, taken=taken))
    # A day before the first (whatever the hour: "now less a day" can fall on the first's own day just after midnight).
    again = await _file(client, worker, mine, location=INSIDE, photo_ids=[resized], inspected_at=(first_at - timedelta(days=1)).isoformat())
    [flag] = [f for f in await _flags(client, as_user, again) if f["kind"] == "photo_reused"]
    matches = {r["record_id"]: r for r in flag["reused_on"]}
    assert set(matches) == {first, copied}
    assert matches[first]["match"] == "similar" and matches[first]["distance_bits"] <= 6 and matches[first]["differs"] == ["day"]
    # A different picture is no match.
    other = await _file(client, worker, mine, location=INSIDE, photo_ids=[await upload(client, worker, textured(6, taken=taken))])
    assert await _flags(client, as_user, other) == []
    page = await page_as(client, "xbl-officer", f"/records/{again}")
    assert "近似照片" in page and f"记录 #{first}" in page


async def test_the_street_lists_flags_by_kind_estate_and_month(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    first, second = (await estate_ids_of(db, "XBL01"))[:2]
    await _file(client, worker, first)
    await _file(client, worker, second, location_missing="unavailable")
    officer = await as_user("xbl-officer")
    month = datetime.now(BUSINESS_TZ).strftime("%Y-%m")
    listed = (await client.get(f"/api/inspections/flags?kind=location_missing&month={month}", headers=officer)).json()
    assert listed["total"] == 2 and {f["estate_id"] for f in listed["items"]} == {first, second}
    by_estate = (await client.get(f"/api/inspections/flags?estate_id={second}", headers=officer)).json()
    assert [f["location_missing"] for f in by_estate["items"]] == ["unavailable"]
    assert (await client.get("/api/inspections/flags?kind=photo_reused", headers=officer)).json()["total"] == 0
    assert (await client.get("/api/inspections/flags?month=2020-01", headers=officer)).json()["total"] == 0
    # Another street's officer sees none of them.
    assert (await client.get("/api/inspections/flags", headers=await as_user("ns-officer"))).json()["total"] == 0
    assert_problem(await client.get("/api/inspections/flags?kind=nonsense", headers=officer), 400)


async def test_a_bad_boundary_is_refused_with_what_is_wrong_and_nothing_is_stored(client, as_user, db) -> None:
    admin = await as_user("admin")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    url = f"/api/registry/estates/{estate}/boundary"
    lon, lat = CENTRE_LON, CENTRE_LAT
    bowtie = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.001, lat + 0.001], [lon + 0.001, lat], [lon, lat + 0.001], [lon, lat]]]}
    assert_problem(await client.put(url, json={"geometry": bowtie}, headers=admin), 422, "not a valid polygon")
    swapped = {"type": "Polygon", "coordinates": [[[lat, lon], [lat, lon + 0.001], [lat + 0.001, lon + 0.001], [lat, lon]]]}
    assert_problem(await client.put(url, json={"geometry": swapped}, headers=admin), 422, "longitude first")
    unclosed = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.001, lat], [lon + 0.001, lat + 0.001], [lon, lat + 0.002]]]}
    assert_problem(await client.put(url, json={"geometry": unclosed}, headers=admin), 422, "the last equal to the first")
    district = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.2, lat], [lon + 0.2, lat + 0.2], [lon, lat]]]}
    assert_problem(await client.put(url, json={"geometry": district}, headers=admin), 422, "at most 5000 m")
    # Not a polygon at all, or a stray field: the body's shape is wrong (400).
    assert_problem(await client.put(url, json={"geometry": {"type": "Point", "coordinates": [lon, lat]}}, headers=admin), 400)
    assert_problem(await client.put(url, json={"geometry": SQUARE, "name": "x"}, headers=admin), 400)
    assert_problem(await client.put(url, json={"geometry": SQUARE}, headers=await as_user("xbl-officer")), 403)
    # From a file: two features, or not JSON at all, are refused; one Feature is imported.
    two = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": SQUARE, "properties": {}}] * 2}
    for content, status, fragment in ((json.dumps(two).encode(), 422, "exactly one Feature"), (b"\x89PNG not json", 400, "not GeoJSON")):
        answer = await client.post(f"{url}/file", files={"file": ("estate.geojson", content, "application/geo+json")}, headers=admin)
        assert_problem(answer, status, fragment)
    assert await count(db, EstateBoundary) == 0
    assert (await client.get(url, headers=admin)).json()["geometry"] is None
    feature = {"type": "Feature", "properties": {"name": "区片"}, "geometry": SQUARE}
    imported = await client.post(f"{url}/file", files={"file": ("estate.geojson", json.dumps(feature).encode(), "application/geo+json")}, headers=admin)
    assert imported.status_code == 200, imported.text
    body = imported.json()
    assert body["geometry"]["type"] == "Polygon" and body["vertices"] == 5 and 35_000 <= body["area_m2"] <= 40_000
    assert (await client.get(url, headers=await as_user("xbl01-worker"))).json()["vertices"] == 5
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert await count(db, EstateBoundary) == 0
    assert await count(db, InspectionRecord) == 0


async def test_the_administrator_sets_a_boundary_on_the_estates_page(client, db) -> None:
    estate = (await estate_ids_of(db, "XBL01"))[0]
    assert "保存边界" not in await page_as(client, "xbl-officer", f"/registry/estates/{estate}")
    await page_login(client, "admin")
    try:
        form = await client.get(f"/registry/estates/{estate}")
        assert "尚未登记边界" in form.text and "保存边界" in form.text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        lon, lat = CENTRE_LON, CENTRE_LAT
        bowtie = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.001, lat + 0.001], [lon + 0.001, lat], [lon, lat + 0.001], [lon, lat]]]}
        refused = await client.post(f"/registry/estates/{estate}/boundary", files={"geojson": (None, json.dumps(bowtie)), "_csrf_token": (None, token)})
        assert refused.status_code == 422 and "边界线不能自相交" in refused.text
        assert await count(db, EstateBoundary) == 0
        saved = await client.post(f"/registry/estates/{estate}/boundary", files={"geojson": (None, json.dumps(SQUARE)), "_csrf_token": (None, token)})
        assert saved.status_code == 200 and "边界已保存" in saved.text and "已登记边界：5 个点" in saved.text
    finally:
        client.cookies.clear()


async def test_photos_an_amendment_adds_run_the_photo_checks_once(client, as_user, db) -> None:
    worker, neighbour = await as_user("xbl01-worker"), await as_user("xbl02-worker")
    mine, theirs = (await estate_ids_of(db, "XBL01"))[0], (await estate_ids_of(db, "XBL02"))[0]
    fresh = datetime.now(UTC) - timedelta(minutes=20)
    original = textured(11, taken=fresh)
    elsewhere = await _file(client, neighbour, theirs, location=INSIDE, photo_ids=[await upload(client, neighbour, original)])
    record = await _file(client, worker, mine, location=INSIDE)
    assert await _flags(client, as_user, record) == []
    # The correction adds a failed item with a photo taken five hours earlier and a copy of the neighbour's photo.
    old = await upload(client, worker, textured(12, taken=datetime.now(UTC) - timedelta(hours=5)))
    copy = await upload(client, worker, original)
    amend = {"reason": "补充照片：当时漏传", "results": [{"item": "P01", "passed": False, "note": "垃圾满溢", "photo_ids": [old, copy]}]}
    answer = await client.post(f"/api/inspections/{record}/amendments", json=amend, headers=worker)
    assert answer.status_code in (200, 201), answer.text
    flags = {(f["kind"], f["attachment_id"]): f for f in await _flags(client, as_user, record)}
    assert set(flags) == {("exif_time_far", old), ("photo_reused", copy)}
    assert flags[("photo_reused", copy)]["reused_on"][0]["record_id"] == elsewhere
    # A second amendment naming the same photos adds no second flag.
    again = {"reason": "更正说明", "results": [{"item": "P01", "passed": False, "note": "垃圾满溢未清运", "photo_ids": [old, copy]}]}
    answer = await client.post(f"/api/inspections/{record}/amendments", json=again, headers=worker)
    assert answer.status_code in (200, 201), answer.text
    assert len(await _flags(client, as_user, record)) == 2
    assert await count(db, RecordFlag, RecordFlag.record_id == record) == 2


async def test_setting_changing_and_removing_a_boundary_re_evaluates_the_estates_records(client, as_user, db) -> None:
    worker, admin = await as_user("xbl01-worker"), await as_user("admin")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    far, inside = await _file(client, worker, estate, location=FAR_OUTSIDE), await _file(client, worker, estate, location=INSIDE)
    assert await _flags(client, as_user, far) == []  # no boundary yet: nothing measured
    await _set_square(client, as_user, estate)
    [flag] = await _flags(client, as_user, far)
    assert flag["kind"] == "outside_boundary" and 490 <= flag["distance_m"] <= 510 and flag["cleared_at"] is None
    assert await _flags(client, as_user, inside) == []
    await _set_square(client, as_user, estate)  # the same boundary again: nothing new
    assert await count(db, RecordFlag, RecordFlag.record_id == far) == 1
    # The boundary redrawn to take in the position: the flag is cleared (kept, saying when and why), not deleted.
    north = FAR_OUTSIDE["latitude"] + HALF
    moved = {"type": "Polygon", "coordinates": [[[CENTRE_LON - HALF, CENTRE_LAT - HALF], [CENTRE_LON + HALF, CENTRE_LAT - HALF], [CENTRE_LON + HALF, north], [CENTRE_LON - HALF, north], [CENTRE_LON - HALF, CENTRE_LAT - HALF]]]}
    answer = await client.put(f"/api/registry/estates/{estate}/boundary", json={"geometry": moved}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert await _flags(client, as_user, far) == []
    listed = await client.get(f"/api/inspections/flags?record_id={far}&include_cleared=true", headers=await as_user("xbl-officer"))
    [cleared] = listed.json()["items"]
    assert cleared["id"] == flag["id"] and cleared["cleared_at"] and "新边界内" in cleared["cleared_reason"]
    assert "已解除" in await page_as(client, "xbl-officer", f"/records/{far}")
    # Back to the square: flagged again (a new flag), and removing the boundary clears it.
    await _set_square(client, as_user, estate)
    [again] = await _flags(client, as_user, far)
    assert again["id"] != flag["id"]
    assert (await client.delete(f"/api/registry/estates/{estate}/boundary", headers=admin)).status_code in (200, 204)
    assert await _flags(client, as_user, far) == []
    assert await count(db, RecordFlag, RecordFlag.record_id == far) == 2


async def test_a_boundary_change_leaves_the_records_of_a_locked_month_as_judged(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    far = await _file(client, worker, estate, location=FAR_OUTSIDE)
    async with db() as session:
        record = await session.get(InspectionRecord, far)
        assert record is not None
        session.add(EstateBoundary(estate_id=estate, geometry=SQUARE, vertices=5, area_m2=37_000, set_at=datetime.now(UTC), set_by="admin"))
        await session.flush()
        assert await recheck_boundary(session, estate, {record.month}, datetime.now(UTC)) == (0, 0)
        assert await recheck_boundary(session, estate, set(), datetime.now(UTC)) == (1, 0)  # the same month, unlocked
        await session.rollback()


async def test_a_boundary_drawn_on_a_chinese_web_map_is_declared_gcj02_and_kept_in_wgs84(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    lon, lat = wgs84_to_gcj02(CENTRE_LON, CENTRE_LAT)  # the square as a web map shows it, some 500 m off
    drawn = {"type": "Polygon", "coordinates": [[[lon - HALF, lat - HALF], [lon + HALF, lat - HALF], [lon + HALF, lat + HALF], [lon - HALF, lat + HALF], [lon - HALF, lat - HALF]]]}
    answer = await client.put(f"/api/registry/estates/{estate}/boundary", json={"geometry": drawn, "datum": "gcj02"}, headers=await as_user("admin"))
    assert answer.status_code == 200, answer.text
    first = answer.json()["geometry"]["coordinates"][0][0]
    # Kept in WGS 84: back where GPS puts the corner, within a metre (the offset itself varies across the estate).
    assert abs(first[0] - (CENTRE_LON - HALF)) < 1e-5 and abs(first[1] - (CENTRE_LAT - HALF)) < 1e-5
    # A patrol at the estate by GPS (WGS 84) is inside it.
    assert await _flags(client, as_user, await _file(client, worker, estate, location=INSIDE)) == []
    assert_problem(await client.put(f"/api/registry/estates/{estate}/boundary", json={"geometry": drawn, "datum": "bd09"}, headers=await as_user("admin")), 400)
