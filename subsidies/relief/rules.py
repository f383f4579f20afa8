"""Relief funds (救助基金), pure: the four funds and their caps from config/relief.toml, the three review levels
(社区初审 → 街道审核 → 区审批) and who gives each, what a verdict does to an application, the cap per case, the
fund's balance, the supporting document's type by content, and how personal data is shown. No I/O, no ORM."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from foundation.access import Principal, Role
from foundation.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from foundation.money import yuan

CODE = "relief"

# The application's states: waiting at one of the three levels, or decided, or returned to the community.
COMMUNITY, STREET, DISTRICT = "community", "street", "district"
APPROVED, REFUSED, RETURNED = "approved", "refused", "returned"
LEVELS = (COMMUNITY, STREET, DISTRICT)
STATES = (*LEVELS, APPROVED, REFUSED, RETURNED)
STATE_NAMES = {COMMUNITY: "待社区初审", STREET: "待街道审核", DISTRICT: "待区审批", APPROVED: "已批准", REFUSED: "不予救助", RETURNED: "已退回社区"}
LEVEL_NAMES = {COMMUNITY: "社区初审", STREET: "街道审核", DISTRICT: "区审批"}
APPROVE, RETURN, REFUSE = "approve", "return", "refuse"
VERDICTS = (APPROVE, RETURN, REFUSE)
VERDICT_NAMES = {APPROVE: "同意", RETURN: "退回", REFUSE: "不同意"}

# Who files for a resident (the community's staff) and who gives each level. The district's approval is the civil
# affairs bureau's (区民政, the administrator role); district finance pays the approved cases in batches.
FILERS = frozenset({Role.COMMITTEE_DIRECTOR, Role.CARE_WORKER})
LEVEL_ROLES = {COMMUNITY: Role.COMMITTEE_DIRECTOR, STREET: Role.STREET_OFFICER, DISTRICT: Role.ADMIN}
# Who sees the applicant's name in full (the others see it masked) and the phone (the community only).
NAME_READERS = frozenset({*FILERS, Role.ADMIN})
PHONE_READERS = FILERS
# Who opens the supporting documents (ID cards, 低保证, diagnoses): those who review the case; finance pays the
# approved cases without them.
DOCUMENT_READERS = frozenset({*FILERS, Role.STREET_OFFICER, Role.ADMIN})


class ReliefRulesError(ValueError):
    """config/relief.toml is wrong; the message says where."""


@dataclass(frozen=True)
class Fund:
    key: str  # warmth, education, medical, elderly
    id: int
    name: str
    budget_fen: int
    case_cap_fen: int

    @property
    def holder(self) -> str:
        """The engine's budget holder of the fund."""
        return f"relief_fund:{self.id}"


