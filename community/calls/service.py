"""Use cases of the calls: open and repeat a call, bid, close the bidding, the panel (assign, declare, score,
sign), close the evaluation into awards, objections and their answers, the award standing, the contract and its
tranches. Each is one transaction (the caller's); published moments are announced inside it."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community import records
from community.calls import queries, rules, schemas
from community.calls.queries import AWARDED, EVALUATING, FAILED, OPEN, PUBLICITY, call_row, is_buyer
from community.calls.tables import (
    Award,
    Bid,
    BidDocument,
    Call,
    CallContract,
    CallCriterion,
    CallInvitation,
    CallLot,
    ConflictDeclaration,
    Objection,
    PanelMember,
    Score,
    Tranche,
)
from community.needs import queries as needs_queries
from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.calendar.service import working_calendar
from foundation.clock import BUSINESS_TZ
from foundation.documents import attached_document
from foundation.duties import Duty, refusal
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.heavy import off_loop
from foundation.notifications import notify, settle
from foundation.settings import config_dir, get_settings
from foundation.storage import BlobStore, read_blob, write_blob
from people import queries as people_queries
from registry import queries as registry_queries
from registry.queries import OrganisationKind

BUYERS = frozenset({Role.ADMIN, Role.STREET_OFFICER})
OFFICIAL_PANEL_ROLES = frozenset({Role.ADMIN, Role.STREET_OFFICER, Role.STREET_WORKER})


@lru_cache(maxsize=1)
def call_limits() -> rules.CallLimits:
    return rules.parse_limits((config_dir() / "calls.toml").read_text(encoding="utf-8"))


def _refuse(problem: str | None, field: str | None = None, zh: str | None = None) -> None:
    if problem:
        raise RuleViolation(problem, field=field, zh=zh)


def _when(moment: datetime) -> str:
    return moment.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")


async def _announce(session: AsyncSession, call_id: int, stage: str) -> None:
    await session.flush()
    record = await queries.project_record(session, call_id)
    if record is not None:
        await records.announce(session, record, stage)


def _require_buyer(actor: Principal, call: Call, action: str) -> None:
    require_role(actor, BUYERS, action)
    if not is_buyer(actor, call):
        raise PermissionDenied(f"{action}: call {call.number} is another buyer's", zh="该项目不属于您的街道")


async def organisation_user_ids(session: AsyncSession, organisation_ids: set[int]) -> list[int]:
    found: list[int] = []
    for organisation_id in sorted(organisation_ids):
        found += await people_queries.organisation_users(session, organisation_id)
    return found


async def buyer_user_ids(session: AsyncSession, call: Call) -> list[int]:
    if call.street_id is None:
        return await people_queries.recipients(session, Role.ADMIN)
    return await people_queries.recipients(session, Role.STREET_OFFICER, street_id=call.street_id)


async def invited_organisations(session: AsyncSession, call_id: int) -> list[int]:
    return list((await session.execute(select(col(CallInvitation.organisation_id)).where(col(CallInvitation.call_id) == call_id))).scalars())


# Calls


async def _next_number(session: AsyncSession, method: str, now: datetime) -> str:
    prefix = {rules.VENTURE: "GY", rules.NEGOTIATION: "TP", rules.TENDER: "ZB"}[method]
    year = now.astimezone(BUSINESS_TZ).year
    like = f"HP-{prefix}-{year}-%"
    count = (await session.execute(select(func.count()).select_from(Call).where(col(Call.number).like(like)))).scalar_one()
    return f"HP-{prefix}-{year}-{int(count) + 1:03d}"


async def open_call(session: AsyncSession, actor: Principal, data: schemas.CallCreate, now: datetime) -> Call:
    """Open a call (发布): its method follows the budget thresholds unless a reason is recorded."""
    require_role(actor, BUYERS, "opening a call")
    limits = call_limits()
    street_id = data.street_id
    if actor.role is Role.STREET_OFFICER:
        if street_id not in (None, actor.street_id):
            raise PermissionDenied("a street officer opens calls for their own street", zh="街道只能为本街道发布项目")
        street_id = actor.street_id
    elif street_id is not None and await registry_queries.street(session, street_id) is None:
        raise NotFound("street", street_id)
    _refuse(rules.weights_problem([c.weight for c in data.criteria]), "criteria", "评分项权重之和须为100")
    if len({c.name.strip() for c in data.criteria}) != len(data.criteria):
        raise RuleViolation("each criterion is named once", zh="评分项名称不能重复", field="criteria")
    method = data.method.value
    largest = max(lot.budget_fen for lot in data.lots)
    _refuse(rules.method_problem(method, largest, data.method_reason, limits), "method", "采购方式与预算金额标准不符，须填写理由")
    calendar = await working_calendar(session)
    _refuse(rules.deadline_problem(method, now, data.bid_deadline, calendar, limits), "bid_deadline", "投标截止时间不符合最短期限")
    invited = sorted(set(data.invited_organisation_ids))
    _refuse(rules.invitations_problem(method, len(invited), limits), "invited_organisation_ids", "竞争性谈判须邀请足够数量的社会组织")
    organisations = await registry_queries.organisation_particulars(session, invited)
    for organisation_id in invited:
        found = organisations.get(organisation_id)
        if found is None or found.kind is not OrganisationKind.SOCIAL_ORG:
            raise RuleViolation(f"organisation {organisation_id} is not a registered social organisation", zh=f"所邀请的机构（编号 {organisation_id}）不是已登记的社会组织", field="invited_organisation_ids")
    budget_fen = sum(lot.budget_fen for lot in data.lots)
    if data.catalogue_item_id is not None:
        await _check_catalogue_item(session, data.catalogue_item_id, street_id, budget_fen, now)
    call = Call(
        number=await _next_number(session, method, now), title=data.title.strip(), description=data.description, category=data.category.value,
        method=method, method_reason=data.method_reason.strip(), street_id=street_id, catalogue_item_id=data.catalogue_item_id, budget_fen=budget_fen,
        opened_at=now, bid_deadline=data.bid_deadline, status=OPEN, created_by_user_id=actor.user_id, updated_at=now,
    )
    session.add(call)
    await session.flush()
    session.add_all(CallLot(call_id=call.id, number=i, title=lot.title.strip(), budget_fen=lot.budget_fen) for i, lot in enumerate(data.lots, 1))
    session.add_all(CallCriterion(call_id=call.id, number=i, name=c.name.strip(), weight=c.weight) for i, c in enumerate(data.criteria, 1))
    session.add_all(CallInvitation(call_id=call.id, organisation_id=i) for i in invited)
    record_change(session, actor, "call.opened", "call", call.id, after={"number": call.number, "method": method, "budget_fen": call.budget_fen, "bid_deadline": call.bid_deadline})
    await notify(
        session, f"call-invited:{call.id}", await organisation_user_ids(session, set(invited)),
        f"邀请参加竞争性谈判：{call.title}", f"请在 {_when(call.bid_deadline)} 前提交响应文件。", f"/community/calls/{call.id}",
    )
    await _announce(session, call.id, records.TENDER)
    return call


async def _check_catalogue_item(session: AsyncSession, item_id: int, street_id: int | None, budget_fen: int, now: datetime) -> None:
    """A call buys from an item of the catalogue in force for the year it opens, of its own buyer (the district's
    item for a district call, the street's for the street's), within what is left of the item's budget."""
    item = await needs_queries.catalogue_item(session, item_id, hold=True)  # what is left is weighed one call at a time
    year = now.astimezone(BUSINESS_TZ).year
    if item is None or item.year != year or item.catalogue_version != await needs_queries.published_version(session, year):
        raise RuleViolation(
            f"catalogue item {item_id} is not in the catalogue of bought services in force for {year}",
            field="catalogue_item_id", zh=f"所选目录项目不在 {year} 年现行（已发布）的政府购买服务项目目录中",
        )
    if item.street_id != street_id:
        raise RuleViolation(
            f"catalogue item {item_id} is bought by {'the district' if item.street_id is None else 'a street'}, not by this call's buyer",
            field="catalogue_item_id", zh="所选目录项目不属于本项目的采购方（区级项目须由区级发布，街道项目由该街道发布）",
        )
    committed = await queries.committed_fen(session, item_id)
    _refuse(
        rules.catalogue_budget_problem(budget_fen, item.budget_fen, committed), "catalogue_item_id",
        f"项目预算超过目录项目「{item.title}」的剩余预算（剩余 {Decimal(item.budget_fen - committed) / 100:.2f} 元）",
    )


