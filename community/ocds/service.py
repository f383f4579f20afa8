"""Use cases of the Open Contracting publication: store a validated release at each published moment (inside the
announcing use case's transaction), and read the packages, the feed and the projects back. Services only flush."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community.ocds.config import publication_rules
from community.ocds.packages import compile_releases, record_package, release_package
from community.ocds.rules import build_release, ocid_of
from community.ocds.tables import PublishedRelease
from community.ocds.validation import check_package, check_record_package, check_release
from community.records import AWARD, AWARD_UPDATE, CONTRACT, IMPLEMENTATION, TENDER, TENDER_UPDATE, ProjectRecord, subscribe
from foundation.clock import utc_now
from foundation.errors import NotFound
from foundation.paging import PageRequest, fetch_page
from foundation.settings import get_settings

# Amounts in yuan are Decimals with two places; they go out as JSON numbers exactly as written (123.40).
_ENCODER = msgspec.json.Encoder(decimal_format="number")


def encode(document: Mapping[str, Any]) -> bytes:
    return _ENCODER.encode(document)


def package_uri(ocid: str | None = None) -> str:
    base = get_settings().resolved_public_base_url()
    return f"{base}/api/ocds/releases/{ocid}" if ocid else f"{base}/api/ocds/releases"


def policy_uri() -> str:
    return f"{get_settings().resolved_public_base_url()}/public/publication-policy"


async def publish_release(session: AsyncSession, record: ProjectRecord, stage: str) -> PublishedRelease:
    """The publisher subscribed to community.records: build the moment's release, validate the bytes to be served
    against the vendored schema, and store them. An invalid release raises InvalidRelease, so the announcing use case
    rolls back with it: nothing is published that does not validate."""
    rules = publication_rules()
    ocid = ocid_of(rules, record.number)
    last = (await session.execute(select(func.max(col(PublishedRelease.sequence))).where(col(PublishedRelease.ocid) == ocid))).scalar()
    sequence = int(last or 0) + 1
    now = utc_now()
    release = build_release(record, stage, rules=rules, release_id=f"{ocid}-{sequence:04d}", now=now)
    body = encode(release)
    check_release(json.loads(body))
    row = PublishedRelease(
        ocid=ocid,
        release_id=release["id"],
        sequence=sequence,
        call_id=record.call_id,
        tag=stage,
        stage_status=record.status,
        title=record.title,
        release_date=record.updated_at or now,
        published_at=now,
        body=body,
        sha256=hashlib.sha256(body).hexdigest(),
    )
    session.add(row)
    await session.flush()
    return row


async def announce_publisher(session: AsyncSession, record: ProjectRecord, stage: str) -> None:
    """publish_release in the shape community.records.subscribe takes."""
    await publish_release(session, record, stage)


def stage_of(record: ProjectRecord) -> str:
    """The latest published moment a record has reached (for publishing the state of calls made before this
    package listened)."""
    contracts = list(record.contracts)
    if any(tranche.paid_on for contract in contracts for tranche in contract.tranches):
        return IMPLEMENTATION
    if contracts:
        return CONTRACT
    if record.awards:
        return AWARD if all(award.status == "pending" for award in record.awards) else AWARD_UPDATE
    return TENDER if record.status == "open" and record.repeated_from is None else TENDER_UPDATE


async def publish_all(session: AsyncSession, records: Iterable[ProjectRecord]) -> int:
    """Publish one release of each record's present state, for the calls that have no release yet (the demo
    calls, or calls made before the publisher was subscribed); a call already published is left as it is. Returns
    how many releases were stored."""
    stored = 0
    rules = publication_rules()
    for record in records:
        ocid = ocid_of(rules, record.number)
        exists = (await session.execute(select(col(PublishedRelease.id)).where(col(PublishedRelease.ocid) == ocid).limit(1))).scalar()
        if exists is None:
            await publish_release(session, record, stage_of(record))
            stored += 1
    return stored


def _release(row: PublishedRelease) -> dict[str, Any]:
    """A stored release parsed back, amounts as the Decimals they were published as (so 225000.00 stays so)."""
    parsed: dict[str, Any] = json.loads(row.body, parse_float=Decimal)
    return parsed


def _package_bytes(rows: list[PublishedRelease], uri: str, published: datetime) -> bytes:
    """A release package around the releases' bytes exactly as stored, validated as a whole before it is served."""
    package = release_package(
        [msgspec.Raw(row.body) for row in rows],
        rules=publication_rules(),
        uri=uri,
        published_date=published,
        policy_uri=policy_uri(),
        uses_bids=any("bids" in _release(row) for row in rows),
    )
    body = encode(package)
    check_package(json.loads(body))
    return body


