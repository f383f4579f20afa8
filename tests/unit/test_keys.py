"""Primary keys typed as the database has them (foundation/keys.py): a row's key is read only once it is stored,
and a key column in a query is the table's own column."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from foundation.keys import key_column, key_of
from registry.tables import Street


def test_a_row_not_yet_stored_has_no_key_to_read() -> None:
    with pytest.raises(ValueError, match="Street has no key before it is flushed"):
        key_of(Street(code="S01", name="一街道"))


def test_a_stored_row_gives_its_key() -> None:
    assert key_of(Street(id=7, code="S01", name="一街道")) == 7


def test_a_key_column_selects_the_table_column() -> None:
    assert str(select(key_column(Street.id)).where(key_column(Street.id) == 7)) == str(select(Street.id).where(Street.id == 7))
