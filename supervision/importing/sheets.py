"""The import spreadsheets (导入模板): what each kind's columns are called, how a cell is read, and the files
themselves (XLSX through openpyxl, or CSV in UTF-8). No database here: the service decides what a row means."""

from __future__ import annotations

import csv
import io
import lzma
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from foundation.access import ROLE_NAMES, Role
from foundation.errors import DomainError, InvalidInput
from foundation.money import hundredths, too_many_decimals
from foundation.periods import check_day

INSTRUCTIONS_SHEET = "填写说明"


class CellProblem(Exception):
    """Why a cell cannot be read, in Chinese, as the import report shows it."""


class UnreadableFile(InvalidInput):
    """The upload is not a spreadsheet this importer reads."""


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def text(value: object) -> str:
    return _text(value)


def whole_number(value: object) -> int:
    raw = _text(value)
    if isinstance(value, bool) or not (raw.isascii() and raw.isdecimal()):
        raise CellProblem(f"“{raw}”不是整数（填 0 或正整数，不带单位）")
    return int(raw)


def area_centi_m2(value: object) -> int:
    """A floor area in m² with at most two decimals, held in 0.01 m²."""
    raw = _text(value).replace(",", "")
    if too_many_decimals(raw):
        raise CellProblem(f"面积“{raw}”最多两位小数")
    number = hundredths(raw)
    if number is None and raw.startswith("-") and hundredths(raw[1:]) is not None:
        raise CellProblem(f"面积“{raw}”应大于 0")
    if number is None:
        raise CellProblem(f"面积“{raw[:40]}”不是数字（以平方米计，如 12345.67，不带单位）")
    if number <= 0:
        raise CellProblem(f"面积“{raw}”应大于 0")
    return number


def day(value: object) -> date:
    if isinstance(value, datetime):
        found = value.date()
    elif isinstance(value, date):
        found = value
    else:
        raw = _text(value)
        try:
            found = date.fromisoformat(raw)
        except ValueError:
            raise CellProblem(f"日期“{raw}”应写作 2026-01-31") from None
    try:
        check_day(found, "date")
    except DomainError:
        raise CellProblem(f"日期 {found} 超出系统支持的年份（2000 至 2100 年）") from None
    return found


def code_list(value: object) -> list[str]:
    """Codes separated by 、 , ， ; or ；."""
    raw = _text(value)
    for separator in ("，", ",", "；", ";"):
        raw = raw.replace(separator, "、")
    return [part.strip() for part in raw.split("、") if part.strip()]


def choice(names: dict[str, str]) -> Callable[[object], str]:
    """A cell holding one of `names`' Chinese names (or the value itself)."""

    def read(value: object) -> str:
        raw = _text(value)
        for value_of, name in names.items():
            if raw in (name, value_of):
                return value_of
        raise CellProblem(f"“{raw}”不是可选值，应为：{'、'.join(names.values())}")

    return read


MANAGEMENT_MODES = {"company": "物业企业", "owner_unit": "产权单位", "self_managed": "居民自治"}
STANDINGS = {"registered": "登记", "filed": "备案"}
SEXES = {"F": "女", "M": "男"}
CONSENT_BY = {"elder": "本人", "guardian": "监护人"}
# Roles an import may give: every role whose account the district's administrator opens. Volunteers are registered
# by their community's staff, who met them (community/volunteers).
IMPORTED_ROLES = {role.value: ROLE_NAMES[role] for role in Role if role is not Role.VOLUNTEER}


@dataclass(frozen=True)
class Column:
    header: str  # as in the template, the report names the cell by it
    field: str  # the name the service's input gives it
    read: Callable[[object], object] = text
    required: bool = True
    note: str = ""
    example: str = ""


@dataclass(frozen=True)
class Kind:
    key: str  # for --kind
    name: str  # the sheet's title in the template
    columns: tuple[Column, ...]
    natural_key: str  # the field that names a record: re-importing a row with it changes nothing
    community: bool = False  # imported by a community's own staff, into their community (personal data), not by the district

    def column(self, field_name: str) -> Column | None:
        return next((c for c in self.columns if c.field == field_name), None)

    @property
    def key_header(self) -> str:
        found = self.column(self.natural_key)
        return found.header if found else ""


