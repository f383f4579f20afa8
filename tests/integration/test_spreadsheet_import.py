"""A district moves in from its spreadsheets (issue 22, item 1): a dry run names every bad row and cell in Chinese and
writes nothing; a clean file is imported once, through the registry's and people's own use cases, and importing it
again changes nothing; `supervision import` does the same from the command line."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from collections.abc import Sequence

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from foundation.access import SYSTEM
from foundation.audit import AuditEntry
from foundation.settings import get_settings, load_settings
from people.tables import User
from registry.rules import credit_code_check_char
from registry.tables import Community, Company, Estate, EstateBoundary, Organisation, Street
from supervision import cli
from supervision.cli import migrate
from supervision.importing.service import ImportReport, import_file
from supervision.importing.sheets import KINDS, UnreadableFile, template
from tests.database import fresh_database_url
from tests.integration.helpers import assert_problem
from tests.integration.test_pages import page_login

MAX_ROWS = 5000
TABLES = (Street, Community, Estate, EstateBoundary, Company, Organisation, User, AuditEntry)


def credit_code(body: str) -> str:
    first17 = ("91120101" + body)[:17]
    return first17 + credit_code_check_char(first17)


GOOD_COMPANY = credit_code("MA0KP0001")
SOCIAL_ORG = "52120101" + "MJ0KPM00" + "1"
SOCIAL_ORG += credit_code_check_char(SOCIAL_ORG)
SQUARE = '{"type": "Polygon", "coordinates": [[[117.2, 39.1], [117.201, 39.1], [117.201, 39.101], [117.2, 39.101], [117.2, 39.1]]]}'


def with_part(content: bytes, part: str, replaced: bytes) -> bytes:
    """The same XLSX (a valid zip) with one part's bytes replaced."""
    out, source = io.BytesIO(), zipfile.ZipFile(io.BytesIO(content))
    with zipfile.ZipFile(out, "w") as book:
        for item in source.infolist():
            book.writestr(item, replaced if item.filename == part else source.read(item))
    return out.getvalue()


MALFORMED_WORKBOOK = with_part(template(KINDS[0]), "xl/workbook.xml", b"<workbook><sheets><sheet name=")
MALFORMED_SHEET = with_part(template(KINDS[0]), "xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row")
LONG_CELL_CSV = ("街道编码,街道名称\nXBL," + "长" * 200_000 + "\n").encode()


