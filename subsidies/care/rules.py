"""The rules of elderly home care, pure (config/RULES.md, "Elderly home care"): who is eligible, the ID number's
check and mask, a visit's limits, the month's minimum service, when a voucher may be redeemed and by whom, and the
line a redeemed voucher pays. No I/O, no ORM."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from foundation.periods import Month
from foundation.ratios import parse_ratio
from subsidies.engine.rules import PAYERS, ROUNDINGS, LineDraft, Party, PayerSplit

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
STOP_REASONS = {"moved": "迁出", "hospital": "长期住院", "died": "去世", "declined": "本人退出"}
CONSENT_BY = {"elder": "本人", "guardian": "监护人"}
CONFIRMED_BY = {"elder": "老人本人", "family": "家属"}
SEXES = {"F": "女", "M": "男"}


class CareRulesError(ValueError):
    """config/care.toml is wrong; the message says where."""


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    min_age: int | None = None


@dataclass(frozen=True)
class CareRules:
    voucher_fen: int
    voucher_prefix: str
    city_share: Fraction
    split: PayerSplit
    min_age: int
    categories: Mapping[str, Category]
    min_visits: int
    min_minutes: int
    visit_min_minutes: int
    visit_max_minutes: int
    backdate_days: int
    services: Mapping[str, str]
    reminder_day: int
    sha256: str


def parse_care_rules(text: str) -> CareRules:
    """config/care.toml as rules, or a CareRulesError naming what is wrong."""
    try:
        raw = tomllib.loads(text)
        categories = {c["code"]: Category(str(c["code"]), str(c["name"]), int(c["min_age"]) if "min_age" in c else None) for c in raw["categories"]}
        rules = CareRules(
            voucher_fen=int(raw["voucher_fen"]), voucher_prefix=str(raw["voucher_prefix"]), city_share=parse_ratio(str(raw["city_share"])),
            split=PayerSplit(str(raw["payers"]["rounded"]), str(raw["payers"]["rounding"])), min_age=int(raw["eligibility"]["min_age"]), categories=categories,
            min_visits=int(raw["minimum"]["min_visits"]), min_minutes=int(raw["minimum"]["min_minutes"]), visit_min_minutes=int(raw["visit"]["min_minutes"]),
            visit_max_minutes=int(raw["visit"]["max_minutes"]), backdate_days=int(raw["visit"]["backdate_days"]),
            services={str(k): str(v) for k, v in raw["services"].items()}, reminder_day=int(raw["reminders"]["day"]), sha256=hashlib.sha256(text.encode()).hexdigest(),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise CareRulesError(f"config/care.toml: {type(error).__name__}: {error}") from None
    problems = [
        (rules.voucher_fen <= 0, "voucher_fen is more than 0"),
        (not rules.voucher_prefix.isalnum() or len(rules.voucher_prefix) > 4, "voucher_prefix is 1-4 letters or digits"),
        (not 0 <= rules.city_share <= 1, "city_share is between 0 and 1"),
        (rules.split.rounded not in PAYERS or rules.split.rounding not in ROUNDINGS, "[payers] is wrong"),
        (not categories, "at least one [[categories]]"),
        (rules.min_visits < 1 or rules.min_minutes < 1, "[minimum] min_visits and min_minutes are 1 or more"),
        (not 1 <= rules.visit_min_minutes <= rules.visit_max_minutes <= 24 * 60, "[visit] 1 <= min_minutes <= max_minutes <= 1440"),
        (not 0 <= rules.backdate_days <= 31, "[visit] backdate_days is 0-31"),
        (not rules.services, "at least one service in [services]"),
        (not 1 <= rules.reminder_day <= 28, "[reminders] day is 1-28"),
    ]
    for wrong, message in problems:
        if wrong:
            raise CareRulesError(f"config/care.toml: {message}")
    return rules


# The elder


def check_id_number(text: str) -> date | None:
    """The birth date a resident ID number (GB 11643: 17 digits and a check character) carries, or None when the
    number is not one (wrong length, characters, date or check character)."""
    number = text.strip().upper()
    if len(number) != 18 or not (number[:17].isascii() and number[:17].isdigit()) or number[17] not in "0123456789X":
        return None
    if ID_CHECK[sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS, strict=True)) % 11] != number[17]:
        return None
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def masked_id(tail: str) -> str:
    """What everyone but the community's elderly-care social worker sees of an ID number: its last four characters."""
    return "*" * 14 + tail


