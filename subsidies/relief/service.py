"""Use cases of relief funds: open a year's funds (and the engine's budgets), upload a supporting document, file an
application for a resident, review it at each level, send a returned one again; and price approved cases for the
engine's runs. They flush; whoever opened the unit of work commits. Every change audited, with no personal data."""

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
from foundation.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation, TooLarge
from foundation.money import yuan
from foundation.notifications import settle
from foundation.periods import Month
from foundation.process_locks import transaction_lock
from foundation.settings import config_dir, get_settings
from foundation.storage import BlobStore, write_blob
from foundation.text import visible
from registry import queries as registry
from subsidies.engine import service as engine
from subsidies.engine.registry import Priced
from subsidies.engine.rules import LineDraft, Party
from subsidies.relief import rules
from subsidies.relief.rules import APPROVED, COMMUNITY, LEVELS, RETURNED, FundBalance, ReliefRules
from subsidies.relief.schemas import ApplicationIn, ResubmissionIn
from subsidies.relief.tables import ReliefApplication, ReliefDocument, ReliefFund, ReliefReview

OPENERS = frozenset({Role.ADMIN, Role.FINANCE})


@lru_cache(maxsize=1)
def relief_rules() -> ReliefRules:
    """config/relief.toml, read once (a wrong file stops the system at start, naming the key)."""
    return rules.load_rules(config_dir() / "relief.toml")


# Opening a year


async def open_year(session: AsyncSession, actor: Principal, year: int, today: date | None = None) -> tuple[int, int]:
    """Each fund's year from config/relief.toml, each also the engine's budget of the fund; a fund open already is
    left as it is. Answers (made now, funds of the year)."""
    require_role(actor, OPENERS, "opening a year's relief funds")
    today = today or business_today()
    if year < today.year or year > today.year + 1:
        raise RuleViolation(f"relief funds are opened for this year or the next, not {year}", zh="只能开立本年度或下一年度的救助基金", field="year")
    config = relief_rules()
    await transaction_lock(session, f"relief-year|{year}")
    present = set((await session.execute(select(col(ReliefFund.fund)).where(col(ReliefFund.year) == year))).scalars())
    now = utc_now()
    made = 0
    for fund in config.funds.values():
        await engine.open_budget(session, actor, rules.CODE, year, fund.holder, fund.budget_fen)
        if fund.key in present:
            continue
        session.add(ReliefFund(year=year, fund=fund.key, budget_fen=fund.budget_fen, committed_fen=0, opened_at=now, opened_by=actor.label))
        made += 1
    await session.flush()
    if made:
        record_change(session, actor, "relief_year.opened", "relief_year", year, after={"funds": made, "budget_fen": {f.key: f.budget_fen for f in config.funds.values()}})
    return made, len(config.funds)


async def fund_row(session: AsyncSession, year: int, fund: str) -> ReliefFund | None:
    return (await session.execute(select(ReliefFund).where(col(ReliefFund.year) == year, col(ReliefFund.fund) == fund))).scalar()


# Supporting documents


async def upload_document(session: AsyncSession, store: BlobStore, actor: Principal, content: bytes) -> ReliefDocument:
    """Keep a supporting document's photo or scan (its type judged by content, its size within the limit) for an
    application of the uploader's community to carry."""
    community_id = rules.check_filer(actor)
    config = relief_rules()
    if len(content) > config.document_max_bytes:
        raise TooLarge(f"the document has {len(content)} bytes; the limit is {config.document_max_bytes}", zh=f"证明材料超过 {config.document_max_bytes / (1024 * 1024):g} MB，请压缩后再上传", field="file")
    if not content:
        raise InvalidInput("the document is empty", zh="证明材料文件是空的", field="file")
    kind = rules.document_type(content, config.document_types)
    check_readable(content, kind, get_settings().photo_max_pixels, field="file", what="the supporting document", what_zh="证明材料")
    document = ReliefDocument(sha256=await write_blob(store, content), content_type=kind, size_bytes=len(content), community_id=community_id, uploaded_by_user_id=actor.user_id, uploaded_at=utc_now())
    session.add(document)
    await session.flush()
    return document


async def document_for(session: AsyncSession, actor: Principal, document_id: int) -> ReliefDocument:
    """A supporting document, to those who see its application (before it is filed: its community)."""
    if actor.role not in rules.DOCUMENT_READERS:
        raise PermissionDenied("supporting documents are for the community, the street and the district reviewing the case", zh="证明材料仅供社区、街道和区级审核人员查看")
    document = await session.get(ReliefDocument, document_id)
    if document is None:
        raise NotFound("document", document_id)
    if document.application_id is not None:
        await application_for(session, actor, document.application_id)
    elif not (actor.role in rules.FILERS and actor.community_id == document.community_id):
        raise NotFound("document", document_id)
    return document


