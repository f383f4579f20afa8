"""In Chromium against the served system: a volunteer signs up for today's need on a 390-px phone and logs their
hours with no signal (kept on the phone, sent once when the signal returns); the community's social worker approves them on the queue; the volunteer sees the answer and downloads the
certificate of approved hours, which the system verifies as its own."""

from __future__ import annotations

import asyncio

import httpx
from playwright.async_api import expect
from pypdf import PdfReader
from sqlalchemy import func, select

from community.volunteers.tables import VolunteerHours, VolunteerNeed
from foundation.clock import business_today
from registry.tables import Community
from tests.e2e.test_pages import phone_as, scalar
from tests.served import Served


async def test_a_volunteer_signs_up_on_a_phone_logs_hours_the_social_worker_approves_and_the_certificate_downloads(served: Served, open_as, screenshot, tmp_root) -> None:  # type: ignore[no-untyped-def]
    today = business_today()
    need_id = await scalar(served, select(VolunteerNeed.id).join(Community, Community.id == VolunteerNeed.community_id).where(Community.code == "XBL01", VolunteerNeed.title == "社区环境清洁日", VolunteerNeed.held_on == today))
    assert need_id is not None

    volunteer = await phone_as(open_as, "xbl01-vol4")
    await volunteer.goto("/volunteer")
    need = volunteer.locator(f'[data-need="{need_id}"]')
    await expect(need).to_contain_text("社区环境清洁日")
    await need.get_by_role("button", name="报名").click()
    await expect(volunteer.locator(f'[data-need="{need_id}"]')).to_contain_text("已报名")

    await volunteer.get_by_label("服务项目").select_option(value=f"need:{need_id}")
    await volunteer.get_by_label("服务时长（分钟）").fill("900")
    await volunteer.get_by_label("服务内容").fill("清扫社区广场落叶，分拣可回收垃圾")
    # Too long for one entry: the phone does not send it (the server refuses it too: tests/integration).
    assert await volunteer.get_by_label("服务时长（分钟）").evaluate("input => input.checkValidity()") is False
    await volunteer.get_by_label("服务时长（分钟）").fill("150")
    # No signal in the square: the entry waits on the phone, nothing reaches the server; sent once the signal returns.
    await volunteer.context.set_offline(True)
    await volunteer.get_by_role("button", name="提交，等待审核").click()
    await expect(volunteer.locator("#outbox-summary")).to_contain_text("1 条服务时长等待发送")
    await expect(volunteer.locator(".hours-done")).to_contain_text("已保存在手机上")
    assert await volunteer.evaluate("document.documentElement.scrollWidth") <= 390
    await screenshot(volunteer, "volunteer-phone-offline")
    await asyncio.sleep(1)
    stored = select(func.count()).select_from(VolunteerHours).where(VolunteerHours.activity == "清扫社区广场落叶，分拣可回收垃圾")
    assert await scalar(served, stored) == 0
    await volunteer.context.set_offline(False)
    await expect(volunteer.locator("#outbox-summary")).to_contain_text("全部服务时长已发送", timeout=15_000)
    await volunteer.reload()
    await volunteer.wait_for_load_state("networkidle")
    assert await scalar(served, stored) == 1  # sent once
    entry = volunteer.locator("#answers li").filter(has_text="清扫社区广场落叶")
    await expect(entry).to_contain_text("待审核")
    await screenshot(volunteer, "volunteer-phone")
    hours_id = await scalar(served, select(VolunteerHours.id).where(VolunteerHours.activity == "清扫社区广场落叶，分拣可回收垃圾"))
    assert hours_id is not None

    worker = await open_as("xbl01-worker")
    await worker.goto("/volunteers/approvals")
    item = worker.locator(f'[data-hours="{hours_id}"]')
    await expect(item).to_contain_text("150 分钟")
    await item.get_by_role("button", name="提交审核").click()
    await expect(worker.locator(f'[data-hours="{hours_id}"]')).to_have_count(0)
    await screenshot(worker, "volunteer-approvals")
    assert await scalar(served, select(VolunteerHours.state).where(VolunteerHours.id == hours_id)) == "approved"

    await volunteer.goto("/volunteer")
    await expect(volunteer.locator("#answers li").filter(has_text="清扫社区广场落叶")).to_contain_text("已通过")
    await expect(volunteer.locator("#approved-total")).to_have_text("2.5 小时")
    async with volunteer.expect_download() as download_info:
        await volunteer.get_by_role("button", name="下载证明（PDF）").click()
    download = await download_info.value
    path = tmp_root / "volunteer-certificate.pdf"
    await download.save_as(path)
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    assert "志愿服务时长证明" in text and "2.5 小时" in text
    # The copy is the system's own, whoever checks it.
    async with httpx.AsyncClient(base_url=served.base_url) as anyone:
        answer = await anyone.post("/api/documents/verify", files={"file": ("copy.pdf", path.read_bytes(), "application/pdf")})
    assert answer.status_code == 200 and answer.json()["genuine"] is True and answer.json()["kind"] == "volunteer_hours"
