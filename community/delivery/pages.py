"""Pages of delivery (Simplified Chinese, the same use cases as the API): the street's delegation page (register a
project with its indicators, delegate it, see the answers), the director's desk (accept or decline, assign the
social workers), the social worker's phone log (activities kept on the phone with no signal, residents served),
and a project's progress per indicator."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from litestar import Controller, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from community.calls.schemas import Category
from community.delivery import rules, schemas, service
from community.delivery.service import BUYERS, DIRECTORS, LOGGERS
from community.volunteers import queries as volunteer_queries
from foundation.access import Principal
from foundation.clock import business_today, utc_now
from foundation.errors import DomainError, InvalidInput
from foundation.storage import BlobStore
from foundation.web.auth import allow, logged_in
from foundation.web.flash import flashed
from foundation.web.layout import attempt, form_body, page, refused
from foundation.web.offline import offline_worker, outbox_refusal
from foundation.web.params import provide_store
from foundation.web.problems import status_of
from inspections.pages import outbox_photo
from people import queries as people_queries
from registry import queries as registry_queries

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
T = TypeVar("T")
MEASURE_WORDS = {"场次": "sessions", "人次": "attendances"}



def indicators_of(text: str) -> list[dict[str, Any]]:
    """The indicators typed one a line: 名称 场次|人次 目标数, e.g. “入户探访 人次 300”."""
    found = []
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        match = re.fullmatch(r"(.+?)\s+(场次|人次)\s+(\d{1,7})", line)
        if match is None:
            raise InvalidInput(f"indicator line {line!r}", zh=f"指标“{line}”格式有误：每行写“名称 场次或人次 目标数”", field="indicators")
        found.append({"name": match.group(1), "measure": MEASURE_WORDS[match.group(2)], "target": int(match.group(3))})
    if not found:
        raise InvalidInput("no indicator", zh="请至少填写一项指标", field="indicators")
    return found


@dataclass
class PhotoForm:
    file: UploadFile


async def _names(db: AsyncSession, delegations: list[Any]) -> dict[int, str]:
    communities = await registry_queries.communities(db, {d.community_id for d in delegations})
    return {i: c.name for i, c in communities.items()}


class StreetDeliveryPages(Controller):
    """The street's (or district's) delegation page."""

    path = "/community/delivery"
    include_in_schema = False
    guards = [allow(BUYERS, "delegating projects")]

    async def _context(self, db: AsyncSession, principal: Principal) -> dict[str, Any]:
        projects = [await service.project_out(db, p) for p in await service.list_projects(db, principal)]
        delegations = await service.delegation_outs(db, await service.delegations_for(db, principal))
        communities = await registry_queries.communities(db, street_id=principal.street_id) if principal.street_id else await registry_queries.communities(db)
        by_project: dict[int, list[schemas.DelegationOut]] = {}
        for d in delegations:
            by_project.setdefault(d.project_id, []).append(d)
        return {
            "projects": projects, "by_project": by_project, "contracts": await service.unregistered_contracts(db, principal),
            "communities": sorted(communities.values(), key=lambda c: c.code), "community_names": {i: c.name for i, c in (await registry_queries.communities(db)).items()},
            "kinds": rules.KINDS, "statuses": rules.STATUS_NAMES, "measures": rules.MEASURES, "categories": [c.value for c in Category], "errors": {}, "form": {},
            "today": business_today(),
        }

    @get("/")
    async def delegation_page(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("delivery_street.html", principal, **await self._context(db, principal))

    @post("/projects")
    async def register(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                fields: dict[str, Any] = {"target_group": data.get("target_group", ""), "indicators": indicators_of(data.get("indicators", ""))}
                if data.get("contract_id"):
                    fields["contract_id"] = data["contract_id"]
                else:
                    fields |= {"title": data.get("title", "").strip() or None, "starts_on": data.get("starts_on") or None, "ends_on": data.get("ends_on") or None}
                await service.create_project(db, principal, form_body(schemas.ProjectIn, strict=False, **fields), utc_now())
        except DomainError as exc:
            context = await self._context(db, principal)
            context["form"] = {k: v for k, v in data.items() if k != "_csrf_token"}
            context.pop("errors")
            return refused("delivery_street.html", principal, exc, **context)
        return flashed(Redirect("/community/delivery", status_code=303), "服务项目已建立。")

    @post("/projects/{project_id:int}/delegations")
    async def delegate(self, project_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                body = form_body(schemas.DelegationIn, strict=False, community_id=data.get("community_id") or 0, kind=data.get("kind", ""))
                await service.delegate(db, principal, project_id, body, utc_now())
        except DomainError as exc:
            context = await self._context(db, principal)
            context.pop("errors")
            return refused("delivery_street.html", principal, exc, **context, failed_project=project_id)
        return flashed(Redirect(f"/community/delivery#project-{project_id}", status_code=303), "项目已委托给社区，等待居委会答复。")


class DirectorDeskPages(Controller):
    """The committee director's desk: delegations to answer, teams to assign."""

    path = "/community/delivery/desk"
    include_in_schema = False
    guards = [allow(DIRECTORS, "the delegation desk")]

    async def _context(self, db: AsyncSession, principal: Principal) -> dict[str, Any]:
        delegations = await service.delegation_outs(db, await service.delegations_for(db, principal))
        teams = {d.id: await service.team(db, principal, d.id) for d in delegations if d.status == rules.ACCEPTED}
        projects = {p.id: p for p in [await service.project_out(db, await service.project_row(db, i)) for i in {d.project_id for d in delegations}]}
        workers = await people_queries.social_workers(db, principal.community_id) if principal.community_id else []
        return {
            "delegations": delegations, "teams": teams, "projects": projects, "workers": workers, "kinds": rules.KINDS, "statuses": rules.STATUS_NAMES,
            "lead_specialism": service.delivery_limits().lead_specialism, "today": business_today(), "errors": {}, "failed": None,
        }

    @get("/")
    async def desk(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("delivery_desk.html", principal, **await self._context(db, principal))

    async def _refused(self, db: AsyncSession, principal: Principal, exc: DomainError, delegation_id: int) -> Template:
        context = await self._context(db, principal)
        context.pop("errors")
        context["failed"] = delegation_id
        return refused("delivery_desk.html", principal, exc, **context)

    @post("/{delegation_id:int}/answer")
    async def answer(self, delegation_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                verdict = data.get("verdict")
                if verdict not in ("accept", "decline"):
                    raise InvalidInput("choose accept or decline", zh="请选择接受或拒绝", field="_form")
                body = form_body(schemas.AnswerIn, strict=False, accept=verdict == "accept", reason=data.get("reason", ""))
                await service.answer(db, principal, delegation_id, body, utc_now())
        except DomainError as exc:
            return await self._refused(db, principal, exc, delegation_id)
        return flashed(Redirect(f"/community/delivery/desk#delegation-{delegation_id}", status_code=303), "已接受该项目委托。" if verdict == "accept" else "已拒绝该项目委托。")

    @post("/{delegation_id:int}/team")
    async def assign(self, delegation_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                chosen = sorted(int(k.removeprefix("member-")) for k, v in data.items() if k.startswith("member-") and k.removeprefix("member-").isdecimal() and v)
                lead = data.get("lead", "")
                if not chosen:
                    raise InvalidInput("choose the social workers", zh="请至少选择一名社工", field="members")
                members = [{"user_id": u, "lead": str(u) == lead} for u in chosen]
                body = form_body(schemas.TeamIn, strict=False, members=members, reason=data.get("reason", ""))
                await service.set_team(db, principal, delegation_id, body, utc_now())
        except DomainError as exc:
            return await self._refused(db, principal, exc, delegation_id)
        return flashed(Redirect(f"/community/delivery/desk#delegation-{delegation_id}", status_code=303), "项目社工已指派。")


class ActivityLogPages(Controller):
    """The phone's activity log of the project's social workers and the organisation's staff (works with no signal)."""

    path = "/community/delivery/log"
    include_in_schema = False
    guards = [allow(LOGGERS, "the activity log")]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    async def _page(self, db: AsyncSession, principal: Principal, **extra: Any) -> Template:
        delegations = await service.my_delegations(db, principal)
        outs = await service.delegation_outs(db, delegations)
        projects = {p.id: p for p in [await service.project_out(db, await service.project_row(db, i)) for i in {d.project_id for d in delegations}]}
        residents = {d.id: await service.beneficiaries(db, principal, d.id) for d in delegations}
        recent = {d.id: [service.activity_out(await service.logged(db, a)) for a in (await service.activities(db, principal, d.id))[:5]] for d in delegations}
        volunteers = {d.id: await volunteer_queries.team_roster(db, principal, d.community_id) for d in delegations}
        return page(
            "delivery_log.html", principal, delegations=outs, projects=projects, residents=residents, recent=recent, volunteers=volunteers, names=await _names(db, delegations),
            kinds=rules.KINDS, measures=rules.MEASURES, consent_by=rules.CONSENT_BY, today=business_today(), max_photos=service.delivery_limits().max_photos,
            **{"errors": {}, "failed": None, **extra},
        )

    @get("/")
    async def log(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await self._page(db, principal)

    @post("/records", dto=None)
    async def log_activity(self, data: JSONBody[schemas.ActivityIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[dict[str, Any]]:
        """The outbox's send: the same use case as POST /api/delivery/activities; a resend with the same client id is a 200."""
        try:
            async with attempt(db):
                logged = await service.log_activity(db, principal, data, utc_now())
        except DomainError as exc:
            return outbox_refusal(exc)
        return Response({"id": logged.activity.id, "replayed": logged.replayed}, status_code=200 if logged.replayed else 201)

    @post("/photos", status_code=201)
    async def upload_photo(
        self,
        data: Annotated[PhotoForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        store: NamedDependency[BlobStore],
        state: State,
    ) -> Response[dict[str, Any]]:
        """The outbox sends each photo of an activity first (checked and stored as patrol photos are: the same photo
        again is the same attachment), then the activity naming them."""
        return await outbox_photo(db, store, principal, state, data.file, "photo_ids")

    @post("/{delegation_id:int}/residents")
    async def add_resident(self, delegation_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template | Redirect:
        try:
            async with attempt(db):
                body = form_body(
                    schemas.BeneficiaryIn, name=data.get("name", "").strip(), consent=data.get("consent") == "yes", consent_by=data.get("consent_by", ""),
                    consent_on=data.get("consent_on") or business_today().isoformat(),
                )
                await service.record_beneficiary(db, principal, delegation_id, body, utc_now())
        except DomainError as exc:
            template = await self._page(db, principal, errors={exc.field or "_form": exc.message_zh}, failed=delegation_id)
            template.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
            return template
        return flashed(Redirect(f"/community/delivery/log#delegation-{delegation_id}", status_code=303), "服务对象已登记。")


class ProjectProgressPages(Controller):
    """A project's progress per indicator (counts only: no resident is named)."""

    path = "/community/delivery/projects"
    include_in_schema = False
    guards = [logged_in]

    @get("/{project_id:int}")
    async def progress(self, project_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        row = await service.project_for(db, principal, project_id)
        project = await service.project_out(db, row)
        delegations = await service.delegations_for(db, principal, project_id)
        outs = await service.delegation_outs(db, delegations)
        return page(
            "delivery_progress.html", principal, project=project, delegations=outs, names=await _names(db, delegations), kinds=rules.KINDS,
            statuses=rules.STATUS_NAMES, measures=rules.MEASURES, photos=await service.activities_with_photos(db, principal, row),
        )


class DeliveryServiceWorker(Controller):
    """The activity log's service worker (scope /community/delivery/log: it controls those pages only)."""

    include_in_schema = False

    @get("/delivery-sw.js", media_type="text/javascript")
    async def script(self) -> Response[bytes]:
        return offline_worker("delivery", "/community/delivery/log", "/static/delivery-log.js")


PAGES = [StreetDeliveryPages, DirectorDeskPages, ActivityLogPages, ProjectProgressPages, DeliveryServiceWorker]
