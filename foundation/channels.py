"""Channels that reach people outside the system, beside the in-app list of foundation.notifications: a webhook (a
JSON POST signed with HMAC-SHA256), the WeCom group robot (企业微信群机器人, the same POST in its message format) and
SMS behind a provider adapter (the default provider only records what it would send). Channels are configured per
community (or for the whole district) and say which topics they carry.

Delivery goes through an outbox: a use case only adds a message (one per subject and channel: a unique key, so a
retry of the use case never makes a second), and the dispatcher sends due messages after the request has ended,
so a request never waits on a remote host. Each send is claimed first (a conditional update), so two dispatchers
never send the same message; each attempt is recorded; a failure is retried with a doubling back-off up to a
maximum number of attempts, then the message is recorded as failed and never sent again. Targets and secrets are
sealed at rest (foundation.sealing); attempts record outcomes, never the message's text or a phone number."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import httpx
from sqlalchemy import JSON, CheckConstraint, Column, Index, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import Field, SQLModel, col

from foundation.clock import BUSINESS_TZ, utc_now
from foundation.db import UTCDateTime, rows_changed, surrogate_key, unit_of_work
from foundation.sealing import Sealer

log = logging.getLogger("supervision.channels")

SIGNATURE_HEADER = "X-Supervision-Signature"
TIMESTAMP_HEADER = "X-Supervision-Timestamp"
DELIVERY_HEADER = "X-Supervision-Delivery"  # the message's key: a receiver that sees it twice (a crash) keeps one


class ChannelKind(StrEnum):
    WEBHOOK = "webhook"
    WECOM = "wecom"  # 企业微信群机器人
    SMS = "sms"


CHANNEL_KIND_NAMES = {ChannelKind.WEBHOOK: "Webhook（签名 JSON）", ChannelKind.WECOM: "企业微信群机器人", ChannelKind.SMS: "短信"}


class Topic(StrEnum):
    WRISTBAND_ALERT = "wristband_alert"  # a finder's alert about an elder wearing a band
    NOTICE = "notice"  # every in-app notice of the community's staff (overdue orders, vetoes, reminders ...)


TOPIC_NAMES = {Topic.WRISTBAND_ALERT: "腕带求助提醒", Topic.NOTICE: "系统通知（整改超期、否决、提醒等）"}


class MessageState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Channel(SQLModel, table=True):
    """A way out of the system: a webhook or WeCom robot address (sealed: the robot's key is in it), or SMS to the
    phones a message names. `community_id` None: the whole district's."""

    __tablename__ = "notification_channels"
    __table_args__ = (CheckConstraint("kind IN ('webhook', 'wecom', 'sms')", name="kind_known"),)

    id: int = surrogate_key()
    community_id: int | None = Field(default=None, foreign_key="communities.id", index=True)
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    name: str = Field(max_length=60)
    target_sealed: str = Field(default="", max_length=1200)  # the address (webhook, WeCom); empty for SMS
    secret_sealed: str = Field(default="", max_length=400)  # the HMAC key of a webhook
    topics: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class OutboundMessage(SQLModel, table=True):
    """One message to send on one channel, once: `key` names its subject and channel."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_messages_state_next", "state", "next_attempt_at"),
        CheckConstraint("state IN ('pending', 'sending', 'delivered', 'failed')", name="state_known"),
    )

    id: int = surrogate_key()
    key: str = Field(max_length=200, unique=True)
    channel_id: int = Field(foreign_key="notification_channels.id", index=True)
    topic: str = Field(max_length=30)
    subject: str = Field(max_length=100)  # what it is about, by id (e.g. wristband_alert:12): no personal data
    payload_sealed: str = Field(max_length=20000)  # title, text, link (and the phone for SMS), sealed
    state: str = Field(default=MessageState.PENDING, sa_column=Column(String(10), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class DeliveryAttempt(SQLModel, table=True):
    """One try to send a message: when, how long, the answer's status (or that none came) and the outcome."""

    __tablename__ = "delivery_attempts"

    id: int = surrogate_key()
    message_id: int = Field(foreign_key="outbound_messages.id", index=True)
    number: int
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    milliseconds: int
    status_code: int | None = None
    outcome: str = Field(max_length=12)  # delivered, refused, timeout, error
    detail: str = Field(default="", max_length=300)  # what went wrong, in the transport's words (no message text)


@dataclass(frozen=True)
class Payload:
    """What a message says; `phone` only for SMS."""

    title: str
    text: str
    link: str = ""
    phone: str = ""
    facts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DispatchSettings:
    timeout_seconds: float
    max_attempts: int
    backoff_seconds: float


def backoff(settings: DispatchSettings, attempts_made: int) -> timedelta:
    """The wait before the next attempt: the back-off doubled after each failure (30 s, 60 s, 120 s ...)."""
    return timedelta(seconds=settings.backoff_seconds * 2 ** max(0, attempts_made - 1))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook's signature: HMAC-SHA256 of `timestamp.body` under the channel's secret, as `sha256=<hex>`."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def webhook_body(key: str, topic: str, payload: Payload, at: datetime) -> bytes:
    document = {"id": key, "topic": topic, "title": payload.title, "text": payload.text, "link": payload.link, "facts": dict(payload.facts), "created_at": at.isoformat()}
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()


def wecom_body(payload: Payload) -> bytes:
    """The WeCom group robot's markdown message (https://developer.work.weixin.qq.com/document/path/91770)."""
    lines = [f"**{payload.title}**", payload.text, *(f"> {label}：{value}" for label, value in payload.facts)]
    if payload.link:
        lines.append(f"[查看详情]({payload.link})")
    return json.dumps({"msgtype": "markdown", "markdown": {"content": "\n".join(lines)[:4000]}}, ensure_ascii=False).encode()


@dataclass(frozen=True)
class SmsResult:
    delivered: bool
    detail: str = ""


class SmsProvider(Protocol):
    """An SMS gateway's adapter: send one text to one phone."""

    async def send(self, phone: str, text: str) -> SmsResult: ...


@dataclass(frozen=True)
class RecordedSms:
    phone_tail: str
    text: str
    at: datetime


class RecordingSmsProvider:
    """The demo's provider: sends nothing, keeps what it would have sent (the phone's last four digits) in memory."""

    def __init__(self) -> None:
        self.sent: list[RecordedSms] = []

    async def send(self, phone: str, text: str) -> SmsResult:
        self.sent.append(RecordedSms(phone[-4:], text, utc_now()))
        return SmsResult(True, "recorded, not sent")


SMS_PROVIDER: SmsProvider = RecordingSmsProvider()


# Configuration


async def add_channel(
    session: AsyncSession, sealer: Sealer, *, community_id: int | None, kind: ChannelKind, name: str, target: str, secret: str, topics: Sequence[Topic], created_by: str
) -> Channel:
    """Store a channel (the caller has checked who may); its target and secret sealed."""
    channel = Channel(
        community_id=community_id, kind=kind.value, name=name, target_sealed=sealer.seal(target) if target else "", secret_sealed=sealer.seal(secret) if secret else "",
        topics=sorted(t.value for t in topics), created_by=created_by, created_at=utc_now(),
    )
    session.add(channel)
    await session.flush()
    return channel


async def channels_of(session: AsyncSession, community_id: int | None, topic: Topic | None = None, *, active_only: bool = True) -> list[Channel]:
    """The channels of a community and the district's (community None: the district's only)."""
    query = select(Channel).order_by(col(Channel.id))
    query = query.where(col(Channel.community_id).is_(None) | (col(Channel.community_id) == community_id)) if community_id is not None else query.where(col(Channel.community_id).is_(None))
    if active_only:
        query = query.where(col(Channel.active).is_(True))
    found = list((await session.execute(query)).scalars())
    return [c for c in found if topic is None or topic.value in c.topics]


async def enqueue(session: AsyncSession, sealer: Sealer, channel: Channel, key: str, topic: Topic, subject: str, payload: Payload) -> OutboundMessage | None:
    """Add a message for `channel` unless one with the same key exists (then nothing: the subject was sent already)."""
    full_key = f"{key}|ch:{channel.id}"[:200]
    existing = (await session.execute(select(OutboundMessage).where(col(OutboundMessage.key) == full_key))).scalar()
    if existing is not None:
        return None
    now = utc_now()
    sealed = sealer.seal(json.dumps({"title": payload.title, "text": payload.text, "link": payload.link, "phone": payload.phone, "facts": list(payload.facts)}, ensure_ascii=False))
    message = OutboundMessage(key=full_key, channel_id=channel.id, topic=topic.value, subject=subject[:100], payload_sealed=sealed, next_attempt_at=now, created_at=now)
    try:
        async with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return None  # the same message added at the same moment by another request
    return message


async def broadcast(session: AsyncSession, sealer: Sealer, community_id: int | None, topic: Topic, key: str, subject: str, payload: Payload) -> int:
    """Add the message to every active channel of the community (and the district's) carrying `topic` that sends to
    an address (webhook, WeCom); SMS needs a phone, so it goes through `enqueue` with one. Returns how many."""
    made = 0
    for channel in await channels_of(session, community_id, topic):
        if channel.kind != ChannelKind.SMS and await enqueue(session, sealer, channel, key, topic, subject, payload) is not None:
            made += 1
    return made


# Existing in-app notices, routed to the channels of the users' communities


NoticeAudience = Callable[[AsyncSession, Sequence[int]], Awaitable[dict[int, int | None]]]
_audience: list[NoticeAudience] = []


def route_notices_by(audience: NoticeAudience) -> None:
    """The composition root names how to find the community of users (the people package, above this one)."""
    _audience[:] = [audience]


async def route_notice(session: AsyncSession, sealer: Sealer, key: str, user_ids: Sequence[int], title: str, body: str, link: str) -> int:
    """Send an in-app notice on to the channels carrying notices of its users' communities, once per channel."""
    if not _audience or not user_ids:
        return 0
    communities = set((await _audience[0](session, user_ids)).values())
    made = 0
    for community_id in sorted(communities, key=lambda c: c or 0):
        for channel in await channels_of(session, community_id, Topic.NOTICE):
            if channel.kind == ChannelKind.SMS:
                continue
            if await enqueue(session, sealer, channel, f"notice:{key}", Topic.NOTICE, f"notice:{key}"[:100], Payload(title, body, link)) is not None:
                made += 1
    return made


# Dispatch


async def _claim(session: AsyncSession, message: OutboundMessage, now: datetime, lease: timedelta) -> bool:
    """Take the message for one attempt: only if it is still due and unclaimed (or its claimer died)."""
    claimable = (col(OutboundMessage.state) == MessageState.PENDING) | (
        (col(OutboundMessage.state) == MessageState.SENDING) & (col(OutboundMessage.lease_until) < now)
    )
    changed = await rows_changed(
        session,
        update(OutboundMessage)
        .where(col(OutboundMessage.id) == message.id, col(OutboundMessage.attempts) == message.attempts, col(OutboundMessage.next_attempt_at) <= now, claimable)
        .values(state=MessageState.SENDING, attempts=message.attempts + 1, lease_until=now + lease),
    )
    return changed == 1


@dataclass(frozen=True)
class Outcome:
    outcome: str  # delivered, refused, timeout, error
    status_code: int | None = None
    detail: str = ""


async def _post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], wecom: bool) -> Outcome:
    try:
        response = await client.post(url, content=body, headers={"Content-Type": "application/json; charset=utf-8", **headers})
    except httpx.TimeoutException:
        return Outcome("timeout", None, "no answer within the timeout")
    except httpx.HTTPError as error:
        return Outcome("error", None, type(error).__name__)
    if not 200 <= response.status_code < 300:
        return Outcome("refused", response.status_code, f"HTTP {response.status_code}")
    if wecom:  # the robot answers 200 with errcode 0 when it took the message
        try:
            errcode = json.loads(response.content).get("errcode")
        except (ValueError, AttributeError, RecursionError):
            errcode = None
        if errcode != 0:
            return Outcome("refused", response.status_code, f"errcode {errcode}")
    return Outcome("delivered", response.status_code)


