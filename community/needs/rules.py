"""The rules of residents' needs, the "3456" consultation and the layer-by-layer answers (config/RULES.md,
"Community needs, consultation and the catalogue"): pure functions over plain values, no I/O, no ORM."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction


class MeetingBody(StrEnum):
    """The two bodies of the "3456" way whose votes move a need (the 居委会 carries out what they decide)."""

    DELIBERATION = "deliberation"  # 协商议事委员会: deliberates
    ASSEMBLY = "assembly"  # 居民代表大会: approves


BODY_NAMES = {MeetingBody.DELIBERATION: "协商议事委员会", MeetingBody.ASSEMBLY: "居民代表大会"}


class NeedState(StrEnum):
    RECORDED = "recorded"  # 已登记: waiting for the 协商议事委员会
    DELIBERATED = "deliberated"  # 已协商: waiting for the 居民代表大会
    APPROVED = "approved"  # 已通过: the director may send it to the street
    PROPOSED = "proposed"  # 已报街道: a proposal is with the street or was taken up


NEED_STATE_NAMES = {
    NeedState.RECORDED: "待协商",
    NeedState.DELIBERATED: "待居民代表大会表决",
    NeedState.APPROVED: "已通过，待报街道",
    NeedState.PROPOSED: "已报街道",
}


class ProposalState(StrEnum):
    WAITING = "waiting"  # 待街道答复
    INCLUDED = "included"  # 纳入: the street takes it into its project pool
    MERGED = "merged"  # 合并: joined to another proposal of the same street
    RETURNED = "returned"  # 退回: back to the committee with a reason
    FORWARDED = "forwarded"  # 转报区级: sent up to the district


PROPOSAL_STATE_NAMES = {
    ProposalState.WAITING: "待街道答复",
    ProposalState.INCLUDED: "街道已纳入",
    ProposalState.MERGED: "已合并",
    ProposalState.RETURNED: "已退回社区",
    ProposalState.FORWARDED: "已转报区级",
}


class Answer(StrEnum):
    """The street's answer to a proposal."""

    INCLUDE = "include"
    MERGE = "merge"
    RETURN = "return"
    FORWARD = "forward"


ANSWER_STATE = {
    Answer.INCLUDE: ProposalState.INCLUDED,
    Answer.MERGE: ProposalState.MERGED,
    Answer.RETURN: ProposalState.RETURNED,
    Answer.FORWARD: ProposalState.FORWARDED,
}
ANSWER_NAMES = {Answer.INCLUDE: "纳入街道项目库", Answer.MERGE: "与其他提案合并", Answer.RETURN: "退回社区", Answer.FORWARD: "转报区级"}

# A proposal another one may be merged into: still alive at the street or above.
MERGE_TARGET_STATES = frozenset({ProposalState.WAITING, ProposalState.INCLUDED, ProposalState.FORWARDED})
# A proposal a catalogue item may name: taken up by the street or sent to the district.
CATALOGUE_STATES = frozenset({ProposalState.INCLUDED, ProposalState.FORWARDED})


class CatalogueState(StrEnum):
    DRAFT = "draft"  # 草稿: items may still be added
    PUBLISHED = "published"  # 已发布: never changes again; a correction is a new version


@dataclass(frozen=True)
class NeedsRules:
    categories: tuple[str, ...]
    sources: tuple[str, ...]
    quorum_share: Fraction  # more than this share of members present
    majority_share: Fraction  # more than this share of those present in favour
    answer_working_days: int


def _share(raw: object, key: str) -> Fraction:
    if not isinstance(raw, str):
        raise ValueError(f"{key} must be decimal text such as \"0.5\"")
    try:
        value = Fraction(Decimal(raw))
    except InvalidOperation:
        raise ValueError(f"{key} must be decimal text such as \"0.5\", not {raw!r}") from None
    if not 0 <= value < 1:
        raise ValueError(f"{key} must be at least 0 and below 1, not {raw}")
    return value


def parse_needs_rules(text: str) -> NeedsRules:
    """The rules of config/needs.toml; a missing or wrong value is a ValueError naming the key."""
    raw = tomllib.loads(text)
    try:
        categories = tuple(raw["needs"]["categories"])
        sources = tuple(raw["needs"]["sources"])
        quorum = _share(raw["consultation"]["quorum_share"], "consultation.quorum_share")
        majority = _share(raw["consultation"]["majority_share"], "consultation.majority_share")
        days = raw["street_answer"]["working_days"]
    except KeyError as error:
        raise ValueError(f"missing key {error}") from None
    if not categories or not all(isinstance(c, str) and c.strip() for c in categories) or len(set(categories)) != len(categories):
        raise ValueError("needs.categories must be distinct non-empty names")
    if not sources or not all(isinstance(s, str) and s.strip() for s in sources) or len(set(sources)) != len(sources):
        raise ValueError("needs.sources must be distinct non-empty names")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 60:
        raise ValueError("street_answer.working_days must be a whole number from 1 to 60")
    return NeedsRules(categories, sources, quorum, majority, days)


