"""A user in a real browser logs in and browses the registry within their scope."""

from __future__ import annotations

from playwright.async_api import expect

from supervision.demo import DEMO_PASSWORD


async def test_district_admin_sees_the_whole_district_on_the_home_page(open_as, screenshot) -> None:
    page = await open_as("admin")
    await expect(page.locator("#stat-streets")).to_have_text("6")
    await expect(page.locator("#stat-communities")).to_have_text("64")
    await expect(page.locator("#stat-estates")).to_have_text("323")
    await expect(page.locator("#stat-area")).to_have_text("3,844,400.00")
    await screenshot(page, "home-admin")


async def test_wrong_password_stays_on_the_login_form_with_a_message(new_context, served) -> None:
    context = await new_context()
    page = await context.new_page()
    await page.goto("/registry/estates")
    await expect(page).to_have_url(f"{served.base_url}/login?next=/registry/estates")
    await page.get_by_label("用户名").fill("admin")
    await page.get_by_label("密码").fill(DEMO_PASSWORD + "x")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.get_by_label("密码")).to_be_visible()


async def test_community_worker_browses_only_their_estates_and_opens_one(open_as) -> None:
    page = await open_as("xbl01-worker")
    await page.get_by_role("link", name="旧楼区片").click()
    rows = page.locator("tbody tr")
    await expect(rows.first).to_be_visible()
    communities = await page.locator("tbody tr td:nth-child(4)").all_inner_texts()
    assert communities and set(communities) == {"树德里"}
    first_code = (await rows.first.locator("td").first.inner_text()).strip()
    await rows.first.locator("a").click()
    await expect(page.locator("h1")).to_contain_text(first_code)
    await expect(page.get_by_text("HPWY-2025-")).to_be_visible()


async def test_community_worker_filtering_by_another_street_sees_nothing_of_it(open_as, served) -> None:
    page = await open_as("xbl01-worker")
    await page.goto("/registry/estates?q=朝阳里")
    await expect(page.get_by_text("没有符合条件的区片。")).to_be_visible()


async def test_logging_out_ends_the_session(open_as, served) -> None:
    page = await open_as("admin")
    await page.get_by_role("button", name="退出").click()
    await page.goto("/registry/estates")
    await expect(page).to_have_url(f"{served.base_url}/login?next=/registry/estates")
