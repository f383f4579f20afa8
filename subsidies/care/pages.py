"""Elderly home care's pages (Simplified Chinese): the community's elderly-care social worker (enrol, stop, who was
served this month and who not), the provider's phone (the month's elders, a visit log that keeps visits on the phone
with no signal and sends each once, redemption), and the month's runs for streets and finance. The same services as
the API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.clock import business_today
from foundation.errors import DomainError, InvalidInput
from foundation.one_line import check_one_line
from foundation.periods import MONTH_PATTERN, Month
from foundation.web.auth import allow
from foundation.web.flash import flashed
from foundation.web.layout import attempt, page, refused
from foundation.web.offline import offline_worker, outbox_refusal
from foundation.web.problems import status_of
from registry import queries as registry_queries
from registry.queries import OrganisationKind
from subsidies.care import queries, rules, schemas, service
from subsidies.care.programme import CODE
from subsidies.care.routes import sealer_of
from subsidies.engine.pages import ProgrammeRunPages

MonthQuery = Annotated[str | None, Parameter(pattern=MONTH_PATTERN)]
RUN_STATES = {"draft": "草稿", "confirmed": "街道已确认", "approved": "已审批", "disbursed": "已签发拨付批次"}


def _month(text: str | None) -> Month:
    return Month.parse(text) if text else Month.of(business_today())


async def _providers_for(db: AsyncSession, street_id: int, day: date) -> dict[int, str]:
    ids = await service.contracted_providers(db, street_id, day, day)
    return {i: o.name for i, o in (await registry_queries.organisations(db, ids, OrganisationKind.SOCIAL_ORG)).items()}


class CareWorkerPages(Controller):
    """The community's elderly-care social worker (老龄社工)."""

    path = "/care"
    include_in_schema = False
    guards = [allow(service.ENROLLERS, "the home-care desk")]

    async def _desk(self, db: AsyncSession, principal: Principal, month: Month) -> dict[str, Any]:
        community = await registry_queries.community(db, principal.community_id)
        assert community is not None
        enrolments = await queries.community_enrolments(db, principal, month)
        vouchers = {v.elder_id: v for v in await queries.month_vouchers(db, principal, month)}
        providers = await registry_queries.organisations(db, {e.provider_id for e in enrolments})
        served = [e for e in enrolments if e.elder.id in vouchers and vouchers[e.elder.id].minimum_met]
        care = service.care_rules()
        context: dict[str, Any] = {
            "community": community, "month": month, "enrolments": enrolments, "vouchers": vouchers, "providers": {i: p.name for i, p in providers.items()},
            "served": len(served), "care": care, "choices": await _providers_for(db, community.street_id, business_today()), "today": business_today(),
            "stop_reasons": rules.STOP_REASONS, "consent_by": rules.CONSENT_BY, "sexes": rules.SEXES, "form": {},
        }
        return context

    @get("/")
    async def desk(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], month: MonthQuery = None) -> Template:
        return page("care_desk.html", principal, errors={}, **await self._desk(db, principal, _month(month)))

    @post("/enrol")
    async def enrol(
        self, data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State
    ) -> Template | Redirect:
        try:
            async with attempt(db):
                try:
                    fields: dict[str, object] = {name: data.get(name, "") for name in schemas.EnrolmentIn.__struct_fields__}
                    fields["provider_id"] = int(data.get("provider_id") or 0)
                    check_one_line(fields, schemas.EnrolmentIn, beside_field=True)
                    body = msgspec.convert(fields, schemas.EnrolmentIn, strict=False)
                except (msgspec.ValidationError, ValueError) as error:
                    raise InvalidInput(f"enrolment form: {error}", zh="请完整填写老人信息（日期格式如 1946-03-08，身份证号码 18 位，电话为数字）", field="_form") from None
                await service.enrol(db, principal, sealer_of(state), body)
        except DomainError as exc:
            return refused("care_desk.html", principal, exc, **await self._context_for_refusal(db, principal, data))
        return flashed(Redirect("/care", status_code=303), "老人已登记居家养老服务。")

    async def _context_for_refusal(self, db: AsyncSession, principal: Principal, data: dict[str, str]) -> dict[str, Any]:
        context = await self._desk(db, principal, _month(None))
        context["form"] = {k: v for k, v in data.items() if k not in ("id_number", "_csrf_token")}  # the ID number is typed again, never echoed
        return context

    @post("/enrolments/{enrolment_id:int}/stop")
    async def stop(
        self, enrolment_id: FromPath[int], data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Template | Redirect:
        try:
            async with attempt(db):
                try:
                    body = msgspec.convert({"ends_on": data.get("ends_on", ""), "reason": data.get("reason", "")}, schemas.StopIn, strict=False)
                except msgspec.ValidationError:
                    raise InvalidInput("choose the stop day and reason", zh="请选择终止日期和原因", field="_form") from None
                await service.stop_enrolment(db, principal, enrolment_id, body)
        except DomainError as exc:
            context = await self._context_for_refusal(db, principal, {})
            return refused("care_desk.html", principal, exc, **context)
        return flashed(Redirect("/care", status_code=303), "已终止该老人的居家养老服务。")


class ProviderPages(Controller):
    """The provider's phone: the elders it serves this month, a visit log that works with no signal, redemption."""

    path = "/care/visits"
    include_in_schema = False
    guards = [allow(service.PROVIDERS, "the home-care visit log")]

    @get("/")
    async def today(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], redeemed: Annotated[int | None, Parameter(ge=0, le=100_000)] = None) -> Template:
        notice = f"已兑付 {redeemed} 张服务券。" if redeemed is not None else None
        return await self._page(db, principal, notice=notice)

    async def _page(self, db: AsyncSession, principal: Principal, **extra: Any) -> Template:
        today = business_today()
        month = Month.of(today)
        elders = await queries.provider_elders(db, principal, today)
        vouchers = {v.elder_id: v for v in await queries.month_vouchers(db, principal, month)}
        provider = await registry_queries.organisation(db, principal.organisation_id)
        care = service.care_rules()
        return page(
            "care_visits.html", principal, today=today, month=month, elders=elders, vouchers=vouchers, provider=provider, care=care,
            confirmed_by=rules.CONFIRMED_BY, **{"message": None, "notice": None, "refusals": [], **extra},
        )

    @post("/records", dto=None)
    async def log_visit(self, data: JSONBody[schemas.VisitIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[dict[str, Any]]:
        """The outbox's send: the same use case as POST /api/care/visits; a resend with the same client id is a 200."""
        try:
            async with attempt(db):
                logged = await service.log_visit(db, principal, data)
        except DomainError as exc:
            return outbox_refusal(exc)
        return Response({"id": logged.visit.id, "replayed": logged.replayed}, status_code=200 if logged.replayed else 201)

    @post("/vouchers/{code:str}/redeem")
    async def redeem(self, code: FromPath[str], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                await service.redeem(db, principal, code)
        except DomainError as exc:
            template = await self._page(db, principal, message=exc.message_zh)
            template.status_code = status_of(exc)
            return template
        return Redirect("/care/visits?redeemed=1", status_code=303)

    @post("/redeem-month")
    async def redeem_month(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        """Month end: every voucher of this month that met its minimum; the others listed with the reason."""
        redeemed, refusals = await service.redeem_month(db, principal, Month.of(business_today()))
        return await self._page(db, principal, notice=f"已兑付 {len(redeemed)} 张服务券。", refusals=[(v.code, e.message_zh) for v, e in refusals])


class CareRunPages(ProgrammeRunPages):
    """The month's runs of home care: finance starts, approves and issues; each street confirms its part."""

    path = "/care/runs"
    guards = [allow({Role.FINANCE, Role.STREET_OFFICER, Role.ADMIN}, "home-care runs")]
    code = CODE
    template = "care_runs.html"
    states = RUN_STATES
    started_zh = "养老服务券核算已发起。"
    step_buttons = {"confirm": "确认本街道部分", "approve": "审批"}


class CareServiceWorker(Controller):
    """The visit log's service worker (scope /care/visits: it controls those pages only)."""

    include_in_schema = False

    @get("/care-sw.js", media_type="text/javascript")
    async def script(self) -> Response[bytes]:
        return offline_worker("care", "/care/visits", "/static/care-visits.js")


PAGES = [CareWorkerPages, ProviderPages, CareRunPages, CareServiceWorker]
