"""The people's pages in headless Chromium against a served system of their own: the social worker's phone patrol
(also with no signal), a company's fix and its acceptance, a director's veto upheld by the street, the street
locking its month, finance paying a quarter; and nobody reaching another community's page by editing the URL."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.async_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import func, select

from assessment.tables import AssessmentMonth, Veto
from foundation.clock import business_today
from foundation.db import create_engine, create_session_factory
from foundation.money import yuan
from foundation.periods import Month, last_ended_quarter
from inspections.tables import Defect, InspectionRecord
from people.tables import User
from registry.tables import Community, Estate
from subsidies.engine.tables import ProgrammeBatch, ProgrammeRun
from tests.generated import generate_month
from tests.served import Served, served_system

STREETS = ("ns", "qyc", "nym", "xbl", "wdd", "xx")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def served(tmp_root: Path) -> Iterator[Served]:
    """A system of this module's own (the quarter it pays is not the one the subsidy test pays), with the last
    quarter and last month of evidence generated; the last quarter assessed and locked by every street, and last
    month computed by 西北角 (xbl) only."""
    with served_system(tmp_root, "pages") as system:
        quarter = last_ended_quarter(datetime.now(UTC))
        last_month = Month.of(business_today()).previous()

        async def prepare() -> None:
            engine = create_engine(system.database_url)
            for month in dict.fromkeys([*quarter.months, last_month]):
                await generate_month(create_session_factory(engine), month, seed=month.month)
            await engine.dispose()
            officers = {street: system.bearer(f"{street}-officer") for street in STREETS}
            async with httpx.AsyncClient(base_url=system.base_url, timeout=120) as client:
                for street, headers in officers.items():
                    street_id = (await client.get("/api/auth/me", headers=headers)).json()["street_id"]
                    for month in quarter.months:
                        for step in ("compute", "lock"):
                            if month == last_month and step == "lock":
                                continue
                            answer = await client.post(f"/api/assessment/months/{street_id}/{month}/{step}", headers=headers)
                            assert answer.status_code == 200, answer.text
                    if street == "xbl" and last_month not in quarter.months:
                        answer = await client.post(f"/api/assessment/months/{street_id}/{last_month}/compute", headers=headers)
                        assert answer.status_code == 200, answer.text

        asyncio.run(prepare())
        yield system


async def scalar(served: Served, query):  # type: ignore[no-untyped-def]
    engine = create_engine(served.database_url)
    try:
        async with create_session_factory(engine)() as session:
            return (await session.execute(query)).scalar()
    finally:
        await engine.dispose()


def photo_file(folder: Path, name: str, colour: tuple[int, int, int]) -> Path:
    path = folder / name
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


async def phone_as(open_as, username: str) -> Page:  # type: ignore[no-untyped-def]
    page = await open_as(username)
    await page.set_viewport_size(PHONE)
    return page


async def cjk_font_of(page: Page, selector: str) -> list[str]:
    """The fonts Chromium actually drew the element's text with (so a missing CJK font, which would draw empty
    boxes, shows as a fallback font with no CJK glyphs)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("DOM.enable")
    await cdp.send("CSS.enable")
    root = await cdp.send("DOM.getDocument")
    node = await cdp.send("DOM.querySelector", {"nodeId": root["root"]["nodeId"], "selector": selector})
    fonts = await cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    return [f["familyName"] for f in fonts["fonts"] if f["glyphCount"] > 0]


async def estate_of(served: Served, community_code: str, index: int) -> Estate:
    engine = create_engine(served.database_url)
    try:
        async with create_session_factory(engine)() as session:
            return (
                await session.execute(
                    select(Estate).join(Community, Community.id == Estate.community_id).where(Community.code == community_code.upper()).order_by(Estate.code).offset(index).limit(1)
                )
            ).scalar_one()
    finally:
        await engine.dispose()


async def patrols_today(served: Served, estate_id: int) -> int:
    return await scalar(
        served,
        select(func.count()).where(InspectionRecord.estate_id == estate_id, InspectionRecord.source == "patrol", InspectionRecord.business_date == business_today()),
    )


