"""A month of evidence written straight into the tables (bulk inserts, not the API), for benchmarks and for tests
that need whole months or quarters: a counted patrol per estate per day, 2 street inspections per estate, spot
checks for 30 % of estates, defects at the rates below, the committee's opinion for 95 % of estates and an upheld
veto for 1 %. Patrols store only their failed results (scoring reads patrol defects, not patrol results)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time

from sqlalchemy import func, insert, select

from assessment.tables import CommitteeOpinion, Veto
from foundation.clock import BUSINESS_TZ
from foundation.periods import Month
from inspections.checklists import checklist_version_id
from inspections.config import current_checklist
from inspections.tables import Defect, InspectionRecord, InspectionResult
from registry.tables import Community, Estate, Street

PATROL_DEFECT_RATE = 0.05  # share of patrols that find one defect
ON_TIME, OVERDUE = 0.70, 0.20  # of patrol defects: fixed on time, overdue; the rest twice overdue
INSPECTION_ITEMS = ("M01", "C01", "C02", "C06", "G01", "G02", "P01")


async def add_city(factory, estates_wanted: int) -> None:  # type: ignore[no-untyped-def]
    """Streets, communities and estates beyond the demo district's, to make `estates_wanted` in all."""
    async with factory() as session:
        have = (await session.execute(select(func.count()).select_from(Estate))).scalar_one()
        extra = estates_wanted - have
        streets = max(1, extra // 250)
        for s in range(streets):
            street = Street(code=f"C{s:03d}", name=f"城区街道{s:03d}")
            session.add(street)
            await session.flush()
            communities = []
            for c in range(25):
                community = Community(code=f"C{s:03d}{c:02d}", name=f"城区社区{s:03d}-{c:02d}", street_id=street.id, households=2000)  # type: ignore[arg-type]
                session.add(community)
                communities.append(community)
            await session.flush()
            rows = []
            for n in range(extra // streets + (1 if s < extra % streets else 0)):
                community = communities[n % 25]
                rows.append(
                    {
                        "code": f"CITY-{s:03d}-{n:04d}", "name": f"城区旧楼区{s:03d}-{n:04d}", "address": "城区", "community_id": community.id,
                        "floor_area_centi_m2": 1_200_000, "households": 170, "buildings": 6, "management_mode": "company",
                        "entered_on": datetime(2025, 1, 1).date(), "left_on": None,
                    }
                )
            await session.execute(insert(Estate), rows)
        await session.commit()


async def generate_month(factory, month: Month, seed: int = 7) -> dict[str, int]:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    checklist = current_checklist()
    async with factory() as session:
        version = await checklist_version_id(session, checklist)
        estates = (await session.execute(select(Estate.id, Estate.community_id, Community.street_id).join(Community))).all()
        await session.commit()
    counts = {"estates": len(estates), "patrols": 0, "inspections": 0, "spot_checks": 0, "defects": 0}
    filed = datetime.combine(month.last_day, clock_time(20), tzinfo=BUSINESS_TZ).astimezone(UTC)
    record_rows, result_rows, defect_rows, opinion_rows, veto_rows = [], [], [], [], []
    async with factory() as session:
        next_record = (await session.execute(select(func.coalesce(func.max(InspectionRecord.id), 0)))).scalar_one() + 1000
    for estate_id, community_id, street_id in estates:
        visits = [("patrol", day) for day in range(1, month.days + 1)] + [("street_inspection", d) for d in (8, 22)]
        if rng.random() < 0.3:
            visits.append(("spot_check", rng.randint(1, month.days)))
        for source, day in visits:
            next_record += 1
            inspected = datetime.combine(month.first_day.replace(day=day), clock_time(9), tzinfo=BUSINESS_TZ).astimezone(UTC)
            record_rows.append(
                {
                    "id": next_record, "client_id": uuid.uuid4().hex, "fingerprint": "0" * 64, "source": source, "estate_id": estate_id,
                    "community_id": community_id, "street_id": street_id, "company_id": None, "organisation_id": None, "assignment_id": None,
                    "checklist_version_id": version, "inspected_at": inspected, "business_date": inspected.astimezone(BUSINESS_TZ).date(),
                    "month": str(month), "daily_ordinal": 1, "counted": True, "latitude_micro": None, "longitude_micro": None, "note": "",
                    "filed_at": filed, "filed_by_user_id": None, "filed_by": "bench",
                }
            )
            counts[{"patrol": "patrols", "street_inspection": "inspections", "spot_check": "spot_checks"}[source]] += 1
            if source == "patrol":
                failed = [rng.choice(INSPECTION_ITEMS)] if rng.random() < PATROL_DEFECT_RATE else []
                items = failed
            else:
                failed = rng.sample(INSPECTION_ITEMS, rng.choice((0, 1, 2, 2, 3)))
                items = list(INSPECTION_ITEMS)
            for code in items:
                result_rows.append({"record_id": next_record, "item_code": code, "passed": code not in failed, "defects": 1 if code in failed else 0, "note": ""})
            for code in failed:
                item = checklist.items[code]
                deadline = inspected + timedelta(days=3)
                roll = rng.random()
                fixed = deadline - timedelta(hours=5) if roll < ON_TIME else deadline + timedelta(days=1 if roll < ON_TIME + OVERDUE else 5)
                defect_rows.append(
                    {
                        "record_id": next_record, "amendment_id": None, "item_code": code, "source": source, "estate_id": estate_id,
                        "community_id": community_id, "street_id": street_id, "company_id": None, "organisation_id": None,
                        "severity": item.severity.value, "veto_item": False, "deduction_centi": item.deduction_centi, "defect_count": 1,
                        "month": str(month), "raised_at": inspected, "deadline_at": deadline,
                        "deadline_provisional": False, "state": "closed", "fix_reported_at": fixed, "closed_at": fixed,
                        "overdue_month": None, "overdue_ordinal": None, "overdue_marked_at": None,
                    }
                )
        if rng.random() < 0.95:
            answered = rng.randint(30, 120)
            opinion_rows.append(
                {"estate_id": estate_id, "community_id": community_id, "month": str(month), "revision": 1, "rating": rng.randint(60, 98),
                 "satisfied": rng.randint(int(answered * 0.6), answered), "answered": answered, "note": "", "given_at": filed,
                 "given_by_user_id": None, "given_by": "bench"}
            )
        if rng.random() < 0.01:
            veto_rows.append(
                {"estate_id": estate_id, "community_id": community_id, "street_id": street_id, "company_id": None, "contract_id": None,
                 "month": str(month), "reason_code": "mass_complaint", "explanation": "bench", "automatic": False, "source_defect_id": None,
                 "state": "upheld", "cast_at": filed, "cast_by_user_id": None, "cast_by": "bench",
                 "review_due_on": month.last_day, "review_reason": "bench", "reviewed_at": filed, "reviewed_by": "bench"}
            )
    counts["defects"] = len(defect_rows)
    async with factory() as session:
        for table, rows in ((InspectionRecord, record_rows), (InspectionResult, result_rows), (Defect, defect_rows), (CommitteeOpinion, opinion_rows), (Veto, veto_rows)):
            for start in range(0, len(rows), 5000):
                await session.execute(insert(table), rows[start : start + 5000])
        await session.commit()
    return counts
