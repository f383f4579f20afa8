"""The OCDS publication through the pipeline's hook: each announced moment stores one validated release with the
use case, the public API serves the packages byte for byte, and the public pages show the projects in Chinese."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from community.ocds.service import publish_all
from community.ocds.tables import PublishedRelease
from community.ocds.validation import InvalidRelease, package_problems, record_package_problems
from community.records import AWARD, CONTRACT, IMPLEMENTATION, TENDER, Lot, ProjectRecord, announce
from foundation.db import unit_of_work
from tests.integration.helpers import assert_problem
from tests.ocds_records import METHODS, NUMBERS, STAGE_ORDER, TITLES, project_record

PREFIX = "ocds-hpdemo"


async def announce_all(db: async_sessionmaker[AsyncSession], record_stages: list[tuple[ProjectRecord, str]]) -> None:
    """Each moment announced in its own use case, as the calls package does."""
    for record, stage in record_stages:
        async with unit_of_work(db) as session:
            await announce(session, record, stage)


async def stored(db: async_sessionmaker[AsyncSession], ocid: str) -> list[PublishedRelease]:
    async with db() as session:
        query = select(PublishedRelease).where(PublishedRelease.ocid == ocid).order_by(PublishedRelease.sequence)
        return list((await session.execute(query)).scalars().all())


async def published_count(db: async_sessionmaker[AsyncSession]) -> int:
    """How many releases are stored already (the demo district's own calls publish theirs)."""
    async with db() as session:
        return (await session.execute(select(func.count()).select_from(PublishedRelease))).scalar_one()


async def test_every_package_the_system_publishes_validates_against_the_vendored_schema(client, db) -> None:
    before = await published_count(db)
    for call_id, method in enumerate(METHODS, start=1):
        await announce_all(db, [(project_record(method, stage, call_id=call_id), stage) for stage in STAGE_ORDER])
    for method in METHODS:
        response = await client.get(f"/api/ocds/releases/{PREFIX}-{NUMBERS[method]}")
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
        package = response.json()
        assert package_problems(package) == []
        assert package["version"] == "1.1" and package["publisher"]["name"] and package["license"].startswith("https://")
        assert package["uri"].endswith(f"/api/ocds/releases/{PREFIX}-{NUMBERS[method]}")
        assert package["publicationPolicy"].endswith("/public/publication-policy")
        assert [release["tag"] for release in package["releases"]] == [[stage] for stage in STAGE_ORDER]
        assert len({release["id"] for release in package["releases"]}) == len(STAGE_ORDER)
        record = await client.get(f"/api/ocds/records/{PREFIX}-{NUMBERS[method]}")
        assert record.status_code == 200 and record_package_problems(record.json()) == []
        (compiled,) = record.json()["records"]
        assert [linked["tag"] for linked in compiled["releases"]] == [[stage] for stage in STAGE_ORDER]
        assert compiled["compiledRelease"]["tag"] == ["compiled"] and compiled["compiledRelease"]["contracts"][0]["implementation"]
    feed = await client.get("/api/ocds/releases", params={"page_size": 5})
    assert feed.status_code == 200 and package_problems(feed.json()) == []
    assert feed.headers["x-total-count"] == str(before + len(METHODS) * len(STAGE_ORDER))
    assert 'rel="next"' in feed.headers["link"] and "page=2" in feed.headers["link"]
    newest = feed.json()["releases"]
    assert len(newest) == 5 and newest[0]["ocid"] == f"{PREFIX}-{NUMBERS[METHODS[-1]]}" and newest[0]["tag"] == [IMPLEMENTATION]


async def test_the_served_release_is_byte_for_byte_the_stored_one_and_never_changes(client, db, connection) -> None:
    record = project_record(METHODS[0], TENDER)
    await announce_all(db, [(record, TENDER)])
    (first,) = await stored(db, f"{PREFIX}-{record.number}")
    body, digest = first.body, first.sha256
    assert hashlib.sha256(body).hexdigest() == digest
    await announce_all(db, [(project_record(METHODS[0], AWARD), AWARD)])
    rows = await stored(db, f"{PREFIX}-{record.number}")
    assert [row.tag for row in rows] == [TENDER, AWARD]
    assert rows[0].body == body and rows[0].sha256 == digest
    served = (await client.get(f"/api/ocds/releases/{PREFIX}-{record.number}")).content
    assert body in served  # embedded as stored, not re-encoded
    assert b'"amount":298765.43' in body  # 29,876,543 fen, exactly
    for statement in ("UPDATE ocds_releases SET body = body, sha256 = 'x'", "DELETE FROM ocds_releases"):
        savepoint = await connection.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            await connection.execute(text(statement))
        await savepoint.rollback()
    assert (await stored(db, f"{PREFIX}-{record.number}"))[0].body == body


async def test_an_invalid_release_is_refused_and_the_announcing_use_case_stores_nothing(db) -> None:
    record = project_record(METHODS[1], TENDER)
    # Two identical lots make two identical tender items, which the schema refuses (uniqueItems).
    broken = replace(record, lots=(Lot("1", "整体", record.budget_fen), Lot("1", "整体", record.budget_fen)))
    before = await published_count(db)
    with pytest.raises(InvalidRelease, match="OCDS 1.1.5"):
        async with unit_of_work(db) as session:
            session.add(_witness())  # what the use case itself wrote, to see it roll back
            await announce(session, broken, TENDER)
    assert await published_count(db) == before
    assert await stored(db, f"{PREFIX}-{record.number}") == [] and await stored(db, "ocds-hpdemo-W") == []


def _witness() -> PublishedRelease:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    return PublishedRelease(
        ocid="ocds-hpdemo-W",
        release_id="w",
        sequence=1,
        call_id=99,
        tag=TENDER,
        stage_status="open",
        title="w",
        release_date=now,
        published_at=now,
        body=b"{}",
        sha256="0" * 64,
    )


async def test_bids_announced_before_the_deadline_are_not_published(client, db) -> None:
    awarded = project_record(METHODS[1], AWARD)
    early = replace(awarded, status="open", bid_deadline=awarded.awards[0].published_at + timedelta(days=2))
    await announce_all(db, [(early, TENDER)])
    response = await client.get(f"/api/ocds/releases/{PREFIX}-{early.number}")
    (release,) = response.json()["releases"]
    assert "bids" not in release and "awards" not in release and "tenderers" not in release["tender"]
    assert "和平区乐龄社会工作服务中心" not in response.text
    page = await client.get(f"/public/projects/{PREFIX}-{early.number}")
    assert page.status_code == 200 and "截止前任何人不得查看投标文件" in page.text
    assert "和平区乐龄社会工作服务中心" not in page.text


async def test_the_public_pages_show_the_projects_in_chinese_without_login(client, db) -> None:
    method = METHODS[2]
    await announce_all(db, [(project_record(method, stage), stage) for stage in (TENDER, AWARD, CONTRACT, IMPLEMENTATION)])
    await announce_all(db, [(project_record(METHODS[0], TENDER, call_id=2), TENDER)])
    listing = await client.get("/public/projects")
    assert listing.status_code == 200 and '<html lang="zh-CN">' in listing.text
    assert TITLES[method] in listing.text and TITLES[METHODS[0]] in listing.text
    assert "项目实施" in listing.text and "招标公告" in listing.text
    project = await client.get(f"/public/projects/{PREFIX}-{NUMBERS[method]}")
    assert project.status_code == 200
    text_ = project.text
    for shown in (
        "竞争性谈判",
        "预算",
        "450,000.01 元",
        "共 3 家社会组织投标，有效投标 3 份",
        "成交结果公示",
        "公示期",
        "2026-03-20 09:00",
        "第 1 期拨付（30%）",
        "已拨付",
        "中期评估合格后",
    ):
        assert shown in text_, shown
    policy = await client.get("/public/publication-policy")
    assert policy.status_code == 200 and "投标情况在投标截止后才公开" in policy.text and "ocds-hpdemo" in policy.text


async def test_an_unknown_or_malformed_project_is_a_problem_saying_so(client) -> None:
    assert_problem(await client.get(f"/api/ocds/releases/{PREFIX}-XQ-NONE-1"), 404, "XQ-NONE-1")
    assert_problem(await client.get("/api/ocds/releases/not an ocid"), 400)
    assert (await client.get(f"/public/projects/{PREFIX}-XQ-NONE-1")).status_code == 404


async def test_the_feed_says_when_there_is_nothing_on_the_page_asked_for(client, db) -> None:
    before = await published_count(db)
    beyond = before // 50 + 2  # one page past the last, at the default page size of 50
    assert_problem(await client.get("/api/ocds/releases", params={"page": beyond}), 404, f"there are {before} in all")
    await announce_all(db, [(project_record(METHODS[0], TENDER), TENDER)])
    assert (await client.get("/api/ocds/releases")).status_code == 200
    assert_problem(await client.get("/api/ocds/releases", params={"page": beyond}), 404, f"there are {before + 1} in all")


async def test_publish_all_publishes_each_unpublished_call_once(db) -> None:
    records = [
        project_record(method, stage, call_id=index)
        for index, (method, stage) in enumerate(zip(METHODS, (TENDER, AWARD, IMPLEMENTATION), strict=True), start=1)
    ]
    async with unit_of_work(db) as session:
        assert await publish_all(session, records) == 3
    async with unit_of_work(db) as session:
        assert await publish_all(session, records) == 0
    assert [row.tag for row in await stored(db, f"{PREFIX}-{NUMBERS[METHODS[2]]}")] == [IMPLEMENTATION]
    (award,) = await stored(db, f"{PREFIX}-{NUMBERS[METHODS[1]]}")
    assert json.loads(award.body)["tag"] == [AWARD]
