"""The one gate every request's text passes before its handler runs, for the API and the pages alike: path and
query parameters, JSON bodies and form fields holding a control character are refused (422, naming the field),
a body that is not UTF-8 is refused (400), and an uploaded file's name is cleaned rather than refused."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.params import ParameterKwarg

from foundation.errors import ControlCharacters
from foundation.periods import check_day, parse_day, supported_year
from foundation.text import clean_file_name, first_control_character

FORM_TYPES = frozenset({RequestEncodingType.URL_ENCODED.value, RequestEncodingType.MULTI_PART.value})


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


def _check_json(value: Any, path: str) -> None:
    """Every key and string of a decoded JSON document, named by where it sits: body.results[2].note."""
    if isinstance(value, str):
        _check(path, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(f"{path} (a key)", key)
            _check_json(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")


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
    for query_name, name in _date_parameters(request.route_handler):
        for value in request.query_params.getall(query_name, []):
            # A well-formed day outside the supported years is refused here; a malformed one by the parameter's parser.
            if value[:4].isdecimal() and not supported_year(int(value[:4])):
                parse_day(value, name)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = request.content_type[0]
    if content_type == "application/json" or content_type.endswith("+json"):
        raw = await request.body()
        if not raw:
            return
        try:
            document = msgspec.json.decode(raw)
        except UnicodeDecodeError as error:
            raise _not_utf8("body", error) from None
        except msgspec.DecodeError:
            return  # not JSON at all: the body's decoder says so, with its position
        _check_json(document, "body")
    elif content_type in FORM_TYPES:
        try:
            form = await request.form()
        except UnicodeDecodeError as error:
            raise _not_utf8("form", error) from None
        for name, value in form.multi_items():
            _check(f"{name} (a form field name)", name)
            if isinstance(value, UploadFile):
                # A file's name is kept as a label of filed evidence: cleaned, never a reason to lose the photo.
                value.filename = clean_file_name(value.filename) if value.filename else value.filename
            elif isinstance(value, str):
                _check(name, value)
