"""Use cases of activity funds: open a year's funds (and the engine's budgets), upload a receipt, file a claim,
decide it, lapse a year's remainder; and price approved claims for the engine's runs. They flush; whoever opened
the unit of work commits. Every change audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from functools import lru_cache

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.calendar.rules import working_days_after
from foundation.calendar.service import working_calendar
from foundation.clock import BUSINESS_TZ, business_today, utc_now
from foundation.db import rows_changed
from foundation.documents import check_readable
from foundation.errors import Conflict, InvalidInput, NotFound, RuleViolation, TooLarge
from foundation.money import yuan
from foundation.notifications import settle
from foundation.periods import Month
from foundation.process_locks import transaction_lock
from foundation.settings import config_dir, get_settings
from foundation.storage import BlobStore, write_blob
from registry import queries as registry
from subsidies.activity import rules
from subsidies.activity.rules import APPROVED, COMMUNITY, PENDING, REFUSED, STREET, Balance, ClaimFacts, FundRules
from subsidies.activity.schemas import ClaimIn
from subsidies.activity.tables import ActivityClaim, ActivityFund, ActivityReceipt
from subsidies.engine import service as engine
from subsidies.engine.registry import Priced
from subsidies.engine.rules import LineDraft, Party

OPENERS = frozenset({Role.ADMIN, Role.FINANCE})


@lru_cache(maxsize=1)
def fund_rules() -> FundRules:
    """config/activity.toml, read once (a wrong file stops the system at start, naming the key)."""
    return rules.load_rules(config_dir() / "activity.toml")


async def holder_name(session: AsyncSession, holder: Party) -> str:
    if holder.kind == COMMUNITY:
        found = await registry.community(session, holder.id)
        return f"{found.name}社区" if found else str(holder)
    street = await registry.street(session, holder.id)
    return f"{street.name}街道" if street else str(holder)


# Opening a year


async def open_year(session: AsyncSession, actor: Principal, year: int, today: date | None = None) -> tuple[int, int]:
    """Every community's and street's fund of `year` from config/activity.toml, each also the engine's budget for
    the holder; a fund already open is left as it is. Answers (made now, funds of the year)."""
    require_role(actor, OPENERS, "opening a year's activity funds")
    today = today or business_today()
    config = fund_rules()
    if rules.lapses(year, today, config.lapse_at_year_end):
        raise RuleViolation(f"{year} has ended; its funds can no longer be opened", zh=f"{year} 年已结束，不能再开立该年度经费", field="year")
    if year > today.year + 1:
        raise RuleViolation(f"funds are opened for this year or the next, not {year}", zh="只能开立本年度或下一年度的经费", field="year")
    await transaction_lock(session, f"activity-year|{year}")
    present = set((await session.execute(select(col(ActivityFund.holder)).where(col(ActivityFund.year) == year))).scalars())
    holders = [(Party(STREET, s.id), s.id) for s in await registry.streets(session)]
    holders += [(Party(COMMUNITY, c.id), c.street_id) for c in (await registry.communities(session)).values()]
    made = 0
    now = utc_now()
    for holder, street_id in holders:
        amount = config.allocation(holder.kind)
        await engine.open_budget(session, actor, rules.CODE, year, str(holder), amount)
        if str(holder) in present:
            continue
        session.add(ActivityFund(year=year, holder=str(holder), street_id=street_id, allocated_fen=amount, opened_at=now, opened_by=actor.label))
        made += 1
    await session.flush()
    if made:
        record_change(session, actor, "activity_year.opened", "activity_year", year, after={"funds": made, "community_fen": config.community_fen, "street_fen": config.street_fen})
    return made, len(holders)


async def fund_of(session: AsyncSession, year: int, holder: Party) -> ActivityFund | None:
    return (await session.execute(select(ActivityFund).where(col(ActivityFund.year) == year, col(ActivityFund.holder) == str(holder)))).scalar()


# Receipts


async def upload_receipt(session: AsyncSession, store: BlobStore, actor: Principal, content: bytes) -> ActivityReceipt:
    """Keep a receipt's photo or scan (its type judged by content, its size within the limit) for a claim to show."""
    holder = rules.holder_of(actor)
    config = fund_rules()
    if len(content) > config.receipt_max_bytes:
        megabytes = config.receipt_max_bytes / (1024 * 1024)
        raise TooLarge(f"the receipt has {len(content)} bytes; the limit is {config.receipt_max_bytes}", zh=f"发票文件超过 {megabytes:g} MB，请压缩后再上传", field="file")
    if not content:
        raise InvalidInput("the receipt file is empty", zh="发票文件是空的", field="file")
    kind = rules.receipt_type(content, config.receipt_types)
    check_readable(content, kind, get_settings().photo_max_pixels, field="file", what="the receipt", what_zh="发票")
    sha256 = await write_blob(store, content)
    receipt = ActivityReceipt(sha256=sha256, content_type=kind, size_bytes=len(content), holder=str(holder), uploaded_by_user_id=actor.user_id, uploaded_at=utc_now())
    session.add(receipt)
    await session.flush()
    return receipt


