"""Money is an integer number of fen (分): shown as yuan, and read from what a person types."""

from __future__ import annotations

import re

# What a person types for an amount or an area: digits, a point and at most two decimals, thousands commas allowed;
# no sign, no exponent ("1e30"), no "Infinity", no full-width digits, and at most 15 digits before the point (larger
# than any amount or area this system holds, and exact in every database column).
_HUNDREDTHS = re.compile(r"[0-9]{1,15}(\.[0-9]{1,2})?", re.ASCII)
_MORE_DECIMALS = re.compile(r"[0-9]{1,15}\.[0-9]{3,}", re.ASCII)


def yuan(fen: int) -> str:
    """Integer fen as grouped yuan with two decimals: 123456 -> '1,234.56'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def hundredths(text: str) -> int | None:
    """A number typed with at most two decimals as an integer of hundredths ("12,000.5" → 1200050 fen, or 0.01 m²);
    None when it is not one. Exact: no float, no Decimal context that an exponent like 1e30 could overflow."""
    text = text.replace(",", "").strip()
    if _HUNDREDTHS.fullmatch(text) is None:
        return None
    whole, _, part = text.partition(".")
    return int(whole) * 100 + int(part.ljust(2, "0"))


def too_many_decimals(text: str) -> bool:
    """Whether the text is a plain number with more than two decimals (its refusal says so, not 'not a number')."""
    return _MORE_DECIMALS.fullmatch(text.replace(",", "").strip()) is not None
