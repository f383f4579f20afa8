"""Use cases of filing evidence: patrols, street inspections and spot checks (exactly once per client id), and
amendments. One transaction each."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import JSON, Select, Text, bindparam, cast, func, insert, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.clock import utc_now
from foundation.db import Direct, InsertUnlessTaken, every_column_bound
from foundation.duties import Duty, refusal
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.periods import Month, business_date
from foundation.storage import BlobStore
from foundation.text import visible
from inspections import defects as defect_service
from inspections import returns, schemas, spot_checks
from inspections.attachments import ATTEMPTS, own_photos
from inspections.checklists import checklist_version_id, stored_checklists
from inspections.config import current_checklist, inspection_rules
from inspections.flags import check_added_photos, check_record, place_findings
from inspections.records import effective_results, filed_detail, get_record
from inspections.rules import Checklist, Source, is_late, request_fingerprint
from inspections.tables import Amendment, ChecklistVersion, InspectionRecord, InspectionResult, RecordFlag, RecordPhoto, SpotCheckAssignment
from people.waiting import Turn, waits, whose_turn
from registry import queries as registry_queries
from registry.queries import EstateInfo

FILERS: dict[Source, frozenset[Role]] = {
    Source.PATROL: frozenset({Role.COMMUNITY_WORKER}),
    Source.STREET_INSPECTION: frozenset({Role.STREET_WORKER, Role.STREET_OFFICER}),
    Source.SPOT_CHECK: frozenset({Role.INSPECTOR}),
}
ACTION: dict[Source, str] = {
    Source.PATROL: "filing a daily patrol",
    Source.STREET_INSPECTION: "filing a street inspection",
    Source.SPOT_CHECK: "filing a spot check",
}
# Who scores the evidence (computes and locks the month's scores) does not amend it: the filer corrects it
# (config/RULES.md, "Separation of duties").
SCORERS = frozenset({Role.ADMIN, Role.STREET_OFFICER})



# Filing


class _NewResult(NamedTuple):
    """A result as it is being stored (its row goes in by a plain INSERT: no mapped object is needed)."""

    item_code: str
    passed: bool
    defects: int
    note: str


@dataclass(frozen=True)
class Filed:
    record: InspectionRecord
    replayed: bool  # True: this was a retry of a record already filed
    detail: schemas.RecordOut | None = None  # a new record's answer, built from what was just stored


def _fingerprint(source: Source, data: schemas.RecordIn) -> str:
    body = msgspec.to_builtins(data)
    if body.get("location_missing") is None:
        # A body without it fingerprints as before the field existed: a phone's retry of an older record still matches.
        body.pop("location_missing", None)
    return request_fingerprint({"source": source.value, "body": body})


def _filer_matches(record: InspectionRecord, actor: Principal) -> bool:
    if actor.role is Role.INSPECTOR:
        return record.organisation_id == actor.organisation_id
    return actor.user_id is not None and record.filed_by_user_id == actor.user_id


# The statements every filing runs, built once.
_BY_CLIENT_ID = select(InspectionRecord).where(col(InspectionRecord.client_id) == bindparam("client_id"))
_BY_ID = select(InspectionRecord).where(col(InspectionRecord.id) == bindparam("record_id"))
# SQLite's (PostgreSQL files a record with its results and flags in one statement, below).
_NEW_RECORD = Direct(InsertUnlessTaken(InspectionRecord, col(InspectionRecord.id)).for_dialect("sqlite"))
_NEW_RESULTS = Direct(insert(InspectionResult))
_RESULT_COLUMNS = ("item_code", "passed", "defects", "note")
_FLAG_COPIES = ("source", "estate_id", "community_id", "street_id", "month")  # a flag's columns copied from its record


def _record_results_and_flags() -> Select[tuple[int]]:
    """PostgreSQL: the record (nothing stored if a key of it is taken), its results (given as four arrays) and the
    flags of where it was filed (kinds and evidence as two arrays) in one statement, two round trips less for every
    filing; answers the record's id, or no row."""
    tables = SQLModel.metadata.tables
    records, results, flags = tables[InspectionRecord.__tablename__], tables[InspectionResult.__tablename__], tables[RecordFlag.__tablename__]
    filed = (
        postgresql_insert(records)
        .values(every_column_bound(records))
        .on_conflict_do_nothing()
        .returning(records.c.id, *(records.c[name] for name in _FLAG_COPIES))
        .cte("filed")
    )
    items = (
        func.unnest(*(bindparam(f"result_{name}", type_=ARRAY(results.c[name].type)) for name in _RESULT_COLUMNS))
        .table_valued(*_RESULT_COLUMNS)
        .render_derived(name="items")
    )
    stored = insert(results).from_select(["record_id", *_RESULT_COLUMNS], select(filed.c.id, *(items.c[name] for name in _RESULT_COLUMNS)).select_from(filed).join(items, true()))
    found = (
        func.unnest(bindparam("flag_kind", type_=ARRAY(Text)), bindparam("flag_evidence", type_=ARRAY(Text)))
        .table_valued("kind", "evidence")
        .render_derived(name="found")
    )
    flagged = insert(flags).from_select(
        ["record_id", "kind", *_FLAG_COPIES, "evidence", "raised_at"],
        select(filed.c.id, found.c.kind, *(filed.c[name] for name in _FLAG_COPIES), cast(found.c.evidence, JSON), bindparam("filed_at", type_=flags.c.raised_at.type))
        .select_from(filed)
        .join(found, true()),
    )
    return select(filed.c.id).add_cte(stored.cte("stored_results")).add_cte(flagged.cte("stored_flags"))


