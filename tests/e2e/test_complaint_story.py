"""In Chromium against the served system: a resident reports a problem with a photo on a 390-px phone, without an
account (the page solves its proof of work itself); the community's social worker turns it into a rectification
order; the company reports the fix and the social worker verifies it; the resident's tracking page shows it done."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect
from sqlalchemy import select

from complaints.tables import Complaint
from people.tables import User
from registry.tables import Community, ContractEstate, Estate, ServiceContract
from tests.e2e.test_pages import PHONE, photo_file, scalar
from tests.served import Served


async def test_a_resident_reports_on_a_phone_the_worker_orders_the_company_fixes_and_the_tracking_page_shows_it_done(  # type: ignore[no-untyped-def]
    served: Served, new_context, open_as, screenshot, tmp_root: Path
) -> None:
    estate_id = await scalar(served, select(Estate.id).join(Community, Community.id == Estate.community_id).where(Community.code == "XBL01", Estate.left_on.is_(None)).order_by(Estate.id))  # type: ignore[union-attr]
    estate_code = await scalar(served, select(Estate.code).where(Estate.id == estate_id))
    company_id = await scalar(served, select(ServiceContract.company_id).join(ContractEstate, ContractEstate.contract_id == ServiceContract.id).where(ContractEstate.estate_id == estate_id))
    company_user = await scalar(served, select(User.username).where(User.company_id == company_id))

    context = await new_context(locale="zh-CN", viewport=PHONE)
    phone = await context.new_page()
    await phone.goto(f"/report/{estate_code}")
    await phone.get_by_label("清扫保洁").check()
    await phone.get_by_label("位置（楼号、单元，或具体地点）").fill("2号楼1单元")
    await phone.get_by_label("遇到的问题").fill("楼道里的垃圾三天没有清运，气味很大")
    await phone.get_by_label("联系电话（可选，仅社区工作人员可见，用于回复您）").fill("13912345678")
    await phone.get_by_label("照片（可选，最多 3 张）").set_input_files(str(photo_file(tmp_root, "complaint-stairs.jpg", (120, 90, 60))))
    send = phone.get_by_role("button", name="提交")
    await expect(send).to_be_enabled(timeout=20_000)  # the page has solved its proof of work
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 390
    await screenshot(phone, "complaint-report-phone")
    await send.click()
    await expect(phone.locator("#complaint-state")).to_have_text("待处理")
    tracking = phone.url
    assert "/track/" in tracking
    await screenshot(phone, "complaint-tracking-phone")
    complaint_id = await scalar(served, select(Complaint.id).where(Complaint.description == "楼道里的垃圾三天没有清运，气味很大"))

    worker = await open_as("xbl01-worker")
    await worker.goto("/complaints")
    await worker.locator(f'a[href="/complaints/{complaint_id}"]').click()
    await worker.get_by_label("对应检查项").select_option(value="C01")
    await worker.get_by_label("现场核查情况").fill("现场核实：2号楼1单元楼道垃圾未清运")
    await worker.get_by_role("button", name="下发整改单").click()
    await expect(worker.locator("#complaint-state")).to_have_text("已转物业企业整改")
    defect_id = await scalar(served, select(Complaint.defect_id).where(Complaint.id == complaint_id))
    assert defect_id is not None

    company = await open_as(company_user)
    await company.goto(f"/defects/{defect_id}")
    await expect(company.locator("body")).not_to_contain_text("13912345678")  # the resident's phone is not the company's
    await company.get_by_label("整改情况").fill("已安排保洁清运并消毒")
    await company.get_by_label("整改后照片").set_input_files(str(photo_file(tmp_root, "complaint-fixed.jpg", (200, 200, 200))))
    await company.get_by_role("button", name="提交整改报告").click()
    await expect(company.locator("#defect-state")).to_contain_text("已报整改")

    await worker.goto(f"/defects/{defect_id}")
    await worker.get_by_label("验收意见").fill("复查已清理干净")
    await worker.get_by_role("button", name="验收通过").click()
    await expect(worker.locator("#defect-state")).to_contain_text("验收通过")

    await phone.goto(tracking)
    await expect(phone.locator("#complaint-state")).to_have_text("已办结")
    await expect(phone.locator("#complaint-answer")).to_contain_text("物业企业已整改")
    await screenshot(phone, "complaint-done-phone")
