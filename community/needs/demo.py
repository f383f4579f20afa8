"""Demo data of the needs pipeline: a year (December 2025 to November 2026) of residents' needs, their two meetings
and proposals in five communities of three streets (五大道, 新兴, 南营门), the streets' answers (taken up, merged, returned, forwarded,
one still waiting and one overdue) and the published 2026 catalogue. Everything goes through the use cases, at the
moments it would have happened."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from community.needs import catalogue as catalogue_service
from community.needs import schemas, service
from community.needs.rules import Answer, MeetingBody
from foundation.access import Principal, Role
from foundation.clock import BUSINESS_TZ
from people.queries import recipients
from registry import queries as registry_queries


@dataclass(frozen=True)
class DemoNeed:
    community: str  # community code
    title: str
    category: str
    source: str
    description: str
    raised_on: date
    answer: Answer | None  # None: the street has not answered yet
    reason: str = ""
    households: int = 30
    merge_with: str = ""  # the title of the need whose proposal this one merges into
    passes_assembly_first_time: bool = True
    stage: str = "proposed"  # how far it got: deliberated, approved or proposed


NEEDS = [
    DemoNeed("WDD01", "独居老人助餐服务", "养老", "楼门长", "3号楼至9号楼独居老人 40 余户，子女不在身边，午餐常凑合，希望社区设助餐点并为行动不便的老人送餐上门。", date(2025, 12, 3), Answer.FORWARD, "全区多个社区提出同类需求，建议由区级统一购买助餐服务", households=43),
    DemoNeed("WDD01", "四点半课堂", "青少年", "会议", "双职工家庭孩子放学后无人看护，希望利用社区活动室开设课后托管和作业辅导，每周一至周五。", date(2025, 12, 10), Answer.INCLUDE, households=35),
    DemoNeed("WDD02", "放学后托管与作业辅导", "青少年", "网格员", "马场道沿线小学生家长反映放学后无人接送看护，希望与睦南道社区合办课后托管。", date(2025, 12, 16), Answer.MERGE, merge_with="四点半课堂", households=28),
    DemoNeed("WDD02", "楼道堆物清理与绿化认养", "环境", "走访", "老楼楼道堆放杂物影响消防通道，居民愿意认养楼前绿地，需要专业机构组织志愿者定期清理。", date(2026, 1, 8), Answer.RETURN, "请补充涉及楼栋和物业企业已承担的清理范围，避免与物业服务重复", passes_assembly_first_time=False, households=120),
    DemoNeed("XX01", "邻里纠纷调解工作室", "矛盾调解", "来信", "噪音、漏水引发的邻里矛盾增多，居民来信希望有专业调解员定期坐班，调解室设在社区服务站。", date(2026, 1, 12), Answer.INCLUDE, households=60),
    DemoNeed("XX01", "困难家庭冬季帮扶", "帮困", "走访", "低保和低收入家庭 26 户冬季取暖和生活用品困难，希望引入社会组织开展一对一帮扶。", date(2026, 2, 2), Answer.FORWARD, "与区级帮困项目统筹", households=26),
    DemoNeed("XX02", "老年合唱与健身活动", "文体", "楼门长", "社区老年文体队伍 3 支，缺少指导老师和活动安排，希望每周组织两次合唱和健身操活动。", date(2026, 2, 20), Answer.INCLUDE, households=80),
    DemoNeed("NYM01", "残疾人居家康复训练", "助残", "网格员", "辖区持证残疾人 18 户需要居家康复指导，希望康复师每月上门两次并培训家属。", date(2026, 4, 9), Answer.INCLUDE, households=18),
    DemoNeed("NYM01", "老年人防诈骗宣传", "其他", "会议", "近期多名老人接到诈骗电话，希望开展防诈骗讲座和入户提醒。", date(2026, 6, 15), Answer.INCLUDE, households=150),
    DemoNeed("WDD01", "失能老人喘息服务", "养老", "走访", "照护失能老人的家属长期无法休息，希望每月提供两天的临时照护服务。", date(2026, 9, 22), Answer.INCLUDE, households=14),
    DemoNeed("XX02", "楼前小广场照明改善", "环境", "来信", "小广场夜间照明不足，老人晚间锻炼不便，希望增设照明并组织居民共同维护。", date(2026, 9, 28), None, households=210),
    DemoNeed("WDD02", "青少年暑期公益实践", "青少年", "楼门长", "希望暑期组织中学生参与社区志愿服务和公益实践。", date(2026, 10, 20), None, households=45),
    DemoNeed("NYM01", "助老志愿者结对", "养老", "网格员", "高龄老人希望有固定志愿者每周探访聊天，目前登记 12 户。", date(2026, 11, 10), None, households=12, stage="deliberated"),
]


def _at(day: date, hour: int = 15) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BUSINESS_TZ)


async def _principal(db: AsyncSession, role: Role, username: str, *, street_id: int | None = None, community_id: int | None = None) -> Principal:
    users = await recipients(db, role, street_id=street_id, community_id=community_id)
    return Principal(role=role, user_id=users[0] if users else None, username=username, street_id=street_id, community_id=community_id)


async def load(db: AsyncSession, rng: random.Random) -> int:
    """Load the year; returns the number of needs recorded."""
    communities = {c.code: c for c in (await registry_queries.communities(db)).values()}
    streets = {s.id: s for s in await registry_queries.streets(db)}
    admin = await _principal(db, Role.ADMIN, "admin")
    proposals: dict[str, int] = {}
    for n, demo in enumerate(NEEDS, start=1):
        community = communities[demo.community]
        code = demo.community.lower()
        director = await _principal(db, Role.COMMITTEE_DIRECTOR, f"{code}-director", street_id=None, community_id=community.id)
        street = streets[community.street_id]
        officer = await _principal(db, Role.STREET_OFFICER, f"{street.code.lower()}-officer", street_id=street.id)
        need = (
            await service.record_need(
                db, director,
                schemas.NeedIn(client_id=f"demo-need-{n:03d}", title=demo.title, category=demo.category, households=demo.households, source=demo.source, raised_on=demo.raised_on, description=demo.description),
                now=_at(demo.raised_on, 10),
            )
        ).row
        need_id = need.id
        members = rng.randint(9, 15)
        deliberated_on = demo.raised_on + timedelta(days=rng.randint(7, 12))
        present = members - rng.randint(0, 3)
        await service.record_meeting(
            db, director,
            schemas.MeetingIn(
                client_id=f"demo-deliberation-{n:03d}", body=MeetingBody.DELIBERATION, held_on=deliberated_on, place=f"{community.name}社区议事厅",
                members=members, present=present,
                minutes=f"议题：{demo.title}。{demo.source}反映：{demo.description}与会委员讨论了服务对象、场地和可能的承接方式，同意提交居民代表大会表决。",
                votes=[schemas.VoteIn(need_id=need_id, in_favour=present - 1, against=1, abstained=0)],
            ),
            now=_at(deliberated_on, 17),
        )
        if demo.stage == "deliberated":
            continue  # waiting for the next residents' assembly
        assembly_members = rng.randint(31, 45)
        assembly_on = deliberated_on + timedelta(days=rng.randint(10, 16))
        if not demo.passes_assembly_first_time:
            present = assembly_members // 2 + 4
            await service.record_meeting(
                db, director,
                schemas.MeetingIn(
                    client_id=f"demo-assembly-{n:03d}-first", body=MeetingBody.ASSEMBLY, held_on=assembly_on, place=f"{community.name}社区活动中心",
                    members=assembly_members, present=present,
                    minutes=f"表决“{demo.title}”：部分代表认为清理范围与物业服务重叠，赞成票未过半数，请居委会与物业企业核实后再议。",
                    votes=[schemas.VoteIn(need_id=need_id, in_favour=present // 2 - 1, against=present // 2 - 2, abstained=3)],
                ),
                now=_at(assembly_on, 19),
            )
            assembly_on += timedelta(days=21)
        present = assembly_members - rng.randint(2, 8)
        in_favour = present - rng.randint(1, 5)
        await service.record_meeting(
            db, director,
            schemas.MeetingIn(
                client_id=f"demo-assembly-{n:03d}", body=MeetingBody.ASSEMBLY, held_on=assembly_on, place=f"{community.name}社区活动中心",
                members=assembly_members, present=present,
                minutes=f"表决“{demo.title}”：居委会通报协商议事委员会的意见，代表赞成 {in_favour} 票，同意报街道申请纳入政府购买服务项目。",
                votes=[schemas.VoteIn(need_id=need_id, in_favour=in_favour, against=present - in_favour, abstained=0)],
            ),
            now=_at(assembly_on, 19),
        )
        if demo.stage == "approved":
            continue
        sent_on = assembly_on + timedelta(days=rng.randint(2, 5))
        proposal = (
            await service.send_proposal(
                db, director,
                schemas.ProposalIn(client_id=f"demo-proposal-{n:03d}", need_id=need_id, summary=f"经协商议事委员会协商、居民代表大会表决通过，申请将“{demo.title}”纳入政府购买服务项目。{demo.description}"),
                now=_at(sent_on, 11),
            )
        ).row
        proposals[demo.title] = proposal.id
        if demo.answer is None:
            continue
        answer = schemas.ProposalAnswerIn(answer=demo.answer, reason=demo.reason, merge_into_id=proposals[demo.merge_with] if demo.merge_with else None)
        await service.answer_proposal(db, officer, proposal.id, answer, now=_at(sent_on + timedelta(days=rng.randint(3, 9)), 16))
    catalogue = await catalogue_service.create_catalogue(
        db, admin,
        schemas.CatalogueIn(
            year=2026, note="依据各社区报送、街道纳入或转报区级的提案编制。",
            items=[
                schemas.CatalogueItemIn(title="居家养老助餐服务", category="养老", budget_fen=80_000_000, description="全区独居、高龄老人助餐点运营和送餐上门。", proposal_ids=[proposals["独居老人助餐服务"]]),
                schemas.CatalogueItemIn(title="五大道街道四点半课堂", category="青少年", budget_fen=36_000_000, street_id=communities["WDD01"].street_id, description="睦南道、马场道社区课后托管和作业辅导。", proposal_ids=[proposals["四点半课堂"]]),
                schemas.CatalogueItemIn(title="新兴街道邻里纠纷调解", category="矛盾调解", budget_fen=24_000_000, street_id=communities["XX01"].street_id, description="专业调解员驻社区坐班和上门调解。", proposal_ids=[proposals["邻里纠纷调解工作室"]]),
                schemas.CatalogueItemIn(title="困难家庭一对一帮扶", category="帮困", budget_fen=50_000_000, description="低保、低收入家庭冬季帮扶和生活照料。", proposal_ids=[proposals["困难家庭冬季帮扶"]]),
                schemas.CatalogueItemIn(title="新兴街道老年文体活动", category="文体", budget_fen=18_000_000, street_id=communities["XX02"].street_id, description="老年合唱队和健身操队的指导与活动组织。", proposal_ids=[proposals["老年合唱与健身活动"]]),
            ],
        ),
        now=_at(date(2026, 4, 10), 9),
    )
    await catalogue_service.publish_catalogue(db, admin, catalogue.id, now=_at(date(2026, 4, 15), 9))
    return len(NEEDS)
