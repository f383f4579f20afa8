"""Files and documents through two doors under the same checks: /api/... for software (a bearer token or an API
key) and /documents/... for pages (the session cookie, which /api never accepts). The same controller is mounted
at both, so a page reaches a file by the API's own handler, guard and scope checks; the page door stays out of the
OpenAPI document."""

from __future__ import annotations

from litestar import Controller, Router


def two_doors(*controllers: type[Controller]) -> list[Router]:
    return [
        Router(path="/api", route_handlers=list(controllers)),
        Router(path="/documents", route_handlers=list(controllers), include_in_schema=False),
    ]