@dataclass(frozen=True)
class ReliefRules:
    """config/relief.toml as values."""

    funds: dict[str, Fund]
    deadlines: dict[str, int]  # level → working days
    document_max_bytes: int
    document_types: frozenset[str]
    documents_min: int
    documents_max: int

    @property
    def sha256(self) -> str:
        content = [[(f.key, f.id, f.name, f.budget_fen, f.case_cap_fen) for f in self.funds.values()], sorted(self.deadlines.items())]
        return hashlib.sha256(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()

    def fund(self, key: str) -> Fund:
        found = self.funds.get(key)
        if found is None:
            raise RuleViolation(f"fund {key!r} is not one of {', '.join(self.funds)}", zh=f"救助基金须为：{'、'.join(f.name for f in self.funds.values())}", field="fund")
        return found

    def fund_by_id(self, ident: int) -> Fund | None:
        return next((f for f in self.funds.values() if f.id == ident), None)


def _positive_int(data: dict[str, object], key: str, where: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ReliefRulesError(f"config/relief.toml: {where}{key} is a whole number above zero, not {value!r}")
    return value


def parse_rules(text: str) -> ReliefRules:
    data = tomllib.loads(text)
    funds_data = data.get("funds")
    if not isinstance(funds_data, dict) or not funds_data:
        raise ReliefRulesError("config/relief.toml: [funds.<key>] names at least one fund")
    funds: dict[str, Fund] = {}
    for key, item in funds_data.items():
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise ReliefRulesError(f"config/relief.toml: [funds.{key}] has a name")
        fund = Fund(key, _positive_int(item, "id", f"funds.{key}."), item["name"].strip(), _positive_int(item, "budget_fen", f"funds.{key}."), _positive_int(item, "case_cap_fen", f"funds.{key}."))
        if fund.case_cap_fen > fund.budget_fen:
            raise ReliefRulesError(f"config/relief.toml: funds.{key}.case_cap_fen is above its budget")
        funds[str(key)] = fund
    if len({f.id for f in funds.values()}) != len(funds):
        raise ReliefRulesError("config/relief.toml: each fund has its own id")
    deadlines = data.get("deadlines")
    if not isinstance(deadlines, dict):
        raise ReliefRulesError("config/relief.toml: [deadlines] gives the working days of community, street and district")
    documents = data.get("documents")
    if not isinstance(documents, dict):
        raise ReliefRulesError("config/relief.toml: [documents] is missing")
    types = documents.get("types")
    if not isinstance(types, list) or not types or not set(types) <= set(DOCUMENT_SIGNATURES):
        raise ReliefRulesError(f"config/relief.toml: documents.types is a list of {', '.join(DOCUMENT_SIGNATURES)}")
    least, most = _positive_int(documents, "min_per_application", "documents."), _positive_int(documents, "max_per_application", "documents.")
    if least > most:
        raise ReliefRulesError("config/relief.toml: documents.min_per_application is above max_per_application")
    return ReliefRules(
        funds=funds,
        deadlines={level: _positive_int(deadlines, level, "deadlines.") for level in LEVELS},
        document_max_bytes=_positive_int(documents, "max_bytes", "documents."),
        document_types=frozenset(str(t) for t in types),
        documents_min=least,
        documents_max=most,
    )


def load_rules(path: Path) -> ReliefRules:
    return parse_rules(path.read_text(encoding="utf-8"))


# Filing


def check_filer(principal: Principal) -> int:
    """The community a principal files for: the committee director's or the elderly-care social worker's."""
    if principal.role not in FILERS or not principal.community_id:
        raise PermissionDenied(
            f"relief applications are filed by the community's staff (committee director or care worker); you are {principal.role.value}",
            zh="救助申请由社区（居委会主任或社区社工）代居民提交",
        )
    return principal.community_id


def check_amount(fund: Fund, amount_fen: int) -> None:
    """The cap per case (每案上限) of the fund."""
    if amount_fen > fund.case_cap_fen:
        raise RuleViolation(
            f"{fund.key} pays at most {yuan(fund.case_cap_fen)} yuan per case; {yuan(amount_fen)} yuan was asked",
            zh=f"{fund.name}每案救助金额不超过 {yuan(fund.case_cap_fen)} 元，本申请为 {yuan(amount_fen)} 元", field="amount_fen", reason="cap",
        )


def check_documents(count: int, rules: ReliefRules) -> None:
    if count < rules.documents_min or count > rules.documents_max:
        raise RuleViolation(
            f"an application carries {rules.documents_min} to {rules.documents_max} supporting documents; {count} were sent",
            zh=f"请上传 {rules.documents_min} 至 {rules.documents_max} 份证明材料", field="document_ids",
        )


@dataclass(frozen=True)
class FundBalance:
    """A fund's year: its budget, what approved cases took (committed), of which paid, and what is left."""

    budget_fen: int
    committed_fen: int

    @property
    def left_fen(self) -> int:
        return self.budget_fen - self.committed_fen


def check_balance(fund: Fund, balance: FundBalance, amount_fen: int) -> None:
    if amount_fen > balance.left_fen:
        raise RuleViolation(
            f"{fund.key} has {yuan(balance.left_fen)} yuan left this year; approving {yuan(amount_fen)} yuan would overspend it",
            zh=f"{fund.name}本年度余额 {yuan(balance.left_fen)} 元，不足以批准 {yuan(amount_fen)} 元", field="amount_fen", reason="balance",
        )


# Review


def level_of(state: str) -> str | None:
    """The level an application waits at, or None once decided or returned."""
    return state if state in LEVELS else None


def after(level: str, verdict: str) -> str:
    """The state a verdict at a level leads to: approval moves up a level (the district's decides), a return sends
    it back to the community to complete, a refusal ends it."""
    if verdict == RETURN:
        return RETURNED
    if verdict == REFUSE:
        return REFUSED
    return LEVELS[LEVELS.index(level) + 1] if level != DISTRICT else APPROVED


def check_level(state: str, level: str) -> None:
    """A review is given at the level the application waits at: none skipped, none given twice."""
    waiting = level_of(state)
    if waiting is None:
        raise Conflict(f"the application is {state}; there is nothing to review", zh=f"该申请{STATE_NAMES[state]}，无需再审核", reason="decided")
    if waiting != level:
        if LEVELS.index(level) > LEVELS.index(waiting):
            raise RuleViolation(
                f"the application waits for {waiting} review; {level} comes after it (no level is skipped)",
                zh=f"该申请尚待{LEVEL_NAMES[waiting]}，不能越级进行{LEVEL_NAMES[level]}", reason="skipped",
            )
        raise Conflict(f"the {level} review was given already; the application waits for {waiting}", zh=f"{LEVEL_NAMES[level]}已完成，该申请现{STATE_NAMES[waiting]}", reason="decided")


ROLE_ZH = {Role.COMMITTEE_DIRECTOR: "本社区居委会主任", Role.STREET_OFFICER: "所属街道办", Role.ADMIN: "区民政（区级管理员）"}


def check_reviewer(principal: Principal, level: str, community_id: int, street_id: int, state: str, filed_by_user_id: int | None) -> None:
    """Who gives a level: the committee director of the applicant's community, the officer of its street, the
    district's civil affairs administrator; at the level the application waits at; nobody reviews an application
    they filed (separation of duties)."""
    role = LEVEL_ROLES[level]
    if principal.role is not role:
        raise PermissionDenied(f"the {level} review is given by a {role.value}; you are {principal.role.value}", zh=f"{LEVEL_NAMES[level]}由{ROLE_ZH[role]}进行", reason="role")
    if level == COMMUNITY and principal.community_id != community_id:
        raise NotFound("relief application", "of another community")
    if level == STREET and principal.street_id != street_id:
        raise NotFound("relief application", "of another street")
    check_level(state, level)
    if principal.user_id is not None and principal.user_id == filed_by_user_id:
        raise PermissionDenied("you filed this application; another person reviews it", zh="不能审核自己提交的申请", reason="own")


def sees(principal: Principal, community_id: int, street_id: int) -> bool:
    """Who sees an application: its community's staff, its street's officer, the district (civil affairs, finance)."""
    if principal.role in (Role.ADMIN, Role.FINANCE):
        return True
    if principal.role is Role.STREET_OFFICER:
        return principal.street_id == street_id
    if principal.role in FILERS:
        return principal.community_id == community_id
    return False


# Personal data


def mask_name(name: str) -> str:
    """The applicant's name as the street and finance see it: the family name and a star per other character."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else "*" * len(phone)


# Supporting documents

DOCUMENT_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}


def document_type(content: bytes, allowed: frozenset[str]) -> str:
    """The document's type, judged by its first bytes (not its name)."""
    for kind, signatures in DOCUMENT_SIGNATURES.items():
        if kind in allowed and content.startswith(signatures):
            return kind
    names = {"image/jpeg": "JPEG", "image/png": "PNG", "application/pdf": "PDF"}
    raise InvalidInput(f"a supporting document is a photo or scan: {', '.join(sorted(allowed))}", zh=f"证明材料须为照片或扫描件（{'、'.join(names[t] for t in sorted(allowed))}）", field="file")
