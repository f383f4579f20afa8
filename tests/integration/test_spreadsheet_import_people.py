"""A community's volunteers move in from its spreadsheet (issue 22): imported by the staff who register volunteers,
into their own community only, through the volunteers' own use case; each lands waiting for the social worker's
real-name check in person (实名核验), signs up for nothing until then, and gets a first password at that check. The
dry run names bad rows and cells, never a name or a phone; importing twice changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.volunteers import service as volunteers
from community.volunteers.schemas import VolunteerHoursIn
from community.volunteers.tables import Volunteer
from foundation.access import SYSTEM
from foundation.clock import business_today
from foundation.errors import PermissionDenied, RuleViolation
from people.tables import User
from registry.tables import Organisation
from subsidies.care import rules as care_rules
from subsidies.care.tables import CareElder
from supervision.importing.service import ImportReport, import_file
from tests.integration.evidence import principal
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf
from tests.integration.test_spreadsheet_import import MAX_ROWS, credit_code, headers, workbook

GOOD = [
    ["imp-v-001", "郑晓梅", "13900000001", "XBL01", "理发、陪伴探访"],
    ["imp-v-002", "孙立强", "13900000002", "XBL01", ""],
]
CLEAN = {"志愿者": [headers("volunteers"), *GOOD]}
PERSONAL = ["郑晓梅", "孙立强", "13900000001", "13900000002", "王一", "12345", "刘二", "赵三", "钱四", "周五"]


async def run(db, actor, content: bytes, *, apply: bool) -> ImportReport:  # type: ignore[no-untyped-def]
    async with db() as session:
        report = await import_file(session, actor, content, "volunteers.xlsx", apply=apply, max_rows=MAX_ROWS)
        await session.commit()
    return report


async def volunteers_count(db) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with db() as session:
        return (
            (await session.execute(select(func.count()).select_from(Volunteer))).scalar_one(),
            (await session.execute(select(func.count()).select_from(User))).scalar_one(),
        )


async def test_a_dry_run_names_bad_volunteer_cells_without_their_personal_data(db) -> None:
    worker = await principal(db, "xbl01-worker")
    before = await volunteers_count(db)
    rows = [
        GOOD[0],
        ["imp-v-001", "王一", "13900000003", "XBL01", ""],  # the same username twice
        ["imp-v-004", "刘二", "12345", "XBL01", ""],  # not a mobile number
        ["imp-v-005", "赵三", "13900000005", "XBL02", ""],  # another community's
        ["admin", "钱四", "13900000006", "XBL01", ""],  # a username in use
        ["imp-v-007", "周五", "13900000007", "XBL01", "驾驶"],  # not a listed skill
        ["imp-v-008", "", "13900000008", "XBL01", ""],
    ]
    report = await run(db, worker, workbook({"志愿者": [headers("volunteers"), *rows], "街道": [headers("streets"), ["IMV", "导入街道"]]}), apply=False)
    found = {(e.sheet, e.row, e.column): e.reason for e in report.errors}
    expected = {
        ("志愿者", 3, "用户名"): "与第 2 行重复",
        ("志愿者", 4, "手机号码"): "不是有效的电话号码",
        ("志愿者", 5, "所属社区编码"): "只能导入本社区的志愿者",
        ("志愿者", 6, "用户名"): "已被使用",
        ("志愿者", 7, "技能"): "请从列表中选择技能",
        ("志愿者", 8, "真实姓名"): "必填",
        ("街道", 1, "—"): "您的岗位不能导入“街道”",  # the district's registry is its administrator's
    }
    assert set(found) == set(expected), sorted(set(found) ^ set(expected))
    for cell, says in expected.items():
        assert says in found[cell], (cell, found[cell])
    said = " ".join(found.values())
    assert not [p for p in PERSONAL if p in said]
    assert await volunteers_count(db) == before


async def test_imported_volunteers_wait_for_the_real_name_check_and_a_second_import_changes_nothing(db, client) -> None:
    worker = await principal(db, "xbl01-worker")
    before = await volunteers_count(db)
    first = await run(db, worker, workbook(CLEAN), apply=True)
    assert first.applied, first.errors
    assert [(c.created, c.unchanged) for c in first.counts] == [(2, 0)]
    assert await volunteers_count(db) == (before[0] + 2, before[1] + 2)
    again = await run(db, worker, workbook(CLEAN), apply=True)
    assert again.applied and [(c.created, c.unchanged) for c in again.counts] == [(0, 2)]
    assert await volunteers_count(db) == (before[0] + 2, before[1] + 2)
    # Changed facts are reported by cell, without the name that differs.
    changed = await run(db, worker, workbook({"志愿者": [headers("volunteers"), ["imp-v-001", "郑小梅", "13900000001", "XBL01", "理发、陪伴探访"], GOOD[1]]}), apply=False)
    assert [(e.row, e.column) for e in changed.errors] == [(2, "真实姓名")] and "郑小梅" not in changed.errors[0].reason

    async with db() as session:
        imported = next(v for v in await volunteers.readable_volunteers(session, worker) if v.real_name == "郑晓梅")
    assert imported.checked_at is None
    # Nobody signs in to an imported volunteer's account, and until checked the volunteer signs up for nothing.
    assert (await client.post("/api/auth/login", json={"username": "imp-v-001", "password": "first-pass-2026"})).status_code == 401
    async with db() as session:
        with pytest.raises(RuleViolation, match="real name has not been checked"):
            hours = VolunteerHoursIn(client_id="imported-volunteer-hours-1", served_on=business_today() - timedelta(days=1), minutes=60, activity="探访", team_id=1)
            await volunteers.log_hours(session, await principal(db, "imp-v-001"), hours)
    # The social worker checks them at the volunteer desk and hands over the first password.
    await page_login(client, "xbl01-worker")
    desk = await client.get("/volunteers")
    assert desk.status_code == 200 and "当面实名核验" in desk.text and f'<option value="{imported.id}">郑晓梅</option>' in desk.text
    token = await csrf(client)
    short = await client.post("/volunteers/check", data={"volunteer_id": str(imported.id), "password": "short"}, headers={"x-csrftoken": token})
    assert short.status_code == 422 and "首个密码至少 8 位" in short.text
    checked = await client.post("/volunteers/check", data={"volunteer_id": str(imported.id), "password": "first-pass-2026"}, headers={"x-csrftoken": token})
    assert checked.status_code == 200 and f'<option value="{imported.id}">郑晓梅</option>' not in checked.text.split("登记志愿者")[0]
    await client.post("/logout", headers={"x-csrftoken": token})
    logged_in = await client.post("/api/auth/login", json={"username": "imp-v-001", "password": "first-pass-2026"})
    assert logged_in.status_code == 200
    mine = (await client.get("/api/volunteers", headers={"Authorization": f"Bearer {logged_in.json()['token']}"})).json()
    assert [(v["real_name"], v["checked"]) for v in mine] == [("郑晓梅", True)]


async def test_only_a_communitys_own_staff_import_its_volunteers(db) -> None:
    report = await run(db, SYSTEM, workbook(CLEAN), apply=False)  # the district administrator
    assert [(e.row, e.reason) for e in report.errors] == [(1, "您的岗位不能导入“志愿者”：由本社区的社工或居委会主任导入")]
    with pytest.raises(PermissionDenied):
        await run(db, await principal(db, "xbl-officer"), workbook(CLEAN), apply=False)
    other = await run(db, await principal(db, "xbl02-worker"), workbook(CLEAN), apply=True)
    assert not other.applied and {e.column for e in other.errors} == {"所属社区编码"}


# Elders enrolled in home care (居家养老) move in the same way: by the community's elderly-care social worker, each row
# through the care programme's own enrolment (ID number checked and sealed, eligibility, the provider's contract).


def id_number(birth: str, order: int) -> str:
    first17 = f"120103{birth.replace('-', '')}{order:03d}"
    return first17 + care_rules.id_check_char(first17)


async def provider_code(db) -> str:  # type: ignore[no-untyped-def]
    async with db() as session:
        organisation_id = (await session.execute(select(User.organisation_id).where(User.username == "xbl-care"))).scalar_one()
        return (await session.execute(select(Organisation.credit_code).where(Organisation.id == organisation_id))).scalar_one()


def elder(organisation: str, order: int, **changes: object) -> list[object]:
    cells = {
        "id_number": id_number("1944-05-06", order), "name": f"导入老人{order}", "sex": "女", "birth_date": "1944-05-06", "address": f"树德里{order}号楼101",
        "phone": f"1391234{order:04d}", "category": "低保", "community": "XBL01", "provider": organisation, "starts_on": business_today().isoformat(), "consent_by": "本人",
        "consent_on": business_today().isoformat(),
    } | changes
    return list(cells.values())


async def elders_count(db) -> int:  # type: ignore[no-untyped-def]
    async with db() as session:
        return int((await session.execute(select(func.count()).select_from(CareElder))).scalar_one())


async def test_a_dry_run_names_bad_elder_cells_and_never_their_personal_data(db) -> None:
    care_worker, provider = await principal(db, "xbl01-care"), await provider_code(db)
    before = await elders_count(db)
    rows = [
        elder(provider, 1),
        elder(provider, 2, id_number=id_number("1944-05-06", 1)),  # the same person twice
        elder(provider, 3, id_number=id_number("1944-05-06", 3)[:17] + ("0" if id_number("1944-05-06", 3)[17] != "0" else "1")),
        elder(provider, 4, birth_date="1944-05-07"),
        elder(provider, 5, category="富裕"),
        elder(provider, 6, community="XBL02"),
        elder(provider, 7, provider=credit_code("MA0KE0007")),
        elder(provider, 8, starts_on=(business_today() + timedelta(days=90)).isoformat()),
    ]
    report = await run(db, care_worker, workbook({"居家养老老人": [headers("elders"), *rows]}), apply=False)
    found = {(e.row, e.column): e.reason for e in report.errors}
    expected = {
        (3, "身份证号码"): "与第 2 行重复",
        (4, "身份证号码"): "身份证号码有误",
        (5, "出生日期"): "与身份证号码不一致",
        (6, "类别"): "不是可选的类别",
        (7, "所属社区编码"): "只能导入本社区的老人",
        (8, "服务机构信用代码"): "不是已登记的机构",
        (9, "服务开始日期"): "本月至今后 60 天内",
    }
    assert set(found) == set(expected), sorted(set(found) ^ set(expected))
    for cell, says in expected.items():
        assert says in found[cell], (cell, found[cell])
    said = " ".join(found.values())
    assert not [cell for r in rows for cell in (r[0], r[1], r[4], r[5]) if str(cell) in said]  # no ID number, name, address or phone
    assert await elders_count(db) == before


async def test_imported_elders_are_enrolled_with_their_id_number_sealed_and_a_second_import_changes_nothing(db) -> None:
    care_worker, provider = await principal(db, "xbl01-care"), await provider_code(db)
    before = await elders_count(db)
    clean = workbook({"居家养老老人": [headers("elders"), elder(provider, 11), elder(provider, 12, category="dibao")]})
    first = await run(db, care_worker, clean, apply=True)
    assert first.applied, first.errors
    again = await run(db, care_worker, clean, apply=True)
    assert again.applied and [(c.created, c.unchanged) for c in again.counts] == [(0, 2)]
    assert await elders_count(db) == before + 2
    async with db() as session:
        stored = (await session.execute(select(CareElder).where(CareElder.name == "导入老人11"))).scalar_one()
    assert stored.id_number_tail == id_number("1944-05-06", 11)[-4:] and id_number("1944-05-06", 11) not in stored.id_number_sealed
    changed = await run(db, care_worker, workbook({"居家养老老人": [headers("elders"), elder(provider, 11, address="别处")]}), apply=True)
    assert [(e.row, e.column) for e in changed.errors] == [(2, "住址")] and "别处" not in changed.errors[0].reason


async def test_only_the_communitys_elderly_care_social_worker_imports_its_elders(db) -> None:
    sheet = workbook({"居家养老老人": [headers("elders"), elder(await provider_code(db), 21)]})
    for username in ("admin", "xbl01-worker"):
        report = await run(db, await principal(db, username), sheet, apply=True)
        assert [e.reason for e in report.errors] == ["您的岗位不能导入“居家养老老人”：由本社区的老龄社工导入"] and not report.applied
    with pytest.raises(PermissionDenied):
        await run(db, await principal(db, "xbl-care"), sheet, apply=False)  # a provider
