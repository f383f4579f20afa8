"""Open Contracting Data Standard 1.1 releases built from a project's plain record: pure functions, no I/O.

One call is one contracting process (OCID = the configured prefix and the call's number); each published moment of
the call is one release carrying the project's whole state at that moment, tagged with the moment. Money is turned
from integer fen into yuan exactly (Decimal, two places), dates into Asia/Shanghai ISO 8601 instants.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from community.records import (
    NEGOTIATION,
    STAGES,
    TENDER_METHOD,
    VENTURE,
    Award,
    Bid,
    CatalogueItem,
    Contract,
    Evaluation,
    Party,
    ProjectRecord,
    Tranche,
)
from foundation.clock import BUSINESS_TZ

OCDS_VERSION = "1.1"
# The Bid statistics and details extension of OCDS 1.1.5, whose `bids` block the releases carry after the deadline.
BID_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json"
PREFIX_PATTERN = re.compile(r"^ocds-[a-z0-9]{6}$")
NUMBER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# An OCID as the public addresses take it (prefix, hyphen, call number).
OCID_PATTERN = r"^ocds-[a-z0-9]{6}-[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"

PROCUREMENT_METHOD = {VENTURE: "open", TENDER_METHOD: "open", NEGOTIATION: "selective"}
METHOD_NAMES = {VENTURE: "公益创投", TENDER_METHOD: "公开招标", NEGOTIATION: "竞争性谈判"}
# The call's status (community/records.py) as the OCDS tender status.
TENDER_STATUS = {
    "open": "active",
    "closed": "active",
    "evaluating": "active",
    "publicity": "active",
    "awarded": "complete",
    "failed": "unsuccessful",
    "cancelled": "cancelled",
}
AWARD_STATUS = {"pending", "active", "cancelled"}
# OCDS has no field for the panel's score: it ends the award's description after this label.
SCORE_LABEL = "评审综合得分 "
CONTRACT_STATUS = {"pending", "active", "terminated"}
# A bid's status in the record as the Bid extension's bid status (a withdrawn bid was never opened: not published).
BID_STATUS = {"valid": "valid", "invalid": "disqualified"}


class ReleaseRuleError(ValueError):
    """A record that cannot be published as it stands (the message names the field)."""


@dataclass(frozen=True)
class PublicationRules:
    ocid_prefix: str
    publisher_name: str
    license_url: str
    identifier_scheme: str = "CN-USCC"
    currency: str = "CNY"


def parse_publication_rules(text: str) -> PublicationRules:
    """config/ocds.toml, checked: a wrong prefix or a missing key stops the system at start."""
    try:
        raw = tomllib.loads(text)
        rules = PublicationRules(
            ocid_prefix=str(raw["ocid_prefix"]),
            publisher_name=str(raw["publisher_name"]),
            license_url=str(raw["license_url"]),
            identifier_scheme=str(raw.get("identifier_scheme", "CN-USCC")),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"invalid Open Contracting settings: {error}") from None
    if not PREFIX_PATTERN.fullmatch(rules.ocid_prefix):
        raise ValueError(f"ocid_prefix must be 'ocds-' and six lower-case letters or digits, not {rules.ocid_prefix!r}")
    if not rules.license_url.startswith(("http://", "https://")):
        raise ValueError("license_url must be a web address")
    return rules


def ocid_of(rules: PublicationRules, number: str) -> str:
    if not NUMBER_PATTERN.fullmatch(number):
        raise ReleaseRuleError(f"a call number must be letters, digits, '.', '_' or '-' to make an OCID, not {number!r}")
    return f"{rules.ocid_prefix}-{number}"


def yuan(fen: int) -> Decimal:
    """Integer fen as yuan with exactly two decimal places (12345 → 123.45), encoded as a JSON number."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def instant(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ReleaseRuleError("a naive datetime cannot be published: give its time zone")
    return moment.astimezone(BUSINESS_TZ).isoformat(timespec="seconds")


def day_start(day: date) -> str:
    return datetime.combine(day, time(0, 0), BUSINESS_TZ).isoformat(timespec="seconds")


def day_end(day: date) -> str:
    return datetime.combine(day, time(23, 59, 59), BUSINESS_TZ).isoformat(timespec="seconds")


