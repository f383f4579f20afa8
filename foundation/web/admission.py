"""How many requests a web worker works on at once, and which waiting one goes next: the cheapest first.

One Python process has one core. With every arriving request started at once, a burst of a few hundred shares that
core among all of them: each request's turn on the event loop comes round only after every other request's, so a
patrol that needs a few milliseconds of work finished only with the burst's slowest page, seconds later (and on
SQLite it did so holding the write turn other writers waited for). Here a worker works on at most `limit` requests at
once (the `web_requests_at_once` setting); the others wait, and the next one admitted is the one whose route usually
takes least time (measured here, per route, as it runs), so a phone's patrol is not queued behind a month's table
page or a photo being judged. No request waits for cheaper ones for more than `longest_wait` seconds: past that, the
longest-waiting goes first. Health checks and static files are never held back.

Per process, in memory: each worker orders its own arrivals; the operating system shares connections among them."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from foundation.db import TURN_WAITS

# A route's `opt` for requests that never wait (health checks, static files, metrics scrapes).
NEVER_HELD_BACK = {"never_held_back": True}
# A route's `opt` for requests known to take long (a photo judged and fingerprinted, a month's table computed):
# until the route has been measured, it counts as taking this long, not as the cheapest. A burst's first arrivals
# come before any route is measured; without it, the first photos and tables took every place and the first
# patrols waited behind them.
USUALLY_SLOW = {"usual_seconds": 0.5}

# The weight of the newest run of a route in its usual time (an exponential moving average).
_NEWEST = 0.2


@dataclass(eq=False)
class _Waiter:
    route: Any
    arrived: float
    turn: asyncio.Future[None]


class Admission:
    """This worker's running requests and its waiting ones (see the module's docstring)."""

    def __init__(self, limit: int, longest_wait: float = 10.0) -> None:
        self.limit = limit
        self.longest_wait = longest_wait
        self.running = 0
        # Per route, its usual seconds of work (waits for the write turn not counted); a route not yet measured counts
        # as the cheapest, or as its guess (USUALLY_SLOW), until its runs after the first are measured.
        self.usual_seconds: dict[Any, float] = {}
        self._guessed: dict[Any, float] = {}  # a route's usual seconds until it has been measured (USUALLY_SLOW)
        self._seen: set[Any] = set()
        self._waiting: list[_Waiter] = []  # in order of arrival

    async def enter(self, route: Any, guess: float = 0.0) -> None:
        """Wait for a place. `guess`: the route's usual seconds until it has been measured."""
        if guess and route not in self._guessed:
            self._guessed[route] = guess
        if self.running < self.limit and not self._waiting:
            self.running += 1
            return
        waiter = _Waiter(route, time.monotonic(), asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        try:
            await waiter.turn
        except asyncio.CancelledError:
            if waiter.turn.done() and not waiter.turn.cancelled():
                self.leave()  # admitted just as the caller went away: pass the place on
            else:
                self._waiting.remove(waiter)
            raise

    def leave(self) -> None:
        """A running request has ended: admit the next waiting one, if any, in its place."""
        if not self._waiting:
            self.running -= 1
            return
        # Chosen as a place frees, by what is known of each route now (a burst's first arrivals came before any of
        # their routes had been measured).
        if time.monotonic() - self._waiting[0].arrived > self.longest_wait:
            following = self._waiting[0]
        else:
            usual, guessed = self.usual_seconds, self._guessed
            following = min(self._waiting, key=lambda w: usual.get(w.route, guessed.get(w.route, 0.0)))  # the first of equals: the earliest
        self._waiting.remove(following)
        following.turn.set_result(None)

    def ran(self, route: Any, seconds: float) -> None:
        if route not in self._seen:  # a route's first run fills caches (compiled statements, templates): not usual
            self._seen.add(route)
            return
        usual = self.usual_seconds.get(route)
        self.usual_seconds[route] = seconds if usual is None else usual + _NEWEST * (seconds - usual)


class AdmissionMiddleware:
    """The ASGI side of `Admission`: wraps each route's handler (Litestar builds the middleware after routing, so the
    route is known); the place is held until the answer has been sent."""

    def __init__(self, app: ASGIApp, admission: Admission) -> None:
        self.app = app
        self.admission = admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if scope["type"] != ScopeType.HTTP or self.admission.limit <= 0 or handler is None or handler.opt.get("never_held_back"):
            await self.app(scope, receive, send)
            return
        route = (scope["method"], handler)
        await self.admission.enter(route, handler.opt.get("usual_seconds", 0.0))
        started, waits = time.monotonic(), list[float]()
        counting = TURN_WAITS.set(waits)
        try:
            await self.app(scope, receive, send)
        finally:
            TURN_WAITS.reset(counting)
            self.admission.ran(route, time.monotonic() - started - sum(waits))
            self.admission.leave()
