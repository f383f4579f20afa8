"""Channels beyond the in-app notices, against HTTP receivers the test starts: a signed webhook delivered once even
when the receiver fails twice first, a receiver that never answers recorded as failed after the allowed attempts
(no retry storm), the WeCom group robot's message format, SMS through the recording provider, and in-app notices
routed to the channels of their users' communities."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update

from community.wristbands import schemas, service
from foundation.access import Role
from foundation.channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Channel,
    ChannelKind,
    DeliveryAttempt,
    DispatchSettings,
    OutboundMessage,
    RecordingSmsProvider,
    Topic,
    add_channel,
    deliver_due,
    signature,
)
from foundation.clock import utc_now
from foundation.notifications import notify
from foundation.sealing import Sealer
from people.queries import principal_named, recipients
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf
from tests.integration.test_wristbands import count, elder_with_band

FAST = DispatchSettings(timeout_seconds=0.5, max_attempts=3, backoff_seconds=30)


@dataclass
class Receiver:
    """A local HTTP server: answers each request with the next status of `answers` (the last one repeats);
    None never answers."""

    answers: list[int | None]
    body: bytes = b'{"ok": true}'
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    accepted: list[bytes] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((headers, body))
        status = self.answers[min(len(self.requests) - 1, len(self.answers) - 1)]
        if status is None:
            await asyncio.sleep(30)  # never answers within the sender's timeout
            writer.close()
            return
        if 200 <= status < 300:
            self.accepted.append(body)
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(self.body)}\r\nConnection: close\r\n\r\n".encode() + self.body)
        await writer.drain()
        writer.close()


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[Receiver]:
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    try:
        yield receiver
    finally:
        server.close()


async def _alert_on(app, db, receiver: Receiver, kind: ChannelKind = ChannelKind.WEBHOOK) -> tuple[int, Sealer]:  # type: ignore[no-untyped-def]
    """A webhook (or WeCom) channel of 树德里 to the receiver, and an alert raised by a finder: the alert's id."""
    seal = service.sealer()
    async with db() as session:  # this receiver is the community's only channel (the demo's SMS channel is off)
        await session.execute(update(Channel).values(active=False))
        await session.commit()
    _, token, _ = await elder_with_band(app, db)
    async with db() as session:
        worker = await principal_named(session, "xbl01-care")
        await add_channel(session, seal, community_id=worker.community_id, kind=kind, name="测试接收", target=receiver.url, secret="hook-secret", topics=[Topic.WRISTBAND_ALERT], created_by="test")  # type: ignore[union-attr]
        raised = await service.raise_alert(session, seal, token, schemas.AlertIn(client_id="alert-client-0001", message="在公交站", latitude=39.1189, longitude=117.2006, accuracy_m=20))
        await session.commit()
    return raised.alert.id, seal


async def _messages(db, alert_id: int) -> list[OutboundMessage]:  # type: ignore[no-untyped-def]
    async with db() as session:
        return list((await session.execute(select(OutboundMessage).where(OutboundMessage.subject == f"wristband_alert:{alert_id}"))).scalars())


async def _attempts(db, message_id: int) -> list[DeliveryAttempt]:  # type: ignore[no-untyped-def]
    async with db() as session:
        return list((await session.execute(select(DeliveryAttempt).where(DeliveryAttempt.message_id == message_id).order_by(DeliveryAttempt.number))).scalars())


async def test_a_receiver_failing_twice_then_answering_gets_the_signed_message_once(app, db) -> None:  # type: ignore[no-untyped-def]
    async with receiving(Receiver([500, 503, 200])) as receiver:
        alert_id, seal = await _alert_on(app, db, receiver)
        factory = app.state.write_session_factory
        now = utc_now()
        assert await deliver_due(factory, seal, FAST, now=now) == 0
        assert await deliver_due(factory, seal, FAST, now=now + timedelta(seconds=10)) == 0  # backing off: not due yet
        assert len(receiver.requests) == 1
        assert await deliver_due(factory, seal, FAST, now=now + timedelta(seconds=31)) == 0
        assert await deliver_due(factory, seal, FAST, now=now + timedelta(seconds=31 + 61)) == 1
        for later in (200, 400, 4000):
            assert await deliver_due(factory, seal, FAST, now=now + timedelta(seconds=later)) == 0
    assert len(receiver.requests) == 3 and len(receiver.accepted) == 1
    headers, body = receiver.requests[-1]
    assert headers[SIGNATURE_HEADER.lower()] == signature("hook-secret", headers[TIMESTAMP_HEADER.lower()], body)
    document = json.loads(body)
    assert document["topic"] == "wristband_alert" and "需要帮助" in document["text"] and document["facts"]["位置"].startswith("北纬 39.11890")
    assert "欧阳" not in body.decode()  # the band's code goes out, never the elder's name
    [message] = await _messages(db, alert_id)
    assert message.state == "delivered" and message.attempts == 3
    assert [a.outcome for a in await _attempts(db, message.id)] == ["refused", "refused", "delivered"]


