"""Amounts and areas typed by a person (yuan with fen, square metres with hundredths) are read exactly, and anything
that is not one is refused in Chinese, never a fault: an exponent like 1e30 once made Decimal.quantize raise
InvalidOperation in four forms (a catalogue budget, a need's proposal, a call's budget and lots, a bid)."""

from __future__ import annotations

import pytest

from community.calls.pages import fen_of
from community.needs.pages import _fen
from foundation.errors import InvalidInput
from foundation.money import hundredths, too_many_decimals
from supervision.importing.sheets import CellProblem, area_centi_m2

NOT_AMOUNTS = ["1e30", "1E+30", "Infinity", "-Infinity", "NaN", "sNaN", "-5", "１２０００", ".5", "9" * 16, "12 000", "十二元", "0x10"]


def test_a_typed_amount_is_read_exactly_to_the_hundredth() -> None:
    assert hundredths("12000") == 1_200_000 and hundredths("12,000.5") == 1_200_050 and hundredths(" 0.01 ") == 1
    assert hundredths("999999999999999.99") == 99_999_999_999_999_999
    assert all(hundredths(text) is None for text in NOT_AMOUNTS)
    assert too_many_decimals("1.234") and not too_many_decimals("1.23") and not too_many_decimals("1e-3")


@pytest.mark.parametrize("text", [*NOT_AMOUNTS, "0", "1.234", "20000000.01"])
def test_every_form_refuses_what_is_no_amount_in_chinese(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        fen_of(text, "budget")
    assert "金额" in refused.value.message_zh
    if text == "20000000.01":  # above a call's budget limit, a number all the same
        return
    with pytest.raises(InvalidInput) as refused:
        _fen(text)
    assert "金额" in refused.value.message_zh
    with pytest.raises(CellProblem):
        area_centi_m2(text)


def test_the_forms_read_good_amounts() -> None:
    assert fen_of("48,000.50", "budget") == 4_800_050 and _fen("12000") == 1_200_000 and _fen("") is None
    assert area_centi_m2("12345.67") == 1_234_567 and area_centi_m2(12345.5) == 1_234_550
