"""The home page's to-do list: what waits on the logged-in person, with how many and by when, most urgent first,
each a link to the page where it is done. Asked of each package through its public queries and services (the
composition root is the one place that may ask them all)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment import queries as assessment_queries
from assessment.jobs import opinion_deadline
from community.calls import service as calls
from community.calls.queries import EVALUATING, OPEN, panel_member, readable_bids
from community.delivery import service as delivery
from community.evaluation import service as evaluation
from community.evaluation.rules import FINAL, MIDTERM
from community.volunteers import service as volunteers
from community.wristbands import service as wristbands
from foundation.access import Principal, Role
from foundation.clock import business_today, utc_now
from foundation.errors import PermissionDenied
from foundation.notifications import Notification
from foundation.paging import PageRequest
from foundation.periods import Month, business_date, period_zh
from inspections import defects, returns, spot_checks
from inspections import late as late_evidence
from inspections import queries as inspection_queries
from registry import queries as registry_queries
from subsidies.property import queries as subsidy_queries

ONE = PageRequest(1, 1)
MANY = PageRequest(1, 500)


@dataclass(frozen=True)
class Task:
    """One line of the to-do list: `count` things called `title` wait at `link`; the first is due on `due`."""

    title: str
    count: int
    link: str
    due: date | None = None
    note: str = ""
    notice: bool = False  # notifications to read: after the things to do
    emergency: bool = False  # a person in danger (an elder lost): before everything, however late the rest is

    def overdue(self, today: date) -> bool:
        return self.due is not None and self.due < today


def most_urgent_first(tasks: list[Task], today: date) -> list[Task]:
    """Emergencies first, then what is overdue, then by the nearest deadline, then what has no deadline by how many
    wait, then notifications to read; nothing empty."""
    waiting = [t for t in tasks if t.count > 0]
    return sorted(waiting, key=lambda t: (not t.emergency, t.notice, t.due is None, t.due or today, -t.count))


async def _patrol_today(db: AsyncSession, me: Principal, today: date) -> Task:
    estates = await registry_queries.managed_during(db, today, community_id=me.community_id)
    patrolled = await inspection_queries.patrol_days(db, today, today, community_id=me.community_id)
    left = sum(1 for e in estates if not patrolled.get(e.id))
    return Task("今日巡查：未巡查的区片", left, "/patrol", today, f"共 {len(estates)} 个区片")


async def _fixes_to_verify(db: AsyncSession, me: Principal) -> Task:
    rows, total = await defects.list_defects(db, me, ONE, state="fix_reported")
    return Task("整改待验收", total, "/defects?state=fix_reported", business_date(rows[0].deadline_at) if rows else None)


async def _returned_records(db: AsyncSession, me: Principal) -> Task:
    rows, total = await returns.list_returns(db, me, MANY, waiting=True)
    link = f"/records/{rows[0].record_id}" if total == 1 else "/patrol"
    return Task("被退回待更正的记录", total, link, None, f"最早于 {min(r.returned_at for r in rows).date()} 退回" if rows else "")


async def _vetoes(db: AsyncSession, me: Principal) -> Task:
    rows, total = await assessment_queries.list_vetoes(db, me, MANY, month=None, state="pending")
    return Task("一票否决待审核", total, "/assessment/vetoes", min((v.review_due_on for v in rows), default=None))


async def _appeals(db: AsyncSession, me: Principal) -> Task:
    _, total = await assessment_queries.list_appeals(db, me, ONE, month=None, state="pending")
    return Task("申诉待答复", total, "/assessment/appeals")


async def _late_records(db: AsyncSession, me: Principal) -> Task:
    _, total = await late_evidence.list_late_records(db, me, ONE, pending=True)
    return Task("补报记录待审批", total, "/assessment#late-records")


async def _month_to_lock(db: AsyncSession, me: Principal, month: Month) -> Task:
    if me.street_id is None:
        return Task("月度考核待锁定", 0, "/assessment")
    state = await assessment_queries.month_out(db, me, me.street_id, month)
    if state.state == "computed":
        note = "已公布" + (f"，申诉期至 {state.appeal_until}" if state.appeal_until else "")
        return Task(f"{period_zh(str(month))}考核待锁定", 1, f"/assessment?month={month}", None, note)
    if state.state == "open":
        opens = opinion_deadline(month)
        return Task(f"{period_zh(str(month))}考核待计算", 1, f"/assessment?month={month}", None, f"社区意见 {opens.month}月{opens.day}日截止后可计算并公布")
    return Task("月度考核待锁定", 0, "/assessment")


async def _runs_to_confirm(db: AsyncSession, me: Principal) -> Task:
    runs, _ = await subsidy_queries.list_runs(db, me, PageRequest(1, 20))
    waiting = [r for r in runs if r.state == "draft"]
    mine = []
    for run in waiting:
        shown = await subsidy_queries.run_out(db, me, run)
        if any(s.street_id == me.street_id and s.confirmed_at is None for s in shown.streets):
            mine.append(run.id)
    return Task("补贴核算待街道确认", len(mine), f"/subsidies/runs/{mine[0]}" if mine else "/subsidies/runs")


async def _runs_for_finance(db: AsyncSession, me: Principal) -> list[Task]:
    runs, _ = await subsidy_queries.list_runs(db, me, PageRequest(1, 20))
    confirmed = [r.id for r in runs if r.state == "confirmed"]
    approved = [r.id for r in runs if r.state == "approved"]
    return [
        Task("补贴核算待审批", len(confirmed), f"/subsidies/runs/{confirmed[0]}" if confirmed else "/subsidies/runs", None, "各街道已确认"),
        Task("已审批、待生成拨付批次", len(approved), f"/subsidies/runs/{approved[0]}" if approved else "/subsidies/runs"),
    ]


async def _opinions_due(db: AsyncSession, me: Principal, today: date) -> Task:
    # Last month's opinions until their deadline (the 5th working day), then this month's.
    month = Month.of(today).previous()
    if today > opinion_deadline(month):
        month = Month.of(today)
    estates = await registry_queries.managed_during(db, min(month.last_day, today), community_id=me.community_id)
    given, _ = await assessment_queries.list_opinions(db, me, MANY, month=month, estate_id=None)
    done = {o.estate_id for o in given}
    left = [e for e in estates if e.id not in done]
    link = f"/committee/estates/{left[0].id}?month={month}" if len(left) == 1 else f"/committee?month={month}"
    return Task(f"{period_zh(str(month))}社区意见待填写", len(left), link, opinion_deadline(month), f"共 {len(estates)} 个区片")


async def _delegations_to_answer(db: AsyncSession, me: Principal) -> Task:
    pending = [d for d in await delivery.delegations_for(db, me) if d.status == "pending"]
    return Task("项目委托待答复", len(pending), "/community/delivery/desk", min((d.due_on for d in pending), default=None))


async def _orders_to_fix(db: AsyncSession, me: Principal) -> Task:
    rows, total = await defects.list_defects(db, me, ONE, state="open")
    return Task("整改单待整改", total, "/defects?state=open", business_date(rows[0].deadline_at) if rows else None)


async def _spot_checks(db: AsyncSession, me: Principal) -> Task:
    rows, total = await spot_checks.list_assignments(db, me, MANY, None, True)
    due = min((Month.parse(a.month).last_day for a in rows), default=None)
    return Task("抽查任务待提交结果", total, "/spot-checks", due)


async def _calls_to_bid(db: AsyncSession, me: Principal) -> Task:
    now = utc_now()
    open_calls = [c for c in await calls.list_calls(db, me, status=OPEN) if c.bid_deadline > now]
    waiting = []
    for call in open_calls:  # those the organisation has not bid in yet
        if not [b for b in await readable_bids(db, me, call, now) if b.organisation_id == me.organisation_id]:
            waiting.append(call)
    link = f"/community/calls/{waiting[0].id}" if len(waiting) == 1 else "/community/calls"
    return Task("可投标的公益项目", len(waiting), link, min((business_date(c.bid_deadline) for c in waiting), default=None), "尚未投标")


async def _panels_to_score(db: AsyncSession, me: Principal) -> Task:
    waiting = []
    for call in await calls.list_calls(db, me, status=EVALUATING):
        member = await panel_member(db, me, call.id or 0)
        if member is not None and member.signed_at is None:
            waiting.append(call.id)
    return Task("评审待完成（申报利益冲突、评分、签字）", len(waiting), f"/community/panel/{waiting[0]}" if len(waiting) == 1 else "/community/calls")


async def _evaluations_due(db: AsyncSession, me: Principal, today: date) -> Task:
    """An evaluation firm's evaluator: the mid-term of each assigned project not yet evaluated, and its final once
    the final's window has opened."""
    due: list[tuple[date, int]] = []
    try:
        projects = await evaluation.projects(db, me)
    except PermissionDenied:  # an expert of a panel, not a firm's evaluator: no evaluations wait on them
        projects = []
    for project in projects:
        stages = {e.stage for e in project.evaluations}
        if MIDTERM not in stages:
            due.append((project.midterm_due_on, project.contract_id))
        elif FINAL not in stages and today >= project.final_opens_on:
            due.append((project.ends_on, project.contract_id))
    due.sort()
    link = f"/community/evaluation/contracts/{due[0][1]}" if len(due) == 1 else "/community/evaluation"
    return Task("项目评估待完成", len(due), link, due[0][0] if due else None)


