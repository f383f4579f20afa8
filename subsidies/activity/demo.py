"""Demo activity funds: this year's funds of every community and street, and claims of 小白楼街道 (its communities and
the street itself) filed, decided and paid through the same use cases as people use: purposes that match their
amounts and receipts, some approved and paid in a batch, one refused, some waiting (two past their deadline)."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import date, timedelta

from PIL import Image, ImageDraw
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import SYSTEM, Principal, Role
from foundation.clock import business_today
from foundation.periods import Month
from foundation.settings import get_settings
from foundation.storage import open_blob_store
from people.queries import recipients
from registry import queries as registry
from subsidies.activity import service
from subsidies.activity.rules import CODE
from subsidies.activity.schemas import ClaimIn
from subsidies.engine import service as engine
from subsidies.engine.registry import BatchDocumentMaker

DEMO_STREET = "XBL"


@dataclass(frozen=True)
class DemoClaim:
    purpose: str
    description: str
    amount_fen: int
    outcome: str  # paid, approved, refused, waiting, overdue


# (community number in the street, or 0 for the street itself) → its claims; amounts fit their purposes.
CLAIMS: dict[int, list[DemoClaim]] = {
    1: [
        DemoClaim("节日慰问", "重阳节慰问社区高龄老人，购买食用油和大米各 60 份", 1_086_000, "paid"),
        DemoClaim("文体活动", "居民广场舞比赛音响租赁及奖品（保温杯 30 个）", 428_050, "paid"),
        DemoClaim("办公用品", "打印纸 10 箱、硒鼓 2 个", 186_000, "approved"),
        DemoClaim("志愿服务", "志愿者服务队红马甲 50 件、帽子 50 顶", 237_500, "overdue"),
    ],
    2: [
        DemoClaim("宣传教育", "垃圾分类宣传展板 12 块及折页 2000 份印制", 356_000, "paid"),
        DemoClaim("会议培训", "楼门长培训会场地及资料印制", 88_000, "refused"),
        DemoClaim("文体活动", "迎新春书法写春联活动宣纸、笔墨", 64_800, "waiting"),
    ],
    3: [
        DemoClaim("节日慰问", "端午节慰问困难家庭，购买粽子礼盒 45 份", 405_000, "approved"),
    ],
    0: [
        DemoClaim("会议培训", "全街道社区工作者业务培训（两天）教材与场地", 1_250_000, "paid"),
        DemoClaim("文体活动", "街道社区运动会器材与奖牌", 1_680_000, "overdue"),
    ],
}


def receipt_image(invoice: str, amount_fen: int, rng: random.Random) -> bytes:
    """A plain picture of a receipt (a PNG, as a phone would send a photo): the invoice number and amount on it."""
    image = Image.new("RGB", (480, 320), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 470, 310), outline=(160, 40, 40), width=3)
    draw.text((30, 30), "INVOICE / FAPIAO", fill=(160, 40, 40))
    draw.text((30, 70), f"No. {invoice}", fill=(20, 20, 20))
    draw.text((30, 110), f"Total: CNY {amount_fen // 100}.{amount_fen % 100:02d}", fill=(20, 20, 20))
    for y in range(150, 290, 20):
        draw.line((30, y, 30 + rng.randint(200, 420), y), fill=(200, 200, 200))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def _principal(db: AsyncSession, role: Role, username: str, street_id: int | None = None, community_id: int | None = None, nth: int = 0) -> Principal:
    """The demo user of a role and scope (the `nth` one made), as the use cases see them."""
    users = await recipients(db, role, street_id=street_id, community_id=community_id)
    return Principal(role=role, user_id=users[nth], username=username, street_id=street_id, community_id=community_id)


async def load(db: AsyncSession, rng: random.Random, make_documents: BatchDocumentMaker | None = None) -> int:
    """Open this year's funds and file the claims above; answers how many claims were filed. `make_documents` makes
    the paid batch's documents, as finance's issuing does."""
    today = business_today()
    await service.open_year(db, SYSTEM, today.year, today)
    street = next(s for s in await registry.streets(db) if s.code == DEMO_STREET)
    communities = sorted((await registry.communities(db, street_id=street.id)).values(), key=lambda c: c.code)
    officer = await _principal(db, Role.STREET_OFFICER, f"{DEMO_STREET.lower()}-officer", street_id=street.id)
    finance = await _principal(db, Role.FINANCE, "finance")
    reviewer = await _principal(db, Role.FINANCE, "finance2", nth=1)  # nobody approves a run they started
    store = open_blob_store(get_settings())
    first_day = date(today.year, 1, 1)
    filed = 0
    to_pay = False
    later: list[tuple[Principal, int]] = []
    for number, claims in CLAIMS.items():
        claimant = officer if number == 0 else await _principal(db, Role.COMMITTEE_DIRECTOR, f"{communities[number - 1].code.lower()}-director", community_id=communities[number - 1].id)
        approver = finance if number == 0 else officer
        for k, item in enumerate(claims):
            # Spent some days ago (within this year); an overdue claim was filed long enough ago to be past its deadline.
            filed_on = max(first_day, today - timedelta(days=20 if item.outcome == "overdue" else rng.randint(0, 3)))
            spent_on = max(first_day, filed_on - timedelta(days=rng.randint(1, 10)))
            invoice = f"{today.year % 100:02d}12{rng.randint(10**13, 10**14 - 1)}"
            receipt = await service.upload_receipt(db, store, claimant, receipt_image(invoice, item.amount_fen, rng))
            claim, _ = await service.file_claim(
                db, claimant,
                ClaimIn(client_id=f"demo-activity-{number}-{k}", spent_on=spent_on, purpose=item.purpose, description=item.description, amount_fen=item.amount_fen, invoice_number=invoice, receipt_id=receipt.id),
                today=filed_on,
            )
            filed += 1
            if item.outcome == "paid":
                await service.decide_claim(db, approver, claim.id, True, None)
                to_pay = True
            elif item.outcome == "approved":
                later.append((approver, claim.id))
            elif item.outcome == "refused":
                await service.decide_claim(db, approver, claim.id, False, "培训资料已由区里统一印发，场地使用社区活动室，不另行报销")
    # The paid ones: this month's run, approved and issued by finance (the engine's batch); the claims approved after
    # it wait for the next run, as approved claims do.
    if to_pay:
        run = await engine.start_run(db, finance, CODE, str(Month.of(today)))
        await engine.approve(db, reviewer, run.id, "approve")
        batch = await engine.issue_batch(db, finance, run.id)
        if make_documents is not None:  # as finance's issuing does: the batch's documents are made with it
            await make_documents(db, batch)
    for approver, claim_id in later:
        await service.decide_claim(db, approver, claim_id, True, None)
    return filed
