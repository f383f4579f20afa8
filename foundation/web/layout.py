"""What every package's pages share: the layout (who is logged in, the menu of their role) and refused forms with
the reason in Chinese beside the field."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import msgspec
from litestar import MediaType
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import ROLE_NAMES, Principal
from foundation.errors import DomainError, InvalidInput
from foundation.one_line import check_one_line
from foundation.paging import PageRequest
from foundation.web.body import check_dates
from foundation.web.params import MAX_ID, MAX_PAGE
from foundation.web.problems import status_of

T = TypeVar("T")
_AT = re.compile(r"at `\$\.(\w+)")
_LIMIT = re.compile(r"Expected `(str|array|int|float)` (of length )?([<>]=?) (-?\d+)")


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
    """A filter's id from a query string; an empty choice ("全部") or anything not a number means no filter, and a
    number larger than any record's id is refused (no database could look it up)."""
    if not text or not text.isdecimal():
        return None
    if len(text) > 10 or int(text) > MAX_ID:
        raise InvalidInput(f"{text} is not the id of any record", zh="所选编号超出范围，请从列表中选择", field="_form")
    return int(text)


def page_request(page_no: int, page_size: int) -> PageRequest:
    """The page a list page was asked for, from 1 to the last page any list has (the API's bound): a page beyond the
    list is empty, never an error."""
    return PageRequest(page=min(max(1, page_no), MAX_PAGE), page_size=page_size)


def form_body(shape: type[T], /, *, strict: bool = True, **fields: Any) -> T:
    """A form's fields as the API's body, checked against the same limits as the API checks (lengths, ranges, formats):
    a page is a second door to the same rule, never a way around it. A refusal names the field and says, in Chinese,
    what the limit is (a line break in a name or title: that it is one line)."""
    check_one_line(fields, shape, beside_field=True)
    try:
        body = msgspec.convert(fields, shape, strict=strict)
    except msgspec.ValidationError as error:
        text = str(error)
        at = _AT.search(text)
        limit = _LIMIT.search(text)
        if limit is None:
            zh = "输入有误（必填项、格式或取值），请检查后再提交"
        elif limit.group(2):
            unit = "个字" if limit.group(1) == "str" else "项"
            zh = f"{'至少' if limit.group(3).startswith('>') else '最多'} {limit.group(4)} {unit}，请修改后再提交"
        else:
            zh = f"数值须{'不小于' if limit.group(3).startswith('>') else '不大于'} {limit.group(4)}，请修改后再提交"
        raise InvalidInput(text, zh=zh, field=at.group(1) if at else "_form") from None
    check_dates(body, "")  # every date and time inside the supported years, as the API's bodies are
    return body


def pages_of(total: int, paging: PageRequest) -> int:
    return max(1, -(-total // paging.page_size))
