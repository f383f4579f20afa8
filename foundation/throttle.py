"""Limits on what anyone may do without logging in (a finder's alert, a resident's report): so many hits per key
(the calling address, a device, a wristband's token) within a sliding window, counted in the database so that every
web worker sees the same counts.

A refused hit is not counted, so a flood never lengthens its own wait, and a key that has not been seen within the
window is always admitted: a genuine first report from a new address or device is never blocked by someone else's
flood. Keys are stored only as keyed digests (an address is personal data), never in clear."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Index, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from foundation.clock import utc_now
from foundation.db import UTCDateTime, surrogate_key
from foundation.errors import TooManyAttempts
from foundation.process_locks import transaction_lock

Transactions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class ThrottleHit(SQLModel, table=True):
    """One admitted hit of a key under a limit, kept for the limit's window only (older ones are removed as new hits
    of the same scope come)."""

    __tablename__ = "throttle_hits"
    __table_args__ = (Index("ix_throttle_hits_scope_key_at", "scope", "key_digest", "at"),)

    id: int = surrogate_key()
    scope: str = Field(max_length=40)
    key_digest: str = Field(max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


@dataclass(frozen=True)
class Limit:
    """At most `hits` admitted hits of one key under `scope` within any `window`."""

    scope: str
    hits: int
    window: timedelta

    def __post_init__(self) -> None:
        if not self.scope or len(self.scope) > 40:
            raise ValueError(f"a limit's scope is 1 to 40 characters: {self.scope!r}")
        if self.hits < 1 or self.window <= timedelta(0):
            raise ValueError(f"a limit allows at least one hit within a positive window: {self!r}")


def key_digest(secret: str, scope: str, key: str) -> str:
    """The stored form of a key: keyed, so that the digests of all IPv4 addresses cannot be tabulated."""
    return hmac.new(secret.encode(), f"{scope}\x00{key}".encode(), hashlib.sha256).hexdigest()


async def _counted(session: AsyncSession, scope: str, digest: str, since: datetime) -> list[datetime]:
    rows = await session.execute(
        select(col(ThrottleHit.at))
        .where(col(ThrottleHit.scope) == scope, col(ThrottleHit.key_digest) == digest, col(ThrottleHit.at) > since)
        .order_by(col(ThrottleHit.at))
    )
    return list(rows.scalars())


async def admit(
    transactions: Transactions, secret: str, checks: Sequence[tuple[Limit, str]], *, zh: str, now: datetime | None = None
) -> None:
    """Count one hit of each `(limit, key)`, or refuse them all with TooManyAttempts (`zh` is what a person reads)
    when any limit is reached, counting none.

    Runs in a transaction of its own, ended before the caller goes on, so that the count stands whatever becomes of
    the caller's own work; hits of one key are counted one at a time, so of hits made at the same moment exactly as
    many pass as the limit allows."""
    at = now or utc_now()
    digests = [(limit, key_digest(secret, limit.scope, key)) for limit, key in checks]
    wait = 0
    async with transactions() as session:
        for limit, digest in sorted(digests, key=lambda pair: (pair[0].scope, pair[1])):
            await transaction_lock(session, f"throttle|{limit.scope}|{digest}")
        for limit, digest in digests:
            since = at - limit.window
            await session.execute(delete(ThrottleHit).where(col(ThrottleHit.scope) == limit.scope, col(ThrottleHit.at) <= since))
            counted = await _counted(session, limit.scope, digest, since)
            if len(counted) >= limit.hits:
                freed_at = counted[len(counted) - limit.hits] + limit.window
                wait = max(wait, max(1, math.ceil((freed_at - at).total_seconds())))
        if not wait:
            session.add_all(ThrottleHit(scope=limit.scope, key_digest=digest, at=at) for limit, digest in digests)
    if wait:
        raise TooManyAttempts(f"too many requests; try again in {wait} seconds", zh=zh, retry_after_seconds=wait)


async def hits_within(session: AsyncSession, secret: str, limit: Limit, key: str, *, now: datetime | None = None) -> int:
    """How many hits of `key` the limit counts now (for pages and tests)."""
    since = (now or utc_now()) - limit.window
    result = await session.execute(
        select(func.count())
        .select_from(ThrottleHit)
        .where(
            col(ThrottleHit.scope) == limit.scope,
            col(ThrottleHit.key_digest) == key_digest(secret, limit.scope, key),
            col(ThrottleHit.at) > since,
        )
    )
    return int(result.scalar_one())
