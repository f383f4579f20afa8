"""Reading elderly home care for pages and the API, each within the reader's scope: the community's enrolments, a
provider's elders, and a month's vouchers with the service logged against each."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.periods import Month
from foundation.sealing import Sealer
from subsidies.care import rules, schemas
from subsidies.care.rules import Served
from subsidies.care.service import MONTH_READERS, care_rules, elder_out, served_in
from subsidies.care.tables import CareElder, CareEnrolment, CareVoucher

FULL_NAMES = frozenset({Role.CARE_WORKER, Role.SOCIAL_ORG})  # who serve the elder by name; others see it masked


def _scoped_vouchers(actor: Principal, query: Select[CareVoucher, CareElder]) -> Select[CareVoucher, CareElder]:
    match actor.role:
        case Role.CARE_WORKER:
            return query.where(col(CareVoucher.community_id) == actor.community_id)
        case Role.SOCIAL_ORG:
            return query.where(col(CareVoucher.provider_id) == actor.organisation_id)
        case Role.STREET_OFFICER:
            return query.where(col(CareVoucher.street_id) == actor.street_id)
    return query


async def month_vouchers(session: AsyncSession, actor: Principal, month: Month, *, community_id: int | None = None) -> list[schemas.VoucherOut]:
    """The month's vouchers the reader may see, with each elder's confirmed service and whether the minimum is met."""
    require_role(actor, MONTH_READERS, "reading home-care vouchers")
    query = select(CareVoucher, CareElder).join(CareElder, col(CareElder.id) == col(CareVoucher.elder_id)).where(col(CareVoucher.month) == str(month))
    if community_id is not None:
        query = query.where(col(CareVoucher.community_id) == community_id)
    rows = (await session.execute(_scoped_vouchers(actor, query).order_by(col(CareVoucher.community_id), col(CareElder.name), col(CareVoucher.id)))).all()
    served = await served_in(session, month, [v.elder_id for v, _ in rows])
    care = care_rules()
    out = []
    for voucher, elder in rows:
        done = served.get(voucher.elder_id, Served(0, 0))
        out.append(
            schemas.VoucherOut(
                code=voucher.code, month=voucher.month, elder_id=voucher.elder_id, elder_name=elder.name if actor.role in FULL_NAMES else rules.masked_name(elder.name),
                community_id=voucher.community_id, provider_id=voucher.provider_id, amount_fen=voucher.amount_fen, visits=done.visits, minutes=done.minutes,
                minimum_met=rules.minimum_met(care, done), redeemed_at=voucher.redeemed_at,
            )
        )
    return out


async def community_enrolments(session: AsyncSession, actor: Principal, month: Month) -> list[schemas.EnrolmentOut]:
    """The community's enrolments in force on a day of the month, for its elderly-care social worker."""
    require_role(actor, {Role.CARE_WORKER}, "reading the community's enrolments")
    query = (
        select(CareEnrolment, CareElder)
        .join(CareElder, col(CareElder.id) == col(CareEnrolment.elder_id))
        .where(col(CareEnrolment.community_id) == actor.community_id, col(CareEnrolment.starts_on) <= month.last_day)
        .where(or_(col(CareEnrolment.ends_on).is_(None), col(CareEnrolment.ends_on) >= month.first_day))
        .order_by(col(CareElder.name), col(CareEnrolment.id))
    )
    rows = (await session.execute(query)).all()
    codes = dict(
        (await session.execute(select(col(CareVoucher.enrolment_id), col(CareVoucher.code)).where(col(CareVoucher.month) == str(month), col(CareVoucher.community_id) == actor.community_id))).all()
    )
    return [
        schemas.EnrolmentOut(
            id=e.id or 0, elder=elder_out(elder), provider_id=e.provider_id, starts_on=e.starts_on, ends_on=e.ends_on, stop_reason=e.stop_reason, consent_by=e.consent_by,
            consent_on=e.consent_on, voucher_code=codes.get(e.id or 0),
        )
        for e, elder in rows
    ]


async def provider_elders(session: AsyncSession, actor: Principal, day: date) -> list[schemas.ElderOut]:
    """The elders a provider serves on a day (for its staff's visit log)."""
    require_role(actor, {Role.SOCIAL_ORG}, "reading the elders a provider serves")
    query = (
        select(CareElder)
        .join(CareEnrolment, col(CareEnrolment.elder_id) == col(CareElder.id))
        .where(col(CareEnrolment.provider_id) == actor.organisation_id, col(CareEnrolment.starts_on) <= day)
        .where(or_(col(CareEnrolment.ends_on).is_(None), col(CareEnrolment.ends_on) >= day))
        .order_by(col(CareElder.community_id), col(CareElder.name))
    )
    return [elder_out(e) for e in (await session.execute(query)).scalars()]


async def elder_names(session: AsyncSession, ids: set[int]) -> dict[int, tuple[str, int]]:
    """(masked name, community id) of elders, for the documents."""
    found: dict[int, tuple[str, int]] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 900):
        rows = await session.execute(select(col(CareElder.id), col(CareElder.name), col(CareElder.community_id)).where(col(CareElder.id).in_(ordered[start : start + 900])))
        found |= {int(i or 0): (rules.masked_name(n), int(c)) for i, n, c in rows}
    return found


@dataclass(frozen=True)
class EnrolledElder:
    """An elder known by their ID number, with their latest enrolment, as the spreadsheet import compares them
    (personal data: for the community's care worker)."""

    elder_id: int
    community_id: int
    name: str
    sex: str
    birth_date: date
    address: str
    phone: str
    category: str
    provider_id: int | None
    starts_on: date | None
    consent_by: str | None
    consent_on: date | None


async def elders_by_id_number(session: AsyncSession, sealer: Sealer, id_numbers: Collection[str]) -> dict[str, EnrolledElder]:
    """The elders registered among `id_numbers` (found by the sealed index, never by the number itself), by ID number."""
    digests = {sealer.index(n.upper()): n for n in id_numbers if n}
    if not digests:
        return {}
    elders = list((await session.execute(select(CareElder).where(col(CareElder.id_number_digest).in_(sorted(digests))))).scalars())
    latest: dict[int, CareEnrolment] = {}
    if elders:
        for enrolment in (await session.execute(select(CareEnrolment).where(col(CareEnrolment.elder_id).in_([e.id for e in elders])).order_by(col(CareEnrolment.starts_on)))).scalars():
            latest[enrolment.elder_id] = enrolment
    found: dict[str, EnrolledElder] = {}
    for e in elders:
        last = latest.get(e.id or 0)
        found[digests[e.id_number_digest]] = EnrolledElder(
            e.id or 0, e.community_id, e.name, e.sex, e.birth_date, e.address, e.phone, e.category,
            last.provider_id if last else None, last.starts_on if last else None, last.consent_by if last else None, last.consent_on if last else None,
        )
    return found
