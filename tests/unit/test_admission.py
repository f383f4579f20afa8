"""Admission (foundation.web.admission): a worker works on at most `limit` requests at once; when a place frees, the
waiting request whose route usually takes least goes first (a route's first run, which fills caches, is not its
usual time), a request that has waited past `longest_wait` goes before any cheaper one, and one that went away while
waiting is skipped. Served for real: a burst through the app keeps to the limit, and health checks never wait."""

from __future__ import annotations

import asyncio

import httpx
from litestar import Litestar, get
from litestar.middleware.base import DefineMiddleware

from foundation.web.admission import NEVER_HELD_BACK, USUALLY_SLOW, Admission, AdmissionMiddleware

PATROL, PAGE, PHOTO = ("POST", "patrol"), ("GET", "page"), ("POST", "photo")


async def _admitted_in_order(admission: Admission, routes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Queue one request per route behind a running one, then free places one by one: the order they got in."""
    await admission.enter(PAGE)  # the one running; every place is taken
    order: list[tuple[str, str]] = []

    async def request(route: tuple[str, str]) -> None:
        await admission.enter(route)
        order.append(route)

    tasks = [asyncio.create_task(request(route)) for route in routes]
    await asyncio.sleep(0.01)
    assert order == []  # all wait
    for _ in routes:
        admission.leave()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    return order


async def test_the_cheapest_waiting_route_goes_first_and_first_runs_do_not_count() -> None:
    admission = Admission(limit=1)
    for route, seconds in ((PATROL, 0.9), (PATROL, 0.01), (PAGE, 0.2), (PAGE, 0.2), (PHOTO, 0.5), (PHOTO, 0.5)):
        admission.ran(route, seconds)  # the patrol's slow first run (caches filled) is not its usual time
    assert await _admitted_in_order(admission, [PHOTO, PAGE, PATROL, PHOTO, PATROL]) == [PATROL, PATROL, PAGE, PHOTO, PHOTO]
    assert admission.running == 1


async def test_a_route_not_yet_measured_is_not_held_back_and_equals_go_in_order_of_arrival() -> None:
    admission = Admission(limit=1)
    admission.ran(PAGE, 0.2)
    admission.ran(PAGE, 0.2)
    first, second = ("GET", "first"), ("GET", "second")
    assert await _admitted_in_order(admission, [PAGE, first, second]) == [first, second, PAGE]


async def test_a_route_known_to_be_slow_waits_behind_unmeasured_ones_until_it_is_measured() -> None:
    """A burst's first arrivals come before any route is measured: a photo (USUALLY_SLOW) does not go before a
    patrol then; once measured, what it measured is its usual time."""
    admission = Admission(limit=1)
    await admission.enter(PAGE)
    order: list[tuple[str, str]] = []

    async def request(route: tuple[str, str], guess: float = 0.0) -> None:
        await admission.enter(route, guess)
        order.append(route)

    tasks = [asyncio.create_task(request(PHOTO, USUALLY_SLOW["usual_seconds"])), asyncio.create_task(request(PATROL))]
    await asyncio.sleep(0.01)
    for _ in tasks:
        admission.leave()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == [PATROL, PHOTO]
    admission.leave()  # the photo ends: no place is taken
    for route, seconds in ((PHOTO, 0.5), (PHOTO, 0.001), (PATROL, 0.5), (PATROL, 0.3)):
        admission.ran(route, seconds)  # measured: the photo now usually takes a millisecond, the patrol 0.3 s
    assert await _admitted_in_order(admission, [PATROL, PHOTO]) == [PHOTO, PATROL]


async def test_a_request_waiting_longer_than_the_longest_wait_goes_before_cheaper_ones() -> None:
    admission = Admission(limit=1, longest_wait=0.05)
    for route, seconds in ((PATROL, 0.01), (PATROL, 0.01), (PHOTO, 0.5), (PHOTO, 0.5)):
        admission.ran(route, seconds)
    await admission.enter(PAGE)
    order: list[tuple[str, str]] = []

    async def request(route: tuple[str, str]) -> None:
        await admission.enter(route)
        order.append(route)

    photo = asyncio.create_task(request(PHOTO))
    await asyncio.sleep(0.1)  # the photo has waited past the longest wait
    patrol = asyncio.create_task(request(PATROL))
    await asyncio.sleep(0)
    admission.leave()
    await asyncio.sleep(0)
    admission.leave()
    await asyncio.gather(photo, patrol)
    assert order == [PHOTO, PATROL]


async def test_a_request_gone_while_waiting_is_skipped_and_places_are_never_lost() -> None:
    admission = Admission(limit=2)
    await admission.enter(PAGE)
    await admission.enter(PAGE)
    gone = asyncio.create_task(admission.enter(PATROL))
    staying = asyncio.create_task(admission.enter(PHOTO))
    await asyncio.sleep(0.01)
    gone.cancel()
    await asyncio.sleep(0)
    admission.leave()  # the place goes to the one still waiting
    await asyncio.wait_for(staying, 1)
    assert admission.running == 2
    admission.leave()
    admission.leave()
    assert admission.running == 0
    # With places free and nobody waiting, a request is admitted at once.
    await asyncio.wait_for(admission.enter(PATROL), 0.1)
    assert admission.running == 1


async def test_served_requests_keep_to_the_limit_and_a_route_never_held_back_answers_during_a_burst() -> None:
    at_once = most = 0

    @get("/work")
    async def work() -> str:
        nonlocal at_once, most
        at_once += 1
        most = max(most, at_once)
        await asyncio.sleep(0.05)
        at_once -= 1
        return "done"

    @get("/health", opt=NEVER_HELD_BACK)
    async def health() -> str:
        return "ok"

    app = Litestar([work, health], middleware=[DefineMiddleware(AdmissionMiddleware, admission=Admission(limit=2))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        burst = [asyncio.create_task(client.get("/work")) for _ in range(10)]
        await asyncio.sleep(0.02)
        started = asyncio.get_running_loop().time()
        assert (await client.get("/health")).text == "ok"
        assert asyncio.get_running_loop().time() - started < 0.1  # not behind the burst's 0.25 s of queued work
        answers = await asyncio.gather(*burst)
    assert [a.status_code for a in answers] == [200] * 10
    assert most == 2