async def test_a_receiver_that_never_answers_is_recorded_as_failed_without_a_retry_storm(app, db) -> None:  # type: ignore[no-untyped-def]
    async with receiving(Receiver([None])) as receiver:
        alert_id, seal = await _alert_on(app, db, receiver)
        factory = app.state.write_session_factory
        now = utc_now()
        for minutes in range(0, 60, 1):  # an hour of dispatcher rounds, one a minute
            await deliver_due(factory, seal, FAST, now=now + timedelta(minutes=minutes))
    assert len(receiver.requests) == FAST.max_attempts
    [message] = await _messages(db, alert_id)
    assert message.state == "failed"
    assert [a.outcome for a in await _attempts(db, message.id)] == ["timeout"] * FAST.max_attempts


async def test_the_wecom_group_robot_gets_its_markdown_message_and_its_error_code_counts(app, db) -> None:  # type: ignore[no-untyped-def]
    async with receiving(Receiver([200], body=b'{"errcode": 93000, "errmsg": "invalid webhook url"}')) as refusing:
        alert_id, seal = await _alert_on(app, db, refusing, ChannelKind.WECOM)
        await deliver_due(app.state.write_session_factory, seal, FAST)
    [message] = await _messages(db, alert_id)
    assert message.state == "pending" and (await _attempts(db, message.id))[0].detail == "errcode 93000"
    payload = json.loads(refusing.requests[0][1])
    assert payload["msgtype"] == "markdown" and "爱洒回家路求助提醒" in payload["markdown"]["content"]


async def test_guardians_get_their_text_through_the_recording_sms_provider(app, db) -> None:  # type: ignore[no-untyped-def]
    seal = service.sealer()  # 树德里's SMS channel is the demo's
    _, token, _ = await elder_with_band(app, db, phone="13700009999")
    async with db() as session:
        await service.raise_alert(session, seal, token, schemas.AlertIn(client_id="alert-client-sms1"))
        await session.commit()
    sms = RecordingSmsProvider()
    await deliver_due(app.state.write_session_factory, seal, FAST, sms=sms)
    tails = [s.phone_tail for s in sms.sent]
    assert tails.count("9999") == 2  # the registration's text with the guardian's link, then the alert's, once each
    assert any("/g/" in s.text and "需要帮助" in s.text for s in sms.sent)
    await deliver_due(app.state.write_session_factory, seal, FAST, now=utc_now() + timedelta(hours=1), sms=sms)
    assert [s.phone_tail for s in sms.sent].count("9999") == 2


async def test_an_in_app_notice_goes_once_to_each_channel_of_its_users_community(app, db) -> None:  # type: ignore[no-untyped-def]
    seal = service.sealer()
    async with receiving(Receiver([200])) as receiver:
        async with db() as session:
            worker = await principal_named(session, "xbl01-care")
            channel = await add_channel(session, seal, community_id=worker.community_id, kind=ChannelKind.WEBHOOK, name="通知", target=receiver.url, secret="k", topics=[Topic.NOTICE], created_by="test")  # type: ignore[union-attr]
            users = await recipients(session, Role.COMMUNITY_WORKER, community_id=worker.community_id) + await recipients(session, Role.CARE_WORKER, community_id=worker.community_id)  # type: ignore[union-attr]
            assert len(users) >= 2
            await notify(session, "test-overdue|2026-11", users, "整改单已超期", "XBL01 有 2 张整改单超期")
            await notify(session, "test-overdue|2026-11", users, "整改单已超期", "XBL01 有 2 张整改单超期")  # a job run again
            await session.commit()
        await deliver_due(app.state.write_session_factory, seal, FAST)
    assert len(receiver.accepted) == 1 and json.loads(receiver.accepted[0])["title"] == "整改单已超期"
    async with db() as session:
        assert (await session.get_one(Channel, channel.id)).active


async def test_a_director_adds_a_signed_webhook_and_a_bad_one_is_refused_with_nothing_stored(client, db) -> None:  # type: ignore[no-untyped-def]
    await page_login(client, "xbl01-director")
    form = {"_csrf_token": await csrf(client), "name": "值班群", "kind": "webhook", "target": "https://hooks.example/alerts", "topic_wristband_alert": "1"}
    before = await count(db, Channel)
    unsigned = await client.post("/channels/", data=form | {"secret": "short"})
    assert unsigned.status_code == 422 and "签名密钥" in unsigned.text
    no_address = await client.post("/channels/", data=form | {"secret": "a-secret-of-enough-length", "target": "hooks.example"})
    assert no_address.status_code == 422 and "接收地址" in no_address.text
    assert await count(db, Channel) == before
    added = await client.post("/channels/", data=form | {"secret": "a-secret-of-enough-length"})
    assert added.status_code == 200 and "值班群" in added.text
    async with db() as session:
        channel = (await session.execute(select(Channel).order_by(Channel.id.desc()))).scalars().first()  # type: ignore[union-attr]
    assert channel is not None and "hooks.example" not in channel.target_sealed and "a-secret" not in channel.secret_sealed
