"""Delivery in a real browser: a committee director accepts the street's delegation on the desk and assigns the
community's elderly-care social worker to lead it; the social worker logs an activity on a 390-px phone (another
with no signal, sent once when the signal returns) and the project's progress counts them."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect
from sqlalchemy import func, select

from community.delivery.tables import Activity, Assignment, Delegation
from people.tables import User
from registry.tables import Community
from tests.e2e.test_pages import phone_as, scalar


async def activities_of(served, delegation_id: int) -> int:  # type: ignore[no-untyped-def]
    return int(await scalar(served, select(func.count()).select_from(Activity).where(Activity.delegation_id == delegation_id)))


async def test_a_director_accepts_a_delegation_and_a_social_worker_logs_an_activity_on_a_phone(open_as, served) -> None:  # type: ignore[no-untyped-def]
    community_id = await scalar(served, select(Community.id).where(Community.code == "XBL03"))
    delegation = await scalar(served, select(Delegation).where(Delegation.community_id == community_id, Delegation.status == "pending"))
    care_id = await scalar(served, select(User.id).where(User.username == "xbl03-care"))
    director = await open_as("xbl03-director")
    await director.goto("/community/delivery/desk")
    section = director.locator(f"#delegation-{delegation.id}")
    await expect(section).to_contain_text("待答复")
    await section.get_by_role("button", name="接受委托").click()
    section = director.locator(f"#delegation-{delegation.id}")
    await expect(section).to_contain_text("已接受")
    await section.locator(f"input[name='member-{care_id}']").check()
    await section.get_by_role("button", name="保存社工安排").click()
    await expect(director.locator(f"#delegation-{delegation.id}")).to_contain_text("请指定一名牵头社工")  # no lead: refused, nothing stored
    section = director.locator(f"#delegation-{delegation.id}")
    await section.locator(f"input[name='member-{care_id}']").check()
    await section.locator(f"input[name='lead'][value='{care_id}']").check()
    await section.get_by_role("button", name="保存社工安排").click()
    await expect(director.locator(f"#delegation-{delegation.id} .team")).to_contain_text("牵头")
    assert await scalar(served, select(Assignment.lead).where(Assignment.delegation_id == delegation.id, Assignment.user_id == care_id, Assignment.ended_at.is_(None))) is True

    phone = await phone_as(open_as, "xbl03-care")
    await phone.goto("/community/delivery/log")
    form = phone.locator(f"#delegation-{delegation.id} form.activity-form")
    await form.locator("input[name=place]").fill("社区老年日间照料站")
    await form.locator("input[name=head_count]").fill("18")
    await form.get_by_role("button", name="保存活动记录").click()
    await expect(form.locator(".activity-done")).to_have_text("活动记录已提交。")
    assert await activities_of(served, delegation.id) == 1
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off a 390-px screen

    await phone.context.set_offline(True)
    await form.locator("input[name=place]").fill("居民楼下")
    await form.locator("input[name=head_count]").fill("12")
    await form.get_by_role("button", name="保存活动记录").click()
    await expect(phone.locator("#outbox-summary")).to_contain_text("1 条活动记录等待发送")
    await asyncio.sleep(1)
    assert await activities_of(served, delegation.id) == 1
    await phone.context.set_offline(False)
    await expect(phone.locator("#outbox-summary")).to_contain_text("全部活动记录已发送", timeout=15_000)
    await phone.reload()
    await phone.wait_for_load_state("networkidle")
    assert await activities_of(served, delegation.id) == 2  # sent once

    await phone.goto(f"/community/delivery/projects/{delegation.project_id}")
    await expect(phone.locator("table.progress")).to_contain_text("助餐送餐服务")