# Filing


def _same(application: ReliefApplication, data: ApplicationIn) -> bool:
    return (application.fund, application.applicant_name, application.applicant_phone, application.household_size, application.amount_fen, application.reason) == (
        data.fund, data.applicant_name.strip(), data.applicant_phone, data.household_size, data.amount_fen, data.reason.strip(),
    )


async def _by_client_id(session: AsyncSession, actor: Principal, data: ApplicationIn) -> ReliefApplication | None:
    found = (await session.execute(select(ReliefApplication).where(col(ReliefApplication.client_id) == data.client_id))).scalar()
    if found is None:
        return None
    if found.community_id != actor.community_id or not _same(found, data):
        raise Conflict(f"client id {data.client_id} was used for another application; generate a new one", zh="该提交编号已用于另一份申请，请刷新页面后重新填写", field="client_id")
    return found


async def _due(session: AsyncSession, level: str, today: date) -> date:
    due_on, _ = working_days_after(today, relief_rules().deadlines[level], await working_calendar(session))
    return due_on


async def _attach(session: AsyncSession, community_id: int, application_id: int, document_ids: list[int]) -> None:
    """Attach documents uploaded by the community and carried by no application yet."""
    found = list((await session.execute(select(ReliefDocument).where(col(ReliefDocument.id).in_(document_ids)))).scalars())
    missing = sorted(set(document_ids) - {d.id for d in found if d.community_id == community_id})
    if missing:
        raise NotFound("document", ", ".join(map(str, missing)))
    taken = sorted(d.id for d in found if d.application_id is not None)
    if taken:
        raise Conflict(f"documents {', '.join(map(str, taken))} belong to another application; upload them again", zh="证明材料已用于另一份申请，请重新上传", field="document_ids")
    changed = await rows_changed(
        session,
        update(ReliefDocument).where(col(ReliefDocument.id).in_(document_ids), col(ReliefDocument.application_id).is_(None)).values(application_id=application_id),
    )
    if changed != len(document_ids):
        raise Conflict("a document was attached to another application at the same moment; upload it again", zh="证明材料已被同时提交的另一份申请使用，请重新上传", field="document_ids")


async def file_application(session: AsyncSession, actor: Principal, data: ApplicationIn, today: date | None = None) -> tuple[ReliefApplication, bool]:
    """The community files a resident household's application to a fund (社区受理): within the fund's cap per
    case and what is left of it, with its supporting documents; it waits for the community's own check (社区初审).
    A retry with the same client id answers the application already filed (False)."""
    community_id = rules.check_filer(actor)
    existing = await _by_client_id(session, actor, data)
    if existing is not None:
        return existing, False
    today = today or business_today()
    config = relief_rules()
    fund = config.fund(data.fund)
    rules.check_amount(fund, data.amount_fen)
    ids = list(dict.fromkeys(data.document_ids))
    rules.check_documents(len(ids), config)
    row = await fund_row(session, today.year, fund.key)
    if row is None:
        raise RuleViolation(f"the relief funds of {today.year} are not open", zh=f"{today.year} 年度救助基金尚未开立，请联系区民政", field="fund")
    rules.check_balance(fund, FundBalance(row.budget_fen, row.committed_fen), data.amount_fen)
    community = await registry.community(session, community_id)
    if community is None:
        raise NotFound("community", community_id)
    application = ReliefApplication(
        client_id=data.client_id, year=today.year, fund=fund.key, community_id=community_id, street_id=community.street_id, applicant_name=data.applicant_name.strip(),
        applicant_phone=data.applicant_phone, household_size=data.household_size, amount_fen=data.amount_fen, reason=data.reason.strip(), state=COMMUNITY, round=1,
        due_on=await _due(session, COMMUNITY, today), filed_at=utc_now(), filed_by=actor.label, filed_by_user_id=actor.user_id,
    )
    try:
        async with session.begin_nested():
            session.add(application)
            await session.flush()
    except IntegrityError as error:
        if "client_id" in str(error.orig):
            raced = await _by_client_id(session, actor, data)
            if raced is not None:
                return raced, False
        raise
    await _attach(session, community_id, application.id, ids)
    record_change(session, actor, "relief_application.filed", "relief_application", application.id, after={"fund": fund.key, "amount_fen": data.amount_fen, "community_id": community_id, "documents": len(ids)})
    return application, True


async def application_for(session: AsyncSession, actor: Principal, application_id: int) -> ReliefApplication:
    """An application, to its community's staff, its street and the district."""
    application = await session.get(ReliefApplication, application_id)
    if application is None or not rules.sees(actor, application.community_id, application.street_id):
        raise NotFound("relief application", application_id)
    return application


