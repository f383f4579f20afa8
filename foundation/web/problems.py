"""The one mapper from errors to RFC 9457 problem responses (API) or an error page (pages)."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect, Template
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from foundation.access import ROLE_NAMES
from foundation.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RuleViolation,
    SeparationOfDuties,
    TooLarge,
    TooManyAttempts,
    Unavailable,
    WrongMediaType,
)
from foundation.periods import DATE_PATTERN, FIRST_YEAR, LAST_YEAR, MONTH_PATTERN, PERIOD_PATTERN, QUARTER_PATTERN
from foundation.text import NONBLANK, ONE_LINE, ONE_LINE_NONBLANK, ONE_LINE_OPTIONAL, PRINTABLE
from foundation.web.flash import flashed

log = logging.getLogger("foundation.web")

PROBLEM_MEDIA_TYPE = "application/problem+json"

STATUS_OF: dict[type[DomainError], int] = {
    WrongMediaType: 415,  # before InvalidInput, which it is a kind of
    InvalidInput: 400,
    NotAuthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    RuleViolation: 422,
    TooLarge: 413,
    TooManyAttempts: 429,
    Unavailable: 503,
}

DESCRIPTIONS = {
    400: "The request is malformed or a field is invalid; nothing was changed",
    401: "Not logged in, or the token or API key is invalid or expired",
    403: "Your role or scope does not allow this; nothing was changed",
    404: "No such record, or it is outside your scope",
    413: "The upload is larger than the configured limit; nothing was stored",
    415: "The body is not of the media type this operation reads (application/json, or a form); nothing was read",
    409: "Conflicts with a stored record (duplicate, overlap or wrong state); nothing was changed",
    422: "A business rule forbids this, or a text holds control characters (or a line break, in one-line text such as a name); nothing was changed",
    429: "Too many failed attempts; retry after the number of seconds in the Retry-After header",
    503: "The database is busy; retry shortly (nothing was changed)",
}


class FieldError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem: `detail` says what went wrong in words a person can act on."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    rule: str | None = None  # a separation-of-duties refusal: the key of its row in foundation/duties.py
    detail_zh: str | None = None  # what the refusal says in Chinese (for a separation of duties, naming the rule)


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The error responses a route declares, so the OpenAPI document lists every answer it can give."""
    return {
        status: ResponseSpec(
            data_container=Problem, media_type=PROBLEM_MEDIA_TYPE, description=DESCRIPTIONS[status], generate_examples=False
        )
        # Any request may be refused for a control character in a parameter or body (422).
        for status in sorted({400, 401, 422, 503, *statuses})
    }


# Where GeoReport v2 (Open311) is served: its refusals are answered in its own shape, not as RFC 9457 problems.
GEOREPORT_PATH = "/api/open311/v2/"


class GeoReportError(msgspec.Struct):
    """An error as GeoReport v2 answers it (a list of these): the HTTP status and what went wrong, in the words the
    problem answer gives a person (Chinese where there are)."""

    code: int
    description: str


