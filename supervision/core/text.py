"""Text accepted from outside: printable (PostgreSQL refuses NUL bytes; nobody types control characters)."""

_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
PRINTABLE = rf"^[^{_CONTROL}]*$"
# Printable and not only white space: at least one character that is neither white space nor a control character.
# Written without look-ahead so that every client's validator (and the API fuzzer's generator) handles it.
NONBLANK = rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"
