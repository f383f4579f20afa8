"""In Chromium against the served system: a committee director claims activity spending with a photo of the receipt
on a 390-px phone, sees the balance go down; the street officer approves it on the desk; the balance and the claim
say so."""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.async_api import expect
from sqlalchemy import select

from foundation.clock import business_today
from subsidies.activity.tables import ActivityClaim
from tests.e2e.test_pages import phone_as, photo_file, scalar
from tests.served import Served


async def test_a_director_claims_with_a_receipt_on_a_phone_and_the_street_approves_it(served: Served, open_as, screenshot, tmp_root: Path) -> None:  # type: ignore[no-untyped-def]
    director = await phone_as(open_as, "ns11-director")
    await director.goto("/activity")
    await expect(director.get_by_role("heading", name="申请报销")).to_be_visible()
    before = await director.locator("#balance-left").inner_text()
    assert before == "50,000.00"

    invoice = f"E2E{uuid.uuid4().int % 10**12:012d}"
    await director.get_by_label("支出日期").fill(str(business_today()))
    await director.get_by_label("用途").select_option(value="节日慰问")
    await director.get_by_label("所购物品或服务").fill("重阳节慰问高龄老人，食用油 20 桶")
    await director.get_by_label("金额（元）").fill("十二元")
    await director.get_by_label("发票号码").fill(invoice)
    await director.get_by_label("发票照片或扫描件").set_input_files(str(photo_file(tmp_root, "receipt.jpg", (240, 235, 220))))
    # A wrong amount is refused beside the field, in Chinese, with what was typed kept.
    await director.get_by_role("button", name="提交报销申请").click()
    await expect(director.get_by_role("alert")).to_have_text("金额请填写元，如 1280 或 1280.50")
    await expect(director.get_by_label("发票号码")).to_have_value(invoice)
    await director.get_by_label("金额（元）").fill("1,680.00")
    await director.get_by_label("发票照片或扫描件").set_input_files(str(photo_file(tmp_root, "receipt.jpg", (240, 235, 220))))
    await director.get_by_role("button", name="提交报销申请").click()
    await expect(director.locator("#balance-left")).to_have_text("48,320.00")
    await expect(director.get_by_label("报销记录")).to_contain_text("重阳节慰问高龄老人")
    await expect(director.get_by_label("报销记录")).to_contain_text("待审批")
    # Nothing wider than the phone.
    assert await director.evaluate("document.documentElement.scrollWidth") <= 390
    await screenshot(director, "activity-claim-phone")
    claim_id = await scalar(served, select(ActivityClaim.id).where(ActivityClaim.invoice_number == invoice))
    assert claim_id is not None

    officer = await open_as("ns-officer")
    await officer.goto("/activity")
    item = officer.locator(f"#claim-{claim_id}")
    await expect(item).to_contain_text("1,680.00 元")
    await expect(item).to_contain_text(invoice)
    await item.get_by_role("button", name="批准", exact=True).click()
    await expect(officer.locator(f"#claim-{claim_id}")).to_have_count(0)
    await screenshot(officer, "activity-street-desk")
    assert (await scalar(served, select(ActivityClaim.state).where(ActivityClaim.id == claim_id))) == "approved"

    await director.goto("/activity")
    await expect(director.get_by_label("报销记录")).to_contain_text("已批准")
    await expect(director.locator("#balance-left")).to_have_text("48,320.00")
