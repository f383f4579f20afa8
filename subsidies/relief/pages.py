"""Pages of relief funds (Simplified Chinese, a phone at 390 px): the community files an application for a resident
with photos of the documents, sees its applications and their outcome (to tell the applicant) and sends a returned
one again; the community's director, the street and the district review their queue with a reason at each level;
finance runs the engine's payment batches. The same use cases as the API."""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.clock import business_today
from foundation.errors import DomainError, InvalidInput
from foundation.one_line import check_one_line
from foundation.paging import PageRequest
from foundation.storage import BlobStore
from foundation.web.auth import allow
from foundation.web.flash import flashed
from foundation.web.layout import attempt, form_body, form_error, page
from foundation.web.params import provide_store
from foundation.web.problems import status_of
from subsidies.engine.pages import ProgrammeRunPages
from subsidies.relief import queries, rules, schemas, service
from subsidies.relief.routes import issue_letter

PAGE_ROLES = {*rules.FILERS, Role.STREET_OFFICER, Role.ADMIN, Role.FINANCE}
REVIEWERS = set(rules.LEVEL_ROLES.values())
RUN_STATES = {"draft": "草稿", "approved": "已审核", "disbursed": "已签发拨付批次"}
FIELD_NAMES = {"applicant_name": "申请人姓名", "applicant_phone": "联系电话", "household_size": "家庭人口", "reason": "申请事由", "fund": "救助基金", "client_id": "提交编号"}


def _amount_fen(text: str) -> int:
    """Yuan as typed (1280 or 1280.50) to fen, refused in Chinese when it is not an amount."""
    cleaned = text.strip().replace(",", "").replace("，", "")
    whole, _, cents = cleaned.partition(".")
    if not whole.isdecimal() or (cents and (not cents.isdecimal() or len(cents) > 2)) or len(whole) > 9:
        raise InvalidInput(f"amount {text!r} is not an amount in yuan", zh="金额请填写元，如 3000 或 3000.50", field="amount_fen")
    fen = int(whole) * 100 + int(cents.ljust(2, "0") or 0)
    if fen <= 0:
        raise InvalidInput("the amount is above zero", zh="金额须大于 0", field="amount_fen")
    return fen


def _form_body(values: dict[str, Any]) -> schemas.ApplicationIn:
    """The form's fields as the API's request body, checked the same way; a wrong field is refused in Chinese."""
    check_one_line(values, schemas.ApplicationIn, beside_field=True)
    try:
        return msgspec.convert(values, type=schemas.ApplicationIn, strict=False)
    except msgspec.ValidationError as error:
        found = re.search(r"\$\.(\w+)", str(error))
        field = found.group(1) if found else None
        raise InvalidInput(f"{field}: {error}", zh=f"{FIELD_NAMES.get(field or '', '输入')}填写有误，请检查后再提交", field=field) from None


def _uploads(value: object) -> list[UploadFile]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, UploadFile) and item.filename]


