"""Demo relief funds: this year's four funds, and applications of 小白楼街道's communities across the funds and the
levels, filed and reviewed through the same use cases as people use: two approved and paid in a batch, one
approved waiting for the next run, one at each level (the street's past its deadline), one refused, one returned."""

from __future__ import annotations

import io
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from PIL import Image, ImageDraw
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import SYSTEM, Principal, Role
from foundation.clock import business_today
from foundation.periods import Month
from foundation.settings import get_settings
from foundation.storage import open_blob_store
from people.queries import recipients
from registry import queries as registry
from subsidies.engine import service as engine
from subsidies.engine.registry import BatchDocumentMaker
from subsidies.relief import service
from subsidies.relief.rules import APPROVE, CODE, COMMUNITY, DISTRICT, REFUSE, RETURN, STREET
from subsidies.relief.schemas import ApplicationIn

DEMO_STREET = "XBL"
LetterMaker = Callable[[AsyncSession, int], Awaitable[None]]


@dataclass(frozen=True)
class DemoApplication:
    community: int  # its number in the street
    fund: str
    name: str
    household: int
    amount_fen: int
    reason: str
    outcome: str  # paid, approved, district, street, overdue, community, refused, returned


APPLICATIONS = [
    DemoApplication(1, "warmth", "王秀兰", 2, 300_000, "丈夫去年因病去世，本人无固定收入，冬季取暖费和房租难以负担，申请临时生活救助。", "paid"),
    DemoApplication(2, "education", "李建国", 3, 200_000, "女儿今年考入天津职业大学，家庭为低保户，申请入学学费和住宿费资助。", "paid"),
    DemoApplication(1, "medical", "赵凤英", 2, 500_000, "本人患乳腺癌术后化疗，医保报销后自付部分仍超过两万元，申请医疗救助。", "approved"),
    DemoApplication(3, "elderly", "孙德福", 1, 150_000, "独居高龄老人，86 岁，行动不便，申请购置助行器和居家适老化扶手安装费用。", "district"),
    DemoApplication(2, "warmth", "周玉梅", 4, 250_000, "家中两位老人长期卧床，本人下岗在家照顾，家庭人均收入低于低保边缘标准。", "overdue"),
    DemoApplication(3, "medical", "吴志强", 3, 400_000, "儿子患先天性心脏病需二次手术，手术押金缺口较大，申请医疗救助。", "community"),
    DemoApplication(1, "education", "郑丽华", 2, 120_000, "儿子就读高中，申请购买学习用品和校服费用补助。", "refused"),
    DemoApplication(2, "elderly", "陈桂芝", 2, 80_000, "老两口均 80 岁以上，申请冬季慰问及助餐补贴。", "returned"),
]
# Each outcome's verdicts, level by level, with the reasons a reviewer would write.
VERDICTS = {
    "paid": [(COMMUNITY, APPROVE, "已入户核实，情况属实，材料齐全。"), (STREET, APPROVE, "经街道复核符合温暖济困救助条件。"), (DISTRICT, APPROVE, "同意救助。")],
    "approved": [(COMMUNITY, APPROVE, "已入户核实，住院票据齐全。"), (STREET, APPROVE, "符合博爱助医条件，同意上报。"), (DISTRICT, APPROVE, "同意按每案上限救助。")],
    "district": [(COMMUNITY, APPROVE, "已入户核实，老人独居属实。"), (STREET, APPROVE, "符合光彩助老条件，同意上报区民政。")],
    "overdue": [(COMMUNITY, APPROVE, "已入户核实，家庭收入证明齐全。")],
    "community": [],
    "refused": [(COMMUNITY, APPROVE, "材料齐全。"), (STREET, REFUSE, "家庭人均收入高于救助标准，且学习用品不属于阳光助学资助范围。")],
    "returned": [(COMMUNITY, RETURN, "缺少户口簿复印件和收入证明，请补充后重新提交。")],
}


