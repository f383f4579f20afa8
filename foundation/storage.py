"""Where attachment bytes live: content-addressed by sha256. A file store under var/ now; object storage can
implement the same interface later."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class BlobStore(Protocol):
    def put(self, content: bytes) -> str:
        """Store `content` (if not already there) and return its sha256."""
        ...

    def get(self, sha256: str) -> bytes:
        """The stored bytes; FileNotFoundError if absent."""
        ...

    def put_derived(self, sha256: str, kind: str, content: bytes) -> None:
        """Keep a copy made from the blob `sha256` (a display copy of a photo) under `kind`."""
        ...

    def get_derived(self, sha256: str, kind: str) -> bytes | None:
        """The copy of `kind` made from the blob `sha256`, or None if none was made."""
        ...

    def hashes(self) -> Iterator[str]:
        """The sha256 of every stored blob (what a backup copies), in no particular order."""
        ...

    def derived_copies(self) -> Iterator[tuple[str, str]]:
        """(sha256, kind) of every stored derived copy."""
        ...


SHA256_NAME = re.compile(r"[0-9a-f]{64}")


class FileBlobStore:
    """`root/ab/cd/abcd…` files, written to a temporary name and renamed, so a file is whole or absent."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        path = self._path(sha256)
        if not path.exists():
            self._write(path, content)
        return sha256

    def get(self, sha256: str) -> bytes:
        return self._path(sha256).read_bytes()

    def _derived_path(self, sha256: str, kind: str) -> Path:
        if not kind.replace("-", "").isalnum():
            raise ValueError(f"not a kind of copy: {kind!r}")
        original = self._path(sha256)
        return self.root / "derived" / original.parent.relative_to(self.root) / f"{sha256}.{kind}"

    def put_derived(self, sha256: str, kind: str, content: bytes) -> None:
        path = self._derived_path(sha256, kind)
        if not path.exists():
            self._write(path, content)

    def get_derived(self, sha256: str, kind: str) -> bytes | None:
        path = self._derived_path(sha256, kind)
        return path.read_bytes() if path.exists() else None

    def hashes(self) -> Iterator[str]:
        for path in self.root.glob("??/??/*"):
            if SHA256_NAME.fullmatch(path.name) and path.parent.parent.name == path.name[:2] and path.parent.name == path.name[2:4]:
                yield path.name

    def derived_copies(self) -> Iterator[tuple[str, str]]:
        for path in (self.root / "derived").glob("??/??/*.*"):
            sha256, _, kind = path.name.partition(".")
            if SHA256_NAME.fullmatch(sha256) and kind.replace("-", "").isalnum():
                yield sha256, kind

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
