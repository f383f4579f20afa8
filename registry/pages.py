"""Registry pages: browse estates, companies, votes and contracts within one's scope (the same use cases as the API)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.errors import DomainError, InvalidInput
from foundation.one_line import check_one_line
from foundation.paging import PageRequest
from foundation.settings import get_settings
from foundation.web.auth import allow, logged_in
from foundation.web.flash import flashed
from foundation.web.layout import attempt, page, page_request, pages_of, refused
from foundation.web.params import OptionalId, RecordId, SearchText
from registry import contracts, schemas, service, voting
from registry.boundaries import Datum

MODE_NAMES = {"company": "物业企业", "owner_unit": "产权单位", "self_managed": "居民自治"}
OUTCOME_NAMES = {
    "elected": "选聘成功",
    "failed_quorum": "参与户数不足三分之二",
    "tie": "得票相同",
    "no_majority": "未过半数",
    None: "进行中",
}
STATE_NAMES = {"active": "履行中", "signed": "已签未开始", "expired": "已到期", "terminated": "已解除"}
PAGE_SIZE = 50
# Who sees a company's bank account on its page: the district (admin keeps it, finance pays to it) and the company.
BANK_READERS = frozenset({Role.ADMIN, Role.FINANCE, Role.COMPANY})


class RegistryPages(Controller):
    path = "/registry"
    guards = [logged_in]
    include_in_schema = False

    @get("/estates")
    async def estates(
        self,
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        page_no: FromQuery[int] = 1,
        street_id: OptionalId = None,
        community_id: OptionalId = None,
        q: SearchText = None,
    ) -> Template:
        paging = page_request(page_no, PAGE_SIZE)
        rows, total = await service.list_estates(db, principal, paging, street_id=street_id, community_id=community_id, search=q)
        # The filters offer only what the user can see: a director's one community is no choice at all.
        seen_streets = await service.visible_street_ids(db, principal)
        streets = [s for s in (await service.list_streets(db, principal, PageRequest(1, get_settings().max_page_size)))[0] if s.id in seen_streets]
        communities, _ = await service.list_communities(db, principal, PageRequest(1, get_settings().max_page_size), street_id)
        company_names = {c.id: c.name for c in (await service.list_companies(db, principal, PageRequest(1, 10_000)))[0]}
        return page(
            "estates.html",
            principal,
            estates=await service.estate_rows(db, rows),
            total=total,
            paging=paging,
            pages=pages_of(total, paging),
            streets=streets,
            communities=communities,
            company_names=company_names,
            filters={"street_id": street_id, "community_id": community_id, "q": q or ""},
            mode_names=MODE_NAMES,
        )

    @get("/estates/{estate_id:int}")
    async def estate(self, estate_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await _estate_page(db, principal, estate_id)

    @post("/estates/{estate_id:int}/boundary", guards=[allow(service.ADMINS, "setting estates' boundaries")])
    async def set_boundary(
        self, estate_id: RecordId, data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        """The administrator's boundary form: a GeoJSON file, or GeoJSON pasted into the text box."""
        typed = str(data.get("geojson") or "").strip()
        try:
            async with attempt(db):
                upload = data.get("file")
                if isinstance(upload, UploadFile) and upload.filename:
                    content = await upload.read(service.MAX_BOUNDARY_FILE_BYTES + 1)
                elif typed:
                    content = typed.encode("utf-8")
                else:
                    raise InvalidInput("choose a GeoJSON file or paste the GeoJSON", zh="请选择 GeoJSON 文件或粘贴 GeoJSON", field="boundary")
                datum = Datum.GCJ02 if data.get("datum") == Datum.GCJ02.value else Datum.WGS84
                await service.set_boundary(db, principal, estate_id, service.geojson_document(content), datum)
        except DomainError as exc:
            return await _estate_page(db, principal, estate_id, exc=exc, typed=typed)
        return flashed(Redirect(path=f"/registry/estates/{estate_id}"), "边界已保存。")

    @post("/estates/{estate_id:int}/boundary/removal", guards=[allow(service.ADMINS, "removing estates' boundaries")])
    async def remove_boundary(self, estate_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        try:
            async with attempt(db):
                await service.clear_boundary(db, principal, estate_id)
        except DomainError as exc:
            return await _estate_page(db, principal, estate_id, exc=exc)
        return flashed(Redirect(path=f"/registry/estates/{estate_id}"), "边界已删除。")

    @get("/companies")
    async def companies(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], page_no: FromQuery[int] = 1, q: SearchText = None
    ) -> Template:
        return await _companies_page(db, principal, page_no, q)

    @post("/companies/{company_id:int}/bank", guards=[allow(service.ADMINS, "changing companies")])
    async def set_bank(
        self,
        company_id: RecordId,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
    ) -> Response[Any]:
        """The administrator records the payee's bank and account that payment notices print."""
        typed = {"bank_name": (data.get("bank_name") or "").strip(), "bank_account": (data.get("bank_account") or "").strip()}
        try:
            async with attempt(db):
                check_one_line(typed, schemas.CompanyUpdate, beside_field=True)
                try:
                    update = msgspec.convert(typed, schemas.CompanyUpdate)
                except msgspec.ValidationError as error:
                    raise InvalidInput(str(error), zh="银行账号须为 8 至 40 位数字（可按存折分组留空格），开户银行不超过 100 字", field="bank_account") from None
                await service.update_company(db, principal, company_id, update)
        except DomainError as exc:
            return await _companies_page(db, principal, 1, None, exc=exc, typed={company_id: typed})
        return flashed(Redirect(path="/registry/companies"), "收款账户已保存，此后签发的拨付通知书和明细表将载明该账户。")

    @get("/votes")
    async def votes(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], page_no: FromQuery[int] = 1) -> Template:
        paging = page_request(page_no, PAGE_SIZE)
        rows, total = await voting.list_votes(db, principal, paging)
        return page(
            "votes.html",
            principal,
            votes=await voting.vote_rows(db, rows),
            total=total,
            paging=paging,
            pages=pages_of(total, paging),
            outcome_names=OUTCOME_NAMES,
        )

    @get("/votes/{vote_id:int}")
    async def vote(self, vote_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        vote = (await voting.vote_rows(db, [await voting.get_vote(db, principal, vote_id)]))[0]
        return page("vote.html", principal, vote=vote, outcome_names=OUTCOME_NAMES)

    @get("/contracts")
    async def contract_list(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], page_no: FromQuery[int] = 1) -> Template:
        paging = page_request(page_no, PAGE_SIZE)
        rows, total = await contracts.list_contracts(db, principal, paging)
        return page(
            "contracts.html",
            principal,
            contracts=await contracts.contract_rows(db, rows),
            total=total,
            paging=paging,
            pages=pages_of(total, paging),
            state_names=STATE_NAMES,
        )


