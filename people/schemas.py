"""Request and response bodies for login, users and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from foundation.access import Role
from foundation.text import NONBLANK, ONE_LINE_NONBLANK

Username = Annotated[str, msgspec.Meta(min_length=2, max_length=60, pattern=r"^[A-Za-z0-9_.\-]+$")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=200, pattern=NONBLANK)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=ONE_LINE_NONBLANK)]  # one line: it prints in tables and on PDFs
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Specialism = Annotated[str, msgspec.Meta(min_length=2, max_length=20, pattern=ONE_LINE_NONBLANK, description="A work-station social worker's specialism (社工专长), one of config/delivery.toml's")]


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=NONBLANK)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NONBLANK)]


class UserOut(msgspec.Struct):
    id: int
    username: str
    display_name: str
    role: Role
    street_id: int | None
    community_id: int | None
    company_id: int | None
    organisation_id: int | None
    active: bool
    created_at: datetime
    specialism: str | None = None


class LoginResponse(msgspec.Struct):
    token: str
    token_type: str
    expires_at: datetime
    user: UserOut


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    display_name: Name
    password: Password
    role: Role
    street_id: Id | None = None
    community_id: Id | None = None
    company_id: Id | None = None
    organisation_id: Id | None = None


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    display_name: Name | None = None
    password: Password | None = None
    active: bool | None = None
    specialism: Specialism | None = None


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    organisation_id: Id
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE_NONBLANK)]


class ApiKeyOut(msgspec.Struct):
    id: int
    organisation_id: int
    label: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyIssued(msgspec.Struct):
    """The key itself is shown once, here; only its digest is kept."""

    key: str
    api_key: ApiKeyOut
