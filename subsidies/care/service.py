"""Use cases of elderly home care, one transaction each (the caller's): providers' contracts, enrolments and their
stop, the month's vouchers, visits logged once per client id, and redemption. Personal data never goes into the
audit log or the logs: entries name records by id."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.clock import business_today, utc_now
from foundation.db import rows_changed
from foundation.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied, RuleViolation, Unavailable
from foundation.periods import Month
from foundation.process_locks import transaction_lock
from foundation.sealing import SealBroken, Sealer
from foundation.settings import config_dir
from inspections.attachments import own_photos
from registry import queries as registry_queries
from registry.queries import OrganisationKind
from subsidies.care import rules, schemas
from subsidies.care.rules import CareRules, Served
from subsidies.care.tables import CareContract, CareElder, CareEnrolment, CareVisit, CareVoucher

CODE_LETTERS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
ATTEMPTS = 4
CONTRACT_SIGNERS = frozenset({Role.STREET_OFFICER, Role.ADMIN})
ENROLLERS = frozenset({Role.CARE_WORKER})
PROVIDERS = frozenset({Role.SOCIAL_ORG})
MONTH_READERS = frozenset({Role.CARE_WORKER, Role.SOCIAL_ORG, Role.STREET_OFFICER, Role.ADMIN})


@lru_cache(maxsize=1)
def care_rules() -> CareRules:
    return rules.parse_care_rules((config_dir() / "care.toml").read_text(encoding="utf-8"))


def _refuse(kind: str, english: str, chinese: str, field: str | None = None) -> DomainError:
    if kind == "forbidden":
        return PermissionDenied(english, zh=chinese, field=field)
    if kind == "conflict":
        return Conflict(english, zh=chinese, field=field)
    return RuleViolation(english, zh=chinese, field=field)


# Contracts


async def _social_org(session: AsyncSession, provider_id: int) -> registry_queries.OrganisationInfo:
    provider = await registry_queries.organisation(session, provider_id)
    if provider is None or provider.kind != OrganisationKind.SOCIAL_ORG:
        raise RuleViolation(f"organisation {provider_id} is not a registered social organisation", zh="服务机构须为已登记的社会组织", field="provider_id")
    return provider


async def sign_contract(session: AsyncSession, actor: Principal, data: schemas.CareContractIn) -> CareContract:
    """A street (or the district) puts a provider under contract to serve the street's elders for a period."""
    require_role(actor, CONTRACT_SIGNERS, "signing a home-care contract")
    if actor.role is Role.STREET_OFFICER and data.street_id != actor.street_id:
        raise PermissionDenied("a street signs contracts for its own elders only", zh="只能为本街道签订服务合同", field="street_id")
    if await registry_queries.street(session, data.street_id) is None:
        raise NotFound("street", data.street_id)
    if data.ends_on < data.starts_on:
        raise RuleViolation("the contract ends before it starts", zh="合同结束日期早于开始日期", field="ends_on")
    await _social_org(session, data.provider_id)
    await transaction_lock(session, f"care-contract|{data.provider_id}|{data.street_id}")
    overlapping = (
        await session.execute(
            select(col(CareContract.number)).where(
                col(CareContract.provider_id) == data.provider_id, col(CareContract.street_id) == data.street_id,
                col(CareContract.starts_on) <= data.ends_on, col(CareContract.ends_on) >= data.starts_on,
            )
        )
    ).scalar()
    if overlapping is not None:
        raise Conflict(f"contract {overlapping} already covers part of this period", zh=f"该机构在此期间已有合同 {overlapping}", field="starts_on")
    contract = CareContract(number=data.number, provider_id=data.provider_id, street_id=data.street_id, starts_on=data.starts_on, ends_on=data.ends_on, signed_by=actor.label, signed_at=utc_now())
    try:
        async with session.begin_nested():
            session.add(contract)
    except IntegrityError:
        raise Conflict(f"contract number {data.number} is already used", zh="合同编号已存在", field="number") from None
    record_change(session, actor, "care_contract.signed", "care_contract", contract.id, after={"provider_id": data.provider_id, "street_id": data.street_id, "starts_on": data.starts_on, "ends_on": data.ends_on})
    return contract


