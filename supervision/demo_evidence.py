"""A month of demo evidence for one street, filed through the same use cases people use (patrols with photos of
what failed, the street's inspections, the committees' opinions), then scored: so that `make run` opens on pages
with something in them. Not used by the tests' served systems, which make their own evidence."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from assessment import service as assessment
from assessment.schemas import OpinionIn
from foundation.access import SYSTEM, Principal, Role
from foundation.clock import BUSINESS_TZ, utc_now
from foundation.db import create_session_factory, unit_of_work, writing
from foundation.periods import Month
from foundation.storage import BlobStore
from inspections import defects as rectification
from inspections import service as filing
from inspections.attachments import upload_photo
from inspections.config import current_checklist
from inspections.photos import PhotoLimits
from inspections.rules import Source
from inspections.schemas import FixReportIn, FixReviewIn, ItemResultIn, Location, RecordIn
from inspections.tables import Defect, InspectionRecord
from people.service import principal_of
from people.tables import User
from registry import queries as registry_queries
from registry.queries import EstateInfo

STREET_CODE = "XBL"
SEED = 20261125
PATROL_FAILURE_RATE = 0.02
INSPECTION_FAILURE_RATE = 0.08
# A veto-marked item (an unmanned gate, a blocked fire lane, false records) fails rarely: with the rate of other
# items a street of 55 estates had two dozen automatic vetoes a month; a real district sees a few per street.
VETO_ITEM_FAILURE_RATE = 0.005
# What a patrol or an inspection writes when an item fails, per checklist item: a note always matches its item.
ITEM_NOTES: dict[str, tuple[str, ...]] = {
    "M01": ("收费标准公示牌缺失", "服务标准公示内容已过期"),
    "M02": ("报修电话公示牌损坏看不清", "未公示服务联系方式"),
    "M03": ("巡视台账缺少近三日记录", "保洁台账签字不全"),
    "M04": ("单元门禁损坏未报修", "楼道路灯损坏超过三日未报修"),
    "C01": ("垃圾未及时清运", "垃圾桶满溢未清理"),
    "C02": ("楼梯积灰未清扫", "楼梯有污渍未拖洗"),
    "C03": ("楼道扶手积灰", "扶手有污渍未擦拭"),
    "C04": ("窗台积灰未擦拭", "栏杆锈蚀积灰"),
    "C05": ("楼道灯罩积灰", "楼道玻璃破损积灰"),
    "C06": ("楼道内有小广告", "墙面有乱涂乱画"),
    "C07": ("绿地内有积存垃圾", "楼外道路有杂物堆积"),
    "G01": ("主出入口无人值守", "夜间出入口无人值守"),
    "G02": ("巡视记录少于三次", "当班未记录巡视情况"),
    "G03": ("值守人员脱岗", "值守人员在岗睡觉"),
    "G04": ("消防通道被车辆占用", "消防设施灭火器过期未更换"),
    "P01": ("机动车乱停乱放", "非机动车堵塞通道"),
    "P02": ("楼道内停放电动自行车", "楼道内私拉电线充电"),
    "O01": ("公共部位堆放杂物", "楼顶私搭乱建"),
    "O02": ("未配合社区调解邻里纠纷", "未参加社区综合治理会议"),
    "F01": ("收费票据不规范", "服务费收缴情况未公开"),
}
# What the company writes when it reports the fix, per checklist item (the same rule: a note matches its item).
FIX_NOTES: dict[str, str] = {
    "M01": "已重新制作并张贴收费标准和服务标准公示",
    "M02": "已更换报修电话公示牌",
    "M03": "已补齐巡视、保洁台账并落实签字",
    "M04": "已报修，维修人员已修复损坏设施",
    "C01": "垃圾已清运，垃圾桶周边已清理",
    "C02": "楼梯已清扫拖洗",
    "C03": "楼道扶手已擦拭干净",
    "C04": "栏杆、窗台已擦拭",
    "C05": "楼道灯具、玻璃已擦拭",
    "C06": "小广告已清除，墙面已粉刷",
    "C07": "楼外道路、绿地杂物已清理",
    "G01": "主出入口已安排专人24小时值守",
    "G02": "已补充巡视记录，每班巡视不少于3次",
    "G03": "已对值守人员批评教育并调整排班",
    "G04": "消防通道已清理畅通，消防设施已更换",
    "P01": "已劝导车主有序停放",
    "P02": "楼道内电动自行车已移出，私拉电线已拆除",
    "O01": "公共部位堆物已清理",
    "O02": "已配合社区完成调解",
    "F01": "已规范收费票据并公开收缴情况",
}
# How the companies answer their orders in a month: nearly all fixed in time and verified; a few fixes are sent
# back once (验收退回) and fixed again; the last days' fixes still wait for verification. Overdue orders are the
# exception: one company of the street misses two deadlines (a yellow card), another three (its third opens an
# automatic veto), as in a district month, not hundreds of orders left to lapse.
FIX_REJECTED_RATE = 0.05
UNVERIFIED_DAYS = 2
OVERDUE_PER_COMPANY = (3, 2)
ORDERS_PER_TRANSACTION = 50


@dataclass
class EvidenceReport:
    month: Month
    filed: bool
    patrols: int = 0
    inspections: int = 0
    opinions: int = 0
    defects: int = 0
    fixed: int = 0
    overdue: int = 0
    scores: int = 0


def _photo(rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (rng.randrange(256), rng.randrange(256), rng.randrange(256))).save(buffer, "JPEG")
    return buffer.getvalue()


def _position(at: datetime, estate: EstateInfo) -> Location:
    """Where a phone stood when filing at `estate` at `at`: a spot of 和平区 (about 39.12 N, 117.20 E) per estate, a few
    metres apart from one patrol to the next (its own generator: the demo's figures do not move with it)."""
    rng = random.Random(f"{estate.id}-{at.isoformat()}")
    row, column = divmod(estate.id or 0, 20)
    return Location(latitude=39.105 + 0.0012 * (row % 20) + rng.uniform(-0.0001, 0.0001), longitude=117.185 + 0.0012 * column + rng.uniform(-0.0001, 0.0001))


async def load_demo_month(engine: AsyncEngine, store: BlobStore, month: Month, photo_limits: PhotoLimits) -> EvidenceReport:
    """File `month` of evidence for the demo street 小白楼 (XBL) unless it has some already, then compute its scores."""
    factory = create_session_factory(writing(engine))
    rng = random.Random(SEED + month.month)
    checklist = current_checklist()
    items = list(checklist.items)
    report = EvidenceReport(month=month, filed=True)
    async with factory() as session:
        street = next(s for s in await registry_queries.streets(session) if s.code == STREET_CODE)
        had = (
            await session.execute(
                select(func.count())
                .select_from(InspectionRecord)
                .where(col(InspectionRecord.street_id) == street.id, col(InspectionRecord.business_date) >= month.first_day, col(InspectionRecord.business_date) <= month.last_day)
            )
        ).scalar_one()
        if had:
            return EvidenceReport(month=month, filed=False)
        estates = await registry_queries.managed_during(session, month.last_day, street_id=street.id)
        users = {u.username: u for u in (await session.execute(select(User).where(col(User.active).is_(True)))).scalars()}
        codes = {c.id: c.code.lower() for c in (await registry_queries.communities(session, street_id=street.id)).values()}

    street_worker = principal_of(users[f"{STREET_CODE.lower()}-worker1"])
    officer = principal_of(users[f"{STREET_CODE.lower()}-officer"])

    FILED_AFTER = timedelta(minutes=10)

    async def file(actor: Principal, source: Source, estate: EstateInfo, at: datetime, failure_rate: float, checked: list[str]) -> None:
        async with unit_of_work(factory) as session:
            results = []
            for code in checked:
                if rng.random() < (VETO_ITEM_FAILURE_RATE if checklist.items[code].veto else failure_rate):
                    photo = await upload_photo(session, store, actor, _photo(rng), f"{code}.jpg", at, photo_limits)
                    results.append(ItemResultIn(item=code, passed=False, defects=1, note=rng.choice(ITEM_NOTES[code]), photo_ids=[photo.id or 0]))
                else:
                    results.append(ItemResultIn(item=code, passed=True))
            data = RecordIn(client_id=f"demo-{source.value}-{estate.id}-{at:%Y%m%d}", estate_id=estate.id or 0, inspected_at=at, results=results, location=_position(at, estate))
            # Filed as on the day (a phone with signal): a month filed today would be late evidence awaiting approval.
            await filing.file_record(session, store, actor, source, data, now=at + FILED_AFTER)

    for estate in estates:
        worker = principal_of(users[f"{codes[estate.community_id]}-worker"])
        day = month.first_day
        while day <= month.last_day:
            at = datetime.combine(day, time(9, rng.randrange(60)), tzinfo=BUSINESS_TZ)
            await file(worker, Source.PATROL, estate, at, PATROL_FAILURE_RATE, rng.sample(items, 6))
            report.patrols += 1
            day += timedelta(days=1)
        for inspection_day in (8, 22):
            at = datetime.combine(month.first_day.replace(day=inspection_day), time(14, rng.randrange(60)), tzinfo=BUSINESS_TZ)
            await file(street_worker, Source.STREET_INSPECTION, estate, at, INSPECTION_FAILURE_RATE, items)
            report.inspections += 1
        director = principal_of(users[f"{codes[estate.community_id]}-director"])
        answered = rng.randint(30, 60)
        async with unit_of_work(factory) as session:
            await assessment.give_opinion(
                session, director, OpinionIn(client_id=f"demo-opinion-{estate.id}-{month}", estate_id=estate.id or 0, month=str(month), rating=rng.randint(72, 98), satisfied=answered - rng.randint(0, 8), answered=answered)
            )
        report.opinions += 1
    await _answer_orders(factory, store, photo_limits, rng, month, street.id or 0, users, report)
    async with unit_of_work(factory) as session:
        await rectification.mark_overdue(session, SYSTEM)  # as the hourly job would have: the lapsed orders count
    async with unit_of_work(factory) as session:
        report.scores = (await assessment.compute_month(session, officer, street.id or 0, month, reason="demo month")).estates
    return report


async def _answer_orders(
    factory: async_sessionmaker[AsyncSession], store: BlobStore, photo_limits: PhotoLimits, rng: random.Random, month: Month, street_id: int, users: dict[str, User], report: EvidenceReport
) -> None:
    """The companies answer the month's rectification orders through the same use cases: each fix reported with a
    photo before its deadline and verified by whoever checks it (the community's social worker for a patrol's
    finding, a street worker for the street's), but for the few left to lapse (`OVERDUE_PER_COMPANY`)."""
    async with factory() as session:
        orders = list((await session.execute(select(Defect).where(col(Defect.street_id) == street_id, col(Defect.month) == str(month)).order_by(col(Defect.id)))).scalars())
    report.defects = len(orders)
    companies = {u.company_id: principal_of(u) for u in users.values() if u.role == Role.COMPANY.value and u.company_id is not None}
    workers = {u.community_id: principal_of(u) for u in users.values() if u.role == Role.COMMUNITY_WORKER.value and u.community_id is not None}
    street_worker = principal_of(users[f"{STREET_CODE.lower()}-worker2"])
    now = utc_now()
    # The orders left to lapse: of the companies with the most orders, some whose deadline fell within the month.
    lapsing: set[int] = set()
    by_company: dict[int, list[Defect]] = {}
    for order in orders:
        if order.company_id is not None and order.deadline_at.astimezone(BUSINESS_TZ).date() < month.last_day:
            by_company.setdefault(order.company_id, []).append(order)
    for company_id, n in zip(sorted(by_company, key=lambda c: (-len(by_company[c]), c)), OVERDUE_PER_COMPANY, strict=False):
        lapsing.update(o.id for o in rng.sample(by_company[company_id], min(n, len(by_company[company_id]))))
    last_verified = datetime.combine(month.last_day - timedelta(days=UNVERIFIED_DAYS), time(0), tzinfo=BUSINESS_TZ)
    for start in range(0, len(orders), ORDERS_PER_TRANSACTION):
        async with unit_of_work(factory) as session:
            for order in orders[start : start + ORDERS_PER_TRANSACTION]:
                if order.id in lapsing or order.company_id not in companies:
                    report.overdue += order.id in lapsing
                    continue
                company = companies[order.company_id]
                verifier = street_worker if order.source == Source.STREET_INSPECTION.value else workers[order.community_id]
                # Each step a few hours after the one before, all before the deadline (a safety order's 24 hours too).
                room = (order.deadline_at - order.raised_at) / 6
                steps = [order.raised_at + room * rng.uniform(0.3, 1) * k for k in range(1, 5)]
                if steps[3] >= now:  # loaded on the 1st: the last day's orders are still within their time, not answered yet
                    continue
                rejected = rng.random() < FIX_REJECTED_RATE
                await _report_fix(session, store, photo_limits, rng, company, order, steps[0])
                if rejected:
                    await rectification.review_fix(session, verifier, order.id, FixReviewIn(accepted=False, note="整改不到位，请重新整改"), now=steps[1])
                    await _report_fix(session, store, photo_limits, rng, company, order, steps[2])
                verified_at = steps[3] if rejected else steps[1]
                if verified_at < last_verified:
                    await rectification.review_fix(session, verifier, order.id, FixReviewIn(accepted=True, note="现场复查，已整改到位"), now=verified_at)
                    report.fixed += 1


async def _report_fix(session: AsyncSession, store: BlobStore, photo_limits: PhotoLimits, rng: random.Random, company: Principal, order: Defect, at: datetime) -> None:
    photo = await upload_photo(session, store, company, _photo(rng), f"fix-{order.item_code}.jpg", at, photo_limits)
    await rectification.report_fix(session, company, order.id, FixReportIn(note=FIX_NOTES[order.item_code], photo_ids=[photo.id or 0]), now=at)
