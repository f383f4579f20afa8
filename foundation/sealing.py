"""Personal identifiers sealed at rest (an ID number, 身份证号): encrypted and authenticated with a key from the
settings, so a copy of the database, a log line or a backup does not reveal them; a keyed digest (a blind index)
finds the same identifier again without decrypting anything. Only the use cases that may show an identifier open it.

The cipher uses the standard library only: HMAC-SHA256 as the pseudo-random function of a counter-mode key stream
(a fresh random nonce per sealing), then HMAC-SHA256 over nonce and ciphertext (encrypt-then-MAC), each with its own
key derived from the settings' key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

VERSION = "s1"
NONCE_BYTES = 16
TAG_BYTES = 32


class SealBroken(ValueError):
    """A sealed value was altered, or sealed with another key."""


def _derive(key: str, purpose: str) -> bytes:
    return hmac.new(key.encode(), f"supervision-sealing|{purpose}".encode(), hashlib.sha256).digest()


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = [hmac.new(key, nonce + counter.to_bytes(8, "big"), hashlib.sha256).digest() for counter in range((length + 31) // 32)]
    return b"".join(blocks)[:length]


@dataclass(frozen=True)
class Sealer:
    """Seals and opens text with keys derived from one secret; `index` is the same for the same text (and key)."""

    secret: str

    def seal(self, text: str) -> str:
        plain = text.encode()
        nonce = secrets.token_bytes(NONCE_BYTES)
        cipher = bytes(a ^ b for a, b in zip(plain, _stream(_derive(self.secret, "encrypt"), nonce, len(plain)), strict=True))
        tag = hmac.new(_derive(self.secret, "authenticate"), nonce + cipher, hashlib.sha256).digest()
        return f"{VERSION}:" + base64.urlsafe_b64encode(nonce + cipher + tag).decode()

    def open(self, sealed: str) -> str:
        version, _, body = sealed.partition(":")
        try:
            raw = base64.urlsafe_b64decode(body.encode())
        except ValueError:
            raise SealBroken("not a sealed value") from None
        if version != VERSION or len(raw) < NONCE_BYTES + TAG_BYTES:
            raise SealBroken("not a sealed value")
        nonce, cipher, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        expected = hmac.new(_derive(self.secret, "authenticate"), nonce + cipher, hashlib.sha256).digest()
        if not hmac.compare_digest(tag, expected):
            raise SealBroken("the sealed value was altered or sealed with another key")
        return bytes(a ^ b for a, b in zip(cipher, _stream(_derive(self.secret, "encrypt"), nonce, len(cipher)), strict=True)).decode()

    def index(self, text: str) -> str:
        return hmac.new(_derive(self.secret, "index"), text.encode(), hashlib.sha256).hexdigest()
