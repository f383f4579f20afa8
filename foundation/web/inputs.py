"""The one gate every request's text passes before its handler runs, for the API and the pages alike: path and
query parameters, JSON bodies and form fields holding a control character are refused (422, naming the field), as
is a line break in text the operation's schema reads as one line (a name, a title: foundation.one_line),
a body that is not UTF-8 or JSON nested past any real document is refused (400), a body of another type than the
operation reads is refused (415, before any of it is read: a form's parser would leave the stream half read), and
an uploaded file's name is cleaned rather than refused."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.params import BodyKwarg, ParameterKwarg

from foundation.errors import ControlCharacters, InvalidInput, WrongMediaType
from foundation.one_line import ONE_LINE_PATTERNS, check_one_line
from foundation.one_line import refusal as not_one_line
from foundation.periods import check_day, parse_day, supported_year
from foundation.text import clean_file_name, first_control_character, first_line_break

FORM_TYPES = frozenset({RequestEncodingType.URL_ENCODED.value, RequestEncodingType.MULTI_PART.value})
JSON_TYPE = RequestEncodingType.JSON.value
# No document this system reads nests deeper (a record's results hold a list of photo ids: 4 levels); JSON nested
# past this is refused as malformed before anything walks it (msgspec's own limit depends on the stack it is
# called from, and then raises RecursionError).
MAX_JSON_DEPTH = 32


def _refuse(field: str, character: str) -> ControlCharacters:
    code = f"U+{ord(character):04X}"
    return ControlCharacters(
        f"{field} holds the control character {code}; remove it and send again (nothing was stored)",
        zh=f"“{field}”含有控制字符 {code}，请删除后再提交（未保存任何内容）",
        field=field,
    )


def _check(field: str, text: str) -> None:
    character = first_control_character(text)
    if character is not None:
        raise _refuse(field, character)


def _too_deep() -> InvalidInput:
    return InvalidInput(
        f"body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep; no operation takes such a document (nothing was read)",
        zh=f"提交的 JSON 内容嵌套超过 {MAX_JSON_DEPTH} 层，格式有误，请检查后再提交（未保存任何内容）",
        field="body",
    )


def _check_json(document: Any, path: str) -> None:
    """Every key and string of a decoded JSON document, named by where it sits: body.results[2].note; a document
    nested past MAX_JSON_DEPTH is refused (walked with a list, not by recursion)."""
    pending = [(document, path, 0)]
    while pending:
        value, where, depth = pending.pop()
        if isinstance(value, str):
            _check(where, value)
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise _too_deep()
            if isinstance(value, dict):
                for key, item in value.items():
                    _check(f"{where} (a key)", key)
                    pending.append((item, f"{where}.{key}", depth + 1))
            else:
                pending.extend((item, f"{where}[{index}]", depth + 1) for index, item in enumerate(value))


def _not_utf8(where: str, error: UnicodeDecodeError) -> ValidationException:
    detail = f"{where} is not valid UTF-8 (byte {error.object[error.start]:#04x} at position {error.start}); send UTF-8 text"
    return ValidationException(detail=detail, extra=[{"key": where, "message": detail}])


@cache
def _date_parameters(handler: BaseRouteHandler) -> tuple[tuple[str, str], ...]:
    """(name in the query, name in the handler) of a handler's date parameters."""
    found = []
    for name, definition in handler.parsed_fn_signature.parameters.items():
        if definition.is_subclass_of(date) or definition.has_inner_subclass_of(date):
            kwarg = definition.kwarg_definition
            found.append(((kwarg.query if isinstance(kwarg, ParameterKwarg) and kwarg.query else name), name))
    return tuple(found)


def _wrong_type(sent: str, expected: str) -> WrongMediaType:
    if expected == JSON_TYPE:
        return WrongMediaType(
            f"this operation reads a JSON body (Content-Type: application/json); the request was sent as {sent}: nothing of it was read",
            zh="此操作只接受 JSON 格式（Content-Type: application/json）的内容，请按该格式重新提交（未保存任何内容）",
            field="body",
        )
    return WrongMediaType(
        f"this operation reads a form ({expected}), as the browser or GeoReport v2 client sends it; the request was sent as {sent}: nothing of it was read",
        zh=f"此操作只接受表单格式（Content-Type: {expected}）的内容，请按该格式重新提交（未保存任何内容）",
        field="body",
    )


