"""Request parameters and dependencies shared by every package's routes: ids, paging, search text, the blob store."""

from __future__ import annotations

from typing import Annotated

from litestar import Litestar
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.routes import HTTPRoute

from foundation.paging import PageRequest
from foundation.settings import get_settings
from foundation.storage import BlobStore
from foundation.text import ONE_LINE_NONBLANK

MAX_ID = 2**31 - 1
MAX_PAGE = 100_000  # the last page number any list answers

RecordId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="Record id")]
OptionalId = Annotated[int | None, Parameter(ge=1, le=MAX_ID)]
SearchText = Annotated[str | None, Parameter(min_length=1, max_length=100, pattern=ONE_LINE_NONBLANK, description="Part of a name, code or address")]


async def provide_paging(
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Page number, from 1")] = 1,
    page_size: Annotated[int, Parameter(ge=1, le=200, description="Rows per page")] = 50,
) -> PageRequest:
    return PageRequest(page=page, page_size=min(page_size, get_settings().max_page_size))


def provide_store(state: State) -> BlobStore:
    """The app's blob store (photos, issued documents), made once by the app factory."""
    store: BlobStore = state.blob_store
    return store


def dependencies_in_turn(app: Litestar) -> None:
    """Each handler's dependencies resolved one after another. Litestar resolves the independent ones together, each
    in a task of a task group of its own; ours (the request's session, the caller, the blob store, the page asked
    for) are each a few microseconds of work, and the task group cost more than they did together: about a twentieth
    of a patrol's time, on every request. Run once on the finished app: the order within a level is kept, and a
    dependency still comes after the ones it depends on."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for _handler, model in route.route_handler_map.values():
            model.dependency_batches = [{dependency} for batch in model.dependency_batches for dependency in batch]
