"""Text accepted from outside: printable (PostgreSQL refuses NUL bytes; nobody types control characters)."""

from __future__ import annotations

import re

_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
PRINTABLE = rf"^[^{_CONTROL}]*$"
# Printable and not only white space: at least one character that is neither white space nor a control character.
# Written without look-ahead so that every client's validator (and the API fuzzer's generator) handles it.
NONBLANK = rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"

# The one rule for every string that enters (bodies, form fields, query and path parameters): C0 control
# characters and DEL are refused, except tab, line feed and carriage return, which notes may hold.
_CONTROL_CHARACTER = re.compile(f"[{_CONTROL}]")
# A file name is one line: every control character goes, tab and line breaks included.
_FILE_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FILE_NAME_MAX = 200


def first_control_character(text: str) -> str | None:
    """The first character of `text` that cannot be stored as text (NUL, BEL, ESC ...), or None."""
    found = _CONTROL_CHARACTER.search(text)
    return found.group() if found else None


def clean_file_name(name: str, fallback: str = "photo") -> str:
    """A client's file name as we keep it: control characters dropped, no folders, at most 200 characters."""
    kept = _FILE_NAME_CONTROL.sub("", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return kept[:FILE_NAME_MAX] or fallback