async def contracted_providers(session: AsyncSession, street_id: int, first: date, last: date) -> set[int]:
    """The providers under contract for a street on at least one day of first..last."""
    query = select(col(CareContract.provider_id)).where(col(CareContract.street_id) == street_id, col(CareContract.starts_on) <= last, col(CareContract.ends_on) >= first)
    return set((await session.execute(query)).scalars())


async def contracts(session: AsyncSession, street_id: int | None = None) -> list[CareContract]:
    query = select(CareContract).order_by(col(CareContract.street_id), col(CareContract.starts_on))
    if street_id is not None:
        query = query.where(col(CareContract.street_id) == street_id)
    return list((await session.execute(query)).scalars())


# Elders and enrolments


def elder_out(elder: CareElder) -> schemas.ElderOut:
    return schemas.ElderOut(
        id=elder.id or 0, name=elder.name, sex=elder.sex, birth_date=elder.birth_date, address=elder.address, phone=elder.phone, category=elder.category,
        community_id=elder.community_id, id_number=rules.masked_id(elder.id_number_tail),
    )


async def enrol(session: AsyncSession, actor: Principal, sealer: Sealer, data: schemas.EnrolmentIn, today: date | None = None) -> tuple[CareEnrolment, CareElder]:
    """The community's elderly-care social worker enrols an elder with a provider under contract for the street, with
    consent, if the elder is eligible; an enrolment starting this month gets this month's voucher at once."""
    require_role(actor, ENROLLERS, "enrolling elders in home care")
    today = today or business_today()
    care = care_rules()
    community = await registry_queries.community(session, actor.community_id)
    if community is None:
        raise PermissionDenied("your account has no community", zh="您的账号未关联社区")
    try:
        birth_date = date.fromisoformat(data.birth_date)
    except ValueError:
        raise InvalidInput(f"birth_date {data.birth_date} is not a date of the calendar", zh="出生日期不存在，请核对", field="birth_date") from None
    id_number = data.id_number.upper()
    born = rules.check_id_number(id_number)
    if born is None:
        raise RuleViolation("the ID number is not valid (its check character or date is wrong)", zh="身份证号码有误（校验位或出生日期不对）", field="id_number")
    if born != birth_date:
        raise RuleViolation("the birth date differs from the one in the ID number", zh="出生日期与身份证号码不一致", field="birth_date")
    if data.starts_on < Month.of(today).first_day or data.starts_on > today + timedelta(days=60):
        raise RuleViolation("an enrolment starts this month or within 60 days", zh="服务开始日期须在本月至今后 60 天内", field="starts_on")
    if data.consent_on > today or data.consent_on > data.starts_on:
        raise RuleViolation("consent is given before the service starts, and not in the future", zh="同意日期不能晚于今天或服务开始日期", field="consent_on")
    refusal = rules.eligibility_refusal(care, birth_date, data.category, data.starts_on)
    if refusal is not None:
        raise RuleViolation(refusal[0], zh=refusal[1], field="category" if "category" in refusal[0] else "birth_date")
    await _social_org(session, data.provider_id)
    if data.provider_id not in await contracted_providers(session, community.street_id, data.starts_on, data.starts_on):
        raise RuleViolation("the provider has no contract for this street on the start day", zh="该服务机构在开始日期没有本街道的服务合同", field="provider_id")
    digest = sealer.index(id_number)
    await transaction_lock(session, f"care-elder|{digest}")
    elder = (await session.execute(select(CareElder).where(col(CareElder.id_number_digest) == digest))).scalar()
    if elder is not None and elder.community_id != community.id:
        raise Conflict("this person is registered in another community; that community stops the enrolment first", zh="该老人已在其他社区登记，请原社区先终止服务", field="id_number")
    if elder is not None:
        open_ = (
            await session.execute(
                select(col(CareEnrolment.id)).where(col(CareEnrolment.elder_id) == elder.id, or_(col(CareEnrolment.ends_on).is_(None), col(CareEnrolment.ends_on) >= data.starts_on))
            )
        ).scalar()
        if open_ is not None:
            raise Conflict(f"the elder is already enrolled (enrolment {open_})", zh="该老人已在服务中", field="id_number")
        elder.name, elder.sex, elder.address, elder.phone, elder.category = data.name, data.sex, data.address, data.phone, data.category
    else:
        elder = CareElder(
            community_id=community.id, street_id=community.street_id, name=data.name, sex=data.sex, birth_date=birth_date, address=data.address, phone=data.phone,
            category=data.category, id_number_sealed=sealer.seal(id_number), id_number_digest=digest, id_number_tail=id_number[-4:], created_at=utc_now(), created_by=actor.label,
        )
        session.add(elder)
    await session.flush()
    enrolment = CareEnrolment(
        elder_id=elder.id or 0, community_id=community.id, street_id=community.street_id, provider_id=data.provider_id, category=data.category, starts_on=data.starts_on,
        consent_by=data.consent_by, consent_on=data.consent_on, enrolled_by=actor.label, enrolled_at=utc_now(),
    )
    session.add(enrolment)
    await session.flush()
    record_change(session, actor, "care_enrolment.enrolled", "care_enrolment", enrolment.id, after={"elder_id": elder.id, "provider_id": data.provider_id, "starts_on": data.starts_on, "consent_by": data.consent_by})
    if Month.of(data.starts_on) == Month.of(today):
        await issue_vouchers(session, Month.of(today), [enrolment])
    return enrolment, elder


