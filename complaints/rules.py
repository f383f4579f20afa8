"""Residents' complaints as rules (pure: no I/O, no ORM): their states and routes, the rules of config/complaints.toml,
the service-level deadlines on the working-day calendar, and the proof of work a browser solves before reporting."""

from __future__ import annotations

import hashlib
import hmac
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from foundation.calendar.rules import WorkCalendar, working_day_after
from foundation.clock import BUSINESS_TZ
from foundation.periods import business_date


class ComplaintState(StrEnum):
    NEW = "new"  # 待处理: reported, nobody has answered yet
    ORDERED = "ordered"  # 已转整改: a rectification order to the company
    MEDIATING = "mediating"  # 调解中: a mediation case
    RESOLVED = "resolved"  # 已办结: the order rectified and verified, or the mediation agreed
    CLOSED = "closed"  # 已结案: closed with a reason (duplicate, not the service's duty, referred ...)


STATE_NAMES = {
    ComplaintState.NEW: "待处理",
    ComplaintState.ORDERED: "已转物业企业整改",
    ComplaintState.MEDIATING: "调解中",
    ComplaintState.RESOLVED: "已办结",
    ComplaintState.CLOSED: "已结案",
}
OPEN_STATES = frozenset({ComplaintState.NEW, ComplaintState.ORDERED, ComplaintState.MEDIATING})


class Channel(StrEnum):
    QR = "qr"  # the public report page (the QR poster at the estate)
    OPEN311 = "open311"  # a city app or hotline through the GeoReport v2 API


class MediationOutcome(StrEnum):
    AGREED = "agreed"  # 达成调解协议
    FAILED = "failed"  # 调解不成


def next_state(current: ComplaintState, wanted: ComplaintState) -> bool:
    """Whether a complaint in `current` may move to `wanted`: new complaints are routed once; an order or a mediation
    ends resolved (or, a failed mediation, closed with a referral)."""
    allowed = {
        ComplaintState.NEW: {ComplaintState.ORDERED, ComplaintState.MEDIATING, ComplaintState.CLOSED},
        ComplaintState.ORDERED: {ComplaintState.RESOLVED},
        ComplaintState.MEDIATING: {ComplaintState.RESOLVED, ComplaintState.CLOSED},
    }
    return wanted in allowed.get(current, set())


@dataclass(frozen=True)
class Service:
    """An Open311 service: its code, name and the checklist category it maps to ('' for 其他)."""

    code: str
    name: str
    category: str


@dataclass(frozen=True)
class SurveyRules:
    """[survey]: the residents' satisfaction survey through the QR page."""

    min_households: int  # the month's QR answers replace the committee's paper figure from this many households on
    max_batch: int  # codes one batch may print
    per_address: int  # answers (and attempts) admitted per calling address within the complaints' window
    per_device: int


@dataclass(frozen=True)
class ComplaintRules:
    first_response_days: int
    resolution_days: int
    max_photos: int
    pow_bits: int
    pow_minutes: int
    per_address: int
    per_device: int
    open311_per_address: int
    window_minutes: int
    cluster_count: int
    cluster_days: int
    reasons: tuple[str, ...]
    referrals: tuple[str, ...]
    services: tuple[Service, ...]
    survey: SurveyRules

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)


