"""Reconciliation of self-report and spot check (config/RULES.md, "Evidence integrity"): each spot-checked estate-month
is compared, per checklist category, with the month's patrols once they are all in (the month's end plus the late
tolerance), by the daily job or an administrator; the comparison and its mismatches are stored once, as they were
then. A mismatch is evidence for the street (a veto case may cite it); it changes no score by itself."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.clock import business_today, utc_now
from foundation.errors import NotFound, RuleViolation
from foundation.paging import PageRequest, fetch_page
from foundation.periods import Month
from foundation.ratios import ratio_text
from inspections import schemas
from inspections.checklists import stored_checklists
from inspections.config import current_checklist, inspection_rules, reconciliation_rules
from inspections.late import counting_records
from inspections.records import effective_results, record_detail, record_summaries
from inspections.rules import CategoryComparison, Checklist, Source, compare_categories, credibility, reconciliation_due, two_places
from inspections.tables import Amendment, InspectionRecord, InspectionResult, Mismatch, Reconciliation, ReconciliationFiler
from registry import queries as registry_queries

READERS = frozenset({Role.STREET_OFFICER, Role.ADMIN})
RUNNERS = frozenset({Role.ADMIN})


def points_text(centi: int) -> str:
    return f"{centi // 100}.{centi % 100:02d}"


def window(today: Month, months: int) -> list[Month]:
    """The `months` months before `today`'s, oldest first: those a reconciliation may already cover."""
    out = [today.previous()]
    while len(out) < months:
        out.append(out[-1].previous())
    return out[::-1]


async def _effective(session: AsyncSession, records: Sequence[InspectionRecord]) -> dict[int, dict[str, dict[str, object]]]:
    """Each record's results after its amendments: record id → item code → outcome."""
    ids = [r.id for r in records]
    results: dict[int, list[InspectionResult]] = defaultdict(list)
    amendments: dict[int, list[Amendment]] = defaultdict(list)
    if ids:
        for result in (await session.execute(select(InspectionResult).where(col(InspectionResult.record_id).in_(ids)))).scalars():
            results[result.record_id].append(result)
        for amendment in (await session.execute(select(Amendment).where(col(Amendment.record_id).in_(ids)).order_by(col(Amendment.id)))).scalars():
            amendments[amendment.record_id].append(amendment)
    return {r.id or 0: effective_results(results[r.id or 0], amendments[r.id or 0]) for r in records}


def _failed_categories(outcomes: dict[str, dict[str, object]], checklist: Checklist) -> frozenset[str]:
    return frozenset(checklist.items[code].category for code, o in outcomes.items() if not o["passed"] and code in checklist.items)