async def _alerts(db: AsyncSession, me: Principal) -> Task:
    raised = await wristbands.alerts_of(db, community_id=me.community_id, open_only=True)
    return Task("腕带求助待处理", len(raised), f"/wristbands/alerts/{raised[0].id}" if len(raised) == 1 else "/wristbands", business_today() if raised else None, "老人走失求助，请立即处理", emergency=True)


async def _hours_to_approve(db: AsyncSession, me: Principal) -> Task:
    if me.role is Role.VOLUNTEER and not await volunteers.leads_a_team(db, me):
        return Task("志愿时长待审核", 0, "/volunteers/approvals")
    queue = await volunteers.approval_queue(db, me)
    return Task("志愿时长待审核", len(queue), "/volunteers/approvals", min((h.due_on for h in queue), default=None))


async def _volunteer_needs(db: AsyncSession, me: Principal, today: date) -> list[Task]:
    volunteer = await volunteers.own_volunteer(db, me)
    mine = await volunteers.signed_up_need_ids(db, volunteer.id)
    coming = await volunteers.needs_of(db, me, from_day=today)
    signed = [n for n in coming if n.id in mine]
    short = [n for n in coming if n.id not in mine and n.taken < n.wanted]
    return [
        Task("我报名的志愿服务", len(signed), "/volunteer", min((n.held_on for n in signed), default=None), f"下一场：{signed[0].title}" if signed else ""),
        Task("还缺人的志愿需求", len(short), "/volunteer", min((n.held_on for n in short), default=None), "可报名"),
    ]