# Review


async def review(session: AsyncSession, actor: Principal, application_id: int, level: str, verdict: str, reason: str, today: date | None = None) -> ReliefApplication:
    """A level's verdict with its reason: the community's check, the street's review, the district's approval
    (which takes the amount from the fund: never beyond what is left, even for two approvals at the same moment,
    the fund's CHECK). Approval moves the application up a level; a return sends it back to the community to
    complete; a refusal ends it."""
    if level not in LEVELS or verdict not in rules.VERDICTS:
        raise InvalidInput("level is community, street or district; verdict is approve, return or refuse", zh="审核级别或意见有误", field="verdict")
    reason = visible(reason)
    if len(reason) < 2:
        raise InvalidInput("write the reason for the verdict", zh="请写明审核理由", field="reason")
    application = await application_for(session, actor, application_id)
    rules.check_reviewer(actor, level, application.community_id, application.street_id, application.state, application.filed_by_user_id)
    today = today or business_today()
    config = relief_rules()
    fund = config.fund(application.fund)
    state = rules.after(level, verdict)
    now = utc_now()
    final = state in (APPROVED, rules.REFUSED)
    due_on = await _due(session, state, today) if state in LEVELS else None
    year, amount_fen, current_round = application.year, application.amount_fen, application.round
    try:
        async with session.begin_nested():
            changed = await rows_changed(
                session,
                update(ReliefApplication)
                .where(col(ReliefApplication.id) == application_id, col(ReliefApplication.state) == level, col(ReliefApplication.round) == current_round)
                .values(state=state, due_on=due_on, decided_at=now if final else None),
            )
            if changed != 1:
                raise Conflict(f"application {application_id} was reviewed by someone else at the same moment", zh="该申请已被他人同时审核，请刷新")
            session.add(ReliefReview(application_id=application_id, round=current_round, level=level, verdict=verdict, reason=reason, reviewed_at=now, reviewed_by=actor.label, reviewed_by_user_id=actor.user_id))
            if state == APPROVED:
                row = await fund_row(session, year, fund.key)
                if row is None:
                    raise RuleViolation(f"the relief funds of {year} are not open", zh=f"{year} 年度救助基金尚未开立", field="fund")
                rules.check_balance(fund, FundBalance(row.budget_fen, row.committed_fen), amount_fen)
                await session.execute(update(ReliefFund).where(col(ReliefFund.id) == row.id).values(committed_fen=col(ReliefFund.committed_fen) + amount_fen))
            await session.flush()
    except IntegrityError as error:
        message = str(error.orig)
        if "never_overspent" in message:
            # The savepoint's rollback expired what it touched: read the fund again before naming what is left.
            row = await fund_row(session, year, fund.key)
            left = 0
            if row is not None:
                await session.refresh(row)
                left = row.budget_fen - row.committed_fen
            raise RuleViolation(
                f"another approval took the fund's money at the same moment; {yuan(left)} yuan is left",
                zh=f"{fund.name}余额已被同时批准的另一申请占用，当前余额 {yuan(left)} 元", field="amount_fen", reason="balance",
            ) from None
        if "relief_reviews" in message or "application_id" in message:
            raise Conflict(f"the {level} review of application {application_id} was given at the same moment", zh="该级审核已被他人同时完成，请刷新") from None
        raise
    await session.refresh(application)
    record_change(session, actor, f"relief_application.{level}_{verdict}", "relief_application", application_id, after={"state": state, "amount_fen": amount_fen}, reason=reason)
    await settle(session, f"relief-overdue|{application_id}|{application.round}|{level}")  # this level is reviewed: its reminder leaves
    return application


async def resubmit(session: AsyncSession, actor: Principal, application_id: int, data: ResubmissionIn, today: date | None = None) -> ReliefApplication:
    """The community sends a returned application again, saying what it completed (and with further documents):
    a new round of the three levels begins."""
    community_id = rules.check_filer(actor)
    application = await application_for(session, actor, application_id)
    if application.state != RETURNED:
        raise Conflict(f"application {application_id} is {application.state}; only a returned application is sent again", zh=f"该申请{rules.STATE_NAMES[application.state]}，只有退回的申请可以重新提交")
    ids = list(dict.fromkeys(data.document_ids))
    if ids:
        await _attach(session, community_id, application_id, ids)
    today = today or business_today()
    changed = await rows_changed(
        session,
        update(ReliefApplication)
        .where(col(ReliefApplication.id) == application_id, col(ReliefApplication.state) == RETURNED)
        .values(state=COMMUNITY, round=application.round + 1, due_on=await _due(session, COMMUNITY, today)),
    )
    if changed != 1:
        raise Conflict(f"application {application_id} was sent again at the same moment", zh="该申请已被同时重新提交，请刷新")
    await session.refresh(application)
    record_change(session, actor, "relief_application.resubmitted", "relief_application", application_id, after={"round": application.round, "documents": len(ids)}, reason=data.reason)
    return application


