"""The treasury spreadsheet writes text as text: a cell that begins with =, +, - or @ is never a formula."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import openpyxl
from hypothesis import given
from hypothesis import strategies as st

from reports.sheets import HEADERS, batch_workbook

ISSUED = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)


def row(name: str, company: str) -> list[object]:
    return ["HPBT-2026-Q3-001", "小白楼街道", "树德里社区", "XBL01-01", name, company, "中国工商银行天津和平支行", "0302001109300012345", "2026-07", 91.5, "优秀", "否", 0.95, 1234.5, 31, 31, 370350, 185175, 185175]


def cells(content: bytes) -> list[list[openpyxl.cell.cell.Cell]]:
    return [list(r) for r in openpyxl.load_workbook(io.BytesIO(content))["明细"].iter_rows()]


def test_names_beginning_with_formula_characters_are_written_as_text() -> None:
    names = ['=HYPERLINK("http://example.com","点此")', "+86 10 1234", "-1+2", "@SUM(A1)", "=1+1"]
    content = batch_workbook("HPBT-2026-Q3-001", ISSUED, [row(name, name) for name in names], (370350 * 5, 185175 * 5, 185175 * 5))
    sheet = cells(content)
    assert [c.value for c in sheet[0]] == list(HEADERS)
    for n, name in enumerate(names, start=1):
        assert (sheet[n][4].value, sheet[n][4].data_type) == (name, "s")
        assert (sheet[n][5].value, sheet[n][5].data_type) == (name, "s")
        assert sheet[n][9].data_type == "n" and sheet[n][16].value == 3703.5  # numbers stay numbers, amounts in yuan
        assert sheet[n][7].data_type == "s"  # an account number is text: no digits lost to a float
    assert all(c.data_type != "f" for r in sheet for c in r)


def test_the_coefficient_is_a_number_shown_with_two_decimals_and_the_lines_can_be_filtered() -> None:
    content = batch_workbook("HPBT-2026-Q3-001", ISSUED, [row("树德里1号", "公司"), row("树德里2号", "公司")], (370350 * 2, 185175 * 2, 185175 * 2))
    sheet = openpyxl.load_workbook(io.BytesIO(content))["明细"]
    coefficient = sheet.cell(row=2, column=HEADERS.index("系数") + 1)
    assert (coefficient.value, coefficient.data_type, coefficient.number_format) == (0.95, "n", "0.00")
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(HEADERS))}3"


@given(st.text(alphabet=st.sampled_from("=+-@ 1A(),\"'"), min_size=1, max_size=12).filter(lambda s: s.strip() == s and s))
def test_any_text_comes_back_as_the_same_text(name: str) -> None:
    sheet = cells(batch_workbook("HPBT-2026-Q3-001", ISSUED, [row(name, "公司")], (370350, 185175, 185175)))
    assert (sheet[1][4].value, sheet[1][4].data_type) == (name, "s")
