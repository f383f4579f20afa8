"""A call in a real browser: the district opens a venture call from its desk, two organisations bid from theirs
(on a 390 px phone), the bidding closes, the five panel members declare, score and sign on their pages, the
district publishes the award, and anyone reads the publicity without logging in."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
from playwright.async_api import expect

from foundation.clock import BUSINESS_TZ

PANEL = ["expert1", "expert2", "expert3", "xbl-worker1", "xbl-worker2"]


async def test_a_call_opens_two_organisations_bid_the_panel_scores_and_the_award_is_published(open_as, new_context, served, screenshot) -> None:  # type: ignore[no-untyped-def]
    admin = await open_as("admin")
    await admin.goto("/community/calls")
    # The deadline is the next minute but one (a venture call has no minimum period).
    deadline = (datetime.now(BUSINESS_TZ) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    await admin.get_by_label("项目名称").fill("树德里社区独居老人探访")
    await admin.get_by_label("服务类别").select_option("养老")
    await admin.get_by_label("采购方式").select_option("venture")
    await admin.get_by_label("预算（元）").fill("50000")
    await admin.get_by_label("投标截止时间").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    await admin.get_by_role("button", name="发布").click()
    await expect(admin.locator("h1")).to_have_text("树德里社区独居老人探访")
    call_id = int(admin.url.rstrip("/").rsplit("/", 1)[-1])
    await expect(admin.get_by_text("密封")).to_be_visible()

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
