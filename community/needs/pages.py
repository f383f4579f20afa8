"""Pages of the needs pipeline: the committee director's needs, meetings and proposals, the street's proposals to
answer and the district's catalogue. The same services as the API, under the same role and scope rules; a refused
form comes back with the reason in Chinese beside the field."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from community.calls import queries as calls_queries
from community.needs import catalogue as catalogue_service
from community.needs import schemas, service
from community.needs.rules import ANSWER_NAMES, BODY_NAMES, CATALOGUE_STATES, NEED_STATE_NAMES, PROPOSAL_STATE_NAMES, NeedState
from foundation.access import Principal, Role, ScopeKind
from foundation.clock import business_today
from foundation.errors import DomainError, InvalidInput
from foundation.money import hundredths, too_many_decimals
from foundation.one_line import check_one_line
from foundation.paging import PageRequest
from foundation.web.auth import allow
from foundation.web.flash import flashed
from foundation.web.layout import attempt, page, refused
from registry import queries as registry_queries

S = TypeVar("S", bound=msgspec.Struct)
CALL_STATE_NAMES = {"open": "投标中", "evaluating": "评审中", "publicity": "结果公示中", "awarded": "已定标", "failed": "流标"}
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
LIST = PageRequest(page=1, page_size=200)
CLIENT_ID = re.compile(r"[A-Za-z0-9_\-]{8,64}")
FIELD_NAMES = {
    "title": "标题", "category": "类别", "households": "涉及户数", "source": "来源", "raised_on": "提出日期", "description": "说明",
    "body": "会议类型", "held_on": "会议日期", "place": "地点", "members": "成员人数", "present": "出席人数", "minutes": "会议记录",
    "votes": "表决", "need_id": "需求", "in_favour": "赞成", "against": "反对", "abstained": "弃权", "summary": "提案摘要",
    "budget_fen": "预算", "answer": "答复", "reason": "理由", "merge_into_id": "并入的提案", "year": "年度", "note": "说明",
    "street_id": "街道", "proposal_ids": "提案",
}
CATALOGUE_READERS = {Role.ADMIN, Role.FINANCE, Role.STREET_OFFICER, Role.STREET_WORKER, Role.COMMITTEE_DIRECTOR, Role.COMMUNITY_WORKER}


def _client_id(text: str | None) -> str:
    return text if text and CLIENT_ID.fullmatch(text) else uuid.uuid4().hex


def _form_body(model: type[S], values: dict[str, Any]) -> S:
    """A form's fields as the API's request body, checked the same way; a wrong field is refused in Chinese."""
    check_one_line(values, model, beside_field=True)
    try:
        return msgspec.convert(values, type=model, strict=False)
    except msgspec.ValidationError as error:
        found = re.search(r"\$\.(\w+)", str(error))
        field = found.group(1) if found else None
        name = FIELD_NAMES.get(field or "", "输入")
        raise InvalidInput(f"{field}: {error}", zh=f"{name}填写有误，请检查后再提交", field=field) from None


def _fen(text: str | None, field: str = "budget_fen") -> int | None:
    """An amount typed in yuan (12000 or 12000.50) as integer fen; empty is none."""
    text = (text or "").replace(",", "").strip()
    if not text:
        return None
    fen = hundredths(text)
    if fen is None and not too_many_decimals(text):
        raise InvalidInput(f"{field}: {text[:40]!r} is not an amount in yuan", zh="金额请填写元，例如 12000 或 12000.50", field=field)
    if fen is None or fen <= 0:
        raise InvalidInput(f"{field}: {text[:40]} is not a positive amount with at most two decimals", zh="金额须大于 0，最多两位小数", field=field)
    return fen


def _optional_int(text: str | None) -> int | str | None:
    text = (text or "").strip()
    return int(text) if text.isdecimal() else (text or None)


async def _community_names(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    return {c.id: c.name for c in (await registry_queries.communities(db, ids)).values()} if ids else {}


async def _needs_page(db: AsyncSession, me: Principal, **context: Any) -> dict[str, Any]:
    needs, _ = await service.list_needs(db, me, LIST)
    return {
        "needs": needs, "names": await _community_names(db, {n.community_id for n in needs}), "state_names": NEED_STATE_NAMES,
        "rules": service.needs_rules(), "is_director": me.role is Role.COMMITTEE_DIRECTOR, "today": business_today(),
        "need_client_id": uuid.uuid4().hex, "proposal_client_ids": {n.id: uuid.uuid4().hex for n in needs}, "typed": {}, "failed_id": None, **context,
    }


async def _meetings_page(db: AsyncSession, me: Principal, **context: Any) -> dict[str, Any]:
    meetings, _ = await service.list_meetings(db, me, LIST)
    needs, _ = await service.list_needs(db, me, LIST)
    open_needs = [n for n in needs if n.state in (NeedState.RECORDED, NeedState.DELIBERATED)]
    return {
        "meetings": await service.meeting_rows(db, meetings), "open_needs": open_needs, "state_names": NEED_STATE_NAMES, "body_names": BODY_NAMES,
        "is_director": me.role is Role.COMMITTEE_DIRECTOR, "today": business_today(), "meeting_client_id": uuid.uuid4().hex, "typed": {}, **context,
    }


async def _proposals_page(db: AsyncSession, me: Principal, **context: Any) -> dict[str, Any]:
    proposals, _ = await service.list_proposals(db, me, LIST)
    rows = await service.proposal_rows(db, proposals, business_today())
    return {
        "proposals": rows, "state_names": PROPOSAL_STATE_NAMES, "answer_names": ANSWER_NAMES, "may_answer": me.role is Role.STREET_OFFICER,
        "merge_targets": [p for p in rows if p.state in ("waiting", "included", "forwarded")], "typed": {}, "failed_id": None, **context,
    }


async def _catalogue_page(db: AsyncSession, me: Principal, **context: Any) -> dict[str, Any]:
    catalogues = [await catalogue_service.catalogue_out(db, c) for c in await catalogue_service.list_catalogues(db, me)]
    candidates: list[schemas.ProposalOut] = []
    if me.scope is ScopeKind.DISTRICT:
        for state in CATALOGUE_STATES:
            found, _ = await service.list_proposals(db, me, LIST, state=state)
            candidates += await service.proposal_rows(db, found, business_today())
    # What has been called and awarded against each published item (the calls package keeps the calls).
    called = await calls_queries.item_commitments(db, [i.id for c in catalogues if c.state == "published" for i in c.items])
    return {
        "catalogues": catalogues, "called": called, "call_states": CALL_STATE_NAMES,
        "may_edit": me.role is Role.ADMIN, "candidates": sorted(candidates, key=lambda p: p.id),
        "streets": await registry_queries.streets(db), "rules": service.needs_rules(), "state_names": PROPOSAL_STATE_NAMES,
        "this_year": business_today().year, "typed": {}, "failed_id": None, **context,
    }


class NeedsPages(Controller):
    path = "/community"
    include_in_schema = False

    @get("/needs", guards=[allow(service.READERS, "reading needs")])
    async def needs(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("needs.html", principal, **await _needs_page(db, principal))

    @post("/needs", guards=[allow(service.DIRECTORS, "recording needs")])
    async def record_need(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        try:
            async with attempt(db):
                body = _form_body(
                    schemas.NeedIn,
                    {
                        "client_id": _client_id(data.get("client_id")), "title": data.get("title", ""), "category": data.get("category", ""),
                        "households": _optional_int(data.get("households")), "source": data.get("source", ""), "raised_on": data.get("raised_on") or None,
                        "description": data.get("description", ""),
                    },
                )
                await service.record_need(db, principal, body)
        except DomainError as exc:
            return refused("needs.html", principal, exc, **await _needs_page(db, principal, typed=data, need_client_id=_client_id(data.get("client_id"))))
        return flashed(Redirect(path="/community/needs"), "需求已登记。")

    @post("/needs/{need_id:int}/propose", guards=[allow(service.DIRECTORS, "sending proposals")])
    async def propose(self, need_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        try:
            async with attempt(db):
                body = _form_body(
                    schemas.ProposalIn,
                    {"client_id": _client_id(data.get("client_id")), "need_id": need_id, "summary": data.get("summary", ""), "title": data.get("title", ""), "budget_fen": _fen(data.get("budget_yuan"))},
                )
                await service.send_proposal(db, principal, body)
        except DomainError as exc:
            return refused("needs.html", principal, exc, **await _needs_page(db, principal, typed=data, failed_id=need_id))
        return flashed(Redirect(path="/community/proposals"), "提案已报送街道。")

    @get("/meetings", guards=[allow(service.READERS, "reading meetings")])
    async def meetings(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("meetings.html", principal, **await _meetings_page(db, principal))

    @post("/meetings", guards=[allow(service.DIRECTORS, "recording meetings")])
    async def record_meeting(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        try:
            async with attempt(db):
                body = _form_body(
                    schemas.MeetingIn,
                    {
                        "client_id": _client_id(data.get("client_id")), "body": data.get("body", ""), "held_on": data.get("held_on") or None,
                        "place": data.get("place", ""), "members": _optional_int(data.get("members")), "present": _optional_int(data.get("present")),
                        "minutes": data.get("minutes", ""),
                        "votes": [
                            {
                                "need_id": _optional_int(data.get("need_id")), "in_favour": _optional_int(data.get("in_favour")),
                                "against": _optional_int(data.get("against")), "abstained": _optional_int(data.get("abstained")) or 0,
                            }
                        ],
                    },
                )
                await service.record_meeting(db, principal, body)
        except DomainError as exc:
            return refused("meetings.html", principal, exc, **await _meetings_page(db, principal, typed=data, meeting_client_id=_client_id(data.get("client_id"))))
        return flashed(Redirect(path="/community/meetings"), "会议已记录。")

    @get("/proposals", guards=[allow(service.READERS, "reading proposals")])
    async def proposals(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("proposals.html", principal, **await _proposals_page(db, principal))

    @post("/proposals/{proposal_id:int}/answer", guards=[allow(service.STREET, "answering proposals")])
    async def answer(self, proposal_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        try:
            async with attempt(db):
                body = _form_body(
                    schemas.ProposalAnswerIn, {"answer": data.get("answer", ""), "reason": data.get("reason", ""), "merge_into_id": _optional_int(data.get("merge_into_id"))}
                )
                await service.answer_proposal(db, principal, proposal_id, body)
        except DomainError as exc:
            return refused("proposals.html", principal, exc, **await _proposals_page(db, principal, typed=data, failed_id=proposal_id))
        return flashed(Redirect(path=f"/community/proposals#proposal-{proposal_id}"), "答复已保存。")

    @get("/catalogues", guards=[allow(CATALOGUE_READERS, "reading the catalogue")])
    async def catalogues(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("catalogues.html", principal, **await _catalogue_page(db, principal))

    @post("/catalogues", guards=[allow(service.DISTRICT, "drafting the catalogue")])
    async def draft(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        try:
            async with attempt(db):
                body = _form_body(schemas.CatalogueIn, {"year": _optional_int(data.get("year")), "note": data.get("note", "")})
                await catalogue_service.create_catalogue(db, principal, body)
        except DomainError as exc:
            return refused("catalogues.html", principal, exc, **await _catalogue_page(db, principal, typed=data, failed_id="draft"))
        return flashed(Redirect(path="/community/catalogues"), "草稿已建立。")

    @post("/catalogues/{catalogue_id:int}/items", guards=[allow(service.DISTRICT, "changing the catalogue")])
    async def add_item(self, catalogue_id: FromPath[int], data: Annotated[dict[str, str | list[str]], Body(media_type=RequestEncodingType.URL_ENCODED)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        chosen = data.get("proposal_ids") or []
        proposal_ids = [chosen] if isinstance(chosen, str) else chosen
        text = {k: v if isinstance(v, str) else ",".join(v) for k, v in data.items()}
        try:
            async with attempt(db):
                body = _form_body(
                    schemas.CatalogueItemIn,
                    {
                        "title": text.get("title", ""), "category": text.get("category", ""), "budget_fen": _fen(text.get("budget_yuan")),
                        "street_id": _optional_int(text.get("street_id")), "description": text.get("description", ""), "proposal_ids": [_optional_int(p) for p in proposal_ids],
                    },
                )
                await catalogue_service.add_catalogue_item(db, principal, catalogue_id, body)
        except DomainError as exc:
            return refused("catalogues.html", principal, exc, **await _catalogue_page(db, principal, typed=text, failed_id=catalogue_id))
        return flashed(Redirect(path=f"/community/catalogues#catalogue-{catalogue_id}"), "项目已加入草稿。")

    @post("/catalogues/{catalogue_id:int}/publish", guards=[allow(service.DISTRICT, "publishing the catalogue")])
    async def publish(self, catalogue_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        try:
            async with attempt(db):
                await catalogue_service.publish_catalogue(db, principal, catalogue_id)
        except DomainError as exc:
            return refused("catalogues.html", principal, exc, **await _catalogue_page(db, principal, failed_id=catalogue_id))
        return flashed(Redirect(path=f"/community/catalogues#catalogue-{catalogue_id}"), "目录已发布，此后不再修改。")


PAGES = [NeedsPages]
