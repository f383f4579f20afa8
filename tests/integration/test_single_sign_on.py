"""Single sign-on against a real OpenID provider on loopback (tests/oidc_provider.py): a mapped identity signs in as
its local user; a token for another audience, an expired token, a token signed with another key, a replayed state,
an answer that this browser did not begin, and an identity without a local user are refused with a Chinese page,
and none of them opens a login or creates a user."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey
from litestar import Litestar
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from people.tables import AuthToken, SsoLogin, User
from supervision.pages import action_name
from tests.oidc_provider import Provider, running_provider

BASE = "http://testserver.local"
ACCOUNTS = {
    "zhang.wei": {"preferred_username": "xbl01-worker", "name": "张伟"},
    "li.na": {"preferred_username": "li.na", "name": "李娜"},  # known to the provider, not to this system
}


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider("supervision-test", "client-secret-for-tests", f"{BASE}/login/sso/callback", ACCOUNTS) as running:
        yield running


@pytest.fixture
async def sso_app(app: Litestar, provider: Provider) -> AsyncIterator[Litestar]:
    """The app with single sign-on configured to the provider (settings as an operator would set them)."""
    original = app.state.settings
    app.state.settings = original.model_copy(
        update={"oidc_issuer": provider.issuer, "oidc_client_id": provider.client_id, "oidc_client_secret": provider.client_secret,
                "oidc_redirect_url": provider.redirect_url}
    )
    provider.token_overrides, provider.sign_with = {}, None
    try:
        yield app
    finally:
        app.state.settings = original


def form_value(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} in the page"
    return found.group(1)


async def back_from_provider(client: httpx.AsyncClient, provider: Provider, account: str) -> str:
    """Press 统一身份认证登录 on the login page, sign in at the provider as `account`; the page the browser comes back to."""
    login = await client.get("/login")
    assert "统一身份认证登录" in login.text
    begun = await client.post("/login/sso", data={"next": "/", "_csrf_token": form_value(login.text, "_csrf_token")}, follow_redirects=False)
    assert begun.status_code == 303, begun.text
    location = begun.headers["location"]
    assert location.startswith(f"{provider.issuer}/authorize?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["code_challenge_method"] == "S256" and query["nonce"] and query["state"]
    async with httpx.AsyncClient() as at_provider:
        assert "统一身份认证账号" in (await at_provider.get(location)).text
        signed = await at_provider.post(f"{provider.issuer}/authorize", data={**query, "account": account}, follow_redirects=False)
    assert signed.status_code == 302, signed.text
    back = await client.get(signed.headers["location"].removeprefix(BASE))
    assert back.status_code == 200, back.text
    return back.text


async def finish(client: httpx.AsyncClient, page: str) -> httpx.Response:
    """What the page that came back posts on (its script does in a browser)."""
    data = {name: form_value(page, name) for name in ("code", "state", "_csrf_token")}
    return await client.post("/login/sso/finish", data=data, follow_redirects=False)


async def counted(db, table) -> int:  # type: ignore[no-untyped-def]
    async with db() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def test_a_mapped_identity_signs_in_as_its_local_user_and_lands_on_its_home(client, db, sso_app, provider) -> None:
    logins = await counted(db, AuthToken)
    answer = await finish(client, await back_from_provider(client, provider, "zhang.wei"))
    assert answer.status_code in (302, 303) and answer.headers["location"] == "/", answer.text
    home = await client.get("/")
    assert home.status_code == 200 and "xbl01" in home.text and "退出" in home.text
    assert await counted(db, AuthToken) == logins + 1 and await counted(db, SsoLogin) == 0


async def refused(answer: httpx.Response, status: int, message: str) -> None:
    assert answer.status_code == status, answer.text
    assert "统一身份认证登录未成功" in answer.text and message in answer.text, answer.text
    assert "supervision_session" not in answer.headers.get("set-cookie", "")


async def refusals(db) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    """The failed sign-ins the audit log holds, oldest first."""
    async with db() as session:
        return list((await session.execute(select(AuditEntry).where(AuditEntry.action == "sso.refused").order_by(AuditEntry.id))).scalars())


async def test_every_refused_sign_in_is_audited_with_its_reason_and_nothing_the_provider_sent(client, db, sso_app, provider) -> None:
    """A token for another system, an expired token, a replayed state and an identity with no local user each leave
    one audit entry saying which check failed (a key, read in Chinese), the caller's address, and no code, state,
    token or identity."""
    before = len(await refusals(db))
    provider.token_overrides = {"aud": "another-system"}
    await refused(await finish(client, await back_from_provider(client, provider, "zhang.wei")), 401, "登录凭证不是签发给本系统的")
    now = int(time.time())
    provider.token_overrides = {"iat": now - 3600, "exp": now - 600}
    await refused(await finish(client, await back_from_provider(client, provider, "zhang.wei")), 401, "登录凭证已过期")
    provider.token_overrides = {}
    page = await back_from_provider(client, provider, "zhang.wei")
    assert (await finish(client, page)).status_code in (302, 303)
    client.cookies.set("supervision_sso", form_value(page, "state"), domain="testserver.local", path="/login/sso")
    await refused(await finish(client, page), 401, "该登录链接已使用过或已失效")
    client.cookies.clear()
    unmapped = await back_from_provider(client, provider, "li.na")
    await refused(await finish(client, unmapped), 403, "尚未对应本系统的用户")
    entries = (await refusals(db))[before:]
    assert [e.after["reason"] for e in entries if e.after] == ["wrong_audience", "token_expired", "state_replayed", "unmapped_identity"]
    assert [e.reason for e in entries] == ["登录凭证不是签发给本系统的", "登录凭证已过期", "登录链接已使用过或从未发起（重放）", "账号未对应本系统用户"]
    assert all(e.actor_user_id is None and e.actor.startswith("anonymous (") for e in entries)
    assert action_name("sso.refused") == "统一身份认证登录未成功"
    secrets = [form_value(page, "code"), form_value(page, "state"), form_value(unmapped, "code"), form_value(unmapped, "state"), "li.na", "李娜"]
    stored = " ".join(f"{e.entity_id} {e.after} {e.before} {e.reason}" for e in entries)
    assert not [s for s in secrets if s in stored] and "eyJ" not in stored  # no code, state, identity or JWT


async def test_an_id_token_meant_for_another_system_is_refused(client, db, sso_app, provider) -> None:
    provider.token_overrides = {"aud": "another-system"}
    logins = await counted(db, AuthToken)
    await refused(await finish(client, await back_from_provider(client, provider, "zhang.wei")), 401, "登录凭证不是签发给本系统的")
    assert await counted(db, AuthToken) == logins


async def test_an_expired_id_token_is_refused(client, db, sso_app, provider) -> None:
    now = int(time.time())
    provider.token_overrides = {"iat": now - 3600, "exp": now - 600}
    logins = await counted(db, AuthToken)
    await refused(await finish(client, await back_from_provider(client, provider, "zhang.wei")), 401, "登录凭证已过期")
    assert await counted(db, AuthToken) == logins


async def test_an_id_token_not_signed_by_the_provider_is_refused(client, db, sso_app, provider) -> None:
    provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": "provider-key-1"})  # same key id, another key
    await refused(await finish(client, await back_from_provider(client, provider, "zhang.wei")), 401, "登录凭证的签名无法验证")


async def test_a_state_is_used_once_and_a_replay_is_refused(client, db, sso_app, provider) -> None:
    page = await back_from_provider(client, provider, "zhang.wei")
    assert (await finish(client, page)).status_code in (302, 303)
    issued, logins = provider.tokens_issued, await counted(db, AuthToken)
    client.cookies.set("supervision_sso", form_value(page, "state"), domain="testserver.local", path="/login/sso")  # as a replayer would keep it
    await refused(await finish(client, page), 401, "该登录链接已使用过或已失效")
    assert provider.tokens_issued == issued and await counted(db, AuthToken) == logins


async def test_an_answer_this_browser_did_not_ask_for_is_refused(client, app, db, sso_app, provider) -> None:
    page = await back_from_provider(client, provider, "zhang.wei")
    client.cookies.delete("supervision_sso")  # another browser: the victim of a forged sign-in link has no such cookie
    await refused(await finish(client, page), 401, "该登录不是在本浏览器中发起的")


async def test_an_identity_without_a_local_user_is_refused_and_nobody_is_created(client, db, sso_app, provider) -> None:
    users, logins = await counted(db, User), await counted(db, AuthToken)
    await refused(await finish(client, await back_from_provider(client, provider, "li.na")), 403, "尚未对应本系统的用户")
    assert await counted(db, User) == users and await counted(db, AuthToken) == logins


async def test_with_a_mapping_table_only_the_listed_identities_sign_in(client, db, app, sso_app, provider) -> None:
    app.state.settings = app.state.settings.model_copy(update={"oidc_username_claim": "name", "oidc_users": {"李娜": "xbl02-worker"}})
    answer = await finish(client, await back_from_provider(client, provider, "li.na"))
    assert answer.status_code in (302, 303), answer.text
    assert "xbl02" in (await client.get("/")).text
    client.cookies.clear()
    await refused(await finish(client, await back_from_provider(client, provider, "zhang.wei")), 403, "（张伟）尚未对应本系统的用户")


async def test_without_single_sign_on_configured_the_login_page_offers_passwords_only(client) -> None:
    assert "统一身份认证登录" not in (await client.get("/login")).text
    assert (await client.get("/login/sso/callback?code=x&state=y")).status_code == 404
