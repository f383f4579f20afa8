"""A form field checked with str.isdigit() lets '²' or '①' through to int(), which then fails with a 500: product
code checks with isdecimal() (exactly what int() reads) or isascii() and isdigit() (ASCII digits only)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from subsidies.care.rules import check_id_number

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("foundation", "registry", "people", "inspections", "complaints", "assessment", "subsidies", "reports", "community", "supervision")


def test_no_product_code_guards_int_with_isdigit_alone() -> None:
    loose = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if re.search(r"\.isdigit\(\)", line) and ".isascii()" not in line:
                    loose.append(f"{path.relative_to(ROOT)}:{number}")
    assert loose == []


@pytest.mark.parametrize("text", ["1²0105193001010012", "１２０１０５１９３００１０１００１２"])
def test_an_id_number_with_other_digits_is_refused_not_a_crash(text: str) -> None:
    assert check_id_number(text) is None
