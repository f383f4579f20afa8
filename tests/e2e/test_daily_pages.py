"""The pages people open every day, in headless Chromium against a demo district of this module's own: each role's
home is the list of what waits on them, most urgent first; every action confirms itself once; on a phone the role's
daily pages sit in a bottom tab bar."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.async_api import Page, expect
from sqlalchemy import select

from foundation.clock import business_today
from foundation.db import create_engine, create_session_factory
from foundation.periods import Month
from inspections.tables import Defect
from people.tables import User
from registry.tables import Community, Estate
from tests.integration.evidence import jpeg, record_body
from tests.served import Served, served_system

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def served(tmp_root: Path) -> Iterator[Served]:
    with served_system(tmp_root, "daily") as system:
        yield system


async def scalar(served: Served, query):  # type: ignore[no-untyped-def]
    engine = create_engine(served.database_url)
    try:
        async with create_session_factory(engine)() as session:
            return (await session.execute(query)).scalar()
    finally:
        await engine.dispose()


async def estates_of(served: Served, community_code: str) -> list[Estate]:
    engine = create_engine(served.database_url)
    try:
        async with create_session_factory(engine)() as session:
            query = select(Estate).join(Community, Community.id == Estate.community_id).where(Community.code == community_code.upper()).order_by(Estate.code)
            return list((await session.execute(query)).scalars())
    finally:
        await engine.dispose()


def photo(folder: Path, name: str) -> Path:
    path = folder / name
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 120, 40)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


async def file_patrol_with_a_fault(served: Served, worker: str, estate_id: int) -> None:
    """A patrol with one failed item and its photo, sent by the API as the phone's outbox sends it."""
    headers = served.bearer(worker)
    async with httpx.AsyncClient(base_url=served.base_url, timeout=60) as client:
        sent = await client.post("/api/attachments", files={"file": ("p.jpg", jpeg(), "image/jpeg")}, headers=headers)
        assert sent.status_code == 201, sent.text
        filed = await client.post("/api/patrols", json=record_body(estate_id, failed={"C02": [sent.json()["id"]]}), headers=headers)
        assert filed.status_code == 201, filed.text


async def todo_titles(page: Page) -> list[str]:
    await page.goto("/")
    return [t.strip() for t in await page.locator("ol.todo .todo-title").all_inner_texts()]


async def status_of(page: Page) -> str:
    return (await page.get_by_role("status").inner_text()).strip()