async def _own_enrolment(session: AsyncSession, actor: Principal, enrolment_id: int) -> CareEnrolment:
    enrolment = await session.get(CareEnrolment, enrolment_id)
    if enrolment is None or enrolment.community_id != actor.community_id:
        raise NotFound("enrolment", enrolment_id)
    return enrolment


async def stop_enrolment(session: AsyncSession, actor: Principal, enrolment_id: int, data: schemas.StopIn, today: date | None = None) -> CareEnrolment:
    """Stop an enrolment on a day (moved, in hospital, died, declined); services after that day are not logged."""
    require_role(actor, ENROLLERS, "stopping a home-care enrolment")
    today = today or business_today()
    enrolment = await _own_enrolment(session, actor, enrolment_id)
    if enrolment.ends_on is not None:
        raise Conflict(f"enrolment {enrolment_id} was already stopped on {enrolment.ends_on}", zh=f"该服务已于 {enrolment.ends_on} 终止")
    if data.ends_on < enrolment.starts_on:
        raise RuleViolation("the stop day is before the enrolment started", zh="终止日期早于服务开始日期", field="ends_on")
    if data.ends_on > today + timedelta(days=31):
        raise RuleViolation("a stop is recorded at most 31 days ahead", zh="终止日期最多可提前 31 天登记", field="ends_on")
    enrolment.ends_on, enrolment.stop_reason, enrolment.stopped_by, enrolment.stopped_at = data.ends_on, data.reason, actor.label, utc_now()
    await session.flush()
    record_change(session, actor, "care_enrolment.stopped", "care_enrolment", enrolment.id, after={"ends_on": data.ends_on, "reason": data.reason})
    return enrolment


async def read_id_number(session: AsyncSession, actor: Principal, sealer: Sealer, elder_id: int) -> str:
    """The full ID number, for the elderly-care social worker of the elder's community only; each reading audited."""
    require_role(actor, ENROLLERS, "reading an elder's ID number")
    elder = await session.get(CareElder, elder_id)
    if elder is None or elder.community_id != actor.community_id:
        raise NotFound("elder", elder_id)
    try:
        number = sealer.open(elder.id_number_sealed)
    except SealBroken:
        raise Unavailable(
            "the ID number was sealed with another key than personal_data_key now configured; restore that key", zh="身份证号码无法解密（加密密钥已更换），请联系系统管理员"
        ) from None
    record_change(session, actor, "care_elder.id_number_read", "care_elder", elder.id)
    return number


