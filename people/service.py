"""Use cases for people: log in and out, resolve who is calling, manage users and API keys."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol, TypedDict

from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from foundation.access import NOT_PEOPLE, ROLE_NAMES, SCOPE_OF_ROLE, Principal, Role, ScopeKind, require_role
from foundation.audit import record_change, snapshot
from foundation.clock import utc_now
from foundation.db import Direct
from foundation.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, RuleViolation, TooManyAttempts
from foundation.paging import PageRequest, fetch_page
from foundation.process_locks import transaction_lock
from foundation.settings import Settings, config_dir
from people.credentials import DUMMY_HASH, digest, hash_password_in_thread, new_secret, verify_password_in_thread
from people.schemas import ApiKeyCreate, UserCreate, UserUpdate
from people.tables import ApiKey, AuthToken, LoginAttempt, User
from registry import queries as registry_queries
from registry.queries import OrganisationKind

ADMINS = frozenset({Role.ADMIN})
SECRET_FIELDS = frozenset({"password_hash"})
# The community work station's social workers: those a committee director assigns to delivered projects.
WORK_STATION_ROLES = frozenset({Role.COMMUNITY_WORKER, Role.CARE_WORKER})
SCOPE_NAMES_ZH = {ScopeKind.DISTRICT: "区", ScopeKind.STREET: "街道", ScopeKind.COMMUNITY: "社区", ScopeKind.COMPANY: "物业企业", ScopeKind.ORGANISATION: "机构"}


@lru_cache(maxsize=1)
def specialisms() -> tuple[str, ...]:
    """The social workers' specialisms (社工专长) a user record may hold (config/delivery.toml, assignment)."""
    data = tomllib.loads((config_dir() / "delivery.toml").read_text(encoding="utf-8"))
    return tuple(str(s) for s in data["assignment"]["specialisms"])


def _specialism_problem(role: Role, specialism: str | None) -> None:
    if specialism is None:
        return
    if role not in WORK_STATION_ROLES:
        raise RuleViolation("only a work-station social worker has a specialism", field="specialism", zh="只有社区工作站社工可以登记专长")
    if specialism not in specialisms():
        raise RuleViolation(f"specialism is one of {', '.join(specialisms())}", field="specialism", zh=f"社工专长应为：{'、'.join(specialisms())}")


class UserFacts(Protocol):
    """What a principal is made of: a user row, or the row of a token's lookup that read these columns."""

    @property
    def role(self) -> str: ...
    @property
    def id(self) -> int | None: ...
    @property
    def username(self) -> str: ...
    @property
    def street_id(self) -> int | None: ...
    @property
    def community_id(self) -> int | None: ...
    @property
    def company_id(self) -> int | None: ...
    @property
    def organisation_id(self) -> int | None: ...


def principal_of(user: UserFacts) -> Principal:
    return Principal(
        role=Role(user.role),
        user_id=user.id,
        username=user.username,
        street_id=user.street_id,
        community_id=user.community_id,
        company_id=user.company_id,
        organisation_id=user.organisation_id,
    )


@dataclass(frozen=True)
class LoginLimits:
    """The login throttle's settings: failures allowed per account and per address within the window."""

    per_account: int
    per_address: int
    window: timedelta

    @classmethod
    def of(cls, settings: Settings) -> LoginLimits:
        return cls(settings.login_failures_per_account, settings.login_failures_per_address, timedelta(minutes=settings.login_throttle_minutes))


@dataclass(frozen=True)
class Caller:
    """Someone not logged in (yet), known by the address they call from: the actor of a refused login."""

    address: str
    user_id: int | None = None

    @property
    def label(self) -> str:
        return f"anonymous ({self.address})"


Transactions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def _attempt_times(session: AsyncSession, column: Any, value: str, since: datetime) -> list[datetime]:
    """When the attempts counted for this account or address within the window were made, oldest first."""
    return list((await session.execute(select(col(LoginAttempt.at)).where(column == value, col(LoginAttempt.at) >= since).order_by(col(LoginAttempt.at)))).scalars())


def _seconds_until_allowed(times: list[datetime], limit: int, window: timedelta, now: datetime) -> int:
    """The window slides: with `limit` or more attempts counted, one more is allowed once enough of the oldest have
    left it."""
    freed_at = times[len(times) - limit] + window
    return max(1, math.ceil((freed_at - now).total_seconds()))


