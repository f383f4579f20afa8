"""The OCDS releases as pure functions of a project's record, and the offline validation that guards them: every
method and moment validates, a broken release is refused, bids stay sealed until the deadline."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from community.ocds.config import publication_rules
from community.ocds.packages import compile_releases, record_package, release_package
from community.ocds.rules import BID_EXTENSION, ReleaseRuleError, build_release, parse_publication_rules, yuan
from community.ocds.service import encode
from community.ocds.validation import STANDARD_DIR, package_problems, record_package_problems, release_problems
from community.records import AWARD, IMPLEMENTATION, NEGOTIATION, TENDER, TENDER_METHOD, VENTURE
from tests.ocds_records import METHODS, STAGE_ORDER, project_record

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
RULES = publication_rules()


def published(method: str, stage: str, **changes: Any) -> dict[str, Any]:
    """The release as it would be served: built, encoded, parsed back."""
    record = project_record(method, stage)
    if changes:
        record = replace(record, **changes)
    body = encode(build_release(record, stage, rules=RULES, release_id=f"r-{stage}", now=NOW))
    parsed: dict[str, Any] = json.loads(body)
    return parsed


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stage", STAGE_ORDER)
def test_every_method_at_every_moment_makes_a_valid_release(method: str, stage: str) -> None:
    release = published(method, stage)
    assert release_problems(release) == []
    assert release["tag"] == [stage]
    assert release["ocid"] == f"ocds-hpdemo-{project_record(method, stage).number}"


def test_the_vendored_standard_is_in_the_repository_with_its_licence() -> None:
    assert (STANDARD_DIR / "LICENSE").read_text().startswith("Note: this copyright statement")
    assert "Apache License" in (STANDARD_DIR / "LICENSE").read_text()
    schema = json.loads((STANDARD_DIR / "release-schema.json").read_text())
    assert schema["id"] == "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
    assert "OCDS" in (STANDARD_DIR / "NOTICE").read_text()


@pytest.mark.parametrize(
    ("breakage", "complaint"),
    [
        (lambda r: r.pop("ocid"), "ocid"),
        (lambda r: r.update(tag=["published"]), "published"),
        (lambda r: r.update(tag=[]), "tag"),
        (lambda r: r["tender"].update(procurementMethod="negotiation"), "negotiation"),
        (lambda r: r["awards"][0].update(status="won"), "won"),
        (lambda r: r["parties"][0]["roles"].append("boss"), "partyRole"),
        (lambda r: r["tender"]["value"].update(currency="RMB"), "RMB"),
        (lambda r: r["tender"]["value"].update(amount="1234.50"), "amount"),
        (lambda r: r.update(date="2026-03-02 09:00"), "date-time"),
        (lambda r: r["bids"]["statistics"].append({"id": "x", "measure": "guesses", "value": 3}), "measure"),
        (lambda r: r["bids"]["details"][0].update(status="opened"), "status"),
        (lambda r: r["relatedProcesses"][0].update(relationship=["repeatedAfterFailure"]), "repeatedAfterFailure"),
        (lambda r: r["relatedProcesses"][0].update(scheme="callNumber"), "callNumber"),
        (lambda r: r["planning"]["budget"]["amount"].update(amount="800000"), "amount"),
    ],
    ids=[
        "missing-ocid",
        "unknown-tag",
        "empty-tag",
        "method-not-a-code",
        "award-status",
        "party-role",
        "currency",
        "amount-as-text",
        "date",
        "bid-measure",
        "bid-status",
        "related-process-relationship",
        "related-process-scheme",
        "planning-budget-as-text",
    ],
)
def test_a_broken_release_is_refused_by_the_same_validation(breakage: Any, complaint: str) -> None:
    release = published(TENDER_METHOD, AWARD)
    assert release_problems(release) == []
    broken = copy.deepcopy(release)
    breakage(broken)
    problems = release_problems(broken)
    assert problems, "the validation let a broken release through"
    assert any(complaint in problem for problem in problems), problems


def test_a_package_without_its_metadata_or_with_a_broken_release_is_refused() -> None:
    release = published(VENTURE, TENDER)
    package = release_package(
        [release], rules=RULES, uri="http://x/api/ocds/releases", published_date=NOW, policy_uri="http://x/p", uses_bids=False
    )
    assert package_problems(package) == []
    assert package_problems({key: value for key, value in package.items() if key != "publisher"})
    broken = copy.deepcopy(package)
    broken["releases"][0]["tender"]["status"] = "open"
    assert any("open" in problem for problem in package_problems(broken))
    broken = copy.deepcopy(package)
    broken["releases"][0]["parties"][0]["roles"] = ["owner"]
    assert any("partyRole" in problem for problem in package_problems(broken))


def test_a_record_package_validates_and_a_broken_one_is_refused() -> None:
    releases = [published(VENTURE, stage) for stage in (TENDER, AWARD)]
    linked = [(f"http://x/api/ocds/releases/o#{r['id']}", r["date"], r["tag"][0]) for r in releases]
    package = record_package(
        releases[0]["ocid"],
        linked,
        compile_releases(releases),
        rules=RULES,
        uri="http://x/r",
        published_date=NOW,
        policy_uri="http://x/p",
        uses_bids=True,
    )
    assert record_package_problems(package) == []
    broken = copy.deepcopy(package)
    broken["records"][0]["releases"][0]["tag"] = ["opened"]
    assert record_package_problems(broken)
    broken = copy.deepcopy(package)
    broken["records"][0]["compiledRelease"]["awards"][0]["status"] = "won"
    assert any("won" in problem for problem in record_package_problems(broken))


def test_methods_are_ocds_codes_with_their_chinese_names() -> None:
    shown = {method: published(method, TENDER)["tender"] for method in METHODS}
    assert (shown[VENTURE]["procurementMethod"], shown[VENTURE]["procurementMethodDetails"]) == ("open", "公益创投")
    assert (shown[TENDER_METHOD]["procurementMethod"], shown[TENDER_METHOD]["procurementMethodDetails"]) == ("open", "公开招标")
    assert (shown[NEGOTIATION]["procurementMethod"], shown[NEGOTIATION]["procurementMethodDetails"]) == ("selective", "竞争性谈判")
    assert shown[NEGOTIATION]["procurementMethodRationale"].startswith("预算低于")
    assert shown[VENTURE]["awardCriteria"] == "ratedCriteria"
    assert shown[VENTURE]["awardCriteriaDetails"] == "服务方案 40 分；团队与经验 30 分；报价 30 分"
    assert shown[VENTURE]["tenderPeriod"] == {"startDate": "2026-03-02T09:00:00+08:00", "endDate": "2026-03-12T09:00:00+08:00"}


def test_amounts_are_yuan_with_two_decimals_exactly_as_the_fen() -> None:
    body = encode(build_release(project_record(NEGOTIATION, TENDER), TENDER, rules=RULES, release_id="r", now=NOW)).decode()
    # 45,000,001 fen: the whole budget and the two lots of 22,500,000 and 22,500,001 fen
    assert '"value":{"amount":450000.01,"currency":"CNY"}' in body
    assert '"amount":225000.00,' in body and '"amount":225000.01,' in body


@given(st.integers(min_value=0, max_value=10**13))
def test_any_fen_amount_goes_out_as_the_same_amount_in_yuan(fen: int) -> None:
    amount = yuan(fen)
    assert amount * 100 == fen and amount.as_tuple().exponent == -2
    text = encode({"amount": amount}).decode()
    assert re.fullmatch(r'\{"amount":\d+\.\d\d\}', text)
    assert Decimal(text[10:-1]) * 100 == fen


def test_bids_stay_sealed_in_a_release_dated_before_the_deadline_whatever_the_record_holds() -> None:
    awarded = project_record(VENTURE, AWARD)
    early = replace(awarded, status="open", bid_deadline=awarded.awards[0].published_at + timedelta(days=1))
    release = json.loads(encode(build_release(early, TENDER, rules=RULES, release_id="r", now=NOW)))
    assert release_problems(release) == []
    for leaked in ("bids", "awards", "contracts"):
        assert leaked not in release
    assert "tenderers" not in release["tender"] and "numberOfTenderers" not in release["tender"]
    assert [party["id"] for party in release["parties"]] == ["district"]
    assert "和平区乐龄" not in encode(release).decode()
    opened = json.loads(encode(build_release(awarded, AWARD, rules=RULES, release_id="r", now=NOW)))
    assert opened["tender"]["numberOfTenderers"] == 3


def test_after_the_deadline_the_bids_are_counted_and_a_withdrawn_bid_is_never_shown() -> None:
    release = published(TENDER_METHOD, AWARD)
    statistics = {s["measure"]: s["value"] for s in release["bids"]["statistics"]}
    assert statistics["bids"] == 4 and statistics["validBids"] == 3
    assert [bid["id"] for bid in release["bids"]["details"]] == ["B1", "B2", "B3", "B5"]
    assert {bid["status"] for bid in release["bids"]["details"]} == {"valid", "disqualified"}
    assert "五大道邻里互助会" not in json.dumps(release, ensure_ascii=False)  # B4 withdrew before the deadline
    package = release_package([release], rules=RULES, uri="http://x", published_date=NOW, policy_uri="http://x/p", uses_bids=True)
    assert package["extensions"] == [BID_EXTENSION]


def test_parties_carry_their_roles_and_credit_codes() -> None:
    parties = {party["id"]: party for party in published(VENTURE, IMPLEMENTATION)["parties"]}
    assert parties["district"]["roles"] == ["buyer", "procuringEntity", "payer"]
    assert "identifier" not in parties["district"]
    winner = parties["organisation-1"]
    assert winner["roles"] == ["tenderer", "supplier", "payee"]
    assert winner["identifier"]["scheme"] == "CN-USCC" and len(winner["identifier"]["id"]) == 18
    assert parties["organisation-3"]["roles"] == ["tenderer"]


def test_award_publicity_and_status_follow_the_record() -> None:
    release = published(VENTURE, AWARD)
    assert [award["status"] for award in release["awards"]] == ["pending", "pending"]
    publicity = release["tender"]["milestones"][0]
    assert publicity["type"] == "engagement" and publicity["title"] == "中标结果公示"
    assert publicity["dueDate"] == "2026-03-20T09:00:00+08:00" and publicity["status"] == "scheduled"
    withdrawn = project_record(VENTURE, AWARD)
    cancelled = replace(withdrawn, awards=(replace(withdrawn.awards[0], status="cancelled"), withdrawn.awards[1]))
    release = json.loads(encode(build_release(cancelled, "awardUpdate", rules=RULES, release_id="r", now=NOW)))
    assert release["awards"][0]["status"] == "cancelled"
    assert release_problems(release) == []


def test_a_contract_shows_its_tranches_as_milestones_and_paid_ones_as_transactions() -> None:
    contract = published(VENTURE, IMPLEMENTATION)["contracts"][0]
    assert contract["status"] == "active" and contract["awardID"] == "A1"
    assert [m["title"] for m in contract["milestones"]] == ["第 1 期拨付（30%）", "第 2 期拨付（40%）", "第 3 期拨付（30%）"]
    assert [m["status"] for m in contract["milestones"]] == ["met", "scheduled", "scheduled"]
    assert contract["milestones"][1]["description"].startswith("中期评估合格后")
    (paid,) = contract["implementation"]["transactions"]
    assert paid["payer"]["id"] == "district" and paid["payee"]["id"] == "organisation-1"
    assert Decimal(str(paid["value"]["amount"])) * 100 == project_record(VENTURE, IMPLEMENTATION).contracts[0].tranches[0].paid_fen
    assert "implementation" not in published(VENTURE, "contract")["contracts"][0]


def test_the_compiled_release_is_the_merge_of_the_releases_in_date_order() -> None:
    releases = [published(TENDER_METHOD, stage) for stage in (TENDER, AWARD, IMPLEMENTATION)]
    compiled = compile_releases(list(reversed(releases)))
    assert compiled["tag"] == ["compiled"]
    assert compiled["date"] == releases[-1]["date"]
    assert [award["status"] for award in compiled["awards"]] == ["active", "active"]
    assert compiled["contracts"][0]["implementation"]["transactions"]
    assert release_problems(compiled) == []


def test_a_record_that_cannot_be_published_is_refused_with_the_field_named() -> None:
    with pytest.raises(ReleaseRuleError, match="call number"):
        build_release(replace(project_record(VENTURE, TENDER), number="XQ 2026/1"), TENDER, rules=RULES, release_id="r", now=NOW)
    record = project_record(VENTURE, AWARD)
    with pytest.raises(ReleaseRuleError, match="award status"):
        build_release(replace(record, awards=(replace(record.awards[0], status="won"),)), AWARD, rules=RULES, release_id="r", now=NOW)
    with pytest.raises(ReleaseRuleError, match="stage"):
        build_release(record, "published", rules=RULES, release_id="r", now=NOW)


def test_the_ocid_prefix_must_look_like_one_the_partnership_registers() -> None:
    text = (STANDARD_DIR.parents[2] / "config" / "ocds.toml").read_text()
    assert parse_publication_rules(text).ocid_prefix == "ocds-hpdemo"
    with pytest.raises(ValueError, match="ocid_prefix"):
        parse_publication_rules(text.replace('"ocds-hpdemo"', '"hp-2026"'))
    with pytest.raises(ValueError, match="license_url"):
        parse_publication_rules(text.replace('"https://creativecommons.org/licenses/by/4.0/"', '"CC BY"'))


def test_a_release_names_its_catalogue_item_and_the_proposals_and_a_repeat_points_to_the_failed_process() -> None:
    tender = published(TENDER_METHOD, TENDER)
    assert release_problems(tender) == []
    budget = tender["planning"]["budget"]
    assert budget["id"] == budget["projectID"] == "2026-1" and budget["description"] == "2026年政府购买服务项目目录"
    assert budget["amount"] == {"amount": 1244567.89, "currency": "CNY"}
    assert tender["planning"]["rationale"].endswith("回应社区居民提案 #1、#11")
    # The repeated public tender follows on from the failed one, named by its OCID under the codelists' codes.
    assert tender["relatedProcesses"] == [
        {"id": "repeats", "relationship": ["unsuccessfulProcess"], "title": "和平区社区居家养老综合服务", "scheme": "ocid", "identifier": f"{RULES.ocid_prefix}-XQ-GK-2026-000"}
    ]
    # A first call relates to nothing; a call bought outside the catalogue has no planning.
    assert "relatedProcesses" not in published(VENTURE, TENDER)
    assert "planning" not in published(VENTURE, TENDER, catalogue_item=None)