@dataclass(frozen=True)
class Tally:
    """A meeting's attendance and its vote on one need."""

    members: int  # the body's members
    present: int
    in_favour: int
    against: int
    abstained: int


@dataclass(frozen=True)
class VoteResult:
    quorum: bool
    passed: bool
    reason: str  # English, for the API and the log
    reason_zh: str  # the same for pages


def tally_problem(tally: Tally) -> tuple[str, str] | None:
    """A tally that cannot be true (more present than members, more votes than people present), in English and
    Chinese; None when it adds up."""
    if tally.members < 1:
        return "a body has at least one member", "议事机构至少有 1 名成员"
    if tally.present > tally.members:
        return f"{tally.present} present is more than the {tally.members} members", f"出席人数 {tally.present} 多于成员人数 {tally.members}"
    votes = tally.in_favour + tally.against + tally.abstained
    if votes > tally.present:
        return f"{votes} votes were cast by {tally.present} members present", f"表决票数 {votes} 多于出席人数 {tally.present}"
    return None


def decide_vote(tally: Tally, rules: NeedsRules) -> VoteResult:
    """Quorum: more than `quorum_share` of the members present. Passed: more than `majority_share` of those present
    in favour (an abstention or a member who does not vote counts as not in favour)."""
    if not Fraction(tally.present) > rules.quorum_share * tally.members:
        return VoteResult(
            False,
            False,
            f"no quorum: {tally.present} of {tally.members} members present, more than {float(rules.quorum_share):.0%} must be",
            f"出席人数不足：{tally.members} 名成员中出席 {tally.present} 名，须超过 {_percent(rules.quorum_share)} 方可表决",
        )
    if Fraction(tally.in_favour) > rules.majority_share * tally.present:
        return VoteResult(True, True, f"passed: {tally.in_favour} of {tally.present} present in favour", f"通过：出席 {tally.present} 名，赞成 {tally.in_favour} 名")
    return VoteResult(
        True,
        False,
        f"not passed: {tally.in_favour} of {tally.present} present in favour, more than {float(rules.majority_share):.0%} needed",
        f"未通过：出席 {tally.present} 名，赞成 {tally.in_favour} 名，未超过出席人数的 {_percent(rules.majority_share)}",
    )


def _percent(share: Fraction) -> str:
    return f"{float(share) * 100:g}%"


def need_state_after(state: NeedState, body: MeetingBody, passed: bool) -> NeedState:
    """Where a need stands after a vote of `body`; a failed vote leaves it where it was (it may come up again)."""
    if not passed:
        return state
    return NeedState.DELIBERATED if body is MeetingBody.DELIBERATION else NeedState.APPROVED


def vote_refusal(state: NeedState, body: MeetingBody) -> tuple[str, str] | None:
    """Why `body` may not vote on a need in `state` (in English and Chinese), or None: the 协商议事委员会
    deliberates a recorded need, the 居民代表大会 approves a deliberated one, and a need decided is not voted again."""
    if body is MeetingBody.DELIBERATION and state is not NeedState.RECORDED:
        return "the need was already deliberated", "该需求已经协商议事委员会协商通过，无需再次协商"
    if body is MeetingBody.ASSEMBLY and state is NeedState.RECORDED:
        return (
            "the need has not been deliberated by the consultation committee (协商议事委员会) yet",
            "该需求尚未经协商议事委员会协商通过，不能提交居民代表大会表决",
        )
    if body is MeetingBody.ASSEMBLY and state is not NeedState.DELIBERATED:
        return "the need was already approved by the residents' assembly", "该需求已经居民代表大会表决通过"
    return None


def is_overdue(state: ProposalState, due_on: date, today: date) -> bool:
    """A proposal the street has not answered by its due day is overdue from the next day on."""
    return state is ProposalState.WAITING and today > due_on


def merge_refusal(proposal_id: int, proposal_street: int, target_id: int, target_street: int, target_state: ProposalState) -> tuple[str, str] | None:
    """Why a proposal may not be merged into `target` (English, Chinese), or None."""
    if target_id == proposal_id:
        return "a proposal cannot be merged into itself", "提案不能与自身合并"
    if target_street != proposal_street:
        return f"proposal {target_id} belongs to another street; merge only proposals of your street", f"提案 #{target_id} 属于其他街道，只能与本街道的提案合并"
    if target_state not in MERGE_TARGET_STATES:
        return f"proposal {target_id} was {target_state.value}; merge only into a proposal still open or taken up", f"提案 #{target_id} 已{PROPOSAL_STATE_NAMES[target_state]}，不能作为合并对象"
    return None
