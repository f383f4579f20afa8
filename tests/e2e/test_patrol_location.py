"""The phone's patrol page asks for the position once per patrol, with the browser's permission: granted, the patrol
carries it; refused, the patrol is filed all the same and flagged for the street as refused (config/RULES.md,
"Evidence integrity flags")."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy import select

from foundation.clock import business_today
from foundation.db import create_engine, create_session_factory
from inspections.tables import InspectionRecord, RecordFlag
from registry.tables import Community, Estate
from supervision.demo import DEMO_PASSWORD
from tests.served import Served

PHONE = {"width": 390, "height": 844}
WHERE = {"latitude": 39.1180, "longitude": 117.2050}


async def _rows(served: Served, query: Any) -> list[Any]:
    engine = create_engine(served.database_url)
    try:
        async with create_session_factory(engine)() as session:
            return list((await session.execute(query)).scalars())
    finally:
        await engine.dispose()


async def _phone(new_context: Any, **options: Any) -> Page:
    context = await new_context(locale="zh-CN", viewport=PHONE, **options)
    page: Page = await context.new_page()
    await page.goto("/login")
    await page.get_by_label("用户名").fill("xbl03-worker")
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_load_state("networkidle")
    return page


async def _patrol(served: Served, page: Page, estate_id: int, status: str) -> InspectionRecord:
    """File the estate's checklist as it opens (every item passed), once the page says where the phone is."""
    await page.goto(f"/patrol/estates/{estate_id}")
    await expect(page.locator("#patrol-location")).to_contain_text(status)
    await page.get_by_role("button", name="提交巡查").click()
    await expect(page.locator("#patrol-done-text")).to_have_text("巡查已提交。")
    filed = await _rows(
        served,
        select(InspectionRecord)
        .where(InspectionRecord.estate_id == estate_id, InspectionRecord.source == "patrol", InspectionRecord.business_date == business_today())
        .order_by(InspectionRecord.id),
    )
    return filed[-1]


async def test_the_patrol_page_sends_the_phones_position_and_a_refusal_is_filed_and_flagged(new_context, served) -> None:
    first, second = (
        await _rows(served, select(Estate).join(Community, Community.id == Estate.community_id).where(Community.code == "XBL03").order_by(Estate.code).limit(2))
    )
    located = await _phone(new_context, geolocation=WHERE, permissions=["geolocation"])
    record = await _patrol(served, located, first.id, "已获取")
    assert (record.latitude_micro, record.longitude_micro) == (39_118_000, 117_205_000)
    assert await _rows(served, select(RecordFlag).where(RecordFlag.record_id == record.id)) == []

    refusing = await _phone(new_context)  # no permission granted: the browser refuses the page's request
    record = await _patrol(served, refusing, second.id, "未获授权")
    assert record.latitude_micro is None
    [flag] = await _rows(served, select(RecordFlag).where(RecordFlag.record_id == record.id))
    assert flag.kind == "location_missing" and flag.evidence == {"reason": "refused"}
