"""The district finance desk: every programme that pays through the system on one page — the property subsidy and
each programme of the money engine — with its year's budget, what was paid, what is left and what waits."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.clock import business_today
from foundation.errors import InvalidInput
from foundation.web.auth import allow
from foundation.web.layout import page
from subsidies.engine import queries as engine_queries
from subsidies.engine.registry import programmes
from subsidies.property import queries as property_queries

FIRST_YEAR = 2020


class FinanceDesk(Controller):
    path = "/programmes"
    include_in_schema = False
    guards = [allow({Role.FINANCE, Role.ADMIN}, "the finance desk")]

    @get("/")
    async def desk(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], year: FromQuery[int | None] = None) -> Template:
        """Each programme's year: budget, paid, left, batches, runs waiting, the last batch; links to its page."""
        this_year = business_today().year
        shown = this_year if year is None else year
        if not FIRST_YEAR <= shown <= this_year:
            raise InvalidInput(f"year must be from {FIRST_YEAR} to {this_year}", field="year", zh=f"年份应在 {FIRST_YEAR} 至 {this_year} 之间")
        rows = [await property_queries.overview(db, shown)] + [await engine_queries.overview(db, of, shown) for of in programmes()]
        return page(
            "finance_desk.html",
            principal,
            rows=rows,
            year=shown,
            years=list(range(this_year, FIRST_YEAR - 1, -1)),
            paid_fen=sum(r.paid_fen for r in rows),
            budget_fen=sum(r.budget_fen for r in rows),
            spent_fen=sum(r.spent_fen for r in rows),
        )


PAGES = [FinanceDesk]