@dataclass(frozen=True)
class CatalogueChoice:
    """An item of this year's catalogue the buyer may call against, as the opening form lists it."""

    id: int
    title: str
    category: str
    budget_fen: int
    left_fen: int


async def catalogue_choices(session: AsyncSession, actor: Principal, now: datetime) -> list[CatalogueChoice]:
    """The items of the catalogue in force this year that the actor's calls buy from (the district's items for the
    district, a street's for its officer), with what is left of each budget."""
    street_id = actor.street_id if actor.role is Role.STREET_OFFICER else None
    items = [i for i in await needs_queries.catalogue_items(session, now.astimezone(BUSINESS_TZ).year) if i.street_id == street_id]
    return [CatalogueChoice(i.id, i.title, i.category, i.budget_fen, i.budget_fen - await queries.committed_fen(session, i.id)) for i in items]


async def repeat_call(session: AsyncSession, actor: Principal, call_id: int, data: schemas.RepeatIn, now: datetime) -> Call:
    """A failed call opened again (重新招标) with the same lots and criteria and a new deadline, linked to it."""
    failed = await call_row(session, call_id, hold=True)
    _require_buyer(actor, failed, "repeating a call")
    if failed.status != FAILED:
        raise Conflict(f"call {failed.number} has not failed; only a failed call is repeated", zh="该项目未流标，只有流标的项目才能重新招标")
    if (await session.execute(select(col(Call.id)).where(col(Call.repeated_from_call_id) == call_id))).first():
        raise Conflict(f"call {failed.number} was already repeated", zh="该项目已重新招标过，请在新发布的项目中继续")
    lots = (await session.execute(select(CallLot).where(col(CallLot.call_id) == call_id).order_by(col(CallLot.number)))).scalars().all()
    criteria = (await session.execute(select(CallCriterion).where(col(CallCriterion.call_id) == call_id).order_by(col(CallCriterion.number)))).scalars().all()
    invited = list((await session.execute(select(col(CallInvitation.organisation_id)).where(col(CallInvitation.call_id) == call_id))).scalars())
    calendar = await working_calendar(session)
    _refuse(rules.deadline_problem(failed.method, now, data.bid_deadline, calendar, call_limits()), "bid_deadline", "投标截止时间不符合最短期限")
    call = Call(
        number=await _next_number(session, failed.method, now), title=failed.title, description=failed.description, category=failed.category,
        method=failed.method, method_reason=failed.method_reason, street_id=failed.street_id, catalogue_item_id=failed.catalogue_item_id, budget_fen=failed.budget_fen, opened_at=now,
        bid_deadline=data.bid_deadline, status=OPEN, repeated_from_call_id=failed.id, created_by_user_id=actor.user_id, updated_at=now,
    )
    session.add(call)
    await session.flush()
    session.add_all(CallLot(call_id=call.id, number=lot.number, title=lot.title, budget_fen=lot.budget_fen) for lot in lots)
    session.add_all(CallCriterion(call_id=call.id, number=c.number, name=c.name, weight=c.weight) for c in criteria)
    session.add_all(CallInvitation(call_id=call.id, organisation_id=i) for i in invited)
    record_change(session, actor, "call.repeated", "call", call.id, after={"number": call.number, "repeats": failed.number})
    await settle(session, f"call-failed:{failed.id}")
    await _announce(session, call.id, records.TENDER)
    return call


async def call_out(session: AsyncSession, call: Call, now: datetime) -> schemas.CallOut:
    lots = (await session.execute(select(CallLot).where(col(CallLot.call_id) == call.id).order_by(col(CallLot.number)))).scalars().all()
    criteria = (await session.execute(select(CallCriterion).where(col(CallCriterion.call_id) == call.id).order_by(col(CallCriterion.number)))).scalars().all()
    invited = list((await session.execute(select(col(CallInvitation.organisation_id)).where(col(CallInvitation.call_id) == call.id).order_by(col(CallInvitation.organisation_id)))).scalars())
    repeated_by = (await session.execute(select(col(Call.id)).where(col(Call.repeated_from_call_id) == call.id))).scalar_one_or_none()
    return schemas.CallOut(
        id=call.id, number=call.number, title=call.title, description=call.description, category=call.category, method=call.method,
        method_reason=call.method_reason, street_id=call.street_id, catalogue_item_id=call.catalogue_item_id, budget_fen=call.budget_fen, opened_at=call.opened_at,
        bid_deadline=call.bid_deadline, status=call.status, sealed=rules.sealed(now, call.bid_deadline),
        lots=[schemas.LotOut(number=lot.number, title=lot.title, budget_fen=lot.budget_fen) for lot in lots],
        criteria=[schemas.CriterionOut(number=c.number, name=c.name, weight=c.weight) for c in criteria],
        invited_organisation_ids=invited, repeated_from_call_id=call.repeated_from_call_id, repeated_by_call_id=repeated_by, draw_seed=call.draw_seed,
    )