async def receipt_for(session: AsyncSession, actor: Principal, receipt_id: int) -> ActivityReceipt:
    """A receipt, to those who see the fund it was uploaded for."""
    receipt = await session.get(ActivityReceipt, receipt_id)
    if receipt is None:
        raise NotFound("receipt", receipt_id)
    holder = rules.parse_holder(receipt.holder)
    community = await registry.community(session, holder.id) if holder.kind == COMMUNITY else None
    street_id = holder.id if holder.kind == STREET else community.street_id if community else 0
    if not street_id or not rules.sees_holder(actor, holder, street_id):
        raise NotFound("receipt", receipt_id)
    return receipt


# Claims


def _same_claim(claim: ActivityClaim, data: ClaimIn) -> bool:
    return (claim.spent_on, claim.purpose, claim.description, claim.amount_fen, claim.invoice_number, claim.receipt_id) == (
        data.spent_on, data.purpose, data.description, data.amount_fen, data.invoice_number, data.receipt_id,
    )


async def _by_client_id(session: AsyncSession, actor: Principal, data: ClaimIn) -> ActivityClaim | None:
    found = (await session.execute(select(ActivityClaim).where(col(ActivityClaim.client_id) == data.client_id))).scalar()
    if found is None:
        return None
    if found.claimed_by_user_id != actor.user_id or not _same_claim(found, data):
        raise Conflict(f"client id {data.client_id} was used for another claim; generate a new one", zh="该提交编号已用于另一笔报销，请刷新页面后重新填写", field="client_id")
    return found


async def _invoice_taken(session: AsyncSession, invoice: str) -> Conflict | None:
    first = (await session.execute(select(ActivityClaim).where(col(ActivityClaim.invoice_number) == invoice))).scalar()
    if first is None:
        return None
    name = await holder_name(session, rules.parse_holder(first.holder))
    day = first.claimed_at.astimezone(BUSINESS_TZ).date()
    return Conflict(
        f"invoice {invoice} was already claimed by {name} on {day} (claim {first.id}); an invoice is claimed once",
        zh=f"发票号 {invoice} 已于 {day} 由{name}报销（第 {first.id} 号申请），同一张发票只能报销一次", field="invoice_number", reason="invoice",
    )