_NEW_RECORD_RESULTS_AND_FLAGS = Direct(_record_results_and_flags())
# The estate, its contractor on the day, and beside them: the record already filed under this client id (a retry),
# the day's count of records of this source on the estate, and the stored checklist version's id.
_ESTATE_TO_FILE_ON = registry_queries.estate_on_day_held(
    select(col(InspectionRecord.id)).where(col(InspectionRecord.client_id) == bindparam("client_id")).scalar_subquery(),
    select(func.count())
    .where(col(InspectionRecord.source) == bindparam("source"), col(InspectionRecord.estate_id) == registry_queries.ESTATE_ID, col(InspectionRecord.business_date) == bindparam("day"))
    .scalar_subquery(),
    select(col(ChecklistVersion.id)).where(col(ChecklistVersion.sha256) == bindparam("sha256")).scalar_subquery(),
    registry_queries.ESTATE_BOUNDARY,
)


async def _replay(session: AsyncSession, actor: Principal, client_id: str, fingerprint: str) -> InspectionRecord | None:
    """The record filed earlier under this client id, if this is a retry of it; None when the client id is new."""
    record = (await session.execute(_BY_CLIENT_ID, {"client_id": client_id})).scalar()
    return None if record is None else _retried(record, actor, client_id, fingerprint)


def _retried(record: InspectionRecord, actor: Principal, client_id: str, fingerprint: str) -> InspectionRecord:
    """The record filed under a client id, answered to a retry; the same client id with another body, or by someone
    else, is a conflict."""
    if record.fingerprint != fingerprint or not _filer_matches(record, actor):
        raise Conflict(
            f"client id {client_id} was already used for record {record.id} with a different body; a retry must send "
            "the same body, and a new record needs a new client id"
            if _filer_matches(record, actor)
            else f"client id {client_id} is already used by another record; generate a new one", zh="该提交编号已被另一条记录使用，请刷新页面后重新填写"
        )
    return record


