"""Service contracts signed on paper move in from the spreadsheet (issue 22): each row records the paper vote it rests
on (纸质表决, its figures checked by the rule for a valid vote) and then the contract, both through the registry's own
use cases, so every rule of a contract holds. The dry run names every bad cell, a contract overlapping another (one
already registered, or another row of the same file) included; the clean file imports once and again changes
nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from foundation.access import SYSTEM
from foundation.errors import NotFound, PermissionDenied
from registry.contracts import register_paper_contract
from registry.schemas import ContractCreate
from registry.tables import Community, ContractEstate, Estate, SelectionVote, ServiceContract, VoteCandidate, VoteEstate
from supervision.importing.service import import_file
from tests.integration.evidence import principal
from tests.integration.test_spreadsheet_import import MAX_ROWS, credit_code, headers, run, workbook

COMPANY = credit_code("MA0KC0001")
UNKNOWN_COMPANY = credit_code("MA0KC0999")
TABLES = (ServiceContract, ContractEstate, SelectionVote, VoteEstate, VoteCandidate)
PLACES = {
    "街道": [headers("streets"), ["IMC", "合同导入街道"]],
    "社区": [headers("communities"), ["IMC01", "合同导入社区", "IMC", 300]],
    "物业企业": [headers("companies"), ["天津市合同导入物业服务有限公司", COMPANY, "", "", ""]],
    "片区": [
        headers("estates"),
        ["HP-IMC01-1", "合同导入一片", "和平区合同路 1 号", "IMC01", "5000", 120, 2, "物业企业", "2018-01-01", "", ""],
        ["HP-IMC01-2", "合同导入二片", "和平区合同路 2 号", "IMC01", "3000", 60, 1, "物业企业", "2018-01-01", "", ""],
    ],
}
# 180 households with a vote in both estates: two thirds is 120; the first estate alone has 120 (two thirds: 80).
FIRST = ["IMC-2021-01", "IMC01", "HP-IMC01-1、HP-IMC01-2", COMPANY, "2021-01-10", "2021-02-01", "2024-01-31", "IMC-BJ-2020-12", "2020-12-20", 150, 120]
SECOND = ["IMC-2024-01", "IMC01", "HP-IMC01-1", COMPANY, "2024-01-10", "2024-02-01", "2027-01-31", "IMC-BJ-2023-12", "2023-12-20", 90, 60]
CLEAN = PLACES | {"服务合同": [headers("contracts"), FIRST, SECOND]}


async def counts(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with db() as session:
        return {t.__tablename__: (await session.execute(select(func.count()).select_from(t))).scalar_one() for t in TABLES}


def row(**changes: object) -> list[object]:
    """A contract row like FIRST with some cells changed (by header)."""
    cells = dict(zip(headers("contracts"), FIRST, strict=True))
    names = {"number": "合同编号", "community": "所属社区编码", "estates": "片区编码", "company": "物业企业信用代码", "signed": "签订日期",
             "starts": "开始日期", "ends": "结束日期", "vote": "表决档案编号", "voted": "表决日期", "voting": "参与表决户数", "agreeing": "同意户数"}
    cells |= {names[k]: v for k, v in changes.items()}
    return list(cells.values())


async def test_a_dry_run_names_every_bad_contract_cell_and_writes_nothing(db) -> None:
    before = await counts(db)
    async with db() as session:
        shude = (await session.execute(select(Estate.households).where(Estate.code == "HP-XBL01-1"))).scalar_one()
    rows = [
        FIRST,
        row(number="IMC-2022-01", estates="HP-IMC01-1", signed="2021-12-25", starts="2022-01-01", ends="2022-12-31", vote="IMC-BJ-2021-12", voted="2021-12-20", voting=90, agreeing=60),
        row(number="IMC-X-03", estates="HP-NOPE-1", vote="R3"),
        row(number="IMC-X-04", company=UNKNOWN_COMPANY, vote="R4"),
        row(number="IMC-X-05", community="NOSUCH", vote="R5"),
        row(number="IMC-X-06", starts="2030-02-01", ends="2030-01-31", vote="R6"),
        row(number="IMC-X-07", starts="2030-02-01", ends="2031-01-31", voting=100, agreeing=90, vote="R7"),
        row(number="IMC-X-08", starts="2030-02-01", ends="2031-01-31", voting=150, agreeing=151, vote="R8"),
        row(number="IMC-X-09", voting="很多", vote="R9"),
        row(number="IMC-X-10", starts="2030-02-01", ends="2031-01-31", voting=150, agreeing=75, vote="R10"),
        row(number="IMC-X-11", community="XBL01", estates="HP-XBL01-1", starts="2027-01-01", ends="2027-12-31", voting=shude, agreeing=shude, vote="R11"),
        row(vote="R12"),
        row(number="IMC-X-13", estates="HP-IMC01-1、HP-XBL01-1", vote="R13"),
        row(number="IMC-X-14", starts="2030-02-01", ends="2031-01-31", signed="2020-01-01", vote="R14"),
        row(number="IMC-X-15", starts="", vote=""),
    ]
    report = await run(db, workbook(PLACES | {"服务合同": [headers("contracts"), *rows]}), apply=False)
    found = {(e.row, e.column): e.reason for e in report.errors if e.sheet == "服务合同"}
    expected = {
        (3, "开始日期"): "已有合同 IMC-2021-01，合同期限不能重叠（该合同在本文件第 2 行）",
        (4, "片区编码"): "“HP-NOPE-1”未登记",
        (5, "物业企业信用代码"): "不是已登记的物业企业",
        (6, "所属社区编码"): "“NOSUCH”未登记",
        (7, "结束日期"): "早于开始日期",
        (8, "参与表决户数"): "不足有表决权户数的三分之二",
        (9, "同意户数"): "超过参与表决户数",
        (10, "参与表决户数"): "不是整数",
        (11, "同意户数"): "未超过参与表决户数的一半",
        (12, "开始日期"): "已有合同 HPWY-2025-XBL01",
        (13, "合同编号"): "与第 2 行重复",
        (14, "片区编码"): "不属于社区 IMC01",
        (15, "签订日期"): "早于表决日期",
        (16, "开始日期"): "必填",
        (16, "表决档案编号"): "必填",
    }
    assert set(found) == set(expected), sorted(set(found) ^ set(expected))
    for cell, says in expected.items():
        assert says in found[cell], (cell, found[cell])
    assert [e for e in report.errors if e.sheet != "服务合同"] == []
    assert not report.applied and await counts(db) == before


async def test_clean_contracts_import_once_on_their_paper_votes_and_again_change_nothing(db, client, as_user) -> None:
    before = await counts(db)
    assert (await run(db, workbook(CLEAN), apply=False)).clean and await counts(db) == before
    first = await run(db, workbook(CLEAN), apply=True)
    assert first.applied, first.errors
    assert next(c for c in first.counts if c.kind == "contracts").created == 2
    after = await counts(db)
    assert {t: after[t] - before[t] for t in after} == {
        "service_contracts": 2, "contract_estates": 3, "selection_votes": 2, "vote_estates": 3, "vote_candidates": 2,
    }
    again = await run(db, workbook(CLEAN), apply=True)
    assert again.applied and all(c.created == 0 and c.unchanged == c.rows for c in again.counts)
    assert await counts(db) == after

    # The registry reads them as its own: the contracts with their company, estates and the paper vote they rest on.
    admin = await as_user("admin")
    async with db() as session:
        community_id = (await session.execute(select(Community.id).where(Community.code == "IMC01"))).scalar_one()
    contracts = (await client.get("/api/registry/contracts", params={"community_id": community_id}, headers=admin)).json()["items"]
    mine = sorted(contracts, key=lambda c: c["contract_number"])
    assert [(c["contract_number"], c["company_name"], len(c["estate_ids"]), c["state"], c["signed_by_user_id"]) for c in mine] == [
        ("IMC-2021-01", "天津市合同导入物业服务有限公司", 2, "expired", None), ("IMC-2024-01", "天津市合同导入物业服务有限公司", 1, "active", None),
    ]
    vote = (await client.get(f"/api/registry/votes/{mine[0]['vote_id']}", headers=admin)).json()
    assert (vote["source"], vote["reference"], vote["outcome"], vote["eligible_households"], vote["ballots_cast"]) == ("paper", "IMC-BJ-2020-12", "elected", 180, 150)
    assert vote["candidates"][0]["ballots_received"] == 120

    # A row changed after the import is reported, never overwritten.
    changed = CLEAN | {"服务合同": [headers("contracts"), FIRST, [*SECOND[:6], "2027-06-30", *SECOND[7:]]]}
    refused = await run(db, workbook(changed), apply=True)
    assert [(e.row, e.column) for e in refused.errors] == [(3, "结束日期")] and "已登记为“2027-01-31”" in refused.errors[0].reason
    assert await counts(db) == after


async def test_a_committee_director_may_not_import_contracts_nor_register_one_signed_on_paper(db) -> None:
    """Contracts move in through the district administrator's import; a director signs in the system after a vote."""
    director = await principal(db, "xbl01-director")
    async with db() as session:
        report = await import_file(session, director, workbook(CLEAN), "district.xlsx", apply=True, max_rows=MAX_ROWS)
        assert not report.applied and {(e.sheet, e.reason) for e in report.errors} == {
            (name, f"您的岗位不能导入“{name}”：由区级管理员导入") for name in ("街道", "社区", "物业企业", "片区", "服务合同")
        }
        vote_id = (await session.execute(select(SelectionVote.id).where(SelectionVote.community_id == director.community_id))).scalars().first()
        data = ContractCreate(vote_id=vote_id, contract_number="XBL01-PAPER", signed_on=date(2025, 1, 1), starts_on=date(2029, 1, 1), ends_on=date(2029, 12, 31))
        with pytest.raises(PermissionDenied):
            await register_paper_contract(session, director, data)
        # Nor may the administrator rest a paper contract on a vote counted in the system.
        with pytest.raises(NotFound):
            await register_paper_contract(session, SYSTEM, data)
