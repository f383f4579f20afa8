"""Volunteers' pages (Simplified Chinese): the volunteer's phone page (sign up, log hours, see the answers and
reasons, the certificate), the approval queue of team leaders and social workers, and the community's volunteer
desk (register volunteers, form teams, post needs, pair households). The same services as the API."""

from __future__ import annotations

import uuid
from datetime import date, time
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from community.volunteers import certificates, schemas, service
from community.volunteers.rules import HOURS_STATE_NAMES, format_minutes
from foundation.access import Principal
from foundation.clock import utc_now
from foundation.errors import DomainError, InvalidInput, Unavailable
from foundation.one_line import check_one_line
from foundation.periods import business_date
from foundation.web.auth import allow
from foundation.web.flash import flashed
from foundation.web.layout import attempt, page, refused
from foundation.web.offline import offline_worker
from foundation.web.problems import status_of
from reports.pdf import FontMissing
from reports.service import PDF

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _convert(fields: dict[str, Any], into: type[msgspec.Struct], zh: str, field: str = "_form") -> Any:
    check_one_line(fields, into, beside_field=True)  # a line break in a name or title: said so, beside the field
    try:
        return msgspec.convert(fields, into, strict=False)
    except (msgspec.ValidationError, ValueError) as error:
        raise InvalidInput(f"form: {error}", zh=zh, field=field) from None


def _number(text: str | None) -> int | None:
    return int(text) if text and text.strip().isdecimal() else None


