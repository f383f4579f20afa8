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

from community.volunteers import queries as volunteer_queries
from community.volunteers import service as volunteers
from community.volunteers.schemas import VolunteerIn
from foundation.access import ROLE_NAMES, Principal, Role, require_role
from foundation.audit import record_change
from foundation.errors import DomainError, InvalidInput
from foundation.one_line import ONE_LINE_PATTERNS
from foundation.sealing import Sealer
from foundation.settings import get_settings
from people import queries as people_queries
from people import service as people
from people.credentials import hash_password_in_thread, new_secret
from people.schemas import UserCreate
from registry import contracts, schemas, service, voting
from registry import queries as registry_queries
from registry.boundaries import BoundaryError, parse_boundary
from registry.queries import OrganisationKind
from registry.rules import format_area
from subsidies.care import queries as care_queries
from subsidies.care import service as care
from subsidies.care.schemas import EnrolmentIn
from supervision.importing.sheets import KINDS, MANAGEMENT_MODES, STANDINGS, CellProblem, Kind, Sheet, code_list, read_file

ADMINS = frozenset({Role.ADMIN})
# A community's kinds (people with personal data) are imported by the roles that register them, in their community.
COMMUNITY_IMPORTERS = {"volunteers": volunteers.ORGANISERS, "elders": care.ENROLLERS}
IMPORTERS = ADMINS | frozenset().union(*COMMUNITY_IMPORTERS.values())


def may_import(actor: Principal, kind: Kind) -> bool:
    """Whether `actor` imports this kind: the district's registry by its administrator; a community's people by the
    staff who register them (and who then see them)."""
    if kind.community:
        return actor.role in COMMUNITY_IMPORTERS[kind.key] and actor.community_id is not None
    return actor.role in ADMINS
