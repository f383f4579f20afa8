"""The checklist as filed records keep it: stored once per version (by content hash), read back as filed."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.clock import utc_now
from foundation.db import InsertUnlessTaken
from inspections import schemas
from inspections.rules import Checklist, checklist_from_content
from inspections.tables import ChecklistVersion

_NEW_VERSION = InsertUnlessTaken(ChecklistVersion, col(ChecklistVersion.id))
_VERSION_BY_HASH = select(col(ChecklistVersion.id)).where(col(ChecklistVersion.sha256) == bindparam("sha256"))


async def checklist_version_id(session: AsyncSession, checklist: Checklist) -> int:
    """The stored version of `checklist`, stored now if this is its first use."""
    found = (await session.execute(_VERSION_BY_HASH, {"sha256": checklist.sha256})).scalar()
    if found is not None:
        return found
    # Two first filings at once on PostgreSQL: the second stores nothing and reads the first's version.
    values = {"version": checklist.version, "sha256": checklist.sha256, "content": checklist.content(), "first_used_at": utc_now()}
    stored = (await session.execute(_NEW_VERSION.for_session(session), values)).scalar()
    return stored if stored is not None else (await session.execute(_VERSION_BY_HASH, {"sha256": checklist.sha256})).scalar_one()


# Parsed checklists by content hash: a stored version never changes, so it is parsed once per process.
_PARSED: dict[str, Checklist] = {}


async def stored_checklists(session: AsyncSession, version_ids: set[int]) -> dict[int, Checklist]:
    """The checklists records were filed against, by version id."""
    rows = (await session.execute(select(col(ChecklistVersion.id), col(ChecklistVersion.sha256)).where(col(ChecklistVersion.id).in_(version_ids)))).all()
    missing = [version_id for version_id, sha in rows if sha not in _PARSED]
    if missing:
        for row in (await session.execute(select(ChecklistVersion).where(col(ChecklistVersion.id).in_(missing)))).scalars():
            _PARSED[row.sha256] = checklist_from_content(row.content)
    return {version_id: _PARSED[sha] for version_id, sha in rows}


def checklist_out(checklist: Checklist) -> schemas.ChecklistOut:
    return schemas.ChecklistOut(
        version=checklist.version,
        sha256=checklist.sha256,
        categories=[schemas.ChecklistCategoryOut(code=c.code, name=c.name, points=c.points) for c in checklist.categories],
        items=[
            schemas.ChecklistItemOut(
                code=i.code,
                category=i.category,
                text=i.text,
                deduction=points_text(i.deduction_centi),
                severity=i.severity,
                veto=i.veto,
            )
            for i in checklist.items.values()
        ],
    )


def points_text(centi: int) -> str:
    whole, rest = divmod(centi, 100)
    return f"{whole}" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")
