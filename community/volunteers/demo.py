"""Volunteers in the demo district, loaded through the same use cases as people use: in three communities (树德里,
长春道, 朝阳里) five volunteers each, two teams (one led by a volunteer, one by the community's social worker),
needs of the past weeks, today and the days ahead (one full, one asking for one-to-one pairing), their sign-ups, and
hours approved, rejected with a reason and waiting (one past its answer day). The district had 211 teams; the demo
keeps to a handful so it loads in a moment."""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from community.volunteers import schemas, service
from foundation.access import Principal
from foundation.clock import business_today
from people.queries import principal_named

COMMUNITIES = ("XBL01", "XBL02", "XX01")
PASSWORD = "demo-pass-2026"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = ["丽华", "建军", "淑敏", "志刚", "海燕", "春生", "雅琴", "德明", "晓梅", "国强", "秀兰", "立军"]


def _volunteer(rng: random.Random, code: str, n: int, skills: tuple[str, ...]) -> schemas.VolunteerIn:
    return schemas.VolunteerIn(
        real_name=rng.choice(SURNAMES) + rng.choice(GIVEN), phone=f"13{rng.randint(5, 9)}{rng.randint(10_000_000, 99_999_999)}", username=f"{code.lower()}-vol{n}",
        password=PASSWORD, skills=rng.sample(list(skills), 2),
    )


def _hours(client: str, served_on: date, minutes: int, activity: str, need_id: int | None = None, team_id: int | None = None) -> schemas.VolunteerHoursIn:
    return schemas.VolunteerHoursIn(client_id=client, served_on=served_on, minutes=minutes, activity=activity, need_id=need_id, team_id=team_id)


async def load(db: AsyncSession, rng: random.Random, password_hash: str | None = None) -> list[tuple[str, str]]:
    """Load the volunteers' demo data; returns the logins to print."""
    today = business_today()
    rules = service.volunteer_rules()
    for code in COMMUNITIES:
        worker = await principal_named(db, f"{code.lower()}-worker")
        assert worker is not None, f"the demo's {code} social worker"
        made = [await service.register_volunteer(db, worker, _volunteer(rng, code, n, rules.skills), password_hash=password_hash) for n in range(1, 6)]
        accounts: list[Principal] = []
        for v in made:
            p = await principal_named(db, f"{code.lower()}-vol{made.index(v) + 1}")
            assert p is not None
            accounts.append(p)
        led = await service.create_team(db, worker, schemas.VolunteerTeamIn(name="邻里守望志愿服务队", leader_volunteer_id=made[0].id, member_ids=[v.id for v in made[:3]]))
        elders = await service.create_team(db, worker, schemas.VolunteerTeamIn(name="助老志愿服务队", member_ids=[v.id for v in made[2:]]))

        def need(title: str, place: str, day: date, starts: time, minutes: int, wanted: int, team: int, pairing: bool = False) -> schemas.VolunteerNeedIn:
            return schemas.VolunteerNeedIn(title=title, place=place, held_on=day, starts_at=starts.strftime("%H:%M"), minutes=minutes, wanted=wanted, team_id=team, pairing=pairing)

        # Two past needs (posted ahead of their day), their sign-ups and the hours logged after them.
        old_day, last_day = today - timedelta(days=12), today - timedelta(days=5)
        old = await service.post_need(db, worker, need("楼道杂物清理", "3号楼至6号楼", old_day, time(9), 150, 4, led.id), today=old_day - timedelta(days=4))
        last = await service.post_need(db, worker, need("独居老人上门探访", "社区服务站集合", last_day, time(14), 120, 3, elders.id), today=last_day - timedelta(days=4))
        for who in accounts[:3]:
            await service.sign_up(db, who, old.id, today=old_day - timedelta(days=2))
        for who in accounts[2:]:
            await service.sign_up(db, who, last.id, today=last_day - timedelta(days=2))
        logged = [
            await service.log_hours(db, accounts[0], _hours(f"demo-{code}-1", old_day, 150, "清理 4 号楼楼道堆放的纸箱和旧家具", need_id=old.id), today=old_day + timedelta(days=1)),
            await service.log_hours(db, accounts[1], _hours(f"demo-{code}-2", old_day, 150, "清理 5 号楼楼道并张贴消防提示", need_id=old.id), today=old_day + timedelta(days=1)),
            await service.log_hours(db, accounts[2], _hours(f"demo-{code}-3", old_day, 180, "清理 6 号楼楼道", need_id=old.id), today=old_day + timedelta(days=1)),
            await service.log_hours(db, accounts[3], _hours(f"demo-{code}-4", last_day, 120, "探访 2 位独居老人，代购日用品", need_id=last.id), today=last_day),
            await service.log_hours(db, accounts[4], _hours(f"demo-{code}-5", last_day, 120, "陪同老人就医取药", need_id=last.id), today=last_day + timedelta(days=1)),
        ]
        leader = accounts[0]
        await service.decide_hours(db, worker, logged[0].row.id, schemas.HoursDecisionIn(verdict="approve"))
        await service.decide_hours(db, leader, logged[1].row.id, schemas.HoursDecisionIn(verdict="approve"))
        await service.decide_hours(db, worker, logged[3].row.id, schemas.HoursDecisionIn(verdict="reject", reason="时长与签到记录不符，请按实际服务时间重新登记"))
        # logged[2] waits past its answer day (the reminder job tells the leader and the social workers); logged[4] waits.

        # Today's need with places left, one full need and one asking for one-to-one pairing in the days ahead.
        await service.post_need(db, worker, need("社区环境清洁日", "社区广场", today, time(15), 120, 6, led.id), today=today)
        full = await service.post_need(db, worker, need("重阳节助老活动布置", "社区活动室", today + timedelta(days=3), time(9, 30), 90, 2, elders.id), today=today)
        paired = await service.post_need(db, worker, need("一对一包户：困难老人结对帮扶", "各结对户家中", today + timedelta(days=5), time(10), 120, 3, elders.id, pairing=True), today=today)
        for who in accounts[3:5]:
            await service.sign_up(db, who, full.id, today=today)
        await service.sign_up(db, accounts[4], paired.id, today=today)
        await service.pair(db, worker, schemas.VolunteerPairingIn(volunteer_id=made[4].id, household=f"{rng.randint(1, 12)}号楼{rng.randint(1, 4)}门{rng.randint(1, 6)}0{rng.randint(1, 2)}室", need_id=paired.id), today=today)
    return [("xbl01-vol1 … xbl01-vol5", "志愿者（树德里；vol1 是邻里守望志愿服务队队长）")]



