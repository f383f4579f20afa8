"""API routes of the registry (thin: parse, guard, call one use case, shape the answer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, TypeVar

import msgspec
from litestar import Controller, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal
from foundation.errors import InvalidInput
from foundation.paging import Page, PageRequest
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.params import OptionalId, RecordId, SearchText
from foundation.web.problems import problem_responses
from registry import contracts, schemas, service, voting
from registry.boundaries import Datum
from registry.service import MAX_BOUNDARY_FILE_BYTES, geojson_document
from registry.tables import OrganisationKind, VoteStatus

ADMIN = [allow(service.ADMINS, "changing the registry")]
DIRECTOR = [allow(voting.DIRECTORS, "votes and contracts")]
READ = problem_responses(400, 404)
CREATE = problem_responses(400, 403, 404, 409, 422)
UPDATE = problem_responses(400, 403, 404, 409, 422)
T = TypeVar("T")


def out(record: object, kind: type[T]) -> T:
    return msgspec.convert(record, kind, from_attributes=True)


class SummaryController(Controller):
    path = "/api/registry/summary"
    tags = ["registry"]
    guards = [logged_in]

    @get("/", responses=problem_responses())
    async def summary(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.RegistrySummary:
        """Counts of streets, communities, estates, companies and contracts in force, and the managed floor area,
        within your scope, as of today."""
        return await service.registry_summary(db, principal)


class StreetController(Controller):
    path = "/api/registry/streets"
    tags = ["registry"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def list_streets(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest]) -> Page[schemas.StreetOut]:
        rows, total = await service.list_streets(db, principal, paging)
        return Page([out(r, schemas.StreetOut) for r in rows], total, paging.page, paging.page_size)

    @post("/", dto=StrictBody[schemas.StreetCreate], return_dto=None, guards=ADMIN, responses=CREATE)
    async def create_street(self, data: JSONBody[schemas.StreetCreate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.StreetOut:
        return out(await service.create_street(db, principal, data), schemas.StreetOut)

    @get("/{street_id:int}", responses=READ)
    async def get_street(self, street_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.StreetOut:
        return out(await service.get_street(db, principal, street_id), schemas.StreetOut)

    @patch("/{street_id:int}", dto=StrictBody[schemas.StreetUpdate], return_dto=None, guards=ADMIN, responses=UPDATE)
    async def update_street(
        self, street_id: RecordId, data: JSONBody[schemas.StreetUpdate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.StreetOut:
        return out(await service.update_street(db, principal, street_id, data), schemas.StreetOut)


class CommunityController(Controller):
    path = "/api/registry/communities"
    tags = ["registry"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def list_communities(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], street_id: OptionalId = None
    ) -> Page[schemas.CommunityOut]:
        rows, total = await service.list_communities(db, principal, paging, street_id)
        return Page(await service.community_rows(db, rows), total, paging.page, paging.page_size)

    @post("/", dto=StrictBody[schemas.CommunityCreate], return_dto=None, guards=ADMIN, responses=CREATE)
    async def create_community(
        self, data: JSONBody[schemas.CommunityCreate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.CommunityOut:
        community = await service.create_community(db, principal, data)
        return (await service.community_rows(db, [community]))[0]

    @get("/{community_id:int}", responses=READ)
    async def get_community(self, community_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CommunityOut:
        return (await service.community_rows(db, [await service.get_community(db, principal, community_id)]))[0]

    @patch("/{community_id:int}", dto=StrictBody[schemas.CommunityUpdate], return_dto=None, guards=ADMIN, responses=UPDATE)
    async def update_community(
        self, community_id: RecordId, data: JSONBody[schemas.CommunityUpdate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.CommunityOut:
        community = await service.update_community(db, principal, community_id, data)
        return (await service.community_rows(db, [community]))[0]


class EstateController(Controller):
    path = "/api/registry/estates"
    tags = ["registry"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def list_estates(
        self,
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        paging: NamedDependency[PageRequest],
        street_id: OptionalId = None,
        community_id: OptionalId = None,
        company_id: OptionalId = None,
        q: SearchText = None,
    ) -> Page[schemas.EstateOut]:
        """Estates within your scope; `company_id` filters by the company under contract today."""
        rows, total = await service.list_estates(
            db, principal, paging, street_id=street_id, community_id=community_id, company_id=company_id, search=q
        )
        return Page(await service.estate_rows(db, rows), total, paging.page, paging.page_size)

    @post("/", dto=StrictBody[schemas.EstateCreate], return_dto=None, guards=ADMIN, responses=CREATE)
    async def create_estate(self, data: JSONBody[schemas.EstateCreate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.EstateOut:
        return (await service.estate_rows(db, [await service.create_estate(db, principal, data)]))[0]

    @get("/{estate_id:int}", responses=READ)
    async def get_estate(self, estate_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.EstateOut:
        return (await service.estate_rows(db, [await service.get_estate(db, principal, estate_id)]))[0]

    @patch("/{estate_id:int}", dto=StrictBody[schemas.EstateUpdate], return_dto=None, guards=ADMIN, responses=UPDATE)
    async def update_estate(
        self, estate_id: RecordId, data: JSONBody[schemas.EstateUpdate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.EstateOut:
        return (await service.estate_rows(db, [await service.update_estate(db, principal, estate_id, data)]))[0]


@dataclass
class BoundaryFile:
    file: UploadFile
    datum: Datum = Datum.WGS84  # "gcj02": the file was drawn on a Chinese web map; converted to WGS 84


class EstateBoundaryController(Controller):
    """An estate's boundary (GeoJSON, WGS 84): patrols filed from outside it are flagged (config/RULES.md,
    "Evidence integrity")."""

    path = "/api/registry/estates/{estate_id:int}/boundary"
    tags = ["registry"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def get_boundary(self, estate_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.BoundaryOut:
        """The estate's boundary, or `geometry: null` when none is recorded."""
        return service.boundary_out(estate_id, await service.get_boundary(db, principal, estate_id))

    @put("/", dto=StrictBody[schemas.BoundaryIn], return_dto=None, guards=ADMIN, responses=problem_responses(400, 403, 404, 422))
    async def set_boundary(
        self, estate_id: RecordId, data: JSONBody[schemas.BoundaryIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.BoundaryOut:
        """Record or replace the boundary: a Polygon or MultiPolygon, longitude first, rings closed, not crossing
        themselves, one estate across (at most 5 km). An outline that is not one is 422 saying what is wrong;
        nothing is stored."""
        geometry = msgspec.to_builtins(data.geometry)
        return service.boundary_out(estate_id, await service.set_boundary(db, principal, estate_id, geometry, data.datum))

    @post("/file", status_code=200, guards=ADMIN, responses=problem_responses(400, 403, 404, 413, 422))
    async def import_boundary(
        self,
        estate_id: RecordId,
        data: Annotated[BoundaryFile, Body(media_type=RequestEncodingType.MULTI_PART)],
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
    ) -> schemas.BoundaryOut:
        """Import the boundary from a GeoJSON file (multipart field `file`): a Polygon or MultiPolygon, a Feature of
        one, or a FeatureCollection of exactly one such Feature. A file that is not JSON is 400; one whose outline
        is not an estate's is 422, saying what is wrong."""
        if not isinstance(data.file, UploadFile):
            raise InvalidInput("send the GeoJSON file as the multipart field 'file'", zh="请选择 GeoJSON 文件", field="boundary")
        content = await data.file.read(MAX_BOUNDARY_FILE_BYTES + 1)
        return service.boundary_out(estate_id, await service.set_boundary(db, principal, estate_id, geojson_document(content), data.datum))

    @delete("/", status_code=204, guards=ADMIN, responses=problem_responses(403, 404))
    async def clear_boundary(self, estate_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> None:
        """Remove the boundary: the estate's patrols are no longer measured against one."""
        await service.clear_boundary(db, principal, estate_id)


class CompanyController(Controller):
    path = "/api/registry/companies"
    tags = ["registry"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def list_companies(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], q: SearchText = None
    ) -> Page[schemas.CompanyOut]:
        rows, total = await service.list_companies(db, principal, paging, q)
        return Page([out(r, schemas.CompanyOut) for r in rows], total, paging.page, paging.page_size)

    @post("/", dto=StrictBody[schemas.CompanyCreate], return_dto=None, guards=ADMIN, responses=CREATE)
    async def create_company(self, data: JSONBody[schemas.CompanyCreate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CompanyOut:
        return out(await service.create_company(db, principal, data), schemas.CompanyOut)

    @get("/{company_id:int}", responses=READ)
    async def get_company(self, company_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CompanyOut:
        return out(await service.get_company(db, principal, company_id), schemas.CompanyOut)

    @patch("/{company_id:int}", dto=StrictBody[schemas.CompanyUpdate], return_dto=None, guards=ADMIN, responses=UPDATE)
    async def update_company(
        self, company_id: RecordId, data: JSONBody[schemas.CompanyUpdate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.CompanyOut:
        return out(await service.update_company(db, principal, company_id, data), schemas.CompanyOut)


class OrganisationController(Controller):
    path = "/api/registry/organisations"
    tags = ["registry"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def list_organisations(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], kind: FromQuery[OrganisationKind | None] = None
    ) -> Page[schemas.OrganisationOut]:
        rows, total = await service.list_organisations(db, principal, paging, kind)
        return Page([await service.organisation_out(db, r) for r in rows], total, paging.page, paging.page_size)

    @post("/", dto=StrictBody[schemas.OrganisationCreate], return_dto=None, guards=ADMIN, responses=CREATE)
    async def create_organisation(
        self, data: JSONBody[schemas.OrganisationCreate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.OrganisationOut:
        return await service.organisation_out(db, await service.create_organisation(db, principal, data))

    @get("/{organisation_id:int}", responses=READ)
    async def get_organisation(
        self, organisation_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.OrganisationOut:
        return await service.organisation_out(db, await service.get_organisation(db, principal, organisation_id))

    @get("/{organisation_id:int}/staff", responses=READ)
    async def list_organisation_staff(
        self, organisation_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> list[schemas.StaffOut]:
        return await service.organisation_staff(db, principal, organisation_id)

    @patch("/{organisation_id:int}", dto=StrictBody[schemas.OrganisationUpdate], return_dto=None, guards=ADMIN, responses=UPDATE)
    async def update_organisation(
        self, organisation_id: RecordId, data: JSONBody[schemas.OrganisationUpdate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.OrganisationOut:
        return await service.organisation_out(db, await service.update_organisation(db, principal, organisation_id, data))


class VoteController(Controller):
    """Selection votes (居民选): opened, counted and closed by the community's committee director."""

    path = "/api/registry/votes"
    tags = ["registry"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def list_votes(
        self,
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        paging: NamedDependency[PageRequest],
        street_id: OptionalId = None,
        community_id: OptionalId = None,
        status: FromQuery[VoteStatus | None] = None,
    ) -> Page[schemas.VoteOut]:
        rows, total = await voting.list_votes(db, principal, paging, street_id=street_id, community_id=community_id, status=status)
        return Page(await voting.vote_rows(db, rows), total, paging.page, paging.page_size)

    @post("/", dto=StrictBody[schemas.VoteCreate], return_dto=None, guards=DIRECTOR, responses=CREATE)
    async def open_vote(self, data: JSONBody[schemas.VoteCreate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VoteOut:
        return (await voting.vote_rows(db, [await voting.open_vote(db, principal, data)]))[0]

    @get("/{vote_id:int}", responses=READ)
    async def get_vote(self, vote_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VoteOut:
        return (await voting.vote_rows(db, [await voting.get_vote(db, principal, vote_id)]))[0]

    @patch("/{vote_id:int}", dto=StrictBody[schemas.VoteUpdate], return_dto=None, guards=DIRECTOR, responses=UPDATE)
    async def update_vote(
        self, vote_id: RecordId, data: JSONBody[schemas.VoteUpdate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.VoteOut:
        """Change the title or closing day of an open vote; nothing else of a vote is edited."""
        return (await voting.vote_rows(db, [await voting.update_vote(db, principal, vote_id, data)]))[0]

    @post("/{vote_id:int}/ballots", dto=StrictBody[schemas.BallotsIn], return_dto=None, guards=DIRECTOR, status_code=200, responses=CREATE)
    async def record_ballots(
        self, vote_id: RecordId, data: JSONBody[schemas.BallotsIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.BallotsRecorded:
        """Record household ballots (one per household; resending the same ballot is a harmless retry)."""
        return await voting.record_ballots(db, principal, vote_id, data)

    @post("/{vote_id:int}/close", guards=DIRECTOR, status_code=200, responses=UPDATE)
    async def close_vote(self, vote_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VoteOut:
        """Count the ballots: elected only with two thirds of households taking part and more than half for the winner."""
        return (await voting.vote_rows(db, [await voting.close_vote(db, principal, vote_id)]))[0]


class ContractController(Controller):
    """Service contracts (社区签): signed by the committee director with the winner of a valid vote."""

    path = "/api/registry/contracts"
    tags = ["registry"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def list_contracts(
        self,
        principal: NamedDependency[Principal],
        db: NamedDependency[AsyncSession],
        paging: NamedDependency[PageRequest],
        street_id: OptionalId = None,
        community_id: OptionalId = None,
        company_id: OptionalId = None,
        estate_id: OptionalId = None,
        in_force_on: FromQuery[date | None] = None,
    ) -> Page[schemas.ContractOut]:
        rows, total = await contracts.list_contracts(
            db,
            principal,
            paging,
            street_id=street_id,
            community_id=community_id,
            company_id=company_id,
            estate_id=estate_id,
            in_force_on=in_force_on,
        )
        return Page(await contracts.contract_rows(db, rows), total, paging.page, paging.page_size)

    @post("/", dto=StrictBody[schemas.ContractCreate], return_dto=None, guards=DIRECTOR, responses=CREATE)
    async def sign_contract(self, data: JSONBody[schemas.ContractCreate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ContractOut:
        return (await contracts.contract_rows(db, [await contracts.sign_contract(db, principal, data)]))[0]

    @get("/{contract_id:int}", responses=READ)
    async def get_contract(self, contract_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ContractOut:
        return (await contracts.contract_rows(db, [await contracts.get_contract(db, principal, contract_id)]))[0]

    @post("/{contract_id:int}/terminate", dto=StrictBody[schemas.ContractTerminate], return_dto=None, guards=DIRECTOR, status_code=200, responses=UPDATE)
    async def terminate_contract(
        self, contract_id: RecordId, data: JSONBody[schemas.ContractTerminate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.ContractOut:
        """End a contract early (`terminated_on` is its last day in force), with the reason."""
        return (await contracts.contract_rows(db, [await contracts.terminate_contract(db, principal, contract_id, data)]))[0]


ROUTES = [
    SummaryController,
    StreetController,
    CommunityController,
    EstateController,
    EstateBoundaryController,
    CompanyController,
    OrganisationController,
    VoteController,
    ContractController,
]
