"""Public pages (no login) of the community-service projects, read from the releases as published: the list of
projects with their stage, one project's tender, bids (after the deadline), award publicity, contract and tranches,
and the publication policy the release packages point to."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from community.ocds import service
from community.ocds.config import publication_rules
from community.ocds.routes import OcidPath
from community.ocds.rules import SCORE_LABEL
from foundation.clock import BUSINESS_TZ
from foundation.web.layout import page, page_request, pages_of

PAGE_SIZE = 30
STAGE_NAMES = {
    "tender": "招标公告",
    "tenderUpdate": "招标变更",
    "award": "结果公示",
    "awardUpdate": "结果确认",
    "contract": "合同签订",
    "implementation": "项目实施",
}
CALL_STATUS_NAMES = {
    "open": "报名中",
    "closed": "已截止",
    "evaluating": "评审中",
    "publicity": "公示中",
    "awarded": "已成交",
    "failed": "流标",
    "cancelled": "已取消",
}
TENDER_STATUS_NAMES = {"active": "进行中", "complete": "已完成", "unsuccessful": "流标", "cancelled": "已取消"}
AWARD_STATUS_NAMES = {"pending": "公示中", "active": "已确认", "cancelled": "已撤销", "unsuccessful": "未成交"}
CONTRACT_STATUS_NAMES = {"pending": "待生效", "active": "履行中", "cancelled": "已取消", "terminated": "已终止"}
BID_STATUS_NAMES = {"valid": "有效", "disqualified": "无效", "pending": "待审", "invited": "受邀", "withdrawn": "已撤回"}
MILESTONE_STATUS_NAMES = {"scheduled": "未到期", "met": "已完成", "notMet": "未完成", "partiallyMet": "部分完成"}


def shown_time(text: str | None) -> str:
    """An OCDS date as the district reads it (Asia/Shanghai, to the minute)."""
    if not text:
        return ""
    return datetime.fromisoformat(text).astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")


def shown_day(text: str | None) -> str:
    return shown_time(text)[:10]


def shown_yuan(value: dict[str, Any] | None) -> str:
    if not value or value.get("amount") is None:
        return ""
    return f"{Decimal(str(value['amount'])):,.2f} 元"


def project_view(compiled: dict[str, Any]) -> dict[str, Any]:
    """What the project page shows, in Chinese, from the compiled release."""
    tender = compiled.get("tender", {})
    items = tender.get("items", [])
    category = items[0].get("classification", {}).get("id", "") if items else ""
    period = tender.get("tenderPeriod", {})
    publicity = {m["id"]: m for m in tender.get("milestones", []) if str(m.get("id", "")).startswith("publicity-")}
    bids = compiled.get("bids", {})
    view: dict[str, Any] = {
        "title": tender.get("title", ""),
        "description": tender.get("description", ""),
        "category": category,
        "buyer": compiled.get("buyer", {}).get("name", ""),
        "method": tender.get("procurementMethodDetails", ""),
        "method_reason": tender.get("procurementMethodRationale", ""),
        "status": TENDER_STATUS_NAMES.get(tender.get("status", ""), ""),
        "budget": shown_yuan(tender.get("value")),
        "opens": shown_time(period.get("startDate")),
        "deadline": shown_time(period.get("endDate")),
        "criteria": tender.get("awardCriteriaDetails", ""),
        "lots": [{"title": item.get("description", ""), "budget": shown_yuan(item.get("unit", {}).get("value"))} for item in items],
        "tenderers": tender.get("numberOfTenderers"),
        "bids": [
            {
                "bidder": "、".join(t.get("name", "") for t in bid.get("tenderers", [])),
                "amount": shown_yuan(bid.get("value")),
                "status": BID_STATUS_NAMES.get(bid.get("status", ""), ""),
                "submitted": shown_time(bid.get("date")),
            }
            for bid in bids.get("details", [])
        ],
        "valid_bids": next((s.get("value") for s in bids.get("statistics", []) if s.get("measure") == "validBids"), None),
        "awards": [],
        "contracts": [],
    }
    for award in compiled.get("awards", []):
        milestone = publicity.get(f"publicity-{award.get('id')}", {})
        view["awards"].append(
            {
                "supplier": "、".join(s.get("name", "") for s in award.get("suppliers", [])),
                "amount": shown_yuan(award.get("value")),
                "status": AWARD_STATUS_NAMES.get(award.get("status", ""), ""),
                "published": shown_time(award.get("date")),
                "publicity_ends": shown_time(milestone.get("dueDate")),
                "score": str(award.get("description", "")).partition(SCORE_LABEL)[2],
            }
        )
    for contract in compiled.get("contracts", []):
        paid = {t["id"]: t for t in contract.get("implementation", {}).get("transactions", [])}
        view["contracts"].append(
            {
                "title": contract.get("title", ""),
                "status": CONTRACT_STATUS_NAMES.get(contract.get("status", ""), ""),
                "amount": shown_yuan(contract.get("value")),
                "signed": shown_day(contract.get("dateSigned")),
                "starts": shown_day(contract.get("period", {}).get("startDate")),
                "ends": shown_day(contract.get("period", {}).get("endDate")),
                "tranches": [
                    {
                        "title": m.get("title", ""),
                        "condition": m.get("description", ""),
                        "status": MILESTONE_STATUS_NAMES.get(m.get("status", ""), ""),
                        "due": shown_day(m.get("dueDate")),
                        "met": shown_day(m.get("dateMet")),
                        "paid": shown_yuan(paid.get(f"{contract.get('id')}-{m.get('id')}", {}).get("value")),
                    }
                    for m in contract.get("milestones", [])
                ],
                "evaluations": [
                    {
                        "title": m.get("title", ""),
                        "result": m.get("description", ""),
                        "status": MILESTONE_STATUS_NAMES.get(m.get("status", ""), ""),
                        "on": shown_day(m.get("dateModified")),
                        "due": shown_day(m.get("dueDate")),
                    }
                    for m in contract.get("implementation", {}).get("milestones", [])
                ],
            }
        )
    return view


class PublicProjectPages(Controller):
    """No login: anyone may follow how the district buys community services."""

    path = "/public"
    include_in_schema = False

    @get("/projects")
    async def projects(self, db: NamedDependency[AsyncSession], page_no: FromQuery[int] = 1) -> Template:
        paging = page_request(page_no, PAGE_SIZE)
        rows, total = await service.list_projects(db, paging)
        projects = [
            {
                "ocid": row.ocid,
                "title": row.title,
                "stage": STAGE_NAMES.get(row.tag, row.tag),
                "status": CALL_STATUS_NAMES.get(row.status, row.status),
                "changed": row.release_date.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d"),
            }
            for row in rows
        ]
        return page("public_projects.html", None, projects=projects, total=total, paging=paging, pages=pages_of(total, paging))

    @get("/projects/{ocid:str}")
    async def project(self, ocid: OcidPath, db: NamedDependency[AsyncSession]) -> Template:
        compiled, rows = await service.compiled_project(db, ocid)
        releases = [
            {
                "id": row.release_id,
                "stage": STAGE_NAMES.get(row.tag, row.tag),
                "date": row.release_date.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M"),
                "sha256": row.sha256,
            }
            for row in rows
        ]
        return page("public_project.html", None, ocid=ocid, project=project_view(compiled), releases=releases)

    @get("/publication-policy")
    async def policy(self) -> Template:
        rules = publication_rules()
        return page("public_policy.html", None, publisher=rules.publisher_name, license_url=rules.license_url, prefix=rules.ocid_prefix)


PAGES = [PublicProjectPages]