# In the order they are imported: a row may name what an earlier kind registers.
KINDS: tuple[Kind, ...] = (
    Kind("streets", "街道", (
        Column("街道编码", "code", note="字母、数字、- 或 _，最长 20 位", example="XBL"),
        Column("街道名称", "name", example="小白楼"),
    ), "code"),
    Kind("communities", "社区", (
        Column("社区编码", "code", note="字母、数字、- 或 _，最长 20 位", example="XBL01"),
        Column("社区名称", "name", example="树德里"),
        Column("所属街道编码", "street_code", note="已登记或本文件“街道”表中的街道编码", example="XBL"),
        Column("户数", "households", whole_number, required=False, example="1980"),
    ), "code"),
    Kind("companies", "物业企业", (
        Column("企业名称", "name", example="天津市安居物业服务有限公司"),
        Column("统一社会信用代码", "credit_code", note="18 位，按 GB 32100-2015 校验", example="91120101MA05K8XQ0A"),
        Column("法定代表人", "legal_representative", required=False, example="王建国"),
        Column("联系电话", "phone", required=False, example="022-23300001"),
        Column("地址", "address", required=False, example="天津市和平区南京路 1 号"),
        Column("开户银行", "bank_name", required=False, note="补贴拨付的收款账户，与银行账号同时填写", example="中国工商银行天津和平支行"),
        Column("银行账号", "bank_account", required=False, note="数字，可按存折分组留空格", example="0302001109300012345"),
    ), "credit_code"),
    Kind("social_organisations", "社会组织", (
        Column("机构名称", "name", example="和平区邻里互助服务中心"),
        Column("统一社会信用代码", "credit_code", note="18 位，按 GB 32100-2015 校验", example="52120101MJ0000001A"),
        Column("登记或备案", "standing", choice(STANDINGS), note="登记：在民政部门登记；备案：在街道备案的社区社会组织", example="登记"),
        Column("法定代表人", "legal_representative", required=False, example="李秀英"),
        Column("联系电话", "phone", required=False, example="022-27000000"),
        Column("地址", "address", required=False, example="天津市和平区成都道 10 号"),
        Column("服务街道编码", "street_codes", code_list, required=False, note="多个以顿号分隔", example="XBL、WDD"),
    ), "credit_code"),
    Kind("estates", "片区", (
        Column("片区编码", "code", note="字母、数字、- 或 _，最长 30 位", example="HP-XBL01-1"),
        Column("片区名称", "name", example="树德里一片旧楼区"),
        Column("地址", "address", example="天津市和平区树德里 1 号至 120 号"),
        Column("所属社区编码", "community_code", example="XBL01"),
        Column("建筑面积（平方米）", "floor_area_centi_m2", area_centi_m2, note="数字，最多两位小数", example="12345.67"),
        Column("户数", "households", whole_number, required=False, example="181"),
        Column("楼栋数", "buildings", whole_number, required=False, example="3"),
        Column("管理方式", "management_mode", choice(MANAGEMENT_MODES), example="物业企业"),
        Column("进入长效管理日期", "entered_on", day, example="2018-03-01"),
        Column("退出长效管理日期", "left_on", day, required=False, example=""),
        Column("边界（GeoJSON）", "boundary", required=False, note="可不填；WGS 84 经纬度的 Polygon 或 MultiPolygon", example=""),
    ), "code"),
    Kind("contracts", "服务合同", (
        Column("合同编号", "contract_number", note="合同上的编号，最长 40 位", example="HP-XBL01-2024-01"),
        Column("所属社区编码", "community_code", note="签订合同的居委会所在社区", example="XBL01"),
        Column("片区编码", "estate_codes", code_list, note="合同所含片区，多个以顿号分隔；须为该社区由物业企业管理的片区", example="HP-XBL01-1"),
        Column("物业企业信用代码", "company_credit_code", note="居民表决选定、签订合同的物业企业", example="91120101MA05K8XQ0A"),
        Column("签订日期", "signed_on", day, note="不早于表决日期", example="2024-01-10"),
        Column("开始日期", "starts_on", day, note="同一片区的合同期限不能重叠", example="2024-02-01"),
        Column("结束日期", "ends_on", day, note="不早于开始日期", example="2027-01-31"),
        Column("表决档案编号", "vote_reference", note="纸质表决计票结果的档案编号，最长 40 位", example="XBL01-BJ-2023-07"),
        Column("表决日期", "voted_on", day, note="计票之日", example="2023-12-20"),
        Column("参与表决户数", "households_voting", whole_number, note="不少于合同片区登记户数之和的三分之二", example="150"),
        Column("同意户数", "households_for_company", whole_number, note="选该物业企业的户数，须超过参与表决户数的一半", example="120"),
    ), "contract_number"),
    Kind("users", "用户", (
        Column("用户名", "username", note="字母、数字、. - _，2 至 60 位；登录时使用", example="xbl01-worker"),
        Column("姓名或称呼", "display_name", example="树德里社区物业社工"),
        Column("岗位", "role", choice(IMPORTED_ROLES), note="、".join(IMPORTED_ROLES.values()), example="社区物业社工"),
        Column("所属街道编码", "street_code", required=False, note="街道岗位填写", example=""),
        Column("所属社区编码", "community_code", required=False, note="社区岗位填写", example="XBL01"),
        Column("所属企业信用代码", "company_credit_code", required=False, note="物业企业岗位填写", example=""),
        Column("所属机构信用代码", "organisation_credit_code", required=False, note="第三方机构、社会组织、评审专家填写", example=""),
    ), "username"),
    Kind("volunteers", "志愿者", (
        Column("用户名", "username", note="志愿者登录时使用：字母、数字、. - _，2 至 60 位", example="xbl01-v001"),
        Column("真实姓名", "real_name", note="个人信息；导入后须由本社区社工当面实名核验，核验后方可报名", example="张三"),
        Column("手机号码", "phone", note="11 位手机号码", example="13800000000"),
        Column("所属社区编码", "community_code", note="只能是导入人所在的社区", example="XBL01"),
        Column("技能", "skills", code_list, required=False, note="从系统的技能列表中选择，多个以顿号分隔", example=""),
    ), "username", community=True),
    Kind("elders", "居家养老老人", (
        Column("身份证号码", "id_number", note="18 位；个人信息，加密保存，导入报告不显示", example="120101194603080012"),
        Column("姓名", "name", example="李桂兰"),
        Column("性别", "sex", choice(SEXES), example="女"),
        Column("出生日期", "birth_date", note="与身份证号码一致，如 1946-03-08", example="1946-03-08"),
        Column("住址", "address", note="本社区内的楼栋、单元、门牌", example="3-2-101"),
        Column("联系电话", "phone", note="老人或家属的电话", example="13800000000"),
        Column("类别", "category", note="低保、特困、失能、高龄（80岁以上）等，见系统的类别列表", example="低保"),
        Column("所属社区编码", "community_code", note="只能是导入人所在的社区", example="XBL01"),
        Column("服务机构信用代码", "organisation_credit_code", note="与本街道签有居家养老服务合同的社会组织", example="52120101MJ0000001A"),
        Column("服务开始日期", "starts_on", day, note="本月至今后 60 天内", example="2026-12-01"),
        Column("同意人", "consent_by", choice(CONSENT_BY), example="本人"),
        Column("同意日期", "consent_on", day, note="不晚于今天和服务开始日期", example="2026-11-20"),
    ), "id_number", community=True),
)
KIND_BY_KEY = {k.key: k for k in KINDS}


