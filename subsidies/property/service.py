"""Use cases of the property subsidy, on the programme engine (subsidies/property/programme.py registers it):
quarterly runs (draft → confirmed by every street → approved by finance → disbursed), exactly-once disbursement
batches, the ledger and adjustments are the engine's; here they are asked in the subsidy's own words (a quarter, a
street's part, the company paid), with the checks that answer a person in them before the engine's. Each flushes
its changes, every transition audited; the caller's transaction stores them whole or not at all."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment.queries import locked_streets
from foundation.access import Principal, Role, require_role
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.periods import Quarter, period_zh
from foundation.process_locks import transaction_lock
from subsidies.engine import proposals
from subsidies.engine import service as engine
from subsidies.engine.tables import AdjustmentProposal, ProgrammeBatch, ProgrammeRun
from subsidies.property.programme import CODE, PROPERTY
from subsidies.property.queries import confirmations, street_of
from subsidies.property.tables import LegacyRun

FINANCE = frozenset({Role.FINANCE})
STREET = frozenset({Role.STREET_OFFICER})
PROGRAMME = CODE  # the property subsidy's runs, batches and proposals among the programmes'


async def start_run(session: AsyncSession, actor: Principal, quarter: Quarter, supplementary: bool) -> ProgrammeRun:
    """Finance starts a quarter's run (a supplementary one picks up what earlier runs held out)."""
    require_role(actor, FINANCE, "starting a subsidy run")
    period = PROPERTY.check_period(str(quarter))
    await transaction_lock(session, f"programme-run|{CODE}|{period}")  # the engine's: two finance officers at once, one run
    running = await engine.open_run(session, CODE, period)
    if running is not None:
        raise Conflict(f"run {running} of {quarter} is not disbursed yet; finish or recompute it", zh="该季度已有一个未拨付的核算，请先完成或重算它", field="quarter")
    earlier = (await session.execute(select(func.count()).where(col(ProgrammeRun.programme) == CODE, col(ProgrammeRun.period) == period))).scalar_one()
    if earlier and not supplementary:
        raise Conflict(f"{quarter} already has a run; start a supplementary run for what it held out", zh=f"{quarter} 已核算过；如需补算暂缓项，请选择补充核算", field="quarter")
    try:
        return await engine.start_run(session, actor, CODE, period, supplementary)
    except engine.NothingToPay:  # the caller's transaction stores nothing of the run
        raise await _nothing_payable(session, quarter) from None


async def _nothing_payable(session: AsyncSession, quarter: Quarter) -> RuleViolation:
    """Why a run would have no line: no street has locked a month yet, or everything is paid or held out."""
    if not [m for m in quarter.months if await locked_streets(session, m)]:
        return RuleViolation(
            f"no street has locked a month of {quarter}: nothing of it can be priced yet",
            zh=f"{period_zh(str(quarter))}还没有任何街道锁定月度考核，没有可核算的区片月；请待街道锁定后再发起核算",
            field="quarter",
        )
    return RuleViolation(
        f"nothing of {quarter} is payable: every estate-month is paid already or held out",
        zh=f"{period_zh(str(quarter))}没有可拨付的区片月（均已拨付或仍需暂缓），无需发起核算",
        field="quarter",
    )


async def get_run(session: AsyncSession, actor: Principal, run_id: int) -> ProgrammeRun:
    if actor.role not in (Role.FINANCE, Role.ADMIN, Role.STREET_OFFICER):
        raise PermissionDenied("subsidy runs are for finance, administrators and street officers", zh="补贴核算仅供财政人员、区管理员和街道办查看")
    run = await session.get(ProgrammeRun, run_id)
    if run is None or run.programme != CODE:
        raise NotFound("subsidy run", run_id)
    return run


async def recompute_run(session: AsyncSession, actor: Principal, run_id: int) -> ProgrammeRun:
    require_role(actor, FINANCE, "recomputing a subsidy run")
    run = await get_run(session, actor, run_id)
    if run.state != "draft":
        raise Conflict(f"run {run_id} is {run.state}; only a draft is recomputed", zh="只有草稿状态的核算可以重算")
    return await engine.recompute_run(session, actor, run_id, CODE)


async def street_totals(session: AsyncSession, run_id: int) -> dict[int, int]:
    """Each street's total in fen."""
    return {street_of(holder): total for holder, total in (await engine.holder_totals(session, run_id)).items()}


