"""Factories of community-service project records (community/records.py) at each published moment, for the OCDS
tests: the calls package is not needed to build them, as the records are the only thing the releases read."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from community.records import (
    AWARD,
    AWARD_UPDATE,
    CONTRACT,
    IMPLEMENTATION,
    NEGOTIATION,
    TENDER,
    TENDER_METHOD,
    TENDER_UPDATE,
    VENTURE,
    Award,
    Bid,
    CatalogueItem,
    Contract,
    Criterion,
    EarlierCall,
    Lot,
    Party,
    ProjectRecord,
    Tranche,
)
from foundation.clock import BUSINESS_TZ
from registry.rules import credit_code_check_char

METHODS = (VENTURE, TENDER_METHOD, NEGOTIATION)
STAGE_ORDER = (TENDER, TENDER_UPDATE, AWARD, AWARD_UPDATE, CONTRACT, IMPLEMENTATION)
OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=BUSINESS_TZ)
NUMBERS = {VENTURE: "XQ-GY-2026-001", TENDER_METHOD: "XQ-GK-2026-002", NEGOTIATION: "XQ-TP-2026-003"}
TITLES = {VENTURE: "树德里社区高龄老人助餐服务", TENDER_METHOD: "和平区社区居家养老综合服务", NEGOTIATION: "新兴街青少年课后托管服务"}
BUDGETS = {VENTURE: 29_876_543, TENDER_METHOD: 123_456_789, NEGOTIATION: 45_000_001}  # fen, odd on purpose


def credit_code(serial: int) -> str:
    body = f"52120101MJ{serial:07d}"
    return body + credit_code_check_char(body)


BUYER = Party(key="district", name="天津市和平区民政局")
ORGANISATIONS = [
    Party(key="organisation-1", name="和平区乐龄社会工作服务中心", credit_code=credit_code(1)),
    Party(key="organisation-2", name="天津市春晖社区服务中心", credit_code=credit_code(2)),
    Party(key="organisation-3", name="和平区阳光助残服务社", credit_code=credit_code(3)),
    Party(key="organisation-4", name="五大道邻里互助会", credit_code=credit_code(4)),
]


def project_record(method: str, stage: str, *, call_id: int = 1, number: str | None = None) -> ProjectRecord:
    """The record of a call of `method` as it stands when `stage` is published (dates in March to December 2026)."""
    budget = BUDGETS[method]
    days = 25 if method == TENDER_METHOD else 10
    deadline = OPENED + timedelta(days=days)
    record = ProjectRecord(
        call_id=call_id,
        number=number or NUMBERS[method],
        title=TITLES[method],
        description="为辖区高龄、独居老人及有需要的居民提供上门与集中相结合的服务，每月不少于 4 次。",
        category="养老" if method != NEGOTIATION else "青少年",
        method=method,
        method_reason="预算低于公开招标限额，按居民代表大会意见采用竞争性谈判" if method == NEGOTIATION else "",
        buyer=BUYER,
        budget_fen=budget,
        opened_at=OPENED,
        bid_deadline=deadline,
        status="open",
        criteria=(Criterion("服务方案", 40), Criterion("团队与经验", 30), Criterion("报价", 30)),
        lots=(Lot("1", "第一包：南市、劝业场街道", budget // 2), Lot("2", "第二包：小白楼、新兴街道", budget - budget // 2)),
        # Each call buys from an item of the 2026 catalogue; the public tender repeats one that failed.
        catalogue_item=CatalogueItem(key=f"2026-{call_id}", year=2026, title=f"{TITLES[method]}（目录）", budget_fen=budget + 1_000_000, proposal_ids=(call_id, 10 + call_id)),
        repeats=EarlierCall(number="XQ-GK-2026-000", title=TITLES[method]) if method == TENDER_METHOD else None,
        updated_at=OPENED,
    )
    if stage == TENDER:
        return record
    if stage == TENDER_UPDATE:
        return replace(record, bid_deadline=deadline + timedelta(days=3), updated_at=OPENED + timedelta(days=2))
    bids = (
        Bid("B1", ORGANISATIONS[0], "1", budget // 2 - 120_055, OPENED + timedelta(days=3), "valid"),
        Bid("B2", ORGANISATIONS[1], "1", budget // 2 - 10_000, OPENED + timedelta(days=4), "valid"),
        Bid("B3", ORGANISATIONS[2], "1", budget // 2 - 99, OPENED + timedelta(days=5), "invalid"),
        Bid("B4", ORGANISATIONS[3], "1", budget // 2 - 1, OPENED + timedelta(days=6), "withdrawn"),
        Bid("B5", ORGANISATIONS[1], "2", budget - budget // 2 - 7, OPENED + timedelta(days=6), "valid"),
    )
    published = deadline + timedelta(days=5)
    ends = published + timedelta(days=3)
    awards = (
        Award("A1", "1", ORGANISATIONS[0], bids[0].amount_fen, published, ends, "pending", "87.40"),
        Award("A2", "2", ORGANISATIONS[1], bids[4].amount_fen, published, ends, "pending", "81.25"),
    )
    record = replace(record, status="publicity", bids=bids, awards=awards, updated_at=published)
    if stage == AWARD:
        return record
    awards = (replace(awards[0], status="active"), replace(awards[1], status="active"))
    record = replace(record, status="awarded", awards=awards, updated_at=ends + timedelta(hours=1))
    if stage == AWARD_UPDATE:
        return record
    amount = awards[0].amount_fen
    first, second = amount * 30 // 100, amount * 40 // 100
    signed = date(2026, 4, 10) if method != TENDER_METHOD else date(2026, 4, 20)
    tranches = (
        Tranche(1, "0.30", first, "签约后", due_on=signed + timedelta(days=10)),
        Tranche(2, "0.40", second, "中期评估合格后"),
        Tranche(3, "0.30", amount - first - second, "结项评估后"),
    )
    contract = Contract(
        "C1", "A1", f"{TITLES[method]}（第一包）服务合同", amount, signed, date(2026, 5, 1), date(2026, 12, 31), "active", tranches
    )
    signed_at = datetime(signed.year, signed.month, signed.day, 15, 0, tzinfo=BUSINESS_TZ)
    record = replace(record, contracts=(contract,), updated_at=signed_at)
    if stage == CONTRACT:
        return record
    paid = replace(tranches[0], paid_on=signed + timedelta(days=7), paid_fen=tranches[0].amount_fen)
    contract = replace(contract, tranches=(paid, tranches[1], tranches[2]))
    return replace(record, contracts=(contract,), updated_at=signed_at + timedelta(days=7))
