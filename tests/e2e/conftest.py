"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against the served system."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

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


# Reports every Content-Security-Policy violation in the page to the test (the listener is installed before any
# script of the page runs, and neither it nor the binding is subject to the page's policy).
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.reportCspViolation(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
}, true);
"""


@pytest.fixture
async def new_context(browser: Browser, served: Served):  # type: ignore[no-untyped-def]
    """`context = await new_context(...)`: a browser context on the served system. The story fails if the browser
    refused anything under the Content-Security-Policy (a securitypolicyviolation event, or Chromium's console
    message "Refused to ...")."""
    contexts: list[BrowserContext] = []
    violations: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and ("Content Security Policy" in message.text or message.text.startswith("Refused to")):
            violations.append(f"console: {message.text}")

    async def make(**options: Any) -> BrowserContext:
        context = await browser.new_context(base_url=served.base_url, **options)
        contexts.append(context)
        await context.expose_binding("reportCspViolation", lambda source, text: violations.append(f"{source['page'].url}: {text}"))
        await context.add_init_script(script=CSP_WATCH)
        context.on("console", console)
        return context

    yield make
    for context in contexts:
        await context.close()
    assert not violations, "the browser refused content under the Content-Security-Policy:\n" + "\n".join(violations)


@pytest.fixture
async def open_as(new_context, tmp_root: Path):  # type: ignore[no-untyped-def]
    """`page = await open_as("xbl01-worker")`: a fresh browser context logged in through the login form."""

    async def log_in(username: str, password: str = DEMO_PASSWORD) -> Page:
        context = await new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        await page.goto("/login")
        await page.get_by_label("用户名").fill(username)
        await page.get_by_label("密码").fill(password)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_load_state("networkidle")
        return page

    return log_in


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