async def confirm_street(session: AsyncSession, actor: Principal, run_id: int) -> ProgrammeRun:
    """A street officer confirms the street's part; when every street with lines has, the run is confirmed."""
    require_role(actor, STREET, "confirming a street's part of a run")
    run = await get_run(session, actor, run_id)
    if run.state != "draft":
        raise Conflict(f"run {run_id} is {run.state}; streets confirm a draft", zh="只有草稿状态的核算需要街道确认")
    if actor.street_id not in await street_totals(session, run_id):
        raise RuleViolation("your street has no lines in this run", zh="本核算中没有您街道的区片")
    if any(street_of(c.holder) == actor.street_id for c in await confirmations(session, run_id)):
        raise Conflict("your street has already confirmed this run", zh="您街道已确认过本核算")
    return await engine.approve(session, actor, run_id, "confirm", CODE)


async def approve_run(session: AsyncSession, actor: Principal, run_id: int) -> ProgrammeRun:
    require_role(actor, FINANCE, "approving a subsidy run")
    run = await get_run(session, actor, run_id)
    if run.state != "confirmed":
        raise Conflict(f"run {run_id} is {run.state}; finance approves a run every street has confirmed", zh="各街道全部确认后才能审批")
    return await engine.approve(session, actor, run_id, "approve", CODE)


async def former_id(session: AsyncSession, run_id: int) -> int | None:
    """The id a run had before it moved onto the engine (migration 0049), by which the audit log names what was done
    to it then; None for a run made on the engine."""
    return (await session.execute(select(col(LegacyRun.legacy_id)).where(col(LegacyRun.run_id) == run_id))).scalar()


async def made_run(session: AsyncSession, actor: Principal, run: ProgrammeRun) -> bool:
    """Whether `actor` started, recomputed or confirmed a part of the run (and so does not approve it)."""
    return actor.user_id is not None and actor.user_id in await engine.makers_of(session, run, "approve")


# Disbursement


async def prospective_batch(session: AsyncSession, actor: Principal, run_id: int, now: datetime) -> ProgrammeBatch | None:
    """The batch `issue_batch(..., now=now)` would store, read without writing (None: the run has its batch already,
    or is not approved, and issuing will answer that). Its documents can be made from it before the transaction that
    issues it begins: rendering them is slow, and on SQLite a writing transaction holds the one write lock."""
    require_role(actor, FINANCE, "issuing a disbursement batch")
    await get_run(session, actor, run_id)
    return await engine.prospective_batch(session, actor, run_id, now)


async def issue_batch(session: AsyncSession, actor: Principal, run_id: int, now: datetime | None = None) -> ProgrammeBatch:
    """Issue the batch of an approved run, once: a retry, a double click or a colleague at the same moment gets the
    same batch. Each line's estate-month-contract is recorded as paid (the database refuses a second payment) and
    becomes ledger entries for the city's and the district's shares (the engine's)."""
    require_role(actor, FINANCE, "issuing a disbursement batch")
    await get_run(session, actor, run_id)
    return await engine.issue_batch(session, actor, run_id, CODE, now)


async def run_batch(session: AsyncSession, run_id: int) -> ProgrammeBatch | None:
    return await engine.batch_of_run(session, run_id)


# Adjustments: proposed by one finance officer, approved (and so issued) by another (subsidies.engine.proposals).


async def propose_adjustment(session: AsyncSession, actor: Principal, batch_id: int, client_id: str, reason: str, corrections: list[tuple[int, int]]) -> AdjustmentProposal:
    original = await session.get(ProgrammeBatch, batch_id)
    if original is None or original.programme != CODE or original.run_id is None:
        raise NotFound("issued batch", batch_id)

    async def check(db: AsyncSession, batch: int, wanted: list[tuple[int, int]]) -> int:
        return await engine.check_adjustment(db, actor, batch, wanted)

    return await proposals.propose(session, actor, CODE, FINANCE, batch_id, client_id, reason, corrections, check, "物业补贴", f"/subsidies/runs/{original.run_id}")


async def approve_adjustment(session: AsyncSession, actor: Principal, proposal_id: int) -> ProgrammeBatch:
    return await engine.approve_adjustment(session, actor, CODE, proposal_id)


async def withdraw_adjustment(session: AsyncSession, actor: Principal, proposal_id: int) -> AdjustmentProposal:
    return await engine.withdraw_adjustment(session, actor, CODE, proposal_id)
