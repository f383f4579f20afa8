"""Defects and rectification: raised from failed items, answered by the company with a fix and a photo, accepted
or rejected by whoever can see them, marked overdue as their deadlines pass (with yellow cards on the second
overdue of a company's month)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.calendar.rules import CalendarSource, OfficialCalendar
from foundation.calendar.service import working_calendar
from foundation.clock import BUSINESS_TZ, utc_now
from foundation.duties import Duty, keep_apart
from foundation.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from foundation.paging import PageRequest, fetch_page
from foundation.periods import Month, period_zh
from foundation.storage import BlobStore
from foundation.text import visible
from inspections import schemas
from inspections.attachments import MAX_PHOTOS, ReceivedPhoto, evidence_photo, keep_photos, own_photos, required_store
from inspections.checklists import points_text, stored_checklists
from inspections.config import current_checklist, inspection_rules
from inspections.records import ResultFields, finding_notes
from inspections.rules import Checklist, DefectState, Severity, Source, overdue_since, rectification_deadline
from inspections.scope import visible_defects
from inspections.tables import Amendment, Defect, DefectEvent, DefectEventPhoto, InspectionRecord, RecordPhoto, YellowCard
from people.waiting import Turn, done, waits, whose_turn
from registry import queries as registry_queries

OPEN_STATES = (DefectState.OPEN.value, DefectState.FIX_REPORTED.value)
REVIEWERS = frozenset({Role.COMMUNITY_WORKER, Role.STREET_WORKER, Role.STREET_OFFICER, Role.INSPECTOR, Role.ADMIN})

NOTE_LIMIT = 2000  # a fix report's note, as its body (schemas.NonBlankNote) allows


def _event(session: AsyncSession, defect_id: int, kind: str, actor: Principal, at: datetime, note: str = "") -> DefectEvent:
    event = DefectEvent(defect_id=defect_id, kind=kind, at=at, actor_user_id=actor.user_id, actor=actor.label, note=note)
    session.add(event)
    return event


def _new_defect(
    record: InspectionRecord, item_code: str, count: int, checklist: Checklist, now: datetime, amendment_id: int | None, calendar: OfficialCalendar
) -> Defect:
    item = checklist.items[item_code]
    deadline = rectification_deadline(now, item.severity, inspection_rules(), calendar)
    return Defect(
        record_id=record.id,
        amendment_id=amendment_id,
        item_code=item_code,
        source=record.source,
        estate_id=record.estate_id,
        community_id=record.community_id,
        street_id=record.street_id,
        company_id=record.company_id,
        organisation_id=record.organisation_id,
        severity=item.severity.value,
        veto_item=item.veto,
        deduction_centi=item.deduction_centi,
        defect_count=count,
        month=record.month,  # the month of the evidence, whenever it was filed
        raised_at=now,
        deadline_at=deadline.at,
        deadline_provisional=deadline.provisional,
        deadline_source=deadline.source.value if deadline.source else None,
        state=DefectState.OPEN.value,
    )


async def raise_defects(
    session: AsyncSession, actor: Principal, record: InspectionRecord, checklist: Checklist, results: Sequence[ResultFields], now: datetime
) -> list[Defect]:
    """One defect (rectification order) per failed item of a newly filed record."""
    failed = [r for r in results if not r.passed]
    if not failed:
        return []
    calendar = await working_calendar(session)
    raised = [_new_defect(record, r.item_code, r.defects, checklist, now, None, calendar) for r in failed]
    session.add_all(raised)
    await session.flush()
    audience = await _order_audience(session, raised[0]) if raised else None  # one record: one estate, one company
    for defect in raised:
        _event(session, defect.id, "raised", actor, now)
        await _order_waits(session, defect, checklist, audience=audience)
    return raised


async def _order_audience(session: AsyncSession, defect: Defect) -> tuple[str | None, list[int]] | None:
    """Whom an order waits on: the estate's name and the accounts of the company under contract (None: no company)."""
    if defect.company_id is None:
        return None
    estate = await registry_queries.estate(session, defect.estate_id)
    return (estate.name if estate else None), await whose_turn(session, Turn(Role.COMPANY, company_id=defect.company_id))


