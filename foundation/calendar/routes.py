"""The calendar API: the years in force and the district recording a year."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.calendar import schemas, service
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.problems import problem_responses

READ = problem_responses(400, 403, 404)
FILE = problem_responses(400, 403, 404, 409, 422)


class CalendarController(Controller):
    """China's official working-day calendar as the deadlines use it: the years the district recorded, then the
    dated files of config/calendar/, then the chinesecalendar package; a year nobody knows is Monday to Friday."""

    path = "/api/calendar/years"
    tags = ["system"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def list_years(self, db: NamedDependency[AsyncSession]) -> schemas.CalendarOut:
        """The years recorded by the district or shipped in config/calendar/, and the years the library knows."""
        return await service.list_calendar_years(db)

    @post("/", dto=StrictBody[schemas.CalendarYearIn], return_dto=None, guards=[allow({Role.ADMIN}, "recording the official holiday calendar")], responses=FILE)
    async def record_year(self, data: JSONBody[schemas.CalendarYearIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CalendarYearOut:
        """Record a year's holidays and make-up working days as the State Council published them, with the notice
        they come from; deadlines counted from now on use it before config/calendar/ and the library."""
        return await service.record_calendar_year(db, principal, data)


ROUTES = [CalendarController]
