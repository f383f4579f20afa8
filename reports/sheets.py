"""The batch's lines as a spreadsheet for the treasury (XLSX, written with XlsxWriter: fast, write-only, and its
output does not depend on the clock once the document properties are fixed). Text is always written as text: a name
that begins with `=`, `+`, `-` or `@` is a name, never a formula (nor a number or a link)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

HEADERS = (
    "批次编号", "街道", "社区", "区片编码", "区片名称", "物业企业", "开户银行", "银行账号", "月份", "得分", "等级", "一票否决", "系数", "面积（㎡）",
    "计补天数", "当月天数", "金额（元）", "市级（元）", "区级（元）",
)
# Number formats of columns by their header (a column not named here is written as it comes).
NUMBER_FORMATS = {"系数": "0.00", "得分": "0.00", "面积（㎡）": "#,##0.00"}


def write_cell(sheet: Worksheet, row: int, col: int, value: object, number_format: Any = None) -> None:
    """A number as a number, anything else as text (write_string: never a formula, whatever its first character)."""
    if value is None or value == "":
        sheet.write_blank(row, col, None)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        sheet.write_number(row, col, value, number_format)
    else:
        sheet.write_string(row, col, str(value))


def batch_workbook(
    number: str, issued_at: datetime, rows: Sequence[Sequence[object]], totals: tuple[int, int, int], headers: Sequence[str] = HEADERS, title: str = "补贴拨付明细"
) -> bytes:
    """`rows` as `headers`, whose last three are the amounts (in fen, written as yuan with two decimals); a last row
    of totals."""
    buffer = io.BytesIO()
    # No guessing from a string's look: what is text stays text (write_cell below types every cell itself).
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False})
    book.set_properties({"title": f"{title} {number}", "author": "旧楼区准物业管理监督系统", "created": issued_at.replace(tzinfo=None)})
    money = book.add_format({"num_format": "#,##0.00"})
    bold_money = book.add_format({"num_format": "#,##0.00", "bold": True})
    bold = book.add_format({"bold": True})
    formats = {col: book.add_format({"num_format": NUMBER_FORMATS[h]}) for col, h in enumerate(headers) if h in NUMBER_FORMATS}
    sheet = book.add_worksheet("明细")
    for col, header in enumerate(headers):
        sheet.write_string(0, col, header, bold)
    sheet.freeze_panes(1, 0)
    for n, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if col >= len(headers) - 3:
                assert isinstance(value, int), f"column {headers[col]} holds amounts in fen, not {value!r}"
                sheet.write_number(n, col, value / 100, money)
            else:
                write_cell(sheet, n, col, value, formats.get(col))
    sheet.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)  # the lines only: the totals row stays below the filter
    last = len(rows) + 1
    sheet.write_string(last, 0, "合计", bold)
    for offset, amount in enumerate(totals):
        sheet.write_number(last, len(headers) - 3 + offset, amount / 100, bold_money)
    sheet.set_column(0, 0, 20)
    sheet.set_column(3, 5, 22)
    sheet.set_column(len(headers) - 3, len(headers) - 1, 16)
    book.close()
    return buffer.getvalue()