async def test_social_worker_files_a_patrol_with_a_failed_item_and_a_photo_from_a_phone(open_as, served, screenshot, tmp_root) -> None:
    page = await phone_as(open_as, "xbl01-worker")
    await page.goto("/patrol")
    await expect(page.locator("h1")).to_contain_text("今日巡查")
    first = page.locator("ul.estates li").first
    await expect(first).to_contain_text("未巡查")
    await screenshot(page, "patrol-phone-today")
    assert any("WenQuanYi" in f or "Noto" in f for f in await cjk_font_of(page, "h1")), "the Chinese title was not drawn with a CJK font"
    await first.locator("a").click()
    estate_id = int(page.url.rsplit("/", 1)[1])

    item = page.locator("fieldset.item").first
    await item.get_by_label("不合格").check()
    # Filing without the note and photo is refused beside the item, in Chinese, and nothing is sent.
    await page.get_by_role("button", name="提交巡查").click()
    await expect(item.locator(".field-error")).to_have_text("不合格项请写明问题")
    await item.locator("textarea").fill("楼道堆放杂物，堵塞消防通道")
    await item.locator("input[type=file]").set_input_files(str(photo_file(tmp_root, "patrol.jpg", (180, 40, 40))))
    await screenshot(page, "patrol-phone-form")
    await page.get_by_role("button", name="提交巡查").click()
    await expect(page.locator("#patrol-done-text")).to_have_text("巡查已提交。")

    record_id = await scalar(served, select(InspectionRecord.id).where(InspectionRecord.estate_id == estate_id, InspectionRecord.source == "patrol", InspectionRecord.business_date == business_today()))
    assert record_id is not None
    defect = await scalar(served, select(Defect).where(Defect.record_id == record_id))
    assert defect is not None and defect.state == "open"
    await page.goto("/patrol")
    await expect(page.locator(f"li[data-estate='{estate_id}']")).to_contain_text("已巡查")
    await page.goto(f"/records/{record_id}")
    await expect(page.get_by_text("楼道堆放杂物，堵塞消防通道")).to_be_visible()
    assert await page.locator("img[alt*='照片']").evaluate("img => img.naturalWidth") == 640


async def test_a_patrol_filed_with_no_signal_waits_on_the_phone_and_is_sent_once_when_the_signal_returns(open_as, served) -> None:
    page = await phone_as(open_as, "xbl01-worker")
    estate = await estate_of(served, "xbl01", 1)
    assert await patrols_today(served, estate.id) == 0
    await page.goto(f"/patrol/estates/{estate.id}")
    await page.context.set_offline(True)
    await page.get_by_role("button", name="提交巡查").click()
    await expect(page.locator("#outbox-summary")).to_contain_text("1 条巡查等待发送")
    await expect(page.locator("#patrol-done-text")).to_have_text("暂无信号：巡查已保存在手机上，有信号后自动发送。")  # said once
    await asyncio.sleep(1)
    assert await patrols_today(served, estate.id) == 0

    await page.context.set_offline(False)
    await expect(page.locator("#outbox-summary")).to_contain_text("全部巡查已发送", timeout=15_000)
    await expect(page.locator("#patrol-done-text")).to_have_text("巡查已提交。")
    # Reloading sends nothing again: the outbox is empty, and the record is there once.
    await page.reload()
    await page.wait_for_load_state("networkidle")
    assert await patrols_today(served, estate.id) == 1



