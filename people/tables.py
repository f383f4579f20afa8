"""Users with a role and a scope, login tokens, and API keys of third-party organisations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from foundation.access import Role
from foundation.db import UTCDateTime, surrogate_key


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int = surrogate_key()
    username: str = Field(max_length=60, unique=True)
    display_name: str = Field(max_length=60)
    password_hash: str = Field(max_length=200)
    role: Role = Field(sa_column=Column(String(30), nullable=False))
    street_id: int | None = Field(default=None, foreign_key="streets.id", index=True)
    community_id: int | None = Field(default=None, foreign_key="communities.id", index=True)
    company_id: int | None = Field(default=None, foreign_key="companies.id", index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisations.id", index=True)
    active: bool = True
    specialism: str | None = Field(default=None, max_length=20)  # a work-station social worker's 社工专长 (config/delivery.toml)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AuthToken(SQLModel, table=True):
    """A login: an API bearer token or a page session. Only the token's SHA-256 is stored."""

    __tablename__ = "auth_tokens"

    id: int = surrogate_key()
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(max_length=10)  # api | page
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ApiKey(SQLModel, table=True):
    """A third-party organisation's key for the API. Only its SHA-256 is stored; revoked keys stay for the record."""

    __tablename__ = "api_keys"

    id: int = surrogate_key()
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    label: str = Field(max_length=100)
    prefix: str = Field(max_length=12)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class LoginAttempt(SQLModel, table=True):
    """A login attempt that counts against the throttle: one that failed, or one still being checked. Kept for the
    throttle's window only (older rows are removed as new ones come); refused attempts are not kept, so hammering a
    throttled account does not prolong its wait. The audit log keeps the refusals."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: int = surrogate_key()
    username: str = Field(max_length=60)
    address: str = Field(max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SsoLogin(SQLModel, table=True):
    """A sign-in begun at the identity provider (统一身份认证) and not finished yet: the SHA-256 of its state, its nonce
    and PKCE verifier. Finishing removes it, so a state is used once; one left unfinished expires."""

    __tablename__ = "sso_logins"

    id: int = surrogate_key()
    state_hash: str = Field(max_length=64, unique=True)
    nonce: str = Field(max_length=100)
    code_verifier: str = Field(max_length=128)
    next_path: str = Field(max_length=500)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