@dataclass
class Sheet:
    """One sheet (or a CSV file) of rows to import: each row by its number in the file, cells by header."""

    title: str
    kind: Kind | None
    headers: list[str]
    rows: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    too_many_rows: bool = False


def _kind_of(title: str, headers: list[str], forced: Kind | None) -> Kind | None:
    if forced is not None:
        return forced
    by_title = next((k for k in KINDS if title in (k.name, k.key)), None)
    if by_title is not None:
        return by_title
    given = {h for h in headers if h}
    return next((k for k in KINDS if {c.header for c in k.columns if c.required} <= given <= {c.header for c in k.columns}), None)


def _sheet(title: str, lines: Iterator[tuple[object, ...]], forced: Kind | None, max_rows: int) -> Sheet:
    headers = [_text(h) for h in next(lines, ())]
    while headers and not headers[-1]:
        headers.pop()
    sheet = Sheet(title, _kind_of(title, headers, forced), headers)
    for number, values in enumerate(lines, start=2):
        if all(_text(v) == "" for v in values):
            continue
        if len(sheet.rows) == max_rows:
            sheet.too_many_rows = True
            break
        sheet.rows.append((number, {h: values[i] if i < len(values) else None for i, h in enumerate(headers) if h}))
    return sheet


def _not_a_workbook() -> UnreadableFile:
    return UnreadableFile("the file is not an XLSX workbook or a CSV file (or a part of it is malformed)", zh="文件不是有效的 XLSX 工作簿或 CSV 文件，请使用下载的模板", field="file")


