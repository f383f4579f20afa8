"""The shapes every API body shares: the strict base of request bodies, record ids, written reasons, months."""

from __future__ import annotations

from typing import Annotated

import msgspec

from foundation.periods import MONTH_PATTERN
from foundation.text import NONBLANK

Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Reason = Annotated[str, msgspec.Meta(min_length=2, max_length=2000, pattern=NONBLANK)]
MonthText = Annotated[str, msgspec.Meta(pattern=MONTH_PATTERN, description="A month, e.g. 2026-10")]


class Strict(msgspec.Struct, forbid_unknown_fields=True):
    """Base of request bodies: unknown fields are an error, not silently dropped."""