async def _read_url_encoded_as_utf8(request: Request[Any, Any, Any]) -> None:
    """A URL-encoded form whose text was sent as UTF-8 bytes rather than %-escaped (curl -d '...=楼道垃圾', a
    GeoReport client) is read as UTF-8, as it was sent: the framework's parser does not read such bytes as UTF-8
    (depending on the Python, it refuses them or reads them one by one as Latin-1, storing 楼道 as æ¥¼é). Bytes that
    are not UTF-8 are refused (400). Blank values are left out, as the framework's parser leaves them."""
    body = await request.body()
    if body.isascii():
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _not_utf8("form", error) from None
    fields: dict[str, list[str]] = {}
    for name, value in parse_qsl(text, separator="&"):
        fields.setdefault(name, []).append(value)
    # Where the framework keeps a request's parsed form (Request.form reads it from there before parsing again).
    request._connection_state.form = {name: values if len(values) > 1 else values[0] for name, values in fields.items()}


@cache
def _one_line_parameters(handler: BaseRouteHandler) -> tuple[str, ...]:
    """The names (in the path or the query) of a handler's parameters read as one line of text."""
    found = []
    for name, definition in handler.parsed_fn_signature.parameters.items():
        kwarg = definition.kwarg_definition
        if isinstance(kwarg, ParameterKwarg) and kwarg.pattern in ONE_LINE_PATTERNS:
            found.append(kwarg.query or name)
    return tuple(found)


@cache
def _body_model(handler: BaseRouteHandler) -> Any:
    """The type a handler reads its `data` as (a request body's schema), None when it takes no body."""
    data = handler.parsed_fn_signature.parameters.get("data")
    return None if data is None else data.annotation


@cache
def _expected_body(handler: BaseRouteHandler) -> str | None:
    """The media type a handler reads its `data` as (JSON unless it says a form), None when it takes no body."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    kwarg = data.kwarg_definition
    return str(kwarg.media_type.value if isinstance(kwarg.media_type, RequestEncodingType) else kwarg.media_type) if isinstance(kwarg, BodyKwarg) else JSON_TYPE


def _is_json(content_type: str) -> bool:
    return content_type == JSON_TYPE or content_type.endswith("+json")


async def check_request_text(request: Request[Any, Any, Any]) -> None:
    """A before-request hook: refuse what cannot be stored as text before anything is read or written, and dates
    outside the supported years wherever a handler takes a date parameter."""
    for name, value in request.path_params.items():
        if isinstance(value, str):
            _check(name, value)
        elif isinstance(value, date):
            check_day(value, name)
    for name, values in request.query_params.dict().items():
        _check(f"{name} (a query parameter name)", name)
        for value in values:
            _check(name, value)
    for name in _one_line_parameters(request.route_handler):
        path_value = request.path_params.get(name)
        for value in [path_value] if isinstance(path_value, str) else request.query_params.getall(name, []):
            if (character := first_line_break(value)) is not None:
                raise not_one_line(name, character)
    for query_name, name in _date_parameters(request.route_handler):
        for value in request.query_params.getall(query_name, []):
            # A well-formed day outside the supported years is refused here; a malformed one by the parameter's parser.
            if value[:4].isdecimal() and not supported_year(int(value[:4])):
                parse_day(value, name)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = request.content_type[0]
    expected = _expected_body(request.route_handler)
    # A body of another type than the handler reads is refused unread: a form parsed here for a JSON operation
    # leaves the stream consumed (or half read: the handler then waits for bytes that never come).
    if expected == JSON_TYPE and content_type and not _is_json(content_type):
        raise _wrong_type(content_type, expected)
    if expected in FORM_TYPES and content_type and content_type not in FORM_TYPES:
        raise _wrong_type(content_type, str(expected))
    if _is_json(content_type):
        raw = await request.body()
        if not raw:
            return
        try:
            document = msgspec.json.decode(raw)
        except UnicodeDecodeError as error:
            raise _not_utf8("body", error) from None
        except RecursionError:
            raise _too_deep() from None
        except msgspec.DecodeError:
            return  # not JSON at all: the body's decoder says so, with its position
        _check_json(document, "body")
        check_one_line(document, _body_model(request.route_handler), "body")
    elif content_type in FORM_TYPES:
        if content_type == RequestEncodingType.URL_ENCODED.value:
            await _read_url_encoded_as_utf8(request)
        try:
            form = await request.form()
        except UnicodeDecodeError as error:
            raise _not_utf8("form", error) from None
        model = _body_model(request.route_handler)
        for name, value in form.multi_items():
            _check(f"{name} (a form field name)", name)
            if isinstance(value, UploadFile):
                # A file's name is kept as a label of filed evidence: cleaned, never a reason to lose the photo.
                value.filename = clean_file_name(value.filename) if value.filename else value.filename
            elif isinstance(value, str):
                _check(name, value)
                check_one_line({name: value}, model)  # a form read as a schema (GeoReport's); a page's form is a dict
