"""Anyone with a phone follows the district's community-service projects: no login, Chinese, 390 px wide."""

from __future__ import annotations

from playwright.async_api import expect

from community.records import AWARD, CONTRACT, IMPLEMENTATION, TENDER, announce
from foundation.db import create_engine, create_session_factory, unit_of_work
from supervision.publishers import subscribe_all
from tests.ocds_records import NEGOTIATION, TITLES, VENTURE, project_record
from tests.served import Served

PHONE = {"width": 390, "height": 844}


async def publish_demo_projects(served: Served) -> None:
    """Announce the moments of two calls into the served system's database, as the calls package does."""
    subscribe_all()
    engine = create_engine(served.database_url)
    try:
        factory = create_session_factory(engine)
        moments = [
            (project_record(NEGOTIATION, stage, call_id=901, number="E2E-TP-001"), stage)
            for stage in (TENDER, AWARD, CONTRACT, IMPLEMENTATION)
        ]
        moments.append((project_record(VENTURE, TENDER, call_id=902, number="E2E-GY-002"), TENDER))
        for record, stage in moments:
            async with unit_of_work(factory) as session:
                await announce(session, record, stage)
    finally:
        await engine.dispose()


async def test_a_resident_reads_a_project_on_a_phone_without_logging_in(new_context, served, screenshot) -> None:
    await publish_demo_projects(served)
    context = await new_context(locale="zh-CN", viewport=PHONE)
    page = await context.new_page()
    await page.goto("/public/projects")
    await expect(page.get_by_role("heading", name="社区服务项目公开")).to_be_visible()
    await expect(page.locator("#projects")).to_contain_text(TITLES[NEGOTIATION])
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await screenshot(page, "public-projects-phone")
    await page.get_by_role("link", name=TITLES[NEGOTIATION]).click()
    await expect(page.get_by_role("heading", name="成交结果公示")).to_be_visible()
    await expect(page.locator("#bids")).to_contain_text("有效投标 3 份")
    await expect(page.locator(".tranches")).to_contain_text("第 1 期拨付（30%）")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await screenshot(page, "public-project-phone")
    await page.goto("/public/projects/ocds-hpdemo-E2E-GY-002")
    await expect(page.locator("#bids")).to_contain_text("截止前任何人不得查看投标文件")
