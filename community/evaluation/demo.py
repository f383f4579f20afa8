"""Demo evaluation, made through the same use cases as the API: a third-party evaluation firm with one evaluator
and an API key, assigned by the district to every contract, six beneficiary surveys of the street's elderly-meal contract entered by 树德里's committee, its
mid-term evaluation passed by the firm; every contract's first tranche (due at signing) and that contract's second
paid by finance through the money engine, each batch with its documents."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from community.calls import queries as calls_queries
from community.calls.programme import CODE as TRANCHES
from community.calls.programme import tranche_key
from community.evaluation import schemas, service
from foundation.access import SYSTEM, Principal, Role
from foundation.clock import BUSINESS_TZ, utc_now
from foundation.periods import Month
from foundation.settings import get_settings
from foundation.storage import open_blob_store
from people import queries as people_queries
from people import service as people
from people.credentials import hash_password
from people.schemas import ApiKeyCreate, UserCreate
from registry import service as registry
from registry.queries import OrganisationKind
from registry.rules import CREDIT_CODE_ALPHABET, credit_code_check_char
from registry.schemas import OrganisationCreate
from reports.programme_documents import issue_programme_batch_documents
from subsidies.engine import queries as engine_queries

PASSWORD = "demo-pass-2026"
FIRM = "天津市和平区社会组织评估中心"
SCORES = {"needs_fit": 82, "design": 78, "delivery": 80, "outcomes": 75, "finance": 88}
EVIDENCE = {
    "needs_fit": "走访助餐点2处，查阅需求调研报告，服务对象为辖区高龄、独居老人，与需求清单一致。",
    "design": "服务方案、排班表与送餐路线齐全，应急预案已备案。",
    "delivery": "累计助餐 6,240 人次、送餐 1,180 人次，完成年度指标的 52%。",
    "outcomes": "抽查 20 户，老人用餐规律性明显改善；子女反馈良好。",
    "finance": "首笔拨款使用台账与票据相符，无超范围支出。",
}


def _credit_code(rng: random.Random) -> str:
    body = "52" + "120101" + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    return body + credit_code_check_char(body)


async def _must(db: AsyncSession, username: str) -> Principal:
    found = await people_queries.principal_named(db, username)
    if found is None:
        raise LookupError(f"demo user {username} is missing")
    return found


async def load(db: AsyncSession, rng: random.Random, api_keys: dict[str, str]) -> list[tuple[str, str]]:
    """Load the firm, the surveys, the mid-term and the second tranche; answers the logins to print and adds the
    firm's key to `api_keys`."""
    firm = await registry.create_organisation(
        db, SYSTEM,
        OrganisationCreate(
            name=FIRM, kind=OrganisationKind.EVALUATION_FIRM, credit_code=_credit_code(rng), phone=f"022-2{rng.randint(3000000, 9999999)}",
            legal_representative=rng.choice("王李张刘陈杨") + rng.choice(["志远", "秀英", "国强"]), address=f"天津市和平区大沽北路{rng.randint(1, 300)}号",
        ),
    )
    evaluator = people.principal_of(
        await people.create_user(
            db, SYSTEM, UserCreate(username="evaluator1", display_name=f"{FIRM}评估员", password=PASSWORD, role=Role.PANEL_MEMBER, organisation_id=firm.id),
            password_hash=hash_password(PASSWORD),
        )
    )
    key, _ = await people.issue_api_key(db, SYSTEM, ApiKeyCreate(organisation_id=firm.id, label="demo key"))
    api_keys[FIRM] = key
    now = utc_now()
    admin = await _must(db, "admin")
    for signed in await calls_queries.contracts(db):  # the district assigns its one firm to every contract
        await service.assign_firm(db, admin, signed.id, schemas.FirmAssignmentIn(firm_id=firm.id), now)
    store = open_blob_store(get_settings())
    finance = await _must(db, "finance")
    for signed in await calls_queries.contracts(db):  # each first tranche (due at signing) paid as finance would
        first = next((t for t in signed.tranches if t.number == 1 and t.payable_on is not None), None)
        if first is None or first.payable_on is None or tranche_key(signed.id, 1) in await engine_queries.paid(db, TRANCHES, [tranche_key(signed.id, 1)]):
            continue
        await service.draft_tranche_run(db, str(Month.of(first.payable_on)))
        await issue_programme_batch_documents(db, store, await service.pay_tranche(db, finance, signed.id, 1))
    street_contracts = [c for c in await calls_queries.contracts(db) if c.street_id is not None]
    if not street_contracts:
        return [("evaluator1", "第三方评估机构评估员")]
    contract = street_contracts[0]
    today = now.astimezone(BUSINESS_TZ).date()
    director = await _must(db, "xbl01-director")
    span = max(1, (today - contract.starts_on).days)
    for n in range(6):
        answers = [rng.choice((4, 5, 5)) for _ in range(3)]
        await service.record_survey(
            db, director, contract.id,
            schemas.SurveyIn(
                client_id=f"demo-survey-{contract.id}-{n}", channel=schemas.Channel.PAPER if n % 2 else schemas.Channel.PHONE,
                collected_on=contract.starts_on + timedelta(days=min(span, 30 + 20 * n)), overall=answers[0], attitude=answers[1], effect=answers[2],
            ),
            now,
        )
    scores = [schemas.CriterionScoreIn(criterion=code, points=points, evidence=EVIDENCE[code]) for code, points in SCORES.items()]
    await service.file_evaluation(
        db, evaluator, store, contract.id,
        schemas.EvaluationIn(stage=schemas.Stage.MIDTERM, scores=scores, summary="项目按计划推进，服务对象满意度高，中期评估合格，建议拨付第二笔资金。"), now,
    )
    batch = await service.pay_tranche(db, finance, contract.id, 2)
    await issue_programme_batch_documents(db, store, batch)
    return [("evaluator1", "第三方评估机构评估员")]
