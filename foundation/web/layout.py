"""What every package's pages share: the layout (who is logged in, the menu of their role) and refused forms with
the reason in Chinese beside the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import MediaType
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import ROLE_NAMES, Principal
from foundation.errors import DomainError, InvalidInput
from foundation.paging import PageRequest
from foundation.web.problems import status_of


def page(template: str, principal: Principal | None, **context: Any) -> Template:
    """A page in the shared layout, which shows who is logged in and the menu of their role."""
    return Template(
        template_name=template,
        context={"me": principal, "role_name": ROLE_NAMES.get(principal.role) if principal else None, **context},
        media_type=MediaType.HTML,
    )


@asynccontextmanager
async def attempt(db: AsyncSession) -> AsyncIterator[None]:
    """A page's use case, in a savepoint: refused half-way (it wrote, then a rule said no), what it wrote is undone
    at once, so the page shown again with the reason reads the state as it was, never a step the refusal undoes.
    The request's transaction still ends in one place (foundation.web.sessions: a 4xx rolls it all back)."""
    async with db.begin_nested():
        yield


def form_error(exc: DomainError) -> dict[str, str]:
    """A refused form's message in Chinese, keyed by the field it belongs beside ('_form' for the whole form)."""
    return {exc.field or "_form": exc.message_zh}


def refused(template: str, principal: Principal, exc: DomainError, **context: Any) -> Template:
    """The same form again with what was typed and the reason beside the field, with the status the API would give
    (a refused input is 422 here: the form came back to be corrected)."""
    response = page(template, principal, errors=form_error(exc), **context)
    response.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
    return response


def read_verdict(data: dict[str, str], yes: str, no: str, choose_zh: str, reason_zh: str, reason_key: str = "reason") -> tuple[bool, str]:
    """A review form's two buttons (`verdict` = yes or no) and its written reason, refused in Chinese when missing."""
    reason = (data.get(reason_key) or "").strip()
    verdict = data.get("verdict")
    if verdict not in (yes, no):
        raise InvalidInput(f"choose {yes} or {no}", zh=choose_zh, field="verdict")
    if not reason:
        raise InvalidInput(f"write the {reason_key}", zh=reason_zh, field=reason_key)
    return verdict == yes, reason


def chosen_id(text: str | None) -> int | None:
    """A filter's id from a query string; an empty choice ("全部") or anything not a number means no filter."""
    return int(text) if text and text.isdecimal() else None


def pages_of(total: int, paging: PageRequest) -> int:
    return max(1, -(-total // paging.page_size))
