"""In Chromium on a phone's width: a committee director records a residents' need, holds its two meetings (the
consultation committee deliberates, the residents' assembly approves) and sends it to the street, whose officer
takes it into the street's project pool."""

from __future__ import annotations

import uuid

from playwright.async_api import Page, expect

PHONE = {"width": 390, "height": 844}


async def fits_the_phone(page: Page) -> None:
    """Nothing wider than the screen: no sideways scrolling at 390 px."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px phone"


async def hold_meeting(page: Page, body: str, title: str, members: str, present: str, in_favour: str, against: str) -> None:
    await page.goto("/community/meetings")
    await page.get_by_label("会议", exact=True).select_option(label=body)
    need = await page.locator("#meeting-need option", has_text=title).get_attribute("value")
    assert need
    await page.get_by_label("表决的需求").select_option(need)
    await page.get_by_label("地点").fill("树德里社区议事厅")
    await page.get_by_label("成员人数").fill(members)
    await page.get_by_label("出席人数").fill(present)
    await page.get_by_label("赞成").fill(in_favour)
    await page.get_by_label("反对").fill(against)
    await page.get_by_label("会议记录").fill(f"{body}讨论“{title}”，同意提交下一步。")
    await page.get_by_role("button", name="记录会议").click()
    await expect(page.get_by_role("status")).to_have_text("会议已记录。")
    await expect(page.locator("section.card", has_text=title).first).to_contain_text("通过")
    await fits_the_phone(page)


async def test_a_director_records_a_need_and_its_two_meetings_and_the_street_includes_the_proposal(open_as, screenshot) -> None:
    title = f"楼内老人助餐 {uuid.uuid4().hex[:6]}"
    director = await open_as("xbl01-director")
    await director.set_viewport_size(PHONE)
    await director.get_by_role("link", name="居民需求").click()
    await director.get_by_label("需求标题").fill(title)
    await director.get_by_label("类别").select_option("养老")
    await director.get_by_label("来源").select_option("楼门长")
    await director.get_by_label("涉及户数").fill("abc")
    await director.get_by_role("button", name="登记需求").click()
    await expect(director.get_by_role("alert")).to_contain_text("涉及户数填写有误")
    await director.get_by_label("涉及户数").fill("36")
    await director.get_by_label("需求说明").fill("独居老人午餐无人照应，希望设助餐点。")
    await director.get_by_role("button", name="登记需求").click()
    await expect(director.get_by_role("status")).to_have_text("需求已登记。")
    card = director.locator("section.card", has_text=title)
    await expect(card).to_contain_text("待协商")
    await fits_the_phone(director)

    # Without a quorum the meeting may not vote, and says why.
    await director.goto("/community/meetings")
    await director.get_by_label("会议", exact=True).select_option(label="协商议事委员会")
    await director.get_by_label("地点").fill("树德里社区议事厅")
    await director.get_by_label("成员人数").fill("11")
    await director.get_by_label("出席人数").fill("5")
    await director.get_by_label("赞成").fill("5")
    await director.get_by_label("反对").fill("0")
    await director.get_by_label("会议记录").fill("出席人数不足的一次会议。")
    await director.get_by_role("button", name="记录会议").click()
    await expect(director.get_by_role("alert").first).to_contain_text("出席人数不足")

    await hold_meeting(director, "协商议事委员会", title, "11", "9", "7", "1")
    await hold_meeting(director, "居民代表大会", title, "41", "33", "28", "3")
    await director.goto("/community/needs")
    card = director.locator("section.card", has_text=title)
    await expect(card).to_contain_text("已通过，待报街道")
    await card.get_by_label("提案摘要（报街道）").fill("经协商议事委员会协商、居民代表大会表决通过，申请纳入政府购买服务项目。")
    await card.get_by_role("button", name="报送街道").click()
    await expect(director.get_by_role("status")).to_have_text("提案已报送街道。")
    proposal = director.locator("section.card", has_text=title)
    await expect(proposal).to_contain_text("待街道答复")
    await fits_the_phone(director)
    await screenshot(director, "community-needs-proposal-director")

    officer = await open_as("xbl-officer")
    await officer.set_viewport_size(PHONE)
    await officer.get_by_role("link", name="更多").click()  # on a phone the whole menu is behind the tab bar's 更多
    await officer.get_by_role("link", name="社区提案").click()
    card = officer.locator("section.card").filter(has=officer.locator("h2", has_text=title))
    await card.get_by_label("答复", exact=True).select_option(label="纳入街道项目库")
    await card.get_by_role("button", name="提交答复").click()
    await expect(officer.get_by_role("status")).to_have_text("答复已保存。")
    await expect(officer.locator("section.card").filter(has=officer.locator("h2", has_text=title))).to_contain_text("街道已纳入")
    await fits_the_phone(officer)
    await screenshot(officer, "community-needs-proposal-street")

    await director.goto("/community/proposals")
    await expect(director.locator("section.card").filter(has=director.locator("h2", has_text=title))).to_contain_text("街道已纳入")


async def test_the_district_publishes_a_catalogue_from_a_phone_and_it_no_longer_changes(open_as, screenshot) -> None:
    admin = await open_as("admin")
    await admin.set_viewport_size(PHONE)
    await admin.get_by_role("link", name="更多").click()  # on a phone the whole menu is behind the tab bar's 更多
    await admin.get_by_role("link", name="购买服务目录").click()
    published = admin.locator("section.card", has_text="2026 年目录 · 第 1 版")
    await expect(published).to_contain_text("已发布")
    await expect(published).to_contain_text("居家养老助餐服务")
    await expect(published.get_by_role("button", name="加入项目")).to_have_count(0)
    await admin.get_by_label("年度").fill("2030")
    await admin.get_by_label("说明", exact=True).fill("演示：新一年的目录")
    await admin.get_by_role("button", name="新建草稿").click()
    await expect(admin.get_by_role("status")).to_have_text("草稿已建立。")
    draft = admin.locator("section.card", has_text="2030 年目录 · 第 1 版")
    await draft.get_by_label("项目名称").fill("全区老年人防诈骗宣传")
    await draft.get_by_label("类别").select_option("其他")
    await draft.get_by_label("预算（元）").fill("12000.5")
    await draft.get_by_role("button", name="加入项目").click()
    await expect(admin.get_by_role("status")).to_have_text("项目已加入草稿。")
    draft = admin.locator("section.card", has_text="2030 年目录 · 第 1 版")
    await expect(draft).to_contain_text("合计预算 12,000.50 元")
    await draft.get_by_role("button", name="发布目录").click()
    await expect(admin.get_by_role("status")).to_have_text("目录已发布，此后不再修改。")
    await expect(admin.locator("section.card", has_text="2030 年目录 · 第 1 版")).to_contain_text("已发布")
    await fits_the_phone(admin)
    await screenshot(admin, "community-catalogue-district")
