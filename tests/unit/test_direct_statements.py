"""A statement sent straight to SQLite's driver (foundation.db.Direct) is prepared only when every value it binds is
given or its own: a column that SQLAlchemy would fill at execution (a default) is refused at once, by name."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.dialects import sqlite

from foundation.db import Direct

TABLE = Table("direct_defaults", MetaData(), Column("id", Integer, primary_key=True), Column("kind", String, default="plain"), Column("name", String))


def test_a_column_that_would_fill_itself_is_refused_before_anything_runs() -> None:
    with pytest.raises(ValueError, match="kind is not given"):
        Direct(insert(TABLE))._prepare(sqlite.dialect(), ("name",))


def test_a_statement_given_every_value_is_prepared_with_its_placeholders_in_order() -> None:
    prepared = Direct(insert(TABLE))._prepare(sqlite.dialect(), ("kind", "name"))
    assert prepared.sql == "INSERT INTO direct_defaults (kind, name) VALUES (?, ?)"
    assert [name for name, _ in prepared.binds] == ["kind", "name"] and prepared.row is None
