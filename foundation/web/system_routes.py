"""Routes of the system itself: health and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.audit import list_audit_entries
from foundation.paging import Page, PageRequest
from foundation.text import NONBLANK
from foundation.web.auth import allow
from foundation.web.params import OptionalId
from foundation.web.problems import problem_responses


class Health(msgspec.Struct):
    status: str
    database: str


class AuditEntryOut(msgspec.Struct):
    id: int
    at: datetime
    actor_user_id: int | None
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None


Filter = Annotated[str | None, Parameter(min_length=1, max_length=80, pattern=NONBLANK)]


class SystemController(Controller):
    tags = ["system"]

    @get("/health", security=[{}], responses=problem_responses())
    async def health(self, db: NamedDependency[AsyncSession]) -> Health:
        """Liveness and database reachability (no login needed)."""
        await db.execute(text("SELECT 1"))
        return Health(status="ok", database=db.get_bind().dialect.name)

    @get("/api/audit", guards=[allow({Role.ADMIN}, "reading the audit log")], responses=problem_responses(400, 403))
    async def audit_log(
        self,
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        paging: NamedDependency[PageRequest],
        entity: Filter = None,
        entity_id: Filter = None,
        action: Filter = None,
        actor_user_id: OptionalId = None,
    ) -> Page[AuditEntryOut]:
        """Every state change, newest first: who, when, what, before and after."""
        rows, total = await list_audit_entries(
            db, paging, entity=entity, entity_id=entity_id, action=action, actor_user_id=actor_user_id
        )
        return Page([msgspec.convert(r, AuditEntryOut, from_attributes=True) for r in rows], total, paging.page, paging.page_size)


ROUTES = [SystemController]