async def list_calls(session: AsyncSession, actor: Principal, status: str | None = None) -> list[Call]:
    """Calls are public once opened; an organisation sees those it may bid for (a negotiation: if invited; a
    street's call: if it serves the street) and those it bid in."""
    query = select(Call).order_by(col(Call.id).desc())
    if status is not None:
        query = query.where(col(Call.status) == status)
    calls = list((await session.execute(query)).scalars())
    if actor.role is not Role.SOCIAL_ORG or actor.organisation_id is None:
        return calls
    particulars = (await registry_queries.organisation_particulars(session, [actor.organisation_id])).get(actor.organisation_id)
    invited = set((await session.execute(select(col(CallInvitation.call_id)).where(col(CallInvitation.organisation_id) == actor.organisation_id))).scalars())
    bid_in = set((await session.execute(select(col(Bid.call_id)).where(col(Bid.organisation_id) == actor.organisation_id))).scalars())
    return [c for c in calls if c.id in bid_in or (particulars is not None and _eligibility_problem(c, particulars, c.id in invited) is None)]


def _eligibility_problem(call: Call, organisation: registry_queries.OrganisationParticulars, invited: bool) -> str | None:
    if organisation.kind is not OrganisationKind.SOCIAL_ORG:
        return "only social organisations bid"
    if call.method == rules.NEGOTIATION and not invited:
        return f"call {call.number} is a competitive negotiation among invited organisations; yours was not invited"
    if call.method != rules.VENTURE and organisation.standing != "registered":
        return "a filed (备案) community organisation bids in venture philanthropy calls only"
    if call.street_id is not None and call.street_id not in organisation.street_ids:
        return f"call {call.number} is for a street your organisation does not serve"
    return None


# A package above may bar an organisation from bidding (a failed final evaluation bars it from the next year's
# calls): (session, organisation id, the call's year) → None, or why (English, Chinese).
BidBar = Callable[[AsyncSession, int, int], Awaitable[tuple[str, str] | None]]
_BID_BARS: list[BidBar] = []


def bar_bids_with(bar: BidBar) -> None:
    """Ask submit_bid to refuse the organisations `bar` names (once per process; again is harmless)."""
    if bar not in _BID_BARS:
        _BID_BARS.append(bar)


# Bids


async def judged_attachments(documents: list[schemas.DocumentIn], field: str) -> list[tuple[schemas.DocumentIn, bytes, str]]:
    """Each attached file decoded, with its type judged by its content (on the heavy-work threads: opening a PDF or
    decoding a picture is CPU work); the first that is not a readable PDF, Word, Excel, JPEG or PNG file (or not the
    type its sender claimed) refuses the whole filing before anything is stored."""
    max_pixels = get_settings().photo_max_pixels
    judged = []
    for document in documents:
        content = base64.b64decode(document.content, validate=True)
        kind = await off_loop(attached_document, content, document.content_type, max_pixels, field=field, name=document.name.strip())
        judged.append((document, content, kind))
    return judged


async def submit_bid(session: AsyncSession, actor: Principal, store: BlobStore, call_id: int, data: schemas.BidIn, now: datetime) -> tuple[Bid, bool]:
    """Submit a bid for a lot before the deadline; a second submission for the lot replaces the first. A retry with
    the same client id and body answers the bid already stored (True: replayed); another body is refused."""
    require_role(actor, {Role.SOCIAL_ORG}, "bidding")
    if actor.organisation_id is None:
        raise PermissionDenied("bidding is for a social organisation's account or key", zh="投标须使用社会组织的账号")
    earlier = (await session.execute(select(Bid).where(col(Bid.client_id) == data.client_id))).scalar_one_or_none()
    if earlier is not None:
        same = (earlier.organisation_id, earlier.call_id, earlier.lot_number, earlier.amount_fen, earlier.plan, earlier.team) == (
            actor.organisation_id, call_id, data.lot_number, data.amount_fen, data.plan, data.team,
        )
        if not same:
            raise Conflict(f"client_id {data.client_id} names another submission; make a new one for a new bid", zh="该投标的提交编号已用于另一份投标，请刷新页面后重新填写")
        return earlier, True
    call = await call_row(session, call_id, hold=True)
    if call.status != OPEN or not rules.sealed(now, call.bid_deadline):
        raise RuleViolation(
            f"the bid deadline of call {call.number} passed at {_when(call.bid_deadline)}; no bid is taken after it",
            field="call", zh="投标截止时间已过，不再接受投标",
        )
    lot = await session.get(CallLot, (call_id, data.lot_number))
    if lot is None:
        raise RuleViolation(f"call {call.number} has no lot {data.lot_number}", zh=f"该项目没有第 {data.lot_number} 包，请重新选择标包", field="lot_number")
    if data.amount_fen > lot.budget_fen:
        raise RuleViolation(f"the bid of {data.amount_fen} fen is above the lot's budget of {lot.budget_fen} fen", field="amount_fen", zh="报价超过该包预算")
    particulars = (await registry_queries.organisation_particulars(session, [actor.organisation_id]))[actor.organisation_id]
    invited = await session.get(CallInvitation, (call_id, actor.organisation_id)) is not None
    _refuse(_eligibility_problem(call, particulars, invited), None, "贵机构不符合该项目的投标资格")
    for bar in _BID_BARS:
        barred = await bar(session, actor.organisation_id, call.opened_at.astimezone(BUSINESS_TZ).year)
        if barred is not None:
            raise RuleViolation(f"your organisation may not bid in the calls of {call.opened_at.astimezone(BUSINESS_TZ).year}: {barred[0]}", field="call", zh=barred[1])
    attached = await judged_attachments(data.documents, "documents")
    live_key = f"{call_id}:{data.lot_number}:{actor.organisation_id}"
    replaced = (await session.execute(select(Bid).where(col(Bid.live_key) == live_key).with_for_update())).scalar_one_or_none()
    if replaced is not None:
        replaced.status, replaced.live_key = "replaced", None
        await session.flush()
    bid = Bid(
        call_id=call_id, lot_number=data.lot_number, organisation_id=actor.organisation_id, client_id=data.client_id, plan=data.plan,
        team=data.team, amount_fen=data.amount_fen, status="submitted", live_key=live_key, replaces_bid_id=replaced.id if replaced else None,
        submitted_at=now, submitted_by=actor.label,
    )
    session.add(bid)
    await session.flush()
    for document, content, kind in attached:
        sha256 = await write_blob(store, content)
        session.add(BidDocument(bid_id=bid.id, name=document.name.strip(), content_type=kind, size=len(content), sha256=sha256))
    # The audit keeps that a bid was made, not its content (sealed until the deadline).
    record_change(session, actor, "bid.replaced" if replaced else "bid.submitted", "bid", bid.id, after={"call": call.number, "lot": data.lot_number})
    await session.flush()
    return bid, False


