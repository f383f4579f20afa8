"""A statement sent straight to the driver's adapter (foundation.db.Direct) is prepared only when every value it binds
is given or its own, and only in a form the driver takes as it is: a column SQLAlchemy would fill at execution (a
default), values rendered at execution (an IN list) and RETURNING given many rows are refused at once. On PostgreSQL
its placeholders are numbered in the order of its values, and an INSERT asks for no RETURNING of SQLAlchemy's own."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg

from foundation.db import Direct

TABLE = Table("direct_defaults", MetaData(), Column("id", Integer, primary_key=True), Column("kind", String, default="plain"), Column("name", String))
PLAIN = Table("direct_plain", MetaData(), Column("id", Integer, primary_key=True), Column("kind", String), Column("name", String))


def test_a_column_that_would_fill_itself_is_refused_before_anything_runs() -> None:
    with pytest.raises(ValueError, match="kind is not given"):
        Direct(insert(TABLE))._prepare(sqlite.dialect(), ("name",), many=False)


def test_a_statement_given_every_value_is_prepared_with_its_placeholders_in_order() -> None:
    prepared = Direct(insert(TABLE))._prepare(sqlite.dialect(), ("kind", "name"), many=False)
    assert prepared.sql == "INSERT INTO direct_defaults (kind, name) VALUES (?, ?)"
    assert [name for name, _ in prepared.binds] == ["kind", "name"] and prepared.row is None


def test_on_postgresql_the_placeholders_follow_the_values_and_an_insert_returns_only_what_it_asks() -> None:
    dialect = asyncpg.dialect()
    one = Direct(insert(PLAIN))._prepare(dialect, ("kind", "name"), many=False)
    assert "RETURNING" not in one.sql and "$1" in one.sql and "$2" in one.sql
    assert [name for name, _ in one.binds] == ["kind", "name"] and one.row is None
    asked = Direct(insert(PLAIN).returning(PLAIN.c.id))._prepare(dialect, ("name", "kind"), many=False)
    assert asked.sql.endswith("RETURNING direct_plain.id") and asked.row is not None and asked.row._fields == ("id",)
    picked = Direct(select(PLAIN.c.name).where(PLAIN.c.kind == bindparam("kind"), PLAIN.c.name != bindparam("kind")).limit(3))._prepare(dialect, ("kind",), many=False)
    assert [name for name, _ in picked.binds][0] == "kind" and picked.constants  # its LIMIT is its own value


def test_forms_the_driver_cannot_take_as_they_are_are_refused() -> None:
    with pytest.raises(ValueError, match="rendered at execution"):
        Direct(select(PLAIN.c.id).where(PLAIN.c.id.in_(bindparam("ids", expanding=True))))._prepare(sqlite.dialect(), ("ids",), many=False)
    with pytest.raises(ValueError, match="answers none"):
        Direct(insert(PLAIN).returning(PLAIN.c.id))._prepare(sqlite.dialect(), ("kind", "name"), many=True)
