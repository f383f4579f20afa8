"""Demo calls on the district's figures, made through the same use cases as the API: 24 social organisations (the
2016 venture round had 24 organisations and 100 projects for 3,000,000 yuan; this year's round is a tenth of it,
10 projects for 300,000 yuan), a pool of outside experts, and one call of each method — a venture round awarded and
contracted, a street's competitive negotiation awarded and contracted, and a public tender that failed with two
bids, was repeated, and whose award is in its publicity now with one objection answered."""

from __future__ import annotations

import base64
import io
import random
from datetime import UTC, datetime, timedelta

from reportlab.pdfgen import canvas
from sqlalchemy.ext.asyncio import AsyncSession

from community.calls import schemas, service
from community.calls.queries import call_row, readable_bids
from foundation.access import SYSTEM, Principal, Role
from foundation.clock import utc_now
from foundation.settings import get_settings
from foundation.storage import open_blob_store
from people import queries as people_queries
from people import service as people
from people.credentials import hash_password
from people.schemas import ApiKeyCreate, UserCreate
from registry import queries as registry_queries
from registry import service as registry
from registry.queries import OrganisationKind, Standing
from registry.rules import CREDIT_CODE_ALPHABET, credit_code_check_char
from registry.schemas import OrganisationCreate, StaffIn
from reports.pdf import FONT, register_font
from subsidies.engine.demo import record_accounts
from subsidies.engine.rules import Party

PASSWORD = "demo-pass-2026"
ORGANISATION_WORDS = [
    "和馨", "益众", "同心", "阳光", "启明", "乐龄", "春晖", "善行", "共享", "仁爱", "睦邻", "童心",
    "彩虹", "安康", "暖心", "绿荫", "博爱", "向日葵", "海河", "聚力", "友邻", "乐群", "恒爱", "悦心",
]
SURNAMES = "王李张刘陈杨赵黄周吴孙马朱胡郭何"
GIVEN = ["建华", "淑芬", "志刚", "丽娟", "海涛", "文静", "晓明", "玉兰", "国栋", "春燕", "立伟", "雪梅"]
CRITERIA = [("需求契合", 15), ("项目设计", 20), ("执行能力与产出", 25), ("预期成效", 20), ("受益人满意", 10), ("财务合规", 10)]
VENTURE_PROJECTS = [
    ("独居老人探访关爱", "养老"), ("残障青年就业赋能", "助残"), ("四点半课堂", "青少年"), ("困境家庭帮扶", "帮困"),
    ("社区邻里文化节", "文体"), ("楼道环境共治", "环境"), ("邻里纠纷调解室", "矛盾调解"), ("老年智能手机课堂", "养老"),
    ("失独家庭心理支持", "帮困"), ("社区垃圾分类督导", "环境"),
]


def _credit_code(rng: random.Random) -> str:
    body = "52" + "120101" + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))  # 52: a social organisation
    return body + credit_code_check_char(body)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)



def _plan_pdf(lines: list[str]) -> bytes:
    """A bid's plan as the one-page PDF an organisation would attach (uploads are judged by content: it must open)."""
    register_font(get_settings().pdf_font_path)
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, invariant=True)
    sheet.setFont(FONT, 14)
    for n, line in enumerate(lines):
        sheet.drawString(72, 760 - 28 * n, line)
    sheet.save()
    return buffer.getvalue()

async def _must(db: AsyncSession, username: str) -> Principal:
    found = await people_queries.principal_named(db, username)
    if found is None:
        raise LookupError(f"demo user {username} is missing")
    return found