def _check_results(checklist: Checklist, results: list[schemas.ItemResultIn]) -> None:
    seen: set[str] = set()
    for r in results:
        if r.item not in checklist.items:
            raise RuleViolation(f"item {r.item} is not in checklist {checklist.version}; GET /api/checklist lists the items", zh=f"检查项 {r.item} 不在现行检查表中，请刷新页面", field=f"item-{r.item}")
        if r.item in seen:
            raise RuleViolation(f"item {r.item} appears twice; give one result per item", zh=f"检查项 {r.item} 重复填写", field=f"item-{r.item}")
        seen.add(r.item)
        if r.passed and r.defects:
            raise RuleViolation(f"item {r.item} passed, so it cannot have defects", zh=f"检查项 {r.item} 已判合格，不能有问题数", field=f"item-{r.item}")
        if not r.passed and not visible(r.note):
            raise RuleViolation(f"item {r.item} failed: write what is wrong in its note", zh="不合格项请写明问题", field=f"item-{r.item}")
        if not r.passed and not r.photo_ids:
            raise RuleViolation(f"item {r.item} failed: attach at least one photo of it (POST /api/attachments)", zh="不合格项请至少拍一张照片", field=f"item-{r.item}")
    shown = [p for r in results for p in dict.fromkeys(r.photo_ids)]
    if len(shown) != len(set(shown)):
        raise RuleViolation("a photo can show one item only; upload another photo for the other item", zh="一张照片只能用于一个检查项")


async def _check_photos(session: AsyncSession, actor: Principal, photo_ids: set[int]) -> None:
    await own_photos(session, actor, photo_ids, zh="照片未上传成功，请重新选择照片", field=None)


class _EstateToFileOn(NamedTuple):
    estate: EstateInfo
    company_id: int | None  # under contract for it that day
    filed_that_day: int  # records of this source filed on it that day
    version_id: int | None  # the stored checklist version's (None: its first use)
    boundary: dict[str, Any] | None  # GeoJSON


async def _estate_for(
    session: AsyncSession, actor: Principal, source: Source, data: schemas.RecordIn, fingerprint: str, day: date, checklist: Checklist
) -> _EstateToFileOn | InspectionRecord:
    """The estate filed on and what filing needs of it, or the record filed earlier if this is a retry of it: one
    round trip. The estate's row is held, so filings for one estate queue up and the day's numbering has no race (on
    PostgreSQL a filing that waited for the row may still count before the other's commit shows: the daily number's
    unique key refuses it, and the filing looks again)."""
    found = await registry_queries.estate_on_day(
        session, _ESTATE_TO_FILE_ON, data.estate_id, day, client_id=data.client_id, source=source.value, sha256=checklist.sha256
    )
    if found is None:
        earlier = await _replay(session, actor, data.client_id, fingerprint)  # the client id's record names another estate
        if earlier is not None:
            return earlier
        raise NotFound("estate", data.estate_id)
    earlier_id, filed_that_day, version_id, boundary = found.also
    if earlier_id is not None:
        return _retried((await session.execute(_BY_ID, {"record_id": earlier_id})).scalar_one(), actor, data.client_id, fingerprint)
    estate = found.estate
    if source is Source.PATROL and estate.community_id != actor.community_id:
        community = await registry_queries.community(session, estate.community_id)
        raise PermissionDenied(f"estate {estate.code} belongs to {community.name if community else estate.community_id}; you patrol only your own community's estates", zh=f"{estate.name}不属于本社区，只能巡查本社区的区片")
    if source is Source.STREET_INSPECTION and estate.street_id != actor.street_id:
        raise PermissionDenied(f"estate {estate.code} is not in your street; you inspect only your street's estates", zh=f"{estate.name}不在本街道，只能检查本街道的区片")
    return _EstateToFileOn(estate, found.company_id, filed_that_day, version_id, boundary)


