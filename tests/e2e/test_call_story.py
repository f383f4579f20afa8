"""The community-service pipeline in a real browser, from a residents' need to a standing award: a committee
director records a need and its two meetings and sends it to the street, whose officer includes it; the district
takes it into a new version of the year's catalogue; the district opens a venture call against that catalogue item
from its desk, two organisations bid from theirs (on a 390 px phone), the bidding closes, the five panel members
declare, score and sign on their pages, the district publishes the award, anyone reads the publicity without logging
in, and once the publicity has ended with no objection the award stands and the catalogue shows it."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta

import httpx
from playwright.async_api import expect
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col

from community.calls.tables import Award
from foundation.clock import BUSINESS_TZ, utc_now
from tests.e2e.test_community_needs import PHONE, hold_meeting

PANEL = ["expert1", "expert2", "expert3", "xbl-worker1", "xbl-worker2"]


async def end_publicity(database_url: str, call_id: int) -> None:
    """Three days of publicity cannot be waited for in a test: the stored end of the call's publicity is moved to a
    minute ago, as if the days had passed (the system has no clock of its own to turn)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(update(Award).where(col(Award.call_id) == call_id).values(publicity_ends_at=utc_now() - timedelta(minutes=1)))
    finally:
        await engine.dispose()


async def need_in_the_catalogue(open_as, title: str) -> str:  # type: ignore[no-untyped-def]
    """The need recorded, deliberated, approved, sent, included by the street and taken into this year's catalogue
    (a new version, published); returns the catalogue item's title."""
    director = await open_as("xbl01-director")
    await director.set_viewport_size(PHONE)
    await director.goto("/community/needs")
    await director.get_by_label("需求标题").fill(title)
    await director.get_by_label("类别").select_option("养老")
    await director.get_by_label("来源").select_option("楼门长")
    await director.get_by_label("涉及户数").fill("28")
    await director.get_by_label("需求说明").fill("独居老人多，日常无人探访，希望定期上门。")
    await director.get_by_role("button", name="登记需求").click()
    await expect(director.get_by_role("status")).to_have_text("需求已登记。")
    await hold_meeting(director, "协商议事委员会", title, "11", "9", "8", "0")
    await hold_meeting(director, "居民代表大会", title, "41", "33", "30", "1")
    await director.goto("/community/needs")
    card = director.locator("section.card", has_text=title)
    await card.get_by_label("提案摘要（报街道）").fill("经协商、表决通过，申请政府购买独居老人探访服务。")
    await card.get_by_role("button", name="报送街道").click()
    await expect(director.get_by_role("status")).to_have_text("提案已报送街道。")

    officer = await open_as("xbl-officer")
    await officer.goto("/community/proposals")
    card = officer.locator("section.card").filter(has=officer.locator("h2", has_text=title))
    await card.get_by_label("答复", exact=True).select_option(label="纳入街道项目库")
    await card.get_by_role("button", name="提交答复").click()
    await expect(officer.get_by_role("status")).to_have_text("答复已保存。")

    admin = await open_as("admin")
    await admin.goto("/community/catalogues")
    year = datetime.now(BUSINESS_TZ).year
    await admin.get_by_label("年度").fill(str(year))
    await admin.get_by_label("说明", exact=True).fill("增补独居老人探访")
    await admin.get_by_role("button", name="新建草稿").click()
    await expect(admin.get_by_role("status")).to_have_text("草稿已建立。")
    draft = admin.locator("section.card", has_text="草稿").filter(has_text=f"{year} 年目录")
    item = f"独居老人探访（{title[-6:]}）"
    await draft.get_by_label("项目名称").fill(item)
    await draft.get_by_label("类别").select_option("养老")
    await draft.get_by_label("预算（元）").fill("60000")
    await draft.locator("label", has_text=title).locator("input[type=checkbox]").check()
    await draft.get_by_role("button", name="加入项目").click()
    await expect(admin.get_by_role("status")).to_have_text("项目已加入草稿。")
    await admin.locator("section.card", has_text="草稿").filter(has_text=f"{year} 年目录").get_by_role("button", name="发布目录").click()
    await expect(admin.get_by_role("status")).to_have_text("目录已发布，此后不再修改。")
    return item


