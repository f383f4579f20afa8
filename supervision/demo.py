"""The demo district (config/RULES.md, "The demo district"; Heping District, Tianjin): 6 streets, 64 communities, 323 estates adding up to
exactly 3,844,400 m², companies, completed votes, signed contracts and one user per role and scope.

Everything is loaded through the same use cases as the API, in one transaction: all of it or nothing.
Names other than the streets and the three named communities are generated."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from community.calls import demo as calls_demo
from community.delivery import demo as delivery_demo
from community.evaluation import demo as evaluation_demo
from community.needs import demo as needs_demo
from community.volunteers import demo as volunteers_demo
from community.wristbands import demo as wristbands_demo
from complaints import demo as complaints_demo
from foundation.access import SYSTEM, Principal, Role
from foundation.db import create_session_factory, unit_of_work
from people import service as people
from people.credentials import hash_password
from people.schemas import ApiKeyCreate, UserCreate
from registry import contracts, schemas, service, voting
from registry import queries as registry_queries
from registry.queries import ManagementMode, OrganisationKind
from registry.rules import CREDIT_CODE_ALPHABET, credit_code_check_char
from reports.programme_documents import batch_documents_to_default_store
from reports.relief_letters import letters_to_default_store
from subsidies.activity import demo as activity_demo
from subsidies.care import demo as care_demo
from subsidies.engine.demo import record_accounts
from subsidies.engine.rules import Party
from subsidies.relief import demo as relief_demo
from supervision.publishers import subscribe_all as subscribe_publishers

DEMO_PASSWORD = "demo-pass-2026"
SEED = 20261125
TOTAL_AREA_CENTI_M2 = 384_440_000  # 3,844,400 m²
ESTATE_COUNT = 323
HEPING_DIVISION = "120101"  # administrative division code of Heping District, Tianjin

STREETS: list[tuple[str, str, list[str]]] = [
    ("NS", "南市", ["慎益大街", "福安", "庆有西里", "清和大街", "荣业大街", "兴华", "新文化", "南市花园", "景福里", "永安道", "东兴里"]),
    ("QYC", "劝业场", ["新津", "滨江道", "花园路", "山西路", "宁夏路", "保定道", "锦州道", "汉阳道", "张自忠路", "哈密道", "辽宁路"]),
    ("NYM", "南营门", ["新疆路", "万全道", "西康路", "长沙路", "成都道", "昆明路", "南海路", "贵阳路", "重庆道北", "衡阳路", "云南路"]),
    ("XBL", "小白楼", ["树德里", "长春道", "开封道", "泰安道", "建设路", "曲阜道", "宝鸡道", "承德道", "徐州道", "南京路", "大沽路"]),
    ("WDD", "五大道", ["睦南道", "马场道", "大理道", "常德道", "重庆道", "成都道南", "河北路", "湖南路", "香港路", "桂林路"]),
    ("XX", "新兴", ["朝阳里", "新兴里", "安善里", "万德庄", "岳阳道", "南京路西", "西宁道", "彰德道", "四平道", "沙市道"]),
]
COMPANY_WORDS = [
    "安居", "和泰", "津城", "宏达", "顺安", "鑫隆", "万和", "金城", "嘉禾", "华庭", "恒信", "瑞丰",
    "丰泽", "德润", "康宁", "永泰", "仁和", "兴业", "昌盛", "海河", "佳园", "惠民", "祥和", "同心",
]
INSPECTION_FIRMS = ["天津公信第三方评估有限公司", "天津诚鉴物业咨询服务有限公司", "天津民安社会评价事务所有限公司"]
CHINESE_NUMBERS = "一二三四五六七八九十"


@dataclass
class DemoReport:
    loaded: bool
    api_keys: dict[str, str] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)


def _credit_code(rng: random.Random, kind_prefix: str) -> str:
    body = kind_prefix + HEPING_DIVISION + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    return body + credit_code_check_char(body)


def _split_area(rng: random.Random, parts: int, total: int) -> list[int]:
    """`parts` plausible estate areas (2,000-30,000 m²) adding up to exactly `total` (0.01 m²)."""
    weights = [rng.uniform(0.3, 2.2) for _ in range(parts)]
    scale = total / sum(weights)
    areas = [int(w * scale) for w in weights]
    areas[-1] += total - sum(areas)
    return areas


def _ballots(rng: random.Random, eligible: int, turnout: float, winner: int, others: list[int], winner_share: float) -> list[schemas.BallotIn]:
    cast = int(eligible * turnout)
    for_winner = int(cast * winner_share)
    choices: list[int | None] = [winner] * for_winner
    for _ in range(cast - for_winner):
        choices.append(rng.choice([*others, None]))
    rng.shuffle(choices)
    return [schemas.BallotIn(household=f"{i // 24 + 1}-{i % 24 // 6 + 1}-{i % 6 + 101}", company_id=c) for i, c in enumerate(choices)]


async def _run_vote(
    db: AsyncSession,
    director: Principal,
    community_id: int,
    title: str,
    estate_ids: list[int],
    candidates: list[int],
    opens_on: date,
    ballots: list[schemas.BallotIn] | None,
) -> int:
    vote = await voting.open_vote(
        db,
        director,
        schemas.VoteCreate(
            community_id=community_id,
            title=title,
            estate_ids=estate_ids,
            candidate_company_ids=candidates,
            opens_on=opens_on,
            closes_on=opens_on + timedelta(days=14),
        ),
    )
    given = ballots or []
    for start in range(0, len(given), 5000):
        await voting.record_ballots(db, director, vote.id, schemas.BallotsIn(ballots=given[start : start + 5000]))
    await voting.close_vote(db, director, vote.id)
    return vote.id


SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN_NAMES = (
    "丽", "伟", "芳", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚",
    "建华", "玉梅", "志刚", "海燕", "文博", "晓东", "春梅", "国栋", "丽娜", "宏伟", "淑珍",
)


def person_names() -> Iterator[str]:
    """Plausible, distinct Chinese names for the demo's users (620 of them), drawing nothing from the demo's random
    numbers so that the rest of the demo stays as it was."""
    for i in range(len(SURNAMES) * len(GIVEN_NAMES)):
        surname = i % len(SURNAMES)
        yield SURNAMES[surname] + GIVEN_NAMES[(i // len(SURNAMES) + 7 * surname) % len(GIVEN_NAMES)]


async def _load(db: AsyncSession) -> DemoReport:
    rng = random.Random(SEED)
    report = DemoReport(loaded=True)
    password_hash = hash_password(DEMO_PASSWORD)
    names = iter(person_names())  # each demo user a person's name; pages add the post ('王丽（小白楼街道办）')

    async def user(username: str, display: str, role: Role, **scope: int) -> Principal:
        created = await people.create_user(
            db,
            SYSTEM,
            UserCreate(username=username, display_name=display, password=DEMO_PASSWORD, role=role, **scope),
            password_hash=password_hash,
        )
        return people.principal_of(created)

    await user("admin", next(names), Role.ADMIN)
    await user("finance", next(names), Role.FINANCE)
    await user("finance2", next(names), Role.FINANCE)  # approves what `finance` computed (separation of duties)
    report.logins += [("admin", "区级管理员"), ("finance", "区财政"), ("finance2", "区财政（复核）")]

    company_ids = []
    for n, word in enumerate(COMPANY_WORDS, start=1):
        company = await service.create_company(
            db,
            SYSTEM,
            schemas.CompanyCreate(
                name=f"天津市{word}物业服务有限公司",
                credit_code=_credit_code(rng, "91"),
                legal_representative=rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(["建国", "志强", "秀英", "海燕", "立新", "红梅", "国庆", "文杰"]),
                phone=f"022-2{rng.randint(3000000, 9999999)}",
                address=f"天津市和平区{rng.choice(['南京路', '贵州路', '营口道', '西康路'])}{rng.randint(1, 300)}号",
                # The payee's account (made up, drawing nothing from rng so that the rest of the demo stays as it was).
                bank_name=("中国工商银行天津和平支行", "中国建设银行天津南京路支行", "中国银行天津和平支行", "天津银行和平支行")[n % 4],
                bank_account=f"0302 0011 {n:04d} {1000 + 37 * n:04d} 123",
            ),
        )
        company_ids.append(company.id)
        await user(f"company{n:02d}", next(names), Role.COMPANY, company_id=company.id)
    report.logins.append(("company01 … company24", "物业企业"))

    for n, name in enumerate(INSPECTION_FIRMS, start=1):
        firm = await service.create_organisation(
            db, SYSTEM, schemas.OrganisationCreate(name=name, kind=OrganisationKind.INSPECTION_FIRM, credit_code=_credit_code(rng, "91"))
        )
        await user(f"inspector{n}", next(names), Role.INSPECTOR, organisation_id=firm.id)
        key, _ = await people.issue_api_key(db, SYSTEM, ApiKeyCreate(organisation_id=firm.id, label="demo key"))
        report.api_keys[name] = key
    report.logins.append(("inspector1 … inspector3", "第三方机构"))

    communities_total = sum(len(names) for _, _, names in STREETS)
    estates_per_community = [ESTATE_COUNT // communities_total] * communities_total
    for i in range(ESTATE_COUNT - sum(estates_per_community)):
        estates_per_community[i * 7 % communities_total] += 1
    areas = iter(_split_area(rng, ESTATE_COUNT, TOTAL_AREA_CENTI_M2))

    index = 0
    for street_code, street_name, community_names in STREETS:
        street = await service.create_street(db, SYSTEM, schemas.StreetCreate(code=street_code, name=street_name))
        await user(f"{street_code.lower()}-officer", next(names), Role.STREET_OFFICER, street_id=street.id)
        for k in (1, 2):
            await user(f"{street_code.lower()}-worker{k}", next(names), Role.STREET_WORKER, street_id=street.id)
        for c_no, community_name in enumerate(community_names, start=1):
            code = f"{street_code}{c_no:02d}"
            community = await service.create_community(
                db,
                SYSTEM,
                schemas.CommunityCreate(code=code, name=community_name, street_id=street.id, households=rng.randint(1800, 2300)),
            )
            cid: int = community.id
            await user(f"{code.lower()}-worker", next(names), Role.COMMUNITY_WORKER, community_id=cid)
            director = await user(f"{code.lower()}-director", next(names), Role.COMMITTEE_DIRECTOR, community_id=cid)
            if community_name in ("树德里", "长春道", "朝阳里"):
                report.logins.append((f"{code.lower()}-worker / {code.lower()}-director", f"{community_name}社区物业社工 / 居委会主任"))
            estate_ids = []
            eligible = 0
            for e_no in range(1, estates_per_community[index] + 1):
                area = next(areas)
                estate = await service.create_estate(
                    db,
                    SYSTEM,
                    schemas.EstateCreate(
                        code=f"HP-{code}-{e_no}",
                        name=f"{community_name}{CHINESE_NUMBERS[e_no - 1]}片旧楼区",
                        address=f"天津市和平区{community_name}{rng.randint(1, 99)}号至{rng.randint(100, 199)}号",
                        community_id=cid,
                        floor_area_centi_m2=area,
                        households=max(20, area // 6800),
                        buildings=max(1, area // 400_000),
                        management_mode=ManagementMode.COMPANY,
                        entered_on=date(2018, 1, 1) + timedelta(days=rng.randint(0, 5 * 365)),
                    ),
                )
                estate_ids.append(estate.id)
                eligible += estate.households
            index += 1
            candidates = rng.sample(company_ids, 3)
            opens_on = date(2025, 10, 1) + timedelta(days=rng.randint(0, 40))
            if community_name == "朝阳里":
                # History worth seeing: a first vote that failed its quorum, then a valid second one.
                await _run_vote(
                    db, director, cid, f"{community_name}社区物业服务企业选聘（第一次）", estate_ids, candidates,
                    opens_on - timedelta(days=60), _ballots(rng, eligible, 0.55, candidates[0], candidates[1:], 0.6),
                )
            vote_id = await _run_vote(
                db, director, cid, f"{community_name}社区物业服务企业选聘", estate_ids, candidates,
                opens_on, _ballots(rng, eligible, rng.uniform(0.70, 0.92), candidates[0], candidates[1:], rng.uniform(0.55, 0.8)),
            )
            await contracts.sign_contract(
                db,
                director,
                schemas.ContractCreate(
                    vote_id=vote_id,
                    contract_number=f"HPWY-2025-{code}",
                    signed_on=opens_on + timedelta(days=21),
                    starts_on=date(2026, 1, 1),
                    ends_on=date(2028, 12, 31),
                ),
            )
    await needs_demo.load(db, rng)
    batch_documents = batch_documents_to_default_store()
    # The streets' and communities' accounts that activity and relief funds are paid into (the providers' and the
    # social organisations' are recorded as their demos register them).
    await record_accounts(db, [Party("street", s.id) for s in await registry_queries.streets(db)] + [Party("community", c) for c in await registry_queries.communities(db)])
    await activity_demo.load(db, rng, batch_documents)
    report.logins += await calls_demo.load(db, rng)
    report.logins += await care_demo.load(db, rng, password_hash, batch_documents)
    report.logins += await volunteers_demo.load(db, rng, password_hash)
    report.logins += await delivery_demo.load(db, rng)
    report.logins += await evaluation_demo.load(db, rng, report.api_keys)  # after delivery: surveys come from delegated committees
    await relief_demo.load(db, rng, letters_to_default_store(), batch_documents)
    await wristbands_demo.load(db, rng)
    await complaints_demo.load(db, rng)
    return report


async def load_demo(engine: AsyncEngine) -> DemoReport:
    """Load the demo district unless it is there already; all or nothing (one unit of work)."""
    subscribe_publishers()
    async with unit_of_work(create_session_factory(engine)) as db:
        if any(s.code == STREETS[0][0] for s in await registry_queries.streets(db)):
            return DemoReport(loaded=False)
        return await _load(db)
