"""Elderly home care in a real browser: a provider logs visits on a 390-px phone (one with no signal, sent once when
the signal returns) and redeems the elder's voucher; each street confirms last month's care run, finance approves it,
issues the batch and downloads its PDF."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect
from pypdf import PdfReader
from sqlalchemy import func, select

from foundation.clock import business_today
from foundation.periods import Month
from subsidies.care.tables import CareContract, CareVisit, CareVoucher
from subsidies.engine.tables import ProgrammeBatch, ProgrammeRun
from tests.e2e.test_pages import STREETS, phone_as, scalar

THIS = Month.of(business_today())


async def visits_of(served, elder_id: int) -> int:  # type: ignore[no-untyped-def]
    return int(await scalar(served, select(func.count()).select_from(CareVisit).where(CareVisit.elder_id == elder_id, CareVisit.month == str(THIS))))


async def test_a_provider_logs_visits_on_a_phone_one_offline_and_redeems_the_voucher(open_as, served) -> None:  # type: ignore[no-untyped-def]
    provider_id = await scalar(served, select(CareContract.provider_id).where(CareContract.number.like("HPYL-%-XBL")))
    voucher = await scalar(served, select(CareVoucher).where(CareVoucher.month == str(THIS), CareVoucher.provider_id == provider_id, CareVoucher.redeemed_at.is_(None)).order_by(CareVoucher.id))
    page = await phone_as(open_as, "xbl-care")
    await page.goto("/care/visits")
    elder = page.locator(f"li[data-elder='{voucher.elder_id}']")
    await elder.locator("summary").click()
    before = await visits_of(served, voucher.elder_id)
    for n in range(3):
        await elder.locator("input[name=minutes]").fill("120")
        await elder.get_by_role("button", name="保存服务记录").click()
        await expect(elder.locator(".visit-done")).to_have_text("服务记录已提交。")
        assert await visits_of(served, voucher.elder_id) == before + n + 1

    await page.context.set_offline(True)
    await elder.locator("input[name=minutes]").fill("120")
    await elder.get_by_role("button", name="保存服务记录").click()
    await expect(page.locator("#outbox-summary")).to_contain_text("1 条服务记录等待发送")
    await expect(elder.locator(".visit-done")).to_contain_text("已保存在手机上")
    await asyncio.sleep(1)
    assert await visits_of(served, voucher.elder_id) == before + 3
    await page.context.set_offline(False)
    await expect(page.locator("#outbox-summary")).to_contain_text("全部服务记录已发送", timeout=15_000)
    assert await visits_of(served, voucher.elder_id) == before + 4
    await page.reload()
    await page.wait_for_load_state("networkidle")
    assert await visits_of(served, voucher.elder_id) == before + 4  # sent once

    elder = page.locator(f"li[data-elder='{voucher.elder_id}']")
    await elder.locator("summary").click()
    await elder.get_by_role("button", name=f"兑付服务券 {voucher.code}").click()
    await expect(page.get_by_text("已兑付 1 张服务券。")).to_be_visible()
    assert await scalar(served, select(CareVoucher.redeemed_at).where(CareVoucher.id == voucher.id)) is not None


async def test_the_streets_confirm_and_finance_issues_the_care_batch_and_downloads_its_pdf(open_as, served, tmp_root) -> None:  # type: ignore[no-untyped-def]
    last = THIS.previous()
    run_id = await scalar(served, select(ProgrammeRun.id).where(ProgrammeRun.programme == "care", ProgrammeRun.period == str(last), ProgrammeRun.state == "draft"))
    for street in STREETS:
        officer = await open_as(f"{street}-officer")
        await officer.goto("/care/runs")
        await officer.locator(f"#run-{run_id}").get_by_role("button", name="确认本街道部分").click()
        await expect(officer.locator(f"#run-{run_id}")).to_contain_text("草稿" if street != STREETS[-1] else "街道已确认")
    # finance started the run: the page says another finance officer approves it, and finance2 does.
    finance = await open_as("finance")
    await finance.goto("/care/runs")
    await expect(finance.locator(f"#run-{run_id}")).to_contain_text("本人发起的核算，须由其他财政人员审批")
    assert await finance.locator(f"#run-{run_id}").get_by_role("button", name="审批").count() == 0
    reviewer = await open_as("finance2")
    await reviewer.goto("/care/runs")
    await reviewer.locator(f"#run-{run_id}").get_by_role("button", name="审批").click()
    await expect(reviewer.locator(f"#run-{run_id}")).to_contain_text("已审批")
    await finance.goto("/care/runs")
    await finance.locator(f"#run-{run_id}").get_by_role("button", name="生成拨付批次").click()
    await expect(finance.locator(f"#run-{run_id}")).to_contain_text(f"JJYL-{last}-001")
    batch = await scalar(served, select(ProgrammeBatch).where(ProgrammeBatch.run_id == run_id))
    assert batch is not None and await scalar(served, select(func.count()).select_from(ProgrammeBatch).where(ProgrammeBatch.run_id == run_id)) == 1
    async with finance.expect_download() as download_info:
        await finance.locator(f"#run-{run_id}").get_by_role("link", name="汇总表 PDF").click()
    download = await download_info.value
    path = tmp_root / "care-summary.pdf"
    await download.save_as(path)
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    assert "居家养老服务券拨付汇总表" in text and batch.number in text