async def log_in(
    transactions: Transactions, username: str, password: str, *, address: str, kind: str, ttl_hours: int, limits: LoginLimits
) -> tuple[str, AuthToken, User]:
    """Check a password and open a login; returns the token (shown once), its record and the user.

    Throttled: with the account's or the address's limit of failures reached within the window, an attempt is
    refused (TooManyAttempts, audited) without checking the password, and not counted, so the wait never grows
    while someone keeps trying. Otherwise it is counted (stored) before its password is checked, so attempts made at
    the same moment count against each other; a correct password forgives the account's failures. The password is
    checked in a worker thread, between two short transactions, so neither the event loop nor other writers wait
    for argon2."""
    now = utc_now()
    since = now - limits.window
    account, source = username[:60], address[:64]
    throttled: TooManyAttempts | None = None
    async with transactions() as session:
        # Attempts on one account, or from one address, are counted one at a time (the account's lock first), so of
        # attempts made at the same moment exactly as many pass as the limit allows.
        await transaction_lock(session, f"login-account|{account}")
        await transaction_lock(session, f"login-address|{source}")
        await session.execute(delete(LoginAttempt).where(col(LoginAttempt.at) < since))  # the window no longer counts them
        for column, value, limit, what in (
            (LoginAttempt.username, account, limits.per_account, "account"),
            (LoginAttempt.address, source, limits.per_address, "address"),
        ):
            counted = await _attempt_times(session, column, value, since)
            if len(counted) < limit:
                continue
            wait = _seconds_until_allowed(counted, limit, limits.window, now)
            record_change(
                session, Caller(source), "login.throttled", "user", account,
                after={"username": account, "address": source, "limit": what, "failures": len(counted), "retry_after_seconds": wait},
            )
            throttled = TooManyAttempts(
                f"too many failed logins for this {what}; try again in {wait} seconds",
                zh=f"登录失败次数过多，请 {max(1, math.ceil(wait / 60))} 分钟后再试",
                retry_after_seconds=wait,
            )
            break
        else:
            session.add(LoginAttempt(username=account, address=source, at=now))  # counted until the password proves right
            user = (await session.execute(select(User).where(col(User.username) == username))).scalar_one_or_none()
    if throttled is not None:
        raise throttled  # refused, and its audit record stored: the transaction above has ended
    correct = await verify_password_in_thread(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not correct:
        raise NotAuthenticated("wrong username or password", zh="用户名或密码不正确")  # the attempt stays counted as a failure
    if not user.active:
        raise NotAuthenticated("this account is deactivated; ask the district administrator", zh="该账号已停用，请联系区级管理员")
    async with transactions() as session:
        await session.execute(delete(LoginAttempt).where(col(LoginAttempt.username) == account))  # its failures are forgiven
        token, record = open_login(session, user, kind=kind, ttl_hours=ttl_hours)
    return token, record, user


def open_login(session: AsyncSession, user: User, *, kind: str, ttl_hours: int, via: str | None = None) -> tuple[str, AuthToken]:
    """A new login of `user` (its token, shown once, and its record), audited; `via` names a sign-in that was not a
    password (single sign-on)."""
    token = new_secret()
    now = utc_now()
    record = AuthToken(token_hash=digest(token), user_id=user.id, kind=kind, created_at=now, expires_at=now + timedelta(hours=ttl_hours))
    session.add(record)
    record_change(session, principal_of(user), "user.logged_in", "user", user.id, after={"kind": kind} | ({"via": via} if via else {}))
    return token, record


async def log_out(session: AsyncSession, token: str) -> None:
    record = (await session.execute(select(AuthToken).where(col(AuthToken.token_hash) == digest(token)))).scalar_one_or_none()
    if record is not None and record.revoked_at is None:
        record.revoked_at = utc_now()
        await session.flush()


# Every request with a token asks this: the statement is built once, and reads the columns a Principal needs (no
# table row is built).
_USER_OF_TOKEN = Direct(
    select(col(User.role), col(User.id), col(User.username), col(User.street_id), col(User.community_id), col(User.company_id), col(User.organisation_id))
    .join(AuthToken, col(AuthToken.user_id) == col(User.id))
    .where(
        col(AuthToken.token_hash) == bindparam("token_hash"),
        col(AuthToken.kind) == bindparam("kind"),
        col(AuthToken.revoked_at).is_(None),
        col(AuthToken.expires_at) > bindparam("now"),
        col(User.active).is_(True),
    )
)


async def principal_for_token(reader: AsyncSession | AsyncConnection, token: str, kind: str) -> Principal | None:
    """The user behind a live login token of the given kind, or None."""
    rows = await _USER_OF_TOKEN.run_async(reader, {"token_hash": digest(token), "kind": kind, "now": utc_now()})
    return principal_of(rows[0]) if rows else None


async def principal_for_api_key(session: AsyncSession, key: str) -> Principal | None:
    """The organisation behind a live API key, acting in the role its kind gives it, or None."""
    key_record = (
        await session.execute(
            select(ApiKey).where(col(ApiKey.key_hash) == digest(key), col(ApiKey.revoked_at).is_(None))
        )
    ).scalar_one_or_none()
    organisation = await registry_queries.organisation(session, key_record.organisation_id) if key_record is not None else None
    if key_record is None or organisation is None:
        return None
    role = {OrganisationKind.INSPECTION_FIRM: Role.INSPECTOR, OrganisationKind.EVALUATION_FIRM: Role.PANEL_MEMBER}.get(organisation.kind, Role.SOCIAL_ORG)
    return Principal(
        role=role,
        username=f"apikey:{key_record.prefix}",
        organisation_id=organisation.id,
        via_api_key=True,
        api_key_id=key_record.id,
    )


class _ScopeColumns(TypedDict):
    street_id: int | None
    community_id: int | None
    company_id: int | None
    organisation_id: int | None


async def _validated_scope(session: AsyncSession, data: UserCreate) -> _ScopeColumns:
    """The scope columns for a new user: exactly the ones its role needs, pointing at existing records."""
    scope = SCOPE_OF_ROLE[data.role]
    given = {
        "street_id": data.street_id,
        "community_id": data.community_id,
        "company_id": data.company_id,
        "organisation_id": data.organisation_id,
    }
    needed = {
        ScopeKind.DISTRICT: set(),
        ScopeKind.STREET: {"street_id"},
        ScopeKind.COMMUNITY: {"community_id"},
        ScopeKind.COMPANY: {"company_id"},
        ScopeKind.ORGANISATION: {"organisation_id"},
    }[scope]
    extra = sorted(k for k, v in given.items() if v is not None and k not in needed)
    missing = sorted(k for k in needed if given[k] is None)
    if missing or extra:
        raise RuleViolation(
            f"role {data.role.value} is scoped to a {scope.value}: give {', '.join(sorted(needed)) or 'no scope field'}"
            + (f"; not {', '.join(extra)}" if extra else ""),
            zh=f"岗位“{ROLE_NAMES[data.role]}”须且只须填写所属{SCOPE_NAMES_ZH[scope]}" if needed else f"岗位“{ROLE_NAMES[data.role]}”为全区岗位，不填所属单位",
            field=(missing or extra)[0],
        )
    result = _ScopeColumns(street_id=None, community_id=None, company_id=None, organisation_id=None)
    if scope is ScopeKind.STREET:
        if await registry_queries.street(session, data.street_id) is None:
            raise NotFound("street", data.street_id)
        result["street_id"] = data.street_id
    elif scope is ScopeKind.COMMUNITY:
        community = await registry_queries.community(session, data.community_id)
        if community is None:
            raise NotFound("community", data.community_id)
        result["community_id"], result["street_id"] = community.id, community.street_id
    elif scope is ScopeKind.COMPANY:
        if await registry_queries.company(session, data.company_id) is None:
            raise NotFound("company", data.company_id)
        result["company_id"] = data.company_id
    elif scope is ScopeKind.ORGANISATION:
        organisation = await registry_queries.organisation(session, data.organisation_id)
        if organisation is None:
            raise NotFound("organisation", data.organisation_id)
        expected = {Role.INSPECTOR: OrganisationKind.INSPECTION_FIRM, Role.PANEL_MEMBER: OrganisationKind.EVALUATION_FIRM}.get(data.role, OrganisationKind.SOCIAL_ORG)
        if organisation.kind != expected:
            raise RuleViolation(
                f"role {data.role.value} needs an organisation of kind {expected.value}", zh=f"岗位“{ROLE_NAMES[data.role]}”所属机构的类别不符", field="organisation_id"
            )
        result["organisation_id"] = data.organisation_id
    return result


# How the audit log and the pages name those who act without an account (foundation.web.filters): no person's.
RESERVED_USERNAMES = NOT_PEOPLE | {"anonymous"}


async def _username_free(session: AsyncSession, username: str) -> None:
    """Refuses a username taken by another account, or one the audit log uses for the system's own actors."""
    if username.lower() in RESERVED_USERNAMES:
        raise Conflict(
            f"username {username} names the system's own actors in the audit log; choose another", zh="该用户名为系统保留（审计记录中表示系统自身的操作），请换一个", field="username",
        )
    if (await session.execute(select(col(User.id)).where(col(User.username) == username))).first():
        raise Conflict(f"username {username} is taken", zh="该用户名已被使用，请换一个", field="username")


async def create_user(session: AsyncSession, actor: Principal, data: UserCreate, *, password_hash: str | None = None) -> User:
    """Add a user. `password_hash` lets a bulk loader reuse one hash for many demo accounts."""
    require_role(actor, ADMINS, "creating users")
    await _username_free(session, data.username)
    user = User(
        username=data.username,
        display_name=data.display_name,
        password_hash=password_hash or await hash_password_in_thread(data.password),
        role=data.role,
        created_at=utc_now(),
        **await _validated_scope(session, data),
    )
    session.add(user)
    await session.flush()
    record_change(session, actor, "user.created", "user", user.id, after=snapshot(user, SECRET_FIELDS))
    await session.flush()
    return user


# Who opens a volunteer's account: the community's staff, who met the volunteer and checked their real name.
VOLUNTEER_REGISTRARS = frozenset({Role.COMMUNITY_WORKER, Role.CARE_WORKER, Role.COMMITTEE_DIRECTOR})


async def create_volunteer_user(
    session: AsyncSession, actor: Principal, username: str, password: str, community_id: int, *, password_hash: str | None = None
) -> User:
    """A volunteer's account (role volunteer) in the actor's own community, opened by its staff (or the district's
    administrator). Its display name carries no personal data."""
    if actor.role is not Role.ADMIN:
        require_role(actor, VOLUNTEER_REGISTRARS, "registering volunteers")
        if actor.community_id != community_id:
            raise PermissionDenied("volunteers are registered by the staff of their own community", zh="只能登记本社区的志愿者")
    data = UserCreate(username=username, display_name=f"志愿者 {username}", password=password, role=Role.VOLUNTEER, community_id=community_id)
    await _username_free(session, data.username)
    user = User(
        username=data.username, display_name=data.display_name, password_hash=password_hash or await hash_password_in_thread(data.password),
        role=data.role, created_at=utc_now(), **await _validated_scope(session, data),
    )
    session.add(user)
    await session.flush()
    record_change(session, actor, "user.created", "user", user.id, after=snapshot(user, SECRET_FIELDS))
    await session.flush()
    return user


async def give_volunteer_first_password(session: AsyncSession, actor: Principal, user_id: int, password: str) -> None:
    """The first password of a volunteer's account opened without one (moved in from a spreadsheet), given in person
    by the staff of the volunteer's community when they check the volunteer's real name."""
    require_role(actor, VOLUNTEER_REGISTRARS, "giving a volunteer a first password")
    user = await session.get(User, user_id)
    if user is None or user.role != Role.VOLUNTEER or user.community_id != actor.community_id:
        raise NotFound("volunteer account of your community", user_id)
    user.password_hash = await hash_password_in_thread(password)
    record_change(session, actor, "user.updated", "user", user.id, after={"password_changed": True})
    await session.flush()


async def get_user(session: AsyncSession, actor: Principal, user_id: int) -> User:
    require_role(actor, ADMINS, "reading user accounts")
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


async def list_users(
    session: AsyncSession, actor: Principal, paging: PageRequest, role: Role | None = None, *, words: str = "", active: bool | None = None
) -> tuple[list[User], int]:
    """Accounts in the order they were opened: of a role, whose username or name holds `words` (taken literally),
    switched on or off."""
    require_role(actor, ADMINS, "reading user accounts")
    query = select(User).order_by(col(User.id))
    if role is not None:
        query = query.where(col(User.role) == role)
    if words:
        query = query.where(or_(col(User.username).icontains(words, autoescape=True), col(User.display_name).icontains(words, autoescape=True)))
    if active is not None:
        query = query.where(col(User.active).is_(active))
    return await fetch_page(session, query, paging)


async def update_user(session: AsyncSession, actor: Principal, user_id: int, data: UserUpdate) -> User:
    user = await get_user(session, actor, user_id)
    before = snapshot(user, SECRET_FIELDS)
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.active is not None:
        if user.id == actor.user_id and not data.active:
            raise RuleViolation("you cannot deactivate your own account", zh="不能停用自己的账号", field="_form")
        user.active = data.active
    if data.password is not None:
        user.password_hash = await hash_password_in_thread(data.password)
    if data.specialism is not None:
        _specialism_problem(Role(user.role), data.specialism)
        user.specialism = data.specialism
    record_change(
        session,
        actor,
        "user.updated",
        "user",
        user.id,
        before=before,
        after=snapshot(user, SECRET_FIELDS) | {"password_changed": data.password is not None},
    )
    await session.flush()
    return user


async def issue_api_key(session: AsyncSession, actor: Principal, data: ApiKeyCreate) -> tuple[str, ApiKey]:
    require_role(actor, ADMINS, "issuing API keys")
    if await registry_queries.organisation(session, data.organisation_id) is None:
        raise NotFound("organisation", data.organisation_id)
    key = new_secret("sk_")
    record = ApiKey(
        organisation_id=data.organisation_id,
        label=data.label,
        prefix=key[:10],
        key_hash=digest(key),
        created_at=utc_now(),
        created_by_user_id=actor.user_id,
    )
    session.add(record)
    await session.flush()
    record_change(session, actor, "api_key.issued", "api_key", record.id, after=snapshot(record, frozenset({"key_hash"})))
    await session.flush()
    return key, record


async def replace_api_keys(session: AsyncSession, actor: Principal, data: ApiKeyCreate) -> tuple[str, ApiKey, list[ApiKey]]:
    """A new key for the organisation in place of every key it holds (a key lost, or shown once and gone): the old
    keys are revoked and the new one issued in the same transaction, each step in the audit log. Returns the new
    key (shown once), its record and the keys revoked."""
    require_role(actor, ADMINS, "replacing API keys")
    if await registry_queries.organisation(session, data.organisation_id) is None:
        raise NotFound("organisation", data.organisation_id)
    held = (await session.execute(select(ApiKey).where(col(ApiKey.organisation_id) == data.organisation_id, col(ApiKey.revoked_at).is_(None)).order_by(col(ApiKey.id)))).scalars().all()
    revoked = [await revoke_api_key(session, actor, old.id) for old in held]
    key, record = await issue_api_key(session, actor, data)
    return key, record, revoked


async def list_api_keys(
    session: AsyncSession, actor: Principal, paging: PageRequest, organisation_id: int | None = None
) -> tuple[list[ApiKey], int]:
    require_role(actor, ADMINS, "reading API keys")
    query = select(ApiKey).order_by(col(ApiKey.id))
    if organisation_id is not None:
        query = query.where(col(ApiKey.organisation_id) == organisation_id)
    return await fetch_page(session, query, paging)


async def revoke_api_key(session: AsyncSession, actor: Principal, key_id: int) -> ApiKey:
    require_role(actor, ADMINS, "revoking API keys")
    record = await session.get(ApiKey, key_id)
    if record is None:
        raise NotFound("API key", key_id)
    if record.revoked_at is not None:
        raise Conflict(f"API key {key_id} was already revoked at {record.revoked_at.isoformat()}", zh="该 API 密钥已吊销")
    record.revoked_at = utc_now()
    record_change(session, actor, "api_key.revoked", "api_key", record.id, after={"revoked_at": record.revoked_at})
    await session.flush()
    return record
