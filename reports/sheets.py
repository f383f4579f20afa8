"""The batch's lines as a spreadsheet for the treasury (XLSX, written with XlsxWriter: fast, write-only, and its
output does not depend on the clock once the document properties are fixed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import xlsxwriter

HEADERS = ("批次编号", "街道", "社区", "区片编码", "区片名称", "物业企业", "月份", "得分", "等级", "一票否决", "系数", "面积（㎡）", "计补天数", "当月天数", "金额（元）", "市级（元）", "区级（元）")


def batch_workbook(number: str, issued_at: datetime, rows: Sequence[Sequence[object]], totals: tuple[int, int, int]) -> bytes:
    """`rows` as HEADERS (amounts in fen, written as yuan with two decimals); a last row of totals."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties({"title": f"补贴拨付明细 {number}", "author": "旧楼区准物业管理监督系统", "created": issued_at.replace(tzinfo=None)})
    money = book.add_format({"num_format": "#,##0.00"})
    bold_money = book.add_format({"num_format": "#,##0.00", "bold": True})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("明细")
    sheet.write_row(0, 0, HEADERS, bold)
    sheet.freeze_panes(1, 0)
    for n, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if col >= len(HEADERS) - 3:
                sheet.write_number(n, col, int(value) / 100, money)  # type: ignore[call-overload]
            else:
                sheet.write(n, col, value)
    last = len(rows) + 1
    sheet.write(last, 0, "合计", bold)
    for offset, amount in enumerate(totals):
        sheet.write_number(last, len(HEADERS) - 3 + offset, amount / 100, bold_money)
    sheet.set_column(0, 0, 20)
    sheet.set_column(3, 5, 22)
    sheet.set_column(len(HEADERS) - 3, len(HEADERS) - 1, 16)
    book.close()
    return buffer.getvalue()
