"""Demo delivery continuing the calls' demo: the street's meal service (its negotiation's contract) delegated to
树德里 (accepted, a team led by its elderly-care social worker), to 长春道 to assist (declined with a reason) and then
to a third community (waiting for its director's answer); a street-run neighbourhood festival delegated to 树德里; a
few residents served (with consent) and a dozen activities counted against the indicators."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from community.calls import queries as calls_queries
from community.calls.schemas import Category
from community.delivery import schemas, service
from community.delivery.schemas import ConsentBy, Kind, Measure
from foundation.access import SYSTEM, Principal
from foundation.clock import BUSINESS_TZ, utc_now
from people import queries as people_queries
from people import service as people
from people.schemas import UserUpdate
from registry import queries as registry_queries

PLACES = ["社区活动室", "居民楼下", "社区食堂", "党群服务中心", "老年日间照料站"]
RESIDENTS = ["王桂兰", "李秀英", "张玉珍", "刘淑华", "陈凤芝"]


async def _must(db: AsyncSession, username: str) -> Principal:
    found = await people_queries.principal_named(db, username)
    if found is None:
        raise LookupError(f"demo user {username} is missing")
    return found


async def load(db: AsyncSession, rng: random.Random) -> list[tuple[str, str]]:
    """Load the demo's delegations, teams, residents and activities; answers the logins to print."""
    streets = {s.code: s for s in await registry_queries.streets(db)}
    communities = sorted((await registry_queries.communities(db, street_id=streets["XBL"].id)).values(), key=lambda c: c.code)
    first, second, third = communities[0], communities[1], communities[2]
    for community in (first, third):  # their elderly-care social workers' specialism, and a general one in the first
        care = await _must(db, f"{community.code.lower()}-care")
        await people.update_user(db, SYSTEM, care.user_id or 0, UserUpdate(specialism="老龄社工"))
    worker = await _must(db, f"{first.code.lower()}-worker")
    await people.update_user(db, SYSTEM, worker.user_id or 0, UserUpdate(specialism="综合社工"))
    officer = await _must(db, "xbl-officer")
    directors = {c.id: await _must(db, f"{c.code.lower()}-director") for c in (first, second, third)}
    now = utc_now()
    meals = next(c for c in await calls_queries.contract_summaries(db) if c.street_id == streets["XBL"].id)
    project = await service.create_project(
        db, officer,
        schemas.ProjectIn(
            contract_id=meals.id, target_group=Category.ELDERLY,
            indicators=[schemas.IndicatorIn(name="助餐送餐服务", measure=Measure.ATTENDANCES, target=600), schemas.IndicatorIn(name="营养健康讲座", measure=Measure.SESSIONS, target=12)],
        ),
        now - timedelta(days=40),
    )
    executing = await service.delegate(db, officer, project.id, schemas.DelegationIn(community_id=first.id, kind=Kind.EXECUTE), now - timedelta(days=40))
    await service.answer(db, directors[first.id], executing.id, schemas.AnswerIn(accept=True), now - timedelta(days=39))
    assisting = await service.delegate(db, officer, project.id, schemas.DelegationIn(community_id=second.id, kind=Kind.ASSIST), now - timedelta(days=40))
    await service.answer(
        db, directors[second.id], assisting.id, schemas.AnswerIn(accept=False, reason="本社区工作站社工正承担人口普查入户工作，暂无力量协助。"), now - timedelta(days=38)
    )
    await service.delegate(db, officer, project.id, schemas.DelegationIn(community_id=third.id, kind=Kind.ASSIST), now - timedelta(days=1))
    care = await _must(db, f"{first.code.lower()}-care")
    team = schemas.TeamIn(members=[schemas.MemberIn(user_id=care.user_id or 0, lead=True), schemas.MemberIn(user_id=worker.user_id or 0)])
    await service.set_team(db, directors[first.id], executing.id, team, now - timedelta(days=39))
    today = now.astimezone(BUSINESS_TZ).date()
    residents = [
        await service.record_beneficiary(db, care, executing.id, schemas.BeneficiaryIn(name=name, consent=True, consent_by=ConsentBy.SELF, consent_on=today - timedelta(days=35)), now - timedelta(days=35))
        for name in RESIDENTS
    ]
    for n in range(10):
        held = today - timedelta(days=34 - 3 * n)
        named = n % 3 == 0
        await service.log_activity(
            db, care if n % 2 else worker,
            schemas.ActivityIn(
                client_id=f"demo-activity-{executing.id}-{n:02d}", delegation_id=executing.id, indicator_number=2 if n % 4 == 3 else 1, held_on=held,
                place=rng.choice(PLACES), head_count=None if named else rng.randint(18, 45),
                beneficiary_ids=[r.id for r in residents[: rng.randint(3, 5)]] if named else [],
            ),
            now - timedelta(days=34 - 3 * n),
        )
    festival = await service.create_project(
        db, officer,
        schemas.ProjectIn(
            title="小白楼街道邻里文化节", target_group=Category.CULTURE, starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=60),
            indicators=[schemas.IndicatorIn(name="文化活动", measure=Measure.SESSIONS, target=6), schemas.IndicatorIn(name="参与居民", measure=Measure.ATTENDANCES, target=400)],
        ),
        now - timedelta(days=30),
    )
    own = await service.delegate(db, officer, festival.id, schemas.DelegationIn(community_id=first.id, kind=Kind.EXECUTE), now - timedelta(days=30))
    await service.answer(db, directors[first.id], own.id, schemas.AnswerIn(accept=True), now - timedelta(days=29))
    await service.set_team(db, directors[first.id], own.id, schemas.TeamIn(members=[schemas.MemberIn(user_id=worker.user_id or 0, lead=True)]), now - timedelta(days=29))
    for n in range(2):
        await service.log_activity(
            db, worker,
            schemas.ActivityIn(
                client_id=f"demo-activity-{own.id}-{n:02d}", delegation_id=own.id, indicator_number=1, held_on=today - timedelta(days=20 - 10 * n),
                place="社区文化广场", head_count=rng.randint(60, 120),
            ),
            now - timedelta(days=20 - 10 * n),
        )
    # The district's own contracts (the venture round): registered and delegated to 树德里 to carry out, accepted; its
    # committee collects their beneficiaries' surveys.
    admin = await _must(db, "admin")
    for contract in await service.unregistered_contracts(db, admin):
        if contract.street_id is not None:
            continue
        district = await service.create_project(
            db, admin,
            schemas.ProjectIn(
                contract_id=contract.id, target_group=Category(contract.category),
                indicators=[schemas.IndicatorIn(name="服务场次", measure=Measure.SESSIONS, target=24), schemas.IndicatorIn(name="服务人次", measure=Measure.ATTENDANCES, target=800)],
            ),
            now - timedelta(days=38),
        )
        delegated = await service.delegate(db, admin, district.id, schemas.DelegationIn(community_id=first.id, kind=Kind.EXECUTE), now - timedelta(days=38))
        await service.answer(db, directors[first.id], delegated.id, schemas.AnswerIn(accept=True), now - timedelta(days=37))
    return [(f"{third.code.lower()}-director", f"{third.name}社区居委会主任（待答复的项目委托）")]
