"""A district's staff sign in with their unified identity (统一身份认证): in Chromium, from the login page through a
real OpenID provider on loopback and back, onto the home page of the local user their employee number maps to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage

from tests.oidc_provider import Provider, running_provider
from tests.served import Served, free_port, served_system


@pytest.fixture(scope="module")
def sso_system(tmp_root: Path) -> Iterator[tuple[Served, Provider]]:
    """A new system (migrated, one user made by the administrator's command) whose settings name the provider."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    accounts = {"wangfang": {"employee_number": "E10023", "name": "王芳"}}
    with running_provider("supervision-e2e", "e2e-client-secret", f"{base}/login/sso/callback", accounts) as provider:
        settings = {
            "SUPERVISION_PUBLIC_BASE_URL": base,
            "SUPERVISION_OIDC_ISSUER": provider.issuer,
            "SUPERVISION_OIDC_CLIENT_ID": provider.client_id,
            "SUPERVISION_OIDC_CLIENT_SECRET": provider.client_secret,
            "SUPERVISION_OIDC_USERNAME_CLAIM": "employee_number",
            "SUPERVISION_OIDC_USERS": json.dumps({"E10023": "wang.fang"}),
        }
        with served_system(tmp_root, "sso", settings=settings, demo=False, port=port) as served:
            subprocess.run(
                [sys.executable, "-m", "supervision.cli", "users", "create", "--username", "wang.fang", "--display-name", "王芳",
                 "--role", "admin", "--password", "a-local-password-she-never-types"],
                env={**os.environ, "SUPERVISION_DATABASE_URL": served.database_url}, check=True, capture_output=True,
            )
            yield served, provider


async def test_a_member_of_staff_signs_in_through_the_identity_provider_and_lands_on_her_home(browser: Browser, sso_system, screenshot) -> None:  # type: ignore[no-untyped-def]
    served, provider = sso_system
    refused: list[str] = []
    context = await browser.new_context(base_url=served.base_url, locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        def console(message: ConsoleMessage) -> None:
            if message.type == "error" and ("Content Security Policy" in message.text or message.text.startswith("Refused to")):
                refused.append(message.text)

        context.on("console", console)
        page = await context.new_page()
        await page.goto("/login")
        await page.get_by_role("button", name="统一身份认证登录").click()
        await page.wait_for_url(f"{provider.issuer}/authorize?*")
        await page.get_by_label("统一身份认证账号").fill("wangfang")
        await page.get_by_role("button", name="登录并授权").click()
        await page.wait_for_url(f"{served.base_url}/")
        await page.wait_for_load_state("networkidle")
        assert await page.locator("body").get_attribute("data-user") == "wang.fang"
        assert "wang.fang · 区级管理员" in await page.content()
        await screenshot(page, "sso-home")
        assert provider.tokens_issued == 1
    finally:
        await context.close()
    assert not refused, refused
