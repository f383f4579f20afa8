"""The contracts' tranches as a programme of the money engine (`community_tranches`): a month's run prices the
tranches that became payable in it (the first on signing, the others after their evaluation), one line per
tranche, paid once ever by its key; the district pays alone."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community import records
from community.calls.service import announce_contract_moment, call_limits
from community.calls.tables import Call, CallContract, Tranche
from foundation.access import Role
from foundation.clock import business_today
from foundation.errors import RuleViolation
from foundation.periods import Month
from registry import queries as registry_queries
from subsidies.engine.queries import registry_names
from subsidies.engine.registry import DescribedLine, DocumentColumn, Documents, LineView, Payers, Priced, Programme, register
from subsidies.engine.rules import LineDraft, Party, PayerSplit, Step

CODE = "community_tranches"


def tranche_key(contract_id: int, number: int) -> str:
    """The line key a tranche is paid under, once ever."""
    return f"tranche:{contract_id}:{number}"


def check_period(text: str) -> str:
    month = Month.parse(text, "period")
    if month.first_day > business_today():
        raise RuleViolation(f"{month} has not begun; tranches are paid for a month that has", zh=f"{month} 尚未开始，只能支付已开始月份的合同款", field="period")
    return str(month)


def _rules_sha256() -> str:
    limits = call_limits()
    return hashlib.sha256(f"shares={','.join(limits.tranche_share_texts)};pass={limits.pass_mark}".encode()).hexdigest()


async def price(session: AsyncSession, period: str) -> Priced:
    month = Month.parse(period, "period")
    rows = await session.execute(
        select(Tranche, CallContract, col(Call.street_id), col(Call.number))
        .join(CallContract, col(CallContract.id) == col(Tranche.contract_id))
        .join(Call, col(Call.id) == col(CallContract.call_id))
        .where(col(Tranche.payable_on) >= month.first_day, col(Tranche.payable_on) <= month.last_day)
        .order_by(col(CallContract.id), col(Tranche.number))
    )
    lines = [
        LineDraft(
            key=tranche_key(contract.id, tranche.number),
            payee=Party("organisation", contract.organisation_id),
            holder=Party("street", street_id) if street_id is not None else Party("district", 0),
            beneficiary=Party("contract", contract.id),
            period=str(month),
            amount_fen=tranche.amount_fen,
            reason=f"合同 {contract.number} 第{tranche.number}笔拨款（{tranche.condition}，占 {tranche.share}）",
            evidence=f"call:{number};contract:{contract.number};tranche:{tranche.number}",
        )
        for tranche, contract, street_id, number in rows.all()
    ]
    return Priced(_rules_sha256(), lines)


async def names(session: AsyncSession, parties: Collection[Party]) -> dict[Party, str]:
    found = await registry_names(session, parties)
    organisations = await registry_queries.organisation_particulars(session, {p.id for p in parties if p.kind == "organisation"})
    found |= {Party("organisation", i): o.name for i, o in organisations.items()}
    contract_ids = [p.id for p in parties if p.kind == "contract"]
    if contract_ids:
        rows = await session.execute(select(col(CallContract.id), col(CallContract.number)).where(col(CallContract.id).in_(contract_ids)))
        found |= {Party("contract", i): f"合同 {n}" for i, n in rows.all()}
    if any(p.kind == "district" for p in parties):
        found[Party("district", 0)] = "区级"
    return found


async def describe(session: AsyncSession, lines: Sequence[LineView]) -> dict[int, DescribedLine]:
    named = await names(session, {line.payee for line in lines} | {line.beneficiary for line in lines})
    return {
        line.id: DescribedLine([named.get(line.payee, ""), named.get(line.beneficiary, ""), line.reason], [named.get(line.beneficiary, ""), line.evidence])
        for line in lines
    }


async def republish(session: AsyncSession, changes: Sequence[tuple[str, int]]) -> None:
    """A correction of paid tranches is published like their payment: the contracts' public records carry what the
    tranches paid in the end (an implementation release, with the adjustment's transaction)."""
    contracts = {int(key.split(":")[1]) for key, _ in changes}
    calls = set((await session.execute(select(col(CallContract.call_id)).where(col(CallContract.id).in_(contracts)))).scalars())
    for call_id in sorted(calls):
        await announce_contract_moment(session, call_id, records.IMPLEMENTATION)


TRANCHES = Programme(
    code=CODE,
    name="政府购买社区服务项目拨款",
    number_prefix="GMFW",
    steps=(Step("approve", frozenset({Role.FINANCE}), "approved", zh="区财政审批"),),
    runs_by=frozenset({Role.FINANCE}),
    page="/community/evaluation",
    payers=lambda: Payers(Fraction(0), PayerSplit("city", "half_up")),
    price=price,
    check_period=check_period,
    names=names,
    documents=Documents(
        summary_title="政府购买社区服务项目拨款汇总表",
        notice_title="政府购买社区服务项目拨款通知书",
        sheet_title="项目拨款明细",
        columns=(DocumentColumn("社会组织", 50), DocumentColumn("合同", 40), DocumentColumn("事由", 80)),
        sheet_headers=("合同", "依据"),  # the organisation (payee) has its own column
        describe=describe,
        holder_title="采购方",
        payee_title="社会组织",
    ),
    adjusted=republish,
)


def register_tranches() -> None:
    """Make the programme known to the engine (once per process; again is harmless)."""
    register(TRANCHES)
