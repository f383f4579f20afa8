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
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from assessment import service as assessment
from assessment.schemas import OpinionIn
from foundation.access import Principal
from foundation.clock import BUSINESS_TZ
from foundation.db import create_session_factory, unit_of_work, writing
from foundation.periods import Month
from foundation.storage import BlobStore
from inspections import service as filing
from inspections.attachments import upload_photo
from inspections.config import current_checklist
from inspections.photos import PhotoLimits
from inspections.rules import Source
from inspections.schemas import ItemResultIn, Location, RecordIn
from inspections.tables import InspectionRecord
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
VETO_ITEM_FAILURE_RATE = 0.008
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
    "G01": ("主出入口无人值守", "夜间门岗无人在岗"),
    "G02": ("巡视记录少于三次", "当班未记录巡视情况"),
    "G03": ("值守人员脱岗", "值守人员在岗睡觉"),
    "G04": ("消防通道被车辆占用", "灭火器过期未更换"),
    "P01": ("机动车乱停乱放", "非机动车堵塞通道"),
    "P02": ("楼道内停放电动自行车", "楼道内私拉电线充电"),
    "O01": ("公共部位堆放杂物", "楼顶私搭乱建"),
    "O02": ("未配合社区调解邻里纠纷", "未参加社区综合治理会议"),
    "F01": ("收费票据不规范", "服务费收缴情况未公开"),
}


@dataclass
class EvidenceReport:
    month: Month
    filed: bool
    patrols: int = 0
    inspections: int = 0
    opinions: int = 0
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
    async with unit_of_work(factory) as session:
        report.scores = (await assessment.compute_month(session, officer, street.id or 0, month, reason="demo month")).estates
    return report
