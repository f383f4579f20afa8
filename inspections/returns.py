"""Returned for correction (退回更正): the street officer of a record's street, or the committee director of a patrol's
community, returns it to its filer with a reason; the filer answers with a correction (an amendment: the record as
filed stays beside it). While it waits, the record counts as config/inspections.toml [returns] says."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.clock import utc_now
from foundation.errors import Conflict, NotFound, PermissionDenied
from foundation.notifications import notify
from foundation.paging import PageRequest, fetch_page
from inspections import schemas
from inspections.config import reconciliation_rules
from inspections.rules import ReturnState, Source
from inspections.scope import visible_records
from inspections.tables import Amendment, InspectionRecord, RecordReturn
from people.waiting import done
from registry import queries as registry_queries

RETURNERS = frozenset({Role.STREET_OFFICER, Role.COMMITTEE_DIRECTOR})
# What each returner may return: the street officer its street's patrols and street inspections, the director its
# community's patrols (the community worker's director). A spot check is the firm's: it is disputed by appeal.
RETURNABLE: dict[Role, frozenset[Source]] = {
    Role.STREET_OFFICER: frozenset({Source.PATROL, Source.STREET_INSPECTION}),
    Role.COMMITTEE_DIRECTOR: frozenset({Source.PATROL}),
}
SOURCE_ZH = {Source.PATROL: "日常巡查", Source.STREET_INSPECTION: "街道检查", Source.SPOT_CHECK: "第三方抽查"}


def waiting_returns() -> ColumnElement[bool]:
    """SQL: the records waiting on a return (returned, correction not yet filed)."""
    return col(InspectionRecord.id).in_(select(col(RecordReturn.waiting_record_id)).where(col(RecordReturn.waiting_record_id).is_not(None)))


def _in_scope(actor: Principal) -> ColumnElement[bool]:
    """The returns a principal sees: those of records it may see, and every return of its own records."""
    mine = col(RecordReturn.filer_user_id) == actor.user_id if actor.user_id is not None else false()
    if actor.role is Role.ADMIN:
        return col(RecordReturn.id).is_not(None)
    if actor.role is Role.STREET_OFFICER:
        return or_(col(RecordReturn.street_id) == actor.street_id, mine)
    if actor.role is Role.COMMITTEE_DIRECTOR:
        return or_(col(RecordReturn.community_id) == actor.community_id, mine)
    return mine


async def return_record(session: AsyncSession, actor: Principal, record_id: int, data: schemas.RecordReturnIn, now: datetime | None = None) -> RecordReturn:
    """Return a record of one's scope to its filer with a reason; one return waits at a time per record."""
    require_role(actor, RETURNERS, "returning a record for correction")
    now = now or utc_now()
    record = (await session.execute(select(InspectionRecord).where(col(InspectionRecord.id) == record_id, visible_records(actor)))).scalar()
    if record is None:
        raise NotFound("inspection record", record_id)
    source = Source(record.source)
    in_reach = record.street_id == actor.street_id if actor.role is Role.STREET_OFFICER else record.community_id == actor.community_id
    if not in_reach or source not in RETURNABLE[actor.role]:
        who = "the street officer returns its street's patrols and street inspections; the committee director its community's patrols"
        raise PermissionDenied(
            f"record {record.id} is a {source.value} outside what you may return: {who}",
            zh=f"{SOURCE_ZH[source]}记录 #{record.id} 不在您可退回的范围内：街道办退回本街道的日常巡查和街道检查，居委会主任退回本社区的日常巡查",
        )
    if record.filed_by_user_id is None:
        raise PermissionDenied(f"record {record.id} was not filed by a person of the system; there is nobody to return it to", zh="该记录不是由系统用户提交的，无法退回")
    if record.filed_by_user_id == actor.user_id:
        raise PermissionDenied("you filed this record yourself; amend it instead of returning it", zh="本人提交的记录请直接更正，无需退回")
    row = RecordReturn(
        record_id=record.id,
        waiting_record_id=record.id,
        street_id=record.street_id,
        community_id=record.community_id,
        filer_user_id=record.filed_by_user_id,
        reason=data.reason.strip(),
        returned_at=now,
        returned_by_user_id=actor.user_id,
        returned_by=actor.label,
    )
    try:
        async with session.begin_nested():  # the unique waiting_record_id: a record waits on one return at a time
            session.add(row)
    except IntegrityError:
        earlier = (await session.execute(select(RecordReturn).where(col(RecordReturn.waiting_record_id) == record.id))).scalar_one()
        raise Conflict(
            f"record {record.id} was already returned by {earlier.returned_by} at {earlier.returned_at.isoformat()} and waits for its correction",
            zh=f"记录 #{record.id} 已由{earlier.returned_by}退回，正在等待更正",
        ) from None
    record_change(session, actor, "inspection_record.returned", "inspection_record", record.id, after={"return_id": row.id, "filer_user_id": row.filer_user_id}, reason=row.reason)
    estate = (await registry_queries.estates(session, [record.estate_id]))[record.estate_id]
    await notify(
        session, f"record-return|{row.id}", [row.filer_user_id], f"记录 #{record.id} 被退回更正", f"{estate.name} {record.business_date}：{row.reason}", f"/records/{record.id}"
    )
    await session.flush()
    return row