# A service names its input's field; the template names the cell it came from.
FIELD_OF_INPUT = {
    "street_id": "street_code", "community_id": "community_code", "company_id": "company_credit_code",
    "organisation_id": "organisation_credit_code", "street_ids": "street_codes", "kind": "credit_code",
    "estate_ids": "estate_codes", "vote_id": "vote_reference", "reference": "vote_reference", "provider_id": "organisation_credit_code",
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
    estates: dict[str, registry_queries.EstateInfo] = field(default_factory=dict)
    paper_votes: dict[str, registry_queries.PaperVoteParticulars] = field(default_factory=dict)
    contract_rows: dict[str, int] = field(default_factory=dict)  # contracts this import registered: number → row
    row: int = 0  # the row being imported
    sealer: Sealer | None = None  # for the elders' ID numbers
    secret: str = ""  # imported accounts' password: random, never shown (see _user)
    password_hash: str | None = None

    async def refresh(self, session: AsyncSession, kind: Kind, sheet: Sheet) -> None:
        self.streets = {s.code: s for s in await registry_queries.streets(session)}
        self.communities = {c.code: c for c in (await registry_queries.communities(session)).values()}
        codes = [str(cells.get(kind.key_header) or "").strip() for _, cells in sheet.rows]
        referenced = {str(cells.get(h) or "").strip() for _, cells in sheet.rows for h in ("所属企业信用代码", "物业企业信用代码", "所属机构信用代码", "服务机构信用代码")}
        lookups: dict[str, Callable[[AsyncSession, list[str]], Awaitable[dict[str, Any]]]] = {
            "companies": registry_queries.companies_by_credit_code,
            "social_organisations": registry_queries.organisations_by_credit_code,
            "estates": registry_queries.estates_by_code,
            "contracts": registry_queries.contracts_by_number,
            "users": people_queries.users_named,
            "volunteers": volunteer_queries.volunteers_named,
        }
        self.keys = await lookups[kind.key](session, codes) if kind.key in lookups else {}
        self.companies = await registry_queries.companies_by_credit_code(session, referenced)
        self.organisations = await registry_queries.organisations_by_credit_code(session, referenced)
        if kind.key == "elders":
            self.sealer = Sealer(get_settings().resolved_personal_data_key())
            self.keys = await care_queries.elders_by_id_number(session, self.sealer, [str(cells.get(kind.key_header) or "").strip().upper() for _, cells in sheet.rows])
        if kind.key == "contracts":
            estate_codes = {code for _, cells in sheet.rows for code in code_list(cells.get("片区编码"))}
            self.estates = await registry_queries.estates_by_code(session, estate_codes)
            references = {str(cells.get("表决档案编号") or "").strip() for _, cells in sheet.rows}
            self.paper_votes = await registry_queries.paper_votes_by_reference(session, references)

    def reference_problems(self, values: dict[str, Any]) -> list[tuple[str, str]]:
        """The row's cells that name a street, community, company or organisation nobody registered (nor an earlier
        sheet of the file)."""
        problems = [("street_codes", f"街道编码“{c}”未登记（也不在本文件的“街道”表中）") for c in values.get("street_codes", []) if c not in self.streets]
        problems += [("estate_codes", f"片区编码“{c}”未登记（也不在本文件的“片区”表中）") for c in values.get("estate_codes", []) if c not in self.estates]
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


async def _contract(session: AsyncSession, actor: Principal, v: dict[str, Any], ctx: Context) -> bool:
    """A contract signed on paper, with the paper vote it rests on (纸质表决): the vote recorded by the registry's
    `record_paper_vote` (its figures checked by the rule for a valid vote), then the contract by
    `register_paper_contract` (the rules of every contract: dates, the vote's company and estates, one contract in
    force per estate). A vote already recorded under the row's archive number is used again if its facts agree."""
    community = ctx.communities[v["community_code"]]
    company = ctx.companies[v["company_credit_code"]]
    codes: list[str] = v["estate_codes"]
    problems = [("estate_codes", f"片区 {c} 重复") for i, c in enumerate(codes) if c in codes[:i]]
    problems += [("estate_codes", f"片区 {c} 不属于社区 {community.code}") for c in codes if ctx.estates[c].community_id != community.id]
    if problems:
        raise RowProblem(problems)
    estate_ids = frozenset(ctx.estates[c].id for c in codes)
    vote = ctx.paper_votes.get(v["vote_reference"])
    if (stored := ctx.keys.get(v["contract_number"])) is not None:
        stored_codes = "、".join(sorted(e.code for e in ctx.estates.values() if e.id in stored.estate_ids) or ["（其他片区）"])
        _differs(
            [("community_code", next((c.code for c in ctx.communities.values() if c.id == stored.community_id), ""), community.code),
             ("company_credit_code", next((c.credit_code for c in ctx.companies.values() if c.id == stored.company_id), "（其他企业）"), company.credit_code),
             ("estate_codes", stored_codes, "、".join(sorted(codes))), ("signed_on", stored.signed_on, v["signed_on"]),
             ("starts_on", stored.starts_on, v["starts_on"]), ("ends_on", stored.ends_on, v["ends_on"])],
            [("vote_reference", "该合同已登记在另一次表决之下")] if vote is None or vote.id != stored.vote_id else [],
        )
        return False
    if vote is None:
        data = {
            "community_id": community.id, "reference": v["vote_reference"], "estate_ids": sorted(estate_ids), "company_id": company.id,
            "voted_on": v["voted_on"], "households_voting": v["households_voting"], "households_for_company": v["households_for_company"],
        }
        recorded = await voting.record_paper_vote(session, actor, msgspec.convert(data, schemas.PaperVoteIn))
        vote = registry_queries.PaperVoteParticulars(
            recorded.id, v["vote_reference"], community.id, company.id, estate_ids, v["voted_on"], v["households_voting"], v["households_for_company"]
        )
    else:
        _differs(
            [("voted_on", vote.voted_on, v["voted_on"]), ("households_voting", vote.households_voting, v["households_voting"]),
             ("households_for_company", vote.households_for_company, v["households_for_company"])],
            [("vote_reference", "该表决登记的社区、物业企业或片区与本行不同")] if (vote.community_id, vote.company_id) != (community.id, company.id) or not estate_ids <= vote.estate_ids else [],
        )
    data = {"vote_id": vote.id, "contract_number": v["contract_number"], "signed_on": v["signed_on"], "starts_on": v["starts_on"], "ends_on": v["ends_on"], "estate_ids": sorted(estate_ids)}
    try:
        await contracts.register_paper_contract(session, actor, msgspec.convert(data, schemas.ContractCreate))
    except contracts.ContractOverlap as overlap:
        if overlap.other in ctx.contract_rows:
            raise RowProblem([("starts_on", f"{overlap.message_zh}（该合同在本文件第 {ctx.contract_rows[overlap.other]} 行）")]) from None
        raise
    ctx.paper_votes[v["vote_reference"]] = vote  # a later row may rest on the same vote
    ctx.contract_rows[v["contract_number"]] = ctx.row
    return True


async def _volunteer(session: AsyncSession, actor: Principal, v: dict[str, Any], ctx: Context) -> bool:
    """A volunteer of the importer's community, registered by the volunteers' own use case as waiting for the social
    worker's real-name check in person (实名核验), with an account nobody can sign in to until then. The report names
    the cells of a row, never the name or phone in them."""
    community = ctx.communities[v["community_code"]]
    if community.id != actor.community_id:
        raise RowProblem([("community_code", "只能导入本社区的志愿者")])
    skills: list[str] = v.get("skills") or []
    if (stored := ctx.keys.get(v["username"])) is not None:
        if stored.community_id != community.id:
            raise RowProblem([("username", "该用户名已被其他社区的志愿者使用")])
        _differs([], [(name, f"已登记的{header}与文件中的不同") for name, header, given in (
            ("real_name", "真实姓名", stored.real_name == v["real_name"].strip()), ("phone", "手机号码", stored.phone == v["phone"]),
            ("skills", "技能", sorted(stored.skills) == sorted(dict.fromkeys(skills))),
        ) if not given])
        return False
    if ctx.password_hash is None:
        ctx.secret = new_secret()
        ctx.password_hash = await hash_password_in_thread(ctx.secret)
    data = {"real_name": v["real_name"], "phone": v["phone"], "username": v["username"], "password": ctx.secret, "skills": skills}
    await volunteers.register_volunteer(session, actor, msgspec.convert(data, VolunteerIn), password_hash=ctx.password_hash, checked_in_person=False)
    return True


async def _elder(session: AsyncSession, actor: Principal, v: dict[str, Any], ctx: Context) -> bool:
    """An elder of the importer's community enrolled in home care by the care programme's own use case (`enrol`: the
    eligibility, the provider's contract, the consent, the ID number sealed with its check character verified). An
    elder already enrolled with the same facts is left alone. The report names cells, never what is in them."""
    community = ctx.communities[v["community_code"]]
    if community.id != actor.community_id:
        raise RowProblem([("community_code", "只能导入本社区的老人")])
    provider = ctx.organisations[v["organisation_credit_code"]]
    category = next((code for code, c in care.care_rules().categories.items() if v["category"] in (code, c.name)), None)
    if category is None:
        raise RowProblem([("category", f"不是可选的类别，应为：{'、'.join(c.name for c in care.care_rules().categories.values())}")])
    if (stored := ctx.keys.get(v["id_number"].upper())) is not None:
        if stored.community_id != community.id:
            raise RowProblem([("id_number", "该老人已在其他社区登记")])
        facts = (
            ("name", "姓名", stored.name, v["name"].strip()), ("sex", "性别", stored.sex, v["sex"]), ("birth_date", "出生日期", stored.birth_date.isoformat(), v["birth_date"]),
            ("address", "住址", stored.address, v["address"]), ("phone", "联系电话", stored.phone, v["phone"]), ("category", "类别", stored.category, category),
            ("organisation_credit_code", "服务机构", stored.provider_id, provider.id), ("starts_on", "服务开始日期", stored.starts_on, v["starts_on"]),
            ("consent_by", "同意人", stored.consent_by, v["consent_by"]), ("consent_on", "同意日期", stored.consent_on, v["consent_on"]),
        )
        _differs([], [(name, f"已登记的{header}与文件中的不同") for name, header, was, given in facts if was != given])
        return False
    assert ctx.sealer is not None
    data = {
        "name": v["name"], "sex": v["sex"], "birth_date": v["birth_date"], "address": v["address"], "phone": v["phone"], "category": category,
        "id_number": v["id_number"], "provider_id": provider.id, "starts_on": v["starts_on"], "consent_by": v["consent_by"], "consent_on": v["consent_on"],
    }
    await care.enrol(session, actor, ctx.sealer, msgspec.convert(data, EnrolmentIn))
    return True


HANDLERS: dict[str, Handler] = {
    "streets": _street, "communities": _community, "companies": _company, "social_organisations": _social_organisation, "estates": _estate,
    "contracts": _contract, "users": _user, "volunteers": _volunteer, "elders": _elder,
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


# What a cell of these fields must look like, said instead of the pattern it failed (and never echoing the cell).
PATTERN_REASONS = {
    "phone": "不是有效的电话号码（手机号码为 11 位数字）",
    "id_number": "身份证号码应为 18 位（最后一位可为 X）",
    "birth_date": "出生日期应写作 1946-03-08",
}


def _shape_reason(message: str, field_name: str = "") -> str:
    """A schema's refusal of a cell (msgspec's words) as the person fixing the file reads it."""
    if field_name in PATTERN_REASONS and ("regex" in message or "pattern" in message):
        return PATTERN_REASONS[field_name]
    if "length" in message:
        return "内容过长（或为空），请缩短"
    if any(repr(pattern) in message for pattern in ONE_LINE_PATTERNS):  # a blank cell is refused before: a line break
        return "须为一行文字，不能含换行、制表符等控制字符（单元格内请勿换行）"
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
        ctx.row = number
        try:
            async with session.begin_nested():
                created = await HANDLERS[kind.key](session, actor, values, ctx)
        except RowProblem as problem:
            for field_name, reason in problem.problems:
                bad(field_name, reason)
        except msgspec.ValidationError as error:
            path = str(error).rpartition("$.")[2].split("[")[0].strip("`")
            bad(path, _shape_reason(str(error), path))
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
    require_role(actor, IMPORTERS, "importing spreadsheets")
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
        if not may_import(actor, sheet.kind):
            who = {"volunteers": "本社区的社工或居委会主任", "elders": "本社区的老龄社工"}.get(sheet.kind.key, "区级管理员")
            report.errors.append(CellError(sheet.title, 1, "—", f"您的岗位不能导入“{sheet.kind.name}”：由{who}导入"))
            continue
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
