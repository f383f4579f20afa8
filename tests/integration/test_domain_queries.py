"""The public queries the domains above ask instead of reading the tables below: an estate counts as managed up to
the day before it left, a contract serves its estate up to its termination day, and an estate's current score is
its newest version. A wrong edge here would pay or score an estate for a day it was not managed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from assessment import queries as assessment_queries
from assessment.tables import EstateScore
from foundation.clock import utc_now
from foundation.periods import Month
from registry import queries as registry_queries
from registry.tables import ContractEstate, Estate, ServiceContract


def ids(estates: list[registry_queries.EstateInfo]) -> set[int]:
    return {e.id for e in estates}


async def test_an_estate_is_managed_until_the_day_before_it_left(db: Any) -> None:
    async with db() as session:
        first, second = (await session.execute(select(Estate).order_by(Estate.id).limit(2))).scalars().all()
        first.entered_on, first.left_on = date(2025, 1, 1), date(2026, 3, 16)
        second.entered_on, second.left_on = date(2026, 3, 31), None
        await session.flush()
        march = ids(await registry_queries.managed_during(session, date(2026, 3, 1), date(2026, 3, 31)))
        assert {first.id, second.id} <= march
        assert first.id in ids(await registry_queries.managed_during(session, date(2026, 3, 15)))
        assert first.id not in ids(await registry_queries.managed_during(session, date(2026, 3, 16)))
        assert second.id not in ids(await registry_queries.managed_during(session, date(2026, 3, 1), date(2026, 3, 30)))
        april = await registry_queries.managed_during(session, Month.parse("2026-04"))
        assert first.id not in ids(april) and second.id in ids(april)
        info = (await registry_queries.estates(session, [first.id or 0]))[first.id or 0]
        assert info.managed_on(date(2026, 3, 15)) and not info.managed_on(date(2026, 3, 16))
        own_community = await registry_queries.managed_during(session, date(2026, 3, 15), community_id=first.community_id)
        assert first.id in ids(own_community) and {e.community_id for e in own_community} == {first.community_id}


async def test_a_contract_serves_its_estate_up_to_its_termination_day(db: Any) -> None:
    async with db() as session:
        estate_id, contract = (
            await session.execute(
                select(ContractEstate.estate_id, ServiceContract).join(ServiceContract, ServiceContract.id == ContractEstate.contract_id).order_by(ServiceContract.id).limit(1)
            )
        ).one()
        last = contract.starts_on + timedelta(days=10)
        contract.terminated_on = last
        await session.flush()
        served = await registry_queries.contractor_on(session, estate_id, last)
        assert served is not None and (served.contract_id, served.company_id, served.last) == (contract.id, contract.company_id, last)
        assert await registry_queries.contractor_on(session, estate_id, last + timedelta(days=1)) is None
        assert await registry_queries.contractor_on(session, estate_id, contract.starts_on - timedelta(days=1)) is None
        assert set(await registry_queries.contractors_on(session, [estate_id, -1], last)) == {estate_id}


async def test_the_current_score_of_an_estate_is_its_newest_version(db: Any) -> None:
    month = Month.parse("2019-02")  # before the demo district has any score
    async with db() as session:
        first, second = (await session.execute(select(Estate).order_by(Estate.id).limit(2))).scalars().all()
        street_id = (await registry_queries.estates(session, [first.id or 0]))[first.id or 0].street_id
        for estate, version, score in ((first, 1, 9000), (first, 2, 8550), (second, 1, 7000)):
            session.add(
                EstateScore(
                    estate_id=estate.id, community_id=estate.community_id, street_id=street_id, month=str(month), version=version,
                    rules_sha256="r" * 64, inputs_sha256=f"{version}" * 64, score_centi=score, grade="良好", vetoed=False,
                    result={"components": []}, computed_at=utc_now(), reason="test",
                )
            )
        await session.flush()
        current = await assessment_queries.current_scores(session, month)
        assert (current[first.id or 0].version, current[first.id or 0].score_centi) == (2, 8550)
        assert current[second.id or 0].score_centi == 7000
        only = await assessment_queries.current_scores(session, month, [first.id or 0])
        assert set(only) == {first.id} and only[first.id or 0].version == 2
        assert await assessment_queries.current_scores(session, month.next()) == {}
