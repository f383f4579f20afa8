"""Activity funds (活动经费), pure: the year's allocation of a holder (a community or a street), who approves whose
claim, what a claim must say, the balance, the year-end lapse, the receipt's type by content and the version of the
rules. No I/O, no ORM."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from foundation.access import Principal, Role
from foundation.duties import Duty, keep_apart
from foundation.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from foundation.money import yuan
from foundation.text import visible
from subsidies.engine.rules import Party

CODE = "activity_funds"
COMMUNITY = "community"
STREET = "street"
PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
STATE_NAMES = {PENDING: "待审批", APPROVED: "已批准", REFUSED: "未批准"}
HOLDER_NAMES = {COMMUNITY: "社区", STREET: "街道"}
# The district approves a street's claims through district finance (区财政): it holds the money and pays the batches.
DISTRICT_APPROVER = Role.FINANCE


class ActivityRulesError(ValueError):
    """config/activity.toml is wrong; the message says where."""


@dataclass(frozen=True)
class FundRules:
    """config/activity.toml as values."""

    community_fen: int
    street_fen: int
    approval_deadline_working_days: int
    lapse_at_year_end: bool
    receipt_max_bytes: int
    receipt_types: frozenset[str]
    purposes: dict[str, int]  # purpose → the largest single claim, fen

    @property
    def sha256(self) -> str:
        content = [self.community_fen, self.street_fen, self.approval_deadline_working_days, self.lapse_at_year_end, sorted(self.purposes.items())]
        return hashlib.sha256(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()

    def allocation(self, kind: str) -> int:
        return self.community_fen if kind == COMMUNITY else self.street_fen


def _positive_int(data: dict[str, object], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ActivityRulesError(f"config/activity.toml: {key} is a whole number above zero, not {value!r}")
    return value


def parse_rules(text: str) -> FundRules:
    data = tomllib.loads(text)
    purposes = data.get("purposes")
    if not isinstance(purposes, dict) or not purposes:
        raise ActivityRulesError("config/activity.toml: [purposes] names at least one purpose with its largest claim in fen")
    caps = {str(name): _positive_int(purposes, name) for name in purposes}
    types = data.get("receipt_types")
    if not isinstance(types, list) or not types or not set(types) <= set(RECEIPT_SIGNATURES):
        raise ActivityRulesError(f"config/activity.toml: receipt_types is a list of {', '.join(RECEIPT_SIGNATURES)}")
    lapse = data.get("lapse_at_year_end")
    if not isinstance(lapse, bool):
        raise ActivityRulesError("config/activity.toml: lapse_at_year_end is true or false")
    return FundRules(
        community_fen=_positive_int(data, "community_fen"),
        street_fen=_positive_int(data, "street_fen"),
        approval_deadline_working_days=_positive_int(data, "approval_deadline_working_days"),
        lapse_at_year_end=lapse,
        receipt_max_bytes=_positive_int(data, "receipt_max_bytes"),
        receipt_types=frozenset(str(t) for t in types),
        purposes=caps,
    )


def load_rules(path: Path) -> FundRules:
    return parse_rules(path.read_text(encoding="utf-8"))


# Holders


def holder_key(kind: str, ident: int) -> str:
    return str(Party(kind, ident))


def parse_holder(text: str) -> Party:
    kind, _, ident = text.partition(":")
    if kind not in (COMMUNITY, STREET) or not ident.isdecimal():
        raise InvalidInput(f"a holder is community:<id> or street:<id>, not {text!r}", zh="经费持有方有误", field="holder")
    return Party(kind, int(ident))


def holder_of(principal: Principal) -> Party:
    """The fund a principal claims from: a committee director's community, a street officer's street."""
    if principal.role is Role.COMMITTEE_DIRECTOR and principal.community_id:
        return Party(COMMUNITY, principal.community_id)
    if principal.role is Role.STREET_OFFICER and principal.street_id:
        return Party(STREET, principal.street_id)
    raise PermissionDenied(
        f"activity funds are claimed by a committee director (for the community) or a street officer (for the street); you are {principal.role.value}",
        zh="活动经费由居委会主任（本社区）或街道办（本街道）申请报销",
    )


def sees_holder(principal: Principal, holder: Party, street_id: int) -> bool:
    """Whether a principal sees a fund and its claims: its holder, the street above a community, the district."""
    if principal.role in (Role.FINANCE, Role.ADMIN):
        return True
    if principal.role is Role.STREET_OFFICER:
        return principal.street_id == street_id
    if principal.role is Role.COMMITTEE_DIRECTOR:
        return holder == Party(COMMUNITY, principal.community_id or 0)
    return False


def check_approver(principal: Principal, claimant_user_id: int | None, holder: Party, street_id: int) -> None:
    """Who decides a claim: the street decides its communities' claims, the district (finance) a street's; nobody
    decides a claim they filed (separation of duties), whatever their role."""
    keep_apart(Duty.DECIDE_OWN_ACTIVITY_CLAIM, principal, [claimant_user_id])
    if holder.kind == COMMUNITY:
        if principal.role is not Role.STREET_OFFICER:
            raise PermissionDenied("a community's claim is decided by its street's officer", zh="社区的报销申请由所属街道审批")
        if principal.street_id != street_id:
            raise NotFound("claim", "of another street")
        return
    if principal.role is not DISTRICT_APPROVER:
        raise PermissionDenied("a street's claim is decided by district finance", zh="街道的报销申请由区财政审批")


# Claims


@dataclass(frozen=True)
class ClaimFacts:
    spent_on: date
    purpose: str
    amount_fen: int
    description: str


def check_claim(claim: ClaimFacts, rules: FundRules, today: date) -> None:
    """A claim's own rules, before the fund is looked at: a known purpose, an amount within its cap, a date not
    in the future, a description that says what was bought for that purpose."""
    if claim.purpose not in rules.purposes:
        raise RuleViolation(f"purpose {claim.purpose!r} is not one of {', '.join(rules.purposes)}", zh=f"用途须为：{'、'.join(rules.purposes)}", field="purpose")
    cap = rules.purposes[claim.purpose]
    if claim.amount_fen > cap:
        raise RuleViolation(
            f"a claim for {claim.purpose} is at most {yuan(cap)} yuan; {yuan(claim.amount_fen)} yuan was claimed",
            zh=f"“{claim.purpose}”单笔报销不超过 {yuan(cap)} 元", field="amount_fen",
        )
    if claim.spent_on > today:
        raise RuleViolation(f"spent on {claim.spent_on}, which is after today ({today})", zh="支出日期不能晚于今天", field="spent_on")
    if len(visible(claim.description)) < 6:
        raise RuleViolation("say what was bought or paid for, in a few words (6 characters or more)", zh="请写明所购物品或服务（至少 6 个字）", field="description")


@dataclass(frozen=True)
class Balance:
    """A fund's money: allocated; held by claims waiting or approved; of which paid; lapsed at year end; left."""

    allocated_fen: int
    held_fen: int
    paid_fen: int
    lapsed_fen: int

    @property
    def left_fen(self) -> int:
        return self.allocated_fen - self.held_fen - self.lapsed_fen