async def _order_waits(
    session: AsyncSession, defect: Defect, checklist: Checklist, round_: object = None, sent_back: str = "", audience: tuple[str | None, list[int]] | None = None
) -> None:
    """An order (new, or open again after its fix was sent back) waits on the company under contract: its accounts
    are told, and the notice leaves their list once a fix is reported or the order is withdrawn. `audience`: what
    `_order_audience` answers, when the caller has it already (the orders of one record share it)."""
    audience = audience or await _order_audience(session, defect)
    if audience is None:
        return
    estate_name, told = audience
    item = checklist.items.get(defect.item_code)
    what = f"{defect.item_code} {item.text}" if item else defect.item_code
    deadline = defect.deadline_at.astimezone(BUSINESS_TZ)
    await waits(
        session, "order", defect.id, told,
        f"{'整改验收退回' if sent_back else '新的整改单'}：{estate_name or f'整改单 #{defect.id}'}",
        f"整改单 #{defect.id}（{what}）{'验收退回：' + sent_back[:200] + '。' if sent_back else ''}请在 {deadline:%Y-%m-%d %H:%M} 前整改并上报整改照片。",
        f"/defects/{defect.id}", round_=round_,
    )


async def apply_amendment(
    session: AsyncSession,
    actor: Principal,
    record: InspectionRecord,
    amendment: Amendment,
    checklist: Checklist,
    before: dict[str, dict[str, Any]],
    changes: list[dict[str, Any]],
    now: datetime,
) -> None:
    """Withdraw the live defects of items the amendment changes; raise a new one where the item now fails."""
    for change in changes:
        was = before.get(change["item"])
        if was is not None and was["passed"] == change["passed"] and was["defects"] == change["defects"]:
            continue
        live = (
            await session.execute(
                select(Defect).where(
                    col(Defect.record_id) == record.id, col(Defect.item_code) == change["item"], col(Defect.state) != DefectState.WITHDRAWN.value
                )
            )
        ).scalars()
        for defect in live:
            if defect.state == DefectState.CLOSED.value:
                raise Conflict(f"defect {defect.id} of item {change['item']} is already rectified and closed; it cannot be amended away", zh=f"检查项 {change['item']} 的问题已整改销号，不能通过更正撤销")
            defect.state = DefectState.WITHDRAWN.value
            defect.closed_at = now
            _event(session, defect.id, "withdrawn", actor, now, f"amendment {amendment.id}: {amendment.reason}")
            await done(session, "order", defect.id)
            await done(session, "fix", defect.id)
        if not change["passed"]:
            defect = _new_defect(record, change["item"], change["defects"], checklist, now, amendment.id, await working_calendar(session))
            session.add(defect)
            await session.flush()
            _event(session, defect.id, "raised", actor, now, f"amendment {amendment.id}: {amendment.reason}")
            await _order_waits(session, defect, checklist)


async def withdraw_record_defects(session: AsyncSession, actor: Principal, record: InspectionRecord, note: str, now: datetime) -> list[int]:
    """Withdraw the orders of a record that will never count (a rejected late record) that are still to act on."""
    live = list(
        (await session.execute(select(Defect).where(col(Defect.record_id) == record.id, col(Defect.state).in_(OPEN_STATES)).order_by(col(Defect.id)))).scalars()
    )
    for defect in live:
        defect.state = DefectState.WITHDRAWN.value
        defect.closed_at = now
        _event(session, defect.id, "withdrawn", actor, now, note)
        await done(session, "order", defect.id)
        await done(session, "fix", defect.id)
    return [d.id for d in live]


# Reading


