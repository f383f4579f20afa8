"""Logging in and out, tokens, API keys: who the API thinks is calling."""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from foundation.audit import AuditEntry
from foundation.settings import get_settings
from people.credentials import hashing_pool
from people.tables import AuthToken, LoginAttempt
from supervision.demo import DEMO_PASSWORD
from tests.integration.helpers import assert_problem, audit_count, count


async def test_login_gives_a_token_that_identifies_the_user_and_scope(client, as_user) -> None:
    me = (await client.get("/api/auth/me", headers=await as_user("xbl01-worker"))).json()
    assert me["username"] == "xbl01-worker" and me["role"] == "community_worker" and me["scope"] == "community"
    assert me["community_id"] is not None and me["street_id"] is not None


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, db) -> None:
    before = await count(db, AuthToken)
    wrong_password = await client.post("/api/auth/login", json={"username": "admin", "password": "nope-nope"})
    unknown_user = await client.post("/api/auth/login", json={"username": "nobody", "password": "nope-nope"})
    assert assert_problem(wrong_password, 401)["detail"] == assert_problem(unknown_user, 401)["detail"]
    assert await count(db, AuthToken) == before


async def test_every_api_route_refuses_anonymous_callers(client) -> None:
    for path in ["/api/registry/summary", "/api/registry/estates", "/api/registry/votes", "/api/users", "/api/audit"]:
        assert_problem(await client.get(path), 401, "log in")


async def test_a_forged_token_is_refused(client) -> None:
    assert_problem(await client.get("/api/registry/summary", headers={"Authorization": "Bearer forged"}), 401, "invalid")


async def test_logout_revokes_the_token(client, as_user) -> None:
    headers = await as_user("finance")
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204
    assert_problem(await client.get("/api/registry/summary", headers=headers), 401)


async def test_a_deactivated_user_is_locked_out_at_once(client, as_user) -> None:
    headers = await as_user("company03")
    user_id = (await client.get("/api/auth/me", headers=headers)).json()["user_id"]
    response = await client.patch(f"/api/users/{user_id}", json={"active": False}, headers=await as_user("admin"))
    assert response.status_code == 200 and response.json()["active"] is False
    assert_problem(await client.get("/api/registry/summary", headers=headers), 401)
    assert_problem(await client.post("/api/auth/login", json={"username": "company03", "password": "demo-pass-2026"}), 401, "deactivated")


