"""Every answer carries the security headers (a strict Content-Security-Policy with a per-request nonce, nosniff, no
framing, a referrer policy): pages, fragments, the API, problems, static files, documents, the API's own pages,
redirects and unexpected errors. The session cookie lives as long as its login and is Secure when so configured."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar, get
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from foundation.clock import business_today, utc_now
from foundation.db import create_session_factory
from foundation.periods import Month
from foundation.settings import load_settings
from people.tables import AuthToken, User
from supervision.app import create_app
from supervision.demo import DEMO_PASSWORD
from tests.integration.test_pages import page_login

STRICT_DIRECTIVES = (
    "default-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


def assert_secured(response: httpx.Response) -> str:
    """The headers every answer must carry; returns the CSP's script nonce."""
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    headers = response.headers
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy") == "same-origin", where
    policy = headers.get("content-security-policy", "")
    directives = [d.strip() for d in policy.split(";")]
    for directive in STRICT_DIRECTIVES:
        assert directive in directives, f"{where}: {directive!r} missing from {policy!r}"
    script = next(d for d in directives if d.startswith("script-src"))
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, where
    nonce = re.fullmatch(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{22,})'", script)
    assert nonce, f"{where}: {script!r}"
    return nonce.group(1)


async def test_pages_fragments_and_the_login_form_carry_the_headers_and_a_fresh_nonce(client) -> None:
    login = await client.get("/login")
    nonce = assert_secured(login)
    # The page's scripts carry the nonce of its own answer; the next answer has another.
    assert set(re.findall(r'nonce="([^"]+)"', login.text)) == {nonce}
    assert assert_secured(await client.get("/login")) != nonce
    await page_login(client, "xbl-officer")
    home = await client.get("/")
    assert home.status_code == 200
    assert set(re.findall(r'nonce="([^"]+)"', home.text)) == {assert_secured(home)}
    assert_secured(await client.get("/notifications/unread", headers={"HX-Request": "true"}))
    assert_secured(await client.get("/assessment"))
    assert_secured(await client.get("/coverage"))


async def test_no_page_carries_inline_script_handlers_or_styles(client) -> None:
    """What the policy would refuse in a browser is not in the pages we send."""
    await page_login(client, "xbl-officer")
    for path in ["/", "/assessment", "/assessment/vetoes", "/coverage", "/defects", "/subsidies/runs", "/registry/estates", "/me/actions"]:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert not re.search(r"\son[a-z]+\s*=", page.text), path
        assert " style=" not in page.text and "<style" not in page.text, path
        assert all("nonce=" in tag for tag in re.findall(r"<script[^>]*>", page.text)), path


async def test_api_answers_and_problems_carry_the_headers(client, as_user) -> None:
    assert_secured(await client.get("/health"))
    assert_secured(await client.get("/api/registry/summary", headers=await as_user("admin")))
    assert_secured(await client.get("/api/registry/summary"))  # 401 problem
    assert_secured(await client.get("/api/no-such-thing"))  # 404 problem
    assert_secured(await client.put("/api/registry/summary", headers=await as_user("admin")))  # 405 problem
    assert_secured(await client.post("/api/auth/login", json={"username": 1}))  # 400 problem
    assert_secured(await client.get("/no-such-page"))  # the error page
    assert_secured(await client.get("/registry/estates", follow_redirects=False))  # redirect to the login form


async def test_static_files_and_the_api_description_carry_the_headers(client) -> None:
    for path in ["/static/site.css", "/static/site.js", "/static/vendor/htmx-2.0.11.min.js", "/patrol-sw.js"]:
        answer = await client.get(path)
        assert answer.status_code == 200, path
        assert_secured(answer)
    schema_page = await client.get("/schema")
    assert schema_page.status_code == 200 and "filePatrol" in schema_page.text
    assert_secured(schema_page)
    # The page is ours and complete without any script from elsewhere (the policy would refuse one).
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", schema_page.text)
    assert_secured(await client.get("/schema/openapi.json"))
    assert_secured(await client.get("/schema/swagger"))  # no CDN viewer: a 404 page


async def test_documents_carry_the_headers(client, as_user) -> None:
    officer = await as_user("xbl-officer")
    me = (await client.get("/api/auth/me", headers=officer)).json()
    month = Month.of(business_today()).previous()
    assert (await client.post(f"/api/assessment/months/{me['street_id']}/{month}/compute", headers=officer)).status_code == 200
    score = (await client.get("/api/assessment/scores", params={"month": str(month)}, headers=officer)).json()[0]
    pdf = await client.post(f"/api/assessment/scores/{score['estate_id']}/{month}/report.pdf", headers=officer)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert_secured(pdf)