async def reconcile_month(session: AsyncSession, actor: Principal, month: Month, now: datetime | None = None) -> schemas.ReconciledOut:
    """Reconcile every estate-month of `month` with a counting spot check and no reconciliation yet (so running it
    again, or after a late spot check is approved, adds only what is new). Refused before the month's patrols are
    all in."""
    require_role(actor, RUNNERS, "reconciling spot checks with patrols")
    now = now or utc_now()
    rules, integrity = inspection_rules(), reconciliation_rules()
    if not reconciliation_due(month, now, rules):
        hours = int(rules.late_after.total_seconds() // 3600)
        raise RuleViolation(
            f"the patrols of {month} may still arrive until {hours} hours after its end; reconcile it after that",
            zh=f"{month} 的巡查记录在月末后 {hours} 小时内仍可提交，请届时再对账",
        )
    done = select(col(Reconciliation.estate_id)).where(col(Reconciliation.month) == str(month))
    checks = list(
        (
            await session.execute(
                select(InspectionRecord)
                .where(
                    col(InspectionRecord.source) == Source.SPOT_CHECK.value,
                    col(InspectionRecord.month) == str(month),
                    counting_records(),
                    col(InspectionRecord.estate_id).not_in(done),
                )
                .order_by(col(InspectionRecord.id))
            )
        ).scalars()
    )
    reconciled = mismatched = 0
    seen: set[int] = set()
    for check in checks:
        if check.estate_id in seen:
            continue
        seen.add(check.estate_id)
        found = await _reconcile_one(session, actor, check, month, integrity.mismatch_deduction_centi, now)
        if found is not None:
            reconciled += 1
            mismatched += found
    await session.flush()
    return schemas.ReconciledOut(month=str(month), reconciled=reconciled, mismatches=mismatched)


async def _reconcile_one(session: AsyncSession, actor: Principal, check: InspectionRecord, month: Month, threshold: int, now: datetime) -> int | None:
    patrols = list(
        (
            await session.execute(
                select(InspectionRecord)
                .where(
                    col(InspectionRecord.source) == Source.PATROL.value,
                    col(InspectionRecord.estate_id) == check.estate_id,
                    col(InspectionRecord.month) == str(month),
                    counting_records(),
                )
                .order_by(col(InspectionRecord.inspected_at), col(InspectionRecord.id))
            )
        ).scalars()
    )
    checklists = await stored_checklists(session, {check.checklist_version_id} | {p.checklist_version_id for p in patrols})
    checklist = checklists[check.checklist_version_id]
    outcomes = await _effective(session, [check, *patrols])
    spot_failed = [
        (checklist.items[code].category, checklist.items[code].deduction_centi, int(str(o["defects"])))
        for code, o in outcomes[check.id or 0].items()
        if not o["passed"] and code in checklist.items
    ]
    patrol_failed = [_failed_categories(outcomes[p.id or 0], checklists[p.checklist_version_id]) for p in patrols]
    comparisons = compare_categories({c.code: c.points for c in checklist.categories}, spot_failed, patrol_failed, threshold)
    mismatches = [c for c in comparisons if c.mismatch]
    row = Reconciliation(
        estate_id=check.estate_id,
        community_id=check.community_id,
        street_id=check.street_id,
        month=str(month),
        spot_check_record_id=check.id or 0,
        patrol_record_ids=[p.id or 0 for p in patrols],
        patrol_days=len({p.business_date for p in patrols}),
        comparisons=[_comparison_json(c) for c in comparisons],
        threshold_centi=threshold,
        mismatches=len(mismatches),
        reconciled_at=now,
    )
    try:
        async with session.begin_nested():  # another run reconciled this estate-month first: leave it as it is
            session.add(row)
    except IntegrityError:
        return None
    filers: dict[int, tuple[str, int]] = {}
    for p in patrols:
        if p.filed_by_user_id is not None:
            filers[p.filed_by_user_id] = (p.filed_by, filers.get(p.filed_by_user_id, ("", 0))[1] + 1)
    session.add_all(
        ReconciliationFiler(reconciliation_id=row.id or 0, user_id=user_id, filed_by=label, patrols=n, mismatched=bool(mismatches))
        for user_id, (label, n) in sorted(filers.items())
    )
    session.add_all(
        Mismatch(
            reconciliation_id=row.id or 0,
            estate_id=row.estate_id,
            community_id=row.community_id,
            street_id=row.street_id,
            month=row.month,
            category=c.category,
            category_points=c.points,
            spot_check_record_id=row.spot_check_record_id,
            spot_check_deduction_centi=c.spot_check_deduction_centi,
            threshold_centi=threshold,
            patrols=c.patrols,
            patrol_days=row.patrol_days,
            recorded_at=now,
        )
        for c in mismatches
    )
    record_change(
        session,
        actor,
        "spot_check.reconciled",
        "inspection_record",
        check.id,
        after={"month": row.month, "estate_id": row.estate_id, "patrols": len(patrols), "mismatched_categories": [c.category for c in mismatches]},
    )
    return len(mismatches)


def _comparison_json(c: CategoryComparison) -> dict[str, object]:
    return {
        "category": c.category,
        "points": c.points,
        "spot_check_deduction_centi": c.spot_check_deduction_centi,
        "patrols": c.patrols,
        "patrols_failed": c.patrols_failed,
        "mismatch": c.mismatch,
    }


# Reading (the street officer of the street, or a district administrator)


def _scope(actor: Principal, street_column: Any) -> ColumnElement[bool]:
    require_role(actor, READERS, "reading the reconciliation of spot checks with patrols")
    if actor.role is Role.ADMIN:
        return col(street_column).is_not(None)
    return col(street_column) == actor.street_id


def _months(today: Month | None = None) -> list[str]:
    return [str(m) for m in window(today or Month.of(business_today()), reconciliation_rules().window_months)]


def _category_names() -> dict[str, str]:
    return {c.code: c.name for c in current_checklist().categories}


async def _mismatch_rows(session: AsyncSession, rows: Sequence[Mismatch]) -> list[schemas.MismatchOut]:
    if not rows:
        return []
    names = {i: e.name for i, e in (await registry_queries.estates(session, {m.estate_id for m in rows})).items()}
    workers: dict[int, list[str]] = defaultdict(list)
    for reconciliation_id, label in await session.execute(
        select(col(ReconciliationFiler.reconciliation_id), col(ReconciliationFiler.filed_by))
        .where(col(ReconciliationFiler.reconciliation_id).in_({m.reconciliation_id for m in rows}))
        .order_by(col(ReconciliationFiler.user_id))
    ):
        workers[reconciliation_id].append(label)
    categories = _category_names()
    return [
        schemas.MismatchOut(
            id=m.id or 0,
            estate_id=m.estate_id,
            estate_name=names.get(m.estate_id, ""),
            community_id=m.community_id,
            street_id=m.street_id,
            month=m.month,
            category=m.category,
            category_name=categories.get(m.category, m.category),
            category_points=m.category_points,
            spot_check_record_id=m.spot_check_record_id,
            spot_check_deduction=points_text(m.spot_check_deduction_centi),
            threshold=points_text(m.threshold_centi),
            patrols=m.patrols,
            patrol_days=m.patrol_days,
            social_workers=workers[m.reconciliation_id],
            recorded_at=m.recorded_at,
        )
        for m in rows
    ]


async def list_mismatches(
    session: AsyncSession, actor: Principal, paging: PageRequest, *, estate_id: int | None = None, user_id: int | None = None
) -> tuple[list[schemas.MismatchOut], int]:
    """The mismatches of the window within one's street (the district's for an administrator), newest month first;
    of one estate, or of the estate-months one social worker's patrols were compared in."""
    query = select(Mismatch).where(_scope(actor, Mismatch.street_id), col(Mismatch.month).in_(_months()))
    if estate_id is not None:
        query = query.where(col(Mismatch.estate_id) == estate_id)
    if user_id is not None:
        query = query.where(col(Mismatch.reconciliation_id).in_(select(col(ReconciliationFiler.reconciliation_id)).where(col(ReconciliationFiler.user_id) == user_id)))
    rows, total = await fetch_page(session, query.order_by(col(Mismatch.month).desc(), col(Mismatch.estate_id), col(Mismatch.category)), paging)
    return await _mismatch_rows(session, list(rows)), total


async def mismatch_detail(session: AsyncSession, actor: Principal, mismatch_id: int) -> schemas.MismatchDetailOut:
    """A mismatch down to its records: every category of the estate-month, the spot check's failed items of the
    category with their photos, and the month's patrols compared (each opens as a record with its photos)."""
    mismatch = (await session.execute(select(Mismatch).where(col(Mismatch.id) == mismatch_id, _scope(actor, Mismatch.street_id)))).scalar()
    if mismatch is None:
        raise NotFound("mismatch", mismatch_id)
    reconciliation = (await session.execute(select(Reconciliation).where(col(Reconciliation.id) == mismatch.reconciliation_id))).scalar_one()
    check = (await session.execute(select(InspectionRecord).where(col(InspectionRecord.id) == mismatch.spot_check_record_id))).scalar_one()
    patrols = list(
        (
            await session.execute(
                select(InspectionRecord).where(col(InspectionRecord.id).in_(reconciliation.patrol_record_ids)).order_by(col(InspectionRecord.inspected_at), col(InspectionRecord.id))
            )
        ).scalars()
    )
    detail = await record_detail(session, check)
    checklist = (await stored_checklists(session, {check.checklist_version_id}))[check.checklist_version_id]
    names = {c.code: c.name for c in checklist.categories}
    findings = [
        r for r in detail.effective_results if not r.passed and r.item in checklist.items and checklist.items[r.item].category == mismatch.category
    ]
    [out] = await _mismatch_rows(session, [mismatch])
    summaries = await record_summaries(session, [check, *patrols])
    return schemas.MismatchDetailOut(
        mismatch=out,
        comparisons=[
            schemas.ComparisonOut(
                category=str(c["category"]),
                category_name=names.get(str(c["category"]), str(c["category"])),
                points=int(str(c["points"])),
                spot_check_deduction=points_text(int(str(c["spot_check_deduction_centi"]))),
                patrols=int(str(c["patrols"])),
                patrols_failed=int(str(c["patrols_failed"])),
                mismatch=bool(c["mismatch"]),
            )
            for c in reconciliation.comparisons
        ],
        findings=findings,
        spot_check=summaries[0],
        patrols=summaries[1:],
    )


async def integrity_summary(session: AsyncSession, actor: Principal, today: Month | None = None) -> schemas.IntegritySummaryOut:
    """Per social worker and per estate over the window: spot-checked estate-months, those with a mismatch, and the
    credibility figure (the share without one)."""
    months = _months(today)
    in_window = (_scope(actor, Reconciliation.street_id), col(Reconciliation.month).in_(months))
    workers = list(
        await session.execute(
            select(
                col(ReconciliationFiler.user_id),
                func.max(col(ReconciliationFiler.filed_by)),
                func.count(),
                func.sum(case((col(ReconciliationFiler.mismatched).is_(True), 1), else_=0)),
            )
            .join(Reconciliation, col(Reconciliation.id) == col(ReconciliationFiler.reconciliation_id))
            .where(*in_window)
            .group_by(col(ReconciliationFiler.user_id))
        )
    )
    estates = list(
        await session.execute(
            select(col(Reconciliation.estate_id), func.count(), func.sum(case((col(Reconciliation.mismatches) > 0, 1), else_=0)))
            .where(*in_window)
            .group_by(col(Reconciliation.estate_id))
        )
    )
    names = {i: e.name for i, e in (await registry_queries.estates(session, {e for e, _, _ in estates})).items()} if estates else {}

    def row(key: int, name: str, checked: int, mismatched: int) -> schemas.CredibilityOut:
        share = credibility(checked, mismatched)
        return schemas.CredibilityOut(id=key, name=name, checked=checked, mismatched=mismatched, credibility=None if share is None else ratio_text(two_places(share)))

    return schemas.IntegritySummaryOut(
        months=months,
        threshold=points_text(reconciliation_rules().mismatch_deduction_centi),
        social_workers=sorted((row(u, label, n, int(m or 0)) for u, label, n, m in workers), key=lambda r: (r.credibility or "9", r.name)),
        estates=sorted((row(e, names.get(e, ""), n, int(m or 0)) for e, n, m in estates), key=lambda r: (r.credibility or "9", r.name)),
    )