async def test_each_role_sees_what_waits_on_it_first_and_each_action_confirms_itself(open_as, new_context, served, tmp_root) -> None:
    month = Month.of(business_today()).previous()
    estates = await estates_of(served, "xbl02")

    # Sent to the login page from inside: told why, as an alert.
    anonymous = await (await new_context(locale="zh-CN")).new_page()
    await anonymous.goto("/assessment/vetoes")
    await expect(anonymous).to_have_url(re.compile(r"/login\?next=/assessment/vetoes$"))
    await expect(anonymous.get_by_role("alert")).to_have_text("请先登录，登录后回到刚才的页面。")

    # The director: the month's opinions wait first, one line per kind with how many and by when.
    director = await open_as("xbl02-director")
    titles = await todo_titles(director)
    assert titles and "社区意见待填写" in titles[0], titles
    assert re.search(r"\d+月\d+日", await director.locator("ol.todo li").first.locator(".todo-due").inner_text())
    await director.locator("ol.todo li").first.get_by_role("link").click()
    opinion_month = re.search(r"month=(\d{4}-\d{2})", director.url)
    assert opinion_month, director.url
    await director.goto(f"/committee/estates/{estates[0].id}?month={opinion_month.group(1)}")
    await director.get_by_label("对物业服务的评价（0–100 分）").fill("88")
    await director.get_by_role("button", name="提交意见").click()
    assert await status_of(director) == "社区意见与满意度已保存。"
    # Shown once: a reload does not say it again.
    await director.reload()
    await expect(director.get_by_role("status")).to_have_count(0)
    await director.goto(f"/committee/estates/{estates[1].id}?month={month}")
    await director.get_by_label("否决理由").select_option(index=1)
    await director.get_by_label("具体情况").fill("本月连续三晚门岗无人值守，居民多次反映")
    await director.get_by_label("证据照片").set_input_files(str(photo(tmp_root, "daily-gate.jpg")))
    await director.get_by_role("button", name="提出一票否决").click()
    assert await status_of(director) == "一票否决已提出，等待街道办审核。"

    # The street officer: the veto waits, with its review deadline; the list is ordered by deadline.
    officer = await open_as("xbl-officer")
    titles = await todo_titles(officer)
    assert "一票否决待审核" in titles, titles
    dues = [d for d in await officer.locator("ol.todo li").evaluate_all("items => items.map(i => i.dataset.due)") if d]
    assert dues == sorted(dues), dues
    # Told in the notifications too, with what the director wrote; the notice is settled once the veto is reviewed.
    await officer.goto("/notifications")
    notice = officer.locator("#notifications li.unread", has_text="一票否决待审核").first
    await expect(notice).to_contain_text("本月连续三晚门岗无人值守")
    notice_id = await notice.get_attribute("id")
    await officer.goto("/")
    await officer.locator("ol.todo li", has_text="一票否决待审核").get_by_role("link").click()
    await expect(officer).to_have_url(re.compile(r"/assessment/vetoes$"))
    card = officer.locator("section.card[id^=veto-]").first
    await card.get_by_label("审核理由").fill("经街道核实，情况属实")
    await card.get_by_role("button", name="维持否决").click()
    assert await status_of(officer) == "已维持该项一票否决。"
    assert "一票否决待审核" not in await todo_titles(officer)
    await officer.goto("/notifications")
    await expect(officer.locator(f"#{notice_id}")).not_to_have_class(re.compile(r"\bunread\b"))
    await expect(officer.locator(f"#{notice_id}")).to_contain_text("已读")

    # The social worker files a patrol with a fault (by the API, as the phone's outbox does): an order for the company.
    await file_patrol_with_a_fault(served, "xbl02-worker", estates[2].id)
    defect = await scalar(served, select(Defect).where(Defect.estate_id == estates[2].id, Defect.state == "open"))
    company_user = await scalar(served, select(User.username).where(User.company_id == defect.company_id).order_by(User.id))

    # The company: the order to fix is first, with its deadline; the fix report confirms itself.
    company = await open_as(company_user)
    titles = await todo_titles(company)
    assert titles[0] == "整改单待整改", titles
    await company.goto(f"/defects/{defect.id}")
    await company.get_by_label("整改情况").fill("杂物已清理，消防通道畅通")
    await company.get_by_label("整改后照片").set_input_files(str(photo(tmp_root, "daily-fixed.jpg")))
    await company.get_by_role("button", name="提交整改报告").click()
    assert await status_of(company) == "整改情况已上报，等待社工验收。"

    # The social worker: today's patrol first (due today), the fix to verify below it; logging in lands on the patrol.
    worker = await open_as("xbl02-worker")
    await expect(worker).to_have_url(re.compile(r"/patrol/?$"))
    titles = await todo_titles(worker)
    assert titles[0] == "今日巡查：未巡查的区片" and "整改待验收" in titles, titles
    await worker.locator("ol.todo li", has_text="整改待验收").get_by_role("link").click()
    await worker.goto(f"/defects/{defect.id}")
    await worker.get_by_label("验收意见").fill("现场核实已清理")
    await worker.get_by_role("button", name="验收通过").click()
    assert await status_of(worker) == "整改已验收通过。"
    assert "整改待验收" not in await todo_titles(worker)

    # District finance opens a year's activity funds: confirmed the same way.
    finance = await open_as("finance")
    year = business_today().year + 1
    await finance.goto(f"/activity?year={year}")
    await finance.get_by_role("button", name=f"开立 {year} 年度经费").click()
    assert await status_of(finance) == f"{year} 年度活动经费已开立。"


HOMES = ("xbl01-worker", "xbl01-director", "xbl-officer", "xbl-worker1", "company01", "finance", "inspector1", "admin")