class VolunteerPhonePages(Controller):
    """The volunteer's phone (390 px): needs to sign up for, hours to log, their answers, the certificate."""

    path = "/volunteer"
    include_in_schema = False
    guards = [allow(service.VOLUNTEERS, "the volunteer's page")]

    async def _context(self, db: AsyncSession, principal: Principal) -> dict[str, Any]:
        today = business_date(utc_now())
        volunteer = await service.own_volunteer(db, principal)
        needs = await service.needs_of(db, principal)
        mine = await service.signed_up_need_ids(db, volunteer.id)
        hours = await service.own_hours(db, principal)
        teams = await service.teams_of_volunteer(db, volunteer.id)
        approved = sum(h.minutes for h in hours if h.state == "approved")
        return {
            "today": today, "volunteer": volunteer, "teams": teams, "hours": hours, "states": HOURS_STATE_NAMES, "approved": format_minutes(approved),
            "upcoming": [service.need_out(n, today) for n in needs if n.held_on >= today], "mine": mine,
            "loggable": [n for n in needs if n.id in mine and n.held_on <= today], "client_id": uuid.uuid4().hex,
            "leads": await service.leads_a_team(db, principal), "rules": service.volunteer_rules(), "form": {}, "notice": None, "team_names": {t.id: t.name for t in await service.teams_of(db, principal)},
        }

    @get("/")
    async def home(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("volunteer_phone.html", principal, errors={}, **await self._context(db, principal))

    async def _refused(self, db: AsyncSession, principal: Principal, exc: DomainError, form: dict[str, str] | None = None) -> Template:
        context = await self._context(db, principal)
        context["form"] = {k: v for k, v in (form or {}).items() if k != "_csrf_token"}
        return refused("volunteer_phone.html", principal, exc, **context)

    @post("/needs/{need_id:int}/signup")
    async def sign_up(self, need_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                await service.sign_up(db, principal, need_id)
        except DomainError as exc:
            return await self._refused(db, principal, exc)
        return flashed(Redirect("/volunteer#needs", status_code=303), "报名成功。")

    @post("/hours")
    async def log_hours(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                target = data.get("target", "")
                kind, _, ident = target.partition(":")
                fields: dict[str, Any] = {
                    "client_id": data.get("client_id", ""), "served_on": data.get("served_on", ""), "activity": data.get("activity", "").strip(),
                    "minutes": _number(data.get("minutes")) or 0, "need_id": _number(ident) if kind == "need" else None, "team_id": _number(ident) if kind == "team" else None,
                }
                body = _convert(fields, schemas.VolunteerHoursIn, "请填写服务日期、时长（分钟）和服务内容")
                await service.log_hours(db, principal, body)
        except DomainError as exc:
            return await self._refused(db, principal, exc, data)
        return flashed(Redirect("/volunteer#hours", status_code=303), "服务时长已登记，等待社区审核。")

    @post("/hours/records", dto=None)
    async def send_hours(self, data: JSONBody[schemas.VolunteerHoursIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[dict[str, Any]]:
        """The phone outbox's send: the same use case as POST /api/volunteers/me/hours; a resend with the same client
        id is a 200 and stores nothing new."""
        try:
            async with attempt(db):
                logged = await service.log_hours(db, principal, data)
        except DomainError as exc:
            return Response({"message": exc.message_zh, "field": exc.field, "detail": exc.detail}, status_code=status_of(exc))
        return Response({"id": logged.row.id, "replayed": logged.replayed}, status_code=200 if logged.replayed else 201)

    @post("/certificate")
    async def issue_certificate(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> Template | Redirect:
        try:
            async with attempt(db):
                try:
                    await certificates.issue_certificate(db, state.blob_store, principal)
                except FontMissing as missing:
                    raise Unavailable(str(missing), zh="服务器缺少中文字体，暂不能生成证明") from None
        except DomainError as exc:
            return await self._refused(db, principal, exc)
        return Redirect("/volunteer/certificate.pdf", status_code=303)

    @get("/certificate.pdf")
    async def certificate(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> Response[bytes]:
        made = await certificates.issued_certificate(db, state.blob_store, principal)
        return Response(made.content, media_type=PDF, headers={"Content-Disposition": f'attachment; filename="{made.number}.pdf"', "Cache-Control": "private"})


class VolunteerServiceWorker(Controller):
    """The volunteer phone page's service worker (scope /volunteer: it controls that page only)."""

    include_in_schema = False

    @get("/volunteer-sw.js", media_type="text/javascript")
    async def script(self) -> Response[bytes]:
        return offline_worker("volunteer", "/volunteer", "/static/volunteer-hours.js")


class ApprovalPages(Controller):
    """The approval queue of a team leader or the community's social worker."""

    path = "/volunteers/approvals"
    include_in_schema = False
    guards = [allow(service.SOCIAL_WORKERS | service.VOLUNTEERS, "the volunteer hours queue")]

    async def _context(self, db: AsyncSession, principal: Principal) -> dict[str, Any]:
        queue = await service.approval_queue(db, principal)
        return {
            "queue": queue, "names": await service.names_for(db, principal, {h.volunteer_id for h in queue}), "today": business_date(utc_now()),
            "team_names": {t.id: t.name for t in await service.teams_of(db, principal)}, "format_minutes": format_minutes, "decided": None,
        }

    @get("/")
    async def queue(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("volunteer_approvals.html", principal, errors={}, **await self._context(db, principal))

    @post("/{hours_id:int}")
    async def decide(self, hours_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                body = _convert({"verdict": data.get("verdict", ""), "reason": data.get("reason", "").strip()}, schemas.HoursDecisionIn, "请选择通过或不通过", "verdict")
                await service.decide_hours(db, principal, hours_id, body)
        except DomainError as exc:
            context = await self._context(db, principal)
            context["failed"] = hours_id
            return refused("volunteer_approvals.html", principal, exc, **context)
        return flashed(Redirect("/volunteers/approvals", status_code=303), "审核意见已保存。")


class VolunteerDeskPages(Controller):
    """The community's volunteer desk: its social workers and director."""

    path = "/volunteers"
    include_in_schema = False
    guards = [allow(service.ORGANISERS, "the volunteer desk")]

    async def _context(self, db: AsyncSession, principal: Principal) -> dict[str, Any]:
        today = business_date(utc_now())
        volunteers = await service.volunteer_out(db, await service.readable_volunteers(db, principal))
        return {
            "today": today, "volunteers": volunteers, "names": {v.id: v.real_name for v in volunteers}, "teams": await service.team_out(db, principal, await service.teams_of(db, principal)),
            "needs": [service.need_out(n, today) for n in await service.needs_of(db, principal, from_day=date.fromordinal(today.toordinal() - 30))],
            "pairings": await service.pairings_of(db, principal), "rules": service.volunteer_rules(), "form": {}, "format_minutes": format_minutes,
            "leads_teams": principal.role in service.SOCIAL_WORKERS,
        }

    @get("/")
    async def desk(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("volunteer_desk.html", principal, errors={}, **await self._context(db, principal))

    async def _refused(self, db: AsyncSession, principal: Principal, exc: DomainError, data: dict[str, str]) -> Template:
        context = await self._context(db, principal)
        context["form"] = {k: v for k, v in data.items() if k not in ("password", "_csrf_token")}
        return refused("volunteer_desk.html", principal, exc, **context)

    @post("/register")
    async def register(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                fields = {"real_name": data.get("real_name", "").strip(), "phone": data.get("phone", "").strip(), "username": data.get("username", "").strip(), "password": data.get("password", ""), "skills": [s for s in data.get("skills", "").split("、") if s]}
                await service.register_volunteer(db, principal, _convert(fields, schemas.VolunteerIn, "请填写实名、11 位手机号、用户名（字母数字）和至少 8 位的初始密码"))
        except DomainError as exc:
            return await self._refused(db, principal, exc, data)
        return flashed(Redirect("/volunteers#volunteers", status_code=303), "志愿者已登记。")

    @post("/check")
    async def check(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        """实名核验 of a volunteer imported from a spreadsheet, with their first password."""
        try:
            async with attempt(db):
                body = _convert({"password": data.get("password", "")}, schemas.VolunteerCheckIn, "首个密码至少 8 位", field="password")
                await service.check_volunteer(db, principal, _number(data.get("volunteer_id")) or 0, body)
        except DomainError as exc:
            return await self._refused(db, principal, exc, data)
        return Redirect("/volunteers#volunteers", status_code=303)

    @post("/teams")
    async def create_team(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                body = _convert({"name": data.get("name", "").strip(), "leader_volunteer_id": _number(data.get("leader_volunteer_id"))}, schemas.VolunteerTeamIn, "请填写服务队名称")
                await service.create_team(db, principal, body)
        except DomainError as exc:
            return await self._refused(db, principal, exc, data)
        return flashed(Redirect("/volunteers#teams", status_code=303), "志愿服务队已建立。")

    @post("/needs")
    async def post_need(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                try:
                    starts_at = time.fromisoformat(data.get("starts_at", ""))
                except ValueError:
                    raise InvalidInput("starts_at: HH:MM", zh="请填写开始时间，如 09:00", field="starts_at") from None
                fields = {
                    "title": data.get("title", "").strip(), "place": data.get("place", "").strip(), "held_on": data.get("held_on", ""), "starts_at": starts_at.strftime("%H:%M"),
                    "minutes": _number(data.get("minutes")) or 0, "wanted": _number(data.get("wanted")) or 0, "team_id": _number(data.get("team_id")) or 0,
                    "pairing": data.get("pairing") == "yes", "description": data.get("description", "").strip(),
                }
                await service.post_need(db, principal, _convert(fields, schemas.VolunteerNeedIn, "请完整填写需求：名称、地点、日期、开始时间、时长（分钟）、人数和服务队"))
        except DomainError as exc:
            return await self._refused(db, principal, exc, data)
        return flashed(Redirect("/volunteers#needs", status_code=303), "志愿服务需求已发布。")

    @post("/pairings")
    async def pair(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                fields = {"volunteer_id": _number(data.get("volunteer_id")) or 0, "household": data.get("household", "").strip(), "need_id": _number(data.get("need_id"))}
                await service.pair(db, principal, _convert(fields, schemas.VolunteerPairingIn, "请选择志愿者并填写结对户的地址"))
        except DomainError as exc:
            return await self._refused(db, principal, exc, data)
        return flashed(Redirect("/volunteers#pairings", status_code=303), "结对已建立。")


PAGES = [VolunteerPhonePages, VolunteerServiceWorker, ApprovalPages, VolunteerDeskPages]
