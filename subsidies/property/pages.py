"""Finance's desk: quarterly subsidy runs with their totals per street and company, what was held out and why,
the streets' confirmations, approval, the disbursement batch and its documents. The same services as the API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role
from foundation.clock import utc_now
from foundation.duties import SEPARATIONS, Duty
from foundation.errors import DomainError, NotFound, PermissionDenied
from foundation.paging import PageRequest
from foundation.periods import Quarter, last_ended_quarter
from foundation.web.auth import allow
from foundation.web.flash import flashed
from foundation.web.layout import attempt, form_error, page
from foundation.web.problems import status_of
from registry import queries as registry_queries
from subsidies.engine import proposals
from subsidies.engine.tables import ProgrammeBatch
from subsidies.property import queries, service
from subsidies.property.routes import make_batch_documents, prepare_batch_documents
from subsidies.property.schemas import RunOut, StreetTotal

DESK = {Role.FINANCE, Role.ADMIN, Role.STREET_OFFICER}
RUN_STATE_NAMES = {"draft": "草稿（待街道确认）", "confirmed": "各街道已确认（待审批）", "approved": "已审批", "disbursed": "已签发拨付批次"}
HELD_OUT_NAMES = {
    "month_not_locked": "该月考核未锁定",
    "veto_pending": "一票否决待审核",
    "no_contract": "无在履行的服务合同",
    "no_score": "该月无得分",
}


RUN_ACTIONS_DONE = {"recompute": "补贴已重算。", "approve": "补贴核算已审批通过。", "batch": "拨付批次已生成，拨付文件已生成。", "confirm": "本街道补贴已确认。"}


class SubsidyPages(Controller):
    path = "/subsidies"
    include_in_schema = False
    guards = [allow(DESK, "subsidy runs")]

    @get("/runs")
    async def runs(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await _runs_page(db, principal)

    @post("/runs", guards=[allow(service.FINANCE, "starting a subsidy run")])
    async def start_run(self, data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        typed = {"quarter": (data.get("quarter") or "").strip(), "supplementary": data.get("supplementary") or ""}
        try:
            async with attempt(db):  # refused: what it flushed is undone, so the page shows what is stored
                quarter = Quarter.parse(typed["quarter"], "quarter")
                run = await service.start_run(db, principal, quarter, typed["supplementary"] == "on")
        except DomainError as exc:
            return await _runs_page(db, principal, errors=form_error(exc), typed=typed)
        return flashed(Redirect(path=f"/subsidies/runs/{run.id}"), "补贴核算已发起。")

    @get("/runs/{run_id:int}")
    async def run(self, run_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await _run_page(db, principal, run_id)

    @post("/runs/{run_id:int}/adjustments/{proposal_id:int}/approve", guards=[allow(service.FINANCE, "approving an adjustment")])
    async def approve_adjustment(self, run_id: FromPath[int], proposal_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> Response[Any]:
        """Another finance officer approves a proposed correction: its adjustment batch is issued with its summary."""
        try:
            async with attempt(db):
                batch = await service.approve_adjustment(db, principal, proposal_id)
                await make_batch_documents(state, db, batch)
        except DomainError as exc:
            response = await _run_page(db, principal, run_id, errors=form_error(exc))
            response.status_code = status_of(exc)
            return response
        return flashed(Redirect(path=f"/subsidies/runs/{run_id}#batch"), f"更正已审批，调整批次 {batch.number} 已签发。")

    @post("/runs/{run_id:int}/adjustments/{proposal_id:int}/withdraw", guards=[allow(service.FINANCE, "withdrawing an adjustment")])
    async def withdraw_adjustment(self, run_id: FromPath[int], proposal_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        """The proposer takes back a correction nobody has approved yet."""
        try:
            async with attempt(db):
                await service.withdraw_adjustment(db, principal, proposal_id)
        except DomainError as exc:
            response = await _run_page(db, principal, run_id, errors=form_error(exc))
            response.status_code = status_of(exc)
            return response
        return flashed(Redirect(path=f"/subsidies/runs/{run_id}#batch"), "更正已撤回。")

    @post("/runs/{run_id:int}/{action:str}")
    async def act(self, run_id: FromPath[int], action: FromPath[str], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> Response[Any]:
        """recompute, confirm (a street officer), approve, batch: each the API's use case, refused the same way."""
        now = utc_now()
        steps: dict[str, tuple[Collection[Role], Callable[[AsyncSession, Principal, int], Awaitable[object]]]] = {
            "recompute": (service.FINANCE, service.recompute_run),
            "approve": (service.FINANCE, service.approve_run),
            "batch": (service.FINANCE, lambda db, principal, run_id: service.issue_batch(db, principal, run_id, now)),
            "confirm": ({Role.STREET_OFFICER}, service.confirm_street),
        }
        if action not in steps:
            raise NotFound("run action", action)
        roles, use_case = steps[action]
        try:
            if principal.role not in roles:
                raise PermissionDenied(f"{action} is not for {principal.role.value}", zh="您的岗位不能进行此操作")
            # A batch's documents are made before its transaction begins, and stored with it (subsidies.property.routes).
            prepared = await prepare_batch_documents(state, principal, run_id, now) if action == "batch" else None
            async with attempt(db):  # refused: what it flushed is undone, so the page shows what is stored
                done = await use_case(db, principal, run_id)
                if isinstance(done, ProgrammeBatch):
                    await make_batch_documents(state, db, done, prepared)
        except DomainError as exc:
            response = await _run_page(db, principal, run_id, errors=form_error(exc))
            response.status_code = status_of(exc)
            return response
        return flashed(Redirect(path=f"/subsidies/runs/{run_id}"), RUN_ACTIONS_DONE[action])