async def load(db: AsyncSession, rng: random.Random) -> list[tuple[str, str]]:
    """Load the demo's organisations, experts and calls; answers the logins to print."""
    password_hash = hash_password(PASSWORD)
    store = open_blob_store(get_settings())
    streets = await registry_queries.streets(db)
    organisations: list[Principal] = []
    shared_representative = _person(rng)
    for n, word in enumerate(ORGANISATION_WORDS, start=1):
        filed = n > 20
        name = f"和平区{word}社区社会组织服务队" if filed else f"天津市和平区{word}社会工作服务中心"
        served = [s.id for s in streets] if n <= 8 else [s.id for s in rng.sample(streets, rng.randint(1, 3))]
        representative = shared_representative if n in (5, 6) else _person(rng)  # two organisations with one legal representative
        organisation = await registry.create_organisation(
            db, SYSTEM,
            OrganisationCreate(
                name=name, kind=OrganisationKind.SOCIAL_ORG, credit_code=_credit_code(rng), phone=f"022-2{rng.randint(3000000, 9999999)}",
                standing=Standing.FILED if filed else Standing.REGISTERED, legal_representative=representative,
                address=f"天津市和平区{rng.choice(['南京路', '贵州路', '营口道', '西康路', '成都道'])}{rng.randint(1, 300)}号",
                street_ids=served, staff=[StaffIn(name=_person(rng), position=p) for p in ("主任", "项目主管", "社工")][: 2 + n % 2],
            ),
        )
        await record_accounts(db, [Party("organisation", organisation.id)])
        user = await people.create_user(
            db, SYSTEM, UserCreate(username=f"org{n:02d}", display_name=name, password=PASSWORD, role=Role.SOCIAL_ORG, organisation_id=organisation.id),
            password_hash=password_hash,
        )
        organisations.append(people.principal_of(user))
    await people.issue_api_key(db, SYSTEM, ApiKeyCreate(organisation_id=organisations[0].organisation_id or 0, label="demo key"))
    pool = await registry.create_organisation(
        db, SYSTEM, OrganisationCreate(name="和平区公益项目评审专家库", kind=OrganisationKind.EVALUATION_FIRM, credit_code=_credit_code(rng))
    )
    experts = [
        people.principal_of(
            await people.create_user(
                db, SYSTEM, UserCreate(username=f"expert{k}", display_name=f"评审专家{k}", password=PASSWORD, role=Role.PANEL_MEMBER, organisation_id=pool.id),
                password_hash=password_hash,
            )
        )
        for k in range(1, 8)
    ]
    admin = await _must(db, "admin")
    officer = await _must(db, "xbl-officer")
    officials = [await _must(db, u) for u in ("xbl-worker1", "xbl-worker2", "ns-worker1")]
    now = utc_now()

    async def run(call_id: int, panel: list[Principal], buyer: Principal, bidders: dict[int, list[Principal]], opened: datetime, deadline: datetime) -> None:
        """Bids before the deadline; then the panel declares, scores and signs; the evaluation closes."""
        for lot, lot_bidders in bidders.items():
            budget = lot_budgets[call_id][lot]
            for organisation in lot_bidders:
                info = await registry_queries.organisation(db, organisation.organisation_id)
                document = _plan_pdf([f"{info.name if info else organisation.username} 项目方案（第{lot}包）", "一、项目目标", "二、服务内容与活动安排", "三、进度安排", "四、预期成效及评估方式"])
                await service.submit_bid(
                    db, organisation, store, call_id,
                    schemas.BidIn(
                        client_id=f"demo-{call_id}-{lot}-{organisation.username}", lot_number=lot,
                        plan="项目目标、服务内容、活动安排与进度、预期成效及评估方式（详见附件）。", team="项目主管1名、持证社工2名、志愿者若干",
                        amount_fen=budget - rng.randint(0, budget // 10) // 100 * 100, documents=[schemas.DocumentIn(name="项目方案.pdf", content=base64.b64encode(document).decode())],
                    ),
                    opened + timedelta(days=1, hours=rng.randint(0, 48)),
                )
        await service.assign_panel(db, buyer, call_id, schemas.PanelIn(user_ids=[m.user_id or 0 for m in panel]))
        await service.close_bidding(db, buyer, call_id, deadline + timedelta(hours=1))
        moment = deadline + timedelta(days=1)
        for member in panel:
            await service.declare(db, member, call_id, schemas.DeclarationIn(), moment)
            call = await call_row(db, call_id)
            for bid in await readable_bids(db, member, call, moment):
                points = [schemas.CriterionPoints(criterion_number=i, points=max(0, weight - rng.randint(0, weight // 3))) for i, (_, weight) in enumerate(CRITERIA, 1)]
                await service.score_bid(db, member, bid.id, schemas.ScoreIn(points=points), moment)
            await service.sign_off(db, member, call_id, moment)

    lot_budgets: dict[int, dict[int, int]] = {}

    # 1. The venture round (公益创投): ten projects of 30,000 yuan, district-wide.
    opened = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    deadline = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
    venture = await service.open_call(
        db, admin,
        schemas.CallCreate(
            title="2026年和平区社区公益创投大赛", category=schemas.Category.OTHER, method=schemas.Method.VENTURE, bid_deadline=deadline,
            description="面向登记和备案的社会组织，资助回应居民需求的社区公益项目。",
            lots=[schemas.LotIn(title=title, budget_fen=3_000_000) for title, _ in VENTURE_PROJECTS],
            criteria=[schemas.CriterionIn(name=n, weight=w) for n, w in CRITERIA],
        ),
        opened,
    )
    lot_budgets[venture.id] = {i: 3_000_000 for i in range(1, len(VENTURE_PROJECTS) + 1)}
    await run(venture.id, experts[:3] + officials[:2], admin, {lot: rng.sample(organisations, rng.randint(2, 3)) for lot in lot_budgets[venture.id]}, opened, deadline)
    evaluated = deadline + timedelta(days=2)
    for award in await service.close_evaluation(db, admin, venture.id, evaluated):
        await service.confirm_award(db, admin, award.id, award.publicity_ends_at + timedelta(hours=1))
        signed = (award.publicity_ends_at + timedelta(days=2)).date()
        await service.sign_contract(db, admin, award.id, schemas.CallContractIn(signed_on=signed, starts_on=signed, ends_on=signed.replace(year=signed.year + 1)), award.publicity_ends_at + timedelta(days=2))

    # 2. A street's competitive negotiation (竞争性谈判): meals for elders, 400,000 yuan, three invited.
    opened = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    deadline = datetime(2026, 6, 8, 9, 0, tzinfo=UTC)
    invited = organisations[:3]
    negotiation = await service.open_call(
        db, officer,
        schemas.CallCreate(
            title="小白楼街道居家养老助餐服务", category=schemas.Category.ELDERLY, method=schemas.Method.NEGOTIATION, bid_deadline=deadline,
            description="为辖区高龄、独居老人提供助餐及送餐服务。", lots=[schemas.LotIn(title="助餐服务", budget_fen=40_000_000)],
            criteria=[schemas.CriterionIn(name=n, weight=w) for n, w in CRITERIA], invited_organisation_ids=[o.organisation_id or 0 for o in invited],
        ),
        opened,
    )
    lot_budgets[negotiation.id] = {1: 40_000_000}
    await run(negotiation.id, experts[3:6] + officials[:2], officer, {1: invited}, opened, deadline)
    for award in await service.close_evaluation(db, officer, negotiation.id, deadline + timedelta(days=2)):
        await service.confirm_award(db, officer, award.id, award.publicity_ends_at + timedelta(hours=1))
        signed = (award.publicity_ends_at + timedelta(days=3)).date()
        await service.sign_contract(db, officer, award.id, schemas.CallContractIn(signed_on=signed, starts_on=signed, ends_on=signed + timedelta(days=364)), award.publicity_ends_at + timedelta(days=3))

    # 3. A public tender (公开招标): mediation services, 1,200,000 yuan; two bids, failed; repeated with four.
    opened = now - timedelta(days=70)
    deadline = now - timedelta(days=45)
    tender_data = schemas.CallCreate(
        title="和平区社区矛盾纠纷调解服务项目", category=schemas.Category.MEDIATION, method=schemas.Method.TENDER, bid_deadline=deadline,
        description="在全区各社区设立调解工作室，开展矛盾纠纷排查化解。", lots=[schemas.LotIn(title="调解服务", budget_fen=120_000_000)],
        criteria=[schemas.CriterionIn(name=n, weight=w) for n, w in CRITERIA],
    )
    failed = await service.open_call(db, admin, tender_data, opened)
    lot_budgets[failed.id] = {1: 120_000_000}
    for bidder in organisations[3:5]:
        await service.submit_bid(
            db, bidder, store, failed.id,
            schemas.BidIn(client_id=f"demo-{failed.id}-{bidder.username}", lot_number=1, plan="调解服务方案（详见附件）。", team="专职调解员3名", amount_fen=115_000_000),
            opened + timedelta(days=3),
        )
    await service.close_bidding(db, admin, failed.id, deadline + timedelta(hours=1))
    repeated_opened = deadline + timedelta(days=2)
    repeated_deadline = repeated_opened + timedelta(days=21)
    repeated = await service.repeat_call(db, admin, failed.id, schemas.RepeatIn(bid_deadline=repeated_deadline), repeated_opened)
    lot_budgets[repeated.id] = {1: 120_000_000}
    tender_bidders = organisations[3:7]  # organisations 5 and 6 share a legal representative: a signal for the panel
    await run(repeated.id, experts[:5] + officials[:2], admin, {1: tender_bidders}, repeated_opened, repeated_deadline)
    published = now - timedelta(days=1)
    awards = await service.close_evaluation(db, admin, repeated.id, published)
    losers = [o for o in tender_bidders if o.organisation_id != awards[0].organisation_id]
    objection = await service.object_to_award(db, losers[0], awards[0].id, schemas.ObjectionIn(text="我机构认为中标人的团队资质证明不完整，请复核。"), published + timedelta(hours=5))
    await service.answer_objection(
        db, admin, objection.id, schemas.ObjectionAnswerIn(answer="经复核，中标人已提交全部资质证明，质疑不成立。", upheld=False), published + timedelta(hours=20)
    )
    return [("org01 … org24", "社会组织"), ("expert1 … expert7", "评审专家")]