def _problem(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    separation: SeparationOfDuties | None = None,
    zh: str | None = None,
) -> Response[Any]:
    body = Problem(
        type=f"https://estate-supervision.invalid/problems/{status}",
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
        rule=separation.rule if separation else None,
        detail_zh=separation.message_zh if separation else zh,
    )
    headers = {**(headers or {}), **({"Retry-After": "2"} if status == 503 else {})} or None
    if request.url.path.startswith(GEOREPORT_PATH):
        # GeoReport v2's routes answer its own error list, whoever refuses (the route, the input gate, the router).
        return Response(content=[GeoReportError(code=status, description=body.detail_zh or detail)], status_code=status, media_type=MediaType.JSON, headers=headers)
    return Response(content=body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def status_of(exc: DomainError) -> int:
    return next((code for cls, code in STATUS_OF.items() if isinstance(exc, cls)), 400)


def role_name(principal: Any) -> str | None:
    return ROLE_NAMES.get(principal.role) if principal is not None else None


PAGE_MESSAGES = {400: "提交的内容有误", 403: "您无权进行此操作", 404: "找不到该页面或记录", 405: "不支持该操作", 409: "与已保存的记录冲突", 500: "系统出错，已记录，请稍后再试", 503: "系统忙，请稍后再试"}


def _wants_page(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return not (path.startswith("/api") or path.startswith("/schema") or path == "/health")


def _answer(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    zh: str | None = None,
    separation: SeparationOfDuties | None = None,
) -> Response[Any]:
    if _wants_page(request):
        if status == 401:
            to_login = Redirect(path=f"/login?next={request.url.path}")
            # Someone sent to the login page from a page deep inside is told why (the home page needs no word).
            return flashed(to_login, "请先登录，登录后回到刚才的页面。", "error") if request.url.path != "/" else to_login
        return Template(
            template_name="error.html",
            context={"me": request.scope.get("user"), "role_name": role_name(request.scope.get("user")), "status": status, "title": title, "detail": detail, "message": zh or PAGE_MESSAGES.get(status, "请求未完成"), "errors": errors or []},
            status_code=status,
            media_type=MediaType.HTML,
            headers=headers,
        )
    return _problem(request, status, title, detail, errors, headers, separation, zh)


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    # The API names the field a refusal is about; a page says it in Chinese in its message.
    errors = [FieldError(field=exc.field, message=exc.detail)] if exc.field and not _wants_page(request) else None
    headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, TooManyAttempts) else None
    separation = exc if isinstance(exc, SeparationOfDuties) else None
    return _answer(request, status_of(exc), exc.title, exc.detail, errors, headers=headers, zh=exc.message_zh, separation=separation)


_YEARS = f"years {FIRST_YEAR} to {LAST_YEAR}"
# What the shared patterns ask for, in words: a person cannot act on a regular expression.
PATTERN_WORDS = {
    MONTH_PATTERN: f"a month like 2026-10 ({_YEARS}, months 01-12)",
    QUARTER_PATTERN: f"a quarter like 2026-Q4 ({_YEARS}, Q1-Q4)",
    DATE_PATTERN: f"a date like 2026-10-12 ({_YEARS})",
    PERIOD_PATTERN: f"a period like 2026-Q4, 2026-10, 2026-10-12 or 2026-10-12T14 ({_YEARS})",
    NONBLANK: "text that is not blank (not spaces or invisible characters alone) and holds no control characters",
    PRINTABLE: "text without control characters",
    ONE_LINE_NONBLANK: "one line of text, not blank (not spaces or invisible characters alone), without line breaks, tabs or control characters",
    ONE_LINE_OPTIONAL: "empty, or one line of text that is not spaces or invisible characters alone, without line breaks, tabs or control characters",
    ONE_LINE: "one line of text, without line breaks, tabs or control characters",
}


def _in_words(message: str) -> str:
    for pattern, words in PATTERN_WORDS.items():
        message = message.replace(f"`str` matching regex {pattern!r}", words)
    return message


def validation_error_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                field, message = str(item.get("key") or item.get("source") or "body"), str(item.get("message", ""))
                if message.strip("'\"") == field:  # Litestar's word for a value not sent at all: its own name, quoted
                    field, message = ("body", "the request has no body: send a JSON object") if field == "data" else (field, "is required")
                errors.append(FieldError(field=field, message=_in_words(message)))
    detail = _in_words(exc.detail) if exc.detail and exc.detail != "Bad Request" else "the request is invalid"
    if errors:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return _answer(request, 400, "Invalid input", detail, errors or None)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotFoundException):
        return _answer(request, 404, "Not found", f"no such address: {request.url.path}")
    if isinstance(exc, MethodNotAllowedException):
        allowed = (exc.headers or {}).get("allow", "")
        return _answer(
            request, 405, "Method not allowed", f"{request.method} is not accepted here; use {allowed}", headers={"Allow": allowed}
        )
    if exc.status_code == 413:
        return _too_large_request(request, exc)
    return _answer(request, exc.status_code, type(exc).__name__, str(exc.detail), headers=exc.headers)