def document_image(title: str, rng: random.Random) -> bytes:
    """A plain picture of a supporting document (a PNG, as a phone would send a photo)."""
    image = Image.new("RGB", (360, 240), (248, 248, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 8, 352, 232), outline=(60, 60, 120), width=2)
    draw.text((24, 24), title, fill=(20, 20, 20))
    for y in range(70, 220, 18):
        draw.line((24, y, 24 + rng.randint(160, 320), y), fill=(190, 190, 190))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def _user(db: AsyncSession, role: Role, username: str, nth: int = 0, **scope: int) -> Principal:
    """The demo user of a role and scope (the `nth` one made), as the use cases see them."""
    users = await recipients(db, role, street_id=scope.get("street_id"), community_id=scope.get("community_id"))
    return Principal(role=role, user_id=users[nth], username=username, street_id=scope.get("street_id"), community_id=scope.get("community_id"))


async def load(db: AsyncSession, rng: random.Random, issue_letter: LetterMaker | None = None, make_documents: BatchDocumentMaker | None = None) -> int:
    """Open this year's funds and file and review the applications above (the community's elderly-care social
    worker files, its director checks); answers how many were filed. `issue_letter` issues each decided
    application's letter, as the pages do; `make_documents` the paid batch's documents, as finance's issuing does."""
    today = business_today()
    await service.open_year(db, SYSTEM, today.year, today)
    street = next(s for s in await registry.streets(db) if s.code == DEMO_STREET)
    communities = sorted((await registry.communities(db, street_id=street.id)).values(), key=lambda c: c.code)
    officer = await _user(db, Role.STREET_OFFICER, f"{DEMO_STREET.lower()}-officer", street_id=street.id)
    admin = await _user(db, Role.ADMIN, "admin")
    finance = await _user(db, Role.FINANCE, "finance")
    reviewer = await _user(db, Role.FINANCE, "finance2", nth=1)  # whoever starts a run does not approve it
    store = open_blob_store(get_settings())
    later: list[tuple[Principal, int, list[tuple[str, str, str]]]] = []
    to_pay = False
    for k, item in enumerate(APPLICATIONS):
        community = communities[item.community - 1]
        filer = await _user(db, Role.CARE_WORKER, f"{community.code.lower()}-care", community_id=community.id)
        director = await _user(db, Role.COMMITTEE_DIRECTOR, f"{community.code.lower()}-director", community_id=community.id)
        document = await service.upload_document(db, store, filer, document_image(f"RELIEF {item.fund.upper()} {k + 1}", rng))
        filed_on = today - timedelta(days=15 if item.outcome == "overdue" else rng.randint(0, 2))
        application, _ = await service.file_application(
            db, filer,
            ApplicationIn(
                client_id=f"demo-relief-{k}", fund=item.fund, applicant_name=item.name, applicant_phone=f"139{rng.randint(10_000_000, 99_999_999)}", household_size=item.household,
                amount_fen=item.amount_fen, reason=item.reason, document_ids=[document.id],
            ),
            today=filed_on,
        )
        reviewers = {COMMUNITY: director, STREET: officer, DISTRICT: admin}
        steps = [(reviewers[level], level, verdict, reason) for level, verdict, reason in VERDICTS[item.outcome]]
        if item.outcome == "approved":  # approved after this month's batch: it waits for the next run
            later.append((admin, application.id, [(level, verdict, reason) for _, level, verdict, reason in steps]))
            steps = steps[:-1]
        for who, level, verdict, reason in steps:
            decided = await service.review(db, who, application.id, level, verdict, reason, today=filed_on if item.outcome == "overdue" else today)
            if issue_letter is not None and decided.state in ("approved", "refused"):
                await issue_letter(db, decided.id)
        to_pay = to_pay or item.outcome == "paid"
    if to_pay:
        run = await engine.start_run(db, finance, CODE, str(Month.of(today)))
        await engine.approve(db, reviewer, run.id, "approve")
        batch = await engine.issue_batch(db, finance, run.id)
        if make_documents is not None:  # as finance's issuing does: the batch's documents are made with it
            await make_documents(db, batch)
    for who, application_id, verdicts in later:
        level, verdict, reason = verdicts[-1]
        decided = await service.review(db, who, application_id, level, verdict, reason, today=today)
        if issue_letter is not None:
            await issue_letter(db, decided.id)
    return len(APPLICATIONS)