async def _assignment_for(session: AsyncSession, actor: Principal, estate: EstateInfo, month: Month) -> SpotCheckAssignment:
    assignment = (
        await session.execute(
            select(SpotCheckAssignment).where(
                col(SpotCheckAssignment.month) == str(month),
                col(SpotCheckAssignment.estate_id) == estate.id,
                col(SpotCheckAssignment.organisation_id) == actor.organisation_id,
            )
        )
    ).scalar()
    if assignment is None:
        raise PermissionDenied(f"estate {estate.code} is not assigned to your firm for {month}; file spot checks only for your assignments", zh=f"{estate.name}在 {month} 未分配给本机构，只能提交分配给本机构的暗访抽查")
    taken = (await session.execute(select(col(InspectionRecord.id)).where(col(InspectionRecord.assignment_id) == assignment.id))).scalar()
    if taken is not None:
        raise Conflict(f"the spot check of estate {estate.code} for {month} was already filed as record {taken}", zh=f"{estate.name}在 {month} 的暗访抽查已提交（记录 #{taken}），不能重复提交")
    return assignment


async def file_record(
    session: AsyncSession,
    store: BlobStore,
    actor: Principal,
    source: Source,
    data: schemas.RecordIn,
    now: datetime | None = None,
) -> Filed:
    """File a patrol, street inspection or spot check once: a retry with the same client id and body returns the
    record first filed; the same client id with another body is a conflict. Failed items become defects."""
    require_role(actor, FILERS[source], ACTION[source])
    fingerprint = _fingerprint(source, data)
    for _ in range(ATTEMPTS):
        now = now or utc_now()
        filed = await _new_record(session, actor, source, data, fingerprint, now)
        if filed is not None:
            return filed
        # Another request took this client id or this daily number first (PostgreSQL, whose writers run side by
        # side; on SQLite one writer at a time): nothing was stored, look again.
    raise Conflict("too many simultaneous records for this estate; retry with the same client id", zh="该区片同时提交的记录过多，请稍后重新提交")


