"""The working-day calendar in force: the years the district recorded (calendar_years), the dated files of
config/calendar/, then the chinesecalendar package. Loading is here; the counting is pure (rules.py)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.calendar import schemas
from foundation.calendar.rules import CalendarSource, CalendarYear, CalendarYearError, OfficialCalendar, calendar_year, parse_calendar_year
from foundation.calendar.tables import CalendarYearRecord
from foundation.clock import utc_now
from foundation.errors import RuleViolation
from foundation.settings import config_dir

# One calendar per process: the config files are read once; the district's years are read again by every use case
# that counts working days (working_calendar), so a year recorded by another process is seen at its next use.
CALENDAR = OfficialCalendar()


@lru_cache(maxsize=1)
def config_years() -> dict[int, CalendarYear]:
    """Every config/calendar/<year>.toml, checked (a wrong file stops the system at start)."""
    years: dict[int, CalendarYear] = {}
    folder = config_dir() / "calendar"
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        year = parse_calendar_year(path.read_text(encoding="utf-8"), str(path))
        if path.stem != str(year.year):
            raise CalendarYearError(f"{path}: the file of year {year.year} must be named {year.year}.toml")
        years[year.year] = year
    return years


def _stored(row: CalendarYearRecord) -> CalendarYear:
    return CalendarYear(
        year=row.year,
        holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
        workdays=frozenset(date.fromisoformat(d) for d in row.workdays),
        source=row.source,
    )


async def _district_rows(session: AsyncSession) -> list[CalendarYearRecord]:
    newest = select(func.max(col(CalendarYearRecord.id))).group_by(col(CalendarYearRecord.year))
    return list((await session.execute(select(CalendarYearRecord).where(col(CalendarYearRecord.id).in_(newest)).order_by(col(CalendarYearRecord.year)))).scalars())


async def working_calendar(session: AsyncSession) -> OfficialCalendar:
    """The calendar in force now, with the district's newest record of each year."""
    CALENDAR.config = config_years()
    CALENDAR.district = {row.year: _stored(row) for row in await _district_rows(session)}
    return CALENDAR


def _library_knows(year: int) -> bool:
    import chinese_calendar

    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def _year_out(year: CalendarYear, source: CalendarSource, recorded_at: datetime | None = None, recorded_by: str | None = None) -> schemas.CalendarYearOut:
    return schemas.CalendarYearOut(
        year=year.year,
        source=source,
        published_by=year.source,
        holidays=sorted(year.holidays),
        workdays=sorted(year.workdays),
        recorded_at=recorded_at,
        recorded_by=recorded_by,
    )


async def list_calendar_years(session: AsyncSession) -> schemas.CalendarOut:
    """Every year someone told us of, from the source in force for it; which years the library knows."""
    rows = {row.year: row for row in await _district_rows(session)}
    out = [_year_out(_stored(row), CalendarSource.DISTRICT, row.recorded_at, row.recorded_by) for row in rows.values()]
    out += [_year_out(year, CalendarSource.CONFIG) for year in config_years().values() if year.year not in rows]
    this_year = utc_now().year
    library = [y for y in range(this_year - 1, this_year + 3) if _library_knows(y)]
    return schemas.CalendarOut(years=sorted(out, key=lambda y: y.year), library_years=library)


async def record_calendar_year(session: AsyncSession, actor: Principal, data: schemas.CalendarYearIn, now: datetime | None = None) -> schemas.CalendarYearOut:
    """The district records a year as the State Council published it; used before the config file and the library
    from now on. Recording a year again keeps the earlier record and uses the new one."""
    require_role(actor, {Role.ADMIN}, "recording the official holiday calendar")
    now = now or utc_now()
    try:
        year = calendar_year(data.year, data.holidays, data.workdays, data.source)
    except CalendarYearError as error:
        raise RuleViolation(str(error), zh=f"节假日安排有误：{error}") from None
    weekend_workdays = [d for d in sorted(year.workdays) if d.weekday() < 5]
    if weekend_workdays:
        raise RuleViolation(f"{weekend_workdays[0]} is a weekday: list as make-up working days only Saturdays and Sundays", zh=f"{weekend_workdays[0]} 本来就是工作日，调休上班日只填周六、周日", field="workdays")
    row = CalendarYearRecord(
        year=year.year,
        holidays=[d.isoformat() for d in sorted(year.holidays)],
        workdays=[d.isoformat() for d in sorted(year.workdays)],
        source=year.source,
        recorded_at=now,
        recorded_by_user_id=actor.user_id,
        recorded_by=actor.label,
    )
    session.add(row)
    await session.flush()
    record_change(session, actor, "calendar_year.recorded", "calendar_year", row.id, after={"year": year.year, "holidays": row.holidays, "workdays": row.workdays, "source": year.source})
    await session.flush()
    return _year_out(year, CalendarSource.DISTRICT, row.recorded_at, row.recorded_by)
