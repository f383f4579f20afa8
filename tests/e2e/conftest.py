"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against the served system."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from supervision.demo import DEMO_PASSWORD
from tests.served import Served, served_system

REPOSITORY = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def served(tmp_root: Path) -> Iterator[Served]:
    with served_system(tmp_root, "e2e") as system:
        yield system


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


@pytest.fixture
async def open_as(browser: Browser, served: Served, tmp_root: Path):  # type: ignore[no-untyped-def]
    """`page = await open_as("xbl01-worker")`: a fresh browser context logged in through the login form."""
    contexts = []

    async def log_in(username: str, password: str = DEMO_PASSWORD) -> Page:
        context = await browser.new_context(base_url=served.base_url, locale="zh-CN", viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = await context.new_page()
        await page.goto("/login")
        await page.get_by_label("用户名").fill(username)
        await page.get_by_label("密码").fill(password)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_load_state("networkidle")
        return page

    yield log_in
    for context in contexts:
        await context.close()


@pytest.fixture
def screenshot():  # type: ignore[no-untyped-def]
    """`await screenshot(page, "home-admin")`: a full-page PNG under $SUPERVISION_SCREENSHOTS, by default the
    checkout's var/screenshots (the README names it), to look at after a run."""
    folder = Path(os.environ.get("SUPERVISION_SCREENSHOTS") or REPOSITORY / "var" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    async def take(page: Page, name: str) -> Path:
        path = folder / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000, f"screenshot {path} is nearly empty"
        return path

    return take