async def releases_of(session: AsyncSession, ocid: str) -> list[PublishedRelease]:
    rows = (
        (await session.execute(select(PublishedRelease).where(col(PublishedRelease.ocid) == ocid).order_by(col(PublishedRelease.sequence))))
        .scalars()
        .all()
    )
    if not rows:
        raise NotFound("contracting process", ocid)
    return list(rows)


async def project_package(session: AsyncSession, ocid: str) -> bytes:
    """The release package of one project: every release of its OCID, oldest first, byte for byte as published."""
    rows = await releases_of(session, ocid)
    return _package_bytes(rows, package_uri(ocid), rows[-1].published_at)


async def feed_package(session: AsyncSession, paging: PageRequest) -> tuple[bytes, int]:
    """One page of every release, newest first, as a release package; and how many releases there are in all.
    A page with no release (none published yet, or past the last page) is not found."""
    query = select(PublishedRelease).order_by(col(PublishedRelease.published_at).desc(), col(PublishedRelease.id).desc())
    rows, total = await fetch_page(session, query, paging)
    if not rows:
        # A package holds one release at least (the standard's minItems): nothing published yet, or past the end.
        raise NotFound(f"page of releases (there are {total} in all)", paging.page)
    return _package_bytes(rows, f"{package_uri()}?page={paging.page}&page_size={paging.page_size}", rows[0].published_at), total


async def project_record_package(session: AsyncSession, ocid: str) -> bytes:
    """A project's record package: its releases linked (oldest first) and compiled into one, validated."""
    rows = await releases_of(session, ocid)
    releases = [_release(row) for row in rows]
    linked = [(f"{package_uri(ocid)}#{row.release_id}", str(release["date"]), row.tag) for row, release in zip(rows, releases, strict=True)]
    package = record_package(
        ocid,
        linked,
        compile_releases(releases),
        rules=publication_rules(),
        uri=f"{get_settings().resolved_public_base_url()}/api/ocds/records/{ocid}",
        published_date=rows[-1].published_at,
        policy_uri=policy_uri(),
        uses_bids=any("bids" in release for release in releases),
    )
    body = encode(package)
    check_record_package(json.loads(body))
    return body


@dataclass(frozen=True)
class ProjectSummary:
    ocid: str
    call_id: int
    title: str
    tag: str  # the latest release's tag
    status: str  # the call's status at the latest release
    release_date: datetime


async def list_projects(session: AsyncSession, paging: PageRequest) -> tuple[list[ProjectSummary], int]:
    """The published projects, the most recently changed first, each with the moment it last reached."""
    latest = select(func.max(col(PublishedRelease.id)).label("id")).group_by(col(PublishedRelease.ocid)).subquery()
    query = (
        select(PublishedRelease)
        .join(latest, col(PublishedRelease.id) == latest.c.id)
        .order_by(col(PublishedRelease.published_at).desc(), col(PublishedRelease.id).desc())
    )
    rows, total = await fetch_page(session, query, paging)
    return [ProjectSummary(row.ocid, row.call_id, row.title, row.tag, row.stage_status, row.release_date) for row in rows], total


async def compiled_project(session: AsyncSession, ocid: str) -> tuple[dict[str, Any], list[PublishedRelease]]:
    """A project's compiled release (its releases merged) and the releases it was compiled from."""
    rows = await releases_of(session, ocid)
    return compile_releases([_release(row) for row in rows]), rows


def subscribe_publisher() -> None:
    """Listen to the pipeline's published moments (once per process; see supervision/publishers.py)."""
    subscribe(announce_publisher)