async def _new_record(session: AsyncSession, actor: Principal, source: Source, data: schemas.RecordIn, fingerprint: str, now: datetime) -> Filed | None:
    """The record filed (with its answer), or the one filed earlier under the client id (a retry); None when its
    client id, its daily number or its spot-check assignment was taken meanwhile, before anything was stored."""
    rules = inspection_rules()
    checklist = current_checklist()
    try:
        if data.inspected_at > now + rules.clock_tolerance:
            raise RuleViolation(f"inspected_at {data.inspected_at.isoformat()} is in the future; check the phone's clock", zh="检查时间晚于现在，请核对手机时间", field="inspected_at")
        _check_results(checklist, data.results)
    except RuleViolation:
        # A retry of a record filed when these rules held (an older checklist) answers that record.
        earlier = await _replay(session, actor, data.client_id, fingerprint)
        if earlier is not None:
            return Filed(earlier, replayed=True)
        raise
    day = business_date(data.inspected_at)
    month = Month.of(day)
    found = await _estate_for(session, actor, source, data, fingerprint, day, checklist)
    if isinstance(found, InspectionRecord):
        return Filed(found, replayed=True)
    estate, company_id, filed_that_day, version_id, boundary = found
    if not estate.managed_on(day):
        raise RuleViolation(f"estate {estate.code} was not under long-term management on {day}", zh=f"{estate.name}在{day}不在长效管理范围内")
    assignment = await _assignment_for(session, actor, estate, month) if source is Source.SPOT_CHECK else None
    await _check_photos(session, actor, {p for r in data.results for p in r.photo_ids} | set(data.photo_ids))

    ordinal = 1 + filed_that_day
    filed: dict[str, Any] = dict(
        client_id=data.client_id,
        fingerprint=fingerprint,
        source=source.value,
        estate_id=estate.id,
        community_id=estate.community_id,
        street_id=estate.street_id,
        company_id=company_id,
        organisation_id=actor.organisation_id if source is Source.SPOT_CHECK else None,
        assignment_id=assignment.id if assignment else None,
        checklist_version_id=version_id if version_id is not None else await checklist_version_id(session, checklist),
        inspected_at=data.inspected_at.astimezone(UTC),  # stored and answered in UTC, as every later read gives it
        business_date=day,
        month=str(month),
        daily_ordinal=ordinal,
        counted=source is not Source.PATROL or ordinal <= rules.patrols_counted_per_day,
        late=is_late(data.inspected_at, now, rules),
        latitude_micro=round(data.location.latitude * 1_000_000) if data.location else None,
        longitude_micro=round(data.location.longitude * 1_000_000) if data.location else None,
        note=data.note,
        filed_at=now,
        filed_by_user_id=actor.user_id,
        filed_by=actor.label,
    )
    # A plain INSERT that stores nothing if a key was taken meanwhile (no error: no savepoint is needed around the
    # attempt), and the record as a value built from what was stored (nothing here changes it, and the session's
    # bookkeeping of a mapped object was a good part of a patrol's Python).
    results = [_NewResult(r.item, r.passed, 0 if r.passed else (r.defects or 1), r.note) for r in data.results]
    place = place_findings(InspectionRecord.model_construct(**filed), data.location_missing, boundary)
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        columns = {f"result_{name}": [getattr(r, name) for r in results] for name in _RESULT_COLUMNS}
        columns |= {"flag_kind": [kind.value for kind, *_ in place], "flag_evidence": [json.dumps(evidence, ensure_ascii=False) for *_, evidence in place]}
        stored = await _NEW_RECORD_RESULTS_AND_FLAGS.run_async(session, filed | columns)
        record_id = stored[0].id if stored else None
        place = []  # stored with the record
    else:  # SQLite, in process: three plain statements cost less than building one
        stored = await _NEW_RECORD.run_async(session, filed)
        record_id = stored[0].id if stored else None
        if record_id is not None:
            # One multi-row INSERT for the results (the ORM would send one INSERT per result to learn its id, which
            # nothing here needs).
            await _NEW_RESULTS.run_async(session, [{"record_id": record_id, **r._asdict()} for r in results])
    if record_id is None:
        return None
    record = InspectionRecord.model_construct(id=record_id, **filed)
    photos = []
    for r in data.results:
        photos += [RecordPhoto(record_id=record.id, attachment_id=photo, item_code=r.item) for photo in dict.fromkeys(r.photo_ids)]
    per_item = {p for r in data.results for p in r.photo_ids}
    photos += [RecordPhoto(record_id=record.id, attachment_id=photo) for photo in dict.fromkeys(data.photo_ids) if photo not in per_item]
    # The photos' rows have their keys already and go in one batch.
    if photos:
        session.add_all(photos)
        await session.flush()
    raised = await defect_service.raise_defects(session, actor, record, checklist, results, now)
    await check_record(session, record, [*dict.fromkeys([*(p for r in data.results for p in r.photo_ids), *data.photo_ids])], place, now)
    record_change(
        session,
        actor,
        f"{source.value}.filed",
        "inspection_record",
        record.id,
        after={
            "client_id": record.client_id,
            "estate_id": record.estate_id,
            "inspected_at": record.inspected_at,
            "checklist": checklist.version,
            "failed_items": [r.item_code for r in results if not r.passed],
            "defect_ids": [d.id for d in raised],
            "counted": record.counted,
            "late": record.late,
        },
    )
    if assignment is not None:
        await spot_checks.settle_when_all_filed(session, assignment.month, assignment.organisation_id)
    if record.late:  # it counts in no score until the street's officer approves it
        await waits(
            session, "late-record", record.id, await whose_turn(session, Turn(Role.STREET_OFFICER, street_id=record.street_id)),
            f"补报记录待审批：{estate.name}", f"{record.business_date} 的记录 #{record.id} 超过时限才提交，审批通过后才计入考核。", "/assessment#late-records",
        )
    detail = filed_detail(record, results=results, photos=photos, defect_ids=[d.id for d in raised], estate_name=estate.name, checklist=checklist)
    return Filed(record, replayed=False, detail=detail)



# Amendments


