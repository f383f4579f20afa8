"""Request parameters and dependencies shared by every package's routes: ids, paging, search text, the blob store."""

from __future__ import annotations

from typing import Annotated

from litestar.datastructures import State
from litestar.params import Parameter

from foundation.paging import PageRequest
from foundation.settings import get_settings
from foundation.storage import BlobStore
from foundation.text import NONBLANK

MAX_ID = 2**31 - 1
MAX_PAGE = 100_000  # the last page number any list answers

RecordId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="Record id")]
OptionalId = Annotated[int | None, Parameter(ge=1, le=MAX_ID)]
SearchText = Annotated[str | None, Parameter(min_length=1, max_length=100, pattern=NONBLANK, description="Part of a name, code or address")]


async def provide_paging(
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Page number, from 1")] = 1,
    page_size: Annotated[int, Parameter(ge=1, le=200, description="Rows per page")] = 50,
) -> PageRequest:
    return PageRequest(page=page, page_size=min(page_size, get_settings().max_page_size))


def provide_store(state: State) -> BlobStore:
    """The app's blob store (photos, issued documents), made once by the app factory."""
    store: BlobStore = state.blob_store
    return store