async def test_a_patrol_refused_after_the_signal_returns_is_filled_in_again_not_lost(open_as, served, tmp_root) -> None:
    """Filed with no signal, refused by the server once the signal is back (here: the 'photo' was not a picture): the
    day's list says so instead of 未巡查, and 重新填写 puts the answers back in the form with the reason; a new photo
    and one tap file it, and the refused copy leaves the phone."""
    page = await phone_as(open_as, "xbl02-worker")  # another community: the stories after this one read xbl01's orders
    estate = await estate_of(served, "xbl02", 0)
    before = await patrols_today(served, estate.id)
    await page.goto(f"/patrol/estates/{estate.id}")
    item = page.locator("fieldset.item").first
    await item.get_by_label("不合格").check()
    await item.locator("textarea").fill("垃圾桶满溢未清运")
    broken = tmp_root / "not-a-photo.jpg"
    broken.write_bytes(b"this is not a picture")
    await item.locator("input[type=file]").set_input_files(str(broken))
    await page.context.set_offline(True)
    await page.get_by_role("button", name="提交巡查").click()
    await expect(page.locator("#outbox-summary")).to_contain_text("1 条巡查等待发送")
    await expect(page.locator("#kept-today")).to_contain_text("另有 1 次保存在手机上")
    await page.context.set_offline(False)
    await expect(page.locator("#outbox-summary")).to_contain_text("1 条巡查被退回", timeout=15_000)
    assert await patrols_today(served, estate.id) == before

    await page.goto("/patrol")
    await expect(page.locator(f"li[data-estate='{estate.id}'] .status")).to_contain_text("1 次被退回")
    await page.locator("#outbox-items").get_by_role("link", name="重新填写").click()
    item = page.locator("fieldset.item").first
    await expect(item.locator("textarea")).to_have_value("垃圾桶满溢未清运")
    await expect(item.locator("input[value=fail]")).to_be_checked()
    await expect(page.locator("#error-_form")).to_contain_text("上次提交被退回")
    await expect(item.locator(".kept-photos")).to_contain_text("已保留上次的 1 张照片")
    await item.locator("input[type=file]").set_input_files(str(photo_file(tmp_root, "again.jpg", (40, 120, 40))))
    await page.get_by_role("button", name="提交巡查").click()
    await expect(page.locator("#patrol-done-text")).to_have_text("巡查已提交。")
    assert await patrols_today(served, estate.id) == before + 1
    await page.goto("/patrol")
    await expect(page.locator(f"li[data-estate='{estate.id}'] .status")).to_contain_text("已巡查")
    await expect(page.locator("#outbox-items li")).to_have_count(0)


async def test_company_reports_a_fix_with_a_photo_and_the_social_worker_accepts_it(open_as, served, tmp_root) -> None:
    defect = await scalar(served, select(Defect).where(Defect.community_id == (await estate_of(served, "xbl01", 0)).community_id, Defect.state == "open", Defect.source == "patrol").order_by(Defect.id.desc()))
    assert defect is not None, "the patrol story leaves an open order"
    company_user = await scalar(served, select(User.username).where(User.company_id == defect.company_id).order_by(User.id))

    company = await open_as(company_user)
    await company.goto("/defects")
    await expect(company.locator(f"#defect-{defect.id}")).to_contain_text("待整改")
    await company.locator(f"#defect-{defect.id}").get_by_role("link", name="报告整改").click()
    await company.get_by_label("整改情况").fill("杂物已清理，消防通道畅通")
    await company.get_by_role("button", name="提交整改报告").click()
    # No photo: refused beside the photo field, and the note typed is still there.
    await expect(company.locator("#error-photo")).to_have_text("请至少上传一张整改后的照片")
    await expect(company.get_by_label("整改情况")).to_have_value("杂物已清理，消防通道畅通")
    await company.get_by_label("整改后照片").set_input_files(str(photo_file(tmp_root, "fixed.jpg", (40, 160, 40))))
    await company.get_by_role("button", name="提交整改报告").click()
    await expect(company.locator("#defect-state")).to_contain_text("已报整改")

    worker = await open_as("xbl01-worker")
    await worker.goto(f"/defects/{defect.id}")
    await worker.get_by_label("验收意见").fill("现场核实已清理")
    await worker.get_by_role("button", name="验收通过").click()
    await expect(worker.locator("#defect-state")).to_contain_text("验收通过")
    assert (await scalar(served, select(Defect.state).where(Defect.id == defect.id))) == "closed"


