"""Complaints in the demo district, reported and routed through the same use cases as people use: a few in 树德里 and
长春道 over the last three months (one cluster of three about cleaning at one estate), one in mediation, one closed
and referred to 12345, the newest waiting for a first response. A handful, so the demo loads in a moment."""

from __future__ import annotations

import random
from datetime import UTC, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from complaints import schemas, service
from complaints.rules import Channel
from foundation.clock import business_today, utc_now
from people.queries import principal_named
from registry import queries as registry_queries

COMMUNITIES = ("XBL01", "XBL02")
TEXTS = {
    "cleaning": ["楼道垃圾两天没有清运", "垃圾桶满溢，周围有异味", "单元门口堆放杂物无人清理"],
    "gate_patrol": ["夜间门岗无人值守"],
    "parking": ["电动车在楼道充电，存在安全隐患"],
    "other": ["楼上漏水，与邻居协商不成", "自来水水压低"],
}


async def load(db: AsyncSession, rng: random.Random) -> int:
    """Load the complaints' demo data; returns how many were reported."""
    now = utc_now()
    reported = 0
    communities = await registry_queries.communities(db)
    for code in COMMUNITIES:
        community = next((c for c in communities.values() if c.code == code), None)
        if community is None:
            continue
        estates = [e for e in await registry_queries.managed_during(db, business_today(), community_id=community.id)][:3]
        worker = await principal_named(db, f"{code.lower()}-worker")
        if not estates or worker is None:
            continue
        plan: list[tuple[int, str, int]] = [(0, "cleaning", 70), (1, "parking", 45), (2, "gate_patrol", 20), (0, "other", 12), (1, "other", 9)]
        if code == COMMUNITIES[0]:
            plan += [(0, "cleaning", 5), (0, "cleaning", 4), (0, "cleaning", 3)]  # a cluster: three in a few days
        for n, (index, service_code, days_ago) in enumerate(plan):
            at = (now - timedelta(days=days_ago, hours=rng.randint(1, 8))).astimezone(UTC)
            estate = estates[index % len(estates)]
            text = TEXTS[service_code][n % len(TEXTS[service_code])]
            complaint, _ = await service.report_complaint(
                db, None, service.NewComplaint(Channel.QR, service_code, estate.code, text, place=f"{rng.randint(1, 9)}号楼"), now=at,
            )
            reported += 1
            answered = at + timedelta(hours=rng.randint(2, 30))
            if service_code == "other" and n % 2:
                await service.close_complaint(db, worker, complaint.id, schemas.ClosureIn(reason="不属于物业服务范围", referred_to="12345政务服务便民热线", answer="已转12345，由供水单位处理"), now=answered)
            elif service_code == "other":
                await service.open_mediation(db, worker, complaint.id, schemas.MediationIn(answer="社区将组织双方调解"), now=answered)
            elif days_ago > 30 and service_code == "parking":
                await service.close_complaint(db, worker, complaint.id, schemas.ClosureIn(reason="经核查情况不属实", answer="现场核查未发现楼道充电"), now=answered)
    return reported
