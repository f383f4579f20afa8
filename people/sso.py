"""Single sign-on use cases: begin a sign-in at the identity provider, and finish it into a login of the local user
the provider's identity maps to. Nobody is created by signing in; an identity without a local user is refused."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.audit import record_change
from foundation.clock import utc_now
from foundation.db import rows_changed
from people.credentials import digest
from people.oidc import (
    REFUSAL_REASONS,
    NoLocalUser,
    OidcConfig,
    ProviderUnavailable,
    SignInRefused,
    authorization_url,
    discover,
    identity_of,
)
from people.service import Caller, open_login
from people.tables import AuthToken, SsoLogin, User

log = logging.getLogger("supervision.sso")
PENDING_MINUTES = 10  # how long a sign-in begun at the provider may take to come back

Transactions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def begin_sign_in(session: AsyncSession, config: OidcConfig, next_path: str) -> tuple[str, str]:
    """Store a new sign-in's state (its hash), nonce and PKCE verifier; the provider's authorization URL and the
    state, which the browser keeps in a cookie so the answer is accepted from this browser only."""
    async with httpx.AsyncClient(timeout=10) as client:
        metadata = await discover(client, config)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    now = utc_now()
    await session.execute(delete(SsoLogin).where(col(SsoLogin.created_at) < now - timedelta(minutes=PENDING_MINUTES)))
    session.add(SsoLogin(state_hash=digest(state), nonce=nonce, code_verifier=verifier, next_path=next_path, created_at=now))
    await session.flush()
    return authorization_url(metadata, config, state, nonce, verifier), state


@dataclass(frozen=True)
class SignedIn:
    token: str
    record: AuthToken
    user: User
    next_path: str


async def finish_sign_in(
    transactions: Transactions, config: OidcConfig, *, state: str, code: str, browser_state: str | None, address: str, ttl_hours: int
) -> SignedIn:
    """Take the sign-in `state` names (once: a second use of the same state is refused), exchange the code, check the
    ID token, and open a login of the mapped local user. A refusal is audited (sso.refused) with its reason key and
    the caller's address: never the token, the code or the identity the provider named."""
    try:
        return await _finish(transactions, config, state=state, code=code, browser_state=browser_state, ttl_hours=ttl_hours)
    except SignInRefused as refusal:
        caller = Caller(address[:64])
        async with transactions() as session:
            record_change(
                session, caller, "sso.refused", "sso_login", refusal.reason,
                after={"reason": refusal.reason, "address": address[:64]}, reason=REFUSAL_REASONS[refusal.reason],
            )
        log.info("single sign-on refused: %s", refusal.reason)
        raise


async def _finish(transactions: Transactions, config: OidcConfig, *, state: str, code: str, browser_state: str | None, ttl_hours: int) -> SignedIn:
    if not state or not code:
        raise SignInRefused("the identity provider's answer has no state or code", zh="统一身份认证的返回信息不完整，请重新登录", reason="incomplete_answer")
    if browser_state is None or not secrets.compare_digest(state, browser_state):
        raise SignInRefused("this sign-in was not begun in this browser", zh="该登录不是在本浏览器中发起的，请重新登录", reason="other_browser")
    async with transactions() as session:
        pending = (await session.execute(select(SsoLogin).where(col(SsoLogin.state_hash) == digest(state)))).scalar_one_or_none()
        taken = pending is not None and await rows_changed(session, delete(SsoLogin).where(col(SsoLogin.id) == pending.id)) == 1
    if pending is None or not taken:
        raise SignInRefused(
            "this sign-in was finished already or never begun (a state is used once)", zh="该登录链接已使用过或已失效，请重新登录", reason="state_replayed"
        )
    if pending.created_at < utc_now() - timedelta(minutes=PENDING_MINUTES):
        raise SignInRefused(f"this sign-in took longer than {PENDING_MINUTES} minutes", zh="登录已超时，请重新登录", reason="state_timed_out")
    identity = await identity_of(config, code, pending.code_verifier, pending.nonce)
    username = config.local_username(identity)
    async with transactions() as session:
        user = None if username is None else (await session.execute(select(User).where(col(User.username) == username))).scalar_one_or_none()
        if user is None:
            raise NoLocalUser(
                f"the identity {identity!r} is not mapped to a user of this system",
                zh=f"您的统一身份认证账号（{identity}）尚未对应本系统的用户，无法登录。请联系区管理员为您开通账号并建立对应关系。",
                reason="unmapped_identity",
            )
        if not user.active:
            raise SignInRefused("this account is deactivated; ask the district administrator", zh="该账号已停用，请联系区管理员", reason="deactivated")
        token, record = open_login(session, user, kind="page", ttl_hours=ttl_hours, via="sso")
    return SignedIn(token=token, record=record, user=user, next_path=pending.next_path)


__all__ = ["NoLocalUser", "ProviderUnavailable", "SignInRefused", "SignedIn", "begin_sign_in", "finish_sign_in"]
