"""Elderly home care in the demo district, loaded through the same use cases as people use: a provider (a social
organisation) under contract in each street, an elderly-care social worker in each community, four elders per
community enrolled two months ago, visits of the two months before this one and of this month so far, the vouchers
redeemed where the minimum was met, the month before last paid through the engine and last month's run drafted."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import SYSTEM, Principal, Role
from foundation.clock import business_today
from foundation.periods import Month
from foundation.sealing import Sealer
from foundation.settings import get_settings
from people import service as people
from people.queries import principal_named
from people.schemas import UserCreate
from registry import queries as registry_queries
from registry import schemas as registry_schemas
from registry import service as registry
from registry.queries import OrganisationKind, Standing
from registry.rules import CREDIT_CODE_ALPHABET, credit_code_check_char
from subsidies.care import rules, schemas, service
from subsidies.care.programme import CODE
from subsidies.engine import service as engine
from subsidies.engine.demo import record_accounts
from subsidies.engine.registry import BatchDocumentMaker
from subsidies.engine.rules import Party

ELDERS_PER_COMMUNITY = 4
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN_F = ["秀英", "桂兰", "玉兰", "淑珍", "凤英", "秀珍", "桂英", "素芬", "玉梅", "淑华"]
GIVEN_M = ["德福", "长顺", "玉山", "振华", "国栋", "宝林", "树林", "永祥", "文忠", "庆祥"]
REPRESENTATIVES = ("王秀英", "李建国", "张淑芬", "刘志强", "陈桂兰", "杨国华")
PROVIDER_WORDS = ["颐康", "乐龄", "福寿", "康乐", "安晟", "慈恩"]
HEPING_DIVISION = "120101"


async def _account(db: AsyncSession, username: str) -> Principal:
    found = await principal_named(db, username)
    if found is None:
        raise LookupError(f"the demo's account {username} is missing: load the district's people first")
    return found


def _id_number(rng: random.Random, birth: date, sex: str) -> str:
    order = rng.randint(0, 49) * 2 + (1 if sex == "M" else 0)
    first17 = f"{HEPING_DIVISION}{birth:%Y%m%d}{rng.randint(0, 9)}{order:02d}"
    return first17 + rules.id_check_char(first17)


def _credit_code(rng: random.Random) -> str:
    body = "52" + HEPING_DIVISION + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    return body + credit_code_check_char(body)


def _elder(rng: random.Random, care: rules.CareRules, community: str, n: int, provider_id: int, starts_on: date) -> schemas.EnrolmentIn:
    sex = rng.choice("FM")
    category = rng.choice(list(care.categories))
    least = care.categories[category].min_age or care.min_age
    birth = date(starts_on.year - rng.randint(least + 1, 94), rng.randint(1, 12), rng.randint(1, 28))
    return schemas.EnrolmentIn(
        name=rng.choice(SURNAMES) + rng.choice(GIVEN_F if sex == "F" else GIVEN_M), sex="F" if sex == "F" else "M", birth_date=birth.isoformat(),
        address=f"{community}{rng.randint(1, 40)}号楼{rng.randint(1, 6)}门{rng.randint(1, 6)}0{rng.randint(1, 4)}室", phone=f"139{rng.randint(10_000_000, 99_999_999)}",
        category=category, id_number=_id_number(rng, birth, sex), provider_id=provider_id, starts_on=starts_on, consent_by="elder" if n % 4 else "guardian", consent_on=starts_on,
    )


def _visits(rng: random.Random, elder_id: int, month: Month, last_day: date, count: int) -> list[schemas.VisitIn]:
    care = service.care_rules()
    days = sorted(rng.sample(range(1, last_day.day + 1), min(count, last_day.day)))
    return [
        schemas.VisitIn(
            client_id=f"demo-{elder_id}-{month}-{day:02d}", elder_id=elder_id, visit_date=date(month.year, month.month, day), minutes=rng.choice([60, 90, 120]),
            service=rng.choice(list(care.services)), confirmed_by=rng.choice(["elder", "family"]),
        )
        for day in days
    ]


async def _log_daily(db: AsyncSession, providers: dict[int, Principal], visits: list[tuple[int, schemas.VisitIn]]) -> None:
    """The visits as the providers' phones send them: each provider's visits of a day, on that day."""
    days: dict[tuple[int, date], list[schemas.VisitIn]] = {}
    for provider_id, visit in visits:
        days.setdefault((provider_id, visit.visit_date), []).append(visit)
    for (provider_id, day), batch in sorted(days.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        await service.log_visits(db, providers[provider_id], batch, today=day)


async def load(db: AsyncSession, rng: random.Random, password_hash: str, make_documents: BatchDocumentMaker | None = None) -> list[tuple[str, str]]:
    """Load the programme's demo data; returns the logins to print. `make_documents` makes the paid batch's
    documents, as finance's issuing does."""
    today = business_today()
    this = Month.of(today)
    months = [this.previous().previous(), this.previous()]
    start = months[0].first_day
    sealer = Sealer(get_settings().resolved_personal_data_key())
    care = service.care_rules()

    async def user(username: str, display: str, role: Role, **scope: int) -> Principal:
        made = await people.create_user(db, SYSTEM, UserCreate(username=username, display_name=display, password="demo-pass-2026", role=role, **scope), password_hash=password_hash)
        return people.principal_of(made)

    streets = await registry_queries.streets(db)
    # The district's own people act as their accounts (their user ids in the audit log, so that the separation of
    # duties sees who did what): `finance` starts and issues the run, `finance2` approves it.
    officers = {s.id: await _account(db, f"{s.code.lower()}-officer") for s in streets}
    admin, finance, reviewer = [await _account(db, name) for name in ("admin", "finance", "finance2")]
    elders: list[tuple[int, Principal]] = []
    for s, word in zip(streets, PROVIDER_WORDS, strict=False):
        org = await registry.create_organisation(
            db, SYSTEM, registry_schemas.OrganisationCreate(
                name=f"天津市和平区{word}居家养老服务中心", kind=OrganisationKind.SOCIAL_ORG, credit_code=_credit_code(rng),
                phone=f"022-2{rng.randint(3000000, 9999999)}", standing=Standing.REGISTERED,
                legal_representative=rng.choice(REPRESENTATIVES), address=f"天津市和平区{s.name}{word}路{rng.randint(1, 120)}号", street_ids=[s.id],
            ),
        )
        await record_accounts(db, [Party("organisation", org.id)])
        provider = await user(f"{s.code.lower()}-care", org.name, Role.SOCIAL_ORG, organisation_id=org.id)
        await service.sign_contract(
            db, officers[s.id], schemas.CareContractIn(number=f"HPYL-{start.year}-{s.code}", provider_id=org.id, street_id=s.id, starts_on=date(start.year, 1, 1), ends_on=date(today.year + 1, 12, 31))
        )
        for community in sorted((await registry_queries.communities(db, street_id=s.id)).values(), key=lambda c: c.code):
            worker = await user(f"{community.code.lower()}-care", f"{community.name}社区老龄社工", Role.CARE_WORKER, community_id=community.id)
            for n in range(ELDERS_PER_COMMUNITY):
                _, elder = await service.enrol(db, worker, sealer, _elder(rng, care, community.name, n, org.id, start), today=start)
                elders.append((elder.id or 0, provider))
    providers = {p.organisation_id or 0: p for _, p in elders}
    for month in months:
        await service.issue_vouchers(db, month)
        shorts = {elder_id for elder_id, _ in elders if rng.random() < 0.1}  # one elder in ten was not served enough that month
        await _log_daily(db, providers, [(p.organisation_id or 0, v) for e, p in elders for v in _visits(rng, e, month, month.last_day, 2 if e in shorts else rng.choice([4, 4, 5]))])
        for provider in providers.values():
            await service.redeem_month(db, provider, month, today=month.last_day)  # the short ones are refused and lapse
    await service.issue_vouchers(db, this)
    await _log_daily(db, providers, [(p.organisation_id or 0, v) for e, p in elders for v in _visits(rng, e, this, today, rng.randint(0, 3))])
    for year in sorted({m.year for m in months}):
        await engine.set_budget(db, admin, CODE, year, "", len(elders) * care.voucher_fen * 12)
    paid = await engine.start_run(db, finance, CODE, str(months[0]))
    for officer in officers.values():
        await engine.approve(db, officer, paid.id or 0, "confirm")
    await engine.approve(db, reviewer, paid.id or 0, "approve")
    batch = await engine.issue_batch(db, finance, paid.id or 0)
    if make_documents is not None:  # as finance's issuing does: the batch's documents are made with it
        await make_documents(db, batch)
    await engine.start_run(db, finance, CODE, str(months[1]))
    return [("xbl-care … xx-care", "居家养老服务机构（社会组织）"), ("xbl01-care", "树德里社区老龄社工")]