async def overdue(session: AsyncSession, today: date) -> list[ReliefApplication]:
    """Applications waiting at a level past its deadline."""
    query = select(ReliefApplication).where(col(ReliefApplication.state).in_(LEVELS), col(ReliefApplication.due_on) < today).order_by(col(ReliefApplication.id))
    return list((await session.execute(query)).scalars())


# Paying through the engine


def check_period(text: str) -> str:
    """A run pays the cases approved up to the end of a month: this month or one before it."""
    month = Month.parse(text, "period")
    if month.first_day > business_today():
        raise RuleViolation(f"{month} has not begun", zh=f"{month} 尚未开始", field="period")
    return str(month)


def case_line(application: ReliefApplication, config: ReliefRules) -> LineDraft:
    """One approved case: paid to the community, which hands it to the household; out of the fund's budget of the
    year the case was filed in; its key is the application, so it is paid once, ever."""
    fund = config.fund(application.fund)
    approved = application.decided_at.astimezone(BUSINESS_TZ).date() if application.decided_at else None
    return LineDraft(
        key=f"relief:{application.id}", payee=Party("community", application.community_id), holder=Party("relief_fund", fund.id), beneficiary=Party("relief_case", application.id),
        period=str(application.year), amount_fen=application.amount_fen, reason=f"{fund.name}：经社区初审、街道审核、区审批的救助", evidence=f"申请 {application.id}，{approved} 区审批",
    )


async def price(session: AsyncSession, period: str) -> Priced:
    """The lines of a month's run: every case the district approved by the month's end (Beijing time)."""
    month = Month.parse(period, "period")
    ends = datetime.combine(month.next().first_day, time(), BUSINESS_TZ)
    query = select(ReliefApplication).where(col(ReliefApplication.state) == APPROVED, col(ReliefApplication.decided_at) < ends).order_by(col(ReliefApplication.id))
    config = relief_rules()
    return Priced(config.sha256, [case_line(a, config) for a in (await session.execute(query)).scalars()])


async def _funds_moved(session: AsyncSession, changes: Sequence[tuple[str, int]]) -> dict[tuple[int, str], int]:
    """Each fund's year the corrected cases were paid from, with what the adjustment moves back into it (+: recovered)."""
    moved: dict[tuple[int, str], int] = {}
    for key, delta in changes:
        application = await session.get_one(ReliefApplication, int(key.removeprefix("relief:")))
        moved[(application.year, application.fund)] = moved.get((application.year, application.fund), 0) - delta
    return moved


async def refuse_adjustment(session: AsyncSession, changes: Sequence[tuple[str, int]]) -> None:
    """An adjustment restoring cases commits the money again: refused, saying why, when the fund's year no longer has
    it (approved for other cases since)."""
    await _refuse_moves(session, await _funds_moved(session, changes))


async def _refuse_moves(session: AsyncSession, moved: dict[tuple[int, str], int]) -> None:
    for (year, key), back in moved.items():
        row = await fund_row(session, year, key)
        if back < 0 and (row is None or row.budget_fen - row.committed_fen < -back):
            left = row.budget_fen - row.committed_fen if row is not None else 0
            fund = relief_rules().fund(key)
            raise RuleViolation(
                f"{key} has {yuan(left)} yuan left in {year}; what was recovered was approved for other cases since, so {yuan(-back)} yuan cannot be restored",
                zh=f"{fund.name}{year} 年度余额仅剩 {yuan(left)} 元（追回的金额已批给其他申请），不能恢复拨付 {yuan(-back)} 元", reason="balance",
            )


async def follow_adjustment(session: AsyncSession, changes: Sequence[tuple[str, int]]) -> None:
    """An adjustment of paid cases moves their funds with it (the engine's `adjusted`): what it recovers from a case
    is no longer committed to it and is the fund's to approve again; what it restores is committed again, if the
    fund still has it (`refuse_adjustment`). Its batch's savepoint undoes this with the rest."""
    moved = await _funds_moved(session, changes)
    await _refuse_moves(session, moved)
    for (year, key), back in moved.items():
        await session.execute(update(ReliefFund).where(col(ReliefFund.year) == year, col(ReliefFund.fund) == key).values(committed_fen=col(ReliefFund.committed_fen) - back))
