"""Use cases of the wristbands, one transaction each (the caller's): register an elder with consent and guardians,
make labels, bind, revoke and replace bands, log a finder's scan, raise an alert (told once per alert to the
guardians by SMS, to the community's channels and to its social workers in the system), acknowledge it and mark
the elder found. Names, phones and notes are sealed at rest and never go into the audit log, the logs or an error
message: entries and messages name records by id or by a band's short code."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community.wristbands import rules, schemas
from community.wristbands.rules import AlertState, LabelState, RevokeReason, WristbandRules
from community.wristbands.tables import (
    WristbandAlert,
    WristbandAlertReport,
    WristbandElder,
    WristbandGuardian,
    WristbandLabel,
    WristbandScan,
    WristbandSheet,
)
from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.channels import ChannelKind, Payload, Topic, broadcast, channels_of, enqueue
from foundation.clock import BUSINESS_TZ, business_today, utc_now
from foundation.db import rows_changed
from foundation.documents import check_readable, document_kind
from foundation.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation, TooLarge
from foundation.notifications import notify
from foundation.process_locks import transaction_lock
from foundation.sealing import Sealer
from foundation.settings import config_dir, get_settings
from foundation.storage import BlobStore, write_blob
from people import queries as people_queries
from registry import queries as registry_queries

WORKERS = frozenset({Role.CARE_WORKER})  # 社区老龄社工: registers, binds, replaces, answers alerts
PRINTERS = frozenset({Role.CARE_WORKER, Role.COMMITTEE_DIRECTOR})
COUNTERS = frozenset({Role.CARE_WORKER, Role.COMMITTEE_DIRECTOR, Role.STREET_OFFICER, Role.ADMIN})
CHANNEL_KEEPERS = frozenset({Role.COMMITTEE_DIRECTOR, Role.ADMIN})
# The signed consent: a photo or a scan (the register form's file field takes image/* and PDF); the elder's photo a photo.
CONSENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf"})
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
OPEN_STATES = (AlertState.RAISED.value, AlertState.ACKNOWLEDGED.value)


@lru_cache(maxsize=1)
def wristband_rules() -> WristbandRules:
    return rules.parse_wristband_rules((config_dir() / "wristbands.toml").read_text(encoding="utf-8"))


def sealer() -> Sealer:
    return Sealer(get_settings().resolved_personal_data_key())


async def _own_community(session: AsyncSession, actor: Principal) -> registry_queries.CommunityInfo:
    community = await registry_queries.community(session, actor.community_id)
    if community is None:
        raise PermissionDenied("your account has no community", zh="您的账号未关联社区")
    return community


async def put_sealed(store: BlobStore, seal: Sealer, content: bytes) -> str:
    """A scan or photo kept in the blob store sealed, like the text of personal data."""
    return await write_blob(store, seal.seal(base64.b64encode(content).decode()).encode())


# Elders and guardians


@dataclass(frozen=True)
class Registered:
    elder: WristbandElder
    links: list[tuple[int, str]]  # each guardian's position and the address of their own view (shown once)


async def register_elder(
    session: AsyncSession, actor: Principal, seal: Sealer, store: BlobStore, data: schemas.ElderIn, consent_form: bytes, photo: bytes | None = None
) -> Registered:
    """The elderly-care social worker registers an elder at the home visit, with the signed consent (the elder's or
    a guardian's), one to three guardians, optional care notes and photo. Each guardian gets a link to their view."""
    require_role(actor, WORKERS, "registering elders for a wristband")
    community = await _own_community(session, actor)
    limits = wristband_rules()
    if data.consent_by not in rules.CONSENT_NAMES:
        raise InvalidInput("consent_by is elder or guardian", zh="请选择由老人本人还是监护人签署同意书", field="consent_by")
    if data.consent_on > business_today() or data.consent_on < business_today() - timedelta(days=90):
        raise RuleViolation("the consent is signed within the last 90 days", zh="同意书签署日期须在近 90 天内且不晚于今天", field="consent_on")
    if not consent_form:
        raise InvalidInput("the signed consent form's photo or scan is required", zh="请拍照或扫描上传签字的知情同意书", field="consent_form")
    limit = get_settings().attachment_max_bytes
    if len(consent_form) > limit or (photo is not None and len(photo) > limit):
        raise TooLarge(f"a file is larger than {limit} bytes", zh="上传的文件过大")
    if not 1 <= len(data.guardians) <= limits.max_guardians:
        raise RuleViolation(f"an elder has 1 to {limits.max_guardians} guardian contacts", zh=f"请填写 1 至 {limits.max_guardians} 位监护人联系方式", field="guardians")
    if data.consent_by == "guardian" and not data.guardians:
        raise RuleViolation("a guardian's consent needs a guardian", zh="监护人代签时须填写监护人", field="guardians")
    phones: list[str] = []
    for n, guardian in enumerate(data.guardians, start=1):
        phone = rules.normal_phone(guardian.phone)
        if phone is None:
            raise RuleViolation(f"guardian {n}'s phone is not a mainland mobile or landline number", zh=f"第 {n} 位监护人的电话号码有误", field=f"guardian{n}_phone")
        phones.append(phone)
    # Each judged by its content, as every other upload: the consent a photo or scan that opens, the photo a photo.
    max_pixels = get_settings().photo_max_pixels
    consent_kind = document_kind(consent_form, CONSENT_TYPES, field="consent_form", what="the signed consent form", what_zh="签字的同意书")
    check_readable(consent_form, consent_kind, max_pixels, field="consent_form", what="the signed consent form", what_zh="签字的同意书")
    if photo:
        check_readable(photo, document_kind(photo, PHOTO_TYPES, field="photo", what="the elder's photo", what_zh="老人照片"), max_pixels, field="photo", what="the elder's photo", what_zh="老人照片")
    elder = WristbandElder(
        community_id=community.id, street_id=community.street_id, name_sealed=seal.seal(data.name.strip()),
        care_notes_sealed=seal.seal(data.care_notes.strip()) if data.care_notes.strip() else "",
        photo_sha256=await put_sealed(store, seal, photo) if photo else None, consent_by=data.consent_by, consent_on=data.consent_on,
        consent_form_sha256=await put_sealed(store, seal, consent_form), registered_by=actor.label, registered_at=utc_now(),
    )
    session.add(elder)
    await session.flush()
    links: list[tuple[int, str]] = []
    for n, (guardian, phone) in enumerate(zip(data.guardians, phones, strict=True), start=1):
        link = secrets.token_urlsafe(16)
        session.add(
            WristbandGuardian(
                elder_id=elder.id, position=n, name_sealed=seal.seal(guardian.name.strip()), phone_sealed=seal.seal(phone), phone_tail=phone[-4:],
                relation=guardian.relation.strip()[:20], link_digest=rules.token_digest(link), link_sealed=seal.seal(link),
            )
        )
        links.append((n, link))
    await session.flush()
    base = get_settings().resolved_public_base_url()
    for n, link in links:
        await _sms_guardian(
            session, seal, elder, n, f"wristband_guardian:{elder.id}:{n}",
            Payload("爱洒回家路", f"您已登记为{community.name}社区一位老人的联系人。老人佩戴的腕带被扫码求助时，您会收到短信。查看扫码记录：", f"{base.rstrip('/')}/g/{link}", phones[n - 1]),
        )
    record_change(session, actor, "wristband.elder_registered", "wristband_elder", elder.id, after={"guardians": len(links), "consent_by": data.consent_by, "photo": photo is not None})
    return Registered(elder, links)


async def _sms_guardian(session: AsyncSession, seal: Sealer, elder: WristbandElder, position: int, key: str, payload: Payload) -> None:
    for channel in await channels_of(session, elder.community_id, Topic.WRISTBAND_ALERT):
        if channel.kind == ChannelKind.SMS:
            await enqueue(session, seal, channel, key, Topic.WRISTBAND_ALERT, key.rsplit(":", 1)[0], payload)


async def _elder_in_scope(session: AsyncSession, actor: Principal, elder_id: int) -> WristbandElder:
    elder = await session.get(WristbandElder, elder_id)
    if elder is None or elder.community_id != actor.community_id:
        raise NotFound("elder", elder_id)
    return elder


async def active_label(session: AsyncSession, elder_id: int) -> WristbandLabel | None:
    query = select(WristbandLabel).where(col(WristbandLabel.elder_id) == elder_id, col(WristbandLabel.state) == LabelState.BOUND)
    return (await session.execute(query)).scalar()


def elder_shown(seal: Sealer, elder: WristbandElder, guardians: Sequence[WristbandGuardian], label: WristbandLabel | None) -> schemas.ElderShown:
    return schemas.ElderShown(
        id=elder.id, name=seal.open(elder.name_sealed), care_notes=seal.open(elder.care_notes_sealed) if elder.care_notes_sealed else "",
        consent_by=rules.CONSENT_NAMES[elder.consent_by], consent_on=elder.consent_on,
        guardians=[schemas.GuardianShown(g.id, g.position, seal.open(g.name_sealed), seal.open(g.phone_sealed), g.relation) for g in guardians],
        band_code=label.short_code if label else None, band_state=label.state if label else None, has_photo=elder.photo_sha256 is not None,
    )


async def _guardians(session: AsyncSession, elder_ids: Sequence[int]) -> dict[int, list[WristbandGuardian]]:
    found: dict[int, list[WristbandGuardian]] = {}
    if elder_ids:
        query = select(WristbandGuardian).where(col(WristbandGuardian.elder_id).in_(list(elder_ids))).order_by(col(WristbandGuardian.position))
        for guardian in (await session.execute(query)).scalars():
            found.setdefault(guardian.elder_id, []).append(guardian)
    return found


async def community_elders(session: AsyncSession, actor: Principal, seal: Sealer) -> list[schemas.ElderShown]:
    """The elders the social worker's community registered, newest first, with their band."""
    require_role(actor, WORKERS, "reading registered elders")
    elders = list((await session.execute(select(WristbandElder).where(col(WristbandElder.community_id) == actor.community_id).order_by(col(WristbandElder.id).desc()).limit(200))).scalars())
    ids = [e.id for e in elders]
    labels = {lab.elder_id: lab for lab in (await session.execute(select(WristbandLabel).where(col(WristbandLabel.elder_id).in_(ids), col(WristbandLabel.state) == LabelState.BOUND))).scalars()} if ids else {}
    guardians = await _guardians(session, ids)
    return [elder_shown(seal, e, guardians.get(e.id, []), labels.get(e.id)) for e in elders]


async def elder_detail(session: AsyncSession, actor: Principal, seal: Sealer, elder_id: int) -> schemas.ElderShown:
    require_role(actor, WORKERS, "reading an elder's record")
    elder = await _elder_in_scope(session, actor, elder_id)
    return elder_shown(seal, elder, (await _guardians(session, [elder.id])).get(elder.id, []), await active_label(session, elder.id))


# Labels


@dataclass(frozen=True)
class MadeLabel:
    label: WristbandLabel
    token: str  # only here, at printing: the table keeps its digest


async def make_labels(session: AsyncSession, actor: Principal, count: int, sheet_id: int | None = None) -> list[MadeLabel]:
    """New labels for the actor's community, each with a fresh token and short code."""
    require_role(actor, PRINTERS, "printing wristband labels")
    community = await _own_community(session, actor)
    limits = wristband_rules()
    if not 1 <= count <= limits.max_labels_per_print:
        raise RuleViolation(f"a print run makes 1 to {limits.max_labels_per_print} labels", zh=f"每次可打印 1 至 {limits.max_labels_per_print} 个标签", field="count")
    made: list[MadeLabel] = []
    codes: set[str] = set()
    while len(made) < count:
        code = rules.new_short_code(community.code)
        if code in codes:
            continue
        codes.add(code)
        token = rules.new_token()
        made.append(MadeLabel(WristbandLabel(community_id=community.id, sheet_id=sheet_id, token_digest=rules.token_digest(token), short_code=code), token))
    taken = set((await session.execute(select(col(WristbandLabel.short_code)).where(col(WristbandLabel.short_code).in_(list(codes))))).scalars())
    made = [m for m in made if m.label.short_code not in taken]  # a code drawn twice in 32^6 is dropped, not reused
    session.add_all(m.label for m in made)
    await session.flush()
    return made


async def new_sheet(session: AsyncSession, actor: Principal, count: int) -> tuple[WristbandSheet, list[MadeLabel]]:
    """A print run: the sheet and its labels (the PDF is issued by community.wristbands.labels)."""
    require_role(actor, PRINTERS, "printing wristband labels")
    community = await _own_community(session, actor)
    sheet = WristbandSheet(community_id=community.id, labels=count, printed_by=actor.label, printed_at=utc_now())
    session.add(sheet)
    await session.flush()
    made = await make_labels(session, actor, count, sheet.id)
    sheet.labels = len(made)
    record_change(session, actor, "wristband.labels_printed", "wristband_sheet", sheet.id, after={"labels": len(made)})
    return sheet, made


async def _label_by_code(session: AsyncSession, actor: Principal, code_or_url: str) -> WristbandLabel:
    token = rules.token_in(code_or_url)
    if token is not None:
        query = select(WristbandLabel).where(col(WristbandLabel.token_digest) == rules.token_digest(token))
    else:
        query = select(WristbandLabel).where(col(WristbandLabel.short_code) == code_or_url.strip().upper())
    label = (await session.execute(query)).scalar()
    if label is None or label.community_id != actor.community_id:
        raise RuleViolation("no label of your community has this code", zh="本社区没有这个腕带编号，请核对标签上的编号或重新扫码", field="code")
    return label


async def _bind(session: AsyncSession, actor: Principal, elder: WristbandElder, label: WristbandLabel) -> WristbandLabel:
    await transaction_lock(session, f"wristband-elder|{elder.id}")
    if label.state != LabelState.PRINTED:
        raise Conflict(f"label {label.short_code} is {label.state} already: a label is bound once", zh=f"腕带 {label.short_code} 已被使用或已停用，不能再次绑定", field="code")
    if await active_label(session, elder.id) is not None:
        raise Conflict("the elder wears a band already: replace it instead", zh="这位老人已有在用的腕带，如丢失请办理补换", field="code")
    bound = await rows_changed(
        session,
        update(WristbandLabel).where(col(WristbandLabel.id) == label.id, col(WristbandLabel.state) == LabelState.PRINTED)
        .values(state=LabelState.BOUND, elder_id=elder.id, bound_at=utc_now(), bound_by=actor.label),
    )
    if bound != 1:
        raise Conflict(f"label {label.short_code} was bound by someone else just now", zh=f"腕带 {label.short_code} 刚刚已被绑定", field="code")
    await session.refresh(label)
    return label


async def bind_label(session: AsyncSession, actor: Principal, elder_id: int, code_or_url: str) -> WristbandLabel:
    """Bind a printed label (its short code, or the address its QR holds) to a registered elder with no band."""
    require_role(actor, WORKERS, "binding wristbands")
    elder = await _elder_in_scope(session, actor, elder_id)
    label = await _bind(session, actor, elder, await _label_by_code(session, actor, code_or_url))
    record_change(session, actor, "wristband.bound", "wristband_label", label.id, after={"elder_id": elder.id, "code": label.short_code})
    return label


async def revoke_label(session: AsyncSession, actor: Principal, label: WristbandLabel, reason: RevokeReason) -> None:
    await rows_changed(
        session,
        update(WristbandLabel).where(col(WristbandLabel.id) == label.id, col(WristbandLabel.state) == LabelState.BOUND)
        .values(state=LabelState.REVOKED, revoked_at=utc_now(), revoked_by=actor.label, revoke_reason=reason.value),
    )
    await session.refresh(label)
    record_change(session, actor, "wristband.revoked", "wristband_label", label.id, after={"code": label.short_code, "reason": reason.value})


async def replace_label(session: AsyncSession, actor: Principal, elder_id: int, code_or_url: str, reason: str) -> WristbandLabel:
    """A lost or damaged band: the old one is revoked at once (its page says it is no longer in use) and the new
    label bound, together or not at all."""
    require_role(actor, WORKERS, "replacing wristbands")
    if reason not in (RevokeReason.LOST, RevokeReason.DAMAGED):
        raise InvalidInput("reason is lost or damaged", zh="请选择补换原因：丢失或损坏", field="reason")
    elder = await _elder_in_scope(session, actor, elder_id)
    await transaction_lock(session, f"wristband-elder|{elder.id}")
    old = await active_label(session, elder.id)
    if old is None:
        raise RuleViolation("the elder has no band in use: bind one", zh="这位老人没有在用的腕带，请直接绑定", field="code")
    new = await _label_by_code(session, actor, code_or_url)
    if new.state != LabelState.PRINTED:
        raise Conflict(f"label {new.short_code} is {new.state} already: a label is bound once", zh=f"腕带 {new.short_code} 已被使用或已停用，不能再次绑定", field="code")
    await revoke_label(session, actor, old, RevokeReason(reason))
    label = await _bind(session, actor, elder, new)
    record_change(session, actor, "wristband.bound", "wristband_label", label.id, after={"elder_id": elder.id, "code": label.short_code, "replaces": old.short_code})
    return label


# The finder


async def _label_by_token(session: AsyncSession, token: str) -> WristbandLabel:
    label = (await session.execute(select(WristbandLabel).where(col(WristbandLabel.token_digest) == rules.token_digest(token)))).scalar()
    if label is None:
        raise NotFound("wristband", "of this address")
    return label


async def finder_view(session: AsyncSession, token: str) -> tuple[schemas.FinderView, WristbandLabel]:
    """What the finder's page shows of a band (nothing about the elder); unknown: NotFound, saying nothing more."""
    label = await _label_by_token(session, token)
    community = await registry_queries.community(session, label.community_id)
    limits = wristband_rules()
    name = f"{community.name}社区" if community else ""
    return schemas.FinderView(label.state, name, limits.office_phone(community.code if community else ""), limits.emergency_phones), label


async def log_scan(session: AsyncSession, token: str) -> WristbandScan:
    """A finder's phone opened the band's page (its page reports it): the scan is logged with the band's state."""
    label = await _label_by_token(session, token)
    scan = WristbandScan(label_id=label.id, elder_id=label.elder_id, label_state=label.state, at=utc_now())
    session.add(scan)
    await session.flush()
    return scan


@dataclass(frozen=True)
class Raised:
    alert: WristbandAlert
    new: bool  # False: the report joined an alert already open (nobody is told twice)


async def raise_alert(session: AsyncSession, seal: Sealer, token: str, data: schemas.AlertIn) -> Raised:
    """A finder asks for the guardians. The first report of an elder's open alert tells the guardians (SMS), the
    community's channels and its social workers, once; later reports join the alert for them to see."""
    label = await _label_by_token(session, token)
    if label.state != LabelState.BOUND or label.elder_id is None:
        raise RuleViolation("this band is not in use", zh="此腕带已停用或尚未启用，请直接拨打 110 或社区电话", field="_form")
    if (data.latitude is None) != (data.longitude is None):
        raise InvalidInput("a location has both latitude and longitude", zh="位置信息不完整", field="latitude")
    await transaction_lock(session, f"wristband-alert|{label.elder_id}")
    replayed = (await session.execute(select(WristbandAlertReport).where(col(WristbandAlertReport.client_id) == data.client_id))).scalar()
    if replayed is not None:
        return Raised(await session.get_one(WristbandAlert, replayed.alert_id), False)
    now = utc_now()
    alert = (await session.execute(select(WristbandAlert).where(col(WristbandAlert.elder_id) == label.elder_id, col(WristbandAlert.state).in_(OPEN_STATES)))).scalar()
    new = alert is None
    if alert is None:
        alert = WristbandAlert(label_id=label.id, elder_id=label.elder_id, community_id=label.community_id, raised_at=now)
        session.add(alert)
        await session.flush()
    session.add(
        WristbandAlertReport(
            alert_id=alert.id, client_id=data.client_id, at=now, message=data.message.strip(), latitude=data.latitude, longitude=data.longitude, accuracy_m=data.accuracy_m,
        )
    )
    await session.flush()
    if new:
        await _tell(session, seal, alert, label, data)
    return Raised(alert, new)


def _place(data: schemas.AlertIn) -> str:
    if data.latitude is None or data.longitude is None:
        return "发现人未分享位置"
    return f"北纬 {data.latitude:.5f}，东经 {data.longitude:.5f}（误差约 {data.accuracy_m or 0} 米）"


async def _tell(session: AsyncSession, seal: Sealer, alert: WristbandAlert, label: WristbandLabel, data: schemas.AlertIn) -> None:
    base = get_settings().resolved_public_base_url()
    community = await registry_queries.community(session, alert.community_id)
    when = alert.raised_at.astimezone(BUSINESS_TZ).strftime("%m-%d %H:%M")
    where = _place(data)
    facts = (("腕带编号", label.short_code), ("时间", when), ("位置", where), ("发现人留言", data.message.strip() or "无"))
    # Outside the system: the band's code, never the elder's name.
    subject = f"wristband_alert:{alert.id}"
    text = f"{community.name if community else ''}社区：佩戴腕带 {label.short_code} 的老人被发现需要帮助（{when}，{where}）。"
    await broadcast(session, seal, alert.community_id, Topic.WRISTBAND_ALERT, subject, subject, Payload("爱洒回家路求助提醒", text, f"{base}/wristbands/alerts/{alert.id}", facts=facts))
    for guardian in (await _guardians(session, [alert.elder_id])).get(alert.elder_id, []):
        await _sms_guardian(session, seal, await session.get_one(WristbandElder, alert.elder_id), guardian.position, f"{subject}:{guardian.position}",
                            Payload("爱洒回家路", text + "请尽快联系社区或前往。", f"{base}/g/{seal.open(guardian.link_sealed)}", seal.open(guardian.phone_sealed)))
    workers = await people_queries.recipients(session, Role.CARE_WORKER, community_id=alert.community_id)
    await notify(session, subject, workers, "腕带求助：有老人需要帮助", text, f"/wristbands/alerts/{alert.id}")


# Alerts: the social worker's and the guardians' side


async def _alert_in_scope(session: AsyncSession, actor: Principal, alert_id: int) -> WristbandAlert:
    alert = await session.get(WristbandAlert, alert_id)
    if alert is None or alert.community_id != actor.community_id:
        raise NotFound("alert", alert_id)
    return alert


async def _move(session: AsyncSession, alert: WristbandAlert, wanted: AlertState, by: str, note: str = "") -> WristbandAlert:
    current = AlertState(alert.state)
    if not rules.next_alert_state(current, wanted):
        raise Conflict(f"the alert is {current} already", zh=f"该求助已是“{rules.ALERT_STATE_NAMES[current]}”状态", field="_form")
    values: dict[str, object] = {"state": wanted.value}
    if wanted is AlertState.ACKNOWLEDGED:
        values |= {"acknowledged_at": utc_now(), "acknowledged_by": by}
    else:
        values |= {"found_at": utc_now(), "found_by": by, "found_note": note.strip()[:500] or None}
        if alert.acknowledged_at is None:
            values |= {"acknowledged_at": utc_now(), "acknowledged_by": by}
    moved = await rows_changed(session, update(WristbandAlert).where(col(WristbandAlert.id) == alert.id, col(WristbandAlert.state) == current.value).values(**values))
    if moved != 1:
        raise Conflict("the alert changed just now", zh="该求助刚刚已被他人处理，请刷新页面", field="_form")
    await session.refresh(alert)
    return alert


async def acknowledge(session: AsyncSession, actor: Principal, alert_id: int) -> WristbandAlert:
    require_role(actor, WORKERS, "answering wristband alerts")
    alert = await _move(session, await _alert_in_scope(session, actor, alert_id), AlertState.ACKNOWLEDGED, actor.label)
    record_change(session, actor, "wristband.alert_acknowledged", "wristband_alert", alert.id)
    return alert


async def mark_found(session: AsyncSession, actor: Principal, alert_id: int, note: str = "") -> WristbandAlert:
    require_role(actor, WORKERS, "answering wristband alerts")
    alert = await _move(session, await _alert_in_scope(session, actor, alert_id), AlertState.FOUND, actor.label, note)
    record_change(session, actor, "wristband.found", "wristband_alert", alert.id)
    return alert


@dataclass(frozen=True)
class GuardianActor:
    """A guardian acting through their own link (no account): named by position, never by name."""

    label: str
    user_id: int | None = None


async def guardian_of_link(session: AsyncSession, link: str) -> WristbandGuardian:
    guardian = (await session.execute(select(WristbandGuardian).where(col(WristbandGuardian.link_digest) == rules.token_digest(link)))).scalar()
    if guardian is None:
        raise NotFound("guardian link", "given")
    return guardian


async def guardian_mark_found(session: AsyncSession, link: str, alert_id: int) -> WristbandAlert:
    """A guardian, by their own link, says the elder is found (the audit names the guardian's position only)."""
    guardian = await guardian_of_link(session, link)
    alert = await session.get(WristbandAlert, alert_id)
    if alert is None or alert.elder_id != guardian.elder_id:
        raise NotFound("alert", alert_id)
    by = GuardianActor(f"guardian {guardian.position} of elder {guardian.elder_id}")
    alert = await _move(session, alert, AlertState.FOUND, by.label)
    record_change(session, by, "wristband.found", "wristband_alert", alert.id)
    return alert


async def alerts_of(session: AsyncSession, *, community_id: int | None = None, elder_id: int | None = None, open_only: bool = False, limit: int = 50) -> list[WristbandAlert]:
    query = select(WristbandAlert).order_by(col(WristbandAlert.raised_at).desc()).limit(limit)
    if community_id is not None:
        query = query.where(col(WristbandAlert.community_id) == community_id)
    if elder_id is not None:
        query = query.where(col(WristbandAlert.elder_id) == elder_id)
    if open_only:
        query = query.where(col(WristbandAlert.state).in_(OPEN_STATES))
    return list((await session.execute(query)).scalars())


async def reports_of(session: AsyncSession, alert_id: int) -> list[schemas.ReportShown]:
    query = select(WristbandAlertReport).where(col(WristbandAlertReport.alert_id) == alert_id).order_by(col(WristbandAlertReport.at))
    return [schemas.ReportShown(r.at, r.message, r.latitude, r.longitude, r.accuracy_m) for r in (await session.execute(query)).scalars()]


async def alert_detail(session: AsyncSession, actor: Principal, alert_id: int) -> tuple[WristbandAlert, list[schemas.ReportShown], str]:
    require_role(actor, WORKERS, "reading wristband alerts")
    alert = await _alert_in_scope(session, actor, alert_id)
    label = await session.get_one(WristbandLabel, alert.label_id)
    return alert, await reports_of(session, alert.id), label.short_code


async def scans_of(session: AsyncSession, elder_id: int, limit: int = 50) -> list[WristbandScan]:
    query = select(WristbandScan).where(col(WristbandScan.elder_id) == elder_id).order_by(col(WristbandScan.at).desc()).limit(limit)
    return list((await session.execute(query)).scalars())


# The community's counts


async def counts(session: AsyncSession, actor: Principal) -> list[schemas.CommunityCounts]:
    """Per community in the actor's scope: elders registered, bands issued (ever bound), bands in use, labels not yet
    used, open alerts."""
    require_role(actor, COUNTERS, "reading the wristbands' counts")
    elders = dict(list((await session.execute(select(col(WristbandElder.community_id), func.count()).group_by(col(WristbandElder.community_id)))).all()))
    by_state: dict[tuple[int, str], int] = {}
    for community_id, state, n in (await session.execute(select(col(WristbandLabel.community_id), col(WristbandLabel.state), func.count()).group_by(col(WristbandLabel.community_id), col(WristbandLabel.state)))).all():
        by_state[(community_id, state)] = n
    open_alerts = dict(list((await session.execute(select(col(WristbandAlert.community_id), func.count()).where(col(WristbandAlert.state).in_(OPEN_STATES)).group_by(col(WristbandAlert.community_id)))).all()))
    ids = set(elders) | {c for c, _ in by_state}
    shown = []
    for community_id in sorted(ids):
        community = await registry_queries.community(session, community_id)
        if community is None or not actor.sees_community(community.id, community.street_id):
            continue
        bound, revoked = by_state.get((community_id, "bound"), 0), by_state.get((community_id, "revoked"), 0)
        shown.append(schemas.CommunityCounts(community_id, f"{community.name}社区", elders.get(community_id, 0), bound + revoked, bound, by_state.get((community_id, "printed"), 0), open_alerts.get(community_id, 0)))
    return shown


async def unbound_elders(session: AsyncSession, actor: Principal, seal: Sealer) -> list[tuple[int, str]]:
    """The community's elders with no band in use (to bind a label scanned with the phone)."""
    require_role(actor, WORKERS, "binding wristbands")
    bound = select(col(WristbandLabel.elder_id)).where(col(WristbandLabel.state) == LabelState.BOUND, col(WristbandLabel.elder_id).is_not(None))
    query = select(WristbandElder).where(col(WristbandElder.community_id) == actor.community_id, col(WristbandElder.id).not_in(bound)).order_by(col(WristbandElder.id).desc()).limit(100)
    return [(e.id, seal.open(e.name_sealed)) for e in (await session.execute(query)).scalars()]

