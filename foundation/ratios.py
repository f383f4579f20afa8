"""Rates, shares and coefficients at the edges: one decimal text in and out ("0.95", "0.5", "1"), exact inside
(Fraction). The API, the pages, the PDFs, the spreadsheets and config/*.toml all read and write them here, so what
the system shows is what it accepts."""

from __future__ import annotations

import re
from fractions import Fraction

RATIO_PLACES = 4  # decimals a share or coefficient may have (0.9525); enough for any published scheme
RATIO_PATTERN = rf"^[0-9]+(\.[0-9]{{1,{RATIO_PLACES}}})?$"
_RATIO = re.compile(RATIO_PATTERN)


def parse_ratio(text: str) -> Fraction:
    """Decimal text ("0.95", "1", "0.5") as an exact fraction; anything else (a fraction "19/20", a percent, more than
    RATIO_PLACES decimals) is refused with a message saying how to write it."""
    cleaned = text.strip() if isinstance(text, str) else text
    if not isinstance(cleaned, str) or not _RATIO.match(cleaned):
        raise ValueError(f"{text!r} is not a decimal like 0.95 (at most {RATIO_PLACES} decimals; write 0.95, not 19/20 or 95%)")
    return Fraction(cleaned)


def ratio_text(value: Fraction | int) -> str:
    """The decimal text of an exact ratio, as people write it: 19/20 → "0.95", 1/2 → "0.5", 1 → "1", 0 → "0".
    Every ratio the system holds came in as decimal text, so its decimal ends; one that does not is a bug."""
    value = Fraction(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    whole, rest = divmod(value.numerator, value.denominator)
    digits = ""
    seen = 0
    while rest and seen < 40:
        rest *= 10
        digit, rest = divmod(rest, value.denominator)
        digits += str(digit)
        seen += 1
    if rest:
        raise ValueError(f"{value} has no finite decimal text")
    return f"{sign}{whole}" + (f".{digits}" if digits else "")


def stored_ratio(text: str) -> Fraction:
    """A ratio as the database holds it (decimal text; rows written before decimal text was used hold "19/20")."""
    return Fraction(text)