async def test_a_need_becomes_a_call_two_organisations_bid_the_panel_scores_and_the_award_stands(open_as, new_context, served, screenshot) -> None:  # type: ignore[no-untyped-def]
    title = f"独居老人定期探访 {uuid.uuid4().hex[:6]}"
    item = await need_in_the_catalogue(open_as, title)
    admin = await open_as("admin")
    await admin.goto("/community/calls")
    # The deadline is the next minute but one (a venture call has no minimum period).
    deadline = (datetime.now(BUSINESS_TZ) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    await admin.get_by_label("项目名称").fill("树德里社区独居老人探访")
    await admin.get_by_label("服务类别").select_option("养老")
    await admin.get_by_label("采购方式").select_option("venture")
    option = admin.locator("#catalogue_item_id option", has_text=item)
    await expect(option).to_contain_text("剩余 60,000.00 元")
    await admin.get_by_label("目录项目（本年度政府购买服务项目目录）").select_option(await option.get_attribute("value"))
    await admin.get_by_label("预算（元）").fill("50000")
    await admin.get_by_label("投标截止时间").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    await admin.get_by_role("button", name="发布").click()
    await expect(admin.locator("h1")).to_have_text("树德里社区独居老人探访")
    call_id = int(admin.url.rstrip("/").rsplit("/", 1)[-1])
    await expect(admin.get_by_text("密封")).to_be_visible()
    await expect(admin.get_by_text(f"目录项目：{deadline.year} 年政府购买服务项目目录 · {item}")).to_be_visible()

    # The panel is named through the API (the buyer's desk lists it).
    bearer = served.bearer("admin")
    ids = [httpx.get(f"{served.base_url}/api/auth/me", headers=served.bearer(u)).json()["user_id"] for u in PANEL]
    assert httpx.put(f"{served.base_url}/api/calls/{call_id}/panel", json={"user_ids": ids}, headers=bearer).status_code == 200

    for username, amount in (("org01", "48000"), ("org02", "46500.50")):
        context = await new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        phone = await context.new_page()
        await phone.goto("/login")
        await phone.get_by_label("用户名").fill(username)
        await phone.get_by_label("密码").fill("demo-pass-2026")
        await phone.get_by_role("button", name="登录").click()
        await phone.goto(f"/community/calls/{call_id}")
        await phone.get_by_label("报价（元）").fill(amount)
        await phone.get_by_label("服务方案").fill("每周两次入户探访，建立独居老人档案，紧急情况联络机制。")
        await phone.get_by_label("项目团队").fill("持证社工2名，志愿者12名")
        await phone.get_by_role("button", name="提交投标").click()
        await expect(phone.locator("tbody").get_by_text("有效")).to_be_visible()
        assert await phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        if username == "org02":
            await screenshot(phone, "call-organisation-390")

    # The bidding closes at the deadline; before it nobody else sees a bidder.
    await admin.reload()
    await expect(admin.get_by_text("46,500.50")).to_have_count(0)
    while datetime.now(BUSINESS_TZ) < deadline + timedelta(seconds=2):
        await asyncio.sleep(2)
    await admin.reload()
    await admin.get_by_role("button", name="开标（截止投标）").click()
    await expect(admin.get_by_text("评审中")).to_be_visible()

    for n, username in enumerate(PANEL):
        member = await open_as(username)
        await member.goto(f"/community/panel/{call_id}")
        await member.get_by_role("button", name="提交申报").click()
        for form_index in range(2):
            form = member.locator("form.card").nth(form_index)
            for field_index, value in enumerate(("12", "17", "20", "16", "8", "9")):
                await form.locator("input[type=number]").nth(field_index).fill(str(int(value) - (n + form_index) % 2))
            await form.get_by_role("button", name="保存评分").click()
        await member.get_by_role("button", name="签字确认全部评分").click()
        await expect(member.get_by_text("您已于")).to_be_visible()

    await admin.reload()
    await admin.get_by_role("button", name="结束评审并公示结果").click()
    await expect(admin.get_by_role("cell", name="公示中")).to_be_visible()

    anyone = await (await new_context(locale="zh-CN", viewport={"width": 390, "height": 844})).new_page()
    await anyone.goto(f"/public/calls/{call_id}")
    await expect(anyone.locator("h1")).to_contain_text("结果公示")
    await expect(anyone.locator("tbody tr")).to_have_count(1)
    assert await anyone.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    await screenshot(anyone, "call-publicity-390")

    # The publicity ends with no objection: the award stands, and the catalogue shows what was awarded.
    await end_publicity(served.database_url, call_id)
    await admin.reload()
    await admin.get_by_role("button", name="确认生效").click()
    await expect(admin.get_by_role("cell", name="已生效")).to_be_visible()
    await expect(admin.locator("strong", has_text="已定标")).to_be_visible()
    await admin.goto("/community/catalogues")
    row = admin.locator("tr", has_text=item)
    await expect(row).to_contain_text("已定标")
    await expect(row).to_contain_text(re.compile(r"48,000\.00|46,500\.50"))
    await anyone.reload()
    await expect(anyone.locator("tbody tr").first).to_contain_text("已生效")