async def _runs_page(db: NamedDependency[AsyncSession], principal: NamedDependency[Principal], errors: dict[str, str] | None = None, typed: dict[str, str] | None = None) -> Template:
    rows, total = await queries.list_runs(db, principal, PageRequest(1, 100))
    response = page(
        "runs.html",
        principal,
        runs=[await queries.run_out(db, principal, r) for r in rows],
        total=total,
        state_names=RUN_STATE_NAMES,
        suggested=str(last_ended_quarter(utc_now())),
        errors=errors or {},
        typed=typed or {},
    )
    if errors:
        response.status_code = 422
    return response


async def _run_page(db: NamedDependency[AsyncSession], principal: NamedDependency[Principal], run_id: int, errors: dict[str, str] | None = None) -> Template:
    run_row = await service.get_run(db, principal, run_id)
    run = await queries.run_out(db, principal, run_row)
    batch = await service.run_batch(db, run_id)
    # The adjustment batches correcting it, shown under it with their summaries.
    adjustments = (
        list((await db.execute(select(ProgrammeBatch).where(col(ProgrammeBatch.corrects_batch_id) == batch.id).order_by(col(ProgrammeBatch.id)))).scalars()) if batch else []
    )
    # Corrections proposed and waiting for another finance officer (finance and administrators see them).
    waiting = [p for p in await proposals.pending(db, service.PROGRAMME) if batch is not None and p.batch_id == batch.id] if principal.role in (Role.FINANCE, Role.ADMIN) else []
    mine = next((s for s in run.streets if s.street_id == principal.street_id), None)
    # A street's officer reads the batch as their street's part: what its lines paid, and what corrections changed.
    street_corrected = await queries.street_corrections(db, [a.id or 0 for a in adjustments], principal.street_id) if principal.street_id and adjustments else 0
    # Whoever priced or confirmed the run sees why the approval is not theirs to give (foundation/duties.py).
    own_run = await service.made_run(db, principal, run_row)
    return page(
        "run.html",
        principal,
        run=run,
        batch=batch,
        adjustments=adjustments,
        street_corrected=street_corrected,
        proposals=[(p, proposals.corrections_of(p)) for p in waiting],
        own_adjustment=SEPARATIONS[Duty.APPROVE_OWN_ADJUSTMENT].message_zh,
        mine=mine,
        streets=await _street_rows(db, principal, run),
        held_groups=await _held_out_groups(db, run),
        unconfirmed=[s.street_name for s in run.streets if s.confirmed_at is None],
        own_run=SEPARATIONS[Duty.APPROVE_OWN_RUN].message_zh if own_run else None,
        former_id=await service.former_id(db, run_id),
        state_names=RUN_STATE_NAMES,
        held_out_names=HELD_OUT_NAMES,
        errors=errors or {},
    )


