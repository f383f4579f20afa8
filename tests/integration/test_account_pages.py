"""The district administrator's pages for user accounts and the audit log: the same use cases as /api/users and
/api/audit, for the administrator only, with refusals in Chinese beside the field and nothing written on a refusal."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlmodel import col

from people.tables import User
from supervision.demo import DEMO_PASSWORD
from tests.integration.helpers import count
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf


async def _user_id(db, username: str) -> int:  # type: ignore[no-untyped-def]
    async with db() as session:
        return (await session.execute(select(col(User.id)).where(col(User.username) == username))).scalar_one()


async def _api_login(client, username: str, password: str = DEMO_PASSWORD) -> int:  # type: ignore[no-untyped-def]
    return (await client.post("/api/auth/login", json={"username": username, "password": password})).status_code


async def test_only_the_administrator_opens_accounts_and_the_audit_log(client) -> None:
    await page_login(client, "xbl-officer")
    for path in ("/users", "/users/new", "/audit", "/users/1"):
        refused = await client.get(path)
        assert refused.status_code == 403, path
        assert "无权" in refused.text
    await page_login(client, "admin")
    home = await client.get("/")
    assert 'href="/users"' in home.text and 'href="/audit"' in home.text


async def test_accounts_are_found_by_name_role_and_state_with_their_post(client, db) -> None:
    await page_login(client, "admin")
    found = await client.get("/users?q=xbl-officer")
    assert found.status_code == 200
    rows = re.findall(r"<tr><td><a href=\"/users/(\d+)\">", found.text)
    assert rows == [str(await _user_id(db, "xbl-officer"))]
    assert "小白楼街道办" in found.text
    directors = await client.get("/users?role=committee_director")
    listed = len(re.findall(r"<tr><td><a href=\"/users/", directors.text))
    total = await count(db, User, col(User.role) == "committee_director")
    assert listed == min(total, 50) and f"共 {total} 条" in directors.text
    # Odd filters are ignored, not a fault; a search for a LIKE wildcard finds nobody by accident.
    assert (await client.get("/users?role=emperor&active=maybe&page_no=-3")).status_code == 200
    assert "没有符合条件的账号" in (await client.get("/users?q=%25%25")).text


async def test_the_administrator_adds_an_account_that_can_log_in_and_the_log_shows_it(client, db) -> None:
    await page_login(client, "admin")
    token = await csrf(client)
    form = (await client.get("/users/new")).text
    community = re.search(r'<optgroup label="社区">\s*<option value="(community_id:\d+)">([^<]+)</option>', form)
    assert community is not None
    created = await client.post(
        "/users/new",
        data={"username": "xbl01-worker2", "display_name": "赵敏", "password": "a-long-pass-2026", "role": "community_worker", "unit": community.group(1), "_csrf_token": token},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    detail = await client.get(created.headers["location"])
    assert "赵敏" in detail.text and "xbl01-worker2" in detail.text and "社区物业社工" in detail.text
    assert await _api_login(client, "xbl01-worker2", "a-long-pass-2026") == 200
    log = await client.get("/audit?entity=user")
    assert "用户：新建" in log.text


async def test_a_refused_new_account_says_why_in_chinese_and_creates_nothing(client, db) -> None:
    await page_login(client, "admin")
    token = await csrf(client)
    before = await count(db, User)
    cases = [
        ({"username": "new-worker", "display_name": "钱江", "password": "a-long-pass-2026", "role": "community_worker", "unit": ""}, 422, "须选择所属社区"),
        ({"username": "xbl-officer", "display_name": "钱江", "password": "a-long-pass-2026", "role": "finance", "unit": ""}, 409, "已被使用"),
        ({"username": "new-worker", "display_name": "钱江", "password": "short", "role": "finance", "unit": ""}, 422, "密码：至少 8 位"),
        ({"username": "bad name!", "display_name": "钱江", "password": "a-long-pass-2026", "role": "finance", "unit": ""}, 422, "用户名"),
        ({"username": "new-worker", "display_name": "钱江", "password": "a-long-pass-2026", "role": "emperor", "unit": ""}, 422, "请选择岗位"),
        ({"username": "new-worker", "display_name": "钱江", "password": "a-long-pass-2026", "role": "finance", "unit": "street_id:1"}, 422, "区财政为全区岗位，不选所属单位"),
        ({"username": "new-worker", "display_name": "钱江", "password": "a-long-pass-2026", "role": "company", "unit": "9x"}, 422, "请从列表中选择所属单位"),
        ({"username": "new-worker", "display_name": "钱江", "password": "a-long-pass-2026", "role": "community_worker", "unit": "street_id:1"}, 422, "须选择所属社区"),
        ({"username": "new-worker", "display_name": "钱江", "password": "a-long-pass-2026", "role": "company", "unit": "company_id:999999"}, 404, "该记录不存在"),
    ]
    for fields, status, message in cases:
        refused = await client.post("/users/new", data={**fields, "_csrf_token": token})
        assert refused.status_code == status, (fields, refused.text[:300])
        assert message in refused.text, fields
        assert f'value="{fields["username"]}"' in refused.text  # what was typed stays
        assert 'name="password" type="password" required' in refused.text and "a-long-pass-2026" not in refused.text  # never echoed
    assert await count(db, User) == before


async def test_switching_an_account_off_stops_its_logins_and_not_ones_own(client, db) -> None:
    worker = await _user_id(db, "xbl01-worker")
    await page_login(client, "admin")
    token = await csrf(client)
    assert await _api_login(client, "xbl01-worker") == 200
    switched = await client.post(f"/users/{worker}", data={"change": "off", "_csrf_token": token}, follow_redirects=False)
    assert switched.status_code == 303
    assert "已停用（不能登录）" in (await client.get(f"/users/{worker}")).text
    assert await _api_login(client, "xbl01-worker") == 401
    await client.post(f"/users/{worker}", data={"change": "on", "_csrf_token": token})
    assert await _api_login(client, "xbl01-worker") == 200

    admin = await _user_id(db, "admin")
    own = await client.get(f"/users/{admin}")
    assert "不能停用自己的账号" in own.text and 'name="change" value="off"' not in own.text
    refused = await client.post(f"/users/{admin}", data={"change": "off", "_csrf_token": token})
    assert refused.status_code == 422 and "不能停用自己的账号" in refused.text
    assert await count(db, User, col(User.id) == admin, col(User.active).is_(True)) == 1


async def test_a_password_reset_needs_the_same_password_twice(client, db) -> None:
    worker = await _user_id(db, "xbl01-worker")
    await page_login(client, "admin")
    token = await csrf(client)
    refused = await client.post(f"/users/{worker}", data={"change": "password", "password": "new-pass-2026", "password_again": "new-pass-2027", "_csrf_token": token})
    assert refused.status_code == 422 and "两次输入的密码不一致" in refused.text
    assert await _api_login(client, "xbl01-worker") == 200
    done = await client.post(f"/users/{worker}", data={"change": "password", "password": "new-pass-2026", "password_again": "new-pass-2026", "_csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert await _api_login(client, "xbl01-worker") == 401
    assert await _api_login(client, "xbl01-worker", "new-pass-2026") == 200


async def test_the_audit_log_page_filters_by_whom_and_record(client, db) -> None:
    await page_login(client, "admin")
    token = await csrf(client)
    worker = await _user_id(db, "xbl01-worker")
    await client.post(f"/users/{worker}", data={"change": "name", "display_name": "孙丽", "_csrf_token": token})
    mine = await client.get("/audit?who=admin")
    assert mine.status_code == 200 and "用户：修改" in mine.text
    actors = set(re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td>", mine.text))
    assert actors and all("管理员" in a for a in actors), actors
    record = await client.get(f"/audit?entity=user&entity_id={worker}")
    assert "用户：修改" in record.text and f"用户 #{worker}" in record.text
    assert "没有符合条件的记录" in (await client.get("/audit?who=nobody_here")).text
    assert (await client.get("/audit?entity=<script>&entity_id=1&page_no=99999999")).status_code == 200
