"""The registry pages: log in with a form (CSRF-protected), browse within one's scope, log out."""

from __future__ import annotations

import re

from supervision.demo import DEMO_PASSWORD
from tests.integration.helpers import estate_ids_of


async def page_login(client, username: str) -> None:
    form = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
    response = await client.post(
        "/login", data={"username": username, "password": DEMO_PASSWORD, "next": "/", "_csrf_token": token}, follow_redirects=False
    )
    assert response.status_code in (301, 302, 303), response.text


async def test_pages_send_anonymous_visitors_to_the_login_form(client) -> None:
    response = await client.get("/registry/estates", follow_redirects=False)
    assert response.status_code in (302, 303) and response.headers["location"].startswith("/login")
    assert "用户名" in (await client.get("/login")).text


async def test_a_login_form_without_its_csrf_token_is_refused(client) -> None:
    await client.get("/login")
    response = await client.post("/login", data={"username": "admin", "password": DEMO_PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert "supervision_session" not in response.cookies


async def test_a_wrong_password_keeps_the_username_and_says_why(client) -> None:
    form = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
    response = await client.post("/login", data={"username": "xbl01-worker", "password": "wrong", "_csrf_token": token})
    assert response.status_code == 401 and "用户名或密码不正确" in response.text and "wrong" not in response.text
    assert 'value="xbl01-worker"' in response.text


async def test_the_administrator_sees_the_whole_district_on_the_home_page(client) -> None:
    await page_login(client, "admin")
    home = await client.get("/")
    assert 'id="stat-estates">323<' in home.text and "3,844,400.00" in home.text
    estates = await client.get("/registry/estates")
    assert "共 323 条" in estates.text and "树德里" in estates.text


async def test_the_home_pages_figures_are_those_of_ones_own_street_or_community(client, db) -> None:
    """The home page says its figures are "within your scope": a street officer's are the street's, a director's the
    community's, never the district's."""
    street_estates, community_estates = 0, len(await estate_ids_of(db, "XBL01"))
    for n in range(1, 12):
        street_estates += len(await estate_ids_of(db, f"XBL{n:02d}"))

    def stat(page: str, name: str) -> str:
        return re.search(rf'id="stat-{name}">([^<]+)<', page).group(1)  # type: ignore[union-attr]

    await page_login(client, "xbl-officer")
    home = (await client.get("/")).text
    assert "权限范围内" in home
    assert (stat(home, "streets"), stat(home, "communities"), stat(home, "estates")) == ("1", "11", str(street_estates))
    assert street_estates < 323 and "3,844,400.00" not in home
    await page_login(client, "xbl01-director")
    home = (await client.get("/")).text
    assert (stat(home, "streets"), stat(home, "communities"), stat(home, "estates")) == ("1", "1", str(community_estates))


async def test_a_community_worker_cannot_open_another_communitys_estate_by_editing_the_url(client, db) -> None:
    await page_login(client, "xbl01-worker")
    own = (await estate_ids_of(db, "XBL01"))[0]
    other = (await estate_ids_of(db, "XX01"))[0]
    assert "树德里" in (await client.get(f"/registry/estates/{own}")).text
    refused = await client.get(f"/registry/estates/{other}")
    assert refused.status_code == 404 and "朝阳里" not in refused.text
    listing = await client.get("/registry/estates?community_id=%d" % other)
    assert "没有符合条件的区片" in listing.text


async def test_votes_and_contracts_pages_show_outcomes_in_chinese(client) -> None:
    await page_login(client, "xx01-director")
    votes = await client.get("/registry/votes")
    assert "参与户数不足三分之二" in votes.text and "选聘成功" in votes.text
    assert "履行中" in (await client.get("/registry/contracts")).text


async def test_logging_out_ends_the_page_session(client) -> None:
    await page_login(client, "finance")
    home = await client.get("/")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', home.text).group(1)
    stolen = client.cookies.get("supervision_session")
    await client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    client.cookies.set("supervision_session", stolen)  # the old cookie, replayed, no longer opens a page
    assert (await client.get("/", follow_redirects=False)).status_code in (302, 303)
