"""Pages of activity funds (Simplified Chinese, a phone at 390 px): the director and the street officer claim with a
receipt photo and see their balance; the street and district finance approve or refuse; finance and the
administrator see every balance and open a year. The same use cases as the API."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.clock import business_today
from foundation.errors import DomainError, InvalidInput
from foundation.paging import PageRequest
from foundation.storage import BlobStore
from foundation.web.auth import allow
from foundation.web.flash import flashed
from foundation.web.layout import attempt, form_error, page
from foundation.web.params import provide_store
from foundation.web.problems import status_of
from subsidies.activity import queries, rules, service
from subsidies.activity.rules import CODE
from subsidies.activity.schemas import ClaimIn
from subsidies.engine.pages import ProgrammeRunPages

PAGE_ROLES = {Role.COMMITTEE_DIRECTOR, Role.STREET_OFFICER, Role.FINANCE, Role.ADMIN}
CLAIMERS = {Role.COMMITTEE_DIRECTOR, Role.STREET_OFFICER}


def _amount_fen(text: str) -> int:
    """Yuan as typed (1280 or 1280.50) to fen, refused in Chinese when it is not an amount."""
    cleaned = text.strip().replace(",", "").replace("，", "")
    whole, _, cents = cleaned.partition(".")
    if not whole.isdecimal() or (cents and (not cents.isdecimal() or len(cents) > 2)):
        raise InvalidInput(f"amount {text!r} is not an amount in yuan", zh="金额请填写元，如 1280 或 1280.50", field="amount_fen")
    fen = int(whole) * 100 + int(cents.ljust(2, "0") or 0)
    if fen <= 0:
        raise InvalidInput("the amount is above zero", zh="金额须大于 0", field="amount_fen")
    return fen


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date", zh="请选择支出日期", field="spent_on") from None


class ActivityPages(Controller):
    path = "/activity"
    include_in_schema = False
    guards = [allow(PAGE_ROLES, "activity funds")]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/")
    async def activity_home(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], year: FromQuery[int | None] = None) -> Template:
        return await _home(db, principal, year)

    @post("/claims", guards=[allow(CLAIMERS, "claiming activity funds")])
    async def claim(self, data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[Any]:
        """The phone's claim form: the receipt photo and the claim in one submission."""
        typed = {k: str(v) for k, v in data.items() if isinstance(v, str)}
        try:
            async with attempt(db):
                upload = data.get("file")
                if not isinstance(upload, UploadFile) or not upload.filename:
                    raise InvalidInput("take or choose a photo of the receipt", zh="请拍摄或选择发票照片", field="file")
                content = await upload.read(service.fund_rules().receipt_max_bytes + 1)
                receipt = await service.upload_receipt(db, store, principal, content)
                claim = ClaimIn(
                    client_id=typed.get("client_id") or secrets.token_hex(16), spent_on=_day(typed.get("spent_on", "")), purpose=typed.get("purpose", "").strip(),
                    description=typed.get("description", "").strip(), amount_fen=_amount_fen(typed.get("amount", "")), invoice_number=typed.get("invoice_number", "").strip(),
                    receipt_id=receipt.id,
                )
                if not claim.invoice_number or not claim.invoice_number.replace("-", "").isalnum() or len(claim.invoice_number) > 40:
                    raise InvalidInput("the invoice number is letters, digits and dashes", zh="请填写发票号码（字母、数字或短横线）", field="invoice_number")
                await service.file_claim(db, principal, claim)
        except DomainError as exc:
            response = await _home(db, principal, None, errors=form_error(exc), typed=typed)
            response.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
            return response
        return flashed(Redirect(path="/activity"), "报销申请已提交，等待审批。")

    @post("/claims/{claim_id:int}/decision", guards=[allow({Role.STREET_OFFICER, Role.FINANCE}, "deciding activity claims")])
    async def decide(self, claim_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        try:
            async with attempt(db):
                verdict = data.get("verdict")
                if verdict not in ("approve", "refuse"):
                    raise InvalidInput("choose approve or refuse", zh="请选择批准或不批准", field="verdict")
                await service.decide_claim(db, principal, claim_id, verdict == "approve", data.get("reason"))
        except DomainError as exc:
            response = await _home(db, principal, None, errors={f"claim-{claim_id}": exc.message_zh})
            response.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
            return response
        return flashed(Redirect(path="/activity"), "已批准该笔报销。" if verdict == "approve" else "已决定不批准该笔报销。")

    @post("/years/{year:int}/open", guards=[allow(service.OPENERS, "opening a year's activity funds")])
    async def open_year(self, year: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        try:
            async with attempt(db):
                await service.open_year(db, principal, year)
        except DomainError as exc:
            response = await _home(db, principal, year, errors=form_error(exc))
            response.status_code = status_of(exc)
            return response
        return flashed(Redirect(path=f"/activity?year={year}"), f"{year} 年度活动经费已开立。")


async def _home(db: AsyncSession, principal: Principal, year: int | None, errors: dict[str, str] | None = None, typed: dict[str, str] | None = None) -> Template:
    today = business_today()
    year = year if year and 2000 <= year <= 2100 else today.year
    funds = await queries.funds(db, principal, year)
    own = None
    if principal.role in CLAIMERS:
        holder = str(rules.holder_of(principal))
        own = next((f for f in funds if f.holder == holder), None)
    mine, _ = await queries.claims(db, principal, PageRequest(1, 50), year=year, holder=str(rules.holder_of(principal)) if principal.role in CLAIMERS else None)
    return page(
        "activity.html",
        principal,
        year=year,
        today=today,
        funds=funds,
        own=own,
        claims=mine,
        awaiting=await queries.awaiting(db, principal),
        purposes=service.fund_rules().purposes,
        states=rules.STATE_NAMES,
        client_id=secrets.token_hex(16),
        can_claim=principal.role in CLAIMERS,
        errors=errors or {},
        typed=typed or {},
    )


class ActivityRunPages(ProgrammeRunPages):
    """The monthly payment runs of activity funds: finance starts one for the month's approved claims, another
    finance officer checks it, and the batch is issued with its documents."""

    path = "/activity/runs"
    guards = [allow({Role.FINANCE, Role.ADMIN}, "activity fund payment runs")]
    code = CODE
    template = "activity_runs.html"
    states = {"draft": "草稿", "approved": "已审核", "disbursed": "已签发拨付批次"}
    started_zh = "活动经费核算已发起。"
    step_buttons = {"approve": "审核"}
    supplements = True  # a month run already: a supplementary run for the claims approved since


PAGES = [ActivityPages, ActivityRunPages]