def workbook(sheets: dict[str, Sequence[Sequence[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def headers(kind: str) -> list[str]:
    return [c.header for c in next(k for k in KINDS if k.key == kind).columns]


CLEAN = {
    "街道": [headers("streets"), ["XBL", "小白楼"], ["IMP", "导入街道"]],
    "社区": [headers("communities"), ["IMP01", "导入一社区", "IMP", 1200], ["IMP02", "导入二社区", "IMP", ""]],
    "物业企业": [headers("companies"), ["天津市导入物业服务有限公司", GOOD_COMPANY, "王立新", "022-23300009", "和平区导入路 1 号"]],
    "社会组织": [headers("social_organisations"), ["和平区导入互助服务中心", SOCIAL_ORG, "登记", "", "", "", "IMP、XBL"]],
    "片区": [
        headers("estates"),
        ["HP-IMP01-1", "导入一片旧楼区", "和平区导入路 1 号至 99 号", "IMP01", "12345.67", 180, 3, "物业企业", "2019-03-01", "", SQUARE],
        ["HP-IMP01-2", "导入二片旧楼区", "和平区导入路 100 号至 150 号", "IMP01", 8000, 90, 2, "居民自治", "2020-01-01", "2026-06-30", ""],
    ],
    "用户": [
        headers("users"),
        ["imp01-worker", "导入一社区物业社工", "社区物业社工", "", "IMP01", "", ""],
        ["imp-officer", "导入街道办", "街道办", "IMP", "", "", ""],
        ["imp-company", "导入物业", "物业企业", "", "", GOOD_COMPANY, ""],
        ["imp-social", "导入互助服务中心", "社会组织", "", "", "", SOCIAL_ORG],
    ],
}


async def counts(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with db() as session:
        return {t.__tablename__: (await session.execute(select(func.count()).select_from(t))).scalar_one() for t in TABLES}


async def run(db, content: bytes, *, apply: bool, name: str = "district.xlsx", kind: str | None = None) -> ImportReport:  # type: ignore[no-untyped-def]
    async with db() as session:
        report = await import_file(session, SYSTEM, content, name, kind=kind, apply=apply, max_rows=MAX_ROWS)
        await session.commit()
    return report


async def test_a_dry_run_names_every_bad_row_and_cell_in_chinese_and_writes_nothing(db) -> None:
    before = await counts(db)
    bad = {
        "街道": [headers("streets"), ["IMP", "导入街道"], ["IMP", "另一个导入街道"], ["NS", "不是南市"], ["bad code!", "符号街道"]],
        "社区": [headers("communities"), ["IMP01", "导入一社区", "IMP", "很多"], ["IMP02", "导入二社区", "NOPE", 10], ["IMP03", "", "IMP", 5]],
        "物业企业": [
            headers("companies"),
            ["天津市错码物业服务有限公司", GOOD_COMPANY[:17] + ("0" if GOOD_COMPANY[17] != "0" else "1"), "", "", ""],
            ["天津市安居物业服务有限公司", GOOD_COMPANY, "", "", ""],
        ],
        "社会组织": [headers("social_organisations"), ["和平区某服务中心", SOCIAL_ORG, "其他", "", "", "", "IMP、ZZZ"]],
        "片区": [
            headers("estates"),
            ["HP-IMP01-1", "面积错", "地址", "IMP01", "一万", 10, 1, "物业企业", "2019-03-01", "", ""],
            ["HP-IMP01-2", "社区错", "地址", "NOSUCH", "100", 10, 1, "物业企业", "2019-03-01", "", ""],
            ["HP-IMP01-3", "日期错", "地址", "XBL01", "100", 10, 1, "托管", "2019/13/01", "", ""],
            ["HP-IMP01-4", "先退后进", "地址", "XBL01", "100", 10, 1, "物业企业", "2020-01-01", "2019-01-01", ""],
            ["HP-IMP01-5", "边界错", "地址", "XBL01", "100", 10, 1, "物业企业", "2020-01-01", "", '{"type": "Point", "coordinates": [117.2, 39.1]}'],
            ["HP-XBL01-1", "已有片区改了名", "地址", "XBL01", "100", 10, 1, "物业企业", "2020-01-01", "", ""],
        ],
        "用户": [
            headers("users"),
            ["imp01-worker", "社工", "社区物业社工", "", "", "", ""],
            ["admin", "改名的管理员", "区级管理员", "", "", "", ""],
            ["imp-company", "企业", "物业企业", "", "", credit_code("MA0NXPE01"), ""],
            ["imp-chief", "某人", "区长", "", "", "", ""],
        ],
        "别的表": [["甲", "乙"], [1, 2]],
    }
    report = await run(db, workbook(bad), apply=False)
    found = {(e.sheet, e.row, e.column): e.reason for e in report.errors}
    expected = {
        ("街道", 3, "街道编码"): "与第 2 行重复",
        ("街道", 4, "街道名称"): "已登记为“南市”",
        ("街道", 5, "街道编码"): "不允许的字符",
        ("社区", 2, "户数"): "不是整数",
        ("社区", 3, "所属街道编码"): "“NOPE”未登记",
        ("社区", 4, "社区名称"): "必填",
        ("物业企业", 2, "统一社会信用代码"): "校验位",
        ("物业企业", 3, "企业名称"): "已被另一条记录登记",
        ("社会组织", 2, "登记或备案"): "不是可选值",
        ("社会组织", 2, "服务街道编码"): "“ZZZ”未登记",
        ("片区", 2, "建筑面积（平方米）"): "不是数字",
        ("片区", 2, "所属社区编码"): "“IMP01”未登记",  # its row in 社区 is bad, so it would not be registered
        ("片区", 3, "所属社区编码"): "“NOSUCH”未登记",
        ("片区", 4, "管理方式"): "不是可选值",
        ("片区", 4, "进入长效管理日期"): "应写作 2026-01-31",
        ("片区", 5, "退出长效管理日期"): "早于进入长效管理日期",
        ("片区", 6, "边界（GeoJSON）"): "",
        ("片区", 7, "片区名称"): "已登记为",
        ("片区", 7, "建筑面积（平方米）"): "已登记为",
        ("片区", 7, "地址"): "已登记为",
        ("片区", 7, "户数"): "已登记为",
        ("片区", 7, "进入长效管理日期"): "已登记为",
        ("用户", 2, "所属社区编码"): "须且只须填写所属社区",
        ("用户", 3, "姓名或称呼"): "已登记为“王丽”",
        ("用户", 4, "所属企业信用代码"): "不是已登记的物业企业",
        ("用户", 5, "岗位"): "不是可选值",
        ("别的表", 1, "—"): "无法识别此表",
    }
    assert set(found) == set(expected), sorted(set(found) ^ set(expected))
    for cell, says in expected.items():
        assert says in found[cell], (cell, found[cell])
    assert not report.applied and await counts(db) == before

    # Asked to import, the same file is refused just as well: nothing is written while any row is bad.
    assert not (await run(db, workbook(bad), apply=True)).applied
    assert await counts(db) == before


async def test_a_clean_file_is_imported_once_in_one_transaction_and_again_changes_nothing(db, client, as_user) -> None:
    before = await counts(db)
    dry = await run(db, workbook(CLEAN), apply=False)
    assert dry.clean and not dry.applied and await counts(db) == before
    first = await run(db, workbook(CLEAN), apply=True)
    assert first.applied, first.errors
    assert {c.kind: (c.created, c.unchanged) for c in first.counts} == {
        "streets": (1, 1), "communities": (2, 0), "companies": (1, 0), "social_organisations": (1, 0), "estates": (2, 0), "users": (4, 0),
    }
    after = await counts(db)
    grown = {t: after[t] - before[t] for t in after}
    assert {t: n for t, n in grown.items() if t != "audit_log"} == {
        "streets": 1, "communities": 2, "estates": 2, "estate_boundaries": 1, "companies": 1, "organisations": 1, "users": 4,
    }
    assert grown["audit_log"] == 13  # each record's own entry (and the boundary's) and the import's
    async with db() as session:
        entry = (await session.execute(select(AuditEntry).where(AuditEntry.action == "spreadsheet_import.applied"))).scalar_one()
    assert entry.entity_id == first.file_sha256 and entry.after is not None and entry.after["counts"]["estates"]["created"] == 2

    again = await run(db, workbook(CLEAN), apply=True)
    assert again.applied and again.clean
    assert all(c.created == 0 and c.unchanged == c.rows for c in again.counts)
    assert {t: n for t, n in (await counts(db)).items() if t != "audit_log"} == {t: n for t, n in after.items() if t != "audit_log"}

    # What was imported reads as the registry's own records: the area as written, the estate in its community.
    admin = await as_user("admin")
    estates = (await client.get("/api/registry/estates", params={"q": "HP-IMP01"}, headers=admin)).json()["items"]
    assert [(e["code"], e["floor_area_m2"], e["community_name"], e["management_mode"], e["left_on"]) for e in estates] == [
        ("HP-IMP01-1", "12345.67", "导入一社区", "company", None), ("HP-IMP01-2", "8000.00", "导入一社区", "self_managed", "2026-06-30"),
    ]
    # An imported account has no usable password until the administrator gives its first one.
    async with db() as session:
        worker_id = (await session.execute(select(User.id).where(User.username == "imp01-worker"))).scalar_one()
    worker = (await client.get(f"/api/users/{worker_id}", headers=admin)).json()
    assert (worker["role"], worker["community_id"] is not None, worker["street_id"] is not None) == ("community_worker", True, True)
    assert_problem(await client.post("/api/auth/login", json={"username": "imp01-worker", "password": "x" * 12}), 401)
    handed = await client.patch(f"/api/users/{worker['id']}", json={"password": "first-password-2026"}, headers=admin)
    assert handed.status_code == 200, handed.text
    assert (await client.post("/api/auth/login", json={"username": "imp01-worker", "password": "first-password-2026"})).status_code == 200


async def test_a_csv_file_names_its_kind_and_every_template_downloads(db, client, as_user) -> None:
    csv_text = "社区编码,社区名称,所属街道编码,户数\nXBL01,树德里,XBL,{}\nIMPX1,导入社区,XBL,12\n"
    households = (await client.get("/api/registry/communities", params={"page_size": 200}, headers=await as_user("admin"))).json()["items"]
    shude = next(c for c in households if c["code"] == "XBL01")["households"]
    report = await run(db, csv_text.format(shude).encode("utf-8-sig"), apply=False, name="communities.csv", kind="communities")
    assert report.clean and [(c.created, c.unchanged) for c in report.counts] == [(1, 1)]
    with pytest.raises(UnreadableFile, match="not UTF-8"):
        await run(db, "社区编码,社区名称\n树德里,树德里\n".encode("gb18030"), apply=False, name="c.csv", kind="communities")
    with pytest.raises(UnreadableFile, match="not an XLSX"):
        await run(db, b"PK\x03\x04 not really a workbook", apply=False, name="c.xlsx")
    for malformed in (MALFORMED_WORKBOOK, MALFORMED_SHEET):  # a valid zip whose XML is not
        with pytest.raises(UnreadableFile, match="not an XLSX") as refused:
            await run(db, malformed, apply=False, name="c.xlsx")
        assert refused.value.zh and "不是有效的 XLSX 工作簿或 CSV 文件" in refused.value.zh
    with pytest.raises(UnreadableFile, match="more than 131072 characters") as too_long:
        await run(db, LONG_CELL_CSV, apply=False, name="streets.csv", kind="streets")
    assert too_long.value.zh and "单元格内容过长" in too_long.value.zh
    await page_login(client, "admin")
    page = await client.get("/imports")
    assert page.status_code == 200 and "下载模板" in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    for name, content, said in (("c.xlsx", MALFORMED_WORKBOOK, "不是有效的 XLSX 工作簿"), ("streets.csv", LONG_CELL_CSV, "单元格内容过长")):
        checked = await client.post("/imports/check", data={"_csrf_token": token, "kind": "streets" if name.endswith(".csv") else ""}, files={"file": (name, content)})
        assert checked.status_code == 422 and said in checked.text, checked.text[-1500:]
    for kind in KINDS:
        answer = await client.get(f"/imports/templates/{kind.key}.xlsx")
        assert answer.status_code == 200
        downloaded, made = load_workbook(io.BytesIO(answer.content)), load_workbook(io.BytesIO(template(kind)))
        # The same template as the service makes, sheet by sheet and cell by cell (the bytes carry the time written).
        assert [[list(r) for r in ws.iter_rows(values_only=True)] for ws in downloaded] == [[list(r) for r in ws.iter_rows(values_only=True)] for ws in made]
        sheet = downloaded[kind.name]
        assert [c.value for c in sheet[1]] == [c.header for c in kind.columns]
    await page_login(client, "xbl-officer")
    assert (await client.get("/imports")).status_code == 403


def damaged_zip(content: bytes, part: str, damage: str) -> bytes:
    """The same XLSX with one part's compressed data broken (a deflate block of the reserved type), or with every part
    marked encrypted."""
    data = bytearray(with_part(content, part, zipfile.ZipFile(io.BytesIO(content)).read(part)))
    if damage == "encrypted":
        central = data.find(b"PK\x01\x02")
        while central != -1:
            data[central + 8] |= 1
            central = data.find(b"PK\x01\x02", central + 1)
        return bytes(data)
    source = zipfile.ZipFile(io.BytesIO(bytes(data)))
    local = source.getinfo(part).header_offset
    name_length, extra_length = int.from_bytes(data[local + 26 : local + 28], "little"), int.from_bytes(data[local + 28 : local + 30], "little")
    data[local + 30 + name_length + extra_length] = 0xFF
    return bytes(data)


async def test_a_workbook_whose_parts_do_not_unpack_is_refused_as_unreadable_not_a_fault(db, client) -> None:  # type: ignore[no-untyped-def]
    damaged = [
        damaged_zip(template(KINDS[0]), "xl/workbook.xml", "deflate"),
        damaged_zip(template(KINDS[0]), "xl/worksheets/sheet1.xml", "deflate"),
        damaged_zip(template(KINDS[0]), "xl/workbook.xml", "encrypted"),
    ]
    for content in damaged:
        with pytest.raises(UnreadableFile, match="not an XLSX"):
            await run(db, content, apply=False, name="c.xlsx")
    await page_login(client, "admin")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', (await client.get("/imports")).text).group(1)  # type: ignore[union-attr]
    checked = await client.post("/imports/check", data={"_csrf_token": token, "kind": ""}, files={"file": ("c.xlsx", damaged[0])})
    assert checked.status_code == 422 and "不是有效的 XLSX 工作簿" in checked.text, checked.text[-1500:]
@pytest.fixture
def _settings_read_afresh():  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_supervision_import_checks_then_imports_in_one_transaction(tmp_root, monkeypatch, capsys, _settings_read_afresh) -> None:
    url = await fresh_database_url(tmp_root, "import_cli")
    await asyncio.to_thread(migrate, load_settings(database_url=url))
    monkeypatch.setenv("SUPERVISION_DATABASE_URL", url)
    good, bad = tmp_root / "district.xlsx", tmp_root / "district-bad.xlsx"
    good.write_bytes(workbook(CLEAN))
    broken = dict(CLEAN) | {"片区": [*CLEAN["片区"], ["HP-IMP01-9", "面积错", "地址", "IMP01", "十亩", 1, 1, "物业企业", "2019-03-01", "", ""]]}
    bad.write_bytes(workbook(broken))

    assert await asyncio.to_thread(cli.main, ["import", str(bad)]) == 1
    said = capsys.readouterr()
    assert "片区 第 4 行「建筑面积（平方米）」: 面积“十亩”不是数字" in said.err and "未导入任何内容" in said.err
    assert await asyncio.to_thread(cli.main, ["import", str(good), "--dry-run"]) == 0
    assert "检查通过（试导入，未写入）" in capsys.readouterr().out
    assert await asyncio.to_thread(cli.main, ["import", str(good)]) == 0
    assert "片区（estates）: 2 行，新登记 2，已登记且相同 0" in capsys.readouterr().out
    assert await asyncio.to_thread(cli.main, ["import", str(good)]) == 0
    assert "片区（estates）: 2 行，新登记 0，已登记且相同 2" in capsys.readouterr().out
    for name, content in (("district-broken.xlsx", MALFORMED_WORKBOOK), ("streets-long.csv", LONG_CELL_CSV)):
        (tmp_root / name).write_bytes(content)
        assert await asyncio.to_thread(cli.main, ["import", str(tmp_root / name), "--kind", "streets", "--dry-run"]) == 1
        assert "error: " in capsys.readouterr().err
    assert await asyncio.to_thread(cli.main, ["import", str(good), "--kind", "wristbands"]) == 1
    assert "no import template is called wristbands" in capsys.readouterr().err