async def withdraw_bid(session: AsyncSession, actor: Principal, bid_id: int, now: datetime) -> Bid:
    require_role(actor, {Role.SOCIAL_ORG}, "withdrawing a bid")
    bid = await session.get(Bid, bid_id)
    if bid is None or bid.organisation_id != actor.organisation_id:
        raise NotFound("bid", bid_id)
    call = await call_row(session, bid.call_id, hold=True)
    if not rules.sealed(now, call.bid_deadline):
        raise RuleViolation(f"the bid deadline passed at {_when(call.bid_deadline)}; a bid is withdrawn before it", zh="投标截止后不能撤回投标")
    if bid.status != "submitted":
        raise Conflict(f"bid {bid_id} is {bid.status}, not live", zh="该投标已撤回或已无效，无需撤回")
    bid.status, bid.live_key, bid.withdrawn_at = "withdrawn", None, now
    record_change(session, actor, "bid.withdrawn", "bid", bid.id)
    await session.flush()
    return bid


async def bid_out(session: AsyncSession, bid: Bid) -> schemas.BidOut:
    name = (await registry_queries.organisation_particulars(session, [bid.organisation_id]))[bid.organisation_id].name
    documents = (await session.execute(select(BidDocument).where(col(BidDocument.bid_id) == bid.id).order_by(col(BidDocument.id)))).scalars()
    return schemas.BidOut(
        id=bid.id, call_id=bid.call_id, lot_number=bid.lot_number, organisation_id=bid.organisation_id, organisation_name=name, plan=bid.plan,
        team=bid.team, amount_fen=bid.amount_fen, status=bid.status, submitted_at=bid.submitted_at, replaces_bid_id=bid.replaces_bid_id,
        documents=[schemas.DocumentOut(id=d.id, name=d.name, content_type=d.content_type, size=d.size, sha256=d.sha256) for d in documents],
    )


async def bid_for(session: AsyncSession, actor: Principal, bid_id: int, now: datetime) -> schemas.BidOut:
    """A bid's content: to its organisation at any time; to the buyer and the panel (less a recused member) after the
    deadline. The API's answer and the bid's page."""
    bid, _ = await queries.readable_bid(session, actor, bid_id, now)
    return await bid_out(session, bid)


async def bid_summaries(session: AsyncSession, actor: Principal, call_id: int, now: datetime) -> list[schemas.BidSummary]:
    call = await call_row(session, call_id)
    bids = await queries.readable_bids(session, actor, call, now, ("submitted", "invalid", "withdrawn"))
    names = await registry_queries.organisation_particulars(session, {b.organisation_id for b in bids})
    return [
        schemas.BidSummary(
            id=b.id, lot_number=b.lot_number, organisation_id=b.organisation_id, organisation_name=names[b.organisation_id].name,
            amount_fen=b.amount_fen, status=b.status, submitted_at=b.submitted_at,
        )
        for b in bids
    ]


async def document_content(session: AsyncSession, actor: Principal, store: BlobStore, document_id: int, now: datetime) -> tuple[BidDocument, bytes]:
    document = await session.get(BidDocument, document_id)
    if document is None:
        raise NotFound("document", document_id)
    await queries.readable_bid(session, actor, document.bid_id, now)
    return document, await read_blob(store, document.sha256)


async def close_bidding(session: AsyncSession, actor: Principal, call_id: int, now: datetime) -> Call:
    """After the deadline: the call goes to evaluation, or fails with too few valid bids (a public tender with fewer
    than the minimum is repeated as a new call)."""
    call = await call_row(session, call_id, hold=True)
    _require_buyer(actor, call, "closing the bidding")
    if call.status != OPEN:
        raise Conflict(f"call {call.number} is {call.status}, not open", zh="该项目不在投标阶段，不能截止投标")
    if rules.sealed(now, call.bid_deadline):
        raise RuleViolation(f"the bidding of call {call.number} closes at {_when(call.bid_deadline)}", zh="投标截止时间未到")
    valid = len(await queries.readable_bids(session, actor, call, now))
    call.updated_at = now
    for waiting in ("call-invited", "call-closing", "call-to-open"):  # the bidding is over: nobody is asked to bid or open
        await settle(session, f"{waiting}:{call.id}")
    if not rules.enough_bids(call.method, valid, call_limits()):
        call.status = FAILED
        record_change(session, actor, "call.failed", "call", call.id, after={"valid_bids": valid})
        await notify(
            session, f"call-failed:{call.id}", await buyer_user_ids(session, call), f"项目流标待重新招标：{call.title}",
            f"有效投标 {valid} 份，不足规定数量，请重新发布（重新招标）。", f"/community/calls/{call.id}",
        )
        await _announce(session, call.id, records.TENDER_UPDATE)
        return call
    call.status = EVALUATING
    record_change(session, actor, "call.bidding_closed", "call", call.id, after={"valid_bids": valid})
    members = list((await session.execute(select(col(PanelMember.user_id)).where(col(PanelMember.call_id) == call.id))).scalars())
    await notify(session, f"panel-score:{call.id}", members, f"评审任务：{call.title}", "投标已截止，请申报利益冲突后评分并签字。", f"/community/panel/{call.id}")
    await _announce(session, call.id, records.TENDER_UPDATE)
    return call


# The panel


async def scoring_started(session: AsyncSession, call_id: int) -> bool:
    """Whether a member has scored a bid of the call: from then on its panel is fixed."""
    return (await session.execute(select(col(Score.bid_id)).where(col(Score.call_id) == call_id).limit(1))).first() is not None


async def assign_panel(session: AsyncSession, actor: Principal, call_id: int, data: schemas.PanelIn) -> list[PanelMember]:
    """Name the panel (评审委员会): evaluators (outside experts) and officials, at least the minimum, odd, and for a
    public tender mostly outside; the panel is changed only while nobody has scored."""
    call = await call_row(session, call_id, hold=True)
    _require_buyer(actor, call, "naming the panel")
    if call.status not in (OPEN, EVALUATING):
        raise Conflict(f"call {call.number} is {call.status}; its panel is fixed", zh="该项目已进入公示或已结束，评审委员会不能再调整")
    if await scoring_started(session, call_id):
        raise Conflict("the panel has started scoring; it is not changed now", zh="评审委员会已开始评分，不能再调整")
    user_ids = sorted(set(data.user_ids))
    users = await people_queries.users(session, user_ids)
    outside: list[bool] = []
    for user_id in user_ids:
        user = users.get(user_id)
        if user is None or not user.active:
            raise NotFound("user", user_id)
        if user.role is Role.PANEL_MEMBER:
            outside.append(True)
        elif user.role in OFFICIAL_PANEL_ROLES:
            outside.append(False)
        else:
            raise RuleViolation(f"user {user_id} ({user.role.value}) cannot sit on a panel: evaluators and officials do", zh=f"{user.display_name}不是评审专家或工作人员，不能担任评审委员", field="user_ids")
    if {actor.user_id, call.created_by_user_id} & set(user_ids):
        raise refusal(Duty.SIT_ON_OWN_CALLS_PANEL)  # the buyer does not judge the bids of its own call
    _refuse(rules.panel_problem(call.method, outside, call_limits()), "user_ids", "评审委员会人数或外部专家比例不符合要求")
    for row in (await session.execute(select(PanelMember).where(col(PanelMember.call_id) == call_id))).scalars():
        await session.delete(row)
    await session.flush()
    members = [PanelMember(call_id=call_id, user_id=u, outside=o) for u, o in zip(user_ids, outside, strict=True)]
    session.add_all(members)
    record_change(session, actor, "call.panel_named", "call", call.id, after={"user_ids": user_ids})
    await notify(session, f"panel-named:{call.id}", user_ids, f"评审邀请：{call.title}", f"投标截止于 {_when(call.bid_deadline)}，截止后请申报利益冲突并评分。", f"/community/panel/{call.id}")
    await session.flush()
    return members


