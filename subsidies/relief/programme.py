"""Relief funds as a programme of the engine: a month's run pays every case the district approved by the month's
end, once (its key is the application), to the applicant's community (which hands it to the household), out of the
fund's budget of the case's year; district finance checks the run and issues the batch (the district pays alone)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Role
from subsidies.engine.queries import registry_names
from subsidies.engine.registry import DescribedLine, DocumentColumn, Documents, LineView, Payers, Programme, as_decided, register
from subsidies.engine.rules import Party, PayerSplit, Step
from subsidies.relief import queries, service
from subsidies.relief.rules import CODE


async def names(session: AsyncSession, parties: Collection[Party]) -> dict[Party, str]:
    """Communities by name, funds by name, cases by the applicant's masked name (documents carry no full name)."""
    found = {p: f"{n}社区" for p, n in (await registry_names(session, [p for p in parties if p.kind == "community"])).items()}
    config = service.relief_rules()
    for p in parties:
        if p.kind == "relief_fund":
            fund = config.fund_by_id(p.id)
            found[p] = fund.name if fund else str(p)
    cases = await queries.masked_names(session, [p.id for p in parties if p.kind == "relief_case"])
    found |= {Party("relief_case", i): n for i, n in cases.items()}
    return found


async def describe(session: AsyncSession, lines: Sequence[LineView]) -> dict[int, DescribedLine]:
    named = await names(session, {p for line in lines for p in (line.holder, line.payee, line.beneficiary)})
    described = {}
    for line in lines:
        fund, case, community = named.get(line.holder, ""), named.get(line.beneficiary, ""), named.get(line.payee, "")
        number = line.key.removeprefix("relief:")
        cells = [fund, community, f"{number} {case}", line.reason.partition("：")[2]]
        described[line.id] = DescribedLine(cells, [number, case, line.evidence, line.reason.partition("：")[2]])
    return described


RELIEF = register(
    Programme(
        code=CODE,
        name="救助基金",
        number_prefix="JZJJ",
        steps=(Step("approve", frozenset({Role.FINANCE}), "approved", zh="区财政审核"),),
        runs_by=frozenset({Role.FINANCE}),
        page="/relief/runs",
        payers=lambda: Payers(Fraction(0), PayerSplit("city", "half_up")),
        price=service.price,
        check_period=service.check_period,
        most_for_line=as_decided,  # a decided amount: recovered by an adjustment, never exceeded
        adjusted=service.follow_adjustment,  # the fund gets back what an adjustment recovers
        adjustable=service.refuse_adjustment,  # and gives it again only if it still has it
        budget_source="config/relief.toml",
        names=names,
        documents=Documents(
            summary_title="救助基金拨付汇总表",
            notice_title="救助基金拨付通知书",
            sheet_title="救助基金拨付明细",
            columns=(DocumentColumn("基金", 22), DocumentColumn("社区", 28), DocumentColumn("申请", 30), DocumentColumn("事由", 78)),
            sheet_headers=("申请编号", "申请人", "依据", "事由"),  # the fund (holder) and community (payee) have their own columns
            describe=describe,
            holder_title="基金",
            payee_title="社区",
            notes=("每案经社区初审、街道审核、区审批三级审核；每案不超过该基金的每案上限，基金不超支；每案只拨付一次，由社区发放到户。申请人姓名已脱敏。",),
        ),
        budget="holder",
    )
)
