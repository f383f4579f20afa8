"""Text accepted from outside: printable (PostgreSQL refuses NUL bytes; nobody types control characters)."""

PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# Printable and not only white space.
NONBLANK = r"^(?=.*\S)[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
