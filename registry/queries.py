"""The registry's public queries for the packages above it (they ask here instead of reading registry tables):
which estates were managed over a period, and which contract and company was in force for each on each day."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from registry.rules import ContractTerm, EstateTenure, contract_last_day
from registry.tables import Community, ContractEstate, Estate, ServiceContract


async def estate_tenures(session: AsyncSession, first: date, last: date, estate_ids: Collection[int] | None = None) -> list[EstateTenure]:
    """Every estate in long-term management on at least one day of `first`..`last` (or only those of
    `estate_ids`), by id, each with the contracts in force for it on at least one day of the period;
    `EstateTenure.contract_on(day)` answers which contract and company served it on a given day."""
    estates = select(Estate, col(Community.street_id)).join(Community, col(Community.id) == col(Estate.community_id)).where(
        col(Estate.entered_on) <= last, col(Estate.left_on).is_(None) | (col(Estate.left_on) > first)
    )
    if estate_ids is not None:
        estates = estates.where(col(Estate.id).in_(list(estate_ids)))
    rows = (await session.execute(estates.order_by(col(Estate.id)))).all()
    if not rows:
        return []
    terms: dict[int, list[ContractTerm]] = {}
    contracts = (
        select(col(ContractEstate.estate_id), ServiceContract)
        .join(ServiceContract, col(ServiceContract.id) == col(ContractEstate.contract_id))
        .where(col(ServiceContract.starts_on) <= last, col(ServiceContract.ends_on) >= first)
        .order_by(col(ServiceContract.starts_on), col(ServiceContract.id))
    )
    if estate_ids is not None:
        contracts = contracts.where(col(ContractEstate.estate_id).in_(list(estate_ids)))
    for estate_id, contract in (await session.execute(contracts)):
        end = contract_last_day(contract.ends_on, contract.terminated_on)
        if end >= first and end >= contract.starts_on:
            terms.setdefault(estate_id, []).append(ContractTerm(contract.id, contract.company_id, contract.starts_on, end))
    return [
        EstateTenure(
            estate_id=estate.id,
            community_id=estate.community_id,
            street_id=street_id,
            floor_area_centi_m2=estate.floor_area_centi_m2,
            entered_on=estate.entered_on,
            left_on=estate.left_on,
            contracts=tuple(terms.get(estate.id, ())),
        )
        for estate, street_id in rows
    ]