def check_balance(balance: Balance, amount_fen: int) -> None:
    if amount_fen > balance.left_fen:
        raise RuleViolation(
            f"the fund has {yuan(balance.left_fen)} yuan left; a claim of {yuan(amount_fen)} yuan would take it below zero",
            zh=f"经费余额 {yuan(balance.left_fen)} 元，不足以报销 {yuan(amount_fen)} 元", field="amount_fen", reason="balance",
        )


def lapses(year: int, today: date, lapse_at_year_end: bool) -> bool:
    """Whether a year's fund has lapsed by `today`: once its year has ended, unless the rules keep it open."""
    return lapse_at_year_end and today.year > year


# Receipts

RECEIPT_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}


def receipt_type(content: bytes, allowed: frozenset[str]) -> str:
    """The receipt's type, judged by its first bytes (not its name)."""
    for kind, signatures in RECEIPT_SIGNATURES.items():
        if kind in allowed and content.startswith(signatures):
            return kind
    names = {"image/jpeg": "JPEG", "image/png": "PNG", "application/pdf": "PDF"}
    listed = "、".join(names[t] for t in sorted(allowed))
    raise InvalidInput(f"the receipt is a photo or scan: {', '.join(sorted(allowed))}", zh=f"发票须为照片或扫描件（{listed}）", field="file")
