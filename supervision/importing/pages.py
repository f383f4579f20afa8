"""The import page (/imports: the district's administrator, and a community's staff for its volunteers): download a template, upload a file for a dry run that lists every bad
row and cell, then confirm to import the same file in one transaction (the same use case as `supervision import`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal
from foundation.errors import DomainError, InvalidInput, NotFound, TooLarge
from foundation.settings import get_settings
from foundation.web.auth import allow
from foundation.web.layout import attempt, page, refused
from supervision.importing.service import IMPORTERS, import_file, may_import
from supervision.importing.sheets import KIND_BY_KEY, KINDS, Kind, template

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


def _kinds(principal: Principal) -> list[Kind]:
    """The templates this person imports: the district's registry for its administrator, a community's volunteers
    for its staff."""
    return [k for k in KINDS if may_import(principal, k)]


def _page(principal: Principal, **context: Any) -> Template:
    return page("imports.html", principal, kinds=_kinds(principal), errors={}, report=None, **context)


async def _uploaded(data: dict[str, Any]) -> tuple[bytes, str]:
    """The file of the check form, or the same file carried back by the confirm form (base64, with its sha256)."""
    limit = get_settings().import_max_bytes
    upload = data.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        content = await upload.read(limit + 1)
        name = upload.filename
    elif data.get("content"):
        try:
            content = base64.b64decode(str(data["content"]), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("the confirmed file is damaged; upload it again", zh="确认的文件已损坏，请重新上传", field="file") from None
        if hashlib.sha256(content).hexdigest() != data.get("sha256"):
            raise InvalidInput("the confirmed file is not the one checked; upload it again", zh="确认的文件与检查过的文件不同，请重新上传", field="file")
        name = str(data.get("filename") or "import.xlsx")
    else:
        raise InvalidInput("choose an XLSX or CSV file", zh="请选择 XLSX 或 CSV 文件", field="file")
    if len(content) > limit:
        raise TooLarge(f"the file has more than {limit} bytes; split it", zh=f"文件超过 {limit // (1024 * 1024)} MB，请分成几个文件", field="file")
    return content, name


class ImportPages(Controller):
    path = "/imports"
    guards = [allow(IMPORTERS, "importing spreadsheets")]
    include_in_schema = False

    @get("/")
    async def imports(self, principal: NamedDependency[Principal]) -> Template:
        return _page(principal)

    @get("/templates/{kind:str}")
    async def download_template(self, kind: FromPath[str]) -> Response[bytes]:
        found = KIND_BY_KEY.get(kind.removesuffix(".xlsx"))
        if found is None:
            raise NotFound("import template", kind)
        return Response(content=template(found), media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="template-{found.key}.xlsx"'})

    @post("/check")
    async def check(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        """The dry run: every row through the use cases inside a savepoint that is rolled back."""
        return await _run(data, principal, db, apply=False)

    @post("/apply")
    async def apply(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        """The confirmed file, checked again and imported in this request's one transaction."""
        return await _run(data, principal, db, apply=True)


async def _run(data: dict[str, Any], principal: Principal, db: AsyncSession, *, apply: bool) -> Template:
    kind = str(data.get("kind") or "") or None
    try:
        async with attempt(db):
            content, name = await _uploaded(data)
            report = await import_file(db, principal, content, name, kind=kind, apply=apply, max_rows=get_settings().import_max_rows)
    except DomainError as exc:
        return refused("imports.html", principal, exc, kinds=_kinds(principal), report=None, chosen=kind)
    carried = base64.b64encode(content).decode("ascii") if report.clean and not report.applied else ""
    response = page("imports.html", principal, kinds=_kinds(principal), errors={}, report=report, filename=name, chosen=kind, content=carried)
    if not report.clean:
        response.status_code = 422  # the file came back to be corrected
    return response


PAGES = [ImportPages]