async def test_an_api_key_acts_as_its_organisation_until_revoked(client, as_user) -> None:
    admin = await as_user("admin")
    firms = (await client.get("/api/registry/organisations?kind=inspection_firm", headers=admin)).json()["items"]
    issued = await client.post("/api/api-keys", json={"organisation_id": firms[0]["id"], "label": "test"}, headers=admin)
    assert issued.status_code == 201
    key = issued.json()["key"]
    listed = (await client.get("/api/api-keys", headers=admin)).json()["items"]
    assert all("key" not in row for row in listed), "a key is shown only once"
    me = (await client.get("/api/auth/me", headers={"X-API-Key": key})).json()
    assert me["role"] == "inspector" and me["organisation_id"] == firms[0]["id"]
    # An inspection firm sees no estate registry of its own (assignments come with the inspections issue).
    assert (await client.get("/api/registry/estates", headers={"X-API-Key": key})).json()["total"] == 0
    revoked = await client.post(f"/api/api-keys/{issued.json()['api_key']['id']}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_problem(await client.get("/api/auth/me", headers={"X-API-Key": key}), 401)
    assert_problem(await client.post(f"/api/api-keys/{issued.json()['api_key']['id']}/revoke", headers=admin), 409, "already revoked")


async def test_only_the_district_administrator_manages_users_and_keys(client, as_user) -> None:
    for username in ["finance", "xbl-officer", "xbl01-director", "company01", "inspector1"]:
        headers = await as_user(username)
        assert_problem(await client.get("/api/users", headers=headers), 403, "admin")
        assert_problem(
            await client.post(
                "/api/users",
                json={"username": "sneaky", "display_name": "x", "password": "12345678", "role": "admin"},
                headers=headers,
            ),
            403,
        )
        assert_problem(await client.post("/api/api-keys", json={"organisation_id": 1, "label": "x"}, headers=headers), 403)


async def test_a_user_is_created_with_exactly_the_scope_its_role_needs(client, as_user, db) -> None:
    admin = await as_user("admin")
    base = {"display_name": "新社工", "password": "long-enough-1", "role": "community_worker"}
    assert_problem(await client.post("/api/users", json={**base, "username": "w-none"}, headers=admin), 422, "community_id")
    assert_problem(
        await client.post("/api/users", json={**base, "username": "w-two", "community_id": 1, "company_id": 1}, headers=admin),
        422,
        "company_id",
    )
    assert_problem(await client.post("/api/users", json={**base, "username": "w-ghost", "community_id": 999999}, headers=admin), 404)
    created = await client.post("/api/users", json={**base, "username": "w-new", "community_id": 1}, headers=admin)
    assert created.status_code == 201
    assert created.json()["street_id"] is not None, "a community user's street is filled in from the community"
    assert "password" not in created.text and "hash" not in created.text
    assert_problem(await client.post("/api/users", json={**base, "username": "w-new", "community_id": 1}, headers=admin), 409, "taken")
    # The audit log names the system's own actors "system", "scheduler", "resident", "anonymous": no person is.
    for reserved in ("system", "Scheduler", "resident"):
        refused = assert_problem(await client.post("/api/users", json={**base, "username": reserved, "community_id": 1}, headers=admin), 409, "system's own actors")
        assert "系统保留" in refused["detail_zh"]


def from_address(app, address: str) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    """A client calling from another address (the throttle counts per address too)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True, client=(address, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local", headers={"user-agent": "testclient"})


async def wrong_logins(client: httpx.AsyncClient, username: str, times: int) -> list[int]:
    return [(await client.post("/api/auth/login", json={"username": username, "password": "guess-guess"})).status_code for _ in range(times)]


async def test_the_sixth_failed_login_of_an_account_waits_with_retry_after_and_is_audited(app, client, db) -> None:
    throttled = await audit_count(db, "login.throttled")
    assert await wrong_logins(client, "xbl02-worker", 5) == [401] * 5
    sixth = await client.post("/api/auth/login", json={"username": "xbl02-worker", "password": "guess-guess"})
    assert_problem(sixth, 429, "too many failed logins for this account", "seconds")
    assert 1 <= int(sixth.headers["retry-after"]) <= 15 * 60
    # While it waits, even the right password is not checked (an attacker learns nothing), from any address.
    async with from_address(app, "10.0.0.7") as elsewhere:
        assert (await elsewhere.post("/api/auth/login", json={"username": "xbl02-worker", "password": DEMO_PASSWORD})).status_code == 429
        # Another account from another address is not held up.
        assert (await elsewhere.post("/api/auth/login", json={"username": "xbl03-worker", "password": DEMO_PASSWORD})).status_code == 200
    assert await audit_count(db, "login.throttled") == throttled + 2
    async with db() as session:
        entry = (await session.execute(select(AuditEntry).where(AuditEntry.action == "login.throttled").order_by(AuditEntry.id))).scalars().all()[-2]
    assert entry.entity_id == "xbl02-worker" and entry.actor_user_id is None and entry.actor == "anonymous (127.0.0.1)"
    assert entry.after["limit"] == "account" and entry.after["failures"] == 5 and entry.after["retry_after_seconds"] == int(sixth.headers["retry-after"])
    assert await count(db, LoginAttempt, LoginAttempt.username == "xbl02-worker") == 5  # refused attempts are not kept


async def test_the_wait_ends_when_the_failures_leave_the_window(client, db) -> None:
    async with db() as session:
        long_ago = datetime.now(UTC) - timedelta(minutes=16)
        session.add_all([LoginAttempt(username="xbl04-worker", address="127.0.0.1", at=long_ago) for _ in range(5)])
        await session.commit()
    assert (await client.post("/api/auth/login", json={"username": "xbl04-worker", "password": DEMO_PASSWORD})).status_code == 200
    async with db() as session:
        session.add_all([LoginAttempt(username="xbl04-worker", address="127.0.0.1", at=datetime.now(UTC) - timedelta(minutes=14)) for _ in range(5)])
        await session.commit()
    refused = await client.post("/api/auth/login", json={"username": "xbl04-worker", "password": DEMO_PASSWORD})
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60  # the oldest leaves the window in a minute


async def test_a_right_password_after_a_few_failures_logs_in_and_forgives_them(client) -> None:
    assert await wrong_logins(client, "xbl05-worker", 4) == [401] * 4
    assert (await client.post("/api/auth/login", json={"username": "xbl05-worker", "password": DEMO_PASSWORD})).status_code == 200
    assert await wrong_logins(client, "xbl05-worker", 5) == [401] * 5  # counted afresh
    assert await wrong_logins(client, "xbl05-worker", 1) == [429]


async def test_one_address_trying_many_accounts_waits_and_other_addresses_do_not(app, client) -> None:
    assert [s for i in range(20) for s in await wrong_logins(client, f"nobody-{i}", 1)] == [401] * 20
    assert_problem(await client.post("/api/auth/login", json={"username": "nobody-else", "password": "guess-guess"}), 429, "address")
    assert_problem(await client.post("/api/auth/login", json={"username": "xbl01-worker", "password": DEMO_PASSWORD}), 429, "address")
    async with from_address(app, "10.0.0.8") as elsewhere:
        assert (await elsewhere.post("/api/auth/login", json={"username": "xbl01-worker", "password": DEMO_PASSWORD})).status_code == 200


async def test_the_login_form_says_in_chinese_how_long_to_wait(client) -> None:
    form = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
    answers = [await client.post("/login", data={"username": "xbl06-worker", "password": "guess-guess", "_csrf_token": token}) for _ in range(6)]
    assert [a.status_code for a in answers] == [401] * 5 + [429]
    assert "登录失败次数过多，请" in answers[-1].text and "分钟后再试" in answers[-1].text
    assert 'value="xbl06-worker"' in answers[-1].text and int(answers[-1].headers["retry-after"]) >= 1


async def test_passwords_are_checked_in_their_own_threads_while_the_app_answers_others(client) -> None:
    """The password check waits for a thread of the bounded hashing pool: with every one of them busy, a login is
    parked there, and meanwhile the event loop answers other requests (the login form: one that needs no database, as
    the test's requests share one connection); the login finishes when a thread frees."""
    pool = hashing_pool()
    release = threading.Event()
    busy = [pool.submit(release.wait) for _ in range(get_settings().password_hash_threads)]
    try:
        login = asyncio.create_task(client.post("/api/auth/login", json={"username": "xbl07-worker", "password": "guess-guess"}))
        for _ in range(3000):  # until the login's check is queued behind the busy threads (not a timing assertion)
            if pool._work_queue.qsize() == 1:
                break
            await asyncio.sleep(0.01)
        assert pool._work_queue.qsize() == 1 and not login.done()
        assert (await client.get("/login")).status_code == 200
        assert not login.done()  # still waiting for a hashing thread: the loop was never blocked by it
        assert sum(t.name.startswith("password-hash") for t in threading.enumerate()) == get_settings().password_hash_threads
    finally:
        release.set()
    assert (await login).status_code == 401
    assert all(b.result() is True for b in busy)


async def test_a_lost_firm_key_is_replaced_from_the_command_line_the_old_one_stops_and_both_steps_are_audited(tmp_root, monkeypatch, capsys) -> None:
    """The demo prints the firms' keys once; `supervision apikeys replace` gives a firm a new one and revokes the old."""
    from foundation.access import SYSTEM
    from foundation.db import create_engine, create_session_factory, unit_of_work
    from people import service as people
    from people.schemas import ApiKeyCreate
    from registry import service as registry
    from registry.queries import OrganisationKind
    from registry.rules import credit_code_check_char
    from registry.schemas import OrganisationCreate
    from supervision import cli
    from tests.database import fresh_database_url

    url = await fresh_database_url(tmp_root, "key_replace")
    await asyncio.to_thread(cli.migrate, get_settings().model_copy(update={"database_url": url}))
    engine = create_engine(url)
    factory = create_session_factory(engine)
    firm_name = "天津公信第三方评估有限公司"
    async with unit_of_work(factory) as session:
        body = "91120101MA0000001"
        firm = await registry.create_organisation(session, SYSTEM, OrganisationCreate(name=firm_name, kind=OrganisationKind.INSPECTION_FIRM, credit_code=body + credit_code_check_char(body)))
        old_keys = [(await people.issue_api_key(session, SYSTEM, ApiKeyCreate(organisation_id=firm.id, label=f"demo key {n}")))[0] for n in (1, 2)]
    monkeypatch.setenv("SUPERVISION_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        # A name nobody has: nothing changes, and the firms are listed to choose from.
        assert await asyncio.to_thread(cli.main, ["apikeys", "replace", "--organisation", "天津不存在的公司"]) == 1
        assert firm_name in capsys.readouterr().err
        # The command checks what it is given as the API does: a label of two lines stops it, and nothing changes.
        for label in ("新密钥\n第二行", "新密钥\n"):  # a final line feed too, which the schema's pattern alone lets through
            with pytest.raises(SystemExit, match="label is one line"):
                await asyncio.to_thread(cli.main, ["apikeys", "replace", "--organisation", firm_name, "--label", label])
        with pytest.raises(SystemExit, match=r"\$\.label"):
            await asyncio.to_thread(cli.main, ["apikeys", "replace", "--organisation", firm_name, "--label", "x" * 101])
        assert await asyncio.to_thread(cli.main, ["apikeys", "replace", "--organisation", firm_name]) == 0
    finally:
        monkeypatch.delenv("SUPERVISION_DATABASE_URL")
        get_settings.cache_clear()
    said = capsys.readouterr().out
    [new_key] = re.findall(r"X-API-Key\): (sk_\S+)", said)
    assert said.count("revoked API key") == 2
    try:
        async with factory() as session:
            for old in old_keys:
                assert await people.principal_for_api_key(session, old) is None  # the lost keys no longer work
            acting = await people.principal_for_api_key(session, new_key)
            assert acting is not None and acting.organisation_id == firm.id
            actions = list((await session.execute(select(AuditEntry.action).where(AuditEntry.entity == "api_key").order_by(AuditEntry.id))).scalars())
        assert actions == ["api_key.issued", "api_key.issued", "api_key.revoked", "api_key.revoked", "api_key.issued"]
    finally:
        await engine.dispose()


async def test_who_is_calling_is_read_on_a_bare_connection_outside_any_transaction(engine) -> None:
    """Every request's authentication reads its token as the served system does (foundation.db.looking_up: a bare
    connection, autocommit on PostgreSQL, one read on the loop's thread on SQLite), not through the test's session:
    a live login names its user and scope; an expired, revoked, other-kind or unknown token names no one. The rows
    are committed for the read to see them, and removed after."""
    from sqlalchemy import delete

    from foundation.access import Role
    from foundation.db import looking_up
    from people.credentials import digest, new_secret
    from people.service import principal_for_token
    from people.tables import User

    now = datetime.now(UTC)
    live, expired, revoked, page = (new_secret() for _ in range(4))
    async with engine.begin() as connection:
        user_id, community_id = (await connection.execute(select(User.id, User.community_id).where(User.username == "xbl01-worker"))).one()
        rows = [
            {"token_hash": digest(live), "kind": "api", "expires_at": now + timedelta(hours=1), "revoked_at": None},
            {"token_hash": digest(expired), "kind": "api", "expires_at": now - timedelta(seconds=1), "revoked_at": None},
            {"token_hash": digest(revoked), "kind": "api", "expires_at": now + timedelta(hours=1), "revoked_at": now},
            {"token_hash": digest(page), "kind": "page", "expires_at": now + timedelta(hours=1), "revoked_at": None},
        ]
        await connection.execute(AuthToken.__table__.insert(), [{"user_id": user_id, "created_at": now, **row} for row in rows])  # type: ignore[attr-defined]
    try:
        async with looking_up(engine).connect() as reader:
            caller = await principal_for_token(reader, live, "api")
            assert caller is not None and (caller.username, caller.role, caller.user_id, caller.community_id) == ("xbl01-worker", Role.COMMUNITY_WORKER, user_id, community_id)
            for token in (expired, revoked, page, new_secret()):
                assert await principal_for_token(reader, token, "api") is None
            assert (await principal_for_token(reader, page, "page")) == caller
    finally:
        async with engine.begin() as connection:
            await connection.execute(delete(AuthToken).where(AuthToken.token_hash.in_([digest(t) for t in (live, expired, revoked, page)])))  # type: ignore[attr-defined]