async def file_claim(session: AsyncSession, actor: Principal, data: ClaimIn, today: date | None = None) -> tuple[ActivityClaim, bool]:
    """A director (for the community) or a street officer (for the street) claims spending with a receipt: the
    amount is held from the fund at once, so the balance never goes below zero, even for two claims at the same
    moment (the fund's CHECK). A retry with the same client id answers the claim already filed (False)."""
    holder = rules.holder_of(actor)
    existing = await _by_client_id(session, actor, data)
    if existing is not None:
        return existing, False
    today = today or business_today()
    config = fund_rules()
    rules.check_claim(ClaimFacts(data.spent_on, data.purpose, data.amount_fen, data.description), config, today)
    fund = await fund_of(session, data.spent_on.year, holder)
    if fund is None:
        raise RuleViolation(f"the activity funds of {data.spent_on.year} are not open", zh=f"{data.spent_on.year} 年度活动经费尚未开立", field="spent_on")
    if fund.lapsed_at is not None or rules.lapses(fund.year, today, config.lapse_at_year_end):
        raise RuleViolation(f"the funds of {fund.year} lapsed when the year ended; nothing more is claimed from them", zh=f"{fund.year} 年度经费已于年末失效，不能再报销", field="spent_on", reason="lapsed")
    receipt = await session.get(ActivityReceipt, data.receipt_id)
    if receipt is None or receipt.holder != str(holder):
        raise NotFound("receipt", data.receipt_id)
    taken = await _invoice_taken(session, data.invoice_number)
    if taken is not None:
        raise taken
    rules.check_balance(Balance(fund.allocated_fen, fund.held_fen, 0, fund.lapsed_fen), data.amount_fen)
    calendar = await working_calendar(session)
    due_on, _ = working_days_after(today, config.approval_deadline_working_days, calendar)
    claim = ActivityClaim(
        client_id=data.client_id, fund_id=fund.id, holder=str(holder), street_id=fund.street_id, year=fund.year, spent_on=data.spent_on, purpose=data.purpose,
        description=data.description.strip(), amount_fen=data.amount_fen, invoice_number=data.invoice_number, receipt_id=data.receipt_id, state=PENDING,
        claimed_at=utc_now(), claimed_by=actor.label, claimed_by_user_id=actor.user_id, due_on=due_on,
    )
    try:
        async with session.begin_nested():
            session.add(claim)
            await session.flush()
            await session.execute(update(ActivityFund).where(col(ActivityFund.id) == fund.id).values(held_fen=col(ActivityFund.held_fen) + data.amount_fen))
    except IntegrityError as error:
        message = str(error.orig)
        if "client_id" in message:
            raced = await _by_client_id(session, actor, data)
            if raced is not None:
                return raced, False
        if "invoice_number" in message:
            raise (await _invoice_taken(session, data.invoice_number)) or Conflict(f"invoice {data.invoice_number} was claimed at the same moment", zh=f"发票 {data.invoice_number} 刚刚已被报销，不能重复报销", field="invoice_number") from None
        if "receipt_id" in message:
            raise Conflict("this receipt already belongs to another claim; upload the receipt of this invoice", zh="该发票照片已用于另一笔报销，请上传本张发票", field="receipt_id") from None
        if "never_below_zero" in message:
            await session.refresh(fund)
            left = fund.allocated_fen - fund.held_fen - fund.lapsed_fen
            raise RuleViolation(
                f"another claim took the fund's money at the same moment; {left / 100:,.2f} yuan is left",
                zh=f"经费余额已被同时提交的另一笔报销占用，当前余额 {left / 100:,.2f} 元", field="amount_fen", reason="balance",
            ) from None
        raise
    await session.refresh(fund)
    record_change(session, actor, "activity_claim.filed", "activity_claim", claim.id, after={"holder": claim.holder, "amount_fen": claim.amount_fen, "invoice_number": claim.invoice_number, "purpose": claim.purpose})
    return claim, True


async def claim_for(session: AsyncSession, actor: Principal, claim_id: int) -> ActivityClaim:
    """A claim, to its holder, the street above it and the district."""
    claim = await session.get(ActivityClaim, claim_id)
    if claim is None or not rules.sees_holder(actor, rules.parse_holder(claim.holder), claim.street_id):
        raise NotFound("claim", claim_id)
    return claim