def _cell_too_long() -> UnreadableFile:
    return UnreadableFile(
        f"a cell holds more than {csv.field_size_limit()} characters; no column of a template takes that much",
        zh="单元格内容过长，请检查文件是否为导入模板（未导入任何内容）",
        field="file",
    )


# How a damaged workbook fails to unpack: a part missing, cut short or malformed, its compressed data broken (zlib's
# and lzma's own errors), or a part encrypted (zipfile's RuntimeError: a password is needed).
UNPACKING_FAILURES = (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, SyntaxError, EOFError, zlib.error, lzma.LZMAError, RuntimeError)


def read_file(content: bytes, filename: str, kind: Kind | None, max_rows: int) -> list[Sheet]:
    """The sheets of an XLSX workbook (its instructions sheet left out) or of a CSV file (UTF-8, with or without a
    byte-order mark). `kind` names the kind of a CSV file or of a one-sheet workbook when titles do not. A file that
    cannot be read, wherever in it the fault lies (rows are read lazily), is UnreadableFile, never a fault."""
    if filename.lower().endswith(".csv"):
        try:
            decoded = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UnreadableFile("the CSV file is not UTF-8", zh="CSV 文件须为 UTF-8 编码（在 Excel 中另存为“CSV UTF-8”）", field="file") from None
        try:
            return [_sheet(filename, iter([tuple(r) for r in csv.reader(io.StringIO(decoded))]), kind, max_rows)]
        except csv.Error as error:  # a field past the reader's limit (131,072 characters), a NUL, a stray quote
            raise (_cell_too_long() if "field larger than field limit" in str(error) else _not_a_workbook()) from None
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, *UNPACKING_FAILURES):
        # SyntaxError: a part's XML is malformed (xml.etree's ParseError, lxml's XMLSyntaxError, are kinds of it).
        raise _not_a_workbook() from None
    try:
        titles = [t for t in workbook.sheetnames if t != INSTRUCTIONS_SHEET]
        return [_sheet(t, workbook[t].iter_rows(values_only=True), kind if len(titles) == 1 else None, max_rows) for t in titles]
    except UNPACKING_FAILURES:
        raise _not_a_workbook() from None  # a sheet's part is read only now, row by row: missing, cut short or malformed
    finally:
        workbook.close()


def template(kind: Kind) -> bytes:
    """The kind's XLSX template: a sheet titled with its Chinese name whose first row holds the headers (cells kept
    as text, so codes keep their leading zeros), and the instructions sheet saying what each column takes, with an
    example."""
    workbook = Workbook()
    sheet = workbook.active
    if sheet is None:  # a new workbook always has its first sheet
        sheet = workbook.create_sheet()
    sheet.title = kind.name
    sheet.append([c.header for c in kind.columns])
    for index, column in enumerate(kind.columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, len(column.header) * 2 + 4)
        sheet.column_dimensions[letter].number_format = "@"
    notes = workbook.create_sheet(INSTRUCTIONS_SHEET)
    notes.append(["列", "必填", "说明", "示例"])
    for column in kind.columns:
        notes.append([column.header, "是" if column.required else "否", column.note, column.example])
    notes.append([])
    notes.append([f"每行一条记录，从第二行起填写。以“{kind.key_header}”识别记录：再次导入同一文件不会重复登记。"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
