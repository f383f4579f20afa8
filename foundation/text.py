"""Text accepted from outside: printable (PostgreSQL refuses NUL bytes; nobody types control characters), and one
line where people read it as one line (names, titles, places, labels, codes)."""

from __future__ import annotations

import re

_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
PRINTABLE = rf"^[^{_CONTROL}]*$"
# Printable and not only white space: at least one character that is neither white space nor a control character.
# Written without look-ahead so that every client's validator (and the API fuzzer's generator) handles it.
# Characters that show nothing (zero-width space, joiners and marks, the byte-order mark, fillers, a braille blank):
# a name made of them alone is as blank as one of spaces.
_INVISIBLE = (
    "\u00ad\u115f\u1160\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\u2800\u3164\ufeff\uffa0"
)  # soft hyphen, Hangul fillers, Mongolian vowel separator, zero-width and directional marks, invisible operators, braille blank
NONBLANK = rf"^[^{_CONTROL}]*[^\s{_CONTROL}{_INVISIBLE}][^{_CONTROL}]*$"

# Text read as one line (a name, title, place, label, code, phone number, bank): besides the control characters, no
# tab, line feed, carriage return, vertical tab, form feed, next line (U+0085) or line and paragraph separator
# (U+2028, U+2029): such a name breaks the line of a PDF, a spreadsheet cell, a table. Every space people type stays
# (the full-width U+3000 of a Chinese keyboard, a no-break U+00A0 pasted from a letter). Written, like the two
# above, without look-ahead. Python's `$` also matches before a final line feed, so a value ending in one passes the
# pattern: foundation.one_line refuses it (and any other line break, naming the field) before the pattern is applied.
LINE_BREAKS = "\t\n\r\x0b\x0c\x85\u2028\u2029"
_NOT_ONE_LINE = r"\x00-\x1f\x7f\x85\u2028\u2029"
ONE_LINE = rf"^[^{_NOT_ONE_LINE}]*$"
ONE_LINE_NONBLANK = rf"^[^{_NOT_ONE_LINE}]*[^\s{_NOT_ONE_LINE}{_INVISIBLE}][^{_NOT_ONE_LINE}]*$"
# One line that may be left empty (an address or phone not known yet), but not filled with spaces alone.
ONE_LINE_OPTIONAL = rf"^([^{_NOT_ONE_LINE}]*[^\s{_NOT_ONE_LINE}{_INVISIBLE}][^{_NOT_ONE_LINE}]*)?$"

# The one rule for every string that enters (bodies, form fields, query and path parameters): C0 control
# characters and DEL are refused, except tab, line feed and carriage return, which notes may hold.
_CONTROL_CHARACTER = re.compile(f"[{_CONTROL}]")
# A file name is one line: every control character goes, tab and line breaks (U+0085, U+2028, U+2029) included.
_FILE_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_LINE_BREAK = re.compile(f"[{LINE_BREAKS}]")
FILE_NAME_MAX = 200


def first_control_character(text: str) -> str | None:
    """The first character of `text` that cannot be stored as text (NUL, BEL, ESC ...), or None."""
    found = _CONTROL_CHARACTER.search(text)
    return found.group() if found else None


def first_line_break(text: str) -> str | None:
    """The first character of `text` that breaks a line (tab, line feed, U+2028 ...), or None."""
    found = _LINE_BREAK.search(text)
    return found.group() if found else None


def clean_file_name(name: str, fallback: str = "photo") -> str:
    """A client's file name as we keep it: control characters dropped, no folders, at most 200 characters."""
    kept = _FILE_NAME_CONTROL.sub("", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return kept[:FILE_NAME_MAX] or fallback


_EDGES = re.compile(rf"^[\s{_INVISIBLE}]+|[\s{_INVISIBLE}]+$")


def visible(text: str) -> str:
    """`text` without the white space and the invisible characters (zero-width space, joiners, byte-order mark) at
    its ends: what a reader sees of it. A note that must say something says nothing when this is empty."""
    return _EDGES.sub("", text)

