"""Primary keys typed as the database has them. SQLModel types a table's `id` as `int | None`, because a row added
but not yet flushed has none; a key read back from the database, or of a row it has stored, is never null."""

from __future__ import annotations

from typing import Protocol, cast

from sqlalchemy.orm import Mapped
from sqlmodel import col


class Stored(Protocol):
    @property
    def id(self) -> int | None: ...


def key_column(column: int | None) -> Mapped[int]:
    """A table's integer primary key as a column expression (select, where, order by), whose values are ints."""
    return cast("Mapped[int]", col(column))


def key_of(row: Stored) -> int:
    """The primary key of a row the database has stored (loaded, or added and flushed)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no key before it is flushed")
    return row.id