async def panel(session: AsyncSession, actor: Principal, call_id: int) -> list[schemas.PanelMemberOut]:
    call = await call_row(session, call_id)
    if not is_buyer(actor, call) and await queries.panel_member(session, actor, call_id) is None:
        raise PermissionDenied("the panel of a call is for its buyer and members", zh="只有采购方和评审委员可以查看评审委员会")
    rows = (await session.execute(select(PanelMember).where(col(PanelMember.call_id) == call_id).order_by(col(PanelMember.user_id)))).scalars().all()
    users = await people_queries.users(session, [r.user_id for r in rows])
    return [
        schemas.PanelMemberOut(user_id=r.user_id, display_name=users[r.user_id].display_name, outside=r.outside, declared=r.declared_at is not None, signed=r.signed_at is not None)
        for r in rows
    ]


@dataclass(frozen=True)
class PanelCandidate:
    """Someone the buyer may name to a call's panel, as the panel form lists them."""

    user_id: int
    display_name: str
    outside: bool  # an evaluator (outside expert), not an official
    chosen: bool  # on the panel now
    recused: bool  # opened the call or names its panel: may not sit on it (sit_on_own_calls_panel)


async def panel_candidates(session: AsyncSession, actor: Principal, call_id: int) -> list[PanelCandidate]:
    """Evaluators, and the officials of the call's street and the district, for the buyer's panel form."""
    call = await call_row(session, call_id)
    _require_buyer(actor, call, "naming the panel")
    chosen = set((await session.execute(select(col(PanelMember.user_id)).where(col(PanelMember.call_id) == call_id))).scalars())
    recused = {actor.user_id, call.created_by_user_id}
    return [
        PanelCandidate(u.id, u.display_name, u.role is Role.PANEL_MEMBER, u.id in chosen, u.id in recused)
        for u in await people_queries.active_users_with_roles(session, {Role.PANEL_MEMBER, *OFFICIAL_PANEL_ROLES}, call.street_id)
    ]


async def _member(session: AsyncSession, actor: Principal, call: Call) -> PanelMember:
    require_role(actor, {Role.PANEL_MEMBER, *OFFICIAL_PANEL_ROLES}, "evaluating")
    member = await queries.panel_member(session, actor, call.id)
    if member is None:
        raise PermissionDenied(f"you are not on the panel of call {call.number}", zh="您不是该项目的评审委员")
    return member


async def declare(session: AsyncSession, actor: Principal, call_id: int, data: schemas.DeclarationIn, now: datetime) -> PanelMember:
    """A member declares their conflicts of interest with the bidders (none, or some) once the bidders are known."""
    call = await call_row(session, call_id)
    member = await _member(session, actor, call)
    if call.status != EVALUATING:
        raise RuleViolation(f"call {call.number} is {call.status}: members declare once the bidding has closed", zh="投标截止并开标后才能申报")
    if member.declared_at is not None:
        raise Conflict("you have already declared for this call", zh="您已申报过利益冲突，不能重复申报")
    bidders = {b.organisation_id for b in await queries.readable_bids(session, actor, call, now)}
    if unknown := sorted(set(data.conflicted_organisation_ids) - bidders - (await queries.recused_organisations(session, actor, call_id))):
        raise RuleViolation(f"organisation {unknown[0]} did not bid in this call", zh=f"所申报的机构（编号 {unknown[0]}）未参加本项目投标", field="conflicted_organisation_ids")
    session.add_all(
        ConflictDeclaration(call_id=call_id, user_id=member.user_id, organisation_id=o, reason=data.reason) for o in sorted(set(data.conflicted_organisation_ids))
    )
    member.declared_at = now
    record_change(session, actor, "panel.declared", "call", call.id, after={"conflicts": sorted(set(data.conflicted_organisation_ids))})
    await session.flush()
    return member


async def _not_recused(session: AsyncSession, actor: Principal, bid_id: int) -> None:
    """A member recused from a bid's organisation (their own, or one they declared) cannot read the bid; asked to
    score it, they are told which rule keeps them from it rather than that it does not exist."""
    bid = await session.get(Bid, bid_id)
    if bid is None or await queries.panel_member(session, actor, bid.call_id) is None:
        return
    if bid.organisation_id in await queries.recused_organisations(session, actor, bid.call_id):
        raise refusal(Duty.SCORE_OWN_ORGANISATION_BID)


async def score_bid(session: AsyncSession, actor: Principal, bid_id: int, data: schemas.ScoreIn, now: datetime) -> schemas.PanelScoreOut:
    """A member scores every criterion of a bid they may see (not one of an organisation they declared or belong
    to); scoring again before signing replaces their points."""
    await _not_recused(session, actor, bid_id)
    bid, call = await queries.readable_bid(session, actor, bid_id, now)
    member = await _member(session, actor, call)
    if call.status != EVALUATING:
        raise RuleViolation(f"call {call.number} is {call.status}, not under evaluation", zh="该项目不在评审阶段，不能评分")
    if member.declared_at is None:
        raise RuleViolation("declare your conflicts of interest before scoring", zh="请先申报利益冲突")
    if member.signed_at is not None:
        raise Conflict("you have signed your scores; they are final", zh="您已签字，评分不能再修改")
    if bid.status != "submitted":
        raise RuleViolation(f"bid {bid_id} is {bid.status}; only valid bids are scored", zh="该投标已撤回或已无效，无需评分")
    weights = {c.number: c.weight for c in (await session.execute(select(CallCriterion).where(col(CallCriterion.call_id) == call.id))).scalars()}
    points: dict[int, int] = {}
    for entry in data.points:
        if entry.criterion_number in points:
            raise RuleViolation(f"criterion {entry.criterion_number} is scored twice", zh=f"评分项 {entry.criterion_number} 重复打分", field="points")
        points[entry.criterion_number] = entry.points
    _refuse(rules.score_problem(points, weights), "points", "请为每个评分项打分，且不超过该项分值")
    for row in (await session.execute(select(Score).where(col(Score.bid_id) == bid_id, col(Score.user_id) == member.user_id))).scalars():
        await session.delete(row)
    await session.flush()
    session.add_all(Score(bid_id=bid_id, user_id=member.user_id, criterion_number=k, call_id=call.id, points=v, scored_at=now) for k, v in sorted(points.items()))
    record_change(session, actor, "panel.scored", "bid", bid_id, after={"total": sum(points.values())})
    await session.flush()
    return schemas.PanelScoreOut(bid_id=bid_id, total=sum(points.values()))