async def decide_claim(session: AsyncSession, actor: Principal, claim_id: int, approve: bool, reason: str | None) -> ActivityClaim:
    """The street approves or refuses a community's claim, district finance a street's; a refusal says why and
    gives the money back to the fund (or to the lapse, once the year lapsed)."""
    claim = await claim_for(session, actor, claim_id)
    rules.check_approver(actor, claim.claimed_by_user_id, rules.parse_holder(claim.holder), claim.street_id)
    reason = (reason or "").strip() or None
    if not approve and reason is None:
        raise InvalidInput("say why the claim is refused", zh="不批准时请写明理由", field="reason")
    if claim.state != PENDING:
        raise Conflict(f"claim {claim_id} is {claim.state} already", zh=f"该申请已{rules.STATE_NAMES[claim.state]}，无需重复审批")
    now = utc_now()
    changed = await rows_changed(
        session,
        update(ActivityClaim)
        .where(col(ActivityClaim.id) == claim_id, col(ActivityClaim.state) == PENDING)
        .values(state=APPROVED if approve else REFUSED, decided_at=now, decided_by=actor.label, decided_by_user_id=actor.user_id, refusal_reason=None if approve else reason),
    )
    if changed != 1:
        raise Conflict(f"claim {claim_id} was decided by someone else at the same moment", zh="该申请已被他人同时审批，请刷新")
    if not approve:
        fund = await session.get_one(ActivityFund, claim.fund_id)
        lapsed = fund.lapsed_at is not None
        await session.execute(
            update(ActivityFund)
            .where(col(ActivityFund.id) == claim.fund_id)
            .values(held_fen=col(ActivityFund.held_fen) - claim.amount_fen, lapsed_fen=col(ActivityFund.lapsed_fen) + (claim.amount_fen if lapsed else 0))
        )
    await session.refresh(claim)
    record_change(session, actor, "activity_claim.approved" if approve else "activity_claim.refused", "activity_claim", claim_id, after={"state": claim.state}, reason=reason)
    await settle(session, f"activity-claim-overdue|{claim_id}")  # decided: the overdue reminder leaves every approver's list
    return claim


# The year's end


async def lapse_year(session: AsyncSession, actor: Principal, year: int, today: date | None = None) -> int:
    """What is left of each fund of an ended year lapses (recorded on the fund and in the audit log); the claims
    waiting or approved keep their money. Answers how many funds lapsed now (0 when done already)."""
    require_role(actor, OPENERS, "lapsing a year's activity funds")
    today = today or business_today()
    if not rules.lapses(year, today, fund_rules().lapse_at_year_end):
        raise RuleViolation(f"{year} has not ended (or the rules keep its funds open)", zh=f"{year} 年尚未结束，经费不能失效", field="year")
    funds = list((await session.execute(select(ActivityFund).where(col(ActivityFund.year) == year, col(ActivityFund.lapsed_at).is_(None)).order_by(col(ActivityFund.id)))).scalars())
    now = utc_now()
    for fund in funds:
        left = fund.allocated_fen - fund.held_fen - fund.lapsed_fen
        fund.lapsed_fen += left
        fund.lapsed_at = now
        record_change(session, actor, "activity_fund.lapsed", "activity_fund", fund.id, after={"year": year, "holder": fund.holder, "lapsed_fen": left})
    await session.flush()
    return len(funds)


async def overdue_claims(session: AsyncSession, today: date) -> list[ActivityClaim]:
    return list((await session.execute(select(ActivityClaim).where(col(ActivityClaim.state) == PENDING, col(ActivityClaim.due_on) < today).order_by(col(ActivityClaim.id)))).scalars())


# Paying through the engine


def check_period(text: str) -> str:
    """A run pays the claims approved up to the end of a month: this month or one before it."""
    month = Month.parse(text, "period")
    if month.first_day > business_today():
        raise RuleViolation(f"{month} has not begun", zh=f"{month} 尚未开始", field="period")
    return str(month)


