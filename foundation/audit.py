"""The append-only audit log: who changed what, when, from what to what; written in the use case's transaction."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import JSON, Column, Index, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from foundation.clock import utc_now
from foundation.db import UTCDateTime, surrogate_key
from foundation.paging import PageRequest, fetch_page


class Actor(Protocol):
    """Whoever acts: a logged-in user, an API key, or the system itself."""

    @property
    def user_id(self) -> int | None: ...

    @property
    def label(self) -> str: ...


class AuditEntry(SQLModel, table=True):
    """One state change. There is no update or delete path; the database refuses both (see migration 0001)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: int = surrogate_key()
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor_user_id: int | None = Field(default=None, index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=80, index=True)
    entity: str = Field(max_length=40)
    entity_id: str = Field(max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reason: str | None = Field(default=None, max_length=2000)


def json_safe(value: Any) -> Any:
    """A value as it can be stored in the log's JSON columns."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return value


def snapshot(record: SQLModel, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The columns of a stored record as JSON-safe values, for the before/after of an entry."""
    return {
        name: json_safe(getattr(record, name))
        for name in type(record).model_fields
        if name not in exclude
    }


def record_change(
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Add an audit entry to the session; it commits or rolls back with the change it describes."""
    entry = AuditEntry(
        at=utc_now(),
        actor_user_id=actor.user_id,
        actor=actor.label,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=json_safe(before) if before is not None else None,
        after=json_safe(after) if after is not None else None,
        reason=reason,
    )
    session.add(entry)
    return entry


async def list_audit_entries(
    session: AsyncSession,
    paging: PageRequest,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    actor_user_id: int | None = None,
) -> tuple[list[AuditEntry], int]:
    """The log, newest first, filtered. Who may read it is the caller's check (district administrators)."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc())
    if entity is not None:
        query = query.where(col(AuditEntry.entity) == entity)
    if entity_id is not None:
        query = query.where(col(AuditEntry.entity_id) == entity_id)
    if action is not None:
        query = query.where(col(AuditEntry.action) == action)
    if actor_user_id is not None:
        query = query.where(col(AuditEntry.actor_user_id) == actor_user_id)
    return await fetch_page(session, query, paging)
