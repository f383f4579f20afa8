"""The street's complaint dashboard: volumes per estate and company over six months, response and resolution times,
and clusters of complaints that may be a mass complaint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from complaints import service
from complaints.rules import Cluster, clusters, median, minutes_between
from complaints.tables import Complaint
from foundation.access import Principal
from foundation.periods import Month
from foundation.web.charts import bars
from registry import queries as registry_queries

MONTHS = 6


@dataclass(frozen=True)
class EstateLine:
    estate_id: int
    name: str
    counts: list[int]  # per month, oldest first
    chart: Markup
    upheld: int  # in the last month


@dataclass(frozen=True)
class CompanyLine:
    name: str
    counts: list[int]


@dataclass(frozen=True)
class StreetView:
    months: list[str]
    estates: list[EstateLine]
    companies: list[CompanyLine]
    median_first_response_minutes: int | None
    median_resolution_minutes: int | None
    clusters: list[tuple[Cluster, str, str, str]]  # with the estate's and the service's names, and the month of its last complaint


async def street_view(session: AsyncSession, actor: Principal, last: Month) -> StreetView:
    months = [last]
    while len(months) < MONTHS:
        months.insert(0, months[0].previous())
    labels = [str(m) for m in months]
    rows = list(
        (
            await session.execute(
                select(Complaint).where(service.visible_complaints(actor), col(Complaint.month).in_(labels)).order_by(col(Complaint.reported_at))
            )
        ).scalars()
    )
    estates = await registry_queries.estates(session, {r.estate_id for r in rows})
    companies = await registry_queries.companies(session, {r.company_id for r in rows if r.company_id is not None})
    per_estate: dict[int, list[int]] = {}
    per_company: dict[int, list[int]] = {}
    for r in rows:
        index = labels.index(r.month)
        per_estate.setdefault(r.estate_id, [0] * MONTHS)[index] += 1
        if r.company_id is not None:
            per_company.setdefault(r.company_id, [0] * MONTHS)[index] += 1
    this_month = [r for r in rows if r.month == labels[-1]]
    first = [m for r in this_month if (m := minutes_between(r.reported_at, r.first_response_at)) is not None]
    resolved = []
    for r in this_month:
        _, at = await service.effective_state(session, r)
        if (m := minutes_between(r.reported_at, at)) is not None:
            resolved.append(m)
    rules = service.complaint_rules()
    recent = [r for r in rows if r.reported_at >= rows[-1].reported_at - timedelta(days=31)] if rows else []
    found = clusters([(r.id, r.estate_id, r.service_code, r.reported_at) for r in recent], rules.cluster_count, rules.cluster_days)
    estate_lines = [
        EstateLine(
            estate_id=estate_id, name=estates[estate_id].name if estate_id in estates else str(estate_id), counts=counts,
            chart=bars(list(zip(labels, counts, strict=True))), upheld=sum(1 for r in this_month if r.estate_id == estate_id and r.upheld),
        )
        for estate_id, counts in sorted(per_estate.items(), key=lambda pair: (-sum(pair[1]), pair[0]))
    ]
    return StreetView(
        months=labels,
        estates=estate_lines,
        companies=[CompanyLine(companies[c].name if c in companies else str(c), counts) for c, counts in sorted(per_company.items())],
        median_first_response_minutes=median(first),
        median_resolution_minutes=median(resolved),
        clusters=[
            (c, estates[c.estate_id].name if c.estate_id in estates else str(c.estate_id), service.service_name(c.service_code), str(Month.of_instant(c.last_at)))
            for c in found
        ],
    )