# Vouchers


def _new_code(care: CareRules, month: Month) -> str:
    return rules.voucher_code(care.voucher_prefix, month, "".join(secrets.choice(CODE_LETTERS) for _ in range(8)))


async def issue_vouchers(session: AsyncSession, month: Month, enrolments: list[CareEnrolment] | None = None, now: datetime | None = None) -> int:
    """The month's voucher for each enrolment in force on a day of the month whose elder has none yet (all of them
    when `enrolments` is None). Running it again issues nothing twice (one voucher per elder and month)."""
    care = care_rules()
    if enrolments is None:
        query = select(CareEnrolment).where(col(CareEnrolment.starts_on) <= month.last_day, or_(col(CareEnrolment.ends_on).is_(None), col(CareEnrolment.ends_on) >= month.first_day))
        enrolments = list((await session.execute(query.order_by(col(CareEnrolment.id)))).scalars())
    have = set((await session.execute(select(col(CareVoucher.elder_id)).where(col(CareVoucher.month) == str(month)))).scalars())
    now = now or utc_now()
    issued = 0
    for enrolment in enrolments:
        if enrolment.elder_id in have:
            continue
        have.add(enrolment.elder_id)
        session.add(
            CareVoucher(
                code=_new_code(care, month), month=str(month), elder_id=enrolment.elder_id, enrolment_id=enrolment.id or 0, community_id=enrolment.community_id,
                street_id=enrolment.street_id, provider_id=enrolment.provider_id, amount_fen=care.voucher_fen, issued_at=now,
            )
        )
        issued += 1
    await session.flush()
    return issued


async def served_in(session: AsyncSession, month: Month, elder_ids: list[int] | None = None) -> dict[int, Served]:
    """Each elder's confirmed visits and minutes in a month (every stored visit carries its confirmation)."""
    query = select(col(CareVisit.elder_id), func.count(), func.sum(col(CareVisit.minutes))).where(col(CareVisit.month) == str(month)).group_by(col(CareVisit.elder_id))
    found: dict[int, Served] = {}
    if elder_ids is None:
        found = {e: Served(int(n), int(m or 0)) for e, n, m in await session.execute(query)}
    else:
        for start in range(0, len(elder_ids), 900):
            chunk = elder_ids[start : start + 900]
            found |= {e: Served(int(n), int(m or 0)) for e, n, m in await session.execute(query.where(col(CareVisit.elder_id).in_(chunk)))}
    return found


async def redeem(session: AsyncSession, actor: Principal, code: str, today: date | None = None) -> CareVoucher:
    """The provider redeems an elder's voucher in its month, once the month's minimum service is logged: once, ever,
    only by the elder's provider under contract for the street that month. Refused with the reason otherwise."""
    require_role(actor, PROVIDERS, "redeeming home-care vouchers")
    voucher = (await session.execute(select(CareVoucher).where(col(CareVoucher.code) == code.upper()))).scalar()
    if voucher is None:
        raise NotFound("voucher", code)
    redeemed, refused = await _redeem(session, actor, [voucher], today or business_today())
    if refused:
        raise refused[0][1]
    return redeemed[0]


async def redeem_month(session: AsyncSession, actor: Principal, month: Month, today: date | None = None) -> tuple[list[CareVoucher], list[tuple[CareVoucher, DomainError]]]:
    """Month end: the provider redeems every voucher of the month it may redeem; the others stay, each with its reason."""
    require_role(actor, PROVIDERS, "redeeming home-care vouchers")
    query = select(CareVoucher).where(col(CareVoucher.month) == str(month), col(CareVoucher.provider_id) == actor.organisation_id, col(CareVoucher.redeemed_at).is_(None))
    return await _redeem(session, actor, list((await session.execute(query.order_by(col(CareVoucher.id)))).scalars()), today or business_today())


