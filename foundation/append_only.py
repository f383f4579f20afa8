"""Migrations' guard for append-only tables: triggers that refuse UPDATE and DELETE, on SQLite and PostgreSQL
(where they call evidence_refuse_change(), made by migration 0002)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _sqlite(op: Any) -> bool:
    dialect: str = op.get_bind().dialect.name
    return dialect == "sqlite"


def make_append_only(op: Any, tables: Iterable[str], *, if_not_exists: bool = False) -> None:
    guard = "IF NOT EXISTS " if if_not_exists else ""
    for table in tables:
        if _sqlite(op):
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {guard}{table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        else:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION evidence_refuse_change()")


def drop_append_only(op: Any, tables: Iterable[str]) -> None:
    for table in tables:
        if _sqlite(op):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