async def sign_off(session: AsyncSession, actor: Principal, call_id: int, now: datetime) -> PanelMember:
    call = await call_row(session, call_id)
    member = await _member(session, actor, call)
    if call.status != EVALUATING:
        raise RuleViolation(f"call {call.number} is {call.status}, not under evaluation", zh="该项目不在评审阶段，不能签字")
    if member.signed_at is not None:
        return member
    visible = {b.id for b in await queries.readable_bids(session, actor, call, now)}
    scored = set((await session.execute(select(col(Score.bid_id)).where(col(Score.call_id) == call_id, col(Score.user_id) == member.user_id))).scalars())
    if missing := sorted(visible - scored):
        raise RuleViolation(f"score bid {missing[0]} before signing ({len(missing)} unscored)", zh="还有未评分的投标，不能签字")
    member.signed_at = now
    record_change(session, actor, "panel.signed", "call", call.id)
    for waiting in ("panel-named", "panel-score"):  # this member's scores are in
        await settle(session, f"{waiting}:{call.id}", [member.user_id])
    await session.flush()
    unsigned = (await session.execute(select(col(PanelMember.user_id)).where(col(PanelMember.call_id) == call_id, col(PanelMember.signed_at).is_(None)))).first()
    if unsigned is None:
        await notify(
            session, f"evaluation-to-close:{call.id}", await buyer_user_ids(session, call), f"评审委员已全部签字：{call.title}",
            "请结束评审并公示结果。", f"/community/calls/{call.id}",
        )
    return member


async def _member_totals(session: AsyncSession, call_id: int) -> dict[int, list[int]]:
    """Each bid's total from every member who has signed their scores (a member's scores are theirs to change until
    they sign: nobody sees them before)."""
    rows = await session.execute(
        select(col(Score.bid_id), col(Score.user_id), func.sum(col(Score.points)))
        .join(PanelMember, (col(PanelMember.call_id) == col(Score.call_id)) & (col(PanelMember.user_id) == col(Score.user_id)))
        .where(col(Score.call_id) == call_id, col(PanelMember.signed_at).is_not(None))
        .group_by(col(Score.bid_id), col(Score.user_id))
    )
    totals: dict[int, list[int]] = {}
    for bid_id, _user_id, total in rows.all():
        totals.setdefault(bid_id, []).append(int(total))
    return totals


async def ranking(session: AsyncSession, actor: Principal, call_id: int, now: datetime) -> list[schemas.RankedOut]:
    """The ranking per lot from the signed scores (the buyer, and members once they have signed)."""
    call = await call_row(session, call_id)
    if not is_buyer(actor, call):
        member = await _member(session, actor, call)
        if member.signed_at is None:
            raise PermissionDenied("the ranking is shown to a member once they have signed", zh="签字后才能查看汇总结果")
    bids = await queries.readable_bids(session, actor, call, now)
    totals = await _member_totals(session, call_id)
    names = await registry_queries.organisation_particulars(session, {b.organisation_id for b in bids})
    seed = call.draw_seed if call.draw_seed is not None else 0
    result: list[schemas.RankedOut] = []
    for lot in sorted({b.lot_number for b in bids}):
        in_lot = {b.id: b for b in bids if b.lot_number == lot}
        ranked = rules.rank(((b.id, rules.aggregate(totals.get(b.id, []), call_limits()), b.amount_fen) for b in in_lot.values()), seed)
        result += [
            schemas.RankedOut(
                bid_id=r.bid_id, organisation_name=names[in_lot[r.bid_id].organisation_id].name, lot_number=lot, score=rules.score_text(r.score),
                amount_fen=r.amount_fen, rank=i, drawn=r.drawn,
            )
            for i, r in enumerate(ranked, 1)
        ]
    return result


async def signals(session: AsyncSession, actor: Principal, call_id: int, now: datetime) -> list[schemas.SignalOut]:
    """Signs of collusion among the bids the actor may see: a shared legal representative, phone, address, or an
    identical document."""
    call = await call_row(session, call_id)
    bids = await queries.readable_bids(session, actor, call, now)
    particulars = await registry_queries.organisation_particulars(session, {b.organisation_id for b in bids})
    hashes: dict[int, set[str]] = {}
    if bids:
        rows = await session.execute(select(col(BidDocument.bid_id), col(BidDocument.sha256)).where(col(BidDocument.bid_id).in_([b.id for b in bids])))
        for bid_id, sha256 in rows.all():
            hashes.setdefault(bid_id, set()).add(sha256)
    facts = [
        rules.BidderFacts(
            bid_id=b.id, legal_representative=particulars[b.organisation_id].legal_representative, phone=particulars[b.organisation_id].phone,
            address=particulars[b.organisation_id].address, document_hashes=frozenset(hashes.get(b.id, set())),
        )
        for b in bids
    ]
    return [schemas.SignalOut(bid_ids=[a, b], kind=kind, description=rules.SIGNAL_NAMES[kind]) for a, b, kind in rules.collusion_signals(facts)]


# Award


async def close_evaluation(session: AsyncSession, actor: Principal, call_id: int, now: datetime) -> list[Award]:
    """Every member has signed: each lot without a live award goes to its best bid, published (公示) at once."""
    call = await call_row(session, call_id, hold=True)
    _require_buyer(actor, call, "closing the evaluation")
    if call.status != EVALUATING:
        raise Conflict(f"call {call.number} is {call.status}, not under evaluation", zh="该项目不在评审阶段，不能结束评审")
    members = (await session.execute(select(PanelMember).where(col(PanelMember.call_id) == call_id))).scalars().all()
    limits = call_limits()
    _refuse(rules.panel_problem(call.method, [m.outside for m in members], limits), "panel", "评审委员会组成不符合要求")
    if unsigned := [m.user_id for m in members if m.signed_at is None]:
        raise RuleViolation(f"{len(unsigned)} panel member(s) have not signed", zh="尚有评审委员未签字")
    if call.draw_seed is None:
        call.draw_seed = secrets.randbelow(2**31 - 1)
    bids = await queries.readable_bids(session, actor, call, now)
    totals = await _member_totals(session, call_id)
    if unscored := [b.id for b in bids if not totals.get(b.id)]:
        raise RuleViolation(f"bid {unscored[0]} was scored by no member (all recused): name other members", zh="有投标无人评分，请调整评审委员会")
    awarded_lots = set((await session.execute(select(col(Award.lot_number)).where(col(Award.call_id) == call_id, col(Award.live_key).is_not(None)))).scalars())
    calendar = await working_calendar(session)
    made: list[Award] = []
    for lot in sorted({b.lot_number for b in bids} - awarded_lots):
        in_lot = [b for b in bids if b.lot_number == lot]
        best = rules.rank(((b.id, rules.aggregate(totals[b.id], limits), b.amount_fen) for b in in_lot), call.draw_seed)[0]
        winner = next(b for b in in_lot if b.id == best.bid_id)
        award = Award(
            call_id=call_id, lot_number=lot, bid_id=winner.id, organisation_id=winner.organisation_id, amount_fen=winner.amount_fen,
            score=rules.score_text(best.score), status="pending", live_key=f"{call_id}:{lot}", published_at=now,
            publicity_ends_at=rules.publicity_ends(now, limits), objection_deadline=rules.objection_deadline(now, calendar, limits),
        )
        session.add(award)
        made.append(award)
    if not made:
        raise RuleViolation("no lot is left to award: every lot has a live award or no valid bid", zh="没有可确定中标的标包：各标包均已有中标结果或没有有效投标")
    call.status, call.updated_at = PUBLICITY, now
    await session.flush()
    await settle(session, f"evaluation-to-close:{call.id}")
    record_change(session, actor, "call.awarded", "call", call.id, after={"awards": [a.id for a in made], "draw_seed": call.draw_seed})
    bidders = {b.organisation_id for b in bids}
    await notify(session, f"award-published:{call.id}:{made[0].id}", await organisation_user_ids(session, bidders), f"结果公示：{call.title}", "评审结果已公示，如有异议可在质疑期内提出质疑。", f"/public/calls/{call.id}")
    await _announce(session, call.id, records.AWARD)
    return made


