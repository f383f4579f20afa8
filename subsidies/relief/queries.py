"""Reading relief funds: each fund's year (budget, waiting, approved, paid, left), applications as each role sees
them (the applicant's name in full to the community and the district, the phone to the community only), the queue
of each level, and what a decision letter says."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role
from foundation.errors import NotFound
from foundation.paging import PageRequest, fetch_page
from registry import queries as registry
from subsidies.engine import queries as engine
from subsidies.relief import rules, schemas
from subsidies.relief.rules import APPROVED, LEVELS, RETURNED, ReliefRules
from subsidies.relief.service import relief_rules
from subsidies.relief.tables import ReliefApplication, ReliefDocument, ReliefFund, ReliefReview


def _config() -> ReliefRules:
    return relief_rules()


def _scope(principal: Principal) -> ColumnElement[bool]:
    match principal.role:
        case Role.ADMIN | Role.FINANCE:
            return true()
        case Role.STREET_OFFICER:
            return col(ReliefApplication.street_id) == (principal.street_id or 0)
        case Role.COMMITTEE_DIRECTOR | Role.CARE_WORKER:
            return col(ReliefApplication.community_id) == (principal.community_id or 0)
    return false()


async def masked_names(session: AsyncSession, ids: Collection[int]) -> dict[int, str]:
    """Applicants' names as documents and the street see them (the family name only)."""
    if not ids:
        return {}
    rows = await session.execute(select(col(ReliefApplication.id), col(ReliefApplication.applicant_name)).where(col(ReliefApplication.id).in_(set(ids))))
    return {int(i): rules.mask_name(str(n)) for i, n in rows}


async def funds(session: AsyncSession, year: int) -> list[schemas.ReliefFundOut]:
    """Each fund's year, in the order of config/relief.toml (everyone who works on relief sees the balances)."""
    config = _config()
    rows = {r.fund: r for r in (await session.execute(select(ReliefFund).where(col(ReliefFund.year) == year))).scalars()}
    waiting = dict(
        (
            await session.execute(
                select(col(ReliefApplication.fund), func.sum(col(ReliefApplication.amount_fen)))
                .where(col(ReliefApplication.year) == year, col(ReliefApplication.state).in_(LEVELS))
                .group_by(col(ReliefApplication.fund))
            )
        ).all()
    )
    spent = await engine.budget_spent(session, rules.CODE, year)
    return [
        schemas.ReliefFundOut(
            year=year, fund=f.key, name=f.name, case_cap_fen=f.case_cap_fen, budget_fen=rows[f.key].budget_fen, waiting_fen=int(waiting.get(f.key, 0)),
            committed_fen=rows[f.key].committed_fen, paid_fen=spent.get(f.holder, 0), left_fen=rows[f.key].budget_fen - rows[f.key].committed_fen,
        )
        for f in config.funds.values()
        if f.key in rows
    ]


async def application_outs(session: AsyncSession, principal: Principal, applications: Sequence[ReliefApplication]) -> list[schemas.ApplicationOut]:
    ids = [a.id for a in applications]
    if not ids:
        return []
    config = _config()
    documents: dict[int, list[int]] = {}
    for doc_id, app_id in await session.execute(select(col(ReliefDocument.id), col(ReliefDocument.application_id)).where(col(ReliefDocument.application_id).in_(ids)).order_by(col(ReliefDocument.id))):
        documents.setdefault(int(app_id or 0), []).append(int(doc_id))
    reviews: dict[int, list[schemas.ReviewOut]] = {}
    for r in (await session.execute(select(ReliefReview).where(col(ReliefReview.application_id).in_(ids)).order_by(col(ReliefReview.id)))).scalars():
        reviews.setdefault(r.application_id, []).append(schemas.ReviewOut(level=r.level, round=r.round, verdict=r.verdict, reason=r.reason, reviewed_at=r.reviewed_at, reviewed_by=r.reviewed_by))
    communities = await registry.communities(session, {a.community_id for a in applications})
    paid = await engine.paid_in(session, rules.CODE, [f"relief:{i}" for i in ids])
    full_name, phone, papers = principal.role in rules.NAME_READERS, principal.role in rules.PHONE_READERS, principal.role in rules.DOCUMENT_READERS
    return [
        schemas.ApplicationOut(
            id=a.id, year=a.year, fund=a.fund, fund_name=config.funds[a.fund].name if a.fund in config.funds else a.fund, community_id=a.community_id,
            community_name=communities[a.community_id].name if a.community_id in communities else "", street_id=a.street_id,
            applicant_name=a.applicant_name if full_name else rules.mask_name(a.applicant_name), applicant_phone=a.applicant_phone if phone else None,
            household_size=a.household_size, amount_fen=a.amount_fen, reason=a.reason, state=a.state, state_name=rules.STATE_NAMES[a.state], round=a.round, due_on=a.due_on,
            filed_at=a.filed_at, filed_by=a.filed_by, decided_at=a.decided_at, document_ids=documents.get(a.id, []) if papers else [], reviews=reviews.get(a.id, []),
            paid_in_batch=paid[f"relief:{a.id}"][0] if f"relief:{a.id}" in paid else None,
        )
        for a in applications
    ]