def percent(share: str) -> str:
    return f"{(Decimal(share) * 100).normalize():f}%"


def _value(rules: PublicationRules, fen: int) -> dict[str, Any]:
    return {"amount": yuan(fen), "currency": rules.currency}


def _ref(party: Party) -> dict[str, Any]:
    return {"id": party.key, "name": party.name}


class _Parties:
    """The parties section: each organisation once, with every role it plays, in order of first appearance."""

    def __init__(self, rules: PublicationRules) -> None:
        self.rules = rules
        self.entries: dict[str, dict[str, Any]] = {}

    def add(self, party: Party, *roles: str) -> dict[str, Any]:
        entry = self.entries.get(party.key)
        if entry is None:
            entry = {"id": party.key, "name": party.name}
            if party.credit_code:
                entry["identifier"] = {"scheme": self.rules.identifier_scheme, "id": party.credit_code, "legalName": party.name}
            entry["roles"] = []
            self.entries[party.key] = entry
        for role in roles:
            if role not in entry["roles"]:
                entry["roles"].append(role)
        return _ref(party)


def bids_visible(record: ProjectRecord, moment: datetime) -> bool:
    """Bids (and what is decided from them) are public only once the call's bid deadline has passed."""
    return moment >= record.bid_deadline


def _items(record: ProjectRecord, rules: PublicationRules) -> list[dict[str, Any]]:
    lots = list(record.lots)
    classification = {"scheme": "x_community_need", "id": record.category, "description": f"民生需求类别：{record.category}"}
    if not lots:
        return [
            {
                "id": "1",
                "description": record.title,
                "classification": classification,
                "quantity": 1,
                "unit": {"name": "项", "value": _value(rules, record.budget_fen)},
            }
        ]
    return [
        {
            "id": lot.key,
            "description": lot.title,
            "classification": classification,
            "quantity": 1,
            "unit": {"name": "项", "value": _value(rules, lot.budget_fen)},
        }
        for lot in lots
    ]


def _publicity_milestone(award: Award, moment: datetime) -> dict[str, Any]:
    """The award's publicity: scheduled until it ends, then met; an award withdrawn (an objection upheld) never
    completed its publicity: not met."""
    ended = moment >= award.publicity_ends_at
    milestone: dict[str, Any] = {
        "id": f"publicity-{award.key}",
        "title": "中标结果公示",
        "type": "engagement",
        "description": f"公示期：{_local(award.published_at)} 至 {_local(award.publicity_ends_at)}",
        "dueDate": instant(award.publicity_ends_at),
        "status": "notMet" if award.status == "cancelled" else "met" if ended else "scheduled",
    }
    if ended and award.status != "cancelled":
        milestone["dateMet"] = instant(award.publicity_ends_at)
    return milestone


def _local(moment: datetime) -> str:
    return moment.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")


def _tender(
    record: ProjectRecord, rules: PublicationRules, parties: _Parties, bids: Sequence[Bid], awards: Sequence[Award], moment: datetime
) -> dict[str, Any]:
    if record.method not in PROCUREMENT_METHOD:
        raise ReleaseRuleError(f"unknown call method {record.method!r}")
    if record.status not in TENDER_STATUS:
        raise ReleaseRuleError(f"unknown call status {record.status!r}")
    tender: dict[str, Any] = {
        "id": record.number,
        "title": record.title,
        "description": record.description,
        "status": TENDER_STATUS[record.status],
        "procuringEntity": parties.add(record.buyer, "buyer", "procuringEntity"),
        "items": _items(record, rules),
        "value": _value(rules, record.budget_fen),
        "procurementMethod": PROCUREMENT_METHOD[record.method],
        "procurementMethodDetails": METHOD_NAMES[record.method],
        "mainProcurementCategory": "services",
        "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": {"startDate": instant(record.opened_at), "endDate": instant(record.bid_deadline)},
    }
    if record.method_reason:
        tender["procurementMethodRationale"] = record.method_reason
    if record.criteria:
        tender["awardCriteria"] = "ratedCriteria"
        tender["awardCriteriaDetails"] = "；".join(f"{c.name} {c.weight} 分" for c in record.criteria)
    if bids:
        bidders = {bid.bidder.key: bid.bidder for bid in bids}
        tender["numberOfTenderers"] = len(bidders)
        tender["tenderers"] = [parties.add(bidder, "tenderer") for bidder in bidders.values()]
    if awards:
        tender["milestones"] = [_publicity_milestone(award, moment) for award in awards]
    return tender


