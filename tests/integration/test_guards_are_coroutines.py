"""Every route guard is a coroutine function: Litestar runs a plain-function guard in a worker thread, a hand-over
to a thread and back on every request for what is a look at the request's principal."""

from __future__ import annotations

import inspect

from litestar import Litestar


def test_every_guard_of_every_route_runs_on_the_event_loop(app: Litestar) -> None:
    plain = sorted(
        {
            f"{route.path} {getattr(guard, '__qualname__', guard)}"
            for route in app.routes
            for handler in getattr(route, "route_handlers", [])
            for layer in handler.ownership_layers
            for guard in layer.guards or []
            if not inspect.iscoroutinefunction(guard)
        }
    )
    checked = sum(len(layer.guards or []) for route in app.routes for handler in getattr(route, "route_handlers", []) for layer in handler.ownership_layers)
    assert checked > 100  # the API's routes are guarded
    assert plain == []
