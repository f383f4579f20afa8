"""The monthly spot-check draw and the secret assignments it makes."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.clock import utc_now
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.paging import PageRequest, fetch_page
from foundation.periods import Month, period_zh
from foundation.ratios import ratio_text, stored_ratio
from inspections import schemas
from inspections.config import inspection_rules
from inspections.rules import EstateRef, draw_spot_checks
from inspections.tables import InspectionRecord, SpotCheckAssignment, SpotCheckDraw
from people.waiting import Turn, done, waits, whose_turn
from registry import queries as registry_queries

DRAWERS = frozenset({Role.ADMIN})


async def draw_month(
    session: AsyncSession, actor: Principal, month: Month, seed: str | None = None, now: datetime | None = None
) -> SpotCheckDraw:
    """Draw the month's spot checks once; the draw, its seed and share are stored so anyone can repeat it."""
    require_role(actor, DRAWERS, "drawing spot checks")
    now = now or utc_now()
    if (await session.execute(select(col(SpotCheckDraw.id)).where(col(SpotCheckDraw.month) == str(month)))).scalar() is not None:
        raise Conflict(f"the spot checks of {month} were already drawn; GET /api/spot-checks/draws/{month}", zh=f"{month} 的暗访抽查已抽取，不能重复抽取")
    estates = [EstateRef(id=e.id, street_id=e.street_id) for e in await registry_queries.managed_during(session, month)]
    firms = await registry_queries.inspection_firms(session)
    if not estates:
        raise RuleViolation(f"no estate is under management in {month}", zh=f"{month} 没有处于长效管理中的区片，无法抽取")
    if not firms:
        raise RuleViolation("no third-party inspection firm is registered; register one first", zh="尚未登记第三方检查机构，请先登记")
    earlier = [str(m) for m in month.quarter.months if m < month]
    covered = set(
        (await session.execute(select(col(SpotCheckAssignment.estate_id)).where(col(SpotCheckAssignment.month).in_(earlier)))).scalars()
    )
    share = inspection_rules().monthly_share
    seed = seed or secrets.token_hex(16)
    draw = SpotCheckDraw(month=str(month), seed=seed, share=ratio_text(share), drawn_at=now, drawn_by_user_id=actor.user_id, drawn_by=actor.label)
    try:
        async with session.begin_nested():
            session.add(draw)
    except IntegrityError:
        raise Conflict(f"the spot checks of {month} were drawn at the same moment by someone else", zh=f"{month} 的暗访抽查已由他人同时抽取，请刷新页面查看") from None
    picks = draw_spot_checks(month, seed, estates, firms, covered, share)
    session.add_all(
        SpotCheckAssignment(draw_id=draw.id, month=str(month), estate_id=estate_id, organisation_id=firm_id)
        for estate_id, firm_id in picks
    )
    record_change(session, actor, "spot_checks.drawn", "spot_check_draw", draw.id, after={"month": str(month), "seed": seed, "estates": len(picks)})
    await session.flush()
    # Each firm's assignments wait on it: its accounts (and only its) are told how many, never which estates.
    for firm_id, n in sorted(Counter(firm for _, firm in picks).items()):
        await waits(
            session, "spot-checks", f"{month}:{firm_id}", await whose_turn(session, Turn(Role.INSPECTOR, organisation_id=firm_id)),
            f"{period_zh(str(month))}暗访抽查任务：{n} 个区片", f"本月抽中的 {n} 个区片请在 {month.last_day:%Y-%m-%d} 前完成暗访抽查并提交结果。",
            f"/spot-checks?month={month}",
        )
    return draw


async def settle_when_all_filed(session: AsyncSession, month: str, organisation_id: int) -> None:
    """The firm's notice of the month's assignments leaves its list once every assignment has its result."""
    filed = select(col(InspectionRecord.assignment_id)).where(col(InspectionRecord.assignment_id).is_not(None))
    left = (
        await session.execute(
            select(func.count()).where(
                col(SpotCheckAssignment.month) == month, col(SpotCheckAssignment.organisation_id) == organisation_id, col(SpotCheckAssignment.id).not_in(filed)
            )
        )
    ).scalar_one()
    if not left:
        await done(session, "spot-checks", f"{month}:{organisation_id}")


async def assignment_rows(session: AsyncSession, assignments: list[SpotCheckAssignment]) -> list[schemas.AssignmentOut]:
    if not assignments:
        return []
    estates = await registry_queries.estates(session, {a.estate_id for a in assignments})
    filed = dict(
        (
            await session.execute(
                select(col(InspectionRecord.assignment_id), col(InspectionRecord.id)).where(col(InspectionRecord.assignment_id).in_([a.id for a in assignments]))
            )
        ).all()
    )
    rows = []
    for a in assignments:
        estate = estates[a.estate_id]
        rows.append(
            schemas.AssignmentOut(
                id=a.id or 0,
                month=a.month,
                estate_id=a.estate_id,
                estate_code=estate.code,
                estate_name=estate.name,
                address=estate.address,
                street_id=estate.street_id,
                organisation_id=a.organisation_id,
                filed_record_id=filed.get(a.id),
            )
        )
    return rows


async def get_draw(session: AsyncSession, actor: Principal, month: Month) -> schemas.DrawOut:
    require_role(actor, DRAWERS, "reading a spot-check draw")
    draw = (await session.execute(select(SpotCheckDraw).where(col(SpotCheckDraw.month) == str(month)))).scalar()
    if draw is None:
        raise NotFound("spot-check draw of", str(month))
    assignments = list(
        (await session.execute(select(SpotCheckAssignment).where(col(SpotCheckAssignment.draw_id) == draw.id).order_by(col(SpotCheckAssignment.estate_id)))).scalars()
    )
    managed = len(await registry_queries.managed_during(session, month))
    return schemas.DrawOut(
        id=draw.id or 0,
        month=draw.month,
        seed=draw.seed,
        share=ratio_text(stored_ratio(draw.share)),
        drawn_at=draw.drawn_at,
        drawn_by=draw.drawn_by,
        estates_drawn=len(assignments),
        estates_in_management=managed,
        assignments=await assignment_rows(session, assignments),
    )


async def list_assignments(
    session: AsyncSession, actor: Principal, paging: PageRequest, month: Month | None, pending_only: bool
) -> tuple[list[schemas.AssignmentOut], int]:
    """A firm's own assignments; a district administrator's view of all. Nobody else sees them: an assignment is
    secret until its result is filed (and then the record, not the assignment, is what others see)."""
    if actor.role is Role.INSPECTOR and actor.organisation_id is not None:
        query = select(SpotCheckAssignment).where(col(SpotCheckAssignment.organisation_id) == actor.organisation_id)
    elif actor.role is Role.ADMIN:
        query = select(SpotCheckAssignment)
    else:
        raise PermissionDenied("spot-check assignments are secret: only the assigned firm and district administrators see them", zh="暗访抽查任务保密：仅限被分配的机构和区级管理员查看")
    if month is not None:
        query = query.where(col(SpotCheckAssignment.month) == str(month))
    if pending_only:
        query = query.where(col(SpotCheckAssignment.id).not_in(select(col(InspectionRecord.assignment_id)).where(col(InspectionRecord.assignment_id).is_not(None))))
    rows, total = await fetch_page(session, query.order_by(col(SpotCheckAssignment.month).desc(), col(SpotCheckAssignment.estate_id)), paging)
    return await assignment_rows(session, rows), total
