"""Request parameters shared by every list and detail route: ids, paging, search text."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from supervision.core.paging import PageRequest
from supervision.core.settings import get_settings
from supervision.core.text import NONBLANK

MAX_ID = 2**31 - 1

RecordId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="Record id")]
OptionalId = Annotated[int | None, Parameter(ge=1, le=MAX_ID)]
SearchText = Annotated[str | None, Parameter(min_length=1, max_length=100, pattern=NONBLANK, description="Part of a name, code or address")]


async def provide_paging(
    page: Annotated[int, Parameter(ge=1, le=100_000, description="Page number, from 1")] = 1,
    page_size: Annotated[int, Parameter(ge=1, le=200, description="Rows per page")] = 50,
) -> PageRequest:
    return PageRequest(page=page, page_size=min(page_size, get_settings().max_page_size))
