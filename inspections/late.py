"""Late evidence (config/RULES.md, "Late evidence"): a record filed more than the tolerance after its claimed time
counts only once the street officer of its street approves it with a reason. The decision is its own record
beside the filing; a rejected record never counts and its open orders are withdrawn."""

from __future__ import annotations

from datetime import datetime
from typing import overload

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.clock import utc_now
from foundation.duties import Duty, keep_apart
from foundation.errors import Conflict, NotFound
from foundation.paging import PageRequest, fetch_page
from inspections import schemas
from inspections.config import reconciliation_rules
from inspections.defects import withdraw_record_defects
from inspections.returns import waiting_returns
from inspections.rules import LateDecision, Source, WhileReturned
from inspections.tables import InspectionRecord, InspectionResult, LateRecordDecision
from people.waiting import done
from registry import queries as registry_queries

DECIDERS = frozenset({Role.STREET_OFFICER})
READERS = frozenset({Role.STREET_OFFICER, Role.ADMIN})
DECISION_ZH = {LateDecision.APPROVED: "准予计入", LateDecision.REJECTED: "不予计入"}


def counting_records() -> ColumnElement[bool]:
    """SQL: the records that count — filed on time, or late and approved; and, when config/inspections.toml [returns]
    says a returned record counts for nothing while it waits, not waiting on a return."""
    approved = select(col(LateRecordDecision.record_id)).where(col(LateRecordDecision.decision) == LateDecision.APPROVED.value)
    counting = or_(col(InspectionRecord.late).is_(False), col(InspectionRecord.id).in_(approved))
    if reconciliation_rules().while_returned is WhileReturned.NOT_COUNTED:
        return and_(counting, ~waiting_returns())
    return counting


def _in_scope(actor: Principal) -> ColumnElement[bool]:
    if actor.role is Role.ADMIN:
        return col(InspectionRecord.late).is_(True)
    return and_(col(InspectionRecord.late).is_(True), col(InspectionRecord.street_id) == actor.street_id)


@overload
def _decision_out(decision: LateRecordDecision) -> schemas.LateDecisionOut: ...
@overload
def _decision_out(decision: None) -> None: ...
def _decision_out(decision: LateRecordDecision | None) -> schemas.LateDecisionOut | None:
    if decision is None:
        return None
    return schemas.LateDecisionOut(decision=LateDecision(decision.decision), reason=decision.reason, decided_at=decision.decided_at, decided_by=decision.decided_by)


async def list_late_records(
    session: AsyncSession, actor: Principal, paging: PageRequest, *, pending: bool | None = None
) -> tuple[list[schemas.LateRecordOut], int]:
    """The late records of the officer's street (the district's for an administrator), newest first;
    `pending=True`: those still waiting for a decision."""
    require_role(actor, READERS, "reviewing late records")
    decided = select(col(LateRecordDecision.record_id))
    query = select(InspectionRecord).where(_in_scope(actor)).order_by(col(InspectionRecord.filed_at).desc(), col(InspectionRecord.id).desc())
    if pending is True:
        query = query.where(col(InspectionRecord.id).not_in(decided))
    elif pending is False:
        query = query.where(col(InspectionRecord.id).in_(decided))
    records, total = await fetch_page(session, query, paging)
    ids = [r.id for r in records]
    decisions = {d.record_id: d for d in (await session.execute(select(LateRecordDecision).where(col(LateRecordDecision.record_id).in_(ids)))).scalars()}
    failed = dict(
        (
            await session.execute(
                select(col(InspectionResult.record_id), func.count()).where(col(InspectionResult.record_id).in_(ids), col(InspectionResult.passed).is_(False)).group_by(col(InspectionResult.record_id))
            )
        ).all()
    )
    names = {i: e.name for i, e in (await registry_queries.estates(session, {r.estate_id for r in records})).items()}
    return [
        schemas.LateRecordOut(
            id=r.id or 0,
            source=Source(r.source),
            estate_id=r.estate_id,
            estate_name=names.get(r.estate_id, ""),
            community_id=r.community_id,
            month=r.month,
            inspected_at=r.inspected_at,
            filed_at=r.filed_at,
            hours_late=int((r.filed_at - r.inspected_at).total_seconds() // 3600),
            filed_by=r.filed_by,
            failed_items=failed.get(r.id, 0),
            decision=_decision_out(decisions.get(r.id)),
        )
        for r in records
    ], total


async def decide_late_record(
    session: AsyncSession, actor: Principal, record_id: int, data: schemas.LateDecisionIn, now: datetime | None = None
) -> schemas.LateDecisionOut:
    """The street officer of the record's street approves a late record (it counts: in its own month, or in the
    first open month after it when its own is locked) or rejects it (it never counts; its open orders are
    withdrawn). Decided once: a second decision is refused and names the first."""
    require_role(actor, DECIDERS, "approving or rejecting a late record")
    now = now or utc_now()
    record = (await session.execute(select(InspectionRecord).where(col(InspectionRecord.id) == record_id, col(InspectionRecord.street_id) == actor.street_id))).scalar()
    if record is None:
        raise NotFound("inspection record", record_id)
    if not record.late:
        raise Conflict(f"record {record.id} was filed on time; it counts already and needs no approval", zh=f"记录 #{record.id} 按时提交，已计入，无需审批")
    keep_apart(Duty.APPROVE_OWN_LATE_RECORD, actor, [record.filed_by_user_id])
    earlier = (await session.execute(select(LateRecordDecision).where(col(LateRecordDecision.record_id) == record.id))).scalar()
    if earlier is not None:
        raise _already(record.id, earlier)
    decision = LateDecision.APPROVED if data.approve else LateDecision.REJECTED
    row = LateRecordDecision(
        record_id=record.id,
        decision=decision.value,
        reason=data.reason.strip(),
        decided_at=now,
        decided_by_user_id=actor.user_id,
        decided_by=actor.label,
    )
    try:
        async with session.begin_nested():  # losing the race undoes only this row, so the earlier decision can be read
            session.add(row)
    except IntegrityError:
        earlier = (await session.execute(select(LateRecordDecision).where(col(LateRecordDecision.record_id) == record_id))).scalar_one()
        raise _already(record_id, earlier) from None
    withdrawn: list[int] = []
    if decision is LateDecision.REJECTED:
        withdrawn = await withdraw_record_defects(session, actor, record, f"late record {record.id} rejected: {row.reason}", now)
    record_change(
        session,
        actor,
        f"late_record.{decision.value}",
        "inspection_record",
        record.id,
        after={"decision": decision.value, "month": record.month, "inspected_at": record.inspected_at, "filed_at": record.filed_at, "withdrawn_defect_ids": withdrawn},
        reason=row.reason,
    )
    await done(session, "late-record", record.id)
    await session.flush()
    return _decision_out(row)


def _already(record_id: int, earlier: LateRecordDecision) -> Conflict:
    decision = LateDecision(earlier.decision)
    return Conflict(
        f"late record {record_id} was already {decision.value} by {earlier.decided_by} at {earlier.decided_at.isoformat()} "
        f"({earlier.reason}); a decision is final",
        zh=f"补报记录 #{record_id} 已由{earlier.decided_by}作出“{DECISION_ZH[decision]}”的决定，不能再次审批",
    )