@pytest.fixture
async def secure_client(engine: AsyncEngine, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A system configured as served through HTTPS (SUPERVISION_COOKIE_SECURE=true), with a route that fails
    unexpectedly; its writes roll back like every test's."""

    @get("/api/test-only/fails", include_in_schema=False, sync_to_thread=False)
    def fails() -> None:
        raise RuntimeError("an unexpected failure")

    app: Litestar = create_app(load_settings(database_url=database_url, cookie_secure=True), engine=engine)
    app.register(fails)
    async with engine.connect() as connection:
        transaction = await connection.begin()
        app.state.session_factory = app.state.write_session_factory = app.state.lookup = create_session_factory(
            connection, join_transaction_mode="create_savepoint"
        )
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            yield client
        await transaction.rollback()


async def test_an_unexpected_error_carries_the_headers(secure_client, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="foundation.web"):
        answer = await secure_client.get("/api/test-only/fails")
    assert answer.status_code == 500
    assert_secured(answer)
    assert answer.headers["strict-transport-security"] == "max-age=31536000"
    # A problem like every other refusal, and the traceback in the log (an operator can mend what they can read).
    assert answer.headers["content-type"].startswith("application/problem+json") and "logged" in answer.json()["detail"]
    [logged] = [r for r in caplog.records if "unexpected error answering GET /api/test-only/fails" in r.getMessage()]
    assert logged.exc_info is not None and "an unexpected failure" in str(logged.exc_info[1])


async def test_the_session_cookie_lasts_as_long_as_the_login(client, db) -> None:
    form = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
    answer = await client.post(
        "/login", data={"username": "admin", "password": DEMO_PASSWORD, "_csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code in (302, 303)
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("supervision_session="))
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert attributes["max-age"] == "Max-Age=43200"  # SUPERVISION_TOKEN_TTL_HOURS = 12
    assert "expires" not in attributes  # (it used to say 2083)
    assert "httponly" in attributes and attributes["samesite"].lower() == "samesite=lax"
    assert "secure" not in attributes  # the local demo is served over http
    async with db() as session:
        login = (
            await session.execute(
                select(AuthToken).join(User, User.id == AuthToken.user_id).where(User.username == "admin", AuthToken.kind == "page").order_by(AuthToken.id.desc())
            )
        ).scalars().first()
    expires_at = login.expires_at if login.expires_at.tzinfo else login.expires_at.replace(tzinfo=utc_now().tzinfo)
    assert abs(expires_at - (utc_now() + timedelta(hours=12))) < timedelta(minutes=1)
    assert not answer.headers.get("strict-transport-security")


async def test_cookies_are_secure_when_served_through_https(secure_client) -> None:
    form = await secure_client.get("/login")
    csrf_cookie = next(v for k, v in form.headers.multi_items() if k == "set-cookie" and v.startswith("supervision_csrf="))
    assert "secure" in csrf_cookie.lower()
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
    # The CSRF cookie is Secure, so a plain-http client would not send it back; send it as a browser on HTTPS would.
    answer = await secure_client.post(
        "/login",
        data={"username": "admin", "password": DEMO_PASSWORD, "_csrf_token": token},
        headers={"cookie": csrf_cookie.split(";")[0]},
        follow_redirects=False,
    )
    assert answer.status_code in (302, 303), answer.text
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("supervision_session="))
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]
    assert "Max-Age=43200" in cookie


async def test_behind_https_the_flash_cookie_is_secure_like_the_session(secure_client, client) -> None:
    def flash_cookies(answer: httpx.Response) -> list[str]:
        return [value for name, value in answer.headers.multi_items() if name == "set-cookie" and value.startswith("supervision_flash=")]

    # An inner page without a login sends the browser to the login page with a message to show there.
    secured = await secure_client.get("/assessment", follow_redirects=False)
    assert secured.status_code in (302, 303) and flash_cookies(secured)
    assert all("Secure" in value for value in flash_cookies(secured))
    plain = await client.get("/assessment", follow_redirects=False)
    assert flash_cookies(plain) and not any("Secure" in value for value in flash_cookies(plain))