async def applications(
    session: AsyncSession, principal: Principal, paging: PageRequest, state: str | None = None, fund: str | None = None, year: int | None = None
) -> tuple[list[schemas.ApplicationOut], int]:
    """The applications the principal sees, newest first."""
    query = select(ReliefApplication).where(_scope(principal))
    if state is not None:
        query = query.where(col(ReliefApplication.state) == state)
    if fund is not None:
        query = query.where(col(ReliefApplication.fund) == fund)
    if year is not None:
        query = query.where(col(ReliefApplication.year) == year)
    rows, total = await fetch_page(session, query.order_by(col(ReliefApplication.id).desc()), paging)
    return await application_outs(session, principal, rows), total


QUEUE_LEVEL = {Role.COMMITTEE_DIRECTOR: rules.COMMUNITY, Role.STREET_OFFICER: rules.STREET, Role.ADMIN: rules.DISTRICT}


async def queue(session: AsyncSession, principal: Principal) -> list[schemas.ApplicationOut]:
    """What waits for this principal's level (the director: the community's check; the street officer: the
    street's review; the district: its approval), the oldest deadline first. Returned applications wait for their
    community's staff to send them again."""
    query = select(ReliefApplication).where(_scope(principal))
    level = QUEUE_LEVEL.get(principal.role)
    if level is not None:
        query = query.where(col(ReliefApplication.state) == level)
    elif principal.role in rules.FILERS:
        query = query.where(col(ReliefApplication.state) == RETURNED)
    else:
        return []
    rows = list((await session.execute(query.order_by(col(ReliefApplication.due_on), col(ReliefApplication.id)))).scalars())
    return await application_outs(session, principal, rows)


@dataclass(frozen=True)
class Letter:
    """What a decision letter (救助申请决定书) says: to the applicant, through the community."""

    application_id: int
    year: int
    fund_name: str
    applicant_name: str
    household_size: int
    community_name: str
    street_name: str
    amount_fen: int
    reason: str
    approved: bool
    decided_at: datetime | None
    reviews: list[schemas.ReviewOut]


LETTER_READERS = frozenset({*rules.FILERS, Role.ADMIN})


async def letter(session: AsyncSession, principal: Principal | None, application_id: int) -> Letter:
    """The facts of a decided application's letter (principal None: the system issuing it as it is decided); the
    letter names the applicant, so it is for the community that hands it over and the district that decided."""
    application = await session.get(ReliefApplication, application_id)
    if application is None or (principal is not None and (principal.role not in LETTER_READERS or not rules.sees(principal, application.community_id, application.street_id))):
        raise NotFound("relief decision letter", application_id)
    if application.state not in (APPROVED, rules.REFUSED):
        raise NotFound("relief decision letter", f"{application_id} (not decided yet)")
    community = await registry.community(session, application.community_id)
    street = await registry.street(session, application.street_id)
    reviews = (await application_outs(session, Principal(role=Role.ADMIN), [application]))[0].reviews
    config = _config()
    return Letter(
        application_id=application.id, year=application.year, fund_name=config.funds[application.fund].name if application.fund in config.funds else application.fund,
        applicant_name=application.applicant_name, household_size=application.household_size, community_name=community.name if community else "",
        street_name=street.name if street else "", amount_fen=application.amount_fen, reason=application.reason, approved=application.state == APPROVED,
        decided_at=application.decided_at, reviews=[r for r in reviews if r.round == application.round],
    )
