"""Routes of the system itself: health and the audit log."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.audit import list_audit_entries
from foundation.paging import Page, PageRequest
from foundation.storage import BlobStore, store_answers
from foundation.text import ONE_LINE_NONBLANK
from foundation.web.admission import NEVER_HELD_BACK
from foundation.web.auth import allow
from foundation.web.params import OptionalId, provide_store
from foundation.web.problems import problem_responses


class Health(msgspec.Struct):
    status: str  # "ok" when the database and the blob store both answer, otherwise "failing" (and 503)
    database: str  # the dialect: sqlite or postgresql
    database_answers: bool
    blob_store: str  # file or postgresql
    blob_store_answers: bool


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


log = logging.getLogger("supervision.health")
Filter = Annotated[str | None, Parameter(min_length=1, max_length=80, pattern=ONE_LINE_NONBLANK)]


class SystemController(Controller):
    tags = ["system"]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/health", security=[{}], opt=NEVER_HELD_BACK, responses={**problem_responses(), 503: ResponseSpec(Health, description="the database or the blob store does not answer")})
    async def health(self, db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore], state: State) -> Response[Health]:
        """Whether the database and the blob store answer (no login needed): 200 when both do, 503 saying which
        does not otherwise, so a load balancer takes a worker that lost either out of rotation."""
        try:
            await db.execute(text("SELECT 1"))
            database_answers = True
        except (SQLAlchemyError, OSError):
            log.exception("health: the database does not answer")
            database_answers = False
        blob_store_answers = await asyncio.to_thread(store_answers, store)
        healthy = database_answers and blob_store_answers
        return Response(
            Health(
                status="ok" if healthy else "failing",
                database=db.get_bind().dialect.name,
                database_answers=database_answers,
                blob_store=state.settings.blob_store,
                blob_store_answers=blob_store_answers,
            ),
            status_code=200 if healthy else 503,
            headers={"Cache-Control": "no-store"},
        )

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
