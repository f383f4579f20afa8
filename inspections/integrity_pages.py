"""The street's integrity desk (证据诚信): mismatches between patrols and spot checks, credibility per social worker and
per estate, late records waiting for approval, records returned for correction; a mismatch down to its records and
photos; returning a record and filing its correction from the record's page. The same services as the API."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.errors import DomainError, InvalidInput
from foundation.paging import PageRequest
from foundation.web.auth import allow, logged_in
from foundation.web.flash import flashed
from foundation.web.layout import attempt, form_body, form_error, page
from foundation.web.problems import status_of
from inspections import flags, late, reconciliation, records, returns, schemas, service
from inspections.config import reconciliation_rules
from inspections.flag_rules import FlagKind
from inspections.queries import mismatches_of
from inspections.rules import ReturnState, WhileReturned

SOURCE_NAMES = {"patrol": "日常巡查", "street_inspection": "街道检查", "spot_check": "第三方抽查"}
WHILE_RETURNED_ZH = {WhileReturned.AS_FILED: "等待更正期间按原报计入考核", WhileReturned.NOT_COUNTED: "等待更正期间不计入考核"}
DESK_ROWS = 100


class IntegrityPages(Controller):
    path = "/integrity"
    include_in_schema = False
    guards = [allow(reconciliation.READERS, "reading the reconciliation of spot checks with patrols")]

    @get("/")
    async def desk(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        """The desk: everything that says how far the street can trust the evidence it scores."""
        summary = await reconciliation.integrity_summary(db, principal)
        mismatches, mismatch_total = await reconciliation.list_mismatches(db, principal, PageRequest(1, DESK_ROWS))
        late_records, late_total = await late.list_late_records(db, principal, PageRequest(1, DESK_ROWS), pending=True)
        returned, returned_total = await returns.list_returns(db, principal, PageRequest(1, DESK_ROWS))
        flagged, flag_total = await flags.list_flags(db, principal, PageRequest(1, DESK_ROWS))
        flag_counts = {kind: (await flags.list_flags(db, principal, PageRequest(1, 1), kind=kind))[1] for kind in FlagKind}
        return page(
            "integrity.html",
            principal,
            summary=summary,
            mismatches=mismatches,
            mismatch_total=mismatch_total,
            late_records=late_records,
            late_total=late_total,
            returned=returned,
            waiting=sum(1 for r in returned if r.state is ReturnState.WAITING),
            returned_total=returned_total,
            flagged=flagged,
            flag_total=flag_total,
            flag_counts=[(FLAG_NAMES[kind], n) for kind, n in flag_counts.items()],
            flag_names=FLAG_NAMES,
            while_returned=WHILE_RETURNED_ZH[reconciliation_rules().while_returned],
            source_names=SOURCE_NAMES,
        )

    @get("/mismatches/{mismatch_id:int}")
    async def mismatch(self, mismatch_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        """A mismatch down to the records and photos."""
        return page("mismatch.html", principal, d=await reconciliation.mismatch_detail(db, principal, mismatch_id), source_names=SOURCE_NAMES)


LOCATION_MISSING_NAMES = {"refused": "巡查人拒绝了手机定位授权", "unavailable": "手机未能定位（无信号、超时或浏览器不支持）", "not_sent": "提交时未附位置"}
DIFFERS_NAMES = {"estate": "不同区片", "day": "不同日期", "filer": "不同提交人"}
FLAG_NAMES = {
    FlagKind.LOCATION_MISSING: "未提供位置",
    FlagKind.OUTSIDE_BOUNDARY: "位置在区片边界外",
    FlagKind.EXIF_TIME_FAR: "照片拍摄时间与检查时间不符",
    FlagKind.PHOTO_REUSED: "照片已用于其他记录",
}


async def record_page(db: AsyncSession, principal: Principal, record_id: int, errors: dict[str, str] | None = None, typed: dict[str, str] | None = None) -> Template:
    """A record's page with what its viewer may do about a return: return it (street officer, director) or correct it
    (its filer, while it waits)."""
    record = await records.get_record(db, principal, record_id)
    detail = await records.record_detail(db, record)
    waiting = next((r for r in detail.returns if r.state is ReturnState.WAITING), None)
    own = principal.user_id is not None and record.filed_by_user_id == principal.user_id
    may_return = (
        principal.role in returns.RETURNERS
        and detail.source in returns.RETURNABLE[principal.role]
        and (detail.street_id == principal.street_id if principal.role is Role.STREET_OFFICER else detail.community_id == principal.community_id)
        and record.filed_by_user_id is not None
        and not own
        and waiting is None
    )
    # The mismatches this record is part of (the spot check, or a patrol it was compared with): the street's evidence.
    mismatches = (
        [m for m in await mismatches_of(db, record.estate_id, record.month) if record.id == m.spot_check_record_id or record.id in m.patrol_record_ids]
        if principal.role in reconciliation.READERS
        else []
    )
    return page(
        "record.html",
        principal,
        r=detail,
        mismatches=mismatches,
        flags=await flags.record_flags(db, principal, record_id),
        location_missing_names=LOCATION_MISSING_NAMES,
        differs_names=DIFFERS_NAMES,
        source_names=SOURCE_NAMES,
        waiting=waiting,
        may_return=may_return,
        may_correct=waiting is not None and own,
        while_returned=WHILE_RETURNED_ZH[reconciliation_rules().while_returned],
        errors=errors or {},
        typed=typed or {},
    )


class ReturnPages(Controller):
    """Returning a record for correction and filing the correction, from the record's page."""

    include_in_schema = False
    guards = [logged_in]

    @post("/records/{record_id:int}/return", guards=[allow(returns.RETURNERS, "returning a record for correction")])
    async def return_record(
        self, record_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        reason = (data.get("reason") or "").strip()
        try:
            async with attempt(db):
                if len(reason) < 2:
                    raise InvalidInput("write why the record is returned", zh="请写明退回原因", field="reason")
                await returns.return_record(db, principal, record_id, form_body(schemas.RecordReturnIn, reason=reason))
        except DomainError as exc:
            return _refused(await record_page(db, principal, record_id, form_error(exc), {"reason": reason}), exc)
        return flashed(Redirect(path=f"/records/{record_id}"), "记录已退回提交人更正。")

    @post("/records/{record_id:int}/correction")
    async def correct_record(
        self, record_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        """The correction form: each item's result as it now stands (pass or fail, defects, note), and the reason."""
        reason = (data.get("reason") or "").strip()
        try:
            async with attempt(db):
                if len(reason) < 2:
                    raise InvalidInput("write what was corrected and why", zh="请写明更正说明", field="reason")
                detail = await records.record_detail(db, await records.get_record(db, principal, record_id))
                results = []
                for item in detail.effective_results:
                    passed = data.get(f"passed-{item.item}") == "yes"
                    defects = data.get(f"defects-{item.item}") or "1"
                    if not defects.isdecimal() or not 0 < int(defects) <= 50:
                        raise InvalidInput(f"defects of {item.item} must be a whole number from 1 to 50", zh="问题数须为 1 至 50 的整数", field=f"item-{item.item}")
                    results.append(
                        {"item": item.item, "passed": passed, "defects": 0 if passed else int(defects), "note": (data.get(f"note-{item.item}") or "").strip(), "photo_ids": list(item.photo_ids)}
                    )
                await service.correct_record(db, principal, record_id, form_body(schemas.AmendmentIn, reason=reason, results=results))
        except DomainError as exc:
            return _refused(await record_page(db, principal, record_id, form_error(exc), {"correction": reason}), exc)
        return flashed(Redirect(path=f"/records/{record_id}"), "更正已保存。")


def _refused(template: Template, exc: DomainError) -> Template:
    template.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
    return template


PAGES = [IntegrityPages, ReturnPages]