async def awards_of(session: AsyncSession, call_id: int) -> list[schemas.AwardOut]:
    """The awards of a call: public (the publicity page shows them)."""
    awards = (await session.execute(select(Award).where(col(Award.call_id) == call_id).order_by(col(Award.lot_number), col(Award.id)))).scalars().all()
    names = await registry_queries.organisation_particulars(session, {a.organisation_id for a in awards})
    return [
        schemas.AwardOut(
            id=a.id, call_id=a.call_id, lot_number=a.lot_number, bid_id=a.bid_id, organisation_id=a.organisation_id, organisation_name=names[a.organisation_id].name,
            amount_fen=a.amount_fen, score=a.score, status=a.status, published_at=a.published_at, publicity_ends_at=a.publicity_ends_at,
            objection_deadline=a.objection_deadline, stood_at=a.stood_at,
        )
        for a in awards
    ]


async def awards_call_id(session: AsyncSession, award_id: int) -> int:
    award = await session.get(Award, award_id)
    if award is None:
        raise NotFound("award", award_id)
    return award.call_id


async def objection_call_id(session: AsyncSession, objection_id: int) -> int:
    objection = await session.get(Objection, objection_id)
    if objection is None:
        raise NotFound("objection", objection_id)
    return await awards_call_id(session, objection.award_id)


async def _award(session: AsyncSession, award_id: int) -> tuple[Award, Call]:
    award = await session.get(Award, award_id)
    if award is None:
        raise NotFound("award", award_id)
    return award, await call_row(session, award.call_id, hold=True)


async def object_to_award(session: AsyncSession, actor: Principal, award_id: int, data: schemas.ObjectionIn, now: datetime) -> Objection:
    """A bidder of the call objects (质疑) within the objection period; the buyer answers within its deadline."""
    require_role(actor, {Role.SOCIAL_ORG}, "objecting to an award")
    award, call = await _award(session, award_id)
    bid_in = (await session.execute(select(col(Bid.id)).where(col(Bid.call_id) == call.id, col(Bid.organisation_id) == actor.organisation_id, col(Bid.status).in_(["submitted", "invalid"])))).first()
    if bid_in is None:
        raise PermissionDenied("only a bidder of the call objects to its award", zh="只有参与投标的社会组织可以提出质疑")
    if award.status == "cancelled":
        raise Conflict("this award was withdrawn", zh="该中标结果已撤销，无需质疑")
    if now.astimezone(BUSINESS_TZ).date() > award.objection_deadline:
        raise RuleViolation(f"objections to this award were due by {award.objection_deadline.isoformat()}", zh="质疑期已过")
    if (await session.execute(select(col(Objection.id)).where(col(Objection.award_id) == award_id, col(Objection.organisation_id) == actor.organisation_id))).first():
        raise Conflict("your organisation has already objected to this award", zh="本机构已对该中标结果提出过质疑")
    calendar = await working_calendar(session)
    assert actor.organisation_id is not None
    objection = Objection(
        award_id=award_id, organisation_id=actor.organisation_id, text=data.text.strip(), objected_at=now, answer_due_on=rules.answer_due(now, calendar, call_limits())
    )
    session.add(objection)
    await session.flush()
    record_change(session, actor, "award.objected", "award", award_id, after={"objection": objection.id})
    await notify(
        session, f"objection:{objection.id}", await buyer_user_ids(session, call), f"质疑待答复：{call.title}",
        f"请在 {objection.answer_due_on.isoformat()} 前书面答复。", f"/community/calls/{call.id}",
    )
    return objection


async def answer_objection(session: AsyncSession, actor: Principal, objection_id: int, data: schemas.ObjectionAnswerIn, now: datetime) -> Objection:
    """The buyer's written answer; an upheld objection withdraws the award and invalidates the winning bid, and the
    lot goes back to evaluation."""
    objection = await session.get(Objection, objection_id)
    if objection is None:
        raise NotFound("objection", objection_id)
    award, call = await _award(session, objection.award_id)
    _require_buyer(actor, call, "answering an objection")
    if objection.answered_at is not None:
        raise Conflict("this objection was already answered", zh="该质疑已答复过")
    if data.upheld and (await session.execute(select(col(CallContract.id)).where(col(CallContract.award_id) == award.id))).first():
        raise Conflict("the contract is signed; an objection upheld now goes to the authorities, not to this award", zh="合同已签订，不能再以质疑成立撤销中标；质疑人可向监管部门反映")
    objection.answer, objection.upheld, objection.answered_at, objection.answered_by = data.answer.strip(), data.upheld, now, actor.label
    record_change(session, actor, "objection.answered", "objection", objection.id, after={"upheld": data.upheld})
    for waiting in ("objection", "objection-due"):  # answered: the buyer is no longer asked to
        await settle(session, f"{waiting}:{objection.id}")
    # An objection to an award already withdrawn (another objector's was upheld first) is answered all the same,
    # and changes nothing more: the lot was evaluated again, and its new award is in its own publicity.
    if data.upheld and award.status == "pending":
        await settle(session, f"award-to-confirm:{award.id}")
        award.status, award.live_key, award.cancelled_at = "cancelled", None, now
        bid = await session.get(Bid, award.bid_id)
        if bid is not None:
            bid.status, bid.live_key, bid.invalid_reason = "invalid", None, f"质疑成立：{data.answer.strip()}"[:2000]
        call.status, call.updated_at = EVALUATING, now
        await _announce(session, call.id, records.AWARD_UPDATE)
    await notify(session, f"objection-answered:{objection.id}", await organisation_user_ids(session, {objection.organisation_id}), f"质疑已答复：{call.title}", "请查看书面答复。", f"/community/calls/{call.id}")
    await session.flush()
    return objection