class ReliefPages(Controller):
    path = "/relief"
    include_in_schema = False
    guards = [allow(PAGE_ROLES, "relief funds")]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/")
    async def relief_home(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await _home(db, principal)

    @post("/applications", guards=[allow(set(rules.FILERS), "filing relief applications")])
    async def file(self, data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[Any]:
        """The community's form: the documents' photos and the application in one submission."""
        typed = {k: str(v) for k, v in data.items() if isinstance(v, str)}
        try:
            async with attempt(db):
                files = _uploads(data.get("files"))
                if not files:
                    raise InvalidInput("take or choose a photo of each supporting document", zh="请拍摄或选择证明材料照片", field="files")
                config = service.relief_rules()
                if len(files) > config.documents_max:
                    raise InvalidInput(f"at most {config.documents_max} documents", zh=f"证明材料最多 {config.documents_max} 份", field="files")
                ids = [(await service.upload_document(db, store, principal, await upload.read(config.document_max_bytes + 1))).id for upload in files]
                household = typed.get("household_size", "").strip()
                body = _form_body(
                    {
                        "client_id": typed.get("client_id") or secrets.token_hex(16), "fund": typed.get("fund", ""), "applicant_name": typed.get("applicant_name", "").strip(),
                        "applicant_phone": typed.get("applicant_phone", "").strip(), "household_size": int(household) if household.isdecimal() else household,
                        "amount_fen": _amount_fen(typed.get("amount", "")), "reason": typed.get("reason", "").strip(), "document_ids": ids,
                    }
                )
                await service.file_application(db, principal, body)
        except DomainError as exc:
            response = await _home(db, principal, errors=form_error(exc), typed=typed)
            response.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
            return response
        return flashed(Redirect(path="/relief"), "救助申请已提交，等待审核。")

    @post("/applications/{application_id:int}/reviews", guards=[allow(REVIEWERS, "reviewing relief applications")])
    async def review(
        self, application_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State
    ) -> Response[Any]:
        verdict = data.get("verdict", "")
        try:
            async with attempt(db):
                if verdict not in rules.VERDICTS:
                    raise InvalidInput("choose approve, return or refuse", zh="请选择同意、退回或不同意", field="verdict")
                if not (data.get("reason") or "").strip():
                    raise InvalidInput("write the reason", zh="请写明审核理由", field="reason")
                application = await service.review(db, principal, application_id, data.get("level", ""), verdict, data.get("reason", ""))
                await issue_letter(state, db, application)
        except DomainError as exc:
            response = await _home(db, principal, errors={f"application-{application_id}": exc.message_zh})
            response.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
            return response
        return flashed(Redirect(path="/relief"), f"审核意见已保存：{rules.VERDICT_NAMES[verdict]}。")

    @post("/applications/{application_id:int}/resubmission", guards=[allow(set(rules.FILERS), "sending relief applications again")])
    async def resubmit(self, application_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        try:
            async with attempt(db):
                note = (data.get("reason") or "").strip()
                if len(note) < 2:
                    raise InvalidInput("say what was completed", zh="请写明补充了哪些材料或情况", field="reason")
                await service.resubmit(db, principal, application_id, form_body(schemas.ResubmissionIn, reason=note))
        except DomainError as exc:
            response = await _home(db, principal, errors={f"application-{application_id}": exc.message_zh})
            response.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
            return response
        return flashed(Redirect(path="/relief"), "救助申请已重新提交。")

    @post("/years/{year:int}/open", guards=[allow(service.OPENERS, "opening a year's relief funds")])
    async def open_year(self, year: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        try:
            async with attempt(db):
                await service.open_year(db, principal, year)
        except DomainError as exc:
            response = await _home(db, principal, errors=form_error(exc))
            response.status_code = status_of(exc)
            return response
        return flashed(Redirect(path="/relief"), "本年度救助基金已开立。")


async def _home(db: AsyncSession, principal: Principal, errors: dict[str, str] | None = None, typed: dict[str, str] | None = None) -> Template:
    today = business_today()
    config = service.relief_rules()
    recent, _ = await queries.applications(db, principal, PageRequest(1, 50))
    return page(
        "relief.html",
        principal,
        year=today.year,
        today=today,
        funds=await queries.funds(db, today.year),
        config_funds=list(config.funds.values()),
        queue=await queries.queue(db, principal),
        applications=recent,
        level=queries.QUEUE_LEVEL.get(principal.role),
        level_names=rules.LEVEL_NAMES,
        verdict_names=rules.VERDICT_NAMES,
        can_file=principal.role in rules.FILERS,
        client_id=secrets.token_hex(16),
        documents_max=config.documents_max,
        errors=errors or {},
        typed=typed or {},
    )


class ReliefRunPages(ProgrammeRunPages):
    """The monthly payment runs of relief funds on the engine: finance starts, checks and issues; the batch's PDF."""

    path = "/relief/runs"
    guards = [allow({Role.FINANCE, Role.ADMIN}, "relief payment runs")]
    code = rules.CODE
    template = "relief_runs.html"
    states = RUN_STATES
    started_zh = "救助金核算已发起。"
    step_buttons = {"approve": "审核"}
    supplements = True  # a month run already: a supplementary run for the cases approved since


PAGES = [ReliefPages, ReliefRunPages]
