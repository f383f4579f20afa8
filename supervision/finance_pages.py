"""The district finance desk: every programme that pays through the system on one page — the property subsidy and
each programme of the money engine — with its year's budget, what was paid, what is left and what waits."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.clock import business_today
from foundation.errors import DomainError, InvalidInput
from foundation.web.auth import allow
from foundation.web.flash import flashed
from foundation.web.layout import attempt, page, refused
from subsidies.engine import accounts
from subsidies.engine import queries as engine_queries
from subsidies.engine.registry import programmes
from subsidies.engine.rules import Party
from subsidies.property.programme import CODE as PROPERTY

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
        # The property subsidy first, then the other programmes by code.
        rows = [await engine_queries.overview(db, of, shown) for of in sorted(programmes(), key=lambda of: (of.code != PROPERTY, of.code))]
        return page(
            "finance_desk.html",
            principal,
            rows=rows,
            year=shown,
            years=list(range(this_year, FIRST_YEAR - 1, -1)),
            paid_fen=sum(r.paid_fen for r in rows),
            budget_fen=sum(r.budget_fen for r in rows),
            spent_fen=sum(r.spent_fen for r in rows),
            payees_without_account=await accounts.without_account(db, principal),
        )


class PayeeAccountPages(Controller):
    """The bank accounts the programmes' payees are paid into: finance sees which are missing (their payment notices
    say so), the administrator records them."""

    path = "/programmes/payees"
    include_in_schema = False
    guards = [allow(accounts.READERS, "the payees' bank accounts")]

    async def _context(self, db: AsyncSession, principal: Principal) -> dict[str, Any]:
        return {"payees": await accounts.payees(db, principal), "kinds": accounts.PAYEE_KINDS, "may_edit": principal.role in accounts.RECORDERS, "typed": {}}

    @get("/")
    async def payees(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("payees.html", principal, errors={}, **await self._context(db, principal))

    @post("/{kind:str}/{payee_id:int}", guards=[allow(accounts.RECORDERS, "recording a payee's bank account")])
    async def record(
        self, kind: FromPath[str], payee_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
        principal: NamedDependency[Principal], db: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        typed = {"bank_name": (data.get("bank_name") or "").strip(), "bank_account": (data.get("bank_account") or "").strip()}
        try:
            async with attempt(db):
                account = await accounts.record_account(db, principal, Party(kind, payee_id), typed["bank_name"], typed["bank_account"])
        except DomainError as exc:
            context = await self._context(db, principal)
            return refused("payees.html", principal, exc, **(context | {"typed": {f"{kind}:{payee_id}": typed}}))
        done = "收款账户已保存，此后签发的拨付通知书和明细表将载明该账户。" if account else "收款账户已删除。"
        return flashed(Redirect(self.path, status_code=303), done)


PAGES = [FinanceDesk, PayeeAccountPages]
