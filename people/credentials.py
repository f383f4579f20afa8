"""Passwords (argon2) and random tokens (stored only as SHA-256 digests). On the web path, passwords are hashed and
checked in a small pool of threads of their own, so the event loop keeps answering while argon2 works, and a flood
of logins waits for those threads instead of taking every thread the process has."""

from __future__ import annotations

import hashlib
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from foundation.heavy import run_on

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def hashing_pool() -> ThreadPoolExecutor:
    from foundation.settings import get_settings

    return ThreadPoolExecutor(max_workers=get_settings().password_hash_threads, thread_name_prefix="password-hash")


async def hash_password_in_thread(password: str) -> str:
    return await run_on(hashing_pool(), hash_password, password)


async def verify_password_in_thread(password_hash: str, password: str) -> bool:
    return await run_on(hashing_pool(), verify_password, password_hash, password)


def new_secret(prefix: str = "") -> str:
    """A fresh random token or key (256 bits)."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """How a token or key is stored and looked up: its SHA-256 (enough for 256-bit random secrets)."""
    return hashlib.sha256(secret.encode()).hexdigest()


# A real hash to verify against when the username is unknown, so a failed login takes the same time either way.
DUMMY_HASH = _hasher.hash("no such user")
