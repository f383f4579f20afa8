"""The runs page of a programme on the engine, as finance (and the streets, where the programme's steps ask them)
work it: start a period's run, give a step's approval, issue the batch with its documents, make the documents a
batch lacks. A programme's package subclasses `ProgrammeRunPages` with its path, guards, template and words; the
engine imports no programme."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, ClassVar

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal
from foundation.clock import business_today
from foundation.duties import SEPARATIONS, Duty
from foundation.errors import Conflict, DomainError
from foundation.periods import Month
from foundation.web.flash import flashed
from foundation.web.layout import attempt, page, refused
from subsidies.engine import proposals
from subsidies.engine import queries as engine_queries
from subsidies.engine import service as engine
from subsidies.engine.registry import programme
from subsidies.engine.routes import make_programme_batch_documents
from subsidies.engine.tables import AdjustmentProposal


class ProgrammeRunPages(Controller):
    """A programme's runs (set `path`, `guards`, `code`, `template`, `states` and `started_zh` in the subclass)."""

    include_in_schema = False
    code: ClassVar[str]
    template: ClassVar[str]
    states: ClassVar[Mapping[str, str]]  # run state → its Chinese name
    started_zh: ClassVar[str]  # the confirmation once a run is started
    # A period already run gets a supplementary run (what was approved since): relief cases, activity claims.
    supplements: ClassVar[bool] = False
    step_buttons: ClassVar[Mapping[str, str]] = {}  # an approval step's button (and what the run's starter reads)

    async def start_run(self, db: AsyncSession, principal: Principal, period: str) -> None:
        """Start the period's run; with `supplements`, a later run of the same period is a supplementary one."""
        supplementary = False
        if self.supplements:
            checked = programme(self.code).check_period(period)
            supplementary = await engine_queries.runs_of_period(db, self.code, checked) > 0
        await engine.start_run(db, principal, self.code, period, supplementary=supplementary)

    async def _context(self, db: AsyncSession) -> dict[str, Any]:
        today = Month.of(business_today())
        runs = await engine_queries.runs_of(db, self.code)
        adjustments = await engine_queries.adjustments_of(db, [run.batch_id for run in runs if run.batch_id is not None])
        waiting: dict[int, list[tuple[AdjustmentProposal, list[tuple[int, int]]]]] = {}
        for proposal in await proposals.pending(db, self.code):
            waiting.setdefault(proposal.batch_id, []).append((proposal, proposals.corrections_of(proposal)))
        return {
            "runs": runs, "adjustments": adjustments, "proposals": waiting, "own_adjustment": SEPARATIONS[Duty.APPROVE_OWN_ADJUSTMENT].message_zh,
            "path": self.path.strip("/"), "states": self.states, "step_buttons": self.step_buttons, "month": today, "previous": today.previous(), "programme": programme(self.code),
        }

    async def _attempt(self, db: AsyncSession, principal: Principal, action: Callable[[], Awaitable[object]], done_zh: str, **typed: str) -> Template | Redirect:
        """Do `action` (foundation.web.layout.attempt): refused half-way, what it wrote is undone before the page is
        shown again, so the page never shows a step as done that the refusal undoes; `typed` (what the form was sent
        with) fills the form again."""
        try:
            async with attempt(db):
                await action()
        except DomainError as exc:
            return refused(self.template, principal, exc, **(await self._context(db) | typed))
        return flashed(Redirect(self.path, status_code=303), done_zh)

    @get("/")
    async def runs(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page(self.template, principal, errors={}, **await self._context(db))

    @post("/start")
    async def start(self, data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        period = data.get("period", "")
        return await self._attempt(db, principal, lambda: self.start_run(db, principal, period), self.started_zh, typed_period=period)

    @post("/{run_id:int}/approvals/{step:str}")
    async def approve(self, run_id: FromPath[int], step: FromPath[str], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        return await self._attempt(db, principal, lambda: engine.approve(db, principal, run_id, step, self.code), "审批意见已保存。")

    @post("/adjustments/{proposal_id:int}/approve")
    async def approve_adjustment(self, proposal_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> Template | Redirect:
        """Another officer approves a proposed correction: its adjustment batch is issued with its summary."""

        async def approve_with_documents() -> None:
            batch = await engine.approve_adjustment(db, principal, self.code, proposal_id)
            await make_programme_batch_documents(state, db, batch)

        return await self._attempt(db, principal, approve_with_documents, "更正已审批，调整批次已签发。")

    @post("/adjustments/{proposal_id:int}/withdraw")
    async def withdraw_adjustment(self, proposal_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        """The proposer takes back a correction nobody has approved yet."""
        return await self._attempt(db, principal, lambda: engine.withdraw_adjustment(db, principal, self.code, proposal_id), "更正已撤回。")

    @post("/{run_id:int}/batch")
    async def issue(self, run_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> Template | Redirect:
        async def issue_with_documents() -> None:
            batch = await engine.issue_batch(db, principal, run_id, self.code)
            await make_programme_batch_documents(state, db, batch)

        return await self._attempt(db, principal, issue_with_documents, "拨付批次已生成，拨付文件已生成。")

    @post("/{run_id:int}/documents")
    async def documents(self, run_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> Template | Redirect:
        """Make a batch's documents that were not made as it was issued (a batch issued by the demo loader or a
        command, or when the CJK font was missing); those already made are kept as they are."""

        async def missing_documents() -> None:
            await engine.get_run(db, principal, run_id, self.code)
            batch = await engine.batch_of_run(db, run_id)
            if batch is None:
                raise Conflict(f"run {run_id} has no batch yet", zh="该核算尚未生成拨付批次")
            await make_programme_batch_documents(state, db, batch)

        return await self._attempt(db, principal, missing_documents, "拨付文件已生成。")
