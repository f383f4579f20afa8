"""Use cases of the engine, for any registered programme: runs (draft → each approval step → disbursed), budgets,
exactly-once batches with their ledger entries, and adjustments. Each flushes its changes, every one audited; the
caller's transaction (the request's, or a job's unit of work) stores them whole or not at all."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import actors_of, record_change
from foundation.clock import utc_now
from foundation.duties import Duty, keep_apart
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.money import yuan
from foundation.periods import period_zh
from foundation.process_locks import transaction_lock
from people.queries import principals_of_roles
from people.waiting import done, waits
from subsidies.engine import proposals
from subsidies.engine.registry import Programme, programme
from subsidies.engine.rules import (
    DISBURSED,
    DRAFT,
    CorrectionError,
    Draw,
    Party,
    Step,
    batch_checksum,
    budget_draws,
    check_corrected_lines,
    correction,
    price_lines,
    short_of,
    state_before,
    step_done,
)
from subsidies.engine.tables import (
    AdjustmentProposal,
    Budget,
    PaidLine,
    ProgrammeAdjustment,
    ProgrammeApproval,
    ProgrammeBatch,
    ProgrammeLedgerEntry,
    ProgrammeLine,
    ProgrammeRun,
)

ATTEMPTS = 4


class NothingToPay(RuleViolation):
    """A run would have no line: refused (a scheduled job that drafts runs skips the period instead)."""


OPEN = "open"  # any state before disbursed
ADMINS = frozenset({Role.ADMIN})


def readers(of: Programme) -> frozenset[Role]:
    return of.reads | of.runs_by | frozenset().union(*(s.roles for s in of.steps))


async def get_run(session: AsyncSession, actor: Principal, run_id: int, code: str | None = None) -> tuple[Programme, ProgrammeRun]:
    """The run and its programme, for whoever may see its runs (`code`: the run must be of that programme)."""
    run = await session.get(ProgrammeRun, run_id)
    if run is None or (code is not None and run.programme != code):
        raise NotFound("run", run_id)
    of = programme(run.programme)
    if actor.role not in readers(of):
        raise PermissionDenied(f"runs of {of.code} are for {', '.join(sorted(r.value for r in readers(of)))}", zh=f"{of.name}的核算仅供经办和审批人员查看")
    return of, run


def own_part(of: Programme, actor: Principal) -> str | None:
    """The holder whose lines alone `actor` reads in a run (a street officer confirming their street's part: their
    street's), or None for the whole run (whoever runs the programme, reads it, or gives a step for the whole run)."""
    if actor.role in of.runs_by or actor.role in of.reads or any(actor.role in s.roles and not s.per_holder for s in of.steps):
        return None
    own = of.holder_of(actor)
    return str(own) if own is not None else "-"  # "-": no holder of theirs, no line


async def paid_keys(session: AsyncSession, code: str, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found |= set((await session.execute(select(col(PaidLine.line_key)).where(col(PaidLine.programme) == code, col(PaidLine.line_key).in_(chunk)))).scalars())
    return found


async def price_run(session: AsyncSession, of: Programme, run: ProgrammeRun) -> None:
    """(Re)build a draft run's lines from what the programme prices for the period, leaving out the keys paid."""
    if of.forget_detail is not None:
        await of.forget_detail(session, run.id or 0)
    await session.execute(delete(ProgrammeLine).where(col(ProgrammeLine.run_id) == run.id))
    priced = await of.price(session, run.period)
    paid = await paid_keys(session, of.code, [line.key for line in priced.lines])
    payers = of.payers()
    run.rules_sha256 = priced.rules_sha256
    stored: dict[str, ProgrammeLine] = {}
    for line in price_lines(priced.lines, payers.city_share, payers.split, paid):
        draft = line.draft
        stored[draft.key] = ProgrammeLine(
            run_id=run.id or 0, programme=of.code, line_key=draft.key, payee_kind=draft.payee.kind, payee_id=draft.payee.id, holder=str(draft.holder),
            beneficiary=str(draft.beneficiary), period=draft.period, amount_fen=draft.amount_fen, city_fen=line.city_fen, district_fen=line.district_fen,
            reason=draft.reason, evidence=draft.evidence, rules_sha256=priced.rules_sha256,
        )
        session.add(stored[draft.key])
    run.computed_at = utc_now()
    await session.flush()
    if of.keep_detail is not None:
        await of.keep_detail(session, run, priced, {key: line.id or 0 for key, line in stored.items()})
        await session.flush()


async def open_run(session: AsyncSession, code: str, period: str) -> int | None:
    return (
        await session.execute(select(col(ProgrammeRun.id)).where(col(ProgrammeRun.programme) == code, col(ProgrammeRun.period) == period, col(ProgrammeRun.state) != DISBURSED))
    ).scalar()


async def start_run(session: AsyncSession, actor: Principal, code: str, period: str, supplementary: bool = False) -> ProgrammeRun:
    """Start a programme's run for a period (a supplementary one picks up what earlier runs could not pay): one open
    run per programme and period, even when two people start it at the same moment."""
    of = programme(code)
    require_role(actor, of.runs_by, f"starting a run of {of.code}")
    period = of.check_period(period)
    await transaction_lock(session, f"programme-run|{of.code}|{period}")
    running = await open_run(session, of.code, period)
    if running is not None:
        raise Conflict(f"run {running} of {period} is not disbursed yet; finish or recompute it", zh="该期间已有一个未拨付的核算，请先完成或重算它", field="period")
    earlier = (await session.execute(select(func.count()).where(col(ProgrammeRun.programme) == of.code, col(ProgrammeRun.period) == period))).scalar_one()
    if earlier and not supplementary:
        raise Conflict(f"{period} already has a run; start a supplementary run for what it could not pay", zh=f"{period} 已核算过；如需补算，请选择补充核算", field="period")
    now = utc_now()
    run = ProgrammeRun(programme=of.code, period=period, supplementary=supplementary, state=DRAFT, rules_sha256="", created_at=now, created_by=actor.label, computed_at=now)
    session.add(run)
    await session.flush()
    await price_run(session, of, run)
    if not (await session.execute(select(func.count()).where(col(ProgrammeLine.run_id) == run.id))).scalar_one():
        # A run with nothing to pay would wait on approvals nobody can give and stand in the way of the period's
        # real run (one open run per period): refused, and the caller's transaction stores nothing of it.
        raise NothingToPay(
            f"nothing of {period} is payable under {of.code}: every line is paid already or there is none yet",
            zh=f"{of.name}{period_zh(period)}没有可拨付的条目（均已拨付或尚无可核算的条目），无需发起核算",
            field="period",
        )
    record_change(session, actor, "programme_run.started", "programme_run", run.id, after={"programme": of.code, "period": period, "supplementary": supplementary})
    await session.flush()
    await _ask_next(session, of, run)
    return run


def _makers(of: Programme, step: Step | None) -> list[str]:
    """The audit actions of those who may not give `step` (separation of duties): who started or recomputed the
    run, or gave another of its steps."""
    return ["programme_run.started", "programme_run.recomputed", *(f"programme_run.{s.name}" for s in of.steps if step is None or s.name != step.name)]


async def _makers_of(session: AsyncSession, of: Programme, run: ProgrammeRun, step: Step | None) -> set[int]:
    """The users who may not give `step` of the run (see `_makers`), those who made it under an earlier id too."""
    actions = _makers(of, step)
    makers = await actors_of(session, "programme_run", run.id, actions)
    if of.earlier_makers is not None:
        makers |= await of.earlier_makers(session, run.id or 0, actions)
    return makers


async def makers_of(session: AsyncSession, run: ProgrammeRun, step_name: str) -> set[int]:
    """The users who may not give the step `step_name` of the run (separation of duties)."""
    of = programme(run.programme)
    return await _makers_of(session, of, run, of.step(step_name))


async def _ask_next(session: AsyncSession, of: Programme, run: ProgrammeRun) -> None:
    """The run waits on whoever gives its next step (each holder with lines that has not given a per-holder step,
    else anyone of the step's roles who did not make the run), or, once every step is in, on those who issue its
    batch: they are told (again after a recomputation, which cleared the approvals)."""
    title = of.title_of(period_zh(run.period))
    link = of.link_of(run.id or 0)
    if run.state == of.final_state:
        issuers = [p.user_id for p in await principals_of_roles(session, of.runs_by) if p.user_id is not None]
        await waits(session, "programme-batch", run.id, issuers, f"{title}已审批、待生成拨付批次", f"核算 #{run.id} 已通过全部审批，请生成拨付批次。", link)
        return
    step = next((s for s in of.steps if state_before(of.steps, s) == run.state), None)
    if step is None:
        return
    makers = await _makers_of(session, of, run, step)
    totals = await holder_totals(session, run.id or 0)
    given = set((await session.execute(select(col(ProgrammeApproval.holder)).where(col(ProgrammeApproval.run_id) == run.id, col(ProgrammeApproval.step) == step.name))).scalars())
    waiting: dict[str, list[int]] = {}
    for principal in await principals_of_roles(session, step.roles):
        if principal.user_id is None or principal.user_id in makers:
            continue
        holder = "" if not step.per_holder else str(own) if (own := of.holder_of(principal)) is not None else None
        if holder is not None and holder not in given and (holder == "" or holder in totals):
            waiting.setdefault(holder, []).append(principal.user_id)
    for holder, user_ids in sorted(waiting.items()):
        amount = totals.get(holder, 0) if holder else sum(totals.values())
        await waits(
            session, "programme-step", f"{run.id}:{step.name}:{holder}", user_ids, f"{title}待{step.zh or '审批'}",
            f"核算 #{run.id}{' 中您负责的部分' if holder else ' '}合计 {yuan(amount)} 元，请核对后{step.zh or '审批'}。", link,
            round_=f"{run.computed_at:%Y%m%d%H%M%S%f}",
        )


async def recompute_run(session: AsyncSession, actor: Principal, run_id: int, code: str | None = None) -> ProgrammeRun:
    """Price a draft again; the approvals already given are cleared (they approved other figures)."""
    of, run = await get_run(session, actor, run_id, code)
    require_role(actor, of.runs_by, f"recomputing a run of {of.code}")
    if run.state != DRAFT:
        raise Conflict(f"run {run_id} is {run.state}; only a draft is recomputed", zh="只有草稿状态的核算可以重算")
    asked = [*(await holder_totals(session, run.id or 0)), ""]
    await session.execute(delete(ProgrammeApproval).where(col(ProgrammeApproval.run_id) == run.id))
    await price_run(session, of, run)
    record_change(session, actor, "programme_run.recomputed", "programme_run", run.id)
    await session.flush()
    for holder in asked:  # what was asked of the earlier figures is asked again of the new ones
        await done(session, "programme-step", f"{run.id}:{of.steps[0].name}:{holder}")
    await _ask_next(session, of, run)
    return run


async def holder_totals(session: AsyncSession, run_id: int) -> dict[str, int]:
    query = select(col(ProgrammeLine.holder), func.sum(col(ProgrammeLine.amount_fen))).where(col(ProgrammeLine.run_id) == run_id).group_by(col(ProgrammeLine.holder))
    return {holder: int(total) for holder, total in (await session.execute(query))}


async def approve(session: AsyncSession, actor: Principal, run_id: int, step_name: str, code: str | None = None) -> ProgrammeRun:
    """Give one approval step of a run: a holder's part (each holder with lines gives its own) or the whole run.
    When the step is complete the run moves on. Nobody gives a step of a run they started, recomputed or gave
    another step of (separation of duties)."""
    of, run = await get_run(session, actor, run_id, code)
    step = of.step(step_name)
    require_role(actor, step.roles, f"the step {step.name} of {of.code}")
    expected = state_before(of.steps, step)
    if run.state != expected:
        raise Conflict(f"run {run_id} is {run.state}; the step {step.name} is given to a run that is {expected}", zh=f"当前状态下不能进行“{step.zh or step.name}”")
    totals = await holder_totals(session, run.id or 0)
    holder = ""
    if step.per_holder:
        own = of.holder_of(actor)
        if own is None or str(own) not in totals:
            raise RuleViolation("you hold no lines in this run", zh="本核算中没有您负责的条目")
        holder = str(own)
    # Whoever started or recomputed the run, or gave another of its steps, does not give this one.
    keep_apart(Duty.APPROVE_OWN_RUN, actor, await _makers_of(session, of, run, step))
    total = totals[holder] if holder else sum(totals.values())
    try:
        async with session.begin_nested():
            session.add(ProgrammeApproval(run_id=run.id or 0, step=step.name, holder=holder, approved_at=utc_now(), approved_by=actor.label, total_fen=total))
    except IntegrityError:
        raise Conflict(f"the step {step.name} was already given{' for ' + holder if holder else ''}", zh="已确认过，无需重复确认") from None
    given = set((await session.execute(select(col(ProgrammeApproval.holder)).where(col(ProgrammeApproval.run_id) == run.id, col(ProgrammeApproval.step) == step.name))).scalars())
    if step_done(step, totals, given):
        run.state = step.state_after
    record_change(session, actor, f"programme_run.{step.name}", "programme_run", run.id, after={"holder": holder, "total_fen": total, "state": run.state})
    await session.flush()
    await done(session, "programme-step", f"{run.id}:{step.name}:{holder}")
    if run.state != expected:
        await _ask_next(session, of, run)
    return run


# Budgets


async def set_budget(session: AsyncSession, actor: Principal, code: str, year: int, holder: str, amount_fen: int) -> Budget:
    """An administrator grants a programme's budget for a year (and holder); never below what was already spent."""
    require_role(actor, ADMINS, "setting a budget")
    of = programme(code)
    if of.budget == "none":
        raise RuleViolation(f"{of.code} has no budget", zh="该项目不设预算")
    if of.budget_source:
        raise RuleViolation(
            f"the budgets of {of.code} come from {of.budget_source}, opened for a year by the programme itself (which keeps its own balances by them); change them there",
            zh=f"{of.name}的预算来自 {of.budget_source}，由该项目按年度开启并据此核对余额；请在该处调整",
        )
    if (of.budget == "holder") != bool(holder):
        raise RuleViolation(
            f"{of.code} has a budget {'per holder' if of.budget == 'holder' else 'for the whole programme'}",
            zh="该项目的预算" + ("按归属方分别设置，请选择归属方" if of.budget == "holder" else "按整个项目设置，不选归属方"),
            field="holder",
        )
    if holder:
        party = _party_of(holder)
        known = await of.names(session, [party]) if party is not None else {}
        if not known:
            raise RuleViolation(f"holder {holder!r} is not one of {of.code}'s (kind:id of a street or community it pays through)", zh="预算归属方不存在，请从列表中选择", field="holder")
    if amount_fen < 0:
        raise RuleViolation("a budget is zero or more", zh="预算金额不能为负数", field="amount_fen")
    row = (await session.execute(select(Budget).where(col(Budget.programme) == code, col(Budget.year) == year, col(Budget.holder) == holder))).scalar()
    before = None if row is None else {"amount_fen": row.amount_fen}
    if row is None:
        row = Budget(programme=code, year=year, holder=holder, amount_fen=amount_fen, spent_fen=0, updated_at=utc_now(), updated_by=actor.label)
        session.add(row)
    elif amount_fen < row.spent_fen:
        raise Conflict(f"{yuan(row.spent_fen)} yuan of this budget is already paid out; it cannot be set to {yuan(amount_fen)}", zh=f"该预算已支出 {yuan(row.spent_fen)} 元，不能调低到 {yuan(amount_fen)} 元")
    else:
        row.amount_fen, row.updated_at, row.updated_by = amount_fen, utc_now(), actor.label
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict("the budget changed at the same moment; reload and try again", zh="预算刚刚被他人修改，请刷新后重试") from None
    record_change(session, actor, "budget.set", "programme_budget", row.id, before=before, after={"programme": code, "year": year, "holder": holder, "amount_fen": amount_fen})
    await session.flush()
    return row


async def open_budget(session: AsyncSession, actor: Principal, code: str, year: int, holder: str, amount_fen: int) -> bool:
    """Grant a budget for a year and holder unless it is there already (a programme opening its year, e.g. activity
    funds from config/): True when it was made. Flushes only; the caller's unit of work commits."""
    of = programme(code)
    if (of.budget == "holder") != bool(holder):
        raise RuleViolation(
            f"{of.code} has a budget {'per holder' if of.budget == 'holder' else 'for the whole programme'}",
            zh="该项目的预算" + ("按归属方分别设置，请选择归属方" if of.budget == "holder" else "按整个项目设置，不选归属方"),
            field="holder",
        )
    found = (await session.execute(select(col(Budget.id)).where(col(Budget.programme) == code, col(Budget.year) == year, col(Budget.holder) == holder))).scalar()
    if found is not None:
        return False
    row = Budget(programme=code, year=year, holder=holder, amount_fen=amount_fen, spent_fen=0, updated_at=utc_now(), updated_by=actor.label)
    session.add(row)
    await session.flush()
    record_change(session, actor, "budget.opened", "programme_budget", row.id, after={"programme": code, "year": year, "holder": holder, "amount_fen": amount_fen})
    return True


def _party_of(holder: str) -> Party | None:
    kind, _, number = holder.partition(":")
    return Party(kind, int(number)) if kind and number.isascii() and number.isdigit() else None


async def _budget_refusal(session: AsyncSession, of: Programme, short: list[tuple[Draw, int]]) -> Conflict:
    """The refusal of a batch the budgets cannot pay, each short holder by its name (a fund, a street), not its key."""
    parties = {d.holder: party for d, _ in short if (party := _party_of(d.holder)) is not None}
    named = await of.names(session, set(parties.values())) if parties else {}
    where = "; ".join(f"{d.year}{' ' + d.holder if d.holder else ''}: needs {yuan(d.amount_fen)} yuan, {yuan(left)} yuan left" for d, left in short)
    zh = "；".join(f"{d.year} 年{named.get(parties[d.holder], d.holder) if d.holder in parties else d.holder}需 {yuan(d.amount_fen)} 元，余额 {yuan(left)} 元" for d, left in short)
    return Conflict(f"the budget of {of.code} would go below zero ({where}); raise the budget or pay less", zh=f"预算不足（{zh}），请追加预算或减少拨付", reason="budget")


async def draw_budgets(session: AsyncSession, actor: Principal, of: Programme, draws: list[Draw]) -> None:
    """Take a batch's sums out of the budgets in the batch's transaction: checked here for a clear refusal, and by the
    database's CHECK for a batch issued at the same moment from the same budget."""
    if of.budget == "none":
        return
    rows = {(b.year, b.holder): b for b in (await session.execute(select(Budget).where(col(Budget.programme) == of.code, col(Budget.year).in_({d.year for d in draws})))).scalars()}
    short = short_of(draws, {key: b.amount_fen - b.spent_fen for key, b in rows.items()})
    if short:
        raise await _budget_refusal(session, of, short)
    for draw in draws:
        await session.execute(
            update(Budget)
            .where(col(Budget.programme) == of.code, col(Budget.year) == draw.year, col(Budget.holder) == draw.holder)
            .values(spent_fen=col(Budget.spent_fen) + draw.amount_fen, updated_at=utc_now(), updated_by=actor.label)
        )


# Batches


async def batch_of_run(session: AsyncSession, run_id: int) -> ProgrammeBatch | None:
    return (await session.execute(select(ProgrammeBatch).where(col(ProgrammeBatch.run_id) == run_id))).scalar()


async def _draft_batch(session: AsyncSession, actor: Principal, of: Programme, run: ProgrammeRun, when: datetime) -> tuple[ProgrammeBatch, list[ProgrammeLine]]:
    """The batch a run that passed every step would be issued as at `when` (not stored), with its lines."""
    lines = list((await session.execute(select(ProgrammeLine).where(col(ProgrammeLine.run_id) == run.id).order_by(col(ProgrammeLine.id)))).scalars())
    # Numbered among the runs' batches of the period (an adjustment takes its batch's number with -ADJnn).
    issued = (await session.execute(select(func.count()).where(col(ProgrammeBatch.number).like(f"{of.number_prefix}-{run.period}-%"), col(ProgrammeBatch.run_id).is_not(None)))).scalar_one()
    number = f"{of.number_prefix}-{run.period}-{issued + 1:03d}"
    batch = ProgrammeBatch(
        programme=of.code, number=number, run_id=run.id, total_fen=sum(l.amount_fen for l in lines), city_fen=sum(l.city_fen for l in lines),  # noqa: E741
        district_fen=sum(l.district_fen for l in lines), lines=len(lines),  # noqa: E741
        checksum=batch_checksum(number, ((l.line_key, f"{l.payee_kind}:{l.payee_id}", l.amount_fen, l.city_fen, l.district_fen) for l in lines)),  # noqa: E741
        issued_at=when, issued_by=actor.label,
    )
    return batch, lines


async def prospective_batch(session: AsyncSession, actor: Principal, run_id: int, now: datetime) -> ProgrammeBatch | None:
    """The batch `issue_batch(..., now=now)` would store, read without writing (None: the run has its batch already,
    or has not passed every step, and issuing will answer that): its documents can be made before the transaction
    that issues it begins."""
    of, run = await get_run(session, actor, run_id)
    require_role(actor, of.runs_by, f"issuing a batch of {of.code}")
    if run.state != of.final_state or await batch_of_run(session, run_id) is not None:
        return None
    return (await _draft_batch(session, actor, of, run, now))[0]


async def issue_batch(session: AsyncSession, actor: Principal, run_id: int, code: str | None = None, now: datetime | None = None) -> ProgrammeBatch:
    """Issue the batch of a run that passed every step, once: a retry, a double click or a colleague at the same
    moment gets the same batch. Each line's key is recorded as paid (the database refuses a second payment), its
    shares become ledger entries, and its sum comes out of the budget (which the database keeps from going below
    zero)."""
    for _ in range(ATTEMPTS):
        of, run = await get_run(session, actor, run_id, code)
        require_role(actor, of.runs_by, f"issuing a batch of {of.code}")
        existing = await batch_of_run(session, run_id)
        if existing is not None:
            return existing
        if run.state != of.final_state:
            raise Conflict(f"run {run_id} is {run.state}; a batch is issued for a run that is {of.final_state}", zh="审批通过后才能生成拨付批次")
        batch, lines = await _draft_batch(session, actor, of, run, now or utc_now())
        number = batch.number
        try:
            async with session.begin_nested():  # losing a race undoes only this attempt
                await draw_budgets(session, actor, of, budget_draws(((l.period, l.holder, l.amount_fen) for l in lines), of.budget == "holder"))  # noqa: E741
                session.add(batch)
                await session.flush()
                for line in lines:
                    session.add(PaidLine(programme=of.code, line_key=line.line_key, batch_id=batch.id or 0, line_id=line.id or 0))
                    for payer, amount in (("city", line.city_fen), ("district", line.district_fen)):
                        session.add(
                            ProgrammeLedgerEntry(
                                programme=of.code, batch_id=batch.id or 0, line_id=line.id, payee_kind=line.payee_kind, payee_id=line.payee_id, period=run.period, payer=payer, amount_fen=amount
                            )
                        )
                run.state = DISBURSED
                record_change(session, actor, "batch.issued", "programme_batch", batch.id, after={"programme": of.code, "number": number, "run_id": run_id, "total_fen": batch.total_fen})
            await done(session, "programme-batch", run_id)
            return batch
        except IntegrityError as error:
            raced = await batch_of_run(session, run_id)
            if raced is not None:
                return raced
            message = str(error.orig)
            if "within_budget" in message:
                raise Conflict(f"the budget of {of.code} was spent by another batch at the same moment; it would go below zero", zh="预算已被同时拨付的另一批次用去，余额不足", reason="budget") from None
            if "programme_paid_lines" in message or "pk_programme_paid_lines" in message:
                raise Conflict("a line of this run was already paid in another batch; recompute a supplementary run", zh="本核算中有条目已在其他批次中拨付，请重新核算") from None
    raise Conflict("the batch could not be issued for concurrent changes; retry", zh="他人正在同时操作，拨付批次未能生成，请重试")


@contextmanager
def refused_correction(line_id: int | None = None) -> Iterator[None]:
    """A correction the rules refuse (subsidies.engine.rules.CorrectionError), as the 422 a person reads."""
    try:
        yield
    except CorrectionError as error:
        where, where_zh = (f"line {line_id}: ", f"条目 {line_id}：") if line_id is not None else ("", "")
        raise RuleViolation(f"{where}{error}", zh=f"{where_zh}{error.zh}") from None


async def _adjustment_rows(
    session: AsyncSession, actor: Principal, batch_id: int, corrections: list[tuple[int, int]]
) -> tuple[Programme, ProgrammeRun, ProgrammeBatch, list[tuple[ProgrammeLine, ProgrammeAdjustment]]]:
    """The programme, run and batch corrected and the adjustment's rows (not stored) for each (line id, amount it
    should have paid): the difference from what the line paid with its earlier adjustments, split between the payers
    so that what the line pays in all stays split by the programme's rule, whatever corrections came before. Refuses
    what cannot be paid: lines of another batch, nothing to correct, more than the programme allows for a line."""
    original = await session.get(ProgrammeBatch, batch_id)
    if original is None or original.run_id is None:
        raise NotFound("issued batch", batch_id)
    of, run = await get_run(session, actor, original.run_id)
    ids = [line_id for line_id, _ in corrections]
    lines = {l.id: l for l in (await session.execute(select(ProgrammeLine).where(col(ProgrammeLine.id).in_(ids), col(ProgrammeLine.run_id) == original.run_id))).scalars()}  # noqa: E741
    with refused_correction():
        check_corrected_lines(ids, lines, original.number)
    adjusted: dict[int, tuple[int, int]] = {
        line_id: (int(delta), int(city))
        for line_id, delta, city in await session.execute(
            select(col(ProgrammeAdjustment.line_id), func.sum(col(ProgrammeAdjustment.delta_fen)), func.sum(col(ProgrammeAdjustment.city_fen)))
            .where(col(ProgrammeAdjustment.line_id).in_(ids))
            .group_by(col(ProgrammeAdjustment.line_id))
        )
    }
    payers = of.payers()
    rows: list[tuple[ProgrammeLine, ProgrammeAdjustment]] = []
    for line_id, corrected in corrections:
        line = lines[line_id]
        earlier_delta, earlier_city = adjusted.get(line_id, (0, 0))
        if of.check_correction is not None:
            await of.check_correction(session, line_id, line.line_key, corrected)
        share = payers.city_share if of.line_city_share is None else await of.line_city_share(session, line.line_key, line.period)
        with refused_correction(line_id):
            delta, city, district = correction(corrected, line.amount_fen, line.city_fen, earlier_delta, earlier_city, share, payers.split)
        most = await of.most_for_line(session, line.line_key, line.amount_fen)
        if most is not None and corrected > most:
            raise RuleViolation(
                f"line {line_id} may pay at most {yuan(most)} yuan under the rules of {of.code}; more needs a new decision, not a correction",
                zh=f"条目 {line_id} 按规定最多支付 {yuan(most)} 元；如需多付，须重新审批，不能通过更正支付",
            )
        rows.append((line, ProgrammeAdjustment(batch_id=0, line_id=line_id, corrected_amount_fen=corrected, delta_fen=delta, city_fen=city, district_fen=district)))
    return of, run, original, rows


async def check_adjustment(session: AsyncSession, actor: Principal, batch_id: int, corrections: list[tuple[int, int]]) -> int:
    """What the corrections would pay (+) or recover (-) if issued now, in fen; refuses what cannot be issued."""
    of, _, _, rows = await _adjustment_rows(session, actor, batch_id, corrections)
    if of.adjustable is not None:
        await of.adjustable(session, [(line.line_key, adjustment.delta_fen) for line, adjustment in rows])
    return sum(adjustment.delta_fen for _, adjustment in rows)


async def issue_adjustment(
    session: AsyncSession, actor: Principal, batch_id: int, client_id: str, reason: str, corrections: list[tuple[int, int]], now: datetime | None = None
) -> ProgrammeBatch:
    """A correction of an issued batch, as a new batch that references it: for each (line id, amount it should have
    paid), the difference from what it paid (with earlier adjustments) is paid or recovered, split between the
    payers (see `_adjustment_rows`), entered in the ledger and in the budget. The batch corrected never changes. A
    retry with the same client id returns the adjustment already issued. Called when a proposal is approved
    (subsidies.engine.proposals): nobody issues one alone."""
    now = now or utc_now()
    for _ in range(ATTEMPTS):
        existing = (await session.execute(select(ProgrammeBatch).where(col(ProgrammeBatch.client_id) == client_id))).scalar()
        if existing is not None:
            if existing.corrects_batch_id != batch_id:
                raise Conflict(f"client id {client_id} was used for an adjustment of another batch", zh="该请求编号已用于另一批次的更正，请刷新页面后重新提交")
            return existing
        of, run, original, rows = await _adjustment_rows(session, actor, batch_id, corrections)
        require_role(actor, of.runs_by, f"issuing an adjustment of {of.code}")
        count = (await session.execute(select(func.count()).where(col(ProgrammeBatch.corrects_batch_id) == batch_id))).scalar_one()
        number = f"{original.number}-ADJ{count + 1:02d}"
        batch = ProgrammeBatch(
            programme=of.code, number=number, run_id=None, corrects_batch_id=batch_id, client_id=client_id, reason=reason,
            total_fen=sum(a.delta_fen for _, a in rows), city_fen=sum(a.city_fen for _, a in rows), district_fen=sum(a.district_fen for _, a in rows), lines=len(rows),
            checksum=hashlib.sha256(json.dumps([number, batch_id, [[a.line_id, a.delta_fen] for _, a in rows]]).encode()).hexdigest(), issued_at=now, issued_by=actor.label,
        )
        try:
            async with session.begin_nested():  # losing a race undoes only this attempt
                await draw_budgets(session, actor, of, budget_draws(((l.period, l.holder, a.delta_fen) for l, a in rows), of.budget == "holder"))  # noqa: E741
                session.add(batch)
                await session.flush()
                for _, adjustment in rows:
                    adjustment.batch_id = batch.id or 0
                    session.add(adjustment)
                await session.flush()
                for line, adjustment in rows:
                    for payer, amount in (("city", adjustment.city_fen), ("district", adjustment.district_fen)):
                        session.add(
                            ProgrammeLedgerEntry(
                                programme=of.code, batch_id=batch.id or 0, adjustment_id=adjustment.id, payee_kind=line.payee_kind, payee_id=line.payee_id, period=run.period, payer=payer, amount_fen=amount
                            )
                        )
                if of.adjusted is not None:
                    await of.adjusted(session, [(line.line_key, adjustment.delta_fen) for line, adjustment in rows])
                record_change(session, actor, "batch.adjusted", "programme_batch", batch.id, after={"number": number, "corrects": original.number, "total_fen": batch.total_fen}, reason=reason)
            return batch
        except IntegrityError as error:
            if "within_budget" in str(error.orig):
                raise Conflict(f"the budget of {of.code} would go below zero", zh="预算余额不足", reason="budget") from None
    raise Conflict("the adjustment could not be issued for concurrent changes; retry with the same client id", zh="他人正在同时操作，调整批次未能生成，请重试")


# Adjustments: proposed by one of a programme's officers, approved (and so issued) by another (proposals).


async def propose_adjustment(
    session: AsyncSession, actor: Principal, batch_id: int, client_id: str, reason: str, corrections: list[tuple[int, int]], code: str | None = None
) -> AdjustmentProposal:
    original = await session.get(ProgrammeBatch, batch_id)
    if original is None or original.run_id is None or (code is not None and original.programme != code):
        raise NotFound("issued batch", batch_id)
    of, _ = await get_run(session, actor, original.run_id, code)

    async def check(db: AsyncSession, batch: int, wanted: list[tuple[int, int]]) -> int:
        return await check_adjustment(db, actor, batch, wanted)

    return await proposals.propose(session, actor, of.code, of.runs_by, batch_id, client_id, reason, corrections, check, of.name, of.link_of(original.run_id))


async def approve_adjustment(session: AsyncSession, actor: Principal, code: str, proposal_id: int) -> ProgrammeBatch:
    of = programme(code)
    _, batch = await proposals.approve(session, actor, of.code, of.runs_by, proposal_id, issue_adjustment)
    assert isinstance(batch, ProgrammeBatch)
    return batch


async def withdraw_adjustment(session: AsyncSession, actor: Principal, code: str, proposal_id: int) -> AdjustmentProposal:
    of = programme(code)
    return await proposals.withdraw(session, actor, of.code, of.runs_by, proposal_id)
