"""Activity funds as a programme of the engine: a month's run pays every claim approved by the month's end, once
(its key is the claim), to the community or street that spent it, out of that holder's budget of the claim's year;
district finance checks the run and issues the batch (the district pays alone)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Role
from subsidies.activity import service
from subsidies.activity.rules import CODE
from subsidies.engine.queries import registry_names
from subsidies.engine.registry import DescribedLine, DocumentColumn, Documents, LineView, Payers, Programme, as_decided, register
from subsidies.engine.rules import Party, PayerSplit, Step


async def names(session: AsyncSession, parties: Collection[Party]) -> dict[Party, str]:
    found = await registry_names(session, parties)
    suffix = {"community": "社区", "street": "街道"}
    return {p: f"{n}{suffix.get(p.kind, '')}" for p, n in found.items()}


async def describe(session: AsyncSession, lines: Sequence[LineView]) -> dict[int, DescribedLine]:
    named = await names(session, {line.holder for line in lines})
    return {
        line.id: DescribedLine([named.get(line.holder, str(line.holder)), line.period, line.evidence, line.reason], [line.period, line.evidence, line.reason])
        for line in lines
    }


ACTIVITY_FUNDS = register(
    Programme(
        code=CODE,
        name="社区和街道活动经费",
        number_prefix="HDJF",
        steps=(Step("approve", frozenset({Role.FINANCE}), "approved", zh="区财政审核"),),
        runs_by=frozenset({Role.FINANCE}),
        page="/activity/runs",
        payers=lambda: Payers(Fraction(0), PayerSplit("city", "half_up")),
        price=service.price,
        check_period=service.check_period,
        most_for_line=as_decided,  # a decided amount: recovered by an adjustment, never exceeded
        adjusted=service.follow_adjustment,  # the fund gets back what an adjustment recovers
        adjustable=service.refuse_adjustment,  # and gives it again only if it still has it
        budget_source="config/activity.toml",
        names=names,
        documents=Documents(
            summary_title="活动经费拨付汇总表",
            notice_title="活动经费拨付通知书",
            sheet_title="活动经费拨付明细",
            columns=(DocumentColumn("经费持有方", 34), DocumentColumn("支出月份", 18), DocumentColumn("发票", 40), DocumentColumn("用途及说明", 60)),
            sheet_headers=("支出月份", "发票", "用途及说明"),  # the holder and payee have their own columns
            describe=describe,
            holder_title="经费持有方",
            payee_title="收款方",
            notes=("每笔报销均经街道（社区经费）或区财政（街道经费）审批；同一张发票只报销一次。",),
        ),
        budget="holder",
    )
)
