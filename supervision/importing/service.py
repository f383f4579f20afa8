"""Importing a district's spreadsheets (导入): each row goes through the same use case as the API (registry and
people services), so their rules are checked in one place. A dry run does the whole import inside a savepoint and
rolls it back, reporting every bad row and cell; a clean file is imported in the caller's one transaction. A record
already registered under the row's natural key (code, credit code, username) with the same facts is left as it is,
so importing a file twice changes nothing; one registered with other facts is reported, never overwritten."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import ROLE_NAMES, Principal, Role, require_role
from foundation.audit import record_change
from foundation.errors import DomainError, InvalidInput
from people import queries as people_queries
from people import service as people
from people.credentials import hash_password_in_thread, new_secret
from people.schemas import UserCreate
from registry import queries as registry_queries
from registry import schemas, service
from registry.boundaries import BoundaryError, parse_boundary
from registry.queries import OrganisationKind
from registry.rules import format_area
from supervision.importing.sheets import KINDS, MANAGEMENT_MODES, STANDINGS, CellProblem, Kind, Sheet, read_file

ADMINS = frozenset({Role.ADMIN})
# A service names its input's field; the template names the cell it came from.
FIELD_OF_INPUT = {
    "street_id": "street_code", "community_id": "community_code", "company_id": "company_credit_code",
    "organisation_id": "organisation_credit_code", "street_ids": "street_codes", "kind": "credit_code",
}


@dataclass(frozen=True)
class CellError:
    """One bad cell: the sheet, the row's number in the file, the column as the template heads it, and why."""

    sheet: str
    row: int
    column: str
    reason: str


@dataclass
class KindCount:
    kind: str
    name: str
    rows: int = 0
    created: int = 0
    unchanged: int = 0


@dataclass
class ImportReport:
    file_sha256: str
    counts: list[KindCount] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    applied: bool = False

    @property
    def clean(self) -> bool:
        return not self.errors