async def test_on_a_phone_the_role_s_daily_pages_are_a_bottom_tab_bar_and_each_home_is_photographed(open_as, served, screenshot) -> None:
    worker = await open_as("xbl01-worker")
    await worker.set_viewport_size(PHONE)
    await worker.goto("/patrol")
    # The long menu gives way to the tab bar; the patrol tab is the current page; 更多 opens the whole menu.
    await expect(worker.get_by_role("navigation", name="主菜单")).to_be_hidden()
    tabs = worker.get_by_role("navigation", name="常用功能")
    await expect(tabs.get_by_role("link")).to_have_text(["今日巡查", "待办", "整改单", "更多"])
    await expect(tabs.get_by_role("link", name="今日巡查")).to_have_attribute("aria-current", "page")
    await tabs.get_by_role("link", name="更多").click()
    await expect(worker.get_by_role("navigation", name="主菜单").get_by_role("link", name="居民投诉")).to_be_visible()
    # The orders read as cards at 390 px: nothing wider than the screen, each field under its name.
    await file_patrol_with_a_fault(served, "xbl01-worker", (await estates_of(served, "xbl01"))[0].id)
    await worker.goto("/defects")
    card = worker.locator("table.cards tbody tr").first
    await expect(card.locator("td[data-label='问题']")).to_be_visible()
    box = await card.bounding_box()
    assert box is not None and box["width"] <= PHONE["width"] and box["height"] < 400, box
    assert await worker.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await worker.set_viewport_size(DESKTOP)
    await expect(worker.get_by_role("navigation", name="常用功能")).to_be_hidden()
    await expect(worker.get_by_role("navigation", name="主菜单")).to_be_visible()

    for username in HOMES:
        page = await open_as(username)
        for name, size in (("390", PHONE), ("1440", DESKTOP)):
            await page.set_viewport_size(size)
            await page.goto("/")
            await expect(page.get_by_role("heading", level=1)).to_have_text("待办事项")
            assert await page.evaluate("document.documentElement.scrollWidth") <= size["width"], f"{username}'s home is wider than {name} px"
            await screenshot(page, f"home-{username}-{name}")


# Words a Chinese page may show in Latin letters: formats and names of things that have no Chinese name. Codes and
# units (anything with a digit, or in capitals: XBL01, C04, 2026-Q3, PDF) are let through by their shape, and so is
# text shown as code (<code>: an API path, a command).
ALLOWED_WORDS = frozenset({"GeoJSON", "WeCom", "OpenAPI", "Webhook", "webhook", "HTMX", "m²", "km"})
WALKERS = (*HOMES, "xbl-worker1")
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.'@/-]*")


def english_words(text: str) -> set[str]:
    found = set()
    for token in TOKEN.findall(text):
        word = token.strip(".-/'")
        if len(word) < 2 or any(c.isdigit() for c in word) or word.isupper() or word in ALLOWED_WORDS:
            continue
        found.add(word)
    return found


async def test_every_page_of_every_role_fits_a_phone_and_speaks_chinese(open_as, served) -> None:
    problems: list[str] = []
    for username in dict.fromkeys(WALKERS):
        page = await open_as(username)
        await page.set_viewport_size(PHONE)
        await page.goto("/")
        paths = await page.evaluate(
            """() => [...document.querySelectorAll('#menu a, ol.todo a, nav.tabbar a')]
                 .map(a => new URL(a.href, location.href)).filter(u => u.origin === location.origin && !u.hash)
                 .map(u => u.pathname + u.search)"""
        )
        for path in dict.fromkeys(["/", *paths]):
            answer = await page.goto(path)
            if answer is None or "text/html" not in (answer.headers.get("content-type") or ""):
                continue
            await page.wait_for_load_state("networkidle")
            width = await page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                problems.append(f"{username} {path}: {width} px wide at {PHONE['width']} px")
            # What a person reads: code (an API path, a command) is shown as code and is let through.
            words = english_words(await page.evaluate("() => { document.querySelectorAll('code, kbd, samp').forEach(e => e.remove()); return document.body.innerText; }"))
            if words:
                problems.append(f"{username} {path}: English words {sorted(words)[:12]}")
    assert not problems, "\n".join(problems)
