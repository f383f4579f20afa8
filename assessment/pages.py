"""Assessment pages: the street's month table and review desk (scores, trend, breakdowns, vetoes, appeals, the
lock), the committee director's page (patrol record, open orders, opinion, veto) and the company's scores and
appeals. The same services as the API, under the same role and scope rules."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment import queries, schemas, service
from assessment.rules import COMPONENT_NAMES, VETO_REASONS, Component
from assessment.tables import AssessmentMonth, CommitteeOpinion, Veto
from complaints import queries as complaint_queries
from foundation.access import Principal, Role
from foundation.clock import business_today
from foundation.errors import Conflict, DomainError, InvalidInput, NotFound
from foundation.paging import PageRequest
from foundation.periods import Month, period_zh
from foundation.settings import get_settings
from foundation.storage import BlobStore
from foundation.web.admission import USUALLY_SLOW
from foundation.web.auth import allow
from foundation.web.charts import trend
from foundation.web.flash import flashed
from foundation.web.layout import attempt, chosen_id, form_body, form_error, page, page_request, pages_of, read_verdict, refused
from foundation.web.params import provide_store
from foundation.web.problems import status_of
from inspections import defects as defect_service
from inspections import late as late_evidence
from inspections import queries as inspection_queries
from inspections.config import current_checklist
from inspections.pages import SOURCE_NAMES, received_photos, uploaded_files
from inspections.schemas import LateDecisionIn
from registry import queries as registry_queries
from registry import service as registry

DESK = {Role.STREET_OFFICER, Role.STREET_WORKER, Role.ADMIN, Role.COMPANY, Role.COMMITTEE_DIRECTOR}
REVIEW_DESK = {Role.STREET_OFFICER, Role.STREET_WORKER, Role.ADMIN}
APPEAL_DESK = {Role.STREET_OFFICER, Role.STREET_WORKER, Role.ADMIN, Role.COMPANY}
MONTH_STATE_NAMES = {"open": "未计算", "computed": "已公布（申诉期）", "locked": "已锁定"}
VETO_STATE_NAMES = {"pending": "待审核", "upheld": "维持否决", "overturned": "撤销否决"}
APPEAL_STATE_NAMES = {"pending": "待答复", "upheld": "申诉成立", "rejected": "驳回"}
EVIDENCE_NAMES = {"veto": "否决证据照片", "appeal": "申诉证据照片", "finding": "检查发现问题照片", "fix": "企业整改照片"}
TREND_MONTHS = 6
FLASH_NAMED = 8  # estates named in a batch's message (it travels in a cookie)


def chosen_month(text: str | None) -> Month:
    """The month asked for, or the month being assessed now (the last one that ended); a month that is not one
    (2026-13, 0000-01) is refused, never replaced by another."""
    if text:
        return Month.parse(text, "month")
    return Month.of(business_today()).previous()


def version_reason(reason: str) -> str:
    """Why a score version was made, in Chinese (the stored reason is the system's English)."""
    words = reason.split()
    if len(words) == 3 and words[0] == "appeal" and words[2] == "upheld":
        return f"申诉 #{words[1]} 成立后重算"
    if len(words) == 3 and words[0] == "veto" and words[2] in ("upheld", "overturned"):
        return f"一票否决 #{words[1]} {'维持' if words[2] == 'upheld' else '撤销'}后重算"
    return {
        "first computation": "首次计算",
        "computed": "计算",
        "computed from the street's desk": "街道重新计算",
        "recomputed before locking": "锁定前重算",
        "scheduled computation": "定时计算",
        "demo month": "演示数据计算",
        "vetoes reviewed together": "批量审核一票否决后重算",
    }.get(reason, reason)


def component_name(code: str) -> str:
    return COMPONENT_NAMES.get(Component(code), code) if code in Component.__members__.values() else code


def percent(value: object) -> str:
    """A weight as a percentage with two decimals: a whole-number weight (25, of 100) and a share ("0.3125") read
    alike, "25.00%" beside "31.25%"."""
    text = str(value)
    try:
        number = Decimal(text) if "." in text else Decimal(text) / 100
    except ArithmeticError:
        return text
    return f"{number * 100:.2f}%"


def points(value: object) -> str:
    """A score or an effect on one, in points with two decimals ("-0.0781" reads "-0.08"); the exact figure stays in
    the stored breakdown and the API."""
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    return f"{number:.2f}"


def line_note(line: dict[str, Any]) -> str:
    """A deduction line's note as people read it: the stored "C03 ×2 逾期整改" names the item by its code, which the
    问题 column already shows as the fault and its standard; here it is the count ("2 处 逾期整改")."""
    note, item = str(line.get("note") or ""), line.get("item")
    counted = re.fullmatch(rf"{re.escape(str(item))} ×(\d+)(.*)", note, re.S) if item else None
    return f"{counted.group(1)} 处{counted.group(2)}" if counted else note


def rules_label(rules_sha256: str) -> str:
    """The scoring rules a score was computed with, as a person names them: the version of config/scoring.toml."""
    current = service.scoring_rules()
    return f"考核规则 {current.version} 版" if rules_sha256 == current.sha256 else "考核规则（早于现行版本）"


class AssessmentPages(Controller):
    path = "/assessment"
    include_in_schema = False
    guards = [allow(DESK, "reading assessments")]

    @get("/", opt=USUALLY_SLOW)
    async def month_table(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], month: FromQuery[str | None] = None, community_id: FromQuery[str | None] = None, company_id: FromQuery[str | None] = None, page_no: FromQuery[int] = 1
    ) -> Template:
        """The month's table: score, grade, ranks and the six-month trend of every estate in scope, a page at a time."""
        partial = bool(request.headers.get("hx-request")) and request.headers.get("hx-target") == "scores"
        return await _month_page(principal, db, chosen_month(month), chosen_id(community_id), chosen_id(company_id), partial=partial, page_no=page_no)

    @post("/months/{month:str}/{action:str}", guards=[allow(service.COMPUTERS, "computing scores")])
    async def month_action(
        self, month: FromPath[str], action: FromPath[str], request: Request[Any, Any, Any], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        """Compute (publish) or lock the officer's own street's month; a refusal comes back on the same page."""
        wanted = chosen_month(month)
        try:
            async with attempt(db):
                if principal.street_id is None:
                    raise InvalidInput("only a street's own officer computes or locks its month", zh="只有街道办可以计算或锁定本街道的月度考核")
                if action == "compute":
                    await service.compute_month(db, principal, principal.street_id, wanted, reason="computed from the street's desk")
                elif action == "lock":
                    if (await request.form()).get("confirmed") != "yes":  # not from the confirmation page: show it first
                        return await _lock_page(principal, db, wanted)
                    await service.lock_month(db, principal, principal.street_id, wanted)
                else:
                    raise NotFound("month action", action)
        except DomainError as exc:
            if action == "lock":
                return await _lock_page(principal, db, wanted, exc)
            return await _month_page(principal, db, wanted, errors=form_error(exc))
        return flashed(Redirect(path=f"/assessment?month={wanted}"), f"{wanted} 月度考核已计算并公布。" if action == "compute" else f"{wanted} 月度考核已锁定，此后不再改动。")

    @get("/lock/{month:str}", guards=[allow(service.STREET, "locking a month")])
    async def confirm_lock(self, month: FromPath[str], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        """The confirmation step before a lock: what will be locked and what still stands in the way."""
        return await _lock_page(principal, db, chosen_month(month))

    @post("/late/{record_id:int}/decide", guards=[allow(late_evidence.DECIDERS, "approving or rejecting a late record")])
    async def decide_late(
        self, record_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        """The street officer approves or rejects a late record from the month's desk, with a reason."""
        wanted = chosen_month(data.get("month"))
        try:
            async with attempt(db):
                approve, reason = read_verdict(data, "approve", "reject", "请选择准予计入或不予计入", "请写明审批理由")
                await late_evidence.decide_late_record(db, principal, record_id, LateDecisionIn(approve=approve, reason=reason))
        except DomainError as exc:
            shown = await _month_page(principal, db, wanted, errors=form_error(exc), late_failed=(record_id, data.get("reason") or ""))
            shown.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
            return shown
        return flashed(Redirect(path=f"/assessment?month={wanted}#late-records"), "补报记录已准予计入考核。" if approve else "补报记录已决定不予计入考核。")

    @get("/scores/{estate_id:int}/{month:str}")
    async def breakdown(
        self, estate_id: FromPath[int], month: FromPath[str], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], defect_id: FromQuery[str | None] = None
    ) -> Template:
        """`defect_id`: the deduction a company came to contest (from its rectification order), chosen in the form."""
        return await _breakdown_page(db, principal, estate_id, chosen_month(month), contested=defect_id if defect_id and defect_id.isdecimal() else None)

    @get("/vetoes", guards=[allow(REVIEW_DESK, "reviewing vetoes")])
    async def vetoes(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state_filter: Annotated[str, QueryParameter(name="state")] = "pending") -> Template:
        return await _vetoes_page(db, principal, state_filter)

    @post("/vetoes/{veto_id:int}/review", guards=[allow(service.STREET, "reviewing vetoes")])
    async def review_veto(
        self, veto_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        try:
            async with attempt(db):
                uphold, reason = read_verdict(data, "uphold", "overturn", "请选择维持或撤销否决", "请写明审核理由")
                await service.review_veto(db, principal, veto_id, form_body(schemas.VetoReviewIn, uphold=uphold, reason=reason))
        except DomainError as exc:
            return await _vetoes_page(db, principal, "pending", failed=(veto_id, exc, data.get("reason") or ""))
        return flashed(Redirect(path="/assessment/vetoes"), "已维持该项一票否决。" if uphold else "已撤销该项一票否决。")

    @post("/vetoes/review", guards=[allow(service.STREET, "reviewing vetoes")])
    async def review_vetoes(self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        """Several ticked pending vetoes decided at once with one verdict and reason, all or nothing: each goes through
        the single review's use case (scope, separation of duties, state, audit); if any is refused, none is decided
        and the page comes back with the ticks kept and each refused veto marked with its reason."""
        form = await request.form()
        chosen = form.getall("veto_id", [])
        typed = str(form.get("reason") or "")
        ids = [int(v) for v in chosen if isinstance(v, str) and v.isdecimal() and len(v) <= 10 and 1 <= int(v) < 2**31]
        try:
            async with attempt(db):
                if not chosen or len(ids) != len(chosen):
                    raise InvalidInput(f"tick from 1 to {service.BATCH_MOST} vetoes to review", zh=f"请先勾选要审核的一票否决（一次最多 {service.BATCH_MOST} 项）", field="veto_ids")
                uphold, reason = read_verdict({"verdict": str(form.get("verdict") or ""), "reason": typed}, "uphold", "overturn", "请选择维持或撤销否决", "请写明审核理由")
                decided = await service.review_vetoes(db, principal, ids, form_body(schemas.VetoReviewIn, uphold=uphold, reason=reason))
        except service.VetoBatchRefused as exc:
            # Named only when of the officer's own street (an id typed in for another street's veto stays a number).
            refused_ids = [i for i, _ in exc.refused]
            estates_of = dict((await db.execute(select(col(Veto.id), col(Veto.estate_id)).where(col(Veto.id).in_(refused_ids), col(Veto.street_id) == principal.street_id))).all())
            refused_names = await _estate_names(db, list(estates_of.values()))
            told = "；".join(f"{refused_names.get(estates_of.get(i, 0), '')} #{i}：{e.message_zh}".strip() for i, e in exc.refused)
            shown = Conflict(exc.detail, zh=f"本次未审核任何一项：所选否决中有 {len(exc.refused)} 项不能由您审核（{told}）。请取消勾选这些项（交由他人办理）后重新提交。")
            return await _vetoes_page(db, principal, "pending", failed=(0, shown, typed), ticked=set(ids), refused_ids={i: e.message_zh for i, e in exc.refused})
        except DomainError as exc:
            return await _vetoes_page(db, principal, "pending", failed=(0, exc, typed), ticked=set(ids))
        names = await _estate_names(db, [v.estate_id for v in decided])
        decided_names = sorted({names.get(v.estate_id, str(v.estate_id)) for v in decided})
        shown_names = "、".join(decided_names[:FLASH_NAMED]) + (f" 等 {len(decided_names)} 个区片" if len(decided_names) > FLASH_NAMED else "")
        return flashed(Redirect(path="/assessment/vetoes"), f"已{'维持' if uphold else '撤销'} {len(decided)} 项一票否决（{shown_names}）。")

    @get("/appeals", guards=[allow(APPEAL_DESK, "reading appeals")])
    async def appeals(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await _appeals_page(db, principal)

    @post("/appeals", guards=[allow({Role.COMPANY}, "appealing a score")], dependencies={"store": Provide(provide_store, sync_to_thread=False)})
    async def file_appeal(
        self,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        store: NamedDependency[BlobStore],
        state: State,
    ) -> Response[Any]:
        reason = str(data.get("reason") or "").strip()
        estate_id = chosen_id(str(data.get("estate_id") or ""))
        if estate_id is None:
            raise NotFound("score", str(data.get("estate_id"))[:20])
        month = Month.parse(str(data.get("month") or ""), "month")
        defect = str(data.get("defect_id") or "")
        try:
            async with attempt(db):
                if len(reason) < 2:
                    raise InvalidInput("write the reason of the appeal", zh="请写明申诉理由", field="reason")
                photos = await received_photos(state, uploaded_files(data, "photo"), store)
                await service.file_appeal(
                    db,
                    principal,
                    form_body(schemas.AppealIn, estate_id=estate_id, month=str(month), reason=reason, defect_id=int(defect[:12]) if defect.isdecimal() else None),
                    store=store,
                    photos=photos,
                )
        except DomainError as exc:
            return await _breakdown_page(db, principal, estate_id, month, failed=(exc, {"reason": reason, "defect_id": defect}))
        return flashed(Redirect(path="/assessment/appeals"), "申诉已提交，等待街道办答复。")

    @post("/appeals/{appeal_id:int}/answer", guards=[allow(service.APPEAL_ANSWERERS, "answering appeals")])
    async def answer_appeal(
        self, appeal_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        try:
            async with attempt(db):
                uphold, reason = read_verdict(data, "uphold", "reject", "请选择申诉成立或驳回", "请写明答复理由")
                await service.answer_appeal(db, principal, appeal_id, form_body(schemas.AppealAnswerIn, uphold=uphold, reason=reason))
        except DomainError as exc:
            return await _appeals_page(db, principal, failed=(appeal_id, exc, data.get("reason") or ""))
        return flashed(Redirect(path="/assessment/appeals"), "申诉答复已保存。")


async def _month_page(
    principal: Principal,
    db: AsyncSession,
    wanted: Month,
    community_id: int | None = None,
    company_id: int | None = None,
    *,
    partial: bool = False,
    errors: dict[str, str] | None = None,
    late_failed: tuple[int, str] | None = None,
    page_no: int = 1,
) -> Template:
    paging = page_request(page_no, get_settings().month_table_page_size)
    scores = await queries.month_scores(db, principal, wanted, community_id=community_id, company_id=company_id, paging=paging)
    total = await queries.count_month_scores(db, principal, wanted, community_id=community_id, company_id=company_id)
    months = [wanted]
    for _ in range(TREND_MONTHS - 1):
        months.insert(0, months[0].previous())
    history = await queries.score_history(db, principal, months, [s.estate_id for s in scores])
    communities, _ = await registry.list_communities(db, principal, PageRequest(1, 500), None)
    community_names = {c.id: c.name for c in communities}
    company_ids = await queries.month_companies(db, principal, wanted)
    companies = {i: c.name for i, c in (await registry_queries.companies(db, company_ids)).items()}
    month_state = await queries.month_out(db, principal, principal.street_id, wanted) if principal.street_id else None
    lock_blockers = [r.message_zh for r in await service.lock_refusals(db, principal.street_id, wanted)] if principal.street_id and not partial else []
    late_records: list[Any] = []
    if principal.role in late_evidence.DECIDERS and not partial:
        late_records, _ = await late_evidence.list_late_records(db, principal, PageRequest(1, 50), pending=True)
    rows = [
        (s, trend([(str(m), history.get(s.estate_id, {}).get(str(m))) for m in months]))
        for s in scores
    ]
    context = {
        "month": wanted,
        "previous": wanted.previous(),
        "following": wanted.next() if wanted.next() < Month.of(business_today()) else None,
        "rows": rows,
        "total": total,
        "paging": paging,
        "pages": pages_of(total, paging),
        "extra": "".join(f"&{k}={v}" for k, v in (("month", wanted), ("community_id", community_id), ("company_id", company_id)) if v),
        "community_names": community_names,
        "companies": companies,
        "filters": {"community_id": community_id, "company_id": company_id},
        "month_state": month_state,
        "lock_blockers": lock_blockers,
        "pending_vetoes": await queries.pending_veto_estates(db, wanted),
        "reviews_vetoes": principal.role in REVIEW_DESK,  # the others read "否决待审核" without a link to a desk shut to them
        # A company may appeal a score of a street whose month is published and still in its appeal window.
        "appeal_windows": await queries.open_appeal_windows(db, wanted, business_today()) if principal.role is Role.COMPANY else {},
        "state_names": MONTH_STATE_NAMES,
        "errors": errors or {},
        "late_records": late_records,
        "source_names": SOURCE_NAMES,
        "late_failed_id": late_failed[0] if late_failed else None,
        "late_typed": late_failed[1] if late_failed else "",
    }
    response = page("scores_table.html" if partial else "month.html", principal, **context)
    if errors:
        response.status_code = 422
    return response


async def _lock_page(principal: Principal, db: AsyncSession, wanted: Month, exc: DomainError | None = None) -> Template:
    """What a lock of the officer's street-month will lock (estates, how many scored, vetoes and appeals still
    waiting), with the confirming button, or why it cannot be locked yet."""
    if principal.street_id is None:
        raise InvalidInput("only a street's own officer locks its month", zh="只有街道办可以锁定本街道的月度考核")
    month_state = await queries.month_out(db, principal, principal.street_id, wanted)
    estates, scored = await queries.street_month_counts(db, principal.street_id, wanted)
    blockers = [r.message_zh for r in await service.lock_refusals(db, principal.street_id, wanted)]
    context: dict[str, Any] = {"month": wanted, "month_state": month_state, "estates": estates, "scored": scored, "blockers": blockers, "state_names": MONTH_STATE_NAMES}
    if exc is not None:
        return refused("lock_confirm.html", principal, exc, **context)
    return page("lock_confirm.html", principal, errors={}, **context)


async def _breakdown_page(
    db: AsyncSession, principal: Principal, estate_id: int, month: Month, failed: tuple[DomainError, dict[str, str]] | None = None, contested: str | None = None
) -> Template:
    versions = await queries.score_versions(db, principal, estate_id, month)
    if not versions:
        raise NotFound("score of estate", f"{estate_id} for {month}")
    current = versions[0]
    context: dict[str, Any] = {
        "s": current,
        "versions": versions,
        "month": month,
        "component_name": component_name,
        "version_reason": version_reason,
        "item_texts": {code: item.text for code, item in current_checklist().items.items()},
        # The fault found: the note the inspector wrote on the failed item (as amended), by (record, item).
        "found": await inspection_queries.finding_notes(db, {line["record_id"] for line in (current.result or {}).get("lines", []) if line.get("record_id") and line.get("item")}),
        "percent": percent,
        "points": points,
        "line_note": line_note,
        "rules_label": rules_label,
        "may_appeal": principal.role is Role.COMPANY,
        "typed": failed[1] if failed else ({"defect_id": contested} if contested else {}),
        # Mismatches of the estate-month, for the street (config/RULES.md, "Evidence integrity"): no score effect.
        "mismatches": await inspection_queries.mismatches_of(db, estate_id, str(month)) if principal.role in (Role.STREET_OFFICER, Role.ADMIN) else [],
        # Residents' complaints of the estate-month: lines of their own, shown and not scored (config/RULES.md,
        # "Residents' complaints"); the orders they became are already in the patrol lines above.
        "complaints": (await complaint_queries.month_complaints(db, [estate_id], month)).get(estate_id),
        "complaints_weight": service.scoring_rules().weights[Component.COMPLAINTS],
    }
    if failed:
        return refused("breakdown.html", principal, failed[0], **context)
    return page("breakdown.html", principal, errors={}, **context)


async def _vetoes_page(
    db: AsyncSession,
    principal: Principal,
    state: str,
    failed: tuple[int, DomainError, str] | None = None,
    ticked: set[int] | None = None,
    refused_ids: dict[int, str] | None = None,
) -> Template:
    wanted = state if state in VETO_STATE_NAMES else None
    rows, total = await queries.list_vetoes(db, principal, PageRequest(1, 200), month=None, state=wanted)
    names = await _estate_names(db, [v.estate_id for v in rows])
    today = business_today()
    context: dict[str, Any] = {
        "vetoes": rows,
        "total": total,
        "state": state,
        "names": names,
        "days_left": {v.id: (v.review_due_on - today).days for v in rows},
        "state_names": VETO_STATE_NAMES,
        "evidence_names": EVIDENCE_NAMES,
        "may_review": principal.role in service.STREET,
        "failed_id": failed[0] if failed else None,
        "typed": {"reason": failed[2]} if failed else {},
        "ticked": ticked or set(),
        "batch_refused": refused_ids or {},
    }
    if failed:
        return refused("vetoes.html", principal, failed[1], **context)
    return page("vetoes.html", principal, errors={}, **context)


APPEAL_MONTHS = 2  # the appeal window is a few working days: only the last months' scores can still be appealed


async def _appealable(db: AsyncSession, principal: Principal) -> list[tuple[schemas.ScoreOut, date | None]]:
    """The company's scores it may still appeal (published, not locked, window open), with the window's last day:
    the appeals page lists them, each leading to its breakdown's appeal form."""
    if principal.role is not Role.COMPANY:
        return []
    today = business_today()
    month = Month.of(today)
    found: list[tuple[schemas.ScoreOut, date | None]] = []
    for _ in range(APPEAL_MONTHS):
        month = month.previous()
        windows = await queries.open_appeal_windows(db, month, today)
        if windows:
            found += [(s, windows[s.street_id]) for s in await queries.month_scores(db, principal, month) if s.street_id in windows]
    return found


async def _appeals_page(db: AsyncSession, principal: Principal, failed: tuple[int, DomainError, str] | None = None) -> Template:
    rows, total = await queries.list_appeals(db, principal, PageRequest(1, 200), month=None, state=None)
    rows.sort(key=lambda a: (a.state != "pending", -a.id))
    context: dict[str, Any] = {
        "appealable": await _appealable(db, principal),
        "appeals": rows,
        "total": total,
        "names": await _estate_names(db, [a.estate_id for a in rows]),
        "state_names": APPEAL_STATE_NAMES,
        "evidence_names": EVIDENCE_NAMES,
        "may_answer": principal.role in service.APPEAL_ANSWERERS,
        "failed_id": failed[0] if failed else None,
        "typed": {"reason": failed[2]} if failed else {},
    }
    if failed:
        return refused("appeals.html", principal, failed[1], **context)
    return page("appeals.html", principal, errors={}, **context)


async def _estate_names(db: AsyncSession, ids: list[int]) -> dict[int, str]:
    return {i: e.name for i, e in (await registry_queries.estates(db, ids)).items()}


class CommitteePages(Controller):
    """The residents committee director (居委会主任): the month's patrol record and open orders per estate, the
    opinion and satisfaction form, the veto form (社区签 contracts and 居民选 votes are in the registry pages)."""

    path = "/committee"
    include_in_schema = False
    guards = [allow(service.DIRECTORS, "the committee's page")]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/")
    async def community(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], month: FromQuery[str | None] = None) -> Template:
        wanted = chosen_month(month)
        today = business_today()
        last = min(wanted.last_day, today)
        estates = await registry_queries.managed_during(db, last, community_id=principal.community_id)
        patrol_days = {
            estate_id: len(days)
            for estate_id, days in (await inspection_queries.patrol_days(db, wanted.first_day, wanted.last_day, community_id=principal.community_id)).items()
        }
        open_orders = await defect_service.open_orders_by_estate(db, principal.community_id)
        opinions = await _latest_opinions(db, principal.community_id or 0, wanted)
        community = await registry_queries.community(db, principal.community_id)
        return page(
            "committee.html",
            principal,
            month=wanted,
            previous=wanted.previous(),
            following=wanted.next() if wanted.next() <= Month.of(today) else None,
            community=community,
            estates=estates,
            days=(last - wanted.first_day).days + 1 if last >= wanted.first_day else 0,
            patrol_days=patrol_days,
            open_orders=open_orders,
            opinions=opinions,
        )

    @get("/estates/{estate_id:int}")
    async def estate(self, estate_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], month: FromQuery[str | None] = None) -> Template:
        return await _committee_estate(db, principal, estate_id, chosen_month(month))

    @post("/estates/{estate_id:int}/opinion")
    async def give_opinion(
        self, estate_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        month = chosen_month(data.get("month"))
        typed = {k: (data.get(k) or "").strip() for k in ("client_id", "rating", "satisfied", "answered", "note")}
        try:
            async with attempt(db):
                rating = _count(typed["rating"], "rating", "评价分", 100, required=True)
                satisfied = _count(typed["satisfied"], "satisfied", "满意户数")
                answered = _count(typed["answered"], "answered", "答卷户数")
                given = await service.give_opinion(
                    db, principal, form_body(schemas.OpinionIn, client_id=_client_id(typed["client_id"]), estate_id=estate_id, month=str(month), rating=rating or 0, satisfied=satisfied, answered=answered, note=typed["note"])
                )
                community = await registry_queries.community(db, given.opinion.community_id)
                state = await service.month_state(db, community.street_id, month) if community else None
        except DomainError as exc:
            return await _committee_estate(db, principal, estate_id, month, failed=("opinion", exc, typed))
        return flashed(Redirect(path=f"/committee/estates/{estate_id}?month={month}"), _opinion_saved(given.opinion, state, month))

    @post("/estates/{estate_id:int}/veto")
    async def cast_veto(
        self,
        estate_id: FromPath[int],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        store: NamedDependency[BlobStore],
        state: State,
    ) -> Response[Any]:
        month = chosen_month(str(data.get("month") or ""))
        typed = {"reason": str(data.get("reason") or ""), "explanation": str(data.get("explanation") or "").strip()}
        uploads = uploaded_files(data, "photo")
        try:
            async with attempt(db):
                if typed["reason"] not in VETO_REASONS:
                    raise InvalidInput("choose a listed reason", zh="请从列表中选择否决理由", field="reason")
                if len(typed["explanation"]) < 10:
                    raise InvalidInput("explain in at least 10 characters", zh="请具体说明情况（至少 10 个字）", field="explanation")
                photos = await received_photos(state, uploads, store)
                await service.cast_veto(
                    db,
                    principal,
                    form_body(schemas.VetoIn, estate_id=estate_id, month=str(month), reason=typed["reason"], explanation=typed["explanation"], evidence_photo_ids=[]),
                    store=store,
                    photos=photos,
                )
        except DomainError as exc:
            return await _committee_estate(db, principal, estate_id, month, failed=("veto", exc, typed))
        return flashed(Redirect(path=f"/committee/estates/{estate_id}?month={month}"), "一票否决已提出，等待街道办审核。")

    @post("/vetoes/from-complaints")
    async def veto_from_complaints(
        self, data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        """A cluster of residents' complaints (the complaint dashboard) turned into a mass-complaint veto case with the
        complaints as its evidence, through the same use case as the veto form."""
        typed = {k: (data.get(k) or "").strip() for k in ("estate_id", "month", "complaint_ids", "explanation")}
        typed["reason"] = "mass_complaint"
        if not typed["estate_id"].isdecimal() or not 1 <= int(typed["estate_id"]) < 2**31:
            raise InvalidInput("estate_id is an estate's id", zh="请从投诉统计页提交", field="estate_id")
        estate_id = int(typed["estate_id"])
        month = chosen_month(typed["month"])
        try:
            async with attempt(db):
                ids = [part for part in typed["complaint_ids"].split(",") if part]
                if not ids or len(ids) > 50 or not all(part.isdecimal() and 1 <= int(part) < 2**31 for part in ids):
                    raise InvalidInput("complaint_ids are complaint numbers, comma-separated", zh="请从投诉统计页选择疑似群体投诉", field="complaint_ids")
                if len(typed["explanation"]) < 10:
                    raise InvalidInput("explain in at least 10 characters", zh="请具体说明情况（至少 10 个字）", field="explanation")
                await service.cast_veto(
                    db, principal,
                    form_body(schemas.VetoIn, estate_id=estate_id, month=str(month), reason="mass_complaint", explanation=typed["explanation"], complaint_ids=[int(i) for i in ids]),
                )
        except DomainError as exc:
            return await _committee_estate(db, principal, estate_id, month, failed=("veto", exc, typed))
        return flashed(Redirect(path=f"/committee/estates/{estate_id}?month={month}"), "已以居民投诉为证据发起一票否决，等待街道审核。")


def _opinion_saved(opinion: CommitteeOpinion, state: AssessmentMonth | None, month: Month) -> str:
    """The confirmation of an opinion, saying what it changes: on a month whose scores are published, that it replaces
    the earlier opinion and counts when the street computes again or locks the month (config/RULES.md)."""
    saved = "社区意见与满意度已保存。"
    if state is None or state.state != "computed":
        return saved
    replaced = f"（第 {opinion.revision} 次，取代第 {opinion.revision - 1} 次）" if opinion.revision > 1 else f"（第 {opinion.revision} 次）"
    return (
        f"社区意见与满意度已保存{replaced}。{period_zh(str(month))}的得分已公布，已公布的得分暂不改变；"
        "街道办重新计算或锁定本月时按这次意见重新计分，得分、等级及补贴可能随之变化。"
    )


CLIENT_ID = re.compile(r"[A-Za-z0-9_\-]{8,64}")


def _count(text: str, field: str, label: str, most: int = 1_000_000, *, required: bool = False) -> int | None:
    if not text:
        if required:
            raise InvalidInput(f"{field} is required", zh=f"请填写{label}", field=field)
        return None
    if not text.isdecimal() or int(text) > most:
        raise InvalidInput(f"{field} must be a whole number from 0 to {most}", zh=f"{label}应为 0 到 {most} 的整数", field=field)
    return int(text)


def _client_id(text: str) -> str:
    """The form's submission id (a hidden field the page made, so sending the form twice gives one opinion); a form
    without one (not sent from our page) is a new submission."""
    return text if CLIENT_ID.fullmatch(text) else uuid.uuid4().hex


async def _latest_opinions(db: AsyncSession, community_id: int, month: Month) -> dict[int, CommitteeOpinion]:
    rows = (
        await db.execute(select(CommitteeOpinion).where(col(CommitteeOpinion.community_id) == community_id, col(CommitteeOpinion.month) == str(month)).order_by(col(CommitteeOpinion.revision)))
    ).scalars()
    return {o.estate_id: o for o in rows}


async def _committee_estate(
    db: AsyncSession, principal: Principal, estate_id: int, month: Month, failed: tuple[str, DomainError, dict[str, str]] | None = None
) -> Template:
    estate = await registry.get_estate(db, principal, estate_id)
    patrolled = (await inspection_queries.patrol_days(db, month.first_day, month.last_day, estate_id=estate_id)).get(estate_id, set())
    today = business_today()
    # Days that are over: today is still under way, so it is no day without a patrol (it is shown on its own).
    last = min(month.last_day, today - timedelta(days=1))
    all_days = [date.fromordinal(d) for d in range(month.first_day.toordinal(), last.toordinal() + 1)]
    orders, _ = await defect_service.list_defects(db, principal, PageRequest(1, 200), state="active", estate_id=estate_id)
    opinion = (await _latest_opinions(db, estate.community_id, month)).get(estate_id)
    vetoes, _ = await queries.list_vetoes(db, principal, PageRequest(1, 50), month=month, state=None)
    community = await registry_queries.community(db, estate.community_id)
    weights = service.scoring_rules().weights
    context: dict[str, Any] = {
        "estate": estate,
        "month": month,
        "patrolled": patrolled,
        "all_days": all_days,
        "patrolled_days": sum(1 for d in all_days if d in patrolled),
        "today": today if month.first_day <= today <= month.last_day else None,
        "orders": orders,
        "opinion": opinion,
        # What a new opinion changes depends on the street's month (config/RULES.md, "Publication, lock and ranking").
        "month_state": await service.month_state(db, community.street_id, month) if community else None,
        "opinion_weights": (percent(weights[Component.COMMITTEE]), percent(weights[Component.SATISFACTION])),
        "vetoes": [v for v in vetoes if v.estate_id == estate_id],
        "reasons": VETO_REASONS,
        "veto_state_names": VETO_STATE_NAMES,
        "failed_form": failed[0] if failed else None,
        "typed": failed[2] if failed else {},
        # The opinion form's id of this submission: sending the form twice (a double click, a resend) gives one opinion.
        "opinion_client_id": (failed[2].get("client_id") if failed and failed[0] == "opinion" else None) or uuid.uuid4().hex,
    }
    if failed:
        return refused("committee_estate.html", principal, failed[1], **context)
    return page("committee_estate.html", principal, errors={}, **context)


PAGES = [AssessmentPages, CommitteePages]
