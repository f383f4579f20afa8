"""Text read as one line, found by the schema that reads it: the fields of a request body (or of a form turned into
one) whose pattern is foundation.text.ONE_LINE, ONE_LINE_NONBLANK or ONE_LINE_OPTIONAL, found once per schema; a line break in one of
them is refused naming the field and the character, before the schema's own check, which would refuse it with a
regular expression nobody can read (and which lets a final line feed through: Python's `$` matches before it)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import msgspec.inspect as mi

from foundation.errors import NotOneLine
from foundation.text import ONE_LINE, ONE_LINE_NONBLANK, ONE_LINE_OPTIONAL, first_line_break

ONE_LINE_PATTERNS = frozenset({ONE_LINE, ONE_LINE_NONBLANK, ONE_LINE_OPTIONAL})


class Shape:
    """Where a document holds one-line text: a string here (`one_line`), an object's fields (by the name they are
    sent under), an array's items."""

    __slots__ = ("fields", "items", "one_line")

    def __init__(self) -> None:
        self.one_line = False
        self.fields: dict[str, Shape] = {}
        self.items: Shape | None = None


def _merged(shapes: list[Shape]) -> Shape | None:
    """The shapes of a union's members as one (a name or None; one struct or another of a tagged union)."""
    if not shapes:
        return None
    if len(shapes) == 1:
        return shapes[0]
    merged = Shape()
    merged.one_line = any(shape.one_line for shape in shapes)
    for shape in shapes:
        for name, field in shape.fields.items():
            earlier = merged.fields.get(name)
            merged.fields[name] = field if earlier is None else _merged([earlier, field]) or field
    merged.items = _merged([shape.items for shape in shapes if shape.items is not None])
    return merged


def _shape(info: Any, building: dict[type, Shape]) -> Shape | None:
    if isinstance(info, mi.Metadata):
        return _shape(info.type, building)
    if isinstance(info, mi.StrType):
        if info.pattern not in ONE_LINE_PATTERNS:
            return None
        leaf = Shape()
        leaf.one_line = True
        return leaf
    if isinstance(info, mi.UnionType):
        return _merged([shape for member in info.types if (shape := _shape(member, building)) is not None])
    if isinstance(info, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        items = _shape(info.item_type, building)
        if items is None:
            return None
        array = Shape()
        array.items = items
        return array
    if isinstance(info, mi.StructType | mi.DataclassType | mi.TypedDictType):
        if info.cls in building:  # a type within itself: the shape being built
            return building[info.cls]
        found = building[info.cls] = Shape()
        for field in info.fields:
            shape = _shape(field.type, building)
            if shape is not None:
                found.fields[field.encode_name] = shape
        return found if found.fields else None
    return None


@cache
def shape_of(model: Any) -> Shape | None:
    """Where a body of this type holds one-line text; None when nowhere (most bodies: looked up once)."""
    try:
        info = mi.type_info(model)
    except (TypeError, ValueError):  # not a type msgspec reads (a form of uploads): it holds no schema's text
        return None
    return _shape(info, {})


def refusal(field: str, character: str, *, beside_field: bool = False) -> NotOneLine:
    """A line break in one-line text, refused naming the field and the character (a page shows the message beside
    the field, and in words only)."""
    code = f"U+{ord(character):04X}"
    what = "a tab" if character == "\t" else "a line break"
    rule = "为一行文字，不能含换行、制表符等控制字符"
    return NotOneLine(
        f"{field} is one line of text: it holds {what} ({code}); remove it and send again (nothing was stored)",
        zh=f"此项{rule}，请改为一行后再提交（未保存任何内容）" if beside_field else f"“{field}”{rule}（{code}），请改为一行后再提交（未保存任何内容）",
        field=field,
    )


def check_one_line(document: Any, model: Any, where: str = "", *, beside_field: bool = False) -> None:
    """Refuse the first line break in a field of `document` (decoded JSON, or a form's fields) that `model` reads as
    one line, naming it by where it sits: body.staff[2].name (`where` is "body"), or, on a page (`beside_field`), the
    form's field it was typed in (staff), where the page shows the message."""
    shape = shape_of(model)
    if shape is None:
        return
    pending = [(document, shape, where)]
    while pending:
        value, at, path = pending.pop(0)
        if isinstance(value, str):
            if at.one_line and (character := first_line_break(value)) is not None:
                refused = refusal(path, character, beside_field=beside_field)
                if beside_field:  # the form's field it was typed in: guardians, for guardians[1].name
                    refused.field = re.split(r"[.\[]", path, maxsplit=1)[0]
                raise refused
        elif isinstance(value, dict) and at.fields:
            pending.extend((value[name], field, f"{path}.{name}" if path else name) for name, field in at.fields.items() if name in value)
        elif isinstance(value, list) and at.items is not None:
            pending.extend((item, at.items, f"{path}[{index}]") for index, item in enumerate(value))