def _bids(bids: Sequence[Bid], rules: PublicationRules) -> dict[str, Any]:
    valid = [bid for bid in bids if bid.status == "valid"]
    statistics: list[dict[str, Any]] = [
        {"id": "bids", "measure": "bids", "value": len(bids)},
        {"id": "validBids", "measure": "validBids", "value": len(valid)},
    ]
    if valid:
        statistics.append({"id": "lowestValidBidValue", "measure": "lowestValidBidValue", "value": yuan(min(b.amount_fen for b in valid))})
        statistics.append(
            {"id": "highestValidBidValue", "measure": "highestValidBidValue", "value": yuan(max(b.amount_fen for b in valid))}
        )
    details = [
        {
            "id": bid.key,
            "date": instant(bid.submitted_at),
            "status": BID_STATUS[bid.status],
            "tenderers": [_ref(bid.bidder)],
            "value": _value(rules, bid.amount_fen),
        }
        for bid in bids
    ]
    return {"statistics": statistics, "details": details}


def _award(
    record: ProjectRecord, award: Award, rules: PublicationRules, parties: _Parties, items: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    if award.status not in AWARD_STATUS:
        raise ReleaseRuleError(f"unknown award status {award.status!r}")
    supplier = parties.add(award.supplier, "supplier") if award.status != "cancelled" else parties.add(award.supplier, "tenderer")
    # The publicity period is the tender's milestone `publicity-<award id>`; the award says where to find it.
    description = f"成交结果公示至 {_local(award.publicity_ends_at)}"
    if award.score:
        description += f"；{SCORE_LABEL}{award.score}"
    entry: dict[str, Any] = {
        "id": award.key,
        "title": f"{record.title} 成交结果",
        "description": description,
        "status": award.status,
        "date": instant(award.published_at),
        "value": _value(rules, award.amount_fen),
        "suppliers": [supplier],
    }
    if award.lot_key in items:
        entry["items"] = [items[award.lot_key]]
    return entry


def _tranche_milestone(tranche: Tranche, rules: PublicationRules) -> dict[str, Any]:
    milestone: dict[str, Any] = {
        "id": f"tranche-{tranche.number}",
        "title": f"第 {tranche.number} 期拨付（{percent(tranche.share)}）",
        "type": "payment",
        "description": f"{tranche.condition}拨付 {yuan(tranche.amount_fen)} 元",
        "status": "met" if tranche.paid_on else "scheduled",
    }
    if tranche.due_on:
        milestone["dueDate"] = day_end(tranche.due_on)
    if tranche.paid_on:
        milestone["dateMet"] = day_start(tranche.paid_on)
    return milestone


def _evaluation_milestone(evaluation: Evaluation) -> dict[str, Any]:
    """A third-party evaluation as an implementation milestone (type assessment): met when it passed."""
    milestone: dict[str, Any] = {
        "id": f"evaluation-{evaluation.stage}",
        "title": evaluation.title,
        "type": "assessment",
        "description": f"第三方评估得分 {evaluation.score}，{'合格' if evaluation.passed else '不合格'}",
        "status": "met" if evaluation.passed else "notMet",
        "dateModified": day_start(evaluation.evaluated_on),
    }
    if evaluation.due_on:
        milestone["dueDate"] = day_end(evaluation.due_on)
    if evaluation.passed:
        milestone["dateMet"] = day_start(evaluation.evaluated_on)
    return milestone


def _contract(contract: Contract, awards: Mapping[str, Award], buyer: Party, rules: PublicationRules, parties: _Parties) -> dict[str, Any]:
    if contract.status not in CONTRACT_STATUS:
        raise ReleaseRuleError(f"unknown contract status {contract.status!r}")
    award = awards.get(contract.award_key)
    if award is None:
        raise ReleaseRuleError(f"contract {contract.key} names award {contract.award_key}, which the record does not hold")
    entry: dict[str, Any] = {
        "id": contract.key,
        "awardID": contract.award_key,
        "title": contract.title,
        "status": contract.status,
        "value": _value(rules, contract.amount_fen),
    }
    period = {}
    if contract.starts_on:
        period["startDate"] = day_start(contract.starts_on)
    if contract.ends_on:
        period["endDate"] = day_end(contract.ends_on)
    if period:
        entry["period"] = period
    if contract.signed_on:
        entry["dateSigned"] = day_start(contract.signed_on)
    implementation: dict[str, Any] = {}
    if contract.evaluations:
        implementation["milestones"] = [_evaluation_milestone(e) for e in contract.evaluations]
    if contract.tranches:
        entry["milestones"] = [_tranche_milestone(t, rules) for t in contract.tranches]
        paid = [t for t in contract.tranches if t.paid_on and t.paid_fen > 0]
        if paid:
            payer = parties.add(buyer, "payer")
            payee = parties.add(award.supplier, "payee")
            implementation |= {
                "transactions": [
                    {
                        "id": f"{contract.key}-tranche-{t.number}",
                        "date": day_start(t.paid_on),
                        "value": _value(rules, t.paid_fen),
                        "payer": payer,
                        "payee": payee,
                    }
                    for t in paid
                    if t.paid_on
                ]
            }
    if implementation:
        entry["implementation"] = implementation
    return entry


def _planning(item: CatalogueItem, rules: PublicationRules) -> dict[str, Any]:
    """The catalogue item the call buys from as the budget line of its planning, and the residents' proposals it
    answers as the rationale."""
    rationale = f"列入{item.year}年政府购买服务项目目录：{item.title}"
    if item.proposal_ids:
        rationale += "；回应社区居民提案 " + "、".join(f"#{p}" for p in item.proposal_ids)
    return {
        "rationale": rationale,
        "budget": {
            "id": item.key,
            "description": f"{item.year}年政府购买服务项目目录",
            "amount": _value(rules, item.budget_fen),
            "project": item.title,
            "projectID": item.key,
        },
    }


def build_release(record: ProjectRecord, stage: str, *, rules: PublicationRules, release_id: str, now: datetime) -> dict[str, Any]:
    """The release of one published moment. Its date is the moment the record last changed (else `now`); before the
    call's bid deadline the bids, awards and contracts are left out whatever the record holds (bids are sealed)."""
    if stage not in STAGES:
        raise ReleaseRuleError(f"unknown publication stage {stage!r}")
    moment = record.updated_at or now
    if moment.tzinfo is None:
        raise ReleaseRuleError("the record's time has no time zone")
    open_bids = bids_visible(record, moment)
    bids = [bid for bid in record.bids if bid.status != "withdrawn"] if open_bids else []
    for bid in bids:
        if bid.status not in BID_STATUS:
            raise ReleaseRuleError(f"unknown bid status {bid.status!r}")
    awards = list(record.awards) if open_bids else []
    contracts = list(record.contracts) if open_bids else []
    parties = _Parties(rules)
    buyer = parties.add(record.buyer, "buyer")
    tender = _tender(record, rules, parties, bids, awards, moment)
    release: dict[str, Any] = {
        "ocid": ocid_of(rules, record.number),
        "id": release_id,
        "date": instant(moment),
        "tag": [stage],
        "initiationType": "tender",
        "language": "zh",
        "parties": [],
        "buyer": buyer,
        "tender": tender,
    }
    if record.catalogue_item is not None:
        release["planning"] = _planning(record.catalogue_item, rules)
    if record.repeats is not None:
        release["relatedProcesses"] = [
            {
                "id": "repeats",
                "relationship": ["unsuccessfulProcess"],
                "title": record.repeats.title,
                "scheme": "ocid",
                "identifier": ocid_of(rules, record.repeats.number),
            }
        ]
    if bids:
        release["bids"] = _bids(bids, rules)
    items = {item["id"]: item for item in tender["items"]}
    if awards:
        release["awards"] = [_award(record, award, rules, parties, items) for award in awards]
    if contracts:
        by_key = {award.key: award for award in awards}
        release["contracts"] = [_contract(contract, by_key, record.buyer, rules, parties) for contract in contracts]
    release["parties"] = list(parties.entries.values())
    return release
