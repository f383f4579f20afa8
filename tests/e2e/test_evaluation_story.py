"""A project's mid-term in a real browser: the committee has entered the beneficiaries' surveys, the evaluation
firm's evaluator finds the project on the desk and passes its mid-term with evidence, finance pays the second
tranche from the project's page and downloads the batch's PDF; anyone sees the result on the public project page."""

from __future__ import annotations

from datetime import date

import httpx
from playwright.async_api import expect
from pypdf import PdfReader

from community.ocds.config import publication_rules
from community.ocds.rules import ocid_of

POINTS = {"需求契合": ("85", "入户走访 12 户，需求调研与项目目标一致"), "项目设计": ("80", "活动方案、排班与应急预案齐全"), "执行与产出": ("78", "完成探访 320 人次"), "项目成效": ("75", "老人孤独感量表得分下降"), "财务合规": ("90", "台账与票据相符")}


async def test_the_evaluator_passes_the_mid_term_and_finance_pays_the_second_tranche_and_downloads_the_pdf(open_as, new_context, served, tmp_root, screenshot) -> None:  # type: ignore[no-untyped-def]
    finance_key = served.bearer("finance")
    contract = next(c for c in httpx.get(f"{served.base_url}/api/evaluation/contracts", headers=finance_key).json() if not c["evaluations"])
    cid = contract["contract_id"]
    director = served.bearer("xbl01-director")
    for n in range(5):
        survey = {"client_id": f"e2e-survey-{cid}-{n}", "channel": "phone", "collected_on": date.today().isoformat(), "overall": 5, "attitude": 4, "effect": 5}
        assert httpx.post(f"{served.base_url}/api/evaluation/contracts/{cid}/surveys", json=survey, headers=director).status_code == 201

    evaluator = await open_as("evaluator1")
    await evaluator.goto("/community/evaluation")
    await evaluator.get_by_role("link", name=contract["number"]).click()
    await expect(evaluator.locator("h2", has_text="提交中期评估")).to_be_visible()
    for name, (points, evidence) in POINTS.items():
        await evaluator.get_by_label(f"{name}得分（0–100）").fill(points)
        await evaluator.get_by_label(f"{name}评估依据").fill(evidence)
    await evaluator.get_by_label("评估结论").fill("项目执行规范，中期评估合格。")
    await evaluator.get_by_role("button", name="提交评估").click()
    await expect(evaluator.locator("article.evaluation h3")).to_contain_text("合格")
    await expect(evaluator.get_by_text("已放行第2笔拨款。")).to_be_visible()
    await expect(evaluator.locator("#tranche-2 .state")).to_have_text("可拨付")

    finance = await open_as("finance")
    await finance.goto(f"/community/evaluation/contracts/{cid}")
    await expect(finance.locator("#tranche-3 .state")).to_have_text("待结项评估合格")
    await finance.locator("#tranche-2").get_by_role("button", name="拨付第2笔").click()
    await expect(finance.locator("#tranche-2 .state")).to_contain_text("已签发拨付（批次 ")
    batch_number = (await finance.locator("#tranche-2 .state").inner_text()).split("批次 ")[1].rstrip("）")
    await screenshot(finance, "evaluation-tranche-paid")
    async with finance.expect_download() as download_info:
        await finance.locator("#tranche-2").get_by_role("link", name="拨付汇总表（PDF）").click()
    download = await download_info.value
    path = tmp_root / "tranche-summary.pdf"
    await download.save_as(path)
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    assert "政府购买社区服务项目拨款汇总表" in text and batch_number in text

    # Paying it again is refused on the page: the tranche shows its batch and no button.
    await expect(finance.locator("#tranche-2").get_by_role("button")).to_have_count(0)

    calls = httpx.get(f"{served.base_url}/api/calls", headers=served.bearer("admin")).json()
    number = next(c["number"] for c in calls if c["id"] == contract["call_id"])
    anyone = await (await new_context(locale="zh-CN", viewport={"width": 390, "height": 844})).new_page()
    await anyone.goto(f"/public/projects/{ocid_of(publication_rules(), number)}")
    await expect(anyone.locator(".evaluations")).to_contain_text("中期评估")
    await expect(anyone.locator(".evaluations")).to_contain_text("合格")
    evaluated = anyone.locator(".contract", has=anyone.locator(".evaluations"))
    await expect(evaluated.locator(".tranches li").nth(1)).to_contain_text("已完成")
    assert "evaluator1" not in await anyone.content()
    assert await anyone.evaluate("document.documentElement.scrollWidth") <= 390 + 1