async def _send(client: httpx.AsyncClient, sealer: Sealer, channel: Channel, message: OutboundMessage, sms: SmsProvider) -> Outcome:
    fields = json.loads(sealer.open(message.payload_sealed))
    payload = Payload(fields["title"], fields["text"], fields["link"], fields["phone"], tuple((a, b) for a, b in fields["facts"]))
    if channel.kind == ChannelKind.SMS:
        text = f"【{payload.title}】{payload.text}" + (f" {payload.link}" if payload.link else "")
        result = await sms.send(payload.phone, text)
        return Outcome("delivered" if result.delivered else "refused", None, result.detail[:300])
    url = sealer.open(channel.target_sealed)
    if channel.kind == ChannelKind.WECOM:
        return await _post(client, url, wecom_body(payload), {DELIVERY_HEADER: message.key}, wecom=True)
    body = webhook_body(message.key, message.topic, payload, message.created_at)
    stamp = str(int(time.time()))
    secret = sealer.open(channel.secret_sealed) if channel.secret_sealed else ""
    return await _post(client, url, body, {DELIVERY_HEADER: message.key, TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature(secret, stamp, body)}, wecom=False)


async def deliver_due(
    factory: async_sessionmaker[AsyncSession], sealer: Sealer, settings: DispatchSettings, *, now: datetime | None = None, sms: SmsProvider | None = None, limit: int = 50,
    reads: async_sessionmaker[AsyncSession] | None = None,
) -> int:
    """Send the messages that are due, each in three short transactions (claim, send with none open, record).
    Returns how many were delivered. `reads`: the factory to look for due messages with (on SQLite, one that does
    not take the write lock, so an idle round writes nothing)."""
    now = now or utc_now()
    lease = timedelta(seconds=settings.timeout_seconds * 2 + 30)
    async with (reads or factory)() as session:
        due = list(
            (
                await session.execute(
                    select(OutboundMessage)
                    .where(
                        col(OutboundMessage.next_attempt_at) <= now,
                        (col(OutboundMessage.state) == MessageState.PENDING)
                        | ((col(OutboundMessage.state) == MessageState.SENDING) & (col(OutboundMessage.lease_until) < now)),
                    )
                    .order_by(col(OutboundMessage.next_attempt_at), col(OutboundMessage.id))
                    .limit(limit)
                )
            ).scalars()
        )
        channels = {c.id: c for c in (await session.execute(select(Channel).where(col(Channel.id).in_({m.channel_id for m in due})))).scalars()} if due else {}
    if not due:
        return 0  # an idle round makes no HTTP client (building its TLS context costs more than the query)
    delivered = 0
    async with httpx.AsyncClient(timeout=settings.timeout_seconds, follow_redirects=False) as client:
        for message in due:
            async with unit_of_work(factory) as session:
                if not await _claim(session, message, now, lease):
                    continue
            channel = channels[message.channel_id]
            started = time.monotonic()
            if not channel.active:
                outcome = Outcome("error", None, "the channel was switched off")
            else:
                try:
                    outcome = await _send(client, sealer, channel, message, sms or SMS_PROVIDER)
                except Exception as error:  # a broken seal, a provider's fault: this attempt failed, the round goes on
                    outcome = Outcome("error", None, type(error).__name__)
            took = int((time.monotonic() - started) * 1000)
            number = message.attempts + 1
            async with unit_of_work(factory) as session:
                session.add(DeliveryAttempt(message_id=message.id, number=number, at=now, milliseconds=took, status_code=outcome.status_code, outcome=outcome.outcome, detail=outcome.detail[:300]))
                if outcome.outcome == "delivered":
                    values: dict[str, Any] = {"state": MessageState.DELIVERED, "delivered_at": utc_now(), "lease_until": None}
                    delivered += 1
                elif number >= settings.max_attempts or not channel.active:
                    values = {"state": MessageState.FAILED, "lease_until": None}
                    log.warning("message %s on channel %s failed after %s attempts (%s)", message.id, channel.id, number, outcome.outcome)
                else:
                    values = {"state": MessageState.PENDING, "next_attempt_at": now + backoff(settings, number), "lease_until": None}
                await session.execute(update(OutboundMessage).where(col(OutboundMessage.id) == message.id).values(**values))
    return delivered