async def _companies_page(
    db: AsyncSession, principal: Principal, page_no: int, q: str | None, *, exc: DomainError | None = None, typed: dict[int, dict[str, str]] | None = None
) -> Template:
    paging = page_request(page_no, PAGE_SIZE)
    rows, total = await service.list_companies(db, principal, paging, q)
    context: dict[str, Any] = {
        "companies": rows, "total": total, "paging": paging, "pages": pages_of(total, paging), "q": q or "", "typed": typed or {},
        "may_edit_bank": principal.role in service.ADMINS, "shows_bank": principal.role in BANK_READERS,
    }
    if exc is not None:
        return refused("companies.html", principal, exc, **context)
    return page("companies.html", principal, errors={}, **context)


async def _estate_page(
    db: AsyncSession, principal: Principal, estate_id: int, *, exc: DomainError | None = None, typed: str = ""
) -> Template:
    estate = (await service.estate_rows(db, [await service.get_estate(db, principal, estate_id)]))[0]
    history, _ = await contracts.list_contracts(db, principal, PageRequest(1, 100), estate_id=estate_id)
    context: dict[str, Any] = {
        "estate": estate,
        "contracts": await contracts.contract_rows(db, history),
        "boundary": service.boundary_out(estate_id, await service.get_boundary(db, principal, estate_id)),
        "may_edit_boundary": principal.role in service.ADMINS,
        "typed": typed,
        "mode_names": MODE_NAMES,
        "state_names": STATE_NAMES,
    }
    if exc is not None:
        return refused("estate.html", principal, exc, **context)
    return page("estate.html", principal, errors={}, **context)


PAGES = [RegistryPages]