def _state_condition(state: str, now: datetime) -> ColumnElement[bool]:
    """SQL for a state filter; 'overdue' is derived from the deadline at `now` exactly as rules.overdue_since;
    'active' is what somebody still has to act on (open or reported)."""
    if state == "active":
        return col(Defect.state).in_(OPEN_STATES)
    if state != "overdue":
        return col(Defect.state) == state
    return or_(
        and_(col(Defect.state) == DefectState.OPEN.value, col(Defect.deadline_at) < now),
        and_(col(Defect.state).in_(OPEN_STATES[1:] + (DefectState.CLOSED.value,)), col(Defect.fix_reported_at) > Defect.deadline_at),
    )


async def list_defects(
    session: AsyncSession,
    actor: Principal,
    paging: PageRequest,
    *,
    state: str | None = None,
    estate_id: int | None = None,
    community_id: int | None = None,
    street_id: int | None = None,
    company_id: int | None = None,
    month: Month | None = None,
    source: Source | None = None,
    overdue: bool = False,
    item_code: str | None = None,
    now: datetime | None = None,
) -> tuple[list[schemas.DefectOut], int]:
    """The orders in the actor's scope, most urgent first; `overdue` keeps only the overdue ones of the chosen state
    (rectified late, or still open past the deadline)."""
    now = now or utc_now()
    query = select(Defect).where(visible_defects(actor)).order_by(col(Defect.deadline_at), col(Defect.id))
    if state is not None:
        query = query.where(_state_condition(state, now))
    if overdue:
        query = query.where(_state_condition("overdue", now))
    for column, value in (
        (Defect.estate_id, estate_id),
        (Defect.community_id, community_id),
        (Defect.street_id, street_id),
        (Defect.company_id, company_id),
        (Defect.month, str(month) if month else None),
        (Defect.source, source.value if source else None),
        (Defect.item_code, item_code),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    rows, total = await fetch_page(session, query, paging)
    return await defect_rows(session, rows, now), total


async def estates_with_orders(session: AsyncSession, actor: Principal) -> list[int]:
    """The estates that have any order the actor may see (the choices of the order list's estate filter)."""
    return list((await session.execute(select(col(Defect.estate_id)).where(visible_defects(actor)).distinct())).scalars())


async def companies_with_orders(session: AsyncSession, actor: Principal) -> list[int]:
    """The companies that have any order the actor may see (the choices of the order list's company filter)."""
    query = select(col(Defect.company_id)).where(visible_defects(actor), col(Defect.company_id).is_not(None)).distinct()
    return [i for i in (await session.execute(query)).scalars() if i is not None]


async def items_with_orders(session: AsyncSession, actor: Principal) -> dict[str, str]:
    """The checklist items of the orders the actor may see, code → the standard's text (by the checklist version
    of a record that raised it): the choices of the order list's item filter."""
    rows = (
        await session.execute(
            select(col(Defect.item_code), func.max(col(InspectionRecord.checklist_version_id)))
            .join(InspectionRecord, col(InspectionRecord.id) == Defect.record_id)
            .where(visible_defects(actor))
            .group_by(col(Defect.item_code))
        )
    ).all()
    checklists = await stored_checklists(session, {version for _, version in rows})
    texts = {code: (checklists[version].items[code].text if code in checklists[version].items else code) for code, version in rows}
    return dict(sorted(texts.items()))


async def open_orders_by_estate(session: AsyncSession, community_id: int | None) -> dict[int, int]:
    """How many orders are still to act on (open or reported) per estate of a community."""
    rows = await session.execute(
        select(col(Defect.estate_id), func.count())
        .where(col(Defect.community_id) == community_id, col(Defect.state).in_(OPEN_STATES))
        .group_by(col(Defect.estate_id))
    )
    return dict(rows.all())


async def get_defect(session: AsyncSession, actor: Principal, defect_id: int) -> Defect:
    found = (await session.execute(select(Defect).where(col(Defect.id) == defect_id, visible_defects(actor)))).scalar()
    if found is None:
        raise NotFound("defect", defect_id)
    return found


async def defect_rows(session: AsyncSession, defects: list[Defect], now: datetime | None = None) -> list[schemas.DefectOut]:
    now = now or utc_now()
    if not defects:
        return []
    ids = [d.id for d in defects]
    events = list((await session.execute(select(DefectEvent).where(col(DefectEvent.defect_id).in_(ids)).order_by(col(DefectEvent.id)))).scalars())
    photos: dict[int, list[int]] = {}
    for event_id, attachment_id in (
        await session.execute(select(col(DefectEventPhoto.event_id), col(DefectEventPhoto.attachment_id)).where(col(DefectEventPhoto.defect_id).in_(ids)))
    ):
        photos.setdefault(event_id, []).append(attachment_id)
    names = {i: e.name for i, e in (await registry_queries.estates(session, {d.estate_id for d in defects})).items()}
    versions = dict(
        (await session.execute(select(col(InspectionRecord.id), col(InspectionRecord.checklist_version_id)).where(col(InspectionRecord.id).in_({d.record_id for d in defects})))).all()
    )
    checklists = await stored_checklists(session, set(versions.values()))
    faults = await finding_notes(session, {d.record_id for d in defects})
    rows = []
    for d in defects:
        item = checklists[versions[d.record_id]].items.get(d.item_code)
        state = DefectState(d.state)
        rows.append(
            schemas.DefectOut(
                id=d.id or 0,
                record_id=d.record_id,
                source=Source(d.source),
                item=d.item_code,
                text=item.text if item else "",
                fault=faults.get((d.record_id, d.item_code), ""),
                severity=Severity(d.severity),
                veto_item=d.veto_item,
                deduction=points_text(d.deduction_centi),
                defect_count=d.defect_count,
                estate_id=d.estate_id,
                estate_name=names.get(d.estate_id, ""),
                community_id=d.community_id,
                street_id=d.street_id,
                company_id=d.company_id,
                month=d.month,
                raised_at=d.raised_at,
                deadline_at=d.deadline_at,
                deadline_provisional=d.deadline_provisional,
                deadline_source=CalendarSource(d.deadline_source) if d.deadline_source else None,
                state=state,
                overdue=overdue_since(d.deadline_at, state, d.fix_reported_at, now),
                fix_reported_at=d.fix_reported_at,
                closed_at=d.closed_at,
                overdue_ordinal=d.overdue_ordinal,
                overdue_month=d.overdue_month,
                events=[
                    schemas.DefectEventOut(kind=e.kind, at=e.at, actor=e.actor, note=e.note, photo_ids=sorted(photos.get(e.id or 0, [])))
                    for e in events
                    if e.defect_id == d.id
                ],
            )
        )
    return rows


async def defect_evidence(session: AsyncSession, defect_ids: Iterable[int]) -> dict[int, schemas.DefectEvidenceOut]:
    """Defects as the evidence of a case (an automatic veto, an appeal): links to each and to the record that found
    it, with its photos (the same ones scope.defect_photo_ids lets whoever sees the case open)."""
    wanted = set(defect_ids)
    if not wanted:
        return {}
    defects = list((await session.execute(select(Defect).where(col(Defect.id).in_(wanted)))).scalars())
    photos: dict[int, list[schemas.EvidencePhotoOut]] = {}
    found = await session.execute(
        select(col(Defect.id), col(RecordPhoto.attachment_id))
        .join(RecordPhoto, and_(col(RecordPhoto.record_id) == Defect.record_id, col(RecordPhoto.item_code) == Defect.item_code))
        .where(col(Defect.id).in_(wanted))
        .order_by(col(RecordPhoto.attachment_id))
    )
    for defect_id, attachment_id in found:
        photos.setdefault(defect_id, []).append(evidence_photo(attachment_id, "finding"))
    fixed = await session.execute(
        select(col(DefectEventPhoto.defect_id), col(DefectEventPhoto.attachment_id)).where(col(DefectEventPhoto.defect_id).in_(wanted)).order_by(col(DefectEventPhoto.event_id), col(DefectEventPhoto.attachment_id))
    )
    for defect_id, attachment_id in fixed:
        photos.setdefault(defect_id, []).append(evidence_photo(attachment_id, "fix"))
    versions = dict(
        (await session.execute(select(col(InspectionRecord.id), col(InspectionRecord.checklist_version_id)).where(col(InspectionRecord.id).in_({d.record_id for d in defects})))).all()
    )
    checklists = await stored_checklists(session, set(versions.values()))
    faults = await finding_notes(session, {d.record_id for d in defects})

    def standard(d: Defect) -> str:
        item = checklists[versions[d.record_id]].items.get(d.item_code)
        return item.text if item else ""

    return {
        d.id: schemas.DefectEvidenceOut(
            defect_id=d.id,
            item=d.item_code,
            url=f"/api/defects/{d.id}",
            page_url=f"/defects/{d.id}",
            record_id=d.record_id,
            record_url=f"/api/inspections/{d.record_id}",
            record_page_url=f"/records/{d.record_id}",
            photos=photos.get(d.id, []),
            text=standard(d),
            fault=faults.get((d.record_id, d.item_code), ""),
        )
        for d in defects
        if d.id is not None
    }


# Rectification


async def report_fix(
    session: AsyncSession,
    actor: Principal,
    defect_id: int,
    data: schemas.FixReportIn,
    now: datetime | None = None,
    *,
    store: BlobStore | None = None,
    photos: Sequence[ReceivedPhoto] = (),
) -> Defect:
    """The company under contract reports the defect fixed, with photos of the fix: uploaded ones (`photo_ids`) or
    ones received with the form (`photos`, stored only once everything else is checked)."""
    now = now or utc_now()
    require_role(actor, {Role.COMPANY}, "reporting a rectification")
    defect = await get_defect(session, actor, defect_id)
    if defect.state != DefectState.OPEN.value:
        raise Conflict(f"defect {defect_id} is {defect.state}; a fix can be reported only on an open defect", zh="该整改单不是待整改状态，不能再报告整改")
    if not visible(data.note):
        raise RuleViolation("write what was done", zh="请写明整改情况", field="note")
    if len(data.note) > NOTE_LIMIT:  # the body's own limit, for the page's form too (its photos come as files)
        raise InvalidInput(f"the note is longer than {NOTE_LIMIT} characters", zh=f"整改情况最多 {NOTE_LIMIT} 个字", field="note")
    if not data.photo_ids and not photos:
        raise RuleViolation("attach a photo of the fix", zh="请至少上传一张整改后的照片", field="photo")
    if len(set(data.photo_ids)) + len(photos) > MAX_PHOTOS:
        raise RuleViolation(f"attach at most {MAX_PHOTOS} photos of the fix", zh=f"整改照片最多 {MAX_PHOTOS} 张", field="photo")
    await own_photos(session, actor, data.photo_ids, zh="整改照片未上传成功，请重新选择照片")
    changed = await session.execute(
        update(Defect)
        .where(col(Defect.id) == defect_id, col(Defect.state) == DefectState.OPEN.value)
        .values(state=DefectState.FIX_REPORTED.value, fix_reported_at=now)
    )
    if cast(CursorResult[Any], changed).rowcount != 1:  # AsyncSession.execute types an UPDATE's result as a plain Result
        raise Conflict(f"defect {defect_id} changed meanwhile; reload it", zh="该整改单刚被他人处理，请刷新页面")
    photo_ids = list(dict.fromkeys(data.photo_ids))
    if photos:
        photo_ids += [p for p in await keep_photos(session, required_store(store), actor, photos) if p not in photo_ids]
    event = _event(session, defect_id, "fix_reported", actor, now, data.note)
    await session.flush()
    for photo in photo_ids:
        session.add(DefectEventPhoto(event_id=event.id, attachment_id=photo, defect_id=defect_id))
    record_change(session, actor, "defect.fix_reported", "defect", defect_id, after={"photo_ids": photo_ids}, reason=data.note)
    await done(session, "order", defect_id)  # the company has answered (whichever of its accounts did)
    estate = await registry_queries.estate(session, defect.estate_id)
    await waits(
        session, "fix", defect_id, await whose_turn(session, _verifiers(defect)), f"整改待验收：{estate.name if estate else f'整改单 #{defect_id}'}",
        f"整改单 #{defect_id}（{defect.item_code}）已报告整改：{data.note[:200]}", f"/defects/{defect_id}", round_=event.id,
    )
    await session.flush()
    await session.refresh(defect)
    return defect


def _verifiers(defect: Defect) -> Turn:
    """Whose turn it is to verify a reported fix: those who found the defect (the community's social worker for a
    patrol, the street's for an inspection, the firm for its spot check)."""
    match defect.source:
        case Source.SPOT_CHECK.value if defect.organisation_id is not None:
            return Turn(Role.INSPECTOR, organisation_id=defect.organisation_id)
        case Source.STREET_INSPECTION.value:
            return Turn(Role.STREET_WORKER, street_id=defect.street_id)
        case _:
            return Turn(Role.COMMUNITY_WORKER, community_id=defect.community_id)


def _may_review(actor: Principal, defect: Defect) -> bool:
    match actor.role:
        case Role.COMMUNITY_WORKER:
            return actor.community_id == defect.community_id
        case Role.STREET_WORKER | Role.STREET_OFFICER:
            return actor.street_id == defect.street_id
        case Role.INSPECTOR:
            return defect.source == Source.SPOT_CHECK.value and actor.organisation_id == defect.organisation_id
        case Role.ADMIN:
            return True
        case _:
            return False


async def review_fix(
    session: AsyncSession, actor: Principal, defect_id: int, data: schemas.FixReviewIn, now: datetime | None = None
) -> Defect:
    """Accept the reported fix (the defect closes) or reject it (the defect is open again, its deadline unchanged)."""
    now = now or utc_now()
    require_role(actor, REVIEWERS, "verifying a rectification")
    defect = await get_defect(session, actor, defect_id)
    if not _may_review(actor, defect):
        raise PermissionDenied("you may verify rectifications only in your own community, street or firm's checks", zh="只能复核本社区、本街道或本机构检查发现问题的整改")
    if defect.state != DefectState.FIX_REPORTED.value:
        raise Conflict(f"defect {defect_id} is {defect.state}; only a reported fix can be accepted or rejected", zh="只有已报整改的整改单才能验收或退回")
    reporters = select(col(DefectEvent.actor_user_id)).where(col(DefectEvent.defect_id) == defect_id, col(DefectEvent.kind) == "fix_reported")
    keep_apart(Duty.VERIFY_OWN_FIX, actor, (await session.execute(reporters)).scalars())
    values: dict[str, Any] = (
        {"state": DefectState.CLOSED.value, "closed_at": now}
        if data.accepted
        else {"state": DefectState.OPEN.value, "fix_reported_at": None}
    )
    changed = await session.execute(
        update(Defect).where(col(Defect.id) == defect_id, col(Defect.state) == DefectState.FIX_REPORTED.value).values(**values)
    )
    if cast(CursorResult[Any], changed).rowcount != 1:  # AsyncSession.execute types an UPDATE's result as a plain Result
        raise Conflict(f"defect {defect_id} changed meanwhile; reload it", zh="该整改单刚被他人处理，请刷新页面")
    event = _event(session, defect_id, "accepted" if data.accepted else "rejected", actor, now, data.note)
    record_change(session, actor, "defect.accepted" if data.accepted else "defect.rejected", "defect", defect_id, reason=data.note)
    await done(session, "fix", defect_id)
    if not data.accepted:  # open again: the company's turn once more
        await session.flush()
        await _order_waits(session, defect, current_checklist(), round_=event.id, sent_back=data.note)
    await session.flush()
    await session.refresh(defect)
    return defect


# Overdue


async def mark_overdue(session: AsyncSession, actor: Principal, now: datetime | None = None) -> schemas.OverdueMarked:
    """Mark every defect whose deadline has passed without a fix in time, once: each becomes its company's n-th
    overdue of the month its deadline fell in; the second issues a yellow card, the third on is a veto trigger.
    Running it again (or twice at once) changes nothing more."""
    now = now or utc_now()
    due = list(
        (
            await session.execute(
                select(Defect)
                .where(col(Defect.overdue_marked_at).is_(None), _state_condition("overdue", now))
                .order_by(col(Defect.deadline_at), col(Defect.id))
            )
        ).scalars()
    )
    # Each becomes its company's n-th of the month: hold the companies' rows (in one order, so two runs cannot
    # deadlock) while counting, so a run at the same moment counts after this one (PostgreSQL; SQLite has one writer).
    companies = sorted({d.company_id for d in due if d.company_id is not None})
    await registry_queries.hold_companies(session, companies)
    cards = 0
    third: list[int] = []
    for defect in due:
        month = str(Month.of_instant(defect.deadline_at))
        ordinal = None
        if defect.company_id is not None:
            ordinal = 1 + (
                await session.execute(
                    select(func.count()).where(col(Defect.company_id) == defect.company_id, col(Defect.overdue_month) == month)
                )
            ).scalar_one()
        changed = await session.execute(
            update(Defect)
            .where(col(Defect.id) == defect.id, col(Defect.overdue_marked_at).is_(None))
            .values(overdue_marked_at=now, overdue_month=month, overdue_ordinal=ordinal)
        )
        if cast(CursorResult[Any], changed).rowcount != 1:  # AsyncSession.execute types an UPDATE's result as a plain Result
            continue
        # The order's history reads it as people do (Beijing time, Chinese): the company sees it.
        note = f"整改期限 {defect.deadline_at.astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M} 已过" + (f"，为该企业 {period_zh(month)}第 {ordinal} 次逾期" if ordinal else "")
        _event(session, defect.id, "overdue", actor, now, note)
        if ordinal == 2 and defect.company_id is not None:
            session.add(YellowCard(company_id=defect.company_id, month=month, defect_id=defect.id, issued_at=now))
            cards += 1
            record_change(session, actor, "company.yellow_card", "company", defect.company_id, after={"month": month, "defect_id": defect.id})
        if ordinal is not None and ordinal >= 3:
            third.append(defect.id)
    await session.flush()
    return schemas.OverdueMarked(marked=len(due), yellow_cards=cards, third_overdue_defect_ids=third)


async def overdue_by_company(session: AsyncSession, actor: Principal, month: Month) -> list[schemas.CompanyOverdueOut]:
    """Marked overdue rectifications per company for a month, within the actor's scope, with their yellow cards."""
    counts = (
        await session.execute(
            select(col(Defect.company_id), func.count())
            .where(col(Defect.company_id).is_not(None), col(Defect.overdue_month) == str(month), visible_defects(actor))
            .group_by(col(Defect.company_id))
        )
    ).all()
    names = {i: c.name for i, c in (await registry_queries.companies(session, [cid for cid, _ in counts if cid is not None])).items()}
    carded = set((await session.execute(select(col(YellowCard.company_id)).where(col(YellowCard.month) == str(month)))).scalars())
    return sorted(
        (
            schemas.CompanyOverdueOut(company_id=cid, company_name=names[cid], month=str(month), overdue=n, yellow_card=cid in carded)
            for cid, n in counts
            if cid in names
        ),
        key=lambda row: (-row.overdue, row.company_name),
    )