async def objections_of(session: AsyncSession, actor: Principal, call_id: int) -> list[schemas.ObjectionOut]:
    """The buyer sees every objection to a call's awards; an organisation its own."""
    call = await call_row(session, call_id)
    query = select(Objection).join(Award, col(Award.id) == col(Objection.award_id)).where(col(Award.call_id) == call_id).order_by(col(Objection.id))
    if actor.role is Role.SOCIAL_ORG:
        query = query.where(col(Objection.organisation_id) == actor.organisation_id)
    elif not is_buyer(actor, call):
        raise PermissionDenied("the objections of a call are for its buyer and the objectors", zh="只有采购方和提出质疑的社会组织可以查看质疑")
    return [
        schemas.ObjectionOut(
            id=o.id, award_id=o.award_id, organisation_id=o.organisation_id, text=o.text, objected_at=o.objected_at, answer_due_on=o.answer_due_on,
            answer=o.answer, upheld=o.upheld, answered_at=o.answered_at,
        )
        for o in (await session.execute(query)).scalars()
    ]


async def _open_objections(session: AsyncSession, award_id: int) -> int:
    query = select(func.count()).select_from(Objection).where(col(Objection.award_id) == award_id, col(Objection.answered_at).is_(None))
    return int((await session.execute(query)).scalar_one())


async def confirm_award(session: AsyncSession, actor: Principal, award_id: int, now: datetime) -> Award:
    """The award stands once its publicity has ended with no objection left unanswered."""
    award, call = await _award(session, award_id)
    _require_buyer(actor, call, "confirming an award")
    if award.status != "pending":
        raise Conflict(f"award {award_id} is {award.status}, not in publicity", zh="该中标结果不在公示期，无需确认")
    _refuse(rules.award_stand_problem(now, award.publicity_ends_at, await _open_objections(session, award_id)), None, "公示期未结束或仍有未答复的质疑")
    award.status, award.stood_at = "active", now
    await settle(session, f"award-to-confirm:{award.id}")
    pending = (await session.execute(select(col(Award.id)).where(col(Award.call_id) == call.id, col(Award.status) == "pending", col(Award.id) != award_id))).first()
    if pending is None and call.status == PUBLICITY:
        call.status = AWARDED
    call.updated_at = now
    record_change(session, actor, "award.stood", "award", award_id)
    await _announce(session, call.id, records.AWARD_UPDATE)
    return award


async def sign_contract(session: AsyncSession, actor: Principal, award_id: int, data: schemas.CallContractIn, now: datetime) -> CallContract:
    """The contract on a standing award, with its tranches; the first is payable on signing."""
    award, call = await _award(session, award_id)
    _require_buyer(actor, call, "signing a contract")
    if award.status != "active":
        raise RuleViolation(f"award {award_id} is {award.status}: a contract is signed on a standing award", zh="中标结果尚未生效，不能签订合同")
    if await _open_objections(session, award_id):
        raise RuleViolation("an objection to this award is still unanswered", zh="仍有未答复的质疑")
    if (await session.execute(select(col(CallContract.id)).where(col(CallContract.award_id) == award_id))).first():
        raise Conflict(f"award {award_id} already has its contract", zh="该中标结果已签订合同")
    if data.ends_on < data.starts_on:
        raise RuleViolation("the contract ends on or after it starts", zh="合同结束日期不能早于开始日期", field="ends_on")
    if award.stood_at is not None and data.signed_on < award.stood_at.astimezone(BUSINESS_TZ).date():
        raise RuleViolation("a contract is signed on or after the day its award stood", zh="合同签订日期不能早于中标结果生效之日", field="signed_on")
    if data.signed_on > now.astimezone(BUSINESS_TZ).date():
        raise RuleViolation("a contract is recorded once signed, not before", zh="签订日期不能晚于今天，请在合同签订后再登记", field="signed_on")
    contract = CallContract(
        number=f"{call.number}-{award.lot_number:02d}", award_id=award_id, call_id=call.id, organisation_id=award.organisation_id, amount_fen=award.amount_fen,
        signed_on=data.signed_on, starts_on=data.starts_on, ends_on=data.ends_on, signed_by=actor.label,
    )
    session.add(contract)
    await session.flush()
    limits = call_limits()
    amounts = rules.tranche_amounts(award.amount_fen, limits.tranche_shares)
    count = len(amounts)
    session.add_all(
        Tranche(
            contract_id=contract.id, number=i, share=limits.tranche_share_texts[i - 1], amount_fen=amount, condition=rules.tranche_condition(i, count),
            payable_on=data.signed_on if i == 1 else None,
        )
        for i, amount in enumerate(amounts, 1)
    )
    call.updated_at = now
    record_change(session, actor, "contract.signed", "call_contract", contract.id, after={"amount_fen": contract.amount_fen, "tranches": amounts})
    await _announce(session, call.id, records.CONTRACT)
    return contract


async def contract_out(session: AsyncSession, contract: CallContract) -> schemas.CallContractOut:
    tranches = (await session.execute(select(Tranche).where(col(Tranche.contract_id) == contract.id).order_by(col(Tranche.number)))).scalars()
    return schemas.CallContractOut(
        id=contract.id, number=contract.number, award_id=contract.award_id, call_id=contract.call_id, organisation_id=contract.organisation_id,
        amount_fen=contract.amount_fen, signed_on=contract.signed_on, starts_on=contract.starts_on, ends_on=contract.ends_on,
        tranches=[schemas.TrancheOut(number=t.number, share=t.share, amount_fen=t.amount_fen, condition=t.condition, payable_on=t.payable_on) for t in tranches],
    )



async def release_tranche(session: AsyncSession, actor: Principal, contract_id: int, number: int, on: date) -> bool:
    """A tranche's condition is met on `on` (an evaluation passed): it becomes payable from that day. True when it was
    released now; False when it was payable already."""
    tranche = await session.get(Tranche, (contract_id, number), with_for_update=True)
    if tranche is None:
        raise NotFound("tranche", f"{contract_id}/{number}")
    if tranche.payable_on is not None:
        return False
    tranche.payable_on = on
    record_change(session, actor, "tranche.released", "call_contract", contract_id, after={"tranche": number, "payable_on": on.isoformat()})
    await session.flush()
    return True


async def announce_contract_moment(session: AsyncSession, call_id: int, stage: str) -> None:
    """Publish a contract's later moment (an evaluation filed, a tranche paid) with the call's present record."""
    await _announce(session, call_id, stage)
