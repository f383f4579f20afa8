"""Passwords (argon2) and random tokens (stored only as SHA-256 digests)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_secret(prefix: str = "") -> str:
    """A fresh random token or key (256 bits)."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """How a token or key is stored and looked up: its SHA-256 (enough for 256-bit random secrets)."""
    return hashlib.sha256(secret.encode()).hexdigest()


# A real hash to verify against when the username is unknown, so a failed login takes the same time either way.
DUMMY_HASH = _hasher.hash("no such user")
