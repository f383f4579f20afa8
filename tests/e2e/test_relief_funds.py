"""In Chromium against the served system: the community's care worker files a resident's relief application with a
photo of the document on a 390-px phone; the committee director checks it, the street officer reviews it, the
district approves it, each with a reason; the community sees the outcome to tell the applicant; finance issues the
payment batch and downloads its PDF."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect
from pypdf import PdfReader
from sqlalchemy import func, select

from subsidies.engine.tables import ProgrammeBatch, ProgrammeRun
from subsidies.relief.tables import ReliefApplication
from tests.e2e.test_pages import phone_as, photo_file, scalar
from tests.served import Served


async def test_the_community_files_the_three_levels_approve_and_finance_pays_the_relief_batch(served: Served, open_as, screenshot, tmp_root: Path) -> None:  # type: ignore[no-untyped-def]
    care = await phone_as(open_as, "ns05-care")
    await care.goto("/relief")
    await expect(care.get_by_role("heading", name="受理救助申请")).to_be_visible()
    await care.get_by_label("救助基金").select_option(value="medical")
    await care.get_by_label("申请人姓名").fill("邓秀梅")
    await care.get_by_label("联系电话").fill("13920001234")
    await care.get_by_label("家庭人口").fill("3")
    await care.get_by_label("申请金额（元）").fill("6000")
    await care.get_by_label("申请事由").fill("丈夫突发脑梗住院，医保报销后自付部分约两万元，家庭无力承担，申请医疗救助。")
    await care.get_by_label("证明材料").set_input_files(str(photo_file(tmp_root, "hospital-bill.jpg", (235, 240, 250))))
    # Above the fund's cap per case: refused beside the field, in Chinese, with what was typed kept.
    await care.get_by_role("button", name="提交救助申请").click()
    await expect(care.get_by_role("alert")).to_contain_text("博爱助医每案救助金额不超过 5,000.00 元")
    await expect(care.get_by_label("申请人姓名")).to_have_value("邓秀梅")
    await care.get_by_label("申请金额（元）").fill("4,800")
    await care.get_by_label("证明材料").set_input_files(str(photo_file(tmp_root, "hospital-bill.jpg", (235, 240, 250))))
    await care.get_by_role("button", name="提交救助申请").click()
    await expect(care.get_by_label("申请记录")).to_contain_text("邓秀梅")
    await expect(care.get_by_label("申请记录")).to_contain_text("待社区初审")
    assert await care.evaluate("document.documentElement.scrollWidth") <= 390
    await screenshot(care, "relief-file-phone")
    application_id = await scalar(served, select(ReliefApplication.id).where(ReliefApplication.applicant_name == "邓秀梅"))
    assert application_id is not None

    for username, reason in (("ns05-director", "已入户核实，住院票据齐全。"), ("ns-officer", "符合博爱助医条件，同意上报。"), ("admin", "同意救助。")):
        reviewer = await open_as(username)
        await reviewer.goto("/relief")
        item = reviewer.locator(f"#application-{application_id}")
        await expect(item).to_contain_text("4,800.00 元")
        if username == "ns-officer":
            await expect(item).to_contain_text("邓**")  # the street sees the name masked
            await expect(item).to_contain_text("已入户核实，住院票据齐全。")
            await screenshot(reviewer, "relief-street-queue")
        await item.get_by_label("审核理由（必填）").fill(reason)
        await item.get_by_role("button", name="同意", exact=True).click()
        await expect(reviewer.locator(f"#application-{application_id}")).to_have_count(0)
    assert await scalar(served, select(ReliefApplication.state).where(ReliefApplication.id == application_id)) == "approved"

    # The community sees the outcome, to tell the applicant.
    await care.goto("/relief")
    record = care.locator(f"#record-{application_id}")
    await expect(record).to_contain_text("已批准")
    await expect(record).to_contain_text("批准救助 4,800.00 元，请告知申请人")
    await expect(record.get_by_role("link", name="决定书 PDF")).to_be_visible()

    finance = await open_as("finance")
    await finance.goto("/relief/runs")
    await finance.get_by_role("button", name="生成核算草稿").click()
    run_id = await scalar(served, select(func.max(ProgrammeRun.id)).where(ProgrammeRun.programme == "relief"))
    row = finance.locator(f"#run-{run_id}")
    await expect(row).to_contain_text("草稿")
    # Whoever started the run does not approve it: the second finance officer does.
    reviewer = await open_as("finance2")
    await reviewer.goto("/relief/runs")
    await reviewer.locator(f"#run-{run_id}").get_by_role("button", name="审核").click()
    await expect(reviewer.locator(f"#run-{run_id}")).to_contain_text("已审核")
    await finance.reload()
    await finance.locator(f"#run-{run_id}").get_by_role("button", name="生成拨付批次").click()
    await expect(finance.locator(f"#run-{run_id}")).to_contain_text("已签发拨付批次")
    batch = await scalar(served, select(ProgrammeBatch).where(ProgrammeBatch.run_id == run_id))
    assert batch is not None and batch.number.startswith("JZJJ-")
    async with finance.expect_download() as download_info:
        await finance.locator(f"#run-{run_id}").get_by_role("link", name="汇总表 PDF").click()
    download = await download_info.value
    path = tmp_root / "relief-summary.pdf"
    await download.save_as(path)
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    assert "救助基金拨付汇总表" in text and batch.number in text and "邓**" in text and "邓秀梅" not in text
    await screenshot(finance, "relief-runs")
