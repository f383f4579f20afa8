"""In Chromium against the served system (爱洒回家路): the community's director points its alerts at a webhook; the
elderly-care social worker registers an elder on a 390-px phone, prints labels and binds one by opening its QR
code's address; an anonymous finder opens the band, shares a location and alerts the guardians; the webhook gets
one signed message; the social worker sees the alert and marks the elder found."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

from playwright.async_api import expect

from foundation.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from foundation.clock import business_today
from tests.e2e.test_pages import PHONE, phone_as
from tests.integration.evidence import jpeg
from tests.integration.test_channels import Receiver, receiving
from tests.served import Served


async def test_a_lost_elder_is_found_through_the_band(served: Served, open_as, new_context, screenshot, tmp_root) -> None:  # type: ignore[no-untyped-def]
    async with receiving(Receiver([200])) as receiver:
        director = await open_as("xbl01-director")
        await director.goto("/channels")
        await director.get_by_label("名称").fill("树德里值班群")
        await director.get_by_label("类型").select_option(value="webhook")
        await director.get_by_label("接收地址（Webhook 或企业微信机器人的地址；短信不填）").fill(receiver.url)
        await director.get_by_label("签名密钥（Webhook 必填，至少 16 个字符）").fill("story-secret-0123456789")
        await director.get_by_label("腕带求助提醒").check()
        await director.get_by_role("button", name="添加").click()
        await expect(director.locator("table")).to_contain_text("树德里值班群")

        worker = await phone_as(open_as, "xbl01-care")
        await worker.goto("/wristbands/register")
        await worker.get_by_label("老人姓名").fill("端木秀兰")
        await worker.get_by_label("监护人代签（老人无法签署）").check()
        await worker.get_by_label("签署日期").fill(str(business_today()))
        consent = tmp_root / "consent.jpg"
        consent.write_bytes(jpeg())  # a photo of the signed form (uploads are judged by content)
        await worker.get_by_label("签字的同意书（拍照或扫描）").set_input_files(str(consent))
        await worker.locator('input[name="guardian1_name"]').fill("端木建国")
        await worker.locator('input[name="guardian1_phone"]').fill("13911112222")
        await worker.get_by_role("button", name="登记").click()
        await expect(worker.locator("#registered")).to_contain_text("已登记 端木秀兰")
        assert await worker.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        # Labels are printed in advance; the worker scans one with the phone's camera, which opens its address.
        await worker.goto("/wristbands")
        await worker.get_by_label("标签数量（每页 24 枚）").fill("3")
        async with worker.expect_download() as download_info:
            await worker.get_by_role("button", name="生成标签 PDF").click()
        sheet = tmp_root / "wristband-labels.pdf"
        await (await download_info.value).save_as(sheet)
        subprocess.run(["pdftoppm", "-png", "-r", "200", "-f", "1", "-l", "1", str(sheet), str(tmp_root / "labels")], check=True, capture_output=True)
        scanned = subprocess.run(["zbarimg", "--quiet", "--raw", *map(str, tmp_root.glob("labels*.png"))], capture_output=True, text=True).stdout.split()
        band = next(s for s in scanned if "/b/" in s)
        band_path = band[band.index("/b/") :]
        await worker.goto(band_path)
        await expect(worker.locator("h1")).to_have_text("此腕带尚未启用")
        await worker.get_by_label("佩戴的老人").select_option(label="端木秀兰")
        await worker.get_by_role("button", name="绑定").click()
        await expect(worker.locator("#band-code")).to_be_visible()
        await screenshot(worker, "wristband-elder")

        finder_context = await new_context(locale="zh-CN", viewport=PHONE, geolocation={"latitude": 39.1189, "longitude": 117.2006, "accuracy": 30}, permissions=["geolocation"])
        finder = await finder_context.new_page()
        await finder.goto(band_path)
        await expect(finder.locator("h1")).to_have_text("这位老人可能需要帮助")
        content = await finder.content()
        assert "端木" not in content and "13911112222" not in content and "2222" not in content
        await finder.get_by_label("给家属留言（可不填）").fill("老人在公交站，情绪稳定")
        await finder.get_by_role("button", name="分享我现在的位置（可选）").click()
        await expect(finder.locator("#location-state")).to_have_text("已获取位置，将随提醒一起发送。")
        await finder.get_by_role("button", name="通知家属").click()
        await expect(finder.locator("h1")).to_have_text("已通知家属和社区")
        assert await finder.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await screenshot(finder, "wristband-finder")

        deadline = time.monotonic() + 30
        while not receiver.accepted and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(3)  # a second dispatcher round, which must not send it again
    assert len(receiver.accepted) == 1 and len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert headers[SIGNATURE_HEADER.lower()] == signature("story-secret-0123456789", headers[TIMESTAMP_HEADER.lower()], body)
    message = json.loads(body)
    assert message["topic"] == "wristband_alert" and message["facts"]["位置"].startswith("北纬 39.11890") and "端木" not in body.decode()

    await worker.goto("/wristbands")
    await worker.locator("#alerts a").first.click()
    await expect(worker.locator("#reports")).to_contain_text("老人在公交站，情绪稳定")
    await expect(worker.locator("#reports")).to_contain_text("北纬 39.11890")
    await worker.get_by_role("button", name="老人已找到").click()
    await expect(worker.locator("#alert-state")).to_have_text("已找到")
    await screenshot(worker, "wristband-alert")
