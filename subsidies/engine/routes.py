"""The engine's API, the same for every registered programme (`code` in the path): runs, approval steps, batches,
adjustments and budgets. A programme's own package adds routes for what only it has."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal
from foundation.errors import PermissionDenied
from foundation.paging import Page, PageRequest
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.params import RecordId
from foundation.web.problems import problem_responses
from subsidies.engine import accounts, proposals, queries, schemas, service
from subsidies.engine.proposals import proposal_out
from subsidies.engine.registry import programme
from subsidies.engine.rules import Party
from subsidies.engine.tables import ProgrammeBatch

READ = problem_responses(400, 403, 404)
WRITE = problem_responses(400, 403, 404, 409, 422)
Code = Annotated[str, Parameter(pattern=r"^[a-z][a-z0-9_]{0,29}$", description="The programme's code")]
StepName = Annotated[str, Parameter(pattern=r"^[a-z][a-z0-9_]{0,29}$", description="An approval step of the programme")]
YearQuery = Annotated[int | None, Parameter(ge=2000, le=2100)]


async def make_programme_batch_documents(state: State, db: NamedDependency[AsyncSession], batch: ProgrammeBatch) -> None:
    """A batch's documents are made as it is issued, by whoever the app factory names (the documents package sits
    above this one)."""
    make = getattr(state, "make_programme_batch_documents", None)
    if make is not None:
        await make(db, batch)


class ProgrammeController(Controller):
    path = "/api/programmes/{code:str}"
    tags = ["programmes"]
    guards = [logged_in]

    @post("/runs", dto=StrictBody[schemas.ProgrammeRunIn], return_dto=None, responses=WRITE)
    async def start_programme_run(self, code: Code, data: JSONBody[schemas.ProgrammeRunIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ProgrammeRunOut:
        """Start the programme's run for a period (draft): the programme prices its lines; keys already paid are left out."""
        run = await service.start_run(db, principal, code, data.period, data.supplementary)
        return await queries.run_out(db, run)

    @get("/runs/{run_id:int}", responses=READ)
    async def programme_run(self, code: Code, run_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ProgrammeRunOut:
        of, run = await service.get_run(db, principal, run_id, code)
        return await queries.run_out(db, run, service.own_part(of, principal))

    @get("/runs/{run_id:int}/lines", responses=READ)
    async def programme_run_lines(self, code: Code, run_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest]) -> Page[schemas.ProgrammeLineOut]:
        of, _ = await service.get_run(db, principal, run_id, code)
        rows, total = await queries.run_lines(db, run_id, paging, service.own_part(of, principal))
        return Page(rows, total, paging.page, paging.page_size)

    @post("/runs/{run_id:int}/recompute", status_code=200, responses=WRITE)
    async def recompute_programme_run(self, code: Code, run_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ProgrammeRunOut:
        return await queries.run_out(db, await service.recompute_run(db, principal, run_id, code))

    @post("/runs/{run_id:int}/approvals/{step:str}", status_code=200, responses=WRITE)
    async def approve_programme_run(self, code: Code, run_id: RecordId, step: StepName, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ProgrammeRunOut:
        """Give one approval step (a per-holder step: your holder's part)."""
        run = await service.approve(db, principal, run_id, step, code)
        return await queries.run_out(db, run, service.own_part(programme(run.programme), principal))

    @post("/runs/{run_id:int}/batch", status_code=200, responses=WRITE)
    async def issue_programme_batch(self, code: Code, run_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> schemas.ProgrammeBatchOut:
        """Issue the run's batch, exactly once (sending it again returns the same batch); its documents are made as it
        is issued. 409 when the budget would go below zero."""
        batch = await service.issue_batch(db, principal, run_id, code)
        await make_programme_batch_documents(state, db, batch)
        _, period = await queries.get_batch(db, principal, batch.id or 0, code)
        return queries.batch_out(batch, period)

    @get("/batches/{batch_id:int}", responses=READ)
    async def programme_batch(self, code: Code, batch_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ProgrammeBatchOut:
        batch, period = await queries.get_batch(db, principal, batch_id, code)
        return queries.batch_out(batch, period)

    @post("/batches/{batch_id:int}/adjustments", dto=StrictBody[schemas.ProgrammeAdjustmentIn], return_dto=None, responses=WRITE, status_code=202)
    async def adjust_programme_batch(self, code: Code, batch_id: RecordId, data: JSONBody[schemas.ProgrammeAdjustmentIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.AdjustmentProposalOut:
        """Propose the correction of an issued batch (202: nothing is paid yet): each line gets the amount it should
        have paid. Another of the programme's officers approves it (`.../adjustments/{id}/approve`), which issues a
        separate adjustment batch that references this one. A retry with the same client id returns the same
        proposal; a line that pays what someone decided (a relief case, an activity claim) is never corrected upwards."""
        await queries.get_batch(db, principal, batch_id, code)
        corrections = [(c.line_id, c.amount_fen) for c in data.corrections]
        return proposal_out(await service.propose_adjustment(db, principal, batch_id, data.client_id, data.reason, corrections, code))

    @get("/adjustments", responses=READ)
    async def programme_adjustment_proposals(self, code: Code, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.AdjustmentProposalOut]:
        """The programme's corrections waiting for another officer's approval, oldest first."""
        of = programme(code)
        if principal.role not in of.runs_by:
            raise PermissionDenied(f"the adjustments of {code} are for those who issue its batches", zh="更正仅供签发该项目拨付批次的财政人员查看")
        return [proposal_out(p) for p in await proposals.pending(db, of.code)]

    @post("/adjustments/{proposal_id:int}/approve", responses=WRITE)
    async def approve_programme_adjustment(self, code: Code, proposal_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> schemas.ProgrammeBatchOut:
        """Approve a proposed correction (not your own): its adjustment batch is issued once, with its documents."""
        batch = await service.approve_adjustment(db, principal, code, proposal_id)
        await make_programme_batch_documents(state, db, batch)
        _, period = await queries.get_batch(db, principal, batch.id or 0, code)
        return queries.batch_out(batch, period)

    @post("/adjustments/{proposal_id:int}/withdraw", responses=WRITE, status_code=200)
    async def withdraw_programme_adjustment(self, code: Code, proposal_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.AdjustmentProposalOut:
        """The proposer takes back a correction nobody has approved yet (409 once it is issued; sending it again
        answers the withdrawn proposal)."""
        return proposal_out(await service.withdraw_adjustment(db, principal, code, proposal_id))

    @get("/budgets", responses=READ)
    async def programme_budgets(self, code: Code, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], year: YearQuery = None) -> list[schemas.ProgrammeBudgetOut]:
        """Each budget of the programme: granted, spent and left, in fen."""
        if principal.role not in service.readers(programme(code)):
            raise PermissionDenied(f"the budgets of {code} are for the programme's staff", zh="预算仅供该项目的经办人员查看")
        return await queries.budgets(db, code, year)

    @put("/budgets", dto=StrictBody[schemas.ProgrammeBudgetIn], return_dto=None, responses=WRITE)
    async def set_programme_budget(self, code: Code, data: JSONBody[schemas.ProgrammeBudgetIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.ProgrammeBudgetOut]:
        """Grant a year's budget (administrators); never below what was already paid out of it."""
        await service.set_budget(db, principal, code, data.year, data.holder, data.amount_fen)
        return await queries.budgets(db, code, data.year)


PayeeKind = Annotated[str, Parameter(pattern=r"^(organisation|community|street)$", description="What the payee is: organisation, community or street")]


def payee_out(party: Party, name: str, programmes: list[str], account: accounts.Account | None) -> schemas.PayeeAccountOut:
    return schemas.PayeeAccountOut(
        kind=party.kind, id=party.id, name=name, programmes=programmes, bank_name=account.bank_name if account else None, bank_account=account.bank_account if account else None,
        recorded_at=account.recorded_at if account else None, recorded_by=account.recorded_by if account else None,
    )


class PayeeAccountController(Controller):
    """The bank accounts the programmes' payees are paid into (the property companies' are on their registry rows)."""

    path = "/api/payee-accounts"
    tags = ["programmes"]
    guards = [logged_in]

    @get("/", guards=[allow(accounts.READERS, "reading the payees' bank accounts")], responses=READ)
    async def payee_accounts(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.PayeeAccountOut]:
        """Every payee of the programmes' lines with its account: those without one first (their payment notices say
        the account is not recorded)."""
        return [payee_out(p.party, p.name, list(p.programmes), p.account) for p in await accounts.payees(db, principal)]

    @put("/{kind:str}/{payee_id:int}", dto=StrictBody[schemas.PayeeAccountIn], return_dto=None, guards=[allow(accounts.RECORDERS, "recording a payee's bank account")], responses=WRITE)
    async def record_payee_account(self, kind: PayeeKind, payee_id: RecordId, data: JSONBody[schemas.PayeeAccountIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.PayeeAccountOut:
        """Record a payee's account (administrators; both fields empty removes it). Batches issued afterwards print
        it; documents already issued keep what they were issued with."""
        party = Party(kind, payee_id)
        account = await accounts.record_account(db, principal, party, data.bank_name, data.bank_account)
        payee = next(iter(await accounts.payees(db, principal, only=party)), None)
        return payee_out(party, payee.name if payee else (await accounts.name_of(db, party) or ""), list(payee.programmes) if payee else [], account)


ROUTES = [ProgrammeController, PayeeAccountController]
