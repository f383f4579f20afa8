"""API routes of the subsidy (thin: parse, guard, call one use case, shape the answer)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role
from foundation.clock import utc_now
from foundation.errors import InvalidInput, NotFound
from foundation.paging import Page, PageRequest
from foundation.periods import QUARTER_PATTERN, Quarter
from foundation.ratios import parse_ratio
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.params import OptionalId, RecordId
from foundation.web.problems import problem_responses
from subsidies.engine import proposals
from subsidies.engine.proposals import proposal_out
from subsidies.engine.schemas import AdjustmentProposalOut
from subsidies.engine.tables import ProgrammeBatch, ProgrammeRun
from subsidies.property import cards, queries, schemas, service
from subsidies.property.rules import GRADES, RateCard, RateCardError

READ = problem_responses(400, 403, 404)
WRITE = problem_responses(400, 403, 404, 409, 422)
FINANCE = [allow(service.FINANCE, "subsidy runs and batches")]
QuarterPath = Annotated[str, Parameter(pattern=QUARTER_PATTERN, description="A quarter, e.g. 2026-Q3")]


async def prepare_batch_documents(state: State, principal: Principal, run_id: int, now: datetime) -> object:
    """The documents of the batch a run is about to be issued as at `now`, made before the transaction that issues it
    begins (rendering is slow; on SQLite a writing transaction holds the one write lock throughout), in a session of
    their own that writes nothing; by whoever the app factory names (the documents package, above this one). None
    when there is nothing to prepare (the run has its batch, or cannot be issued: issuing answers why)."""
    prepare = getattr(state, "prepare_batch_documents", None)
    if prepare is None:
        return None
    async with state.session_factory() as reading:
        batch = await service.prospective_batch(reading, principal, run_id, now)
        return None if batch is None else await prepare(reading, batch)


async def make_batch_documents(state: State, db: NamedDependency[AsyncSession], batch: ProgrammeBatch, prepared: object = None) -> None:
    """The documents of a batch are made as it is issued, in its transaction, by whoever the app factory names (the
    documents package, which sits above this one); those `prepared` for this very batch are stored as they were made."""
    make = getattr(state, "make_batch_documents", None)
    if make is not None:
        await make(db, batch, prepared)


async def issue_run_batch(state: State, db: NamedDependency[AsyncSession], principal: Principal, run_id: int) -> ProgrammeBatch:
    """Issue a run's batch with its documents (made before the batch's transaction writes, stored with it)."""
    now = utc_now()
    prepared = await prepare_batch_documents(state, principal, run_id, now)
    batch = await service.issue_batch(db, principal, run_id, now)
    await make_batch_documents(state, db, batch, prepared)
    return batch


class SubsidyController(Controller):
    path = "/api/subsidies"
    tags = ["subsidies"]
    guards = [logged_in]

    @get("/rate-cards", responses=READ)
    async def rate_cards(self, db: NamedDependency[AsyncSession]) -> list[schemas.RateCardOut]:
        """The rate cards in force, oldest first: each prices the days from its date until the next card's."""
        return await queries.cards_out(db)

    @post("/rate-cards", dto=StrictBody[schemas.RateCardIn], return_dto=None, guards=[allow(cards.ADMINS, "adding a rate card")], responses=WRITE)
    async def add_rate_card(self, data: JSONBody[schemas.RateCardIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.RateCardOut]:
        """Add a card from a future date (administrators)."""
        if set(data.coefficients) != set(GRADES):
            raise InvalidInput(f"coefficients are needed for exactly these grades: {', '.join(GRADES)}", zh=f"请为每个等级填写系数：{'、'.join(GRADES)}")
        try:
            card = RateCard(data.valid_from, data.rate_fen_per_m2_month, parse_ratio(data.city_share), {g: parse_ratio(v) for g, v in data.coefficients.items()})
        except ValueError as error:
            raise InvalidInput(f"city_share and coefficients: {error}", zh="市级分担比例和等级系数请写成 0 到 1 之间的小数，如 0.95（最多 4 位小数），不要写成 19/20 或 95%") from None
        try:
            await cards.add_rate_card(db, principal, card)
        except RateCardError as error:
            raise InvalidInput(str(error), zh="费率卡不成立：市级分担比例和各等级系数应在 0 到 1 之间，等级越好系数不能越低") from None
        return await queries.cards_out(db)

    @get("/runs", responses=READ)
    async def runs(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest]) -> Page[schemas.RunOut]:
        rows, total = await queries.list_runs(db, principal, paging)
        return Page([await queries.run_out(db, principal, r) for r in rows], total, paging.page, paging.page_size)

    @post("/runs", dto=StrictBody[schemas.RunIn], return_dto=None, guards=FINANCE, responses=WRITE)
    async def start_run(self, data: JSONBody[schemas.RunIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.RunOut:
        """Start a quarter's run (draft): every estate-month of locked months is priced day by day, one line per
        contract in force on its days; those with a pending veto, no score, no contract on any day or in a month not
        yet locked are held out, with the reason."""
        return await queries.run_out(db, principal, await service.start_run(db, principal, Quarter.parse(data.quarter), data.supplementary))

    @get("/runs/{run_id:int}", responses=READ)
    async def run(self, run_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.RunOut:
        """A run with its totals per street and company and what it held out (a street officer sees its street's part)."""
        return await queries.run_out(db, principal, await service.get_run(db, principal, run_id))

    @get("/runs/{run_id:int}/lines", responses=READ)
    async def lines(self, run_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], company_id: OptionalId = None, street_id: OptionalId = None) -> Page[schemas.LineOut]:
        """A run's lines: one per estate, month and contract, with score, grade, coefficient (decimal text), the
        contract's days and amounts in fen."""
        rows, total = await queries.run_lines(db, principal, run_id, paging, company_id, street_id)
        return Page(rows, total, paging.page, paging.page_size)

    @post("/runs/{run_id:int}/recompute", status_code=200, guards=FINANCE, responses=WRITE)
    async def recompute(self, run_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.RunOut:
        """Price a draft again (late locks, reviewed vetoes); the streets' confirmations are cleared."""
        return await queries.run_out(db, principal, await service.recompute_run(db, principal, run_id))

    @post("/runs/{run_id:int}/confirm", status_code=200, guards=[allow({Role.STREET_OFFICER}, "confirming a street's part")], responses=WRITE)
    async def confirm(self, run_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.RunOut:
        """A street officer confirms the street's part of a draft run."""
        return await queries.run_out(db, principal, await service.confirm_street(db, principal, run_id))

    @post("/runs/{run_id:int}/approve", status_code=200, guards=FINANCE, responses=WRITE)
    async def approve(self, run_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.RunOut:
        """Finance approves a run every street has confirmed; an approved run no longer changes."""
        return await queries.run_out(db, principal, await service.approve_run(db, principal, run_id))

    @post("/runs/{run_id:int}/batch", status_code=200, guards=FINANCE, responses=WRITE)
    async def issue_batch(self, run_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> schemas.BatchOut:
        """Issue the run's disbursement batch, exactly once: sending this again returns the same batch. Its
        documents are made and kept as it is issued."""
        batch = await issue_run_batch(state, db, principal, run_id)
        return queries.batch_out(batch, (await db.get_one(ProgrammeRun, run_id)).period)

    @get("/batches/{batch_id:int}", guards=FINANCE, responses=READ)
    async def batch(self, batch_id: RecordId, db: NamedDependency[AsyncSession]) -> schemas.BatchOut:
        row = (
            await db.execute(
                select(ProgrammeBatch, col(ProgrammeRun.period))
                .outerjoin(ProgrammeRun, col(ProgrammeRun.id) == col(ProgrammeBatch.run_id))
                .where(col(ProgrammeBatch.id) == batch_id, col(ProgrammeBatch.programme) == service.PROGRAMME)
            )
        ).first()
        if row is None:
            raise NotFound("batch", batch_id)
        return queries.batch_out(row[0], row[1])

    @post("/batches/{batch_id:int}/adjustments", dto=StrictBody[schemas.AdjustmentIn], return_dto=None, guards=FINANCE, responses=WRITE, status_code=202)
    async def adjust(self, batch_id: RecordId, data: JSONBody[schemas.AdjustmentIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> AdjustmentProposalOut:
        """Propose the correction of an issued batch (202: nothing is paid yet): each line gets the amount it should
        have paid. Another finance officer approves it (`POST /api/subsidies/adjustments/{id}/approve`), which issues a
        separate adjustment batch that references this one (the batch itself never changes). A retry with the same
        client id returns the same proposal."""
        corrections = [(c.line_id, c.amount_fen) for c in data.corrections]
        return proposal_out(await service.propose_adjustment(db, principal, batch_id, data.client_id, data.reason, corrections))

    @get("/adjustments", guards=FINANCE, responses=READ)
    async def adjustment_proposals(self, db: NamedDependency[AsyncSession]) -> list[AdjustmentProposalOut]:
        """The corrections proposed and waiting for another finance officer's approval, oldest first."""
        return [proposal_out(p) for p in await proposals.pending(db, service.PROGRAMME)]

    @post("/adjustments/{proposal_id:int}/approve", guards=FINANCE, responses=WRITE)
    async def approve_adjustment(self, proposal_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> schemas.BatchOut:
        """Approve a proposed correction (not your own): its adjustment batch is issued, once (a retry answers the same
        batch), with its documents."""
        batch = await service.approve_adjustment(db, principal, proposal_id)
        await make_batch_documents(state, db, batch)
        return queries.batch_out(batch, None)

    @post("/adjustments/{proposal_id:int}/withdraw", guards=FINANCE, responses=WRITE, status_code=200)
    async def withdraw_adjustment(self, proposal_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> AdjustmentProposalOut:
        """The proposer takes back a correction nobody has approved yet (409 once it is issued; sending it again
        answers the withdrawn proposal)."""
        return proposal_out(await service.withdraw_adjustment(db, principal, proposal_id))

    @get("/ledger/{quarter:str}", guards=[allow({Role.FINANCE, Role.ADMIN}, "reading the ledger")], responses=READ)
    async def ledger(self, quarter: QuarterPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.Reconciliation:
        """The quarter's ledger per company (city and district shares) reconciled against its batches."""
        return await queries.reconcile(db, principal, Quarter.parse(quarter))


ROUTES = [SubsidyController]
