"""People on pages by name and post: after a page handler answers, the accounts its page shows are named with one
look-up (not one per row), for the `person` filter (foundation/web/filters.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.datastructures import State
from litestar.response import Response, Template

from foundation.web.filters import PEOPLE_NAMES, accounts_shown
from people.queries import account_names


def name_people_on_pages(state: State) -> Callable[[Response[Any]], Awaitable[Response[Any]]]:
    """An after-request hook: a page naming accounts gets their names in its context (read in a short read-only
    session of its own: the request's session may already have ended its transaction)."""

    async def name_people(response: Response[Any]) -> Response[Any]:
        if not isinstance(response, Template) or PEOPLE_NAMES in response.context:
            return response
        accounts = accounts_shown(response.context)
        if accounts:
            async with state.session_factory() as session:
                response.context[PEOPLE_NAMES] = await account_names(session, accounts)
        return response

    return name_people
