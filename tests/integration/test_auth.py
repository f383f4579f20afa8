"""Logging in and out, tokens, API keys: who the API thinks is calling."""

from __future__ import annotations

from supervision.people.tables import AuthToken
from tests.integration.helpers import assert_problem, count


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
    assert_problem(await client.post("/api/users", json={**base, "username": "w-none"}, headers=admin), 400, "community_id")
    assert_problem(
        await client.post("/api/users", json={**base, "username": "w-two", "community_id": 1, "company_id": 1}, headers=admin),
        400,
        "company_id",
    )
    assert_problem(await client.post("/api/users", json={**base, "username": "w-ghost", "community_id": 999999}, headers=admin), 404)
    created = await client.post("/api/users", json={**base, "username": "w-new", "community_id": 1}, headers=admin)
    assert created.status_code == 201
    assert created.json()["street_id"] is not None, "a community user's street is filled in from the community"
    assert "password" not in created.text and "hash" not in created.text
    assert_problem(await client.post("/api/users", json={**base, "username": "w-new", "community_id": 1}, headers=admin), 409, "taken")