def parse_complaint_rules(text: str, categories: frozenset[str]) -> ComplaintRules:
    """config/complaints.toml as values; each service must map to a category of the checklist (or none, 其他)."""
    try:
        data = tomllib.loads(text)
        sla, report, limits, closure = data["sla"], data["report"], data["limits"], data["closure"]
        rules = ComplaintRules(
            first_response_days=int(sla["first_response_working_days"]),
            resolution_days=int(sla["resolution_working_days"]),
            max_photos=int(report["max_photos"]),
            pow_bits=int(report["pow_bits"]),
            pow_minutes=int(report["pow_minutes"]),
            per_address=int(limits["per_address"]),
            per_device=int(limits["per_device"]),
            open311_per_address=int(limits["open311_per_address"]),
            window_minutes=int(limits["window_minutes"]),
            cluster_count=int(data["clusters"]["count"]),
            cluster_days=int(data["clusters"]["days"]),
            reasons=tuple(str(r) for r in closure["reasons"]),
            referrals=tuple(str(r) for r in closure["referrals"]),
            services=tuple(Service(code=str(s["code"]), name=str(s["name"]), category=str(s["category"])) for s in data["services"]),
            survey=SurveyRules(
                min_households=int(data["survey"]["min_households"]), max_batch=int(data["survey"]["max_batch"]),
                per_address=int(data["survey"]["per_address"]), per_device=int(data["survey"]["per_device"]),
            ),
        )
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"complaint rules: {error}") from None
    for name in ("first_response_days", "resolution_days", "max_photos", "pow_minutes", "per_address", "per_device", "open311_per_address", "window_minutes", "cluster_days"):
        if getattr(rules, name) < 1:
            raise ValueError(f"complaint rules: {name} must be at least 1")
    if rules.cluster_count < 2:
        raise ValueError("complaint rules: clusters.count must be at least 2")
    if not 0 <= rules.pow_bits <= 24:
        raise ValueError("complaint rules: report.pow_bits must be 0 to 24 (more would keep a phone busy for minutes)")
    if rules.first_response_days > rules.resolution_days:
        raise ValueError("complaint rules: the first response cannot come after the resolution")
    codes = [s.code for s in rules.services]
    if not codes or len(set(codes)) != len(codes):
        raise ValueError("complaint rules: services must be a non-empty list of distinct codes")
    for s in rules.services:
        if s.category and s.category not in categories:
            raise ValueError(f"complaint rules: service {s.code} maps to category {s.category!r}, which the checklist does not have")
    if not rules.reasons:
        raise ValueError("complaint rules: closure.reasons must not be empty")
    for name in ("min_households", "max_batch", "per_address", "per_device"):
        if getattr(rules.survey, name) < 1:
            raise ValueError(f"complaint rules: survey.{name} must be at least 1")
    return rules


@dataclass(frozen=True)
class Deadlines:
    """When a complaint must first be answered and resolved (instants: the end of the working day, Beijing time)."""

    first_response_at: datetime
    resolution_at: datetime


def deadlines(reported_at: datetime, rules: ComplaintRules, calendar: WorkCalendar) -> Deadlines:
    """The n-th working day after the day of the report (not counted), to its end (24:00 Beijing time)."""
    day = business_date(reported_at)

    def end(days: int) -> datetime:
        found = working_day_after(day, days, calendar).day
        return datetime(found.year, found.month, found.day, tzinfo=BUSINESS_TZ) + timedelta(days=1)

    return Deadlines(first_response_at=end(rules.first_response_days), resolution_at=end(rules.resolution_days))


