"""The district's administrator imports a spreadsheet in the browser: downloads the template, uploads a file whose
bad rows the dry run lists by row, column and reason, uploads it corrected and confirms (issue 22, item 1). Only
accounts are imported, so the served district the other stories count stays as it was."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook, load_workbook
from playwright.async_api import expect

from supervision.importing.sheets import KIND_BY_KEY

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def users_file(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "用户"
    sheet.append([c.header for c in KIND_BY_KEY["users"].columns])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_the_admin_checks_a_file_sees_every_bad_cell_then_imports_it_corrected(open_as, screenshot) -> None:
    page = await open_as("admin")
    await page.get_by_role("link", name="表格导入").click()
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="用户模板").click()
    template = load_workbook(io.BytesIO(Path(await (await download_info.value).path()).read_bytes()))
    assert [c.value for c in template["用户"][1]] == [c.header for c in KIND_BY_KEY["users"].columns]

    bad = users_file([
        ["e2e-worker", "树德里导入社工", "社区物业社工", "", "XBL01", "", ""],
        ["e2e-chief", "某人", "区长", "", "", "", ""],
        ["e2e-officer", "导入街道办", "街道办", "NOSUCH", "", "", ""],
    ])
    await page.get_by_label("XLSX 或 CSV 文件").set_input_files(files=[{"name": "users.xlsx", "mimeType": XLSX, "buffer": bad}])
    await page.get_by_role("button", name="检查文件").click()
    await expect(page.get_by_text("检查未通过")).to_be_visible()
    errors = page.locator("#import-errors tbody tr")
    await expect(errors).to_have_count(2)
    assert [t.split("\t") for t in await errors.all_inner_texts()] == [
        ["用户", "3", "岗位", await errors.nth(0).locator("td").nth(3).inner_text()],
        ["用户", "4", "所属街道编码", "街道编码“NOSUCH”未登记（也不在本文件的“街道”表中）"],
    ]
    await expect(errors.nth(0)).to_contain_text("不是可选值")
    await expect(page.get_by_role("button", name="确认导入")).to_have_count(0)
    await screenshot(page, "import-dry-run-errors")

    good = users_file([["e2e-worker", "树德里导入社工", "社区物业社工", "", "XBL01", "", ""], ["e2e-officer", "导入街道办", "街道办", "XBL", "", "", ""]])
    await page.get_by_label("XLSX 或 CSV 文件").set_input_files(files=[{"name": "users.xlsx", "mimeType": XLSX, "buffer": good}])
    await page.get_by_role("button", name="检查文件").click()
    await expect(page.get_by_text("检查通过：users.xlsx")).to_be_visible()
    await expect(page.locator("#import-report tbody tr").first).to_contain_text("用户")
    await page.get_by_role("button", name="确认导入").click()
    await expect(page.get_by_text("导入完成：users.xlsx")).to_be_visible()
    await expect(page.locator("#import-report tbody tr").first.locator("td").nth(2)).to_have_text("2")

    # The same file again: checked clean, and nothing would be registered anew.
    await page.get_by_label("XLSX 或 CSV 文件").set_input_files(files=[{"name": "users.xlsx", "mimeType": XLSX, "buffer": good}])
    await page.get_by_role("button", name="检查文件").click()
    await expect(page.locator("#import-report tbody tr").first.locator("td").nth(3)).to_have_text("2")