class RowProblem(Exception):
    """A row's cell refers to something that is not there, or disagrees with what is registered."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems)
        self.problems = problems  # (field, reason in Chinese)


KEEPS = "（导入不修改已登记的记录，请在系统中修改或改正文件）"


def _differs(pairs: list[tuple[str, object, object]], others: list[tuple[str, str]] | None = None) -> None:
    """Refuse a row whose facts differ from the record registered under its key, naming each cell; `others` are
    differences said in words (a boundary, an account's unit)."""
    problems = [(name, f"已登记为“{stored}”，与文件中的“{given}”不同{KEEPS}") for name, stored, given in pairs if stored != given]
    problems += [(name, reason + KEEPS) for name, reason in others or []]
    if problems:
        raise RowProblem(problems)


@dataclass
class Context:
    """What the rows of one sheet refer to, read as the sheet starts (earlier sheets' records included)."""

    streets: dict[str, registry_queries.StreetInfo] = field(default_factory=dict)
    communities: dict[str, registry_queries.CommunityInfo] = field(default_factory=dict)
    keys: dict[str, Any] = field(default_factory=dict)  # the sheet's own records already registered, by natural key
    companies: dict[str, registry_queries.CompanyParticulars] = field(default_factory=dict)
    organisations: dict[str, registry_queries.OrganisationParticulars] = field(default_factory=dict)
    secret: str = ""  # imported accounts' password: random, never shown (see _user)
    password_hash: str | None = None

    async def refresh(self, session: AsyncSession, kind: Kind, sheet: Sheet) -> None:
        self.streets = {s.code: s for s in await registry_queries.streets(session)}
        self.communities = {c.code: c for c in (await registry_queries.communities(session)).values()}
        codes = [str(cells.get(kind.key_header) or "").strip() for _, cells in sheet.rows]
        referenced = {str(cells.get(h) or "").strip() for _, cells in sheet.rows for h in ("所属企业信用代码", "所属机构信用代码")}
        lookups: dict[str, Callable[[AsyncSession, list[str]], Awaitable[dict[str, Any]]]] = {
            "companies": registry_queries.companies_by_credit_code,
            "social_organisations": registry_queries.organisations_by_credit_code,
            "estates": registry_queries.estates_by_code,
            "users": people_queries.users_named,
        }
        self.keys = await lookups[kind.key](session, codes) if kind.key in lookups else {}
        self.companies = await registry_queries.companies_by_credit_code(session, referenced)
        self.organisations = await registry_queries.organisations_by_credit_code(session, referenced)

    def reference_problems(self, values: dict[str, Any]) -> list[tuple[str, str]]:
        """The row's cells that name a street, community, company or organisation nobody registered (nor an earlier
        sheet of the file)."""
        problems = [("street_codes", f"街道编码“{c}”未登记（也不在本文件的“街道”表中）") for c in values.get("street_codes", []) if c not in self.streets]
        if (code := values.get("street_code")) and code not in self.streets:
            problems.append(("street_code", f"街道编码“{code}”未登记（也不在本文件的“街道”表中）"))
        if (code := values.get("community_code")) and code not in self.communities:
            problems.append(("community_code", f"社区编码“{code}”未登记（也不在本文件的“社区”表中）"))
        if (code := values.get("company_credit_code")) and code not in self.companies:
            problems.append(("company_credit_code", f"信用代码“{code}”不是已登记的物业企业（也不在本文件中）"))
        if (code := values.get("organisation_credit_code")) and code not in self.organisations:
            problems.append(("organisation_credit_code", f"信用代码“{code}”不是已登记的机构（也不在本文件中）"))
        return problems


Handler = Callable[[AsyncSession, Principal, dict[str, Any], Context], Awaitable[bool]]


async def _street(session: AsyncSession, actor: Principal, v: dict[str, Any], ctx: Context) -> bool:
    if v["code"] in ctx.streets:
        _differs([("name", ctx.streets[v["code"]].name, v["name"])])
        return False
    await service.create_street(session, actor, msgspec.convert({"code": v["code"], "name": v["name"]}, schemas.StreetCreate))
    return True


async def _community(session: AsyncSession, actor: Principal, v: dict[str, Any], ctx: Context) -> bool:
    street_id = ctx.streets[v["street_code"]].id
    households = v.get("households") or 0
    if (stored := ctx.communities.get(v["code"])) is not None:
        street_code = next((s.code for s in ctx.streets.values() if s.id == stored.street_id), "")
        _differs([("name", stored.name, v["name"]), ("street_code", street_code, v["street_code"]), ("households", stored.households, households)])
        return False
    data = {"code": v["code"], "name": v["name"], "street_id": street_id, "households": households}
    await service.create_community(session, actor, msgspec.convert(data, schemas.CommunityCreate))
    return True


async def _company(session: AsyncSession, actor: Principal, v: dict[str, Any], ctx: Context) -> bool:
    facts = {
        "name": v["name"], "legal_representative": v.get("legal_representative") or "", "phone": v.get("phone") or "", "address": v.get("address") or "",
        "bank_name": v.get("bank_name") or "", "bank_account": v.get("bank_account") or "",
    }
    if (stored := ctx.keys.get(v["credit_code"])) is not None:
        # A file without the bank columns (an older template) says nothing of the account registered since.
        _differs([(name, getattr(stored, name), given) for name, given in facts.items() if given or not name.startswith("bank_")])
        return False
    data = facts | {"credit_code": v["credit_code"], "legal_representative": facts["legal_representative"] or None}
    await service.create_company(session, actor, msgspec.convert(data, schemas.CompanyCreate))
    return True


async def _social_organisation(session: AsyncSession, actor: Principal, v: dict[str, Any], ctx: Context) -> bool:
    street_codes = v.get("street_codes") or []
    street_ids = [ctx.streets[code].id for code in street_codes]
    facts = {
        "name": v["name"], "standing": v["standing"], "legal_representative": v.get("legal_representative") or "", "phone": v.get("phone") or "",
        "address": v.get("address") or "",
    }
    if (stored := ctx.keys.get(v["credit_code"])) is not None:
        if stored.kind is not OrganisationKind.SOCIAL_ORG:
            raise RowProblem([("credit_code", "该信用代码已登记为第三方机构或评估机构，不是社会组织")])
        codes = "、".join(sorted(s.code for s in ctx.streets.values() if s.id in stored.street_ids))
        _differs([(name, getattr(stored, name), given) for name, given in facts.items() if name != "standing"]
                 + [("standing", STANDINGS.get(stored.standing or "", ""), STANDINGS[v["standing"]]), ("street_codes", codes, "、".join(sorted(street_codes)))])
        return False
    data = facts | {"credit_code": v["credit_code"], "kind": OrganisationKind.SOCIAL_ORG.value, "street_ids": street_ids, "legal_representative": facts["legal_representative"] or None}
    await service.create_organisation(session, actor, msgspec.convert(data, schemas.OrganisationCreate))
    return True


def _boundary_of(cell: str) -> tuple[object, dict[str, Any]] | None:
    """The boundary cell's GeoJSON document and the outline the registry reads from it (None: no boundary given)."""
    if not cell:
        return None
    document = service.geojson_document(cell.encode("utf-8"))
    try:
        return document, parse_boundary(document)
    except BoundaryError as error:
        raise RowProblem([("boundary", error.zh)]) from None


async def _estate(session: AsyncSession, actor: Principal, v: dict[str, Any], ctx: Context) -> bool:
    community_id = ctx.communities[v["community_code"]].id
    facts = {
        "name": v["name"], "address": v["address"], "floor_area_centi_m2": v["floor_area_centi_m2"], "households": v.get("households") or 0,
        "buildings": v.get("buildings") or 0, "management_mode": v["management_mode"], "entered_on": v["entered_on"], "left_on": v.get("left_on"),
    }
    boundary = _boundary_of(v.get("boundary") or "")
    if (stored := ctx.keys.get(v["code"])) is not None:
        def shown(name: str, value: object) -> object:
            if name == "floor_area_centi_m2" and isinstance(value, int):
                return format_area(value)
            return MANAGEMENT_MODES.get(str(value), str(value)) if name == "management_mode" else value

        pairs: list[tuple[str, object, object]] = [(name, shown(name, getattr(stored, name)), shown(name, given)) for name, given in facts.items()]
        stored_code = next((c.code for c in ctx.communities.values() if c.id == stored.community_id), "")
        pairs.append(("community_code", stored_code, v["community_code"]))
        stored_boundary = await registry_queries.estate_boundary(session, stored.id)
        others = [("boundary", "已登记的边界与文件中的不同")] if boundary is not None and json.loads(json.dumps(boundary[1])) != stored_boundary else []
        _differs(pairs, others)
        return False
    data = facts | {"code": v["code"], "community_id": community_id}
    estate = await service.create_estate(session, actor, msgspec.convert(data, schemas.EstateCreate))
    if boundary is not None:
        await service.set_boundary(session, actor, estate.id, boundary[0])
    return True


async def _user(session: AsyncSession, actor: Principal, v: dict[str, Any], ctx: Context) -> bool:
    scope: dict[str, int | None] = {"street_id": None, "community_id": None, "company_id": None, "organisation_id": None}
    if v.get("street_code"):
        scope["street_id"] = ctx.streets[v["street_code"]].id
    if v.get("community_code"):
        scope["community_id"] = ctx.communities[v["community_code"]].id
    if v.get("company_credit_code"):
        scope["company_id"] = ctx.companies[v["company_credit_code"]].id
    if v.get("organisation_credit_code"):
        scope["organisation_id"] = ctx.organisations[v["organisation_credit_code"]].id
    role = Role(v["role"])
    if (stored := ctx.keys.get(v["username"])) is not None:
        pairs: list[tuple[str, object, object]] = [("display_name", stored.display_name, v["display_name"]), ("role", ROLE_NAMES[stored.role], ROLE_NAMES[role])]
        others = [(FIELD_OF_INPUT[k], "该用户已登记在另一单位") for k, given in scope.items() if given is not None and getattr(stored, k) != given]
        _differs(pairs, others)
        return False
    if ctx.password_hash is None:
        # Imported accounts get no usable password: the hash of a random secret nobody is shown, made once per import.
        # The administrator gives each person a first password (PATCH /api/users/{id}) when handing the account over.
        ctx.secret = new_secret()
        ctx.password_hash = await hash_password_in_thread(ctx.secret)
    data = {"username": v["username"], "display_name": v["display_name"], "password": ctx.secret, "role": role.value} | {k: i for k, i in scope.items() if i is not None}
    await people.create_user(session, actor, msgspec.convert(data, UserCreate), password_hash=ctx.password_hash)
    return True


HANDLERS: dict[str, Handler] = {
    "streets": _street, "communities": _community, "companies": _company, "social_organisations": _social_organisation, "estates": _estate, "users": _user,
}


def _header_problems(sheet: Sheet, kind: Kind) -> list[CellError]:
    known = {c.header for c in kind.columns}
    problems = [CellError(sheet.title, 1, h, f"模板“{kind.name}”中没有此列") for h in sheet.headers if h and h not in known]
    problems += [CellError(sheet.title, 1, c.header, "缺少此列（请使用下载的模板）") for c in kind.columns if c.required and c.header not in sheet.headers]
    if len(set(h for h in sheet.headers if h)) != len([h for h in sheet.headers if h]):
        problems.append(CellError(sheet.title, 1, "—", "表头中有重复的列"))
    return problems


def _read_row(kind: Kind, cells: dict[str, object]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for column in kind.columns:
        raw = cells.get(column.header)
        if raw is None or str(raw).strip() == "":
            if column.required:
                problems.append((column.field, "必填，不能为空"))
            continue
        try:
            values[column.field] = column.read(raw)
        except CellProblem as problem:
            problems.append((column.field, str(problem)))
    return values, problems


def _shape_reason(message: str) -> str:
    """A schema's refusal of a cell (msgspec's words) as the person fixing the file reads it."""
    if "length" in message:
        return "内容过长（或为空），请缩短"
    if "regex" in message or "pattern" in message:
        return "含有不允许的字符（编码只用字母、数字、- 和 _；名称不能只有空格）"
    if ">=" in message or "<=" in message:
        return "数值超出允许的范围"
    return f"格式不符合要求（{message}）"


def _header(kind: Kind, field_name: str | None) -> str:
    column = kind.column(FIELD_OF_INPUT.get(field_name or "", field_name or ""))
    return column.header if column else "—"


async def _import_sheet(session: AsyncSession, actor: Principal, sheet: Sheet, kind: Kind, ctx: Context, report: ImportReport) -> None:
    count = KindCount(kind.key, kind.name, rows=len(sheet.rows))
    report.counts.append(count)
    await ctx.refresh(session, kind, sheet)
    seen: dict[str, int] = {}
    for number, cells in sheet.rows:
        def bad(field_name: str | None, reason: str, row: int = number) -> None:
            report.errors.append(CellError(sheet.title, row, _header(kind, field_name), reason))

        values, problems = _read_row(kind, cells)
        problems += ctx.reference_problems(values)
        key = values.get(kind.natural_key)
        if isinstance(key, str) and key in seen:
            problems.insert(0, (kind.natural_key, f"与第 {seen[key]} 行重复（同一{kind.key_header}在文件中出现两次）"))
        elif isinstance(key, str):
            seen[key] = number
        if problems:
            for field_name, reason in problems:
                bad(field_name, reason)
            continue
        try:
            async with session.begin_nested():
                created = await HANDLERS[kind.key](session, actor, values, ctx)
        except RowProblem as problem:
            for field_name, reason in problem.problems:
                bad(field_name, reason)
        except msgspec.ValidationError as error:
            path = str(error).rpartition("$.")[2].split("[")[0].strip("`")
            bad(path, _shape_reason(str(error)))
        except DomainError as error:
            bad(error.field, error.zh or f"{error.message_zh}：{error.detail}")
        else:
            count.created += created
            count.unchanged += not created


async def import_file(
    session: AsyncSession, actor: Principal, content: bytes, filename: str, *, kind: str | None = None, apply: bool, max_rows: int
) -> ImportReport:
    """Check (and with `apply`, import) a spreadsheet. The whole import runs inside a savepoint, every row through the
    registry's and people's own use cases, so a dry run sees exactly what importing would refuse; the savepoint is
    rolled back unless `apply` was asked and no row was refused. The caller's transaction commits it (one transaction)."""
    require_role(actor, ADMINS, "importing spreadsheets")
    forced = next((k for k in KINDS if kind in (k.key, k.name)), None)
    if kind is not None and forced is None:
        raise UnknownImportKind(kind)
    report = ImportReport(file_sha256=hashlib.sha256(content).hexdigest())
    sheets = read_file(content, filename, forced, max_rows)
    work: list[tuple[Sheet, Kind]] = []
    for sheet in sheets:
        if sheet.kind is None:
            if sheet.rows or sheet.headers:
                report.errors.append(CellError(sheet.title, 1, "—", f"无法识别此表：表名或表头应与模板一致（{'、'.join(k.name for k in KINDS)}）"))
            continue
        # A sheet whose headers are not the template's, or that is too long, is reported and its rows left unread;
        # the other sheets are still checked, so one dry run lists every bad cell it can.
        problems = _header_problems(sheet, sheet.kind)
        if sheet.too_many_rows:
            problems.append(CellError(sheet.title, max_rows + 2, "—", f"一次最多导入 {max_rows} 行，请分成几个文件"))
        report.errors += problems
        if not problems:
            work.append((sheet, sheet.kind))
    if not work and not report.errors:
        report.errors.append(CellError(filename, 1, "—", "文件中没有可导入的表"))
    work.sort(key=lambda pair: KINDS.index(pair[1]))
    savepoint = await session.begin_nested()
    try:
        ctx = Context()
        for sheet, sheet_kind in work:
            await _import_sheet(session, actor, sheet, sheet_kind, ctx, report)
    except BaseException:
        await savepoint.rollback()
        raise
    if not (apply and report.clean):
        await savepoint.rollback()
        return report
    await savepoint.commit()
    report.applied = True
    record_change(
        session, actor, "spreadsheet_import.applied", "spreadsheet_import", report.file_sha256,
        after={"file": filename, "sha256": report.file_sha256, "counts": {c.kind: {"rows": c.rows, "created": c.created, "unchanged": c.unchanged} for c in report.counts}},
    )
    await session.flush()
    return report


class UnknownImportKind(InvalidInput):
    """An import asked for a kind that has no template."""

    def __init__(self, kind: str) -> None:
        names = "、".join(f"{k.key}（{k.name}）" for k in KINDS)
        super().__init__(f"no import template is called {kind}; the kinds are {', '.join(k.key for k in KINDS)}", zh=f"没有“{kind}”模板，可选：{names}", field="kind")