async def _unread(db: AsyncSession, me: Principal) -> Task:
    count = (await db.execute(select(func.count()).where(col(Notification.user_id) == me.user_id, col(Notification.read_at).is_(None)))).scalar_one()
    return Task("未读通知", int(count), "/notifications", notice=True)


async def tasks_of(db: AsyncSession, me: Principal) -> list[Task]:
    """What waits on `me`, most urgent first (empty when nothing does)."""
    today = business_today()
    last_month = Month.of(today).previous()
    tasks: list[Task] = []
    match me.role:
        case Role.COMMUNITY_WORKER:
            tasks += [await _patrol_today(db, me, today), await _fixes_to_verify(db, me), await _returned_records(db, me)]
        case Role.STREET_WORKER:
            tasks += [await _fixes_to_verify(db, me), await _returned_records(db, me)]
        case Role.STREET_OFFICER:
            tasks += [
                await _vetoes(db, me), await _appeals(db, me), await _late_records(db, me),
                await _month_to_lock(db, me, last_month), await _runs_to_confirm(db, me),
            ]
        case Role.COMMITTEE_DIRECTOR:
            tasks += [await _opinions_due(db, me, today), await _delegations_to_answer(db, me)]
        case Role.COMPANY:
            tasks += [await _orders_to_fix(db, me)]
        case Role.FINANCE:
            tasks += await _runs_for_finance(db, me)
        case Role.INSPECTOR:
            tasks += [await _spot_checks(db, me), await _fixes_to_verify(db, me)]
        case Role.ADMIN:
            tasks += [await _late_records(db, me), await _spot_checks(db, me)]
        case Role.SOCIAL_ORG:
            tasks += [await _calls_to_bid(db, me)]
        case Role.PANEL_MEMBER:
            tasks += [await _panels_to_score(db, me), await _evaluations_due(db, me, today)]
        case Role.CARE_WORKER:
            tasks += [await _alerts(db, me), await _hours_to_approve(db, me)]
        case Role.VOLUNTEER:
            tasks += [*await _volunteer_needs(db, me, today), await _hours_to_approve(db, me)]
    tasks.append(await _unread(db, me))
    return most_urgent_first(tasks, today)