async def test_director_casts_a_veto_the_street_upholds_it_and_locks_the_month(open_as, served, screenshot, tmp_root) -> None:
    month = Month.of(business_today()).previous()
    estate = await estate_of(served, "xbl01", 2)
    director = await open_as("xbl01-director")
    await director.goto(f"/committee?month={month}")
    await director.get_by_role("row", name=re.compile(estate.name)).get_by_role("link").click()
    await director.get_by_label("否决理由").select_option(label="门岗长时间无人值守或值守人员睡岗")
    await director.get_by_label("具体情况").fill("11月连续三晚门岗无人，居民多次反映")
    await director.get_by_role("button", name="提出一票否决").click()
    await expect(director.get_by_role("alert")).to_have_text("请至少上传一张证据照片")
    await expect(director.get_by_label("具体情况")).to_have_value("11月连续三晚门岗无人，居民多次反映")
    await director.get_by_label("证据照片").set_input_files(str(photo_file(tmp_root, "gate.jpg", (30, 30, 120))))
    await director.get_by_role("button", name="提出一票否决").click()
    await expect(director.get_by_text("待审核")).to_be_visible()
    veto_id = await scalar(served, select(Veto.id).where(Veto.estate_id == estate.id, Veto.month == str(month), Veto.automatic.is_(False)))

    officer = await open_as("xbl-officer")
    await officer.goto(f"/assessment?month={month}")
    await expect(officer.locator("#lock")).to_be_disabled()
    await expect(officer.locator("#blockers")).to_contain_text("一票否决待审核")
    await officer.goto("/assessment/vetoes")
    card = officer.locator(f"#veto-{veto_id}")
    await expect(card).to_contain_text("剩")
    await card.get_by_label("审核理由").fill("经街道核实，情况属实")
    await card.get_by_role("button", name="维持否决").click()
    await expect(officer.locator(f"#veto-{veto_id}")).to_have_count(0)
    assert (await scalar(served, select(Veto.state).where(Veto.id == veto_id))) == "upheld"
    # Automatic cases the month opened (a veto item confirmed by the street, a third overdue) are reviewed together:
    # tick them all, one reason, one click; the message says how many were decided.
    left = await officer.locator("section.card[id^=veto-]").count()
    if left:
        await officer.get_by_label(re.compile("全选本页")).check()
        assert await officer.locator("input[name=veto_id]:checked").count() == left
        await officer.get_by_label("审核理由（适用于所有勾选项）").fill("已核实")
        await officer.get_by_role("button", name="撤销所选否决").click()
        await expect(officer.get_by_role("status")).to_contain_text(f"已撤销 {left} 项一票否决")
        await expect(officer.locator("section.card[id^=veto-]")).to_have_count(0)

    await officer.goto(f"/assessment?month={month}")
    row = officer.get_by_role("row", name=re.compile(estate.name))
    await expect(row).to_contain_text("不合格")
    # The upheld veto stands where the score would be; the points are said to count for nothing.
    await expect(row.get_by_role("link", name="一票否决")).to_be_visible()
    await expect(row).to_contain_text("不计等级")
    await screenshot(officer, "street-month-table")
    assert any("WenQuanYi" in f or "Noto" in f for f in await cjk_font_of(officer, "h1"))
    # The trend's axis is the estate's own range and its values are written on it.
    assert await row.locator("svg.trend text").count() >= 3
    await officer.set_viewport_size({"width": 390, "height": 844})
    assert await officer.evaluate("document.documentElement.scrollWidth") <= 390
    # Locking first says what it locks; only the confirmation locks.
    await officer.get_by_role("button", name="锁定本月考核").click()
    await expect(officer.locator("h1")).to_have_text(f"确认锁定 {month} 月度考核")
    await expect(officer.locator("#lock-vetoes")).to_have_text("0")
    assert int(await officer.locator("#lock-scored").inner_text()) >= 1
    assert await officer.evaluate("document.documentElement.scrollWidth") <= 390
    await officer.get_by_role("button", name="确认锁定").click()
    await expect(officer.get_by_role("status")).to_have_text(f"{month} 月度考核已锁定，此后不再改动。")
    await expect(officer.locator("#month-state-name")).to_have_text("已锁定")
    street_id = await scalar(served, select(Community.street_id).where(Community.id == estate.community_id))
    assert (await scalar(served, select(AssessmentMonth.state).where(AssessmentMonth.street_id == street_id, AssessmentMonth.month == str(month)))) == "locked"
    # A locked month takes no new opinion: the director's page says why, and offers no form to fill in for nothing.
    await director.goto(f"/committee/estates/{estate.id}?month={month}")
    await expect(director.locator("#opinion-effect")).to_contain_text("锁定，得分和补贴不再改变")
    await expect(director.get_by_label("对物业服务的评价（0–100 分）")).to_have_count(0)


async def test_street_officer_filters_the_month_table_and_opens_a_breakdown(open_as, served) -> None:
    month = Month.of(business_today()).previous()
    officer = await open_as("xbl-officer")
    await officer.goto(f"/assessment?month={month}")
    total = await officer.locator("#scores tbody tr").count()
    assert total > 10
    await officer.get_by_label("社区").select_option(label="树德里")
    await expect(officer).to_have_url(re.compile(r"community_id=\d+"))
    await expect(officer.locator("#scores tbody tr")).not_to_have_count(total)
    communities = await officer.locator("#scores tbody tr td:nth-child(2)").all_inner_texts()
    assert set(communities) == {"树德里"}
    assert await officer.locator("#scores svg.trend").count() == len(communities)
    await officer.locator("#scores tbody tr td.num a").first.click()
    await expect(officer.locator("h1")).to_contain_text(month.__str__())
    await expect(officer.locator("#lines")).to_be_visible()