async def _redeem(session: AsyncSession, actor: Principal, vouchers: list[CareVoucher], today: date) -> tuple[list[CareVoucher], list[tuple[CareVoucher, DomainError]]]:
    care = care_rules()
    redeemed: list[CareVoucher] = []
    refused: list[tuple[CareVoucher, DomainError]] = []
    by_month: dict[str, list[CareVoucher]] = {}
    for voucher in vouchers:
        by_month.setdefault(voucher.month, []).append(voucher)
    for month_text, own in by_month.items():
        month = Month.parse(month_text)
        served = await served_in(session, month, [v.elder_id for v in own])
        contracted: dict[int, bool] = {}
        for voucher in own:
            if voucher.street_id not in contracted:
                contracted[voucher.street_id] = actor.organisation_id in await contracted_providers(session, voucher.street_id, month.first_day, month.last_day)
            done = served.get(voucher.elder_id, Served(0, 0))
            state = rules.VoucherState(voucher.code, month, voucher.provider_id, voucher.redeemed_at is not None)
            refusal = rules.redemption_refusal(care, state, actor.organisation_id or 0, contracted[voucher.street_id], done, today)
            if refusal is not None:
                refused.append((voucher, _refuse(*refusal)))
                continue
            now = utc_now()
            changed = await rows_changed(
                session,
                update(CareVoucher)
                .where(col(CareVoucher.id) == voucher.id, col(CareVoucher.redeemed_at).is_(None))
                .values(redeemed_at=now, redeemed_by=actor.label, redeemed_visits=done.visits, redeemed_minutes=done.minutes)
                .execution_options(synchronize_session=False),  # the row is set below; no scan of the whole session per voucher
            )
            if changed != 1:  # redeemed at the same moment by another request
                refused.append((voucher, Conflict(f"voucher {voucher.code} was already redeemed; a voucher pays once", zh=f"服务券 {voucher.code} 已兑付过，每张券只兑付一次")))
                continue
            voucher.redeemed_at, voucher.redeemed_by, voucher.redeemed_visits, voucher.redeemed_minutes = now, actor.label, done.visits, done.minutes
            record_change(session, actor, "care_voucher.redeemed", "care_voucher", voucher.id, after={"code": voucher.code, "visits": done.visits, "minutes": done.minutes})
            redeemed.append(voucher)
    return redeemed, refused


# Visits


@dataclass(frozen=True)
class Logged:
    visit: CareVisit
    replayed: bool


def _fingerprint(data: schemas.VisitIn) -> str:
    body = [data.elder_id, data.visit_date.isoformat(), data.minutes, data.service, data.confirmed_by, data.note, sorted(data.photo_ids)]
    return hashlib.sha256(json.dumps(body, ensure_ascii=False).encode()).hexdigest()


async def log_visit(session: AsyncSession, actor: Principal, data: schemas.VisitIn, today: date | None = None) -> Logged:
    """A provider's staff log a visit to an elder their organisation serves; a retry with the same client id (an
    offline phone sending again) stores nothing new and answers the visit first stored."""
    return (await log_visits(session, actor, [data], today))[0]


async def log_visits(session: AsyncSession, actor: Principal, items: list[schemas.VisitIn], today: date | None = None) -> list[Logged]:
    """Several visits at once (a phone's queue sent when the signal returns, or a day's log), all or none: each one a
    client id already stored with the same content is answered as stored; the others are checked and stored."""
    require_role(actor, PROVIDERS, "logging home-care visits")
    today = today or business_today()
    seen: set[str] = set()
    for item in items:
        if item.client_id in seen:
            raise InvalidInput(f"client id {item.client_id} appears twice in one send", zh="同一次提交中记录编号重复", field="client_id")
        seen.add(item.client_id)
    for _ in range(ATTEMPTS):
        try:
            async with session.begin_nested():  # losing a race for a client id undoes only this attempt
                return await _store_visits(session, actor, items, today)
        except IntegrityError:
            continue
    raise Conflict("too many simultaneous sends of these visits; retry with the same client ids", zh="提交过于频繁，请稍后重试")


