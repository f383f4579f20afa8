"""The limits on anonymous actions: counted in the database, refused hits not counted, a new key always admitted,
keys never stored in clear."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar import Litestar
from sqlalchemy import select

from foundation.clock import utc_now
from foundation.db import unit_of_work
from foundation.errors import TooManyAttempts
from foundation.throttle import Limit, ThrottleHit, admit, hits_within

SECRET = "test-secret"
PER_ADDRESS = Limit("test-alert-address", hits=3, window=timedelta(minutes=10))
PER_TOKEN = Limit("test-alert-token", hits=5, window=timedelta(minutes=10))


def transactions(app: Litestar):  # type: ignore[no-untyped-def]
    return lambda: unit_of_work(app.state.write_session_factory)


async def test_a_flood_from_one_address_is_refused_and_a_first_hit_from_another_goes_through(app: Litestar, connection, db) -> None:  # type: ignore[no-untyped-def]
    now = utc_now()
    for _ in range(3):
        await admit(transactions(app), SECRET, [(PER_ADDRESS, "198.51.100.7")], zh="提醒过于频繁", now=now)
    with pytest.raises(TooManyAttempts) as refused:
        await admit(transactions(app), SECRET, [(PER_ADDRESS, "198.51.100.7")], zh="提醒过于频繁", now=now + timedelta(minutes=1))
    assert refused.value.zh == "提醒过于频繁"
    assert 1 <= refused.value.retry_after_seconds <= 9 * 60  # the oldest hit leaves the window in 9 minutes
    # Hammering does not lengthen the wait: refused hits are not counted.
    for _ in range(5):
        with pytest.raises(TooManyAttempts):
            await admit(transactions(app), SECRET, [(PER_ADDRESS, "198.51.100.7")], zh="x", now=now + timedelta(minutes=2))
    async with db() as session:
        assert await hits_within(session, SECRET, PER_ADDRESS, "198.51.100.7", now=now + timedelta(minutes=2)) == 3
    # Someone else, calling from another address, is admitted at once.
    await admit(transactions(app), SECRET, [(PER_ADDRESS, "203.0.113.9")], zh="x", now=now + timedelta(minutes=2))
    # Once the window has slid past the first hits, the flooding address is admitted again.
    await admit(transactions(app), SECRET, [(PER_ADDRESS, "198.51.100.7")], zh="x", now=now + timedelta(minutes=10, seconds=1))


async def test_when_one_of_several_limits_is_reached_nothing_is_counted(app: Litestar, connection, db) -> None:  # type: ignore[no-untyped-def]
    now = utc_now()
    for _ in range(3):
        await admit(transactions(app), SECRET, [(PER_ADDRESS, "198.51.100.8"), (PER_TOKEN, "tok-A")], zh="x", now=now)
    with pytest.raises(TooManyAttempts):
        await admit(transactions(app), SECRET, [(PER_ADDRESS, "198.51.100.8"), (PER_TOKEN, "tok-A")], zh="x", now=now)
    async with db() as session:
        assert await hits_within(session, SECRET, PER_TOKEN, "tok-A", now=now) == 3


async def test_keys_are_stored_only_as_keyed_digests(app: Litestar, connection, db) -> None:  # type: ignore[no-untyped-def]
    await admit(transactions(app), SECRET, [(PER_ADDRESS, "192.0.2.55")], zh="x")
    async with db() as session:
        stored = list((await session.execute(select(ThrottleHit.key_digest))).scalars())
    assert stored and all("192.0.2.55" not in digest and len(digest) == 64 for digest in stored)


async def test_of_many_hits_at_one_moment_exactly_as_many_pass_as_the_limit_allows(app: Litestar, connection, db) -> None:  # type: ignore[no-untyped-def]
    now = utc_now()

    async def one() -> bool:
        try:
            await admit(transactions(app), SECRET, [(PER_TOKEN, "tok-race")], zh="x", now=now)
        except TooManyAttempts:
            return False
        return True

    outcomes = [await one() for _ in range(8)]
    assert outcomes == [True] * PER_TOKEN.hits + [False] * 3


def test_a_limit_must_allow_something() -> None:
    with pytest.raises(ValueError):
        Limit("x", hits=0, window=timedelta(minutes=1))
    with pytest.raises(ValueError):
        Limit("", hits=1, window=timedelta(minutes=1))