async def test_finance_starts_approves_and_pays_a_quarter_and_downloads_the_pdf(open_as, served, tmp_root) -> None:
    quarter = last_ended_quarter(datetime.now(UTC))
    finance = await open_as("finance")
    await finance.goto("/subsidies/runs")
    await finance.get_by_label("季度").fill(str(quarter))
    await finance.get_by_role("button", name="发起核算").click()
    await expect(finance.locator("#run-state")).to_have_text("草稿（待街道确认）")
    run_id = int(finance.url.rsplit("/", 1)[1])
    await expect(finance.get_by_role("button", name="审批通过")).to_be_disabled()
    await expect(finance.locator("#unconfirmed")).to_contain_text("小白楼")

    for street in STREETS:
        officer = await open_as(f"{street}-officer")
        await officer.goto(f"/subsidies/runs/{run_id}")
        await officer.get_by_role("button", name="确认本街道补贴").click()
        await expect(officer.get_by_role("button", name="确认本街道补贴")).to_have_count(0)

    # Another finance officer than the one who started the run approves it (separation of duties).
    await finance.reload()
    await expect(finance.locator("#own-run")).to_contain_text("核算审批")
    await expect(finance.get_by_role("button", name="审批通过")).to_be_disabled()
    reviewer = await open_as("finance2")
    await reviewer.goto(f"/subsidies/runs/{run_id}")
    await expect(reviewer.locator("#run-state")).to_have_text("各街道已确认（待审批）")
    await reviewer.get_by_role("button", name="审批通过").click()
    await expect(reviewer.locator("#run-state")).to_have_text("已审批")
    await finance.reload()
    await expect(finance.locator("#run-state")).to_have_text("已审批")
    await finance.get_by_role("button", name="生成拨付批次").click()
    await expect(finance.locator("#batch")).to_be_visible()
    # The system issues the batch; the treasury pays it. The state says what happened, not that money arrived.
    await expect(finance.locator("#run-state")).to_have_text("已签发拨付批次")

    run = await scalar(served, select(ProgrammeRun).where(ProgrammeRun.id == run_id))
    batch = await scalar(served, select(ProgrammeBatch).where(ProgrammeBatch.run_id == run_id))
    assert run.state == "disbursed" and batch is not None
    assert (await scalar(served, select(func.count()).where(ProgrammeBatch.run_id == run_id))) == 1
    await expect(finance.locator("#run-total")).to_have_text(yuan(batch.total_fen))

    async with finance.expect_download() as download_info:
        await finance.get_by_role("link", name="下载拨付汇总表（PDF）").click()
    download = await download_info.value
    path = tmp_root / "summary.pdf"
    await download.save_as(path)
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    assert batch.number in text
    assert yuan(batch.total_fen).replace(",", "") in text.replace(",", "")


async def test_nobody_reaches_another_communitys_pages_by_editing_the_url(open_as, served) -> None:
    other = await estate_of(served, "xx01", 0)
    worker = await open_as("xbl01-worker")
    answer = await worker.goto(f"/patrol/estates/{other.id}")
    assert answer.status == 404
    await expect(worker.get_by_role("alert")).to_have_text("该记录不存在，或不在您的管辖范围内")
    director = await open_as("xbl01-director")
    assert (await director.goto(f"/committee/estates/{other.id}")).status == 404
    other_defect = await scalar(served, select(Defect.id).where(Defect.estate_id == other.id).order_by(Defect.id))
    assert (await worker.goto(f"/defects/{other_defect}")).status == 404
    assert (await director.goto(f"/assessment/scores/{other.id}/{Month.of(business_today()).previous()}")).status == 404
    assert (await worker.goto("/subsidies/runs")).status == 403
    # A form posted at another community's estate is refused by the service, not just hidden by the page.
    await director.goto("/committee")
    token = await director.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['x-csrftoken']")
    answer = await director.request.post(
        f"/committee/estates/{other.id}/opinion", form={"month": str(Month.of(business_today()).previous()), "rating": "10", "_csrf_token": token}
    )
    assert answer.status == 404