async def waiting_return(session: AsyncSession, record_id: int) -> RecordReturn | None:
    return (await session.execute(select(RecordReturn).where(col(RecordReturn.waiting_record_id) == record_id))).scalar()


async def close_return(session: AsyncSession, actor: Principal, record: InspectionRecord, amendment: Amendment, now: datetime) -> RecordReturn | None:
    """The filer's amendment of a record waiting on a return is its correction: the return is closed by it."""
    waiting = await waiting_return(session, record.id or 0)
    if waiting is None or actor.user_id is None or waiting.filer_user_id != actor.user_id:
        return None
    waiting.waiting_record_id = None
    waiting.corrected_at = now
    waiting.amendment_id = amendment.id
    session.add(waiting)
    record_change(session, actor, "inspection_record.corrected", "inspection_record", record.id, after={"return_id": waiting.id, "amendment_id": amendment.id})
    await done(session, "record-return", waiting.id)
    await session.flush()
    return waiting


def waited_hours(row: RecordReturn, now: datetime) -> int:
    return int(((row.corrected_at or now) - row.returned_at).total_seconds() // 3600)


async def return_rows(session: AsyncSession, rows: list[RecordReturn], now: datetime | None = None) -> list[schemas.RecordReturnOut]:
    now = now or utc_now()
    records = {r.id: r for r in (await session.execute(select(InspectionRecord).where(col(InspectionRecord.id).in_({row.record_id for row in rows})))).scalars()} if rows else {}
    names = {i: e.name for i, e in (await registry_queries.estates(session, {r.estate_id for r in records.values()})).items()} if records else {}
    counts = reconciliation_rules().while_returned.value
    out = []
    for row in rows:
        record = records[row.record_id]
        out.append(
            schemas.RecordReturnOut(
                id=row.id or 0,
                record_id=row.record_id,
                source=Source(record.source),
                estate_id=record.estate_id,
                estate_name=names.get(record.estate_id, ""),
                month=record.month,
                reason=row.reason,
                returned_at=row.returned_at,
                returned_by=row.returned_by,
                filed_by=record.filed_by,
                state=ReturnState.WAITING if row.waiting_record_id is not None else ReturnState.CORRECTED,
                waited_hours=waited_hours(row, now),
                counts_while_waiting=counts,
                corrected_at=row.corrected_at,
                amendment_id=row.amendment_id,
            )
        )
    return out


async def record_returns(session: AsyncSession, record_id: int) -> list[schemas.RecordReturnOut]:
    """The returns of one record, oldest first (for whoever may see the record)."""
    rows = list((await session.execute(select(RecordReturn).where(col(RecordReturn.record_id) == record_id).order_by(col(RecordReturn.id)))).scalars())
    return await return_rows(session, rows)


async def list_returns(session: AsyncSession, actor: Principal, paging: PageRequest, *, waiting: bool | None = None) -> tuple[list[schemas.RecordReturnOut], int]:
    """Returns within one's scope (the street's, the community's, and one's own records'), waiting ones first, then
    newest first; `waiting=True` only those waiting, `False` only those corrected."""
    query = select(RecordReturn).where(_in_scope(actor))
    if waiting is True:
        query = query.where(col(RecordReturn.waiting_record_id).is_not(None))
    elif waiting is False:
        query = query.where(col(RecordReturn.waiting_record_id).is_(None))
    query = query.order_by(col(RecordReturn.waiting_record_id).is_(None), col(RecordReturn.returned_at).desc(), col(RecordReturn.id).desc())
    rows, total = await fetch_page(session, query, paging)
    return await return_rows(session, list(rows)), total
