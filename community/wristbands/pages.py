"""The wristbands' pages (Simplified Chinese, a phone at 390 px): the finder's page of a band (no login, no personal
data, large text) and its alert form; the guardians' view by their own link; the elderly-care social worker's
pages (register an elder, bind a band by its code or by scanning it, replace a lost one, answer alerts); the
community's counts and label printing; the channels a community's notices and alerts go out on."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from community.wristbands import labels, rules, schemas, service
from community.wristbands.tables import WristbandElder
from foundation.access import Principal, Role
from foundation.audit import record_change
from foundation.channels import CHANNEL_KIND_NAMES, TOPIC_NAMES, Channel, ChannelKind, Topic, add_channel, channels_of, messages_of
from foundation.errors import DomainError, InvalidInput, NotFound, PermissionDenied, Unavailable
from foundation.one_line import check_one_line
from foundation.one_line import refusal as not_one_line
from foundation.settings import get_settings
from foundation.storage import BlobStore
from foundation.text import first_line_break, visible
from foundation.throttle import Limit, admit
from foundation.web.auth import allow
from foundation.web.flash import flashed
from foundation.web.layout import attempt, form_error, page, refused
from foundation.web.params import provide_store
from foundation.web.problems import status_of
from foundation.web.sessions import caller_address, write_transactions
from registry import queries as registry_queries
from reports.pdf import FontMissing
from reports.service import PDF

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
PAGE_ROLES = service.COUNTERS | service.PRINTERS | service.CHANNEL_KEEPERS
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


def _limits() -> tuple[Limit, Limit]:
    config = service.wristband_rules()
    window = timedelta(minutes=config.window_minutes)
    return Limit("wristband-alert", config.alerts_per_address, window), Limit("wristband-scan", config.scans_per_address, window)


def _unknown(principal: Principal | None) -> Template:
    """The same page for any address that is no band: it says nothing about why."""
    response = page("finder_unknown.html", principal, emergency=service.wristband_rules().emergency_phones)
    response.status_code = 404
    response.headers.update(PRIVATE)
    return response


class FinderPages(Controller):
    """What anyone who scans a band sees: no login, nothing about the elder."""

    path = "/b"
    include_in_schema = False

    async def _finder(self, db: AsyncSession, request: Request[Any, Any, Any], token: str, **extra: Any) -> Template:
        principal: Principal | None = request.scope.get("user")
        if re.fullmatch(rules.TOKEN_PATTERN, token) is None:
            return _unknown(principal)
        try:
            view, label = await service.finder_view(db, token)
        except NotFound:
            return _unknown(principal)
        binding = None
        if principal is not None and principal.role is Role.CARE_WORKER and principal.community_id == label.community_id and view.state == rules.LabelState.PRINTED:
            binding = {"code": label.short_code, "elders": await service.unbound_elders(db, principal, service.sealer())}
        context = {"view": view, "token": token, "client_id": uuid.uuid4().hex, "binding": binding, "errors": {}, "sent": False, "form": {}} | extra
        response = page("finder.html", principal, **context)
        response.headers.update(PRIVATE)
        return response

    @get("/{token:str}")
    async def finder(self, token: FromPath[str], request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Template:
        return await self._finder(db, request, token)

    @post("/{token:str}/scan", status_code=204)
    async def scanned(self, token: FromPath[str], request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], state: State) -> Response[None]:
        """The band's page reports that it was opened: one scan logged (a flood from one address is refused)."""
        _, per_address = _limits()
        await admit(write_transactions(state), state.settings.resolved_secret_key(), [(per_address, caller_address(request))], zh="打开次数过多，请稍后再试")
        if re.fullmatch(rules.TOKEN_PATTERN, token) is None:
            raise NotFound("wristband", "of this address")
        await service.log_scan(db, token)
        return Response(None, status_code=204, headers=PRIVATE)

    @post("/{token:str}/alert")
    async def alert(self, token: FromPath[str], data: Form, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], state: State) -> Template:
        per_alert, _ = _limits()
        form = {k: v for k, v in data.items() if k != "_csrf_token"}
        try:
            async with attempt(db):
                await admit(write_transactions(state), state.settings.resolved_secret_key(), [(per_alert, caller_address(request))], zh="提交过于频繁，请稍后再试；紧急情况请直接拨打 110")
                if re.fullmatch(rules.TOKEN_PATTERN, token) is None:
                    return _unknown(request.scope.get("user"))
                body = _alert_body(form)
                await service.raise_alert(db, service.sealer(), token, body)
        except NotFound:
            return _unknown(request.scope.get("user"))
        except DomainError as exc:
            response = await self._finder(db, request, token, errors=form_error(exc), form=form)
            response.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
            if exc.extra.get("retry_after_seconds"):
                response.headers["Retry-After"] = str(exc.extra["retry_after_seconds"])
            return response
        return await self._finder(db, request, token, sent=True)