def masked_name(name: str) -> str:
    """A name on documents and to those who need not know the person: the surname and the last character."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def eligibility_refusal(rules: CareRules, birth: date, category: str, day: date) -> tuple[str, str] | None:
    """Why an elder may not be enrolled on `day` ((English, Chinese)), or None when they may."""
    age = age_on(birth, day)
    found = rules.categories.get(category)
    if found is None:
        listed = "、".join(c.name for c in rules.categories.values())
        return f"category {category!r} is not one of {', '.join(rules.categories)}", f"类别不在享受范围内（{listed}）"
    if age < rules.min_age:
        return f"the elder is {age} on {day}; enrolment is from {rules.min_age}", f"老人在 {day} 为 {age} 周岁，须年满 {rules.min_age} 周岁"
    if found.min_age is not None and age < found.min_age:
        return f"the category {found.name} is from {found.min_age}; the elder is {age}", f"“{found.name}”类别须年满 {found.min_age} 周岁，老人为 {age} 周岁"
    return None


# Visits


def visit_refusal(rules: CareRules, visit_day: date, minutes: int, service: str, today: date, enrolled_from: date, enrolled_until: date | None) -> tuple[str, str, str] | None:
    """Why a visit cannot be logged ((field, English, Chinese)), or None."""
    if service not in rules.services:
        return "service", f"service {service!r} is not one of {', '.join(rules.services)}", "服务项目不在清单中"
    if not rules.visit_min_minutes <= minutes <= rules.visit_max_minutes:
        return "minutes", f"a visit lasts {rules.visit_min_minutes} to {rules.visit_max_minutes} minutes", f"单次服务时长应为 {rules.visit_min_minutes} 到 {rules.visit_max_minutes} 分钟"
    if visit_day > today:
        return "visit_date", f"{visit_day} is in the future", "服务日期不能晚于今天"
    if visit_day < today - timedelta(days=rules.backdate_days):
        return "visit_date", f"a visit is logged within {rules.backdate_days} days of its day", f"服务记录须在服务后 {rules.backdate_days} 天内登记"
    if visit_day < enrolled_from or (enrolled_until is not None and visit_day > enrolled_until):
        return "visit_date", f"the elder was not enrolled on {visit_day}", f"老人在 {visit_day} 不在服务期内"
    return None


@dataclass(frozen=True)
class Served:
    """An elder's confirmed service in a month."""

    visits: int
    minutes: int


def minimum_met(rules: CareRules, served: Served) -> bool:
    return served.visits >= rules.min_visits or served.minutes >= rules.min_minutes


def shortfall(rules: CareRules, served: Served) -> tuple[str, str]:
    """What the month still lacks, in English and Chinese."""
    return (
        f"the month's minimum service is {rules.min_visits} confirmed visits or {rules.min_minutes} minutes; logged {served.visits} visits, {served.minutes} minutes",
        f"本月最低服务量为 {rules.min_visits} 次或 {rules.min_minutes // 60} 小时（已确认），目前 {served.visits} 次、{served.minutes} 分钟",
    )


# Redemption


@dataclass(frozen=True)
class VoucherState:
    code: str
    month: Month
    provider_id: int
    redeemed: bool


def redemption_refusal(rules: CareRules, voucher: VoucherState, provider_id: int, contracted: bool, served: Served, today: date) -> tuple[str, str, str] | None:
    """Why `provider_id` may not redeem the voucher today ((kind, English, Chinese)), or None. A voucher pays once,
    only to its elder's provider under contract that month, within its month, once the minimum service is met."""
    if voucher.redeemed:
        return "conflict", f"voucher {voucher.code} was already redeemed; a voucher pays once", f"服务券 {voucher.code} 已兑付过，每张券只兑付一次"
    if provider_id != voucher.provider_id:
        return "forbidden", f"voucher {voucher.code} is for the elder's own provider", f"服务券 {voucher.code} 不属于本机构服务的老人"
    if today > voucher.month.last_day:
        return "rule", f"voucher {voucher.code} expired with {voucher.month}; vouchers are redeemed within their month", f"服务券 {voucher.code} 已随 {voucher.month} 月过期，不能再兑付"
    if today < voucher.month.first_day:
        return "rule", f"voucher {voucher.code} is for {voucher.month}", f"服务券 {voucher.code} 尚未到使用月份"
    if not contracted:
        return "forbidden", f"your organisation has no contract for the elder's street in {voucher.month}", f"本机构 {voucher.month} 月没有该街道的服务合同"
    if not minimum_met(rules, served):
        english, chinese = shortfall(rules, served)
        return "rule", english, chinese
    return None


def voucher_line(code: str, voucher_id: int, elder_id: int, provider_id: int, street_id: int, month: str, amount_fen: int, served: Served) -> LineDraft:
    """The line a redeemed voucher pays: once, ever, by its code."""
    return LineDraft(
        key=f"care:{code}", payee=Party("organisation", provider_id), holder=Party("street", street_id), beneficiary=Party("elder", elder_id), period=month,
        amount_fen=amount_fen, reason=f"居家养老服务券 {code}：已服务 {served.visits} 次、{served.minutes} 分钟", evidence=f"voucher:{voucher_id}",
    )


def voucher_code(prefix: str, month: Month, letters: str) -> str:
    return f"{prefix}{month.year:04d}{month.month:02d}-{letters}"


def unserved(rules: CareRules, tallies: Sequence[tuple[int, Served]]) -> list[int]:
    """The elders (ids) of `tallies` whose month's minimum is not met."""
    return [elder for elder, served in tallies if not minimum_met(rules, served)]