def claim_line(claim: ActivityClaim, holder: Party) -> LineDraft:
    return LineDraft(
        key=f"claim:{claim.id}", payee=holder, holder=holder, beneficiary=holder, period=f"{claim.spent_on:%Y-%m}", amount_fen=claim.amount_fen,
        reason=f"{claim.purpose}：{claim.description}"[:300], evidence=f"发票 {claim.invoice_number}（申请 {claim.id}）",
    )


async def price(session: AsyncSession, period: str) -> Priced:
    """The lines of a month's run: every claim approved by the month's end (Beijing time), one line per claim (its
    key: the claim, so it is paid once, ever), paid to its holder out of the holder's budget of the claim's year."""
    month = Month.parse(period, "period")
    ends = datetime.combine(month.next().first_day, time(), BUSINESS_TZ)
    claims = (await session.execute(select(ActivityClaim).where(col(ActivityClaim.state) == APPROVED, col(ActivityClaim.decided_at) < ends).order_by(col(ActivityClaim.id)))).scalars()
    return Priced(fund_rules().sha256, [claim_line(c, rules.parse_holder(c.holder)) for c in claims])


async def _funds_moved(session: AsyncSession, changes: Sequence[tuple[str, int]]) -> dict[int, tuple[ActivityFund, int]]:
    """Each fund the corrected claims were paid from, with what the adjustment moves back into it (+: recovered)."""
    moved: dict[int, tuple[ActivityFund, int]] = {}
    for key, delta in changes:
        claim = await session.get_one(ActivityClaim, int(key.removeprefix("claim:")))
        fund, earlier = moved.get(claim.fund_id) or (await session.get_one(ActivityFund, claim.fund_id), 0)
        moved[claim.fund_id] = (fund, earlier - delta)
    return moved


async def refuse_adjustment(session: AsyncSession, changes: Sequence[tuple[str, int]]) -> None:
    """An adjustment restoring claims takes the money again from their funds: refused, saying why, when a fund no
    longer has it (spent on other claims since, or lapsed with its year)."""
    _refuse_moves(await _funds_moved(session, changes))


def _refuse_moves(moved: dict[int, tuple[ActivityFund, int]]) -> None:
    for fund, back in moved.values():
        if back >= 0:
            continue
        if fund.lapsed_at is not None and fund.lapsed_fen < -back:
            raise RuleViolation(
                f"the {fund.year} fund of {fund.holder} has lapsed; {yuan(-back)} yuan cannot be paid from it again",
                zh=f"{fund.year} 年度经费已失效注销，不能再从中恢复拨付 {yuan(-back)} 元", reason="balance",
            )
        left = fund.allocated_fen - fund.held_fen - fund.lapsed_fen
        if fund.lapsed_at is None and left < -back:
            raise RuleViolation(
                f"the fund has {yuan(left)} yuan left; what was recovered went to other claims since, so {yuan(-back)} yuan cannot be restored",
                zh=f"经费余额仅剩 {yuan(left)} 元（追回的金额已用于其他报销），不能恢复拨付 {yuan(-back)} 元", reason="balance",
            )


async def follow_adjustment(session: AsyncSession, changes: Sequence[tuple[str, int]]) -> None:
    """An adjustment of paid claims moves their funds with it (the engine's `adjusted`): what it recovers from a
    claim is no longer held by the claim and is the fund's to spend again (or lapses with the fund's year if the
    year has lapsed); what it restores is held again, if the fund still has it (`refuse_adjustment`). Its batch's
    savepoint undoes this with the rest."""
    moved = await _funds_moved(session, changes)
    _refuse_moves(moved)
    for fund, back in moved.values():
        lapsed = fund.lapsed_at is not None
        await session.execute(
            update(ActivityFund)
            .where(col(ActivityFund.id) == fund.id)
            .values(held_fen=col(ActivityFund.held_fen) - back, lapsed_fen=col(ActivityFund.lapsed_fen) + (back if lapsed else 0))
        )