async def amend_record(
    session: AsyncSession, actor: Principal, record_id: int, data: schemas.AmendmentIn, now: datetime | None = None
) -> InspectionRecord:
    """Correct a filed record: the original stays as filed, the amendment is kept beside it with its reason. A
    result turned from failed to passed withdraws its open defect; one turned to failed raises a new defect."""
    now = now or utc_now()
    record = await get_record(session, actor, record_id)
    if not _filer_matches(record, actor):
        if actor.role in SCORERS:
            raise refusal(Duty.AMEND_EVIDENCE_ONE_SCORES)
        raise PermissionDenied("only the person (or firm) who filed a record amends it", zh="只有提交该记录的人（或机构）可以更正")
    checklist = (await stored_checklists(session, {record.checklist_version_id}))[record.checklist_version_id]
    _check_results(checklist, data.results)
    await _check_photos(session, actor, {p for r in data.results for p in r.photo_ids})
    results = list((await session.execute(select(InspectionResult).where(col(InspectionResult.record_id) == record.id))).scalars())
    earlier = list((await session.execute(select(Amendment).where(col(Amendment.record_id) == record.id).order_by(col(Amendment.id)))).scalars())
    before = effective_results(results, earlier)
    changes: list[dict[str, Any]] = [
        {"item": r.item, "passed": r.passed, "defects": 0 if r.passed else (r.defects or 1), "note": r.note, "photo_ids": list(r.photo_ids)}
        for r in data.results
    ]
    if all(before.get(c["item"], {}).get("passed") == c["passed"] and before[c["item"]]["defects"] == c["defects"] and before[c["item"]]["note"] == c["note"] for c in changes):
        raise RuleViolation("the amendment changes nothing: every result is as the record already says", zh="更正内容与原记录相同，无需更正")
    amendment = Amendment(
        record_id=record.id,
        reason=data.reason,
        changes=changes,
        amended_at=now,
        amended_by_user_id=actor.user_id,
        amended_by=actor.label,
    )
    session.add(amendment)
    await session.flush()
    added: list[int] = []
    for photo in sorted({p for r in data.results for p in r.photo_ids}):
        exists = (
            await session.execute(select(RecordPhoto).where(col(RecordPhoto.record_id) == record.id, col(RecordPhoto.attachment_id) == photo))
        ).scalar()
        if exists is None:
            item = next(r.item for r in data.results if photo in r.photo_ids)
            session.add(RecordPhoto(record_id=record.id, attachment_id=photo, item_code=item, amendment_id=amendment.id))
            added.append(photo)
    if added:
        await session.flush()
        await check_added_photos(session, record, added, now)  # the photo checks run on what the amendment adds
    await defect_service.apply_amendment(session, actor, record, amendment, checklist, before, changes, now)
    record_change(
        session, actor, "inspection_record.amended", "inspection_record", record.id, before={"results": before}, after={"changes": changes}, reason=data.reason
    )
    await returns.close_return(session, actor, record, amendment, now)
    await session.flush()
    return record


async def correct_record(
    session: AsyncSession, actor: Principal, record_id: int, data: schemas.AmendmentIn, now: datetime | None = None
) -> InspectionRecord:
    """The filer's answer to a return (退回更正): an amendment of their own record that waits on a return, which closes
    the return; both versions stay (the record as filed, the amendment beside it)."""
    now = now or utc_now()
    record = await get_record(session, actor, record_id)
    if actor.user_id is None or record.filed_by_user_id != actor.user_id:
        raise PermissionDenied(
            f"record {record.id} was filed by {record.filed_by}; only its filer files a correction",
            zh=f"记录 #{record.id} 由{record.filed_by}提交，只有提交人可以更正",
        )
    if await returns.waiting_return(session, record.id) is None:
        raise Conflict(
            f"record {record.id} is not waiting on a return; a correction answers a return (to change your record otherwise, amend it with a reason)",
            zh=f"记录 #{record.id} 未被退回，无需更正",
        )
    return await amend_record(session, actor, record_id, data, now)