class CompanyPaymentPages(Controller):
    """A property company's subsidy payments: each batch that paid it, with its payment notice (拨付通知书)."""

    path = "/subsidies/payments"
    include_in_schema = False
    guards = [allow({Role.COMPANY}, "the company's subsidy payments")]

    @get("/")
    async def payments(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("payments.html", principal, payments=await queries.company_payments(db, principal.company_id or 0))


@dataclass(frozen=True)
class StreetRow:
    """A street as the run page lists it: what it is paid, what of it was held out and why (each reason with its
    months and how many estate-months), or that nothing of it is payable."""

    street_id: int
    street_name: str
    total: StreetTotal | None
    held_out: int
    reasons: list[tuple[str, list[str], int]]  # (reason, [months], estate-months)


async def _street_rows(db: AsyncSession, principal: Principal, run: RunOut) -> list[StreetRow]:
    """Every street in the reader's scope, those with nothing payable too (they are not asked to confirm, but
    finance sees that they were not forgotten, and why nothing of theirs is paid: to ask them)."""
    priced = {s.street_id: s for s in run.streets}
    held = Counter(h.street_id for h in run.held_out)
    reasons: dict[int, dict[str, tuple[set[str], list[int]]]] = {}
    for h in run.held_out:
        months, counted = reasons.setdefault(h.street_id, {}).setdefault(h.reason, (set(), [0]))
        months.add(h.month)
        counted[0] += 1
    order = list(HELD_OUT_NAMES)
    streets = [s for s in await registry_queries.streets(db) if principal.role is not Role.STREET_OFFICER or s.id == principal.street_id]
    return [
        StreetRow(
            s.id, s.name, priced.get(s.id), held[s.id],
            [
                (reason, sorted(months), counted[0])
                for reason, (months, counted) in sorted(reasons.get(s.id, {}).items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))
            ],
        )
        for s in streets
    ]


@dataclass(frozen=True)
class HeldOutGroup:
    """The held-out estate-months of one reason, by street, each estate by name with its months."""

    reason: str
    count: int
    streets: list[tuple[str, list[tuple[str, str, list[str]]]]]  # (street, [(estate name, code, [months])])


async def _held_out_groups(db: AsyncSession, run: RunOut) -> list[HeldOutGroup]:
    estates = await registry_queries.estates(db, {h.estate_id for h in run.held_out})
    street_names = {s.id: s.name for s in await registry_queries.streets(db)}
    grouped: dict[str, dict[int, dict[int, list[str]]]] = {}
    for h in run.held_out:
        grouped.setdefault(h.reason, {}).setdefault(h.street_id, {}).setdefault(h.estate_id, []).append(h.month)
    order = list(HELD_OUT_NAMES)
    groups = []
    for reason in sorted(grouped, key=lambda r: order.index(r) if r in order else len(order)):
        by_street = grouped[reason]
        groups.append(
            HeldOutGroup(
                reason=reason,
                count=sum(len(months) for estates_of in by_street.values() for months in estates_of.values()),
                streets=[
                    (
                        street_names.get(street_id, str(street_id)),
                        sorted(
                            ((estates[e].name if e in estates else str(e), estates[e].code if e in estates else "", sorted(months)) for e, months in by_street[street_id].items()),
                            key=lambda row: row[1],
                        ),
                    )
                    for street_id in sorted(by_street)
                ],
            )
        )
    return groups


PAGES = [SubsidyPages, CompanyPaymentPages]
