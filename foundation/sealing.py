"""Personal identifiers sealed at rest (an ID number, 身份证号): encrypted and authenticated with a key from the
settings, so a copy of the database, a log line or a backup does not reveal them; a keyed digest (a blind index)
finds the same identifier again without decrypting anything. Only the use cases that may show an identifier open it.

The cipher is AES-256-GCM from the maintained `cryptography` library (a fresh random 96-bit nonce per sealing; the
tag authenticates the ciphertext), with its key and the index's key each derived from the settings' key by
HKDF-SHA256 under its own label. We write no cryptographic primitive ourselves."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "g1"
NONCE_BYTES = 12
TAG_BYTES = 16


class SealBroken(ValueError):
    """A sealed value was altered, or sealed with another key."""


def _derive(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"supervision-sealing|{purpose}".encode()).derive(secret.encode())


@dataclass(frozen=True)
class Sealer:
    """Seals and opens text with keys derived from one secret; `index` is the same for the same text (and key)."""

    secret: str

    @cached_property
    def _cipher(self) -> AESGCM:
        return AESGCM(_derive(self.secret, "encrypt"))

    @cached_property
    def _index_key(self) -> bytes:
        return _derive(self.secret, "index")

    def seal(self, text: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return f"{VERSION}:" + base64.urlsafe_b64encode(nonce + self._cipher.encrypt(nonce, text.encode(), VERSION.encode())).decode()

    def open(self, sealed: str) -> str:
        version, _, body = sealed.partition(":")
        try:
            raw = base64.urlsafe_b64decode(body.encode())
        except ValueError:
            raise SealBroken("not a sealed value") from None
        if version != VERSION or len(raw) < NONCE_BYTES + TAG_BYTES:
            raise SealBroken("not a sealed value")
        try:
            return self._cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], VERSION.encode()).decode()
        except InvalidTag:
            raise SealBroken("the sealed value was altered or sealed with another key") from None

    def index(self, text: str) -> str:
        return hmac.new(self._index_key, text.encode(), hashlib.sha256).hexdigest()
