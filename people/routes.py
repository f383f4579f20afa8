"""API routes for login, users and API keys (thin: parse, guard, call one use case, shape the answer)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.paging import Page, PageRequest
from foundation.settings import get_settings
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.params import OptionalId, RecordId
from foundation.web.problems import problem_responses
from foundation.web.sessions import caller_address, write_transactions
from people import service
from people.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeyOut, LoginRequest, LoginResponse, UserCreate, UserOut, UserUpdate
from people.tables import ApiKey, User


def user_out(user: User) -> UserOut:
    return msgspec.convert(user, UserOut, from_attributes=True)


def key_out(key: ApiKey) -> ApiKeyOut:
    return msgspec.convert(key, ApiKeyOut, from_attributes=True)


class AuthController(Controller):
    path = "/api/auth"
    tags = ["people"]

    @post("/login", dto=StrictBody[LoginRequest], return_dto=None, status_code=200, responses=problem_responses(400, 401, 429), security=[{}])
    async def login(self, data: JSONBody[LoginRequest], request: Request[Any, Any, Any], state: State) -> LoginResponse:
        """Exchange a username and password for a bearer token. Failed logins are throttled per account and per
        address: past the limit, 429 with Retry-After (seconds) until the oldest failure leaves the window."""
        settings = get_settings()
        token, record, user = await service.log_in(
            write_transactions(state),
            data.username,
            data.password,
            address=caller_address(request),
            kind="api",
            ttl_hours=settings.token_ttl_hours,
            limits=service.LoginLimits.of(settings),
        )
        return LoginResponse(token=token, token_type="Bearer", expires_at=record.expires_at, user=user_out(user))

    @post("/logout", guards=[logged_in], status_code=204, responses=problem_responses(401))
    async def logout(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> None:
        """Revoke the bearer token of this request."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            await service.log_out(db, header[7:].strip())

    @get("/me", guards=[logged_in], responses=problem_responses(401))
    async def me(self, principal: NamedDependency[Principal]) -> dict[str, object]:
        """Who the credentials of this request belong to, with role and scope."""
        return {
            "user_id": principal.user_id,
            "username": principal.username,
            "role": principal.role.value,
            "scope": principal.scope.value,
            "street_id": principal.street_id,
            "community_id": principal.community_id,
            "company_id": principal.company_id,
            "organisation_id": principal.organisation_id,
        }


ADMIN_ONLY = [allow({Role.ADMIN}, "managing users and API keys")]


class UserController(Controller):
    path = "/api/users"
    tags = ["people"]
    guards = ADMIN_ONLY

    @get("/", responses=problem_responses(400, 403))
    async def list_users(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], role: FromQuery[Role | None] = None
    ) -> Page[UserOut]:
        rows, total = await service.list_users(db, principal, paging, role)
        return Page([user_out(u) for u in rows], total, paging.page, paging.page_size)

    @post("/", dto=StrictBody[UserCreate], return_dto=None, responses=problem_responses(400, 403, 404, 409, 422))
    async def create_user(self, data: JSONBody[UserCreate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> UserOut:
        return user_out(await service.create_user(db, principal, data))

    @get("/{user_id:int}", responses=problem_responses(403, 404))
    async def get_user(self, user_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> UserOut:
        return user_out(await service.get_user(db, principal, user_id))

    @patch("/{user_id:int}", dto=StrictBody[UserUpdate], return_dto=None, responses=problem_responses(400, 403, 404, 422))
    async def update_user(self, user_id: RecordId, data: JSONBody[UserUpdate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> UserOut:
        return user_out(await service.update_user(db, principal, user_id, data))


class ApiKeyController(Controller):
    path = "/api/api-keys"
    tags = ["people"]
    guards = ADMIN_ONLY

    @get("/", responses=problem_responses(400, 403))
    async def list_keys(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], paging: NamedDependency[PageRequest], organisation_id: OptionalId = None
    ) -> Page[ApiKeyOut]:
        rows, total = await service.list_api_keys(db, principal, paging, organisation_id)
        return Page([key_out(k) for k in rows], total, paging.page, paging.page_size)

    @post("/", dto=StrictBody[ApiKeyCreate], return_dto=None, responses=problem_responses(400, 403, 404))
    async def issue_key(self, data: JSONBody[ApiKeyCreate], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> ApiKeyIssued:
        """Issue a key for a third-party organisation. The key is shown in this answer only."""
        key, record = await service.issue_api_key(db, principal, data)
        return ApiKeyIssued(key=key, api_key=key_out(record))

    @post("/{key_id:int}/revoke", status_code=200, responses=problem_responses(403, 404, 409))
    async def revoke_key(
        self, key_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> ApiKeyOut:
        return key_out(await service.revoke_api_key(db, principal, key_id))


ROUTES = [AuthController, UserController, ApiKeyController]