def minutes_between(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else max(0, int((end - start).total_seconds() // 60))


@dataclass(frozen=True)
class Cluster:
    """疑似群体投诉: complaints of one kind at one estate close together in time."""

    estate_id: int
    service_code: str
    first_at: datetime
    last_at: datetime
    complaint_ids: tuple[int, ...]


def clusters(reports: list[tuple[int, int, str, datetime]], count: int, days: int) -> list[Cluster]:
    """Runs of at least `count` reports (id, estate, service, when) of one estate and service, each within `days`
    days of the run's first; a report belongs to one run at most. Order of the input does not matter."""
    found: list[Cluster] = []
    groups: dict[tuple[int, str], list[tuple[datetime, int]]] = {}
    for complaint_id, estate_id, service_code, at in reports:
        groups.setdefault((estate_id, service_code), []).append((at, complaint_id))
    window = timedelta(days=days)
    for (estate_id, service_code), items in sorted(groups.items()):
        items.sort()
        start = 0
        while start < len(items):
            end = start
            while end + 1 < len(items) and items[end + 1][0] - items[start][0] <= window:
                end += 1
            if end - start + 1 >= count:
                run = items[start : end + 1]
                found.append(Cluster(estate_id, service_code, run[0][0], run[-1][0], tuple(i for _, i in run)))
                start = end + 1
            else:
                start += 1
    return found


def median(values: list[int]) -> int | None:
    """The median of whole minutes, rounded down; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) // 2


# Proof of work: the form carries a challenge signed by the server (when it was issued and a random salt); the
# browser finds a nonce whose hash with it starts with `bits` zero bits. The server checks the signature, the age
# and the hash, and the limiter admits each challenge once.


def challenge_signature(secret: str, issued: int, salt: str) -> str:
    return hmac.new(secret.encode(), f"complaint-pow|{issued}|{salt}".encode(), hashlib.sha256).hexdigest()[:32]


def make_challenge(secret: str, issued: int, salt: str) -> str:
    return f"{issued}.{salt}.{challenge_signature(secret, issued, salt)}"


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def pow_refusal(secret: str, challenge: str, nonce: str, bits: int, now: int, max_age_seconds: int) -> str | None:
    """Why a solved challenge is not accepted (English), or None when it is."""
    parts = challenge.split(".")
    if len(parts) != 3 or not parts[0].isdecimal() or len(parts[1]) > 64 or len(nonce) > 32:
        return "the form's challenge is missing or malformed; reload the form"
    issued, salt, signature = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(signature, challenge_signature(secret, issued, salt)):
        return "the form's challenge was not issued by this server; reload the form"
    if not 0 <= now - issued <= max_age_seconds:
        return "the form was opened too long ago; reload it and send again"
    if leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) < bits:
        return "the form's proof of work is not solved; wait for the page to finish, or enable JavaScript"
    return None


def solve_challenge(challenge: str, bits: int) -> str:
    """The first nonce that solves a challenge (what the browser's script does; used by the tests and the CLI)."""
    nonce = 0
    while leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) < bits:
        nonce += 1
    return str(nonce)


def masked_phone(phone: str) -> str:
    """A phone number as staff see it in lists: 138****5678."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


# The satisfaction survey's one-time codes: 10 characters of an alphabet without look-alikes (0/O, 1/I/L), printed in
# two groups of five (50 bits: with the limiter in front, not guessable); kept only as a keyed digest.

SURVEY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SURVEY_CODE_LENGTH = 10


class SurveyRating(StrEnum):
    SATISFIED = "satisfied"  # 满意
    FAIRLY_SATISFIED = "fairly_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意


RATING_NAMES = {SurveyRating.SATISFIED: "满意", SurveyRating.FAIRLY_SATISFIED: "基本满意", SurveyRating.DISSATISFIED: "不满意"}
# A satisfied answer of the month's figure (satisfied ÷ answered): 满意 and 基本满意.
COUNTED_SATISFIED = frozenset({SurveyRating.SATISFIED, SurveyRating.FAIRLY_SATISFIED})


def printed_survey_code(raw: str) -> str:
    """A code as printed on the list: ABCDE-FGHJK."""
    return f"{raw[:5]}-{raw[5:]}"


def normalised_survey_code(typed: str) -> str | None:
    """The code a resident typed, without spaces or the hyphen, upper case; None when it cannot be a code."""
    code = "".join(typed.split()).replace("-", "").upper()
    if len(code) != SURVEY_CODE_LENGTH or any(ch not in SURVEY_ALPHABET for ch in code):
        return None
    return code


def survey_code_digest(secret: str, code: str) -> str:
    return hmac.new(secret.encode(), f"survey-code|{code}".encode(), hashlib.sha256).hexdigest()


MEDIA_URL_LIMIT = 500


def media_url_refusal(url: str) -> str | None:
    """Why an Open311 `media_url` is not kept as a reference (English), or None: an absolute http or https URL with a
    host, no credentials, no spaces or control characters, at most MEDIA_URL_LIMIT characters. It is never fetched."""
    if len(url) > MEDIA_URL_LIMIT:
        return f"media_url has at most {MEDIA_URL_LIMIT} characters"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "media_url must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "media_url is not a URL"
    if parts.scheme not in ("http", "https") or not host:
        return "media_url must be an http or https URL with a host"
    if parts.username is not None or parts.password is not None:
        return "media_url must not carry a user name or password"
    return None
