"""Pages of the calls (Simplified Chinese, the same use cases as the API): the district's or street's desk (open a
call, see the bids after the deadline, close, award, answer objections), the organisation's (open calls, its bid,
its results, objections), the panel's (declare, score, sign), and the public award publicity without login."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, TypeVar

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from community.calls import queries, rules, schemas, service
from community.calls.service import BUYERS, OFFICIAL_PANEL_ROLES
from community.needs import queries as needs_queries
from foundation.access import Principal, Role
from foundation.clock import BUSINESS_TZ, utc_now
from foundation.errors import DomainError, InvalidInput
from foundation.money import hundredths
from foundation.storage import BlobStore
from foundation.text import visible
from foundation.web.auth import allow, logged_in
from foundation.web.flash import flashed
from foundation.web.layout import attempt, form_body, form_error, page
from foundation.web.params import provide_store
from foundation.web.problems import status_of

STATUS_NAMES = {"open": "投标中", "closed": "已截止待开标", "evaluating": "评审中", "publicity": "结果公示中", "awarded": "已定标", "failed": "流标"}
BID_STATUS_NAMES = {"submitted": "有效", "withdrawn": "已撤回", "replaced": "已替换", "invalid": "无效"}
AWARD_STATUS_NAMES = {"pending": "公示中", "active": "已生效", "cancelled": "已撤销"}
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def fen_of(text: str | None, field: str) -> int:
    """An amount typed in yuan ("48000" or "48,000.50") as fen; refused in Chinese when it is not one."""
    fen = hundredths(text or "")
    if fen is None or fen <= 0 or fen > 20_000_000 * 100:
        raise InvalidInput(f"{field}: an amount in yuan", zh="请填写金额（元），最多两位小数", field=field)
    return fen


T = TypeVar("T")



def status_name(call: schemas.CallOut) -> str:
    return STATUS_NAMES["closed" if call.status == "open" and not call.sealed else call.status]


async def _calls_page(db: AsyncSession, principal: Principal, errors: dict[str, str]) -> Template:
    now = utc_now()
    calls = [await service.call_out(db, c, now) for c in await service.list_calls(db, principal)]
    items = await service.catalogue_choices(db, principal, now) if principal.role in BUYERS else []
    return page(
        "calls.html", principal, calls=calls, names={c.id: status_name(c) for c in calls}, methods=rules.METHOD_NAMES,
        may_open=principal.role in BUYERS, categories=[c.value for c in schemas.Category], errors=errors, items=items,
    )


def lots_of(data: dict[str, str], title: str) -> list[dict[str, Any]]:
    """The lots (标段) typed one per line as "名称 预算（元）"; none typed, the call is one lot of the budget field."""
    lots = []
    for line in (data.get("lots") or "").splitlines():
        if line.strip():
            name, _, amount = line.strip().rpartition(" ")
            if not visible(name):
                raise InvalidInput("lots: one per line, name then budget in yuan", zh="标段每行一项：名称 空格 预算（元）", field="lots")
            lots.append({"title": name.strip(), "budget_fen": fen_of(amount, "lots")})
    return lots or [{"title": title, "budget_fen": fen_of(data.get("budget"), "budget")}]


async def _call_context(db: AsyncSession, principal: Principal, call_id: int) -> dict[str, Any]:
    now = utc_now()
    row = await queries.call_row(db, call_id)
    call = await service.call_out(db, row, now)
    buyer = queries.is_buyer(principal, row)
    member = await queries.panel_member(db, principal, call_id)
    context: dict[str, Any] = {
        "call": call, "status_name": status_name(call), "method_name": rules.METHOD_NAMES[call.method], "buyer": buyer, "member": member,
        "is_org": principal.role is Role.SOCIAL_ORG, "awards": await service.awards_of(db, call_id), "bids": [], "signals": [], "ranking": [],
        "objections": [], "panel": [], "client_id": uuid.uuid4().hex, "bid_names": BID_STATUS_NAMES, "award_names": AWARD_STATUS_NAMES,
        "item": await needs_queries.catalogue_item(db, row.catalogue_item_id) if row.catalogue_item_id is not None else None,
    }
    if principal.role is Role.SOCIAL_ORG or ((buyer or member) and not call.sealed):
        context["bids"] = await service.bid_summaries(db, principal, call_id, now)
    if buyer and not call.sealed:
        context["signals"] = await service.signals(db, principal, call_id, now)
        context["ranking"] = await service.ranking(db, principal, call_id, now)
    if buyer or principal.role is Role.SOCIAL_ORG:
        context["objections"] = await service.objections_of(db, principal, call_id)
    # an organisation objects once to an award (its own objections are all it is shown): no second form for it
    context["objected_award_ids"] = {o.award_id for o in context["objections"]} if principal.role is Role.SOCIAL_ORG else set()
    if buyer:
        context["panel"] = await service.panel(db, principal, call_id)
        if call.status in ("open", "evaluating") and not await service.scoring_started(db, call_id):  # else the panel is fixed: no form
            context["candidates"] = await service.panel_candidates(db, principal, call_id)
    return context


CALL_ACTIONS_DONE = {"panel": "评审委员会已组建。", "close-bidding": "投标已截止。", "close-evaluation": "评审已结束。"}
PANEL_ACTIONS_DONE = {"declare": "利益申报已提交。", "score": "评分已保存。", "sign": "评审意见已签署。"}


class CallPages(Controller):
    path = "/community"
    guards = [logged_in]
    include_in_schema = False
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/calls")
    async def calls(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await _calls_page(db, principal, {})

    @post("/calls", guards=[allow(BUYERS, "opening a call")])
    async def open_call(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        """The district or a street opens a call from its desk: one lot, criteria one per line as "名称 分值"."""
        try:
            async with attempt(db):
                criteria = []
                for line in (data.get("criteria") or "").splitlines():
                    name, _, weight = line.strip().rpartition(" ")
                    if line.strip():
                        if not visible(name) or not weight.isdecimal():
                            raise InvalidInput("criteria: one per line, name then weight", zh="评分项每行一项：名称 空格 分值", field="criteria")
                        criteria.append({"name": name.strip(), "weight": int(weight)})
                try:
                    deadline = datetime.fromisoformat(data.get("bid_deadline") or "").replace(tzinfo=BUSINESS_TZ)
                    method = schemas.Method(data.get("method") or "")
                    category = schemas.Category(data.get("category") or "")
                except ValueError:
                    raise InvalidInput("choose the method, category and deadline", zh="请选择采购方式、类别并填写截止时间", field="_form") from None
                title = (data.get("title") or "").strip()
                if len(title) < 2 or not criteria:
                    raise InvalidInput("title and criteria", zh="请填写项目名称和评分项", field="title")
                invited = [int(i) for i in (data.get("invited") or "").replace("，", ",").split(",") if i.strip().isdecimal()]
                item = (data.get("catalogue_item_id") or "").strip()
                body = form_body(
                    schemas.CallCreate, title=title, category=category, method=method, bid_deadline=deadline, description=(data.get("description") or "").strip(),
                    lots=lots_of(data, title), criteria=criteria,
                    method_reason=(data.get("method_reason") or "").strip(), invited_organisation_ids=invited,
                    catalogue_item_id=int(item) if item.isdecimal() else None,
                )
                call = await service.open_call(db, principal, body, utc_now())
        except DomainError as exc:
            shown = await _calls_page(db, principal, form_error(exc))
            shown.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
            return shown
        return flashed(Redirect(path=f"/community/calls/{call.id}"), "项目招标已发布。")

    @get("/calls/{call_id:int}")
    async def call(self, call_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("call.html", principal, errors={}, **await _call_context(db, principal, call_id))

    async def _after(self, db: AsyncSession, principal: Principal, call_id: int, exc: DomainError) -> Template:
        shown = page("call.html", principal, errors=form_error(exc), **await _call_context(db, principal, call_id))
        shown.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
        return shown

    @post("/calls/{call_id:int}/bid", guards=[allow({Role.SOCIAL_ORG}, "bidding")])
    async def bid(
        self, call_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]
    ) -> Response[Any]:
        try:
            async with attempt(db):
                lot = data.get("lot_number") or ""
                plan, team = (data.get("plan") or "").strip(), (data.get("team") or "").strip()
                if not plan or not team or not lot.isdecimal():
                    raise InvalidInput("plan, team and lot", zh="请填写服务方案和团队，并选择标包", field="plan")
                body = form_body(schemas.BidIn, client_id=(data.get("client_id") or uuid.uuid4().hex)[:36], lot_number=int(lot[:3]), plan=plan, team=team, amount_fen=fen_of(data.get("amount"), "amount"))
                await service.submit_bid(db, principal, store, call_id, body, utc_now())
        except DomainError as exc:
            return await self._after(db, principal, call_id, exc)
        return flashed(Redirect(path=f"/community/calls/{call_id}"), "投标文件已提交。")

    @get("/bids/{bid_id:int}")
    async def bid_page(self, bid_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        """A bid's plan, team, amount and documents, to whom the API shows it (its organisation; the buyer and the
        panel, less a recused member, after the deadline); its documents download through /documents/bids/documents/."""
        bid = await service.bid_for(db, principal, bid_id, utc_now())
        member = await queries.panel_member(db, principal, bid.call_id)
        call = await service.call_out(db, await queries.call_row(db, bid.call_id), utc_now())
        return page("bid.html", principal, bid=bid, call=call, member=member, bid_names=BID_STATUS_NAMES)

    @post("/bids/{bid_id:int}/withdraw", guards=[allow({Role.SOCIAL_ORG}, "withdrawing a bid")])
    async def withdraw(self, bid_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        bid = await service.withdraw_bid(db, principal, bid_id, utc_now())
        return flashed(Redirect(path=f"/community/calls/{bid.call_id}"), "投标已撤回。")

    @post("/calls/{call_id:int}/{action:str}", guards=[allow(BUYERS, "running a call")])
    async def buyer_action(
        self, call_id: FromPath[int], action: FromPath[str], request: Request[Any, Any, Any], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        """Name the panel, close the bidding or the evaluation from the desk."""
        try:
            async with attempt(db):
                if action == "panel":
                    chosen = (await request.form()).getall("user_ids", [])
                    if not chosen or not all(isinstance(v, str) and v.isdecimal() and len(v) <= 10 for v in chosen):
                        raise InvalidInput("choose the panel's members", zh="请勾选评审委员", field="user_ids")
                    await service.assign_panel(db, principal, call_id, form_body(schemas.PanelIn, user_ids=sorted({int(v) for v in chosen})))
                elif action == "close-bidding":
                    await service.close_bidding(db, principal, call_id, utc_now())
                elif action == "close-evaluation":
                    await service.close_evaluation(db, principal, call_id, utc_now())
                else:
                    raise InvalidInput(f"unknown action {action}", zh="未知操作")
        except DomainError as exc:
            return await self._after(db, principal, call_id, exc)
        return flashed(Redirect(path=f"/community/calls/{call_id}"), CALL_ACTIONS_DONE[action])

    @post("/awards/{award_id:int}/object", guards=[allow({Role.SOCIAL_ORG}, "objecting to an award")])
    async def object_to_award(self, award_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        call_id = await service.awards_call_id(db, award_id)
        try:
            async with attempt(db):
                text = (data.get("text") or "").strip()
                if len(text) < 2:
                    raise InvalidInput("write the objection", zh="请写明质疑事项和理由", field="text")
                await service.object_to_award(db, principal, award_id, form_body(schemas.ObjectionIn, text=text), utc_now())
        except DomainError as exc:
            return await self._after(db, principal, call_id, exc)
        return flashed(Redirect(path=f"/community/calls/{call_id}"), "质疑已提交，等待采购人书面答复。")

    @post("/awards/{award_id:int}/confirm", guards=[allow(BUYERS, "confirming an award")])
    async def confirm(self, award_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        call_id = await service.awards_call_id(db, award_id)
        try:
            async with attempt(db):
                await service.confirm_award(db, principal, award_id, utc_now())
        except DomainError as exc:
            return await self._after(db, principal, call_id, exc)
        return flashed(Redirect(path=f"/community/calls/{call_id}"), "中标结果已确认。")

    @post("/objections/{objection_id:int}/answer", guards=[allow(BUYERS, "answering an objection")])
    async def answer(self, objection_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        call_id = await service.objection_call_id(db, objection_id)
        try:
            async with attempt(db):
                answer = (data.get("answer") or "").strip()
                if len(answer) < 2 or data.get("verdict") not in ("upheld", "dismissed"):
                    raise InvalidInput("write the answer and choose", zh="请写明书面答复，并选择质疑是否成立", field="answer")
                await service.answer_objection(db, principal, objection_id, form_body(schemas.ObjectionAnswerIn, answer=answer, upheld=data.get("verdict") == "upheld"), utc_now())
        except DomainError as exc:
            return await self._after(db, principal, call_id, exc)
        return flashed(Redirect(path=f"/community/calls/{call_id}"), "质疑答复已保存。")

    # The panel

    @get("/panel/{call_id:int}", guards=[allow({Role.PANEL_MEMBER, *OFFICIAL_PANEL_ROLES}, "evaluating")])
    async def panel(self, call_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await _panel_page(db, principal, call_id, {})

    @post("/panel/{call_id:int}/{action:str}", guards=[allow({Role.PANEL_MEMBER, *OFFICIAL_PANEL_ROLES}, "evaluating")])
    async def panel_action(
        self, call_id: FromPath[int], action: FromPath[str], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        """Declare conflicts (tick the bidders), score one bid (a number per criterion), or sign."""
        try:
            async with attempt(db):
                now = utc_now()
                if action == "declare":
                    conflicted = [int(k.removeprefix("conflict-")) for k, v in data.items() if k.startswith("conflict-") and v and k.removeprefix("conflict-").isdecimal()]
                    await service.declare(db, principal, call_id, form_body(schemas.DeclarationIn, conflicted_organisation_ids=conflicted, reason=(data.get("reason") or "").strip()), now)
                elif action == "score":
                    points = []
                    for key, value in data.items():
                        if key.startswith("points-"):
                            if not value.strip().isdecimal():
                                raise InvalidInput("points are whole numbers", zh="分数须为整数", field="points")
                            points.append({"criterion_number": key.removeprefix("points-"), "points": value.strip()})
                    bid_id = data.get("bid_id") or ""
                    if not bid_id.isdecimal() or not all(p["criterion_number"].isdecimal() and len(p["points"]) <= 3 for p in points):
                        raise InvalidInput("points per criterion", zh="请为每个评分项填写整数分数", field="points")
                    score = form_body(schemas.ScoreIn, points=[{"criterion_number": int(p["criterion_number"][:3]), "points": int(p["points"])} for p in points])
                    await service.score_bid(db, principal, int(bid_id[:9]), score, now)
                elif action == "sign":
                    await service.sign_off(db, principal, call_id, now)
                else:
                    raise InvalidInput(f"unknown action {action}", zh="未知操作")
        except (DomainError, ValueError) as exc:
            error = exc if isinstance(exc, DomainError) else InvalidInput(str(exc), zh="输入有误，请检查后再提交")
            shown = await _panel_page(db, principal, call_id, form_error(error))
            shown.status_code = 422 if isinstance(error, InvalidInput) else status_of(error)
            return shown
        return flashed(Redirect(path=f"/community/panel/{call_id}"), PANEL_ACTIONS_DONE[action])


async def _panel_page(db: AsyncSession, principal: Principal, call_id: int, errors: dict[str, str]) -> Template:
    now = utc_now()
    row = await queries.call_row(db, call_id)
    call = await service.call_out(db, row, now)
    member = await queries.panel_member(db, principal, call_id)
    bids = await service.bid_summaries(db, principal, call_id, now) if member is not None and not call.sealed else []
    signals = await service.signals(db, principal, call_id, now) if member is not None and not call.sealed else []
    return page(
        "panel.html", principal, call=call, member=member, bids=bids, signals=signals, errors=errors, status_name=status_name(call),
        ranking=await service.ranking(db, principal, call_id, now) if member is not None and member.signed_at is not None else [],
    )


class PublicCallPages(Controller):
    """The award publicity (中标结果公示): anyone, without logging in."""

    path = "/public/calls"
    include_in_schema = False

    @get("/{call_id:int}")
    async def publicity(self, call_id: FromPath[int], db: NamedDependency[AsyncSession]) -> Template:
        row = await queries.call_row(db, call_id)
        call = await service.call_out(db, row, utc_now())
        return page(
            "publicity.html", None, call=call, awards=await service.awards_of(db, call_id), status_name=status_name(call),
            method_name=rules.METHOD_NAMES[call.method], award_names=AWARD_STATUS_NAMES,
        )


PAGES = [CallPages, PublicCallPages]
