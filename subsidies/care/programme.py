"""Elderly home care on the programme engine: a month's run pays one line per voucher redeemed in it (key
`care:<code>`, so a voucher is paid once, ever), to the provider, under the street; each street confirms its part,
district finance approves and issues the batch; the documents describe each line in Chinese."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Role
from foundation.clock import business_today
from foundation.errors import RuleViolation
from foundation.periods import Month
from registry import queries as registry_queries
from subsidies.care import rules
from subsidies.care.queries import elder_names
from subsidies.care.rules import Served
from subsidies.care.service import care_rules
from subsidies.care.tables import CareVoucher
from subsidies.engine.queries import registry_names
from subsidies.engine.registry import DescribedLine, DocumentColumn, Documents, LineView, Payers, Priced, Programme, register
from subsidies.engine.rules import Party, Step

CODE = "care"


async def price(session: AsyncSession, period: str) -> Priced:
    """The month's redeemed vouchers, one line each, priced as redeemed."""
    query = select(CareVoucher).where(col(CareVoucher.month) == period, col(CareVoucher.redeemed_at).is_not(None)).order_by(col(CareVoucher.id))
    lines = [
        rules.voucher_line(v.code, v.id or 0, v.elder_id, v.provider_id, v.street_id, v.month, v.amount_fen, Served(v.redeemed_visits or 0, v.redeemed_minutes or 0))
        for v in (await session.execute(query)).scalars()
    ]
    return Priced(care_rules().sha256, lines)


def check_period(text: str) -> str:
    month = Month.parse(text, "period")
    if month.last_day >= business_today():
        raise RuleViolation(f"{month} has not ended; a month's vouchers are paid once it is over", zh=f"{month} 尚未结束，月末之后才能核算", field="period")
    return str(month)


async def names(session: AsyncSession, parties: Collection[Party]) -> dict[Party, str]:
    found = await registry_names(session, parties)
    providers = await registry_queries.organisations(session, {p.id for p in parties if p.kind == "organisation"})
    found |= {Party("organisation", i): o.name for i, o in providers.items()}
    elders = await elder_names(session, {p.id for p in parties if p.kind == "elder"})
    found |= {Party("elder", i): name for i, (name, _) in elders.items()}
    return found


async def describe(session: AsyncSession, lines: Sequence[LineView]) -> dict[int, DescribedLine]:
    elders = await elder_names(session, {line.beneficiary.id for line in lines})
    communities = await registry_queries.communities(session, {c for _, c in elders.values()})
    described = {}
    for line in lines:
        name, community_id = elders.get(line.beneficiary.id, ("", 0))
        community = communities[community_id].name if community_id in communities else ""
        code = line.key.removeprefix("care:")
        described[line.id] = DescribedLine([community, name, code, line.reason.partition("：")[2]], [community, name, code, line.period, line.evidence])
    return described


CARE = register(
    Programme(
        code=CODE,
        name="居家养老服务券",
        number_prefix="JJYL",
        steps=(
            Step("confirm", frozenset({Role.STREET_OFFICER}), "confirmed", per_holder=True, zh="街道确认"),
            Step("approve", frozenset({Role.FINANCE}), "approved", zh="区财政审批"),
        ),
        runs_by=frozenset({Role.FINANCE}),
        page="/care/runs",
        payers=lambda: Payers(care_rules().city_share, care_rules().split),
        price=price,
        check_period=check_period,
        names=names,
        documents=Documents(
            summary_title="居家养老服务券拨付汇总表", notice_title="居家养老服务券拨付通知书", sheet_title="居家养老服务券拨付明细",
            columns=(DocumentColumn("社区", 30), DocumentColumn("老人", 20), DocumentColumn("服务券", 36), DocumentColumn("服务", 50)),
            sheet_headers=("社区", "老人", "服务券", "月份", "依据"), describe=describe, holder_title="街道", payee_title="服务机构",
            notes=("每张服务券每月一张、只兑付一次；服务机构须在当月完成最低服务量并在当月兑付。老人姓名已脱敏。",),
        ),
        holder_of=lambda principal: Party("street", principal.street_id) if principal.street_id else None,
        budget="programme",
    )
)
