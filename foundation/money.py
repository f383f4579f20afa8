"""Money is an integer number of fen (分); these only show it."""

from __future__ import annotations


def yuan(fen: int) -> str:
    """Integer fen as grouped yuan with two decimals: 123456 -> '1,234.56'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"
