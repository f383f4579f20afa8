"""Notifications: who is told what, with a link, and whether they have read it; each new notice is also sent on to
the channels (webhook, WeCom robot) of its users' communities that carry notices (foundation.channels). A
notification has a key, so a job run again tells nobody twice."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from sqlalchemy import Column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from foundation.channels import route_notice
from foundation.clock import utc_now
from foundation.db import UTCDateTime, surrogate_key
from foundation.errors import NotFound
from foundation.sealing import Sealer
from foundation.settings import get_settings

log = logging.getLogger("supervision.notifications")


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"

    id: int = surrogate_key()
    key: str = Field(max_length=160, unique=True)  # what + whom + period: the same notice is made once
    user_id: int = Field(foreign_key="users.id", index=True)
    title: str = Field(max_length=200)
    body: str = Field(max_length=4000)
    link: str = Field(default="", max_length=300)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Delivery(Protocol):
    def deliver(self, user_id: int, title: str, body: str, link: str) -> None: ...


class LoggingDelivery:
    """The default: write to the log that a user was told, and where the notice links (an SMS or WeChat gateway
    implements the same method). Never its title or body: they may name an elder, an applicant, a place."""

    def deliver(self, user_id: int, title: str, body: str, link: str) -> None:
        log.info("notified user %s: %s", user_id, link or "(no link)")


DELIVERY: Delivery = LoggingDelivery()


async def notify(session: AsyncSession, key: str, user_ids: list[int], title: str, body: str, link: str = "") -> int:
    """Add the notice for each user who has not had it (by key); deliver after the caller commits. Returns how many."""
    keys = {f"{key}|{uid}": uid for uid in user_ids}
    if not keys:
        return 0
    existing = set((await session.execute(select(col(Notification.key)).where(col(Notification.key).in_(list(keys))))).scalars())
    made = 0
    told: list[int] = []
    for full_key, uid in keys.items():
        if full_key in existing:
            continue
        session.add(Notification(key=full_key[:160], user_id=uid, title=title, body=body, link=link, created_at=utc_now()))
        DELIVERY.deliver(uid, title, body, link)
        told.append(uid)
        made += 1
    if told:  # and on to the channels of the users' communities that carry notices (foundation.channels)
        await route_notice(session, Sealer(get_settings().resolved_personal_data_key()), key, told, title, body, link)
    return made


async def mark_read(session: AsyncSession, user_id: int | None, notification_id: int) -> Notification:
    """The user has read one of their notifications (someone else's is not found); harmless to repeat."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound("notification", notification_id)
    if notification.read_at is None:
        notification.read_at = utc_now()
        await session.flush()
    return notification


async def settle(session: AsyncSession, key: str, user_ids: list[int] | None = None) -> int:
    """What notice `key` waited on is done (the proposal answered, the bids scored, the objection answered): its
    unread notices (to `user_ids`, or to everyone told) are marked read, so they leave the users' lists of what waits
    on them. Returns how many were settled; harmless to repeat."""
    query = select(Notification).where(col(Notification.key).startswith(f"{key}|", autoescape=True), col(Notification.read_at).is_(None))
    if user_ids is not None:
        query = query.where(col(Notification.user_id).in_(user_ids))
    settled = 0
    for notification in (await session.execute(query)).scalars():
        notification.read_at = utc_now()
        settled += 1
    if settled:
        await session.flush()
    return settled