def dispatch_settings_of(settings: Any) -> DispatchSettings:
    return DispatchSettings(settings.channel_timeout_seconds, settings.channel_max_attempts, settings.channel_backoff_seconds)


async def messages_of(session: AsyncSession, subject: str) -> list[tuple[OutboundMessage, Channel, list[DeliveryAttempt]]]:
    """The messages about a subject, with their channel and attempts (for pages)."""
    result = await session.execute(select(OutboundMessage, Channel).join(Channel, col(Channel.id) == col(OutboundMessage.channel_id)).where(col(OutboundMessage.subject) == subject).order_by(col(OutboundMessage.id)))
    rows = [(row[0], row[1]) for row in result]
    attempts: dict[int, list[DeliveryAttempt]] = {}
    if rows:
        for attempt in (await session.execute(select(DeliveryAttempt).where(col(DeliveryAttempt.message_id).in_([m.id for m, _ in rows])).order_by(col(DeliveryAttempt.number)))).scalars():
            attempts.setdefault(attempt.message_id, []).append(attempt)
    return [(m, c, attempts.get(m.id, [])) for m, c in rows]


def local_time(instant: datetime) -> str:
    return instant.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")


async def run_dispatcher(
    factory: async_sessionmaker[AsyncSession], reads: async_sessionmaker[AsyncSession], sealer: Sealer, settings: DispatchSettings, stop: asyncio.Event, poll_seconds: float
) -> None:
    """Send due messages every `poll_seconds` until `stop` is set (each web process runs one; the claims keep two from
    sending the same message)."""
    while not stop.is_set():
        try:
            await deliver_due(factory, sealer, settings, reads=reads)
        except Exception:  # a database hiccup must not end the dispatcher; the next round tries again
            log.exception("dispatching messages failed; trying again")
        try:
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
        except TimeoutError:
            pass