async def _store_visits(session: AsyncSession, actor: Principal, items: list[schemas.VisitIn], today: date) -> list[Logged]:
    care = care_rules()
    fingerprints = {item.client_id: _fingerprint(item) for item in items}
    stored: dict[str, CareVisit] = {}
    ids = list(fingerprints)
    for start in range(0, len(ids), 900):
        rows = (await session.execute(select(CareVisit).where(col(CareVisit.client_id).in_(ids[start : start + 900])))).scalars()
        stored |= {v.client_id: v for v in rows}
    for client_id, visit in stored.items():
        if visit.provider_id != actor.organisation_id:
            raise Conflict(f"client id {client_id} is already used; generate a new one", zh="记录编号已被占用，请重新提交", field="client_id")
        if visit.fingerprint != fingerprints[client_id]:
            raise Conflict(f"client id {client_id} was already used for visit {visit.id} with other content", zh="同一编号的服务记录内容不同，请重新填写", field="client_id")
    new = [item for item in items if item.client_id not in stored]
    enrolments: dict[int, list[CareEnrolment]] = {}
    elder_ids = sorted({item.elder_id for item in new})
    for start in range(0, len(elder_ids), 900):
        query = select(CareEnrolment).where(col(CareEnrolment.elder_id).in_(elder_ids[start : start + 900]), col(CareEnrolment.provider_id) == actor.organisation_id)
        for enrolment in (await session.execute(query.order_by(col(CareEnrolment.starts_on).desc()))).scalars():
            enrolments.setdefault(enrolment.elder_id, []).append(enrolment)
    made: dict[str, CareVisit] = {}
    now = utc_now()
    for item in new:
        serving = next((e for e in enrolments.get(item.elder_id, []) if e.starts_on <= item.visit_date), None)
        if serving is None:
            raise NotFound("elder served by your organisation", item.elder_id)
        refusal = rules.visit_refusal(care, item.visit_date, item.minutes, item.service, today, serving.starts_on, serving.ends_on)
        if refusal is not None:
            field, english, chinese = refusal
            raise RuleViolation(english, zh=chinese, field=field)
        made[item.client_id] = CareVisit(
            client_id=item.client_id, fingerprint=fingerprints[item.client_id], elder_id=item.elder_id, enrolment_id=serving.id or 0, provider_id=serving.provider_id,
            month=str(Month.of(item.visit_date)), visit_date=item.visit_date, minutes=item.minutes, service=item.service, confirmed_by=item.confirmed_by, note=item.note.strip(),
            photo_ids=sorted(set(item.photo_ids)), filed_by=actor.label, filed_by_user_id=actor.user_id, filed_at=now,
        )
    await own_photos(session, actor, {p for item in new for p in item.photo_ids}, zh="照片未上传成功，请重新选择照片", field="photo_ids")
    if made:
        session.add_all(made.values())
        await session.flush()
        visit_ids = [v.id for v in made.values()]
        record_change(
            session, actor, "care_visit.logged", "care_visit", visit_ids[0] if len(visit_ids) == 1 else f"{visit_ids[0]}..{visit_ids[-1]}",
            after={"visits": visit_ids, "elders": sorted({v.elder_id for v in made.values()})},
        )
    return [Logged(stored[item.client_id], True) if item.client_id in stored else Logged(made[item.client_id], False) for item in items]


def visit_out(logged: Logged) -> schemas.VisitOut:
    v = logged.visit
    return schemas.VisitOut(
        id=v.id or 0, client_id=v.client_id, elder_id=v.elder_id, month=v.month, visit_date=v.visit_date, minutes=v.minutes, service=v.service, confirmed_by=v.confirmed_by,
        photo_ids=[int(p) for p in v.photo_ids], filed_at=v.filed_at, replayed=logged.replayed,
    )

