"""The wristbands' rules as pure functions: tokens and short codes, what a band's state allows, the alert's
states, phones, and the rules of config/wristbands.toml."""

from __future__ import annotations

import hashlib
import re
import secrets
import tomllib
from dataclasses import dataclass
from enum import StrEnum

TOKEN_PATTERN = r"^[A-Za-z0-9_-]{22}$"
CODE_LETTERS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out on the phone
CODE_LENGTH = 6
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE = re.compile(r"^0[1-9][0-9]{1,2}-?[0-9]{7,8}$")


class LabelState(StrEnum):
    PRINTED = "printed"
    BOUND = "bound"
    REVOKED = "revoked"


class AlertState(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    FOUND = "found"


class RevokeReason(StrEnum):
    LOST = "lost"
    DAMAGED = "damaged"
    WITHDRAWN = "withdrawn"


LABEL_STATE_NAMES = {LabelState.PRINTED: "未启用", LabelState.BOUND: "使用中", LabelState.REVOKED: "已停用"}
ALERT_STATE_NAMES = {AlertState.RAISED: "待处理", AlertState.ACKNOWLEDGED: "已响应", AlertState.FOUND: "已找到"}
REVOKE_REASON_NAMES = {RevokeReason.LOST: "腕带丢失", RevokeReason.DAMAGED: "腕带损坏", RevokeReason.WITHDRAWN: "老人退出"}
CONSENT_NAMES = {"elder": "老人本人", "guardian": "监护人代签"}
RELATIONS = ("子女", "配偶", "孙子女", "兄弟姐妹", "其他亲属", "邻居", "其他")


def new_token() -> str:
    """128 bits from the operating system's CSPRNG: nothing about the band or the elder can be derived from it."""
    return secrets.token_urlsafe(16)


def token_digest(token: str) -> str:
    """How a token is kept and looked up: a copy of the database does not give the labels' addresses."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_short_code(prefix: str) -> str:
    """A code people read out on the phone, e.g. XBL01-7KQ2M9 (the community's code, then six letters)."""
    return f"{prefix}-" + "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))


def finder_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/b/{token}"


def token_in(text: str) -> str | None:
    """The token of a finder address (or a bare token), as a phone's scanner gives it; None if there is none."""
    candidate = text.strip().rstrip("/").rsplit("/", 1)[-1]
    return candidate if re.fullmatch(TOKEN_PATTERN, candidate) else None


def normal_phone(text: str) -> str | None:
    """A mainland mobile (11 digits) or landline (area code, number), without spaces; None if it is neither."""
    phone = re.sub(r"[\s]", "", text)
    return phone if MOBILE.fullmatch(phone) or LANDLINE.fullmatch(phone) else None


def masked_phone(tail: str) -> str:
    return f"*******{tail}"


def next_alert_state(current: AlertState, wanted: AlertState) -> bool:
    """Whether an alert may move on: raised → acknowledged → found, or raised → found; never back."""
    order = [AlertState.RAISED, AlertState.ACKNOWLEDGED, AlertState.FOUND]
    return order.index(wanted) > order.index(current)


@dataclass(frozen=True)
class WristbandRules:
    labels_per_page: int
    max_labels_per_print: int
    max_guardians: int
    alerts_per_address: int
    scans_per_address: int
    window_minutes: int
    emergency_phones: str
    office_phones: dict[str, str]

    def office_phone(self, community_code: str) -> str:
        return self.office_phones.get(community_code, self.office_phones.get("default", ""))


def parse_wristband_rules(text: str) -> WristbandRules:
    data = tomllib.loads(text)
    rules = WristbandRules(
        labels_per_page=int(data["labels_per_page"]), max_labels_per_print=int(data["max_labels_per_print"]), max_guardians=int(data["max_guardians"]),
        alerts_per_address=int(data["alerts_per_address"]), scans_per_address=int(data["scans_per_address"]), window_minutes=int(data["window_minutes"]),
        emergency_phones=str(data["emergency_phones"]), office_phones={str(k): str(v) for k, v in data.get("office_phones", {}).items()},
    )
    if not 1 <= rules.max_guardians <= 3:
        raise ValueError("max_guardians is 1 to 3 (the table keeps three positions)")
    if min(rules.labels_per_page, rules.max_labels_per_print, rules.alerts_per_address, rules.scans_per_address, rules.window_minutes) < 1:
        raise ValueError("wristband limits are positive")
    return rules