def _too_large_request(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """The request is larger than the system takes at once (Litestar's limit, read before the handler sees any of
    it): say what the limit is and what to do, not only that it failed."""
    handler = request.scope.get("route_handler")
    resolve = getattr(handler, "resolve_request_max_body_size", None)
    limit = resolve() if resolve is not None else request.app.request_max_body_size
    megabytes = f"{(limit if isinstance(limit, int) else 0) / (1024 * 1024):.0f}"
    return _answer(
        request, 413, "Request too large",
        f"the request is larger than {megabytes} MB, the most this system takes at once (all files of a form together); send fewer or smaller photos or files (nothing was stored)",
        headers=exc.headers,
        zh=f"提交的内容超过 {megabytes} MB 上限（一次提交的全部照片和文件合计），未保存任何内容。请减少照片或文件的数量、或压缩后再提交；可返回上一页找回已填写的文字。",
    )


def first_line(error: object) -> str:
    """A database error's own first line (which constraint, which type), without the DETAIL that follows it on
    PostgreSQL: "Key (phone)=(139...) already exists" would put a person's data in the log."""
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def database_error_handler(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    """A constraint the service did not foresee (a race) is a conflict; a locked SQLite file is a retry."""
    if isinstance(exc, IntegrityError):
        log.info("integrity error mapped to 409: %s", first_line(exc.orig))
        return _answer(request, 409, "Conflict with stored records", "this conflicts with a record stored meanwhile; reload and retry")
    if isinstance(exc, DataError) and ("0x00" in str(exc.orig) or "encoding" in str(exc.orig).lower()):
        # The edge refuses control characters; this catches a path that let one through, as the refusal it is.
        log.warning("text the database cannot store reached it: %s", first_line(exc.orig))
        return _answer(request, 422, "Control characters in text", "a text holds a character the database cannot store (NUL); remove it and send again", zh="内容含有无法保存的控制字符，请删除后再提交")
    if "value out of int" in str(exc.orig) or "integer out of range" in str(exc.orig):  # asyncpg's encoder; the server
        return number_out_of_range_handler(request, exc)
    if "value too long for type" in str(exc.orig):  # PostgreSQL's varchar(n); a path whose text no rule bounded
        log.warning("text longer than its column reached the database: %s", first_line(exc.orig))
        return _answer(request, 422, "Text too long", "a text is longer than the system keeps; shorten it and send again", zh="内容超过允许的长度，请缩短后再提交")
    if isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower():
        return _answer(request, 503, "Database busy", "the database is busy; retry in a moment")
    # Which error, where, and the stack that reached it, but not its message: a driver's own message may quote a value.
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("database error %s answering %s %s\n%s", type(exc.orig).__name__, request.method, request.url.path, stack)
    return _answer(request, 500, "Internal error", "an unexpected database error occurred; it has been logged")


def number_out_of_range_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A number larger than the database can hold (an id typed as 20 digits: SQLite's OverflowError, PostgreSQL's
    "out of int32 range") names no record and is no amount anyone meant: bad input, refused, never a fault."""
    log.info("number out of the database's range (%s)", type(exc).__name__)  # not the number: it may be anyone's
    return _answer(request, 400, "Invalid input", "a number is larger than any record id or amount; check it", zh="输入的数字超出允许范围，请检查后再试")


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything no rule foresaw: logged with its traceback (what an operator needs to mend it), answered as a problem
    (the API) or the Chinese error page (pages), never the framework's bare JSON."""
    log.error("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
    return _answer(request, 500, "Internal error", "an unexpected error occurred; it has been logged")


def pool_timeout_handler(request: Request[Any, Any, Any], exc: PoolTimeout) -> Response[Any]:
    """Every database connection stayed taken for the pool's whole wait: the system is overloaded, not broken."""
    log.warning("no database connection became free in time: %s", exc)
    return _answer(request, 503, "Database busy", "every database connection is in use; retry in a moment")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    PoolTimeout: pool_timeout_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    DBAPIError: database_error_handler,
    OverflowError: number_out_of_range_handler,
    Exception: unexpected_error_handler,
}


def georeport_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The error responses of a GeoReport v2 route, as `problem_responses` declares a route's problems."""
    return {
        status: ResponseSpec(data_container=list[GeoReportError], media_type=MediaType.JSON, description=DESCRIPTIONS[status], generate_examples=False)
        for status in sorted({400, 401, 422, 503, *statuses})
    }