def _number(text: str | None) -> float | None:
    if not text or not visible(text):
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput("the location is not a number", zh="位置信息有误，请重新获取或不分享位置直接发送", field="latitude") from None


def _alert_body(form: dict[str, str]) -> schemas.AlertIn:
    accuracy = _number(form.get("accuracy_m"))
    fields = {
        "client_id": form.get("client_id", ""), "message": form.get("message", "").strip(), "latitude": _number(form.get("latitude")),
        "longitude": _number(form.get("longitude")), "accuracy_m": int(min(accuracy, 100_000)) if accuracy is not None and accuracy >= 0 else None,
    }
    try:
        return msgspec.convert(fields, schemas.AlertIn, strict=False)
    except msgspec.ValidationError as error:
        raise InvalidInput(f"alert form: {error}", zh="留言最多 300 字；位置信息有误时可不分享位置直接发送", field="message") from None


class GuardianPages(Controller):
    """A guardian's own view, by the link sent to them: the elder's scans and alerts; mark the elder found."""

    path = "/g"
    include_in_schema = False

    async def _view(self, db: AsyncSession, link: str, **extra: Any) -> Template:
        try:
            guardian = await service.guardian_of_link(db, link)
        except NotFound:
            return _unknown(None)
        seal = service.sealer()
        elder = await db.get_one(WristbandElder, guardian.elder_id)
        alerts = await service.alerts_of(db, elder_id=elder.id, limit=20)
        reports = {a.id: await service.reports_of(db, a.id) for a in alerts}
        response = page(
            "guardian.html", None, name=seal.open(elder.name_sealed), alerts=alerts, reports=reports, scans=await service.scans_of(db, elder.id, 30),
            label=await service.active_label(db, elder.id), link=link, states=rules.ALERT_STATE_NAMES, **({"errors": {}} | extra),
        )
        response.headers.update(PRIVATE)
        return response

    @get("/{link:str}")
    async def guardian(self, link: FromPath[str], db: NamedDependency[AsyncSession]) -> Template:
        return await self._view(db, link)

    @post("/{link:str}/alerts/{alert_id:int}/found")
    async def found(self, link: FromPath[str], alert_id: FromPath[int], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                await service.guardian_mark_found(db, link, alert_id)
        except NotFound:
            return _unknown(None)
        except DomainError as exc:
            response = await self._view(db, link, errors=form_error(exc))
            response.status_code = status_of(exc)
            return response
        return Redirect(f"/g/{link}", status_code=303)


def _guardians_of(data: dict[str, Any], most: int) -> list[dict[str, str]]:
    found = []
    for n in range(1, most + 1):
        name, phone, relation = (str(data.get(f"guardian{n}_{key}", "")).strip() for key in ("name", "phone", "relation"))
        if name or phone:
            if not (name and phone):
                raise InvalidInput(f"guardian {n} needs a name and a phone", zh=f"第 {n} 位监护人请填写姓名和电话", field=f"guardian{n}_phone")
            found.append({"name": name, "phone": phone, "relation": relation or "其他"})
    return found


def _upload(value: object) -> UploadFile | None:
    return value if isinstance(value, UploadFile) and value.filename else None


class WristbandPages(Controller):
    """The elderly-care social worker's phone pages, the community's counts and label printing."""

    path = "/wristbands"
    include_in_schema = False
    guards = [allow(PAGE_ROLES, "the wristbands")]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    async def _home(self, db: AsyncSession, principal: Principal, **extra: Any) -> Template:
        context: dict[str, Any] = {"counts": await service.counts(db, principal) if principal.role in service.COUNTERS else [], "errors": {}, "form": {}, "printed": None}
        if principal.role is Role.CARE_WORKER:
            context |= {"elders": await service.community_elders(db, principal, service.sealer()), "alerts": await service.alerts_of(db, community_id=principal.community_id, open_only=True)}
        return page("wristbands_home.html", principal, states=rules.ALERT_STATE_NAMES, label_states=rules.LABEL_STATE_NAMES, **(context | extra))

    @get("/")
    async def home(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await self._home(db, principal)

    @get("/register", guards=[allow(service.WORKERS, "registering elders")])
    async def register_form(self, principal: NamedDependency[Principal]) -> Template:
        return page("wristband_register.html", principal, errors={}, form={}, relations=rules.RELATIONS, most=service.wristband_rules().max_guardians, registered=None)

    @post("/register", guards=[allow(service.WORKERS, "registering elders")])
    async def register(self, data: Multipart, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Template:
        typed = {k: str(v) for k, v in data.items() if isinstance(v, str) and k != "_csrf_token"}
        most = service.wristband_rules().max_guardians
        try:
            async with attempt(db):
                consent = _upload(data.get("consent_form"))
                photo = _upload(data.get("photo"))
                limit = get_settings().attachment_max_bytes
                fields = {"name": typed.get("name", "").strip(), "consent_by": typed.get("consent_by", ""), "consent_on": typed.get("consent_on", ""), "care_notes": typed.get("care_notes", ""), "guardians": _guardians_of(typed, most)}
                check_one_line(fields, schemas.ElderIn, beside_field=True)
                try:
                    body = msgspec.convert(fields, schemas.ElderIn, strict=False)
                except msgspec.ValidationError as error:
                    raise InvalidInput(f"register form: {error}", zh="请填写老人姓名（30 字以内）、同意书签署日期和至少一位监护人", field="name") from None
                registered = await service.register_elder(
                    db, principal, service.sealer(), store, body, await consent.read(limit + 1) if consent else b"", await photo.read(limit + 1) if photo else None
                )
        except DomainError as exc:
            return refused("wristband_register.html", principal, exc, form=typed, relations=rules.RELATIONS, most=most, registered=None)
        return page("wristband_register.html", principal, errors={}, form={}, relations=rules.RELATIONS, most=most, registered=registered, name=body.name)

    async def _elder(self, db: AsyncSession, principal: Principal, elder_id: int) -> dict[str, Any]:
        elder = await service.elder_detail(db, principal, service.sealer(), elder_id)
        return {"elder": elder, "alerts": await service.alerts_of(db, elder_id=elder_id), "scans": await service.scans_of(db, elder_id), "states": rules.ALERT_STATE_NAMES, "reasons": rules.REVOKE_REASON_NAMES, "form": {}}

    @get("/elders/{elder_id:int}", guards=[allow(service.WORKERS, "reading elders")])
    async def elder(self, elder_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("wristband_elder.html", principal, errors={}, **await self._elder(db, principal, elder_id))

    @post("/elders/{elder_id:int}/bind", guards=[allow(service.WORKERS, "binding wristbands")])
    async def bind(self, elder_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        return await self._bind(db, principal, elder_id, data)

    async def _bind(self, db: AsyncSession, principal: Principal, elder_id: int, data: dict[str, str]) -> Template | Redirect:
        try:
            async with attempt(db):
                await service.bind_label(db, principal, elder_id, data.get("code", ""))
        except DomainError as exc:
            return refused("wristband_elder.html", principal, exc, **await self._elder(db, principal, elder_id))
        return flashed(Redirect(f"/wristbands/elders/{elder_id}", status_code=303), "腕带已绑定。")

    @post("/bind", guards=[allow(service.WORKERS, "binding wristbands")])
    async def bind_scanned(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        """From a band's page opened by the social worker's phone camera: bind it to the chosen elder."""
        elder_id = data.get("elder_id", "")
        if not elder_id.isdecimal():
            return refused("wristbands_home.html", principal, InvalidInput("choose the elder", zh="请选择佩戴腕带的老人", field="elder_id"), **await self._context(db, principal))
        return await self._bind(db, principal, int(elder_id), data)

    async def _context(self, db: AsyncSession, principal: Principal) -> dict[str, Any]:
        return {"counts": [], "elders": await service.community_elders(db, principal, service.sealer()), "alerts": [], "states": rules.ALERT_STATE_NAMES, "label_states": rules.LABEL_STATE_NAMES, "form": {}, "printed": None}

    @post("/elders/{elder_id:int}/replace", guards=[allow(service.WORKERS, "replacing wristbands")])
    async def replace(self, elder_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                await service.replace_label(db, principal, elder_id, data.get("code", ""), data.get("reason", ""))
        except DomainError as exc:
            return refused("wristband_elder.html", principal, exc, **await self._elder(db, principal, elder_id))
        return flashed(Redirect(f"/wristbands/elders/{elder_id}", status_code=303), "腕带已更换，旧腕带已停用。")

    async def _alert(self, db: AsyncSession, principal: Principal, alert_id: int) -> dict[str, Any]:
        alert, reports, code = await service.alert_detail(db, principal, alert_id)
        return {"alert": alert, "reports": reports, "code": code, "states": rules.ALERT_STATE_NAMES, "messages": await messages_of(db, f"wristband_alert:{alert.id}")}

    @get("/alerts/{alert_id:int}", guards=[allow(service.WORKERS, "reading alerts")])
    async def alert(self, alert_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("wristband_alert.html", principal, errors={}, **await self._alert(db, principal, alert_id))

    @post("/alerts/{alert_id:int}/{step:str}", guards=[allow(service.WORKERS, "answering alerts")])
    async def alert_step(self, alert_id: FromPath[int], step: FromPath[str], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                if step == "acknowledge":
                    await service.acknowledge(db, principal, alert_id)
                elif step == "found":
                    await service.mark_found(db, principal, alert_id, data.get("note", ""))
                else:
                    raise NotFound("alert step", step)
        except DomainError as exc:
            return refused("wristband_alert.html", principal, exc, **await self._alert(db, principal, alert_id))
        return flashed(Redirect(f"/wristbands/alerts/{alert_id}", status_code=303), "已响应求助。" if step == "acknowledge" else "已登记：老人已找到。")

    @post("/sheets", guards=[allow(service.PRINTERS, "printing wristband labels")])
    async def print_sheet(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Template | Redirect:
        count = data.get("count", "").strip()
        try:
            async with attempt(db):
                if not count.isdecimal():
                    raise InvalidInput("count is a whole number", zh="请填写要打印的标签数量", field="count")
                try:
                    sheet, _ = await labels.print_sheet(db, store, principal, int(count))
                except FontMissing as missing:
                    raise Unavailable(str(missing), zh="服务器缺少中文字体，暂不能生成标签") from None
        except DomainError as exc:
            response = await self._home(db, principal, errors=form_error(exc), form={"count": count})
            response.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
            return response
        return Redirect(f"/wristbands/sheets/{sheet.id}/pdf", status_code=303)

    @get("/sheets/{sheet_id:int}/pdf", guards=[allow(service.PRINTERS, "printing wristband labels")])
    async def sheet_pdf(self, sheet_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        content = await labels.sheet_pdf(db, store, principal, sheet_id)
        return Response(content, media_type=PDF, headers={"Content-Disposition": f'attachment; filename="wristband-labels-{sheet_id}.pdf"', "Cache-Control": "private"})


class ChannelPages(Controller):
    """Where a community's alerts and notices go beyond the system: its director (or the district) adds a webhook,
    the WeCom group robot or SMS, and switches one off."""

    path = "/channels"
    include_in_schema = False
    guards = [allow(service.CHANNEL_KEEPERS, "notification channels")]

    def _community(self, principal: Principal, data: dict[str, str] | None = None) -> int | None:
        if principal.role is Role.COMMITTEE_DIRECTOR:
            return principal.community_id
        chosen = (data or {}).get("community_id", "")
        return int(chosen) if chosen.isdecimal() else None

    async def _page(self, db: AsyncSession, principal: Principal, **extra: Any) -> Template:
        channels = await channels_of(db, principal.community_id if principal.role is Role.COMMITTEE_DIRECTOR else None, active_only=False)
        return page("channels.html", principal, **({"channels": channels, "kinds": CHANNEL_KIND_NAMES, "topics": TOPIC_NAMES, "errors": {}, "form": {}} | extra))

    @get("/")
    async def channels(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await self._page(db, principal)

    @post("/")
    async def add(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        form = {k: v for k, v in data.items() if k != "_csrf_token"}
        try:
            async with attempt(db):
                kind = ChannelKind(form.get("kind", "")) if form.get("kind") in set(ChannelKind) else None
                if kind is None:
                    raise InvalidInput("choose webhook, wecom or sms", zh="请选择渠道类型", field="kind")
                target = form.get("target", "").strip()
                if kind is not ChannelKind.SMS and not re.fullmatch(r"https?://[^\s]{3,1000}", target):
                    raise InvalidInput("the address is an http(s) URL", zh="请填写以 http:// 或 https:// 开头的接收地址", field="target")
                name = form.get("name", "").strip()
                if not 1 <= len(name) <= 60:
                    raise InvalidInput("name the channel (60 characters at most)", zh="请填写渠道名称（60 字以内）", field="name")
                if (character := first_line_break(name)) is not None:
                    raise not_one_line("name", character, beside_field=True)
                if kind is ChannelKind.WEBHOOK and len(form.get("secret", "").strip()) < 16:
                    raise InvalidInput("a webhook is signed with a secret of 16 characters or more", zh="Webhook 须填写至少 16 个字符的签名密钥", field="secret")
                community_id = self._community(principal, form)
                if community_id is not None and await registry_queries.community(db, community_id) is None:
                    raise InvalidInput(f"community {community_id} does not exist", zh="没有这个社区编号", field="community_id")
                topics = [t for t in Topic if form.get(f"topic_{t.value}")]
                if not topics:
                    raise InvalidInput("choose what the channel carries", zh="请至少选择一类消息", field="topics")
                channel = await add_channel(
                    db, service.sealer(), community_id=community_id, kind=kind, name=name, target=target if kind is not ChannelKind.SMS else "",
                    secret=form.get("secret", "").strip(), topics=topics, created_by=principal.label,
                )
                record_change(db, principal, "channel.added", "notification_channel", channel.id, after={"kind": kind.value, "community_id": channel.community_id, "topics": channel.topics})
        except DomainError as exc:
            response = await self._page(db, principal, errors=form_error(exc), form=form)
            response.status_code = 422
            return response
        return flashed(Redirect("/channels", status_code=303), "消息渠道已新增。")

    @post("/{channel_id:int}/off")
    async def switch_off(self, channel_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Redirect:
        channel = await db.get(Channel, channel_id)
        if channel is None or (principal.role is Role.COMMITTEE_DIRECTOR and channel.community_id != principal.community_id):
            raise NotFound("channel", channel_id)
        if principal.role is Role.COMMITTEE_DIRECTOR and channel.community_id is None:
            raise PermissionDenied("the district's channels are the administrator's", zh="区级渠道由区级管理员管理")
        channel.active = False
        await db.flush()
        record_change(db, principal, "channel.switched_off", "notification_channel", channel.id)
        return flashed(Redirect("/channels", status_code=303), "消息渠道已停用。")


PAGES = [FinderPages, GuardianPages, WristbandPages, ChannelPages]
