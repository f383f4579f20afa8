"""The public OCDS API (no login): a project's release package and the feed of every release, as published."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, MediaType, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from community.ocds import service
from community.ocds.rules import OCID_PATTERN
from community.ocds.schemas import RecordPackageOut, ReleasePackageOut
from foundation.paging import PageRequest
from foundation.web.layout import pages_of
from foundation.web.problems import problem_responses

OcidPath = Annotated[
    str, Parameter(pattern=OCID_PATTERN, max_length=120, description="The project's OCID, e.g. ocds-hpdemo-XQ-GY-2026-003")
]


def _package(description: str, *statuses: int, shape: type = ReleasePackageOut) -> dict[int, ResponseSpec]:
    return {**problem_responses(*statuses), 200: ResponseSpec(data_container=shape, description=description, generate_examples=False)}


class OcdsController(Controller):
    """Open Contracting Data Standard 1.1 release packages (validated against the vendored OCDS 1.1.5 schema)."""

    path = "/api/ocds"
    tags = ["ocds"]

    @get(
        "/releases/{ocid:str}",
        security=[{}],
        responses=_package("Every release of the project, oldest first", 400, 404),
        media_type=MediaType.JSON,
    )
    async def project(self, ocid: OcidPath, db: NamedDependency[AsyncSession]) -> Response[bytes]:
        """A project's release package: every release published for the call, byte for byte as published (no login)."""
        return Response(await service.project_package(db, ocid), media_type=MediaType.JSON)

    @get(
        "/records/{ocid:str}",
        security=[{}],
        responses=_package("The project's record: its releases linked and compiled", 400, 404, shape=RecordPackageOut),
        media_type=MediaType.JSON,
    )
    async def record(self, ocid: OcidPath, db: NamedDependency[AsyncSession]) -> Response[bytes]:
        """A project's record package: links to each of its releases and the compiled release, its state now (no login)."""
        return Response(await service.project_record_package(db, ocid), media_type=MediaType.JSON)

    @get("/releases", security=[{}], responses=_package("One page of every release, newest first", 400, 404), media_type=MediaType.JSON)
    async def feed(self, db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest]) -> Response[bytes]:
        """Every release of every project, newest first, one page at a time (no login); the total is in
        X-Total-Count and the next page's address in the Link header."""
        body, total = await service.feed_package(db, paging)
        headers = {"X-Total-Count": str(total)}
        if paging.page < pages_of(total, paging):
            headers["Link"] = f'<{service.package_uri()}?page={paging.page + 1}&page_size={paging.page_size}>; rel="next"'
        return Response(body, media_type=MediaType.JSON, headers=headers)


ROUTES = [OcdsController]
